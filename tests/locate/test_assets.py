"""Asset layers: loading checks, the nearest feature within a layer's distance (against a
brute-force search and a geodesic oracle), ties, polygons, specs, installation and sha256."""

from __future__ import annotations

import pickle
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from lapor_router.errors import AssetLayerError, ChecksumError
from lapor_router.locate import (
    AssetLayer,
    install_layer,
    installed_schemas,
    load_asset_layer,
    load_installed_layers,
    load_spec,
)
from lapor_router.locate.asset_kernels import metres_per_degree

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "asset_layers"
GEOD = Geod(ellps="WGS84")


def _layer(geoms, ids=None, max_m=15.0, **cols) -> AssetLayer:
    ids = ids or [f"f{i:05d}" for i in range(len(geoms))]
    frame = gpd.GeoDataFrame({"id": ids, "owner": "bpjn", **cols}, geometry=geoms, crs=4326)
    return load_asset_layer(frame, name="t", asset="road", max_distance_m=max_m,
                            class_cols=tuple(cols))  # fmt: skip


def _random_segments(rng, n):
    x0, y0 = rng.uniform(106.70, 106.95, n), rng.uniform(-6.35, -6.10, n)
    ang, length = rng.uniform(0, 2 * np.pi, n), rng.uniform(5, 300, n) / 111_000
    ends = np.stack([x0 + length * np.cos(ang), y0 + length * np.sin(ang)], 1)
    return shapely.linestrings(np.stack([np.stack([x0, y0], 1), ends], 1))


def _brute(layer: AssetLayer, lon, lat):
    """Every segment of every feature against every point, in numpy: the nearest within
    the distance, ties by id (an independent implementation of the kernel's answer)."""
    coords, owner = shapely.get_coordinates(layer.geoms, return_index=True)
    same = owner[:-1] == owner[1:]
    a, b, f = coords[:-1][same], coords[1:][same], owner[:-1][same]
    best_f = np.full(len(lon), -1)
    best_d = np.full(len(lon), np.nan)
    order = np.argsort(layer.ids.astype(str))
    rank = np.empty(len(order), int)
    rank[order] = np.arange(len(order))
    for p, (x, y) in enumerate(zip(lon, lat, strict=True)):
        kx, ky = metres_per_degree(y)
        ax, ay = (a[:, 0] - x) * kx, (a[:, 1] - y) * ky
        dx, dy = (b[:, 0] - x) * kx - ax, (b[:, 1] - y) * ky - ay
        den = dx * dx + dy * dy
        t = np.clip(np.where(den > 0, -(ax * dx + ay * dy) / np.where(den > 0, den, 1), 0), 0, 1)
        d = np.hypot(ax + t * dx, ay + t * dy)
        ok = d <= layer.max_distance_m
        if ok.any():
            cand = sorted(zip(d[ok], rank[f[ok]], f[ok], strict=True))[0]
            best_f[p], best_d[p] = cand[2], cand[0]
    return best_f, best_d


def test_nearest_equals_a_brute_force_search():
    rng = np.random.default_rng(14)
    layer = _layer(list(_random_segments(rng, 3000)))
    # points near segments (so that many match) and anywhere
    pick = rng.integers(0, 3000, 1500)
    mid = shapely.line_interpolate_point(layer.geoms[pick], 0.5, normalized=True)
    lon = np.concatenate([shapely.get_x(mid) + rng.normal(0, 1.5e-4, 1500),
                          rng.uniform(106.69, 106.96, 500)])  # fmt: skip
    lat = np.concatenate([shapely.get_y(mid) + rng.normal(0, 1.5e-4, 1500),
                          rng.uniform(-6.36, -6.09, 500)])  # fmt: skip
    f, d = layer.match(lon, lat)
    bf, bd = _brute(layer, lon, lat)
    assert (f >= 0).sum() > 500
    np.testing.assert_array_equal(f, bf)
    np.testing.assert_allclose(d[f >= 0], bd[bf >= 0], rtol=1e-12, atol=1e-9)


def test_distances_are_geodesic_metres():
    """Against pyproj's geodesic on WGS84, the segment densified to 1 mm steps."""
    rng = np.random.default_rng(7)
    for _ in range(40):
        x0, y0 = rng.uniform(106.7, 106.95), rng.uniform(-6.35, -6.1)
        x1, y1 = x0 + rng.uniform(-8e-4, 8e-4), y0 + rng.uniform(-8e-4, 8e-4)
        layer = _layer([shapely.LineString([(x0, y0), (x1, y1)])], max_m=500)
        px, py = x0 + rng.uniform(-1e-3, 1e-3), y0 + rng.uniform(-1e-3, 1e-3)
        _, d = layer.match([px], [py])
        steps = int(GEOD.inv(x0, y0, x1, y1)[2] / 0.001) + 2
        t = np.linspace(0, 1, steps)
        sx, sy = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
        oracle = GEOD.inv(np.full(steps, px), np.full(steps, py), sx, sy)[2].min()
        assert abs(d[0] - oracle) < 0.002 + 2e-5 * oracle, (d[0], oracle)


def test_ties_by_distance_then_id():
    # two parallel lines the same distance either side of the point: the smaller id wins,
    # in either order in the file; a nearer feature beats a smaller id
    north = shapely.LineString([(106.80, -6.2000), (106.81, -6.2000)])
    south = shapely.LineString([(106.80, -6.2002), (106.81, -6.2002)])
    nearer = shapely.LineString([(106.80, -6.20012), (106.81, -6.20012)])
    for geoms, ids in (([north, south], ["B", "A"]), ([south, north], ["A", "B"])):
        f, d = _layer(geoms, ids).match([106.805], [-6.2001])
        assert ids[f[0]] == "A" and d[0] == pytest.approx(11.06, abs=0.05)
    f, _ = _layer([north, south, nearer], ["A", "B", "Z"]).match([106.805], [-6.2001])
    assert f[0] == 2


def test_polygons_hold_their_inside_at_zero_metres():
    big = shapely.Polygon([(106.80, -6.20), (106.83, -6.20), (106.83, -6.23), (106.80, -6.23)])
    holed = shapely.Polygon(big.exterior, [[(106.81, -6.21), (106.82, -6.21), (106.82, -6.22),
                                             (106.81, -6.22)]])  # fmt: skip
    layer = _layer([holed], max_m=30)
    lon = [106.803, 106.815, 106.8000, 106.7999, 106.79, 106.8102]
    lat = [-6.227, -6.215, -6.215, -6.215, -6.215, -6.215]
    f, d = layer.match(lon, lat)
    assert f.tolist() == [0, -1, 0, 0, -1, 0]  # deep inside, in the hole, on, near, far, near
    assert d[0] == 0 and d[2] == pytest.approx(0, abs=1e-6)
    assert d[3] == pytest.approx(11.06, abs=0.05) and d[5] == pytest.approx(22.1, abs=0.1)
    assert shapely.contains_xy(holed, lon[0], lat[0])


@settings(max_examples=60, deadline=None)
@given(st.floats(106.79, 106.84), st.floats(-6.24, -6.19))
def test_a_polygon_layer_agrees_with_shapely_inside(x, y):
    river = shapely.Polygon([(106.80, -6.20), (106.82, -6.205), (106.83, -6.23), (106.81, -6.22)])
    f, d = _layer([river], max_m=5).match([x], [y])
    if shapely.contains_xy(river, x, y):
        assert f[0] == 0 and d[0] == 0
    elif f[0] == 0:
        assert 0 < d[0] <= 5


def test_bad_points_match_nothing():
    layer = _layer([shapely.LineString([(106.8, -6.2), (106.81, -6.2)])])
    f, d = layer.match([np.nan, np.inf, 106.805, 200.0, 106.805], [-6.2, -6.2, np.nan, -6.2, -95])
    assert (f == -1).all() and np.isnan(d).all()
    with pytest.raises(ValueError):
        layer.match([1.0, 2.0], [1.0])


def _write(tmp_path: Path, geoms, name="layer.geojson", crs=4326, **cols) -> Path:
    path = tmp_path / name
    frame = gpd.GeoDataFrame({"id": [f"x{i}" for i in range(len(geoms))], "owner": "kai",
                              **cols}, geometry=geoms, crs=crs)  # fmt: skip
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_file(path, engine="pyogrio")
    return path


LINE = shapely.LineString([(106.8, -6.2), (106.81, -6.2)])


@pytest.mark.parametrize(
    ("geoms", "cols", "kwargs", "says"),
    [
        ([LINE, shapely.Polygon([(106.8, -6.2), (106.81, -6.21), (106.81, -6.2),
                                 (106.8, -6.21)])], {}, {}, "invalid geometr"),  # a bow tie
        ([LINE, shapely.Point(106.8, -6.2)], {}, {}, "not a line or polygon"),
        ([LINE], {}, {"class_cols": ("road_class",)}, "missing column"),
        ([LINE], {}, {"id_col": "kode"}, "missing column"),
        ([LINE], {}, {"max_distance_m": 0}, "max_distance_m"),
        ([LINE], {}, {"max_distance_m": 5000}, "max_distance_m"),
        ([LINE], {}, {"name": "Roads!"}, "name"),
        ([LINE, LINE], {"id2": ["a", "a"]}, {"id_col": "id2"}, "duplicate id"),
        ([LINE, LINE], {"id2": ["a", None]}, {"id_col": "id2"}, "without an id"),
    ],
)  # fmt: skip
def test_bad_layers_raise_a_typed_error_naming_the_file(tmp_path, geoms, cols, kwargs, says):
    path = _write(tmp_path, geoms, **cols)
    args = {"name": "rail", "asset": "rail", "max_distance_m": 15.0, **kwargs}
    with pytest.raises(AssetLayerError, match=says) as err:
        load_asset_layer(path, **args)
    assert str(path) in str(err.value)


def test_unknown_crs_and_unreadable_files(tmp_path):
    path = _write(tmp_path, [LINE], name="nocrs.parquet", crs=None)
    with pytest.raises(AssetLayerError, match="unknown CRS") as err:
        load_asset_layer(path, name="rail", asset="rail", max_distance_m=15)
    assert str(path) in str(err.value)
    assert len(load_asset_layer(path, name="rail", asset="rail", max_distance_m=15,
                                crs="EPSG:4326")) == 1  # fmt: skip
    junk = tmp_path / "junk.geojson"
    junk.write_text("{not json")
    with pytest.raises(AssetLayerError, match="cannot be read") as err:
        load_asset_layer(junk, name="rail", asset="rail", max_distance_m=15)
    assert str(junk) in str(err.value)
    with pytest.raises(AssetLayerError, match="not found"):
        load_asset_layer(tmp_path / "none.gpkg", name="rail", asset="rail", max_distance_m=15)


def test_a_layer_in_a_metric_crs_is_reprojected(tmp_path):
    utm = gpd.GeoSeries([LINE], crs=4326).to_crs(32748)
    path = _write(tmp_path, list(utm), name="utm.gpkg", crs=32748)
    layer = load_asset_layer(path, name="rail", asset="rail", max_distance_m=15)
    f, d = layer.match([106.805], [-6.2001])
    assert f[0] == 0 and d[0] == pytest.approx(11.06, abs=0.05)


def test_example_specs_install_and_verify(tmp_path):
    specs = sorted(EXAMPLES.glob("*.toml"))
    assert len(specs) == 3
    for spec in specs:
        install_layer(spec, tmp_path)
    layers = load_installed_layers(tmp_path)
    assert [x.name for x in layers] == ["example_rail", "example_rivers", "example_roads"]
    assert all(x.version == "example-2026.12" and len(x.sha256) == 64 for x in layers)
    schemas = {s["asset"]: s for s in installed_schemas(tmp_path)}
    assert schemas["road"]["classes"]["road_class"] == ["national", "provincial", "toll"]
    assert schemas["river"]["owners"] == ["bbws_cc"]
    # a changed file no longer loads
    installed = tmp_path / "example_roads" / "example_roads.geojson"
    installed.write_text(installed.read_text().replace("EX-JLN-004", "EX-JLN-999"))
    with pytest.raises(ChecksumError):
        load_installed_layers(tmp_path)


def test_a_spec_whose_sha256_differs_is_refused(tmp_path):
    spec = tmp_path / "roads.toml"
    text = (EXAMPLES / "example_roads.toml").read_text()
    sha = text.split('sha256 = "')[1].split('"')[0]
    (tmp_path / "example_roads.geojson").write_bytes(
        (EXAMPLES / "example_roads.geojson").read_bytes() + b"\n"
    )
    spec.write_text(text)
    with pytest.raises(ChecksumError, match=sha):
        load_spec(spec)
    bad = tmp_path / "bad.toml"
    bad.write_text('[layer]\nname = "x"\nasset = "road"\nfile = "a.geojson"\ncolour = 1\n')
    with pytest.raises(AssetLayerError, match="unknown key"):
        load_spec(bad)


def test_layers_pickle_and_match_the_same():
    layer = load_spec(EXAMPLES / "example_roads.toml")
    lon, lat = [106.7180, 106.7871, 106.8741], [-6.15505, -6.28655, -6.18252]
    f, d = layer.match(lon, lat)
    again = pickle.loads(pickle.dumps(layer))
    f2, d2 = again.match(lon, lat)
    assert f.tolist() == f2.tolist() and np.allclose(d, d2)
    assert [layer.ids[i] for i in f] == ["EX-JLN-001", "EX-JLN-002", "EX-JLN-003"]


def test_a_replaced_layer_builds_its_own_grid():
    from dataclasses import replace

    layer = _layer([shapely.LineString([(106.80, -6.20), (106.81, -6.20)])], max_m=15)
    assert layer.match([106.805], [-6.2027])[0][0] == -1  # about 300 m away
    wide = replace(layer, max_distance_m=500.0)
    f, d = wide.match([106.805], [-6.2027])
    assert f[0] == 0 and d[0] == pytest.approx(298.6, abs=0.5)


def test_no_miss_away_from_the_equator_at_the_distance():
    """A line at 45° N, points due south just inside 1,000 m: the padding must hold there."""
    layer = _layer([shapely.LineString([(10.0, 45.0), (10.01, 45.0)])], max_m=1000)
    ky = metres_per_degree(45.0)[1]
    for metres in (999.0, 999.999, 999.9995):
        f, d = layer.match([10.005], [45.0 - metres / ky])
        assert f[0] == 0 and d[0] == pytest.approx(metres, abs=0.01), metres


def test_long_diagonals_are_cut_into_pieces_along_them():
    lines = [shapely.LineString([(106.70, -6.35 + i * 1e-3), (106.95, -6.10 + i * 1e-3)])
             for i in range(10)]  # fmt: skip
    layer = _layer(lines, max_m=15)
    ix = layer._built()
    length_m = 10 * 39_000  # each about 39 km long
    assert len(ix["items"]) < 10 * length_m / 60  # cells along them, not their whole boxes
    f, bf = layer.match([106.825], [-6.225])[0], _brute(layer, [106.825], [-6.225])[0]
    assert f.tolist() == bf.tolist() and f[0] >= 0


def test_cells_are_read_as_scalars(tmp_path):
    path = tmp_path / "lanes.parquet"
    frame = gpd.GeoDataFrame({"id": [1, 2], "owner": ["bpjn", None], "lanes": [2, None]},
                             geometry=[LINE, LINE.reverse()], crs=4326)  # fmt: skip
    frame["lanes"] = frame["lanes"].astype(float)  # as a file with a null gives it back
    frame.to_parquet(path)
    layer = load_asset_layer(path, name="roads", asset="road", max_distance_m=15,
                             class_cols=("lanes",))  # fmt: skip
    assert layer.ids.tolist() == ["1", "2"] and layer.classes["lanes"].tolist() == ["2", None]
    assert layer.owners.tolist() == ["bpjn", None]
    bad = gpd.GeoDataFrame({"id": ["a"], "owner": [["bpjn", "kai"]]}, geometry=[LINE], crs=4326)
    with pytest.raises(AssetLayerError, match="non-scalar"):
        load_asset_layer(bad, name="roads", asset="road", max_distance_m=15)


def test_odd_arguments_are_refused():
    frame = gpd.GeoDataFrame({"id": ["a"], "owner": ["bpjn"]}, geometry=[LINE], crs=4326)
    with pytest.raises(AssetLayerError, match="max_distance_m"):
        load_asset_layer(frame, name="r", asset="road", max_distance_m=True)
    assert load_asset_layer(frame, name="r", asset="road", max_distance_m=np.int64(15))
    with pytest.raises(AssetLayerError, match="sha256"):
        load_asset_layer(frame, name="r", asset="road", max_distance_m=15, sha256="0" * 64)


def test_a_shapefile_is_refused_at_install(tmp_path):
    shp = _write(tmp_path, [LINE], name="roads.shp")
    spec = tmp_path / "roads.toml"
    spec.write_text('[layer]\nname = "roads"\nasset = "road"\nfile = "roads.shp"\n'
                    "max_distance_m = 15\n")  # fmt: skip
    with pytest.raises(AssetLayerError, match="Shapefile") as err:
        install_layer(spec, tmp_path / "installed")
    assert str(shp) in str(err.value)
    assert not (tmp_path / "installed").exists()


@pytest.mark.parametrize("share", [0.0, 0.02, 0.5, 1.0])
def test_context_keys_code_points_alike_exactly_when_their_matches_route_alike(share):
    """Two points share a code exactly when their sequences (nearest first, ties in layer
    order) of (layer, feature context) are equal; each representative has its own code."""
    from lapor_router.locate.assets import AssetHits

    rng = np.random.default_rng(int(share * 100))
    road = rng.choice(["arteri", "lokal"], 40).tolist()
    layers = (
        _layer(list(_random_segments(rng, 40)), fungsi=road),
        _layer(list(_random_segments(rng, 30)), kelas=rng.choice(["a", "b", "c"], 30).tolist()),
        _layer(list(_random_segments(rng, 20))),
    )
    n = 3000
    features = np.stack([rng.integers(0, len(lay.ids), n) for lay in layers])
    features[rng.random((3, n)) >= share] = -1
    metres = np.where(features >= 0, rng.integers(0, 4, (3, n)).astype(float), np.nan)
    codes, first = AssetHits(layers, features, metres).context_keys()

    def key(i):
        got = [(metres[j, i], j) for j in range(3) if features[j, i] >= 0]
        return tuple((j, int(layers[j].context_codes()[features[j, i]])) for _, j in sorted(got))

    keys = [key(i) for i in range(n)]
    distinct = {k: c for k, c in zip(keys, codes.tolist(), strict=True)}
    assert len(distinct) == len(set(codes.tolist())) == len(first)
    assert all(distinct[k] == c for k, c in zip(keys, codes.tolist(), strict=True))
    assert sorted(codes[first].tolist()) == list(range(len(first)))
    assert AssetHits(layers, features, metres).matched().tolist() == [bool(k) for k in keys]
