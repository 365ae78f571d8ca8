"""Asset layers: who owns the road, river or railway a report is next to.

An :class:`AssetLayer` is a line or polygon file (GeoParquet, GeoJSON, GeoPackage...) of one
kind of asset (``road``, ``river``, ``rail``, ``canal``...) with an id, an owner and class
columns per feature (``road_class``: national / provincial / toll). A report within the
layer's distance (metres) of a feature gets that feature's attributes, which rules match on
(``when = { asset = "road", road_class = "national" }``). Matching is vectorized and
compiled (:mod:`.asset_kernels`): nearest feature per point within the distance, ties by
id (compared as text); metres on the WGS84 ellipsoid's local plane at the point, the
geodesic distance to a few parts in a million at these ranges.

Layers are checked on loading as boundary sets are (:class:`AssetLayerError` naming the
file), installed with a layer spec (``lapor-router data install-layer SPEC.toml``) into the
data directory with their sha256, and verified on every load.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
import shutil
import threading
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import _data
from ..errors import AssetLayerError, ChecksumError, DataError
from .boundaries import _read_frame, _to_wgs84

LINE_TYPES = (1, 2, 5)  # LineString, LinearRing, MultiLineString
POLYGON_TYPES = (3, 6)  # Polygon, MultiPolygon
MAX_DISTANCE_M = 1000.0  # a layer's distance may be at most this (metres)
LAYERS_SUBDIR = "asset_layers"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: Attribute names a match gives (or a routed file's columns): no class column, no report
#: attribute and no rule condition may use them except ``asset`` and ``asset_owner``.
RESERVED_KEYS = ("asset", "asset_id", "asset_owner", "asset_layer", "asset_distance_m")
#: Location statuses that place a report by its own point, where assets may apply.
ASSET_STATUSES = ("inside", "overlap", "gap")
SIDECAR_FORMATS = (".shp",)  # a layer in these needs more files than one: not installed


@dataclass(frozen=True)
class AssetMatch:
    """A feature a report lies near: its layer (``name@version``), kind, id, owner (a unit
    id of the rule set, or None), class attributes and distance in metres."""

    layer: str
    asset: str
    asset_id: str
    owner: str | None
    classes: Mapping[str, str]
    distance_m: float

    @property
    def attributes(self) -> dict[str, str]:
        """What rules match on: ``asset``, ``asset_id``, ``asset_owner`` and the classes."""
        out = {"asset": self.asset, "asset_id": self.asset_id, **self.classes}
        if self.owner is not None:
            out["asset_owner"] = self.owner
        return out


@dataclass(frozen=True, eq=False)
class AssetLayer:
    """One asset layer in EPSG:4326. ``max_distance_m``: how near (metres) a report must
    be to a feature to be about it (e.g. 15 m of a road's centre line)."""

    name: str
    asset: str
    version: str
    source: str
    sha256: str
    max_distance_m: float
    ids: np.ndarray
    owners: np.ndarray
    classes: Mapping[str, np.ndarray]
    geoms: np.ndarray
    _index: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def __len__(self) -> int:
        return len(self.ids)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_lock"] = None
        state["_index"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["_lock"] = threading.Lock()
        self.__dict__.update(state)

    @property
    def label(self) -> str:
        """``name@version``, as decisions name the layer."""
        return f"{self.name}@{self.version}"

    def schema(self) -> dict[str, Any]:
        """The asset kind, the values of each class column and the owners present."""
        return {
            "asset": self.asset,
            "classes": {
                c: sorted({str(v) for v in vals if v is not None})
                for c, vals in self.classes.items()
            },
            "owners": sorted({str(o) for o in self.owners if o is not None}),
        }

    def feature(self, i: int, distance_m: float) -> AssetMatch:
        """Feature ``i`` as a match at ``distance_m``."""
        classes = {c: str(v[i]) for c, v in self.classes.items() if v[i] is not None}
        owner = self.owners[i]
        return AssetMatch(
            self.label, self.asset, str(self.ids[i]), None if owner is None else str(owner),
            classes, float(distance_m),
        )  # fmt: skip

    def context_codes(self) -> np.ndarray:
        """A code per feature for what rules see of it (asset, owner, classes; not the id):
        features with equal codes route alike."""
        with self._lock:
            if "context" not in self._index:
                cols = [self.owners, *self.classes.values()]
                keys = ["\x1f".join("" if c[i] is None else str(c[i]) for c in cols)
                        for i in range(len(self.ids))]  # fmt: skip
                codes = np.unique(np.array(keys, dtype=object), return_inverse=True)[1]
                self._index["context"] = codes.astype(np.int64)
            return self._index["context"]  # type: ignore[no-any-return]

    def match(self, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
        """Per point (degrees): the index of the nearest feature within
        ``max_distance_m`` (ties: the smaller id; -1 for none) and its distance in metres
        (NaN for none). Bad coordinates match nothing."""
        from . import asset_kernels as k

        x = np.ascontiguousarray(np.asarray(lon, dtype=np.float64).ravel())
        y = np.ascontiguousarray(np.asarray(lat, dtype=np.float64).ravel())
        if x.shape != y.shape:
            raise ValueError(f"lon and lat differ in length ({len(x)} and {len(y)})")
        ix = self._built()
        return k.nearest_features(  # type: ignore[no-any-return]
            x, y, ix["x0"], ix["y0"], ix["x1"], ix["y1"], ix["seg_feature"], ix["fstart"],
            ix["is_polygon"], ix["rank"], ix["gx"], ix["gy"], ix["step_x"], ix["step_y"],
            ix["nx"], ix["ny"], ix["start"], ix["items"], ix["cover"], self.max_distance_m,
        )  # fmt: skip

    def _built(self) -> dict[str, Any]:
        with self._lock:
            if "grid" not in self._index:
                self._index["grid"] = _build_index(self.geoms, self.ids, self.max_distance_m)
            return self._index["grid"]  # type: ignore[no-any-return]


def _segments(geoms: np.ndarray, piece_m: float) -> tuple[np.ndarray, ...]:
    """Every segment of the features (polygon rings included), cut into pieces of at most
    ``piece_m`` metres (so that a long diagonal is listed in the cells along it, not in
    every cell of its box), sorted by feature: x0, y0, x1, y1 (degrees), the feature of
    each, and the first segment of each feature."""
    parts, pf = shapely.get_parts(geoms, return_index=True)
    poly = np.isin(shapely.get_type_id(parts), POLYGON_TYPES)
    rings, rf = shapely.get_rings(parts[poly], return_index=True)
    pieces = np.concatenate([parts[~poly], rings])
    piece_feature = np.concatenate([pf[~poly], pf[poly][rf]])
    coords, ci = shapely.get_coordinates(pieces, return_index=True)
    same = ci[:-1] == ci[1:]
    seg_feature = piece_feature[ci[:-1][same]]
    order = np.argsort(seg_feature, kind="stable")
    a, b = coords[:-1][same][order], coords[1:][same][order]
    seg_feature = seg_feature[order].astype(np.int64)
    # pieces: lengths in metres at the segment's latitude, roughly (1 % is enough here)
    mid = np.abs((a[:, 1] + b[:, 1]) / 2.0)
    long_m = np.hypot((b[:, 0] - a[:, 0]) * 111_320.0 * np.cos(np.radians(mid)),
                      (b[:, 1] - a[:, 1]) * 110_574.0)  # fmt: skip
    pieces = np.maximum(1, np.ceil(long_m / piece_m)).astype(np.int64)
    if (pieces > 1).any():
        which = np.repeat(np.arange(len(a)), pieces)
        j = np.arange(len(which)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
        n = pieces[which]
        d = b - a
        # piece j runs from j/n to (j+1)/n: the same float at both sides of a cut, and the
        # original vertex at the last end, so that rings stay closed to the bit
        start_, end_ = (
            a[which] + d[which] * (j / n)[:, None],
            a[which] + d[which] * ((j + 1) / n)[:, None],
        )
        last = j == n - 1
        end_[last] = b[which[last]]
        a, b = start_, end_
        seg_feature = seg_feature[which]
    fstart = np.searchsorted(seg_feature, np.arange(len(geoms) + 1)).astype(np.int64)
    return (
        np.ascontiguousarray(a[:, 0]), np.ascontiguousarray(a[:, 1]),
        np.ascontiguousarray(b[:, 0]), np.ascontiguousarray(b[:, 1]), seg_feature, fstart,
    )  # fmt: skip


def _build_index(geoms: np.ndarray, ids: np.ndarray, max_m: float) -> dict[str, Any]:
    """The grid over the layer's segments: each cell lists the segments whose box, padded
    by ``max_m`` metres, meets it (every segment that may be within ``max_m`` of a point
    in the cell); ``cover`` names a polygon holding a whole cell."""
    from . import asset_kernels as k

    x0, y0, x1, y1, seg_feature, fstart = _segments(geoms, max(4.0 * max_m, 50.0))
    is_polygon = np.isin(shapely.get_type_id(geoms), POLYGON_TYPES)
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(ids.astype(str), kind="stable")] = np.arange(len(ids))
    bx0, by0 = min(x0.min(), x1.min()), min(y0.min(), y1.min())
    bx1, by1 = max(x0.max(), x1.max()), max(y0.max(), y1.max())
    # the fewest metres per degree anywhere a matching point can be (the layer's latitudes
    # widened by the distance), so that padding is never short: a degree of longitude is
    # shortest farthest from the equator, a degree of latitude nearest to it
    ky = k.metres_per_degree(0.0)[1]  # the fewest metres per degree of latitude anywhere
    reach = max_m / ky * 1.001
    poleward = min(89.0, max(abs(by0), abs(by1)) + reach)
    kx = max(k.metres_per_degree(poleward)[0], 1.0)
    pad_x, pad_y = max_m / kx * 1.001 + 1e-12, reach + 1e-12
    step_m = max(4.0 * max_m, 50.0)
    while True:
        step_x, step_y = step_m / kx, step_m / ky
        gx, gy = bx0 - pad_x, by0 - pad_y
        nx = math.ceil((bx1 + pad_x - gx) / step_x) + 1
        ny = math.ceil((by1 + pad_y - gy) / step_y) + 1
        if nx * ny <= 20_000_000:
            break
        step_m *= 2.0
    args = (x0, y0, x1, y1, gx, gy, step_x, step_y, pad_x, pad_y, nx, ny)
    start = np.cumsum(k.count_cells(*args))
    items = k.fill_cells(*args, start)
    cover = np.full(nx * ny, -1, dtype=np.int64)
    if is_polygon.any():
        cell_of = np.repeat(np.arange(nx * ny), np.diff(start))
        touched = set((cell_of * len(ids) + seg_feature[items]).tolist())
        for f in np.flatnonzero(is_polygon)[np.argsort(rank[is_polygon])][::-1]:
            fx0, fy0, fx1, fy1 = shapely.bounds(geoms[f])
            i0, i1 = int((fx0 - gx) / step_x), int((fx1 - gx) / step_x)
            j0, j1 = int((fy0 - gy) / step_y), int((fy1 - gy) / step_y)
            ii, jj = np.meshgrid(np.arange(i0, i1 + 1), np.arange(j0, j1 + 1))
            cells = (jj * nx + ii).ravel()
            inside = shapely.contains_xy(
                geoms[f], gx + (ii.ravel() + 0.5) * step_x, gy + (jj.ravel() + 0.5) * step_y
            )
            free = np.array([c * len(ids) + f not in touched for c in cells.tolist()], bool)
            cover[cells[inside & free]] = f  # lower ranks last: they win
    return {
        "x0": x0, "y0": y0, "x1": x1, "y1": y1, "seg_feature": seg_feature, "fstart": fstart,
        "is_polygon": is_polygon, "rank": rank, "gx": float(gx), "gy": float(gy),
        "step_x": float(step_x), "step_y": float(step_y), "nx": nx, "ny": ny,
        "start": start.astype(np.int64), "items": items, "cover": cover,
    }  # fmt: skip


def load_asset_layer(
    source: str | Path | gpd.GeoDataFrame,
    *,
    name: str,
    asset: str,
    max_distance_m: float,
    id_col: str = "id",
    owner_col: str | None = "owner",
    class_cols: Sequence[str] = (),
    crs: Any = None,
    version: str | None = None,
    sha256: str | None = None,
    layer: str | None = None,
) -> AssetLayer:
    """Load and check an asset layer. ``sha256``: the file must have it (else
    :class:`ChecksumError`); ``version`` defaults to the first 12 hex digits of the file's
    sha256. Raises :class:`AssetLayerError` naming the file for an unreadable file, a
    missing column, a geometry that is not a valid line or polygon, an unknown CRS, a
    missing or duplicate id, or a bad name or distance."""
    src_name = "<GeoDataFrame>" if isinstance(source, gpd.GeoDataFrame) else str(source)
    for what, value in (("name", name), ("asset", asset)):
        if not isinstance(value, str) or not _NAME.match(value):
            raise AssetLayerError(src_name, f"{what} {value!r}: lower-case letters, digits, _")
    real = isinstance(max_distance_m, numbers.Real) and not isinstance(max_distance_m, bool)
    if not (real and 0 < float(max_distance_m) <= MAX_DISTANCE_M):
        raise AssetLayerError(
            src_name, f"max_distance_m {max_distance_m!r}: more than 0, at most {MAX_DISTANCE_M}"
        )
    digest = ""
    if isinstance(source, gpd.GeoDataFrame) and sha256 is not None:
        raise AssetLayerError(src_name, "sha256 names a file's bytes: a frame has none")
    if not isinstance(source, gpd.GeoDataFrame):
        if not Path(source).is_file():
            raise AssetLayerError(src_name, "file not found")
        digest = _data.sha256_file(source)
        if sha256 is not None and digest != sha256:
            raise ChecksumError(source, sha256, digest)
    frame, src = _read_frame(source, layer, AssetLayerError)
    wanted = [id_col, *class_cols, *([owner_col] if owner_col else [])]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise AssetLayerError(src, f"missing column(s) {missing} (has {list(frame.columns)})")
    clash = [c for c in class_cols if c in RESERVED_KEYS]
    if clash:
        raise AssetLayerError(src, f"class column(s) {clash} clash with match attributes")
    if not len(frame):
        raise AssetLayerError(src, "has no features")
    frame = _to_wgs84(frame, crs, src, AssetLayerError)

    def text(col: str) -> np.ndarray:
        """A column's cells as text (None for blank); whole-number floats as integers (a
        column of integers with a null is read as floats); lists and the like refused."""
        vals = frame[col].to_numpy(dtype=object)
        vals = np.array([None if v is pd.NA else v for v in vals], dtype=object)
        odd = [
            i for i, v in enumerate(vals) if not (v is None or isinstance(v, str | numbers.Number))
        ]
        if odd:
            raise AssetLayerError(src, f"column {col!r} holds non-scalar values (rows {odd[:5]})")
        out: list[str | None] = []
        for v in vals:
            if isinstance(v, numbers.Real) and not isinstance(v, numbers.Integral):
                if math.isnan(float(v)):
                    v = None
                elif float(v).is_integer():
                    v = int(float(v))
            out.append(None if v is None else (str(v).strip() or None))
        return np.array(out, dtype=object)

    ids = text(id_col)
    blank = np.array([v is None for v in ids], dtype=bool)
    if blank.any():
        raise AssetLayerError(src, f"{int(blank.sum())} feature(s) without an id "
                                   f"(rows {np.flatnonzero(blank)[:5].tolist()})")  # fmt: skip
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup.any():
        raise AssetLayerError(src, f"duplicate id(s): {sorted(set(ids[dup]))[:10]}")
    geoms = _checked(np.asarray(frame.geometry.values, dtype=object), ids, src)

    owners = text(owner_col) if owner_col else np.full(len(ids), None, dtype=object)
    return AssetLayer(
        name=name, asset=asset, version=version or (digest[:12] or "frame"), source=src,
        sha256=digest, max_distance_m=float(max_distance_m), ids=ids, owners=owners,
        classes={c: text(c) for c in class_cols}, geoms=geoms,
    )  # fmt: skip


def _checked(geoms: np.ndarray, ids: np.ndarray, src: str) -> np.ndarray:
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        raise AssetLayerError(src, f"empty or missing geometry for {ids[empty][:10].tolist()}")
    types = shapely.get_type_id(geoms)
    wrong = ~np.isin(types, (*LINE_TYPES, *POLYGON_TYPES))
    if wrong.any():
        kinds = sorted(set(shapely.get_type_id(geoms[wrong]).tolist()))
        raise AssetLayerError(
            src,
            f"geometry of {ids[wrong][:10].tolist()} is not a line or polygon "
            f"(type ids {kinds}); an asset layer holds LineString/Polygon features",
        )
    coords = shapely.get_coordinates(geoms)
    finite = np.isfinite(coords).all(axis=1)
    bad = ~shapely.is_valid(geoms)
    if not finite.all():
        _, owner = shapely.get_coordinates(geoms, return_index=True)
        bad[np.unique(owner[~finite])] = True
    if bad.any():
        reasons = shapely.is_valid_reason(geoms[bad])
        pairs = [f"{i}: {r}" for i, r in zip(ids[bad][:5], reasons[:5], strict=False)]
        raise AssetLayerError(src, f"{int(bad.sum())} invalid geometr(y/ies): {pairs}")
    lon, lat = coords[:, 0], coords[:, 1]
    if (np.abs(lat) > 90).any() or (np.abs(lon) > 180).any():
        raise AssetLayerError(src, "coordinates outside -180..180 / -90..90 after reprojection")
    return geoms


# ---- specs and installation --------------------------------------------------------------


def layers_dir() -> Path:
    """Where installed asset layers live: beside the boundary files in the data directory."""
    return _data.data_dir().parent / LAYERS_SUBDIR


def read_spec(path: str | Path) -> dict[str, Any]:
    """A layer spec (TOML, ``[layer]`` table): name, asset, file (relative to the spec),
    max_distance_m, and optionally version, sha256, id_col, owner_col, class_cols, crs,
    description."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            spec = tomllib.load(fh).get("layer")
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise AssetLayerError(p, f"cannot be read as a layer spec ({exc})") from exc
    if not isinstance(spec, dict):
        raise AssetLayerError(p, "has no [layer] table")
    known = {"name", "asset", "file", "max_distance_m", "version", "sha256", "id_col",
             "owner_col", "class_cols", "crs", "description", "schema", "layer"}  # fmt: skip
    unknown = sorted(set(spec) - known)
    if unknown:
        raise AssetLayerError(p, f"unknown key(s) {unknown} in [layer]")
    for key in ("name", "asset", "file", "max_distance_m"):
        if key not in spec:
            raise AssetLayerError(p, f"[layer] needs {key!r}")
    cols = spec.get("class_cols", [])
    if not (isinstance(cols, list) and all(isinstance(c, str) for c in cols)):
        raise AssetLayerError(p, "class_cols must be a list of column names")
    return {**spec, "file": str((p.parent / str(spec["file"])).resolve())}


def load_spec(path: str | Path) -> AssetLayer:
    """The layer a spec describes, checked (and its sha256 verified when the spec has one)."""
    s = read_spec(path)
    return load_asset_layer(
        s["file"], name=s["name"], asset=s["asset"], max_distance_m=s["max_distance_m"],
        id_col=s.get("id_col", "id"), owner_col=s.get("owner_col", "owner"),
        class_cols=tuple(s.get("class_cols", ())), crs=s.get("crs"), version=s.get("version"),
        sha256=s.get("sha256"), layer=s.get("layer"),
    )  # fmt: skip


def install_layer(spec_path: str | Path, dest_dir: Path | None = None) -> AssetLayer:
    """Check the layer a spec describes, copy its file into the data directory (verified
    after the copy) and write the installed spec beside it with the file's sha256 and the
    layer's schema (what ``rules lint`` checks rules against)."""
    src = Path(read_spec(spec_path)["file"])
    if src.suffix.lower() in SIDECAR_FORMATS:
        why = "a Shapefile is several files: convert it to GeoParquet, GeoPackage or GeoJSON"
        raise AssetLayerError(src, f"{why} (ogr2ogr, geopandas) to install it")
    layer = load_spec(spec_path)
    dest = (dest_dir or layers_dir()) / layer.name
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / f".{src.name}.partial"
    shutil.copyfile(src, tmp)
    actual = _data.sha256_file(tmp)
    if actual != layer.sha256:
        tmp.unlink()
        raise ChecksumError(src, layer.sha256, actual)
    os.replace(tmp, dest / src.name)
    spec = read_spec(spec_path)
    lines = ["[layer]"]
    values = {**{k: v for k, v in spec.items() if k != "schema"}, "file": src.name,
              "sha256": layer.sha256, "version": layer.version}  # fmt: skip
    for key, value in values.items():
        lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    schema = layer.schema()
    lines.append("")
    lines.append("[layer.schema]")
    lines.append(f"asset = {json.dumps(schema['asset'])}")
    lines.append(f"owners = {json.dumps(schema['owners'], ensure_ascii=False)}")
    lines.append("[layer.schema.classes]")
    for col, vals in schema["classes"].items():
        lines.append(f"{json.dumps(col)} = {json.dumps(vals, ensure_ascii=False)}")
    written = dest / ".layer.toml.partial"
    written.write_text("\n".join(lines) + "\n", encoding="utf-8")
    load_spec(written)  # the installed copy must load as it will on every start
    os.replace(written, dest / "layer.toml")
    return layer


def installed_specs(base: Path | None = None) -> list[Path]:
    """The installed layer specs, by layer name."""
    root = base or layers_dir()
    return sorted(root.glob("*/layer.toml")) if root.is_dir() else []


def installed_schemas(base: Path | None = None) -> list[dict[str, Any]]:
    """The schema (asset, classes, owners) of every installed layer, from its spec."""
    out = []
    for spec in installed_specs(base):
        s = read_spec(spec)
        schema = s.get("schema")
        if not isinstance(schema, dict):
            raise DataError(f"{spec}: no [layer.schema]; install the layer again")
        out.append({"layer": f"{s['name']}@{s.get('version')}", **schema})
    return out


def load_installed_layers(base: Path | None = None) -> tuple[AssetLayer, ...]:
    """Every installed layer, each verified against its recorded sha256."""
    return tuple(load_spec(p) for p in installed_specs(base))


@dataclass(frozen=True, eq=False)
class AssetHits:
    """Each layer's nearest feature per point, as arrays (layers × points): ``features``
    (-1 for none) and ``metres`` (NaN for none). Columnar, for files; :meth:`row` gives
    one point's matches as :class:`AssetMatch` objects."""

    layers: tuple[AssetLayer, ...]
    features: np.ndarray
    metres: np.ndarray

    def __len__(self) -> int:
        return int(self.features.shape[1])

    def order(self) -> np.ndarray:
        """Per point, the layer indices nearest first (ties: layer order); layers with no
        match last."""
        far = np.where(self.features >= 0, self.metres, np.inf)
        return np.argsort(far, axis=0, kind="stable")

    def matched(self) -> np.ndarray:
        """Per point, whether any layer matched it (bool)."""
        return np.asarray((self.features >= 0).any(axis=0), dtype=bool)

    def row(self, i: int) -> tuple[AssetMatch, ...]:
        """Point ``i``'s matches, nearest first."""
        if not (self.features[:, i] >= 0).any():
            return ()
        out = []
        far = np.where(self.features[:, i] >= 0, self.metres[:, i], np.inf)
        for li in np.argsort(far, kind="stable").tolist():
            f = int(self.features[li, i])
            if f >= 0:
                out.append(self.layers[li].feature(f, float(self.metres[li, i])))
        return tuple(out)

    def context_keys(self) -> tuple[np.ndarray, np.ndarray]:
        """A code per point for the sequence (nearest first) of the rule contexts of its
        matches (a feature's attributes without its id: what rules see), and one
        representative point per code."""
        n = len(self)
        if not self.layers:
            return np.zeros(n, dtype=np.int64), np.zeros(min(n, 1), dtype=np.int64)
        # points near no feature (most of them) share code 0; only the others are sorted
        matched = self.matched()
        rows = np.flatnonzero(matched)
        features = self.features[:, rows]
        order = AssetHits(self.layers, features, self.metres[:, rows]).order()
        cols = []
        for k in range(len(self.layers)):
            li = order[k]
            code = np.full(len(rows), -1, dtype=np.int64)
            for j, layer in enumerate(self.layers):
                at = (li == j) & (features[j] >= 0)
                code[at] = j * (1 << 32) + layer.context_codes()[features[j][at]]
            cols.append(code)
        _, first, inverse = np.unique(np.stack(cols, axis=1), axis=0, return_index=True,
                                      return_inverse=True)  # fmt: skip
        alone = np.flatnonzero(~matched)[:1]  # the first point near no feature, if any
        codes = np.zeros(n, dtype=np.int64)
        codes[rows] = inverse.ravel() + len(alone)
        return codes, np.concatenate([alone, rows[first]]).astype(np.int64)

    def nearest(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per point: the layer (-1 for none), feature and metres of its nearest match."""
        n = len(self)
        if not self.layers:
            return np.full(n, -1), np.full(n, -1), np.full(n, np.nan)
        li = self.order()[0]
        f = self.features[li, np.arange(n)]
        d = self.metres[li, np.arange(n)]
        return np.where(f >= 0, li, -1), f, np.where(f >= 0, d, np.nan)

    def columns(self) -> dict[str, np.ndarray]:
        """The nearest match of each point as the columns of a routed file: ``asset``,
        ``asset_id``, ``asset_owner``, ``asset_distance_m`` (2 decimals), ``asset_layer``."""
        li, f, d = self.nearest()
        n = len(self)
        names = ("asset", "asset_id", "asset_owner", "asset_distance_m", "asset_layer")
        out = {k: np.full(n, None, dtype=object) for k in names}
        for j, layer in enumerate(self.layers):
            at = li == j
            out["asset"][at] = layer.asset
            out["asset_id"][at] = layer.ids[f[at]]
            out["asset_owner"][at] = layer.owners[f[at]]
            out["asset_layer"][at] = layer.label
        hit = li >= 0
        out["asset_distance_m"][hit] = np.round(d[hit], 2).tolist()
        return out


def match_layers(layers: Sequence[AssetLayer], lon: Any, lat: Any) -> AssetHits:
    """Each layer's nearest feature within its distance, per point (degrees)."""
    n = len(np.asarray(lon, dtype=np.float64).ravel())
    if not layers:
        return AssetHits((), np.empty((0, n), dtype=np.int64), np.empty((0, n)))
    found = [layer.match(lon, lat) for layer in layers]
    return AssetHits(
        tuple(layers), np.stack([f for f, _ in found]), np.stack([d for _, d in found])
    )
