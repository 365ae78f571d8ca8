"""The rule graph: a parsed rule set compiled for the kelurahan of a boundary set.

A :class:`networkx.MultiDiGraph` with typed nodes (``category``, ``unit``, ``area``) and
typed edges (``handled_by`` category → unit, ``escalates_to`` unit → unit, ``part_of``
area → area); routing (:mod:`.decide`) and linting (:mod:`.lint`) are functions over it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from .. import _data
from ..locate import BoundarySet
from .rules import PER, Area, Category, Rule, RuleSpec, Settings, Unit, default_spec, parse_rules


def _areas_from(boundaries: BoundarySet | None) -> dict[str, Area]:
    if boundaries is None:
        return {
            k: Area(
                r["kode"],
                r["kelurahan"],
                r["kecamatan_kode"],
                r["kecamatan"],
                r["kota_kode"],
                r["kota"],
                r["provinsi_kode"],
                r["provinsi"],
            )
            for k, r in _data.registry().items()
        }
    out = {}
    for i in range(len(boundaries)):
        fields = tuple(v or "" for v in boundaries.hierarchy(i))
        out[fields[0]] = Area(*fields)
    return out


@dataclass(eq=False)
class RuleGraph:
    """Compiled rules: ``graph`` plus lookup tables. Build with :meth:`load` / :meth:`default`.

    Node ids: ``category:CODE``, ``unit:ID`` (``ID`` = ``spec`` or ``spec@areacode``),
    ``area:CODE``. Edge keys: the rule id (``handled_by``), ``escalates_to``, ``part_of``.
    """

    spec: RuleSpec
    areas: dict[str, Area]
    graph: nx.MultiDiGraph
    units: dict[str, Unit]
    _cache: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: str | Path, boundaries: BoundarySet | None = None) -> RuleGraph:
        """Parse rule files and compile them for the kelurahan of ``boundaries`` (default:
        the committed Jakarta registry)."""
        return cls.compile(parse_rules(path), boundaries)

    @classmethod
    def default(cls, boundaries: BoundarySet | None = None) -> RuleGraph:
        """The packaged Jakarta rule set."""
        return cls.compile(default_spec(), boundaries)

    @classmethod
    def compile(cls, spec: RuleSpec, boundaries: BoundarySet | None = None) -> RuleGraph:
        areas = _areas_from(boundaries)
        g = nx.MultiDiGraph(version=spec.settings.version, source=spec.source)
        for a in areas.values():
            for code, name, kind, parent in (
                (a.kode, a.nama, "kelurahan", a.kecamatan_kode),
                (a.kecamatan_kode, a.kecamatan, "kecamatan", a.kota_kode),
                (a.kota_kode, a.kota, "kota", a.provinsi_kode),
                (a.provinsi_kode, a.provinsi, "provinsi", None),
            ):
                if not code:
                    continue
                g.add_node(f"area:{code}", type="area", kind=kind, name=name)
                if parent:
                    g.add_edge(f"area:{code}", f"area:{parent}", key="part_of", type="part_of")
        units: dict[str, Unit] = {}
        for s in spec.units.values():
            if s.per is None:
                units[s.id] = Unit(s.id, s.name, s.level, s.id, None, s.requires, s.contact, s.top)
                continue
            seen: dict[str, Area] = {}
            for a in areas.values():
                code = a.kode[: PER[s.per]] if s.per != "kelurahan" else a.kode
                seen.setdefault(code, a)
            for code, a in seen.items():
                name = s.name.format(kelurahan=a.nama, kecamatan=a.kecamatan, kota=a.kota)
                uid = f"{s.id}@{code}"
                units[uid] = Unit(uid, name, s.level, s.id, code, s.requires, s.contact, s.top)
        for u in units.values():
            g.add_node(
                f"unit:{u.id}",
                type="unit",
                name=u.name,
                level=u.level,
                spec=u.spec,
                area=u.area,
                top=u.top,
            )
        rg = cls(spec, areas, g, units)
        for u in units.values():
            target = spec.units[u.spec].escalates_to
            if target is not None:
                tid = rg.instance(target, u.area)
                if tid is not None:
                    g.add_edge(
                        f"unit:{u.id}", f"unit:{tid}", key="escalates_to", type="escalates_to"
                    )
        for c in spec.categories.values():
            g.add_node(f"category:{c.code}", type="category", name=c.name, group=c.group)
        for rule in spec.rules:
            s = spec.units[rule.unit]
            targets = [u for u in units.values() if u.spec == s.id and rg._in_scope(rule, u.area)]
            for u in targets:
                g.add_edge(
                    f"category:{rule.category}",
                    f"unit:{u.id}",
                    key=rule.id,
                    type="handled_by",
                    rule=rule.id,
                    priority=rule.priority,
                    specificity=rule.specificity,
                )
        return rg

    # ------------------------------------------------------------------------ lookups

    @property
    def settings(self) -> Settings:
        return self.spec.settings

    @property
    def categories(self) -> Mapping[str, Category]:
        return self.spec.categories

    @property
    def version(self) -> str:
        return self.spec.settings.version

    @property
    def fingerprint(self) -> str:
        """The rule set's version and the sha256 of its files (see :class:`RuleSpec`)."""
        return self.spec.fingerprint

    def recall(self, key: tuple[Any, ...]) -> Any:
        """What :meth:`remember` kept for ``key``, or None."""
        return self._cache.get(key)

    def remember(self, key: tuple[Any, ...], value: Any) -> None:
        """Keep ``value``, an answer that depends on these rules and ``key`` alone, for
        :meth:`recall` (while fewer than 200,000 answers are kept)."""
        if len(self._cache) < 200_000:
            self._cache[key] = value

    def rule(self, rule_id: str) -> Rule:
        """The rule with id ``rule_id``."""
        if ("rules",) not in self._cache:
            self._cache[("rules",)] = {r.id: r for r in self.spec.rules}
        rule: Rule = self._cache[("rules",)][rule_id]
        return rule

    @staticmethod
    def _in_scope(rule: Rule, area: str | None) -> bool:
        """Whether a unit serving ``area`` can take a rule limited to ``rule.scope``."""
        if not rule.scope or area is None:
            return True
        codes = [c for cs in rule.scope.values() for c in cs]
        return any(area.startswith(c) or c.startswith(area) for c in codes)

    def instance(self, unit: str, kelurahan: str | None) -> str | None:
        """Concrete unit id of a unit/template for the area of ``kelurahan`` (or an area code
        of the template's level or finer); None when the area has no such instance."""
        spec = self.spec.units[unit]
        if spec.per is None:
            return unit
        if kelurahan is None or len(kelurahan) < PER[spec.per]:
            return None
        uid = f"{unit}@{kelurahan[: PER[spec.per]]}"
        return uid if uid in self.units else None

    def escalation_chain(self, unit_id: str) -> list[str]:
        """Units above ``unit_id``, nearest first, up to the top unit."""
        chain: list[str] = []
        node = f"unit:{unit_id}"
        seen = {node}
        while True:
            ups = [v for _, v, k in self.graph.out_edges(node, keys=True) if k == "escalates_to"]
            if not ups or ups[0] in seen:
                return chain
            node = ups[0]
            seen.add(node)
            chain.append(node.removeprefix("unit:"))

    def matching_rules(
        self, category: str, kelurahan: str | None, attributes: Mapping[str, str] | None = None
    ) -> list[tuple[Rule, str]]:
        """(rule, unit id) pairs for a category at a kelurahan, best first: higher priority,
        then narrower area, then more attribute conditions. Cached per inputs."""
        attrs = dict(attributes or {})
        key = ("match", category, kelurahan, tuple(sorted(attrs.items())))
        if key in self._cache:
            return list(self._cache[key])
        node = f"category:{category}"
        areas = set()
        if kelurahan:
            areas = {kelurahan[:n] for n in (2, 5, 8)} | {kelurahan}
        found: dict[str, tuple[Rule, str]] = {}
        for _, target, rid in self.graph.out_edges(node, keys=True):
            rule = self.rule(rid)
            if any(attrs.get(k) != v for k, v in rule.when.items()):
                continue
            unit = self.units[target.removeprefix("unit:")]
            if unit.area is not None and unit.area not in areas:
                continue
            if rule.scope and not (
                kelurahan and any(kelurahan.startswith(c) for cs in rule.scope.values() for c in cs)
            ):
                continue
            found[rid] = (rule, unit.id)
        ranked = sorted(
            found.values(),
            key=lambda ru: (-ru[0].priority, -ru[0].specificity, -len(ru[0].when), ru[0].id),
        )
        self._cache[key] = tuple(ranked)
        return ranked
