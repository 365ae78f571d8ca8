"""A chunk's counts (``Tally.of``) equal counting row by row: reroutes by kelurahan pair and
by unit pair, with missing codes, units outside Jakarta and unit cells of any type."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from lapor_router.files import Tally
from lapor_router.normalize import is_present
from lapor_router.normalize.strings import text_series

KODE = st.sampled_from([None, "31.71.01.1001", "31.71.01.1002", "31.72.02.1005"])
UNIT = st.sampled_from([None, "pam_jaya", "Sudin_SDA@31.71", "sudin_sda@31.71"])
NAMES = {"pam_jaya": "PAM Jaya", "Sudin_SDA@31.71": "Sudin SDA", "sudin_sda@31.71": "Sudin SDA"}
GIVEN = st.one_of(
    st.sampled_from([None, float("nan"), "", " ", "PAM_JAYA ", "kelurahan_gambir", "x",
                     " pam jaya", "SUDIN SDA", "Sudin SDA Jakpus"]),
    st.integers(0, 3),
)  # fmt: skip
MISMATCH = frozenset({"claimed_mismatch"})
FLAGS = st.sampled_from([frozenset(), MISMATCH, MISMATCH | {"near_boundary"}, frozenset({"gap"})])


def _reference(frame: pd.DataFrame) -> tuple[Counter, Counter]:
    kel, unit = Counter(), Counter()
    for r in frame.itertuples(index=False):
        if not r.reroute:
            continue
        if "claimed_mismatch" in r.flags:
            kel[f"{r.claimed_kode} → {r.kelurahan_kode}"] += 1
        cur = str(r.current_unit).strip().lower() if is_present(r.current_unit) else ""
        new_id = r.unit_id.lower() if isinstance(r.unit_id, str) else ""
        new_name = r.unit_name.lower() if isinstance(r.unit_name, str) else ""
        if cur and cur not in (new_id, new_name):
            to = r.unit_id if isinstance(r.unit_id, str) else "(outside Jakarta)"
            unit[f"{r.current_unit} → {to}"] += 1
    return kel, unit


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(KODE, KODE, UNIT, GIVEN, FLAGS, st.booleans()), max_size=40),
    st.booleans(),
)
def test_reroute_counts_equal_counting_row_by_row(rows, arrow):
    cols = ["claimed_kode", "kelurahan_kode", "unit_id", "current_unit", "flags", "reroute"]
    frame = pd.DataFrame(rows, columns=cols, dtype=object)
    frame["unit_name"] = [NAMES.get(u) if isinstance(u, str) else None for u in frame["unit_id"]]
    frame["reroute"] = frame["reroute"].to_numpy(dtype=bool) if len(frame) else np.zeros(0, bool)
    frame["location_status"] = "inside"
    kel, unit = _reference(frame)
    if arrow:  # the routing's text columns as a file run makes them: Arrow-backed text
        for c in ("claimed_kode", "kelurahan_kode", "unit_id", "unit_name", "location_status"):
            cells = [v if isinstance(v, str) else None for v in frame[c]]
            frame[c] = text_series(pa.array(cells, pa.large_string()), frame.index)
    t = Tally.of(frame, [], len(frame), "claimed_kode", "current_unit")
    assert t.rows_rerouted == int(frame["reroute"].sum())
    assert t.rerouted_kelurahan == kel
    assert t.rerouted_unit == unit
