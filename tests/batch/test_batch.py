"""Batch re-routing of report files: formats, every row accounted for, resume after a kill,
spreadsheet safety, privacy, and the Dask engine equal to the local one."""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from killed_runs import kill_after, resume

from lapor_router import Report, Router
from lapor_router.batch import OUTPUT_COLUMNS, BatchError, Columns, route_file, route_frame

from conftest import BOUNDARIES, ROOT

sys.path.insert(0, str(ROOT / "examples"))
from generate_reports import generate, write_csv

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
REPORTER = Columns(reporter=("reporter_name", "reporter_phone"))


@pytest.fixture(scope="module")
def reports() -> pd.DataFrame:
    return generate(400, BOUNDARIES / "jakarta_kel.parquet", seed=7)


@pytest.fixture(scope="module")
def messy_csv(tmp_path_factory, reports) -> Path:
    path = tmp_path_factory.mktemp("in") / "reports.csv"
    write_csv(reports, path, broken=12, seed=3)
    return path


def read_any(path: Path) -> pd.DataFrame:
    suffix = path.suffix
    if suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    if suffix == ".jsonl":
        return pd.read_json(path, lines=True, dtype=False)
    if suffix == ".geojson":
        return gpd.read_file(path)
    return gpd.read_parquet(path)


def rejects_of(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_every_row_is_written_or_rejected_exactly_once(router, messy_csv, tmp_path):
    out = tmp_path / "routed.csv"
    summary = route_file(
        messy_csv, out, columns=REPORTER, chunk_rows=97, router=router, now=NOW, progress=False
    )
    routed, rejected = read_any(out), rejects_of(tmp_path / "routed.csv.rejects.csv")
    ids = sorted(routed["row_id"].astype(int).tolist() + rejected["row_id"].astype(int).tolist())
    with open(messy_csv, "rb") as fh:
        data_lines = sum(1 for _ in fh) - 1
    assert ids == list(range(data_lines)) == list(range(summary["rows_read"]))
    assert (summary["rows_written"], summary["rows_rejected"]) == (400, 12)
    assert set(rejected["reject_reason"].str.split(":").str[0]) >= {
        "broken quoting",
        "bad encoding",
        "empty line",
        "expected 12 fields, got 10",
    }
    assert not (tmp_path / "routed.csv.parts").exists()
    saved = json.loads((tmp_path / "routed.csv.summary.json").read_text(encoding="utf-8"))
    assert saved["rows_read"] == summary["rows_read"]
    assert sum(saved["by_status"].values()) == 400
    assert saved["rows_rerouted"] == int((routed["reroute"] == "True").sum()) > 0


def test_output_columns_and_rows_follow_the_input(router, messy_csv, tmp_path, reports):
    out = tmp_path / "routed.csv"
    route_file(messy_csv, out, columns=REPORTER, router=router, now=NOW, progress=False)
    routed = read_any(out)
    expected = [
        "report_id",
        "created_at",
        "lon",
        "lat",
        "accuracy_m",
        "claimed_kelurahan",
        "category_input",
        "text",
        "current_unit",
        "private",
        "reporter_name",
        "reporter_phone",
        "row_id",
        "kelurahan_kode",
        "kelurahan",
        "kecamatan",
        "kota",
        "location_status",
        "claimed_kode",
        "unit_id",
        "unit_name",
        "category",
        "category_source",
        "respond_by",
        "due_at",
        "emergency",
        "flags",
        "reroute",
        # added by the text issue: the place the text names, the category candidates
        "named_kelurahan",
        "named_kode",
        "named_kecamatan",
        "rt",
        "rw",
        "street",
        "category_candidates",
        "classifier",
        # provenance of every row
        "boundary_set",
        "rule_set",
        # added by the asset issue: who takes a report outside Jakarta
        "receiver",
        "receiver_channel",
    ]
    assert list(routed.columns) == expected
    assert list(routed["report_id"]) == list(reports["report_id"])
    bad = routed[routed["location_status"] == "invalid"]
    assert len(bad) > 0 and (bad["unit_id"] == "biro_pemerintahan").all()


def test_batch_decisions_equal_route_row_by_row(router, reports, tmp_path):
    path = tmp_path / "clean.csv"
    reports.to_csv(path, index=False)
    reports = pd.read_csv(path, dtype=str, keep_default_na=False)  # as a file gives them
    routed = route_frame(router, reports, REPORTER, now=NOW)
    for i in range(0, len(reports), 3):
        r = reports.iloc[i]
        d = router.route(
            Report(
                r.lon,
                r.lat,
                category=r.category,
                text=r.text,
                claimed=r.claimed_kelurahan,
                accuracy_m=r.accuracy_m,
                created_at=r.created_at,
            ),
            now=NOW,
        )
        got = routed.iloc[i]
        assert (got.unit_id if isinstance(got.unit_id, str) else None) == d.unit_id
        assert (got.category if isinstance(got.category, str) else None) == d.category
        assert (got.category_source if isinstance(got.category_source, str) else None) == (
            d.category_source
        )
        assert got["flags"] == d.flags
        assert got.category_candidates == d.category_candidates
        assert got.classifier == d.classifier
        assert got.boundary_set == d.location.boundary_set == router.boundaries.id
        # the decision names the rule set's version; the row its version@sha256
        assert got.rule_set == router.rules.fingerprint
        assert got.rule_set == f"{d.rule_set}@{router.rules.spec.digest[:12]}"
        assert (got.named_kode if isinstance(got.named_kode, str) else None) == d.named_kode
        for field in ("rt", "rw", "street"):
            value = got[field] if isinstance(got[field], str) else None
            assert value == (getattr(d.named, field) if d.named else None), field
        assert (pd.isna(got.due_at) and d.due_at is None) or got.due_at == d.due_at
        assert (pd.isna(got.respond_by) and d.respond_by is None) or got.respond_by == d.respond_by
        assert bool(got.emergency) == d.emergency


@pytest.mark.parametrize("out_name", ["o.csv", "o.jsonl", "o.geojson", "o.parquet"])
def test_each_output_format_round_trips(router, messy_csv, tmp_path, out_name):
    reference = read_any(_run(router, messy_csv, tmp_path / "ref.csv"))
    routed = read_any(_run(router, messy_csv, tmp_path / out_name))
    assert len(routed) == len(reference) == 400
    for col in ("row_id", "kelurahan_kode", "unit_id", "category", "location_status", "report_id"):
        a = routed[col].map(lambda v: "" if v is None or v != v else str(v)).tolist()
        b = reference[col].map(lambda v: "" if v is None or v != v else str(v)).tolist()
        assert a == b, col
    if out_name.endswith((".geojson", ".parquet")):
        assert routed.geometry.notna().sum() == (reference["location_status"] != "invalid").sum()


@pytest.mark.parametrize("out_name", ["o.csv", "o.jsonl", "o.geojson", "o.parquet"])
def test_every_row_names_its_boundary_set_rule_set_and_classifier(router, tmp_path, out_name):
    src = tmp_path / "i.csv"
    src.write_text(
        "report_id,lon,lat,text\nA,106.8272,-6.1754,jalan berlubang\nB,abc,,sampah numpuk\n",
        encoding="utf-8",
    )
    out = tmp_path / out_name
    route_file(src, out, router=router, now=NOW, progress=False)
    routed = read_any(out)
    assert routed["boundary_set"].tolist() == ["jakarta_kel.parquet@608837af3f4f"] * 2
    assert routed["rule_set"].tolist() == [router.rules.fingerprint] * 2
    assert router.rules.fingerprint.startswith(router.rules.version + "@")
    assert routed["classifier"].tolist() == [router.classifier.name] * 2


def test_geoparquet_output_carries_the_wgs84_crs(router, messy_csv, tmp_path):
    from pyproj import CRS

    out = _run(router, messy_csv, tmp_path / "o.parquet")
    geo = json.loads(pq.read_schema(out).metadata[b"geo"])
    assert geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"]["crs"] == CRS.from_epsg(4326).to_json_dict()
    routed = gpd.read_parquet(out)
    assert routed.crs.to_epsg() == 4326 and len(routed) == 400
    header_only = tmp_path / "h.csv"
    header_only.write_text("lon,lat,text\n", encoding="utf-8")
    route_file(header_only, tmp_path / "e.parquet", router=router, now=NOW, progress=False)
    empty = gpd.read_parquet(tmp_path / "e.parquet")
    assert len(empty) == 0 and empty.crs.to_epsg() == 4326
    assert list(empty.columns) == ["lon", "lat", "text", *OUTPUT_COLUMNS, "geometry"]


def _deadlines(path: Path) -> list[tuple[str, str]]:
    """(respond_by, due_at) of each written row, as the file holds them (text, or Parquet
    timestamps in ISO form)."""
    if path.suffix == ".parquet":
        rows = pq.read_table(path, columns=["respond_by", "due_at"]).to_pylist()
        return [(r["respond_by"].isoformat(), r["due_at"].isoformat()) for r in rows]
    if path.suffix == ".csv":
        rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    elif path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    else:
        rows = [f["properties"] for f in json.loads(path.read_text(encoding="utf-8"))["features"]]
    return [(r["respond_by"], r["due_at"]) for r in rows]


@pytest.mark.parametrize("out_name", ["o.csv", "o.jsonl", "o.geojson", "o.parquet"])
def test_deadlines_are_written_to_the_second_with_the_wib_offset(router, tmp_path, out_name):
    src = tmp_path / "i.csv"
    src.write_text(
        "report_id,lon,lat,text,created_at\n"
        "A,106.8272,-6.1754,jalan berlubang,2026-11-03T10:15:30.923456\n"
        "B,106.8272,-6.1754,jalan berlubang,\n",  # no creation time: the run's clock
        encoding="utf-8",
    )
    out = tmp_path / out_name
    now = NOW.replace(second=12, microsecond=654321)
    route_file(src, out, router=router, now=now, progress=False)
    assert _deadlines(out) == [
        ("2026-11-04T10:15:30+07:00", "2026-11-09T10:15:30+07:00"),
        ("2026-11-24T10:00:12+07:00", "2026-11-29T10:00:12+07:00"),
    ]


def test_the_run_clock_is_kept_to_the_second(router, tmp_path):
    src = tmp_path / "i.csv"
    src.write_text("lon,lat,text\n106.8272,-6.1754,jalan berlubang\n", encoding="utf-8")
    summary = route_file(src, tmp_path / "o.csv", router=router, progress=False)
    started = datetime.fromisoformat(summary["run_started_at"])
    assert started.microsecond == 0 and started.utcoffset().total_seconds() == 7 * 3600
    assert summary["run_started_at"] == started.isoformat(timespec="seconds")


@pytest.mark.parametrize("in_name", ["i.jsonl", "i.geojson", "i.parquet"])
def test_each_input_format_routes_like_csv(router, reports, tmp_path, in_name):
    clean = reports[
        pd.to_numeric(reports["lon"], errors="coerce").notna()
        & pd.to_numeric(reports["lat"], errors="coerce").notna()
    ].reset_index(drop=True)
    csv_in = tmp_path / "i.csv"
    clean.to_csv(csv_in, index=False)
    src = tmp_path / in_name
    if in_name.endswith(".jsonl"):
        clean.to_json(src, orient="records", lines=True)
    else:
        g = gpd.GeoDataFrame(
            clean.drop(columns=["lon", "lat"]),
            geometry=gpd.points_from_xy(clean["lon"].astype(float), clean["lat"].astype(float)),
            crs=4326,
        )
        g.to_file(src, driver="GeoJSON") if in_name.endswith(".geojson") else g.to_parquet(src)
    a = read_any(_run(router, csv_in, tmp_path / "a.csv"))
    b = read_any(_run(router, src, tmp_path / "b.csv"))
    assert len(a) == len(b) == len(clean)
    for col in ("kelurahan_kode", "unit_id", "category", "flags", "due_at"):
        assert a[col].tolist() == b[col].tolist(), col


def test_unreadable_geometries_and_json_lines_are_rejected(router, tmp_path):
    lines = [
        '{"lon": 106.8272, "lat": -6.1754, "text": "sampah"}',
        "{not json",
        "[1, 2]",
        "",
        '{"lon": "x", "lat": null}',
    ]
    src = tmp_path / "r.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = _summary(router, src, tmp_path / "o.csv")
    assert (summary["rows_written"], summary["rows_rejected"]) == (2, 3)
    gj = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [106.8272, -6.1754]},
                "properties": {"text": "got mampet"},
            },
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": "rusak"},
                "properties": {"text": "x"},
            },
            {"type": "Feature", "geometry": None, "properties": {"text": "tanpa lokasi"}},
        ],
    }
    src = tmp_path / "r.geojson"
    src.write_text(json.dumps(gj), encoding="utf-8")
    summary = _summary(router, src, tmp_path / "o2.csv")
    assert (summary["rows_written"], summary["rows_rejected"]) == (2, 1)
    rejected = rejects_of(tmp_path / "o2.csv.rejects.csv")
    assert rejected["row_id"].tolist() == ["1"]
    assert rejected["reject_reason"].iat[0].startswith("unreadable geometry")


def test_spreadsheet_formulas_are_neutralised(router, messy_csv, tmp_path):
    out = _run(router, messy_csv, tmp_path / "o.csv")
    with open(out, encoding="utf-8", newline="") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@")]
    dangerous = [c for c in cells if c.startswith("-") and not _is_number(c)]
    assert dangerous == []
    assert any(c.startswith("'=HYPERLINK") for c in cells)
    assert any(_is_number(c) and c.startswith("-6.") for c in cells)  # latitudes untouched


def test_private_reporters_are_masked(router, messy_csv, tmp_path, reports):
    routed = read_any(_run(router, messy_csv, tmp_path / "o.csv"))
    private = routed["private"] == "true"
    assert private.sum() > 0 and (~private).sum() > 0
    assert (routed.loc[private, "reporter_name"] == "[disamarkan]").all()
    assert (routed.loc[private, "reporter_phone"] == "[disamarkan]").all()
    assert (routed.loc[~private, "reporter_name"] != "[disamarkan]").all()
    assert not routed["text"].str.contains("0812-3456-7890").any()
    assert routed["text"].str.contains("[disamarkan]", regex=False).any()


@pytest.mark.parametrize("workers", [None, 2])
def test_resume_after_sigkill_equals_a_clean_run(router, tmp_path, reports, workers):
    src = tmp_path / "big.csv"
    big = pd.concat([reports] * 10, ignore_index=True)
    write_csv(big, src, broken=20, seed=5)
    clean = tmp_path / "clean.csv"
    route_file(src, clean, columns=REPORTER, chunk_rows=100, router=router, now=NOW, progress=False)
    out = tmp_path / "killed.csv"
    done = kill_after(src, out, 3, workers)
    assert 3 <= done < 41, "the run was killed part-way"
    assert not out.exists(), "an interrupted run leaves no complete-looking output"
    resume(src, out, workers)
    assert out.read_bytes() == clean.read_bytes()
    assert (tmp_path / "killed.csv.rejects.csv").read_bytes() == (
        tmp_path / "clean.csv.rejects.csv"
    ).read_bytes()
    s1 = json.loads((tmp_path / "clean.csv.summary.json").read_text())
    s2 = json.loads((tmp_path / "killed.csv.summary.json").read_text())
    for key in ("input", "output", "rejects", "run_started_at"):
        s1.pop(key), s2.pop(key)
    assert s1 == s2


def test_resume_refuses_a_changed_input(router, messy_csv, tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(messy_csv.read_bytes())
    out = tmp_path / "o.csv"
    parts = tmp_path / "o.csv.parts"
    route_file(src, out, router=router, now=NOW, progress=False, chunk_rows=50)
    parts.mkdir()
    (parts / "progress.json").write_text(
        json.dumps({"settings": {"input": {}}, "now": NOW.isoformat(), "chunks": []})
    )
    with pytest.raises(BatchError, match="changed since the interrupted run"):
        route_file(src, out, router=router, now=NOW, progress=False, resume=True)


def test_bad_requests_get_typed_errors(router, messy_csv, tmp_path):
    with pytest.raises(BatchError, match="unknown format"):
        route_file(messy_csv, tmp_path / "o.xlsx", router=router)
    with pytest.raises(BatchError, match="no such input"):
        route_file(tmp_path / "none.csv", tmp_path / "o.csv", router=router)
    with pytest.raises(BatchError, match="column 'bujur_x'"):
        route_file(
            messy_csv,
            tmp_path / "o.csv",
            columns=Columns(lon="bujur_x"),
            router=router,
            progress=False,
        )
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(BatchError, match="header"):
        route_file(empty, tmp_path / "o.csv", router=router, progress=False)


def test_dask_engine_equals_local(router, messy_csv, tmp_path):
    local = _run(router, messy_csv, tmp_path / "local.csv", chunk_rows=120)
    remote = tmp_path / "dask.csv"
    route_file(
        messy_csv,
        remote,
        columns=REPORTER,
        chunk_rows=120,
        router=router,
        now=NOW,
        engine="dask",
        workers=2,
        progress=False,
    )
    assert remote.read_bytes() == local.read_bytes()


def test_route_dask_equals_route_frame(router, reports):
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    from lapor_router.dask import route_dask

    expected = route_frame(router, reports, REPORTER, now=NOW)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        ddf = dd.from_pandas(reports, npartitions=4)
        got = route_dask(ddf, router, REPORTER, client=client, now=NOW).compute()
    assert list(got.columns) == list(expected.columns)
    for col in expected.columns:
        assert [_plain(v) for v in got[col]] == [_plain(v) for v in expected[col]], col


def test_cli_route_and_report(messy_csv, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from lapor_router import install
    from lapor_router.cli import app

    monkeypatch.setenv("LAPOR_ROUTER_DATA", str(tmp_path / "home"))
    install(BOUNDARIES, ["jakarta"])
    runner = CliRunner()
    out = tmp_path / "o.parquet"
    result = runner.invoke(
        app,
        [
            "route",
            str(messy_csv),
            "-o",
            str(out),
            "--reporter-cols",
            "reporter_name,reporter_phone",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows_read"] == summary["rows_written"] + summary["rows_rejected"] == 412
    assert summary["encoding"] == "utf-8"
    assert result.stderr.splitlines() == [
        "warning: 2 row(s) rejected as not UTF-8: if the file was saved by a spreadsheet "
        "on Windows, run again with --encoding cp1252"
    ]
    result = runner.invoke(
        app,
        ["report", str(out), "--html", str(tmp_path / "m.html"), "--png", str(tmp_path / "m.png")],
    )
    assert result.exit_code == 0, result.output
    html = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert "Laporan per kelurahan" in html and "PolyLine" in html.replace("polyline", "PolyLine")
    assert (tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = runner.invoke(app, ["route", str(messy_csv), "-o", str(tmp_path / "o.txt")])
    assert bad.exit_code == 2 and "unknown format" in bad.output


def _run(router: Router, src: Path, out: Path, chunk_rows: int = 150) -> Path:
    route_file(
        src, out, columns=REPORTER, chunk_rows=chunk_rows, router=router, now=NOW, progress=False
    )
    return out


def _summary(router: Router, src: Path, out: Path) -> dict:
    return route_file(src, out, router=router, now=NOW, progress=False)


def _plain(v: object) -> object:
    """A value with every kind of missing (None, NaN, NA, NaT) as None."""
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
        return None
    return v


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return np.isfinite(float(text))


def test_a_file_with_only_a_header_gives_an_empty_output_with_every_column(router, tmp_path):
    src = tmp_path / "h.csv"
    src.write_text("lon,lat,text\n", encoding="utf-8")
    summary = _summary(router, src, tmp_path / "o.csv")
    assert (summary["rows_read"], summary["rows_written"], summary["chunks"]) == (0, 0, 0)
    header = (tmp_path / "o.csv").read_text(encoding="utf-8").splitlines()
    assert header == [",".join(["lon", "lat", "text", *OUTPUT_COLUMNS])]


def test_progress_bar_only_on_a_terminal(monkeypatch, tmp_path):
    from lapor_router.batch.run import _progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert _progress(None) is None
    assert _progress(False) is None
    bar = _progress(True)
    assert bar is not None
    bar.stop()
