"""The JSON Lines and GeoJSON writers write, by array kernels, the bytes ``json.dumps`` writes
of each row's record (``ensure_ascii=False``; NaN as null, numpy scalars as Python's, bytes as
hex), for any cells: quotes, backslashes, control characters, non-ASCII text, numbers of every
kind, booleans, missing cells; and each point as the GeoJSON of shapely's own writer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from lapor_router.files.writers import _geojson_geometries, _joined, _json_objects
from lapor_router.normalize.strings import text_series


def _plain(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v != v:
        return None
    return v.hex() if isinstance(v, bytes) else v


def _reference(frame: pd.DataFrame) -> bytes:
    lines = [
        json.dumps({str(k): _plain(v) for k, v in rec.items()}, ensure_ascii=False) + "\n"
        for rec in frame.to_dict(orient="records")
    ]
    return "".join(lines).encode("utf-8")


def _lines(frame: pd.DataFrame) -> bytes:
    cells, pieces = _json_objects(frame)
    return _joined(cells, [*pieces[:-1], pieces[-1] + "\n"], len(frame))


TRICKY = st.sampled_from(
    ['a"b', "a\\b", "a\nb", "\x00", "\x1f", "\x7f", "\u2028", "ü, ä", "", " ", '\\"', "\t",
     "null", "1.5", "{}", "😀"]
)  # fmt: skip
TEXT = st.one_of(TRICKY, st.text(max_size=12))
FLOAT = st.floats(allow_nan=True, allow_infinity=True)
CELL = st.one_of(
    TEXT, st.none(), st.booleans(), st.integers(-(2**70), 2**70), FLOAT, st.binary(max_size=4)
)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 3).flatmap(
        lambda k: st.lists(st.tuples(*[st.one_of(TEXT, st.none())] * k), min_size=1, max_size=30)
    ),
    st.lists(CELL, min_size=30, max_size=30),
    st.lists(st.one_of(FLOAT, st.none()), min_size=30, max_size=30),
)
def test_text_and_mixed_columns_match_json_dumps(rows, mixed, floating):
    frame = pd.DataFrame(rows, columns=[f"c{i}" for i in range(len(rows[0]))], dtype=object)
    frame["mixed"] = pd.Series(mixed[: len(frame)], dtype=object)
    frame["floating"] = pd.Series(floating[: len(frame)], dtype=object)
    frame['odd "key"'] = pd.Series([b"\x00\xff"] * len(frame), dtype=object)
    assert _lines(frame) == _reference(frame)
    # the text columns as the readers make them (Arrow-backed, nulls as NaN)
    arrow = frame.copy()
    for c in [c for c in frame.columns if str(c).startswith("c")]:
        arrow[c] = text_series(pa.array(frame[c].tolist(), pa.large_string()))
    assert _lines(arrow) == _reference(frame)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.booleans(),
            st.integers(-(2**63), 2**63 - 1),
            FLOAT,
            st.floats(width=32, allow_nan=True, allow_infinity=True),
            st.integers(0, 3),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_typed_columns_match_json_dumps(rows):
    b, i, f, f32, k = zip(*rows, strict=True)
    frame = pd.DataFrame(
        {
            "b": np.array(b, dtype=bool),
            "i": np.array(i, dtype=np.int64),
            "f": np.array(f, dtype=np.float64),
            "f32": np.array(f32, dtype=np.float32),
            "ints": pd.Series(list(k), dtype=object),  # Python ints, once per distinct value
            "bools": pd.Series([x % 2 == 0 for x in k], dtype=object),
        }
    )
    assert _lines(frame) == _reference(frame)


def test_a_frame_without_columns_writes_empty_objects():
    frame = pd.DataFrame(index=range(3))
    assert _lines(frame) == b"{}\n{}\n{}\n"


def _geojson_reference(geoms) -> list[str]:
    return ["null" if g is None else json.dumps(json.loads(shapely.to_geojson(g))) for g in geoms]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(allow_nan=True, allow_infinity=True),
            st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_points_match_shapely_geojson(coords):
    geoms = np.array(
        [shapely.Point(x, y) if z is None else shapely.Point(x, y, z) for x, y, z in coords],
        dtype=object,
    )
    assert _geojson_geometries(geoms).to_pylist() == _geojson_reference(geoms)


def test_other_geometries_and_missing_ones_match_shapely_geojson():
    geoms = np.array(
        [
            None,
            shapely.from_wkt("POINT EMPTY"),
            shapely.Point(106.8, -6.2),
            shapely.from_wkt("POLYGON ((0 0, 1 0, 1 1, 0 0))"),
            shapely.from_wkt("GEOMETRYCOLLECTION (POINT (1 2), LINESTRING (0 0, 1e15 1))"),
            shapely.Point(1e15, 1e-7),
        ],
        dtype=object,
    )
    assert _geojson_geometries(geoms).to_pylist() == _geojson_reference(geoms)
