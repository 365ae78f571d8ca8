"""Deadlines in Indonesian working days or calendar time, in Asia/Jakarta (WIB).

Rules (documented in the README):
- a deadline in hours (``24h``) is calendar time from the report's creation;
- a deadline in calendar days (``6d``, days = "calendar") is that many 24-hour days from the
  report's creation;
- a deadline in working days (``1d``, days = "working") starts from the report's creation if
  that is within office hours (Monday–Friday, 08:00–16:00 WIB, not a public holiday or
  joint-leave day), else from the opening of the next working day; it ends at the same time
  of day on the Nth working day after that.
Holidays come from the ``holidays`` package (country "ID", categories public and government,
the latter being *cuti bersama*), plus any dates the rule set adds or removes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pandas as pd

from .rules import Deadline, Settings


class WorkCalendar:
    """Working days and office hours of one rule set (thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tz = ZoneInfo(settings.timezone)
        self._holidays = holidays.country_holidays(
            settings.holiday_country, categories=settings.holiday_categories
        )
        self._extra = set(settings.extra_holidays)
        self._removed = set(settings.removed_holidays)
        self._lock = threading.Lock()
        self._years: dict[int, frozenset[date]] = {}
        self._arrays: dict[tuple[int, int], np.ndarray] = {}

    def holiday_name(self, day: date) -> str | None:
        """Name of the holiday or joint-leave day on ``day``, or None."""
        if day in self._removed:
            return None
        if day in self._extra:
            return "extra holiday (rule set)"
        with self._lock:  # the holidays object fills in a year on first use
            name = self._holidays.get(day)
        return str(name) if name else None

    def holiday_dates(self, year: int) -> frozenset[date]:
        """Every holiday and joint-leave day of ``year`` (rule-set additions and removals
        applied), computed once per year from the calendar's own holidays object."""
        with self._lock:
            if year not in self._years:
                self._holidays.get(date(year, 1, 1))  # fills the year in
                found = {d for d in self._holidays if d.year == year}
                extra = {d for d in self._extra if d.year == year}
                self._years[year] = frozenset((found | extra) - self._removed)
            return self._years[year]

    def holiday_array(self, first: int, last: int) -> np.ndarray:
        """The holiday and joint-leave days of years ``first``..``last`` as sorted
        datetime64[D] (numpy's business-day functions take them), kept per year range."""
        key = (first, last)
        got = self._arrays.get(key)
        if got is None:
            days: set[date] = set()
            for year in range(first, last + 1):
                days |= self.holiday_dates(year)
            got = np.array(sorted(days), dtype="datetime64[D]")
            with self._lock:
                if len(self._arrays) >= 64:  # a few year ranges in practice
                    self._arrays.clear()
                self._arrays[key] = got
        return got

    def is_working_day(self, day: date) -> bool:
        """Monday–Friday and not a holiday or joint-leave day."""
        return day.weekday() < 5 and self.holiday_name(day) is None

    def localize(self, moment: datetime) -> datetime:
        """``moment`` in the rule set's time zone; a naive datetime is taken as local (WIB)."""
        if moment.tzinfo is None:
            return moment.replace(tzinfo=self.tz)
        return moment.astimezone(self.tz)

    def clock_start(self, moment: datetime) -> datetime:
        """When a working-day clock starts for a report made at ``moment``."""
        local = self.localize(moment)
        s = self.settings
        day = local.date()
        if self.is_working_day(day):
            if local.time() < s.office_open:
                return datetime.combine(day, s.office_open, self.tz)
            if local.time() < s.office_close:
                return local
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return datetime.combine(day, s.office_open, self.tz)

    def working_hours(self, start: datetime, end: datetime) -> float:
        """Office hours (on working days, between office open and close) from ``start`` to
        ``end``; 0 when ``end`` is not after ``start``."""
        a, b = self.localize(start), self.localize(end)
        if b <= a:
            return 0.0
        s, total, day = self.settings, 0.0, a.date()
        while day <= b.date():
            if self.is_working_day(day):
                lo = max(a, datetime.combine(day, s.office_open, self.tz))
                hi = min(b, datetime.combine(day, s.office_close, self.tz))
                if hi > lo:
                    total += (hi - lo).total_seconds() / 3600.0
            day += timedelta(days=1)
        return total

    def add(self, moment: datetime, deadline: Deadline) -> datetime:
        """The moment ``deadline`` after ``moment`` (timezone-aware, in the rule set's zone)."""
        local = self.localize(moment)
        if deadline.unit == "h":
            return (local + timedelta(hours=deadline.amount)).astimezone(self.tz)
        if deadline.days == "calendar":
            return (local + timedelta(days=deadline.amount)).astimezone(self.tz)
        start = self.clock_start(local)
        day, left = start.date(), deadline.amount
        while left:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return datetime.combine(day, start.timetz().replace(tzinfo=None), self.tz)


def deadlines(
    cal: WorkCalendar, moment: datetime, respond: Deadline, resolve: Deadline
) -> tuple[datetime, datetime]:
    """(respond by, resolve by) for a report made at ``moment``. Each deadline counts in
    its own days (working or calendar), and the response is due no later than the
    resolution: where a working-day response period would end after a calendar-day
    resolution period (a weekend, Christmas and cuti bersama), the response deadline is the
    resolution deadline. The resolution deadline itself never moves: it is the red flag
    that cuts an officer's performance pay automatically."""
    due = cal.add(moment, resolve)
    return min(cal.add(moment, respond), due), due


def deadlines_many(
    cal: WorkCalendar,
    moments: pd.Series,
    respond: Deadline | Sequence[Deadline],
    resolve: Deadline | Sequence[Deadline],
    which: np.ndarray | None = None,
) -> tuple[pd.Series, pd.Series]:
    """:func:`deadlines` over a Series of aware datetimes; with sequences of deadlines (one
    pair per category, say), row ``i``'s are ``respond[which[i]]`` and ``resolve[which[i]]``,
    all rows in one pass."""
    respond_by = add_many(cal, moments, respond, which)
    due = add_many(cal, moments, resolve, which)
    return respond_by.where(respond_by <= due, due), due


# how WorkCalendar.add counts a deadline, by _kind's code
_KINDS = ("h", "calendar", "working")
_DAY_NS = 86_400 * 1_000_000_000


def _kind(deadline: Deadline) -> str:
    """How :meth:`WorkCalendar.add` counts a deadline: "h", "calendar" or "working"."""
    return "h" if deadline.unit == "h" else "calendar" if deadline.days == "calendar" else "working"


def add_many(
    cal: WorkCalendar,
    moments: pd.Series,
    deadline: Deadline | Sequence[Deadline],
    which: np.ndarray | None = None,
) -> pd.Series:
    """:meth:`WorkCalendar.add` over a Series of aware datetimes (vectorized with numpy's
    business-day functions; the same answers as the scalar method). ``deadline``: one for
    every row, or a sequence of them, row ``i``'s being ``deadline[which[i]]``."""
    local: pd.Series = moments.dt.tz_convert(cal.tz)
    if isinstance(deadline, Deadline):
        kind = _kind(deadline)
        if kind == "h":
            shifted: pd.Series = local + pd.Timedelta(hours=deadline.amount)
            return shifted
        if kind == "calendar":
            shifted = local + pd.Timedelta(days=deadline.amount)
            return shifted
        return _working_days(cal, local, np.full(len(local), deadline.amount, dtype=np.int64))
    if which is None:
        raise TypeError("add_many: a sequence of deadlines needs `which`, each row's index")
    rows_of = np.asarray(which, dtype=np.intp)
    kinds = np.array([_KINDS.index(_kind(d)) for d in deadline], dtype=np.int8)[rows_of]
    amounts = np.array([d.amount for d in deadline], dtype=np.int64)[rows_of]
    out = np.full(len(local), np.iinfo(np.int64).min, dtype=np.int64)  # NaT
    for code, step in ((0, 3600), (1, 86_400)):  # hours, calendar days: seconds of each
        if (rows := kinds == code).any():
            moved = local[rows] + pd.to_timedelta(amounts[rows] * step, unit="s")
            out[rows] = pd.DatetimeIndex(moved).as_unit("ns").asi8
    if (rows := kinds == 2).any():  # working days
        moved = _working_days(cal, local[rows], amounts[rows])
        out[rows] = pd.DatetimeIndex(moved).as_unit("ns").asi8
    utc = pd.DatetimeIndex(out.view("datetime64[ns]")).tz_localize("UTC")
    return pd.Series(utc.tz_convert(cal.tz), index=moments.index)


def _working_days(cal: WorkCalendar, local: pd.Series, amounts: np.ndarray) -> pd.Series:
    """Each moment (aware, in the calendar's zone) plus its number of working days."""
    if local.empty:
        return local
    # the wall clock in the calendar's zone as nanoseconds: the day and the time of day
    wall = pd.DatetimeIndex(local.dt.tz_localize(None)).as_unit("ns").asi8
    days = wall // _DAY_NS
    day = days.astype("datetime64[D]")
    tod = (wall - days * _DAY_NS).astype("timedelta64[ns]")
    years = np.array([day.min(), day.max()]).astype("datetime64[Y]").astype(np.int64) + 1970
    hol = cal.holiday_array(int(years[0]), int(years[1]) + 1)
    s = cal.settings
    open_ = np.timedelta64(s.office_open.hour * 60 + s.office_open.minute, "m")
    close = np.timedelta64(s.office_close.hour * 60 + s.office_close.minute, "m")
    busy = np.is_busday(day, holidays=hol)
    in_hours = busy & (tod >= open_) & (tod < close)
    same_day = busy & (tod < close)
    start_day = np.where(
        same_day,
        day,
        np.busday_offset(day + np.timedelta64(1, "D"), 0, roll="forward", holidays=hol),
    )
    start_tod = np.where(in_hours, tod, open_.astype(tod.dtype))
    due_day = np.busday_offset(start_day, amounts, roll="forward", holidays=hol)
    due = due_day.astype("datetime64[ns]") + start_tod
    return pd.Series(pd.DatetimeIndex(due).tz_localize(cal.tz), index=local.index)
