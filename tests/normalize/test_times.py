"""Plain ISO 8601 timestamps read from Arrow buffers: the instants datetime.fromisoformat
gives, for exactly the values the PLAIN_ISO pattern matches (real dates, 1701–2199)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from lapor_router.normalize.times import NAT, PLAIN_ISO, plain_iso_ns

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def expected(value: str | None) -> int:
    """What plain_iso_ns must give for one value, from the standard library."""
    if value is None or not re.fullmatch(PLAIN_ISO, value, flags=re.ASCII):
        return NAT
    if not 1701 <= int(value[:4]) <= 2199:
        return NAT
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:  # not a calendar date (2026-02-30)
        return NAT
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000


EDGES = [
    "2026-11-02T07:00:00+07:00",
    "2026-11-02T07:00:00-03:30",
    "2026-11-02T23:59:59+23:59",
    "2026-11-02T24:00:00+07:00",  # hour 24
    "2026-11-02T07:60:00+07:00",
    "2026-11-02T07:00:60+07:00",
    "2026-11-02T07:00:00+24:00",
    "2026-11-02T07:00:00+07:60",
    "2024-02-29T10:00:00+07:00",  # a leap day
    "2026-02-29T10:00:00+07:00",  # no leap day this year
    "2100-02-29T10:00:00+07:00",  # not a leap year
    "2000-02-29T10:00:00+07:00",
    "2026-04-31T10:00:00+07:00",
    "2026-12-31T10:00:00+07:00",
    "2026-13-01T10:00:00+07:00",
    "2026-00-10T10:00:00+07:00",
    "2026-01-00T10:00:00+07:00",
    "1700-12-31T10:00:00+07:00",
    "1701-01-01T00:00:00+00:00",
    "2199-12-31T23:59:59-23:59",
    "2200-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+00:00",
    "2026-11-02 07:00:00+07:00",  # a space for T: 25 bytes, not plain
    "2026-11-02T07:00:00Z",
    "2026-11-02T07:00:00+0700",
    "2026-11-02T07:00:00.5+07:00",
    "2026-11-02T07:00:00+07:00 ",
    "2026-11-02T07:00",
    "٢٠٢٦-11-02T07:00:00+07:00",  # Arabic-Indic digits: not ASCII
    "2026-11-0２T07:00:00+07:00",  # a full-width digit
    "abcdefghijklmnopqrstuvwxy",  # 25 bytes, not a time
    "",
    None,
]


def test_edges_match_the_standard_library_in_both_string_types():
    for kind in (pa.string(), pa.large_string()):
        got = plain_iso_ns(pa.array(EDGES, type=kind))
        assert got.tolist() == [expected(v) for v in EDGES], kind
    assert expected(EDGES[0]) != NAT and expected(EDGES[3]) == NAT  # the oracle discriminates


def test_a_slice_reads_its_own_cells():
    array = pa.array(["x", *EDGES, "2026-11-02T07:00:00+07:00"]).slice(1, len(EDGES))
    assert array.offset == 1
    assert plain_iso_ns(array).tolist() == [expected(v) for v in EDGES]


def test_null_slots_are_nat_even_when_their_bytes_look_like_a_time():
    valid = pa.array(["2026-11-02T07:00:00+07:00"] * 2)
    masked = pa.Array.from_buffers(
        pa.string(), 2, [pa.py_buffer(np.packbits([1, 0], bitorder="little")), *valid.buffers()[1:]]
    )
    assert masked.to_pylist()[1] is None
    got = plain_iso_ns(masked)
    assert got[0] == expected("2026-11-02T07:00:00+07:00") and got[1] == NAT


def test_empty_and_all_null_arrays():
    assert plain_iso_ns(pa.array([], type=pa.string())).tolist() == []
    assert plain_iso_ns(pa.array([None, None], type=pa.string())).tolist() == [NAT, NAT]


_PART = st.integers(0, 99).map(lambda v: f"{v:02d}")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.builds(
                lambda y, mo, d, h, mi, s, sign, oh, om: (
                    f"{y:04d}-{mo}-{d}T{h}:{mi}:{s}{sign}{oh}:{om}"
                ),
                st.integers(0, 9999),
                _PART,
                _PART,
                _PART,
                _PART,
                _PART,
                st.sampled_from("+-"),
                _PART,
                _PART,
            ),
            st.text(max_size=30),
            st.none(),
        ),
        max_size=40,
    )
)
def test_any_values_match_the_standard_library(values):
    assert plain_iso_ns(pa.array(values, type=pa.string())).tolist() == [
        expected(v) for v in values
    ]
