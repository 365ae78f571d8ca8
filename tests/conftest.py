"""Shared fixtures: the real Jakarta boundary files read in place from ../shared, and a small
hand-made boundary set whose answers can be worked out on paper."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from lapor_router import BoundarySet, Router, load_boundaries
from lapor_router._data import registry
from lapor_router.normalize import PlaceFinder

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
BOUNDARIES = SHARED / "data" / "kelurahan_boundaries"
GROUND_TRUTH = SHARED / "data" / "ground_truth"


@pytest.fixture(scope="session", autouse=True)
def _index_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Quadtree caches go to a fresh directory, so every run builds (and tests) them."""
    os.environ["LAPOR_ROUTER_CACHE"] = str(tmp_path_factory.mktemp("cache"))


def shared_file(name: str) -> Path:
    path = BOUNDARIES / name
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: the tests read the shared boundary files in place "
            "(clone the project beside ../shared)"
        )
    return path


@pytest.fixture(scope="session")
def jakarta() -> BoundarySet:
    return load_boundaries(
        shared_file("jakarta_kel.parquet"),
        kecamatan=shared_file("jakarta_kec.parquet"),
        kota=shared_file("jakarta_kab.parquet"),
        province=shared_file("jakarta_prov.parquet"),
    )


@pytest.fixture(scope="session")
def router(jakarta: BoundarySet) -> Router:
    return Router(jakarta, context=shared_file("jawabarat_banten_dki_kel.parquet"))


# A toy set near 106.0 E, 6.0 S (UTM 48S). 0.001 degree is about 110 m.
#   A  [106.000, 106.010] with a hole [106.004, 106.006] x [-6.006, -6.004]
#   B  [106.010, 106.020]            shares the edge x = 106.010 with A
#   C  [106.018, 106.028]            overlaps B on x in [106.018, 106.020]
#   D  [106.0285, 106.035]           a 0.0005 degree (about 55 m) gap east of C
#   E  two islands far to the east (a MultiPolygon)
TOY_S, TOY_N = -6.010, -6.000


def _box(x0: float, x1: float) -> shapely.Polygon:
    return shapely.box(x0, TOY_S, x1, TOY_N)


def toy_frame() -> gpd.GeoDataFrame:
    hole = shapely.box(106.004, -6.006, 106.006, -6.004)
    a = shapely.Polygon(_box(106.000, 106.010).exterior.coords, [hole.exterior.coords])
    e = shapely.MultiPolygon(
        [
            shapely.box(106.100, -6.002, 106.102, -6.000),
            shapely.box(106.110, -6.002, 106.112, -6.000),
        ]
    )
    return gpd.GeoDataFrame(
        {
            "kode": [
                "99.01.01.1001",
                "99.01.01.1002",
                "99.01.02.1001",
                "99.01.02.1002",
                "99.02.01.1001",
            ],
            "nama": ["Alpha", "Bravo", "Charlie", "Delta", "Echo Islands"],
        },
        geometry=[a, _box(106.010, 106.020), _box(106.018, 106.028), _box(106.0285, 106.035), e],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="session")
def toy() -> BoundarySet:
    return load_boundaries(toy_frame())


@pytest.fixture(scope="session")
def toy_router(toy: BoundarySet) -> Router:
    return Router(toy)


@pytest.fixture(scope="session")
def kelurahan_names() -> list[str]:
    """The 267 official kelurahan names of the committed registry."""
    return [row["kelurahan"] for row in registry().values()]


@pytest.fixture(scope="session")
def kecamatan_names() -> list[str]:
    """The 44 official kecamatan names of the committed registry."""
    return sorted({row["kecamatan"] for row in registry().values()})


@pytest.fixture(scope="session")
def places(kelurahan_names: list[str], kecamatan_names: list[str]) -> PlaceFinder:
    return PlaceFinder(kelurahan_names, kecamatan_names)


@pytest.fixture(scope="session")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A category model trained once on the corpus' train split (about a minute)."""
    import csv

    from lapor_router.route import Classifier, RuleGraph
    from lapor_router.route.model import train

    rg = RuleGraph.default()
    path = tmp_path_factory.mktemp("model") / "dinas.npz"
    with open(ROOT / "benchmarks" / "data" / "complaints.csv", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "train"]
    train(
        [r["text"] for r in rows],
        [r["category"] for r in rows],
        Classifier(rg.categories, rg.spec),
        path,
        rule_set=rg.fingerprint,
    )
    return path
