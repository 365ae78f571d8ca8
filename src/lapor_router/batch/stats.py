"""``lapor-router stats FILE``: responsiveness from a report file (a store export, or a
routed file), by :func:`lapor_router.dispatch.responsiveness`, the same computation the
store's figures use."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from ..dispatch import responsiveness
from ..files import read_whole
from ..route import WorkCalendar


def stats_file(
    path: str | Path,
    calendar: WorkCalendar,
    by: str = "unit",
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """The figures per ``by`` group of the reports in ``path`` (CSV, JSON Lines, GeoJSON or
    GeoParquet), and the number of records that could not be read (not in the figures)."""
    frame, rejected, geometry = read_whole(path, None, encoding, delimiter)
    frame = frame.drop(columns=[c for c in ("__row_id", geometry) if c in frame.columns])
    return responsiveness(frame, calendar, by, start, end, now), rejected
