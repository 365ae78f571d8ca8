"""The local engine masks a chunk on its writer thread when the writer waits, else in the
routing thread: either way before anything is written, and the same output."""

from __future__ import annotations

from datetime import datetime

import pytest
from test_output_identity import HERE, _differences, _read, _run

from lapor_router.batch import engine as batch_engine
from lapor_router.batch.engine import LocalEngine, PartWriter
from lapor_router.files import READERS
from lapor_router.normalize import Columns


@pytest.mark.parametrize("writer_busy", [True, False])
def test_both_places_of_masking_write_the_recorded_output(
    router, tmp_path, monkeypatch, writer_busy
):
    where: list[str] = []
    submit = LocalEngine.submit

    def forced(self, *a, **k):
        if self._last is not None:  # the writer as busy (or idle) as the test wants
            monkeypatch.setattr(self._last, "done", lambda: not writer_busy)
        return submit(self, *a, **k)

    call = PartWriter.__call__

    def recorded(self, chunk, columns, routed, lonlat, mask=None):
        where.append("writer" if mask is not None else "routing")
        return call(self, chunk, columns, routed, lonlat, mask)

    monkeypatch.setattr(LocalEngine, "submit", forced)
    monkeypatch.setattr(PartWriter, "__call__", recorded)
    out, rej = _run(tmp_path, router)
    assert _differences(_read(out), _read(HERE / "routed.csv")) == []
    assert _differences(_read(rej), _read(HERE / "rejects.csv")) == []
    assert where[0] == "writer"  # nothing in the writer before the first chunk
    assert set(where[1:]) == {"routing" if writer_busy else "writer"}


def test_the_writer_masks_before_it_writes(router, tmp_path):
    cols = Columns(reporter=("reporter_name", "reporter_phone"))
    chunk = next(READERS["csv"](HERE / "reports.csv", 200, 0, 0, cols))
    routed, lonlat, mask = batch_engine.route_chunk_unmasked(
        router, chunk.frame, cols, datetime(2026, 11, 23), None
    )
    private = routed["private"].astype(str).str.lower().eq("true").to_numpy()
    assert private.any() and (routed.loc[private, "reporter_name"] != "[disamarkan]").all()
    part = tmp_path / "part-000000.csv"
    seen: list[bool] = []

    def checked() -> None:
        seen.append(part.exists())
        mask()

    done = PartWriter(part, tmp_path / "rejects-000000.csv", "csv")(
        chunk, cols, routed, lonlat, checked
    )
    assert seen == [False]  # masked before the part existed
    assert (routed.loc[private, "reporter_name"] == "[disamarkan]").all()
    assert b"[disamarkan]" in part.read_bytes() and done.rows_read == chunk.rows_read
