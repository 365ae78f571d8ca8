"""Open311 GeoReport v2 against a real server process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest

from lapor_router import Report, Router

GAMBIR = (106.8272, -6.1754)  # Kelurahan Gambir, Jakarta Pusat
KEBAYORAN = (106.7990, -6.2440)  # Jakarta Selatan
CONTACT = {
    "first_name": "Siti",
    "last_name": "Rahmawati",
    "email": "siti.rahma@example.id",
    "phone": "081298765432",
    "device_id": "dev-7781",
    "account_id": "acc-5512",
}


@pytest.fixture(scope="module")
def oracle() -> Router:
    """The library itself, in this process: what the service must agree with."""
    return Router.default()


def post(client, **fields):
    r = client.post("/requests.json", data=fields)
    assert r.status_code == 201, r.text
    body = r.json()
    assert isinstance(body, list) and len(body) == 1
    return body[0]["service_request_id"]


def test_services_list_every_category_and_define_required_attributes(client, oracle):
    services = client.get("/services.json").json()
    codes = [s["service_code"] for s in services]
    assert codes == list(oracle.rules.categories)
    with_attrs = {c.code for c in oracle.rules.categories.values() if c.requires}
    assert {s["service_code"] for s in services if s["metadata"]} == with_attrs
    for code in with_attrs:
        d = client.get(f"/services/{code}.json").json()
        assert d["service_code"] == code
        assert [a["code"] for a in d["attributes"]] == list(oracle.rules.categories[code].requires)
        assert all(a["required"] and a["datatype"] == "string" for a in d["attributes"])
    xml = ET.fromstring(client.get("/services.xml").content)
    assert xml.tag == "services" and len(xml.findall("service")) == len(codes)
    assert client.get("/services/no_such.json").status_code == 404


def test_post_then_get_carries_the_routing(client, oracle):
    text = "Jalan berlubang besar di depan halte, bahaya untuk motor"
    rid = post(client, lat=str(GAMBIR[1]), long=str(GAMBIR[0]), description=text)
    rec = client.get(f"/requests/{rid}.json").json()
    assert len(rec) == 1
    rec = rec[0]
    want = oracle.route(Report(*GAMBIR, text=text))
    assert rec["service_request_id"] == rid and rec["status"] == "open"
    assert rec["service_code"] == want.category
    assert rec["agency_responsible"] == want.unit_name
    assert rec["unit_id"] == want.unit_id
    assert rec["kelurahan_kode"] == want.location.kode
    assert rec["status_notes"].startswith(want.explanation[0])
    assert rec["expected_datetime"] is not None and rec["expected_datetime"].endswith("+07:00")
    assert "created_at_missing" not in rec["flags"]  # received now
    assert rec["lat"] == GAMBIR[1] and rec["long"] == GAMBIR[0]
    # the same in XML
    xml = ET.fromstring(client.get(f"/requests/{rid}.xml").content)
    req = xml.find("request")
    assert xml.tag == "service_requests" and req is not None
    assert req.findtext("service_request_id") == rid
    assert req.findtext("agency_responsible") == want.unit_name


def test_json_body_and_description_only_use_the_classifier(client, oracle):
    text = "sampah menumpuk belum diangkut tiga hari, bau busuk"
    r = client.post("/requests.json", json={"lat": GAMBIR[1], "long": GAMBIR[0],
                                             "description": text})  # fmt: skip
    assert r.status_code == 201, r.text
    rec = client.get(f"/requests/{r.json()[0]['service_request_id']}.json").json()[0]
    want = oracle.route(Report(*GAMBIR, text=text))
    assert rec["service_code"] == want.category == "garbage"
    assert rec["category_source"] == "inferred"


def test_address_only_routes_by_the_kelurahan_it_names(client, oracle):
    rid = post(client, service_code="garbage", address_string="Jl. Kebon Sirih, Kelurahan Gambir")
    rec = client.get(f"/requests/{rid}.json").json()[0]
    gambir = oracle.locate(*GAMBIR)
    assert rec["kelurahan_kode"] == gambir.kode
    assert rec["unit_id"] is not None
    assert rec["address"] == "Jl. Kebon Sirih, Kelurahan Gambir"


def test_contact_fields_never_come_back(client, server):
    rid = post(
        client,
        lat=str(GAMBIR[1]),
        long=str(GAMBIR[0]),
        description="Lampu jalan mati. Hubungi saya 081298765432 atau siti.rahma@example.id",
        private="true",
        **CONTACT,
    )
    seen = [
        client.get(f"/requests/{rid}.json").text,
        client.get(f"/requests/{rid}.xml").text,
        client.get("/requests.json").text,
        client.get(f"/v1/requests/{rid}/events").text,
    ]
    for body in seen:
        for value in CONTACT.values():
            assert value not in body, (value, body[:300])
    rec = json.loads(seen[0])[0]
    assert "[disamarkan]" in rec["description"] and rec["private"] is True
    # and nothing in the server's log either
    assert not any(v in server.output() for v in CONTACT.values())


def test_private_reporter_name_masked_in_the_text(client):
    rid = post(client, lat=str(GAMBIR[1]), long=str(GAMBIR[0]), private="true",
               first_name="Wahyudi", description="Saya Wahyudi, got mampet di gang 3")  # fmt: skip
    rec = client.get(f"/requests/{rid}.json").json()[0]
    assert "Wahyudi" not in json.dumps(rec)


def test_list_filters(client, oracle):
    a = post(client, lat=str(GAMBIR[1]), long=str(GAMBIR[0]), service_code="garbage")
    b = post(client, lat=str(KEBAYORAN[1]), long=str(KEBAYORAN[0]), service_code="tree")
    c = post(client, lat=str(KEBAYORAN[1]), long=str(KEBAYORAN[0]), service_code="garbage",
             requested_datetime="2025-01-06T09:00:00+07:00")  # fmt: skip

    def ids(**params):
        r = client.get("/requests.json", params=params)
        assert r.status_code == 200, r.text
        return {x["service_request_id"] for x in r.json()} & {a, b, c}  # this test's reports

    assert ids() == {a, b, c}
    assert ids(service_request_id=f"{a},{b}") == {a, b}
    assert ids(service_code="garbage") == {a, c}
    assert ids(status="open") == {a, b, c} and ids(status="closed") == set()
    kode = oracle.locate(*KEBAYORAN).kode
    assert ids(kelurahan=kode) == {b, c}
    assert ids(bbox="106.82,-6.18,106.83,-6.17") == {a}
    # requested_datetime: when the report was made (given), else when it was received
    assert ids(start_date="2020-01-01T00:00:00+07:00") == {a, b, c}
    assert ids(end_date="2025-12-31T00:00:00+07:00") == {c}
    assert ids(start_date="2025-01-06T09:00:01+07:00") == {a, b}
    assert ids(end_date="2020-01-01T00:00:00Z") == set()
    old = client.get(f"/requests/{c}.json").json()[0]
    assert old["requested_datetime"] == "2025-01-06T09:00:00+07:00"


def test_every_stored_report_has_its_first_events(client):
    rid = post(client, lat=str(GAMBIR[1]), long=str(GAMBIR[0]), description="pohon tumbang")
    events = client.get(f"/v1/requests/{rid}/events").json()
    assert [e["kind"] for e in events] == ["received", "located", "routed"]
    assert events[0]["actor"] == "citizen" and events[1]["actor"] == "system"
    assert events[2]["after"]["unit_id"] is not None
