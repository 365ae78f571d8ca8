"""Boundary sets: loading kelurahan polygons with their hierarchy, and checking their quality.

A :class:`BoundarySet` holds kelurahan polygons in EPSG:4326 (lon/lat degrees) as numpy
arrays, with the kecamatan → kota/kabupaten → province hierarchy derived from Kemendagri
codes (``PP.KK.CC.DDDD``) and named from the outline files or the committed registry.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from .. import _data
from ..errors import BoundaryError

METRIC_CRS = "EPSG:32748"  # UTM 48S: Jakarta's metric CRS for reports (areas, distances)
CODE_COLUMNS = ("kode", "code", "kode_kel", "kode_desa", "kd_kel", "kdepum", "id")
NAME_COLUMNS = ("nama", "name", "nama_kel", "kelurahan", "desa", "nm_kel", "namobj")
_KEMENDAGRI = re.compile(r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")
_CODE_PARTS = {2: (2,), 4: (2, 2), 6: (2, 2, 2), 10: (2, 2, 2, 4)}

PathOrFrame: TypeAlias = str | Path | gpd.GeoDataFrame


def normalize_code(code: object) -> str | None:
    """Kemendagri code in dotted form (``3171011001`` → ``31.71.01.1001``); other text as is."""
    if code is None or (isinstance(code, float) and np.isnan(code)):
        return None
    text = str(code).strip()
    if not text:
        return None
    digits = text.replace(".", "")
    if digits.isdigit() and len(digits) in _CODE_PARTS and "." not in text:
        out, i = [], 0
        for width in _CODE_PARTS[len(digits)]:
            out.append(digits[i : i + width])
            i += width
        return ".".join(out)
    return text


def _read_frame(
    source: PathOrFrame, layer: str | None = None, error: type[BoundaryError] = BoundaryError
) -> tuple[gpd.GeoDataFrame, str]:
    """A geometry file (GeoParquet, or anything pyogrio reads) as a GeoDataFrame and its
    name; every failure is one ``error`` naming the file."""
    if isinstance(source, gpd.GeoDataFrame):
        return source, "<GeoDataFrame>"
    path = Path(source)
    if not path.is_file():
        raise error(path, "file not found")
    try:
        if path.suffix.lower() in (".parquet", ".geoparquet"):
            frame = gpd.read_parquet(path)
        else:
            frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:  # any reader failure becomes one typed error naming the file
        raise error(path, f"cannot be read as a geometry file ({exc})") from exc
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame:
        raise error(path, "has no geometry column")
    return frame, str(path)


def _pick_column(
    frame: pd.DataFrame, wanted: str | None, choices: tuple[str, ...], what: str, src: str
) -> str:
    if wanted is not None:
        if wanted not in frame.columns:
            raise BoundaryError(
                src, f"missing {what} column {wanted!r} (has {list(frame.columns)})"
            )
        return wanted
    lower = {str(c).lower(): str(c) for c in frame.columns}
    for c in choices:
        if c in lower:
            return lower[c]
    raise BoundaryError(
        src,
        f"missing {what} column: none of {list(choices)} in {list(frame.columns)}; "
        f"pass {what}_col=",
    )


def _codes_and_names(
    frame: pd.DataFrame, code_col: str | None, name_col: str | None, src: str
) -> tuple[np.ndarray, np.ndarray]:
    ccol = _pick_column(frame, code_col, CODE_COLUMNS, "code", src)
    ncol = _pick_column(frame, name_col, NAME_COLUMNS, "name", src)
    codes = np.array([normalize_code(c) for c in frame[ccol].to_numpy()], dtype=object)
    missing = np.flatnonzero(pd.isna(codes))
    if missing.size:
        raise BoundaryError(
            src, f"{missing.size} row(s) without a code (rows {missing[:5].tolist()})"
        )
    dup = pd.Series(codes).duplicated(keep=False).to_numpy()
    if dup.any():
        raise BoundaryError(src, f"duplicate code(s): {sorted(set(codes[dup]))[:10]}")
    names = frame[ncol].to_numpy(dtype=object)
    bad_names = np.flatnonzero(pd.isna(names))
    if bad_names.size:
        raise BoundaryError(src, f"feature(s) without a name: {codes[bad_names][:5].tolist()}")
    names = np.array([str(n).strip() for n in names], dtype=object)
    return codes, names


def _to_wgs84(
    frame: gpd.GeoDataFrame, crs: Any, src: str, error: type[BoundaryError] = BoundaryError
) -> gpd.GeoDataFrame:
    """``frame`` in EPSG:4326; ``crs`` for a file that declares none (never guessed)."""
    if frame.crs is None:
        if crs is None:
            raise error(src, "unknown CRS: the file declares none; pass crs=")
        try:
            frame = frame.set_crs(crs)
        except Exception as exc:
            raise error(src, f"invalid crs={crs!r} ({exc})") from exc
    elif crs is not None and pyproj.CRS.from_user_input(crs) != frame.crs:
        raise error(src, f"file declares {frame.crs.to_string()} but crs={crs!r} was given")
    if not frame.crs.equals(pyproj.CRS.from_epsg(4326)):
        try:
            frame = frame.to_crs(4326)
        except Exception as exc:
            raise error(src, f"cannot reproject from {frame.crs} ({exc})") from exc
    return frame


def _checked_geometry(
    frame: gpd.GeoDataFrame, codes: np.ndarray, repair: bool, src: str
) -> np.ndarray:
    geoms = np.asarray(frame.geometry.values, dtype=object)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        raise BoundaryError(src, f"empty or missing geometry for {codes[empty][:10].tolist()}")
    types = shapely.get_type_id(geoms)
    non_area = ~np.isin(types, (3, 6))
    if non_area.any():
        raise BoundaryError(
            src,
            f"non-polygon geometry for {codes[non_area][:10].tolist()} "
            "(kelurahan must be Polygon or MultiPolygon)",
        )
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        if not repair:
            reasons = shapely.is_valid_reason(geoms[invalid])
            pairs = [f"{c}: {r}" for c, r in zip(codes[invalid][:5], reasons[:5], strict=False)]
            raise BoundaryError(
                src,
                f"{int(invalid.sum())} invalid geometr(y/ies): {pairs}; "
                "pass repair=True to fix them with shapely.make_valid",
            )
        geoms = geoms.copy()
        for i in np.flatnonzero(invalid):
            fixed = _polygonal(shapely.make_valid(geoms[i]))
            if fixed is None:
                raise BoundaryError(
                    src, f"{codes[i]}: invalid geometry with no area left after repair"
                )
            geoms[i] = fixed
    return geoms


def _polygonal(geom: Any) -> Any:
    """The polygonal part of a geometry (collections flattened), or None if it has none."""
    parts = shapely.get_parts(shapely.get_parts(np.asarray([geom], dtype=object)))
    polys = parts[shapely.get_type_id(parts) == 3]
    if len(polys) == 0:
        return None
    return polys[0] if len(polys) == 1 else shapely.multipolygons(polys)


def _hierarchy_names(source: PathOrFrame | None) -> dict[str, str]:
    if source is None:
        return {}
    frame, src = _read_frame(source)
    codes, names = _codes_and_names(frame, None, None, src)
    return dict(zip(codes.tolist(), names.tolist(), strict=True))


def _frame_digest(codes: np.ndarray, geoms: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update("\0".join(codes.tolist()).encode())
    for wkb in shapely.to_wkb(geoms):
        h.update(wkb)
    return h.hexdigest()


@dataclass(eq=False)
class BoundarySet:
    """Kelurahan polygons (EPSG:4326) with codes, names and the administrative hierarchy.

    Arrays are aligned: row ``i`` of every array describes polygon ``geoms[i]``. Rows are
    sorted by code, so a smaller row index means a smaller code.
    """

    codes: np.ndarray
    names: np.ndarray
    geoms: np.ndarray
    kecamatan_codes: np.ndarray
    kecamatan_names: np.ndarray
    kota_codes: np.ndarray
    kota_names: np.ndarray
    provinsi_codes: np.ndarray
    provinsi_names: np.ndarray
    source: str
    sha256: str
    _metric: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __len__(self) -> int:
        return len(self.codes)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_metric"] = {}  # projections are rebuilt on demand where the set is unpickled
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def hierarchy(self, i: int) -> tuple[str | None, ...]:
        """(kode, nama, kecamatan_kode, kecamatan, kota_kode, kota, provinsi_kode, provinsi)
        of row ``i``, None where unknown."""
        return tuple(
            None if pd.isna(v) else str(v)
            for v in (
                self.codes[i],
                self.names[i],
                self.kecamatan_codes[i],
                self.kecamatan_names[i],
                self.kota_codes[i],
                self.kota_names[i],
                self.provinsi_codes[i],
                self.provinsi_names[i],
            )
        )

    @property
    def id(self) -> str:
        """Short identity of the set: source file name and the first 12 hex digits of its sha256."""
        return f"{Path(self.source).name}@{self.sha256[:12]}"

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) in degrees."""
        b = shapely.total_bounds(self.geoms)
        return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))

    def index_of(self, code: str) -> int | None:
        """Row of ``code`` (dotted or plain digits), or None."""
        norm = normalize_code(code)
        if norm is None:
            return None
        i = int(np.searchsorted(self.codes, norm))
        return i if i < len(self.codes) and self.codes[i] == norm else None

    def metric(self, epsg: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Polygons ``rows`` and their boundaries projected to ``epsg`` (metres), cached."""
        with self._lock:
            if epsg not in self._metric:
                n = len(self.codes)
                self._metric[epsg] = (
                    np.full(n, None, dtype=object),
                    np.full(n, None, dtype=object),
                )
            polys, rings = self._metric[epsg]
            todo = np.unique(rows[pd.isna(polys[rows])])
            if todo.size:
                projected = project(self.geoms[todo], "EPSG:4326", epsg)
                polys[todo] = projected
                rings[todo] = shapely.boundary(projected)
        return polys[rows], rings[rows]

    def to_frame(self) -> gpd.GeoDataFrame:
        """The set as a GeoDataFrame (one row per kelurahan, EPSG:4326)."""
        return gpd.GeoDataFrame(
            {
                "kode": self.codes,
                "nama": self.names,
                "kecamatan_kode": self.kecamatan_codes,
                "kecamatan": self.kecamatan_names,
                "kota_kode": self.kota_codes,
                "kota": self.kota_names,
                "provinsi_kode": self.provinsi_codes,
                "provinsi": self.provinsi_names,
            },
            geometry=self.geoms,
            crs="EPSG:4326",
        )


_TRANSFORMERS: dict[tuple[str, str], pyproj.Transformer] = {}
_TR_LOCK = threading.Lock()


def transformer(src: str, dst: str) -> pyproj.Transformer:
    """A cached, lon/lat-ordered (always_xy) transformer from ``src`` to ``dst``."""
    key = (src, dst)
    with _TR_LOCK:
        if key not in _TRANSFORMERS:
            _TRANSFORMERS[key] = pyproj.Transformer.from_crs(src, dst, always_xy=True)
        return _TRANSFORMERS[key]


def project(geoms: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Reproject an array of geometries (vectorized over all their vertices)."""
    tr = transformer(src, dst)

    def _xy(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return np.asarray(shapely.transform(geoms, _xy), dtype=object)


def load_boundaries(
    source: PathOrFrame,
    *,
    code_col: str | None = None,
    name_col: str | None = None,
    kecamatan: PathOrFrame | None = None,
    kota: PathOrFrame | None = None,
    province: PathOrFrame | None = None,
    crs: Any = None,
    layer: str | None = None,
    repair: bool = False,
) -> BoundarySet:
    """Load kelurahan polygons from GeoParquet, GeoJSON, GeoPackage, Shapefile or a GeoDataFrame.

    Columns are found by common names (``kode``/``code``..., ``nama``/``name``...) unless
    ``code_col``/``name_col`` are given. Geometries are reprojected to EPSG:4326; a file
    without a CRS needs ``crs=``. Kecamatan, kota and province names come from the optional
    outline files (only their code/name columns are read), else from the committed registry.

    Raises :class:`~lapor_router.errors.BoundaryError` naming the file and the problem
    (missing column, unknown CRS, empty/invalid/non-polygon geometry, duplicate code);
    nothing is half-loaded.

    >>> bs = load_boundaries("../shared/data/kelurahan_boundaries/jakarta_kel.parquet")
    >>> len(bs)
    267
    """
    frame, src = _read_frame(source, layer)
    if len(frame) == 0:
        raise BoundaryError(src, "has no features")
    codes, names = _codes_and_names(frame, code_col, name_col, src)
    frame = _to_wgs84(frame, crs, src)
    geoms = _checked_geometry(frame, codes, repair, src)

    order = np.argsort(codes, kind="stable")
    codes, names, geoms = codes[order], names[order], geoms[order]
    regions = _data.regions()
    levels = {}
    for level, outline, width in (
        ("kecamatan", kecamatan, 8),
        ("kota", kota, 5),
        ("provinsi", province, 2),
    ):
        given = _hierarchy_names(outline)
        parent = np.array(
            [c[:width] if _KEMENDAGRI.match(c) else None for c in codes], dtype=object
        )
        pnames = np.array(
            [
                given.get(p) or (regions[p].nama if p in regions else None) if p else None
                for p in parent
            ],
            dtype=object,
        )
        if outline is not None:
            lost = sorted({p for p in parent if p and p not in given})
            if lost:
                label = outline if not isinstance(outline, gpd.GeoDataFrame) else "<GeoDataFrame>"
                raise BoundaryError(label, f"no {level} for code(s) {lost[:10]} used by {src}")
        levels[level] = (parent, pnames)

    if isinstance(source, gpd.GeoDataFrame):
        digest = _frame_digest(codes, geoms)
    else:
        digest = _data.sha256_file(src)
    return BoundarySet(
        codes=codes,
        names=names,
        geoms=geoms,
        kecamatan_codes=levels["kecamatan"][0],
        kecamatan_names=levels["kecamatan"][1],
        kota_codes=levels["kota"][0],
        kota_names=levels["kota"][1],
        provinsi_codes=levels["provinsi"][0],
        provinsi_names=levels["provinsi"][1],
        source=src,
        sha256=digest,
    )


def load_installed(set_name: str | None = None) -> BoundarySet:
    """Load a boundary set installed in the data directory (default: the manifest's default)."""
    sets = _data.manifest()["sets"]
    name = set_name or next(n for n, s in sets.items() if s.get("default"))
    files = _data.set_files(name)
    paths = {role: _data.installed_path(f) for role, f in files.items()}
    return load_boundaries(
        paths["kelurahan"],
        kecamatan=paths.get("kecamatan"),
        kota=paths.get("kota"),
        province=paths.get("province"),
        repair=name != "jakarta",
    )


# ----------------------------------------------------------------------------- quality check


@dataclass(frozen=True)
class BoundaryReport:
    """Quality of a boundary file, with areas in m² (EPSG:32748 unless ``metric_crs`` says)."""

    source: str
    kelurahan: int
    kecamatan: int
    kota: int
    polygons: int
    multipolygons: int
    vertices: int
    area_m2: float
    invalid: tuple[tuple[str, str], ...]
    overlaps: tuple[tuple[str, str, float], ...]
    holes: tuple[float, ...]
    mainland_holes: tuple[float, ...]
    metric_crs: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (largest overlaps and holes only)."""
        return {
            "source": self.source,
            "kelurahan": self.kelurahan,
            "kecamatan": self.kecamatan,
            "kota": self.kota,
            "polygons": self.polygons,
            "multipolygons": self.multipolygons,
            "vertices": self.vertices,
            "area_km2": round(self.area_m2 / 1e6, 3),
            "metric_crs": self.metric_crs,
            "invalid": [{"kode": c, "reason": r} for c, r in self.invalid],
            "overlapping_pairs": len(self.overlaps),
            "overlap_area_m2": round(sum(a for *_, a in self.overlaps), 1),
            "largest_overlaps": [
                {"a": a, "b": b, "area_m2": round(ar, 1)} for a, b, ar in self.overlaps[:10]
            ],
            "holes": len(self.holes),
            "hole_area_m2": round(sum(self.holes), 1),
            "mainland_holes": len(self.mainland_holes),
            "mainland_hole_area_m2": round(sum(self.mainland_holes), 1),
            "largest_hole_m2": round(max(self.holes, default=0.0), 1),
        }


def check_boundaries(
    source: PathOrFrame,
    *,
    code_col: str | None = None,
    name_col: str | None = None,
    crs: Any = None,
    metric_crs: str = METRIC_CRS,
) -> BoundaryReport:
    """Count features, invalid geometries, overlapping pairs and gaps (holes in the union).

    An overlapping pair is two kelurahan whose intersection has a positive area; a gap is an
    interior ring of the union of all kelurahan. "Mainland" holes are those of the union's
    largest part. Works on files that :func:`load_boundaries` would refuse for invalid
    geometry (those are reported, then repaired for the area computations).
    """
    frame, src = _read_frame(source)
    codes, _ = _codes_and_names(frame, code_col, name_col, src)
    frame = _to_wgs84(frame, crs, src)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    valid = shapely.is_valid(geoms)
    invalid = tuple(
        (str(c), str(r))
        for c, r in zip(codes[~valid], shapely.is_valid_reason(geoms[~valid]), strict=True)
    )
    metric = project(shapely.make_valid(geoms), "EPSG:4326", metric_crs)
    tree = shapely.STRtree(metric)
    a, b = tree.query(metric, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    areas = shapely.area(shapely.intersection(metric[a], metric[b]))
    pos = areas > 0
    order = np.argsort(-areas[pos], kind="stable")
    overlaps = tuple(
        (str(codes[i]), str(codes[j]), float(ar))
        for i, j, ar in zip(a[pos][order], b[pos][order], areas[pos][order], strict=True)
    )
    parts = shapely.get_parts(shapely.union_all(metric))
    hole_areas = [
        [
            float(shapely.area(shapely.polygons(r)))
            for r in shapely.get_interior_ring(p, np.arange(shapely.get_num_interior_rings(p)))
        ]
        for p in parts
    ]
    main = int(np.argmax(shapely.area(parts))) if len(parts) else 0
    types = shapely.get_type_id(geoms)
    kel_codes = [c for c in codes if _KEMENDAGRI.match(c)]
    return BoundaryReport(
        source=src,
        kelurahan=len(codes),
        kecamatan=len({c[:8] for c in kel_codes}),
        kota=len({c[:5] for c in kel_codes}),
        polygons=int((types == 3).sum()),
        multipolygons=int((types == 6).sum()),
        vertices=int(shapely.get_num_coordinates(geoms).sum()),
        area_m2=float(shapely.area(metric).sum()),
        invalid=invalid,
        overlaps=overlaps,
        holes=tuple(sorted((h for hs in hole_areas for h in hs), reverse=True)),
        mainland_holes=tuple(sorted(hole_areas[main], reverse=True)) if hole_areas else (),
        metric_crs=metric_crs,
    )
