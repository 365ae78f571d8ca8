"""Responsiveness of routed reports: responded and resolved in time, office hours to respond
and to resolve, transfers, reopened, open and overdue, per unit, kelurahan, kota or category.

One computation over a *life table* (one row per report, :data:`LIFE_COLUMNS`), whether the
table comes from the report store (:meth:`lapor_router.service.ReportStore.life_table`) or
from a file: a store export has every column; a file routed by ``lapor-router route`` has
no lifecycle columns, so its reports count as open and the figures of response and
resolution are not given (None), rather than zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ..errors import StatsError
from ..normalize import Columns
from ..route import WorkCalendar

#: ``--by`` → the life table's column
STATS_BY = {
    "unit": "unit_id",
    "kelurahan": "kelurahan_kode",
    "kota": "kota",
    "category": "category",
}

#: One row per report. ``respond_by``/``due_at``: the deadlines as first routed (what "in
#: time" is judged by); ``current_respond_by``: after escalations (what "overdue" is judged
#: by); ``responded_at``: a unit's first action; ``resolved_at``: the close that holds now
#: (empty while open); times ISO 8601, naive = WIB.
LIFE_COLUMNS = (
    "service_request_id",
    "unit_id",
    "kelurahan_kode",
    "kota",
    "category",
    "requested_datetime",
    "respond_by",
    "due_at",
    "current_respond_by",
    "status",
    "responded_at",
    "resolved_at",
    "transfers",
    "reopened",
)

#: The figures, in the order a table shows them (after the grouping key).
FIGURES = (
    "received",
    "responded",
    "responded_in_time",
    "resolved",
    "resolved_in_time",
    "respond_hours_median",
    "respond_hours_p90",
    "resolve_hours_median",
    "resolve_hours_p90",
    "transfers_per_report",
    "reopened",
    "open",
    "overdue",
    "unreadable",
)

_LIFE = ("responded_at", "resolved_at")


def responsiveness(
    table: pd.DataFrame,
    calendar: WorkCalendar,
    by: str = "unit",
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """The figures of :data:`FIGURES` per ``by`` group of ``table`` (a life table), for the
    reports made from ``start`` to ``end`` (inclusive; naive = WIB), judged at ``now``.

    ``unreadable`` counts the group's rows whose times could not be read (they are counted
    as received, and left out of the figures those times decide); nothing is dropped. A
    group's key is None for reports with no such value (e.g. outside every kelurahan)."""
    if by not in STATS_BY:
        raise StatsError(f"by is one of {', '.join(STATS_BY)}, not {by!r}")
    key = STATS_BY[by]
    cols = {str(c) for c in table.columns}
    made_col = Columns().resolve(sorted(cols)).created_at
    missing = [c for c in (key, "respond_by", "due_at") if c not in cols]
    if missing:
        raise StatsError(
            f"a life table needs the column(s) {missing}; it has {sorted(cols)} "
            "(route the file first, or export the store with `lapor-router export`)"
        )
    if (start is not None or end is not None) and made_col is None:
        raise StatsError("--from/--to need the time each report was made (requested_datetime)")
    tz = calendar.tz
    moment = calendar.localize(now or datetime.now(tz))
    n = len(table)
    bad = np.zeros(n, dtype=bool)

    def times(name: str | None) -> pd.Series:
        if name is None or name not in cols:
            return pd.Series(pd.NaT, index=table.index, dtype=f"datetime64[ns, {tz}]")
        raw = table[name]
        blank = raw.isna() | (raw.astype(str).str.strip() == "")
        parsed = pd.Series(
            [_moment(v, calendar) for v in raw.to_numpy(dtype=object)],
            index=table.index,
            dtype=f"datetime64[ns, {tz}]",
        )
        bad[(parsed.isna() & ~blank).to_numpy()] = True
        return parsed

    made = times(made_col)
    if start is not None or end is not None:
        # a report whose time made cannot be read cannot be placed in the period: it is
        # kept, and counted as unreadable, rather than dropped
        inside = pd.Series(True, index=table.index)
        if start is not None:
            inside &= made >= calendar.localize(start)
        if end is not None:
            inside &= made <= calendar.localize(end)
        keep = (inside | made.isna()).to_numpy()
        bad |= made.isna().to_numpy()
        table, made, bad = table[keep], made[keep], bad[keep]
    respond_by, due_at = times("respond_by"), times("due_at")
    current = times("current_respond_by") if "current_respond_by" in cols else respond_by
    responded, resolved = times("responded_at"), times("resolved_at")
    status = (
        table["status"].astype(str).str.strip().str.lower()
        if "status" in cols
        else pd.Series("open", index=table.index)
    )
    is_open = (status == "open").to_numpy()
    transfers = _counts(table, "transfers", bad)
    reopened = _counts(table, "reopened", bad)
    has_life = {c: c in cols for c in _LIFE}
    resp_h = _hours(calendar, made, responded)
    res_h = _hours(calendar, made, resolved)
    keys = [
        None if v is None or v != v or not str(v).strip() else v
        for v in table[key].to_numpy(dtype=object)
    ]
    codes, uniques = pd.factorize(pd.Series(keys, dtype=object), use_na_sentinel=True)
    found = [
        *((c, u) for c, u in enumerate(uniques.tolist())),
        *([(-1, None)] if -1 in codes else []),
    ]
    out = []
    for code, g in sorted(found, key=lambda cu: (cu[1] is None, str(cu[1]))):
        m = codes == code
        got_resp = m & responded.notna().to_numpy()
        got_res = m & resolved.notna().to_numpy() & ~is_open
        row: dict[str, Any] = {by: g, "received": int(m.sum())}
        if has_life["responded_at"]:
            row["responded"] = int(got_resp.sum())
            row["responded_in_time"] = int((got_resp & (responded <= respond_by).to_numpy()).sum())
        else:
            row["responded"] = row["responded_in_time"] = None
        if has_life["resolved_at"]:
            row["resolved"] = int(got_res.sum())
            row["resolved_in_time"] = int((got_res & (resolved <= due_at).to_numpy()).sum())
        else:
            row["resolved"] = row["resolved_in_time"] = None
        rh, sh = resp_h[got_resp], res_h[got_res]
        row["respond_hours_median"] = _pct(rh, 50)
        row["respond_hours_p90"] = _pct(rh, 90)
        row["resolve_hours_median"] = _pct(sh, 50)
        row["resolve_hours_p90"] = _pct(sh, 90)
        row["transfers_per_report"] = (
            round(float(transfers[m].sum()) / int(m.sum()), 3) if "transfers" in cols else None
        )
        row["reopened"] = int((reopened[m] > 0).sum()) if "reopened" in cols else None
        open_ = m & is_open
        row["open"] = int(open_.sum())
        row["overdue"] = int((open_ & (current < moment).to_numpy()).sum())
        row["unreadable"] = int(bad[m].sum())
        out.append(row)
    return out


def stats_frame(rows: Sequence[dict[str, Any]], by: str) -> pd.DataFrame:
    """``rows`` of :func:`responsiveness` as a table, its columns in order even when empty."""
    return pd.DataFrame(list(rows), columns=[by, *FIGURES])


def _moment(value: Any, calendar: WorkCalendar) -> datetime | None:
    """A cell as a time in the calendar's zone (naive = WIB); None if blank or unreadable."""
    if value is None or value != value:
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        text = str(value).strip()
        if not text:
            return None
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return None
    return calendar.localize(value)


def _counts(table: pd.DataFrame, name: str, bad: np.ndarray) -> np.ndarray:
    """A count column as integers (absent or blank = 0; unreadable = 0 and flagged)."""
    if name not in table.columns:
        return np.zeros(len(table), dtype=np.int64)
    raw = table[name]
    num = pd.to_numeric(raw, errors="coerce")
    blank = raw.isna() | (raw.astype(str).str.strip() == "")
    wrong = (num.isna() & ~blank) | (num < 0) | (num.notna() & (num % 1 != 0))
    bad[wrong.to_numpy()] = True
    return num.where(~wrong, 0).fillna(0).to_numpy(dtype=np.int64)


def _hours(calendar: WorkCalendar, start: pd.Series, end: pd.Series) -> np.ndarray:
    """Office hours from ``start`` to ``end`` per row (NaN where either is missing)."""
    out = np.full(len(start), np.nan)
    both = (start.notna() & end.notna()).to_numpy()
    for i in np.flatnonzero(both):
        out[i] = calendar.working_hours(start.iloc[i].to_pydatetime(), end.iloc[i].to_pydatetime())
    return out


def _pct(values: np.ndarray, q: float) -> float | None:
    """The ``q``-th percentile (linear), rounded to 0.01; None for no values."""
    values = values[~np.isnan(values)]
    return round(float(np.percentile(values, q)), 2) if len(values) else None
