"""Duplicate search at arrival with ``--open`` open reports in the store (SQLite, and
PostgreSQL with ``--pg``): milliseconds per search (the cell-key query over the covering
index plus the exact great-circle filter), with the category's time window around the
arrival as at submit and without one, and per whole ``ReportStore.submit`` (routing, search,
write).

    python benchmarks/bench_duplicates.py [--open 1000000] [--searches 2000] [--pg URL]

The open reports are bulk-inserted (category, point, time; a stub record), spread over
Jakarta's kelurahan like `bench_cluster.py`'s points, in the rule set's categories.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cluster import points


def fill(store, n: int, rng: np.random.Generator) -> None:
    from lapor_router.service.store import _cell, reports

    codes = list(store.router.rules.categories)
    share = rng.gamma(0.8, size=len(codes))
    lon, lat = points(n)
    cat = rng.choice(np.array(codes, dtype=object), n, p=share / share.sum())
    now = time.time()
    ts = now - rng.random(n) * 30 * 86400
    batch = 50_000
    with store.engine.begin() as conn:
        for a in range(0, n, batch):
            rows = [
                {"status": "open", "service_code": cat[i], "lon": float(lon[i]),
                 "lat": float(lat[i]), "requested_ts": float(ts[i]), "updated_ts": now,
                 "record": "{}", "decision": "{}", "cell": _cell(float(lon[i]), float(lat[i]))}
                for i in range(a, min(a + batch, n))
            ]  # fmt: skip
            conn.execute(reports.insert(), rows)


def measure(name: str, url: str, args: argparse.Namespace) -> None:
    from lapor_router import Report, Router
    from lapor_router.service import ReportStore

    store = ReportStore(Router.default(), url)
    rng = np.random.default_rng(3)
    t = time.perf_counter()
    fill(store, args.open, rng)
    filled = time.perf_counter() - t
    if store.engine.dialect.name == "postgresql":
        # what autovacuum does after a million inserts: statistics for the planner and the
        # visibility map for index-only scans (without it the planner guessed, p99 33 ms)
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE reports")
    codes = list(store.router.rules.categories)
    lon, lat = points(args.searches, seed=99)
    cats = rng.choice(np.array(codes, dtype=object), args.searches)
    found, each, unwindowed = [], [], []
    arrival = datetime.now(UTC)  # as at submit: the category's time window applies
    for i in range(args.searches):
        t = time.perf_counter()
        near = store.possible_duplicates(cats[i], float(lon[i]), float(lat[i]), at=arrival)
        each.append(time.perf_counter() - t)
        found.append(len(near))
        t = time.perf_counter()
        store.possible_duplicates(cats[i], float(lon[i]), float(lat[i]))
        unwindowed.append(time.perf_counter() - t)
    subs = []
    for i in range(min(args.searches, 500)):
        rep = Report(float(lon[i]), float(lat[i]), category=cats[i], text="x")
        t = time.perf_counter()
        store.submit(rep)
        subs.append(time.perf_counter() - t)
    each.sort()
    subs.sort()
    unwindowed.sort()
    p99 = each[int(0.99 * len(each))] * 1000
    print(f"{name:10s} {args.open:,} open reports (filled in {filled:.0f} s): search "
          f"p50 {statistics.median(each) * 1000:.3f} ms, p99 {p99:.3f} ms, "
          f"{statistics.mean(found):.1f} found on average; without the time window p50 "
          f"{statistics.median(unwindowed) * 1000:.3f} ms, p99 "
          f"{unwindowed[int(0.99 * len(unwindowed))] * 1000:.3f} ms; whole submit p50 "
          f"{statistics.median(subs) * 1000:.2f} ms, p99 "
          f"{subs[int(0.99 * len(subs))] * 1000:.2f} ms")  # fmt: skip
    store.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--open", type=int, default=1_000_000)
    ap.add_argument("--searches", type=int, default=2000)
    ap.add_argument("--pg", default=None, help="PostgreSQL URL (its tables are dropped first)")
    ap.add_argument("--pg-only", action="store_true", help="skip the SQLite run")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lapor-bench-dup-"))
    if not args.pg_only:
        measure("SQLite", f"sqlite:///{work / 'reports.sqlite3'}", args)
    if args.pg:
        from lapor_router.service.store import drop_tables

        drop_tables(args.pg)
        measure("PostgreSQL", args.pg, args)


if __name__ == "__main__":
    main()
