"""How batch routing scales with Dask workers: 1 vs 2 (or more) local worker processes.

A generated report file is read into a pandas frame and split into ``--partitions`` dask
partitions; each worker count gets a fresh ``LocalCluster`` (one thread per process), the
``route_dask(...).compute()`` is timed (median of ``--runs``, after a first run that warms the
workers). Each run includes the router's scatter to the workers, as each ``route_dask`` call
does; the cluster's start is timed apart.

    python benchmarks/bench_dask.py [--rows 200000] [--partitions 8] [--workers 1,2] [--runs 3]

Prints rows/s per worker count and the speed-up over one worker. On a machine with fewer
cores than workers, the ratio says so (it cannot exceed the cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "kelurahan_boundaries"
sys.path.insert(0, str(ROOT / "examples"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import dask.dataframe as dd
    import pandas as pd
    from distributed import Client, LocalCluster

    from lapor_router import Router, load_boundaries
    from lapor_router.batch import Columns
    from lapor_router.dask import route_dask

    from generate_reports import generate, write_csv

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "reports.csv"
        write_csv(
            generate(args.rows, SHARED / "jakarta_kel.parquet", seed=5, fast=True), src, broken=0
        )
        frame = pd.read_csv(src, dtype=str, keep_default_na=False)
    ddf = dd.from_pandas(frame, npartitions=args.partitions)
    router = Router(
        load_boundaries(
            SHARED / "jakarta_kel.parquet",
            kecamatan=SHARED / "jakarta_kec.parquet",
            kota=SHARED / "jakarta_kab.parquet",
            province=SHARED / "jakarta_prov.parquet",
        ),
        context=SHARED / "jawabarat_banten_dki_kel.parquet",
    )
    _ = router.rules
    columns = Columns(reporter=("reporter_name", "reporter_phone"))
    print(f"{len(frame):,} rows in {args.partitions} partitions; {os.cpu_count()} CPU cores here")
    rates: dict[int, float] = {}
    for w in [int(x) for x in args.workers.split(",")]:
        t0 = time.perf_counter()
        cluster = LocalCluster(
            n_workers=w, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
        start = time.perf_counter() - t0
        times = []
        for _ in range(args.runs + 1):  # the first run also ships the router and warms up
            t = time.perf_counter()
            out = route_dask(ddf, router=router, columns=columns, client=client).compute()
            times.append(time.perf_counter() - t)
            assert len(out) == len(frame), (len(out), len(frame))
        client.close()
        cluster.close()
        med = statistics.median(times[1:])
        rates[w] = len(frame) / med
        print(
            f"{w} worker(s): {rates[w]:>10,.0f} rows/s (median {med:.2f} s of {args.runs}; "
            f"first run {times[0]:.2f} s; cluster start {start:.2f} s)"
        )
    base = rates[min(rates)]
    for w, r in rates.items():
        if w != min(rates):
            print(f"speed-up {w} vs {min(rates)} worker(s): {r / base:.2f}×")


if __name__ == "__main__":
    main()
