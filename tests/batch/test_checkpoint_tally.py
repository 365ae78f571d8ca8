"""A run's checkpoint keeps the counts of the chunks done as one running total (saving each
chunk's counts made a run quadratic in its chunks), and a checkpoint written the earlier way,
with counts per chunk, still resumes to the same summary."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lapor_router.batch import CHUNK_ROWS, BatchError, Columns, route_file
from lapor_router.batch import engine as batch_engine
from lapor_router.batch import run as batch_run

from conftest import ROOT

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
SRC = ROOT / "tests" / "batch" / "identity" / "reports.csv"
COLUMNS = Columns(reporter=("reporter_name", "reporter_phone"))


def _route(router, out: Path, resume: bool = False) -> dict:
    return route_file(SRC, out, router=router, now=NOW, progress=False, chunk_rows=60,
                      columns=COLUMNS, resume=resume)  # fmt: skip


def _stopped_at(router, out: Path, monkeypatch, fail_at: int) -> dict:
    """The checkpoint of a run stopped by an error at its ``fail_at``-th chunk."""
    route = batch_engine.route_chunk_unmasked  # what the local engine calls
    calls = {"n": 0}

    def failing(*a, **k):
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise RuntimeError("stopped")
        return route(*a, **k)

    with monkeypatch.context() as m:
        m.setattr(batch_engine, "route_chunk_unmasked", failing)
        with pytest.raises(RuntimeError, match="stopped"):
            _route(router, out)
    state: dict = json.loads((out.parent / f"{out.name}.parts" / "progress.json").read_text())
    return state


def _summary(path: Path) -> dict:
    s = json.loads(Path(f"{path}.summary.json").read_text())
    for k in ("input", "output", "rejects"):
        s.pop(k)
    return s


def test_the_checkpoint_holds_one_total_not_a_count_per_chunk(router, tmp_path, monkeypatch):
    clean = tmp_path / "clean.csv"
    _route(router, clean)
    out = tmp_path / "o.csv"
    state = _stopped_at(router, out, monkeypatch, fail_at=6)
    assert 3 <= len(state["chunks"]) <= 5  # the chunks checkpointed before the error
    assert all(set(c) == {"part", "next_position", "rows_end"} for c in state["chunks"])
    assert state["tally"]["rows_read"] == state["chunks"][-1]["rows_end"]
    assert (
        state["tally"]["rows_written"] + state["tally"]["rows_rejected"]
        == (state["tally"]["rows_read"])
    )
    _route(router, out, resume=True)
    assert _summary(out) == _summary(clean)
    assert out.read_bytes() == clean.read_bytes()


def test_a_checkpoint_with_counts_per_chunk_resumes_to_the_same_summary(
    router, tmp_path, monkeypatch
):
    clean = tmp_path / "clean.csv"
    _route(router, clean)
    out = tmp_path / "o.csv"
    state = _stopped_at(router, out, monkeypatch, fail_at=4)
    # as an earlier version wrote it: each chunk's own counts, no total
    total = state.pop("tally")
    per_chunk = [{"rows_read": 0, "by_unit": {}} for _ in state["chunks"]]
    per_chunk[0] = {**total, "rows_read": total["rows_read"] - 7}
    per_chunk[-1]["rows_read"] = 7
    for chunk, counts in zip(state["chunks"], per_chunk, strict=True):
        chunk["tally"] = counts
    progress = out.parent / f"{out.name}.parts" / "progress.json"
    progress.write_text(json.dumps(state))
    _route(router, out, resume=True)
    assert _summary(out) == _summary(clean)
    assert out.read_bytes() == clean.read_bytes()


def test_a_resumed_run_keeps_the_chunk_size_it_was_started_with(router, tmp_path, monkeypatch):
    """A run started with 60-row chunks and resumed without a chunk size goes on in 60-row
    chunks (not the default's), to the bytes of an uninterrupted run; a resume that names
    another size is refused, saying which."""
    clean = tmp_path / "clean.csv"
    _route(router, clean)
    out = tmp_path / "o.csv"
    state = _stopped_at(router, out, monkeypatch, fail_at=4)
    assert state["settings"]["chunk_rows"] == 60
    with pytest.raises(BatchError, match=r"chunk rows: 60 → 70"):
        route_file(SRC, out, router=router, now=NOW, progress=False, chunk_rows=70,
                   columns=COLUMNS, resume=True)  # fmt: skip
    route_file(SRC, out, router=router, now=NOW, progress=False, columns=COLUMNS, resume=True)
    assert _summary(out) == _summary(clean)
    assert out.read_bytes() == clean.read_bytes()


def test_a_new_run_without_a_chunk_size_takes_the_default(router, tmp_path, monkeypatch):
    sizes: list[int] = []
    read = batch_run.READERS["csv"]

    def reader(path, chunk_rows, *a, **k):
        sizes.append(chunk_rows)
        return read(path, chunk_rows, *a, **k)

    monkeypatch.setitem(batch_run.READERS, "csv", reader)
    route_file(SRC, tmp_path / "o.csv", router=router, now=NOW, progress=False)
    assert sizes == [CHUNK_ROWS]


@pytest.mark.parametrize("rows", [0, -3, True, 2.5, "100"])
def test_a_chunk_size_that_is_not_a_count_of_rows_is_refused(router, tmp_path, rows):
    message = f"chunk_rows must be a whole number of at least 1, not {rows!r}"
    with pytest.raises(BatchError, match=re.escape(message)):
        route_file(SRC, tmp_path / "o.csv", router=router, progress=False, chunk_rows=rows)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
