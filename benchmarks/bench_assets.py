"""Asset matching against shapely's ``STRtree.query_nearest`` and geopandas'
``sjoin_nearest``, on the same reports and road layer, in one run.

The layer: ``--segments`` road segments (polylines of 5 segments, 30–150 m each, random
headings) over mainland Jakarta; the reports: ``--rows`` points spread over Jakarta's
kelurahan (``bench_cluster.points``), half of them moved to within 20 m of a road so that
many match. Distance 15 m. Each peer as its best user would run it: shapely and geopandas
on the layer and the points already projected to UTM 48S (EPSG:32748), with the tree and
the GeoDataFrames built beforehand; those costs are printed apart. lapor_router matches
the longitude/latitude arrays as they arrive (its grid built once beforehand, also printed).
Prints seconds (best of ``--repeat``), reports per second, the ratios, and how many answers
differ (a point within millimetres of 15 m can fall either side: UTM's scale at Jakarta is
about 1.0001).

    python benchmarks/bench_assets.py [--rows 1000000] [--segments 60000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import numpy as np
import shapely

from bench_cluster import points
from lapor_router.locate import load_asset_layer

MAX_M = 15.0


def roads(n_segments: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    per_line = 5
    n = n_segments // per_line
    x = rng.uniform(106.69, 106.97, n)
    y = rng.uniform(-6.36, -6.09, n)
    heading = rng.uniform(0, 2 * np.pi, n)
    coords = np.empty((n, per_line + 1, 2))
    coords[:, 0] = np.stack([x, y], 1)
    for k in range(1, per_line + 1):
        heading = heading + rng.normal(0, 0.4, n)
        step = rng.uniform(30, 150, n) / 111_000
        coords[:, k, 0] = coords[:, k - 1, 0] + step * np.cos(heading)
        coords[:, k, 1] = coords[:, k - 1, 1] + step * np.sin(heading)
    klass = rng.choice(np.array(["national", "provincial", "toll"]), n, p=[0.2, 0.7, 0.1])
    return gpd.GeoDataFrame(
        {"id": [f"R{i:06d}" for i in range(n)], "owner": "bpjn", "road_class": klass},
        geometry=shapely.linestrings(coords),
        crs=4326,
    )


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--segments", type=int, default=60_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(14)
    layer_frame = roads(args.segments, rng)
    lon, lat = points(args.rows)
    half = rng.random(args.rows) < 0.5
    pick = rng.integers(0, len(layer_frame), int(half.sum()))
    on = shapely.line_interpolate_point(layer_frame.geometry.values[pick], rng.random(len(pick)),
                                        normalized=True)  # fmt: skip
    lon[half] = shapely.get_x(on) + rng.normal(0, 8e-5, len(pick))
    lat[half] = shapely.get_y(on) + rng.normal(0, 8e-5, len(pick))
    n_seg = int((shapely.get_num_coordinates(layer_frame.geometry.values) - 1).sum())
    print(f"{args.rows:,} reports, {len(layer_frame):,} roads = {n_seg:,} segments, {MAX_M} m")

    t = time.perf_counter()
    layer = load_asset_layer(layer_frame, name="roads", asset="road", max_distance_m=MAX_M,
                             class_cols=("road_class",))  # fmt: skip
    layer.match(lon[:10], lat[:10])  # builds the grid (and compiles, first time only)
    built = time.perf_counter() - t
    ours_s, ours = best(lambda: layer.match(lon, lat), args.repeat)
    f, d = ours

    t = time.perf_counter()
    roads_utm = layer_frame.to_crs(32748)
    pts_utm = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326).to_crs(32748)
    prep_s = time.perf_counter() - t
    t = time.perf_counter()
    tree = shapely.STRtree(roads_utm.geometry.values)
    geoms = pts_utm.geometry.values
    tree.query_nearest(geoms[:1], max_distance=MAX_M)  # the tree is built on first use
    tree_s = time.perf_counter() - t

    def strtree():
        return tree.query_nearest(geoms, max_distance=MAX_M, return_distance=True,
                                  all_matches=True)  # fmt: skip

    tree_q, (pairs, dist) = best(strtree, args.repeat)
    sf = np.full(args.rows, -1)
    sd = np.full(args.rows, np.inf)
    # all_matches: ties come back together; the smallest id (index) of the nearest, as ours
    order = np.lexsort((pairs[1], dist, pairs[0]))
    firsts = order[np.r_[True, pairs[0][order][1:] != pairs[0][order][:-1]]]
    sf[pairs[0][firsts]], sd[pairs[0][firsts]] = pairs[1][firsts], dist[firsts]

    def sjoin():
        return gpd.sjoin_nearest(pts_utm, roads_utm[["id", "geometry"]], how="left",
                                 max_distance=MAX_M, distance_col="d")  # fmt: skip

    sjoin_s, joined = best(sjoin, 1 if args.rows > 200_000 else args.repeat)
    gf = joined.groupby(level=0)["index_right"].min().reindex(range(args.rows))
    gf = gf.fillna(-1).astype(int).to_numpy()

    rate = args.rows / ours_s
    print(f"lapor_router AssetLayer.match {ours_s:.3f} s ({rate:,.0f} reports/s); "
          f"grid built in {built:.2f} s; {(f >= 0).sum():,} matched")  # fmt: skip
    print(f"shapely STRtree.query_nearest {tree_q:.3f} s ({args.rows / tree_q:,.0f}/s): "
          f"ours {tree_q / ours_s:.1f}x faster; projecting points and roads {prep_s:.2f} s, "
          f"tree {tree_s:.2f} s (not timed)")  # fmt: skip
    print(f"geopandas sjoin_nearest {sjoin_s:.3f} s ({args.rows / sjoin_s:,.0f}/s): "
          f"ours {sjoin_s / ours_s:.1f}x faster")  # fmt: skip
    differ = np.flatnonzero(f != sf)
    near_edge = np.abs(np.where(f >= 0, d, sd) - MAX_M) < 0.01
    print(f"answers differing from STRtree: {len(differ):,} ({near_edge[differ].sum():,} of them "
          f"within 1 cm of {MAX_M} m); from sjoin_nearest: {(f != gf).sum():,}")  # fmt: skip
    both = (f >= 0) & (f == sf)
    if both.any():
        gap = np.abs(d[both] - sd[both])
        print(f"distance vs UTM: max {gap.max() * 1000:.1f} mm, "
              f"median {np.median(gap) * 1000:.2f} mm")  # fmt: skip


if __name__ == "__main__":
    main()
