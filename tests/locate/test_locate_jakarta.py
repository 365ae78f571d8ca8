"""Locating points in the real Jakarta set, checked against a brute-force shapely oracle."""

from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely

from lapor_router import Router
from lapor_router.locate import locations
from lapor_router.normalize import name_key

from conftest import GROUND_TRUTH

TOLERANCE_M = 100.0


def brute_force(bs, x: np.ndarray, y: np.ndarray, tol_m: float = TOLERANCE_M):
    """Status and chosen row per point, by testing every polygon against every point."""
    metric = gpd.GeoSeries(bs.geoms, crs=4326).to_crs(32748).values
    pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=4326).to_crs(32748).values
    cover = np.vstack([shapely.intersects_xy(g, x, y) for g in bs.geoms])
    count = cover.sum(axis=0)
    status = np.where(count == 1, "inside", np.where(count > 1, "overlap", "outside"))
    chosen = np.where(count == 1, cover.argmax(axis=0), -1)
    distance = np.where(count > 0, 0.0, np.nan)
    for j in np.flatnonzero(count > 1):
        rows = np.flatnonzero(cover[:, j])
        depth = np.round(shapely.distance(shapely.boundary(metric[rows]), pts[j]), 3)
        chosen[j] = rows[np.flatnonzero(depth == depth.max())[0]]
    free = np.flatnonzero(count == 0)
    best = np.full(len(free), np.inf)
    best_row = np.full(len(free), -1)
    px, py = shapely.get_x(pts[free]), shapely.get_y(pts[free])
    for i, g in enumerate(metric):  # rows ascending: strict < keeps the smallest code on ties
        x0, y0, x1, y1 = shapely.bounds(g)
        near = np.flatnonzero(
            (px >= x0 - tol_m) & (px <= x1 + tol_m) & (py >= y0 - tol_m) & (py <= y1 + tol_m)
        )
        d = shapely.distance(g, pts[free[near]])
        better = (d <= tol_m) & (d < best[near])
        best[near[better]] = d[better]
        best_row[near[better]] = i
    gap = best_row >= 0
    status[free[gap]] = "gap"
    chosen[free[gap]] = best_row[gap]
    distance[free[gap]] = best[gap]
    return status, chosen, distance


def assert_matches_oracle(router: Router, x: np.ndarray, y: np.ndarray) -> Any:
    bs = router.boundaries
    df = router.locate_many(x, y)
    status, chosen, distance = brute_force(bs, x, y)
    got_status = df["status"].astype(str).to_numpy()
    mism = np.flatnonzero(got_status != status)
    assert mism.size == 0, f"{mism.size} status mismatches, e.g. {x[mism[:3]]}, {y[mism[:3]]}"
    expected_kode = np.append(bs.codes, None)[chosen]
    got_kode = df["kode"].astype(object).where(df["kode"].notna(), None).to_numpy()
    assert (got_kode == expected_kode).all()
    np.testing.assert_allclose(df["distance_m"].to_numpy(), distance, rtol=1e-6, atol=1e-6)
    assert (
        not df["flags"]
        .map(lambda f: bool(f & {"swapped_coordinates", "latitude_sign_corrected"}))
        .any()
    )
    return df


@pytest.mark.slow
def test_100k_random_points_match_the_brute_force_oracle(jakarta):
    router = Router(jakarta)
    rng = np.random.default_rng(20261123)
    minx, miny, maxx, maxy = jakarta.bounds
    x = rng.uniform(minx, maxx, 100_000)
    y = rng.uniform(miny, maxy, 100_000)
    df = assert_matches_oracle(router, x, y)
    counts = df["status"].value_counts()
    assert counts["inside"] > 1000 and counts["outside"] > 1000
    # the uniform box over the whole province is mostly sea; add the mainland's own box
    x = rng.uniform(106.68, 106.98, 100_000)
    y = rng.uniform(-6.38, -6.08, 100_000)
    df = assert_matches_oracle(router, x, y)
    counts = df["status"].value_counts()
    assert counts["overlap"] > 0 and counts["gap"] > 0


def test_every_vertex_matches_the_oracle(jakarta):
    coords = shapely.get_coordinates(jakarta.geoms)
    assert len(coords) == 13976
    df = assert_matches_oracle(Router(jakarta), coords[:, 0], coords[:, 1])
    assert set(df["status"].astype(str)) <= {"inside", "overlap"}


def test_a_point_on_each_kelurahan_finds_it_islands_included(router, jakarta):
    pts = shapely.point_on_surface(jakarta.geoms)
    df = router.locate_many(shapely.get_x(pts), shapely.get_y(pts))
    for code, loc in zip(jakarta.codes, locations(df), strict=True):
        assert loc.status in ("inside", "overlap")
        assert code in loc.candidates
        if loc.status == "inside":
            assert loc.kode == code
    seribu = df[df["kota_kode"] == "31.01"]
    assert len(seribu) == 6 and set(seribu["kota"]) == {"Kabupaten Administrasi Kepulauan Seribu"}


def test_hierarchy_columns(router):
    loc = router.locate(106.8272, -6.1754)  # Monas
    assert (loc.kode, loc.nama, loc.kecamatan, loc.kota) == (
        "31.71.01.1001",
        "Gambir",
        "Gambir",
        "Kota Administrasi Jakarta Pusat",
    )
    assert loc.boundary_set.startswith("jakarta_kel.parquet@608837af3f4f")


@pytest.mark.parametrize(
    "lon,lat,kota",
    [
        (107.0, -6.25, "Kota Bekasi"),
        (106.82, -6.40, "Kota Depok"),
        (106.63, -6.18, "Kota Tangerang"),
        (106.72, -6.30, "Kota Tangerang Selatan"),
    ],
)
def test_outside_points_name_the_area_that_contains_them(router, lon, lat, kota):
    loc = router.locate(lon, lat)
    assert loc.status == "outside" and loc.kode is None
    assert loc.external_kota == kota
    assert loc.external_kode is not None and loc.external_nama


def test_sea_is_outside_with_no_external_area(router):
    loc = router.locate(106.80, -5.95)
    assert (loc.status, loc.external_kode, loc.external_kota) == ("outside", None, None)


def test_swapped_and_sign_lost_jakarta_points(router):
    good = router.locate(106.8272, -6.1754)
    swapped = router.locate(-6.1754, 106.8272)
    lost = router.locate(106.8272, 6.1754)
    assert swapped.kode == lost.kode == good.kode
    assert swapped.flags == {"swapped_coordinates"}
    assert lost.flags == {"latitude_sign_corrected"}


@pytest.mark.parametrize(
    "claim",
    [
        "Kel. Rawasari",
        "KELURAHAN RAWA SARI",
        "rawasari",
        "31.71.05.1003",
        "3171051003",
        " Rawa-Sari ",
    ],
)
def test_claimed_rawasari_spellings(router, claim):
    loc = router.locate(106.8272, -6.1754, claimed=claim)
    assert loc.claimed_kode == "31.71.05.1003"
    assert loc.flags == {"claimed_mismatch"}  # the point is Monas, in Gambir


@pytest.mark.parametrize(
    "claim,kode",
    [
        ("HARAPAN MULYA", "31.71.03.1003"),
        ("GN. SAHARI UTARA", "31.71.02.1004"),
        ("MALAWAI", "31.74.07.1001"),
        ("PERTUKANGAN UTARA", "31.74.10.1003"),
        ("KAMAL MUARA\\R\\N", "31.72.01.1002"),
    ],
)
def test_misspelled_names_from_office_layers(router, claim, kode):
    assert router.locate(106.8272, -6.1754, claimed=claim).claimed_kode == kode


def test_unknown_claims(router):
    for claim in ("Kelurahan Antah Berantah", "Jakarta", "123"):
        loc = router.locate(106.8272, -6.1754, claimed=claim)
        assert loc.claimed_kode is None and "claimed_unknown" in loc.flags


def test_kelurahan_offices_fall_in_their_own_kelurahan(router, jakarta):
    """Ground truth (SOURCE.md): every office whose name matches a kelurahan exactly lies in it."""
    with open(GROUND_TRUTH / "jakarta_offices.csv", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["kind"] == "kelurahan"]
    assert len(rows) == 250
    keys = {name_key(n) for n in jakarta.names}
    exact = [r for r in rows if name_key(r["place"]) in keys]
    assert len(exact) >= 225
    df = router.locate_many(
        [float(r["lon"]) for r in exact],
        [float(r["lat"]) for r in exact],
        claimed=[r["place"] for r in exact],
    )
    assert (df["claimed_kode"].notna()).all()
    assert not df["flags"].map(lambda f: "claimed_mismatch" in f).any()
    assert set(df["status"].astype(str)) <= {"inside", "overlap"}
    # all offices, misspelled names included: most claims resolve, and resolve to the office
    df = router.locate_many(
        [float(r["lon"]) for r in rows],
        [float(r["lat"]) for r in rows],
        claimed=[r["place"] for r in rows],
    )
    resolved = df["claimed_kode"].notna()
    assert resolved.mean() > 0.95
    located = df.loc[resolved, "kode"].astype(object)
    assert (df.loc[resolved, "claimed_kode"] == located).mean() > 0.97


def test_accuracy_shares_on_real_boundaries(router):
    loc = router.locate(106.8272, -6.1754, accuracy_m=2000)
    shares = dict(loc.accuracy_shares)
    assert "near_boundary" in loc.flags and len(shares) > 3
    assert 0.9 < sum(shares.values()) < 1.05  # overlaps add a little, gaps take a little
    assert max(shares, key=shares.get) == "31.71.01.1001"


def test_locate_many_from_four_threads_equals_one_thread(jakarta):
    router = Router(jakarta)
    rng = np.random.default_rng(7)
    x = rng.uniform(106.68, 106.98, 20_000)
    y = rng.uniform(-6.38, -6.08, 20_000)
    acc = np.where(np.arange(20_000) % 10 == 0, rng.uniform(0, 200, 20_000), np.nan)
    expected = router.locate_many(x, y, accuracy_m=acc)
    with ThreadPoolExecutor(max_workers=4) as pool:
        fresh = Router(jakarta)  # a cold router: lazy caches are filled concurrently
        results = list(pool.map(lambda _: fresh.locate_many(x, y, accuracy_m=acc), range(8)))
    for got in results:
        assert list(got.columns) == list(expected.columns)
        for col in expected.columns:
            a, b = got[col], expected[col]
            if a.dtype.kind == "f":
                assert np.array_equal(a.to_numpy(), b.to_numpy(), equal_nan=True), col
            else:
                assert a.dtype == b.dtype and a.tolist() == b.tolist(), col
