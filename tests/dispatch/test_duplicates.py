"""Possible duplicates: clusters of one category within its radius and window, exact in
metres, equal to DBSCAN's with the haversine metric; the nearest open reports of one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lapor_router import Report
from lapor_router.dispatch.duplicates import (
    EARTH_RADIUS_M,
    cluster_ids,
    cluster_reports,
    epoch_seconds,
    haversine_m,
    nearest,
)

# 1e-5 degree of latitude is 1.112 m on the mean sphere
M_PER_DEG = np.radians(1) * EARTH_RADIUS_M


def north(lat: float, metres: float) -> float:
    return lat + metres / M_PER_DEG


def test_haversine_matches_a_meridian_arc():
    d = haversine_m(106.8, -6.2, np.array([106.8]), np.array([north(-6.2, 250.0)]))
    assert d[0] == pytest.approx(250.0, abs=1e-6)


def test_chains_are_transitive_and_the_radius_is_inclusive_to_the_metre():
    lat0 = -6.2
    lats = np.array([lat0, north(lat0, 29.9), north(lat0, 59.8), north(lat0, 95.0)])
    lon = np.full(4, 106.8)
    ids = cluster_ids(np.zeros(4, int), lon, lats, np.full(4, np.nan), np.full(4, 30.0),
                      np.full(4, np.nan))  # fmt: skip
    # 0–1 and 1–2 are under 30 m apart (0–2 is not): one cluster; 3 is 35 m from 2
    assert ids.tolist() == [0, 0, 0, 1]


def test_windows_categories_and_bad_points_separate(router):
    rules = router.rules
    lat = -6.2
    frame = pd.DataFrame(
        {
            "category": ["flooding", "flooding", "flooding", "garbage", "no_such", "flooding"],
            "lon": [106.8, 106.8, 106.8, 106.8, 106.8, "abc"],
            "lat": [lat, north(lat, 100), north(lat, 200), lat, lat, lat],
            "created_at": ["2026-11-02T08:00+07:00", "2026-11-02T20:00+07:00",
                           "2026-11-05T08:00+07:00", "2026-11-02T08:00+07:00", None, None],
        }
    )  # fmt: skip
    got = cluster_reports(rules, frame.category, frame.lon, frame.lat, frame.created_at)
    ids = got.cluster_id.tolist()
    assert ids[0] == ids[1]  # 100 m and 12 h apart: within flooding's 300 m / 24 h
    assert ids[2] != ids[0]  # three days later
    assert ids[3] not in (ids[0], ids[2])  # another category
    assert ids[4] == -1 and ids[5] == -1  # unknown category, unusable point
    assert got.cluster_size.tolist()[:4] == [2, 2, 1, 1]
    no_window = cluster_reports(rules, frame.category, frame.lon, frame.lat, window=False)
    assert len(set(no_window.cluster_id[:3])) == 1


def test_identical_to_dbscan_haversine(router):
    from sklearn.cluster import DBSCAN

    rules = router.rules
    rng = np.random.default_rng(5)
    n = 6000
    lon = 106.75 + rng.random(n) * 0.12
    lat = -6.30 + rng.random(n) * 0.12
    cats = rng.choice(np.array(["road_damage", "garbage", "flooding"], dtype=object), n)
    ours = cluster_reports(rules, cats, lon, lat, window=False).cluster_id.to_numpy()
    for code in ("road_damage", "garbage", "flooding"):
        m = cats == code
        eps = rules.categories[code].duplicate_radius_m / EARTH_RADIUS_M
        lab = (
            DBSCAN(eps=eps, min_samples=1, metric="haversine")
            .fit(np.radians(np.c_[lat[m], lon[m]]))
            .labels_
        )
        a, b = pd.Series(ours[m]), pd.Series(lab)
        assert a.groupby(lab).nunique().max() == 1 and b.groupby(ours[m]).nunique().max() == 1
        assert a.nunique() == b.nunique() > 1


def test_nearest_orders_and_filters():
    lat0 = -6.2
    lats = np.array([north(lat0, 20), north(lat0, 5), north(lat0, 40), north(lat0, 10)])
    lon = np.full(4, 106.8)
    t = np.array([0.0, 0.0, 0.0, 10 * 86400.0])
    idx, dist = nearest(106.8, lat0, 0.0, lon, lats, t, 30.0, 72.0)
    assert idx.tolist() == [1, 0]  # 40 m is too far, the 10 m one too late
    assert dist == pytest.approx([5.0, 20.0], abs=1e-6)
    idx, _ = nearest(106.8, lat0, None, lon, lats, None, 30.0, None)
    assert idx.tolist() == [1, 3, 0]


def test_epoch_seconds_reads_offsets_and_wib():
    got = epoch_seconds(
        ["2026-12-01T09:00", "2026-12-01T09:00+07:00", "2026-12-01T02:00Z", "kemarin", None],
        "Asia/Jakarta",
    )
    assert got[0] == got[1] == got[2] == pd.Timestamp("2026-12-01T02:00Z").timestamp()
    assert np.isnan(got[3]) and np.isnan(got[4])


def test_router_route_lists_open_reports_nearby(router):
    lat0 = -6.1754
    open_reports = pd.DataFrame(
        {
            "report_id": ["a", "b", "c", "d"],
            "category": ["road_damage", "road_damage", "garbage", "road_damage"],
            "lon": [106.8272] * 4,
            "lat": [north(lat0, 20), north(lat0, 8), north(lat0, 1), north(lat0, 500)],
        }
    )
    d = router.route(Report(106.8272, lat0, category="road_damage"), open_reports=open_reports)
    assert [i for i, _ in d.possible_duplicates] == ["b", "a"]
    assert "possible_duplicate" in d.flags
    assert d.dispatch_record()["possible_duplicates"][0][0] == "b"
    alone = router.route(Report(106.8272, lat0, category="tree"), open_reports=open_reports)
    assert alone.possible_duplicates == () and "possible_duplicate" not in alone.flags
