"""File clustering against scikit-learn's DBSCAN, on the same rows, in one run.

``--rows`` reports at points spread over Jakarta's kelurahan (denser where a random weight
says so, as real complaints are), in the rule set's categories; each category's
``duplicates`` radius. lapor_router: :func:`lapor_router.dispatch.duplicates.cluster_reports`
with the time window left out; DBSCAN: ``metric="haversine"``, ``min_samples=1``,
``eps`` = radius ÷ 6,371,008.8 m, ``algorithm="ball_tree"``, one fit per category (the rows
already split by category, not timed). Prints seconds, the ratio, and whether the two
partitions are identical.

    python benchmarks/bench_cluster.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "kelurahan_boundaries"


def points(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    import geopandas as gpd

    kel = gpd.read_parquet(SHARED / "jakarta_kel.parquet").geometry.to_numpy()
    rng = np.random.default_rng(seed)
    weight = rng.gamma(0.7, size=len(kel))
    per = rng.multinomial(n, weight / weight.sum())
    lon, lat = [], []
    for geom, k in zip(kel, per, strict=True):
        x0, y0, x1, y1 = shapely.bounds(geom)
        got = 0
        while got < k:
            m = max(2 * (k - got), 16)
            x, y = x0 + rng.random(m) * (x1 - x0), y0 + rng.random(m) * (y1 - y0)
            inside = shapely.contains_xy(geom, x, y)
            take = min(k - got, int(inside.sum()))
            lon.append(x[inside][:take])
            lat.append(y[inside][:take])
            got += take
    return np.concatenate(lon), np.concatenate(lat)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from sklearn.cluster import DBSCAN

    from lapor_router.dispatch.duplicates import EARTH_RADIUS_M, cluster_reports
    from lapor_router.route import RuleGraph

    rules = RuleGraph.default()
    lon, lat = points(args.rows)
    rng = np.random.default_rng(11)
    codes = list(rules.categories)
    share = rng.gamma(0.8, size=len(codes))
    cat = rng.choice(np.array(codes, dtype=object), len(lon), p=share / share.sum())
    cluster_reports(rules, cat[:1000], lon[:1000], lat[:1000], window=False)  # compile
    ours_t = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        ours = cluster_reports(rules, cat, lon, lat, window=False)["cluster_id"].to_numpy()
        ours_t.append(time.perf_counter() - t)
    groups = {c: np.flatnonzero(cat == c) for c in codes}
    theirs_t = []
    labels = np.full(len(lon), -1, dtype=np.int64)
    for _ in range(args.repeat):
        total, offset = 0.0, 0
        for code, idx in groups.items():
            if not len(idx):
                continue
            eps = rules.categories[code].duplicate_radius_m / EARTH_RADIUS_M
            X = np.radians(np.c_[lat[idx], lon[idx]])
            t = time.perf_counter()
            lab = DBSCAN(eps=eps, min_samples=1, metric="haversine", algorithm="ball_tree").fit(X)
            total += time.perf_counter() - t
            labels[idx] = lab.labels_ + offset
            offset += int(lab.labels_.max()) + 1
        theirs_t.append(total)
    a = pd.Series(ours).groupby(labels).nunique().max()
    b = pd.Series(labels).groupby(ours).nunique().max()
    same = bool(a == 1 and b == 1)
    o, d = statistics.median(ours_t), statistics.median(theirs_t)
    print(f"{len(lon):,} reports in {len(codes)} categories, medians of {args.repeat}")
    print(f"lapor_router cluster_reports   {o:8.2f} s   {len(lon) / o:12,.0f} rows/s")
    print(f"sklearn DBSCAN (haversine)     {d:8.2f} s   {len(lon) / d:12,.0f} rows/s")
    largest = np.bincount(ours).max()
    print(f"speed-up {d / o:.2f}×; identical clusters: {same} "
          f"({len(np.unique(ours)):,} clusters, largest {largest:,} rows)")  # fmt: skip


if __name__ == "__main__":
    main()
