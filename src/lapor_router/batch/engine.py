"""The work of one chunk, and the local engine that does it in this process."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import datetime

import pandas as pd

from ..dispatch import route_frame_located
from ..errors import PrivacyWarning
from ..files import Chunk
from ..normalize import Columns
from ..router import Router


def route_chunk(
    router: Router, frame: pd.DataFrame, columns: Columns, now: datetime, geometry: str | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Route one chunk read by a reader (in-process or on a dask worker): the routed rows and
    the located lon/lat (degrees, after corrections) for geometry outputs."""
    ids = frame["__row_id"].to_numpy()
    with warnings.catch_warnings():  # the run's summary says it once, not every chunk
        warnings.simplefilter("ignore", PrivacyWarning)
        routed, located = route_frame_located(
            router, frame.drop(columns=["__row_id"]), columns, now, ids, geometry
        )
    return routed, located[["lon", "lat"]]


class LocalEngine:
    """Routes chunks one after the other in this process."""

    def __init__(self, router: Router) -> None:
        self.router = router

    def map(
        self, jobs: Iterator[tuple[Chunk, Columns, datetime]]
    ) -> Iterator[tuple[Chunk, tuple[pd.DataFrame, pd.DataFrame]]]:
        for chunk, columns, now in jobs:
            yield chunk, route_chunk(self.router, chunk.frame, columns, now, chunk.geometry)

    def close(self) -> None:
        pass
