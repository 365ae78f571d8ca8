"""An accelerator for locating points: a quadtree of cells that one polygon covers alone.

The boundary set's bounding box is split into square root cells, then each cell into four,
recursively, wherever polygon boundaries pass. A cell is a leaf with a value when its answer
is the same for every point in it:

- ``>= 0``: exactly one polygon meets the cell (grown by ``EPS_DEG``) and covers it, so
  every point in the cell is ``inside`` that polygon;
- ``FAR`` (-2): no polygon lies within the gap tolerance of the cell, so every point in it is
  ``outside`` with no gap candidate;
- an exact cell (``<= -3``, slot ``-3 - value``): a boundary, an overlap or a gap passes
  through it, and it is not split further (smallest size, adaptive size or node budget).
  Its points take the exact path against the cell's own candidate list: the polygons that
  meet the cell or, when none does, the polygons within the gap tolerance of it (an empty
  list: the R-tree or the segment grid finds them).

Root cells are classified with shapely predicates; below them, boundary cells are refined
with the boundary segments themselves (see :func:`build`).

The tree is stored flattened for lookups: the root grid, then dense blocks (up to 32 × 32
cells) for each cell that splits (a leaf above the finest size fills all the block cells it
spans). A lookup is one gather per table for all points at once, with integer cell
coordinates computed once; no predicate runs for points in labelled cells. The tree is built
once per boundary set, gap tolerance and settings, and cached on disk as ``.npz`` keyed by
the set's sha256.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs
import shapely

from .codes import EXACT, FAR, SLOT0

INTERNAL = -3  # build-time label of a cell that splits
EPS_DEG = 1e-9  # cells are classified grown by ~0.1 mm so rounding never crosses an edge
FORMAT_VERSION = 5
MAX_BITS = 5  # levels per dense table: blocks of at most 32 × 32 cells
METRES_PER_DEG = 111_320.0  # one degree of longitude at the equator
_MAX_METRES_PER_DEG = 111_700.0  # no degree is longer, in longitude or latitude


Covers = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _geos_covers(geoms: np.ndarray) -> Covers:
    def covers(x: np.ndarray, y: np.ndarray, poly: np.ndarray) -> np.ndarray:
        # one polygon's tests together: with tens of thousands of prepared polygons, that
        # locality halves the time of the tests
        order = np.argsort(poly, kind="stable")
        out = np.empty(len(poly), dtype=bool)
        out[order] = shapely.intersects_xy(geoms[poly[order]], x[order], y[order])
        return out

    return covers


def cache_dir() -> Path:
    """``$LAPOR_ROUTER_CACHE`` or the per-user cache directory."""
    env = os.environ.get("LAPOR_ROUTER_CACHE")
    return Path(env) if env else Path(platformdirs.user_cache_dir("lapor_router"))


@dataclass(frozen=True)
class CoverageTree:
    """A flattened coverage quadtree (see the module doc).

    ``x0``/``y0``: the root grid's origin and ``leaf`` the finest cell size, in degrees;
    ``nx``/``ny``: root cells; ``depth``: levels below the root (a root cell is
    ``2 ** depth`` finest cells wide); ``bits``: levels per dense table; ``n_poly``: polygons
    (table values from it up point into the next table); ``table``: the root grid then one
    table per entry of ``bits``, one after the other (int32), each starting at its entry of
    ``bases`` (see :attr:`tables`); ``offsets``/``polys``: the candidate
    list of each exact-cell slot (CSR); ``n_cover``: how many of a slot's candidates
    intersect its cell (0: none does, the list holds the polygons within the tolerance).
    """

    x0: float
    y0: float
    leaf: float
    nx: int
    ny: int
    depth: int
    bits: tuple[int, ...]
    n_poly: int
    table: np.ndarray
    bases: tuple[int, ...]
    offsets: np.ndarray
    n_cover: np.ndarray
    polys: np.ndarray

    @property
    def nodes(self) -> int:
        """Entries in all tables."""
        return len(self.table)

    @property
    def tables(self) -> tuple[np.ndarray, ...]:
        """The root grid and each dense table (views of ``table``)."""
        ends = (*self.bases[1:], len(self.table))
        return tuple(self.table[a:b] for a, b in zip(self.bases, ends, strict=True))

    @property
    def slots(self) -> int:
        return len(self.n_cover)

    def lookup(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Value of the cell holding each point (degrees): a polygon row, ``FAR`` (also
        outside the root grid, which is the set's box grown by the gap tolerance), an exact
        cell's ``SLOT0 - slot``, or ``EXACT`` for NaN. Compiled (see :mod:`.kernels`)."""
        from . import kernels  # numba loads on the first batch, not on import

        return kernels.lookup(x, y, *self.kernel_args())

    def kernel_args(self) -> tuple[Any, ...]:
        """The tree's fields in the order the compiled lookup takes them."""
        return (
            self.x0,
            self.y0,
            self.leaf,
            self.nx,
            self.ny,
            self.depth,
            np.asarray(self.bits, dtype=np.int64),
            self.n_poly,
            self.table,
            np.asarray(self.bases, dtype=np.int64),
        )

    def lookup_one(self, x: float, y: float) -> int:
        """:meth:`lookup` for one point, in plain Python (a few microseconds)."""
        fx = (x - self.x0) / self.leaf
        fy = (y - self.y0) / self.leaf
        if fx != fx or fy != fy:
            return EXACT
        span = 1 << self.depth
        if not (0 <= fx < self.nx * span and 0 <= fy < self.ny * span):
            return FAR
        gx, gy = math.floor(fx), math.floor(fy)
        shift = self.depth
        table = self.table
        value = int(table[(gy >> shift) * self.nx + (gx >> shift)])
        for b, base in zip(self.bits, self.bases[1:], strict=True):
            if value < self.n_poly:
                break
            shift -= b
            mask = (1 << b) - 1
            cell = (((gy >> shift) & mask) << b) | ((gx >> shift) & mask)
            value = int(table[base + ((value - self.n_poly) << (2 * b)) + cell])
        return value

    def candidates(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(position in ``slots``, polygon, intersects the cell) for every candidate of each
        exact-cell slot, in slot order."""
        start, stop = self.offsets[slots], self.offsets[slots + 1]
        counts = stop - start
        pos = np.repeat(np.arange(len(slots)), counts)
        first = np.cumsum(counts) - counts
        idx = np.arange(int(counts.sum())) - np.repeat(first - start, counts)
        covers = (idx - start[pos]) < self.n_cover[slots][pos]
        return pos, self.polys[idx].astype(np.int64), covers


def run_starts(*keys: np.ndarray) -> np.ndarray:
    """Positions where a run of equal values begins, in arrays sorted (or grouped) by
    ``keys`` together: 0, then every position where any key changes."""
    if len(keys[0]) == 0:
        return np.empty(0, dtype=np.int64)
    change = np.zeros(len(keys[0]), dtype=bool)
    change[0] = True
    for key in keys:
        change[1:] |= key[1:] != key[:-1]
    return np.flatnonzero(change)


def degree_radius(lat: np.ndarray, metres: np.ndarray | float) -> np.ndarray:
    """A radius in degrees that contains every point within ``metres`` of a point at
    latitude ``lat`` (generous: 5 % more, and cos(latitude) kept above 0.01)."""
    coslat = np.maximum(np.cos(np.radians(np.abs(lat))), 0.01)
    radius: np.ndarray = np.asarray(metres, dtype="float64") / (METRES_PER_DEG * coslat)
    return radius * 1.05 + 1e-9


def segments(
    rings: np.ndarray, first_row: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every segment of boundary geometries ``rings`` (one per polygon, any coordinates):
    start x/y, end x/y, and the owning polygon's row (int32, counted from ``first_row``),
    in polygon order."""
    parts, part_poly = shapely.get_parts(rings, return_index=True)
    coords, part = shapely.get_coordinates(parts, return_index=True)
    seg = np.flatnonzero(part[:-1] == part[1:])
    owner = (part_poly[part[seg]] + first_row).astype(np.int32)
    return coords[seg, 0], coords[seg, 1], coords[seg + 1, 0], coords[seg + 1, 1], owner


class _Segments:
    """Endpoints and owning polygon of every boundary segment, in polygon order."""

    def __init__(self, geoms: np.ndarray, chunk: int = 10_000) -> None:
        # in chunks of polygons: national sets keep their temporaries small
        parts = [
            segments(shapely.boundary(geoms[i : i + chunk]), i) for i in range(0, len(geoms), chunk)
        ]
        self.ax, self.ay, self.bx, self.by, self.owner = (
            np.concatenate([p[k] for p in parts]) for k in range(5)
        )
        del parts
        # size of each polygon (square root of its area, degrees) for adaptive leaves
        self.extent = np.sqrt(shapely.area(geoms))

    def meets(self, seg: np.ndarray, x0: np.ndarray, y0: np.ndarray, size: float) -> np.ndarray:
        """Whether each segment meets its square cell (origin x0/y0, grown by EPS_DEG):
        the boxes overlap and the cell's corners are not all on one side of the segment.
        Rounding is far below the growth, so no touching segment is missed."""
        ax, ay, bx, by = self.ax[seg], self.ay[seg], self.bx[seg], self.by[seg]
        lo_x, hi_x = x0 - EPS_DEG, x0 + size + EPS_DEG
        lo_y, hi_y = y0 - EPS_DEG, y0 + size + EPS_DEG
        ok = (np.minimum(ax, bx) <= hi_x) & (np.maximum(ax, bx) >= lo_x)
        ok &= (np.minimum(ay, by) <= hi_y) & (np.maximum(ay, by) >= lo_y)
        result: np.ndarray = ok & _crosses(ax, ay, bx - ax, by - ay, lo_x, lo_y, hi_x, hi_y)
        return result

    def quadrants(
        self, seg: np.ndarray, x0: np.ndarray, y0: np.ndarray, half: float
    ) -> list[np.ndarray]:
        """For segments meeting their cell (origin x0/y0, size 2 * half), whether each meets
        each of the cell's four quadrants (x then y order): box overlap, and for segments
        whose box spans a midline the corner test of :meth:`meets` (compiled)."""
        from . import kernels

        ends = (self.ax, self.ay, self.bx, self.by)
        masks = kernels.quadrant_masks(seg, x0, y0, half, ends, EPS_DEG)
        return [np.ascontiguousarray(masks[:, q]) for q in range(4)]


def _crosses(
    ax: np.ndarray,
    ay: np.ndarray,
    dx: np.ndarray,
    dy: np.ndarray,
    lo_x: np.ndarray,
    lo_y: np.ndarray,
    hi_x: np.ndarray,
    hi_y: np.ndarray,
) -> np.ndarray:
    """Whether the line through each segment passes its box: the box's corners are not all
    on one side (cross products of the segment's direction with the corners)."""
    c1 = dx * (lo_y - ay) - dy * (lo_x - ax)
    c2 = dx * (lo_y - ay) - dy * (hi_x - ax)
    c3 = dx * (hi_y - ay) - dy * (lo_x - ax)
    c4 = dx * (hi_y - ay) - dy * (hi_x - ax)
    lo = np.minimum(np.minimum(c1, c2), np.minimum(c3, c4))
    hi = np.maximum(np.maximum(c1, c2), np.maximum(c3, c4))
    result: np.ndarray = (lo <= 0) & (hi >= 0)
    return result


class _Level:
    """Cells of one level under construction: origins, and for the cells that split, what
    their children need (see :func:`build`)."""

    def __init__(self, xs: np.ndarray, ys: np.ndarray, size: float) -> None:
        self.xs, self.ys, self.size = xs, ys, size
        self.lab = np.full(len(xs), INTERNAL, dtype=np.int32)
        # exact cells' candidate lists: (cell, polygon, intersects the cell)
        self.cand: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        # boundary cells: (cell, segment) sorted by cell then segment, and (cell, polygon)
        # for polygons that cover the cell wholly
        self.seg_cell = np.empty(0, np.int64)
        self.seg = np.empty(0, np.int64)
        self.cont_cell = np.empty(0, np.int64)
        self.cont = np.empty(0, np.int64)
        self.boundary = np.zeros(len(xs), dtype=bool)  # cells refined with segments
        self.near: list[np.ndarray] = []  # (cell, polygon) stacks for gap cells

    def near_of(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cell, polygon) pairs of the gap cells ``cells``: polygons within the tolerance."""
        pairs = np.concatenate(self.near, axis=1) if self.near else np.empty((2, 0), np.int64)
        keep = np.isin(pairs[0], cells)
        return pairs[0][keep], pairs[1][keep]

    def release(self) -> None:
        """Drop what only the next level needed (keeps labels and candidate lists)."""
        e = np.empty(0, np.int64)
        self.xs = self.ys = self.seg_cell = self.seg = self.cont_cell = self.cont = e
        self.near = []

    def exact(self, cells: np.ndarray, poly: np.ndarray, covers: bool) -> None:
        self.cand.append(
            (cells.astype(np.int32), poly.astype(np.int32), np.full(len(cells), covers))
        )


def build(
    geoms: np.ndarray,
    tree: shapely.STRtree,
    tol_m: float,
    min_size_m: float = 10.0,
    max_nodes: int = 20_000_000,
    root_size_m: float = 320.0,
    max_root_cells: int = 2_000_000,
    refine: float = 0.0,
    max_bits: int = MAX_BITS,
    gap_min_m: float = 0.0,
    covers: Covers | None = None,
) -> CoverageTree:
    """Classify cells level by level (see module doc).

    The root cells are classified with shapely predicates. Below them, cells a boundary
    passes through are refined with the boundary segments themselves: each segment goes to
    the children it meets (box overlap and a corner side test), and a polygon none of whose
    segments meets a child covers it wholly or misses it, which one point test at the
    child's centre decides; no polygon-box predicate runs below the root. Cells
    that no polygon meets but that lie within the gap tolerance are refined with shapely
    distance queries, down to ``gap_min_m``; the part of a boundary cell that no polygon
    meets is within the tolerance of the boundary once the cell is small enough, and is an
    exact leaf without a query. Refinement stops at ``min_size_m``, at ``max_nodes``, or
    (``refine`` > 0) where the cell is smaller than ``refine`` times the size of the
    polygons whose boundary passes through it. ``max_bits``: levels per lookup table.
    ``covers``: the exact point test (points x, y and polygon rows, pairwise; default:
    ``shapely.intersects_xy`` on the prepared polygons); its answers must be GEOS'.
    """
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    pad = float(degree_radius(np.array([max(abs(miny), abs(maxy))]), tol_m)[0])
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    mid_lat = max(abs(miny), abs(maxy))
    deg_per_m = 1 / (METRES_PER_DEG * max(np.cos(np.radians(min(mid_lat, 89.0))), 0.01))
    min_size = min_size_m * deg_per_m
    # a fine root grid keeps the descent short; a cap keeps national sets in memory
    size0 = max(
        root_size_m * deg_per_m, float(np.sqrt((maxx - minx) * (maxy - miny) / max_root_cells))
    )
    nx = int(np.ceil((maxx - minx) / size0))
    ny = int(np.ceil((maxy - miny) / size0))
    iy, ix = np.divmod(np.arange(nx * ny), nx)
    level = _Level(minx + ix * size0, miny + iy * size0, size0)
    del ix, iy
    segs = _Segments(geoms)
    test = covers or _geos_covers(geoms)
    _classify_root(level, geoms, tree, segs, tol_m, minx, miny, nx, ny)
    levels = [level]
    nodes = len(level.xs)
    while True:
        split = np.flatnonzero(level.lab == INTERNAL)
        half = level.size / 2
        last = half < min_size or nodes + 4 * split.size > max_nodes
        if split.size == 0:
            break
        if last:
            _stop(level, split, segs)
            break
        if half < gap_min_m * deg_per_m:  # gap cells stop here, with their near lists
            gaps = split[~level.boundary[split]]
            level.lab[gaps] = EXACT
            level.exact(*level.near_of(gaps), False)
            split = np.flatnonzero(level.lab == INTERNAL)
            if split.size == 0:
                break
        child = _Level(
            np.repeat(level.xs[split], 4) + np.tile([0, half, 0, half], split.size),
            np.repeat(level.ys[split], 4) + np.tile([0, 0, half, half], split.size),
            half,
        )
        uncovered = _refine_boundary(level, child, split, test, segs, refine, min_size)
        if 2 * np.sqrt(2) * half * _MAX_METRES_PER_DEG <= tol_m or half < gap_min_m * deg_per_m:
            # within a parent a boundary passes through: near it, or too small to be worth
            # a distance query; exact leaves without candidates (the gap search finds them)
            child.lab[uncovered] = EXACT
            uncovered = uncovered[:0]
        _refine_gaps(level, child, split, tree, tol_m, uncovered)
        levels.append(child)
        nodes += len(child.xs)
        level = child
    depth = len(levels) - 1
    bits = _split_bits(depth, int(max_bits))
    table, bases, offsets, n_cover, polys = _flatten(levels, bits, len(geoms))
    return CoverageTree(
        float(minx),
        float(miny),
        float(size0 / (1 << depth)),
        nx,
        ny,
        depth,
        bits,
        len(geoms),
        table,
        bases,
        offsets,
        n_cover,
        polys,
    )


def _grown_boxes(level: _Level, cells: np.ndarray) -> np.ndarray:
    xs, ys, size = level.xs[cells], level.ys[cells], level.size
    boxes: np.ndarray = shapely.box(
        xs - EPS_DEG, ys - EPS_DEG, xs + size + EPS_DEG, ys + size + EPS_DEG
    )
    return boxes


def _classify_root(
    level: _Level,
    geoms: np.ndarray,
    tree: shapely.STRtree,
    segs: _Segments,
    tol_m: float,
    minx: float,
    miny: float,
    nx: int,
    ny: int,
) -> None:
    """Root cells with shapely predicates: covered by one polygon, far, near a polygon
    (gap cell), or met by a boundary (boundary cell, with its segments and covering
    polygons)."""
    n = len(level.xs)
    boxes = _grown_boxes(level, np.arange(n))
    pt, poly = tree.query(boxes, predicate="intersects")
    count = np.bincount(pt, minlength=n)
    in_one = count[pt] == 1
    single = np.full(n, -1, dtype=np.int64)
    single[pt[in_one]] = poly[in_one]
    one = np.flatnonzero(count == 1)
    covered = np.zeros(n, dtype=bool)
    covered[one] = shapely.covers(geoms[single[one]], boxes[one])
    level.lab[covered] = single[covered].astype(np.int32)
    _classify_gaps(level, np.flatnonzero(count == 0), tree, tol_m, boxes)
    del boxes
    met = (count > 0) & ~covered
    level.boundary = met
    # segments per boundary cell: every root cell its (grown) box touches
    size = level.size

    def cells(lo: np.ndarray, hi: np.ndarray, origin: float, n: int) -> tuple[np.ndarray, ...]:
        first = np.clip(np.floor((lo - EPS_DEG - origin) / size), 0, n - 1).astype(np.int64)
        last = np.clip(np.floor((hi + EPS_DEG - origin) / size), 0, n - 1).astype(np.int64)
        return first, last - first + 1

    i0, wide = cells(np.minimum(segs.ax, segs.bx), np.maximum(segs.ax, segs.bx), minx, nx)
    j0, tall = cells(np.minimum(segs.ay, segs.by), np.maximum(segs.ay, segs.by), miny, ny)
    per = wide * tall
    seg = np.repeat(np.arange(len(per)), per)
    k = np.arange(int(per.sum())) - np.repeat(np.cumsum(per) - per, per)
    cell = (j0[seg] + k // wide[seg]) * nx + i0[seg] + k % wide[seg]
    del i0, j0, wide, tall, k
    keep = met[cell]
    cell, seg = cell[keep], seg[keep]
    # a segment within one root cell meets it; others are tested against each cell
    spans = np.flatnonzero(per[seg] > 1)
    keep = np.ones(len(cell), dtype=bool)
    keep[spans] = segs.meets(seg[spans], level.xs[cell[spans]], level.ys[cell[spans]], size)
    cell, seg = cell[keep], seg[keep]
    order = np.argsort(cell, kind="stable")
    # int32 pairs: half the memory of a national set's tens of millions of pairs
    level.seg_cell, level.seg = cell[order].astype(np.int32), seg[order].astype(np.int32)
    del cell, seg, order
    # polygons meeting a boundary cell without a segment in it cover it wholly
    pt, poly = pt[met[pt]], poly[met[pt]].astype(np.int64)
    own_cell, own = _owners(level.seg_cell, level.seg, segs)
    n_poly = len(geoms)
    has = np.isin(pt * n_poly + poly, own_cell.astype(np.int64) * n_poly + own)
    level.cont_cell, level.cont = pt[~has].astype(np.int32), poly[~has].astype(np.int32)


def _owners(cell: np.ndarray, seg: np.ndarray, segs: _Segments) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (cell, polygon) of (cell, segment) pairs sorted by cell then segment."""
    owner = segs.owner[seg]
    first = run_starts(cell, owner)
    return cell[first], owner[first].astype(np.int64)


def _classify_gaps(
    level: _Level,
    cells: np.ndarray,
    tree: shapely.STRtree,
    tol_m: float,
    boxes: np.ndarray | None = None,
) -> None:
    """Cells no polygon meets: FAR when no polygon lies within the tolerance; else they
    stay INTERNAL (to refine) and their near polygons are kept as (cell, polygon) pairs
    in ``level.near``."""
    if cells.size == 0:
        return
    cell_boxes = boxes[cells] if boxes is not None else _grown_boxes(level, cells)
    ys = level.ys[cells]
    lat = np.maximum(np.abs(ys), np.abs(ys + level.size))
    near_pt, near_poly = tree.query(
        cell_boxes, predicate="dwithin", distance=degree_radius(lat, tol_m)
    )
    far = np.ones(cells.size, dtype=bool)
    far[near_pt] = False
    level.lab[cells[far]] = FAR
    level.near.append(np.stack([cells[near_pt], near_poly.astype(np.int64)]))


def _stop(level: _Level, split: np.ndarray, segs: _Segments) -> None:
    """The cells still to split become exact leaves with their candidate lists."""
    level.lab[split] = EXACT
    own_cell, own = _owners(level.seg_cell, level.seg, segs)
    level.exact(own_cell, own, True)
    level.exact(level.cont_cell, level.cont, True)
    gap = split[~level.boundary[split]]
    if gap.size:
        level.exact(*level.near_of(gap), False)


def _refine_boundary(
    level: _Level,
    child: _Level,
    split: np.ndarray,
    covers: Covers,
    segs: _Segments,
    refine: float,
    min_size: float,
) -> np.ndarray:
    """Children of boundary cells, from their parents' segments and covering polygons.

    (cell, segment) pairs are sorted by cell, then segment (so by polygon): one polygon's
    segments in one cell form one run."""
    jpos = np.full(len(level.xs), -1, dtype=np.int32)
    jpos[split] = np.arange(split.size, dtype=np.int32)
    half = child.size
    pc, seg = jpos[level.seg_cell], level.seg
    owner = segs.owner[seg]
    first = run_starts(pc, owner)
    run_cell, run_poly = pc[first], owner[first]
    del owner
    quads = segs.quadrants(seg, level.xs[level.seg_cell], level.ys[level.seg_cell], half)
    cells, csegs, own_cells, owns, tests, test_polys = [], [], [], [], [], []
    for q, meets in enumerate(quads):
        cells.append(4 * pc[meets] + q)
        csegs.append(seg[meets])
        in_child = np.logical_or.reduceat(meets, first) if first.size else meets[:0]
        own_cells.append(4 * run_cell[in_child] + q)
        owns.append(run_poly[in_child])
        # a parent's polygon with no segment in a child covers it wholly or misses it
        tests.append(4 * run_cell[~in_child] + q)
        test_polys.append(run_poly[~in_child])
    del quads, pc, seg, first, run_cell, run_poly
    # back in cell order (a merge of four sorted runs): cells stay in space-filling order,
    # which keeps the point tests below local (~3x faster on national sets)
    cell, cseg = np.concatenate(cells), np.concatenate(csegs)
    order = np.argsort(cell, kind="stable")
    cell, cseg = cell[order], cseg[order]
    own_cell, own = np.concatenate(own_cells), np.concatenate(owns)
    order = np.argsort(own_cell, kind="stable")
    own_cell, own = own_cell[order], own[order]
    del order
    test_cell, test_poly = np.concatenate(tests), np.concatenate(test_polys)
    del cells, csegs, own_cells, owns, tests, test_polys
    has_seg = np.zeros(len(child.xs), dtype=bool)
    has_seg[own_cell] = True
    # one point test at the child's centre says which
    centre = half / 2
    inside = covers(child.xs[test_cell] + centre, child.ys[test_cell] + centre, test_poly)
    cj = jpos[level.cont_cell]
    cont_cell = np.concatenate([*(4 * cj + q for q in range(4)), test_cell[inside]])
    cont = np.concatenate([np.tile(level.cont, 4), test_poly[inside]])
    del test_cell, test_poly, inside, cj
    n_cont = np.bincount(cont_cell, minlength=len(child.xs))

    from_boundary = np.zeros(len(child.xs), dtype=bool)
    parents = np.flatnonzero(level.boundary[split])
    from_boundary[(4 * parents[:, None] + np.arange(4)).ravel()] = True
    # children without segments: covered by one polygon, by several (overlap), or by none
    plain = from_boundary & ~has_seg
    single = plain[cont_cell] & (n_cont[cont_cell] == 1)
    child.lab[cont_cell[single]] = cont[single].astype(np.int32)
    several = plain & (n_cont > 1)
    child.lab[several] = EXACT
    in_several = several[cont_cell]
    child.exact(cont_cell[in_several], cont[in_several], True)
    level.release()
    # children a boundary passes through: refined further, or exact leaves here when they
    # are small against the polygons whose boundary passes (adaptive leaves)
    stop = np.zeros(len(child.xs), dtype=bool)
    if refine > 0 and own_cell.size:
        # a child's (cell, polygon) pairs are contiguous: one run per child
        first = run_starts(own_cell)
        smallest = np.minimum.reduceat(segs.extent[own], first)
        stop[own_cell[first]] = half <= refine * smallest
    stop &= half / 2 >= min_size  # the last level stops everything anyway
    if stop.any():
        child.lab[stop] = EXACT
        sel = stop[own_cell]
        child.exact(own_cell[sel], own[sel], True)
        sel = stop[cont_cell]
        child.exact(cont_cell[sel], cont[sel], True)
    go = has_seg & ~stop
    child.boundary = go
    sel = go[cell]
    child.seg_cell, child.seg = cell[sel], cseg[sel]
    sel = go[cont_cell]
    child.cont_cell, child.cont = cont_cell[sel], cont[sel]
    # children no polygon meets: far, or gap cells (see _refine_gaps)
    uncovered: np.ndarray = np.flatnonzero(plain & (n_cont == 0))
    return uncovered


def _refine_gaps(
    level: _Level,
    child: _Level,
    split: np.ndarray,
    tree: shapely.STRtree,
    tol_m: float,
    uncovered: np.ndarray,
) -> None:
    """Children of gap cells, and boundary cells' children that no polygon meets: far,
    or gap cells (refined further) with the polygons within the tolerance."""
    parents = np.flatnonzero(~level.boundary[split])
    cells = (4 * parents[:, None] + np.arange(4)).ravel()
    _classify_gaps(child, np.union1d(cells, uncovered), tree, tol_m)


def _split_bits(depth: int, max_bits: int = MAX_BITS) -> tuple[int, ...]:
    """Levels per dense table: as even as possible, at most ``max_bits`` each."""
    groups = -(-depth // max_bits)
    return tuple(depth // groups + (i < depth % groups) for i in range(groups))


def _flatten(
    levels: list[_Level], bits: tuple[int, ...], n_poly: int
) -> tuple[np.ndarray, tuple[int, ...], np.ndarray, np.ndarray, np.ndarray]:
    """Dense lookup tables from the level-by-level labels (children of the j-th splitting
    cell of a level are cells 4j..4j+3 of the next, in x-then-y order), one after the other
    in one array, with where each starts; and the CSR candidate lists of the exact cells
    (slots numbered level by level)."""
    first_slot = np.cumsum([0] + [int((lv.lab == EXACT).sum()) for lv in levels])
    n_slots = int(first_slot[-1])

    def slot_of(k: int) -> np.ndarray:
        out: np.ndarray = np.cumsum(levels[k].lab == EXACT, dtype=np.int64) - 1 + first_slot[k]
        return out

    def values(k: int) -> np.ndarray:
        lab = levels[k].lab
        out: np.ndarray = np.where(lab == EXACT, SLOT0 - slot_of(k), lab).astype(np.int32)
        return out

    slots, polys_, covers_ = [], [], []
    for k, level in enumerate(levels):
        if level.cand:
            of = slot_of(k)
            for cells, poly, covers in level.cand:
                slots.append(of[cells])
                polys_.append(poly)
                covers_.append(covers)
            level.cand = []
    slot = np.concatenate(slots) if slots else np.empty(0, np.int64)
    poly = np.concatenate(polys_) if polys_ else np.empty(0, np.int32)
    covers = np.concatenate(covers_) if covers_ else np.empty(0, bool)
    del slots, polys_, covers_
    # candidate lists: by slot, cell-intersecting polygons first, each group by row
    order = np.lexsort((poly, ~covers, slot))
    offsets = np.zeros(n_slots + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(np.bincount(slot, minlength=n_slots))
    n_cover = np.bincount(slot[covers], minlength=n_slots).astype(np.int32)
    polys = poly[order].astype(np.int32)
    del slot, poly, covers, order

    # table j holds the children of the cells that split at the level above its first one
    sizes = [len(levels[0].lab)]
    first_level = 0
    for b in bits:
        sizes.append(int((levels[first_level].lab == INTERNAL).sum()) << (2 * b))
        first_level += b
    bases = tuple(int(v) for v in np.cumsum([0, *sizes[:-1]]))
    unfilled = np.iinfo(np.int32).min
    flat = np.full(sum(sizes), unfilled, dtype=np.int32)
    root = flat[: sizes[0]]
    root[:] = values(0)
    splits = levels[0].lab == INTERNAL
    root[splits] = n_poly + np.arange(int(splits.sum()))
    # per cell of the current level: its block and position in its table
    block = np.zeros(len(root), dtype=np.int64)
    sx = np.zeros(len(root), dtype=np.int64)
    sy = np.zeros(len(root), dtype=np.int64)
    k = 0
    for j, b in enumerate(bits):
        table = flat[bases[j + 1] : bases[j + 1] + sizes[j + 1]]
        for r in range(1, b + 1):
            k += 1
            parents = np.flatnonzero(levels[k - 1].lab == INTERNAL)
            q = np.tile(np.arange(4), parents.size)
            if r == 1:  # the parents are the blocks of this table
                block = np.repeat(np.arange(parents.size), 4)
                sx, sy = q & 1, q >> 1
            else:
                block = np.repeat(block[parents], 4)
                sx = np.repeat(sx[parents], 4) * 2 + (q & 1)
                sy = np.repeat(sy[parents], 4) * 2 + (q >> 1)
            del q, parents
            value = values(k)
            splits = levels[k].lab == INTERNAL
            ends = r == b
            if ends:  # cells that split point to a block of the next table
                value[splits] = n_poly + np.arange(int(splits.sum()))
            fill = np.flatnonzero(~splits | ends)
            span = 1 << (b - r)
            base = (block[fill] << (2 * b)) + ((sy[fill] * span) << b) + sx[fill] * span
            if span == 1:
                table[base] = value[fill]
            else:
                offset = (np.arange(span)[:, None] << b) + np.arange(span)[None, :]
                for i in range(0, len(fill), 1 << 20):  # bounded temporaries
                    at = base[i : i + (1 << 20), None] + offset.ravel()[None, :]
                    table[at.ravel()] = np.repeat(value[fill[i : i + (1 << 20)]], span * span)
            del value, fill, base
    if (flat == unfilled).any():
        raise AssertionError("quadtree flattening left a cell unfilled")
    return flat, bases, offsets, n_cover, polys


_LOCK = threading.Lock()
_ARRAYS = ("offsets", "n_cover", "polys")


def cached(
    key_sha256: str,
    geoms: np.ndarray,
    tree: shapely.STRtree,
    tol_m: float,
    covers: Covers | None = None,
    **params: float,
) -> CoverageTree:
    """The tree for a boundary set, loaded from the cache directory or built (``covers``
    and ``params`` go to :func:`build`) and saved."""
    settings = "|".join(f"{k}={params[k]}" for k in sorted(params))
    key = hashlib.sha256(f"{key_sha256}|{tol_m}|{settings}".encode()).hexdigest()[:32]
    path = cache_dir() / f"quadtree-v{FORMAT_VERSION}-{key}.npz"
    with _LOCK:
        if path.is_file():
            try:
                return _load(path)
            except (OSError, KeyError, ValueError):
                pass  # a damaged cache file is rebuilt below
        qt = build(geoms, tree, tol_m, covers=covers, **params)  # type: ignore[arg-type]
        _save(qt, path)
        return qt


def _save(qt: CoverageTree, path: Path) -> None:
    """Write the tree atomically, and drop trees cached in older formats (never read
    again). A read-only or full cache is no reason to fail: the tree is in memory."""
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as fh:
            tmp = fh.name
            arrays: dict[str, np.ndarray] = {
                "meta": np.array([qt.x0, qt.y0, qt.leaf, qt.nx, qt.ny, qt.depth, qt.n_poly]),
                "bits": np.array(qt.bits, dtype=np.int64),
                "table": qt.table,
                "bases": np.array(qt.bases, dtype=np.int64),
                **{name: getattr(qt, name) for name in _ARRAYS},
            }
            np.savez(fh, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, path)
        tmp = None
        for old in path.parent.glob("quadtree-*.npz"):
            if not old.name.startswith(f"quadtree-v{FORMAT_VERSION}-"):
                old.unlink(missing_ok=True)
    except OSError:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _load(path: Path) -> CoverageTree:
    with np.load(path) as z:
        meta, bits = z["meta"], tuple(int(b) for b in z["bits"])
        bases = tuple(int(b) for b in z["bases"])
        depth = int(meta[5])
        if sum(bits) != depth or len(meta) != 7 or len(bases) != len(bits) + 1:
            raise ValueError("inconsistent cached tree")
        return CoverageTree(
            float(meta[0]),
            float(meta[1]),
            float(meta[2]),
            int(meta[3]),
            int(meta[4]),
            depth,
            bits,
            int(meta[6]),
            z["table"],
            bases,
            *(z[name] for name in _ARRAYS),
        )
