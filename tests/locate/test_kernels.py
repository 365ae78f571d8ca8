"""The compiled kernels repeat GEOS and numpy computations: their answers must be the same,
on real boundaries, on their vertices and edges, and on the cases double arithmetic cannot
decide (which they hand back to GEOS)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from lapor_router import Router, load_boundaries
from lapor_router.locate import kernels
from lapor_router.normalize import MISSING, NOT_FINITE, OUT_OF_RANGE, REASONS


def _pairs(jakarta, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(point, polygon) pairs whose boxes meet, as an R-tree gives them."""
    return shapely.STRtree(jakarta.geoms).query(shapely.points(x, y))


def _assert_covers_like_geos(jakarta, x, y) -> np.ndarray:
    pt, poly = _pairs(jakarta, x, y)
    bands = kernels.RingBands(jakarta.geoms)
    answer = bands.covers(x[pt], y[pt], poly)
    geos = shapely.intersects_xy(jakarta.geoms[poly], x[pt], y[pt])
    decided = answer != kernels.UNDECIDED
    assert set(np.unique(answer).tolist()) <= {kernels.OUT, kernels.COVERS, kernels.UNDECIDED}
    assert decided.mean() > 0.95, "the kernel should decide nearly every pair"
    np.testing.assert_array_equal(answer[decided] == kernels.COVERS, geos[decided])
    return answer


def test_ring_bands_agree_with_geos_on_random_points(jakarta):
    rng = np.random.default_rng(3)  # the mainland (the set's box is mostly sea)
    x, y = rng.uniform(106.68, 106.98, 200_000), rng.uniform(-6.38, -6.08, 200_000)
    answer = _assert_covers_like_geos(jakarta, x, y)
    assert (answer == kernels.COVERS).sum() > 100_000 and (answer == kernels.OUT).sum() > 10_000


def test_ring_bands_agree_with_geos_on_vertices_and_edges(jakarta):
    coords = shapely.get_coordinates(shapely.boundary(jakarta.geoms))
    rng = np.random.default_rng(4)
    i = rng.integers(0, len(coords) - 1, 50_000)
    t = rng.uniform(0, 1, len(i))
    ex = coords[i, 0] + t * (coords[i + 1, 0] - coords[i, 0])
    ey = coords[i, 1] + t * (coords[i + 1, 1] - coords[i, 1])
    jitter = 10.0 ** rng.uniform(-12, -5, len(i)) * rng.choice([-1, 1], len(i))
    x = np.concatenate([coords[:, 0], ex, ex + jitter])
    y = np.concatenate([coords[:, 1], ey, ey - jitter])
    answer = _assert_covers_like_geos(jakarta, x, y)
    # every vertex is on its own ring: covered, decided without GEOS
    pt, poly = _pairs(jakarta, coords[:, 0], coords[:, 1])
    at_vertex = kernels.RingBands(jakarta.geoms).covers(coords[pt, 0], coords[pt, 1], poly)
    own = shapely.intersects_xy(jakarta.geoms[poly], coords[pt, 0], coords[pt, 1])
    assert (at_vertex[own] == kernels.COVERS).all()
    assert (answer == kernels.UNDECIDED).any(), "points on diagonal edges are left to GEOS"


def test_undecided_points_on_a_diagonal_edge_go_to_geos():
    # points exactly on a triangle's hypotenuse (dyadic coordinates: no rounding anywhere):
    # the orientation filter cannot decide them, and GEOS (not the kernel) must. Points a
    # hair off the line are decided by the kernel.
    tri = shapely.Polygon([(106.0, -6.0), (106.5, -6.0), (106.5, -5.5)])
    frame = gpd.GeoDataFrame(
        {"kode": ["99.01.01.1001"], "nama": ["Tri"]}, geometry=[tri], crs="EPSG:4326"
    )
    bs = load_boundaries(frame)
    t = np.arange(1, 1024) / 2048
    px = np.concatenate([106.0 + t, 106.0 + t + 1e-9, 106.0 + t - 1e-9])
    py = np.concatenate([-6.0 + t, -6.0 + t, -6.0 + t])
    answer = kernels.RingBands(bs.geoms).covers(px, py, np.zeros(len(px), dtype=np.int64))
    undecided = answer == kernels.UNDECIDED
    assert undecided[: len(t)].all() and not undecided[len(t) :].any()
    geos = shapely.intersects_xy(tri, px, py)
    np.testing.assert_array_equal(answer[~undecided] == kernels.COVERS, geos[~undecided])
    fast, plain = Router(bs), Router(bs, accelerate=False)
    a, b = fast.locate_many(px, py), plain.locate_many(px, py)
    assert a["status"].tolist() == b["status"].tolist()
    assert a["kode"].tolist() == b["kode"].tolist()
    assert (a["status"][: len(t)] == "inside").all()  # on the boundary: covered
    assert set(a["status"][len(t) :]) == {"inside", "gap"}


def test_ring_bands_handle_holes_and_multipolygons(toy):
    rng = np.random.default_rng(9)
    minx, miny, maxx, maxy = toy.bounds
    x, y = rng.uniform(minx, maxx, 50_000), rng.uniform(miny, maxy, 50_000)
    _assert_covers_like_geos(toy, x, y)


def test_first_pass_reasons_and_fix_candidates(router):
    x = np.array([106.8272, np.nan, np.inf, 200.0, -6.1754, 106.8272, 106.8272])
    y = np.array([-6.1754, -6.2, -6.2, -6.2, 106.8272, np.nan, 6.1754])
    index = router._index
    reason, lon, lat, chosen, status, distance, exact, values, fixable, n_invalid = (
        index.first_pass(x, y, None, True)
    )
    # row 4: latitude 106.8 is out of range (until the swap fixes it)
    expected = [None, MISSING, NOT_FINITE, OUT_OF_RANGE, OUT_OF_RANGE, MISSING, None]
    assert [REASONS[r] for r in reason] == expected
    assert n_invalid[0] == 5
    assert chosen[0] >= 0 and status[0] == 0 and distance[0] == 0.0
    assert np.isnan(lon[1:5]).all() and np.isnan(lat[5])
    # swapped (row 4) and sign-lost (row 6) coordinates land in the set's box once fixed
    assert fixable.tolist() == [4, 6]
    assert exact.size == values.size


def test_prepare_builds_the_accelerators_and_they_travel_with_a_pickle(toy):
    import pickle

    router = Router(toy)
    assert router._index._qt is None and router._index._bands is None
    assert router.prepare() is router
    assert router._index._qt is not None and router._index._bands is not None
    clone = pickle.loads(pickle.dumps(router))
    assert clone._index._bands is not None
    np.testing.assert_array_equal(clone._index.bands.entries, router._index.bands.entries)
    x, y = np.array([106.005, 106.019, 106.0282]), np.array([-6.001, -6.005, -6.005])
    a, b = clone.locate_many(x, y), Router(toy, accelerate=False).locate_many(x, y)
    assert a["status"].tolist() == b["status"].tolist() == ["inside", "overlap", "gap"]


def test_box_grid_finds_the_pairs_an_r_tree_finds(jakarta):
    rng = np.random.default_rng(12)
    n = 20_000
    cx, cy = rng.uniform(106.3, 107.1, n), rng.uniform(-6.5, -5.1, n)
    r = 10.0 ** rng.uniform(-5, -1.5, n)
    cx[:5], cy[:5] = np.nan, [-6.2, np.nan, 0.0, -90.0, -6.2]  # NaN and far boxes
    grid = kernels.BoxGrid(shapely.bounds(jakarta.geoms))
    pt, poly = grid.query(cx - r, cy - r, cx + r, cy + r)
    ok = np.isfinite(cx) & np.isfinite(cy)
    boxes = shapely.box(cx[ok] - r[ok], cy[ok] - r[ok], cx[ok] + r[ok], cy[ok] + r[ok])
    rpt, rpoly = shapely.STRtree(jakarta.geoms).query(boxes)
    got = set(zip(pt.tolist(), poly.tolist(), strict=True))
    want = set(zip(np.flatnonzero(ok)[rpt].tolist(), rpoly.tolist(), strict=True))
    assert got == want and len(got) == len(pt)  # the same pairs, none twice
    assert len(got) > 1_000
    assert (np.diff(pt) >= 0).all()  # grouped by query


def test_finish_cells_assigns_single_covers_and_collects_overlaps_and_near_pairs():
    points = np.array([10, 11, 12, 13])  # positions 0..3 in the pairs refer to these
    pos = np.array([0, 0, 1, 1, 1, 2, 2, 3], dtype=np.int32)
    poly = np.array([5, 6, 5, 6, 7, 8, 9, 4], dtype=np.int32)
    cov, out, near = kernels.COVERS, kernels.OUT, kernels.NEAR
    kind = np.array([cov, out, cov, cov, out, near, near, out], dtype=np.int8)
    chosen, status = np.full(20, -1, dtype=np.int64), np.full(20, 3, dtype=np.int8)
    mpt, mpoly, npt, npoly = kernels.finish_cells(points, pos, poly, kind, chosen, status)
    assert chosen[10] == 5 and status[10] == 0  # one cover: inside it
    assert chosen[11] == -1 and status[11] == 3  # two covers: left to the overlap logic
    assert mpt.tolist() == [11, 11] and mpoly.tolist() == [5, 6]
    assert npt.tolist() == [12, 12] and npoly.tolist() == [8, 9]
    assert chosen[13] == -1 and status[13] == 3  # no cover


def test_cell_margins_hold_no_boundary_and_match_the_lookup(router, jakarta):
    rng = np.random.default_rng(11)
    x, y = rng.uniform(106.68, 106.98, 40_000), rng.uniform(-6.38, -6.08, 40_000)
    v = shapely.get_coordinates(jakarta.geoms)[::2][:10_000]  # near borders
    x[: len(v)], y[: len(v)] = v[:, 0] + rng.normal(0, 3e-4, len(v)), v[:, 1]
    x[:3] = [np.nan, 200.0, 106.8]  # not finite, off the tree
    y[:3] = [-6.2, -6.2, np.inf]
    tree = router._index.qt.kernel_args()
    margin = kernels.cell_margins(x, y, *tree)
    values = kernels.lookup(x, y, *tree)
    assert (margin[:3] == 0).all()
    # a margin exactly where the lookup names one polygon
    np.testing.assert_array_equal(margin > 0, (values >= 0) & (values < len(jakarta)))
    inner = np.flatnonzero(margin > 0)
    assert 10_000 < len(inner) < 40_000
    # the box within the margin: covered by that polygon, and no other polygon meets it
    h = margin[inner] * 0.999
    boxes = shapely.box(x[inner] - h, y[inner] - h, x[inner] + h, y[inner] + h)
    assert shapely.covers(jakarta.geoms[values[inner]], boxes).all()
    box_i, poly = shapely.STRtree(jakarta.geoms).query(boxes, predicate="intersects")
    assert (poly == values[inner][box_i]).all()
    # and the margin reaches the cell's side: a box a little larger leaves the cell
    assert np.median(margin[inner]) * 111_000 > 5


def test_near_boundary_flags_are_those_of_every_pair_measured(router, jakarta, monkeypatch):
    """Circles inside a cell one polygon covers are not measured: the flags stay the same."""
    from lapor_router.locate.index import Index

    rng = np.random.default_rng(12)
    n = 60_000
    x, y = rng.uniform(106.68, 106.98, n), rng.uniform(-6.38, -6.08, n)
    v = shapely.get_coordinates(jakarta.geoms)[::9][:20_000]
    x[: len(v)], y[: len(v)] = v[:, 0] + rng.normal(0, 2e-4, len(v)), v[:, 1]
    acc = rng.choice([1.0, 5, 10, 20, 50, 150, 500, 3000], n)
    filtered = router.locate_many(x, y, accuracy_m=acc, shares=False)["flags"]
    monkeypatch.setattr(Index, "clear_of_boundaries", lambda self, x, y, r: np.zeros(len(x), bool))
    measured = router.locate_many(x, y, accuracy_m=acc, shares=False)["flags"]
    near = measured.map(lambda f: "near_boundary" in f)
    assert 1_000 < near.sum() < n - 10_000
    assert filtered.map(sorted).tolist() == measured.map(sorted).tolist()
