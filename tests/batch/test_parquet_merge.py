"""A Parquet output is written while the run goes on (:class:`ParquetMerge`): the same
bytes as merging the parts at the end, the parts' types unified when they differ, old
Parquet parts still merged, and a run killed with ``kill -9`` resumed to the same bytes."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from killed_runs import kill_after, resume

from lapor_router.batch import Columns, route_file
from lapor_router.batch import run as batch_run
from lapor_router.files import ParquetMerge, merge_parts

from conftest import BOUNDARIES, ROOT

sys.path.insert(0, str(ROOT / "examples"))
from generate_reports import generate, write_csv

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
REPORTER = Columns(reporter=("reporter_name", "reporter_phone"))


def _ipc(table: pa.Table, path: Path) -> Path:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
        w.write_table(table)
    return path


def _tables(n: int) -> list[pa.Table]:
    rng = np.random.default_rng(3)
    return [
        pa.table(
            {
                "kode": pa.array([f"31710{k}{i:04d}" for i in range(50)]),
                "score": pa.array(rng.random(50)),
                "geometry": pa.array([b"\x01\x01\x00\x00\x00" + bytes(16)] * 50),
            },
            metadata={b"pandas": b"{}"},
        )
        for k in range(n)
    ]


def test_streamed_output_is_the_merge_of_the_parts(tmp_path):
    parts = [_ipc(t, tmp_path / f"part-{k:06d}.arrow") for k, t in enumerate(_tables(4))]
    _streamed_as_merged(parts, tmp_path)
    assert pq.read_table(tmp_path / "streamed.parquet").num_rows == 200


def _stream(parts: list[Path], dest: Path) -> bool:
    merge = ParquetMerge(dest)
    for p in parts:
        merge.add(p)
    return merge.finish()


def _streamed_as_merged(parts: list[Path], tmp_path: Path) -> pa.Schema:
    """Stream the parts and merge them at the end: the same bytes; the file's schema."""
    assert _stream(parts, tmp_path / "streamed.parquet")
    merge_parts(parts, tmp_path / "merged.parquet", "parquet", [])
    streamed = (tmp_path / "streamed.parquet").read_bytes()
    assert streamed == (tmp_path / "merged.parquet").read_bytes()
    return pq.read_schema(tmp_path / "streamed.parquet")


def test_a_column_with_no_value_in_a_later_part_is_streamed(tmp_path):
    first, second = _tables(2)
    second = second.set_column(0, "kode", pa.nulls(50))  # no value in the second chunk
    parts = [_ipc(first, tmp_path / "a.arrow"), _ipc(second, tmp_path / "b.arrow")]
    assert _streamed_as_merged(parts, tmp_path).field("kode").type == pa.string()


@pytest.mark.parametrize(
    "first_score",
    [
        pa.array(np.arange(50)),  # int64 here, float64 in the next part
        pa.nulls(50),  # null here, float64 next: not text
    ],
)
def test_parts_of_other_types_stop_the_stream_and_the_merge_unifies_them(tmp_path, first_score):
    first, second = _tables(2)
    first = first.set_column(1, "score", first_score)
    parts = [_ipc(first, tmp_path / "a.arrow"), _ipc(second, tmp_path / "b.arrow")]
    assert not _stream(parts, tmp_path / "streamed.parquet")
    merge_parts(parts, tmp_path / "merged.parquet", "parquet", [])
    assert pq.read_schema(tmp_path / "merged.parquet").field("score").type == pa.float64()


def test_a_column_with_no_value_in_any_part_is_streamed_as_the_merge_types_it(tmp_path):
    parts = [
        _ipc(t.set_column(0, "kode", pa.nulls(50)), tmp_path / f"{k}.arrow")
        for k, t in enumerate(_tables(3))
    ]
    assert _streamed_as_merged(parts, tmp_path).field("kode").type == pa.null()


def test_parquet_parts_of_an_earlier_version_are_still_merged(tmp_path):
    a, b = _tables(2)
    pq.write_table(a, tmp_path / "part-000000.parquet")
    parts = [tmp_path / "part-000000.parquet", _ipc(b, tmp_path / "part-000001.arrow")]
    merge_parts(parts, tmp_path / "mixed.parquet", "parquet", [])
    both = [_ipc(a, tmp_path / "a.arrow"), parts[1]]
    merge_parts(both, tmp_path / "arrow.parquet", "parquet", [])
    assert pq.read_table(tmp_path / "mixed.parquet").equals(
        pq.read_table(tmp_path / "arrow.parquet")
    )


@pytest.mark.parametrize(
    "rows, chunk_rows, streams",
    [
        (300, 100, False),  # `extra` has no value in the first chunk, text in later ones
        (300, 150, True),
        (3000, 1000, True),
    ],
)
def test_a_streamed_run_writes_the_bytes_of_a_merge_at_the_end(
    router, tmp_path, monkeypatch, rows, chunk_rows, streams
):
    reports = generate(rows, BOUNDARIES / "jakarta_kel.parquet", seed=4)
    # a column of the input with no value in the first chunk, then numbers
    reports["extra"] = np.where(np.arange(rows) < 120, np.nan, np.arange(rows) / 4)
    if rows >= 3000:  # the place columns get values too
        named = " di kel. Menteng RW 03 jl. Sudirman kecamatan Tebet"
        reports.loc[::50, "text"] = reports.loc[::50, "text"] + named
    src = tmp_path / "r.parquet"
    reports.to_parquet(src)
    merged: list[int] = []
    merge = batch_run.merge_parts
    monkeypatch.setattr(
        batch_run, "merge_parts", lambda p, *a: merged.append(len(p)) or merge(p, *a)
    )
    kw = {"router": router, "now": NOW, "progress": False, "chunk_rows": chunk_rows}
    route_file(src, tmp_path / "streamed.parquet", **kw)
    streamed = not merged
    monkeypatch.setattr(ParquetMerge, "finish", lambda self: self.close() or False)
    route_file(src, tmp_path / "merged.parquet", **kw)
    assert merged[-1] == -(-rows // chunk_rows)
    assert (tmp_path / "streamed.parquet").read_bytes() == (
        tmp_path / "merged.parquet"
    ).read_bytes()
    table = pq.read_table(tmp_path / "streamed.parquet")
    assert table.num_rows == rows and table["extra"].null_count == 120
    assert streamed == streams


@pytest.mark.parametrize("in_fmt, workers", [("csv", None), ("parquet", 2)])
def test_a_killed_parquet_run_resumes_to_the_bytes_of_a_clean_run(
    router, tmp_path, in_fmt, workers
):
    src = tmp_path / f"big.{in_fmt}"
    reports = generate(4000, BOUNDARIES / "jakarta_kel.parquet", seed=8)
    named = " di kel. Menteng RW 03 jl. Sudirman kecamatan Tebet"  # so that the run streams
    reports.loc[::50, "text"] = reports.loc[::50, "text"] + named
    if in_fmt == "csv":
        write_csv(reports, src, broken=20, seed=5)
    else:  # record batches sent to two worker processes
        lon, lat = (pd.to_numeric(reports[c], errors="coerce") for c in ("lon", "lat"))
        points = gpd.points_from_xy(lon, lat)
        gpd.GeoDataFrame(reports.drop(columns=["lon", "lat"]), geometry=points).to_parquet(src)
    clean = tmp_path / "clean.parquet"
    route_file(src, clean, columns=REPORTER, chunk_rows=100, router=router, now=NOW, progress=False)
    out = tmp_path / "killed.parquet"
    done = kill_after(src, out, 5, workers)
    assert 5 <= done < 41, "the run was killed part-way"
    assert not out.exists()
    resume(src, out, workers)
    assert out.read_bytes() == clean.read_bytes()
    assert not (tmp_path / "killed.parquet.parts").exists()


@pytest.mark.parametrize(
    ("fail_at", "error"),
    [(1, OSError(5, "Input/output error")), (3, OSError(5, "Input/output error")),
     (3, RuntimeError("Input/output error"))],  # a traceback that keeps the run's frame
)  # fmt: skip
@pytest.mark.parametrize("ext", ["parquet", "csv"])
def test_a_run_stopped_by_an_error_leaves_no_thread(
    router, tmp_path, monkeypatch, fail_at, error, ext
):
    import threading

    src = tmp_path / "r.csv"
    write_csv(generate(500, BOUNDARIES / "jakarta_kel.parquet", seed=6), src)
    from lapor_router.batch import engine

    calls = {"n": 0}
    route = engine.route_chunk_unmasked  # what the local engine calls

    def failing(*a, **k):
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise error
        return route(*a, **k)

    monkeypatch.setattr(engine, "route_chunk_unmasked", failing)
    with pytest.raises(Exception, match="Input/output error"):
        route_file(src, tmp_path / f"o.{ext}", router=router, now=NOW, progress=False,
                   chunk_rows=100)  # fmt: skip
    assert not [
        t for t in threading.enumerate() if t.name.startswith(("lapor-merge", "lapor-reader"))
    ]
    assert not (tmp_path / f"o.{ext}").exists()


def test_routing_text_columns_are_text_in_parquet_whether_or_not_a_row_has_a_value(
    router, tmp_path, monkeypatch
):
    # they were typed `null` when no row of the file had a value (a file whose texts name
    # no place), and a first chunk without one stopped the stream for a merge at the end
    reports = generate(400, BOUNDARIES / "jakarta_kel.parquet", seed=5)
    named = " di kel. Menteng RW 03 jl. Sudirman kecamatan Tebet"
    later = reports.copy()
    later.loc[300::7, "text"] = later.loc[300::7, "text"] + named
    merged: list[int] = []
    merge = batch_run.merge_parts
    monkeypatch.setattr(
        batch_run, "merge_parts", lambda p, *a: merged.append(len(p)) or merge(p, *a)
    )
    places = ("named_kelurahan", "named_kode", "named_kecamatan", "rw", "street")
    for name, frame in (("none", reports), ("later", later)):
        src = tmp_path / f"{name}.csv"
        write_csv(frame, src)
        out = tmp_path / f"{name}.parquet"
        route_file(src, out, router=router, now=NOW, progress=False, chunk_rows=150)
        table = pq.read_table(out)
        for c in (*places, "unit_id", "receiver", "claimed_kode", "rule_set"):
            assert table.schema.field(c).type == pa.string(), (name, c)
        counts = [table[c].null_count for c in places]
        assert counts == [400] * 5 if name == "none" else min(counts) < 400, (name, counts)
    assert merged == []  # both streamed
