"""Possible duplicates: reports of one category within its radius (metres, great-circle)
and time window (hours) of each other, from the rule set's ``duplicates`` data.

:func:`cluster_reports` gives each row of a table a cluster id (connected components of
"near in space and time", exact, in metres); :func:`nearest` lists the candidates near one
arriving report, nearest first. Both use the haversine distance on the mean Earth radius,
so a cluster is what DBSCAN (``metric="haversine"``, ``min_samples=1``, ``eps`` = radius ÷
6,371,008.8 m) finds when the window is left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..route import RuleGraph

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lon0: float, lat0: float, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Great-circle metres from (``lon0``, ``lat0``) to each point (degrees)."""
    p0, p = np.radians(lat0), np.radians(np.asarray(lat, dtype=float))
    dl = np.radians(np.asarray(lon, dtype=float) - lon0)
    h = np.sin((p - p0) / 2) ** 2 + np.cos(p0) * np.cos(p) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0))))


def nearest(
    lon0: float,
    lat0: float,
    t0: float | None,
    lon: np.ndarray,
    lat: np.ndarray,
    t: np.ndarray | None,
    radius_m: float,
    window_h: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the candidates within ``radius_m`` (and ``window_h`` of ``t0``, epoch
    seconds; None: any time), nearest first, and their distances in metres."""
    d = haversine_m(lon0, lat0, lon, lat)
    keep = d <= radius_m
    if window_h is not None and t0 is not None and t is not None:
        with np.errstate(invalid="ignore"):
            keep &= np.abs(np.asarray(t, dtype=float) - t0) <= window_h * 3600.0
    idx = np.flatnonzero(keep)
    order = np.argsort(d[idx], kind="stable")
    return idx[order], d[idx][order]


def cluster_ids(
    group: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    t: np.ndarray,
    radius_m: np.ndarray,
    window_s: np.ndarray,
) -> np.ndarray:
    """A cluster id per row (0, 1, ... in order of first appearance; -1 where ``group`` is
    negative or a coordinate is not finite). ``radius_m`` and ``window_s`` (NaN: any time) are
    per row, equal within a group."""
    from . import kernels

    group = np.asarray(group, dtype=np.int64).copy()
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    bad = ~(np.isfinite(lon) & np.isfinite(lat)) | (np.abs(lat) > 89)
    group[bad] = -1
    lon, lat = np.where(bad, 0.0, lon), np.where(bad, 0.0, lat)
    radius = np.asarray(radius_m, dtype=float)
    used = group >= 0
    cell_lat = float(np.degrees(radius[used].max() / EARTH_RADIUS_M)) if used.any() else 1.0
    # longitude strips at least one radius wide at the highest latitude present
    coslat = float(np.cos(np.radians(min(float(np.abs(lat).max(initial=0.0)) + 1.0, 89.5))))
    strip = np.floor(lon / (cell_lat / coslat)).astype(np.int64)
    order = np.lexsort((lat, strip, group))
    roots = kernels.components(
        order, group, strip, lon, lat, np.asarray(t, dtype=float), radius,
        np.asarray(window_s, dtype=float),
    )  # fmt: skip
    roots = np.where(group >= 0, roots, -1)
    out = np.full(len(roots), -1, dtype=np.int64)
    ok = roots >= 0
    _, first, inverse = np.unique(roots[ok], return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    out[ok] = rank[inverse]
    return out


def cluster_reports(
    rules: RuleGraph,
    category: Any,
    lon: Any,
    lat: Any,
    created: Any = None,
    *,
    window: bool = True,
) -> pd.DataFrame:
    """``cluster_id`` (-1: not clustered: unknown category or unusable point) and
    ``cluster_size`` per row, by each category's ``duplicates`` radius and window.
    ``created``: times (datetimes or ISO text, naive = WIB; unreadable → linked by distance
    only when the category has no window, else to nothing). ``window=False``: distance
    alone (what DBSCAN compares to)."""
    cats = pd.Series(np.asarray(category, dtype=object))
    codes = {c: i for i, c in enumerate(rules.categories)}
    group = cats.map(codes).fillna(-1).to_numpy(dtype=np.int64)
    specs = list(rules.categories.values())
    radius = np.array([specs[g].duplicate_radius_m if g >= 0 else 1.0 for g in range(len(specs))])
    wins = np.array(
        [
            (specs[g].duplicate_window_h or np.nan) * 3600.0 if window else np.nan
            for g in range(len(specs))
        ]
    )
    safe = np.maximum(group, 0)
    r_row = radius[safe] if len(specs) else np.ones(len(group))
    w_row = wins[safe] if len(specs) else np.full(len(group), np.nan)
    if created is None:
        t = np.full(len(group), np.nan)
    else:
        t = epoch_seconds(created, rules.settings.timezone)
    lon_a = pd.to_numeric(pd.Series(np.asarray(lon, dtype=object)), errors="coerce").to_numpy(float)
    lat_a = pd.to_numeric(pd.Series(np.asarray(lat, dtype=object)), errors="coerce").to_numpy(float)
    ids = cluster_ids(group, lon_a, lat_a, t, r_row, w_row)
    sizes = np.zeros(len(ids), dtype=np.int64)
    ok = ids >= 0
    if ok.any():
        counts = np.bincount(ids[ok])
        sizes[ok] = counts[ids[ok]]
    return pd.DataFrame({"cluster_id": ids, "cluster_size": sizes})


def epoch_seconds(created: Any, tz: str) -> np.ndarray:
    """Epoch seconds of ISO 8601 texts or datetimes, an offset-less one read in ``tz`` (a
    zone without daylight saving, as WIB is); NaN where unreadable."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    values = pd.Series(np.asarray(created, dtype=object))
    text = values.map(lambda v: v.isoformat() if isinstance(v, datetime) else v)
    text = text.where(text.map(lambda v: isinstance(v, str)), None).astype(object)
    stamps = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    secs = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=float)
    naive = ~text.fillna("").str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True).to_numpy()
    offset = ZoneInfo(tz).utcoffset(datetime(2000, 1, 1))
    shift = offset.total_seconds() if offset is not None else 0.0
    return np.where(naive, secs - shift, secs)
