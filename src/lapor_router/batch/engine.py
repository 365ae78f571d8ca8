"""The work of one chunk (route it, write its part and rejects, count it) and the local
engines that do it: in this process, or in worker processes on this machine.

Every engine takes chunks with :meth:`submit` and hands back a future of the chunk's
:class:`Done`; the caller settles the futures in chunk order (checkpoints stay in order),
keeping at most ``window`` chunks in flight beyond the one it settles.
"""

from __future__ import annotations

import os
import pickle
import sys
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ..dispatch import input_names, route_frame_located
from ..errors import BatchError, PrivacyWarning
from ..files import READERS, Chunk, Tally, write_part, write_rejects
from ..normalize import Columns
from ..router import Router


def route_chunk(
    router: Router, frame: pd.DataFrame, columns: Columns, now: datetime, geometry: str | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Route one chunk read by a reader (in-process, in a worker process or on a dask
    worker): the routed rows and the located lon/lat (degrees, after corrections) for
    geometry outputs."""
    ids = frame["__row_id"].to_numpy()
    with warnings.catch_warnings():  # the run's summary says it once, not every chunk
        warnings.simplefilter("ignore", PrivacyWarning)
        routed, located = route_frame_located(
            router, frame.drop(columns=["__row_id"]), columns, now, ids, geometry
        )
    return routed, located[["lon", "lat"]]


@dataclass(frozen=True)
class Done:
    """A chunk whose part and rejects are in place: its counts, the output's columns, the
    reporter columns it masked, and where the next chunk starts (as :class:`Chunk`)."""

    tally: dict[str, Any]
    columns: list[str]
    reporter: list[str]
    next_position: int
    rows_read: int


@dataclass(frozen=True)
class Span:
    """A chunk not read yet: where it starts (``position``, ``rows_before``) and ends
    (:func:`~lapor_router.files.csv_chunk_bounds`), for a worker process to read it."""

    path: Path
    fmt: str
    chunk_rows: int
    position: int
    rows_before: int
    next_position: int
    rows: int
    options: dict[str, str]

    def read(self, columns: Columns) -> Chunk:
        chunk = next(
            iter(
                READERS[self.fmt](
                    self.path, self.chunk_rows, self.position, self.rows_before, columns,
                    **self.options,
                )
            )
        )  # fmt: skip
        if (chunk.next_position, chunk.rows_read) != (self.next_position, self.rows):
            raise BatchError(f"{self.path}: the file changed while it was being read")
        return chunk


@dataclass(frozen=True)
class PartWriter:
    """Where one chunk's routed rows and rejects are written, and in which format (a plain
    record, so that a worker process can be sent it)."""

    part: Path
    rejects: Path
    fmt: str

    def __call__(
        self, chunk: Chunk, columns: Columns, routed: pd.DataFrame, lonlat: pd.DataFrame
    ) -> Done:
        names = [str(c) for c in chunk.frame.columns if c != "__row_id"]
        cols = columns.resolve([c for c in names if c != chunk.geometry])
        renamed = input_names(names)
        geometry = renamed.get(chunk.geometry or "")
        write_part(routed, self.part, self.fmt, geometry, lonlat)
        write_rejects(chunk.rejects, self.rejects)
        tally = Tally.of(
            routed,
            chunk.rejects,
            chunk.rows_read,
            *(renamed.get(c) if c else None for c in (cols.claimed, cols.unit, cols.private)),
        )
        out = [str(c) for c in routed.columns]
        if self.fmt in ("geojson", "parquet") and geometry in out:
            out.remove(geometry)  # the geometry column of these formats
        return Done(tally.as_dict(), out, list(cols.reporter), chunk.next_position, chunk.rows_read)


class LocalEngine:
    """Routes chunks one after the other in this process; each chunk's files are written on
    one writer thread while the next chunk is read and routed."""

    window = 1

    def __init__(self, router: Router) -> None:
        self.router = router
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="lapor-writer")

    def submit(
        self, chunk: Chunk, columns: Columns, now: datetime, finish: PartWriter
    ) -> Future[Done]:
        routed, lonlat = route_chunk(self.router, chunk.frame, columns, now, chunk.geometry)
        return self.writer.submit(finish, chunk, columns, routed, lonlat)

    def close(self) -> None:
        self.writer.shutdown(wait=True)  # no file is left half written behind a raised error


# the router of a worker process, set once when the process starts
_WORKER_ROUTER: Router | None = None


def _start_worker(router: bytes, parent: int) -> None:
    global _WORKER_ROUTER
    _die_with(parent)
    _WORKER_ROUTER = pickle.loads(router)


def _die_with(parent: int) -> None:
    """On Linux, have the kernel kill this worker when the run's process dies (even by
    ``kill -9``), so that no orphan goes on writing a part that a resumed run rewrites."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _route_and_write(
    job: Chunk | Span, columns: Columns, now: datetime, finish: PartWriter
) -> Done:
    """One chunk's whole work in a worker process (reading it first, for a :class:`Span`)."""
    assert _WORKER_ROUTER is not None, "worker started without a router"
    chunk = job.read(columns) if isinstance(job, Span) else job
    routed, lonlat = route_chunk(_WORKER_ROUTER, chunk.frame, columns, now, chunk.geometry)
    return finish(chunk, columns, routed, lonlat)


class ProcessEngine:
    """Reads, routes and writes chunks in ``workers`` processes on this machine (each with
    its own copy of the router, sent once when it starts), so that every core works; this
    process only finds where the chunks of a UTF-8 CSV begin (:class:`Span`), and reads
    the chunks of other files itself."""

    def __init__(self, router: Router, workers: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        _ = router.rules  # compile and load before shipping, so workers never repeat it
        router.load_context()
        self.window = workers
        self.pool = ProcessPoolExecutor(
            workers,
            # a fresh interpreter: no thread of this one (Arrow's, the writer's) is forked
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(pickle.dumps(router), os.getpid()),
        )

    def submit(
        self, chunk: Chunk | Span, columns: Columns, now: datetime, finish: PartWriter
    ) -> Future[Done]:
        return self.pool.submit(_route_and_write, chunk, columns, now, finish)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
