"""Report files as a hostile or unlucky user brings them: every row real, nothing lost,
every failure one clear error, and a run that can always be resumed or finished."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from lapor_router import Router
from lapor_router.batch import BatchError, Columns, NothingToResumeError, route_file
from lapor_router.batch import engine as engine_module
from lapor_router.batch import run as run_module
from lapor_router.files import salvage
from lapor_router.route import default_rules_path

from conftest import BOUNDARIES, ROOT

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
HEADER = ["report_id", "lon", "lat", "category", "text", "private", "reporter_name"]


def _row(i: int, text: str = "sampah numpuk", private: str = "false") -> list[str]:
    return [f"R{i:04d}", "106.8272", "-6.1754", "garbage", text, private, f"Warga {i}"]


def _write(path: Path, rows: list[list[str]], raw_after: dict[int, bytes] | None = None) -> Path:
    """A CSV of ``rows`` (csv module quoting), with raw bytes inserted after some rows."""
    with open(path, "wb") as fh:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(HEADER)
        fh.write(buf.getvalue().encode())
        for i, row in enumerate(rows):
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerow(row)
            fh.write(buf.getvalue().encode())
            if raw_after and i in raw_after:
                fh.write(raw_after[i])
    return path


def _route(router, src: Path, out: Path, **kw):
    kw.setdefault("chunk_rows", 50)
    return route_file(src, out, router=router, now=NOW, progress=False, **kw)


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# ------------------------------------------------------------------ rows that are real


@pytest.mark.parametrize("lines", [120, 150, 1000])
def test_a_long_quoted_field_is_one_row_however_its_lines_look(router, tmp_path, lines):
    # each line of the field looks like a report of its own
    field = "\n".join(f"R9{k:03d},106.8,-6.2,garbage,teks palsu {k},false,X" for k in range(lines))
    rows = [_row(0), _row(1, text=field), _row(2)]
    summary = _route(router, _write(tmp_path / "in.csv", rows), tmp_path / "out.csv")
    routed = _read(tmp_path / "out.csv")
    assert (summary["rows_written"], summary["rows_rejected"]) == (3, 0)
    assert list(routed["report_id"]) == ["R0000", "R0001", "R0002"]
    assert routed["text"].iat[1].count("teks palsu") == lines


def test_a_record_over_the_size_limit_is_one_reject_never_rows(router, tmp_path, monkeypatch):
    monkeypatch.setattr(salvage, "MAX_RECORD_BYTES", 2_000)
    field = "\n".join(f"R9{k:03d},106.8,-6.2,garbage,teks {k},false,X" for k in range(200))
    rows = [_row(0), _row(1, text=field), _row(2)]
    summary = _route(router, _write(tmp_path / "in.csv", rows), tmp_path / "out.csv")
    rejects = _read(tmp_path / "out.csv.rejects.csv")
    assert (summary["rows_written"], summary["rows_rejected"]) == (2, 1)
    assert list(_read(tmp_path / "out.csv")["report_id"]) == ["R0000", "R0002"]
    assert rejects["reject_reason"].iat[0].startswith("record too long")
    assert list(rejects["row_id"]) == ["1"]


def test_a_quote_that_never_closes_rejects_its_own_line_only(router, tmp_path):
    broken = b'R0999,106.8,-6.2,garbage,"kutipan tak tertutup,false,X\n'
    src = _write(tmp_path / "in.csv", [_row(i) for i in range(4)], {1: broken})
    summary = _route(router, src, tmp_path / "out.csv")
    assert (summary["rows_written"], summary["rows_rejected"]) == (4, 1)
    assert (
        _read(tmp_path / "out.csv.rejects.csv")["reject_reason"].iat[0].startswith("broken quoting")
    )


def test_an_inch_mark_inside_an_unquoted_field_is_text(router, tmp_path):
    inch = b'R0999,106.8272,-6.1754,garbage,pipa 2" bocor di depan rumah,false,X\n'
    src = _write(tmp_path / "in.csv", [_row(0), _row(1)], {0: inch})
    summary = _route(router, src, tmp_path / "out.csv")
    routed = _read(tmp_path / "out.csv")
    assert (summary["rows_written"], summary["rows_rejected"]) == (3, 0)
    assert routed["text"].iat[1] == 'pipa 2" bocor di depan rumah'


# --------------------------------------------------------------------- resume and runs


class _Stop(Exception):
    pass


def _interrupt_after(monkeypatch, parts: int) -> None:
    real, calls = engine_module.write_part, []

    def write_part(*args, **kw):
        calls.append(1)
        if len(calls) > parts:
            raise _Stop
        return real(*args, **kw)

    monkeypatch.setattr(engine_module, "write_part", write_part)


@pytest.fixture
def many_rows(tmp_path) -> Path:
    return _write(
        tmp_path / "in.csv", [_row(i, private="true" if i % 3 else "false") for i in range(300)]
    )


def test_resume_refuses_another_rule_set(router, many_rows, tmp_path, monkeypatch, jakarta):
    out = tmp_path / "out.csv"
    _interrupt_after(monkeypatch, 2)
    with pytest.raises(_Stop):
        _route(router, many_rows, out)
    monkeypatch.undo()
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_path(), rules)
    cats = rules / "categories.toml"
    cats.write_text(cats.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")
    other = Router(jakarta, rules=rules)
    with pytest.raises(BatchError, match=r"rule set.* changed since the interrupted run"):
        _route(other, many_rows, out, resume=True)
    summary = _route(router, many_rows, out, resume=True)  # the same rules still resume
    assert summary["rows_written"] == 300


def test_resume_refuses_another_boundary_set(router, many_rows, tmp_path, monkeypatch, toy):
    out = tmp_path / "out.csv"
    _interrupt_after(monkeypatch, 1)
    with pytest.raises(_Stop):
        _route(router, many_rows, out)
    monkeypatch.undo()
    with pytest.raises(BatchError, match=r"boundary set.* changed since the interrupted run"):
        _route(Router(toy), many_rows, out, resume=True)


def test_resume_refuses_another_classifier(router, many_rows, tmp_path, monkeypatch, model_file):
    out = tmp_path / "out.csv"
    _interrupt_after(monkeypatch, 1)
    with pytest.raises(_Stop):
        _route(router, many_rows, out)
    monkeypatch.undo()
    model = Router(router.boundaries, classifier=model_file)
    with pytest.raises(BatchError, match=r"classifier: keywords@\S+ → model:dinas@"):
        _route(model, many_rows, out, resume=True)


def test_resume_without_an_interrupted_run_is_refused(router, many_rows, tmp_path):
    out = tmp_path / "out.csv"
    with pytest.raises(NothingToResumeError) as refused:
        _route(router, many_rows, out, resume=True)
    assert str(refused.value) == (
        f"nothing to resume: no interrupted run of {out} (run without --resume to start one)"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]
    _route(router, many_rows, out)
    finished = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(NothingToResumeError, match=r"out\.csv is complete; run without --resume"):
        _route(router, many_rows, out, resume=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == finished


_GOOD = b"report_id,lon,lat,text\nA,106.8272,-6.1754,sampah numpuk\n"
REFUSED = {
    "empty file": ("in.csv", b"", {}, "the header has empty or duplicate column names"),
    "duplicate columns": ("in.csv", b"lon,lon\n1,2\n", {}, "duplicate column names"),
    "missing named column": ("in.csv", _GOOD, {"columns": Columns(lon="bujur_x")}, "bujur_x"),
    "no coordinates": ("in.csv", b"report_id,text\nA,sampah\n", {}, "no coordinate columns"),
    "unreadable GeoJSON": ("in.geojson", b"{not json", {}, "not readable GeoJSON"),
    "unreadable Parquet": ("in.parquet", b"PAR1 not really", {}, "not readable Parquet"),
    "unknown engine": ("in.csv", _GOOD, {"engine": "spark"}, "unknown engine 'spark'"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_refused_run_leaves_nothing_behind(router, tmp_path, case):
    name, data, options, message = REFUSED[case]
    (tmp_path / "in").mkdir()
    src = tmp_path / "in" / name
    src.write_bytes(data)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(BatchError, match=message):
        _route(router, src, out / "routed.parquet", **options)
    assert list(out.iterdir()) == []
    assert [p.name for p in (tmp_path / "in").iterdir()] == [name]


def test_a_full_disk_before_the_first_chunk_leaves_nothing(
    router, many_rows, tmp_path, monkeypatch
):
    def full(*args, **kw):
        raise OSError(errno.ENOSPC, "No space left on device", str(args[1]))

    monkeypatch.setattr(engine_module, "write_part", full)
    with pytest.raises(BatchError) as stopped:
        _route(router, many_rows, tmp_path / "out.csv")
    assert str(stopped.value).endswith(
        "no space left on device before any chunk was complete: free some space, "
        "then run the same command again"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_an_interrupted_run_with_chunks_keeps_its_work_folder(
    router, many_rows, tmp_path, monkeypatch
):
    out = tmp_path / "out.csv"
    _interrupt_after(monkeypatch, 2)
    with pytest.raises(_Stop):
        _route(router, many_rows, out)
    monkeypatch.undo()
    parts = tmp_path / "out.csv.parts"
    assert sorted(p.name for p in parts.iterdir()) == [
        "output.csv",  # the output streamed so far (written again from the parts on resume)
        "part-000000.csv",
        "part-000001.csv",
        "progress.json",
        "rejects-000000.csv",
        "rejects-000001.csv",
    ]
    assert len(json.loads((parts / "progress.json").read_text())["chunks"]) == 2
    assert _route(router, many_rows, out, resume=True)["rows_written"] == 300
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "in.csv",
        "out.csv",
        "out.csv.rejects.csv",
        "out.csv.summary.json",
    ]


def test_a_full_disk_stops_with_a_message_and_resume_continues(
    router, many_rows, tmp_path, monkeypatch
):
    reference = tmp_path / "ref.csv"
    _route(router, many_rows, reference)
    out = tmp_path / "out.csv"
    real, calls = engine_module.write_part, []

    def full(*args, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(args[1]))
        return real(*args, **kw)

    monkeypatch.setattr(engine_module, "write_part", full)
    with pytest.raises(BatchError, match=r"no space left on device.*--resume"):
        _route(router, many_rows, out)
    monkeypatch.undo()
    assert not out.exists() and (tmp_path / "out.csv.parts").is_dir()
    _route(router, many_rows, out, resume=True)
    assert out.read_bytes() == reference.read_bytes()


def test_a_stop_while_removing_the_work_folder_still_resumes(
    router, many_rows, tmp_path, monkeypatch
):
    out = tmp_path / "out.csv"
    real = shutil.rmtree

    def half(path, *args, **kw):
        parts = sorted(Path(path).glob("part-*"))
        if not parts:  # the fresh start of the run
            return real(path, *args, **kw)
        parts[0].unlink()  # some files are gone, others are not
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module.shutil, "rmtree", half)
    with pytest.raises(KeyboardInterrupt):
        _route(router, many_rows, out)
    monkeypatch.setattr(run_module.shutil, "rmtree", real)
    finished = out.read_bytes()
    summary = _route(router, many_rows, out, resume=True)
    assert summary["rows_written"] == 300
    assert out.read_bytes() == finished
    assert not (tmp_path / "out.csv.parts").exists()


def test_a_stop_between_the_final_renames_still_resumes(router, many_rows, tmp_path, monkeypatch):
    out = tmp_path / "out.csv"
    real = os.replace

    def stop_at_output(src, dst, *args, **kw):
        if str(dst) == str(out):
            raise KeyboardInterrupt
        return real(src, dst, *args, **kw)

    monkeypatch.setattr(run_module.os, "replace", stop_at_output)
    with pytest.raises(KeyboardInterrupt):
        _route(router, many_rows, out)
    monkeypatch.undo()
    assert not out.exists()
    summary = _route(router, many_rows, out, resume=True)
    assert summary["rows_written"] == 300 and len(_read(out)) == 300
    assert not (tmp_path / "out.csv.parts").exists()


# ------------------------------------------------------------------ clear failures


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_a_second_run_on_the_same_output_is_refused_naming_the_holder(router, many_rows, tmp_path):
    out = tmp_path / "out.csv"
    holder = _sleeper()
    try:
        import socket

        (tmp_path / "out.csv.lock").write_text(
            json.dumps({"pid": holder.pid, "host": socket.gethostname()})
        )
        with pytest.raises(BatchError, match=f"process {holder.pid}"):
            _route(router, many_rows, out)
        assert not (tmp_path / "out.csv.parts").exists()
        cli = subprocess.run(
            [str(Path(sys.executable).with_name("lapor-router")), "route", str(many_rows),
             "-o", str(out)],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "LAPOR_ROUTER_DATA": str(tmp_path / "nodata")},
        )  # fmt: skip
        assert cli.returncode == 2
        assert cli.stderr.strip().count("\n") == 0 and "Traceback" not in cli.stderr
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_left_by_a_killed_run_is_taken_over(router, many_rows, tmp_path):
    import socket

    gone = _sleeper()
    gone.kill()
    gone.wait()
    lock = tmp_path / "out.csv.lock"
    lock.write_text(json.dumps({"pid": gone.pid, "host": socket.gethostname()}))
    summary = _route(router, many_rows, tmp_path / "out.csv")
    assert summary["rows_written"] == 300 and not lock.exists()


@pytest.mark.parametrize("which", ["output", "rejects"])
def test_an_unwritable_folder_is_found_before_any_routing(router, many_rows, tmp_path, which):
    # /proc refuses new files even to root, as a read-only mount would
    out = Path("/proc/lapor-out.csv") if which == "output" else tmp_path / "out.csv"
    rejects = Path("/proc/lapor-rejects.csv") if which == "rejects" else None
    with pytest.raises(BatchError, match=r"cannot write there|no such folder"):
        _route(router, many_rows, out, rejects=rejects)
    assert not list(tmp_path.glob("out.csv*"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_found_before_any_routing(router, many_rows, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(BatchError, match="cannot write there"):
            _route(router, many_rows, tmp_path / "out.csv", rejects=folder / "r.csv")
    finally:
        folder.chmod(0o755)


# -------------------------------------------------------- values that must be invalid rows


def test_huge_integers_in_json_lines_are_invalid_rows(router, tmp_path):
    big = "9" * 401
    lines = [
        f'{{"report_id": "A", "lon": {big}, "lat": -6.1754, "text": "sampah"}}',
        f'{{"report_id": "B", "lon": 106.8272, "lat": -6.1754, "accuracy_m": {big}}}',
        '{"report_id": "C", "lon": 106.8272, "lat": -6.1754}',
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n")
    summary = _route(router, src, tmp_path / "out.jsonl")
    routed = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert summary["rows_written"] == 3
    assert [r["location_status"] for r in routed] == ["invalid", "inside", "inside"]
    assert routed[0]["lon"] == int(big)  # the input value is kept as it was
    assert "invalid_accuracy" in routed[1]["flags"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_creation_times_no_deadline_can_count_from_are_flagged_rows(router, tmp_path, fmt):
    # years 1 and 9999 stopped the whole run with an OverflowError / ValueError traceback
    times = [
        "0001-01-01T00:00:00+00:00",
        "9999-12-31T23:59:59+00:00",
        "2200-12-31T23:00:00-05:00",  # WIB: 2201
        "2026-02-30T10:00:00+07:00",
        "2026-11-03T10:00:00+07:00",
        "2199-06-02T10:00:00+07:00",
    ]
    rows = [{"report_id": f"T{i}", "created_at": t, "lon": 106.8272, "lat": -6.1754,
             "category": "garbage", "text": "sampah"} for i, t in enumerate(times)]  # fmt: skip
    src = tmp_path / f"in.{fmt}"
    if fmt == "csv":
        pd.DataFrame(rows).to_csv(src, index=False)
    else:
        src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.csv"
    summary = _route(router, src, out)
    assert summary["rows_written"] == len(times) and summary["rows_rejected"] == 0
    routed = pd.read_csv(out, dtype=str, keep_default_na=False)
    invalid = ["created_at_invalid" in f for f in routed["flags"]]
    assert invalid == [True, True, True, True, False, False]
    for i in (4, 5):  # the batch deadlines are the scalar route's
        one = router.route(_report(rows[i]), now=NOW)
        assert routed["due_at"][i] == one.due_at.isoformat(), times[i]


def _report(row):
    from lapor_router import Report

    return Report(row["lon"], row["lat"], category=row["category"], text=row["text"],
                  created_at=row["created_at"])  # fmt: skip


def test_empty_points_are_invalid_rows_in_geojson_and_geoparquet(router, tmp_path):
    empty = {"type": "Point", "coordinates": []}
    point = {"type": "Point", "coordinates": [106.8272, -6.1754]}
    features = [
        {"type": "Feature", "geometry": empty, "properties": {"id": "A"}},
        {"type": "Feature", "geometry": point, "properties": {"id": "B"}},
    ]
    gj = tmp_path / "in.geojson"
    gj.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    _route(router, gj, tmp_path / "out.csv")
    assert list(_read(tmp_path / "out.csv")["location_status"]) == ["invalid", "inside"]
    geoms = [shapely.from_wkt("POINT EMPTY"), shapely.Point(106.8272, -6.1754)]
    table = pa.table({"id": ["A", "B"], "geometry": shapely.to_wkb(geoms)})
    geo = {"version": "1.0.0", "primary_column": "geometry",
           "columns": {"geometry": {"encoding": "WKB", "geometry_types": []}}}  # fmt: skip
    pq.write_table(
        table.replace_schema_metadata({b"geo": json.dumps(geo).encode()}), tmp_path / "in.parquet"
    )
    _route(router, tmp_path / "in.parquet", tmp_path / "out2.csv")
    assert list(_read(tmp_path / "out2.csv")["location_status"]) == ["invalid", "inside"]


# ------------------------------------------------------------------------ rejects


PERSONAL = [
    "Siti Aminah",
    "Budi Santoso",
    "0812-1111-2222",
    "0813  3333 4444",
    "(0814) 5555 6666",
    "+62 815-7777-8888",
    "siti.aminah@mail.co.id",
    "budi@contoh.id",
    "3171010101900001",
    "3171 0101 0190 0002",
    "Ani Wulandari",
    "0816-9999-0000",
    "ani@wulan.id",
    "3171010101900003",
    "Dewi Lestari",
    "dewi@lestari.id",
]


def test_malformed_private_rows_leave_no_identity_in_the_rejects(router, tmp_path):
    n, e, p = PERSONAL, "", "true"
    broken = {
        # wrong field counts: nothing can be attributed
        0: f"R0900,106.8,-6.2,garbage,lapor {n[2]},{p},{n[0]},{n[6]},{n[8]}\n".encode(),
        1: f"R0901,106.8,{n[1]} {n[3]},{n[7]}\n".encode(),
        # broken quoting, fields that line up: a private reporter's name is masked too
        2: f'R0902,106.8,-6.2,garbage,"teks "aneh" {n[4]} {n[9]}",{p},{n[10]}\n'.encode(),
        # bad encoding
        3: f"R0903,106.8,-6.2,garbage,hubungi {n[5]} \xff {n[12]},{p},{n[14]}\n".encode("latin-1"),
        # a quoted field that never closes
        4: f'R0904,106.8,-6.2,garbage,"{n[11]} {n[13]} {n[15]},{p},{e}\n'.encode(),
    }
    src = _write(tmp_path / "in.csv", [_row(i) for i in range(6)], broken)
    summary = _route(router, src, tmp_path / "out.csv")
    assert summary["rows_rejected"] == 5 and summary["rows_written"] == 6
    text = (tmp_path / "out.csv.rejects.csv").read_text(encoding="utf-8")
    leaks = [v for v in PERSONAL if v in text or v.split()[0] in text]
    assert leaks == []
    assert text.count("R090") == 5  # the rows stay findable


def test_a_file_with_personal_data_everywhere_leaks_nothing_in_any_format(router, tmp_path):
    """Every column and every free-text shape, through every output format and the rejects."""
    rows = []
    for i in range(12):
        phone, mail, nik = PERSONAL[2 + i % 4], PERSONAL[6 + i % 2], PERSONAL[8 + i % 2]
        who = ["Siti Aminah", "Budi Santoso", "Ani Wulandari", "Dewi Lestari"][i % 4]
        rows.append({
            "report_id": f"R{i:04d}",
            "lon": "106.8272", "lat": "-6.1754",
            "kategori": "garbage",
            "deskripsi": f"sampah numpuk, saya {who}, hubungi {phone} / {mail}, NIK {nik}",
            "private": "true",
            "nama_pelapor": who, "no_hp": phone, "email": mail, "nik": nik,
            "catatan": f"titip ke {who} di {PERSONAL[(i + 1) % 4 + 2]}",
            "created_at": f"{who} {phone}",
        })  # fmt: skip
    frame = pd.DataFrame(rows)
    src = tmp_path / "in.csv"
    frame.to_csv(src, index=False)
    with open(src, "ab") as fh:  # and a malformed private row
        fh.write(f"R0999,106.8,{PERSONAL[0]},{PERSONAL[3]},{PERSONAL[6]},{PERSONAL[9]}\n".encode())
    outputs = []
    for name in ("o.csv", "o.jsonl", "o.geojson", "o.parquet"):
        out = tmp_path / name
        summary = _route(router, src, out)
        assert summary["rows_written"] == 12 and summary["rows_rejected"] == 1
        outputs += [out, tmp_path / f"{name}.rejects.csv", tmp_path / f"{name}.summary.json"]
    blob = b"".join(p.read_bytes() for p in outputs)
    table = pq.read_table(tmp_path / "o.parquet").to_pandas()
    blob += table.drop(columns=["geometry"]).to_csv().encode()
    leaks = [v for v in PERSONAL[:10] if v.encode() in blob]
    names = [w for w in ("Siti", "Budi", "Aminah", "Santoso", "Wulandari") if w.encode() in blob]
    assert leaks == [] and names == []


def test_the_demo_sample_file_keeps_every_row(router, tmp_path):
    sample = ROOT / "examples" / "reports_sample.csv"
    summary = _route(router, sample, tmp_path / "out.csv", columns=Columns())
    with open(sample, "rb") as fh:
        records = sum(1 for _ in fh) - 1
    assert summary["rows_written"] + summary["rows_rejected"] == summary["rows_read"] == records


def test_two_runs_on_one_output_at_once_one_is_refused_in_one_line(tmp_path):
    from lapor_router import install

    env = {**os.environ, "LAPOR_ROUTER_DATA": str(tmp_path / "home")}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAPOR_ROUTER_DATA", env["LAPOR_ROUTER_DATA"])
        install(BOUNDARIES, ["jakarta"])
    src = _write(tmp_path / "in.csv", [_row(i) for i in range(20_000)])
    out = tmp_path / "out.csv"
    cli = str(Path(sys.executable).with_name("lapor-router"))
    args = [cli, "route", str(src), "-o", str(out), "--chunk-rows", "500"]
    first = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    lock = tmp_path / "out.csv.lock"
    for _ in range(600):
        if lock.exists() or first.poll() is not None:
            break
        time.sleep(0.05)
    second = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert first.wait(timeout=300) == 0, first.stderr.read() if first.stderr else ""
    assert second.returncode == 2
    line = second.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert f"process {first.pid}" in line and "out.csv" in line
    assert len(_read(out)) == 20_000 and not lock.exists()
