"""Locate throughput of lapor_router against the peers a GIS team would pick, in one process.

Scenarios (1 M points each by default; medians of --repeat runs; ratios against
geopandas.sjoin measured in the same process on the same points):
- jakarta-uniform: uniform points over the Jakarta mainland box;
- jakarta-boundary: every point within 50 m of a kelurahan boundary (the hard case);
- national (--national): all Indonesia, points in random polygons' bounding boxes.
Peers: geopandas.sjoin(within); shapely STRtree.query(within); STRtree bbox query +
contains_xy on the pairs; rtree intersection_v + contains_xy; PostGIS when a server answers
on $PGHOST/localhost (skipped with a message otherwise). Peers that need Point objects pay
for creating them, as their users do. Also: index build time and peak RSS, single-point
latency (median, p99), cold start of Router.default() from the compiled index cache, and a
check that the accelerated answers equal the plain R-tree + predicate path.

    python benchmarks/bench_locate.py [--points 1000000] [--repeat 3] [--national]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from lapor_router import Router, install, load_boundaries

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "kelurahan_boundaries"


def timed(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def peers(polys: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray) -> dict[str, Callable[[], object]]:
    geoms = polys.geometry.values
    tree = shapely.STRtree(geoms)
    shapely.prepare(geoms)

    def sjoin() -> object:
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=polys.crs)
        return gpd.sjoin(pts, polys, predicate="within", how="left")

    def strtree_within() -> object:
        return tree.query(shapely.points(x, y), predicate="within")

    def strtree_bbox_contains() -> object:
        pt, poly = tree.query(shapely.points(x, y))
        return shapely.contains_xy(geoms[poly], x[pt], y[pt])

    out: dict[str, Callable[[], object]] = {
        "geopandas.sjoin(within)": sjoin,
        "STRtree.query(within)": strtree_within,
        "STRtree bbox + contains_xy": strtree_bbox_contains,
    }
    try:
        import rtree

        b = shapely.bounds(geoms)
        idx = rtree.index.Index((i, tuple(b[i]), None) for i in range(len(b)))

        def rtree_contains() -> object:
            xy = np.column_stack([x, y])
            ids, counts = idx.intersection_v(xy, xy)
            pt = np.repeat(np.arange(len(x)), counts.astype(np.int64))
            return shapely.contains_xy(geoms[ids.astype(np.int64)], x[pt], y[pt])

        out["rtree intersection_v + contains_xy"] = rtree_contains
    except (ImportError, AttributeError) as exc:
        print(f"  (rtree peer skipped: {exc})")
    return out


def postgis(polys: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray) -> None:
    try:
        import psycopg  # type: ignore[import-not-found]
    except ImportError:
        print("  PostGIS: skipped (psycopg is not installed; pip install 'psycopg[binary]')")
        return
    try:
        conn = psycopg.connect(host=os.environ.get("PGHOST", "localhost"), connect_timeout=2)
    except Exception as exc:  # any connection failure means: no server to compare with
        print(f"  PostGIS: skipped (no server reachable: {str(exc).splitlines()[0]})")
        return
    with conn, conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        cur.execute("CREATE TEMP TABLE kel (kode text, g geometry(MultiPolygon, 4326))")
        for kode, wkb in zip(polys["kode"], shapely.to_wkb(polys.geometry.values), strict=True):
            cur.execute(
                "INSERT INTO kel VALUES (%s, ST_Multi(ST_GeomFromWKB(%s, 4326)))", (kode, wkb)
            )
        cur.execute("CREATE INDEX ON kel USING gist (g)")
        t = time.perf_counter()
        for i in range(min(len(x), 2000)):
            cur.execute(
                "SELECT kode FROM kel WHERE ST_Contains(g, ST_Point(%s, %s, 4326))",
                (float(x[i]), float(y[i])),
            )
            cur.fetchall()
        per = (time.perf_counter() - t) / min(len(x), 2000)
        print(f"  PostGIS single-point lookup: {per * 1e6:.0f} µs")


def run(
    name: str,
    polys: gpd.GeoDataFrame,
    router: Router,
    plain: Router,
    x: np.ndarray,
    y: np.ndarray,
    repeat: int,
) -> None:
    print(f"\n== {name}: {len(polys):,} polygons, {len(x):,} points ==")
    results: dict[str, float] = {}
    for label, fn in peers(polys, x, y).items():
        results[label] = timed(fn, repeat)
    postgis(polys, x, y)
    # indexes built, every kernel compiled (or loaded from numba's cache): untimed
    router.prepare().locate_many(x[:20_000], y[:20_000])
    results["lapor_router locate_many (exact path)"] = timed(
        lambda: plain.locate_many(x, y), repeat
    )
    results["lapor_router locate_many"] = timed(lambda: router.locate_many(x, y), repeat)
    base = results["geopandas.sjoin(within)"]
    print(f"  {'method':44s} {'seconds':>8s} {'M pts/s':>8s} {'× sjoin':>8s}")
    for label, sec in results.items():
        print(f"  {label:44s} {sec:8.3f} {len(x) / sec / 1e6:8.2f} {base / sec:8.2f}")
    a, b = router.locate_many(x, y), plain.locate_many(x, y)
    diff = int(
        (
            (a["status"] != b["status"])
            | (a["kode"].astype(object).fillna("") != b["kode"].astype(object).fillna(""))
        ).sum()
    )
    print(f"  exactness: {diff} of {len(x):,} answers differ from the plain R-tree path")


def single_point(router: Router, x: np.ndarray, y: np.ndarray, n: int = 20_000) -> None:
    xs, ys = x[:n].tolist(), y[:n].tolist()
    router.locate(xs[0], ys[0])
    times = []
    for a, b in zip(xs, ys, strict=True):
        t = time.perf_counter()
        router.locate(a, b)
        times.append(time.perf_counter() - t)
    print(
        f"  single point router.locate: median {statistics.median(times) * 1e6:.1f} µs, "
        f"p99 {np.percentile(times, 99) * 1e6:.1f} µs"
    )


def cold_start() -> None:
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "LAPOR_ROUTER_DATA": data}
        os.environ["LAPOR_ROUTER_DATA"] = data
        install(SHARED, ["jakarta"])
        code = (
            "import time; from lapor_router import Router; t = time.perf_counter(); "
            "r = Router.default(context=False); r.locate(106.8272, -6.1754); "
            "print(time.perf_counter() - t)"
        )
        subprocess.run(
            [sys.executable, "-c", code], env=env, check=True, capture_output=True
        )  # the first run compiles the cache
        runs = [
            float(
                subprocess.run(
                    [sys.executable, "-c", code],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            for _ in range(3)
        ]
    print(
        f"  cold start Router.default() + first locate, from the cache: "
        f"{statistics.median(runs):.3f} s (median of 3 processes)"
    )


def boundary_points(
    geoms: np.ndarray, n: int, rng: np.random.Generator, within_m: float = 50.0
) -> tuple[np.ndarray, np.ndarray]:
    rings = shapely.get_coordinates(shapely.boundary(geoms))
    i = rng.integers(0, len(rings) - 1, n)
    t = rng.uniform(0, 1, n)
    x = rings[i, 0] + t * (rings[i + 1, 0] - rings[i, 0])
    y = rings[i, 1] + t * (rings[i + 1, 1] - rings[i, 1])
    r = rng.uniform(0, within_m, n) / 111_320.0
    a = rng.uniform(0, 2 * np.pi, n)
    return x + r * np.cos(a) / np.cos(np.radians(y)), y + r * np.sin(a)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--national", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("LAPOR_ROUTER_CACHE", tempfile.mkdtemp(prefix="lapor-cache-"))
    rng = np.random.default_rng(20261123)
    kel = gpd.read_parquet(SHARED / "jakarta_kel.parquet")
    bs = load_boundaries(SHARED / "jakarta_kel.parquet")
    t = time.perf_counter()
    router = Router(bs).prepare()
    router.locate_many(np.array([106.8]), np.array([-6.2]))
    print(
        f"Jakarta index build (STRtree + quadtree + ring bands): {time.perf_counter() - t:.2f} s, "
        f"{router._index.qt.nodes:,} quadtree table entries, {router._index.qt.slots:,} exact cells"
    )
    plain = Router(bs, accelerate=False)
    x = rng.uniform(106.68, 106.98, args.points)
    y = rng.uniform(-6.38, -6.08, args.points)
    run("jakarta-uniform", kel, router, plain, x, y, args.repeat)
    single_point(router, x, y)
    bx, by = boundary_points(bs.geoms, args.points, rng)
    run("jakarta-boundary (all within 50 m of a boundary)", kel, router, plain, bx, by, args.repeat)
    cold_start()
    if args.national:
        t = time.perf_counter()
        nat = load_boundaries(SHARED / "indonesia_kel.parquet", repair=True)
        nat_router = Router(nat).prepare()
        nat_router.locate_many(np.array([106.8]), np.array([-6.2]))
        build = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        print(
            f"\nNational load + index build: {build:.1f} s; peak RSS so far {peak:.2f} GB; "
            f"{nat_router._index.qt.nodes:,} quadtree table entries"
        )
        b = shapely.bounds(nat.geoms)
        pick = rng.integers(0, len(b), args.points)
        nx = rng.uniform(b[pick, 0], b[pick, 2])
        ny = rng.uniform(b[pick, 1], b[pick, 3])
        natdf = gpd.read_parquet(SHARED / "indonesia_kel.parquet")
        natdf["geometry"] = nat.to_frame().set_index("kode").loc[natdf["kode"]].geometry.values
        run("national", natdf, nat_router, Router(nat, accelerate=False), nx, ny, args.repeat)
        print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")
    print(
        f"\nmachine: {os.cpu_count()} cores; python {sys.version.split()[0]}; "
        f"shapely {shapely.__version__}; geopandas {gpd.__version__}"
    )


if __name__ == "__main__":
    main()
