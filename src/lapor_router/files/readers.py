r"""Readers of report files in chunks: CSV, JSON Lines, GeoJSON and GeoParquet.

Each yields :class:`Chunk`\ s of parsed rows (a ``__row_id`` column numbers every input
row) and the rows that cannot be parsed at all, as rejects with their raw content.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from ..errors import BatchError
from ..normalize import Columns, private_flag
from ..normalize.memory import no_gc
from ..normalize.strings import TEXT_DTYPE, text_series
from ..privacy import mask_text, mask_unattributed
from . import salvage
from .formats import file_format
from .salvage import (
    DELIMITERS,
    RECORD_OK,
    content_end,
    csv_records,
    lenient_fields,
    masked_raw,
    parse_csv_texts,
    raw_text,
    sniff_delimiter,
)

_MAX_RAW = 10_000  # characters of a reject's raw content that are kept
_ASCII_SIGNS = '",;|\t\r\n{}[]:'  # what the readers find in the bytes themselves


def text_encoding(name: str | None) -> str:
    """The codec name of a text input's encoding (default UTF-8). Records are found in the
    bytes, so only encodings in which these ASCII signs stay one byte each are taken
    (UTF-8, cp1252, latin-1...; not UTF-16)."""
    if name is None:
        return "utf-8"
    try:
        codec = codecs.lookup(name)
    except LookupError:
        raise BatchError(f"unknown encoding {name!r} (e.g. utf-8, cp1252, latin-1)") from None
    try:
        same = _ASCII_SIGNS.encode(codec.name) == _ASCII_SIGNS.encode("ascii")
    except (UnicodeError, LookupError):
        same = False
    if not same:
        raise BatchError(
            f"encoding {name!r} is not supported: it writes ASCII in more than one byte "
            "(use a byte-per-ASCII encoding such as utf-8, cp1252 or latin-1)"
        )
    return codec.name


_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
# a number written with a decimal comma, its thousands grouped by points or not: -6,1754, 1.250,5
_DECIMAL_COMMA = re.compile(r"\s*[+-]?(?:\d{1,3}(?:\.\d{3})+|\d*),\d+\s*")


def csv_delimiter(path: Path, given: str | None) -> str:
    """The delimiter of a CSV input: the one given (``,`` ``;`` ``|``, a tab, or its name
    ``tab``), else the one its header line uses (:func:`.salvage.sniff_delimiter`)."""
    if given is None:
        with open(path, "rb") as fh:
            return sniff_delimiter(fh.readline())
    delimiter = _DELIMITER_NAMES.get(given.lower(), given)
    if delimiter not in DELIMITERS:
        raise BatchError(f"delimiter {given!r} is not one of ',', ';', '|' or tab")
    return delimiter


def _decimal_points(frame: pd.DataFrame, names: list[str | None]) -> None:
    """In place: numbers with a decimal comma (``106,8272``, ``1.250,5``) in the named columns
    rewritten with a decimal point, as a file delimited by commas would hold them."""
    for name in dict.fromkeys(n for n in names if n):
        values = frame[name].to_numpy(dtype=object, copy=True)
        for i, v in enumerate(values.tolist()):
            if isinstance(v, str) and "," in v and _DECIMAL_COMMA.fullmatch(v):
                values[i] = v.strip().replace(".", "").replace(",", ".")
        frame[name] = pd.Series(values, index=frame.index, dtype=object)


def _header_text(path: Path, line: bytes, encoding: str) -> str:
    """The header line decoded (a UTF-8 byte order mark dropped), or a one-line refusal that
    names the first byte that does not decode."""
    bom = codecs.BOM_UTF8 if encoding == "utf-8" and line.startswith(codecs.BOM_UTF8) else b""
    try:
        return line[len(bom) :].decode(encoding)
    except UnicodeDecodeError as exc:
        at = len(bom) + exc.start
        name = "UTF-8" if encoding == "utf-8" else encoding
        hint = "; give its encoding, e.g. --encoding cp1252" if encoding == "utf-8" else ""
        raise BatchError(
            f"{path}: the header is not {name} (byte 0x{line[at]:02x} at offset {at}){hint}"
        ) from None


@dataclass
class Chunk:
    """Parsed rows of one chunk (``frame`` with a ``row_id`` per row; a CSV's fields as
    Arrow-backed text columns, pandas ``str``), its rejects, and where the next chunk
    starts (a byte offset, or a row count for whole-file formats)."""

    frame: pd.DataFrame
    rejects: list[dict[str, Any]]
    next_position: int
    rows_read: int
    geometry: str | None = None


def _text_frame(columns: dict[str, pa.Array], ids: np.ndarray) -> pd.DataFrame:
    """CSV fields as a frame of Arrow-backed text columns (pandas ``str``), ``__row_id``
    first."""
    frame = pd.DataFrame({h: text_series(text) for h, text in columns.items()})
    frame.insert(0, "__row_id", np.asarray(ids, dtype=np.int64))
    return frame


def _text_rows(rows: list[list[str]], header: list[str], ids: list[int]) -> pd.DataFrame:
    """CSV records read by Python as a frame of :func:`_text_frame`."""
    cols = {h: pa.array([r[j] for r in rows], _TEXT) for j, h in enumerate(header)}
    return _text_frame(cols, np.asarray(ids, dtype=np.int64))


def _frame(rows: list[list[Any]], header: list[str], ids: list[int]) -> pd.DataFrame:
    """Parsed rows as an object frame with the header's columns, ``__row_id`` first."""
    frame = (
        pd.DataFrame(rows, columns=header, dtype=object)
        if rows
        else pd.DataFrame({h: pd.Series(dtype=object) for h in header})
    )
    frame.insert(0, "__row_id", np.asarray(ids, dtype=np.int64))
    return frame


def read_csv_chunks(
    path: Path,
    chunk_rows: int,
    position: int = 0,
    rows_before: int = 0,
    columns: Columns | None = None,
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> Iterator[Chunk]:
    """CSV in chunks. Position 0 starts at the header; otherwise the byte offset to go on.
    Rejects keep their raw content masked (:func:`.salvage.masked_raw`). With another
    delimiter than a comma, coordinates and accuracies with a decimal comma are read as the
    numbers they are (:func:`_decimal_points`); other columns stay as they are."""
    with open(path, "rb") as fh:
        header_line = fh.readline()
        text = _header_text(path, header_line, encoding)
        try:
            header = next(csv.reader([text], delimiter=delimiter, strict=True))
        except (csv.Error, StopIteration) as exc:
            raise BatchError(f"{path}: unreadable CSV header ({exc})") from exc
        if not header or len(set(header)) != len(header):
            raise BatchError(f"{path}: the header has empty or duplicate column names")
        cols = (columns or Columns()).resolve(header)
        offset = max(position, len(header_line))
        row = rows_before
        stop = content_end(fh)  # trailing blank lines are not rows
        numeric = [cols.lon, cols.lat, cols.accuracy] if delimiter != "," else []

        def reject(
            rejects: list[dict[str, Any]],
            rid: int,
            text: str,
            reason: str,
            fields: list[str] | None = None,
        ) -> None:
            if fields is None and not reason.startswith(("record too long", "empty line")):
                fields = lenient_fields(text, delimiter)
            raw = masked_raw(text[:_MAX_RAW], fields, header, cols)
            rejects.append({"row_id": rid, "raw": raw, "reject_reason": reason})

        def one_by_one(
            rejects: list[dict[str, Any]], rid: int, record: bytes, problem: str | None
        ) -> list[str] | None:
            """A record read by Python: its fields, or None when it is a reject."""
            body = record.rstrip(b"\r\n")
            if problem:
                reject(rejects, rid, raw_text(record, encoding), problem)
            elif not body.strip():
                reject(rejects, rid, raw_text(record, encoding), "empty line")
            else:
                try:
                    text = body.decode(encoding)
                except UnicodeDecodeError as exc:
                    reason = f"bad encoding: {exc.reason} at byte {exc.start}"
                    reject(rejects, rid, raw_text(record, encoding), reason)
                    return None
                fields = parse_csv_texts([text], delimiter)[0]
                if isinstance(fields, str):
                    reject(rejects, rid, text, fields)
                elif len(fields) != len(header):
                    n_f = len(fields)
                    reject(rejects, rid, text, f"expected {len(header)} fields, got {n_f}", fields)
                else:
                    return fields
            return None

        if encoding == "utf-8":
            chunks = _columnar_chunks(
                fh, offset, stop, row, chunk_rows, delimiter, header, one_by_one
            )
        else:
            chunks = _record_chunks(
                csv_records(fh, offset, delimiter, stop), row, chunk_rows, header, one_by_one
            )
        for chunk in chunks:
            if numeric:
                _decimal_points(chunk.frame, numeric)
            yield chunk


_Reader = Callable[[list[dict[str, Any]], int, bytes, str | None], "list[str] | None"]
_BLOCK_MIN = 1 << 20  # bytes read at a time (at least; 512 per row of a chunk)
_BLOCK_CAP = 64 << 20  # a record that needs more than this in one block is read by Python
_TEXT = pa.large_string()


def _record_chunks(
    records: Iterator[tuple[bytes, int, str | None]],
    row: int,
    chunk_rows: int,
    header: list[str],
    one_by_one: _Reader,
) -> Iterator[Chunk]:
    """Chunks of records read one by one in Python (inputs in other encodings than UTF-8)."""
    while True:
        batch = list(itertools.islice(records, chunk_rows))
        if not batch:
            return
        rows: list[list[str]] = []
        ids: list[int] = []
        rejects: list[dict[str, Any]] = []
        for i, (record, _end, problem) in enumerate(batch):
            fields = one_by_one(rejects, row + i, record, problem)
            if fields is not None:
                rows.append(fields)
                ids.append(row + i)
        row += len(batch)
        frame = _text_rows(rows, header, ids)
        yield Chunk(frame, sorted(rejects, key=lambda r: r["row_id"]), batch[-1][1], len(batch))


@dataclass(frozen=True)
class _Block:
    """Records found in one block of a CSV file (``buf`` from byte ``pos``; a record's
    status from :func:`.kernels.scan_records`), or one record longer than any block, read by
    Python (``record`` and its ``problem``; ``buf`` None). ``end``: the byte after them."""

    pos: int
    end: int
    count: int
    buf: np.ndarray | None = None
    starts: np.ndarray | None = None
    ends: np.ndarray | None = None
    status: np.ndarray | None = None
    record: bytes = b""
    problem: str | None = None


def _chunk_blocks(
    fh: Any, pos: int, stop: int, chunk_rows: int, delimiter: str
) -> Iterator[_Block]:
    """The blocks of the chunk of (up to) ``chunk_rows`` records that starts at byte
    ``pos``: what decides where every chunk of a UTF-8 CSV begins and ends."""
    from .kernels import scan_records

    block = max(_BLOCK_MIN, chunk_rows * 512)
    size, count = block, 0
    while count < chunk_rows and pos < stop:
        fh.seek(pos)
        buf = np.frombuffer(fh.read(min(size, stop - pos)), np.uint8)
        at_end = pos + len(buf) >= stop
        starts, ends, status, used = scan_records(
            buf, ord(delimiter), at_end, chunk_rows - count, salvage.MAX_RECORD_BYTES
        )
        if not len(starts):  # one record longer than the block
            if size < _BLOCK_CAP:
                size *= 2
                continue
            record, end, problem = next(csv_records(fh, pos, delimiter, stop))
            yield _Block(pos, end, 1, record=record, problem=problem)
            count, pos, size = count + 1, end, block
            continue
        yield _Block(pos, pos + int(used), len(starts), buf, starts, ends, status)
        count += len(starts)
        pos += int(used)


def csv_chunk_bounds(
    path: Path, chunk_rows: int, position: int, rows_before: int, *, delimiter: str = ","
) -> Iterator[tuple[int, int, int, int]]:
    """(position, rows before, next position, rows) of each chunk that
    :func:`read_csv_chunks` of a UTF-8 CSV reads from ``position`` (a byte offset after the
    header), found without parsing a field, so that other processes can each read one."""
    with open(path, "rb") as fh:
        pos, row = position, rows_before
        stop = content_end(fh)
        while pos < stop:
            count, end = 0, pos
            for b in _chunk_blocks(fh, pos, stop, chunk_rows, delimiter):
                count, end = count + b.count, b.end
            yield pos, row, end, count
            pos, row = end, row + count


def _columnar_chunks(
    fh: Any,
    offset: int,
    stop: int,
    row: int,
    chunk_rows: int,
    delimiter: str,
    header: list[str],
    one_by_one: _Reader,
) -> Iterator[Chunk]:
    """Chunks of UTF-8 records found and split by compiled kernels over blocks of bytes
    (:func:`_chunk_blocks`, :func:`.kernels.split_fields`), the columns gathered as
    Arrow strings; the records that break the grammar, do not decode or do not have the
    header's fields are read by Python (``one_by_one``), so rejects stay what they were."""
    from .kernels import gather_fields, split_fields

    delim, ncol = ord(delimiter), len(header)
    pos = offset
    while pos < stop:
        ids: list[np.ndarray] = []
        columns: list[list[pa.Array]] = []
        slow_ids: list[int] = []
        slow_rows: list[list[str]] = []
        rejects: list[dict[str, Any]] = []
        count = 0
        for b in _chunk_blocks(fh, pos, stop, chunk_rows, delimiter):
            if b.buf is None:  # one record longer than any block
                fields = one_by_one(rejects, row + count, b.record, b.problem)
                if fields is not None:
                    slow_ids.append(row + count)
                    slow_rows.append(fields)
                count, pos = count + 1, b.end
                continue
            buf, starts, ends, status = b.buf, b.starts, b.ends, b.status
            assert starts is not None and ends is not None and status is not None
            rid = row + count + np.arange(len(starts), dtype=np.int64)
            ok = np.flatnonzero(status == RECORD_OK)
            simple, fs, fe, fq = split_fields(buf, starts[ok], ends[ok], delim, ncol)
            fast = ok[simple]
            data, offsets = gather_fields(buf, fs, fe, fq, np.flatnonzero(simple))
            ids.append(rid[fast])
            shared = pa.py_buffer(data)
            columns.append(
                [
                    pa.LargeStringArray.from_buffers(len(fast), pa.py_buffer(offsets[j]), shared)
                    for j in range(ncol)
                ]
            )
            for k in np.flatnonzero(status != RECORD_OK).tolist() + ok[~simple].tolist():
                if status[k] == RECORD_OK:
                    record, problem = buf[starts[k] : ends[k]].tobytes(), None
                else:  # the Python reader says what is wrong, and which bytes it keeps
                    record, _, problem = next(csv_records(fh, b.pos + int(starts[k]), delimiter))
                fields = one_by_one(rejects, int(rid[k]), record, problem)
                if fields is not None:
                    slow_ids.append(int(rid[k]))
                    slow_rows.append(fields)
            count += b.count
            pos = b.end
        frame_ids = np.concatenate([*ids, np.asarray(slow_ids, dtype=np.int64)])
        order = np.argsort(frame_ids, kind="stable")
        ordered = None if (order[1:] > order[:-1]).all() else pa.array(order)
        data_cols = {}
        for j, h in enumerate(header):
            text = pa.concat_arrays(
                [*(c[j] for c in columns), pa.array([r[j] for r in slow_rows], _TEXT)]
            )
            data_cols[h] = text if ordered is None else text.take(ordered)
        frame = _text_frame(data_cols, frame_ids[order])
        row += count
        yield Chunk(frame, sorted(rejects, key=lambda r: r["row_id"]), pos, count)


def read_jsonl_chunks(
    path: Path,
    chunk_rows: int,
    position: int = 0,
    rows_before: int = 0,
    columns: Columns | None = None,
    *,
    encoding: str = "utf-8",
) -> Iterator[Chunk]:
    """JSON Lines in chunks: one object per line; anything else is a reject."""

    def load(line: bytes) -> Any:
        return json.loads(line if encoding == "utf-8" else line.decode(encoding))

    names: dict[str, None] = {}
    with open(path, "rb") as fh:  # first pass: every key, so every chunk has one schema
        for line in fh:
            with contextlib.suppress(ValueError):
                obj = load(line)
                if isinstance(obj, dict):
                    names.update(dict.fromkeys(obj))
    header = list(names)
    with open(path, "rb") as fh:
        stop = content_end(fh)  # trailing blank lines are not rows
        fh.seek(position)
        pos, row = position, rows_before
        while True:
            rows, ids, rejects = [], [], []
            count = 0
            for line in fh:
                if pos >= stop:
                    break
                pos += len(line)
                rid = row + count
                count += 1
                body = line.strip()
                try:
                    obj = load(body) if body else None
                    if not isinstance(obj, dict):
                        raise ValueError("not a JSON object" if body else "empty line")
                    rows.append([_cell(obj.get(h)) for h in header])
                    ids.append(rid)
                except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError included
                    rejects.append(
                        {
                            "row_id": rid,
                            "raw": mask_unattributed(raw_text(line, encoding)[:_MAX_RAW]),
                            "reject_reason": f"invalid JSON: {exc}",
                        }
                    )
                if count >= chunk_rows:
                    break
            if count == 0:
                return
            frame = _frame(rows, header, ids)
            row += count
            yield Chunk(frame, rejects, pos, count)


def _cell(v: Any) -> Any:
    return json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v


def read_geojson_chunks(
    path: Path,
    chunk_rows: int,
    position: int = 0,
    rows_before: int = 0,
    columns: Columns | None = None,
    *,
    encoding: str = "utf-8",
) -> Iterator[Chunk]:
    """A GeoJSON FeatureCollection (read whole), in chunks; a feature whose geometry cannot
    be read is a reject."""
    try:
        with open(path, encoding=encoding) as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as exc:
        raise BatchError(f"{path}: not readable GeoJSON ({exc})") from exc
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        raise BatchError(f"{path}: not a GeoJSON FeatureCollection")
    names: dict[str, None] = {}
    for f in features:
        if isinstance(f, dict) and isinstance(f.get("properties"), dict):
            names.update(dict.fromkeys(f["properties"]))
    header = [n for n in names if n != "geometry"]
    for start in range(position, len(features), chunk_rows):
        rows, ids, geoms, rejects = [], [], [], []
        for k, f in enumerate(features[start : start + chunk_rows]):
            rid = start + k
            try:
                if not isinstance(f, dict):
                    raise ValueError("not a feature object")
                geom = (
                    shapely.from_geojson(json.dumps(f.get("geometry")))
                    if f.get("geometry") is not None
                    else None
                )
                props = f.get("properties") or {}
                rows.append([_cell(props.get(h)) for h in header])
                geoms.append(geom)
                ids.append(rid)
            except Exception as exc:  # shapely's GEOSException, TypeError, ValueError
                rejects.append(
                    {
                        "row_id": rid,
                        "raw": _masked_feature(f, columns, header),
                        "reject_reason": f"unreadable geometry: {exc}",
                    }
                )
        frame = _frame(rows, header, ids)
        frame["geometry"] = pd.Series(geoms, dtype=object)
        n = len(features[start : start + chunk_rows])
        yield Chunk(frame, rejects, start + n, n, geometry="geometry")


def _masked_feature(feature: Any, columns: Columns | None, header: list[str]) -> str:
    """A GeoJSON feature that is a reject, masked as a row with its properties would be."""
    raw = json.dumps(feature, ensure_ascii=False)[:_MAX_RAW]
    props = feature.get("properties") if isinstance(feature, dict) else None
    if not isinstance(props, dict):
        return mask_unattributed(raw)
    cols = (columns or Columns()).resolve(header)
    private = private_flag(props.get(cols.private)) if cols.private else False
    if private is None:
        return mask_unattributed(raw)
    extra = [str(props[c]) for c in cols.reporter if props.get(c) not in (None, "")]
    return mask_text(raw, extra if private else ())


def read_parquet_chunks(
    path: Path,
    chunk_rows: int,
    position: int = 0,
    rows_before: int = 0,
    columns: Columns | None = None,
) -> Iterator[Chunk]:
    """(Geo)Parquet in record batches; a geometry that is not readable WKB is a reject."""
    for batch, row, geom_col in parquet_batches(path, chunk_rows, position):
        yield parquet_chunk(batch, row, geom_col)


def parquet_batches(
    path: Path, chunk_rows: int, position: int = 0
) -> Iterator[tuple[pa.RecordBatch, int, str | None]]:
    """The record batches of :func:`read_parquet_chunks` from row ``position`` on, each with
    the number of its first row and the file's geometry column (for :func:`parquet_chunk`,
    here or in a worker process)."""
    try:
        pf = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise BatchError(f"{path}: not readable Parquet ({exc})") from exc
    meta = json.loads((pf.schema_arrow.metadata or {}).get(b"geo", b"{}") or b"{}")
    geom_col = meta.get("primary_column") if meta else None
    row = 0
    for batch in pf.iter_batches(batch_size=chunk_rows):
        n = batch.num_rows
        if row + n > position:
            yield batch, row, geom_col
        row += n


def parquet_chunk(batch: pa.RecordBatch, row: int, geom_col: str | None) -> Chunk:
    """One record batch of a Parquet file whose first row is row ``row``, as a chunk."""
    n = batch.num_rows
    frame = _batch_frame(batch)
    ids = np.arange(row, row + n, dtype=np.int64)
    rejects = []
    if geom_col and geom_col in frame:
        wkb = frame[geom_col].to_numpy()
        with no_gc():  # a geometry object per row (see lapor_router.normalize.memory)
            geoms = shapely.from_wkb(wkb, on_invalid="ignore")
        bad = np.flatnonzero(pd.isna(geoms) & pd.notna(wkb))
        for b in bad:
            rejects.append(
                {
                    "row_id": int(ids[b]),
                    "raw": bytes(wkb[b]).hex(),
                    "reject_reason": "unreadable geometry (invalid WKB)",
                }
            )
        keep = np.setdiff1d(np.arange(n), bad)
        frame = frame.iloc[keep].reset_index(drop=True)
        frame[geom_col] = pd.Series(geoms[keep], dtype=object)
        ids = ids[keep]
    frame.insert(0, "__row_id", ids)
    return Chunk(frame, rejects, row + n, n, geometry=geom_col if geom_col in frame else None)


def _batch_frame(batch: pa.RecordBatch) -> pd.DataFrame:
    """A record batch as pandas reads it (its pandas metadata: index, nullable types), text
    columns Arrow-backed (pandas ``str``), the others as object columns of their values."""
    frame: pd.DataFrame = batch.to_pandas(types_mapper=_TEXT_TYPES.get)
    return frame.astype({c: object for c in frame.columns if frame[c].dtype != TEXT_DTYPE})


_TEXT_TYPES = {pa.string(): TEXT_DTYPE, pa.large_string(): TEXT_DTYPE}


READERS: dict[str, Callable[..., Iterator[Chunk]]] = {
    "csv": read_csv_chunks,
    "jsonl": read_jsonl_chunks,
    "geojson": read_geojson_chunks,
    "parquet": read_parquet_chunks,
}


def read_whole(
    path: str | Path,
    columns: Columns | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> tuple[pd.DataFrame, int, str | None]:
    """All of a report file as one frame (with ``__row_id``), the number of records that
    could not be read (rejects, counted), and the geometry column's name if any. For the
    commands that need the whole file at once (clusters, stats)."""
    src = Path(path)
    if not src.is_file():
        raise BatchError(f"{src}: no such input file")
    fmt = file_format(src)
    options: dict[str, str] = {} if fmt == "parquet" else {"encoding": text_encoding(encoding)}
    if fmt == "csv":
        options["delimiter"] = csv_delimiter(src, delimiter)
    frames, rejected, geometry = [], 0, None
    for chunk in READERS[fmt](src, 200_000, 0, 0, columns or Columns(), **options):
        frames.append(chunk.frame)
        rejected += len(chunk.rejects)
        geometry = geometry or chunk.geometry
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"__row_id": []})
    return frame, rejected, geometry
