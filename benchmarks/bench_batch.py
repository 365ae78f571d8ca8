"""Batch re-routing against its peers, in one run: `lapor-router route` CSV→CSV and
GeoParquet→GeoParquet, a DuckDB spatial join + write of the same file, and a plain
pandas + geopandas.sjoin script.

Each peer runs in its own child process, as its best user would run it: the router (or the
DuckDB kelurahan table, or the GeoDataFrame of polygons and its index) is built first and
timed apart (the router with ``Router.prepare()``: its rule graph, classifier, place finder,
context set and compiled kernels); the timed part is reading the report file, routing or
joining, and writing the result. Prints rows/s, the ratio to DuckDB, the ratio with each
peer's set-up counted too, and the child's peak RSS (lapor-router and the Arrow floor with
the Arrow memory pool that `lapor-router route` takes), medians of ``--runs`` runs, and the
rows DuckDB duplicates where kelurahan polygons overlap.

    pip install 'duckdb>=1.4.4,<1.5' 'duckdb-ext-spatial>=1.4.4,<1.5'
    python benchmarks/bench_batch.py [--rows 600000] [--runs 3]

The spatial extension is loaded from the duckdb-ext-spatial package's file (`LOAD
'<path>'`): nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "kelurahan_boundaries"

LAPOR = """
import json, resource, sys, time
t0 = time.perf_counter()
from lapor_router import Router, load_boundaries
from lapor_router.batch import Columns, route_file
from lapor_router.normalize.memory import use_batch_pool
use_batch_pool()  # as `lapor-router route` does: Arrow's jemalloc pool
d = sys.argv[3]
router = Router(load_boundaries(d + "/jakarta_kel.parquet", kecamatan=d + "/jakarta_kec.parquet",
                kota=d + "/jakarta_kab.parquet", province=d + "/jakarta_prov.parquet"),
                context=d + "/jawabarat_banten_dki_kel.parquet")
router.prepare()  # built before the timed part, as the peers' tables and indexes are
setup = time.perf_counter() - t0
t = time.perf_counter()
workers = int(sys.argv[4]) if len(sys.argv) > 4 else 1
s = route_file(sys.argv[1], sys.argv[2], router=router, progress=False, workers=workers,
               columns=Columns(reporter=("reporter_name", "reporter_phone")))
work = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
if workers > 1:  # worker processes: an upper bound, each as large as the largest one
    rss += workers * resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"setup": setup, "work": work, "rows": s["rows_read"],
                  "written": s["rows_written"], "rejected": s["rows_rejected"], "rss": rss}))
"""

DUCKDB = """
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
import duckdb
import duckdb_ext  # noqa: F401  (the package holding the spatial extension file)
ext = next(Path(duckdb_ext.__path__[0]).rglob("spatial.duckdb_extension"))
con = duckdb.connect()
con.execute(f"LOAD '{ext}'")
con.execute(f"CREATE TABLE kel AS SELECT kode, nama, geometry AS geom "
            f"FROM read_parquet('{sys.argv[3]}/jakarta_kel.parquet')")
# without strict_mode = false and null_padding, read_csv(ignore_errors) drops 44 % of the
# generated file's rows (every row after a line it cannot parse in the same block)
READ = "ignore_errors = true, strict_mode = false, null_padding = true"
setup = time.perf_counter() - t0
t = time.perf_counter()
con.execute(f'''COPY (SELECT r.*, k.kode AS kode, k.nama AS kelurahan
    FROM read_csv('{sys.argv[1]}', {READ}) r
    LEFT JOIN kel k
    ON ST_Contains(k.geom, ST_Point(TRY_CAST(r.lon AS DOUBLE), TRY_CAST(r.lat AS DOUBLE))))
    TO '{sys.argv[2]}' (HEADER, DELIMITER ',')''')
work = time.perf_counter() - t
rows_in = con.execute(f"SELECT count(*) FROM read_csv('{sys.argv[1]}', {READ})").fetchone()[0]
rows_out = con.execute(f"SELECT count(*) FROM read_csv('{sys.argv[2]}')").fetchone()[0]
print(json.dumps({"setup": setup, "work": work, "rows": rows_in, "duplicated": rows_out - rows_in,
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""

GEOPANDAS = """
import json, resource, sys, time
t0 = time.perf_counter()
import geopandas as gpd, pandas as pd
kel = gpd.read_parquet(sys.argv[3] + "/jakarta_kel.parquet")[["kode", "nama", "geometry"]]
kel.sindex  # the spatial index, built before the timed part
KEYWORDS = {"banjir": "flooding", "genangan": "flooding", "sampah": "waste",
            "got": "drain_blocked", "lubang": "road_damage", "pohon": "tree",
            "lampu": "street_light", "parkir": "illegal_parking"}
setup = time.perf_counter() - t0
t = time.perf_counter()
df = pd.read_csv(sys.argv[1], on_bad_lines="skip", engine="c", encoding_errors="replace")
lon = pd.to_numeric(df["lon"], errors="coerce"); lat = pd.to_numeric(df["lat"], errors="coerce")
pts = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
joined = gpd.sjoin(pts, kel, how="left", predicate="within")
words = joined["text"].fillna("").str.lower().str.extract("(" + "|".join(KEYWORDS) + ")")[0]
joined["inferred_category"] = words.map(KEYWORDS)
joined.drop(columns="geometry").to_csv(sys.argv[2], index=False)
work = time.perf_counter() - t
print(json.dumps({"setup": setup, "work": work, "rows": len(df),
                  "duplicated": int(joined.index.duplicated().sum()),
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""

FLOOR = """
import json, resource, sys, time
import pyarrow as pa, pyarrow.csv as pc
from lapor_router.normalize.memory import use_batch_pool
use_batch_pool()  # the pool the routed run had (faster here than Arrow's default)
t0 = time.perf_counter()
names = pc.open_csv(sys.argv[1]).schema.names
opts = pc.ConvertOptions(column_types={c: pa.string() for c in names})
setup = time.perf_counter() - t0
t = time.perf_counter()
table = pc.read_csv(sys.argv[1], convert_options=opts,
                    parse_options=pc.ParseOptions(newlines_in_values=True))
pc.write_csv(table, sys.argv[2])
work = time.perf_counter() - t
print(json.dumps({"setup": setup, "work": work, "rows": table.num_rows,
                  "columns": table.num_columns,
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def child(code: str, *argv: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, check=False
    )
    if out.returncode:
        sys.exit(f"a peer failed:\n{out.stderr[-3000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def to_geoparquet(src: Path, dest: Path) -> None:
    import geopandas as gpd
    import pandas as pd

    df = pd.read_csv(
        src, on_bad_lines="skip", dtype=str, keep_default_na=False, encoding_errors="replace"
    )
    lon = pd.to_numeric(df["lon"], errors="coerce")
    lat = pd.to_numeric(df["lat"], errors="coerce")
    gdf = gpd.GeoDataFrame(
        df.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326"
    )
    gdf.to_parquet(dest)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=600_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="directory to keep the generated files in")
    ap.add_argument(
        "--skip",
        default="",
        help="peers to leave out: lapor,parquet,workers,parquet2,duckdb,geopandas,floor",
    )
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    work = args.keep or Path(tempfile.mkdtemp(prefix="lapor-bench-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    src = work / f"reports_{args.rows}.csv"
    if not src.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "examples" / "generate_reports.py"), "-n",
             str(args.rows), "--fast", "--broken", str(max(args.rows // 10_000, 1)),
             "-o", str(src)],
            check=True, capture_output=True,
        )  # fmt: skip
    pq = work / f"reports_{args.rows}.parquet"
    if not {"parquet", "parquet2"} <= skip and not pq.exists():
        to_geoparquet(src, pq)
    peers: dict[str, tuple[str, Path, Path, tuple[str, ...]]] = {
        "lapor-router CSV→CSV": (LAPOR, src, work / "out_lapor.csv", ()),
        "lapor-router Parquet→Parquet": (LAPOR, pq, work / "out_lapor.parquet", ()),
        # the same run in two worker processes (route_file(workers=2), --workers 2)
        "lapor-router CSV→CSV, 2 workers": (LAPOR, src, work / "out_lapor2.csv", ("2",)),
        "lapor-router Parquet→Parquet, 2 workers": (LAPOR, pq, work / "out_lapor2.parquet", ("2",)),
        "DuckDB spatial join + CSV write": (DUCKDB, src, work / "out_duckdb.csv", ()),
        "geopandas sjoin script": (GEOPANDAS, src, work / "out_gpd.csv", ()),
        # no routing at all: the routed output's rows read and written back by Arrow's C++
        # CSV reader and writer, the least any writer of that output can cost
        "floor: Arrow copy of the output": (
            FLOOR,
            work / "out_lapor.csv",
            work / "out_floor.csv",
            (),
        ),
    }
    keys = dict(
        zip(
            ("lapor", "parquet", "workers", "parquet2", "duckdb", "geopandas", "floor"),
            peers,
            strict=True,
        )
    )
    if "lapor" in skip:
        skip.add("floor")  # it copies lapor-router's output
    results: dict[str, list[dict[str, float]]] = {}
    for short, name in keys.items():
        if short in skip:
            continue
        code, inp, out, more = peers[name]
        runs = []
        for _ in range(args.runs):
            for leftover in (out, Path(f"{out}.rejects.csv"), Path(f"{out}.summary.json")):
                leftover.unlink(missing_ok=True)
            runs.append(child(code, str(inp), str(out), str(SHARED), *more))
        results[name] = runs
    size = src.stat().st_size / 1e6
    print(
        f"{args.rows:,} generated reports ({size:.0f} MB CSV), medians of {args.runs} runs, "
        f"each peer in a fresh process; python {sys.version.split()[0]}"
    )
    duck = results.get("DuckDB spatial join + CSV write")
    duck_rate = args.rows / statistics.median(r["work"] for r in duck) if duck else None
    # set-up included: the whole run of a one-off command
    duck_total = statistics.median(r["work"] + r["setup"] for r in duck) if duck else None
    print(f"{'peer':40s} {'rows/s':>10s} {'× DuckDB':>9s} {'work s':>7s} {'setup s':>8s} "
          f"{'× w/ setup':>10s} {'peak RSS':>9s}  notes")  # fmt: skip
    for name, runs in results.items():
        w = statistics.median(r["work"] for r in runs)
        rate = args.rows / w
        ratio = f"{rate / duck_rate:9.2f}" if duck_rate else f"{'-':>9s}"
        rss = statistics.median(r["rss"] for r in runs) / 1e6
        setup = statistics.median(r["setup"] for r in runs)
        total = statistics.median(r["work"] + r["setup"] for r in runs)
        whole = f"{duck_total / total:10.2f}" if duck_total else f"{'-':>10s}"
        notes = []
        if "rejected" not in runs[0]:
            notes.append(f"{int(runs[0]['rows']):,} rows read")
        if "duplicated" in runs[0]:
            notes.append(f"{int(runs[0]['duplicated']):,} rows duplicated")
        if "columns" in runs[0]:
            notes.append(f"{int(runs[0]['columns'])} columns, no routing")
        if "rejected" in runs[0]:
            notes.append(
                f"{int(runs[0]['written']):,} written + {int(runs[0]['rejected']):,} rejected"
            )
        print(f"{name:40s} {rate:10,.0f} {ratio} {w:7.2f} {setup:8.2f} {whole} {rss:8,.0f}M  "
              + "; ".join(notes))  # fmt: skip


if __name__ == "__main__":
    main()
