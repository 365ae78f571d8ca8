"""Proof that a rule graph routes every category in every kelurahan to exactly one unit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from .graph import RuleGraph


@dataclass(frozen=True)
class LintMessage:
    severity: str  # "error" | "warning"
    source: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.source}: {self.where}: {self.message}"


@dataclass(frozen=True)
class LintReport:
    messages: tuple[LintMessage, ...]
    coverage: Mapping[str, Any]

    @property
    def ok(self) -> bool:
        return not any(m.severity == "error" for m in self.messages)


def lint(rg: RuleGraph, layers: Sequence[Mapping[str, Any]] | None = None) -> LintReport:
    """Prove the rule graph routes every category in every kelurahan to exactly one existing
    unit, that escalation chains are acyclic and end at a top unit, and that no unit or
    category is unreachable. With ``layers`` (the installed asset layers' schemas: asset,
    classes, owners), check each asset rule against them too. Returns messages naming file
    and rule, and a coverage summary."""
    msgs: list[LintMessage] = []
    if layers is not None:
        msgs += lint_assets(rg, layers)
    spec = rg.spec
    units_file = (
        str(Path(spec.source) / "units.toml") if Path(spec.source).is_dir() else (spec.source)
    )
    cats_file = (
        str(Path(spec.source) / "categories.toml") if Path(spec.source).is_dir() else (spec.source)
    )
    by_level: dict[str, int] = {}
    routed = 0
    for code in spec.categories:
        rules_for = [r for r in spec.rules if r.category == code]
        if not rules_for:
            msgs.append(
                LintMessage(
                    "error", cats_file, f"categories.{code}", "no rule handles this category"
                )
            )
            continue
        for kel in rg.areas:
            ranked = [m for m in rg.matching_rules(code, kel) if not m[0].when]
            if not ranked:
                msgs.append(
                    LintMessage(
                        "error",
                        rules_for[0].source,
                        f"category {code}",
                        f"no rule routes kelurahan {kel} ({rg.areas[kel].nama})",
                    )
                )
                continue
            best = ranked[0][0]
            ties = [
                r.id
                for r, _ in ranked
                if (r.priority, r.specificity) == (best.priority, best.specificity)
            ]
            if len(ties) > 1:
                msgs.append(
                    LintMessage(
                        "error",
                        best.source,
                        f"rules {ties}",
                        f"tie for category {code} in kelurahan {kel}",
                    )
                )
                continue
            unit = rg.units.get(ranked[0][1])
            if unit is None:
                msgs.append(
                    LintMessage(
                        "error",
                        best.source,
                        f"rule {best.id}",
                        f"unit {ranked[0][1]!r} does not exist",
                    )
                )
                continue
            routed += 1
            by_level[unit.level] = by_level.get(unit.level, 0) + 1
    esc = nx.DiGraph([(u, v) for u, v, k in rg.graph.edges(keys=True) if k == "escalates_to"])
    if not nx.is_directed_acyclic_graph(esc):
        cycle = nx.find_cycle(esc)
        msgs.append(
            LintMessage(
                "error",
                units_file,
                "escalates_to",
                f"escalation cycle: {' → '.join(u for u, _ in cycle)}",
            )
        )
    else:
        for uid, unit in rg.units.items():
            chain = rg.escalation_chain(uid)
            last = rg.units[chain[-1]] if chain else unit
            if not last.top:
                msgs.append(
                    LintMessage(
                        "error",
                        units_file,
                        f"unit {uid}",
                        f"escalation chain ends at {last.id}, not a top unit",
                    )
                )
    referenced = {spec.settings.coordinator}
    for r in spec.rules:
        referenced |= {r.unit, *r.via, *r.alternatives}
    for s in spec.units.values():
        if s.escalates_to:
            referenced.add(s.escalates_to)
    for uid in sorted(set(spec.units) - referenced):
        section = "templates" if spec.units[uid].per else "units"
        msgs.append(
            LintMessage(
                "error",
                units_file,
                f"{section}.{uid}",
                "unreachable: no rule, escalation or setting refers to it",
            )
        )
    tops = [u for u in spec.units.values() if u.top]
    if not tops:
        msgs.append(LintMessage("error", units_file, "units", "no unit has top = true"))
    coverage = {
        "rule_set": spec.settings.version,
        "categories": len(spec.categories),
        "rules": len(spec.rules),
        "unit_specs": len(spec.units),
        "units": len(rg.units),
        "kelurahan": len(rg.areas),
        "routed_pairs": routed,
        "expected_pairs": len(spec.categories) * len(rg.areas),
        "by_level": dict(sorted(by_level.items())),
    }
    return LintReport(tuple(msgs), coverage)


def lint_assets(rg: RuleGraph, layers: Sequence[Mapping[str, Any]]) -> list[LintMessage]:
    """Asset rules against the installed layers' schemas: an error for a class column, class
    value or owner that no installed layer of the rule's asset has; a warning for an asset
    no installed layer provides (the rule cannot match until one is installed) and for an
    owner that is not a unit of the rule set."""
    msgs = []
    for r in rg.spec.rules:
        asset = r.when.get("asset")
        where = f"rule {r.id}"
        if asset is None:
            owner = r.when.get("asset_owner")
            if owner is not None and not any(owner in s.get("owners", ()) for s in layers):
                msgs.append(LintMessage("error", r.source, where,
                                        f"no installed layer has owner {owner!r}"))  # fmt: skip
            continue
        mine = [s for s in layers if s.get("asset") == asset]
        if not mine:
            msgs.append(LintMessage("warning", r.source, where,
                                    f"no installed asset layer has asset {asset!r}: the rule "
                                    "never matches until one is installed"))  # fmt: skip
            continue
        for key, value in r.when.items():
            cols = [s.get("classes", {}) for s in mine]
            # a report attribute the layers do not carry (road_class is both)
            if key == "asset" or (key in rg.spec.attributes and not any(key in c for c in cols)):
                continue
            if key == "asset_owner":
                have = {o for s in mine for o in s.get("owners", ())}
                what = "owner"
            else:
                if not any(key in c for c in cols):
                    msgs.append(LintMessage("error", r.source, where,
                                            f"no installed {asset!r} layer has a class column "
                                            f"{key!r}"))  # fmt: skip
                    continue
                have = {v for c in cols for v in c.get(key, ())}
                what = f"{key} value"
            if value not in have:
                msgs.append(LintMessage("error", r.source, where,
                                        f"no installed {asset!r} layer has {what} {value!r} "
                                        f"(they have {sorted(have)})"))  # fmt: skip
    for s in layers:
        for owner in s.get("owners", ()):
            if owner not in rg.spec.units:
                why = f"owner {owner!r} is not a unit of the rule set"
                msgs.append(LintMessage("warning", str(s.get("layer")), "owners", why))
    return msgs
