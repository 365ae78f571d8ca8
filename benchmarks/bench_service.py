"""Load test of the report service on 127.0.0.1: ``--clients`` concurrent clients for
``--seconds`` posting reports (and reading some back), against `lapor-router serve` over
SQLite and over PostgreSQL. Stops by itself.

    python benchmarks/bench_service.py [--clients 50] [--seconds 30] [--pg postgresql://...]

Prints requests/s, POST /requests per second and p50/p99 latency per kind; then checks the
store: every 201 is there with its first three events, none twice, nothing half-written.
The load runs in ``--procs`` child processes (asyncio + httpx) beside the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from service.serverproc import Server  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "kelurahan_boundaries"
TEXTS = [
    "Jalan berlubang di depan halte, bahaya untuk motor",
    "sampah menumpuk belum diangkut tiga hari",
    "got mampet, air meluap ke jalan",
    "lampu jalan mati sejak minggu lalu",
    "pohon tumbang menutup jalan",
    "parkir liar di trotoar depan pasar",
]


async def _client(url: str, until: float, seed: int, out: dict[str, list]) -> None:
    import httpx

    i = seed
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        while time.monotonic() < until:
            i += 1
            read = i % 5 == 0 and out["ids"]
            t = time.perf_counter()
            try:
                if read:
                    rid = out["ids"][i % len(out["ids"])]
                    r = await c.get(f"/requests/{rid}.json")
                    ok = r.status_code == 200
                else:
                    lon = 106.70 + (i * 7919 % 2500) / 10_000
                    lat = -6.30 + (i * 104729 % 2000) / 10_000
                    r = await c.post("/requests.json", data={
                        "lat": f"{lat:.5f}", "long": f"{lon:.5f}",
                        "description": TEXTS[i % len(TEXTS)], "private": str(i % 2 == 0).lower(),
                        "email": f"warga{i}@example.id"})  # fmt: skip
                    ok = r.status_code == 201
                    if ok:
                        out["ids"].append(r.json()[0]["service_request_id"])
            except httpx.HTTPError as exc:
                out["errors"].append(repr(exc)[:200])
                continue
            out["get" if read else "post"].append(time.perf_counter() - t)
            if not ok:
                out["errors"].append(f"{r.status_code} {r.text[:200]}")


def load(url: str, clients: int, seconds: float, seed: int) -> dict[str, list]:
    """One load process: ``clients`` coroutines until ``seconds`` have passed."""
    out: dict[str, list] = {"post": [], "get": [], "ids": [], "errors": []}
    until = time.monotonic() + seconds

    async def main() -> None:
        await asyncio.gather(
            *(_client(url, until, seed * 1_000_003 + k * 10_007, out) for k in range(clients))
        )

    asyncio.run(main())
    return out


def run(db: str, home: Path, args: argparse.Namespace, work: Path) -> dict[str, object]:
    srv = Server(db, home, work / f"server-{db.split(':')[0]}.log").start()
    try:
        per = [args.clients // args.procs + (k < args.clients % args.procs)
               for k in range(args.procs)]  # fmt: skip
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--child", srv.url, str(n), str(args.seconds), str(k)],
                stdout=subprocess.PIPE,
            )
            for k, n in enumerate(per)
        ]
        parts = [json.loads(p.communicate()[0]) for p in procs]
    finally:
        srv.stop()
    post = sorted(x for p in parts for x in p["post"])
    get = sorted(x for p in parts for x in p["get"])
    ids = [i for p in parts for i in p["ids"]]
    errors = [e for p in parts for e in p["errors"]]
    from lapor_router import Router
    from lapor_router.service import ReportStore

    store = ReportStore(Router.default(), db)
    with store.engine.connect() as conn:
        stored = {int(r[0]) for r in conn.exec_driver_sql("SELECT id FROM reports")}
        rows = conn.exec_driver_sql("SELECT report_id, count(*) FROM events GROUP BY report_id")
        events = {int(r[0]): int(r[1]) for r in rows}
    store.dispose()
    lost = len({int(i) for i in ids} - stored)
    half = sum(1 for r in stored if events.get(r, 0) < 3)

    def pct(xs: list[float], q: float) -> float:
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")

    return {
        "requests/s": (len(post) + len(get)) / args.seconds,
        "POST/s": len(post) / args.seconds,
        "POST p50 ms": pct(post, 0.50),
        "POST p99 ms": pct(post, 0.99),
        "GET p50 ms": pct(get, 0.50),
        "GET p99 ms": pct(get, 0.99),
        "errors": len(errors),
        "first error": errors[0] if errors else "",
        "lost": lost,
        "duplicated": len(ids) - len(set(ids)),
        "half-written": half,
        "stored": len(stored),
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        url, n, seconds, seed = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
        print(json.dumps(load(url, n, seconds, seed)))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--procs", type=int, default=2, help="load-generating processes")
    ap.add_argument(
        "--pg",
        default=os.environ.get("LAPOR_TEST_PG_URL"),
        help="PostgreSQL URL (its lapor_router tables are dropped first)",
    )
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lapor-bench-service-"))
    from lapor_router import install

    os.environ["LAPOR_ROUTER_DATA"] = str(work / "home")
    install(SHARED, ["jakarta"])
    dbs = {"SQLite": f"sqlite:///{work / 'reports.sqlite3'}"}
    if args.pg:
        from lapor_router.service.store import drop_tables

        drop_tables(args.pg)
        dbs["PostgreSQL"] = args.pg
    else:
        print("no PostgreSQL (--pg or LAPOR_TEST_PG_URL): SQLite only")
    print(f"{args.clients} clients in {args.procs} processes for {args.seconds:g} s, "
          f"80% POST /requests, 20% GET /requests/{{id}}; python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores shared by the server and the clients")  # fmt: skip
    for name, db in dbs.items():
        res = run(db, work / "home", args, work)
        print(f"{name:10s} " + "  ".join(
            f"{k} {v:,.1f}" if isinstance(v, float) else f"{k} {v}"
            for k, v in res.items() if k != "first error"))  # fmt: skip
        if res["first error"]:
            print(f"           first error: {res['first error']}")


if __name__ == "__main__":
    main()
