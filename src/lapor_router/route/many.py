"""The decisions of :mod:`.decide` for many located reports at once, as columns."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..locate import AssetHits, TextPlace, TextPlaces
from ..normalize import (
    as_array,
    coded_cells,
    distinct_values,
    first_rows,
    is_missing,
    objects,
)
from ..normalize.strings import arrow_text, gathered_text, text_series
from ..normalize.times import NAT, plain_iso_ns
from .classify import CategoryClassifier
from .deadlines import WorkCalendar, deadlines_many
from .decide import (
    deadlines_of,
    outside_receiver,
    parse_created,
    place_mismatch,
    report_attributes,
    requirements,
    select_unit,
)
from .graph import RuleGraph

_NONE = "\x00"


def candidates_text(candidates: Any) -> str:
    """Top category candidates as an output file writes them, ``code:score;code:score``
    (best first); "" for none."""
    if not isinstance(candidates, tuple):
        return ""
    return ";".join(f"{code}:{score:g}" for code, score in candidates)


# kept from chunk to chunk: texts of one topic share their candidates
_kept_candidates_text = functools.lru_cache(maxsize=1 << 16)(candidates_text)


def _candidates_text_of(candidates: Any) -> str:
    """:func:`candidates_text`, kept for hashable candidates."""
    try:
        return _kept_candidates_text(candidates)
    except TypeError:  # unhashable (a list from another classifier): made each time
        return candidates_text(candidates)


def _key(*parts: Any) -> np.ndarray:
    """One code per row for its combination of several columns, in order of first
    appearance: cells equal as text are one value, missing values one value apart from any
    text. Each column is coded on its own (:func:`_part_codes`), the codes combined as the
    digits of one integer and the combinations hashed once."""
    out: np.ndarray | None = None
    span = 1
    for part in parts:
        codes, size = _part_codes(part)
        if out is None:
            out, span = codes, size
            continue
        if span * size >= _DIGITS_LIMIT:  # too many digits for an int64: coded first
            out = pd.factorize(out)[0].astype(np.int64)
            span = int(out.max(initial=0)) + 1
        out = out * size + codes
        span *= size
    assert out is not None
    return pd.factorize(out)[0].astype(np.int64)


_DIGITS_LIMIT = 1 << 62  # combined codes stay below it (int64)
_DENSE_SPAN = 1 << 20  # integers within this span are codes already (shifted to 0)


def _part_codes(part: Any) -> tuple[np.ndarray, int]:
    """One column's codes (int64, from 0) and a bound above them: integers and booleans
    shifted to start at 0 where their span is small (codes already), else hashed; text as
    it is, missing cells one code; other values by their text."""
    arr = np.asarray(part)
    if arr.dtype.kind in "iub":  # integers and booleans: their text is their value
        if not len(arr):
            return arr.astype(np.int64), 1
        lo, hi = int(arr.min()), int(arr.max())
        if hi - lo < _DENSE_SPAN and hi < 2**63:  # (uint64 beyond int64: hashed)
            return arr.astype(np.int64) - lo, hi - lo + 1
        codes = pd.factorize(arr)[0]
    else:
        cells = np.asarray(part, dtype=object)
        if pd.api.types.infer_dtype(cells, skipna=True) in ("string", "empty"):
            # text already (or missing): hashed as it is, missing cells one code
            codes = pd.factorize(cells, use_na_sentinel=True)[0]
            if (missing := codes < 0).any():  # one code of its own
                codes[missing] = int(codes.max(initial=-1)) + 1
        else:
            values = pd.Series(cells, dtype=object)
            text = values.astype(str).where(values.notna(), _NONE)
            codes = pd.factorize(text.to_numpy(dtype=object))[0]
    codes = codes.astype(np.int64)
    return codes, int(codes.max(initial=0)) + 1


def _given_categories(
    categories: Any, n: int
) -> tuple[np.ndarray | pd.Series, Callable[[np.ndarray], list[str | None]]]:
    """A key per row for the category given (for :func:`_key`; missing and blank cells,
    whitespace alone, one value) and a function giving the category at some rows (None for
    a missing or blank one). Arrow text is hashed by Arrow, its values made Python strings
    once per distinct value; other cells are tested once per distinct value too."""
    if categories is None:
        return np.full(n, -1, dtype=np.int64), lambda rows: [None] * len(rows)
    text = arrow_text(categories)
    if text is not None:
        codes, values = distinct_values(text)
        blank = np.array([v is None or v.strip() == "" for v in values], dtype=bool)
        codes = np.where(blank[codes], -1, codes) if len(codes) else codes
        return codes, lambda rows: [None if codes[i] < 0 else values[codes[i]] for i in rows]
    raw = pd.Series(np.asarray(as_array(categories, n), dtype=object), dtype=object)
    gcodes, guniq = pd.factorize(_texts(raw, n).to_numpy())
    blank = np.array([u.strip() == "" for u in guniq], dtype=bool)[gcodes]
    given = raw.where(~blank, None).astype(object)
    cells: list[Any] = given.tolist()
    return given, lambda rows: [cells[i] for i in rows]


def _texts_coded(texts: Any, n: int) -> tuple[np.ndarray, Callable[[np.ndarray], list[str]]]:
    """A code per row for each distinct text (missing cells as "", codes in order of first
    appearance) and a function giving the texts at some rows. Arrow text is hashed by Arrow
    and only the texts asked for become Python strings."""
    if texts is None:
        return np.zeros(n, dtype=np.int64), lambda rows: [""] * len(rows)
    arrow = arrow_text(texts)
    if arrow is not None:
        codes, values = distinct_values(pc.fill_null(arrow, ""))
        return codes, lambda rows: [values[codes[i]] for i in rows]
    text = _texts(texts, n)
    return _key(text), lambda rows: [str(text.iat[i]) for i in rows]


def _texts(values: Any, n: int) -> pd.Series:
    """Cells as text (``str``), "" for missing ones (None, NaN, NA, NaT)."""
    raw = np.asarray(as_array(values, n), dtype=object)
    if pd.api.types.infer_dtype(raw, skipna=True) in ("string", "empty"):
        out = raw.copy()
        out[pd.isna(raw)] = ""
        return pd.Series(out, dtype=object)
    cells = pd.Series(raw, dtype=object)
    return cells.astype(str).where(cells.notna(), "").astype(object)


def _utc_ns(times: pd.Series) -> np.ndarray:
    """Aware datetimes as int64 nanoseconds since the epoch (UTC)."""
    return pd.DatetimeIndex(times).as_unit("ns").asi8


def _aware(ns: np.ndarray, cal: WorkCalendar) -> pd.DatetimeIndex:
    """int64 UTC nanoseconds (NaT where the int64 minimum) as datetimes in the calendar's
    zone (WIB for Jakarta)."""
    return pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC").tz_convert(cal.tz)


def _factorize(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The codes of :func:`_key`, and the row of each code's first appearance."""
    return codes, first_rows(codes)


@dataclass(frozen=True)
class _Where:
    """The parts of a location :func:`place_mismatch` reads."""

    status: str
    kode: str | None
    candidates: tuple[str, ...]
    kecamatan: str | None


def _mismatches(located: pd.DataFrame, places: TextPlaces) -> np.ndarray:
    """:func:`place_mismatch` of each row, once per distinct (place, location)."""
    out = np.zeros(len(located), dtype=bool)
    names = np.array([bool(p.codes or p.place.kecamatan) for p in places.places], dtype=bool)
    rows = np.flatnonzero(names[places.codes])
    if not len(rows):
        return out
    status = coded_cells(located["status"])[0][rows]
    kode = located["kode"].to_numpy(dtype=object)[rows]
    kec = located["kecamatan"].to_numpy(dtype=object)[rows]
    cands = located["candidates"].to_numpy(dtype=object)[rows]
    ccodes = pd.factorize(cands, use_na_sentinel=False)[0]
    back, first = _factorize(_key(places.codes[rows], status, kode, kec, ccodes))
    got = np.zeros(len(first), dtype=bool)
    for k, i in enumerate(first.tolist()):
        where = _Where(
            str(status[i]),
            None if is_missing(kode[i]) else str(kode[i]),
            tuple(cands[i]) if isinstance(cands[i], tuple) else (),
            None if is_missing(kec[i]) else str(kec[i]),
        )
        got[k] = place_mismatch(places[int(rows[i])], where)  # type: ignore[arg-type]
    out[rows] = got[back]
    return out


def _created_many(
    values: pa.Array | list[Any], cal: WorkCalendar, now: datetime
) -> tuple[pd.DatetimeIndex, np.ndarray, list[frozenset[str]]]:
    """:func:`parse_created` of each value, Arrow text (nulls missing) or any cells
    (``_NONE`` for a missing one): the instants (UTC), a flag code per value and the flag
    sets by code (code 0: no flag). Timestamps as exports write them are read at array
    speed (:func:`~lapor_router.normalize.times.plain_iso_ns`, the same instants), the
    others once per distinct value."""
    arrow = isinstance(values, pa.Array)
    text = (
        values
        if isinstance(values, pa.Array)  # (as `arrow`, spelt out for the type checker)
        else pa.array(
            [v if isinstance(v, str) and v != _NONE else None for v in values],
            type=pa.large_string(),
        )
    )
    ns = plain_iso_ns(text)
    codes = np.zeros(len(text), dtype=np.int64)
    sets: list[frozenset[str]] = [frozenset()]
    slow = np.flatnonzero(ns == NAT)
    if len(slow):
        if arrow:
            back, cells = distinct_values(text.take(pa.array(slow)))
        else:
            back, cells = np.arange(len(slow)), [values[i] for i in slow]
        parsed = [parse_created(None if v is None or v == _NONE else v, cal, now) for v in cells]
        got = pd.DatetimeIndex(pd.to_datetime([p[0] for p in parsed], utc=True)).as_unit("ns")
        ns[slow] = got.asi8[back]
        seen = {sets[0]: 0}
        flag_code = [seen.setdefault(frozenset(p[1]), len(seen)) for p in parsed]
        sets = list(seen)
        codes[slow] = np.asarray(flag_code, dtype=np.int64)[back]
    return pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC"), codes, sets


def _selection(
    rg: RuleGraph,
    category: str | None,
    status: str,
    kode: str | None,
    attributes: Mapping[str, str],
    near: Sequence[Any],
) -> tuple[str | None, str | None, frozenset[str], tuple[str, ...]]:
    """:func:`select_unit` and :func:`requirements` of one distinct key: the unit id, the
    rule id, the flags and the labels of the missing attributes."""
    sel = select_unit(rg, category, status, kode, attributes, near)
    flags = set(sel.flags)
    missing: list[str] = []
    if sel.unit_id is not None:
        _, missing = requirements(rg, rg.categories.get(category or ""), sel.unit_id, attributes)
        if missing:
            flags.add("needs_information")
    return sel.unit_id, sel.rule.id if sel.rule else None, frozenset(flags), tuple(missing)


def decide_many(
    rg: RuleGraph,
    cal: WorkCalendar,
    classifier: CategoryClassifier,
    located: pd.DataFrame,
    categories: Any,
    texts: Any,
    created: Any,
    now: datetime,
    attributes: list[Mapping[str, Any] | None] | None = None,
    places: Sequence[TextPlace] | None = None,
    assets: AssetHits | None = None,
    at_sea: Any = None,
    as_arrow: bool = False,
) -> pd.DataFrame:
    """The columns of :func:`decide` for many located reports at once (same answers);
    ``places`` are the places the texts name (:meth:`Locator.text_places`); ``assets``
    the features near each point, nearest first (:meth:`Router.asset_matches`);
    ``as_arrow``: the text columns (unit, category, rule, names...) as Arrow-backed text
    (pandas ``str``, missing cells NaN) gathered without a Python object per row, as a
    batch run writes them, and the category candidates as their text
    (:func:`candidates_text`); else object columns (missing cells None, candidates as
    tuples);
    ``at_sea``: booleans, outside points off the coast (:meth:`Router.at_sea`).

    Work is done once per distinct value: per (category, text) for classification, per
    created-at value for parsing, per (category, place, attributes) for the rule lookup (kept
    on the rule graph from one call to the next), and in one vectorized pass for the
    deadlines. ``located`` is a locate_many frame.
    """
    n = len(located)
    idx = located.index
    coded = TextPlaces.of(places) if places is not None else None
    # the category given per row (None: missing or blank) and each row's text ("" for a
    # missing one), both as a code per row and the values at the rows asked for
    gkey, given_at = _given_categories(categories, n)
    tkey, text_at = _texts_coded(texts, n)
    # classification: once per distinct (category, text)
    inv, first = _factorize(_key(gkey, tkey))
    first_texts = text_at(first)
    guesses = classifier.classify_many(given_at(first), first_texts)
    cat_u = np.array([g.code for g in guesses], dtype=object)
    emer_u = np.array(
        [
            classifier.emergency(rg.categories.get(g.code or ""), t)
            for g, t in zip(guesses, first_texts, strict=True)
        ],
        dtype=np.bool_,
    )
    cat = cat_u[inv]
    emergency = emer_u[inv]
    # attributes found in texts, once per distinct (attributes, text)
    attrs_list = attributes if attributes is not None else [None] * n
    if attributes is None:
        ainv, afirst = _factorize(tkey)
    else:
        attr_keys = pd.Series([repr(sorted((a or {}).items())) for a in attrs_list], dtype=object)
        ainv, afirst = _factorize(_key(attr_keys, tkey))
    attrs_u = [
        report_attributes(rg, attrs_list[i], t)
        for i, t in zip(afirst, text_at(afirst), strict=True)
    ]
    # texts that find the same attributes share one code (most texts find none)
    seen_attrs: dict[tuple[tuple[str, str], ...], int] = {}
    attr_code = np.array(
        [seen_attrs.setdefault(tuple(sorted(a.items())), len(seen_attrs)) for a in attrs_u],
        dtype=np.int64,
    )[ainv]
    # rule selection: once per distinct (category, status, kelurahan, attributes)
    status, status_code = coded_cells(located["status"])
    kode, kode_code = coded_cells(located["kode"])
    # the asset contexts rules see (ids aside), as one code per distinct sequence of them
    asset_key = assets.context_keys()[0] if assets is not None else np.zeros(n, np.int64)
    # each distinct category as a small code (-1: none), gathered to the rows
    cat_code_u, cat_names = pd.factorize(cat_u, use_na_sentinel=True)
    cat_code = cat_code_u[inv]
    skey = _key(cat_code, status_code, kode_code, attr_code, asset_key)
    sinv, sfirst = _factorize(skey)
    attr_items = list(seen_attrs)  # by code
    unit_u, rule_u, flags_u, missing_u = [], [], [], []
    near_any = assets.matched() if assets is not None else np.zeros(n, dtype=bool)
    for i in sfirst:
        near = assets.row(int(i)) if assets is not None and near_any[i] else ()
        # a selection near no feature depends on these alone: kept on the rule graph
        key = ("selection", cat[i], status[i], kode[i], attr_items[attr_code[i]])
        got = None if near else rg.recall(key)
        if got is None:
            got = _selection(rg, cat[i], status[i], kode[i], attrs_u[ainv[i]], near)
            if not near:
                rg.remember(key, got)
        unit_u.append(got[0])
        rule_u.append(got[1])
        flags_u.append(got[2])
        missing_u.append(got[3])
    # created-at: once per distinct value
    created_text = arrow_text(created) if created is not None else None
    if created_text is not None and len(created_text) == n:  # read as it is (by Arrow)
        when_utc, ccode, cflag_sets = _created_many(created_text, cal, now)
    else:
        created_s = pd.Series(
            as_array(created, n) if created is not None else [None] * n, dtype=object
        )
        cinv, found = pd.factorize(created_s.where(created_s.notna(), _NONE), use_na_sentinel=False)
        when_u, cflag_u, cflag_sets = _created_many(list(found), cal, now)
        when_utc, ccode = when_u[cinv], cflag_u[cinv]
    when = pd.Series(when_utc.tz_convert(cal.tz), index=idx)
    # ccode: each row's created-at flags, as a code into cflag_sets
    # deadlines: every row with a unit at once, as UTC nanoseconds made aware columns once
    respond_ns = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)  # NaT
    due_ns = respond_ns.copy()
    has_unit = np.array([u is not None for u in unit_u], dtype=bool)[sinv]
    rows = np.flatnonzero(has_unit)
    if len(rows):  # each row its category's deadlines, all in one pass (the last: none)
        pairs = [deadlines_of(rg, rg.categories.get(c or "")) for c in [*cat_names, None]]
        r_by, d_at = deadlines_many(
            cal,
            when.iloc[rows],
            [p[0] for p in pairs],
            [p[1] for p in pairs],
            np.where(cat_code[rows] < 0, len(cat_names), cat_code[rows]),
        )
        respond_ns[rows], due_ns[rows] = _utc_ns(r_by), _utc_ns(d_at)
    respond_by = pd.Series(_aware(respond_ns, cal), index=idx)
    due_at = pd.Series(_aware(due_ns, cal), index=idx)
    # flags: the location's, the category's, the created-at's, the selection's
    gflags = [g.flags for g in guesses]
    loc_flags = located["flags"].to_numpy()
    mismatch = _mismatches(located, coded) if coded is not None else np.zeros(n, dtype=bool)
    # once per distinct (location flags, guess, created-at, selection, status, mismatch)
    lcodes, _ = pd.factorize(pd.Series(loc_flags, dtype=object), use_na_sentinel=False)
    gcode = pd.factorize(pd.Series(gflags, dtype=object), use_na_sentinel=False)[0][inv]
    fcode = pd.factorize(pd.Series(flags_u, dtype=object), use_na_sentinel=False)[0][sinv]
    back, rep = _factorize(_key(lcodes, gcode, ccode, fcode, status_code, mismatch))
    per_combo = np.empty(len(rep), dtype=object)
    for k, r in enumerate(rep.tolist()):
        f = loc_flags[r] | gflags[inv[r]] | cflag_sets[ccode[r]] | flags_u[sinv[r]]
        if status[r] != "inside":
            f = f | {f"location_{status[r]}"}
        if mismatch[r]:
            f = f | {"text_place_mismatch"}
        per_combo[k] = f
    all_flags = per_combo[back] if n else np.empty(0, dtype=object)
    # outside the area: who takes the report, once per distinct (area, at sea)
    got_u: list[tuple[str | None, str | None]] = []
    ecodes = np.full(n, -1, dtype=np.int64)  # each row's receiver (-1: none)
    sea = np.zeros(n, dtype=bool) if at_sea is None else np.asarray(at_sea, dtype=bool)
    outside = np.flatnonzero(status == "outside")
    if len(outside):
        ext = [located[c].to_numpy(dtype=object)[outside]
               for c in ("external_kode", "external_nama", "external_kota")]  # fmt: skip
        # once per distinct (area, at sea), then once per distinct (flags, area, at sea)
        eback, efirst = _factorize(_key(*ext, sea[outside]))
        extra_u = []
        for i in efirst.tolist():
            kode_, nama_, kota_ = (None if is_missing(c[i]) else str(c[i]) for c in ext)
            got, _, extra = outside_receiver(rg, kode_, nama_, kota_, bool(sea[outside[i]]))
            got_u.append(got or (None, None))
            extra_u.append(extra)
        ecodes[outside] = eback
        fback, ffirst = _factorize(_key(back[outside], eback))
        merged = objects([all_flags[outside[i]] | extra_u[eback[i]] for i in ffirst.tolist()])
        all_flags[outside] = merged[fback]
    units = rg.units

    def column(values: Sequence[Any], codes: np.ndarray) -> np.ndarray | pd.Series:
        """``values[codes]`` (code -1: None), one value per distinct key: with ``as_arrow``
        Arrow-backed text when every value is text or None, else an object array."""
        if as_arrow and (text := gathered_text(values, codes)) is not None:
            return text_series(text, idx)
        gathered: np.ndarray = objects([*values, None])[codes]
        return gathered

    def named(get: Callable[[TextPlace], Any]) -> np.ndarray | pd.Series:
        if coded is None:
            return column([], np.full(n, -1, dtype=np.int64))
        return column([get(p) for p in coded.places], coded.codes)

    number = [
        rg.categories[c].emergency_number if (e and c) else None
        for c, e in zip(cat_u, emer_u, strict=True)
    ]
    columns = {
        "unit_id": column(unit_u, sinv),
        "unit_name": column([units[u].name if u else None for u in unit_u], sinv),
        "level": column([units[u].level if u else None for u in unit_u], sinv),
        "category": column(list(cat_u), inv),
        "category_source": column([g.source for g in guesses], inv),
        "suggested_category": column([g.suggested for g in guesses], inv),
        "category_candidates": (
            column([_candidates_text_of(g.candidates) for g in guesses], inv)
            if as_arrow
            else objects([g.candidates for g in guesses])[inv]
        ),
        "classifier": column([g.classifier for g in guesses], inv),
        "named_kelurahan": named(lambda p: p.place.kelurahan),
        "named_kode": named(lambda p: p.kode),
        "named_kecamatan": named(lambda p: p.place.kecamatan),
        "rt": named(lambda p: p.place.rt),
        "rw": named(lambda p: p.place.rw),
        "street": named(lambda p: p.place.street),
        "rule_id": column(rule_u, sinv),
        "emergency": emergency,
        "emergency_number": column(number, inv),
        "respond_by": respond_by,
        "due_at": due_at,
        "missing_information": objects(missing_u)[sinv],
        "flags": all_flags,
        "receiver": column([g[0] for g in got_u], ecodes),
        "receiver_channel": column([g[1] for g in got_u], ecodes),
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
