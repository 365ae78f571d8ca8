"""Numbers read from Arrow text (a CSV's coordinate columns) are the numbers, and the
reasons, that the same cells give as Python strings."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from lapor_router.normalize import REASONS
from lapor_router.normalize.kernels import decimal_literals
from lapor_router.normalize.strings import utf8_buffers
from lapor_router.normalize.values import coerce_floats

NUMBERISH = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-180, 180).flatmap(lambda f: st.integers(0, 18).map(lambda k: f"{f:.{k}f}")),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["1e400", "-1e400", "-0", "+5", ".5", "5.", "nan", "NaN", "inf", "-inf",
                     "Infinity", "1_0", " 5", "5 ", "0x10", "1E5", "\u0661", "", "4.9e-324",
                     "2.5e-324", "106,8272", "-6.2\u00a0"]),
    st.text(alphabet="0123456789.-+eE ", max_size=12),
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(NUMBERISH, st.none()), min_size=1, max_size=30))
def test_arrow_text_gives_the_numbers_python_strings_give(cells):
    want_x, want_r = coerce_floats(np.array(cells, dtype=object))
    got_x, got_r = coerce_floats(pa.array(cells, pa.large_string()))
    assert got_r.tolist() == want_r.tolist()
    assert np.array_equal(got_x, want_x, equal_nan=True)
    # a zero keeps the sign its text has, as pandas' float parsing keeps it (pandas reads a
    # column of only integers as int64, so "-0" alone would be +0 there)
    zero = np.flatnonzero(got_x == 0)
    signs = [cells[i].strip().startswith("-") for i in zero.tolist()]
    assert np.signbit(got_x[zero]).tolist() == signs


def test_a_column_of_plain_numbers_is_parsed_at_once():
    x, reason = coerce_floats(pa.array(["106.8272", "-6.2", None, "nan", "1e400"]))
    assert x[:2].tolist() == [106.8272, -6.2]
    assert [REASONS[r] for r in reason.tolist()] == [
        None, None, "missing", "not_a_number", "out_of_range"
    ]  # fmt: skip


# a decimal number literal as a CSV export writes one
LITERAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(NUMBERISH, st.text(max_size=8)), min_size=1, max_size=30))
def test_the_literal_kernel_finds_the_cells_the_pattern_matches_whole(cells):
    got = decimal_literals(*utf8_buffers(pa.array(cells, pa.large_string())))
    assert got.tolist() == [LITERAL.fullmatch(c) is not None for c in cells]
