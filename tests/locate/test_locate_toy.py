"""Locating points in the hand-made toy set, where every answer can be worked out on paper.

See conftest.py for the layout: A (with a hole) | B | C overlapping B | 55 m gap | D, and
E made of two islands.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from lapor_router import Router, load_boundaries

A, B, C, D, E = (
    "99.01.01.1001",
    "99.01.01.1002",
    "99.01.02.1001",
    "99.01.02.1002",
    "99.02.01.1001",
)
GEOD = pyproj.Geod(ellps="WGS84")


def metres(lon0: float, lat0: float, lon1: float, lat1: float) -> float:
    return float(GEOD.inv(lon0, lat0, lon1, lat1)[2])


def test_point_inside_one_polygon(toy_router):
    loc = toy_router.locate(106.014, -6.005)
    assert (loc.status, loc.kode, loc.nama) == ("inside", B, "Bravo")
    assert loc.candidates == (B,)
    assert loc.distance_m == 0.0 and loc.flags == frozenset()
    assert (loc.kecamatan_kode, loc.kota_kode, loc.provinsi_kode) == ("99.01.01", "99.01", "99")


def test_point_on_a_shared_edge_is_an_overlap_won_by_the_smaller_code(toy_router):
    loc = toy_router.locate(106.010, -6.005)
    assert loc.status == "overlap"
    assert loc.candidates == (A, B)
    assert loc.kode == A  # both at depth 0: the tie goes to the smallest code


def test_overlap_goes_to_the_polygon_the_point_is_deepest_in(toy_router):
    # 0.0015° from B's east edge, 0.0005° from C's west edge
    loc = toy_router.locate(106.0185, -6.005)
    assert (loc.status, loc.kode, loc.candidates) == ("overlap", B, (B, C))
    loc = toy_router.locate(106.0197, -6.005)
    assert (loc.status, loc.kode) == ("overlap", C)


def test_gap_takes_the_nearest_polygon_with_its_distance_in_metres(toy_router):
    loc = toy_router.locate(106.0282, -6.005)
    assert loc.status == "gap" and loc.kode == C
    assert loc.candidates == (C, D)  # both within 100 m, nearest first
    assert loc.distance_m == pytest.approx(metres(106.028, -6.005, 106.0282, -6.005), rel=0.01)


def test_hole_centre_is_outside_but_its_edge_is_a_gap(toy_router):
    assert toy_router.locate(106.005, -6.005).status == "outside"
    loc = toy_router.locate(106.0041, -6.005)
    assert (loc.status, loc.kode) == ("gap", A)
    assert loc.distance_m == pytest.approx(metres(106.004, -6.005, 106.0041, -6.005), rel=0.01)


def test_gap_tolerance_is_a_setting(toy):
    wide = Router(toy, gap_tolerance_m=200)
    assert wide.locate(106.005, -6.005).status == "gap"
    strict = Router(toy, gap_tolerance_m=0)
    assert strict.locate(106.0282, -6.005).status == "outside"


def test_far_point_is_outside(toy_router):
    loc = toy_router.locate(106.06, -6.005)
    assert (loc.status, loc.kode, loc.candidates, loc.distance_m) == ("outside", None, (), None)
    assert loc.external_kode is None  # no context boundaries were given


def test_islands_of_a_multipolygon(toy_router):
    for lon in (106.101, 106.111):
        loc = toy_router.locate(lon, -6.001)
        assert (loc.status, loc.kode) == ("inside", E)
    assert toy_router.locate(106.106, -6.001).status == "outside"  # sea between the islands


@pytest.mark.parametrize(
    "lon,lat,reason",
    [
        (None, -6.0, "missing"),
        (106.0, float("nan"), "missing"),
        (float("inf"), -6.0, "not_finite"),
        ("abc", -6.0, "not_a_number"),
        (True, -6.0, "not_a_number"),
        (106.0, 95.0, "out_of_range"),
        (200.0, -6.0, "out_of_range"),
        ("", "", "missing"),
        ([1], -6.0, "not_a_number"),
    ],
)
def test_invalid_coordinates_are_flagged_not_raised(toy_router, lon, lat, reason):
    loc = toy_router.locate(lon, lat)
    assert loc.status == "invalid"
    assert loc.invalid_reason == reason
    assert "invalid_coordinates" in loc.flags
    assert loc.kode is None and loc.lon is None and loc.lat is None


def test_numeric_text_and_decimal_commas_are_numbers(toy_router):
    assert toy_router.locate("106.014", " -6.005 ").kode == B
    assert toy_router.locate("106,014", "-6,005").kode == B


def test_swapped_coordinates_are_corrected_and_flagged(toy_router):
    loc = toy_router.locate(-6.005, 106.014)
    assert (loc.status, loc.kode) == ("inside", B)
    assert loc.flags == {"swapped_coordinates"}
    assert (loc.lon, loc.lat) == (106.014, -6.005)


def test_lost_latitude_sign_is_corrected_and_flagged(toy_router):
    loc = toy_router.locate(106.014, 6.005)
    assert (loc.kode, loc.flags, loc.lat) == (B, {"latitude_sign_corrected"}, -6.005)
    both = toy_router.locate(6.005, 106.014)
    assert both.kode == B
    assert both.flags == {"swapped_coordinates", "latitude_sign_corrected"}


def test_corrections_are_made_only_when_they_land_inside(toy_router):
    loc = toy_router.locate(106.06, 6.005)  # flipped, still nowhere
    assert (loc.status, loc.flags, loc.lat) == ("outside", frozenset(), 6.005)
    loc = toy_router.locate(-6.005, 106.06)  # swapped, still nowhere: stays invalid
    assert (loc.status, loc.invalid_reason) == ("invalid", "out_of_range")


def test_projected_input(toy_router):
    x, y = pyproj.Transformer.from_crs(4326, 32748, always_xy=True).transform(106.014, -6.005)
    loc = toy_router.locate(x, y, crs="EPSG:32748")
    assert loc.kode == B
    assert loc.lon == pytest.approx(106.014) and loc.lat == pytest.approx(-6.005)


def test_accuracy_circle_crossing_a_boundary(toy_router):
    # 0.0004° ≈ 44 m east of the A|B edge, radius 100 m: the circle reaches into A
    loc = toy_router.locate(106.0104, -6.005, accuracy_m=100)
    assert loc.kode == B and "near_boundary" in loc.flags
    shares = dict(loc.accuracy_shares)
    assert set(shares) == {A, B}
    assert shares[B] > shares[A] > 0
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-6)
    # segment of a circle cut by a chord 44 m from the centre: (θ - sin θ)/2π of the area
    d = metres(106.010, -6.005, 106.0104, -6.005)
    theta = 2 * np.arccos(d / 100)
    assert shares[A] == pytest.approx((theta - np.sin(theta)) / (2 * np.pi), abs=0.01)
    assert [k for k, _ in loc.accuracy_shares] == [B, A]  # largest share first


def test_accuracy_circle_inside_one_polygon(toy_router):
    loc = toy_router.locate(106.014, -6.005, accuracy_m=20)
    assert "near_boundary" not in loc.flags
    assert loc.accuracy_shares == ((B, 1.0),)


def test_accuracy_circle_reaching_a_gap_counts_the_missing_share(toy_router):
    loc = toy_router.locate(106.0275, -6.005, accuracy_m=150)
    shares = dict(loc.accuracy_shares)
    assert "near_boundary" in loc.flags
    assert set(shares) == {C, D}
    assert shares[C] > shares[D] > 0
    assert sum(shares.values()) < 0.99  # the 55 m gap between C and D takes its share


def test_missing_accuracy_is_no_accuracy(toy_router):
    loc = toy_router.locate(106.0104, -6.005, accuracy_m=float("nan"))
    assert loc.flags == frozenset() and loc.accuracy_shares == ()


def test_bad_accuracy_is_flagged(toy_router):
    for bad in (-5, float("inf"), "far"):
        loc = toy_router.locate(106.014, -6.005, accuracy_m=bad)
        assert loc.kode == B and "invalid_accuracy" in loc.flags


def test_claimed_code_and_name(toy_router):
    assert toy_router.locate(106.014, -6.005, claimed="9901011002").flags == frozenset()
    loc = toy_router.locate(106.014, -6.005, claimed="Kel. Alpha")
    assert (loc.claimed_kode, loc.flags) == (A, {"claimed_mismatch"})
    loc = toy_router.locate(106.014, -6.005, claimed="Zulu")
    assert (loc.claimed_kode, loc.flags) == (None, {"claimed_unknown"})
    # on the A|B edge both are candidates: claiming either is not a mismatch
    assert toy_router.locate(106.010, -6.005, claimed="BRAVO").flags == frozenset()


def test_locate_many_keeps_order_and_length(toy_router):
    lons = [106.014, None, 106.010, 106.06, -6.005, 106.0282]
    lats = [-6.005, -6.0, -6.005, -6.005, 106.014, -6.005]
    df = toy_router.locate_many(lons, lats)
    assert len(df) == 6
    assert list(df["status"]) == ["inside", "invalid", "overlap", "outside", "inside", "gap"]
    assert list(df["kode"].astype(object).where(df["kode"].notna(), None)) == [
        B,
        None,
        A,
        None,
        B,
        C,
    ]


def test_locate_many_rejects_unpaired_arrays(toy_router):
    from lapor_router import CoordinateError

    with pytest.raises(CoordinateError):
        toy_router.locate_many([106.0, 106.1], [-6.0])


def test_gaps_across_two_utm_zones():
    """A set astride 108 E (UTM 48S | 49S): each point is measured in its own zone, and
    the accelerated and plain paths agree."""
    frame = gpd.GeoDataFrame(
        {"kode": ["99.01.01.1001", "99.01.01.1002"], "nama": ["West", "East"]},
        geometry=[
            shapely.box(107.990, -6.01, 107.9995, -6.0),
            shapely.box(108.0005, -6.01, 108.01, -6.0),
        ],
        crs="EPSG:4326",
    )
    bs = load_boundaries(frame)
    lons = np.array([107.9997, 107.9999, 108.0001, 108.0003, 107.9996, 108.0004])
    lats = np.full(len(lons), -6.005)
    fast, plain = (
        Router(bs).locate_many(lons, lats),
        Router(bs, accelerate=False).locate_many(lons, lats),
    )
    assert fast["status"].tolist() == ["gap"] * 6
    assert fast["kode"].tolist() == plain["kode"].tolist()
    assert fast["candidates"].tolist() == plain["candidates"].tolist()
    assert fast["kode"].tolist()[:2] == ["99.01.01.1001"] * 2
    assert fast["kode"].tolist()[2:4] == ["99.01.01.1002"] * 2
    np.testing.assert_allclose(fast["distance_m"], plain["distance_m"], rtol=1e-12)
    for lon, dist in zip(lons, fast["distance_m"], strict=True):
        edge = 107.9995 if lon < 108.0 else 108.0005
        assert dist == pytest.approx(metres(edge, -6.005, lon, -6.005), rel=0.01)
