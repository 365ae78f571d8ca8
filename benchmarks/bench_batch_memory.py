"""Peak resident memory of `lapor-router route` on a large generated CSV (default 5 M rows).

Prints rows, wall time, throughput and the peak RSS of the routing process against the
1 GB bound of the batch-speed issue. The routing runs in a child process (as a batch job would),
sampled every 50 ms with psutil, and cross-checked with the child's own ru_maxrss: once with
the Arrow memory pool that `lapor-router route` takes (jemalloc), once with pyarrow's default
(what a library caller's process has unless it chooses).

    python benchmarks/bench_batch_memory.py [--rows 5000000] [--chunk-rows N]  (default: CHUNK_ROWS)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from lapor_router.batch import CHUNK_ROWS

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "kelurahan_boundaries"
BOUND_BYTES = 1.0e9
CHILD = """
import sys, json
from lapor_router import Router, load_boundaries
from lapor_router.normalize.memory import use_batch_pool
if sys.argv[5] == "route command":
    use_batch_pool()  # as `lapor-router route` does
from lapor_router.batch import Columns, route_file
d = sys.argv[3]
router = Router(load_boundaries(d + "/jakarta_kel.parquet", kecamatan=d + "/jakarta_kec.parquet",
                kota=d + "/jakarta_kab.parquet", province=d + "/jakarta_prov.parquet"),
                context=d + "/jawabarat_banten_dki_kel.parquet")
s = route_file(sys.argv[1], sys.argv[2], chunk_rows=int(sys.argv[4]), router=router,
               columns=Columns(reporter=("reporter_name", "reporter_phone")), progress=False)
import resource
out = {k: s[k] for k in ("rows_read", "rows_written", "rows_rejected", "rows_rerouted")}
import pyarrow as pa
out["pool"] = pa.default_memory_pool().backend_name
out["ru_maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS)
    parser.add_argument("--keep", type=Path, help="directory to keep the files in")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="lapor-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    src = work / f"reports_{args.rows}.csv"
    if not src.exists():
        t = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "examples" / "generate_reports.py"),
                "-n",
                str(args.rows),
                "--fast",
                "--broken",
                str(max(args.rows // 10_000, 1)),
                "-o",
                str(src),
            ],
            check=True,
        )
        print(
            f"generated {src} ({src.stat().st_size / 1e6:.0f} MB) in "
            f"{time.perf_counter() - t:.0f} s"
        )
    out = work / "routed.csv"
    for pool in ("route command", "pyarrow default"):
        measure(src, out, args.chunk_rows, pool)


def measure(src: Path, out: Path, chunk_rows: int, pool: str) -> None:
    """One routing of ``src`` in a child process, with that Arrow pool; prints its figures."""
    t = time.perf_counter()
    proc = psutil.Popen(
        [sys.executable, "-c", CHILD, str(src), str(out), str(SHARED), str(chunk_rows), pool],
        stdout=subprocess.PIPE,
        text=True,
    )
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, proc.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    wall = time.perf_counter() - t
    result = json.loads(proc.stdout.read() if proc.stdout else "{}")
    if proc.returncode:
        sys.exit(f"routing failed with exit code {proc.returncode}")
    # the child's own ru_maxrss: RUSAGE_CHILDREN would also count the file generator
    peak = max(peak, int(result["ru_maxrss"]))
    rows = result["rows_read"]
    print(f"Arrow memory pool: {result['pool']} ({pool})")
    print(
        f"  rows read {rows:,}; written {result['rows_written']:,}; rejected "
        f"{result['rows_rejected']:,}; rerouted {result['rows_rerouted']:,}"
    )
    print(f"  wall {wall:.1f} s; {rows / wall:,.0f} rows/s; chunk {chunk_rows:,} rows")
    print(
        f"  peak RSS {peak / 1e6:,.0f} MB; bound {BOUND_BYTES / 1e6:,.0f} MB; "
        f"ratio {peak / BOUND_BYTES:.2f} → {'OK' if peak < BOUND_BYTES else 'OVER'}"
    )


if __name__ == "__main__":
    main()
