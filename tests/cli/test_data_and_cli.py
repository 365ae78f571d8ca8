"""Boundary data provisioning, the committed registry, and the command line."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lapor_router import (
    ChecksumError,
    DataError,
    DataNotInstalledError,
    Router,
    _data,
    data_dir,
    install,
)
from lapor_router.cli import app

from conftest import BOUNDARIES, ROOT

JAKARTA_FILES = [
    "jakarta_kel.parquet",
    "jakarta_kec.parquet",
    "jakarta_kab.parquet",
    "jakarta_prov.parquet",
]


@pytest.fixture()
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LAPOR_ROUTER_DATA", str(tmp_path / "home"))
    return tmp_path / "home" / "kelurahan_boundaries"


@pytest.fixture()
def fake_source(tmp_path: Path) -> Path:
    """A source directory holding copies of the Jakarta files (never the project's)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in JAKARTA_FILES:
        shutil.copyfile(BOUNDARIES / name, src / name)
    return src


def test_install_copies_and_verifies(data_home: Path):
    done = install(BOUNDARIES, ["jakarta"])
    assert data_dir() == data_home
    assert [f.name for f in done] == JAKARTA_FILES
    assert all(f.status == "installed" for f in done)
    for f in done:
        assert _data.sha256_file(f.path) == _data.manifest()["files"][f.name]["sha256"]
    again = install(BOUNDARIES, ["jakarta"])
    assert {f.status for f in again} == {"already installed"}
    assert not list(data_home.glob(".*partial"))


def test_install_refuses_a_corrupted_file(data_home: Path, fake_source: Path):
    with open(fake_source / "jakarta_kec.parquet", "ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(ChecksumError, match=r"jakarta_kec.parquet.*does not match") as info:
        install(fake_source, ["jakarta"])
    assert info.value.expected == _data.manifest()["files"]["jakarta_kec.parquet"]["sha256"]
    assert not (data_home / "jakarta_kec.parquet").exists()
    assert not list(data_home.glob(".*partial"))


def test_install_names_a_missing_file(data_home: Path, fake_source: Path):
    (fake_source / "jakarta_prov.parquet").unlink()
    with pytest.raises(DataError, match=r"jakarta_prov.parquet: not found"):
        install(fake_source, ["jakarta"])
    with pytest.raises(DataError, match=r"unknown boundary set"):
        install(fake_source, ["atlantis"])
    with pytest.raises(DataError, match=r"not a directory"):
        install(fake_source / "nothing", ["jakarta"])


def test_router_default_needs_installed_data(data_home: Path):
    with pytest.raises(DataNotInstalledError, match=r"lapor-router data install"):
        Router.default()
    install(BOUNDARIES, ["jakarta"])
    router = Router.default()
    assert len(router.boundaries) == 267
    loc = router.locate(106.8272, -6.1754)
    assert (loc.nama, loc.kota) == ("Gambir", "Kota Administrasi Jakarta Pusat")
    assert router.locate(107.0, -6.25).external_kode is None  # no context installed
    with pytest.raises(DataNotInstalledError):
        Router.default(context=True)


def test_router_default_uses_installed_context(data_home: Path):
    install(BOUNDARIES)
    assert Router.default().locate(107.0, -6.25).external_kota == "Kota Bekasi"
    assert Router.default(context=False).locate(107.0, -6.25).external_kota is None


def test_registry_matches_the_boundary_file(jakarta):
    path = ROOT / "data" / "kelurahan_boundaries" / "registry.csv"
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 267
    assert [r["kode"] for r in rows] == list(jakarta.codes)
    assert [r["kelurahan"] for r in rows] == list(jakarta.names)
    assert [r["kecamatan"] for r in rows] == list(jakarta.kecamatan_names)
    assert len({r["kecamatan_kode"] for r in rows}) == 44
    assert len({r["kota_kode"] for r in rows}) == 6
    gambir = next(r for r in rows if r["kode"] == "31.71.01.1001")
    assert gambir["kelurahan"] == "Gambir" and gambir["kota"].endswith("Jakarta Pusat")


def test_manifest_describes_every_shared_file():
    files = _data.manifest()["files"]
    for name, meta in files.items():
        assert (BOUNDARIES / name).stat().st_size == meta["bytes"], name
    assert files["jakarta_kel.parquet"]["overlapping_pairs"] == 479
    assert _data.manifest()["source"]["licence"] == "MIT"


runner = CliRunner()


def test_cli_data_install_and_locate(data_home: Path):
    result = runner.invoke(app, ["data", "install", str(BOUNDARIES), "--set", "jakarta"])
    assert result.exit_code == 0, result.output
    assert "jakarta_kel.parquet" in result.output
    result = runner.invoke(
        app,
        [
            "locate",
            "106.8272",
            "-6.1754",
            "--json",
            "--claimed",
            "Kel. Rawasari",
            "--accuracy",
            "50",
        ],
    )
    assert result.exit_code == 0, result.output
    loc = json.loads(result.output)
    assert loc["kode"] == "31.71.01.1001" and loc["status"] == "inside"
    assert loc["claimed_kode"] == "31.71.05.1003" and "claimed_mismatch" in loc["flags"]
    result = runner.invoke(app, ["locate", "abc", "-6.1", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["status"] == "invalid"


def test_cli_reports_errors_with_exit_code_2(data_home: Path, tmp_path: Path):
    result = runner.invoke(app, ["locate", "106.8", "-6.2"])
    assert result.exit_code == 2
    assert "not installed" in result.output
    result = runner.invoke(app, ["data", "install", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "not a directory" in result.output


def test_cli_resume_with_nothing_to_resume_exits_2(data_home: Path, tmp_path: Path):
    install(BOUNDARIES, ["jakarta"])
    src = tmp_path / "in.csv"
    src.write_text("lon,lat,text\n106.8272,-6.1754,sampah numpuk\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["route", str(src), "-o", str(out), "--resume"])
    assert result.exit_code == 2
    assert f"nothing to resume: no interrupted run of {out}" in " ".join(result.output.split())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "in.csv"]


def test_cli_boundaries_check_json():
    result = runner.invoke(
        app, ["boundaries", "check", str(BOUNDARIES / "jakarta_kel.parquet"), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["kelurahan"], report["overlapping_pairs"], report["mainland_holes"]) == (
        267,
        479,
        896,
    )


def test_cli_chunk_rows_below_one_exits_2_at_once(data_home: Path, tmp_path: Path):
    install(BOUNDARIES, ["jakarta"])
    src = tmp_path / "in.csv"
    src.write_text("lon,lat,text\n106.8272,-6.1754,sampah numpuk\n", encoding="utf-8")
    result = runner.invoke(app, ["route", str(src), "-o", str(tmp_path / "o.csv"),
                                 "--chunk-rows", "0"])  # fmt: skip
    assert result.exit_code == 2
    assert "chunk_rows must be a whole number of at least 1, not 0" in " ".join(
        result.output.split()
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "in.csv"]


def test_cli_route_help_names_the_default_chunk_size():
    from lapor_router.batch import CHUNK_ROWS

    result = runner.invoke(app, ["route", "--help"])
    assert result.exit_code == 0
    # the help as words, without the box rich draws around the options
    assert f"default {CHUNK_ROWS:,};" in " ".join(result.output.replace("│", " ").split())
