"""Deadlines in working days (Indonesian holidays and joint leave) and calendar time, WIB."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lapor_router.route import Deadline, RuleGraph, WorkCalendar

WIB = ZoneInfo("Asia/Jakarta")
ONE_WORKING_DAY = Deadline(1, "d", "working")


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar(RuleGraph.default().settings)


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB)


def test_within_office_hours_counts_from_the_report(cal):
    assert cal.add(wib(2026, 11, 23, 10, 15), ONE_WORKING_DAY) == wib(2026, 11, 24, 10, 15)


def test_after_office_hours_counts_from_the_next_working_day(cal):
    # Friday 17:30 → the clock starts Monday 08:00 → one working day later is Tuesday 08:00
    assert cal.add(wib(2026, 11, 20, 17, 30), ONE_WORKING_DAY) == wib(2026, 11, 24, 8, 0)


def test_before_opening_counts_from_opening_the_same_day(cal):
    assert cal.clock_start(wib(2026, 11, 23, 6, 0)) == wib(2026, 11, 23, 8, 0)
    assert cal.add(wib(2026, 11, 23, 6, 0), ONE_WORKING_DAY) == wib(2026, 11, 24, 8, 0)


def test_weekend_report_counts_from_monday(cal):
    assert cal.clock_start(wib(2026, 11, 22, 11, 0)) == wib(2026, 11, 23, 8, 0)
    assert cal.add(wib(2026, 11, 22, 11, 0), Deadline(5, "d", "working")) == wib(2026, 11, 30, 8, 0)


def test_eid_2025_holidays_and_joint_leave_are_skipped(cal):
    # 28 Mar joint leave, 31 Mar–1 Apr Eid al-Fitr, 2–4 and 7 Apr joint leave (cuti bersama)
    for day in (date(2025, 3, 28), date(2025, 3, 31), date(2025, 4, 2), date(2025, 4, 7)):
        assert not cal.is_working_day(day), day
    assert cal.add(wib(2025, 3, 27, 10, 0), ONE_WORKING_DAY) == wib(2025, 4, 8, 10, 0)
    # domain facts: 27 Mar–10 Apr 2025 holds 4 working days (27 Mar, 8, 9, 10 Apr)
    days = [date(2025, 3, 27) + timedelta(n) for n in range(15)]
    assert sum(cal.is_working_day(d) for d in days) == 4


def test_independence_day_joint_leave(cal):
    # 17 Aug 2025 is a Sunday; Monday 18 Aug is joint leave
    assert cal.holiday_name(date(2025, 8, 18)) is not None
    assert cal.add(wib(2025, 8, 15, 14, 0), ONE_WORKING_DAY) == wib(2025, 8, 19, 14, 0)


def test_calendar_days_and_hours_ignore_weekends_and_holidays(cal):
    start = wib(2025, 3, 27, 22, 0)
    assert cal.add(start, Deadline(6, "d", "calendar")) == wib(2025, 4, 2, 22, 0)
    assert cal.add(start, Deadline(24, "h", "calendar")) == wib(2025, 3, 28, 22, 0)


def test_naive_times_are_wib_and_other_zones_are_converted(cal):
    naive = cal.add(datetime(2026, 11, 23, 10, 0), ONE_WORKING_DAY)
    assert naive == wib(2026, 11, 24, 10, 0) and naive.tzinfo is not None
    utc = cal.add(datetime(2026, 11, 23, 3, 0, tzinfo=UTC), ONE_WORKING_DAY)
    assert utc == wib(2026, 11, 24, 10, 0)
    assert str(utc.tzinfo) == "Asia/Jakarta"


def test_rule_set_can_add_and_remove_holidays():
    settings = RuleGraph.default().settings
    custom = WorkCalendar(
        replace(
            settings, extra_holidays=(date(2026, 11, 24),), removed_holidays=(date(2025, 4, 7),)
        )
    )
    assert custom.add(wib(2026, 11, 23, 10, 0), ONE_WORKING_DAY) == wib(2026, 11, 25, 10, 0)
    assert custom.is_working_day(date(2025, 4, 7))


def test_the_report_of_the_issue_gets_deadlines_that_agree(router):
    # 23 Dec 2026 15:00: a working-day response runs past Christmas and cuti bersama, a
    # six-calendar-day resolution would end before it
    from lapor_router import Report

    d = router.route(Report(106.8272, -6.1754, category="garbage", created_at="2026-12-23T15:00"))
    assert d.respond_by is not None and d.due_at is not None
    assert d.respond_by <= d.due_at
    assert d.due_at == d.respond_by == wib(2026, 12, 25, 15, 0)  # resolution: 2 calendar days
    friday = router.route(
        Report(106.8272, -6.1754, category="permits", created_at="2026-12-23T15:00")
    )
    assert friday.respond_by <= friday.due_at  # working days for both: nothing to clamp


def test_respond_by_is_never_after_due_at_for_any_category_at_any_hour_2025_2027(router):
    import pandas as pd

    from lapor_router.route import deadlines, deadlines_many

    rg, cal = router.rules, router.calendar
    hours = pd.Series(pd.date_range("2025-01-01", "2027-12-31 23:00", freq="h", tz=WIB))
    checked = 0
    for category in rg.categories.values():
        respond_by, due = deadlines_many(cal, hours, category.respond, category.resolve)
        assert (respond_by <= due).all(), category.code
        assert (respond_by > hours).all() and (due > hours).all()
        checked += len(hours)
        for i in range(0, len(hours), 997):  # the scalar path gives the same answers
            one = deadlines(cal, hours.iat[i].to_pydatetime(), category.respond, category.resolve)
            assert one == (respond_by.iat[i], due.iat[i]), (category.code, hours.iat[i])
    assert checked == 26_280 * len(rg.categories)


def test_a_deadline_per_row_gives_each_row_what_its_own_deadline_gives(router):
    import numpy as np
    import pandas as pd

    from lapor_router.route import add_many, deadlines_many

    rg, cal = router.rules, router.calendar
    hours = pd.Series(pd.date_range("2025-12-20", "2027-01-05", freq="37min", tz=WIB))
    pairs = [(c.respond, c.resolve) for c in rg.categories.values()]
    kinds = {"h" if d.unit == "h" else d.days for pair in pairs for d in pair}
    assert kinds == {"h", "calendar", "working"}  # every kind of deadline, mixed in one call
    which = np.random.default_rng(7).integers(0, len(pairs), len(hours))
    respond_by, due = deadlines_many(
        cal, hours, [p[0] for p in pairs], [p[1] for p in pairs], which
    )
    assert respond_by.index.equals(hours.index) and due.index.equals(hours.index)
    for k, (respond, resolve) in enumerate(pairs):
        rows = which == k
        one_r, one_d = deadlines_many(cal, hours[rows], respond, resolve)
        for many, one in ((respond_by[rows], one_r), (due[rows], one_d)):
            assert many.index.equals(one.index), k
            assert (many.dt.as_unit("ns").to_numpy() == one.dt.as_unit("ns").to_numpy()).all(), k
    with pytest.raises(TypeError, match="which"):
        add_many(cal, hours, [pairs[0][0]])


@pytest.mark.parametrize("zone", ["Asia/Jakarta", "UTC", "America/Sao_Paulo", "Asia/Kolkata"])
def test_column_deadlines_equal_the_scalar_ones_over_the_years_a_report_may_have(zone):
    """add_many (one pass over int64 wall clocks) gives what WorkCalendar.add gives, for
    instants across 1700-2200 given in several zones, and every kind of deadline."""
    import numpy as np
    import pandas as pd

    from lapor_router.route import add_many

    cal = WorkCalendar(RuleGraph.default().settings)
    rng = np.random.default_rng(11)
    # Jakarta's offset was fixed before 1924 and has been since 1964
    spans = [("1700-01-01", "1923-12-01"), ("1964-01-02", "2200-12-01")]
    parts = []
    for lo, hi in spans:
        a, b = pd.Timestamp(lo, tz="UTC").value, pd.Timestamp(hi, tz="UTC").value
        parts.append(rng.integers(a // 60_000_000_000, b // 60_000_000_000, 400))
    minutes = np.concatenate([*parts, [pd.Timestamp("2026-12-24 15:59", tz=WIB).value // 60e9]])
    utc = pd.to_datetime(minutes.astype(np.int64) * 60_000_000_000, utc=True)
    moments = pd.Series(utc).dt.tz_convert(zone)
    menu = [Deadline(1, "d", "working"), Deadline(5, "d", "working"), Deadline(14, "d", "working"),
            Deadline(6, "d", "calendar"), Deadline(2, "h", "calendar")]  # fmt: skip
    which = rng.integers(0, len(menu), len(moments))
    got = add_many(cal, moments, menu, which)
    for i in range(len(moments)):
        want = cal.add(moments.iat[i].to_pydatetime(), menu[which[i]])
        assert got.iat[i] == want, (moments.iat[i], menu[which[i]])
