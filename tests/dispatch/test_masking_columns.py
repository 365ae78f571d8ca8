"""The column-at-once masking of routed tables equals masking each cell on its own: the
reporter values of private rows found and masked in the other cells of their row, blanks
told from values as ``is_present`` tells them, for any text (case, non-ASCII, whitespace
that ``str.strip`` removes, cells that are not text)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from lapor_router.dispatch.frames import (
    _mask_columns,
    _mask_identities,
    _present,
    _search_words,
    _stacked,
    _word,
    input_names,
)
from lapor_router.dispatch.kernels import may_contain
from lapor_router.normalize import Columns, is_present
from lapor_router.normalize.strings import TEXT_DTYPE, text_series, utf8_buffers
from lapor_router.privacy import mask_words

NAMES = st.sampled_from(
    ["Budi", "budi santoso", "ANI", "Siti ", "\u00a0Eko\u00a0", "Ö z", "ßa", "Jo", "İrma", "x",
     "", " ", "\x1cAgus", "Rahmat"]
)  # fmt: skip
CELLS = st.one_of(
    st.sampled_from(["rumah BUDI santoso", "titip ke ani ya", "Pak eko", "siti", "ssa",
                     "agus", "İRMA", "irma", "", None, "no name"]),
    st.text(alphabet="abBuUdDiI ßöÖİ\u00a0", max_size=12),
    st.integers(0, 99),
)  # fmt: skip


def _reference(masked, rows, frame, reporter):
    out = masked.copy()
    for i in rows:
        cell = out[i]
        own = [w for c in reporter if (w := _word(frame[c].iat[i]))]
        if isinstance(cell, str) and any(w in cell.lower() for w in own):
            out[i] = mask_words(cell, own)
    return out


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(NAMES, NAMES, CELLS, st.booleans()), min_size=1, max_size=25))
def test_identities_are_masked_as_cell_by_cell(rows):
    a, b, cells, private = zip(*rows, strict=True)
    frame = pd.DataFrame({"nama": list(a), "alias": list(b)}, dtype=object)
    masked = np.array(list(cells), dtype=object)
    idx = np.flatnonzero(np.array(private))
    want = _reference(masked, idx, frame, ["nama", "alias"])
    words = [_search_words(frame[c].to_numpy(dtype=object)[idx]) for c in ("nama", "alias")]
    got = masked.copy()
    if len(idx):
        _mask_identities(got, idx, _stacked(words), frame, ["nama", "alias"])
    assert got.tolist() == want.tolist()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=6), NAMES, st.floats()), max_size=20))
def test_present_is_is_present(values):
    cells = np.array([*values, "x"], dtype=object)[: len(values)]
    assert _present(cells).tolist() == [is_present(v) for v in cells]


@settings(max_examples=500, deadline=None)
@given(
    st.integers(1, 3).flatmap(
        lambda k: st.lists(
            st.tuples(st.text(max_size=10), st.lists(st.text(max_size=4), min_size=k, max_size=k)),
            min_size=1,
            max_size=30,
        )
    )
)
def test_the_compiled_search_finds_every_occurrence(pairs):
    cells, words = zip(*pairs, strict=True)
    columns = [pa.array([w[j] for w in words], pa.large_string()) for j in range(len(words[0]))]
    found = may_contain(*utf8_buffers(pa.array(list(cells), pa.large_string())), *_stacked(columns))
    for cell, own, f in zip(cells, words, found.tolist(), strict=True):
        occurs = any(w and w.lower() in cell.lower() for w in own)
        if occurs:
            assert f, (cell, own)
        if cell.isascii() and all(w.isascii() for w in own):  # exact: no byte beyond ASCII
            assert f == occurs, (cell, own)


TEXTS = st.one_of(
    CELLS.filter(lambda c: isinstance(c, str)),
    st.sampled_from(["hub 0812-3456-7890", "+62 21 555 1234", "budi@contoh.id ya",
                     "NIK 3171012345678901", "=1+1", "-6.2", "'", "Ani di RT 05",
                     "0812345678901", " siti\u00a0", "İrma 081234567"]),
    st.text(alphabet="0812-@. abİ", max_size=16),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(NAMES, TEXTS, TEXTS, st.booleans()), min_size=1, max_size=25))
def test_arrow_text_columns_are_masked_as_object_columns(rows):
    names, phones, notes, private = zip(*rows, strict=True)
    cells = {"reporter_name": list(names), "reporter_phone": list(phones), "text": list(notes)}
    plain = pd.DataFrame(cells, dtype=object)
    arrow = pd.DataFrame({c: text_series(pa.array(v, pa.large_string())) for c, v in cells.items()})
    flags = np.array(private, dtype=bool)
    cols = Columns(reporter=("reporter_name", "reporter_phone")).resolve(list(plain.columns))
    renamed = input_names(list(plain.columns))
    outs = []
    for frame in (plain, arrow):
        out = frame.rename(columns=renamed)
        _mask_columns(frame, out, cols, renamed, flags, skip=None)
        outs.append(out)
    for c in outs[0].columns:
        assert outs[1][c].dtype == TEXT_DTYPE  # still Arrow-backed
        assert outs[1][c].to_numpy(dtype=object).tolist() == outs[0][c].tolist(), c
