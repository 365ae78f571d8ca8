"""Responsiveness figures from a file: a store export gives the same figures as the store; a
routed file gives what it can (no lifecycle columns); bad files get a clear error or count
as unreadable; the PNG chart draws the groups."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lapor_router import Report, Router
from lapor_router.cli import app
from lapor_router.dispatch import FIGURES, LIFE_COLUMNS, STATS_BY, responsiveness
from lapor_router.errors import StatsError
from lapor_router.service import ReportStore

ROOT = Path(__file__).resolve().parents[2]
SPOTS = [(106.8272, -6.1754), (106.7990, -6.2440), (106.9000, -6.1500), (106.8450, -6.3000)]
CATS = ["road_damage", "garbage", "street_light", "flooding", "tree"]


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def cli(home: Path, *args: str) -> Ran:
    """The command in this process (as `lapor-router ARGS` with the data in ``home``)."""
    got = CliRunner().invoke(app, list(args), env={"LAPOR_ROUTER_DATA": str(home)})
    if got.exception is not None and not isinstance(got.exception, SystemExit):
        raise got.exception
    return Ran(got.exit_code, got.stdout, got.stderr)


@pytest.fixture(scope="module")
def filled(data_home, tmp_path_factory) -> Iterator[str]:
    """A SQLite store with 40 reports over three weeks: some transferred, closed or reopened,
    some left open (times as the reports' own, so the figures are fixed)."""
    old = os.environ.get("LAPOR_ROUTER_DATA")
    os.environ["LAPOR_ROUTER_DATA"] = str(data_home)
    url = f"sqlite:///{tmp_path_factory.mktemp('stats') / 'store.db'}"
    store = ReportStore(Router.default(), url)
    tz = store.router.calendar.tz
    rng = np.random.default_rng(7)
    t0 = datetime(2025, 3, 3, 8, 0, tzinfo=tz)
    for i in range(40):
        made = t0 + timedelta(hours=int(rng.integers(0, 21 * 24)))
        lon, lat = SPOTS[i % len(SPOTS)]
        rec = store.submit(
            Report(lon, lat, category=CATS[i % len(CATS)], created_at=made), now=made
        )
        rid, unit = rec["service_request_id"], rec["unit_id"]
        later = made + timedelta(hours=int(rng.integers(1, 120)))
        kind = i % 5
        if kind == 1:
            unit = store.transfer(rid, unit, "bukan kewenangan", now=later)["unit_id"]
        if kind in (1, 2, 3):
            store.close(rid, unit, "selesai", now=later + timedelta(hours=3))
        if kind == 3:
            store.reopen(rid, unit, "belum beres", now=later + timedelta(hours=30))
    store.dispose()
    if old is None:
        os.environ.pop("LAPOR_ROUTER_DATA")
    else:
        os.environ["LAPOR_ROUTER_DATA"] = old
    yield url


def test_export_then_stats_file_equals_stats_from_the_store(data_home, filled, tmp_path):
    store = {}
    for by in STATS_BY:
        a = cli(data_home, "stats", "--db", filled, "--by", by, "--json")
        assert a.returncode == 0, a.stderr
        store[by] = json.loads(a.stdout)
        assert sum(r["received"] for r in store[by]) == 40
    for ext in ("csv", "jsonl", "parquet"):
        path = tmp_path / f"life.{ext}"
        made = cli(data_home, "export", "--db", filled, "-o", str(path))
        assert made.returncode == 0, made.stderr
        assert "wrote 40 report(s)" in made.stdout
        for by in STATS_BY:
            b = cli(data_home, "stats", str(path), "--by", by, "--json")
            assert b.returncode == 0, b.stderr
            assert json.loads(b.stdout) == store[by], (ext, by)
    life = pd.read_csv(tmp_path / "life.csv", dtype=str, keep_default_na=False)
    assert list(life.columns) == list(LIFE_COLUMNS)
    assert (life["reopened"] == "1").sum() == 8 and (life["transfers"] == "1").sum() == 8
    # a period: the first week only, from both sides
    week = ("--from", "2025-03-03T00:00", "--to", "2025-03-09T23:59")
    a = cli(data_home, "stats", "--db", filled, "--by", "kota", "--json", *week)
    b = cli(data_home, "stats", str(tmp_path / "life.csv"), "--by", "kota", "--json", *week)
    assert json.loads(a.stdout) == json.loads(b.stdout)
    tz = Router.default().calendar.tz
    in_week = pd.to_datetime(life["requested_datetime"]).dt.tz_convert(tz)
    expect = int(((in_week >= pd.Timestamp("2025-03-03", tz=tz))
                  & (in_week <= pd.Timestamp("2025-03-09 23:59", tz=tz))).sum())  # fmt: skip
    assert sum(r["received"] for r in json.loads(a.stdout)) == expect < 40


def test_stats_of_a_routed_file_counts_all_open_and_leaves_response_unknown(data_home, tmp_path):
    src = ROOT / "examples" / "reports_sample.csv"
    routed = tmp_path / "routed.csv"
    done = cli(data_home, "route", str(src), "-o", str(routed))
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(routed, dtype=str, keep_default_na=False)
    r = cli(data_home, "stats", str(routed), "--by", "category", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert sum(x["received"] for x in rows) == len(frame)
    assert all(x["open"] == x["received"] for x in rows)
    assert all(x["responded"] is None and x["resolved"] is None for x in rows)
    counts = frame["category"].replace("", None).value_counts(dropna=False)
    assert {x["category"]: x["received"] for x in rows} == {
        (None if k is None or k != k else k): int(v) for k, v in counts.items()
    }


def test_bad_files_and_cells(data_home, tmp_path):
    bare = tmp_path / "bare.csv"
    bare.write_text("a,b\n1,2\n", encoding="utf-8")
    r = cli(data_home, "stats", str(bare))
    assert r.returncode == 2 and "respond_by" in r.stderr + r.stdout
    r = cli(data_home, "stats", str(tmp_path / "missing.csv"))
    assert r.returncode == 2 and "no such input file" in r.stderr + r.stdout
    life = tmp_path / "life.csv"
    pd.DataFrame(
        {
            "unit_id": ["u1", "u1", "u2", "u2"],
            "requested_datetime": ["2025-03-03T09:00", "kemarin", "2025-03-04T09:00", ""],
            "respond_by": ["2025-03-04T09:00", "2025-03-04T09:00", "besok", ""],
            "due_at": ["2025-03-09T09:00"] * 4,
            "status": ["closed", "open", "open", "open"],
            "responded_at": ["2025-03-03T11:00", "", "", ""],
            "resolved_at": ["2025-03-03T15:00", "", "", ""],
            "transfers": ["0", "dua", "1", ""],
        }
    ).to_csv(life, index=False)
    r = cli(data_home, "stats", str(life), "--json")
    assert r.returncode == 0, r.stderr
    got = {x["unit"]: x for x in json.loads(r.stdout)}
    assert got["u1"]["received"] == 2 and got["u1"]["unreadable"] == 1  # "kemarin", "dua"
    assert got["u1"]["respond_hours_median"] == 2.0 and got["u1"]["resolve_hours_median"] == 6.0
    assert got["u2"]["received"] == 2 and got["u2"]["unreadable"] == 1  # "besok"
    assert got["u2"]["transfers_per_report"] == 0.5
    # with a period, a report whose time cannot be read is kept and counted, not dropped
    r = cli(data_home, "stats", str(life), "--json", "--from", "2025-03-01", "--to", "2025-03-31")
    assert sum(x["received"] for x in json.loads(r.stdout)) == 4
    r = cli(data_home, "stats", str(life), "--by", "planet")
    assert r.returncode == 2 and "by is one of" in r.stderr + r.stdout
    r = cli(data_home, "stats", str(life), "--db", "sqlite:///x.db")
    assert r.returncode == 2
    broken = tmp_path / "broken.csv"
    broken.write_bytes(life.read_bytes() + b'u3,"2025-03-05T09:00,unclosed quote\n')
    r = cli(data_home, "stats", str(broken), "--json")
    assert r.returncode == 0, r.stderr
    assert "could not be read" in r.stderr


def test_png_chart_draws_the_groups(data_home, filled, tmp_path):
    import matplotlib.image as mpimg

    png = tmp_path / "units.png"
    csv = tmp_path / "units.csv"
    r = cli(data_home, "stats", "--db", filled, "--png", str(png), "--csv", str(csv))
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(png)
    table = pd.read_csv(csv)
    assert list(table.columns) == ["unit", *FIGURES]
    # one bar row per group: the picture grows with the groups, and is not blank
    assert img.shape[0] > 100 + 30 * len(table) and img[..., :3].std() > 0.05
    blue = (np.abs(img[..., 0] - 0x21 / 255) < 0.02) & (np.abs(img[..., 2] - 0xB5 / 255) < 0.02)
    assert blue.sum() > 0  # the "responded in time" bars are drawn


lives = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", ""]),
        st.integers(0, 500),  # hours after t0 made
        st.integers(-5, 100),  # respond deadline, hours after made
        st.one_of(st.none(), st.integers(0, 200)),  # responded, hours after made
        st.one_of(st.none(), st.integers(0, 300)),  # resolved
        st.sampled_from(["open", "closed"]),
        st.integers(0, 3),
        st.integers(0, 2),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=lives)
def test_figures_add_up_whatever_the_table(router, rows):
    tz = router.calendar.tz
    t0 = datetime(2025, 6, 2, 7, 0, tzinfo=tz)

    def at(h):
        return None if h is None else (t0 + timedelta(hours=h)).isoformat()

    table = pd.DataFrame(
        [
            (u, at(m), at(m + r), at(m + r + 48), s, at(None if p is None else m + p),
             at(None if q is None else m + q), t, o)
            for u, m, r, p, q, s, t, o in rows
        ],
        columns=["unit_id", "requested_datetime", "respond_by", "due_at", "status",
                 "responded_at", "resolved_at", "transfers", "reopened"],
    )  # fmt: skip
    got = responsiveness(table, router.calendar, "unit", now=t0 + timedelta(hours=600))
    assert sum(g["received"] for g in got) == len(rows)
    for g in got:
        assert 0 <= g["responded_in_time"] <= g["responded"] <= g["received"]
        assert 0 <= g["resolved_in_time"] <= g["resolved"] <= g["received"]
        assert g["open"] + g["resolved"] <= g["received"] and g["overdue"] <= g["open"]
        assert g["unreadable"] == 0
        for q in ("respond", "resolve"):
            med, p90 = g[f"{q}_hours_median"], g[f"{q}_hours_p90"]
            assert (med is None) == (p90 is None) and (med is None or 0 <= med <= p90)
    by_unit = {g["unit"]: g for g in got}
    for u in {r[0] for r in rows}:
        mine = [r for r in rows if r[0] == u]
        g = by_unit[u or None]
        assert g["received"] == len(mine)
        assert g["open"] == sum(r[5] == "open" for r in mine)
        assert g["reopened"] == sum(r[7] > 0 for r in mine)
        assert g["responded"] == sum(r[3] is not None for r in mine)


def test_unknown_grouping_and_missing_columns(router):
    with pytest.raises(StatsError, match="by is one of"):
        responsiveness(pd.DataFrame(), router.calendar, "planet")
    with pytest.raises(StatsError, match="due_at"):
        responsiveness(pd.DataFrame({"unit_id": [], "respond_by": []}), router.calendar)
