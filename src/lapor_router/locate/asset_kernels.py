"""Compiled kernels (numba) of asset matching: a uniform grid over a layer's segments, and
one pass over a batch of points that finds, per point, the nearest feature within the
layer's distance.

Distances are in metres on the WGS84 ellipsoid's local plane at the point: a degree of
latitude is ``M(φ)·π/180`` metres and a degree of longitude ``N(φ)·cos φ·π/180`` (the
meridional and prime-vertical radii of curvature at the point's latitude), then the plane
distance from the point to each segment. Within a few hundred metres this is the geodesic
distance to a few parts in a million, closer than a UTM projection (whose scale error at
Jakarta is about 1 in 10,000). A point inside a polygon feature is at 0 m.

Imported lazily (by :mod:`.assets` on the first match): importing lapor_router does not
load numba.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
A = 6378137.0  # WGS84 semi-major axis, metres
E2 = 6.69437999014e-3  # WGS84 first eccentricity squared
DEG = math.pi / 180.0


@_jit
def metres_per_degree(lat: float) -> tuple[float, float]:
    """(metres per degree of longitude, of latitude) at latitude ``lat`` (degrees)."""
    s = math.sin(lat * DEG)
    w = 1.0 - E2 * s * s
    n = A / math.sqrt(w)
    m = A * (1.0 - E2) / (w * math.sqrt(w))
    return n * math.cos(lat * DEG) * DEG, m * DEG


@_jit
def _segment_distance(
    px: float, py: float, x0: float, y0: float, x1: float, y1: float, kx: float, ky: float
) -> float:
    ax = (x0 - px) * kx
    ay = (y0 - py) * ky
    bx = (x1 - px) * kx
    by = (y1 - py) * ky
    dx = bx - ax
    dy = by - ay
    den = dx * dx + dy * dy
    t = 0.0
    if den > 0.0:
        t = -(ax * dx + ay * dy) / den
        t = min(1.0, max(0.0, t))
    cx = ax + t * dx
    cy = ay + t * dy
    return math.sqrt(cx * cx + cy * cy)


@_jit
def _cells_of(
    ax: float, ay: float, bx: float, by: float, gx: float, gy: float, step_x: float,
    step_y: float, pad_x: float, pad_y: float, nx: int, ny: int,
) -> tuple[int, int, int, int]:  # fmt: skip
    """The first and last grid column and row that a segment's box, padded, meets."""
    i0 = max(0, int((min(ax, bx) - pad_x - gx) / step_x))
    i1 = min(nx - 1, int((max(ax, bx) + pad_x - gx) / step_x))
    j0 = max(0, int((min(ay, by) - pad_y - gy) / step_y))
    j1 = min(ny - 1, int((max(ay, by) + pad_y - gy) / step_y))
    return i0, i1, j0, j1


@_jit
def count_cells(
    x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray,
    gx: float, gy: float, step_x: float, step_y: float, pad_x: float, pad_y: float,
    nx: int, ny: int,
) -> np.ndarray:  # fmt: skip
    """Segments per grid cell: each segment in every cell its box, padded by the layer's
    distance (degrees), meets."""
    counts = np.zeros(nx * ny + 1, dtype=np.int64)
    for s in range(len(x0)):
        i0, i1, j0, j1 = _cells_of(
            x0[s], y0[s], x1[s], y1[s], gx, gy, step_x, step_y, pad_x, pad_y, nx, ny
        )
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                counts[j * nx + i + 1] += 1
    return counts


@_jit
def fill_cells(
    x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray,
    gx: float, gy: float, step_x: float, step_y: float, pad_x: float, pad_y: float,
    nx: int, ny: int, start: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """The segment ids of each cell (CSR over ``start``), in segment order, so that the
    segments of one feature are consecutive when segments are sorted by feature."""
    items = np.empty(start[-1], dtype=np.int64)
    at = start[:-1].copy()
    for s in range(len(x0)):
        i0, i1, j0, j1 = _cells_of(
            x0[s], y0[s], x1[s], y1[s], gx, gy, step_x, step_y, pad_x, pad_y, nx, ny
        )
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                c = j * nx + i
                items[at[c]] = s
                at[c] += 1
    return items


@_jit
def _inside(
    px: float, py: float, f: int, fstart: np.ndarray,
    x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray,
) -> bool:  # fmt: skip
    """Even-odd rule over every ring segment of polygon feature ``f``."""
    inside = False
    for s in range(fstart[f], fstart[f + 1]):
        ya, yb = y0[s], y1[s]
        if (ya > py) != (yb > py):
            xc = x0[s] + (py - ya) * (x1[s] - x0[s]) / (yb - ya)
            if px < xc:
                inside = not inside
    return inside


@_jit
def nearest_features(
    lon: np.ndarray, lat: np.ndarray,
    x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray, seg_feature: np.ndarray,
    fstart: np.ndarray, is_polygon: np.ndarray, rank: np.ndarray,
    gx: float, gy: float, step_x: float, step_y: float, nx: int, ny: int,
    start: np.ndarray, items: np.ndarray, cover: np.ndarray, max_m: float,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per point (degrees): the feature nearest within ``max_m`` metres (ties: the lower
    ``rank``, i.e. the smaller id) and its distance; -1 and NaN for none. ``cover[c]``: the
    polygon feature that holds all of cell ``c`` while none of its edges comes near it."""
    n = len(lon)
    best = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.nan)
    for p in range(n):
        px, py = lon[p], lat[p]
        if not (math.isfinite(px) and math.isfinite(py)) or abs(py) > 90.0:
            continue
        fi = (px - gx) / step_x
        fj = (py - gy) / step_y
        if fi < 0.0 or fj < 0.0 or fi >= nx or fj >= ny:
            continue
        c = int(fj) * nx + int(fi)
        kx, ky = metres_per_degree(py)
        bf = -1
        bd = np.inf
        last = -1
        for k in range(start[c], start[c + 1]):
            s = items[k]
            f = seg_feature[s]
            d = _segment_distance(px, py, x0[s], y0[s], x1[s], y1[s], kx, ky)
            if is_polygon[f] and f != last:
                last = f
                if _inside(px, py, f, fstart, x0, y0, x1, y1):
                    d = 0.0
            if d <= max_m and (d < bd or (d == bd and rank[f] < rank[bf])):
                bf = f
                bd = d
        f = cover[c]
        if f >= 0 and (bd > 0.0 or (bd == 0.0 and rank[f] < rank[bf]) or bf < 0):
            bf = f
            bd = 0.0
        if bf >= 0:
            best[p] = bf
            dist[p] = bd
    return best, dist
