"""`lapor-router cluster`: a cluster id per row of a file, broken lines counted, not lost."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from lapor_router.cli import app

M = 1 / 111_195  # about a metre of latitude


def test_cluster_command(tmp_path):
    lat = -6.2
    rows = [
        "report_id,category,lon,lat,created_at",
        f"a,road_damage,106.8,{lat},2026-11-02T08:00+07:00",
        f"b,road_damage,106.8,{lat + 20 * M},2026-11-03T08:00+07:00",
        f"c,road_damage,106.8,{lat + 45 * M},2026-11-03T09:00+07:00",
        f"d,road_damage,106.8,{lat + 200 * M},2026-11-03T09:00+07:00",
        f"e,garbage,106.8,{lat},2026-11-02T08:00+07:00",
        'f,"broken quoting,106.8,-6.2',
        "g,Jalan Rusak,106.8,-6.2,",
        "h,road_damage,,,",
    ]
    src = tmp_path / "routed.csv"
    src.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "clusters.csv"
    r = CliRunner().invoke(app, ["cluster", str(src), "-o", str(out), "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    got = pd.read_csv(out, dtype=str)
    assert summary["rows"] + summary["rows_rejected"] == 8
    assert summary["rows_rejected"] >= 1
    ids = dict(zip(got.report_id, got.cluster_id.astype(int), strict=True))
    assert ids["a"] == ids["b"] == ids["c"]  # 20 m steps within road_damage's 30 m, a chain
    assert ids["d"] != ids["a"] and ids["e"] != ids["a"]
    assert ids["g"] == -1 and ids["h"] == -1  # not a category code; no point
    sizes = dict(zip(got.report_id, got.cluster_size.astype(int), strict=True))
    assert sizes["a"] == 3 and sizes["d"] == 1 and sizes["g"] == 0
    bad = CliRunner().invoke(app, ["cluster", str(tmp_path / "none.csv"), "-o", str(out)])
    assert bad.exit_code == 2
