"""Properties that hold for any input: no exception, and the scalar and vector paths agree."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lapor_router import STATUSES, Location
from lapor_router.locate import locations

any_float = st.floats(allow_nan=True, allow_infinity=True)
near_jakarta_lon = st.floats(106.3, 107.1)
near_jakarta_lat = st.floats(-6.5, -5.1)
messy = st.one_of(
    any_float,
    near_jakarta_lon,
    near_jakarta_lat,
    st.none(),
    st.integers(),
    st.text(max_size=8),
    st.just("106.8"),
    st.just("-6,2"),
    st.booleans(),
)
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(lon=any_float, lat=any_float)
def test_any_float_pair_yields_a_location(router, lon, lat):
    loc = router.locate(lon, lat)
    assert isinstance(loc, Location)
    assert loc.status in STATUSES
    if loc.status == "invalid":
        assert loc.kode is None and loc.invalid_reason
    if not (math.isfinite(lon) and math.isfinite(lat)):
        assert loc.status == "invalid"


@SETTINGS
@given(
    lon=messy,
    lat=messy,
    acc=st.one_of(st.none(), any_float, st.text(max_size=3)),
    claim=st.one_of(st.none(), st.text(max_size=12), st.just("Kel. Gambir")),
)
def test_messy_values_never_raise(router, lon, lat, acc, claim):
    loc = router.locate(lon, lat, accuracy_m=acc, claimed=claim)
    assert loc.status in STATUSES


@SETTINGS
@given(
    points=st.lists(
        st.tuples(st.one_of(near_jakarta_lon, messy), st.one_of(near_jakarta_lat, messy)),
        min_size=1,
        max_size=30,
    ),
    accuracy=st.floats(0, 500),
)
def test_locate_many_equals_locate_row_by_row(router, points, accuracy):
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    claims = ["Gambir" if i % 3 else None for i in range(len(points))]
    frame = router.locate_many(lons, lats, accuracy_m=accuracy, claimed=claims)
    assert len(frame) == len(points)
    many = list(locations(frame))
    for (lon, lat), claim, loc in zip(points, claims, many, strict=True):
        one = router.locate(lon, lat, accuracy_m=accuracy, claimed=claim)
        assert _same(one, loc), (lon, lat, one, loc)


def _same(a: Location, b: Location) -> bool:
    for field in Location.__dataclass_fields__:
        x, y = getattr(a, field), getattr(b, field)
        if isinstance(x, float) and isinstance(y, float):
            if not (x == y or (np.isnan(x) and np.isnan(y))):
                return False
        elif x != y:
            return False
    return True


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    points=st.lists(
        st.tuples(st.one_of(near_jakarta_lon, messy), st.one_of(near_jakarta_lat, messy)),
        min_size=1,
        max_size=200,
    ),
    accuracy=st.floats(0, 300),
)
def test_locate_many_from_four_threads_equals_one_thread(jakarta, points, accuracy):
    from concurrent.futures import ThreadPoolExecutor

    from lapor_router import Router

    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    expected = list(locations(Router(jakarta).locate_many(lons, lats, accuracy_m=accuracy)))
    cold = Router(jakarta)
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = list(
            pool.map(
                lambda _: list(locations(cold.locate_many(lons, lats, accuracy_m=accuracy))),
                range(4),
            )
        )
    for run in runs:
        assert all(_same(a, b) for a, b in zip(run, expected, strict=True))
