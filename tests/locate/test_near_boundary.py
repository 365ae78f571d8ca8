"""The ``near_boundary`` flag of batch locating (``shares=False``, measured on the segments
near each point) against shapely's distance to every projected boundary ring."""

from __future__ import annotations

import numpy as np
import shapely

from lapor_router.locate.boundaries import BoundarySet, transformer
from lapor_router.locate.locator import Locator

UTM_48S = "EPSG:32748"


def _points(jakarta: BoundarySet, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points scattered within a few hundred metres of boundary vertices, and some anywhere
    in (and beyond) the set's box."""
    rng = np.random.default_rng(seed)
    coords = shapely.get_coordinates(shapely.boundary(jakarta.geoms))
    near = coords[rng.integers(0, len(coords), n)] + rng.normal(0, 0.002, (n, 2))
    x0, y0, x1, y1 = jakarta.bounds
    far = np.column_stack(
        [rng.uniform(x0 - 0.05, x1 + 0.05, n // 4), rng.uniform(y0 - 0.05, y1 + 0.05, n // 4)]
    )
    xy = np.concatenate([near, far])
    return xy[:, 0], xy[:, 1]


def _reference(jakarta: BoundarySet, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Metres from each point to the nearest boundary of any polygon (all in UTM 48S)."""
    _, rings = jakarta.metric(UTM_48S, np.arange(len(jakarta)))
    mx, my = transformer("EPSG:4326", UTM_48S).transform(lon, lat)
    centres = shapely.points(mx, my)
    return np.min(shapely.distance(rings[None, :], centres[:, None]), axis=1)  # type: ignore[no-any-return]


def _flagged(
    loc: Locator, lon: np.ndarray, lat: np.ndarray, acc: np.ndarray, shares: bool
) -> np.ndarray:
    frame = loc.locate_many(lon, lat, accuracy_m=acc, shares=shares)
    return np.array(["near_boundary" in f for f in frame["flags"]])


def test_near_boundary_is_the_distance_to_the_nearest_ring(jakarta: BoundarySet) -> None:
    loc = Locator(jakarta)
    lon, lat = _points(jakarta, 400, seed=3)
    dist = _reference(jakarta, lon, lat)
    rng = np.random.default_rng(4)
    # radii below, above and exactly at each point's distance (the flag is "closer than")
    acc = dist * rng.choice([0.5, 0.999, 1.0, 1.001, 2.0], len(dist))
    wide = rng.random(len(acc)) < 0.1
    acc[wide] = rng.uniform(1, 3000, int(wide.sum()))
    flagged = _flagged(loc, lon, lat, acc, shares=False)
    expected = dist < acc
    assert expected.any() and (~expected).any()
    assert (flagged == expected).all(), np.flatnonzero(flagged != expected)[:10]
    assert (acc == dist).any()  # ties were tested: equal is not near


def test_batch_flags_equal_the_shares_path(jakarta: BoundarySet) -> None:
    loc = Locator(jakarta)
    lon, lat = _points(jakarta, 3000, seed=5)
    rng = np.random.default_rng(6)
    acc = rng.choice([1.0, 10.0, 50.0, 250.0, 2000.0], len(lon)) * rng.random(len(lon))
    acc[::17] = np.nan  # no accuracy: no flag either way
    with_shares = _flagged(loc, lon, lat, acc, shares=True)
    batch = _flagged(loc, lon, lat, acc, shares=False)
    assert 0 < with_shares.sum() < len(lon)
    assert (batch == with_shares).all()
