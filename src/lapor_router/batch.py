"""Last stage: re-route whole report files, losing nothing.

``route_file`` streams an input file (CSV, JSON Lines, GeoJSON or GeoParquet, by extension)
in chunks, routes every parseable row with the vectorized :meth:`Router.route_frame`, writes
rows that cannot be parsed at all to a rejects file, and keeps a checkpoint per chunk so that
``resume=True`` continues an interrupted run. Outputs are assembled under a temporary name and
renamed only when complete.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import re
import shutil
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from .dispatch import MASK, mask_text
from .errors import LaporRouterError
from .route import Router, decide_many

if TYPE_CHECKING:
    from rich.progress import Progress

FORMATS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".geojson": "geojson",
    ".json": "geojson",
    ".parquet": "parquet",
    ".geoparquet": "parquet",
}
OUTPUT_COLUMNS = (
    "row_id",
    "kelurahan_kode",
    "kelurahan",
    "kecamatan",
    "kota",
    "location_status",
    "claimed_kode",
    "unit_id",
    "unit_name",
    "category",
    "category_source",
    "respond_by",
    "due_at",
    "emergency",
    "flags",
    "reroute",
)
REJECT_COLUMNS = ("row_id", "raw", "reject_reason")
TRUE_WORDS = {"1", "true", "t", "yes", "y", "ya", "private", "privat", "on"}
_MAX_RECORD_LINES = 100
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


class BatchError(LaporRouterError):
    """A report file cannot be processed at all (unknown format, unreadable header, a resume
    that does not match the interrupted run)."""


# --------------------------------------------------------------------------- columns


_GUESSES = {
    "lon": ("lon", "longitude", "lng", "long", "x", "bujur"),
    "lat": ("lat", "latitude", "y", "lintang"),
    "category": ("category", "kategori", "service_code"),
    "text": ("text", "description", "deskripsi", "isi", "keterangan", "laporan"),
    "claimed": ("claimed_kelurahan", "claimed", "kelurahan", "kelurahan_kode"),
    "accuracy": ("accuracy_m", "accuracy", "akurasi"),
    "created_at": ("created_at", "created", "requested_datetime", "tanggal", "waktu"),
    "unit": ("unit", "unit_id", "current_unit", "agency_responsible"),
    "private": ("private", "privat", "is_private"),
    "report_id": ("report_id", "service_request_id", "id"),
}


@dataclass(frozen=True)
class Columns:
    """Which input columns hold what. None: guess from common names (see ``_GUESSES``)."""

    lon: str | None = None
    lat: str | None = None
    category: str | None = None
    text: str | None = None
    claimed: str | None = None
    accuracy: str | None = None
    created_at: str | None = None
    unit: str | None = None
    private: str | None = None
    report_id: str | None = None
    reporter: tuple[str, ...] = ()

    def resolve(self, names: Sequence[str]) -> Columns:
        """Explicit names checked against ``names``; the others guessed."""
        lower = {n.lower(): n for n in names}
        chosen: dict[str, Any] = {}
        for key, guesses in _GUESSES.items():
            given = getattr(self, key)
            if given is not None:
                if given not in names:
                    raise BatchError(
                        f"column {given!r} (for {key}) is not in the input; columns: {list(names)}"
                    )
                chosen[key] = given
            else:
                chosen[key] = next((lower[g] for g in guesses if g in lower), None)
        missing = [c for c in self.reporter if c not in names]
        if missing:
            raise BatchError(f"reporter column(s) {missing} are not in the input")
        return Columns(**chosen, reporter=tuple(self.reporter))


def _input_names(names: Sequence[str]) -> dict[str, str]:
    """Input columns renamed where they collide with an output column (``x`` → ``x_input``)."""
    taken = set(OUTPUT_COLUMNS)
    out = {}
    for n in names:
        new = n
        while new in taken:
            new = f"{new}_input"
        taken.add(new)
        out[n] = new
    return out


def _truthy(values: pd.Series) -> np.ndarray:
    return values.map(
        lambda v: str(v).strip().lower() in TRUE_WORDS if v is not None and v == v else False
    ).to_numpy(dtype=bool)


def route_frame(
    router: Router,
    frame: pd.DataFrame,
    columns: Columns | None = None,
    now: datetime | None = None,
    row_ids: Sequence[int] | np.ndarray | None = None,
    geometry: str | None = None,
) -> pd.DataFrame:
    """Every column of ``frame`` plus the routing columns (:data:`OUTPUT_COLUMNS`), one row
    per input row, in order. Coordinates come from the lon/lat columns, or from a point
    ``geometry`` column (shapely objects). Reporter columns of private rows are masked and
    free text is masked as in the dispatch record."""
    return _route(router, frame, columns, now, row_ids, geometry)[0]


def _route(
    router: Router,
    frame: pd.DataFrame,
    columns: Columns | None,
    now: datetime | None,
    row_ids: Sequence[int] | np.ndarray | None,
    geometry: str | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Routed rows, and the locate_many frame behind them."""
    cols = (columns or Columns()).resolve([str(c) for c in frame.columns if c != geometry])
    n = len(frame)
    now = now or router.now()
    if cols.lon and cols.lat:
        lons, lats = frame[cols.lon], frame[cols.lat]
    elif geometry is not None:
        geoms = frame[geometry].to_numpy()
        is_point = shapely.get_type_id(geoms) == 0
        lons = pd.Series(np.where(is_point, shapely.get_x(geoms), np.nan), index=frame.index)
        lats = pd.Series(np.where(is_point, shapely.get_y(geoms), np.nan), index=frame.index)
    else:
        raise BatchError(
            f"no coordinate columns found in {list(frame.columns)}; "
            "name them with lon/lat (or --lon-col/--lat-col)"
        )

    def col(name: str | None) -> Any:
        return frame[name].to_numpy(dtype=object) if name else None

    located = router.locate_many(
        lons, lats, accuracy_m=_blank_to_none(col(cols.accuracy)), claimed=col(cols.claimed)
    )
    located.index = frame.index
    decided = decide_many(
        router.rules,
        router.calendar,
        router.classifier,
        located,
        col(cols.category),
        col(cols.text),
        col(cols.created_at),
        now,
    )
    out = frame.rename(columns=_input_names([str(c) for c in frame.columns]))
    private = _truthy(frame[cols.private]) if cols.private else np.zeros(n, dtype=bool)
    renamed = _input_names([str(c) for c in frame.columns])
    if cols.text:
        texts = frame[cols.text].to_numpy(dtype=object)
        reporters = [frame[c].to_numpy(dtype=object) for c in cols.reporter]
        out[renamed[cols.text]] = [
            mask_text(
                t, tuple(str(r[i]) for r in reporters if _present(r[i])) if private[i] else ()
            )
            for i, t in enumerate(texts)
        ]
    for c in cols.reporter:
        values = out[renamed[c]].astype(object)
        out[renamed[c]] = values.where(~private | ~values.map(_present), MASK)
    unit_given = (
        frame[cols.unit].map(lambda v: str(v).strip().lower() if _present(v) else "")
        if cols.unit
        else pd.Series([""] * n, index=frame.index)
    )
    new_unit = decided["unit_id"].map(lambda v: v.lower() if isinstance(v, str) else "")
    new_name = decided["unit_name"].map(lambda v: v.lower() if isinstance(v, str) else "")
    unit_changed = (
        (unit_given.to_numpy(dtype=object) != "")
        & (unit_given.to_numpy(dtype=object) != new_unit.to_numpy(dtype=object))
        & (unit_given.to_numpy(dtype=object) != new_name.to_numpy(dtype=object))
    )
    kel_changed = located["flags"].map(lambda f: "claimed_mismatch" in f)
    out["row_id"] = np.asarray(row_ids if row_ids is not None else np.arange(n), dtype=np.int64)
    for name, source in (
        ("kelurahan_kode", "kode"),
        ("kelurahan", "nama"),
        ("kecamatan", "kecamatan"),
        ("kota", "kota"),
        ("location_status", "status"),
        ("claimed_kode", "claimed_kode"),
    ):
        values = located[source].astype(object)
        out[name] = values.where(values.notna(), None).astype(object)
    for c in OUTPUT_COLUMNS[7:14]:  # unit_id … emergency, as decided
        out[c] = decided[c]
    out["flags"] = decided["flags"]
    out["reroute"] = unit_changed.astype(bool) | kel_changed.to_numpy(dtype=bool)
    return out, located


def _present(v: Any) -> bool:
    return v is not None and v == v and str(v).strip() != ""


def _blank_to_none(values: np.ndarray | None) -> np.ndarray | None:
    if values is None:
        return None
    out = values.copy()
    for i, v in enumerate(out):
        if isinstance(v, str) and not v.strip():
            out[i] = None
    return out


# ---------------------------------------------------------------------------- readers


@dataclass
class Chunk:
    """Parsed rows of one chunk (``frame`` with a ``row_id`` per row), its rejects, and
    where the next chunk starts (a byte offset, or a row count for whole-file formats)."""

    frame: pd.DataFrame
    rejects: list[dict[str, Any]]
    next_position: int
    rows_read: int
    geometry: str | None = None


def _csv_records(fh: io.BufferedReader, offset: int) -> Iterator[tuple[bytes, int, str | None]]:
    """(record bytes, end offset, problem) for each CSV record from ``offset``. A record
    spans lines while its quotes are unbalanced; one that never balances within 100 lines is
    reported alone as broken quoting and parsing goes on at the next line."""
    fh.seek(offset)
    pos = offset
    lines = iter(fh)
    pending: deque[tuple[bytes, int]] = deque()

    def next_line() -> tuple[bytes, int] | None:
        nonlocal pos
        if pending:
            return pending.popleft()
        line = next(lines, None)
        if line is None:
            return None
        pos += len(line)
        return line, pos

    while (item := next_line()) is not None:
        line, end = item
        quotes = line.count(b'"')
        if quotes % 2 == 0:
            yield line, end, None
            continue
        parts = [item]
        while quotes % 2 and len(parts) < _MAX_RECORD_LINES:
            nxt = next_line()
            if nxt is None:
                break
            parts.append(nxt)
            quotes += nxt[0].count(b'"')
        if quotes % 2 == 0:
            yield b"".join(p[0] for p in parts), parts[-1][1], None
        else:
            yield line, end, "broken quoting: unbalanced quote"
            pending.extendleft(reversed(parts[1:]))


def _raw(record: bytes) -> str:
    return record.rstrip(b"\r\n").decode("utf-8", "backslashreplace")


def _parse_csv_texts(texts: list[str]) -> list[list[str] | str]:
    """Fields of each record, or the csv module's complaint for a malformed one."""
    out: list[list[str] | str] = []
    start = 0
    while start < len(texts):
        reader = csv.reader(texts[start:], strict=True)
        try:
            for fields in reader:
                out.append(fields)
            return out
        except csv.Error as exc:
            bad = start + reader.line_num - 1  # each text is one "line" of the reader
            out.append(f"broken quoting: {exc}")
            start = bad + 1
    return out


def read_csv_chunks(
    path: Path, chunk_rows: int, position: int = 0, rows_before: int = 0
) -> Iterator[Chunk]:
    """CSV in chunks. Position 0 starts at the header; otherwise the byte offset to go on."""
    with open(path, "rb") as fh:
        header_line = fh.readline()
        try:
            header = next(csv.reader([header_line.decode("utf-8-sig")], strict=True))
        except (UnicodeDecodeError, csv.Error, StopIteration) as exc:
            raise BatchError(f"{path}: unreadable CSV header ({exc})") from exc
        if not header or len(set(header)) != len(header):
            raise BatchError(f"{path}: the header has empty or duplicate column names")
        offset = max(position, len(header_line))
        row = rows_before
        records = _csv_records(fh, offset)
        while True:
            batch = []
            for rec in records:
                batch.append(rec)
                if len(batch) >= chunk_rows:
                    break
            if not batch:
                return
            good_ids: list[int] = []
            good_texts: list[str] = []
            rejects: list[dict[str, Any]] = []
            for i, (record, _end, problem) in enumerate(batch):
                rid = row + i
                body = record.rstrip(b"\r\n")
                if problem:
                    rejects.append({"row_id": rid, "raw": _raw(record), "reject_reason": problem})
                elif not body.strip():
                    rejects.append(
                        {"row_id": rid, "raw": _raw(record), "reject_reason": "empty line"}
                    )
                else:
                    try:
                        good_texts.append(body.decode("utf-8"))
                        good_ids.append(rid)
                    except UnicodeDecodeError as exc:
                        rejects.append(
                            {
                                "row_id": rid,
                                "raw": _raw(record),
                                "reject_reason": f"bad encoding: {exc.reason} at byte {exc.start}",
                            }
                        )
            rows: list[list[str]] = []
            ids: list[int] = []
            for rid, text, fields in zip(
                good_ids, good_texts, _parse_csv_texts(good_texts), strict=True
            ):
                if isinstance(fields, str):
                    rejects.append({"row_id": rid, "raw": text, "reject_reason": fields})
                elif len(fields) != len(header):
                    rejects.append(
                        {
                            "row_id": rid,
                            "raw": text,
                            "reject_reason": f"expected {len(header)} fields, got {len(fields)}",
                        }
                    )
                else:
                    rows.append(fields)
                    ids.append(rid)
            frame = (
                pd.DataFrame(rows, columns=header, dtype=object)
                if rows
                else pd.DataFrame({h: pd.Series(dtype=object) for h in header})
            )
            frame.insert(0, "__row_id", np.asarray(ids, dtype=np.int64))
            row += len(batch)
            yield Chunk(frame, sorted(rejects, key=lambda r: r["row_id"]), batch[-1][1], len(batch))


def read_jsonl_chunks(
    path: Path, chunk_rows: int, position: int = 0, rows_before: int = 0
) -> Iterator[Chunk]:
    """JSON Lines in chunks: one object per line; anything else is a reject."""
    names: dict[str, None] = {}
    with open(path, "rb") as fh:  # first pass: every key, so every chunk has one schema
        for line in fh:
            with contextlib.suppress(ValueError):
                obj = json.loads(line)
                if isinstance(obj, dict):
                    names.update(dict.fromkeys(obj))
    header = list(names)
    with open(path, "rb") as fh:
        fh.seek(position)
        pos, row = position, rows_before
        while True:
            rows, ids, rejects = [], [], []
            count = 0
            for line in fh:
                pos += len(line)
                rid = row + count
                count += 1
                body = line.strip()
                try:
                    obj = json.loads(body) if body else None
                    if not isinstance(obj, dict):
                        raise ValueError("not a JSON object" if body else "empty line")
                    rows.append([_cell(obj.get(h)) for h in header])
                    ids.append(rid)
                except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError included
                    rejects.append(
                        {"row_id": rid, "raw": _raw(line), "reject_reason": f"invalid JSON: {exc}"}
                    )
                if count >= chunk_rows:
                    break
            if count == 0:
                return
            frame = (
                pd.DataFrame(rows, columns=header, dtype=object)
                if rows
                else pd.DataFrame({h: pd.Series(dtype=object) for h in header})
            )
            frame.insert(0, "__row_id", np.asarray(ids, dtype=np.int64))
            row += count
            yield Chunk(frame, rejects, pos, count)


def _cell(v: Any) -> Any:
    return json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v


def read_geojson_chunks(
    path: Path, chunk_rows: int, position: int = 0, rows_before: int = 0
) -> Iterator[Chunk]:
    """A GeoJSON FeatureCollection (read whole), in chunks; a feature whose geometry cannot
    be read is a reject."""
    try:
        with open(path, encoding="utf-8") as fh:
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
                        "raw": json.dumps(f, ensure_ascii=False)[:10000],
                        "reject_reason": f"unreadable geometry: {exc}",
                    }
                )
        frame = (
            pd.DataFrame(rows, columns=header, dtype=object)
            if rows
            else pd.DataFrame({h: pd.Series(dtype=object) for h in header})
        )
        frame.insert(0, "__row_id", np.asarray(ids, dtype=np.int64))
        frame["geometry"] = pd.Series(geoms, dtype=object)
        n = len(features[start : start + chunk_rows])
        yield Chunk(frame, rejects, start + n, n, geometry="geometry")


def read_parquet_chunks(
    path: Path, chunk_rows: int, position: int = 0, rows_before: int = 0
) -> Iterator[Chunk]:
    """(Geo)Parquet in record batches; a geometry that is not readable WKB is a reject."""
    try:
        pf = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise BatchError(f"{path}: not readable Parquet ({exc})") from exc
    meta = json.loads((pf.schema_arrow.metadata or {}).get(b"geo", b"{}") or b"{}")
    geom_col = meta.get("primary_column") if meta else None
    row = 0
    for batch in pf.iter_batches(batch_size=chunk_rows):
        n = batch.num_rows
        if row + n <= position:
            row += n
            continue
        frame = batch.to_pandas(types_mapper=None)
        frame = frame.astype({c: object for c in frame.columns})
        ids = np.arange(row, row + n, dtype=np.int64)
        rejects = []
        if geom_col and geom_col in frame:
            wkb = frame[geom_col].to_numpy()
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
        row += n
        yield Chunk(frame, rejects, row, n, geometry=geom_col if geom_col in frame else None)


READERS: dict[str, Callable[..., Iterator[Chunk]]] = {
    "csv": read_csv_chunks,
    "jsonl": read_jsonl_chunks,
    "geojson": read_geojson_chunks,
    "parquet": read_parquet_chunks,
}


def file_format(path: str | Path) -> str:
    """``csv``, ``jsonl``, ``geojson`` or ``parquet`` from a file name's extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise BatchError(f"{path}: unknown format {suffix!r}; use one of {sorted(FORMATS)}")
    return FORMATS[suffix]


# ---------------------------------------------------------------------------- writers


def _neutralise(value: Any) -> Any:
    """A spreadsheet formula cell (``=…``, ``+…``, ``-…``, ``@…``) made inert with a quote."""
    if (
        isinstance(value, str)
        and value.startswith(_FORMULA_START)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def _iso(times: pd.Series) -> pd.Series:
    """ISO 8601 text of aware datetimes (as ``datetime.isoformat`` writes them), None for NaT."""
    wall = times.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    utc = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    diff = wall - utc
    diff[np.isnat(diff)] = np.timedelta64(0, "us")
    minutes = (diff // np.timedelta64(1, "m")).astype(np.int64, copy=False)
    text = np.char.replace(np.datetime_as_string(wall, unit="us"), ".000000", "")
    offsets = {
        m: f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"
        for m in np.unique(minutes[times.notna().to_numpy()]).tolist()
    }
    zone = np.array([offsets.get(m, "") for m in minutes.tolist()], dtype=object)
    out = pd.Series(np.char.add(text, zone.astype(str)), index=times.index, dtype=object)
    return out.where(times.notna(), None)


def _flag_text(flags: pd.Series) -> pd.Series:
    cache: dict[frozenset[str], str] = {}
    return flags.map(lambda f: cache.setdefault(f, ";".join(sorted(f))) if f else "")


def _to_text_columns(frame: pd.DataFrame, geometry: str | None, fmt: str) -> pd.DataFrame:
    out = frame.copy()
    out["flags"] = _flag_text(out["flags"])
    for c in ("respond_by", "due_at"):
        out[c] = _iso(out[c])
    if geometry and geometry in out and fmt in ("csv", "jsonl"):
        out[geometry] = shapely.to_wkt(out[geometry].to_numpy(), rounding_precision=-1)
    if fmt == "csv":
        for c in out.columns:
            if out[c].dtype == object or pd.api.types.is_string_dtype(out[c].dtype):
                col = out[c].astype(object)
                risky = (
                    col.astype(str).str[:1].isin(_FORMULA_START)
                    & col.map(lambda v: isinstance(v, str))
                    if len(col)
                    else col.astype(bool)
                )
                if risky.any():
                    col[risky] = col[risky].map(_neutralise)
                out[c] = col
    return out


def _point_geometry(
    frame: pd.DataFrame, geometry: str | None, router_lonlat: pd.DataFrame
) -> np.ndarray:
    if geometry and geometry in frame:
        return frame[geometry].to_numpy()
    lon = router_lonlat["lon"].to_numpy(dtype=float)
    lat = router_lonlat["lat"].to_numpy(dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    out = np.full(len(frame), None, dtype=object)
    out[ok] = shapely.points(lon[ok], lat[ok])
    return out


def write_part(
    frame: pd.DataFrame, path: Path, fmt: str, geometry: str | None, lonlat: pd.DataFrame
) -> None:
    """One chunk's routed rows, in the output format (merged later by :func:`merge_parts`)."""
    tmp = path.with_name(path.name + ".tmp")
    if fmt == "csv":
        _to_text_columns(frame, geometry, fmt).to_csv(tmp, index=False, header=False)
    elif fmt == "jsonl":
        text = _to_text_columns(frame, geometry, fmt)
        with open(tmp, "w", encoding="utf-8") as fh:
            for rec in text.to_dict(orient="records"):
                fh.write(json.dumps(_jsonable(rec), ensure_ascii=False) + "\n")
    elif fmt == "geojson":
        geoms = _point_geometry(frame, geometry, lonlat)
        text = _to_text_columns(
            frame.drop(columns=[geometry]) if geometry in frame else frame, None, fmt
        )
        with open(tmp, "w", encoding="utf-8") as fh:
            for g, rec in zip(geoms, text.to_dict(orient="records"), strict=True):
                geo = json.loads(shapely.to_geojson(g)) if g is not None else None
                fh.write(
                    json.dumps(
                        {"type": "Feature", "geometry": geo, "properties": _jsonable(rec)},
                        ensure_ascii=False,
                    )
                    + "\n"
                )
    else:
        geoms = _point_geometry(frame, geometry, lonlat)
        table = frame.drop(columns=[geometry]) if geometry in frame else frame.copy()
        table["flags"] = _flag_text(table["flags"])
        for c in table.columns:
            if table[c].dtype == object and c not in ("respond_by", "due_at"):
                table[c] = table[c].map(
                    lambda v: (
                        None
                        if v is None or v != v
                        else (v if isinstance(v, str | bytes) else str(v))
                    )
                )
        table["geometry"] = shapely.to_wkb(geoms)
        pq.write_table(pa.Table.from_pandas(table, preserve_index=False), tmp)
    os.replace(tmp, path)


def _jsonable(rec: Mapping[Any, Any]) -> dict[str, Any]:
    out = {}
    for k, v in rec.items():
        if isinstance(v, float) and v != v:
            v = None
        elif isinstance(v, np.generic):
            v = v.item()
        elif isinstance(v, bytes):
            v = v.hex()
        out[str(k)] = v
    return out


def merge_parts(parts: list[Path], dest: Path, fmt: str, columns: list[str]) -> None:
    """Concatenate part files into ``dest`` (written whole, then renamed by the caller)."""
    if fmt == "csv":
        with open(dest, "wb") as out:
            header = io.StringIO()
            csv.writer(header, lineterminator="\n").writerow([_neutralise(c) for c in columns])
            out.write(header.getvalue().encode("utf-8"))
            for p in parts:
                with open(p, "rb") as fh:
                    shutil.copyfileobj(fh, out)
    elif fmt == "jsonl":
        with open(dest, "wb") as out:
            for p in parts:
                with open(p, "rb") as fh:
                    shutil.copyfileobj(fh, out)
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
        schemas = [pq.read_schema(p) for p in parts]
        schema = pa.unify_schemas(
            [s.remove_metadata() for s in schemas], promote_options="permissive"
        )
        geo = {
            "version": "1.0.0",
            "primary_column": "geometry",
            "columns": {"geometry": {"encoding": "WKB", "geometry_types": [], "crs": None}},
        }
        schema = schema.with_metadata({b"geo": json.dumps(geo).encode()})
        with pq.ParquetWriter(dest, schema) as writer:
            for p in parts:
                writer.write_table(pq.read_table(p).cast(schema))


def _write_rejects(rows: list[dict[str, Any]], path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        for r in rows:
            w.writerow([r["row_id"], _neutralise(r["raw"]), r["reject_reason"]])
    os.replace(tmp, path)


# ---------------------------------------------------------------------------- summary


@dataclass
class Tally:
    """Counts that add up across chunks (and across an interrupted and a resumed run)."""

    rows_read: int = 0
    rows_written: int = 0
    rows_rejected: int = 0
    rows_rerouted: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_flag: Counter[str] = field(default_factory=Counter)
    by_unit: Counter[str] = field(default_factory=Counter)
    rerouted_kelurahan: Counter[str] = field(default_factory=Counter)
    rerouted_unit: Counter[str] = field(default_factory=Counter)
    reject_reasons: Counter[str] = field(default_factory=Counter)

    def _items(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def add(self, other: Tally) -> None:
        for k, v in other._items().items():
            if isinstance(v, dict):
                getattr(self, k).update(v)
            else:
                setattr(self, k, getattr(self, k) + v)

    @classmethod
    def of(
        cls,
        routed: pd.DataFrame,
        rejects: list[dict[str, Any]],
        read: int,
        claimed_col: str | None,
        unit_col: str | None,
    ) -> Tally:
        t = cls(rows_read=read, rows_written=len(routed), rows_rejected=len(rejects))
        t.by_status.update(routed["location_status"].tolist())
        for flags in routed["flags"]:
            t.by_flag.update(flags)
        t.by_unit.update(
            routed["unit_id"].map(lambda u: u if isinstance(u, str) else "(none)").tolist()
        )
        rr = routed[routed["reroute"].to_numpy(dtype=bool)]
        t.rows_rerouted = len(rr)
        kel = rr[rr["flags"].map(lambda f: "claimed_mismatch" in f).to_numpy(dtype=bool)]
        t.rerouted_kelurahan.update(
            (kel["claimed_kode"].astype(str) + " → " + kel["kelurahan_kode"].astype(str)).tolist()
        )
        if unit_col:
            current = rr[unit_col].map(lambda v: str(v).strip().lower() if _present(v) else "")
            new_id = rr["unit_id"].map(lambda v: v.lower() if isinstance(v, str) else "")
            new_name = rr["unit_name"].map(lambda v: v.lower() if isinstance(v, str) else "")
            unit = rr[
                ((current != "") & (current != new_id) & (current != new_name)).to_numpy(dtype=bool)
            ]
            t.rerouted_unit.update(
                (
                    unit[unit_col].astype(str)
                    + " → "
                    + unit["unit_id"].map(
                        lambda u: u if isinstance(u, str) else "(outside Jakarta)"
                    )
                ).tolist()
            )
        t.reject_reasons.update(r["reject_reason"].split(":")[0] for r in rejects)
        return t

    def as_dict(self) -> dict[str, Any]:
        return {
            k: dict(sorted(v.items(), key=lambda kv: (-kv[1], kv[0]))) if isinstance(v, dict) else v
            for k, v in self._items().items()
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Tally:
        t = cls()
        for k, v in d.items():
            if isinstance(getattr(t, k), Counter):
                getattr(t, k).update(v)
            else:
                setattr(t, k, v)
        return t


# ------------------------------------------------------------------------------- driver


def _fingerprint(path: Path) -> dict[str, Any]:
    st = path.stat()
    with open(path, "rb") as fh:
        head = hashlib.sha256(fh.read(1 << 16)).hexdigest()
    return {
        "path": str(path.resolve()),
        "bytes": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "head_sha256": head,
    }


def route_chunk(
    router: Router, frame: pd.DataFrame, columns: Columns, now: datetime, geometry: str | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Route one chunk read by a reader (in-process or on a dask worker): the routed rows and
    the located lon/lat (degrees, after corrections) for geometry outputs."""
    ids = frame["__row_id"].to_numpy()
    routed, located = _route(router, frame.drop(columns=["__row_id"]), columns, now, ids, geometry)
    return routed, located[["lon", "lat"]]


class _LocalEngine:
    def __init__(self, router: Router) -> None:
        self.router = router

    def map(
        self, jobs: Iterator[tuple[Chunk, Columns, datetime]]
    ) -> Iterator[tuple[Chunk, tuple[pd.DataFrame, pd.DataFrame]]]:
        for chunk, columns, now in jobs:
            yield chunk, route_chunk(self.router, chunk.frame, columns, now, chunk.geometry)

    def close(self) -> None:
        pass


def route_file(
    input: str | Path,
    output: str | Path,
    rejects: str | Path | None = None,
    *,
    resume: bool = False,
    engine: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    columns: Columns | None = None,
    chunk_rows: int = 50_000,
    router: Router | None = None,
    progress: bool | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Re-route every row of ``input`` into ``output`` (formats by extension) and return the
    summary, which is also written beside the output as ``OUTPUT.summary.json``.

    Every input row ends up exactly once in ``output`` or in ``rejects`` (default
    ``OUTPUT.rejects.csv``); ``row_id`` in the two together is exactly 0..N-1. Work goes
    chunk by chunk under ``OUTPUT.parts/``; nothing named ``output`` exists until the run is
    complete. ``resume=True`` continues an interrupted run from its last completed chunk.
    ``engine="dask"`` routes chunks on a dask.distributed cluster (``scheduler`` address, or
    a LocalCluster of ``workers`` processes).
    """
    src, dest = Path(input), Path(output)
    if not src.is_file():
        raise BatchError(f"{src}: no such input file")
    in_fmt, out_fmt = file_format(src), file_format(dest)
    rej = Path(rejects) if rejects else dest.with_name(dest.name + ".rejects.csv")
    if file_format(rej) != "csv":
        raise BatchError(f"{rej}: rejects are written as CSV (use a .csv name)")
    summary_path = dest.with_name(dest.name + ".summary.json")
    work = dest.with_name(dest.name + ".parts")
    columns = columns or Columns()
    settings = {
        "input": _fingerprint(src),
        "output_format": out_fmt,
        "chunk_rows": chunk_rows,
        "columns": asdict(columns),
    }
    state: dict[str, Any] | None = None
    progress_file = work / "progress.json"
    if resume and progress_file.is_file():
        state = json.loads(progress_file.read_text(encoding="utf-8"))
        if state["settings"] != json.loads(json.dumps(settings)):
            raise BatchError(
                f"{src}: the input or options changed since the interrupted run; "
                "run again without --resume"
            )
    else:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        state = {
            "settings": settings,
            "now": (now or (router or _default_router()).now()).isoformat(),
            "chunks": [],
        }
        _save(progress_file, state)
    assert state is not None
    for stale in work.glob("*.tmp"):
        stale.unlink()
    router = router or _default_router()
    run_now = datetime.fromisoformat(state["now"])
    done = state["chunks"]
    position = done[-1]["next_position"] if done else 0
    rows_before = done[-1]["rows_end"] if done else 0
    reader = READERS[in_fmt](src, chunk_rows, position, rows_before)
    engine_impl = _make_engine(engine, router, workers, scheduler)
    bar = _progress(progress)
    task = (
        bar.add_task("routing", total=src.stat().st_size if in_fmt in ("csv", "jsonl") else None)
        if bar
        else None
    )
    header_cols: list[str] | None = state.get("columns")
    claimed_col = unit_col = None
    try:
        jobs = ((chunk, columns, run_now) for chunk in reader)
        for chunk, (routed, lonlat) in engine_impl.map(jobs):
            k = len(done)
            cols = columns.resolve(
                [str(c) for c in chunk.frame.columns if c not in ("__row_id", chunk.geometry)]
            )
            renamed = _input_names([str(c) for c in chunk.frame.columns if c != "__row_id"])
            claimed_col = renamed.get(cols.claimed) if cols.claimed else None
            unit_col = renamed.get(cols.unit) if cols.unit else None
            part = work / f"part-{k:06d}{dest.suffix}"
            write_part(routed, part, out_fmt, renamed.get(chunk.geometry or ""), lonlat)
            _write_rejects(chunk.rejects, work / f"rejects-{k:06d}.csv")
            tally = Tally.of(routed, chunk.rejects, chunk.rows_read, claimed_col, unit_col)
            if header_cols is None:
                header_cols = [c for c in routed.columns]
                if out_fmt in ("geojson", "parquet") and chunk.geometry in renamed:
                    header_cols.remove(renamed[chunk.geometry])
                state["columns"] = header_cols
            done.append(
                {
                    "part": part.name,
                    "next_position": chunk.next_position,
                    "rows_end": (done[-1]["rows_end"] if done else 0) + chunk.rows_read,
                    "tally": tally.as_dict(),
                }
            )
            _save(progress_file, state)
            if bar is not None and task is not None:
                bar.update(
                    task,
                    completed=chunk.next_position if in_fmt in ("csv", "jsonl") else None,
                    advance=None if in_fmt in ("csv", "jsonl") else 1,
                )
    finally:
        engine_impl.close()
        if bar is not None:
            bar.stop()
    total = Tally()
    for d in done:
        total.add(Tally.from_dict(d["tally"]))
    parts = [work / d["part"] for d in done]
    partial = dest.with_name(dest.name + ".partial")
    if parts:
        merge_parts(parts, partial, out_fmt, header_cols or [])
    else:
        _empty_output(src, partial, out_fmt, columns)
    rej_partial = rej.with_name(rej.name + ".partial")
    with open(rej_partial, "wb") as out:
        out.write((",".join(REJECT_COLUMNS) + "\n").encode())
        for k in range(len(done)):
            with open(work / f"rejects-{k:06d}.csv", "rb") as fh:
                shutil.copyfileobj(fh, out)
    summary = {
        "input": str(src),
        "output": str(dest),
        "rejects": str(rej),
        "boundary_set": router.boundaries.id,
        "rule_set": router.rules.version,
        "run_started_at": state["now"],
        "chunks": len(done),
        **total.as_dict(),
    }
    summary["rerouted_kelurahan"] = dict(list(summary["rerouted_kelurahan"].items())[:50])
    summary["rerouted_unit"] = dict(list(summary["rerouted_unit"].items())[:50])
    summary_tmp = summary_path.with_name(summary_path.name + ".partial")
    summary_tmp.write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    os.replace(rej_partial, rej)
    os.replace(summary_tmp, summary_path)
    os.replace(partial, dest)
    shutil.rmtree(work, ignore_errors=True)
    if summary["rows_read"] != summary["rows_written"] + summary["rows_rejected"]:
        raise BatchError("row accounting failed: read != written + rejected")  # never expected
    return summary


def _input_header(src: Path) -> list[str]:
    """Column names of an input with no data rows (CSV header or Parquet schema)."""
    fmt = file_format(src)
    if fmt == "csv":
        with open(src, encoding="utf-8-sig", newline="") as fh:
            return next(csv.reader(fh), [])
    if fmt == "parquet":
        return [n for n in pq.read_schema(src).names if n != "geometry"]
    return []


def _empty_output(src: Path, dest: Path, fmt: str, columns: Columns) -> None:
    names = [*_input_names(_input_header(src)).values(), *OUTPUT_COLUMNS]
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(names)
        dest.write_text(buf.getvalue(), encoding="utf-8")
    elif fmt == "jsonl":
        dest.write_text("", encoding="utf-8")
    elif fmt == "geojson":
        dest.write_text('{"type": "FeatureCollection", "features": []}\n', encoding="utf-8")
    else:
        pq.write_table(pa.table({c: pa.array([], pa.string()) for c in names}), dest)


def _save(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def _default_router() -> Router:
    return Router.default()


def _progress(enabled: bool | None) -> Progress | None:
    import sys

    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        return None
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        transient=True,
    )
    bar.start()
    return bar


def _make_engine(engine: str, router: Router, workers: int | None, scheduler: str | None) -> Any:
    if engine == "local":
        return _LocalEngine(router)
    if engine == "dask":
        from .dask import DaskEngine

        return DaskEngine(router, workers=workers, scheduler=scheduler)
    raise BatchError(f"unknown engine {engine!r}; use 'local' or 'dask'")
