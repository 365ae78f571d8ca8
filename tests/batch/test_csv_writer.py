"""The compiled CSV writer writes the bytes pandas' ``to_csv`` writes (after neutralising
formula cells one by one), for any cells: quotes, commas, newlines, carriage returns,
non-ASCII text, formula-like and number-like text, numbers, booleans, blanks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from lapor_router.files.writers import _csv_bytes, _neutralise
from lapor_router.normalize.strings import text_series


def _reference(frame: pd.DataFrame) -> bytes:
    ref = frame.copy()
    for c in ref.columns:
        if ref[c].dtype == object or pd.api.types.is_string_dtype(ref[c].dtype):
            cells = [_neutralise(v) for v in ref[c].to_numpy(dtype=object)]
            ref[c] = pd.Series(cells, index=ref.index, dtype=object)
    return ref.to_csv(index=False, header=False).encode("utf-8")


TRICKY = st.sampled_from(
    ['a"b', "a,b", "a\nb", "a\rb", '"', ",", "", " ", "=1+1", "-6.2", "+62812", "-", "@x",
     "\tx", "\rx", "-1e5", "-٣", "+.5", "-1.", "ü, ä", "'=x", "-x\n", "==", "1,5", "-1e",
     "-.e5", "-1٣", "+٣e5", "-1e+"]
)  # fmt: skip
TEXT = st.one_of(TRICKY, st.text(max_size=12))
CELL = st.one_of(
    TEXT,
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 4).flatmap(lambda k: st.lists(st.tuples(*[TEXT] * k), min_size=1, max_size=30)),
    st.lists(CELL, min_size=30, max_size=30),
)
def test_text_and_mixed_columns_match_pandas(rows, mixed):
    frame = pd.DataFrame(rows, columns=[f"c{i}" for i in range(len(rows[0]))], dtype=object)
    frame["mixed"] = pd.Series(mixed[: len(frame)], dtype=object)
    assert _csv_bytes(frame).tobytes() == _reference(frame)
    # the text columns as the CSV reader makes them (Arrow-backed, large strings)
    arrow = frame.copy()
    for c in arrow.columns[:-1]:
        arrow[c] = text_series(pa.array(frame[c].tolist(), pa.large_string()))
    assert _csv_bytes(arrow).tobytes() == _reference(frame)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.booleans(),
            st.integers(-(2**62), 2**62),
            st.floats(allow_nan=True, allow_infinity=True),
            st.one_of(st.none(), TEXT),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_typed_columns_match_pandas(rows):
    b, i, f, s = zip(*rows, strict=True)
    frame = pd.DataFrame(
        {
            "b": np.array(b, dtype=bool),
            "i": np.array(i, dtype=np.int64),
            "f": np.array(f, dtype=np.float64),
            "s": pd.Series(s, dtype="str"),
        }
    )
    assert _csv_bytes(frame).tobytes() == _reference(frame)


def test_one_column_of_blanks_is_quoted_as_the_csv_module_does():
    frame = pd.DataFrame({"a": ["", "x", None]}, dtype=object)
    assert _csv_bytes(frame).tobytes() == _reference(frame) == b'""\nx\n""\n'


def test_formula_cells_are_neutralised_and_numbers_are_not():
    frame = pd.DataFrame({"a": ["=HYPERLINK(1)", "-6.2", "@SUM", "-x", "+62812"]}, dtype=object)
    text = _csv_bytes(frame).tobytes().decode()
    assert text.splitlines() == ["'=HYPERLINK(1)", "-6.2", "'@SUM", "'-x", "+62812"]


def test_flags_and_candidates_are_text_once_per_value_and_empty_where_missing():
    from lapor_router.files.writers import _candidate_text, _flag_text
    from lapor_router.normalize.strings import arrow_text

    flags = pd.Series([frozenset({"b", "a"}), None, frozenset(), np.nan, frozenset({"a", "b"})])
    got = _flag_text(flags)
    assert arrow_text(got) is not None  # Arrow-backed: no Python str per row
    assert got.tolist() == ["a;b", "", "", "", "a;b"]
    cands = pd.Series([(("x", 1.5), ("y", 2.0)), None, (), [("z", 1.0)]], dtype=object)
    assert _candidate_text(cands).tolist() == ["x:1.5;y:2", "", "", ""]  # a list: unhashable


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.floats(), st.floats(width=32).map(np.float64), st.none()), max_size=30),
    st.sampled_from([None, np.float32(0.1), 7]),
)
def test_a_column_of_float_objects_writes_each_float_as_str_gives_it(cells, odd):
    """Object columns of floats (asset distances with None for no match) are written at
    array speed, each present cell as ``str`` writes it; a float32 or an int among them
    sends the column down the cell-by-cell path, which must agree too."""
    from lapor_router.files.writers import _csv_cells, _parquet_cells

    values = [*cells, odd] if odd is not None else cells
    col = pd.Series(values, dtype=object)
    missing = [v is None or v != v for v in values]
    want = [None if m else str(v) for v, m in zip(values, missing, strict=True)]
    assert _parquet_cells(col).tolist() == want
    assert _csv_cells(col).to_pylist() == ["" if w is None else w for w in want]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.none(), st.just(float("nan")), CELL), min_size=1, max_size=40)
)
def test_a_mostly_empty_column_is_written_as_a_full_one(cells):
    # an object column of mostly missing cells (a run's asset columns) takes a path of its own
    frame = pd.DataFrame({"sparse": pd.Series(cells, dtype=object), "n": range(len(cells))})
    assert _csv_bytes(frame).tobytes() == _reference(frame)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.one_of(st.none(), TEXT), TEXT), min_size=1, max_size=30),
    st.integers(0, 5),
)
def test_null_text_cells_are_empty_whatever_their_slots_hold(cells, cut):
    """A null cell of an Arrow text column is written empty, whether its slot is empty (as
    Arrow's builders leave it) or holds bytes (as another producer may leave it), in a
    sliced array too."""
    values = [v for v, _ in cells]
    under = [g if v is None else v for v, g in cells]  # the bytes in each null's slot
    built = pa.array(under, pa.large_string())
    validity = pa.array([v is not None for v in values]).buffers()[1]
    _, offsets, data = built.buffers()
    odd = pa.LargeStringArray.from_buffers(len(values), offsets, data, validity)
    plain = pa.array(values, pa.large_string())
    cut = min(cut, len(values) - 1)
    expected = _reference(pd.DataFrame({"a": values[cut:]}, dtype=object))
    for text in (odd, plain):
        frame = pd.DataFrame({"a": text_series(text.slice(cut))})
        assert _csv_bytes(frame).tobytes() == expected


def test_no_rows_of_arrays_without_offsets_join_to_nothing():
    """A zero-length Arrow array may have an empty offsets buffer: no rows, no bytes."""
    from lapor_router.files.writers import _csv_rows, _joined

    bare = pa.LargeStringArray.from_buffers(0, pa.py_buffer(b""), pa.py_buffer(b""))
    assert _csv_rows([bare, bare], 0).tobytes() == b""
    assert _joined([bare], ["{", "}"], 0) == b""
