"""Compiled kernels (numba) of the locate stage: one pass over a batch of points, quadtree
lookups, and exact point-in-polygon tests.

Each kernel repeats a numpy or GEOS computation operation for operation, so its answers are
the same bit for bit; where exact arithmetic would be needed (a point within rounding of a
boundary line) a kernel says *undecided* and the caller asks shapely. Kernels are compiled
on first use and cached on disk by numba (``cache=True``); this module is imported lazily,
so importing lapor_router or locating a single point does not load numba.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
import shapely

from .quadtree import EXACT, FAR, CoverageTree

INSIDE, OUTSIDE, INVALID = 0, 3, 4  # status codes of the locate core (see locate.STATUSES)
OUT = 0  # point-in-polygon answers: exterior,
COVERS = 1  # interior or boundary (shapely's intersects_xy),
UNDECIDED = 2  # too close to a boundary line for double arithmetic: ask GEOS
_SEGMENTS_PER_BAND = 2  # mean boundary segments per band of a polygon's band index
# compiled once and cached on disk; float division by zero gives inf/NaN as in numpy
_jit = numba.njit(cache=True, nogil=True, error_model="numpy")


def _tree_args(qt: CoverageTree) -> tuple[Any, ...]:
    return (
        qt.x0,
        qt.y0,
        qt.leaf,
        qt.nx,
        qt.ny,
        qt.depth,
        np.asarray(qt.bits, dtype=np.int64),
        qt.n_poly,
        qt.table,
        np.asarray(qt.bases, dtype=np.int64),
    )


@_jit
def _lookup_into(
    x: np.ndarray,
    y: np.ndarray,
    start: int,
    stop: int,
    out: np.ndarray,
    x0: float,
    y0: float,
    leaf: float,
    nx: int,
    ny: int,
    depth: int,
    bits: np.ndarray,
    n_poly: int,
    table: np.ndarray,
    bases: np.ndarray,
) -> None:
    """The tree value of points ``start:stop`` into ``out[0:stop - start]`` (see
    :meth:`CoverageTree.lookup`). A loop over many points, not a call per point: the
    table loads of consecutive points then overlap (5x faster here)."""
    span = 1 << depth
    for i in range(start, stop):
        fx = (x[i] - x0) / leaf
        fy = (y[i] - y0) / leaf
        if fx != fx or fy != fy:
            out[i - start] = EXACT
            continue
        if not (fx >= 0.0 and fx < nx * span and fy >= 0.0 and fy < ny * span):
            out[i - start] = FAR
            continue
        gx = np.int64(fx)  # truncation is the floor: both are >= 0
        gy = np.int64(fy)
        shift = depth
        value = np.int64(table[(gy >> shift) * nx + (gx >> shift)])
        for k in range(len(bits)):
            if value < n_poly:
                break
            b = bits[k]
            shift -= b
            mask = (1 << b) - 1
            cell = (((gy >> shift) & mask) << b) | ((gx >> shift) & mask)
            value = np.int64(table[bases[k + 1] + ((value - n_poly) << (2 * b)) + cell])
        out[i - start] = value


def lookup(qt: CoverageTree, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:meth:`CoverageTree.lookup`, compiled."""
    out = np.empty(len(x), dtype=np.int32)  # numpy's allocator: huge pages, 5x fewer faults
    _lookup_into(_f64(x), _f64(y), 0, len(x), out, *_tree_args(qt))
    return out


@_jit
def _in_box(x: float, y: float, box: np.ndarray) -> bool:
    return bool(x >= box[0] and x <= box[2] and y >= box[1] and y <= box[3])


@_jit
def _first_pass(
    x: np.ndarray,
    y: np.ndarray,
    values: np.ndarray,
    reason_in: np.ndarray,
    codes: np.ndarray,
    box: np.ndarray,
    fixable: bool,
    reason: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    chosen: np.ndarray,
    status: np.ndarray,
    distance: np.ndarray,
    exact: np.ndarray,
    exact_value: np.ndarray,
    fix: np.ndarray,
) -> tuple[int, int, int]:
    n = len(x)
    missing, not_finite, out_of_range = codes[0], codes[1], codes[2]
    check = len(reason_in) == 0  # no reasons given: NaN is missing, inf not finite
    n_exact = 0
    n_fix = 0
    n_invalid = 0
    for i in range(n):
        xi = x[i]
        yi = y[i]
        if check:
            r = 0
            if xi != xi:
                r = missing
            elif abs(xi) == np.inf:
                r = not_finite
            elif yi != yi:
                r = missing
            elif abs(yi) == np.inf:
                r = not_finite
        else:
            r = reason_in[i]
        if r == 0 and not (abs(xi) <= 180.0 and abs(yi) <= 90.0):
            r = out_of_range
        reason[i] = r
        chosen[i] = -1
        value = values[i]
        if r != 0:
            lon[i] = np.nan
            lat[i] = np.nan
            status[i] = INVALID
            distance[i] = np.nan
            n_invalid += 1
        else:
            lon[i] = xi
            lat[i] = yi
            if value >= 0:
                chosen[i] = value
                status[i] = INSIDE
                distance[i] = 0.0
                continue
            status[i] = OUTSIDE
            distance[i] = np.nan
            if value != FAR:
                exact[n_exact] = i
                exact_value[n_exact] = value
                n_exact += 1
        # may be fixed by swapping or negating coordinates (when the fix lands in the box)
        if (
            fixable
            and (r == 0 or r == out_of_range)
            and (_in_box(yi, xi, box) or _in_box(xi, -yi, box) or _in_box(yi, -xi, box))
        ):
            fix[n_fix] = i
            n_fix += 1
    return n_exact, n_fix, n_invalid


def first_pass(
    qt: CoverageTree | None,
    x: np.ndarray,
    y: np.ndarray,
    reason: np.ndarray | None,
    codes: tuple[int, int, int],
    box: tuple[float, float, float, float],
    fixable: bool,
) -> tuple[np.ndarray, ...]:
    """One pass over a batch of points (degrees): validity and range checks, tree lookups
    (every valid point is exact when ``qt`` is None), and the columns the core starts from.

    ``reason``: int8 reason codes of values that are not numbers, or None to derive them
    here (NaN: ``codes[0]``, infinite: ``codes[1]``); out-of-range points get ``codes[2]``.
    Returns reason, lon, lat (NaN where invalid), chosen polygon (-1: none yet), status,
    distance (0 inside, NaN otherwise), the points in exact cells (ascending) with their
    tree values, the points whose swapped or negated coordinates fall in ``box`` (minx,
    miny, maxx, maxy; only when ``fixable``), and [invalid count].
    """
    n = len(x)
    # outputs come from numpy's allocator (huge pages): 5x fewer page faults than numba's
    reason_out = np.empty(n, dtype=np.int8)
    lon, lat, distance = np.empty(n), np.empty(n), np.empty(n)
    chosen = np.empty(n, dtype=np.int64)
    status = np.empty(n, dtype=np.int8)
    exact, fix = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    exact_value = np.empty(n, dtype=np.int32)
    x, y = _f64(x), _f64(y)
    # the lookup is its own kernel: inside this loop it ran twice as slowly
    values = lookup(qt, x, y) if qt is not None else np.full(n, EXACT, dtype=np.int32)
    n_exact, n_fix, n_invalid = _first_pass(
        x,
        y,
        values,
        np.empty(0, np.int8) if reason is None else reason,
        np.asarray(codes, dtype=np.int64),
        np.asarray(box, dtype=np.float64),
        fixable,
        reason_out,
        lon,
        lat,
        chosen,
        status,
        distance,
        exact,
        exact_value,
        fix,
    )
    return (
        reason_out,
        lon,
        lat,
        chosen,
        status,
        distance,
        exact[:n_exact].copy(),
        exact_value[:n_exact].copy(),
        fix[:n_fix].copy(),
        np.array([n_invalid]),
    )


def _f64(a: np.ndarray) -> np.ndarray:
    """A C-contiguous float64 array (one compiled signature per kernel)."""
    return np.ascontiguousarray(a, dtype=np.float64)


# ------------------------------------------------------------------ point in polygon


class RingBands:
    """The boundary segments of each polygon, bucketed in horizontal bands of the polygon's
    own box, for point-in-polygon tests that only look at the segments a horizontal ray
    through the point can cross (as GEOS' indexed point locator does, with the same
    crossing rules and orientation test).

    ``x``/``y``: every ring vertex (degrees); ``entries``: segment start vertices (the
    segment ends at the next vertex), by polygon then band; ``offsets``: CSR over all bands; per
    polygon: ``lo``/``hi`` (y extent), ``height`` of a band, ``n_bands``, ``first_band``.
    """

    def __init__(self, geoms: np.ndarray, chunk: int = 10_000) -> None:
        xs, ys, starts, owners = [], [], [], []
        base = 0
        for i in range(0, len(geoms), chunk):  # bounded temporaries for national sets
            parts, part_poly = shapely.get_parts(
                shapely.boundary(geoms[i : i + chunk]), return_index=True
            )
            coords, part = shapely.get_coordinates(parts, return_index=True)
            seg = np.flatnonzero(part[:-1] == part[1:])
            xs.append(coords[:, 0])
            ys.append(coords[:, 1])
            starts.append((seg + base).astype(np.int64))
            owners.append((part_poly[part[seg]] + i).astype(np.int64))
            base += len(coords)
        self.x = np.concatenate(xs) if xs else np.empty(0)
        self.y = np.concatenate(ys) if ys else np.empty(0)
        start = np.concatenate(starts) if starts else np.empty(0, np.int64)
        owner = np.concatenate(owners) if owners else np.empty(0, np.int64)
        del xs, ys, starts, owners
        n = len(geoms)
        bounds = shapely.bounds(geoms)
        self.lo = np.ascontiguousarray(bounds[:, 1])
        self.hi = np.ascontiguousarray(bounds[:, 3])
        per_poly = np.bincount(owner, minlength=n)
        self.n_bands = np.maximum(per_poly / _SEGMENTS_PER_BAND, 1).astype(np.int64)
        span = self.hi - self.lo
        self.height = np.where(span > 0, span / self.n_bands, 1.0)
        self.first_band = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(self.n_bands, out=self.first_band[1:])
        self.offsets, self.entries = _fill_bands(
            self.y,
            start,
            owner,
            self.lo,
            self.height,
            self.n_bands,
            self.first_band,
        )

    @property
    def nbytes(self) -> int:
        return sum(
            a.nbytes
            for a in (self.x, self.y, self.entries, self.offsets, self.lo, self.hi, self.height)
        )

    def covers(self, px: np.ndarray, py: np.ndarray, poly: np.ndarray) -> np.ndarray:
        """Pairwise: OUT, COVERS (interior or boundary) or UNDECIDED, point ``i`` (degrees)
        against polygon row ``poly[i]``."""
        out = np.empty(len(px), dtype=np.int8)
        _covers(
            _f64(px),
            _f64(py),
            np.ascontiguousarray(poly, dtype=np.int64),
            self.x,
            self.y,
            self.entries,
            self.offsets,
            self.lo,
            self.hi,
            self.height,
            self.n_bands,
            self.first_band,
            out,
        )
        return out


@_jit
def _band(y: float, lo: float, height: float, n_bands: int) -> int:
    b = math.floor((y - lo) / height)
    return min(max(b, 0), n_bands - 1)


@_jit
def _fill_bands(
    y: np.ndarray,
    start: np.ndarray,
    owner: np.ndarray,
    lo: np.ndarray,
    height: np.ndarray,
    n_bands: np.ndarray,
    first_band: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Counting sort of (segment, band) entries by polygon then band, segments in order."""
    total = first_band[-1]
    offsets = np.zeros(total + 1, dtype=np.int64)
    for s in range(len(start)):
        k, p = start[s], owner[s]
        y1, y2 = y[k], y[k + 1]
        b0 = _band(min(y1, y2), lo[p], height[p], n_bands[p])
        b1 = _band(max(y1, y2), lo[p], height[p], n_bands[p])
        for b in range(b0, b1 + 1):
            offsets[first_band[p] + b + 1] += 1
    for b in range(total):
        offsets[b + 1] += offsets[b]
    fill = offsets[:-1].copy()
    entries = np.empty(offsets[-1], dtype=np.int64)
    for s in range(len(start)):
        k, p = start[s], owner[s]
        y1, y2 = y[k], y[k + 1]
        b0 = _band(min(y1, y2), lo[p], height[p], n_bands[p])
        b1 = _band(max(y1, y2), lo[p], height[p], n_bands[p])
        for b in range(b0, b1 + 1):
            g = first_band[p] + b
            entries[fill[g]] = k
            fill[g] += 1
    return offsets, entries


@_jit
def _orientation(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> int:
    """GEOS' orientation filter: the sign of the turn a -> b -> c where double arithmetic
    decides it, else 2."""
    detleft = (ax - cx) * (by - cy)
    detright = (ay - cy) * (bx - cx)
    det = detleft - detright
    if detleft > 0.0:
        if detright <= 0.0:
            return (det > 0.0) - (det < 0.0)
        detsum = detleft + detright
    elif detleft < 0.0:
        if detright >= 0.0:
            return (det > 0.0) - (det < 0.0)
        detsum = -detleft - detright
    else:
        return (det > 0.0) - (det < 0.0)
    errbound = 1e-15 * detsum
    if det >= errbound or -det >= errbound:
        return (det > 0.0) - (det < 0.0)
    return 2


@_jit
def _locate(
    qx: float,
    qy: float,
    p: int,
    x: np.ndarray,
    y: np.ndarray,
    entries: np.ndarray,
    offsets: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    height: np.ndarray,
    n_bands: np.ndarray,
    first_band: np.ndarray,
) -> int:
    """OUT, COVERS or UNDECIDED for point (qx, qy) and polygon row ``p``: GEOS'
    RayCrossingCounter over the segments of the point's band (a ray towards +x)."""
    if not (qy >= lo[p] and qy <= hi[p]):
        return OUT
    g = first_band[p] + _band(qy, lo[p], height[p], n_bands[p])
    crossings = 0
    for e in range(offsets[g], offsets[g + 1]):
        k = entries[e]
        x1, y1, x2, y2 = x[k], y[k], x[k + 1], y[k + 1]
        if x1 < qx and x2 < qx:
            continue
        if qx == x2 and qy == y2:
            return COVERS
        if y1 == qy and y2 == qy:
            if min(x1, x2) <= qx <= max(x1, x2):
                return COVERS
            continue
        if (y1 > qy and y2 <= qy) or (y2 > qy and y1 <= qy):
            sign = _orientation(x1, y1, x2, y2, qx, qy)
            if sign == 2:
                return UNDECIDED  # GEOS may still find the point on a later segment
            if sign == 0:
                return COVERS
            if y2 < y1:
                sign = -sign
            if sign > 0:
                crossings += 1
    return COVERS if crossings % 2 == 1 else OUT


@_jit
def _covers(
    px: np.ndarray,
    py: np.ndarray,
    poly: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    entries: np.ndarray,
    offsets: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    height: np.ndarray,
    n_bands: np.ndarray,
    first_band: np.ndarray,
    out: np.ndarray,
) -> None:
    for i in range(len(px)):
        out[i] = _locate(
            px[i], py[i], poly[i], x, y, entries, offsets, lo, hi, height, n_bands, first_band
        )


def settle_cells(
    bands: RingBands,
    qt: CoverageTree,
    x: np.ndarray,
    y: np.ndarray,
    points: np.ndarray,
    slots: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Points in exact cells against their cells' candidate lists: (point, polygon) pairs
    where the polygon covers the point, pairs the kernel left undecided (for GEOS), and
    (point, polygon) pairs of points in cells no polygon meets (its polygons within the gap
    tolerance). Pairs come in point order, then candidate-list order (polygon rows)."""
    counts = np.zeros(2, dtype=np.int64)
    total = int((qt.offsets[slots + 1] - qt.offsets[slots]).sum()) if len(slots) else 0
    pair_pt = np.empty(total, dtype=np.int64)
    pair_poly = np.empty(total, dtype=np.int64)
    kind = np.empty(total, dtype=np.int8)
    _settle_cells(
        _f64(x),
        _f64(y),
        points,
        slots,
        qt.offsets,
        qt.n_cover,
        qt.polys,
        bands.x,
        bands.y,
        bands.entries,
        bands.offsets,
        bands.lo,
        bands.hi,
        bands.height,
        bands.n_bands,
        bands.first_band,
        pair_pt,
        pair_poly,
        kind,
        counts,
    )
    hit, undecided, near = kind == COVERS, kind == UNDECIDED, kind == _NEAR
    return (
        pair_pt[hit],
        pair_poly[hit],
        pair_pt[undecided],
        pair_poly[undecided],
        pair_pt[near],
        pair_poly[near],
    )


_NEAR = 3  # pair kind: the point's cell meets no polygon; this one is within the tolerance


@_jit
def _settle_cells(
    px: np.ndarray,
    py: np.ndarray,
    points: np.ndarray,
    slots: np.ndarray,
    offsets: np.ndarray,
    n_cover: np.ndarray,
    polys: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    entries: np.ndarray,
    band_offsets: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    height: np.ndarray,
    n_bands: np.ndarray,
    first_band: np.ndarray,
    pair_pt: np.ndarray,
    pair_poly: np.ndarray,
    kind: np.ndarray,
    counts: np.ndarray,
) -> None:
    k = 0
    for j in range(len(points)):
        i = points[j]
        s = slots[j]
        first = offsets[s]
        for c in range(first, offsets[s + 1]):
            p = int(polys[c])
            pair_pt[k] = i
            pair_poly[k] = p
            if c - first < n_cover[s]:  # the polygon meets the cell: test it
                kind[k] = _locate(
                    px[i],
                    py[i],
                    p,
                    x,
                    y,
                    entries,
                    band_offsets,
                    lo,
                    hi,
                    height,
                    n_bands,
                    first_band,
                )
            else:  # a polygon near a cell that no polygon meets
                kind[k] = _NEAR
            k += 1
    counts[0] = k


def nearest_segments(
    px: np.ndarray,
    py: np.ndarray,
    origin: tuple[float, float],
    cell: float,
    nx: int,
    cells: np.ndarray,
    offsets: np.ndarray,
    segs: np.ndarray,
    ends: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    owner: np.ndarray,
    tol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a grid of segments (metric; see ``locate._SegmentGrid``): (point, polygon,
    metres) for every polygon with a segment within ``tol`` of a point, the minimum over
    the segments listed in the point's cell, sorted by point then polygon."""
    k = np.searchsorted(cells, _cell_ids(px, py, origin, cell, nx))
    k = np.minimum(k, len(cells) - 1)
    total = int((offsets[k + 1] - offsets[k]).sum()) if len(k) else 0
    pt = np.empty(total, dtype=np.int64)
    poly = np.empty(total, dtype=np.int64)
    dist = np.empty(total)
    n = _nearest_segments(
        _f64(px),
        _f64(py),
        origin[0],
        origin[1],
        cell,
        nx,
        cells,
        k,
        offsets,
        segs,
        *ends,
        owner,
        tol,
        pt,
        poly,
        dist,
    )
    return pt[:n], poly[:n], dist[:n]


def _cell_ids(
    px: np.ndarray, py: np.ndarray, origin: tuple[float, float], cell: float, nx: int
) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        ci = np.floor((px - origin[0]) / cell)
        cj = np.floor((py - origin[1]) / cell)
    ok = (ci >= 0) & (ci < nx) & (cj >= 0)
    ids: np.ndarray = np.where(ok, cj * nx + ci, -1).astype(np.int64)
    return ids


@_jit
def _nearest_segments(
    px: np.ndarray,
    py: np.ndarray,
    x0: float,
    y0: float,
    cell: float,
    nx: int,
    cells: np.ndarray,
    k: np.ndarray,
    offsets: np.ndarray,
    segs: np.ndarray,
    ax: np.ndarray,
    ay: np.ndarray,
    bx: np.ndarray,
    by: np.ndarray,
    owner: np.ndarray,
    tol: float,
    out_pt: np.ndarray,
    out_poly: np.ndarray,
    out_dist: np.ndarray,
) -> int:
    n = 0
    for i in range(len(px)):
        ci = np.floor((px[i] - x0) / cell)
        cj = np.floor((py[i] - y0) / cell)
        if not (ci >= 0 and ci < nx and cj >= 0):  # NaN included
            continue
        if cells[k[i]] != np.int64(cj) * nx + np.int64(ci):
            continue
        current = -1
        best = np.inf
        # a cell lists its segments in order, so by polygon: one minimum per run
        for e in range(offsets[k[i]], offsets[k[i] + 1]):
            s = segs[e]
            p = owner[s]
            if p != current:
                if current >= 0 and best <= tol:
                    out_pt[n], out_poly[n], out_dist[n] = i, current, best
                    n += 1
                current = p
                best = np.inf
            d = _segment_distance(px[i], py[i], ax[s], ay[s], bx[s], by[s])
            if d < best:
                best = d
        if current >= 0 and best <= tol:
            out_pt[n], out_poly[n], out_dist[n] = i, current, best
            n += 1
    return n


@_jit
def _segment_distance(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    """Point to segment distance, operation for operation as GEOS computes it."""
    dx = bx - ax
    dy = by - ay
    len2 = dx * dx + dy * dy
    if len2 == 0.0:
        return math.sqrt((px - ax) * (px - ax) + (py - ay) * (py - ay))
    r = ((px - ax) * dx + (py - ay) * dy) / len2
    if r <= 0.0:
        return math.sqrt((px - ax) * (px - ax) + (py - ay) * (py - ay))
    if r >= 1.0:
        return math.sqrt((px - bx) * (px - bx) + (py - by) * (py - by))
    s = ((ay - py) * dx - (ax - px) * dy) / len2
    return abs(s) * math.sqrt(len2)
