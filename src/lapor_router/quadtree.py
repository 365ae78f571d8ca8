"""An accelerator for locating points: a quadtree of cells that one polygon covers alone.

The boundary set's bounding box is split into square root blocks, then each block into four,
recursively, wherever polygon boundaries pass. A cell is a leaf with a label when its answer
is the same for every point in it:

- ``>= 0``: exactly one polygon intersects the cell (grown by ``EPS_DEG``) and covers it,
  so every point in the cell is ``inside`` that polygon;
- ``FAR`` (-2): no polygon lies within the gap tolerance of the cell, so every point in it is
  ``outside`` with no gap candidate;
- ``EXACT`` (-1): a boundary, an overlap or a gap passes through a cell of the smallest size:
  its points take the exact R-tree + predicate path.

Lookups descend the tree for all points at once with numpy (one gather per level); no
predicate runs for points in labelled cells. The tree is built once per boundary set, gap
tolerance and cell size, and cached on disk as ``.npz`` keyed by the set's sha256.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs
import shapely

EXACT = -1
FAR = -2
INTERNAL = -3
EPS_DEG = 1e-9  # cells are classified grown by ~0.1 mm so rounding never crosses an edge
FORMAT_VERSION = 2
_METRES_PER_DEG = 111_320.0


def cache_dir() -> Path:
    """``$LAPOR_ROUTER_CACHE`` or the per-user cache directory."""
    env = os.environ.get("LAPOR_ROUTER_CACHE")
    return Path(env) if env else Path(platformdirs.user_cache_dir("lapor_router"))


@dataclass(frozen=True)
class CoverageTree:
    """Root grid origin and block size (degrees), and per node its label and first child."""

    x0: float
    y0: float
    size0: float
    nx: int
    ny: int
    label: np.ndarray  # int32 per node
    child: np.ndarray  # int32 per node: index of the first of four children, or -1
    min_size_deg: float

    @property
    def nodes(self) -> int:
        return len(self.label)

    def lookup(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Label of the leaf holding each point: FAR outside the root grid (which is the
        set's box grown by the gap tolerance), EXACT for NaN."""
        with np.errstate(invalid="ignore"):
            fx = np.floor((x - self.x0) / self.size0)
            fy = np.floor((y - self.y0) / self.size0)
            ok = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)
        out = np.where(np.isnan(fx) | np.isnan(fy), EXACT, FAR).astype(np.int32)
        active = np.flatnonzero(ok)
        ix, iy = fx[active].astype(np.int64), fy[active].astype(np.int64)
        node = iy * self.nx + ix
        ox = self.x0 + ix * self.size0
        oy = self.y0 + iy * self.size0
        size = self.size0
        while active.size:
            lab = self.label[node]
            leaf = lab != INTERNAL
            out[active[leaf]] = lab[leaf]
            keep = ~leaf
            active, node, ox, oy = active[keep], node[keep], ox[keep], oy[keep]
            size /= 2
            qx = x[active] >= ox + size
            qy = y[active] >= oy + size
            ox = ox + qx * size
            oy = oy + qy * size
            node = self.child[node] + qy * 2 + qx
        return out

    def lookup_one(self, x: float, y: float) -> int:
        """:meth:`lookup` for one point, in plain Python (a few microseconds)."""
        fx = (x - self.x0) / self.size0
        fy = (y - self.y0) / self.size0
        if fx != fx or fy != fy:
            return EXACT
        if not (0 <= fx < self.nx and 0 <= fy < self.ny):
            return FAR
        ix, iy = int(fx), int(fy)
        node = iy * self.nx + ix
        ox, oy, size = self.x0 + ix * self.size0, self.y0 + iy * self.size0, self.size0
        label, child = self.label, self.child
        while (lab := int(label[node])) == INTERNAL:
            size /= 2
            qx = x >= ox + size
            qy = y >= oy + size
            if qx:
                ox += size
            if qy:
                oy += size
            node = int(child[node]) + 2 * qy + qx
        return lab


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
    labels: list[np.ndarray] = []
    children: list[np.ndarray] = []
    offset, size = 0, size0
    while len(xs):
        n = len(xs)
        lab = np.full(n, INTERNAL, dtype=np.int32)
        boxes = shapely.box(xs - EPS_DEG, ys - EPS_DEG, xs + size + EPS_DEG, ys + size + EPS_DEG)
        pt, poly = tree.query(boxes, predicate="intersects")
        count = np.bincount(pt, minlength=n)
        one = np.flatnonzero(count == 1)
        single = np.full(n, -1, dtype=np.int64)
        single[pt[np.isin(pt, one)]] = poly[np.isin(pt, one)]
        covered = np.zeros(n, dtype=bool)
        if one.size:
            covered[one] = shapely.covers(geoms[single[one]], boxes[one])
        lab[covered] = single[covered].astype(np.int32)
        empty = np.flatnonzero(count == 0)
        if empty.size:
            near_pt, _ = tree.query(
                boxes[empty],
                predicate="dwithin",
                distance=_tolerance_deg(
                    np.maximum(np.abs(ys[empty]), np.abs(ys[empty] + size)), tol_m
                ),
            )
            far = np.ones(empty.size, dtype=bool)
            far[near_pt] = False
            lab[empty[far]] = FAR
        undecided = lab == INTERNAL
        last = size / 2 < min_size or offset + n + 4 * int(undecided.sum()) > max_nodes
        if last:
            lab[undecided] = EXACT
            undecided[:] = False
        child = np.full(n, -1, dtype=np.int32)
        split = np.flatnonzero(undecided)
        first = offset + n + 4 * np.arange(split.size)
        child[split] = first
        labels.append(lab)
        children.append(child)
        offset += n
        half = size / 2
        xs = np.repeat(xs[split], 4) + np.tile([0, half, 0, half], split.size)
        ys = np.repeat(ys[split], 4) + np.tile([0, 0, half, half], split.size)
        size = half
    return CoverageTree(
        float(minx),
        float(miny),
        float(size0),
        nx,
        ny,
        np.concatenate(labels),
        np.concatenate(children),
        float(min_size),
    )


_LOCK = threading.Lock()


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
                with np.load(path) as z:
                    meta = z["meta"]
                    return CoverageTree(
                        float(meta[0]),
                        float(meta[1]),
                        float(meta[2]),
                        int(meta[3]),
                        int(meta[4]),
                        z["label"],
                        z["child"],
                        float(meta[5]),
                    )
            except (OSError, KeyError, ValueError):
                pass  # a damaged cache file is rebuilt below
        qt = build(geoms, tree, tol_m, min_size_m, max_nodes)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as fh:
                np.savez(
                    fh,
                    label=qt.label,
                    child=qt.child,
                    meta=np.array([qt.x0, qt.y0, qt.size0, qt.nx, qt.ny, qt.min_size_deg]),
                )
            os.replace(fh.name, path)
        except OSError:
            pass  # a read-only cache is no reason to fail: the tree is in memory
        return qt
