"""Compiled kernels (numba) of the locate stage: one pass over a batch of points, quadtree
lookups, exact point-in-polygon tests (ring bands), box queries and point-to-segment
distances for the gap search, the quarter tests of the quadtree build.

Each kernel repeats a numpy or GEOS computation operation for operation, so its answers are
the same bit for bit; where exact arithmetic would be needed (a point within rounding of a
boundary line) a kernel says *undecided* and the caller asks shapely. Kernels are compiled
on first use and cached on disk by numba (``cache=True``); this module is imported lazily,
so importing lapor_router or locating a single point does not load numba.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numba
import numpy as np
import shapely

from .codes import EXACT, FAR, INSIDE, INVALID, OUTSIDE


class CoverageTree(Protocol):
    """What the kernels read of a :class:`.quadtree.CoverageTree` (which imports them)."""

    @property
    def offsets(self) -> np.ndarray: ...
    @property
    def n_cover(self) -> np.ndarray: ...
    @property
    def polys(self) -> np.ndarray: ...
    def kernel_args(self) -> tuple[Any, ...]: ...


OUT = 0  # point-in-polygon answers: exterior,
COVERS = 1  # interior or boundary (shapely's intersects_xy),
UNDECIDED = 2  # too close to a boundary line for double arithmetic: ask GEOS
_SEGMENTS_PER_BAND = 2  # mean boundary segments per band of a polygon's band index
# compiled once and cached on disk; float division by zero gives inf/NaN as in numpy
_jit = numba.njit(cache=True, nogil=True, error_model="numpy")


@_jit
def _lookup_into(
    x: np.ndarray,
    y: np.ndarray,
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
    """The tree value of each point into ``out`` (see :meth:`CoverageTree.lookup`).

    Points go in batches, one table level at a time for the whole batch: the table loads
    of a batch are independent, so their cache misses overlap (national trees do not fit
    in cache)."""
    batch = 256
    gx = np.empty(batch, dtype=np.int64)
    gy = np.empty(batch, dtype=np.int64)
    value = np.empty(batch, dtype=np.int64)
    span = 1 << depth
    for base in range(0, len(x), batch):
        m = min(batch, len(x) - base)
        for j in range(m):
            fx = (x[base + j] - x0) / leaf
            fy = (y[base + j] - y0) / leaf
            if fx != fx or fy != fy:
                value[j] = EXACT
            elif not (fx >= 0.0 and fx < nx * span and fy >= 0.0 and fy < ny * span):
                value[j] = FAR
            else:
                gx[j] = np.int64(fx)  # truncation is the floor: both are >= 0
                gy[j] = np.int64(fy)
                value[j] = table[(gy[j] >> depth) * nx + (gx[j] >> depth)]
        shift = depth
        for k in range(len(bits)):
            b = bits[k]
            shift -= b
            mask = (1 << b) - 1
            for j in range(m):
                if value[j] >= n_poly:
                    cell = (((gy[j] >> shift) & mask) << b) | ((gx[j] >> shift) & mask)
                    value[j] = table[bases[k + 1] + ((value[j] - n_poly) << (2 * b)) + cell]
        for j in range(m):
            out[base + j] = value[j]


def lookup(x: np.ndarray, y: np.ndarray, *tree: Any) -> np.ndarray:
    """:meth:`CoverageTree.lookup`, compiled; ``tree`` is :meth:`CoverageTree.kernel_args`."""
    out = np.empty(len(x), dtype=np.int32)  # numpy's allocator: huge pages, 5x fewer faults
    _lookup_into(_f64(x), _f64(y), out, *tree)
    return out


@_jit
def _cell_margins_into(x: np.ndarray, y: np.ndarray, out: np.ndarray, tree: Any) -> None:
    """Per point (degrees), into ``out``: where the tree says one polygon alone covers the
    point's cell, the distance (degrees) from the point to the nearest side of that cell;
    0 elsewhere. No boundary passes within it (see :func:`cell_margins`). ``tree``: the
    fields of :meth:`CoverageTree.kernel_args`, as one tuple."""
    x0, y0, leaf, nx, ny, depth, bits, n_poly, table, bases = tree
    span = 1 << depth
    for i in range(len(x)):
        out[i] = 0.0
        fx = (x[i] - x0) / leaf
        fy = (y[i] - y0) / leaf
        if not (fx >= 0.0 and fx < nx * span and fy >= 0.0 and fy < ny * span):
            continue  # NaN too
        gx = np.int64(fx)
        gy = np.int64(fy)
        value = np.int64(table[(gy >> depth) * nx + (gx >> depth)])
        shift = depth
        for k in range(len(bits)):
            if value < n_poly:
                break
            b = bits[k]
            shift -= b
            mask = (1 << b) - 1
            cell = (((gy >> shift) & mask) << b) | ((gx >> shift) & mask)
            value = np.int64(table[bases[k + 1] + ((value - n_poly) << (2 * b)) + cell])
        if value >= 0 and value < n_poly:
            cx = np.float64((gx >> shift) << shift)
            cy = np.float64((gy >> shift) << shift)
            size = np.float64(1 << shift)
            out[i] = min(fx - cx, cx + size - fx, fy - cy, cy + size - fy) * leaf


def cell_margins(x: np.ndarray, y: np.ndarray, *tree: Any) -> np.ndarray:
    """Per point (degrees): the distance (degrees) from it to the nearest side of its tree
    cell where one polygon alone meets and covers that cell (0 elsewhere: in a cell that a
    boundary, an overlap or a gap passes through, outside the tree, or not finite). A box
    around the point of a smaller half-width meets no polygon boundary, so a GPS accuracy
    circle inside it crosses none. ``tree`` is :meth:`CoverageTree.kernel_args`."""
    out = np.empty(len(x), dtype=np.float64)
    _cell_margins_into(_f64(x), _f64(y), out, tree)
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
        value = values[i]
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
    status = np.empty(n, dtype=np.int8)
    exact, fix = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    exact_value = np.empty(n, dtype=np.int32)
    x, y = _f64(x), _f64(y)
    # int64 rows: gathers with them need no conversion (numpy indexes with intp)
    chosen = np.empty(n, dtype=np.int64)
    # the lookup is its own kernel: inside this loop it ran twice as slowly
    values = (
        lookup(x, y, *qt.kernel_args()) if qt is not None else np.full(n, EXACT, dtype=np.int32)
    )
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

    ``xy``: every ring vertex (degrees, one row each); ``entries``: segment start vertices
    (the segment ends at the next vertex), by polygon then band; ``offsets``: CSR over all
    bands; ``poly``: per polygon one row (low y, high y, band height, first band, bands).
    Packed so that a test touches few cache lines: national sets do not fit in cache.
    """

    def __init__(self, geoms: np.ndarray, chunk: int = 10_000) -> None:
        coords, starts, owners = [], [], []
        base = 0
        for i in range(0, len(geoms), chunk):  # bounded temporaries for national sets
            parts, part_poly = shapely.get_parts(
                shapely.boundary(geoms[i : i + chunk]), return_index=True
            )
            xy, part = shapely.get_coordinates(parts, return_index=True)
            seg = np.flatnonzero(part[:-1] == part[1:])
            coords.append(xy)
            starts.append((seg + base).astype(np.int64))
            owners.append((part_poly[part[seg]] + i).astype(np.int64))
            base += len(xy)
        self.xy = np.concatenate(coords) if coords else np.empty((0, 2))
        start = np.concatenate(starts) if starts else np.empty(0, np.int64)
        owner = np.concatenate(owners) if owners else np.empty(0, np.int64)
        del coords, starts, owners
        n = len(geoms)
        bounds = shapely.bounds(geoms)
        lo, hi = bounds[:, 1], bounds[:, 3]
        n_bands = np.maximum(np.bincount(owner, minlength=n) / _SEGMENTS_PER_BAND, 1)
        n_bands = n_bands.astype(np.int64)
        height = np.where(hi > lo, (hi - lo) / n_bands, 1.0)
        first_band = np.cumsum(n_bands) - n_bands
        # band numbers are exact in float64 (far below 2 ** 53)
        self.poly = np.ascontiguousarray(np.column_stack([lo, hi, height, first_band, n_bands]))
        # (segment, band) entries: counted per band, then placed (a counting sort)
        ids = np.int32 if len(self.xy) < 2**31 else np.int64
        self.offsets = np.zeros(int(n_bands.sum()) + 1, dtype=np.int64)
        self.entries = np.empty(0, dtype=ids)
        _band_entries(self.xy, start, owner, self.poly, self.offsets, self.entries, True)
        np.cumsum(self.offsets, out=self.offsets)
        self.entries = np.empty(int(self.offsets[-1]), dtype=ids)
        _band_entries(self.xy, start, owner, self.poly, self.offsets, self.entries, False)

    @property
    def nbytes(self) -> int:
        return self.xy.nbytes + self.entries.nbytes + self.offsets.nbytes + self.poly.nbytes

    def covers(self, px: np.ndarray, py: np.ndarray, poly: np.ndarray) -> np.ndarray:
        """Pairwise: OUT, COVERS (interior or boundary) or UNDECIDED, point ``i`` (degrees)
        against polygon row ``poly[i]``."""
        out = np.full(len(px), _TEST, dtype=np.int8)
        poly = np.ascontiguousarray(poly, dtype=np.int64)
        _covers(
            _f64(px),
            _f64(py),
            np.arange(len(px)),
            poly,
            _by_polygon(poly, len(self.poly)),  # polygon by polygon: cache locality
            self.xy,
            self.entries,
            self.offsets,
            self.poly,
            out,
        )
        return out


@_jit
def _band(y: float, poly: np.ndarray, p: int) -> int:
    """Band of latitude ``y`` in polygon ``p`` of ``RingBands.poly`` (clamped). Scalar
    loads, no row views: a view costs a reference count update."""
    b: int = math.floor((y - poly[p, 0]) / poly[p, 2])
    return min(max(b, 0), int(poly[p, 4]) - 1)


@_jit
def _band_entries(
    xy: np.ndarray,
    start: np.ndarray,
    owner: np.ndarray,
    poly: np.ndarray,
    offsets: np.ndarray,
    entries: np.ndarray,
    counting: bool,
) -> None:
    """Counting: ``offsets[g + 1] += 1`` for each (segment, band g) entry. Otherwise
    (``offsets`` now CSR) each entry's segment goes to the next free place of its band:
    by polygon then band, segments in ring order."""
    fill = offsets if counting else offsets[:-1].copy()
    for s in range(len(start)):
        k, p = start[s], owner[s]
        y1, y2 = xy[k, 1], xy[k + 1, 1]
        first = int(poly[p, 3])
        for b in range(_band(min(y1, y2), poly, p), _band(max(y1, y2), poly, p) + 1):
            if counting:
                fill[first + b + 1] += 1
            else:
                entries[fill[first + b]] = k
                fill[first + b] += 1


@_jit
def _orientation(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> int:
    """GEOS' orientation filter: the sign of the turn a -> b -> c where double arithmetic
    decides it, else 2. (GEOS' branches, folded into one test: when the two products
    differ in sign or one is zero the difference cannot cancel and always passes.)"""
    detleft = (ax - cx) * (by - cy)
    detright = (ay - cy) * (bx - cx)
    det = detleft - detright
    if abs(det) >= 1e-15 * (abs(detleft) + abs(detright)):
        return (det > 0.0) - (det < 0.0)
    return 2


@_jit
def _locate(
    qx: float,
    qy: float,
    p: int,
    xy: np.ndarray,
    entries: np.ndarray,
    offsets: np.ndarray,
    poly: np.ndarray,
) -> int:
    """OUT, COVERS or UNDECIDED for point (qx, qy) and polygon row ``p``: GEOS'
    RayCrossingCounter over the segments of the point's band (a ray towards +x)."""
    if not (qy >= poly[p, 0] and qy <= poly[p, 1]):
        return OUT
    g = int(poly[p, 3]) + _band(qy, poly, p)
    crossings = 0
    for e in range(offsets[g], offsets[g + 1]):
        k = entries[e]
        x1, y1, x2, y2 = xy[k, 0], xy[k, 1], xy[k + 1, 0], xy[k + 1, 1]
        if y1 == qy or y2 == qy:  # rare: GEOS' rules for vertices at the point's latitude
            if x1 < qx and x2 < qx:
                continue
            if qx == x2 and qy == y2:
                return COVERS
            if y1 == qy and y2 == qy:
                if min(x1, x2) <= qx <= max(x1, x2):
                    return COVERS
                continue
        # the segment crosses the point's latitude (GEOS: one end above, the other at or
        # below) and is not wholly to the left: where does it cross?
        if (y1 > qy) != (y2 > qy) and not (x1 < qx and x2 < qx):
            sign = _orientation(x1, y1, x2, y2, qx, qy)
            if sign == 2:
                return UNDECIDED  # GEOS may still find the point on a later segment
            if sign == 0:
                return COVERS
            crossings += (sign > 0) == (y2 > y1)  # upward and left turn, or downward and right
    return COVERS if crossings % 2 == 1 else OUT


@_jit
def _covers(
    px: np.ndarray,
    py: np.ndarray,
    pos: np.ndarray,
    poly: np.ndarray,
    order: np.ndarray,
    xy: np.ndarray,
    entries: np.ndarray,
    offsets: np.ndarray,
    rows: np.ndarray,
    out: np.ndarray,
) -> float:
    """``_locate`` of point ``pos[i]`` and polygon ``poly[i]`` for each pair ``i`` whose
    ``out`` is ``_TEST``, in the given order. Pairs go in batches: the memory each test
    starts from (polygon row, band offsets, first segment) is loaded for the whole batch
    first, so that the cache misses of a batch overlap."""
    batch = 32
    band = np.empty(batch, dtype=np.int64)
    touched = 0.0  # keeps the loads of the warm-up loops
    for base in range(0, len(order), batch):
        m = min(batch, len(order) - base)
        for j in range(m):
            band[j] = -1
            i = order[base + j]
            if out[i] == _TEST:
                p = poly[i]
                qy = py[pos[i]]
                if qy >= rows[p, 0] and qy <= rows[p, 1]:
                    band[j] = int(rows[p, 3]) + _band(qy, rows, p)
        for j in range(m):
            if band[j] >= 0:
                touched += offsets[band[j] + 1]
        for j in range(m):
            if band[j] >= 0 and offsets[band[j]] < offsets[band[j] + 1]:
                touched += xy[entries[offsets[band[j]]], 0]
        for j in range(m):
            i = order[base + j]
            if out[i] == _TEST:
                out[i] = _locate(px[pos[i]], py[pos[i]], poly[i], xy, entries, offsets, rows)
    return touched


def settle_cells(
    bands: RingBands,
    qt: CoverageTree,
    x: np.ndarray,
    y: np.ndarray,
    slots: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points (degrees) in the exact cells ``slots`` against their cells' candidate lists:
    one (point position, polygon, kind) triple per candidate, each point's together in
    candidate-list order (polygon rows). Kind: COVERS or OUT for polygons that meet the
    point's cell, UNDECIDED where double arithmetic cannot tell (GEOS must), ``NEAR`` for
    the polygons near a cell that no polygon meets (within the gap tolerance)."""
    total = int((qt.offsets[slots + 1] - qt.offsets[slots]).sum()) if len(slots) else 0
    pair_pos = np.empty(total, dtype=np.int32 if len(slots) < 2**31 else np.int64)
    pair_poly = np.empty(total, dtype=np.int32)
    kind = np.empty(total, dtype=np.int8)
    _expand_cells(slots, qt.offsets, qt.n_cover, qt.polys, pair_pos, pair_poly, kind)
    # polygon by polygon: its row, bands and vertices stay in cache (national sets do not
    # fit in it; 2x faster than point order there)
    order = _by_polygon(pair_poly, len(bands.poly))
    _covers(
        _f64(x),
        _f64(y),
        pair_pos,
        pair_poly,
        order,
        bands.xy,
        bands.entries,
        bands.offsets,
        bands.poly,
        kind,
    )
    return pair_pos, pair_poly, kind


@_jit
def _by_polygon(poly: np.ndarray, n_poly: int) -> np.ndarray:
    """The permutation that sorts pairs by polygon (stable counting sort, linear time)."""
    start = np.zeros(n_poly + 1, dtype=np.int64)
    for p in poly:
        start[p + 1] += 1
    for p in range(n_poly):
        start[p + 1] += start[p]
    order = np.empty(len(poly), dtype=np.int64)
    for i in range(len(poly)):
        order[start[poly[i]]] = i
        start[poly[i]] += 1
    return order


_TEST = -1  # pair kind before the test: the polygon meets the point's cell
NEAR = 3  # pair kind: the point's cell meets no polygon; this one is within the tolerance


@_jit
def _expand_cells(
    slots: np.ndarray,
    offsets: np.ndarray,
    n_cover: np.ndarray,
    polys: np.ndarray,
    pair_pos: np.ndarray,
    pair_poly: np.ndarray,
    kind: np.ndarray,
) -> None:
    """One pair per candidate of each point's cell (candidates that meet the cell first)."""
    k = 0
    for j in range(len(slots)):
        s = slots[j]
        first = offsets[s]
        for c in range(first, offsets[s + 1]):
            pair_pos[k] = j
            pair_poly[k] = polys[c]
            kind[k] = _TEST if c - first < n_cover[s] else NEAR
            k += 1


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
    the segments listed in the point's cell, sorted by point then polygon. (The cell
    search is numpy's, over all points at once: faster than one search per point in the
    kernel, which checks the cell again.)"""
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


class BoxGrid:
    """The polygons' bounding boxes in a uniform grid (degrees), for many small box queries
    at once without creating geometries (what the gap search of national sets asks)."""

    def __init__(self, bounds: np.ndarray) -> None:
        extent = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
        self.cell = float(max(np.median(extent) * 1.5, 1e-6)) if len(bounds) else 1.0
        self.bounds = np.ascontiguousarray(bounds, dtype=np.float64)
        self.x0 = float(bounds[:, 0].min()) if len(bounds) else 0.0
        self.y0 = float(bounds[:, 1].min()) if len(bounds) else 0.0
        span_x = float(bounds[:, 2].max()) - self.x0 if len(bounds) else 0.0
        span_y = float(bounds[:, 3].max()) - self.y0 if len(bounds) else 0.0
        self.nx = int(span_x // self.cell) + 1
        self.ny = int(span_y // self.cell) + 1
        self.offsets, self.entries = _grid_boxes(
            self.bounds, self.x0, self.y0, self.cell, self.nx, self.ny
        )

    def query(
        self, minx: np.ndarray, miny: np.ndarray, maxx: np.ndarray, maxy: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(query, polygon) pairs whose boxes intersect (boundaries included), each once,
        grouped by query."""
        box = (_f64(minx), _f64(miny), _f64(maxx), _f64(maxy))
        pt = poly = np.empty(0, dtype=np.int64)
        for counting in (True, False):  # count the pairs, then write them
            total = _query_boxes(
                *box,
                self.bounds,
                self.x0,
                self.y0,
                self.cell,
                self.nx,
                self.ny,
                self.offsets,
                self.entries,
                None if counting else pt,
                None if counting else poly,
            )
            if counting:
                pt = np.empty(total, dtype=np.int64)
                poly = np.empty(total, dtype=np.int64)
        return pt, poly


@_jit
def _cell_range(lo: float, hi: float, origin: float, cell: float, n: int) -> tuple[int, int]:
    a = max(math.floor((lo - origin) / cell), 0)
    b = min(math.floor((hi - origin) / cell), n - 1)
    return a, b


@_jit
def _grid_boxes(
    bounds: np.ndarray, x0: float, y0: float, cell: float, nx: int, ny: int
) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(nx * ny + 1, dtype=np.int64)
    for p in range(len(bounds)):
        i0, i1 = _cell_range(bounds[p, 0], bounds[p, 2], x0, cell, nx)
        j0, j1 = _cell_range(bounds[p, 1], bounds[p, 3], y0, cell, ny)
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                offsets[j * nx + i + 1] += 1
    for c in range(nx * ny):
        offsets[c + 1] += offsets[c]
    fill = offsets[:-1].copy()
    entries = np.empty(offsets[-1], dtype=np.int64)
    for p in range(len(bounds)):
        i0, i1 = _cell_range(bounds[p, 0], bounds[p, 2], x0, cell, nx)
        j0, j1 = _cell_range(bounds[p, 1], bounds[p, 3], y0, cell, ny)
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                entries[fill[j * nx + i]] = p
                fill[j * nx + i] += 1
    return offsets, entries


@_jit
def _query_boxes(
    minx: np.ndarray,
    miny: np.ndarray,
    maxx: np.ndarray,
    maxy: np.ndarray,
    bounds: np.ndarray,
    x0: float,
    y0: float,
    cell: float,
    nx: int,
    ny: int,
    offsets: np.ndarray,
    entries: np.ndarray,
    out_pt: np.ndarray | None,
    out_poly: np.ndarray | None,
) -> int:
    """Count the pairs (``out_*`` None), or write them. A pair is reported in the first
    grid cell that both boxes share, so once however many cells they share."""
    n = 0
    for q in range(len(minx)):
        if not (maxx[q] >= x0 and maxy[q] >= y0):  # NaN or left/below the grid
            continue
        i0, i1 = _cell_range(minx[q], maxx[q], x0, cell, nx)
        j0, j1 = _cell_range(miny[q], maxy[q], y0, cell, ny)
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                c = j * nx + i
                for e in range(offsets[c], offsets[c + 1]):
                    p = entries[e]
                    if not (
                        bounds[p, 0] <= maxx[q]
                        and bounds[p, 2] >= minx[q]
                        and bounds[p, 1] <= maxy[q]
                        and bounds[p, 3] >= miny[q]
                    ):
                        continue
                    pi0 = max(math.floor((bounds[p, 0] - x0) / cell), 0)
                    pj0 = max(math.floor((bounds[p, 1] - y0) / cell), 0)
                    if i != max(i0, pi0) or j != max(j0, pj0):
                        continue  # reported in an earlier shared cell
                    if out_pt is not None and out_poly is not None:
                        out_pt[n] = q
                        out_poly[n] = p
                    n += 1
    return n


def segments_near(
    bands: RingBands, qx: np.ndarray, qy: np.ndarray, radius: np.ndarray, poly: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(pair, segment start vertex) for every segment of polygon ``poly[i]`` whose box
    meets the box of ``radius[i]`` degrees around point i: every segment that can lie within
    that radius, each once. Segment boxes are grown by a thousandth of their length, so a
    segment whose straight projected image (in metres) bends away from its straight image
    in degrees is never missed."""
    pair, seg, n = _segments_near(
        _f64(qx),
        _f64(qy),
        _f64(radius),
        np.ascontiguousarray(poly, dtype=np.int64),
        bands.xy,
        bands.entries,
        bands.offsets,
        bands.poly,
    )
    return pair[:n], seg[:n]


@_jit
def _segments_near(
    qx: np.ndarray,
    qy: np.ndarray,
    radius: np.ndarray,
    poly: np.ndarray,
    xy: np.ndarray,
    entries: np.ndarray,
    offsets: np.ndarray,
    rows: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, int]:
    n = 0
    pair = np.empty(max(len(qx), 16), dtype=np.int64)
    seg = np.empty(max(len(qx), 16), dtype=np.int64)
    for i in range(len(qx)):
        p = poly[i]
        x0, x1 = qx[i] - radius[i], qx[i] + radius[i]
        y0, y1 = qy[i] - radius[i], qy[i] + radius[i]
        if not (y1 >= rows[p, 0] and y0 <= rows[p, 1]):
            continue
        b0, b1 = _band(y0, rows, p), _band(y1, rows, p)
        first = int(rows[p, 3])
        for b in range(b0, b1 + 1):
            for e in range(offsets[first + b], offsets[first + b + 1]):
                k = entries[e]
                ax, ay, bx, by = xy[k, 0], xy[k, 1], xy[k + 1, 0], xy[k + 1, 1]
                grow = 1e-3 * (abs(bx - ax) + abs(by - ay))
                if min(ax, bx) - grow > x1 or max(ax, bx) + grow < x0:
                    continue
                if min(ay, by) - grow > y1 or max(ay, by) + grow < y0:
                    continue
                if b != max(_band(min(ay, by), rows, p), b0):
                    continue  # listed in an earlier band of the query too
                if n == len(pair):  # grow the outputs
                    pair = np.concatenate((pair, np.empty_like(pair)))
                    seg = np.concatenate((seg, np.empty_like(seg)))
                pair[n] = i
                seg[n] = k
                n += 1
    return pair, seg, n


@_jit
def min_distances(
    px: np.ndarray,
    py: np.ndarray,
    ax: np.ndarray,
    ay: np.ndarray,
    bx: np.ndarray,
    by: np.ndarray,
    pair: np.ndarray,
    out: np.ndarray,
) -> None:
    """``out[pair[i]] = min(out[pair[i]], distance from point i to segment i)`` (metric
    coordinates; GEOS' point-to-segment formula)."""
    for i in range(len(pair)):
        d = _segment_distance(px[i], py[i], ax[i], ay[i], bx[i], by[i])
        if d < out[pair[i]]:
            out[pair[i]] = d


# ------------------------------------------------------------------ quadtree build


def quadrant_masks(
    seg: np.ndarray,
    x0: np.ndarray,
    y0: np.ndarray,
    half: float,
    ends: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    eps: float,
) -> np.ndarray:
    """For (cell, segment) pairs whose segment meets its cell (origin x0/y0, size
    2 * half, degrees): whether the segment meets each quadrant grown by ``eps`` (columns
    in x-then-y order). The same arithmetic as the numpy version it replaces."""
    out = np.empty((len(seg), 4), dtype=np.bool_)
    _quadrant_masks(seg, _f64(x0), _f64(y0), half, *ends, eps, out)
    return out


@_jit
def _quadrant_masks(
    seg: np.ndarray,
    x0: np.ndarray,
    y0: np.ndarray,
    half: float,
    ax: np.ndarray,
    ay: np.ndarray,
    bx: np.ndarray,
    by: np.ndarray,
    eps: float,
    out: np.ndarray,
) -> None:
    for i in range(len(seg)):
        s = seg[i]
        cx = x0[i] + half
        cy = y0[i] + half
        sx, sy, ex, ey = ax[s], ay[s], bx[s], by[s]
        left = min(sx, ex) <= cx + eps
        right = max(sx, ex) >= cx - eps
        low = min(sy, ey) <= cy + eps
        high = max(sy, ey) >= cy - eps
        out[i, 0] = left and low
        out[i, 1] = right and low
        out[i, 2] = left and high
        out[i, 3] = right and high
        if not ((left and right) or (low and high)):
            continue  # within one quadrant's box: the box test decides
        dx = ex - sx
        dy = ey - sy
        for q in range(4):
            if out[i, q]:
                lo_x = cx - half * (1 - (q & 1)) - eps
                lo_y = cy - half * (1 - (q >> 1)) - eps
                hi_x = lo_x + half + 2 * eps
                hi_y = lo_y + half + 2 * eps
                # the line through the segment passes the box: its corners are not all on
                # one side
                c1 = dx * (lo_y - sy) - dy * (lo_x - sx)
                c2 = dx * (lo_y - sy) - dy * (hi_x - sx)
                c3 = dx * (hi_y - sy) - dy * (lo_x - sx)
                c4 = dx * (hi_y - sy) - dy * (hi_x - sx)
                lo = min(min(c1, c2), min(c3, c4))
                hi = max(max(c1, c2), max(c3, c4))
                out[i, q] = lo <= 0 and hi >= 0


def finish_cells(
    points: np.ndarray,
    pos: np.ndarray,
    poly: np.ndarray,
    kind: np.ndarray,
    chosen: np.ndarray,
    status: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """After :func:`settle_cells` (undecided pairs decided): points that one polygon covers
    get it as ``chosen`` with status INSIDE, in place. Returns the (point, polygon) pairs of
    points that several polygons cover, and the ``NEAR`` pairs (points as ``points``
    values)."""
    n = len(pos)
    multi_pt, multi_poly = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    near_pt, near_poly = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    counts = np.zeros(2, dtype=np.int64)
    _finish_cells(
        points, pos, poly, kind, chosen, status, multi_pt, multi_poly, near_pt, near_poly, counts
    )
    m, k = int(counts[0]), int(counts[1])
    return multi_pt[:m], multi_poly[:m], near_pt[:k], near_poly[:k]


@_jit
def _finish_cells(
    points: np.ndarray,
    pos: np.ndarray,
    poly: np.ndarray,
    kind: np.ndarray,
    chosen: np.ndarray,
    status: np.ndarray,
    multi_pt: np.ndarray,
    multi_poly: np.ndarray,
    near_pt: np.ndarray,
    near_poly: np.ndarray,
    counts: np.ndarray,
) -> None:
    m = 0
    k = 0
    start = 0
    while start < len(pos):  # one run of pairs per point
        stop = start + 1
        while stop < len(pos) and pos[stop] == pos[start]:
            stop += 1
        point = points[pos[start]]
        hits = 0
        for e in range(start, stop):
            if kind[e] == COVERS:
                hits += 1
            elif kind[e] == NEAR:
                near_pt[k] = point
                near_poly[k] = poly[e]
                k += 1
        if hits == 1:
            for e in range(start, stop):
                if kind[e] == COVERS:
                    chosen[point] = poly[e]
                    status[point] = INSIDE
        elif hits > 1:
            for e in range(start, stop):
                if kind[e] == COVERS:
                    multi_pt[m] = point
                    multi_poly[m] = poly[e]
                    m += 1
        start = stop
    counts[0] = m
    counts[1] = k
