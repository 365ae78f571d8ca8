"""Bad input gets the spec's error body and a 4xx, never a 500, and nothing is stored."""

from __future__ import annotations

import json
import string
from xml.etree import ElementTree as ET

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

GOOD = {"lat": "-6.1754", "long": "106.8272", "service_code": "garbage", "description": "sampah"}


def spec_error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.text[:300])
    body = r.json()
    assert isinstance(body, list) and len(body) == 1
    assert body[0]["code"] == status and isinstance(body[0]["description"], str)
    assert body[0]["description"]
    return str(body[0]["description"])


def count(client) -> int:
    return len(client.get("/requests.json").json())


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({**GOOD, "lat": "abc"}, "lat must be a number"),
        ({**GOOD, "lat": "-96.2"}, "between -90 and 90"),
        ({**GOOD, "long": "181"}, "between -180 and 180"),
        ({**GOOD, "lat": "nan"}, "lat must be between"),
        ({**GOOD, "long": "inf"}, "long must be between"),
        ({"lat": "-6.17", "service_code": "garbage"}, "lat and long go together"),
        ({"service_code": "garbage"}, "a location is required"),
        ({**GOOD, "service_code": "potholes"}, "unknown service_code"),
        ({"lat": "-6.17", "long": "106.8"}, "give a service_code or a description"),
        ({**GOOD, "private": "maybe"}, "private must be true or false"),
        ({**GOOD, "requested_datetime": "kemarin sore"}, "ISO 8601"),
        ({**GOOD, "accuracy_m": "-5"}, "accuracy_m must be between"),
        ({**GOOD, "description": "x" * 20_001}, "longer than"),
    ],
)
def test_bad_fields(client, fields, says):
    before = count(client)
    assert says in spec_error(client.post("/requests.json", data=fields), 400)
    assert count(client) == before


def test_bad_bodies(client):
    before = count(client)
    h = {"content-type": "application/json"}
    assert "malformed JSON" in spec_error(
        client.post("/requests", content=b"{lat:", headers=h), 400
    )
    assert "object" in spec_error(client.post("/requests", content=b"[1, 2]", headers=h), 400)
    nested = json.dumps({**GOOD, "lat": {"x": 1}})
    assert "string or a number" in spec_error(
        client.post("/requests", content=nested, headers=h), 400
    )
    deep = b"[" * 100_000 + b"]" * 100_000
    spec_error(client.post("/requests", content=deep, headers=h), 413)
    spec_error(client.post("/requests", content=b"a=" + b"x" * 70_000), 413)
    spec_error(client.post("/requests", content=b"\xff\xfe", headers=h), 400)
    spec_error(client.post("/requests", content=b"x", headers={"content-type": "image/png"}), 415)
    twice = "lat=-6.1&lat=-6.2&long=106.8&service_code=garbage"
    assert "given 2 times" in spec_error(client.post("/requests", content=twice), 400)
    assert count(client) == before


def test_bad_queries_and_paths(client):
    assert "status" in spec_error(client.get("/requests.json", params={"status": "done"}), 400)
    assert "bbox" in spec_error(client.get("/requests.json", params={"bbox": "1,2,3"}), 400)
    assert "bbox" in spec_error(client.get("/requests.json", params={"bbox": "5,5,1,1"}), 400)
    assert "ISO" in spec_error(client.get("/requests.json", params={"start_date": "x"}), 400)
    assert "limit" in spec_error(client.get("/requests.json", params={"limit": "0"}), 400)
    assert "limit" in spec_error(client.get("/requests.json", params={"limit": "-1"}), 400)
    spec_error(client.get("/requests/abc.json"), 404)
    spec_error(client.get("/requests/0.json"), 404)
    spec_error(client.get("/requests/99999999999999999999999.json"), 404)
    spec_error(client.get("/nowhere"), 404)
    spec_error(client.delete("/requests.json"), 405)
    spec_error(client.get("/v1/requests/abc/events"), 404)
    spec_error(client.post("/v1/requests/1/explode", data={}), 404)
    xml = client.get("/requests/abc.xml")
    assert xml.status_code == 404
    root = ET.fromstring(xml.content)
    assert root.tag == "errors" and root.findtext("error/code") == "404"


_field = st.sampled_from(
    ["lat", "long", "service_code", "description", "address_string", "private", "accuracy_m",
     "requested_datetime", "kelurahan", "email", "attribute[pam_customer_number]", "media_url",
     "attribute[x]", "first_name", "jurisdiction_id"]
)  # fmt: skip
_value = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["-6.1754", "106.8272", "garbage", "1e308", "-0", "NaN", "true", "", "\x00"]),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
_paths = st.sampled_from(
    ["/requests.json", "/requests.xml", "/requests", "/v1/requests/{rid}/transfer",
     "/v1/requests/{rid}/pin", "/v1/requests/{rid}/close", "/v1/requests/{rid}/category",
     "/v1/requests/{rid}/escalate", "/v1/requests/1/pin"]
)  # fmt: skip


@pytest.fixture(scope="module")
def held(client, server):
    """A report and a token of the unit holding it: lifecycle actions get past the token."""
    r = client.post("/requests.json", data=GOOD)
    rid = r.json()[0]["service_request_id"]
    unit = client.get(f"/requests/{rid}.json").json()[0]["unit_id"]
    return rid, server.token(unit)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    path=_paths,
    fields=st.dictionaries(_field, _value, max_size=8),
    attributes=st.dictionaries(st.text(max_size=8), st.one_of(_value, st.integers()), max_size=3),
    as_json=st.booleans(),
)
def test_fuzz_posts_never_get_a_500(client, held, path, fields, attributes, as_json):
    rid, token = held
    path = path.format(rid=rid)
    headers = {"Authorization": f"Bearer {token}"} if "v1" in path else {}
    if as_json:
        body = json.dumps({**fields, "attributes": attributes})  # lone surrogates escaped
        headers["content-type"] = "application/json"
        r = client.post(path, content=body, headers=headers)
    else:
        r = client.post(path, data=fields, headers=headers)
    assert r.status_code < 500, (path, fields, r.text[:300])
    if r.status_code >= 400:
        if path.endswith(".xml"):
            assert ET.fromstring(r.content).tag == "errors"
        else:
            assert r.json()[0]["code"] == r.status_code


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    path=st.text(alphabet=string.ascii_letters + string.digits + "./%_-", max_size=30),
    params=st.dictionaries(
        st.sampled_from(
            [
                "status",
                "service_code",
                "bbox",
                "start_date",
                "end_date",
                "limit",
                "service_request_id",
                "kelurahan",
            ]
        ),
        st.text(max_size=40),
        max_size=5,
    ),
)
def test_fuzz_gets_never_get_a_500(client, path, params):
    for base in ("/requests", "/services", "/v1/requests/"):
        r = client.get(base + path, params=params)
        assert r.status_code < 500, (base + path, params, r.text[:300])


def test_control_characters_are_kept_and_xml_still_parses(client):
    text = "sampah\x00 menumpuk\x0b di \ud800gang"
    body = json.dumps({**GOOD, "description": text})  # the lone surrogate as \ud800
    r = client.post("/requests.json", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    assert "menumpuk" in client.get(f"/requests/{rid}.json").json()[0]["description"]
    root = ET.fromstring(client.get(f"/requests/{rid}.xml").content)
    assert "menumpuk" in (root.findtext("request/description") or "")


def test_digits_that_are_not_ascii(client):
    """'²' and '٣' are digits to str.isdigit but not to int(): a 400, not a 500."""
    for v in ("²", "٣"):
        assert "limit" in spec_error(client.get("/requests.json", params={"limit": v}), 400)


@pytest.mark.parametrize("key", ["service_code", "kelurahan", "unit_id", "status"])
def test_a_nul_in_a_query_parameter_is_a_400_not_a_database_error(client, key):
    # PostgreSQL refuses text with a NUL byte: the store must never be sent one
    r = client.get("/requests.json", params={key: "sampah\x00"})
    assert r.status_code == 400, r.text
    assert "NUL" in r.json()[0]["description"]
