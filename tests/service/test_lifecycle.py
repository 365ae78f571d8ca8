"""A report's life after routing, through the /v1/ actions of a real server: transfers,
escalations, pin moves, category changes and closing, each an event; who may do what."""

from __future__ import annotations

import json

import pytest

from lapor_router import Report, Router

GAMBIR = (106.8272, -6.1754)
KEBAYORAN = (106.7990, -6.2440)


@pytest.fixture(scope="module")
def oracle() -> Router:
    return Router.default()


def new_report(client, **fields):
    base = {"lat": str(GAMBIR[1]), "long": str(GAMBIR[0]), "service_code": "road_damage",
            "description": "Jalan berlubang di depan halte"}  # fmt: skip
    r = client.post("/requests.json", data={**base, **fields})
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    return rid, client.get(f"/requests/{rid}.json").json()[0]


def act(client, rid, action, token, **fields):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(f"/v1/requests/{rid}/{action}", data=fields, headers=headers)


def kinds(client, rid):
    return [e["kind"] for e in client.get(f"/v1/requests/{rid}/events").json()]


def test_transfer_follows_the_rule_graph_and_only_the_holder_may(client, server, oracle):
    rid, rec = new_report(client)
    holder = server.token(rec["unit_id"])
    want = oracle.transfer(
        oracle.route(
            Report(*GAMBIR, category="road_damage", text="Jalan berlubang di depan halte")
        ),
        "bukan kewenangan kami",
    )
    r = act(client, rid, "transfer", holder, reason="bukan kewenangan kami")
    assert r.status_code == 200, r.text
    moved = r.json()[0]
    assert moved["unit_id"] == want.unit_id != rec["unit_id"]
    assert "transferred" in moved["flags"]
    # the old holder no longer holds it; the new one does
    again = act(client, rid, "transfer", holder, reason="tetap bukan")
    assert again.status_code == 403 and again.json()[0]["code"] == 403
    ev = client.get(f"/v1/requests/{rid}/events").json()[-1]
    assert ev["kind"] == "transferred" and ev["actor"] == f"unit:{rec['unit_id']}"
    assert ev["before"]["unit_id"] == rec["unit_id"] and ev["after"]["unit_id"] == want.unit_id
    assert kinds(client, rid) == ["received", "located", "routed", "transferred"]


def test_tokens_missing_wrong_and_other_units(client, server):
    rid, rec = new_report(client)
    other = server.token("dinas_bina_marga")
    assert other != rec["unit_id"]
    for token, status in ((None, 401), ("not-a-token", 401), (other, 403)):
        r = act(client, rid, "close", token, resolution="selesai")
        assert r.status_code == status, r.text
        assert r.json()[0]["code"] == status
    assert kinds(client, rid) == ["received", "located", "routed"]  # nothing happened
    made = server.cli("tokens", "add", rec["unit_id"])  # the command a deployer runs
    assert made.returncode == 0, made.stderr
    r = act(client, rid, "close", made.stdout.strip(), resolution="selesai")
    assert r.status_code == 200 and r.json()[0]["status"] == "closed"
    assert server.cli("tokens", "add", "no_such_unit").returncode == 2


def test_tokens_are_stored_hashed(server, db_url):
    import sqlalchemy as sa

    token = server.token("dinas_bina_marga")
    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        stored = [r[0] for r in conn.exec_driver_sql("SELECT hash FROM tokens")]
    engine.dispose()
    assert token not in stored and len(stored) >= 1
    assert all(len(h) == 64 for h in stored)


def test_pin_move_relocates_and_reroutes_keeping_both(client, server, oracle):
    rid, rec = new_report(client)
    token = server.token(rec["unit_id"])
    r = act(client, rid, "pin", token, lat=str(KEBAYORAN[1]), long=str(KEBAYORAN[0]))
    assert r.status_code == 200, r.text
    moved = r.json()[0]
    want = oracle.route(Report(*KEBAYORAN, category="road_damage", text="x"))
    assert moved["kelurahan_kode"] == want.location.kode != rec["kelurahan_kode"]
    assert moved["unit_id"] == want.unit_id != rec["unit_id"]
    assert (moved["lat"], moved["long"]) == (KEBAYORAN[1], KEBAYORAN[0])
    ev = client.get(f"/v1/requests/{rid}/events").json()[-1]
    assert ev["kind"] == "pin_moved"
    assert ev["before"]["kelurahan_kode"] == rec["kelurahan_kode"]
    assert ev["after"]["kelurahan_kode"] == want.location.kode
    assert ev["before"]["unit_id"] == rec["unit_id"] and ev["after"]["unit_id"] == want.unit_id
    # deadlines still run from the report's creation
    assert moved["requested_datetime"] == rec["requested_datetime"]


def test_category_change_reroutes(client, server, oracle):
    rid, rec = new_report(client)
    token = server.token(rec["unit_id"])
    r = act(client, rid, "category", token, service_code="garbage")
    assert r.status_code == 200, r.text
    changed = r.json()[0]
    want = oracle.route(Report(*GAMBIR, category="garbage", text="x"))
    assert changed["service_code"] == "garbage" and changed["unit_id"] == want.unit_id
    ev = client.get(f"/v1/requests/{rid}/events").json()[-1]
    assert ev["kind"] == "category_changed"
    assert (ev["before"]["category"], ev["after"]["category"]) == ("road_damage", "garbage")
    bad = act(client, rid, "category", server.token(want.unit_id), service_code="nope")
    assert bad.status_code == 400


def test_close_then_nothing_more(client, server):
    rid, rec = new_report(client)
    token = server.token(rec["unit_id"])
    r = act(client, rid, "close", token, resolution="Lubang ditambal, hubungi 081211112222")
    assert r.status_code == 200, r.text
    closed = r.json()[0]
    assert closed["status"] == "closed" and "081211112222" not in closed["resolution"]
    assert act(client, rid, "close", token, resolution="lagi").status_code == 409
    assert act(client, rid, "transfer", token, reason="x").status_code == 409
    assert rid in {x["service_request_id"] for x in
                   client.get("/requests.json", params={"status": "closed"}).json()}  # fmt: skip
    assert kinds(client, rid)[-1] == "closed"
    other, rec2 = new_report(client)
    no_text = act(client, other, "close", server.token(rec2["unit_id"]))
    assert no_text.status_code == 400 and "resolution" in no_text.json()[0]["description"]


def test_escalation_by_hand_and_from_cron(client, server):
    fresh, rec = new_report(client)
    token = server.token(rec["unit_id"])
    r = act(client, fresh, "escalate", token)
    assert r.status_code == 409 and "not past" in r.json()[0]["description"]
    old, rec_old = new_report(client, requested_datetime="2025-03-03T09:00:00+07:00")
    first = server.cli("escalate-due")
    assert first.returncode == 0, first.stderr
    assert old in first.stdout and fresh not in first.stdout
    up = client.get(f"/requests/{old}.json").json()[0]
    assert up["unit_id"] != rec_old["unit_id"] and "escalated" in up["flags"]
    assert kinds(client, old)[-1] == "escalated"
    n = kinds(client, old).count("escalated")
    second = server.cli("escalate-due")  # idempotent: the new deadline has not passed
    assert second.returncode == 0 and old not in second.stdout
    assert kinds(client, old).count("escalated") == n


def test_possible_duplicates_come_back_nearest_first(client):
    lat0, lon0 = -6.1800, 106.8300
    step = 1 / 111_195  # about one metre of latitude
    far, _ = new_report(client, lat=str(lat0 + 25 * step), long=str(lon0))
    near, _ = new_report(client, lat=str(lat0 + 10 * step), long=str(lon0))
    new_report(client, lat=str(lat0), long=str(lon0), service_code="garbage")  # other category
    new_report(client, lat=str(lat0 + 80 * step), long=str(lon0))  # beyond road_damage's 30 m
    old, _ = new_report(
        client,
        lat=str(lat0 + 5 * step),
        long=str(lon0),
        requested_datetime="2025-01-01T09:00:00+07:00",
    )  # outside the window
    r = client.post("/requests.json", data={"lat": str(lat0), "long": str(lon0),
                                             "service_code": "road_damage"})  # fmt: skip
    assert r.status_code == 201
    body = r.json()[0]
    assert [p["service_request_id"] for p in body["possible_duplicates"]] == [near, far]
    d = [p["distance_m"] for p in body["possible_duplicates"]]
    assert d == sorted(d) and 9 < d[0] < 11 and 24 < d[1] < 26
    rec = client.get(f"/requests/{body['service_request_id']}.json").json()[0]
    assert "possible_duplicate" in rec["flags"]
    assert rec["possible_duplicates"] == body["possible_duplicates"]
    assert old not in {p["service_request_id"] for p in body["possible_duplicates"]}


def test_merge_links_both_histories(client, server):
    a, rec_a = new_report(client)
    b, _ = new_report(client)
    token = server.token(rec_a["unit_id"])
    assert act(client, a, "merge", token, into=a).status_code == 400
    assert act(client, a, "merge", token, into="999999").status_code == 404
    assert act(client, a, "merge", token).status_code == 400  # into is required
    r = act(client, a, "merge", token, into=b)
    assert r.status_code == 200, r.text
    merged = r.json()[0]
    assert merged["status"] == "closed" and merged["merged_into"] == b
    assert kinds(client, a)[-1] == "merged" and kinds(client, b)[-1] == "merged"
    ev_b = client.get(f"/v1/requests/{b}/events").json()[-1]
    assert ev_b["after"] == {"from": a}
    assert client.get(f"/requests/{b}.json").json()[0]["status"] == "open"
    c, rec_c = new_report(client)
    closed = server.token(rec_c["unit_id"])
    assert act(client, c, "close", closed, resolution="selesai").status_code == 200
    d, rec_d = new_report(client)
    r = act(client, d, "merge", server.token(rec_d["unit_id"]), into=c)
    assert r.status_code == 409  # not into a closed report


def test_stats_endpoint_and_command(client, server):
    _, rec = new_report(client, service_code="pollution")
    r = client.get("/v1/stats", params={"by": "category"})
    assert r.status_code == 200, r.text
    row = next(x for x in r.json() if x["category"] == "pollution")
    assert row["received"] >= 1 and row["open"] >= 1
    assert client.get("/v1/stats", params={"by": "planet"}).status_code == 400
    assert client.get("/v1/stats", params={"from": "kemarin"}).status_code == 400
    out = server.cli("stats", "--by", "kota", "--json")
    assert out.returncode == 0, out.stderr
    kota = {x["kota"]: x["received"] for x in json.loads(out.stdout)}
    assert kota[rec["kota"]] >= 1


def test_reopen_after_close_and_merge(client, server):
    rid, rec = new_report(client)
    token = server.token(rec["unit_id"])
    assert act(client, rid, "reopen", token, reason="belum").status_code == 409  # still open
    assert act(client, rid, "close", token, resolution="ditambal").status_code == 200
    assert act(client, rid, "reopen", token).status_code == 400  # a reason is required
    other = server.token("dinas_bina_marga")
    assert other != rec["unit_id"]
    assert act(client, rid, "reopen", other, reason="x").status_code == 403
    r = act(client, rid, "reopen", token, reason="Lubang masih ada, hubungi 081233334444")
    assert r.status_code == 200, r.text
    back = r.json()[0]
    assert back["status"] == "open" and "reopened" in back["flags"]
    assert back["unit_id"] == rec["unit_id"] and "resolution" not in back
    # fresh deadlines from the reopening (exact values: test_store's hand computation)
    assert back["respond_by"] >= rec["respond_by"] and "Dibuka kembali" in back["status_notes"]
    events = client.get(f"/v1/requests/{rid}/events").json()
    assert events[-1]["kind"] == "reopened"
    assert events[-1]["before"]["status"] == "closed" and events[-1]["after"]["status"] == "open"
    assert "081233334444" not in json.dumps(events) + json.dumps(back)
    # a merged report reopened is no longer merged
    a, rec_a = new_report(client)
    b, _ = new_report(client)
    ta = server.token(rec_a["unit_id"])
    assert act(client, a, "merge", ta, into=b).status_code == 200
    again = act(client, a, "reopen", ta, reason="bukan masalah yang sama")
    assert again.status_code == 200 and "merged_into" not in again.json()[0]
