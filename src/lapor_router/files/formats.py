"""Report file formats, by file name extension."""

from __future__ import annotations

from pathlib import Path

from ..errors import BatchError

FORMATS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".geojson": "geojson",
    ".json": "geojson",
    ".parquet": "parquet",
    ".geoparquet": "parquet",
}


def file_format(path: str | Path) -> str:
    """``csv``, ``jsonl``, ``geojson`` or ``parquet`` from a file name's extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise BatchError(f"{path}: unknown format {suffix!r}; use one of {sorted(FORMATS)}")
    return FORMATS[suffix]
