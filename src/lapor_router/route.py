"""Third stage: who must act on a located report, why, and by when.

Functions over a compiled :class:`~lapor_router.rules.RuleGraph`: the category is taken,
corrected or inferred from the text (:class:`Classifier`), the matching rule picks the
responsible unit for the kelurahan, and the decision records the CRM path, the deadlines,
the explanation and every flag. :meth:`Router.route`, :meth:`Router.transfer` and
:meth:`Router.escalate` are the public entry points.
"""

from __future__ import annotations

import difflib
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .boundaries import BoundarySet
from .deadlines import WorkCalendar, add_many
from .errors import RoutingError
from .locate import Location, Locator
from .normalize import as_array, name_key, text_tokens
from .rules import Category, Deadline, Rule, RuleGraph

log = logging.getLogger("lapor_router.route")

_PHRASE_WEIGHT = 2.0
_WORD_WEIGHT = 1.0
_FUZZY_WEIGHT = 0.75
_FUZZY_CUTOFF = 0.85
_INFER_MIN = 0.75
_INFER_MARGIN = 0.5
_MISMATCH_MIN = 2.0
_CATEGORY_CUTOFF = 0.85


@dataclass(frozen=True)
class Report:
    """One complaint as it arrives. ``lon``/``lat`` in degrees; ``created_at`` a datetime
    (naive = WIB) or ISO text; ``reporter`` a mapping such as ``{"name": ..., "phone": ...}``
    that never reaches a unit for a private report, nor any log; ``attributes`` carries what
    some units require (e.g. ``pam_customer_number``)."""

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

    def dispatch_record(self) -> dict[str, Any]:
        """What the responsible unit sees (see :func:`lapor_router.dispatch.dispatch_record`)."""
        from .dispatch import dispatch_record

        return dispatch_record(self)


# ------------------------------------------------------------------------ categories


@dataclass(frozen=True)
class CategoryGuess:
    code: str | None
    source: str | None
    suggested: str | None
    flags: frozenset[str]
    matched: tuple[str, ...]  # keywords that decided an inference or a mismatch


class Classifier:
    """Keyword scoring of Indonesian complaint texts against the rule set's categories."""

    def __init__(self, categories: Mapping[str, Category]) -> None:
        self.categories = categories
        self._phrases: list[tuple[str, str]] = []  # (" phrase ", category)
        self._words: dict[str, list[str]] = {}
        for c in categories.values():
            for kw in c.keywords:
                norm = " ".join(text_tokens(kw))
                if " " in norm:
                    self._phrases.append((f" {norm} ", c.code))
                else:
                    self._words.setdefault(norm, []).append(c.code)
        self._long_words = [w for w in self._words if len(w) >= 5]
        self._names: dict[str, str] = {}
        for c in categories.values():
            for label in (c.code, c.name, *c.aliases):
                self._names.setdefault(name_key(label), c.code)
        self._score_cache: dict[str, tuple[dict[str, float], dict[str, list[str]]]] = {}
        self._fuzzy_cache: dict[str, str | None] = {}

    def _fuzzy(self, token: str) -> str | None:
        if token not in self._fuzzy_cache:
            best = difflib.get_close_matches(token, self._long_words, n=1, cutoff=_FUZZY_CUTOFF)
            self._fuzzy_cache[token] = best[0] if best else None
        return self._fuzzy_cache[token]

    def scores(self, text: str) -> tuple[dict[str, float], dict[str, list[str]]]:
        """Score per category and the keywords that matched (cached per text)."""
        if text in self._score_cache:
            return self._score_cache[text]
        tokens = text_tokens(text)
        joined = f" {' '.join(tokens)} "
        score: dict[str, float] = {}
        hits: dict[str, list[str]] = {}

        def add(code: str, kw: str, weight: float) -> None:
            if kw not in hits.setdefault(code, []):
                hits[code].append(kw)
                score[code] = score.get(code, 0.0) + weight

        for phrase, code in self._phrases:
            if phrase in joined:
                add(code, phrase.strip(), _PHRASE_WEIGHT)
        for tok in set(tokens):
            if tok in self._words:
                for code in self._words[tok]:
                    add(code, tok, _WORD_WEIGHT)
            elif len(tok) >= 5 and not tok.isdigit():
                near = self._fuzzy(tok)
                if near is not None:
                    for code in self._words[near]:
                        add(code, near, _FUZZY_WEIGHT)
        if len(self._score_cache) < 100_000:
            self._score_cache[text] = (score, hits)
        return score, hits

    def resolve_given(self, given: str) -> tuple[str | None, str | None]:
        """(code, source) for a category the report or app gave: ``given`` for a code, name
        or alias, ``corrected`` for a close misspelling, (None, None) when unknown."""
        key = name_key(given)
        if not key:
            return None, None
        if key in self._names:
            return self._names[key], "given"
        near = difflib.get_close_matches(key, list(self._names), n=1, cutoff=_CATEGORY_CUTOFF)
        return (self._names[near[0]], "corrected") if near else (None, None)

    def classify(self, given: str | None, text: str) -> CategoryGuess:
        """The report's category, with flags ``category_unknown``, ``category_mismatch``,
        ``needs_triage``."""
        flags: set[str] = set()
        score, hits = self.scores(text or "")
        ranked = sorted(score.items(), key=lambda kv: (-kv[1], kv[0]))
        best, best_score = ranked[0] if ranked else (None, 0.0)
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        confident = best_score >= _INFER_MIN and best_score - second >= _INFER_MARGIN
        code, source = (None, None)
        if not _missing(given) and str(given).strip():
            code, source = self.resolve_given(str(given))
            if code is None:
                flags.add("category_unknown")
        if code is not None:
            if (
                confident
                and best != code
                and best_score >= _MISMATCH_MIN
                and score.get(code, 0.0) == 0.0
            ):
                flags.add("category_mismatch")
                return CategoryGuess(
                    code, source, best, frozenset(flags), tuple(hits.get(best or "", ()))
                )
            return CategoryGuess(code, source, None, frozenset(flags), tuple(hits.get(code, ())))
        if confident and best is not None:
            return CategoryGuess(best, "inferred", None, frozenset(flags), tuple(hits[best]))
        flags.add("needs_triage")
        suggestion = best if best_score >= _INFER_MIN else None
        return CategoryGuess(None, None, suggestion, frozenset(flags), ())

    def emergency(self, category: Category | None, text: str) -> bool:
        """True for an emergency category, or when every ``emergency_if`` group is in the text."""
        if category is None:
            return False
        if category.emergency:
            return True
        if not category.emergency_if:
            return False
        tokens = text_tokens(text)
        joined, words = f" {' '.join(tokens)} ", set(tokens)
        return all(
            any((f" {w} " in joined) if " " in w else (w in words) for w in group)
            for group in category.emergency_if
        )


# ----------------------------------------------------------------------------- routing


def parse_created(
    value: datetime | str | None, cal: WorkCalendar, now: datetime
) -> tuple[datetime, set[str]]:
    """The report's creation time (aware) and flags for an assumed or unreadable one."""
    if _missing(value) or (isinstance(value, str) and not value.strip()):
        return cal.localize(now), {"created_at_missing"}
    if isinstance(value, datetime):
        return cal.localize(value), set()
    try:
        return cal.localize(datetime.fromisoformat(str(value).strip())), set()
    except ValueError:
        return cal.localize(now), {"created_at_invalid"}


def report_attributes(
    rg: RuleGraph, given: Mapping[str, Any] | None, text: str | None
) -> dict[str, str]:
    """A report's attributes: those given, plus those the rule set's patterns find in the text."""
    attrs = {str(k): str(v) for k, v in (given or {}).items() if v is not None and v != ""}
    for code, spec in rg.spec.attributes.items():
        if code not in attrs and spec.pattern is not None and text:
            found = spec.pattern.search(str(text))
            if found:
                attrs[code] = found.group(1) if found.groups() else found.group(0)
    return attrs


@dataclass(frozen=True)
class Selection:
    """The responsible unit for a category at a place, the rule that chose it, the other
    matching rules, and the flags the choice raises."""

    unit_id: str | None
    rule: Rule | None
    ranked: tuple[tuple[Rule, str], ...]
    flags: frozenset[str]


def select_unit(
    rg: RuleGraph,
    category: str | None,
    status: str,
    kelurahan: str | None,
    attributes: Mapping[str, str],
) -> Selection:
    """Who is responsible: no Jakarta unit outside Jakarta; the coordinating unit for invalid
    coordinates, an unknown category or no matching rule; else the best matching rule."""
    coordinator = rg.settings.coordinator
    if status == "outside":
        return Selection(None, None, (), frozenset({"outside_jakarta"}))
    if status == "invalid":
        return Selection(coordinator, None, (), frozenset({"invalid_location", "needs_triage"}))
    if category is None:
        return Selection(coordinator, None, (), frozenset({"needs_triage"}))
    ranked = rg.matching_rules(category, kelurahan, attributes)
    if not ranked:
        return Selection(coordinator, None, (), frozenset({"no_rule", "needs_triage"}))
    return Selection(ranked[0][1], ranked[0][0], tuple(ranked), frozenset())


def requirements(
    rg: RuleGraph, category: Category | None, unit_id: str, attributes: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Attributes the category and unit need: those present, and labels of those missing."""
    unit = rg.units[unit_id]
    needs = dict.fromkeys((*(category.requires if category else ()), *unit.requires))
    have = {k: attributes[k] for k in needs if k in attributes}
    return have, [rg.spec.attributes[a].label for a in needs if a not in attributes]


def deadlines_of(rg: RuleGraph, category: Category | None) -> tuple[Deadline, Deadline]:
    """(respond, resolve) deadlines of a category, or the rule set's defaults."""
    if category is None:
        return rg.spec.default_respond, rg.spec.default_resolve
    return category.respond, category.resolve


def _step(rg: RuleGraph, unit_id: str, role: str) -> HandlerStep:
    u = rg.units[unit_id]
    return HandlerStep(u.id, u.name, u.level, role)


def _location_words(loc: Location) -> str:
    where = f"Kelurahan {loc.nama}, Kecamatan {loc.kecamatan}, {loc.kota}"
    detail = {
        "inside": "titik berada di dalam batas kelurahan",
        "overlap": f"titik berada di batas yang tumpang tindih ({', '.join(loc.candidates)}); "
        "dipilih kelurahan tempat titik paling dalam",
        "gap": f"titik berada di celah antarbatas; dipilih kelurahan terdekat "
        f"({loc.distance_m:.0f} m)"
        if loc.distance_m is not None
        else "celah",
    }[loc.status]
    return f"Lokasi: {where} ({detail})."


def decide(
    rg: RuleGraph,
    cal: WorkCalendar,
    classifier: Classifier,
    location: Location,
    report: Report,
    now: datetime,
) -> RoutingDecision:
    """The routing decision for a report already located at ``location``."""
    flags: set[str] = set(location.flags)
    explanation: list[str] = []
    guess = classifier.classify(report.category, report.text)
    flags |= guess.flags
    category = rg.categories.get(guess.code) if guess.code else None
    created, created_flags = parse_created(report.created_at, cal, now)
    flags |= created_flags
    if location.status != "inside":
        flags.add(f"location_{location.status}")

    if category is not None:
        how = {
            "given": "dipilih pelapor",
            "corrected": f"dikoreksi dari {report.category!r}",
            "inferred": "disimpulkan dari teks laporan",
        }[str(guess.source)]
        words = f" (kata kunci: {', '.join(guess.matched)})" if guess.matched else ""
        explanation.append(f"Kategori: {category.name} ({category.code}), {how}{words}.")
        if guess.suggested:
            sug = rg.categories[guess.suggested]
            explanation.append(
                f"Teks laporan lebih cocok dengan kategori {sug.name} "
                f"({sug.code}); kategori pelapor dipertahankan, mohon diperiksa."
            )
    else:
        hint = f" (mungkin {guess.suggested})" if guess.suggested else ""
        explanation.append(f"Kategori tidak dapat ditentukan dari laporan{hint}: perlu triase.")

    emergency = classifier.emergency(category, report.text)
    number = category.emergency_number if (emergency and category) else None
    attrs = report_attributes(rg, report.attributes, report.text)
    sel = select_unit(
        rg, category.code if category else None, location.status, location.kode, attrs
    )
    flags |= sel.flags
    chain: list[HandlerStep] = []
    candidates: list[str] = []
    if location.status == "outside":
        where = (
            f"{location.external_nama}, {location.external_kota}"
            if location.external_kode
            else "luar batas wilayah yang dimuat"
        )
        explanation.append(
            f"Lokasi di luar DKI Jakarta ({where}): tidak ada unit Jakarta yang "
            "berwenang; sampaikan laporan ke pemerintah daerah setempat."
        )
    elif location.status == "invalid":
        explanation.append(
            f"Koordinat tidak valid ({location.invalid_reason}): laporan "
            "diteruskan ke unit koordinator untuk triase."
        )
    else:
        explanation.append(_location_words(location))
        entry = rg.instance("kelurahan", location.kode)
        if entry is not None:
            chain.append(_step(rg, entry, "entry"))
        if sel.rule is None and category is not None:
            explanation.append(
                f"Tidak ada aturan untuk {category.code} di "
                f"{location.kode}: diteruskan ke unit koordinator."
            )
        if sel.rule is not None:
            explanation.append(f"Aturan {sel.rule.id}: {sel.rule.explain}")
            for via in sel.rule.via:
                vid = rg.instance(via, location.kode)
                if vid is not None:
                    chain.append(_step(rg, vid, "via"))
            for alt in (*sel.rule.alternatives, *(u for _, u in sel.ranked[1:])):
                aid = rg.instance(alt, location.kode) if "@" not in alt else alt
                if aid is not None and aid not in candidates and aid != sel.unit_id:
                    candidates.append(aid)
    if sel.unit_id is not None:
        chain = [s for s in chain if s.unit_id != sel.unit_id]
        chain.append(_step(rg, sel.unit_id, "responsible"))

    missing: list[str] = []
    have: dict[str, str] = {}
    respond_by = due_at = None
    unit = rg.units[sel.unit_id] if sel.unit_id else None
    rule_id = sel.rule.id if sel.rule else None
    if unit is not None:
        have, missing = requirements(rg, category, unit.id, attrs)
        if missing:
            flags.add("needs_information")
            explanation.append(
                f"{unit.name} memerlukan: {', '.join(missing)}. Mintakan kepada "
                "pelapor; laporan tidak diarsipkan."
            )
        respond, resolve = deadlines_of(rg, category)
        respond_by, due_at = cal.add(created, respond), cal.add(created, resolve)
        explanation.append("Alur CRM: " + " → ".join(s.unit_name for s in chain) + ".")
        explanation.append(
            f"Tenggat: tanggapan paling lambat {respond_by:%Y-%m-%d %H:%M} WIB ({respond}); "
            f"selesai paling lambat {due_at:%Y-%m-%d %H:%M} WIB ({resolve})."
        )
    if emergency:
        explanation.append(f"DARURAT: hubungi {number} segera; laporan CRM tetap dicatat.")

    decision = RoutingDecision(
        report_id=report.report_id,
        unit_id=unit.id if unit else None,
        unit_name=unit.name if unit else None,
        level=unit.level if unit else None,
        handler_chain=tuple(chain),
        category=category.code if category else None,
        category_name=category.name if category else None,
        category_source=guess.source,
        suggested_category=guess.suggested,
        location=location,
        respond_by=respond_by,
        due_at=due_at,
        emergency=emergency,
        emergency_number=number,
        explanation=tuple(explanation),
        flags=frozenset(flags),
        missing_information=tuple(missing),
        rule_id=rule_id,
        rule_set=rg.version,
        candidates=tuple(candidates),
        visited=(unit.id,) if unit else (),
        attributes=have,
        report=report,
    )
    log.info(
        "routed report=%s category=%s unit=%s status=%s flags=%s",
        report.report_id,
        decision.category,
        decision.unit_id,
        location.status,
        sorted(decision.flags),
    )
    return decision


def transfer(rg: RuleGraph, decision: RoutingDecision, reason: str) -> RoutingDecision:
    """ "Not our authority": pass the report to the next candidate unit it has not visited.
    After ``max_transfers`` transfers, or when no candidate is left, it goes to the
    coordinating unit; the coordinating unit itself does not transfer (``transfer_refused``).
    Deadlines keep running from the report's creation."""
    if not reason or not str(reason).strip():
        raise RoutingError("a transfer needs a reason")
    if decision.unit_id is None:
        raise RoutingError("a report outside Jakarta has no unit to transfer from")
    if decision.rule_set != rg.version:
        raise RoutingError(f"decision made with rule set {decision.rule_set}, not {rg.version}")
    coordinator = rg.settings.coordinator
    current = rg.units[decision.unit_id]
    if decision.unit_id == coordinator:
        return replace(
            decision,
            flags=decision.flags | {"transfer_refused"},
            explanation=(
                *decision.explanation,
                f"{current.name} adalah unit koordinator dan tidak mengalihkan laporan ({reason}).",
            ),
        )
    count = decision.transfers + 1
    nxt = next((c for c in decision.candidates if c not in decision.visited), None)
    flags = set(decision.flags) | {"transferred"}
    if count > rg.settings.max_transfers or nxt is None:
        nxt = coordinator
        flags |= {"transfer_limit", "needs_triage"}
    if nxt in decision.visited:  # never the same unit twice: it stays where it is
        return replace(
            decision,
            flags=decision.flags | {"transfer_exhausted"},
            explanation=(
                *decision.explanation,
                f"Tidak ada unit lain yang belum "
                f"menerima laporan ini; tetap di {current.name} ({reason}).",
            ),
        )
    target = rg.units[nxt]
    note = f"Dialihkan dari {current.name} ke {target.name} (pengalihan ke-{count}): {reason}."
    log.info(
        "transferred report=%s from=%s to=%s count=%d",
        decision.report_id,
        current.id,
        target.id,
        count,
    )
    return _hand_over(rg, decision, target.id, "transfer", note, frozenset(flags), transfers=count)


def escalate(
    rg: RuleGraph, cal: WorkCalendar, decision: RoutingDecision, now: datetime
) -> RoutingDecision:
    """Move an overdue report (``now`` after ``due_at``) one step up its unit's escalation
    chain; the higher unit gets the category's response deadline from ``now``. A report that
    is not overdue comes back unchanged; one already at the top is flagged
    ``escalation_exhausted``."""
    if decision.unit_id is None or decision.due_at is None:
        return decision
    local_now = cal.localize(now)
    if local_now <= decision.due_at:
        return decision
    up = rg.escalation_chain(decision.unit_id)
    current = rg.units[decision.unit_id]
    if not up:
        return replace(
            decision,
            flags=decision.flags | {"overdue", "escalation_exhausted"},
            explanation=(
                *decision.explanation,
                f"Terlambat: {current.name} adalah "
                "unit tertinggi, eskalasi tidak dapat dilanjutkan.",
            ),
        )
    target = rg.units[up[0]]
    respond, _ = deadlines_of(rg, rg.categories.get(decision.category or ""))
    deadline = cal.add(local_now, respond)
    log.info("escalated report=%s from=%s to=%s", decision.report_id, current.id, target.id)
    note = (
        f"Eskalasi: melewati tenggat {decision.due_at:%Y-%m-%d %H:%M} WIB; "
        f"{current.name} → {target.name}, tanggapan paling lambat "
        f"{deadline:%Y-%m-%d %H:%M} WIB."
    )
    return _hand_over(
        rg,
        decision,
        target.id,
        "escalation",
        note,
        decision.flags | {"overdue", "escalated"},
        respond_by=deadline,
        due_at=deadline,
        escalations=decision.escalations + 1,
    )


def _hand_over(
    rg: RuleGraph,
    decision: RoutingDecision,
    unit_id: str,
    role: str,
    note: str,
    flags: frozenset[str],
    **changes: Any,
) -> RoutingDecision:
    """``decision`` now with ``unit_id``, which joins the CRM path in ``role``."""
    unit = rg.units[unit_id]
    return replace(
        decision,
        unit_id=unit.id,
        unit_name=unit.name,
        level=unit.level,
        handler_chain=(*decision.handler_chain, _step(rg, unit.id, role)),
        explanation=(*decision.explanation, note),
        flags=flags,
        visited=(*decision.visited, unit.id),
        **changes,
    )


class Router(Locator):
    """Locates reports in a boundary set and routes them through a rule graph.

    ``rules``: a :class:`RuleGraph`, a path to rule files, or None for the packaged Jakarta
    rules (compiled lazily for this router's kelurahan on the first routing call).

    >>> router = Router.default()
    >>> d = router.route(Report(106.8272, -6.1754, text="Jalan berlubang di depan halte"))
    >>> d.unit_name
    'Suku Dinas Bina Marga Kota Administrasi Jakarta Pusat'
    """

    def __init__(
        self,
        boundaries: BoundarySet | str | Path,
        context: BoundarySet | str | Path | None = None,
        gap_tolerance_m: float = 100.0,
        rules: RuleGraph | str | Path | None = None,
        accelerate: bool = True,
    ) -> None:
        super().__init__(
            boundaries, context=context, gap_tolerance_m=gap_tolerance_m, accelerate=accelerate
        )
        self._rules_source = rules
        self._rules: RuleGraph | None = rules if isinstance(rules, RuleGraph) else None
        self._calendar: WorkCalendar | None = None
        self._classifier: Classifier | None = None
        self._rules_lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_rules_lock", None)
        state["_calendar"] = None  # rebuilt from the rule settings on first use
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._rules_lock = threading.Lock()

    @property
    def rules(self) -> RuleGraph:
        """The compiled rule graph (built on first use)."""
        if self._rules is None or self._calendar is None or self._classifier is None:
            with self._rules_lock:
                if self._rules is None:
                    src = self._rules_source
                    if isinstance(src, RuleGraph):
                        self._rules = src
                    elif src is None:
                        self._rules = RuleGraph.default(self.boundaries)
                    else:
                        self._rules = RuleGraph.load(src, self.boundaries)
                if self._calendar is None:
                    self._calendar = WorkCalendar(self._rules.settings)
                if self._classifier is None:
                    self._classifier = Classifier(self._rules.categories)
        return self._rules

    @property
    def calendar(self) -> WorkCalendar:
        """Working days and office hours of the rule set."""
        _ = self.rules
        assert self._calendar is not None
        return self._calendar

    @property
    def classifier(self) -> Classifier:
        """The category classifier of the rule set."""
        _ = self.rules
        assert self._classifier is not None
        return self._classifier

    def now(self) -> datetime:
        """The current time in the rule set's time zone."""
        return datetime.now(self.calendar.tz)

    def route_frame(
        self, frame: pd.DataFrame, columns: Any = None, now: datetime | None = None
    ) -> pd.DataFrame:
        """Route a DataFrame of reports (see :func:`lapor_router.batch.route_frame`)."""
        from .batch import route_frame

        return route_frame(self, frame, columns, now=now)

    def route(self, report: Report, now: datetime | None = None) -> RoutingDecision:
        """Locate ``report`` and decide who must act on it. Never raises for bad report
        content: bad coordinates, categories or dates become flags. ``now`` (default: the
        current time) stands in for a missing ``created_at``."""
        loc = self.locate(
            report.lon, report.lat, accuracy_m=report.accuracy_m, claimed=report.claimed
        )
        return decide(self.rules, self.calendar, self.classifier, loc, report, now or self.now())

    def transfer(self, decision: RoutingDecision, reason: str) -> RoutingDecision:
        """Pass a report the current unit says is not its authority to the next unit."""
        return transfer(self.rules, decision, reason)

    def escalate(self, decision: RoutingDecision, now: datetime | None = None) -> RoutingDecision:
        """Move an overdue report one step up its escalation chain."""
        return escalate(self.rules, self.calendar, decision, now or self.now())


_NONE = "\x00"


def _objects(values: list[Any]) -> np.ndarray:
    """A 1-d object array holding ``values`` as they are (tuples stay tuples)."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def _key(*parts: Any) -> pd.Series:
    """One text key per row from several columns (missing values kept distinct from text)."""
    out: pd.Series | None = None
    for part in parts:
        text = pd.Series(np.asarray(part, dtype=object), dtype=object).map(
            lambda v: _NONE if _missing(v) else str(v)
        )
        out = text if out is None else out + "\x1f" + text
    assert out is not None
    return out


def _factorize(keys: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..k-1 of ``keys`` in order of first appearance (missing keys included, as one
    value of their own), and the row of each code's first appearance."""
    codes, _ = pd.factorize(keys.astype(object).where(keys.notna(), _NONE), use_na_sentinel=False)
    _, first = np.unique(codes, return_index=True)
    return codes, first


def _missing(value: Any) -> bool:
    """None, NaN, pd.NA or NaT: what files and frames use for an empty cell."""
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and value != value)
    )


def _text(value: Any) -> str:
    return "" if _missing(value) else str(value)


def decide_many(
    rg: RuleGraph,
    cal: WorkCalendar,
    classifier: Classifier,
    located: pd.DataFrame,
    categories: Any,
    texts: Any,
    created: Any,
    now: datetime,
    attributes: list[Mapping[str, Any] | None] | None = None,
) -> pd.DataFrame:
    """The columns of :func:`decide` for many located reports at once (same answers).

    Work is done once per distinct value: per (category, text) for classification, per
    created-at value for parsing, per (category, place, attributes) for the rule lookup, and
    per category for the vectorized deadlines. ``located`` is a locate_many frame.
    """
    n = len(located)
    idx = located.index
    raw_given = as_array(categories, n) if categories is not None else [None] * n
    given = pd.Series(
        _objects([None if _text(v).strip() == "" else v for v in raw_given]), dtype=object
    )
    raw_text = as_array(texts, n) if texts is not None else [""] * n
    text = pd.Series(_objects([_text(v) for v in raw_text]), dtype=object)
    # classification: once per distinct (category, text)
    inv, first = _factorize(_key(given, text))
    given_values: list[Any] = given.tolist()
    guesses = [classifier.classify(given_values[i], str(text.iat[i])) for i in first]
    cat_u = np.array([g.code for g in guesses], dtype=object)
    emer_u = np.array(
        [
            classifier.emergency(rg.categories.get(g.code or ""), str(text.iat[i]))
            for g, i in zip(guesses, first, strict=True)
        ],
        dtype=np.bool_,
    )
    cat = cat_u[inv]
    emergency = emer_u[inv]
    # attributes found in texts, once per distinct (attributes, text)
    attrs_list = attributes if attributes is not None else [None] * n
    attr_keys = pd.Series([repr(sorted((a or {}).items())) for a in attrs_list], dtype=object)
    ainv, afirst = _factorize(_key(attr_keys, text))
    attrs_u = [report_attributes(rg, attrs_list[i], str(text.iat[i])) for i in afirst]
    # rule selection: once per distinct (category, status, kelurahan, attributes)
    status = located["status"].astype(str).to_numpy()
    kode = located["kode"].astype(object).where(located["kode"].notna(), None).to_numpy()
    skey = _key(cat, status, kode, ainv)
    sinv, sfirst = _factorize(skey)
    unit_u, rule_u, flags_u, missing_u = [], [], [], []
    for i in sfirst:
        category = rg.categories.get(cat[i] or "")
        sel = select_unit(rg, cat[i], status[i], kode[i], attrs_u[ainv[i]])
        flags = set(sel.flags)
        missing: list[str] = []
        if sel.unit_id is not None:
            _, missing = requirements(rg, category, sel.unit_id, attrs_u[ainv[i]])
            if missing:
                flags.add("needs_information")
        unit_u.append(sel.unit_id)
        rule_u.append(sel.rule.id if sel.rule else None)
        flags_u.append(frozenset(flags))
        missing_u.append(tuple(missing))
    unit_id = np.array(unit_u, dtype=object)[sinv]
    # created-at: once per distinct value
    created_s = pd.Series(as_array(created, n) if created is not None else [None] * n, dtype=object)
    cinv, cuniq = pd.factorize(
        created_s.map(lambda v: v if v is not None else _NONE), use_na_sentinel=False
    )
    parsed = [parse_created(None if v == _NONE else v, cal, now) for v in cuniq]
    when = pd.Series(
        pd.to_datetime([p[0] for p in parsed], utc=True).tz_convert(cal.tz)[cinv], index=idx
    )
    cflags = [frozenset(p[1]) for p in parsed]
    # deadlines: vectorized per category
    respond_by = pd.Series(pd.NaT, index=idx, dtype=f"datetime64[ns, {cal.tz.key}]")
    due_at = respond_by.copy()
    cat_key = np.array(["" if c is None else c for c in cat_u], dtype=object)[inv]
    has_unit = np.array([u is not None for u in unit_u], dtype=bool)[sinv]
    for code in np.unique(cat_key[has_unit]):
        rows = has_unit & (cat_key == code)
        respond, resolve = deadlines_of(rg, rg.categories.get(code))
        respond_by[rows] = add_many(cal, when[rows], respond)
        due_at[rows] = add_many(cal, when[rows], resolve)
    # flags: the location's, the category's, the created-at's, the selection's
    gflags = [g.flags for g in guesses]
    loc_flags = located["flags"].to_numpy()
    all_flags = np.empty(n, dtype=object)
    cache: dict[tuple[Any, ...], frozenset[str]] = {}
    for r in range(n):
        k = (loc_flags[r], inv[r], cinv[r], sinv[r], status[r])
        f = cache.get(k)
        if f is None:
            f = loc_flags[r] | gflags[inv[r]] | cflags[cinv[r]] | flags_u[sinv[r]]
            if status[r] != "inside":
                f = f | {f"location_{status[r]}"}
            cache[k] = f
        all_flags[r] = f
    units = rg.units
    number = np.array(
        [
            rg.categories[c].emergency_number if (e and c) else None
            for c, e in zip(cat_u, emer_u, strict=True)
        ],
        dtype=object,
    )[inv]
    columns = {
        "unit_id": unit_id,
        "unit_name": _objects([units[u].name if u else None for u in unit_id]),
        "level": _objects([units[u].level if u else None for u in unit_id]),
        "category": cat,
        "category_source": _objects([g.source for g in guesses])[inv],
        "suggested_category": _objects([g.suggested for g in guesses])[inv],
        "rule_id": _objects(rule_u)[sinv],
        "emergency": emergency,
        "emergency_number": number,
        "respond_by": respond_by,
        "due_at": due_at,
        "missing_information": _objects(missing_u)[sinv],
        "flags": all_flags,
    }
    return pd.DataFrame(
        {
            k: pd.Series(v, index=idx, dtype=object)
            if isinstance(v, np.ndarray) and v.dtype == object
            else v
            for k, v in columns.items()
        },
        index=idx,
    )
