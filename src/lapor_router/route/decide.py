"""Who must act on a located report, why, and by when.

Functions over a compiled :class:`~.graph.RuleGraph`: the category is taken, corrected or
inferred from the text (:mod:`.classify`), the matching rule picks the responsible unit for
the kelurahan, and the decision records the CRM path, the deadlines, the explanation and
every flag.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..locate import RESERVED_KEYS, AssetMatch, Location, TextPlace
from ..normalize import is_missing, name_key
from ..normalize.times import YEARS
from .classify import CategoryClassifier
from .deadlines import WorkCalendar, deadlines
from .decision import HandlerStep, Report, RoutingDecision
from .graph import RuleGraph
from .rules import Category, Deadline, Rule

log = logging.getLogger("lapor_router.route")


def parse_created(
    value: datetime | str | None, cal: WorkCalendar, now: datetime
) -> tuple[datetime, set[str]]:
    """The report's creation time (aware) and flags for an assumed or unreadable one; a
    time outside the years :data:`~lapor_router.normalize.times.YEARS` (whose working days
    and holidays deadlines count) is unreadable too."""
    if is_missing(value) or (isinstance(value, str) and not value.strip()):
        return cal.localize(now), {"created_at_missing"}
    try:
        moment = (
            value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
        )
        local = cal.localize(moment)
    except (ValueError, OverflowError):
        return cal.localize(now), {"created_at_invalid"}
    if not YEARS[0] <= local.year <= YEARS[1]:
        return cal.localize(now), {"created_at_invalid"}
    return local, set()


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
    asset: AssetMatch | None = None  # the feature whose attributes the rule matched


def rule_context(attributes: Mapping[str, str], asset: AssetMatch | None) -> dict[str, str]:
    """What a rule's ``when`` is matched against: the report's attributes, overridden by
    the asset's (``asset``, ``asset_owner``, its classes; a register beats a citizen's
    word), without the feature's id (no rule names one feature). A report's own
    ``asset``/``asset_owner``... never count: only a layer says what a report is near."""
    own = {k: v for k, v in attributes.items() if k not in RESERVED_KEYS}
    if asset is None:
        return own
    found = asset.attributes
    found.pop("asset_id", None)
    return {**own, **found}


def select_unit(
    rg: RuleGraph,
    category: str | None,
    status: str,
    kelurahan: str | None,
    attributes: Mapping[str, str],
    assets: Sequence[AssetMatch] = (),
) -> Selection:
    """Who is responsible: no Jakarta unit outside Jakarta; the coordinating unit for invalid
    coordinates, an unknown category or no matching rule; else the best matching rule.
    With ``assets`` (features near the point, nearest first) the rules are matched with
    each feature's attributes and with the report's alone: the highest priority wins, then
    the nearer feature, the report's own attributes last."""
    coordinator = rg.settings.coordinator
    if status == "outside":
        return Selection(None, None, (), frozenset({"outside_jakarta"}))
    if status == "invalid":
        return Selection(coordinator, None, (), frozenset({"invalid_location", "needs_triage"}))
    if category is None:
        return Selection(coordinator, None, (), frozenset({"needs_triage"}))
    best: tuple[list[tuple[Rule, str]], AssetMatch | None] | None = None
    for asset in (*assets, None):
        ranked = rg.matching_rules(category, kelurahan, rule_context(attributes, asset))
        if ranked and (best is None or ranked[0][0].priority > best[0][0][0].priority):
            best = (ranked, asset)
    if best is None:
        return Selection(coordinator, None, (), frozenset({"no_rule", "needs_triage"}))
    ranked, asset = best
    rule = ranked[0][0]
    # the feature counts when the rule asked for what it has, not when any rule would do
    used = asset if asset is not None and set(rule.when) & set(asset.attributes) else None
    flags = frozenset({"asset_rule"}) if used is not None else frozenset()
    return Selection(ranked[0][1], rule, tuple(ranked), flags, used)


def place_mismatch(place: TextPlace, location: Location) -> bool:
    """True when a located report's text names another kelurahan (or, naming none,
    another kecamatan) than the ones the point may lie in."""
    if location.status not in ("inside", "overlap", "gap"):
        return False
    if place.codes:
        located = set(location.candidates) | {location.kode}
        return not (set(place.codes) & located)
    if place.place.kelurahan:  # a name after "kel." that matches no kelurahan of the set
        return False
    if place.place.kecamatan and location.kecamatan:
        return name_key(place.place.kecamatan) != name_key(location.kecamatan)
    return False


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


def step(rg: RuleGraph, unit_id: str, role: str) -> HandlerStep:
    u = rg.units[unit_id]
    return HandlerStep(u.id, u.name, u.level, role)


def outside_receiver(
    rg: RuleGraph, kode: str | None, nama: str | None, kota: str | None, at_sea: bool
) -> tuple[tuple[str, str] | None, str, frozenset[str]]:
    """For a point outside the rule set's area, in the context area ``kode`` (``nama``,
    ``kota``; None for none): (receiver name, channel) from the rule data, the explanation
    line, and the ``at_sea`` flag when it lies off the coast."""
    spec = rg.spec
    if at_sea and spec.waters is not None:
        w = spec.waters
        return (
            (w.receiver.name, w.receiver.channel),
            f"Lokasi di {w.name}, bukan di daratan kelurahan mana pun: laporan untuk "
            f"{w.receiver.name} melalui {w.receiver.channel}.",
            frozenset({"at_sea"}),
        )
    if not kode:
        return (
            None,
            "Lokasi di luar DKI Jakarta (luar batas wilayah yang dimuat): tidak ada unit "
            "Jakarta yang berwenang; sampaikan laporan ke pemerintah daerah setempat.",
            frozenset(),
        )
    where = f"{nama}, {kota}"
    found = spec.receiver(kode)
    if found is None:
        return (
            None,
            f"Lokasi di luar DKI Jakarta ({where}): tidak ada unit Jakarta yang berwenang; "
            "sampaikan laporan ke pemerintah daerah setempat.",
            frozenset(),
        )
    name = found.name.replace("{kota}", kota or "daerah setempat")
    return (
        (name, found.channel),
        f"Lokasi di luar DKI Jakarta ({where}): tidak ada unit Jakarta yang berwenang; "
        f"laporan untuk {name} melalui {found.channel}.",
        frozenset(),
    )


def asset_words(a: AssetMatch) -> str:
    """One line on the nearest feature, for the officer."""
    classes = ", ".join(f"{k} {v}" for k, v in a.classes.items())
    owner = f", pemilik {a.owner}" if a.owner else ""
    return (
        f"Aset: {a.asset} {a.asset_id}" + (f" ({classes})" if classes else "")
        + f"{owner}, {a.distance_m:.1f} m dari titik (lapisan {a.layer})."
    )  # fmt: skip


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
        "named": f"koordinat tidak valid ({loc.invalid_reason}); kelurahan disebut dalam teks "
        "laporan, mohon dipastikan",
    }[loc.status]
    return f"Lokasi: {where} ({detail})."


def decide(
    rg: RuleGraph,
    cal: WorkCalendar,
    classifier: CategoryClassifier,
    location: Location,
    report: Report,
    now: datetime,
    place: TextPlace | None = None,
    assets: Sequence[AssetMatch] = (),
    asset_layers: Sequence[str] = (),
    at_sea: bool = False,
) -> RoutingDecision:
    """The routing decision for a report already located at ``location``; ``place`` is
    the place its text names (a ``named`` location was placed by it); ``assets``: the
    features of the router's layers (``asset_layers``, ``name@version``) near the point,
    nearest first; ``at_sea``: an outside point in no land polygon, off the coast."""
    flags: set[str] = set(location.flags)
    explanation: list[str] = []
    if place is not None and place_mismatch(place, location):
        flags.add("text_place_mismatch")
        said = place.place.kelurahan or place.place.kecamatan
        explanation.append(
            f"Teks laporan menyebut {said}"
            + (f" ({place.kode})" if place.kode else "")
            + f", tetapi titik berada di Kelurahan {location.nama}: mohon periksa lokasi."
        )
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
        rg, category.code if category else None, location.status, location.kode, attrs, assets
    )
    flags |= sel.flags
    chain: list[HandlerStep] = []
    candidates: list[str] = []
    receiver: tuple[str, str] | None = None
    if location.status == "outside":
        receiver, words, sea = outside_receiver(
            rg, location.external_kode, location.external_nama, location.external_kota, at_sea
        )
        flags |= sea
        explanation.append(words)
    elif location.status == "invalid":
        explanation.append(
            f"Koordinat tidak valid ({location.invalid_reason}): laporan "
            "diteruskan ke unit koordinator untuk triase."
        )
    else:
        explanation.append(_location_words(location))
        entry = rg.instance("kelurahan", location.kode)
        if entry is not None:
            chain.append(step(rg, entry, "entry"))
        if sel.rule is None and category is not None:
            explanation.append(
                f"Tidak ada aturan untuk {category.code} di "
                f"{location.kode}: diteruskan ke unit koordinator."
            )
        if assets:
            explanation.append(asset_words(assets[0]))
        if sel.rule is not None:
            explanation.append(f"Aturan {sel.rule.id}: {sel.rule.explain}")
            for via in sel.rule.via:
                vid = rg.instance(via, location.kode)
                if vid is not None:
                    chain.append(step(rg, vid, "via"))
            for alt in (*sel.rule.alternatives, *(u for _, u in sel.ranked[1:])):
                aid = rg.instance(alt, location.kode) if "@" not in alt else alt
                if aid is not None and aid not in candidates and aid != sel.unit_id:
                    candidates.append(aid)
    if sel.unit_id is not None:
        chain = [s for s in chain if s.unit_id != sel.unit_id]
        chain.append(step(rg, sel.unit_id, "responsible"))

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
        respond_by, due_at = deadlines(cal, created, respond, resolve)
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
        category_candidates=guess.candidates,
        classifier=guess.classifier,
        named=place.place if place is not None else None,
        named_kode=place.kode if place is not None else None,
        assets=tuple(assets),
        asset_layers=tuple(asset_layers),
        asset=sel.asset,
        receiver=receiver[0] if receiver else None,
        receiver_channel=receiver[1] if receiver else None,
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
