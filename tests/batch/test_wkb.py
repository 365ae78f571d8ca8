"""A GeoParquet part's geometries are the WKB shapely writes, byte for byte, whichever path
writes them (numpy for plain 2-D points, shapely for anything else)."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from lapor_router.files.writers import _wkb, _wkb_points

COORD = st.floats(-180, 180, allow_nan=False)
PLAIN = st.tuples(COORD, COORD).map(lambda xy: shapely.Point(*xy))
ODD = st.one_of(
    st.none(),
    st.just(shapely.Point()),
    st.tuples(COORD, COORD, COORD).map(lambda xyz: shapely.Point(*xyz)),
    st.just(shapely.LineString([(0, 0), (1, 1)])),
    st.sampled_from([float("nan"), float("inf"), -0.0]).map(lambda v: shapely.Point(v, 1.0)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(PLAIN, PLAIN, PLAIN, ODD), max_size=20))
def test_geometries_are_written_as_shapely_writes_them(geoms):
    arr = np.array([*geoms, None], dtype=object)[:-1]  # an object array, even of one point
    assert _wkb(arr).to_pylist() == shapely.to_wkb(arr).tolist()


def test_points_and_missing_ones_take_the_numpy_path():
    arr = np.array([shapely.Point(106.8, -6.2), None, shapely.Point(-0.0, 1e-300)], dtype=object)
    got = _wkb(arr)
    assert got.null_count == 1
    assert got.to_pylist() == shapely.to_wkb(arr).tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.one_of(COORD, st.just(float("nan"))), COORD), max_size=20))
def test_located_lon_lat_are_written_as_shapely_points(pairs):
    # a CSV input's GeoParquet output: the points of the located lon/lat (NaN: no point)
    lon = np.array([p[0] for p in pairs], dtype=float)
    lat = np.array([p[1] for p in pairs], dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    want = np.full(len(pairs), None, dtype=object)
    want[ok] = shapely.to_wkb(shapely.points(lon[ok], lat[ok]))
    assert _wkb_points(lon, lat, ok).to_pylist() == want.tolist()
