"""Compiled kernels (numba) of duplicate search (great-circle distances and the connected
components of "same category, within the radius and the time window") and of masking
(which cells may hold their row's reporter values). Imported lazily."""

from __future__ import annotations

import numba
import numpy as np

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG), as scikit-learn's haversine users take it

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")


@_jit
def _haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2 - lon1)
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return float(2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(min(h, 1.0))))


@_jit
def haversine_many(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    """Metres from (lon0, lat0) to each point (degrees)."""
    out = np.empty(len(lon))
    for i in range(len(lon)):
        out[i] = _haversine(lon0, lat0, lon[i], lat[i])
    return out


@_jit
def _find(parent: np.ndarray, i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@_jit
def components(
    order: np.ndarray,
    group: np.ndarray,
    strip: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    t: np.ndarray,
    radius: np.ndarray,
    window: np.ndarray,
) -> np.ndarray:
    """Root of each row's component: rows of one ``group`` (category code, -1 = none) within
    ``radius`` metres (haversine) and ``window`` seconds of ``t`` (NaN window: any time) of
    each other, transitively. Per-row ``radius``/``window`` are their group's (equal within a
    group). ``strip``: longitude strips at least one radius wide; ``order`` sorts the rows by
    (group, strip, latitude). Each row looks at the rows of its own and the next strip whose
    latitude is within the radius.
    """
    n = len(lon)
    parent = np.arange(n)
    if n == 0:
        return parent
    g_s, s_s, lat_s = group[order], strip[order], lat[order]
    # starts of each (group, strip) run in the sorted order
    starts = [0]
    for k in range(1, n):
        if g_s[k] != g_s[k - 1] or s_s[k] != s_s[k - 1]:
            starts.append(k)
    starts.append(n)
    runs = len(starts) - 1
    run_g = np.empty(runs, np.int64)
    run_s = np.empty(runs, np.int64)
    run_a = np.empty(runs, np.int64)
    run_b = np.empty(runs, np.int64)
    for r in range(runs):
        run_a[r], run_b[r] = starts[r], starts[r + 1]
        run_g[r], run_s[r] = g_s[starts[r]], s_s[starts[r]]
    for r in range(runs):
        if run_g[r] < 0:
            continue
        for q in range(max(r - 2, 0), min(r + 3, runs)):  # neighbouring strips, same group
            if run_g[q] != run_g[r] or abs(run_s[q] - run_s[r]) > 1 or q < r:
                continue
            for a in range(run_a[r], run_b[r]):
                i = order[a]
                rad = radius[i]
                dlat = np.degrees(rad / EARTH_RADIUS_M) * 1.000001
                lo = np.searchsorted(lat_s[run_a[q] : run_b[q]], lat_s[a] - dlat) + run_a[q]
                for b in range(lo, run_b[q]):
                    if lat_s[b] > lat_s[a] + dlat:
                        break
                    j = order[b]
                    if q == r and b <= a:
                        continue
                    w = window[i]
                    if not np.isnan(w) and not abs(t[i] - t[j]) <= w:
                        continue
                    if _haversine(lon[i], lat[i], lon[j], lat[j]) <= rad:
                        ri, rj = _find(parent, i), _find(parent, j)
                        if ri != rj:
                            parent[max(ri, rj)] = min(ri, rj)
    for i in range(n):
        parent[i] = _find(parent, i)
    return parent


@_jit
def may_contain(
    cell_off: np.ndarray, cell_data: np.ndarray, word_off: np.ndarray, word_data: np.ndarray
) -> np.ndarray:
    """For each row i, whether UTF-8 cell i may contain one of row i's words, word j of row
    i being ``word_data[word_off[j, i]:word_off[j, i + 1]]``: True where one occurs with
    ASCII letters compared without case, and wherever the cell or a non-empty word holds a
    non-ASCII byte (those the caller decides exactly); empty words occur nowhere."""
    n = len(cell_off) - 1
    out = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        cs, ce = cell_off[i], cell_off[i + 1]
        wide_cell = -1  # not looked at yet
        for j in range(word_off.shape[0]):
            ws, we = word_off[j, i], word_off[j, i + 1]
            if we == ws or ce - cs < we - ws:
                continue
            wide = False
            for k in range(ws, we):
                if word_data[k] >= 128:
                    wide = True
            if wide_cell < 0:
                wide_cell = 0
                for k in range(cs, ce):
                    if cell_data[k] >= 128:
                        wide_cell = 1
                        break
            if wide or wide_cell == 1:
                out[i] = True
                break
            m = we - ws
            first = word_data[ws]
            if 65 <= first <= 90:
                first += 32
            for start in range(cs, ce - m + 1):
                a = cell_data[start]
                if 65 <= a <= 90:
                    a += 32
                if a != first:  # most starts: one byte looked at
                    continue
                found = True
                for k in range(1, m):
                    a, b = cell_data[start + k], word_data[ws + k]
                    if 65 <= a <= 90:
                        a += 32
                    if 65 <= b <= 90:
                        b += 32
                    if a != b:
                        found = False
                        break
                if found:
                    out[i] = True
                    break
            if out[i]:
                break
    return out


@_jit
def _ascii_letter(b: int) -> bool:
    return 65 <= b <= 90 or 97 <= b <= 122


@_jit
def may_be_personal(cell_off: np.ndarray, cell_data: np.ndarray) -> np.ndarray:
    """For each UTF-8 cell, whether it may hold what :func:`lapor_router.privacy.maybe_personal`
    lets through: a superset of that pattern's matches, found in one pass over the bytes. A
    phone needs 8 digits at least and a NIK 16, an e-mail an "@" with a dot and two ASCII
    letters after it; a cell with a non-ASCII byte (Unicode digits and spaces) always may."""
    n = len(cell_off) - 1
    out = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        digits, at = 0, False
        end = cell_off[i + 1]
        for k in range(cell_off[i], end):
            b = cell_data[k]
            if b >= 128:
                out[i] = True
                break
            if 48 <= b <= 57:
                digits += 1
                if digits >= 8:
                    out[i] = True
                    break
            elif b == 64:  # "@"
                at = True
            elif (
                at
                and b == 46  # "."
                and k + 2 < end
                and _ascii_letter(cell_data[k + 1])
                and _ascii_letter(cell_data[k + 2])
            ):
                out[i] = True
                break
    return out
