"""Fifth stage: report files in and out, losing nothing.

- :mod:`.formats`: formats by extension;
- :mod:`.readers`: chunked readers of CSV, JSON Lines, GeoJSON and GeoParquet;
- :mod:`.salvage`: CSV records from a byte stream, and the broken ones as rejects;
- :mod:`.writers`: part files, their merge, rejects, spreadsheet-safe cells;
- :mod:`.checkpoint`: fingerprints, per-chunk counts and progress files for ``--resume``.

Imports the dispatch stage (output columns) and everything below it; nothing here routes.
"""

from __future__ import annotations

from .checkpoint import Tally, fingerprint, output_lock, save, writable_folder
from .formats import FORMATS, file_format
from .readers import (
    READERS,
    Chunk,
    csv_chunk_bounds,
    csv_delimiter,
    parquet_batches,
    parquet_chunk,
    read_whole,
    text_encoding,
)
from .writers import (
    PART_SUFFIX,
    REJECT_COLUMNS,
    TABLE_FORMATS,
    ConcatMerge,
    ParquetMerge,
    append_file,
    csv_header,
    empty_output,
    merge_parts,
    write_part,
    write_rejects,
    write_table,
)

__all__ = [
    "FORMATS",
    "PART_SUFFIX",
    "READERS",
    "REJECT_COLUMNS",
    "TABLE_FORMATS",
    "Chunk",
    "ConcatMerge",
    "ParquetMerge",
    "Tally",
    "append_file",
    "csv_chunk_bounds",
    "csv_delimiter",
    "csv_header",
    "empty_output",
    "file_format",
    "fingerprint",
    "merge_parts",
    "output_lock",
    "parquet_batches",
    "parquet_chunk",
    "read_whole",
    "save",
    "text_encoding",
    "writable_folder",
    "write_part",
    "write_rejects",
    "write_table",
]
