"""CSV and JSON Lines outputs are written while the run goes on (ConcatMerge): the bytes
merge_parts would write at the end, for parts and for whole runs."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lapor_router.batch import Columns, route_file
from lapor_router.batch import run as batch_run
from lapor_router.files import ConcatMerge, merge_parts

from conftest import BOUNDARIES, ROOT

sys.path.insert(0, str(ROOT / "examples"))
from generate_reports import generate, write_csv

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
COLUMNS = ["report_id", "=HYPERLINK(1)", "text, with a comma"]


def _parts(tmp_path: Path, fmt: str, n: int) -> list[Path]:
    parts = []
    for k in range(n):
        p = tmp_path / f"part-{k:06d}.{fmt}"
        rows = [f'JK{k}{i:03d},"ka, ""{i}""",jalan berlubang\n' for i in range(200)]
        p.write_text("".join(rows) if fmt == "csv" else "".join(f'{{"i": {i}}}\n' for i in rows))
        parts.append(p)
    return parts


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_streamed_parts_are_the_bytes_of_the_merge(tmp_path, fmt):
    from lapor_router.files import csv_header

    parts = _parts(tmp_path, fmt, 5)
    head = csv_header(COLUMNS) if fmt == "csv" else b""
    merge = ConcatMerge(tmp_path / f"streamed.{fmt}", head)
    for p in parts:
        merge.add(p)
    assert merge.finish()
    merge_parts(parts, tmp_path / f"merged.{fmt}", fmt, COLUMNS)
    streamed = (tmp_path / f"streamed.{fmt}").read_bytes()
    assert streamed == (tmp_path / f"merged.{fmt}").read_bytes()
    assert len(streamed) == len(head) + sum(p.stat().st_size for p in parts)
    if fmt == "csv":  # the header's formula is neutralised, as merge_parts does
        assert streamed.startswith(b'report_id,\'=HYPERLINK(1),"text, with a comma"\n')


def test_a_stream_given_no_part_says_so(tmp_path):
    assert ConcatMerge(tmp_path / "o.csv", b"a,b\n").finish() is False
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("fmt, chunk_rows", [("csv", 70), ("csv", 1000), ("jsonl", 90)])
def test_a_streamed_run_writes_the_bytes_of_a_merge_at_the_end(
    router, tmp_path, monkeypatch, fmt, chunk_rows
):
    src = tmp_path / "r.csv"
    write_csv(generate(600, BOUNDARIES / "jakarta_kel.parquet", seed=9), src, broken=6, seed=2)
    merged: list[int] = []
    merge = batch_run.merge_parts
    monkeypatch.setattr(
        batch_run, "merge_parts", lambda p, *a: merged.append(len(p)) or merge(p, *a)
    )
    kw = {
        "router": router, "now": NOW, "progress": False, "chunk_rows": chunk_rows,
        "columns": Columns(reporter=("reporter_name", "reporter_phone")),
    }  # fmt: skip
    route_file(src, tmp_path / f"streamed.{fmt}", **kw)
    assert merged == []  # written as it went
    monkeypatch.setattr(ConcatMerge, "finish", lambda self: self.close() or False)
    route_file(src, tmp_path / f"merged.{fmt}", **kw)
    assert merged == [-(-606 // chunk_rows)]
    streamed = (tmp_path / f"streamed.{fmt}").read_bytes()
    assert streamed == (tmp_path / f"merged.{fmt}").read_bytes()
    assert streamed.count(b"\n") >= 600


def _append_all(tmp_path: Path, parts: list[Path]) -> bytes:
    from lapor_router.files import append_file

    dest = tmp_path / "appended.csv"
    with open(dest, "wb") as out:
        out.write(b"head\n")  # still in the buffer when the first part is appended
        for p in parts:
            append_file(out, p)
        out.write(b"tail\n")
    return dest.read_bytes()


def test_append_file_writes_the_parts_after_what_the_file_holds(tmp_path):
    parts = _parts(tmp_path, "csv", 3)
    expected = b"head\n" + b"".join(p.read_bytes() for p in parts) + b"tail\n"
    assert _append_all(tmp_path, parts) == expected


def test_append_file_copies_by_reads_where_the_kernel_cannot(tmp_path, monkeypatch):
    import errno
    import os

    if not hasattr(os, "sendfile"):
        pytest.skip("no kernel copy on this system")
    calls = []

    def refuse(*args):
        calls.append(args)
        raise OSError(errno.EINVAL, "not between these files")

    parts = _parts(tmp_path, "csv", 3)
    monkeypatch.setattr(os, "sendfile", refuse)
    expected = b"head\n" + b"".join(p.read_bytes() for p in parts) + b"tail\n"
    assert _append_all(tmp_path, parts) == expected
    assert len(calls) == 3  # tried for each part, then read and written


def test_append_file_raises_a_full_disk(tmp_path, monkeypatch):
    import errno
    import os

    if not hasattr(os, "sendfile"):
        pytest.skip("no kernel copy on this system")

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "sendfile", full)
    with pytest.raises(OSError) as err:
        _append_all(tmp_path, _parts(tmp_path, "csv", 1))
    assert err.value.errno == errno.ENOSPC
