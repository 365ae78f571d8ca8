"""Worker processes on this machine (``route_file(..., workers=N)``): the same files as one
process, byte for byte; the chunk bounds the workers read by are the reader's own; refusals
stay refusals."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from test_output_identity import HERE, NOW, REPORTER

from lapor_router.batch import BatchError, Columns, route_file
from lapor_router.batch.engine import Span
from lapor_router.files import READERS, csv_chunk_bounds

from conftest import BOUNDARIES, ROOT

sys.path.insert(0, str(ROOT / "examples"))
from generate_reports import generate, write_csv

COLUMNS = Columns(reporter=REPORTER)


def _route(router, src: Path, out: Path, workers: int | None, chunk_rows: int = 70) -> dict:
    return route_file(
        src, out, columns=COLUMNS, chunk_rows=chunk_rows, router=router, now=NOW,
        progress=False, workers=workers,
    )  # fmt: skip


def _outputs(out: Path) -> tuple[bytes, bytes, dict]:
    summary = json.loads(out.with_name(out.name + ".summary.json").read_text())
    for key in ("output", "rejects"):
        summary.pop(key)
    return out.read_bytes(), out.with_name(out.name + ".rejects.csv").read_bytes(), summary


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_two_worker_processes_write_what_one_process_writes(router, tmp_path, fmt):
    # the recorded messy file (broken quoting, bad encodings, blank lines, wrong field
    # counts), in chunks of 70 rows so that both workers get several, CSV read by spans
    one = _route(router, HERE / "reports.csv", tmp_path / f"one.{fmt}", None)
    two = _route(router, HERE / "reports.csv", tmp_path / f"two.{fmt}", 2)
    assert two["chunks"] == one["chunks"] >= 8
    assert _outputs(tmp_path / f"two.{fmt}") == _outputs(tmp_path / f"one.{fmt}")
    assert not (tmp_path / f"two.{fmt}.parts").exists()


def test_parquet_input_on_worker_processes_is_read_here_and_routed_there(router, tmp_path):
    reports = generate(300, BOUNDARIES / "jakarta_kel.parquet", seed=11)
    src = tmp_path / "reports.parquet"
    reports.to_parquet(src)
    _route(router, src, tmp_path / "one.csv", None, chunk_rows=60)
    _route(router, src, tmp_path / "two.csv", 2, chunk_rows=60)
    assert _outputs(tmp_path / "two.csv") == _outputs(tmp_path / "one.csv")


def test_chunk_bounds_are_the_readers_chunks(tmp_path):
    reports = generate(500, BOUNDARIES / "jakarta_kel.parquet", seed=5)
    src = tmp_path / "reports.csv"
    write_csv(reports, src, broken=25, seed=9)
    with open(src, "ab") as fh:
        fh.write(b"\n\n  \n")  # trailing blank lines are not rows
    for n in (1, 37, 200, 10_000):
        chunks = list(READERS["csv"](src, n, 0, 0, COLUMNS))
        first = chunks[0]
        bounds = list(csv_chunk_bounds(src, n, first.next_position, first.rows_read))
        assert [(e, r) for _, _, e, r in bounds] == [
            (c.next_position, c.rows_read) for c in chunks[1:]
        ]
        assert sum(r for *_, r in bounds) + first.rows_read == 500 + 25
        for (pos, before, end, rows), seq in list(zip(bounds, chunks[1:], strict=True))[:5]:
            alone = Span(src, "csv", n, pos, before, end, rows, {}).read(COLUMNS)
            assert alone.frame.equals(seq.frame)
            assert alone.rejects == seq.rejects


def test_a_span_that_no_longer_matches_the_file_is_refused(tmp_path):
    src = tmp_path / "r.csv"
    write_csv(generate(50, BOUNDARIES / "jakarta_kel.parquet", seed=2), src)
    first = next(iter(READERS["csv"](src, 10, 0, 0, COLUMNS)))
    pos, before, end, rows = next(csv_chunk_bounds(src, 10, first.next_position, 10))
    span = Span(src, "csv", 10, pos, before, end, rows, {})
    assert span.read(COLUMNS).rows_read == 10
    with pytest.raises(BatchError, match="changed while it was being read"):
        replace(span, next_position=end + 1).read(COLUMNS)


def test_worker_processes_refuse_as_one_process_does(router, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a;b;c\n1;2;3\n", encoding="utf-8")
    with pytest.raises(BatchError, match="not in the input") as one:
        _route(router, bad, tmp_path / "o1.csv", None)
    with pytest.raises(BatchError, match="not in the input") as two:
        _route(router, bad, tmp_path / "o2.csv", 2)
    assert str(two.value).replace("o2.csv", "o1.csv") == str(one.value)
    assert not (tmp_path / "o2.csv.parts").exists()
    with pytest.raises(BatchError, match="workers must be at least 1"):
        _route(router, HERE / "reports.csv", tmp_path / "o3.csv", 0)
    assert not (tmp_path / "o3.csv.parts").exists()


_FORK_OR_SPAWN = """
import json, sys, threading
sys.path[:0] = [sys.argv[3], sys.argv[4]]
from conftest import BOUNDARIES
from test_output_identity import NOW, REPORTER
from lapor_router import Router, load_boundaries
from lapor_router.batch import Columns, engine, route_file, run
d = BOUNDARIES
b = load_boundaries(d / "jakarta_kel.parquet", kecamatan=d / "jakarta_kec.parquet",
                    kota=d / "jakarta_kab.parquet", province=d / "jakarta_prov.parquet")
router = Router(b, context=d / "jawabarat_banten_dki_kel.parquet")
engines = []
make = run._make_engine
run._make_engine = lambda *a: engines.append(make(*a)) or engines[-1]
def go(out, resume=False):
    route_file(sys.argv[1], out, columns=Columns(reporter=REPORTER), chunk_rows=70, router=router,
               now=NOW, progress=False, workers=2, resume=resume)
def stop_after_3(path, state, save=run.save):
    save(path, state)
    if len(state.get("chunks", [])) == 3:
        raise KeyboardInterrupt
if __name__ == "__main__":
    alone = threading.active_count()
    go(sys.argv[2] + "/fork.csv")
    left = engine._WORKER_ROUTER is None
    stop = threading.Event()
    caller = threading.Thread(target=stop.wait)
    caller.start()
    try:
        go(sys.argv[2] + "/spawn.csv")
    finally:
        stop.set()
        caller.join()
    run.save = stop_after_3  # a Parquet run stopped after 3 chunks, then resumed
    try:
        go(sys.argv[2] + "/resumed.parquet")
    except KeyboardInterrupt:
        pass
    run.save = stop_after_3.__defaults__[0]
    after_stop = threading.active_count()
    go(sys.argv[2] + "/resumed.parquet", resume=True)
    print(json.dumps({"threads": alone, "cleared": left, "after_stop": after_stop,
                      "methods": [e.start_method for e in engines]}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers: Linux only")
def test_workers_are_forked_unless_another_thread_runs(router, tmp_path):
    # forked workers share the run's router; with another Python thread running (a
    # caller's), each worker is a fresh interpreter instead. Same files either way. In a
    # fresh interpreter, as a batch job runs (a dask client, say, leaves threads behind).
    import subprocess

    _route(router, HERE / "reports.csv", tmp_path / "one.csv", None)
    done = subprocess.run(
        [sys.executable, "-c", _FORK_OR_SPAWN, str(HERE / "reports.csv"), str(tmp_path),
         str(ROOT / "tests" / "batch"), str(ROOT / "tests")],
        capture_output=True, text=True, check=True, cwd=ROOT / "tests",
    )  # fmt: skip
    said = json.loads(done.stdout.strip().splitlines()[-1])
    # a resumed run forks too: the Parquet output's thread starts after its first chunk
    methods = ["fork", "spawn", "fork", "fork"]
    assert said == {"threads": 1, "cleared": True, "after_stop": 1, "methods": methods}
    assert _outputs(tmp_path / "fork.csv") == _outputs(tmp_path / "one.csv")
    assert _outputs(tmp_path / "spawn.csv") == _outputs(tmp_path / "one.csv")
    _route(router, HERE / "reports.csv", tmp_path / "one.parquet", None)
    assert _outputs(tmp_path / "resumed.parquet") == _outputs(tmp_path / "one.parquet")
