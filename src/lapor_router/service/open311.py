"""Open311 GeoReport v2 as this service speaks it: parsing a POST /requests body into a
:class:`~lapor_router.route.Report`, the query filters of GET /requests, and the JSON / XML
bodies of services, requests and errors (https://wiki.open311.org/GeoReport_v2)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from ..errors import RequestError
from ..route import Report, RuleGraph

FORMATS = ("json", "xml")
MAX_TEXT = 20_000  # characters of a description or address
_ATTRIBUTE = re.compile(r"^attribute\[([^\]]{1,64})\]$")
_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n", ""}
# the contact fields of the spec: kept in the private table, never echoed back
CONTACT = ("email", "device_id", "account_id", "first_name", "last_name", "phone")


def services(rg: RuleGraph) -> list[dict[str, Any]]:
    """GET /services: one service per category of the rule set."""
    return [
        {
            "service_code": c.code,
            "service_name": c.name,
            "description": c.name,
            "metadata": bool(c.requires),
            "type": "realtime",
            "keywords": ", ".join(c.keywords[:12]),
            "group": c.group,
        }
        for c in rg.categories.values()
    ]


def definition(rg: RuleGraph, code: str) -> dict[str, Any]:
    """GET /services/{code}: the attributes a category asks for (404 if unknown)."""
    cat = rg.categories.get(code)
    if cat is None:
        raise RequestError(404, f"unknown service_code {code!r}")
    attrs = []
    for i, a in enumerate(cat.requires, start=1):
        spec = rg.spec.attributes[a]
        attrs.append(
            {
                "variable": True,
                "code": a,
                "datatype": "string",
                "required": True,
                "datatype_description": spec.label,
                "order": i,
                "description": spec.label,
            }
        )
    return {"service_code": code, "attributes": attrs}


def _one(form: Mapping[str, Sequence[str]], key: str) -> str | None:
    values = form.get(key)
    if not values:
        return None
    if len(values) > 1:
        raise RequestError(400, f"{key} given {len(values)} times")
    return values[0]


def number_field(form: Mapping[str, Sequence[str]], key: str, lo: float, hi: float) -> float | None:
    """Form field ``key`` as a number in [``lo``, ``hi``] (a decimal comma taken), None if
    absent or blank; 400 otherwise."""
    raw = _one(form, key)
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw.strip().replace(",", ".", 1) if raw.count(",") == 1 else raw)
    except ValueError:
        raise RequestError(400, f"{key} must be a number, not {raw[:40]!r}") from None
    if not math.isfinite(value) or not lo <= value <= hi:
        raise RequestError(400, f"{key} must be between {lo:g} and {hi:g}, not {raw[:40]!r}")
    return value


def text_field(form: Mapping[str, Sequence[str]], key: str) -> str | None:
    """Form field ``key`` as text (None if absent or blank; 400 if over ``MAX_TEXT``)."""
    raw = _one(form, key)
    if raw is None:
        return None
    if len(raw) > MAX_TEXT:
        raise RequestError(400, f"{key} is longer than {MAX_TEXT:,} characters")
    return raw if raw.strip() else None


def parse_request(
    form: Mapping[str, Sequence[str]], rg: RuleGraph
) -> tuple[Report, dict[str, Any]]:
    """A POST /requests body (form fields, each a list of values) as a Report and the
    fields the store keeps beside it (``address``, ``media_url``)."""
    code = text_field(form, "service_code")
    if code is not None and code not in rg.categories:
        raise RequestError(400, f"unknown service_code {code[:64]!r}; see GET /services")
    lat = number_field(form, "lat", -90.0, 90.0)
    lon = number_field(form, "long", -180.0, 180.0)
    if (lat is None) != (lon is None):
        raise RequestError(400, "lat and long go together: give both or neither")
    address = text_field(form, "address_string")
    kelurahan = text_field(form, "kelurahan")
    if lat is None and address is None and kelurahan is None:
        raise RequestError(400, "a location is required: lat and long, or an address_string")
    description = text_field(form, "description") or ""
    if code is None and not description:
        raise RequestError(400, "give a service_code or a description to infer it from")
    accuracy = number_field(form, "accuracy_m", 0.0, 1e6)
    private_raw = (_one(form, "private") or "").strip().lower()
    if private_raw not in _TRUE | _FALSE:
        raise RequestError(400, f"private must be true or false, not {private_raw[:20]!r}")
    created = text_field(form, "requested_datetime")
    if created is not None:
        created = parse_time(created, "requested_datetime").isoformat()
    attributes: dict[str, str] = {}
    for key in form:
        m = _ATTRIBUTE.match(key)
        if m:
            value = text_field(form, key)
            if value is not None:
                attributes[m.group(1)] = value
    if len(attributes) > 32:
        raise RequestError(400, "at most 32 attributes")
    reporter = {k: v for k in CONTACT if (v := text_field(form, k)) is not None}
    if reporter.get("first_name") or reporter.get("last_name"):
        full = " ".join(x for x in (reporter.get("first_name"), reporter.get("last_name")) if x)
        reporter["name"] = full
    where = " ".join(x for x in (address, kelurahan and f"Kelurahan {kelurahan}") if x) or None
    report = Report(
        lon=lon if lon is not None else float("nan"),
        lat=lat if lat is not None else float("nan"),
        category=code,
        text=description,
        claimed=kelurahan,
        accuracy_m=accuracy,
        created_at=created,
        private=private_raw in _TRUE,
        reporter=reporter or None,
        attributes=attributes,
        address=where,
    )
    return report, {"media_url": text_field(form, "media_url")}


def parse_time(raw: str, key: str) -> datetime:
    """A W3C datetime (ISO 8601); one without an offset is WIB (the caller localizes)."""
    try:
        return datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise RequestError(400, f"{key} must be an ISO 8601 datetime, not {raw[:40]!r}") from None


def split(raw: str | None) -> list[str]:
    return [x.strip() for x in (raw or "").split(",") if x.strip()]


def bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    """``min_lon,min_lat,max_lon,max_lat`` in degrees."""
    if raw is None:
        return None
    parts = raw.split(",")
    try:
        x0, y0, x1, y1 = (float(p) for p in parts)
    except ValueError:
        raise RequestError(400, "bbox is min_long,min_lat,max_long,max_lat in degrees") from None
    if not all(map(math.isfinite, (x0, y0, x1, y1))) or x0 > x1 or y0 > y1:
        raise RequestError(400, "bbox is min_long,min_lat,max_long,max_lat in degrees")
    return x0, y0, x1, y1


def errors(status: int, description: str) -> list[dict[str, Any]]:
    return [{"code": status, "description": description}]


def to_xml(root: str, item: str, rows: Sequence[Mapping[str, Any]]) -> bytes:
    """``rows`` as the spec's XML: ``<root><item>...</item>...</root>``."""
    top = ET.Element(root)
    for row in rows:
        _fill(ET.SubElement(top, item), row)
    body: bytes = ET.tostring(top, encoding="utf-8")  # no declaration of its own for UTF-8
    return b'<?xml version="1.0" encoding="utf-8"?>' + body


def _fill(el: ET.Element, row: Mapping[str, Any]) -> None:
    for key, value in row.items():
        child = ET.SubElement(el, key)
        _value(child, value)


def _value(el: ET.Element, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        _fill(el, value)
    elif isinstance(value, list | tuple):
        for v in value:
            _value(ET.SubElement(el, "item"), v)
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    else:
        el.text = _xml_safe(str(value))


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    """Characters XML 1.0 cannot carry, replaced by U+FFFD."""
    return _XML_BAD.sub("\ufffd", text)
