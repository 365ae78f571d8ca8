"""Deadline columns are written as ``datetime.isoformat(timespec="seconds")`` writes them:
the compiled writer for years 1000 to 9999, in any zone whose offset is whole minutes,
missing times missing."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from lapor_router.files.writers import _iso

ZONES = st.sampled_from(["Asia/Jakarta", "Asia/Makassar", "Asia/Kathmandu", "America/St_Johns",
                         "UTC", "Pacific/Chatham", "Europe/Amsterdam"])  # fmt: skip
SECONDS = st.integers(
    int(np.datetime64("1970-01-01T00:00:00", "s").astype(np.int64)),
    int(np.datetime64("9999-12-30T00:00:00", "s").astype(np.int64)),
)


@settings(max_examples=200, deadline=None)
@given(ZONES, st.lists(st.one_of(SECONDS, st.none()), max_size=40))
def test_times_are_written_as_isoformat(zone, seconds):
    cells = np.array(["NaT" if s is None else s for s in seconds], dtype="datetime64[s]")
    times = pd.Series(pd.DatetimeIndex(cells).tz_localize("UTC")).dt.tz_convert(zone)
    got = _iso(times).tolist()
    want = [None if pd.isna(t) else t.isoformat(timespec="seconds") for t in times]
    assert [None if pd.isna(g) else g for g in got] == want


def test_years_outside_four_digits_are_written_too():
    times = pd.Series(pd.to_datetime(["0999-01-01T00:00:00", None], utc=True).as_unit("s"))
    assert _iso(times).tolist()[0] == "0999-01-01T00:00:00+00:00"
