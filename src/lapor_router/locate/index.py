"""The spatial index of a boundary set: what covers each point, and what lies near it.

``Index`` answers, for arrays of points in degrees, which polygons cover them (the coverage
quadtree of :mod:`.quadtree` and the compiled tests of :mod:`.kernels`, or the STRtree and
shapely predicates on the unaccelerated reference path) and which lie within the gap
tolerance (metres, in each point's UTM zone). :mod:`.locator` turns its answers into
statuses, corrections and results.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd
import shapely

from .. import _data
from ..normalize import MISSING, NOT_FINITE, OUT_OF_RANGE, REASONS
from . import quadtree
from .boundaries import BoundarySet, transformer
from .codes import EXACT, INSIDE, OVERLAP, SLOT0

if TYPE_CHECKING:
    from . import kernels

_T = TypeVar("_T")
LARGE_SET = 5_000  # polygons above which a set is national-size
# quadtree settings. City-size sets: 160 m root cells, 10 m leaves everywhere, 16 x 16
# lookup tables (a finer root grid shortens lookups; 320 m roots were ~10 % slower).
# National-size sets: coarser root cells, leaves adapted to the size of the polygons a
# boundary cell touches (a twelfth of it, 40 m at least), compact 8 x 8 and 4 x 4 tables:
# the build stays under 30 s and the tree near 250 MB (benchmarks/bench_locate.py --national)
_CITY_TREE: dict[str, float] = {"min_size_m": 10.0, "max_nodes": 20_000_000, "root_size_m": 160.0}
_NATIONAL_TREE: dict[str, float] = {
    "min_size_m": 40.0,
    "max_nodes": 24_000_000,
    "max_root_cells": 250_000,
    "refine": 1 / 12,
    "gap_min_m": 400.0,
    "max_bits": 3,
}


def _kernels() -> Any:
    """The compiled kernels module, imported on first use (numba loads in ~0.2 s)."""
    from . import kernels

    return kernels


def utm_epsg(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """EPSG code of the UTM zone of each point (326xx north, 327xx south)."""
    zone = np.clip(np.floor((lon + 180.0) / 6.0).astype(np.int64) + 1, 1, 60)
    return np.where(lat >= 0, 32600, 32700) + zone


def _first_per_group(group: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """Index of the first element of each group after sorting by ``keys`` (last key primary)."""
    order = np.lexsort((*keys, group))
    _, first = np.unique(group[order], return_index=True)
    return order[first]


class _SegmentGrid:
    """The boundary segments of a set in one metric CRS, bucketed in square cells so that
    every segment within ``tol_m`` of a point is listed in the point's cell.

    Distances are GEOS' point-to-segment formula, so the minimum over a polygon's segments
    is ``shapely.distance(boundary, point)``; only the few segments near a point are
    measured, where shapely would measure every vertex of every candidate ring.
    """

    def __init__(self, bs: BoundarySet, crs: str, tol_m: float, cell_m: float = 0.0) -> None:
        _, rings = bs.metric(crs, np.arange(len(bs)))
        self.ax, self.ay, self.bx, self.by, owner = quadtree.segments(rings)
        self.owner = owner.astype(np.int64)
        self.tol = tol_m
        self.cell = cell_m or max(tol_m, 25.0)
        self.x0 = float(min(self.ax.min(), self.bx.min())) - tol_m
        self.y0 = float(min(self.ay.min(), self.by.min())) - tol_m
        i0, i1 = self._cells(
            np.minimum(self.ax, self.bx) - tol_m, np.maximum(self.ax, self.bx) + tol_m, self.x0
        )
        j0, j1 = self._cells(
            np.minimum(self.ay, self.by) - tol_m, np.maximum(self.ay, self.by) + tol_m, self.y0
        )
        self.nx = int(i1.max()) + 1
        wide, tall = i1 - i0 + 1, j1 - j0 + 1
        count = wide * tall
        which = np.repeat(np.arange(len(self.ax)), count)
        k = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        ci = i0[which] + k % wide[which]
        cj = j0[which] + k // wide[which]
        cell_id = cj * self.nx + ci
        order = np.argsort(cell_id, kind="stable")
        self.segs = which[order]
        self.cells, first = np.unique(cell_id[order], return_index=True)
        self.offsets = np.append(first, len(order))

    def _cells(
        self, lo: np.ndarray, hi: np.ndarray, origin: float
    ) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.floor((lo - origin) / self.cell).astype(np.int64),
            np.floor((hi - origin) / self.cell).astype(np.int64),
        )

    def within(self, px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(point, polygon, metres) for each polygon whose boundary lies within the
        tolerance of a point (metric coordinates)."""
        return _kernels().nearest_segments(  # type: ignore[no-any-return]
            px,
            py,
            (self.x0, self.y0),
            self.cell,
            self.nx,
            self.cells,
            self.offsets,
            self.segs,
            (self.ax, self.ay, self.bx, self.by),
            self.owner,
            self.tol,
        )


class Index:
    """An STRtree over one BoundarySet, with exact covering and distance queries."""

    def __init__(self, bs: BoundarySet, accelerate: bool = False, tol_m: float = 100.0) -> None:
        self.bs = bs
        self.tree = shapely.STRtree(bs.geoms)
        shapely.prepare(bs.geoms)
        self.bounds = bs.bounds
        self.accelerate = accelerate
        self.tol_m = tol_m
        self._qt: quadtree.CoverageTree | None = None
        self._bands: kernels.RingBands | None = None
        self._boxes: kernels.BoxGrid | None = None
        # the quadtree, ring bands, box grid, segment grids: built once (reentrant: the
        # quadtree build tests points with the ring bands)
        self._lazy_lock = threading.RLock()
        self._external: dict[str, tuple[pd.CategoricalDtype, np.ndarray]] | None = None
        self._segments: dict[tuple[str, float], _SegmentGrid] = {}

    def _once(self, attr: str, make: Callable[[], _T]) -> _T:
        """The value of ``attr``, made under the lock the first time it is asked for."""
        value: _T | None = getattr(self, attr)
        if value is None:
            with self._lazy_lock:
                value = getattr(self, attr)
                if value is None:
                    value = make()
                    setattr(self, attr, value)
        return value

    @property
    def qt(self) -> quadtree.CoverageTree:
        """The coverage quadtree (loaded from the cache, or built once)."""
        return self._once(
            "_qt",
            lambda: quadtree.cached(
                self.bs.sha256,
                self.bs.geoms,
                self.tree,
                self.tol_m,
                covers=self.covers,  # compiled, when the tree must be built
                **(_CITY_TREE if len(self.bs) <= LARGE_SET else _NATIONAL_TREE),
            ),
        )

    @property
    def bands(self) -> kernels.RingBands:
        """The polygons' boundary segments in horizontal bands (exact point-in-polygon)."""
        bands: kernels.RingBands = self._once("_bands", lambda: _kernels().RingBands(self.bs.geoms))
        return bands

    @property
    def boxes(self) -> kernels.BoxGrid:
        """The polygons' bounding boxes in a grid (box queries without geometries)."""
        boxes: kernels.BoxGrid = self._once(
            "_boxes", lambda: _kernels().BoxGrid(shapely.bounds(self.bs.geoms))
        )
        return boxes

    def external_parts(self) -> dict[str, tuple[pd.CategoricalDtype, np.ndarray]]:
        """Categorical parts of this (context) set's code, name and kota name per polygon."""
        if self._external is None:
            regions = _data.regions()
            kota = np.array(
                [regions[c[:5]].nama if c[:5] in regions else None for c in self.bs.codes.tolist()],
                dtype=object,
            )
            self._external = {
                "external_kode": categorical_parts(self.bs.codes, as_object=True),
                "external_nama": categorical_parts(self.bs.names, as_object=True),
                "external_kota": categorical_parts(kota, as_object=True),
            }
        return self._external

    def in_bounds(
        self, x: np.ndarray, y: np.ndarray, margin: np.ndarray | float = 0.0
    ) -> np.ndarray:
        minx, miny, maxx, maxy = self.bounds
        with np.errstate(invalid="ignore"):
            return np.flatnonzero(
                (x >= minx - margin)
                & (x <= maxx + margin)
                & (y >= miny - margin)
                & (y <= maxy + margin)
            )

    def covering(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(point, polygon) pairs where the polygon covers the point (boundary included)."""
        sub = self.in_bounds(x, y)
        if sub.size == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        # box candidates, then intersects_xy on the prepared polygons: the same answer as an
        # "intersects" query, about twice as fast
        pt, poly = self.tree.query(shapely.points(x[sub], y[sub]))
        pt = sub[pt]
        hit = shapely.intersects_xy(self.bs.geoms[poly], x[pt], y[pt])
        return pt[hit], poly[hit].astype(np.int64)

    def metric_distance(
        self, x: np.ndarray, y: np.ndarray, pt: np.ndarray, poly: np.ndarray, to_boundary: bool
    ) -> np.ndarray:
        """Metres from point ``pt`` to polygon ``poly`` (or to its boundary), pairwise; each
        point is projected once however many pairs it is in."""
        out = np.empty(len(pt), dtype="float64")
        if len(pt) == 0:
            return out
        points, inverse = np.unique(pt, return_inverse=True)
        epsg = utm_epsg(x[points], y[points])
        pair_epsg = epsg[inverse]
        for code in np.unique(epsg):
            mine = np.flatnonzero(epsg == code)
            crs = f"EPSG:{code}"
            mx, my = transformer("EPSG:4326", crs).transform(x[points[mine]], y[points[mine]])
            centres = np.empty(len(points), dtype=object)
            centres[mine] = shapely.points(mx, my)
            sel = np.flatnonzero(pair_epsg == code)
            polys, rings = self.bs.metric(crs, poly[sel])
            out[sel] = shapely.distance(rings if to_boundary else polys, centres[inverse[sel]])
        return out

    def within(
        self,
        x: np.ndarray,
        y: np.ndarray,
        tol_m: float,
        pairs: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(point, polygon, metres) for polygons within ``tol_m`` metres of each point, sorted
        by point and polygon; the points are ones no polygon covers, so the distance to a
        polygon is the distance to its boundary. Sets up to LARGE_SET polygons use a grid of
        boundary segments (see :class:`_SegmentGrid`); larger ones measure candidate pairs
        (see :meth:`boundary_distance`): those of a grid of bounding boxes, except for the
        points of ``pairs`` (point, polygon), whose pairs are known to include every polygon
        within the tolerance."""
        if tol_m <= 0 or len(x) == 0:
            e = np.empty(0, np.int64)
            return e, e, np.empty(0)
        if len(self.bs) <= LARGE_SET:
            return self._within_segments(x, y, tol_m)
        known_pt, known_poly = pairs if pairs is not None else (np.empty(0, np.int64),) * 2
        search = np.ones(len(x), dtype=bool)
        search[known_pt] = False
        radius = quadtree.degree_radius(y, tol_m)
        sub = np.flatnonzero(search)
        sub = sub[self.in_bounds(x[sub], y[sub], radius[sub])]
        # a box query is enough: the exact metric distance below does the filtering
        r = radius[sub]
        pt, poly = self.boxes.query(x[sub] - r, y[sub] - r, x[sub] + r, y[sub] + r)
        pt = np.concatenate([sub[pt], known_pt])
        poly = np.concatenate([poly.astype(np.int64), known_poly])
        order = np.lexsort((poly, pt))
        pt, poly = pt[order], poly[order]
        dist = self.boundary_distance(x, y, pt, poly, radius[pt])
        keep = dist <= tol_m
        return pt[keep], poly[keep], dist[keep]

    def clear_of_boundaries(self, x: np.ndarray, y: np.ndarray, r_deg: np.ndarray) -> np.ndarray:
        """Per point (degrees): True where the box of half-width ``r_deg`` (degrees) around
        it lies inside a quadtree cell that one polygon alone meets and covers, so that no
        polygon boundary passes within it (:func:`.kernels.cell_margins`); False elsewhere,
        and everywhere without the accelerator."""
        if not self.accelerate:
            return np.zeros(len(x), dtype=bool)
        margin = _kernels().cell_margins(x, y, *self.qt.kernel_args())
        clear: np.ndarray = np.asarray(r_deg) < margin
        return clear

    def boundary_distance(
        self,
        x: np.ndarray,
        y: np.ndarray,
        pt: np.ndarray,
        poly: np.ndarray,
        radius: np.ndarray,
    ) -> np.ndarray:
        """Metres from point ``pt[i]`` to the boundary of polygon ``poly[i]`` where a
        segment of it meets the box of ``radius[i]`` degrees around the point (inf where none
        does; pass a generous radius, e.g. :func:`quadtree.degree_radius`):
        only the polygon's segments near the point (from its ring bands) are projected to
        the point's UTM zone and measured with GEOS' point-to-segment formula, so values
        equal ``shapely.distance`` on the projected ring, without measuring every vertex of
        large (coastal) rings."""
        k = _kernels()
        dist = np.full(len(pt), np.inf)
        qx, qy = x[pt], y[pt]
        pair, seg = k.segments_near(self.bands, qx, qy, radius, poly)
        epsg = utm_epsg(qx, qy)[pair]
        xy = self.bands.xy
        for code in np.unique(epsg):
            mine = np.flatnonzero(epsg == code)
            tr = transformer("EPSG:4326", f"EPSG:{code}")
            ends, at = np.unique(np.concatenate([seg[mine], seg[mine] + 1]), return_inverse=True)
            vx, vy = tr.transform(xy[ends, 0], xy[ends, 1])
            a, b = at[: len(mine)], at[len(mine) :]
            px, py = tr.transform(qx[pair[mine]], qy[pair[mine]])
            k.min_distances(px, py, vx[a], vy[a], vx[b], vy[b], pair[mine], dist)
        return dist

    def _within_segments(
        self, x: np.ndarray, y: np.ndarray, tol_m: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pts, polys, dists = [], [], []
        epsg = utm_epsg(x, y)
        for code in np.unique(epsg):
            mine = np.flatnonzero(epsg == code)
            crs = f"EPSG:{code}"
            key = (crs, tol_m)
            with self._lazy_lock:
                grid = self._segments.get(key)
                if grid is None:
                    grid = self._segments[key] = _SegmentGrid(self.bs, crs, tol_m)
            mx, my = transformer("EPSG:4326", crs).transform(x[mine], y[mine])
            pt, poly, dist = grid.within(mx, my)
            pts.append(mine[pt])
            polys.append(poly)
            dists.append(dist)
        pt, poly, dist = np.concatenate(pts), np.concatenate(polys), np.concatenate(dists)
        if len(pts) > 1:  # several UTM zones: back in point order
            order = np.lexsort((poly, pt))
            pt, poly, dist = pt[order], poly[order], dist[order]
        return pt, poly, dist

    def first_pass(
        self, x: np.ndarray, y: np.ndarray, reason: np.ndarray | None, fixable: bool
    ) -> tuple[np.ndarray, ...]:
        """:func:`kernels.first_pass` over this set."""
        qt = self.qt if self.accelerate else None
        out: tuple[np.ndarray, ...] = _kernels().first_pass(
            qt, x, y, reason, _REASON_CODES, self.bounds, fixable
        )
        return out

    def settle(
        self,
        x: np.ndarray,
        y: np.ndarray,
        exact: np.ndarray,
        values: np.ndarray,
        chosen: np.ndarray,
        status: np.ndarray,
    ) -> tuple[dict[int, tuple[int, ...]], tuple[np.ndarray, np.ndarray]]:
        """Exact answers for the points ``exact`` (ascending) that the tree left open
        (``values``: their tree values): ``chosen`` and ``status`` are updated in place.

        Returns the candidates of overlap points, and (point, polygon) pairs for points in
        cells that no polygon meets, whose candidates within the gap tolerance are known.
        """
        mpts, mpolys = [], []  # (point, polygon) pairs of points several polygons cover
        near = (np.empty(0, np.int64), np.empty(0, np.int64))
        slotted = values <= SLOT0
        if slotted.any():  # exact cells: test only the polygons that meet the cell
            slots = SLOT0 - values[slotted].astype(np.int64)
            points = exact[slotted]
            # south to north (16-bit latitude key: a linear-time radix sort), so that the
            # tests of one polygon (the kernel groups them) walk its bands in order
            lat = y[points]
            south, north = float(lat.min()), float(lat.max())
            key = ((lat - south) * (65_535 / max(north - south, 1e-12))).astype(np.uint16)
            order = np.argsort(key, kind="stable")
            points, slots, py = points[order], slots[order], lat[order]
            k = _kernels()
            pos, poly, kind = k.settle_cells(self.bands, self.qt, x[points], py, slots)
            if (kind == k.UNDECIDED).any():
                self.decide(kind, x[points[pos]], y[points[pos]], poly)
            mpt, mpoly, near_pt, near_poly = k.finish_cells(points, pos, poly, kind, chosen, status)
            mpts.append(mpt)
            mpolys.append(mpoly)
            near = near_pt, near_poly
        rest = exact[values == EXACT]
        if rest.size:  # the plain path: R-tree candidates and shapely predicates
            pt, poly = self.covering(x[rest], y[rest])
            pt = rest[pt]
            if pt.size > 1 and (pt[1:] < pt[:-1]).any():
                order = np.lexsort((poly, pt))
                pt, poly = pt[order], poly[order]
            start = quadtree.run_starts(pt)
            count = np.diff(np.append(start, len(pt)))
            single = np.repeat(count == 1, count)
            chosen[pt[single]] = poly[single]
            status[pt[single]] = INSIDE
            mpts.append(pt[~single])
            mpolys.append(poly[~single])
        mpt = np.concatenate(mpts) if mpts else np.empty(0, np.int64)
        mpoly = np.concatenate(mpolys) if mpolys else np.empty(0, np.int64)
        multi: dict[int, tuple[int, ...]] = {}
        if mpt.size:
            status[mpt] = OVERLAP
            # deepest first; ties (within 1 mm: projection noise) go to the smallest code,
            # which is the smallest row since rows are sorted by code
            depth = np.round(self.metric_distance(x, y, mpt, mpoly, to_boundary=True), 3)
            best = _first_per_group(mpt, mpoly, -depth)
            chosen[mpt[best]] = mpoly[best]
            order = np.lexsort((mpoly, mpt))
            for p, r in zip(mpt[order].tolist(), mpoly[order].tolist(), strict=True):
                multi[p] = (*multi.get(p, ()), r)
        return multi, near

    def covers(self, x: np.ndarray, y: np.ndarray, poly: np.ndarray) -> np.ndarray:
        """Whether polygon ``poly[i]`` covers point i (degrees; boundary included), as
        ``shapely.intersects_xy`` says: the ring-band kernel, GEOS where it is undecided."""
        k = _kernels()
        answer = self.bands.covers(x, y, poly)
        self.decide(answer, x, y, poly)
        hit: np.ndarray = answer == k.COVERS
        return hit

    def decide(self, answer: np.ndarray, x: np.ndarray, y: np.ndarray, poly: np.ndarray) -> None:
        """Replace the kernel's UNDECIDED answers (points within rounding of a boundary
        line) by GEOS' (COVERS or OUT), in place."""
        k = _kernels()
        undecided = np.flatnonzero(answer == k.UNDECIDED)
        if undecided.size:
            hit = shapely.intersects_xy(self.bs.geoms[poly[undecided]], x[undecided], y[undecided])
            answer[undecided] = np.where(hit, k.COVERS, k.OUT)

    def resolve_covered(self, x: np.ndarray, y: np.ndarray) -> Covered:
        """Status (inside/overlap/outside) and chosen polygon (-1: none) of each point
        (finite degrees; see :class:`Covered`)."""
        _, _, _, chosen, status, _, exact, values, _, _ = self.first_pass(x, y, None, False)
        multi, near = self.settle(x, y, exact, values, chosen, status)
        return Covered(chosen, status, multi, near)


@dataclass(frozen=True)
class Covered:
    """What covers each of a batch of points (positions index that batch).

    ``chosen``: polygon row or -1; ``status``: INSIDE, OVERLAP or OUTSIDE; ``multi``: the
    candidates of overlap points; ``near``: (point, polygon) pairs for uncovered points
    whose candidates within the gap tolerance are already known (the polygons near a cell
    that no polygon meets).
    """

    chosen: np.ndarray
    status: np.ndarray
    multi: dict[int, tuple[int, ...]]
    near: tuple[np.ndarray, np.ndarray]


def categorical_parts(
    values: np.ndarray, as_object: bool = False
) -> tuple[pd.CategoricalDtype, np.ndarray]:
    """The categorical dtype of the unique non-null values, and each row's code among them
    (-1: null; one extra -1 at the end so that row index -1 gathers a missing value), in
    the smallest integer type pandas keeps without a copy."""
    present = ~pd.isna(values)
    cats, inverse = np.unique(values[present].astype(str), return_inverse=True)
    codes = np.full(len(values) + 1, -1, dtype=code_dtype(len(cats)))
    codes[:-1][present] = inverse
    return pd.CategoricalDtype(pd.Index(cats.tolist(), dtype=object if as_object else None)), codes


def code_dtype(k: int) -> type[np.signedinteger[Any]]:
    """pandas' own choice of integer type for the codes of k categories."""
    for dtype in (np.int8, np.int16, np.int32):
        if k < np.iinfo(dtype).max:
            return dtype
    return np.int64


_REASON_CODES = (REASONS.index(MISSING), REASONS.index(NOT_FINITE), REASONS.index(OUT_OF_RANGE))
