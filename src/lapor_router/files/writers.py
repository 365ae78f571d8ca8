"""Writers of routed rows: one part file per chunk, merged when the run is complete;
rejects; spreadsheet-safe CSV cells."""

from __future__ import annotations

import csv
import errno
import functools
import io
import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely

from ..dispatch import OUTPUT_COLUMNS, input_names
from ..errors import BatchError
from ..normalize import Columns
from ..normalize.memory import no_gc
from ..normalize.strings import arrow_text, gathered_text, text_series, utf8_buffers
from ..route import candidates_text
from .formats import file_format

REJECT_COLUMNS = ("row_id", "raw", "reject_reason")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_FORMULA_BYTES = np.frombuffer("".join(_FORMULA_START).encode(), np.uint8)
_STARTS_FORMULA = np.zeros(256, dtype=bool)  # by first byte
_STARTS_FORMULA[_FORMULA_BYTES] = True
# _PLAIN_NUMBER in RE2 for Arrow's string kernels (\p{Nd} is what \d is to Python)
_PLAIN_NUMBER_RE2 = r"^[+-]?(\p{Nd}+\.?\p{Nd}*|\.\p{Nd}+)([eE][+-]?\p{Nd}+)?$"


def _neutralise(value: Any) -> Any:
    """A spreadsheet formula cell (``=…``, ``+…``, ``-…``, ``@…``) made inert with a quote."""
    if (
        isinstance(value, str)
        and value.startswith(_FORMULA_START)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


_YEAR_1000 = int(np.datetime64("1000-01-01T00:00:00", "s").astype(np.int64))
_YEAR_10000 = int(np.datetime64("9999-12-31T23:59:59", "s").astype(np.int64)) + 1


def _iso(times: pd.Series) -> pd.Series:
    """ISO 8601 text of aware datetimes to the second (as ``datetime.isoformat`` writes them
    with ``timespec="seconds"``, the offset included), missing for NaT: Arrow-backed text
    written by a compiled kernel for years 1000 to 9999, else an object column (None)."""
    wall = times.dt.tz_localize(None).to_numpy(dtype="datetime64[s]")
    utc = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[s]")
    diff = wall - utc
    diff[np.isnat(diff)] = np.timedelta64(0, "s")
    minutes = (diff // np.timedelta64(1, "m")).astype(np.int64, copy=False)
    present = times.notna().to_numpy()
    seconds = wall.astype(np.int64)
    if not len(seconds) or (
        (seconds[present] >= _YEAR_1000).all() and (seconds[present] < _YEAR_10000).all()
    ):  # a compiled kernel writes them; arrays of text, not a str per cell
        from .kernels import iso_seconds

        data = iso_seconds(seconds, minutes, present)
        bounds = np.zeros(len(seconds) + 1, dtype=np.int64)
        np.cumsum(np.where(present, 25, 0), out=bounds[1:])
        text_array = pa.LargeStringArray.from_buffers(
            len(seconds),
            pa.py_buffer(bounds),
            pa.py_buffer(data),
            pa.py_buffer(np.packbits(present, bitorder="little")),
        )
        return text_series(text_array, times.index)
    text = np.datetime_as_string(wall, unit="s")
    offsets = {
        m: f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"
        for m in np.unique(minutes[present]).tolist()
    }
    distinct, at = np.unique(minutes, return_inverse=True)
    zone = np.array([offsets.get(m, "") for m in distinct.tolist()], dtype=object)[at]
    out = pd.Series(np.char.add(text, zone.astype(str)), index=times.index, dtype=object)
    return out.where(times.notna(), None)


def _times(frame: pd.DataFrame) -> list[str]:
    """The columns of aware datetimes the routing wrote (``respond_by``, ``due_at``)."""
    return [str(c) for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]


def _per_distinct(values: pd.Series, text: Any, as_arrow: bool = False) -> pd.Series:
    """``text(v)`` of each cell, computed once per distinct value (None → ""); with
    ``as_arrow``, Arrow-backed text gathered from the distinct values' text without a
    Python object per row (when every text is a ``str``)."""
    cells = values.to_numpy(dtype=object)
    try:
        codes, uniques = pd.factorize(cells, use_na_sentinel=True)
    except TypeError:  # unhashable cells: one by one
        return pd.Series([text(v) for v in cells], index=values.index, dtype=object)
    done = [text(u) for u in uniques] + [""]  # code -1 (missing): the "" at the end
    if as_arrow:
        gathered = gathered_text(done, np.where(codes < 0, len(done) - 1, codes))
        if gathered is not None:
            return text_series(gathered, values.index)
    return pd.Series(np.array(done, dtype=object)[codes], index=values.index, dtype=object)


def _flag_text(flags: pd.Series) -> pd.Series:
    return _per_distinct(flags, lambda f: ";".join(sorted(f)) if f else "", as_arrow=True)


def _candidate_text(candidates: pd.Series) -> pd.Series:
    """Top category candidates as ``code:score;code:score`` (best first): a column of them
    as text already (a batch run's) as it is."""
    if arrow_text(candidates) is not None:
        return candidates
    return _per_distinct(candidates, candidates_text, as_arrow=True)


def _to_text_columns(frame: pd.DataFrame, geometry: str | None, fmt: str) -> pd.DataFrame:
    """The columns whose cells are not text yet (flags, candidates, times, a geometry in a
    text format) as text."""
    out = frame.copy(deep=False)  # the columns made text are replaced, not changed
    out["flags"] = _flag_text(out["flags"])
    if "category_candidates" in out:
        out["category_candidates"] = _candidate_text(out["category_candidates"])
    for c in _times(out):
        out[c] = _iso(out[c])
    if geometry and geometry in out and fmt in ("csv", "jsonl"):
        out[geometry] = shapely.to_wkt(out[geometry].to_numpy(), rounding_precision=-1)
    return out


def _csv_cells(col: pd.Series) -> pa.Array:
    """A column's cells as text, as ``pandas.to_csv`` writes them ("" for None and NaN,
    ``True``, ``20.0``), text cells that start like a formula neutralised."""
    dtype = col.dtype
    if pd.api.types.is_bool_dtype(dtype) and isinstance(dtype, np.dtype):
        return _BOOL_TEXT.take(pa.array(col.to_numpy(dtype=bool).view(np.int8)))
    if pd.api.types.is_integer_dtype(dtype) and isinstance(dtype, np.dtype):
        return pc.cast(pa.array(col.to_numpy()), pa.string())
    if pd.api.types.is_float_dtype(dtype) and isinstance(dtype, np.dtype):
        floats = col.to_numpy()
        return pa.array(np.where(np.isnan(floats), "", floats.astype(str)), pa.string())
    arrow = arrow_text(col)
    if arrow is not None:
        return _csv_text(arrow)
    cells = col.to_numpy(dtype=object)
    missing = pd.isna(cells)
    if 2 * int(missing.sum()) > len(cells):  # mostly empty (a run's asset columns, most
        # reports near no feature): only the present cells made text, the others ""
        present = np.flatnonzero(~missing)
        done = _csv_cells(pd.Series(cells[present], dtype=object)).cast(pa.large_string())
        return _merged(len(cells), [(present, done)], pa.array([""], pa.large_string()))
    kind = pd.api.types.infer_dtype(cells, skipna=True)
    if kind in ("string", "empty"):
        return _csv_text(pa.array(cells, pa.large_string(), from_pandas=True))

    def as_text(v: Any) -> str:
        return _neutralise(v) if isinstance(v, str) else str(v)

    if kind in _ONE_TYPE:
        # numbers or booleans of one type: once per distinct value, as the csv module
        # writes them (str)
        done = _per_distinct(col, as_text).to_numpy(dtype=object)
    else:  # mixed types (to pandas 0 == 0.0 == False): each present cell on its own
        done = np.full(len(cells), "", dtype=object)
        present = np.flatnonzero(~missing)
        float_cells = _float_text(cells, present) if kind == "floating" else None
        done[present] = (
            float_cells
            if float_cells is not None
            else [as_text(v) for v in cells[present].tolist()]
        )
    return pa.array(done, pa.string())


def _csv_text(text: pa.Array) -> pa.Array:
    """Text cells as CSV cells: "" for nulls, cells that start like a formula neutralised
    (first bytes at numpy speed; the plain-number test only for the few that start like a
    formula)."""
    text = _nulls_empty(text.cast(pa.large_string()))
    offsets, data = utf8_buffers(text)
    if not len(data):
        return text
    nonempty = offsets[1:] > offsets[:-1]
    first = np.where(nonempty, data[np.minimum(offsets[:-1], len(data) - 1)], 0)
    rows = np.flatnonzero(_STARTS_FORMULA[first])
    if not len(rows):
        return text
    from ..normalize.kernels import decimal_literals

    taken = text.take(rows)
    # ASCII number literals by a compiled pass; RE2 only for the cells where a digit
    # of another script may make a number
    plain = decimal_literals(*utf8_buffers(taken))
    other = np.flatnonzero(~plain & ~pc.string_is_ascii(taken).to_numpy(zero_copy_only=False))
    if len(other):
        found = pc.match_substring_regex(taken.take(other), _PLAIN_NUMBER_RE2)
        plain[other] = found.to_numpy(zero_copy_only=False)
    formula = rows[~plain]
    if not len(formula):
        return text
    # an apostrophe put before each formula's bytes: a copy of the column's buffers, where
    # an element-wise if_else built every cell twice (~2.5 ms for a 50k-row text column)
    shift = np.zeros(len(offsets), dtype=np.int64)
    shift[formula + 1] = 1
    data = np.insert(data, offsets[formula], ord("'"))
    offsets = offsets + np.cumsum(shift)
    return pa.LargeStringArray.from_buffers(len(text), pa.py_buffer(offsets), pa.py_buffer(data))


def _nulls_empty(text: pa.Array) -> pa.Array:
    """Large-string ``text`` with its nulls as "": the validity bitmap dropped where every
    null's slot is already empty (as Arrow's builders leave them), else filled."""
    if not text.null_count:
        return text
    offsets, _ = utf8_buffers(text)
    null = ~text.is_valid().to_numpy(zero_copy_only=False)
    if (offsets[1:][null] != offsets[:-1][null]).any():
        return pc.fill_null(text, "")
    _, offsets_buf, data_buf = text.buffers()
    return pa.LargeStringArray.from_buffers(len(text), offsets_buf, data_buf, offset=text.offset)


_BOOL_TEXT = pa.array(["False", "True"], pa.string())

# one type whose equal values write alike (not floats: to pandas 0.0 and -0.0 are one value)
_ONE_TYPE = ("integer", "boolean", "bytes", "date", "time")


def _csv_bytes(frame: pd.DataFrame) -> np.ndarray:
    """The rows of ``frame`` (no header) as pandas' ``to_csv`` writes them, as UTF-8 bytes:
    each column's cells made text by Arrow (:func:`_csv_cells`), joined by :func:`_csv_rows`."""
    return _csv_rows([_csv_cells(frame[c]) for c in frame.columns], len(frame))


def _csv_rows(cells: list[pa.Array], n: int) -> np.ndarray:
    """``n`` rows of CSV cells (one array per column) as UTF-8 bytes, joined by a compiled
    kernel."""
    from .kernels import csv_rows

    out: np.ndarray = csv_rows(*_cell_offsets(cells, n))
    return out


def _cell_offsets(cells: list[pa.Array], n: int) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of ``n`` rows of cells (one text array per column) in one buffer, and
    where each cell starts in it: ``offsets[i, j]`` (shape ``(n + 1, ncol)``, row-major, so
    that a row's cells are read side by side); cell (i, j) ends at ``offsets[i + 1, j]``."""
    chunks, by_column, base = [], np.empty((len(cells), n + 1), np.int64), 0
    for j, text in enumerate(cells):
        offsets, data = utf8_buffers(text)
        chunks.append(data)
        by_column[j] = offsets + base if len(offsets) else base  # contiguous, not strided
        base += len(data)
    data = np.concatenate(chunks) if chunks else np.empty(0, np.uint8)
    return data, np.ascontiguousarray(by_column.T)


def _point_geometry(
    frame: pd.DataFrame, geometry: str | None, router_lonlat: pd.DataFrame
) -> np.ndarray:
    if geometry and geometry in frame:
        return frame[geometry].to_numpy()
    lon = router_lonlat["lon"].to_numpy(dtype=float)
    lat = router_lonlat["lat"].to_numpy(dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    out = np.full(len(frame), None, dtype=object)
    with no_gc():  # a geometry object per row (see lapor_router.normalize.memory)
        out[ok] = shapely.points(lon[ok], lat[ok])
    return out


_CSV_SLICE = 10_000  # rows joined at a time


def write_part(
    frame: pd.DataFrame, path: Path, fmt: str, geometry: str | None, lonlat: pd.DataFrame
) -> None:
    """One chunk's routed rows, in the output format (merged later by :func:`merge_parts`)."""
    tmp = path.with_name(path.name + ".tmp")
    # the chunk's cells made text column by column (Arrow arrays), then joined into rows a
    # slice at a time (zero-copy slices of the arrays: the joined bytes of a chunk never all
    # exist at once)
    if fmt == "csv":
        text = _to_text_columns(frame, geometry, fmt)
        cells = [_csv_cells(text[c]) for c in text.columns]
        with open(tmp, "wb") as fh:
            for lo in range(0, len(frame), _CSV_SLICE):
                n = min(_CSV_SLICE, len(frame) - lo)
                fh.write(_csv_rows([c.slice(lo, _CSV_SLICE) for c in cells], n).data)
    elif fmt == "jsonl":
        cells, pieces = _json_objects(_to_text_columns(frame, geometry, fmt))
        with open(tmp, "wb") as fh:
            for lo in range(0, len(frame), _CSV_SLICE):
                part = [c.slice(lo, _CSV_SLICE) for c in cells]
                n = min(_CSV_SLICE, len(frame) - lo)
                fh.write(_joined(part, [*pieces[:-1], pieces[-1] + "\n"], n))
    elif fmt == "geojson":
        geoms = _point_geometry(frame, geometry, lonlat)
        props = frame.drop(columns=[geometry]) if geometry in frame else frame
        cells, pieces = _json_objects(_to_text_columns(props, None, fmt))
        # {"type": "Feature", "geometry": …, "properties": {…}} as json.dumps writes it
        head = ['{"type": "Feature", "geometry": ', ', "properties": ' + pieces[0]]
        pieces = [*head, *pieces[1:]]
        pieces[-1] += "}\n"
        with open(tmp, "wb") as fh:
            for lo in range(0, len(frame), _CSV_SLICE):
                geo = _geojson_geometries(geoms[lo : lo + _CSV_SLICE])
                part = [geo, *(c.slice(lo, _CSV_SLICE) for c in cells)]
                fh.write(_joined(part, pieces, len(geo)))
    else:
        table = frame.drop(columns=[geometry]) if geometry in frame else frame.copy()
        table["flags"] = _flag_text(table["flags"])
        if "category_candidates" in table:
            table["category_candidates"] = _candidate_text(table["category_candidates"])
        for c in _times(table):
            table[c] = table[c].dt.floor("s")
        for c in table.columns:
            if table[c].dtype == object and c not in ("respond_by", "due_at"):
                table[c] = _parquet_cells(table[c])
        arrow = pa.Table.from_pandas(table, preserve_index=False)
        if geometry and geometry in frame:
            wkb = _wkb(frame[geometry].to_numpy())
        else:  # the located lon/lat, as points
            lon = lonlat["lon"].to_numpy(dtype=float)
            lat = lonlat["lat"].to_numpy(dtype=float)
            wkb = _wkb_points(lon, lat, np.isfinite(lon) & np.isfinite(lat))
        if "geometry" in arrow.column_names:  # a column of that name, not the geometry
            arrow = arrow.set_column(arrow.column_names.index("geometry"), "geometry", wkb)
        else:
            arrow = arrow.append_column("geometry", wkb)
        # every text column as Arrow `string` (pandas writes its `str` columns as large ones)
        schema = pa.schema(
            [
                f.with_type(pa.string()) if pa.types.is_large_string(f.type) else f
                for f in arrow.schema
            ],
            metadata=arrow.schema.metadata,
        )
        # the part as an LZ4-compressed Arrow IPC file: the Parquet encoding is done once, by
        # the merge (:class:`ParquetMerge`). A 50k-row part: 10.6 MB, 34-37 ms of CPU to write
        # and 13-28 to read; zstd: 6.8 MB, 65 and 32-54 ms; uncompressed: 36.7 MB
        lz4 = pa.ipc.IpcWriteOptions(compression="lz4")
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, schema, options=lz4) as ipc:
            ipc.write_table(arrow.cast(schema))
    os.replace(tmp, path)


# a 2-D point as GEOS writes it in WKB: byte order (1: little-endian), type (1: point), x, y
_WKB_POINT = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])


def _wkb(geoms: np.ndarray) -> pa.Array:
    """``shapely.to_wkb`` of the geometries (None: null) as an Arrow binary array: the 2-D
    points with finite coordinates (nearly all of a report file's) written by numpy
    (:func:`_wkb_points`), without a bytes object per row; any other geometry by shapely."""
    present = np.flatnonzero(~shapely.is_missing(geoms))
    shapes = geoms[present]
    xy = np.full((len(shapes), 2), np.nan)
    plain = (
        (shapely.get_type_id(shapes) == 0)
        & ~shapely.is_empty(shapes)
        & ~shapely.has_z(shapes)
        & ~shapely.has_m(shapes)
    )
    xy[plain, 0], xy[plain, 1] = shapely.get_x(shapes[plain]), shapely.get_y(shapes[plain])
    plain &= np.isfinite(xy).all(axis=1)
    points = _wkb_points(xy[plain, 0], xy[plain, 1])
    if len(points) == len(geoms):
        return points
    others = pa.array(shapely.to_wkb(shapes[~plain]), pa.binary())
    pieces = [(present[plain], points), (present[~plain], others)]
    return _merged(len(geoms), pieces, pa.nulls(1, pa.binary()))


def _wkb_points(x: np.ndarray, y: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """2-D points (degrees) as the WKB GEOS writes, as an Arrow binary array: 21 bytes each
    written by numpy (by shapely on a big-endian machine); rows not ``valid`` are null."""
    ok = np.ones(len(x), dtype=bool) if valid is None else valid
    if sys.byteorder != "little":  # GEOS writes the machine's byte order
        geoms = np.full(len(x), None, dtype=object)
        geoms[ok] = shapely.points(x[ok], y[ok])
        return pa.array(shapely.to_wkb(geoms), pa.binary())
    cells = np.empty(int(ok.sum()), _WKB_POINT)
    cells["order"], cells["type"] = 1, 1
    cells["x"], cells["y"] = x[ok], y[ok]
    offsets = np.zeros(len(x) + 1, dtype=np.int32)
    np.cumsum(np.where(ok, _WKB_POINT.itemsize, 0), out=offsets[1:])
    nulls = None if ok.all() else pa.py_buffer(np.packbits(ok, bitorder="little"))
    data = [nulls, pa.py_buffer(offsets), pa.py_buffer(cells.view(np.uint8))]
    return pa.Array.from_buffers(pa.binary(), len(x), data)


def _merged(n: int, pieces: list[tuple[np.ndarray, pa.Array]], filler: pa.Array) -> pa.Array:
    """An ``n``-row array whose rows ``rows`` hold ``values``, piece by piece, and whose
    other rows hold ``filler`` (an array of one value)."""
    at = np.full(n, sum(len(values) for _, values in pieces), dtype=np.int64)
    base = 0
    for rows, values in pieces:
        at[rows] = base + np.arange(len(values))
        base += len(values)
    return pa.concat_arrays([*(values for _, values in pieces), filler]).take(pa.array(at))


PART_SUFFIX = {"csv": ".csv", "jsonl": ".jsonl", "geojson": ".geojson", "parquet": ".arrow"}


def _read_part(path: Path) -> pa.Table:
    """A Parquet output's part: an Arrow IPC file, or a Parquet file left by an
    interrupted run of an earlier version."""
    if path.suffix == ".arrow":
        with pa.memory_map(str(path)) as source:
            return pa.ipc.open_file(source).read_all()
    return pq.read_table(path)


def _part_schema(path: Path) -> pa.Schema:
    if path.suffix == ".arrow":
        with pa.memory_map(str(path)) as source:
            return pa.ipc.open_file(source).schema
    return pq.read_schema(path)


class ConcatMerge:
    """A CSV or JSON Lines output written while the run goes on: ``head`` (a CSV's header
    line), then each checkpointed part's bytes (in chunk order, :meth:`add`) appended on a
    thread of its own, so that the copy overlaps the routing of later chunks instead of
    following the last one (0.2–0.7 s for a 336 MB output). The bytes are those of
    :func:`merge_parts`."""

    def __init__(self, dest: Path, head: bytes = b"") -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.dest = dest
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="lapor-merge")
        self._pending: list[Any] = []
        self._head = head
        self._out: Any = None

    def add(self, part: Path) -> None:
        self._pending.append(self._thread.submit(self._append, part))

    def _append(self, part: Path) -> None:
        if self._out is None:
            self._out = open(self.dest, "wb")  # noqa: SIM115 (closed by close())
            self._out.write(self._head)
        append_file(self._out, part)

    def finish(self) -> bool:
        """Wait for the parts added; True when ``dest`` (closed) holds them all."""
        try:
            for f in self._pending:
                f.result()
        finally:
            self.close()
        return bool(self._pending)

    def close(self) -> None:
        self._thread.shutdown(wait=True, cancel_futures=True)
        if self._out is not None:
            self._out.close()
            self._out = None


_COPY_BYTES = 1 << 20  # read and written at a time where the kernel cannot copy (append_file)
# errors of a kernel copy that say only that it cannot copy between these two files
_NO_KERNEL_COPY = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSOCK, errno.EXDEV}


def append_file(out: BinaryIO, src: Path) -> None:
    """Append the whole file ``src`` to ``out`` (a file open for writing, at its end): copied
    by the kernel (``sendfile``) where it can be, with no pass through this process's
    memory, else read and written a MiB at a time. Appending the 14 parts of a 600,000-row
    CSV output (393 MB) took 0.18–0.22 s of CPU so; by reads and writes 0.16–1.6 s, over
    0.8 s in half the runs."""
    with open(src, "rb") as fh:
        if not _sent(out, fh):
            shutil.copyfileobj(fh, out, _COPY_BYTES)


def _sent(out: BinaryIO, fh: BinaryIO) -> bool:
    """Whether the kernel appended all of ``fh`` to ``out``; False, with nothing sent, where
    it cannot copy between the two."""
    if not hasattr(os, "sendfile"):
        return False
    out.flush()  # what ``out`` holds goes first
    size, sent = os.fstat(fh.fileno()).st_size, 0
    while sent < size:
        try:
            n = os.sendfile(out.fileno(), fh.fileno(), sent, size - sent)
        except OSError as exc:
            if sent or exc.errno not in _NO_KERNEL_COPY:
                raise
            return False
        if n == 0:  # shorter than it was: not a part left as it was written
            raise BatchError(f"{fh.name}: the file changed while it was merged")
        sent += n
    return True


def csv_header(columns: list[str]) -> bytes:
    """The header line of a CSV output: its column names, formula-neutralised."""
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow([_neutralise(c) for c in columns])
    return header.getvalue().encode("utf-8")


class ParquetMerge:
    """A Parquet output written while the run goes on: each checkpointed part (in chunk
    order, :meth:`add`) is appended to one file on a thread of its own, so that Arrow's
    encoding (which releases the GIL) overlaps the routing of later chunks.

    The file gets the types :func:`merge_parts` would give it: the first part's, which a
    later part may match or leave without a value (Arrow's null type). The stream stops at
    a part whose columns differ, or that has values of another type (a column with no value
    in the first chunk and text in a later one, say); :meth:`finish` then says so, and
    :func:`merge_parts` writes the whole output again from the parts, types unified."""

    def __init__(self, dest: Path) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.dest = dest
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="lapor-merge")
        self._pending: list[Any] = []
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self.complete = True

    def add(self, part: Path) -> None:
        self._pending.append(self._thread.submit(self._append, part))

    def _append(self, part: Path) -> None:
        if not self.complete:
            return
        table = _read_part(part)
        fields = list(table.schema.remove_metadata())
        if self._schema is None:
            self._schema = pa.schema(fields, metadata={b"geo": _geo_metadata()})
            self._writer = pq.ParquetWriter(self.dest, self._schema)
        elif [f.name for f in fields] != self._schema.names or any(
            not (pa.types.is_null(f.type) or f.equals(self._schema.field(f.name))) for f in fields
        ):
            self.complete = False  # merge_parts unifies the parts' types instead
            return
        assert self._writer is not None
        self._writer.write_table(table.cast(self._schema))

    def finish(self) -> bool:
        """Wait for the parts added; True when ``dest`` (closed) holds them all, with the
        types :func:`merge_parts` would give them."""
        try:
            for f in self._pending:
                f.result()
        finally:
            self.close()
        return self.complete and self._schema is not None

    def close(self) -> None:
        self._thread.shutdown(wait=True, cancel_futures=True)
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _float_text(cells: np.ndarray, present: np.ndarray) -> np.ndarray | None:
    """``str`` of each present cell when every present cell is a Python float or a numpy
    float64 (numpy's shortest text is Python's repr), at array speed; None otherwise."""
    values = cells[present]
    if not {type(v) for v in values.tolist()} <= {float, np.float64}:
        return None
    out: np.ndarray = np.asarray(values, dtype=np.float64).astype(str).astype(object)
    return out


def _parquet_cells(col: pd.Series) -> pd.Series:
    """An object column as Parquet strings: text and bytes as they are, missing cells
    (None, NaN, NaT) null, anything else ``str`` (once per distinct value where equal
    values write alike)."""
    cells = col.to_numpy(dtype=object)
    missing = pd.isna(cells)
    kind = pd.api.types.infer_dtype(cells, skipna=True)
    if kind in ("string", "bytes", "empty"):
        out = cells.copy()
    elif kind in _ONE_TYPE:
        out = _per_distinct(col, str).to_numpy(dtype=object, copy=True)
    elif kind == "floating" and (text := _float_text(cells, ~missing)) is not None:
        out = np.full(len(cells), None, dtype=object)
        out[~missing] = text
    else:  # mixed types (to pandas 0 == 0.0 == False): one by one
        out = np.array(
            [v if isinstance(v, str | bytes) else str(v) for v in cells.tolist()], dtype=object
        )
    out[missing] = None
    return pd.Series(out, index=col.index, dtype=object)


def _json_value(v: Any) -> str:
    """One cell as JSON text (``json.dumps``, non-ASCII as it is): NaN as null, numpy
    scalars as Python's, bytes as hex text."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v != v:
        v = None
    elif isinstance(v, bytes):
        v = v.hex()
    return json.dumps(v, ensure_ascii=False)


def _json_floats(floats: np.ndarray) -> pa.Array:
    """Float cells as ``json.dumps`` writes them (numpy's shortest text is Python's repr;
    NaN null, infinities ``Infinity``)."""
    floats = np.asarray(floats, dtype=np.float64)
    text = floats.astype(str).astype(object)
    text[np.isnan(floats)] = "null"
    text[np.isposinf(floats)] = "Infinity"
    text[np.isneginf(floats)] = "-Infinity"
    return pa.array(text, pa.string())


def _json_cells(col: pd.Series) -> pa.Array:
    """A column's cells as JSON text, each as :func:`_json_value` writes it: whole columns
    of numbers, booleans and text by array kernels, cells of other or mixed types one by
    one."""
    dtype = col.dtype
    if isinstance(dtype, np.dtype):
        if pd.api.types.is_bool_dtype(dtype):
            return pa.array(np.where(col.to_numpy(dtype=bool), "true", "false"), pa.string())
        if pd.api.types.is_integer_dtype(dtype):
            return pc.cast(pa.array(col.to_numpy()), pa.string())
        if pd.api.types.is_float_dtype(dtype):
            return _json_floats(col.to_numpy())
    arrow = arrow_text(col)
    if arrow is not None:
        return _json_text(arrow.cast(pa.string()))
    cells = col.to_numpy(dtype=object)
    kind = pd.api.types.infer_dtype(cells, skipna=True)
    if kind in ("string", "empty"):
        try:
            text = pa.array(cells, pa.string(), from_pandas=True)
        except (pa.ArrowException, UnicodeError):  # text UTF-8 cannot hold: as json does
            return pa.array([_json_value(v) for v in cells.tolist()], pa.string())
        return _json_text(text)
    if kind == "floating":  # floats and missing cells (null either way)
        try:
            floats = np.array([np.nan if v is None else v for v in cells], np.float64)
        except TypeError:  # pd.NA or NaT among them: json says what it says of them
            return pa.array([_json_value(v) for v in cells.tolist()], pa.string())
        return _json_floats(floats)
    if kind in _ONE_TYPE:  # equal values write alike: once per distinct value
        done = _per_distinct(col, _json_value).to_numpy(dtype=object, copy=True)
        done[pd.isna(cells)] = "null"
        return pa.array(done, pa.string())
    return pa.array([_json_value(v) for v in cells.tolist()], pa.string())


def _json_text(text: pa.Array) -> pa.Array:
    """Text cells as JSON strings (nulls as ``null``): quoted as they are, the few cells
    with something to escape by json itself, once per distinct value."""
    from .kernels import json_escaped

    quoted = pc.binary_join_element_wise('"', text, '"', "")
    rows = np.flatnonzero(json_escaped(*utf8_buffers(text)))
    if len(rows):
        cells = pd.Series(text.take(pa.array(rows)).to_pylist(), dtype=object)
        done = _per_distinct(cells, _json_value).to_numpy(dtype=object)
        mask = np.zeros(len(text), dtype=bool)
        mask[rows] = True
        fixed = np.full(len(text), None, dtype=object)
        fixed[rows] = done
        quoted = pc.if_else(mask, pa.array(fixed, pa.string()), quoted)
    return pc.fill_null(quoted, "null")


def _json_objects(frame: pd.DataFrame) -> tuple[list[pa.Array], list[str]]:
    """Each row of ``frame`` as a JSON object (``json.dumps`` of its record, keys in column
    order): the cells as JSON text, one array per column, and the pieces of text around
    them (one more than the columns: ``{"key": `` first, ``}`` last)."""
    keys = [json.dumps(str(c), ensure_ascii=False) + ": " for c in frame.columns]
    cells = [_json_cells(frame[c]) for c in frame.columns]
    if not keys:
        return [], ["{}"]
    return cells, ["{" + keys[0], *(", " + k for k in keys[1:]), "}"]


def _joined(cells: list[pa.Array], pieces: list[str], n: int) -> bytes:
    """Rows of text cells between fixed pieces (:func:`.kernels.joined_rows`)."""
    from .kernels import joined_rows

    data, offsets = _cell_offsets(cells, n)
    glue = [p.encode("utf-8") for p in pieces]
    at = np.cumsum([0, *(len(g) for g in glue)], dtype=np.int64)
    glue_bytes = np.frombuffer(b"".join(glue), np.uint8)
    out: np.ndarray = joined_rows(data, offsets, glue_bytes, at)
    return out.tobytes()


def _geojson_geometries(geoms: np.ndarray) -> pa.Array:
    """Each geometry as the GeoJSON ``json.dumps`` writes of it (None → null): points by
    array kernels, anything else through shapely's GeoJSON one by one."""
    out = np.full(len(geoms), "null", dtype=object)
    present = np.flatnonzero(pd.notna(geoms))
    if not len(present):
        return pa.array(out, pa.string())
    shapes = geoms[present]
    point = (shapely.get_type_id(shapes) == 0) & ~shapely.is_empty(shapes)
    coords = shapely.get_coordinates(shapes[point], include_z=True)
    if len(coords):
        finite = np.isfinite(coords)
        nums = coords.astype(str).astype(object)
        nums[~finite] = "null"
        # a z shapely's writer leaves out when it is NaN
        has_z = shapely.has_z(shapes[point]) & ~np.isnan(coords[:, 2])
        xy = np.char.add(np.char.add(nums[:, 0].astype(str), ", "), nums[:, 1].astype(str))
        xyz = np.where(has_z, np.char.add(np.char.add(xy, ", "), nums[:, 2].astype(str)), xy)
        out[present[point]] = np.char.add(
            np.char.add('{"type": "Point", "coordinates": [', xyz), "]}"
        ).astype(object)
    for k in np.flatnonzero(~point).tolist():
        out[present[k]] = json.dumps(json.loads(shapely.to_geojson(shapes[k])))
    return pa.array(out, pa.string())


def merge_parts(parts: list[Path], dest: Path, fmt: str, columns: list[str]) -> None:
    """Concatenate part files into ``dest`` (written whole, then renamed by the caller)."""
    if fmt in ("csv", "jsonl"):
        with open(dest, "wb") as out:
            out.write(csv_header(columns) if fmt == "csv" else b"")
            for p in parts:
                append_file(out, p)
    elif fmt == "geojson":
        with open(dest, "w", encoding="utf-8") as out:
            out.write('{"type": "FeatureCollection", "features": [\n')
            first = True
            for p in parts:
                with open(p, encoding="utf-8") as fh:
                    for line in fh:
                        out.write(("" if first else ",\n") + line.rstrip("\n"))
                        first = False
            out.write("\n]}\n")
    else:
        schema = pa.unify_schemas(
            [_part_schema(p).remove_metadata() for p in parts], promote_options="permissive"
        )
        schema = schema.with_metadata({b"geo": _geo_metadata()})
        with pq.ParquetWriter(dest, schema) as writer:
            for p in parts:
                writer.write_table(_read_part(p).cast(schema))


@functools.cache
def _geo_metadata() -> bytes:
    """GeoParquet's ``geo`` metadata of the outputs: WKB geometries in lon/lat degrees, the
    CRS as the PROJJSON of EPSG:4326."""
    from pyproj import CRS

    crs = CRS.from_epsg(4326).to_json_dict()
    column = {"encoding": "WKB", "geometry_types": [], "crs": crs}
    geo = {"version": "1.0.0", "primary_column": "geometry", "columns": {"geometry": column}}
    return json.dumps(geo).encode()


def write_rejects(rows: list[dict[str, Any]], path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        for r in rows:
            w.writerow([r["row_id"], _neutralise(r["raw"]), r["reject_reason"]])
    os.replace(tmp, path)


def _input_header(src: Path, encoding: str, delimiter: str) -> list[str]:
    """Column names of an input with no data rows (CSV header or Parquet schema)."""
    fmt = file_format(src)
    if fmt == "csv":
        with open(src, encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as fh:
            return next(csv.reader(fh, delimiter=delimiter), [])
    if fmt == "parquet":
        return [n for n in pq.read_schema(src).names if n != "geometry"]
    return []


def empty_output(
    src: Path,
    dest: Path,
    fmt: str,
    columns: Columns,
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> None:
    names = [*input_names(_input_header(src, encoding, delimiter)).values(), *OUTPUT_COLUMNS]
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(names)
        dest.write_text(buf.getvalue(), encoding="utf-8")
    elif fmt == "jsonl":
        dest.write_text("", encoding="utf-8")
    elif fmt == "geojson":
        dest.write_text('{"type": "FeatureCollection", "features": []}\n', encoding="utf-8")
    else:
        table = pa.table(
            {**{c: pa.array([], pa.string()) for c in names}, "geometry": pa.array([], pa.binary())}
        )
        pq.write_table(table.replace_schema_metadata({b"geo": _geo_metadata()}), dest)


#: the formats :func:`write_table` writes
TABLE_FORMATS = ("csv", "jsonl", "parquet")


def write_table(frame: pd.DataFrame, dest: str | Path) -> None:
    """Write ``frame`` whole to ``dest`` as CSV, JSON Lines or Parquet (by extension),
    through a temporary file renamed at the end (a reader never sees half a file)."""
    path = Path(dest)
    fmt = file_format(path)
    if fmt not in TABLE_FORMATS:
        raise BatchError(f"{path}: a table is written as .csv, .jsonl or .parquet")
    tmp = path.with_name(path.name + ".tmp")
    if fmt == "csv":
        frame.to_csv(tmp, index=False)
    elif fmt == "jsonl":
        frame.to_json(tmp, orient="records", lines=True, force_ascii=False)
    else:
        frame.astype({c: str for c in frame.columns if frame[c].dtype == object}).to_parquet(tmp)
    tmp.replace(path)
