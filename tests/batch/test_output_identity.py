"""Batch output stays identical, column by column, to the recorded output of a fixed messy file.

``identity/reports.csv`` (generated once, 600 rows and 20 broken lines) and its routed output
and rejects were recorded with the code of issue 15's start. Any change to what a batch run
writes for it shows here as the columns and rows that differ. When a change of output is
intended (a rule file, a new column), record again with
``python tests/batch/test_output_identity.py`` and say why in the commit.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

HERE = Path(__file__).parent / "identity"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
REPORTER = ("reporter_name", "reporter_phone")


def _run(out_dir: Path, router=None) -> tuple[Path, Path]:
    from lapor_router.batch import Columns, route_file

    out, rej = out_dir / "routed.csv", out_dir / "rejects.csv"
    route_file(
        HERE / "reports.csv", out, rej, columns=Columns(reporter=REPORTER), chunk_rows=150,
        router=router, now=NOW, progress=False,
    )  # fmt: skip
    return out, rej


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _differences(got: pd.DataFrame, want: pd.DataFrame) -> list[str]:
    problems = []
    if list(got.columns) != list(want.columns):
        problems.append(f"columns {list(got.columns)} != {list(want.columns)}")
    if len(got) != len(want):
        problems.append(f"{len(got)} rows != {len(want)}")
    for c in want.columns:
        if c in got and len(got) == len(want):
            bad = (got[c] != want[c]).to_numpy().nonzero()[0]
            if len(bad):
                i = int(bad[0])
                problems.append(
                    f"{c}: {len(bad)} rows differ, first row {i}: {got[c].iat[i]!r} != "
                    f"{want[c].iat[i]!r}"
                )
    return problems


def test_batch_output_is_identical_column_by_column(router, tmp_path):
    out, rej = _run(tmp_path, router)
    assert _differences(_read(out), _read(HERE / "routed.csv")) == []
    assert _differences(_read(rej), _read(HERE / "rejects.csv")) == []


def test_the_recorded_file_is_messy_enough_to_mean_something():
    routed, rejects = _read(HERE / "routed.csv"), _read(HERE / "rejects.csv")
    assert len(routed) + len(rejects) == 620
    assert len(rejects) >= 10
    flags = set("|".join(routed["flags"]).split("|"))
    for flag in ("claimed_mismatch", "swapped_coordinates", "needs_triage", "near_boundary"):
        assert flag in flags
    assert set(routed["location_status"]) >= {"inside", "outside", "invalid"}
    assert (routed["reporter_name"] == "[disamarkan]").any()


if __name__ == "__main__":  # record the input (once) and the expected output
    sys.path.insert(0, str(Path(__file__).parents[2] / "examples"))
    from lapor_router import Router

    from generate_reports import generate, write_csv

    boundaries = Path(__file__).parents[3] / "shared/data/kelurahan_boundaries"
    HERE.mkdir(exist_ok=True)
    if not (HERE / "reports.csv").exists():
        reports = generate(600, boundaries / "jakarta_kel.parquet", seed=15)
        write_csv(reports, HERE / "reports.csv", broken=20, seed=15)
    from lapor_router import load_boundaries

    router = Router(
        load_boundaries(
            boundaries / "jakarta_kel.parquet",
            kecamatan=boundaries / "jakarta_kec.parquet",
            kota=boundaries / "jakarta_kab.parquet",
            province=boundaries / "jakarta_prov.parquet",
        ),
        context=boundaries / "jawabarat_banten_dki_kel.parquet",
    )
    _run(HERE, router)
    for extra in HERE.glob("routed.csv.*"):
        extra.unlink()
