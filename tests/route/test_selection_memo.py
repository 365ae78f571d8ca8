"""The rule selections a router keeps from one frame to the next answer as a fresh rule
graph does: what a selection depends on (category, location status, kelurahan, the
attributes a text gives) is all in its key."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd

from lapor_router import Router
from lapor_router.route import RuleGraph

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
MONAS, KLENDER = (106.8272, -6.1754), (106.9000, -6.2170)
BEKASI, NOWHERE = (106.99, -6.24), (float("nan"), float("nan"))


def _frame(rows: list[tuple[str, str, tuple[float, float]]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lon": [r[2][0] for r in rows],
            "lat": [r[2][1] for r in rows],
            "category": [r[0] for r in rows],
            "text": [r[1] for r in rows],
        }
    )


def test_a_kept_selection_never_answers_for_another_key(jakarta):
    first = _frame(
        [
            ("water_supply", "air mati sejak pagi", MONAS),
            ("water_supply", "air mati sejak pagi", KLENDER),
            ("garbage", "sampah numpuk", MONAS),  # another category, the same place
        ]
    )
    # the same keys but one: the customer number the unit needs; garbage in another
    # kelurahan; a report outside Jakarta (no unit) and one without coordinates (the
    # coordinator), both with no kelurahan
    then = _frame(
        [
            ("water_supply", "air mati sejak pagi no pelanggan 12345678", MONAS),
            ("water_supply", "air mati", KLENDER),
            ("water_supply", "air mati", BEKASI),
            ("water_supply", "air mati", NOWHERE),
            ("garbage", "sampah numpuk", KLENDER),
        ]
    )
    shared = Router(jakarta, rules=RuleGraph.default(jakarta))
    before = shared.route_frame(first, now=NOW)
    after = shared.route_frame(then, now=NOW)
    fresh = Router(jakarta, rules=RuleGraph.default(jakarta)).route_frame(then, now=NOW)
    pd.testing.assert_frame_equal(after, fresh)
    # the answers themselves, each of which one key part too few would get wrong
    unit = before["unit_id"].tolist() + after["unit_id"].tolist()
    assert unit[2] != unit[0]  # category
    assert "needs_information" in before["flags"].iat[0]  # attributes
    assert "needs_information" not in after["flags"].iat[0]
    assert list(after["location_status"])[2:4] == ["outside", "invalid"]  # status
    assert unit[5] is None and unit[6] == shared.rules.settings.coordinator
    assert unit[7] != unit[2] and unit[7].startswith(unit[2].split("@")[0])  # kelurahan
