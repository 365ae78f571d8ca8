"""Sixth stage: re-route whole report files, chunk by chunk (:mod:`.run`), in this process
(:mod:`.engine`) or on a dask.distributed cluster (:mod:`.dask`, imported when used); link
the possible duplicates of a file (:mod:`.cluster`); responsiveness figures of a file
(:mod:`.stats`).

The names of the former ``lapor_router.batch`` module stay importable from here.
"""

from __future__ import annotations

from ..dispatch import OUTPUT_COLUMNS, route_frame
from ..errors import BatchError, NothingToResumeError
from ..files import Chunk, file_format
from ..normalize import Columns
from .cluster import cluster_file
from .engine import route_chunk
from .run import CHUNK_ROWS, route_file
from .stats import stats_file

__all__ = [
    "CHUNK_ROWS",
    "OUTPUT_COLUMNS",
    "BatchError",
    "Chunk",
    "Columns",
    "NothingToResumeError",
    "cluster_file",
    "file_format",
    "route_chunk",
    "route_file",
    "route_frame",
    "stats_file",
]
