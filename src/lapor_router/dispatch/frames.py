"""Routed tables as a unit receives them: every input column, masked, plus the routing.

:func:`route_frame` locates and routes a DataFrame of reports in one vectorized pass
(:meth:`~lapor_router.locate.Locator.locate_many`, :func:`~lapor_router.route.decide_many`)
and applies the privacy rules of :mod:`lapor_router.privacy` to its columns: the reporter
columns of private rows are replaced by ``[disamarkan]`` and free text is masked for every
row, as in a dispatch record.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from ..errors import BatchError, PrivacyWarning
from ..locate import ASSET_STATUSES, NO_PLACE, AssetHits, TextPlaces
from ..normalize import Columns, coded_cells, distinct_values, is_present, objects, private_flag
from ..normalize.strings import (
    arrow_text,
    category_text,
    gathered_text,
    string_array,
    stripped,
    text_series,
    utf8_buffers,
)
from ..privacy import (
    MASK,
    is_nik_column,
    mask_values,
    mask_words,
    maybe_personal,
    plain_phones,
)
from ..route import CategoryClassifier, RuleGraph, WorkCalendar, decide_many

OUTPUT_COLUMNS = (
    "row_id",
    "kelurahan_kode",
    "kelurahan",
    "kecamatan",
    "kota",
    "location_status",
    "claimed_kode",
    "unit_id",
    "unit_name",
    "category",
    "category_source",
    "respond_by",
    "due_at",
    "emergency",
    "flags",
    "reroute",
    # what the text says (issue "read real complaint text")
    "named_kelurahan",
    "named_kode",
    "named_kecamatan",
    "rt",
    "rw",
    "street",
    "category_candidates",
    "classifier",
    # provenance: which boundary set and rule set (version@sha256) answered
    "boundary_set",
    "rule_set",
    # outside the area: who takes the report instead, and the channel
    "receiver",
    "receiver_channel",
)
_TEXT_COLUMNS = OUTPUT_COLUMNS[16:24]


class Routes(Protocol):
    """What routing a table needs of a :class:`lapor_router.Router`."""

    @property
    def rules(self) -> RuleGraph: ...
    @property
    def calendar(self) -> WorkCalendar: ...
    @property
    def classifier(self) -> CategoryClassifier: ...
    def now(self) -> datetime: ...
    def text_places(self, texts: Any) -> TextPlaces: ...
    def name_rows(self, frame: pd.DataFrame, rows: np.ndarray, kodes: Sequence[str]) -> None: ...
    def locate_many(
        self,
        lons: Any,
        lats: Any,
        accuracy_m: Any = None,
        claimed: Any = None,
        crs: str | None = None,
        shares: bool = True,
    ) -> pd.DataFrame: ...
    @property
    def asset_layers(self) -> tuple[str, ...]: ...
    def asset_matches(self, lon: Any, lat: Any) -> AssetHits: ...
    def at_sea(self, lon: Any, lat: Any, outside: Any) -> np.ndarray: ...


#: Columns a routed table gains when the router holds asset layers: the nearest feature.
ASSET_COLUMNS = ("asset", "asset_id", "asset_owner", "asset_distance_m", "asset_layer")


def input_names(names: Sequence[str]) -> dict[str, str]:
    """Input columns renamed where they collide with an output column (``x`` → ``x_input``)."""
    taken = {*OUTPUT_COLUMNS, *ASSET_COLUMNS, "asset_layers"}
    out = {}
    for n in names:
        new = n
        while new in taken:
            new = f"{new}_input"
        taken.add(new)
        out[n] = new
    return out


def _truthy(values: pd.Series) -> np.ndarray:
    """Private flags of a column; a cell that cannot be read as a flag counts as private
    (read once per distinct cell; Arrow text hashed by Arrow)."""
    text = arrow_text(values)
    codes, uniques = distinct_values(text if text is not None else values.to_numpy(dtype=object))
    per_value = np.array([private_flag(u) is not False for u in uniques], dtype=bool)
    flags: np.ndarray = per_value[codes]
    return flags


def route_frame(
    router: Routes,
    frame: pd.DataFrame,
    columns: Columns | None = None,
    now: datetime | None = None,
    row_ids: Sequence[int] | np.ndarray | None = None,
    geometry: str | None = None,
) -> pd.DataFrame:
    """Every column of ``frame`` plus the routing columns (:data:`OUTPUT_COLUMNS`), one row
    per input row, in order. Coordinates come from the lon/lat columns, or from a point
    ``geometry`` column (shapely objects). Reporter columns of private rows are masked and
    free text is masked as in the dispatch record."""
    routed, _, mask = route_frame_unmasked(router, frame, columns, now, row_ids, geometry)
    mask(warn=True)
    return routed


def route_frame_unmasked(
    router: Routes,
    frame: pd.DataFrame,
    columns: Columns | None,
    now: datetime | None,
    row_ids: Sequence[int] | np.ndarray | None,
    geometry: str | None,
    as_arrow: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, Callable[..., None]]:
    """:func:`route_frame`'s rows with the copies of the input columns not masked yet, the
    locate_many frame behind them, and the call that masks the rows in place (``warn=True``
    warns of private rows without reporter columns), to be made before the rows go
    anywhere (a batch run's writer thread makes it while the next chunk is routed).
    ``as_arrow``: the routing columns of text as Arrow-backed text (missing cells NaN), as
    the batch writers take them without a Python object per cell; else objects (None)."""
    cols = (columns or Columns()).resolve([str(c) for c in frame.columns if c != geometry])
    n = len(frame)
    now = now or router.now()
    if cols.lon and cols.lat:
        lons, lats = frame[cols.lon], frame[cols.lat]
    elif geometry is not None:
        geoms = frame[geometry].to_numpy()
        # anything but a non-empty point (None, POINT EMPTY, a polygon) is a missing point
        is_point = (shapely.get_type_id(geoms) == 0) & ~shapely.is_empty(geoms)
        x, y = np.full(len(geoms), np.nan), np.full(len(geoms), np.nan)
        x[is_point], y[is_point] = shapely.get_x(geoms[is_point]), shapely.get_y(geoms[is_point])
        lons, lats = pd.Series(x, index=frame.index), pd.Series(y, index=frame.index)
    else:
        raise BatchError(
            f"no coordinate columns found in {list(frame.columns)}; "
            "name them with lon/lat (or --lon-col/--lat-col)"
        )

    def col(name: str | None) -> Any:
        return frame[name].to_numpy(dtype=object) if name else None

    def text_or_col(name: str | None) -> Any:
        """A column of Arrow-backed text as it is (read by Arrow), any other as objects."""
        return frame[name] if name and arrow_text(frame[name]) is not None else col(name)

    # shares are not part of a routed row: only the near_boundary flag is
    located = router.locate_many(
        lons,
        lats,
        accuracy_m=_accuracies(frame[cols.accuracy]) if cols.accuracy else None,
        claimed=text_or_col(cols.claimed),
        shares=False,
    )
    located.index = frame.index
    texts = text_or_col(cols.text)
    places = (
        router.text_places(texts)
        if texts is not None
        else TextPlaces(np.zeros(n, np.int64), [NO_PLACE])
    )
    # a point that could not be located goes to the one kelurahan its text names
    kodes = places.column(lambda p: p.kode)
    status = coded_cells(located["status"])[0]  # as located (naming changes invalid ones only)
    invalid = status == "invalid"
    named = np.flatnonzero(invalid & pd.notna(kodes))
    router.name_rows(located, named, kodes[named].tolist())
    near: AssetHits | None = None
    if router.asset_layers:
        usable = located["status"].isin(ASSET_STATUSES).to_numpy()
        x = np.where(usable, pd.to_numeric(located["lon"], errors="coerce"), np.nan)
        y = np.where(usable, pd.to_numeric(located["lat"], errors="coerce"), np.nan)
        near = router.asset_matches(x, y)
    decided = decide_many(
        router.rules,
        router.calendar,
        router.classifier,
        located,
        text_or_col(cols.category),
        texts,
        text_or_col(cols.created_at),
        now,
        places=places,
        assets=near,
        at_sea=router.at_sea(
            pd.to_numeric(located["lon"], errors="coerce"),
            pd.to_numeric(located["lat"], errors="coerce"),
            (status == "outside") & located["external_kode"].isna().to_numpy(),
        ),
        as_arrow=as_arrow,
    )
    private = _truthy(frame[cols.private]) if cols.private else np.zeros(n, dtype=bool)
    renamed = input_names([str(c) for c in frame.columns])
    # the routed columns, gathered and made one frame (not added one by one) after the
    # input's (renamed where a routed one has their name)
    out_cols: dict[str, Any] = {}
    # in lower case, each distinct text as one number (0: "", blank or missing)
    vocab: dict[str, int] = {"": 0}
    unit_given = (
        _lower_ids(frame[cols.unit], vocab, present_only=True)
        if cols.unit
        else np.zeros(n, dtype=np.int64)
    )
    new_unit = _lower_ids(decided["unit_id"], vocab)
    new_name = _lower_ids(decided["unit_name"], vocab)
    unit_changed = (unit_given != 0) & (unit_given != new_unit) & (unit_given != new_name)
    loc_flags = located["flags"].to_numpy(dtype=object)
    fcodes, fsets = pd.factorize(loc_flags, use_na_sentinel=False)
    kel_changed = np.array(["claimed_mismatch" in f for f in fsets], dtype=bool)[fcodes]
    out_cols["row_id"] = np.asarray(
        row_ids if row_ids is not None else np.arange(n), dtype=np.int64
    )
    for name, source in (
        ("kelurahan_kode", "kode"),
        ("kelurahan", "nama"),
        ("kecamatan", "kecamatan"),
        ("kota", "kota"),
        ("location_status", "status"),
        ("claimed_kode", "claimed_kode"),
    ):
        out_cols[name] = _location_column(located[source], as_arrow)
    for c in OUTPUT_COLUMNS[7:14]:  # unit_id … emergency, as decided
        out_cols[c] = decided[c]
    out_cols["flags"] = decided["flags"]
    out_cols["reroute"] = unit_changed.astype(bool) | kel_changed
    for c in _TEXT_COLUMNS:
        out_cols[c] = decided[c]
    out_cols["boundary_set"] = _location_column(located["boundary_set"], as_arrow)
    rule_set = gathered_text([router.rules.fingerprint], np.zeros(n, np.int64))
    out_cols["rule_set"] = (
        text_series(rule_set, frame.index) if as_arrow else router.rules.fingerprint
    )
    out_cols["receiver"] = decided["receiver"]
    out_cols["receiver_channel"] = decided["receiver_channel"]
    if near is not None:
        for key, column in near.columns().items():
            out_cols[key] = pd.Series(column, index=frame.index, dtype=object)
        out_cols["asset_layers"] = ";".join(router.asset_layers)

    out = pd.concat(
        [frame.rename(columns=renamed), pd.DataFrame(out_cols, index=frame.index)], axis=1
    )

    def mask(warn: bool = False) -> None:
        _mask_columns(frame, out, cols, renamed, private, geometry, warn)

    return out, located, mask


def _location_column(column: pd.Series, as_arrow: bool) -> pd.Series:
    """A categorical column of the locate_many frame as a routed column: Arrow-backed text
    with ``as_arrow`` (missing: NaN), else objects (missing: None)."""
    if as_arrow and (text := category_text(column)) is not None:
        return text_series(text, column.index)
    return pd.Series(coded_cells(column)[0], index=column.index, dtype=object)


def _mask_columns(
    frame: pd.DataFrame,
    out: pd.DataFrame,
    cols: Columns,
    renamed: dict[str, str],
    private: np.ndarray,
    skip: str | None,
    warn: bool = True,
) -> None:
    """Mask ``out``'s copies of the input columns as a unit may see them: phones, e-mails
    and NIKs in every text cell; a private row's reporter values in its other cells too;
    the reporter columns of private rows and NIK columns of every row replaced by MASK.
    Columns of Arrow-backed text are masked as Arrow arrays and stay Arrow-backed."""
    reporter = [c for c in cols.reporter if c in frame]
    if warn and private.any() and not reporter:
        warnings.warn(
            f"{int(private.sum())} private row(s) but no reporter column was named or "
            "recognised: only phones, e-mails and NIKs are masked (name them with "
            "Columns(reporter=...) / --reporter-cols)",
            PrivacyWarning,
            stacklevel=3,
        )
    rows = np.flatnonzero(private)
    taken = pa.array(rows)
    # each private row's own values, one array per reporter column (for the search)
    words = [_search_words(_rows_of(frame[c], rows, taken)) for c in reporter]
    searched = _stacked(words) if words else None
    for c in frame.columns:
        if c == skip or c in reporter:
            continue
        text = arrow_text(frame[c])
        if text is not None:
            masked_text = _masked_text(text)
            if len(rows) and searched is not None:
                cells = masked_text.take(taken)
                fixes = _identity_fixes(cells, rows, searched, frame, reporter)
                masked_text = _patched(masked_text, *fixes)
            out[renamed[c]] = text_series(masked_text, frame.index)
            continue
        masked = _mask_values(frame[c].to_numpy(dtype=object))
        if len(rows) and searched is not None:
            _mask_identities(masked, rows, searched, frame, reporter)
        out[renamed[c]] = pd.Series(masked, index=frame.index, dtype=object)
    for c in reporter:
        text = arrow_text(frame[c])
        if text is not None:
            hide = _present(text) & (private | is_nik_column(c))
            masked_text = _masked_text(text)
            if hide.any():
                masked_text = pc.if_else(pa.array(hide), MASK, masked_text)
            out[renamed[c]] = text_series(masked_text, frame.index)
            continue
        values = frame[c].to_numpy(dtype=object)
        hide = _present(values) & (private | is_nik_column(c))
        masked = _mask_values(values)
        masked[hide] = MASK
        out[renamed[c]] = pd.Series(masked, index=frame.index, dtype=object)


def _rows_of(col: pd.Series, rows: np.ndarray, taken: pa.Array) -> pa.Array | np.ndarray:
    """The cells of ``col`` at ``rows``: Arrow text taken as Arrow, other cells as objects."""
    text = arrow_text(col)
    return text.take(taken) if text is not None else col.to_numpy(dtype=object)[rows]


def _present(values: np.ndarray | pa.Array) -> np.ndarray:
    """:func:`is_present` of each cell (whole columns of text at Arrow speed)."""
    text = string_array(values)
    if text is None:
        return np.fromiter((is_present(v) for v in values), dtype=bool, count=len(values))
    blank = pc.fill_null(pc.equal(stripped(text), ""), True)
    return ~np.asarray(blank.to_numpy(zero_copy_only=False), dtype=bool)


def _word(value: Any) -> str:
    """A reporter value as a word to mask (lower case), or "" when too short to mask."""
    word = str(value).strip() if is_present(value) else ""
    return word.lower() if len(word) >= 3 else ""


def _search_words(values: np.ndarray | pa.Array) -> pa.Array:
    """Reporter values to look for (stripped; "" when shorter than 3 characters), as text:
    what :func:`_word` gives, but for case."""
    text = string_array(values)
    if text is None:
        return pa.array([_word(v) for v in values], pa.large_string())
    words = pc.fill_null(stripped(text), "")
    return pc.if_else(pc.less(pc.utf8_length(words), 3), "", words)


def _identity_fixes(
    cells: pa.Array,
    rows: np.ndarray,
    words: tuple[np.ndarray, np.ndarray],
    frame: pd.DataFrame,
    reporter: list[str],
) -> tuple[np.ndarray, list[str]]:
    """Where (rows of the frame) and how each private row's reporter values are masked in
    its cell of one column (``cells``: the private rows' cells, nulls for cells that are
    not text; ``words``: their reporter values, :func:`_stacked`): a compiled search over
    all rows at once finds the cells that may hold one, then each of those is decided and
    masked as :func:`mask_words` does."""
    from .kernels import may_contain

    hit = may_contain(*utf8_buffers(cells), *words)
    at: list[int] = []
    fixed: list[str] = []
    hits = np.flatnonzero(hit)
    for k, cell in zip(hits.tolist(), cells.take(pa.array(hits)).to_pylist(), strict=True):
        if not isinstance(cell, str):
            continue
        i = int(rows[k])
        own = [w for c in reporter if (w := _word(frame[c].iat[i]))]
        low = cell.lower()
        if any(w in low for w in own):
            at.append(i)
            fixed.append(mask_words(cell, own))
    return np.asarray(at, dtype=np.int64), fixed


def _stacked(words: list[pa.Array]) -> tuple[np.ndarray, np.ndarray]:
    """Several columns of words (of the same rows) as :func:`~.kernels.may_contain` takes
    them: one row of offsets per column into their bytes, one after the other."""
    buffers = [utf8_buffers(w) for w in words]
    bases = np.cumsum([0, *(len(data) for _, data in buffers[:-1])])
    offsets = np.stack([off + base for (off, _), base in zip(buffers, bases, strict=True)])
    return offsets, np.concatenate([data for _, data in buffers])


def _mask_identities(
    masked: np.ndarray,
    rows: np.ndarray,
    words: tuple[np.ndarray, np.ndarray],
    frame: pd.DataFrame,
    reporter: list[str],
) -> None:
    """:func:`_identity_fixes` of the private rows' cells of one column (an object array),
    made in place."""
    cells = masked[rows]
    text = string_array(cells)
    if text is None:
        text = pa.array([v if isinstance(v, str) else "" for v in cells], pa.large_string())
    at, fixed = _identity_fixes(text, rows, words, frame, reporter)
    if len(at):
        masked[at] = objects(fixed)


def _patched(text: pa.Array, at: np.ndarray, values: list[str]) -> pa.Array:
    """``text`` with the cells at ``at`` replaced by ``values``."""
    if not len(at):
        return text
    n = len(text)
    index = np.arange(n, dtype=np.int64)
    index[at] = n + np.arange(len(at), dtype=np.int64)
    new = pa.array(values, pa.large_string())
    return pa.concat_arrays([text.cast(pa.large_string()), new]).take(pa.array(index))


def _masked_text(text: pa.Array) -> pa.Array:
    """:func:`_mask_values` of a column of Arrow text, as Arrow text (the same array when
    nothing is masked); cells that are each one plain phone number become MASK at array
    speed (most of a phone column), the other cells the pre-filter lets through go through
    :func:`_mask_distinct`."""
    maybe = _maybe_personal(text)
    if not maybe.any():
        return text
    plain = maybe & plain_phones(text)
    if plain.any():
        text = pc.if_else(pa.array(plain), MASK, text)
        maybe &= ~plain
    rows = np.flatnonzero(maybe)
    if not len(rows):
        return text
    values = objects(text.take(pa.array(rows)).to_pylist())
    fixed = _mask_distinct(values)
    changed = np.flatnonzero(fixed != values)
    return _patched(text, rows[changed], fixed[changed].tolist())


def _maybe_personal(text: pa.Array) -> np.ndarray:
    """:func:`~lapor_router.privacy.maybe_personal` of a column of Arrow text, its pattern
    tested only on the cells a compiled pass over the bytes finds may match (most cells of
    most columns hold too few digits), or on the whole column when most cells may."""
    from .kernels import may_be_personal

    rows = np.flatnonzero(may_be_personal(*utf8_buffers(text)))
    if len(rows) > len(text) // 2:  # most cells (ids, times, phones): the whole column
        return maybe_personal(text)
    maybe = np.zeros(len(text), dtype=bool)
    if len(rows):
        maybe[rows] = maybe_personal(text.take(pa.array(rows)))
    return maybe


def _mask_values(values: np.ndarray) -> np.ndarray:
    """Each value with phones, e-mails and NIKs masked, computed once per distinct value
    that may hold one (found by a pre-filter over the whole column); values with nothing to
    mask stay as they are (numbers stay numbers)."""
    out = values.copy()
    text = string_array(values)
    if text is not None:  # a column of text: only the cells the pre-filter lets through
        rows = np.flatnonzero(_maybe_personal(text))
        if len(rows):
            out[rows] = _mask_distinct(values[rows])
        return out
    return _mask_distinct(values)


def _mask_distinct(values: np.ndarray) -> np.ndarray:
    """:func:`_mask_values` of any cells, once per distinct value."""
    out = values.copy()
    uniques: list[Any]
    try:
        codes, found = pd.factorize(values, use_na_sentinel=True)
        uniques = list(found)
    except TypeError:  # unhashable cells (lists from Parquet): one by one
        codes, uniques = np.arange(len(values)), list(values)
    if not uniques:
        return out
    texts = [u if isinstance(u, str) else str(u) for u in uniques]
    fixed = np.empty(len(uniques), dtype=object)
    changed = np.zeros(len(uniques), dtype=bool)
    maybe = np.flatnonzero(maybe_personal(texts)).tolist()
    for k, m in zip(maybe, mask_values([texts[k] for k in maybe]), strict=True):
        if m != texts[k]:
            fixed[k], changed[k] = m, True
    if changed.any():
        rows = np.flatnonzero((codes >= 0) & changed[np.maximum(codes, 0)])
        out[rows] = fixed[codes[rows]]
    return out


def _lower_ids(
    values: np.ndarray | pd.Series, vocab: dict[str, int], present_only: bool = False
) -> np.ndarray:
    """Each cell stripped (when ``present_only``) and lower case, "" for a non-string (or,
    with ``present_only``, for a blank or missing cell), as its number in ``vocab`` (texts
    not in it yet are added); computed once per distinct value."""
    text = arrow_text(values)
    if text is None and isinstance(values, pd.Series):
        values = values.to_numpy(dtype=object)
    codes, uniques = distinct_values(text if text is not None else values)
    if present_only:
        done = [str(v).strip().lower() if is_present(v) else "" for v in uniques]
    else:
        done = [v.lower() if isinstance(v, str) else "" for v in uniques]
    ids = np.array([vocab.setdefault(d, len(vocab)) for d in done], dtype=np.int64)
    out: np.ndarray = ids[codes]
    return out


def _accuracies(values: pd.Series) -> pd.Series | np.ndarray | None:
    """The accuracy cells, blank ones as missing (Arrow-backed text stays Arrow)."""
    text = arrow_text(values)
    if text is None:
        return _blank_to_none(values.to_numpy(dtype=object))
    blank = pc.equal(stripped(text), "")  # a null stays null
    return text_series(pc.if_else(blank, pa.scalar(None, pa.large_string()), text), values.index)


def _blank_to_none(values: np.ndarray | None) -> np.ndarray | None:
    if values is None:
        return None
    out = values.copy()
    if not len(out):
        return out
    codes, uniques = distinct_values(values)
    blank = np.array([isinstance(v, str) and not v.strip() for v in uniques], dtype=bool)
    out[blank[codes]] = None
    return out
