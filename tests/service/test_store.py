"""The report store in this process, on SQLite and PostgreSQL: schema versions, one
transaction per call, the private table, and a killed server under load."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa

from lapor_router import Report, Router
from lapor_router.dispatch import STATS_BY, responsiveness
from lapor_router.errors import RequestError, SchemaVersionError, StoreError
from lapor_router.service import SCHEMA_VERSION, ReportStore

from service.serverproc import Server

GAMBIR = (106.8272, -6.1754)


@pytest.fixture(scope="module")
def router() -> Router:
    return Router.default()


@pytest.fixture
def store(router, db_url):
    s = ReportStore(router, db_url)
    yield s
    s.dispose()


def raw(store: ReportStore, sql: str) -> list[tuple]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql)]


def test_schema_is_versioned_and_a_newer_one_refuses(router, store, db_url):
    assert store.schema_version() == SCHEMA_VERSION
    again = ReportStore(router, db_url)  # opening twice migrates nothing
    assert again.schema_version() == SCHEMA_VERSION
    again.dispose()
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            f"INSERT INTO lapor_schema (version, applied_at) VALUES ({SCHEMA_VERSION + 1}, 0)"
        )
    with pytest.raises(SchemaVersionError, match=r"newer than this lapor_router"):
        ReportStore(router, db_url)
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM lapor_schema WHERE version > {SCHEMA_VERSION}")


def test_bad_urls_are_store_errors(router, tmp_path):
    with pytest.raises(StoreError, match="sqlite:///PATH or postgresql"):
        ReportStore(router, "mysql://x/y")
    with pytest.raises(StoreError):
        ReportStore(router, "postgresql://nobody@127.0.0.1:1/none")


def test_a_failed_write_leaves_nothing(store, monkeypatch):
    before = store.count()

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "_events", boom)
    with pytest.raises(RuntimeError):
        store.submit(Report(*GAMBIR, category="garbage", text="sampah"))
    assert store.count() == before  # no report without its events
    monkeypatch.undo()
    rec = store.submit(Report(*GAMBIR, category="garbage", text="sampah"))
    assert store.count()["reports"] == before["reports"] + 1
    assert [e["kind"] for e in store.history(rec["service_request_id"])] == [
        "received",
        "located",
        "routed",
    ]


def test_identity_lives_only_in_the_private_table(store):
    who = {"name": "Rina Kartika", "phone": "081377778888", "email": "rina@example.id"}
    text = "Saya Rina Kartika, lampu jalan mati, telepon 081377778888"
    rec = store.submit(Report(*GAMBIR, text=text, private=True, reporter=who))
    rid = rec["service_request_id"]
    public = json.dumps([store.get(rid), store.find(), store.history(rid)], ensure_ascii=False)
    for value in who.values():
        assert value not in public
    tables = {
        "reports": raw(store, "SELECT record, decision FROM reports"),
        "events": raw(store, "SELECT before, after FROM events"),
        "report_input": raw(store, "SELECT input FROM report_input"),
    }
    for value in who.values():
        assert value not in json.dumps(tables["reports"] + tables["events"], ensure_ascii=False)
    assert any(who["phone"] in r[0] for r in tables["report_input"])  # kept, for re-routing


def test_lifecycle_on_the_python_store(store, router):
    rec = store.submit(
        Report(*GAMBIR, category="road_damage", text="jalan berlubang"),
        now=datetime(2026, 3, 2, 9, 0, tzinfo=router.calendar.tz),
    )
    rid, unit = rec["service_request_id"], rec["unit_id"]
    with pytest.raises(RequestError) as e:
        store.transfer(rid, "dinas_bina_marga", "bukan")
    assert e.value.status == 403
    later = datetime(2026, 3, 20, 9, 0, tzinfo=router.calendar.tz)
    due = store.escalate_due(now=later)
    assert rid in due
    up = store.get(rid)
    assert up["unit_id"] != unit and "escalated" in up["flags"]
    assert store.escalate_due(now=later) == []  # idempotent
    assert rid in store.escalate_due(now=later + timedelta(days=30))  # the next deadline
    with pytest.raises(RequestError) as e:
        store.get("999999")
    assert e.value.status == 404


def post_until(url: str, stop: threading.Event, created: list[str], errors: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=10) as c:
        i = 0
        while not stop.is_set():
            i += 1
            try:
                r = c.post("/requests.json", data={
                    "lat": str(GAMBIR[1] + (i % 50) * 1e-4), "long": str(GAMBIR[0]),
                    "service_code": "garbage", "description": f"sampah ke-{i}"})  # fmt: skip
            except httpx.TransportError:
                continue  # the server was killed under this request: it got no 201
            if r.status_code == 201:
                created.append(r.json()[0]["service_request_id"])
            else:
                errors.append(r.text)


@pytest.mark.slow
def test_kill_9_under_load_loses_no_acknowledged_report(db_url, data_home, tmp_path, router):
    """Every request that got a 201 is in the store with its events after a kill -9 in the
    middle of a load; no report is half-written."""
    srv = Server(db_url, data_home, tmp_path / "killed.log").start()
    stop = threading.Event()
    created: list[str] = []
    errors: list[str] = []
    threads = [
        threading.Thread(target=post_until, args=(srv.url, stop, created, errors)) for _ in range(8)
    ]
    for t in threads:
        t.start()
    time.sleep(4)
    srv.kill()
    stop.set()
    for t in threads:
        t.join(30)
    assert not errors, errors[:3]
    assert len(created) > 50, len(created)
    assert len(set(created)) == len(created)  # no id given twice
    again = Server(db_url, data_home, tmp_path / "restarted.log").start()
    try:
        store = ReportStore(router, db_url)
        ids = {int(r[0]) for r in raw(store, "SELECT id FROM reports")}
        assert {int(c) for c in created} <= ids
        per_report = dict(raw(store, "SELECT report_id, count(*) FROM events GROUP BY report_id"))
        inputs = {int(r[0]) for r in raw(store, "SELECT report_id FROM report_input")}
        for rid in ids:  # committed whole or not at all, acknowledged or not
            assert per_report.get(rid, 0) >= 3 and rid in inputs, rid
        assert set(per_report) <= ids and inputs <= ids
        for rid in created[-5:]:
            kinds = [e["kind"] for e in store.history(rid)]
            assert kinds[:3] == ["received", "located", "routed"]
        r = httpx.get(f"{again.url}/requests/{created[-1]}.json", timeout=10)
        assert r.status_code == 200
        store.dispose()
    finally:
        again.stop()


def test_a_schema_1_store_is_migrated_to_3(router, db_url):
    """A store written before the duplicate search (no grid cells, no merged_into) gets
    schema 2's columns and then schema 3's cell key and index, filled for its reports."""
    store = ReportStore(router, db_url)
    spot = (106.8512, -6.2147)  # a point no other test of this module uses
    rec = store.submit(Report(*spot, category="tree", text="pohon tumbang"))
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX reports_near")
        for col in ("cell", "merged_into"):
            conn.exec_driver_sql(f"ALTER TABLE reports DROP COLUMN {col}")
        conn.exec_driver_sql("DELETE FROM lapor_schema WHERE version > 1")
    store.dispose()
    again = ReportStore(router, db_url)
    assert again.schema_version() == SCHEMA_VERSION == 3
    cells = raw(again, f"SELECT cell FROM reports WHERE id = {rec['service_request_id']}")
    assert cells[0][0] is not None
    columns = {c["name"] for c in sa.inspect(again.engine).get_columns("reports")}
    assert "cell" in columns and "merged_into" in columns and not columns & {"cx", "cy"}
    indexes = {i["name"] for i in sa.inspect(again.engine).get_indexes("reports")}
    assert "reports_near" in indexes and "reports_cell" not in indexes
    near = again.possible_duplicates("tree", *spot)
    assert [i for i, _ in near] == [rec["service_request_id"]]
    again.dispose()


def test_the_thread_pool_mode_answers_the_same(router, db_url):
    from starlette.testclient import TestClient

    from lapor_router.service import create_app

    store = ReportStore(router, db_url)
    with TestClient(create_app(store, threads=True)) as c:
        r = c.post("/requests.json", data={"lat": str(GAMBIR[1]), "long": str(GAMBIR[0]),
                                            "service_code": "garbage"})  # fmt: skip
        assert r.status_code == 201
        rid = r.json()[0]["service_request_id"]
        got = c.get(f"/requests/{rid}.json").json()[0]
        assert got["service_code"] == "garbage" and got["unit_id"] is not None
        assert c.get("/requests/abc.json").status_code == 404
    store.dispose()


def test_stats_equal_a_hand_computation(router, db_url, tmp_path):
    """Three reports around Christmas 2026 (24 Dec is joint leave, 25 Dec Christmas, 26–27 a
    weekend; office 08:00–16:00 WIB), their deadlines and office hours worked out by hand."""
    from datetime import date

    tz = router.calendar.tz
    assert not router.calendar.is_working_day(date(2026, 12, 24))
    assert not router.calendar.is_working_day(date(2026, 12, 25))
    store = ReportStore(router, db_url)
    with store.engine.begin() as conn:  # this module's store: only these three reports
        for t in ("events", "report_input", "reports"):
            conn.exec_driver_sql(f"DELETE FROM {t}")

    def at(day: int, hour: int) -> datetime:
        return datetime(2026, 12, day, hour, 0, tzinfo=tz)

    spot = (106.8272, -6.1754)
    # garbage, Wed 23 Dec 15:00: respond 1 working day (→ Mon 28 15:00) capped by resolve 2
    # calendar days (→ Fri 25 15:00); closed Mon 28 10:00: 1 h on the 23rd + 2 h on the 28th
    g = store.submit(Report(*spot, category="garbage", created_at=at(23, 15)), now=at(23, 15))
    assert g["respond_by"] == "2026-12-25T15:00:00+07:00"
    store.close(g["service_request_id"], g["unit_id"], "diangkut", now=at(28, 10))
    # road damage, Mon 21 Dec 09:00: respond by Tue 22 09:00, resolve by Sun 27 09:00;
    # transferred Mon 11:00 (2 h), closed by the new unit Tue 10:00 (7 h + 2 h)
    r = store.submit(Report(*spot, category="road_damage", created_at=at(21, 9)), now=at(21, 9))
    moved = store.transfer(r["service_request_id"], r["unit_id"], "bukan kami", now=at(21, 11))
    store.close(r["service_request_id"], moved["unit_id"], "ditambal", now=at(22, 10))
    # tree, Tue 22 Dec 08:00, still open on the 30th: overdue
    store.submit(Report(*spot, category="tree", created_at=at(22, 8)), now=at(22, 8))
    # street light, Mon 21 Dec 08:00 (respond by Tue 22 08:00, resolve by Thu 24 08:00),
    # closed Mon 14:00 (6 h), reopened Tue 22 09:00: fresh deadlines, respond by Wed 23 09:00;
    # open on the 30th, so overdue and not resolved
    s_ = store.submit(Report(*spot, category="street_light", created_at=at(21, 8)), now=at(21, 8))
    store.close(s_["service_request_id"], s_["unit_id"], "diganti", now=at(21, 14))
    again = store.reopen(s_["service_request_id"], s_["unit_id"], "masih mati", now=at(22, 9))
    assert again["status"] == "open" and again["respond_by"] == "2026-12-23T09:00:00+07:00"
    got = {row["category"]: row for row in store.stats("category", now=at(30, 12))}
    assert got["garbage"] == {
        "category": "garbage", "received": 1, "responded": 1, "responded_in_time": 0,
        "resolved": 1, "resolved_in_time": 0, "respond_hours_median": 3.0,
        "respond_hours_p90": 3.0, "resolve_hours_median": 3.0, "resolve_hours_p90": 3.0,
        "transfers_per_report": 0.0, "reopened": 0, "open": 0, "overdue": 0, "unreadable": 0,
    }  # fmt: skip
    assert got["road_damage"] == {
        "category": "road_damage", "received": 1, "responded": 1, "responded_in_time": 1,
        "resolved": 1, "resolved_in_time": 1, "respond_hours_median": 2.0,
        "respond_hours_p90": 2.0, "resolve_hours_median": 9.0, "resolve_hours_p90": 9.0,
        "transfers_per_report": 1.0, "reopened": 0, "open": 0, "overdue": 0, "unreadable": 0,
    }  # fmt: skip
    assert got["street_light"] == {
        "category": "street_light", "received": 1, "responded": 1, "responded_in_time": 1,
        "resolved": 0, "resolved_in_time": 0, "respond_hours_median": 6.0,
        "respond_hours_p90": 6.0, "resolve_hours_median": None, "resolve_hours_p90": None,
        "transfers_per_report": 0.0, "reopened": 1, "open": 1, "overdue": 1, "unreadable": 0,
    }  # fmt: skip
    assert got["tree"]["received"] == 1 and got["tree"]["responded"] == 0
    assert got["tree"]["respond_hours_median"] is None
    assert (got["tree"]["open"], got["tree"]["overdue"]) == (1, 1)
    # a window that holds only the tree report; units: the report counts where it is now
    only = store.stats("category", start=at(22, 0), end=at(22, 23), now=at(30, 12))
    assert [row["category"] for row in only] == ["tree"]
    units = {row["unit"]: row["received"] for row in store.stats("unit", now=at(30, 12))}
    assert sum(units.values()) == 4 and units[moved["unit_id"]] == 1  # where it is now
    with pytest.raises(RequestError):
        store.stats("planet")
    # the same figures from the store's life table written to a file and read back as text
    path = tmp_path / "life.csv"
    store.life_table().to_csv(path, index=False)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    for by in STATS_BY:
        assert responsiveness(table, router.calendar, by, now=at(30, 12)) == store.stats(
            by, now=at(30, 12)
        )
    store.dispose()


def test_records_name_the_asset_and_the_receiver(router, db_url):
    """A store whose router holds the example layers: the record names the feature the
    rule matched (layer with version), and a report in Bekasi names its receiver; the
    decision survives the store (a transfer continues from it)."""
    from pathlib import Path

    from lapor_router.locate import load_spec

    specs = sorted((Path(__file__).resolve().parents[2] / "data" / "asset_layers").glob("*.toml"))
    owned = Router.default(assets=[load_spec(p) for p in specs])
    store = ReportStore(owned, db_url)
    rec = store.submit(Report(106.7180, -6.15505, category="road_damage", text="lubang"))
    assert rec["unit_id"] == "bpjn"
    assert rec["asset"]["asset_id"] == "EX-JLN-001"
    assert rec["asset"]["layer"] == "example_roads@example-2026.12"
    moved = store.transfer(rec["service_request_id"], "bpjn", "bukan kewenangan kami")
    assert moved["asset"] == rec["asset"] and moved["unit_id"] != "bpjn"
    out = store.submit(Report(107.0, -6.24, category="garbage", text="sampah"))
    assert out["unit_id"] is None and out["receiver"] == "Pemerintah Kota Bekasi"
    store.dispose()


def test_the_duplicate_search_survives_a_dropped_connection(router, db_url):
    """On PostgreSQL the search reads through its own autocommit pool without a pre-ping:
    a connection the server has dropped is retried once, not an error."""
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite reads in process")
    store = ReportStore(router, db_url)
    spot = (106.8355, -6.2093)
    rec = store.submit(Report(*spot, category="garbage", text="sampah"))
    assert [i for i, _ in store.possible_duplicates("garbage", *spot)] == [
        rec["service_request_id"]
    ]
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        killed = conn.exec_driver_sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state = 'idle'"
        ).scalar()
    assert killed >= 1
    again = store.possible_duplicates("garbage", *spot)
    assert [i for i, _ in again] == [rec["service_request_id"]]
    store.dispose()
