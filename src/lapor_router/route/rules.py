"""Rule files: categories, units, rules and settings, parsed into typed objects.

Rules are data a civil servant can read and change (``rulesets/jakarta/*.toml``). They are
parsed and checked whole here (:func:`parse_rules`: a :class:`RuleSpec` of typed, frozen
objects), then compiled into a graph by :mod:`.graph` and checked by :mod:`.lint`.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import RuleError
from ..locate import RESERVED_KEYS

LEVELS = ("KEL", "KEC", "KOTA", "PROV", "EXT")
ASSET_KEYS = ("asset", "asset_owner")  # what an asset layer's feature adds to a report
PER = {"kelurahan": 13, "kecamatan": 8, "kota": 5}  # template level → code prefix length
DAY_KINDS = ("working", "calendar")
RULE_FILES = ("categories.toml", "units.toml", "rules.toml")
_DURATION = re.compile(r"^\s*(\d+)\s*([hd])\s*$")


# ------------------------------------------------------------------------- parsed objects


@dataclass(frozen=True)
class Deadline:
    """A duration in hours (``h``, always calendar time) or days (calendar or working)."""

    amount: int
    unit: str  # "h" | "d"
    days: str  # "working" | "calendar"

    def __str__(self) -> str:
        kind = "" if self.unit == "h" else f" {self.days}"
        return f"{self.amount}{self.unit}{kind}"


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    group: str
    keywords: tuple[str, ...]
    aliases: tuple[str, ...]
    respond: Deadline
    resolve: Deadline
    emergency: bool
    emergency_if: tuple[tuple[str, ...], ...]
    emergency_number: str
    requires: tuple[str, ...]
    outranks: tuple[str, ...] = ()  # categories that are this one's cause when both match
    duplicate_radius_m: float = 100.0  # reports of it this close (metres) may be one problem
    duplicate_window_h: float | None = 72.0  # ... and this close in time (hours; None: any)


@dataclass(frozen=True)
class UnitSpec:
    """A fixed unit (``per`` is None) or a template instantiated per kota/kecamatan/kelurahan."""

    id: str
    name: str
    level: str
    per: str | None
    escalates_to: str | None
    requires: tuple[str, ...]
    contact: str | None
    top: bool


@dataclass(frozen=True)
class Unit:
    """A concrete unit: a fixed one, or a template instance serving one area."""

    id: str
    name: str
    level: str
    spec: str
    area: str | None
    requires: tuple[str, ...]
    contact: str | None
    top: bool


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    unit: str
    via: tuple[str, ...]
    alternatives: tuple[str, ...]
    scope: Mapping[str, tuple[str, ...]]  # "kota"/"kecamatan"/"kelurahan" → codes
    when: Mapping[str, str]
    priority: int
    explain: str
    source: str

    @property
    def specificity(self) -> int:
        """3 for a kelurahan-limited rule, 2 kecamatan, 1 kota, 0 everywhere."""
        return max((("kota", "kecamatan", "kelurahan").index(k) + 1 for k in self.scope), default=0)


@dataclass(frozen=True)
class Attribute:
    code: str
    label: str
    pattern: re.Pattern[str] | None


@dataclass(frozen=True)
class Settings:
    version: str
    coordinator: str
    max_transfers: int
    timezone: str
    office_open: time
    office_close: time
    holiday_country: str
    holiday_categories: tuple[str, ...]
    extra_holidays: tuple[date, ...]
    removed_holidays: tuple[date, ...]


@dataclass(frozen=True)
class Area:
    """One kelurahan and its hierarchy (names as the boundary set or registry give them)."""

    kode: str
    nama: str
    kecamatan_kode: str
    kecamatan: str
    kota_kode: str
    kota: str
    provinsi_kode: str
    provinsi: str


@dataclass(frozen=True)
class Receiver:
    """Who takes a report outside the rule set's area: a government (or office) and the
    channel to send it through (``SP4N-LAPOR!``...)."""

    name: str
    channel: str
    contact: str | None = None


@dataclass(frozen=True)
class Waters:
    """The sea off the rule set's coast: points within ``max_km`` of its kelurahan and in
    no polygon of the context set are at sea, for ``receiver``."""

    name: str
    max_km: float
    receiver: Receiver


@dataclass(frozen=True)
class RuleSpec:
    """Everything parsed from the rule files, before it is compiled for a set of areas."""

    source: str
    categories: Mapping[str, Category]
    units: Mapping[str, UnitSpec]
    rules: tuple[Rule, ...]
    attributes: Mapping[str, Attribute]
    settings: Settings
    default_respond: Deadline
    default_resolve: Deadline
    digest: str = ""  # sha256 of the rule files' bytes, in file order
    causal_words: tuple[str, ...] = ()  # "karena", "akibat"...: what follows is a cause
    cause_weight: float = 0.5  # how much a keyword after a causal word counts
    # outside the area: receivers by Kemendagri code prefix (kota/kabupaten, province), a
    # default, and the sea
    outside: Mapping[str, Receiver] = field(default_factory=dict)
    outside_default: Receiver | None = None
    waters: Waters | None = None

    def receiver(self, kode: str | None) -> Receiver | None:
        """The receiver for a point in the area with Kemendagri code ``kode`` outside the
        rule set: the longest matching prefix, else the default."""
        if kode:
            for n in sorted({len(k) for k in self.outside}, reverse=True):
                if kode[:n] in self.outside:
                    return self.outside[kode[:n]]
        return self.outside_default

    @property
    def fingerprint(self) -> str:
        """``version@sha256[:12]``: names this exact rule set (two edits of one version
        differ), for provenance and for refusing to resume a run under other rules."""
        return f"{self.settings.version}@{self.digest[:12]}"


# ----------------------------------------------------------------------------- parsing


class _Reader:
    """Typed access to one TOML table, raising RuleError with the file and key path."""

    def __init__(self, file: str, where: str, table: Any, allowed: set[str]) -> None:
        self.file, self.where = file, where
        if not isinstance(table, dict):
            raise RuleError(file, where, f"must be a table, not {type(table).__name__}")
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise RuleError(file, where, f"unknown key(s) {unknown}; allowed: {sorted(allowed)}")
        self.table = table

    def fail(self, key: str, problem: str) -> RuleError:
        return RuleError(self.file, f"{self.where}.{key}", problem)

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.table:
            if default is ...:
                raise self.fail(key, "is required")
            return default
        value = self.table[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.fail(key, f"must be {names}, not {type(value).__name__} {value!r}")
        return value

    def strings(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.get(key, list, list(default))
        if not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(key, "must be a list of non-empty strings")
        return tuple(v.strip() for v in value)


def _deadline(reader: _Reader, key: str, default: Deadline | None) -> Deadline:
    raw = reader.get(key, dict, None)
    if raw is None:
        if default is None:
            raise reader.fail(key, "is required")
        return default
    sub = _Reader(reader.file, f"{reader.where}.{key}", raw, {"duration", "days"})
    match = _DURATION.match(sub.get("duration", str))
    if not match:
        raise sub.fail("duration", 'must look like "24h" or "6d"')
    days = sub.get("days", str, "calendar")
    if days not in DAY_KINDS:
        raise sub.fail("days", f"must be one of {DAY_KINDS}")
    amount, unit = int(match.group(1)), match.group(2)
    if unit == "h" and days == "working":
        raise sub.fail("days", 'hours are calendar time; use "Nd" for working days')
    if amount <= 0:
        raise sub.fail("duration", "must be positive")
    return Deadline(amount, unit, days)


def _duplicates(reader: _Reader, default: tuple[float, float | None]) -> tuple[float, float | None]:
    """``duplicates = {radius_m = 30, window_h = 168}``: reports this near in metres and
    hours may be one problem (``window_h = 0``: any time apart)."""
    raw = reader.get("duplicates", dict, None)
    if raw is None:
        return default
    sub = _Reader(reader.file, f"{reader.where}.duplicates", raw, {"radius_m", "window_h"})
    radius = float(sub.get("radius_m", (int, float), default[0]))
    if not 0 < radius <= 5000:
        raise sub.fail("radius_m", "must be more than 0 and at most 5000 metres")
    window = sub.get("window_h", (int, float), default[1] if default[1] is not None else 0)
    if window < 0:
        raise sub.fail("window_h", "must be 0 (any time) or a number of hours")
    return radius, (float(window) if window > 0 else None)


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(path, "", f"not valid TOML ({exc})") from exc
    except OSError as exc:
        raise RuleError(path, "", f"cannot be read ({exc})") from exc


def _merge_files(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """All sections of the rule files, and which file each top-level section came from."""
    files = [path / f for f in RULE_FILES] if path.is_dir() else [path]
    if path.is_dir():
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise RuleError(path, "", f"missing rule file(s) {missing}")
    elif not path.is_file():
        raise RuleError(path, "", "no such rule file or directory")
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for f in files:
        for section, value in _load_toml(f).items():
            if section in merged and section != "rules":
                raise RuleError(f, section, f"also defined in {origin[section]}")
            if section == "rules":
                merged.setdefault("rules", [])
                merged["rules"] += (
                    [(str(f), r) for r in value] if isinstance(value, list) else [(str(f), value)]
                )
            else:
                merged[section] = value
            origin.setdefault(section, str(f))
    return merged, origin


def _time(reader: _Reader, key: str, default: str) -> time:
    text = reader.get(key, str, default)
    try:
        return time.fromisoformat(text)
    except ValueError as exc:
        raise reader.fail(key, f'must be "HH:MM", not {text!r}') from exc


def _dates(reader: _Reader, key: str) -> tuple[date, ...]:
    out = []
    for value in reader.get(key, list, []):
        if isinstance(value, date):
            out.append(value)
            continue
        try:
            out.append(date.fromisoformat(str(value)))
        except ValueError as exc:
            raise reader.fail(key, f"{value!r} is not an ISO date") from exc
    return tuple(out)


def parse_rules(path: str | Path) -> RuleSpec:
    """Parse and check rule files (a directory of the three files, or one file with every
    section). Raises :class:`~lapor_router.errors.RuleError` naming file, key and problem."""
    root = Path(path)
    data, origin = _merge_files(root)
    for section in ("categories", "units", "templates", "settings"):
        if section not in data and not (section == "templates" and "units" in data):
            raise RuleError(root, section, "section is missing")

    def file_of(section: str) -> str:
        return origin.get(section, str(root))

    st = _Reader(
        file_of("settings"),
        "settings",
        data["settings"],
        {
            "version",
            "coordinator",
            "max_transfers",
            "timezone",
            "office_open",
            "office_close",
            "holiday_country",
            "holiday_categories",
            "extra_holidays",
            "removed_holidays",
        },
    )
    tz = st.get("timezone", str, "Asia/Jakarta")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise st.fail("timezone", f"unknown time zone {tz!r}") from exc
    max_transfers = st.get("max_transfers", int, 2)
    if max_transfers < 0:
        raise st.fail("max_transfers", "must be 0 or more")
    settings = Settings(
        version=st.get("version", str),
        coordinator=st.get("coordinator", str),
        max_transfers=max_transfers,
        timezone=tz,
        office_open=_time(st, "office_open", "08:00"),
        office_close=_time(st, "office_close", "16:00"),
        holiday_country=st.get("holiday_country", str, "ID"),
        holiday_categories=st.strings("holiday_categories", ("public", "government")),
        extra_holidays=_dates(st, "extra_holidays"),
        removed_holidays=_dates(st, "removed_holidays"),
    )
    if settings.office_open >= settings.office_close:
        raise st.fail("office_close", "must be later than office_open")

    attributes: dict[str, Attribute] = {}
    for code, raw in data.get("attributes", {}).items():
        r = _Reader(file_of("attributes"), f"attributes.{code}", raw, {"label", "pattern"})
        pattern = r.get("pattern", str, None)
        try:
            compiled = re.compile(pattern, re.IGNORECASE) if pattern else None
        except re.error as exc:
            raise r.fail("pattern", f"is not a valid regular expression ({exc})") from exc
        attributes[code] = Attribute(code, r.get("label", str), compiled)

    units: dict[str, UnitSpec] = {}
    unit_keys = {"name", "level", "escalates_to", "requires", "contact", "top"}
    for section, per_allowed in (("units", False), ("templates", True)):
        for uid, raw in data.get(section, {}).items():
            where = f"{section}.{uid}"
            r = _Reader(
                file_of(section), where, raw, unit_keys | ({"per"} if per_allowed else set())
            )
            if uid in units:
                raise RuleError(file_of(section), where, "id is already used by another unit")
            level = r.get("level", str)
            if level not in LEVELS:
                raise r.fail("level", f"must be one of {LEVELS}, not {level!r}")
            per = r.get("per", str) if per_allowed else None
            if per is not None and per not in PER:
                raise r.fail("per", f"must be one of {sorted(PER)}, not {per!r}")
            name = r.get("name", str)
            for placeholder in re.findall(r"{(\w+)}", name):
                if per is None or placeholder not in PER or PER[placeholder] > PER[per]:
                    raise r.fail(
                        "name",
                        f"placeholder {{{placeholder}}} is not available "
                        f"for a unit {'per ' + per if per else 'without per'}",
                    )
            requires = r.strings("requires")
            for a in requires:
                if a not in attributes:
                    raise r.fail("requires", f"unknown attribute {a!r}")
            units[uid] = UnitSpec(
                uid,
                name,
                level,
                per,
                r.get("escalates_to", str, None),
                requires,
                r.get("contact", str, None),
                r.get("top", bool, False),
            )
    for spec in units.values():
        section = "templates" if spec.per else "units"
        where = f"{section}.{spec.id}.escalates_to"
        target = spec.escalates_to
        if target is None:
            if not spec.top:
                raise RuleError(file_of(section), where, "is required unless top = true")
            continue
        if target not in units:
            raise RuleError(file_of(section), where, f"unknown unit {target!r}")
        tper = units[target].per
        if tper is not None and (spec.per is None or PER[tper] > PER[spec.per]):
            raise RuleError(
                file_of(section),
                where,
                f"{target!r} is instantiated per {tper}, finer than this unit's area",
            )
    if settings.coordinator not in units or units[settings.coordinator].per is not None:
        raise st.fail("coordinator", f"{settings.coordinator!r} must be a fixed unit id")

    dr = _Reader(
        file_of("categories"),
        "defaults",
        data.get("defaults", {}),
        {"respond", "resolve", "causal_words", "cause_weight", "duplicates"},
    )
    default_respond = _deadline(dr, "respond", Deadline(1, "d", "working"))
    default_resolve = _deadline(dr, "resolve", Deadline(6, "d", "calendar"))
    causal_words = tuple(w.lower() for w in dr.strings("causal_words"))
    cause_weight = float(dr.get("cause_weight", (int, float), 0.5))
    if not 0 <= cause_weight <= 1:
        raise dr.fail("cause_weight", "must be between 0 and 1")
    default_dup = _duplicates(dr, (100.0, 72.0))
    categories: dict[str, Category] = {}
    cat_keys = {
        "duplicates",
        "name",
        "group",
        "keywords",
        "aliases",
        "respond",
        "resolve",
        "emergency",
        "emergency_if",
        "emergency_number",
        "requires",
        "outranks",
    }
    for code, raw in data["categories"].items():
        r = _Reader(file_of("categories"), f"categories.{code}", raw, cat_keys)
        emergency_if = r.get("emergency_if", list, [])
        if not all(
            isinstance(g, list) and g and all(isinstance(w, str) for w in g) for g in emergency_if
        ):
            raise r.fail("emergency_if", "must be a list of non-empty lists of words")
        requires = r.strings("requires")
        for a in requires:
            if a not in attributes:
                raise r.fail("requires", f"unknown attribute {a!r}")
        dup = _duplicates(r, default_dup)
        keywords = r.strings("keywords")
        if not keywords:
            raise r.fail("keywords", "must list at least one keyword")
        categories[code] = Category(
            code=code,
            name=r.get("name", str),
            group=r.get("group", str, "lainnya"),
            keywords=tuple(k.lower() for k in keywords),
            aliases=tuple(a.lower() for a in r.strings("aliases")),
            respond=_deadline(r, "respond", default_respond),
            resolve=_deadline(r, "resolve", default_resolve),
            emergency=r.get("emergency", bool, False),
            emergency_if=tuple(tuple(w.lower() for w in g) for g in emergency_if),
            emergency_number=r.get("emergency_number", str, "112"),
            requires=requires,
            outranks=r.strings("outranks"),
            duplicate_radius_m=dup[0],
            duplicate_window_h=dup[1],
        )
    for code, cat in categories.items():
        for other in cat.outranks:
            if other not in categories or other == code:
                r = _Reader(file_of("categories"), f"categories.{code}", {}, set())
                raise r.fail("outranks", f"{other!r} is not another category")

    rules: list[Rule] = []
    seen: set[str] = set()
    rule_keys = {
        "id",
        "category",
        "unit",
        "via",
        "alternatives",
        "kota",
        "kecamatan",
        "kelurahan",
        "when",
        "priority",
        "explain",
    }
    for i, (file, raw) in enumerate(data.get("rules", [])):
        rid = raw.get("id") if isinstance(raw, dict) else None
        r = _Reader(file, f"rules[{i}]" + (f" ({rid})" if rid else ""), raw, rule_keys)
        rid = r.get("id", str)
        if rid in seen:
            raise r.fail("id", f"duplicate rule id {rid!r}")
        seen.add(rid)
        category = r.get("category", str)
        if category not in categories:
            raise r.fail("category", f"unknown category {category!r}")
        unit = r.get("unit", str)
        via, alternatives = r.strings("via"), r.strings("alternatives")
        for key, ids in (("unit", (unit,)), ("via", via), ("alternatives", alternatives)):
            for u in ids:
                if u not in units:
                    raise r.fail(key, f"unknown unit {u!r}")
        scope = {k: r.strings(k) for k in ("kota", "kecamatan", "kelurahan") if k in raw}
        when = r.get("when", dict, {})
        for k, v in when.items():
            # an asset rule may also name the class columns of its asset's layers, which
            # `rules lint` checks against the installed layers
            if k in RESERVED_KEYS and k not in ASSET_KEYS:
                why = "names one feature or a distance: use the asset, its owner or classes"
                raise r.fail("when", f"{k!r} is not a rule condition ({why})")
            if k not in attributes and k not in ASSET_KEYS and "asset" not in when:
                raise r.fail("when", f"unknown attribute {k!r}")
            if not isinstance(v, str):
                raise r.fail("when", f"value of {k!r} must be a string")
        rules.append(
            Rule(
                rid,
                category,
                unit,
                via,
                alternatives,
                scope,
                dict(when),
                r.get("priority", int, 0),
                r.get("explain", str, ""),
                file,
            )
        )
    return RuleSpec(
        str(root),
        categories,
        units,
        tuple(rules),
        attributes,
        settings,
        default_respond,
        default_resolve,
        _digest(root),
        causal_words,
        cause_weight,
        *_outside(data, file_of),
    )


def _receiver(r: _Reader) -> Receiver:
    return Receiver(r.get("name", str), r.get("channel", str), r.get("contact", str, None))


def _outside(
    data: Mapping[str, Any], file_of: Any
) -> tuple[dict[str, Receiver], Receiver | None, Waters | None]:
    """``[outside.default]``, ``[outside.areas."32.75"]`` and ``[waters]``."""
    raw = data.get("outside", {})
    top = _Reader(file_of("outside"), "outside", raw, {"default", "areas"})
    default = None
    if "default" in raw:
        default = _receiver(_Reader(top.file, "outside.default", raw["default"],
                                    {"name", "channel", "contact"}))  # fmt: skip
    areas: dict[str, Receiver] = {}
    for code, value in top.get("areas", dict, {}).items():
        if not re.fullmatch(r"\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?", str(code)):
            raise top.fail(f"areas.{code}", 'must be a Kemendagri code such as "32.75"')
        areas[str(code)] = _receiver(
            _Reader(top.file, f"outside.areas.{code}", value, {"name", "channel", "contact"})
        )
    waters = None
    if "waters" in data:
        w = _Reader(file_of("waters"), "waters", data["waters"],
                    {"name", "max_km", "receiver", "channel", "contact"})  # fmt: skip
        max_km = float(w.get("max_km", (int, float)))
        if not 0 < max_km <= 400:
            raise w.fail("max_km", "must be more than 0 and at most 400 km")
        waters = Waters(
            w.get("name", str), max_km,
            Receiver(w.get("receiver", str), w.get("channel", str), w.get("contact", str, None)),
        )  # fmt: skip
    return areas, default, waters


def _digest(root: Path) -> str:
    sha = hashlib.sha256()
    for f in [root / f for f in RULE_FILES] if root.is_dir() else [root]:
        sha.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return sha.hexdigest()


@cache
def default_spec() -> RuleSpec:
    return parse_rules(default_rules_path())


def default_rules_path() -> Path:
    """Directory of the packaged Jakarta rule files."""
    return Path(str(resources.files("lapor_router") / "rulesets" / "jakarta"))
