"""The combined key of several columns codes rows alike exactly where every column's cells
are alike (as text; missing cells one value), in order of first appearance."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from lapor_router.route.many import _key

INTS = st.one_of(st.integers(-3, 3), st.integers(-(2**63), 2**63 - 1))
TEXT = st.one_of(st.none(), st.sampled_from(["a", "b", "", "1"]))
MIXED = st.one_of(st.none(), st.integers(0, 2), st.sampled_from(["1", "x"]))


def _reference(parts: list[list]) -> list[int]:
    """Codes by first appearance of each row's tuple of cells (missing: one value; other
    cells by their text)."""
    seen: dict[tuple, int] = {}
    rows = zip(*[[None if v is None else str(v) for v in p] for p in parts], strict=True)
    return [seen.setdefault(r, len(seen)) for r in rows]


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 30).flatmap(
        lambda n: st.lists(
            st.one_of(
                st.lists(INTS, min_size=n, max_size=n).map(lambda v: ("int", v)),
                st.lists(st.booleans(), min_size=n, max_size=n).map(lambda v: ("bool", v)),
                st.lists(TEXT, min_size=n, max_size=n).map(lambda v: ("text", v)),
                st.lists(MIXED, min_size=n, max_size=n).map(lambda v: ("mixed", v)),
            ),
            min_size=1,
            max_size=6,
        )
    )
)
def test_rows_share_a_key_where_all_their_columns_agree(columns):
    parts = []
    for kind, values in columns:
        if kind == "int":
            parts.append(np.array(values, dtype=np.int64))
        elif kind == "bool":
            parts.append(np.array(values, dtype=bool))
        else:
            parts.append(pd.Series(values, dtype=object).to_numpy())
    assert _key(*parts).tolist() == _reference([v for _, v in columns])


def test_many_wide_columns_do_not_overflow_into_one_key():
    # five columns of codes up to 2**20: their combined digits pass 2**64, where an int64
    # would wrap 16 * 2**80 round to 0 and give rows 0 and 1 one key
    wide = 2**20 - 1
    first = np.array([0, 16, wide], dtype=np.int64)
    rest = [np.array([0, 0, wide], dtype=np.int64)] * 4
    assert _key(first, *rest).tolist() == [0, 1, 2]
