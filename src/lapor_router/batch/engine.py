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
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from ..dispatch import input_names, route_frame_unmasked
from ..errors import BatchError
from ..files import READERS, Chunk, Tally, parquet_chunk, write_part, write_rejects
from ..normalize import Columns
from ..normalize.memory import no_gc, use_pool
from ..router import Router


def route_chunk(
    router: Router, frame: pd.DataFrame, columns: Columns, now: datetime, geometry: str | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Route one chunk read by a reader (in-process, in a worker process or on a dask
    worker): the routed rows, masked, and the located lon/lat (degrees, after corrections)
    for geometry outputs."""
    routed, lonlat, mask = route_chunk_unmasked(router, frame, columns, now, geometry)
    mask()
    return routed, lonlat


def route_chunk_unmasked(
    router: Router, frame: pd.DataFrame, columns: Columns, now: datetime, geometry: str | None
) -> tuple[pd.DataFrame, pd.DataFrame, Callable[[], None]]:
    """:func:`route_chunk` with the input columns' copies not masked yet, and the call
    that masks them in place (:func:`~lapor_router.dispatch.route_frame_unmasked`): the
    local engine's writer thread makes it while the next chunk is routed."""
    ids = frame["__row_id"].to_numpy()
    # the collector would only rescan the caches the chunk's many small objects go to
    # (lapor_router.normalize.memory); the masking warns of nothing: the summary says it once
    with no_gc():
        routed, located, mask = route_frame_unmasked(
            router, frame.drop(columns=["__row_id"]), columns, now, ids, geometry, as_arrow=True
        )
    return routed, located[["lon", "lat"]], mask


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
class Batch:
    """A Parquet record batch not made a chunk yet (:func:`~lapor_router.files.parquet_chunk`):
    Arrow's buffers travel to a worker process at a fraction of a chunk's cost."""

    batch: pa.RecordBatch
    row: int
    geometry: str | None

    def read(self, columns: Columns) -> Chunk:
        return parquet_chunk(self.batch, self.row, self.geometry)


@dataclass(frozen=True)
class PartWriter:
    """Where one chunk's routed rows and rejects are written, and in which format (a plain
    record, so that a worker process can be sent it)."""

    part: Path
    rejects: Path
    fmt: str

    def __call__(
        self,
        chunk: Chunk,
        columns: Columns,
        routed: pd.DataFrame,
        lonlat: pd.DataFrame,
        mask: Callable[[], None] | None = None,
    ) -> Done:
        """Write the chunk's part and rejects; ``mask`` first masks ``routed`` in place
        (a chunk routed by :func:`route_chunk_unmasked`)."""
        if mask is not None:
            mask()
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
        # unsorted: only the summary sorts its tables (Tally.as_dict)
        return Done(tally.counts(), out, list(cols.reporter), chunk.next_position, chunk.rows_read)


class LocalEngine:
    """Routes chunks one after the other in this process; each chunk's files are written on
    one writer thread while the next chunk is read and routed."""

    window = 1

    def __init__(self, router: Router) -> None:
        self.router = router
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="lapor-writer")
        self._last: Future[Done] | None = None

    def submit(
        self, chunk: Chunk, columns: Columns, now: datetime, finish: PartWriter
    ) -> Future[Done]:
        routed, lonlat, mask = route_chunk_unmasked(
            self.router, chunk.frame, columns, now, chunk.geometry
        )
        if self._last is not None and not self._last.done():
            mask()  # the writer is behind: masking it there would only delay it more
            later = None
        else:  # the writer waits: it masks the chunk, before writing it, while the next one
            later = mask  # is read and routed here (600,000 rows Parquet→Parquet: 5.8 → 5.5 s)
        self._last = self.writer.submit(finish, chunk, columns, routed, lonlat, later)
        return self._last

    def close(self) -> None:
        self.writer.shutdown(wait=True)  # no file is left half written behind a raised error


# the router of a worker process, set once when the process starts
_WORKER_ROUTER: Router | None = None


def _start_worker(router: bytes, parent: int, pool: str) -> None:
    global _WORKER_ROUTER
    _die_with(parent)
    use_pool(pool)  # the parent's Arrow memory pool (a forked worker has it already)
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
    job: Chunk | Span | Batch, columns: Columns, now: datetime, finish: PartWriter
) -> Done:
    """One chunk's whole work in a worker process (reading it first, for a :class:`Span` or
    a :class:`Batch`)."""
    assert _WORKER_ROUTER is not None, "worker started without a router"
    chunk = job if isinstance(job, Chunk) else job.read(columns)
    routed, lonlat = route_chunk(_WORKER_ROUTER, chunk.frame, columns, now, chunk.geometry)
    return finish(chunk, columns, routed, lonlat)


@contextmanager
def _fork_warning_ignored() -> Iterator[None]:
    """Python ≥ 3.12 warns of any OS thread at a fork; the only ones left at a fork here
    are Arrow's and BLAS's pools, which are fork-safe (and no other Python thread runs, so
    changing the filters is safe)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
        yield


class ProcessEngine:
    """Reads, routes and writes chunks in ``workers`` processes on this machine, so that
    every core works; this process only finds where the chunks of a UTF-8 CSV begin
    (:class:`Span`), sends a Parquet input's record batches (:class:`Batch`), and reads
    the chunks of other files itself.

    The workers start with the first chunk. On Linux, when this interpreter then runs no
    other Python thread, they are forked from it (``start_method == "fork"``) after
    :meth:`Router.prepare`: they share its built router and loaded kernels, and start in
    milliseconds (Arrow's and numba's native threads are safe to fork past: Arrow rebuilds
    its thread pools in a child). Otherwise each is a fresh interpreter (``"spawn"``) sent
    a pickled router, which costs each one 1–3 s before its first chunk."""

    def __init__(self, router: Router, workers: int) -> None:
        _ = router.rules  # compile and load before the workers start, so none repeats it
        router.load_context()
        self.router = router
        self.window = workers
        self.start_method: str | None = None  # "fork" or "spawn", once the workers start
        self.pool: ProcessPoolExecutor | None = None

    def _start(self) -> ProcessPoolExecutor:
        import multiprocessing
        import threading

        global _WORKER_ROUTER
        if sys.platform.startswith("linux") and threading.active_count() == 1:
            self.start_method = "fork"
            self.router.prepare()  # built once here, not once per worker
            _WORKER_ROUTER = self.router
            # a fork pool forks all its workers at its first submit, before its own thread
            return ProcessPoolExecutor(
                self.window,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_die_with,
                initargs=(os.getpid(),),
            )
        self.start_method = "spawn"
        return ProcessPoolExecutor(
            self.window,
            # a fresh interpreter: no thread of this one (the caller's) is forked
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(
                pickle.dumps(self.router),
                os.getpid(),
                pa.default_memory_pool().backend_name,
            ),
        )

    def submit(
        self, chunk: Chunk | Span | Batch, columns: Columns, now: datetime, finish: PartWriter
    ) -> Future[Done]:
        if self.pool is not None:
            return self.pool.submit(_route_and_write, chunk, columns, now, finish)
        global _WORKER_ROUTER
        self.pool = self._start()
        quiet = _fork_warning_ignored() if self.start_method == "fork" else nullcontext()
        try:
            with quiet:  # the first submit forks the workers
                return self.pool.submit(_route_and_write, chunk, columns, now, finish)
        finally:
            _WORKER_ROUTER = None  # forked by now: the children hold it, not this process

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
