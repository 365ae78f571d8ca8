"""Writers of routed rows: one part file per chunk, merged when the run is complete;
rejects; spreadsheet-safe CSV cells."""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from ..dispatch import OUTPUT_COLUMNS, input_names
from ..errors import BatchError
from ..normalize import Columns
from .formats import file_format

REJECT_COLUMNS = ("row_id", "raw", "reject_reason")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


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
    """ISO 8601 text of aware datetimes to the second (as ``datetime.isoformat`` writes them
    with ``timespec="seconds"``, the offset included), None for NaT."""
    wall = times.dt.tz_localize(None).to_numpy(dtype="datetime64[s]")
    utc = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[s]")
    diff = wall - utc
    diff[np.isnat(diff)] = np.timedelta64(0, "s")
    minutes = (diff // np.timedelta64(1, "m")).astype(np.int64, copy=False)
    text = np.datetime_as_string(wall, unit="s")
    offsets = {
        m: f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"
        for m in np.unique(minutes[times.notna().to_numpy()]).tolist()
    }
    zone = np.array([offsets.get(m, "") for m in minutes.tolist()], dtype=object)
    out = pd.Series(np.char.add(text, zone.astype(str)), index=times.index, dtype=object)
    return out.where(times.notna(), None)


def _times(frame: pd.DataFrame) -> list[str]:
    """The columns of aware datetimes the routing wrote (``respond_by``, ``due_at``)."""
    return [str(c) for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]


def _per_distinct(values: pd.Series, text: Any) -> pd.Series:
    """``text(v)`` of each cell, computed once per distinct value (None → "")."""
    cells = values.to_numpy(dtype=object)
    try:
        codes, uniques = pd.factorize(cells, use_na_sentinel=True)
    except TypeError:  # unhashable cells: one by one
        return pd.Series([text(v) for v in cells], index=values.index, dtype=object)
    done = np.array([text(u) for u in uniques] + [""], dtype=object)
    return pd.Series(done[codes], index=values.index, dtype=object)


def _flag_text(flags: pd.Series) -> pd.Series:
    return _per_distinct(flags, lambda f: ";".join(sorted(f)) if f else "")


def _candidate_text(candidates: pd.Series) -> pd.Series:
    """Top category candidates as ``code:score;code:score`` (best first)."""
    return _per_distinct(
        candidates,
        lambda c: ";".join(f"{k}:{v:g}" for k, v in c) if isinstance(c, tuple) else "",
    )


def _to_text_columns(frame: pd.DataFrame, geometry: str | None, fmt: str) -> pd.DataFrame:
    out = frame.copy()
    out["flags"] = _flag_text(out["flags"])
    if "category_candidates" in out:
        out["category_candidates"] = _candidate_text(out["category_candidates"])
    for c in _times(out):
        out[c] = _iso(out[c])
    if geometry and geometry in out and fmt in ("csv", "jsonl"):
        out[geometry] = shapely.to_wkt(out[geometry].to_numpy(), rounding_precision=-1)
    if fmt == "csv":
        for c in out.columns:
            if out[c].dtype == object or pd.api.types.is_string_dtype(out[c].dtype):
                col = out[c].astype(object)
                # first characters at C speed (numpy truncates to one); type checks only
                # for the few cells that start like a formula
                first = np.asarray(col.to_numpy(), dtype="U1")
                rows = np.flatnonzero(np.isin(first, _FORMULA_START))
                if len(rows):
                    values = col.to_numpy(copy=True)
                    for i in rows.tolist():
                        values[i] = _neutralise(values[i])
                    col = pd.Series(values, index=col.index, dtype=object)
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
        if "category_candidates" in table:
            table["category_candidates"] = _candidate_text(table["category_candidates"])
        for c in _times(table):
            table[c] = table[c].dt.floor("s")
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
        schema = schema.with_metadata({b"geo": _geo_metadata()})
        with pq.ParquetWriter(dest, schema) as writer:
            for p in parts:
                writer.write_table(pq.read_table(p).cast(schema))


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
