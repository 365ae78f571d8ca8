"""The quadtree accelerator changes speed, never answers: the accelerated and the plain
R-tree + predicate paths agree on every point, edges and vertices included."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lapor_router import Router
from lapor_router.locate import index as locate_module
from lapor_router.locate import locations
from lapor_router.locate.codes import EXACT, FAR, SLOT0
from lapor_router.locate.quadtree import FORMAT_VERSION, build, cached


@pytest.fixture(scope="module")
def pair(jakarta):
    return Router(jakarta), Router(jakarta, accelerate=False)


def assert_same(fast: Router, plain: Router, x, y) -> None:
    a, b = fast.locate_many(x, y), plain.locate_many(x, y)
    for col in a.columns:
        left, right = a[col].tolist(), b[col].tolist()
        if a[col].dtype.kind == "f":
            assert np.allclose(a[col], b[col], equal_nan=True, rtol=0, atol=0), col
        else:
            assert left == right or pd.Series(left).equals(pd.Series(right)), col


def edge_points(jakarta, rng, n: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """Vertices, edge midpoints, and points a hair (1e-9 .. 1e-4 degree) off the edges."""
    coords = shapely.get_coordinates(shapely.boundary(jakarta.geoms))
    i = rng.integers(0, len(coords) - 1, n)
    t = rng.uniform(0, 1, n)
    x = coords[i, 0] + t * (coords[i + 1, 0] - coords[i, 0])
    y = coords[i, 1] + t * (coords[i + 1, 1] - coords[i, 1])
    jitter = 10.0 ** rng.uniform(-9, -4, n) * rng.choice([-1, 1], n)
    half = n // 2
    x[half:] += jitter[half:]
    y[half:] -= jitter[half:]
    return np.concatenate([coords[:, 0], x]), np.concatenate([coords[:, 1], y])


def test_accelerated_equals_plain_on_random_points(pair, jakarta):
    rng = np.random.default_rng(11)
    minx, miny, maxx, maxy = jakarta.bounds
    x = np.concatenate([rng.uniform(minx, maxx, 50_000), rng.uniform(106.68, 106.98, 50_000)])
    y = np.concatenate([rng.uniform(miny, maxy, 50_000), rng.uniform(-6.38, -6.08, 50_000)])
    assert_same(*pair, x, y)


def test_accelerated_equals_plain_on_edges_and_vertices(pair, jakarta):
    x, y = edge_points(jakarta, np.random.default_rng(5))
    assert_same(*pair, x, y)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.floats(106.3, 107.1), st.floats(-6.5, -5.1)), min_size=1, max_size=50))
def test_scalar_fast_path_equals_the_core(pair, points):
    fast, plain = pair
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    for lon, lat, loc in zip(lons, lats, locations(plain.locate_many(lons, lats)), strict=True):
        assert fast.locate(lon, lat) == loc


def test_labelled_cells_are_answered_correctly(jakarta):
    tree = shapely.STRtree(jakarta.geoms)
    qt = build(jakarta.geoms, tree, 100.0, min_size_m=50.0)
    rng = np.random.default_rng(3)
    x, y = rng.uniform(106.3, 107.1, 200_000), rng.uniform(-6.5, -5.1, 200_000)
    lab = qt.lookup(x, y)
    inside = lab >= 0
    exact = lab <= SLOT0
    # the province box is mostly sea: ~5 % of it is land inside a kelurahan
    assert inside.mean() > 0.03 and (lab == FAR).mean() > 0.3 and exact.any()
    assert not (lab == EXACT).any()  # only NaN has no cell
    # a labelled point lies in its polygon and in no other
    pts = shapely.points(x[inside], y[inside])
    hits, _ = tree.query(pts, predicate="intersects")
    assert (np.bincount(hits, minlength=inside.sum()) == 1).all()
    assert shapely.intersects_xy(jakarta.geoms[lab[inside]], x[inside], y[inside]).all()
    # a far point has no kelurahan within 100 m
    far = np.flatnonzero(lab == FAR)[:2000]
    near, _ = tree.query(shapely.points(x[far], y[far]), predicate="dwithin", distance=0.0009)
    assert near.size == 0
    # an exact cell's list holds every polygon covering its points or, when no polygon
    # meets the cell, every polygon within 100 m (0.0009 degree is under 100 m here)
    rows = np.flatnonzero(exact)
    pos, poly, covers = qt.candidates(SLOT0 - lab[rows])
    listed = set(zip(rows[pos].tolist(), poly.tolist(), strict=True))
    cover_rows = set(rows[pos[covers]].tolist())
    pt, truth = tree.query(shapely.points(x[rows], y[rows]), predicate="intersects")
    assert set(zip(rows[pt].tolist(), truth.tolist(), strict=True)) <= listed
    assert set(rows[pt].tolist()) <= cover_rows
    gap_rows = np.setdiff1d(rows, list(cover_rows))
    pt, truth = tree.query(
        shapely.points(x[gap_rows], y[gap_rows]), predicate="dwithin", distance=0.0009
    )
    assert pt.size and set(zip(gap_rows[pt].tolist(), truth.tolist(), strict=True)) <= listed
    assert [qt.lookup_one(a, b) for a, b in zip(x[:500], y[:500], strict=True)] == list(lab[:500])
    assert [qt.lookup_one(a, b) for a, b in zip(x[rows[:500]], y[rows[:500]], strict=True)] == list(
        lab[rows[:500]]
    )
    assert qt.lookup_one(float("nan"), -6.2) == EXACT


def test_the_tree_is_cached_on_disk_and_reused(jakarta, tmp_path, monkeypatch):
    monkeypatch.setenv("LAPOR_ROUTER_CACHE", str(tmp_path))
    stale = tmp_path / "quadtree-0123456789abcdef0123456789abcdef.npz"  # an older format
    stale.write_bytes(b"old")
    unrelated = tmp_path / "notes.txt"
    unrelated.write_text("kept")
    tree = shapely.STRtree(jakarta.geoms)
    first = cached(jakarta.sha256, jakarta.geoms, tree, 100.0, min_size_m=80.0)
    files = list(tmp_path.glob("quadtree-*.npz"))
    assert len(files) == 1 and files[0].name.startswith(f"quadtree-v{FORMAT_VERSION}-")
    assert not stale.exists() and unrelated.exists()
    assert not list(tmp_path.glob("tmp*"))  # no temporary file left behind
    again = cached(jakarta.sha256, jakarta.geoms, tree, 100.0, min_size_m=80.0)
    assert again.depth == first.depth and again.bits == first.bits and again.depth > 0
    for a, b in zip((*first.tables, first.polys), (*again.tables, again.polys), strict=True):
        assert np.array_equal(a, b)
    files[0].write_bytes(b"damaged")
    rebuilt = cached(jakarta.sha256, jakarta.geoms, tree, 100.0, min_size_m=80.0)
    assert np.array_equal(first.tables[-1], rebuilt.tables[-1])


def test_an_unwritable_cache_is_no_reason_to_fail(jakarta, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("LAPOR_ROUTER_CACHE", str(blocker / "cache"))
    tree = shapely.STRtree(jakarta.geoms)
    qt = cached(jakarta.sha256, jakarta.geoms, tree, 100.0, min_size_m=80.0)
    assert qt.depth > 0 and (qt.lookup(np.array([106.8272]), np.array([-6.1754])) != EXACT).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def check_tree(jakarta, tree, t, x, y, rng) -> None:
    """Labelled points lie in their polygon only; exact cells list every polygon covering
    their points; the scalar lookup agrees with the vectorized one."""
    lab = t.lookup(x, y)
    inside = lab >= 0
    assert inside.any() and (lab <= SLOT0).any()
    assert shapely.intersects_xy(jakarta.geoms[lab[inside]], x[inside], y[inside]).all()
    hits, _ = tree.query(shapely.points(x[inside], y[inside]), predicate="intersects")
    assert (np.bincount(hits, minlength=inside.sum()) == 1).all()
    rows = np.flatnonzero(lab <= SLOT0)
    pos, poly, covers = t.candidates(SLOT0 - lab[rows])
    listed = set(zip(rows[pos[covers]].tolist(), poly[covers].tolist(), strict=True))
    pt, truth = tree.query(shapely.points(x[rows], y[rows]), predicate="intersects")
    assert set(zip(rows[pt].tolist(), truth.tolist(), strict=True)) <= listed
    pick = rng.choice(len(x), 300)
    assert [t.lookup_one(a, b) for a, b in zip(x[pick], y[pick], strict=True)] == list(lab[pick])


def test_flattening_splits_deep_trees_into_tables(jakarta):
    """Trees deeper than one 32 × 32 table get several; answers stay those of the build."""
    tree = shapely.STRtree(jakarta.geoms)
    qt = build(jakarta.geoms, tree, 100.0, min_size_m=20.0, root_size_m=10240.0)
    assert qt.depth == 9 and qt.bits == (5, 4) and len(qt.tables) == 3
    coarse = build(
        jakarta.geoms, tree, 100.0, min_size_m=20.0, root_size_m=10240.0, max_nodes=10**5
    )
    assert coarse.depth < qt.depth
    rng = np.random.default_rng(8)
    x, y = edge_points(jakarta, rng, 5_000)
    for t in (qt, coarse):
        check_tree(jakarta, tree, t, x, y, rng)


def test_national_settings_adaptive_leaves_and_small_tables(jakarta):
    """The settings used for national sets (adaptive leaves, 4 x 4 tables, gap cells kept
    coarse) give a correct tree too: leaves stop at different depths."""
    tree = shapely.STRtree(jakarta.geoms)
    fine = build(jakarta.geoms, tree, 100.0, min_size_m=10.0, root_size_m=2560.0, max_bits=2)
    adaptive = build(
        jakarta.geoms,
        tree,
        100.0,
        min_size_m=10.0,
        root_size_m=2560.0,
        max_bits=2,
        refine=0.02,
        gap_min_m=300.0,
    )
    assert fine.bits == (2, 2, 2, 2) and adaptive.depth == fine.depth
    assert adaptive.nodes < fine.nodes / 2  # leaves stopped early where polygons are large
    rng = np.random.default_rng(9)
    ex, ey = edge_points(jakarta, rng, 5_000)
    minx, miny, maxx, maxy = jakarta.bounds
    x = np.concatenate([ex, rng.uniform(106.68, 106.98, 20_000), rng.uniform(minx, maxx, 5_000)])
    y = np.concatenate([ey, rng.uniform(-6.38, -6.08, 20_000), rng.uniform(miny, maxy, 5_000)])
    for t in (fine, adaptive):
        check_tree(jakarta, tree, t, x, y, rng)
    # where both trees label a point, they agree
    lab_f, lab_a = fine.lookup(x, y), adaptive.lookup(x, y)
    both = (lab_f >= 0) & (lab_a >= 0)
    assert both.sum() > 10_000 and np.array_equal(lab_f[both], lab_a[both])


def test_large_set_paths_give_the_same_answers(jakarta, pair, monkeypatch):
    """Sets above LARGE_SET use the national tree settings (coarser, adaptive leaves), a
    grid of bounding boxes and distances to the ring-band segments near each point instead
    of the segment grid; the answers are the same, distances bit for bit."""
    small = pair[0]._index.qt  # built before the patch
    monkeypatch.setattr(locate_module, "LARGE_SET", 10)
    large = Router(jakarta)
    assert large._index.qt.leaf > 3 * small.leaf and large._index.qt.nodes < small.nodes / 2
    rng = np.random.default_rng(21)
    ex, ey = edge_points(jakarta, rng, 20_000)
    # points up to ~150 m off the edges: gaps, the outer rim and beyond the tolerance
    x = np.concatenate([ex, ex + rng.normal(0, 0.0008, len(ex))])
    y = np.concatenate([ey, ey + rng.normal(0, 0.0008, len(ey))])
    a, b = large.locate_many(x, y), pair[0].locate_many(x, y)
    assert (a["status"] == "gap").sum() > 1000 and (a["status"] == "outside").sum() > 100
    assert a["status"].tolist() == b["status"].tolist()
    assert a["kode"].tolist() == b["kode"].tolist()
    assert a["candidates"].tolist() == b["candidates"].tolist()
    np.testing.assert_array_equal(a["distance_m"].to_numpy(), b["distance_m"].to_numpy())


def test_segment_grid_distances_are_shapely_distances(jakarta):
    """Every ring within the tolerance is found, at exactly shapely's distance."""
    grid = locate_module._SegmentGrid(jakarta, "EPSG:32748", 100.0)
    _, rings = jakarta.metric("EPSG:32748", np.arange(len(jakarta)))
    coords = shapely.get_coordinates(rings)
    rng = np.random.default_rng(0)
    i = rng.integers(0, len(coords), 50_000)
    px, py = coords[i, 0] + rng.normal(0, 60, len(i)), coords[i, 1] + rng.normal(0, 60, len(i))
    pt, poly, dist = grid.within(px, py)
    assert np.array_equal(dist, shapely.distance(rings[poly], shapely.points(px[pt], py[pt])))
    truth_pt, truth_poly = shapely.STRtree(rings).query(
        shapely.points(px, py), predicate="dwithin", distance=100.0
    )
    order = np.lexsort((truth_poly, truth_pt))
    assert np.array_equal(pt, truth_pt[order]) and np.array_equal(poly, truth_poly[order])
