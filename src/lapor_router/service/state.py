"""A routing decision as JSON the store keeps, and back: what a later transfer, escalation,
pin move or category change continues from. Times as ISO 8601 with their offset (WIB)."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from ..locate import AssetMatch, Location
from ..normalize.places import NamedPlace
from ..route import HandlerStep, Report, RoutingDecision

_TIMES = ("respond_by", "due_at")
_SETS = ("flags",)
_SKIP = ("report", "location", "handler_chain", "named", "assets", "asset")


def decision_state(decision: RoutingDecision) -> dict[str, Any]:
    """``decision`` as JSON-ready values (its report excluded: the store keeps that apart)."""
    out: dict[str, Any] = {}
    for f in fields(decision):
        if f.name in _SKIP:
            continue
        value = getattr(decision, f.name)
        if f.name in _TIMES:
            value = value.isoformat() if value is not None else None
        elif f.name in _SETS:
            value = sorted(value)
        elif isinstance(value, tuple):
            value = [list(v) if isinstance(v, tuple) else v for v in value]
        elif f.name == "attributes":
            value = dict(value)
        out[f.name] = value
    loc = _shallow(decision.location)
    loc["flags"] = sorted(decision.location.flags)
    loc["accuracy_shares"] = [list(x) for x in decision.location.accuracy_shares]
    out["location"] = loc
    out["handler_chain"] = [_shallow(s) for s in decision.handler_chain]
    out["named"] = _shallow(decision.named) if decision.named is not None else None
    out["assets"] = [_asset(a) for a in decision.assets]
    out["asset"] = _asset(decision.asset) if decision.asset is not None else None
    return out


def _asset(a: AssetMatch) -> dict[str, Any]:
    return {**_shallow(a), "classes": dict(a.classes)}


def _asset_from(values: dict[str, Any]) -> AssetMatch:
    return AssetMatch(**{**values, "classes": dict(values["classes"])})


def _shallow(obj: Any) -> dict[str, Any]:
    """A flat dataclass's fields (cheaper than dataclasses.asdict, which deep-copies)."""
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def decision_from_state(state: dict[str, Any], report: Report) -> RoutingDecision:
    """The decision :func:`decision_state` wrote, with ``report`` as its report."""
    values = dict(state)
    loc = dict(values.pop("location"))
    loc["flags"] = frozenset(loc["flags"])
    loc["candidates"] = tuple(loc["candidates"])
    loc["accuracy_shares"] = tuple((str(k), float(s)) for k, s in loc["accuracy_shares"])
    chain = tuple(HandlerStep(**s) for s in values.pop("handler_chain"))
    named = values.pop("named")
    for name in _TIMES:
        values[name] = datetime.fromisoformat(values[name]) if values[name] else None
    values["flags"] = frozenset(values["flags"])
    for name in ("explanation", "missing_information", "candidates", "visited"):
        values[name] = tuple(values[name])
    values["possible_duplicates"] = tuple(
        (str(i), float(m)) for i, m in values.get("possible_duplicates", ())
    )
    values["category_candidates"] = tuple(
        (str(c), float(s)) for c, s in values["category_candidates"]
    )
    values["assets"] = tuple(_asset_from(a) for a in values.get("assets", ()))
    values["asset"] = _asset_from(values["asset"]) if values.get("asset") else None
    values["asset_layers"] = tuple(values.get("asset_layers", ()))
    return RoutingDecision(
        **values,
        location=Location(**loc),
        handler_chain=chain,
        named=NamedPlace(**named) if named is not None else None,
        report=report,
    )
