"""A batch run in a child process, killed with ``kill -9`` part-way and resumed: what the
resume tests of every format and engine share."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT

# route_file with the router of the `router` fixture (the same boundary and context sets),
# the tests' clock and reporter columns, chunks of 100 rows
_SCRIPT = """
import sys; from datetime import datetime; from zoneinfo import ZoneInfo
sys.path.insert(0, sys.argv[4])
from conftest import BOUNDARIES
from lapor_router import Router, load_boundaries
from lapor_router.batch import route_file, Columns
b = load_boundaries(BOUNDARIES / 'jakarta_kel.parquet',
                    kecamatan=BOUNDARIES / 'jakarta_kec.parquet',
                    kota=BOUNDARIES / 'jakarta_kab.parquet',
                    province=BOUNDARIES / 'jakarta_prov.parquet')
r = Router(b, context=BOUNDARIES / 'jawabarat_banten_dki_kel.parquet')
now = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo('Asia/Jakarta'))
workers = None if sys.argv[5] == '-' else int(sys.argv[5])
route_file(sys.argv[1], sys.argv[2], columns=Columns(reporter=('reporter_name',
           'reporter_phone')), chunk_rows=100, router=r, now=now, progress=False,
           resume=sys.argv[3] == '1', workers=workers)
"""


def _args(src: Path, out: Path, resume: bool, workers: int | None) -> list[str]:
    return [sys.executable, "-c", _SCRIPT, str(src), str(out), "1" if resume else "0",
            str(ROOT / "tests"), "-" if workers is None else str(workers)]  # fmt: skip


def kill_after(src: Path, out: Path, chunks: int, workers: int | None = None) -> int:
    """Route ``src`` to ``out`` in a child process and ``kill -9`` it once ``chunks``
    chunks are checkpointed; the number of chunks it had checkpointed."""
    proc = subprocess.Popen(_args(src, out, False, workers))
    progress = out.with_name(out.name + ".parts") / "progress.json"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if len(json.loads(progress.read_text())["chunks"]) >= chunks:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done: int = len(json.loads(progress.read_text())["chunks"])
    return done


def resume(src: Path, out: Path, workers: int | None = None) -> None:
    """Run the killed run again with ``resume=True``, to its end."""
    subprocess.run(_args(src, out, True, workers), check=True)
