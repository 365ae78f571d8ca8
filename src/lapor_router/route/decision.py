"""The types a routing produces, shared by every later stage: a :class:`Report` as it
arrives, the :class:`RoutingDecision` made for it and the :class:`HandlerStep` of its CRM
path. A decision's :meth:`~RoutingDecision.dispatch_record` is what the unit sees of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ..locate import AssetMatch, Location
from ..normalize.places import NamedPlace
from ..privacy import identity_words, mask_text, public_reporter


@dataclass(frozen=True)
class Report:
    """One complaint as it arrives. ``lon``/``lat`` in degrees; ``created_at`` a datetime
    (naive = WIB) or ISO text; ``reporter`` a mapping such as ``{"name": ..., "phone": ...}``
    that never reaches a unit for a private report, nor any log; ``attributes`` carries what
    some units require (e.g. ``pam_customer_number``); ``address`` is where the reporter
    says it is, as text (a kelurahan it names is used when the coordinates are unusable)."""

    lon: Any
    lat: Any
    category: str | None = None
    text: str = field(default="", repr=False)
    claimed: str | None = None
    accuracy_m: float | None = None
    created_at: datetime | str | None = None
    private: bool = False
    reporter: Mapping[str, Any] | None = field(default=None, repr=False)
    report_id: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    address: str | None = None


@dataclass(frozen=True)
class HandlerStep:
    """One unit on the CRM path: ``role`` is entry, via, responsible, transfer or escalation."""

    unit_id: str
    unit_name: str
    level: str
    role: str


@dataclass(frozen=True)
class RoutingDecision:
    """Who must act on a report. Times are timezone-aware (Asia/Jakarta).

    ``unit_id`` is None only for reports outside Jakarta (``outside_jakarta`` flag).
    ``category_source`` is ``given``, ``corrected`` (a misspelt category name), ``inferred``
    (from the text) or None (nothing inferable: ``needs_triage``).
    """

    report_id: str | None
    unit_id: str | None
    unit_name: str | None
    level: str | None
    handler_chain: tuple[HandlerStep, ...]
    category: str | None
    category_name: str | None
    category_source: str | None
    suggested_category: str | None
    location: Location
    respond_by: datetime | None
    due_at: datetime | None
    emergency: bool
    emergency_number: str | None
    explanation: tuple[str, ...]
    flags: frozenset[str]
    missing_information: tuple[str, ...]
    rule_id: str | None
    rule_set: str
    candidates: tuple[str, ...] = field(repr=False, default=())
    visited: tuple[str, ...] = field(repr=False, default=())
    transfers: int = 0
    escalations: int = 0
    attributes: Mapping[str, str] = field(repr=False, default_factory=dict)
    report: Report | None = field(repr=False, compare=False, default=None)
    category_candidates: tuple[tuple[str, float], ...] = ()  # (code, score), best first
    classifier: str | None = None  # which classifier decided the category
    named: NamedPlace | None = None  # the place the text names (kelurahan, RT/RW, street)
    named_kode: str | None = None  # the kelurahan the text names, matched to the set
    # open reports of the category within its duplicates radius and window: (id, metres)
    possible_duplicates: tuple[tuple[str, float], ...] = ()
    # features of the asset layers near the point, nearest first, and the layers consulted
    assets: tuple[AssetMatch, ...] = ()
    asset_layers: tuple[str, ...] = ()  # name@version of every layer the router holds
    asset: AssetMatch | None = None  # the feature the deciding rule matched, if any
    # outside the rule set's area: who takes it instead, and through which channel
    receiver: str | None = None
    receiver_channel: str | None = None

    def dispatch_record(self) -> dict[str, Any]:
        """The record the responsible unit receives: JSON-ready, reporter protected (see
        :mod:`lapor_router.privacy`)."""
        return _record(self)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _created_iso(value: Any) -> str | None:
    """A report's creation time as ISO text, or None when it cannot be read as one (what
    was given instead may be anything, a name included)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip()).isoformat()
        except ValueError:
            return None
    return None


def _private(report: Report | None) -> bool:
    return bool(report.private) if report is not None else True


def mask_for_unit(decision: RoutingDecision, text: object) -> str:
    """``text`` as the unit may see it: phones, e-mails and NIKs masked, and a private
    reporter's own values too."""
    report = decision.report
    reporter = report.reporter if report is not None else None
    return mask_text(text, extra=identity_words(reporter) if _private(report) else ())


def _record(decision: RoutingDecision) -> dict[str, Any]:
    report = decision.report
    loc = decision.location
    private = _private(report)
    reporter = report.reporter if report is not None else None
    text = mask_for_unit(decision, report.text if report else "")
    record: dict[str, Any] = {
        "report_id": decision.report_id,
        "unit_id": decision.unit_id,
        "unit_name": decision.unit_name,
        "level": decision.level,
        "handler_chain": [s.unit_name for s in decision.handler_chain],
        "category": decision.category,
        "category_name": decision.category_name,
        "category_source": decision.category_source,
        "category_candidates": [list(c) for c in decision.category_candidates],
        "classifier": decision.classifier,
        "emergency": decision.emergency,
        "emergency_number": decision.emergency_number,
        "kelurahan_kode": loc.kode,
        "kelurahan": loc.nama,
        "kecamatan": loc.kecamatan,
        "kota": loc.kota,
        "lon": loc.lon,
        "lat": loc.lat,
        "location_status": loc.status,
        "named_place": asdict(decision.named) if decision.named is not None else None,
        "named_kode": decision.named_kode,
        "text": text,
        "created_at": _created_iso(report.created_at) if report is not None else None,
        "respond_by": _iso(decision.respond_by),
        "due_at": _iso(decision.due_at),
        "flags": sorted(decision.flags),
        "missing_information": list(decision.missing_information),
        "attributes": dict(decision.attributes),
        "explanation": [mask_for_unit(decision, line) for line in decision.explanation],
        "rule_set": decision.rule_set,
        "boundary_set": loc.boundary_set,
        "possible_duplicates": [list(p) for p in decision.possible_duplicates],
        "assets": [asdict(a) for a in decision.assets],
        "asset_layers": list(decision.asset_layers),
        # the feature whose attributes the deciding rule matched
        "rule_asset": asdict(decision.asset) if decision.asset is not None else None,
        "receiver": decision.receiver,
        "receiver_channel": decision.receiver_channel,
        "private": private,
    }
    if not private:
        record["reporter"] = public_reporter(reporter)
    return record
