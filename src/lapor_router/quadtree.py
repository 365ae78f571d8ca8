"""An accelerator for locating points: a quadtree of cells that one polygon covers alone.

The boundary set's bounding box is split into square root blocks, then each block into four,
recursively, wherever polygon boundaries pass. A cell is a leaf with a label when its answer
is the same for every point in it:

- ``>= 0``: exactly one polygon intersects the cell (grown by ``EPS_DEG``) and covers it,
  so every point in the cell is ``inside`` that polygon;
- ``FAR`` (-2): no polygon lies within the gap tolerance of the cell, so every point in it is
  ``outside`` with no gap candidate;
- an exact cell (``<= -3``): a boundary, an overlap or a gap passes through a cell of the
  smallest size. Its points take the exact path, but only against the cell's own candidate
  list (``-3 - value`` is the list's slot): the polygons that intersect the cell or, when
  none does, the polygons within the gap tolerance of it.

The tree is stored flattened for lookups: the root grid, then dense blocks of up to 32 × 32
cells for each cell that splits (a leaf above the finest size fills all the block cells it
spans). A lookup is one gather per table for all points at once, with integer cell
coordinates computed once; no predicate runs for points in labelled cells. The tree is built
once per boundary set, gap tolerance and cell size, and cached on disk as ``.npz`` keyed by
the set's sha256.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs
import shapely

EXACT = -1  # no answer from the tree (NaN coordinates): use the R-tree
FAR = -2
SLOT0 = -3  # values <= SLOT0 are exact cells (slot -3 - value) or, above the last table,
# pointers to a block of the next table (block -3 - value)
INTERNAL = -3  # build-time label of a cell that splits
EPS_DEG = 1e-9  # cells are classified grown by ~0.1 mm so rounding never crosses an edge
FORMAT_VERSION = 3
MAX_BITS = 5  # levels per dense table: blocks of at most 32 × 32 cells
_METRES_PER_DEG = 111_320.0


def cache_dir() -> Path:
    """``$LAPOR_ROUTER_CACHE`` or the per-user cache directory."""
    env = os.environ.get("LAPOR_ROUTER_CACHE")
    return Path(env) if env else Path(platformdirs.user_cache_dir("lapor_router"))


@dataclass(frozen=True)
class CoverageTree:
    """A flattened coverage quadtree (see the module doc).

    ``x0``/``y0``: the root grid's origin and ``leaf`` the finest cell size, in degrees;
    ``nx``/``ny``: root cells; ``depth``: levels below the root (a root cell is
    ``2 ** depth`` finest cells wide); ``bits``: levels per dense table; ``tables``: the root
    grid then one int32 table per entry of ``bits``; ``offsets``/``polys``: the candidate
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
    tables: tuple[np.ndarray, ...]
    offsets: np.ndarray
    n_cover: np.ndarray
    polys: np.ndarray

    @property
    def nodes(self) -> int:
        """Entries in all tables."""
        return sum(len(t) for t in self.tables)

    @property
    def slots(self) -> int:
        return len(self.n_cover)

    def lookup(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Value of the cell holding each point (degrees): a polygon row, ``FAR`` (also
        outside the root grid, which is the set's box grown by the gap tolerance), an exact
        cell's ``SLOT0 - slot``, or ``EXACT`` for NaN."""
        span = 1 << self.depth
        fx, fy = x - self.x0, y - self.y0
        fx /= self.leaf
        fy /= self.leaf
        np.floor(fx, out=fx)
        np.floor(fy, out=fy)
        with np.errstate(invalid="ignore"):
            ok = (fx >= 0) & (fx < self.nx * span) & (fy >= 0) & (fy < self.ny * span)
        # integer cell coordinates; int32 unless the grid is too wide for it
        itype: type[np.signedinteger[Any]] = (
            np.int32 if max(self.nx, self.ny) * span < 2**31 else np.int64
        )
        gx: np.ndarray[Any, np.dtype[np.signedinteger[Any]]]
        gy: np.ndarray[Any, np.dtype[np.signedinteger[Any]]]
        if ok.all():
            act = None
            gx, gy = fx.astype(itype), fy.astype(itype)
        else:
            act = np.flatnonzero(ok)
            gx, gy = fx[act].astype(itype), fy[act].astype(itype)
        shift = self.depth
        root = gy >> shift
        root *= self.nx
        root += gx >> shift
        value: np.ndarray = self.tables[0][root]
        for b, table in zip(self.bits, self.tables[1:], strict=True):
            shift -= b
            m = np.flatnonzero(value <= SLOT0)
            if m.size == 0:
                break
            mask = (1 << b) - 1
            at = SLOT0 - value[m].astype(np.int64)
            at <<= 2 * b
            at += (((gy[m] >> shift) & mask) << b) | ((gx[m] >> shift) & mask)
            value[m] = table[at]
        if act is None:
            return value
        out = np.full(len(x), FAR, dtype=np.int32)
        out[np.isnan(fx) | np.isnan(fy)] = EXACT
        out[act] = value
        return out

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
        value = int(self.tables[0][(gy >> shift) * self.nx + (gx >> shift)])
        for b, table in zip(self.bits, self.tables[1:], strict=True):
            if value > SLOT0:
                break
            shift -= b
            mask = (1 << b) - 1
            cell = (((gy >> shift) & mask) << b) | ((gx >> shift) & mask)
            value = int(table[((SLOT0 - value) << (2 * b)) + cell])
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


def _tolerance_deg(lat: np.ndarray, tol_m: float) -> np.ndarray:
    coslat = np.maximum(np.cos(np.radians(np.minimum(np.abs(lat), 89.0))), 0.01)
    tol: np.ndarray = tol_m / (_METRES_PER_DEG * coslat) * 1.05 + 1e-9
    return tol


def build(
    geoms: np.ndarray,
    tree: shapely.STRtree,
    tol_m: float,
    min_size_m: float = 10.0,
    max_nodes: int = 20_000_000,
    root_size_m: float = 320.0,
    max_root_cells: int = 2_000_000,
) -> CoverageTree:
    """Classify cells level by level with vectorized shapely predicates (see module doc)."""
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    pad = float(_tolerance_deg(np.array([max(abs(miny), abs(maxy))]), tol_m)[0])
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    mid_lat = max(abs(miny), abs(maxy))
    deg_per_m = 1 / (_METRES_PER_DEG * max(np.cos(np.radians(min(mid_lat, 89.0))), 0.01))
    min_size = min_size_m * deg_per_m
    # a fine root grid keeps the descent short; a cap keeps national sets in memory
    size0 = max(
        root_size_m * deg_per_m, float(np.sqrt((maxx - minx) * (maxy - miny) / max_root_cells))
    )
    nx = int(np.ceil((maxx - minx) / size0))
    ny = int(np.ceil((maxy - miny) / size0))
    iy, ix = np.divmod(np.arange(nx * ny), nx)
    xs, ys = minx + ix * size0, miny + iy * size0
    levels: list[np.ndarray] = []
    pairs = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, bool))
    nodes, size = 0, size0
    while len(xs):
        n = len(xs)
        lab = np.full(n, INTERNAL, dtype=np.int32)
        boxes = shapely.box(xs - EPS_DEG, ys - EPS_DEG, xs + size + EPS_DEG, ys + size + EPS_DEG)
        pt, poly = tree.query(boxes, predicate="intersects")
        count = np.bincount(pt, minlength=n)
        in_one = count[pt] == 1
        single = np.full(n, -1, dtype=np.int64)
        single[pt[in_one]] = poly[in_one]
        one = np.flatnonzero(count == 1)
        covered = np.zeros(n, dtype=bool)
        if one.size:
            covered[one] = shapely.covers(geoms[single[one]], boxes[one])
        lab[covered] = single[covered].astype(np.int32)
        empty = np.flatnonzero(count == 0)
        near_pt, near_poly = np.empty(0, np.int64), np.empty(0, np.int64)
        if empty.size:
            lat = np.maximum(np.abs(ys[empty]), np.abs(ys[empty] + size))
            near_pt, near_poly = tree.query(
                boxes[empty], predicate="dwithin", distance=_tolerance_deg(lat, tol_m)
            )
        far = np.ones(empty.size, dtype=bool)
        far[near_pt] = False
        lab[empty[far]] = FAR
        undecided = lab == INTERNAL
        nodes += n
        if size / 2 < min_size or nodes + 4 * int(undecided.sum()) > max_nodes:
            # the last level: undecided cells are exact, with their candidate lists
            keep = undecided[pt]
            pairs = (
                np.concatenate([pt[keep], empty[near_pt]]),
                np.concatenate([poly[keep], near_poly]),
                np.concatenate([np.ones(int(keep.sum()), bool), np.zeros(near_pt.size, bool)]),
            )
            levels.append(np.where(undecided, EXACT, lab).astype(np.int32))
            break
        levels.append(lab)
        split = np.flatnonzero(undecided)
        half = size / 2
        xs = np.repeat(xs[split], 4) + np.tile([0, half, 0, half], split.size)
        ys = np.repeat(ys[split], 4) + np.tile([0, 0, half, half], split.size)
        size = half
    depth = len(levels) - 1
    tables, offsets, n_cover, polys = _flatten(levels, nx * ny, *pairs)
    return CoverageTree(
        float(minx),
        float(miny),
        float(size0 / (1 << depth)),
        nx,
        ny,
        depth,
        _split_bits(depth),
        tables,
        offsets,
        n_cover,
        polys,
    )


def _split_bits(depth: int) -> tuple[int, ...]:
    """Levels per dense table: as even as possible, at most MAX_BITS each."""
    groups = -(-depth // MAX_BITS)
    return tuple(depth // groups + (i < depth % groups) for i in range(groups))


def _flatten(
    levels: list[np.ndarray], n_root: int, pt: np.ndarray, poly: np.ndarray, covers: np.ndarray
) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray, np.ndarray]:
    """Dense lookup tables from the level-by-level labels (children of the j-th splitting
    cell of a level are cells 4j..4j+3 of the next, in x-then-y order), and the CSR candidate
    lists of the exact cells of the last level."""
    depth = len(levels) - 1
    bits = _split_bits(depth)
    last = levels[-1]
    exact = last == EXACT
    slot_of = np.cumsum(exact) - 1
    # candidate lists: by slot, cell-intersecting polygons first, each group by row
    slot = slot_of[pt]
    order = np.lexsort((poly, ~covers, slot))
    n_slots = int(exact.sum())
    offsets = np.zeros(n_slots + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(np.bincount(slot, minlength=n_slots))
    n_cover = np.bincount(slot[covers], minlength=n_slots).astype(np.int32)
    polys = poly[order].astype(np.int32)
    values = [*levels[:-1], np.where(exact, SLOT0 - slot_of, last).astype(np.int32)]

    root = values[0].copy()
    splits = levels[0] == INTERNAL
    root[splits] = SLOT0 - np.arange(int(splits.sum()))
    tables = [root]
    # per cell of the current level: its block and position in its group's table
    block = np.zeros(n_root, dtype=np.int64)
    sx = np.zeros(n_root, dtype=np.int64)
    sy = np.zeros(n_root, dtype=np.int64)
    k = 0
    for b in bits:
        table = np.full(int(splits.sum()) << (2 * b), np.iinfo(np.int32).min, dtype=np.int32)
        for r in range(1, b + 1):
            k += 1
            parents = np.flatnonzero(levels[k - 1] == INTERNAL)
            q = np.tile(np.arange(4), parents.size)
            if r == 1:  # the parents are the blocks of this table
                block = np.repeat(np.arange(parents.size), 4)
                sx, sy = q & 1, q >> 1
            else:
                block = np.repeat(block[parents], 4)
                sx = np.repeat(sx[parents], 4) * 2 + (q & 1)
                sy = np.repeat(sy[parents], 4) * 2 + (q >> 1)
            value = values[k].copy()
            splits = levels[k] == INTERNAL
            ends = r == b
            if ends:  # cells that split point to a block of the next table
                value[splits] = SLOT0 - np.arange(int(splits.sum()))
            fill = np.flatnonzero(~splits | ends)
            span = 1 << (b - r)
            di, dj = np.divmod(np.arange(span * span), span)
            rows = (sy[fill] * span)[:, None] + di[None, :]
            cols = (sx[fill] * span)[:, None] + dj[None, :]
            at = (block[fill] << (2 * b))[:, None] + (rows << b) + cols
            table[at.ravel()] = np.repeat(value[fill], span * span)
        if (table == np.iinfo(np.int32).min).any():
            raise AssertionError("quadtree flattening left a cell unfilled")
        tables.append(table)
    return tuple(tables), offsets, n_cover, polys


_LOCK = threading.Lock()
_ARRAYS = ("offsets", "n_cover", "polys")


def cached(
    key_sha256: str,
    geoms: np.ndarray,
    tree: shapely.STRtree,
    tol_m: float,
    min_size_m: float = 10.0,
    max_nodes: int = 20_000_000,
) -> CoverageTree:
    """The tree for a boundary set, loaded from the cache directory or built and saved."""
    key = hashlib.sha256(
        f"{key_sha256}|{tol_m}|{min_size_m}|{max_nodes}|{FORMAT_VERSION}".encode()
    ).hexdigest()[:32]
    path = cache_dir() / f"quadtree-{key}.npz"
    with _LOCK:
        if path.is_file():
            try:
                return _load(path)
            except (OSError, KeyError, ValueError):
                pass  # a damaged cache file is rebuilt below
        qt = build(geoms, tree, tol_m, min_size_m, max_nodes)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as fh:
                arrays: dict[str, np.ndarray] = {
                    "meta": np.array([qt.x0, qt.y0, qt.leaf, qt.nx, qt.ny, qt.depth]),
                    "bits": np.array(qt.bits, dtype=np.int64),
                    **{f"table{i}": t for i, t in enumerate(qt.tables)},
                    **{name: getattr(qt, name) for name in _ARRAYS},
                }
                np.savez(fh, **arrays)  # type: ignore[arg-type]
            os.replace(fh.name, path)
        except OSError:
            pass  # a read-only cache is no reason to fail: the tree is in memory
        return qt


def _load(path: Path) -> CoverageTree:
    with np.load(path) as z:
        meta, bits = z["meta"], tuple(int(b) for b in z["bits"])
        depth = int(meta[5])
        if sum(bits) != depth or bits != _split_bits(depth):
            raise ValueError("inconsistent cached tree")
        return CoverageTree(
            float(meta[0]),
            float(meta[1]),
            float(meta[2]),
            int(meta[3]),
            int(meta[4]),
            depth,
            bits,
            tuple(z[f"table{i}"] for i in range(len(bits) + 1)),
            *(z[name] for name in _ARRAYS),
        )
