"""Routing by who owns the asset (the example layers of data/asset_layers), rail crossings,
receivers outside Jakarta and at sea; batch and router.route agree row by row."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lapor_router import Report, Router
from lapor_router.locate import load_spec
from lapor_router.locate.asset_kernels import metres_per_degree
from lapor_router.route import RuleGraph, lint
from lapor_router.route.lint import lint_assets

from conftest import shared_file

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "asset_layers"
NOW = datetime(2026, 12, 3, 10, 0)
# a point of the example national road EX-JLN-001 (106.7060,-6.1540)-(106.7180,-6.1550)
ON_NATIONAL = (106.7180, -6.1550)


def _north(point: tuple[float, float], metres: float) -> tuple[float, float]:
    """``point`` moved ``metres`` north (the road runs nearly east-west there)."""
    return point[0], point[1] + metres / metres_per_degree(point[1])[1]


@pytest.fixture(scope="module")
def layers():
    return [load_spec(p) for p in sorted(EXAMPLES.glob("*.toml"))]


@pytest.fixture(scope="module")
def owned(jakarta, layers) -> Router:
    return Router(jakarta, context=shared_file("jawabarat_banten_dki_kel.parquet"), assets=layers)


def _route(router: Router, lon: float, lat: float, text: str, category: str | None = None):
    return router.route(Report(lon, lat, text=text, category=category), now=NOW)


def test_next_to_a_national_road_goes_to_bpjn_with_the_kelurahan_as_entry(owned):
    near = _route(owned, *_north(ON_NATIONAL, 5), "jalan berlubang besar")
    assert near.unit_id == "bpjn" and near.rule_id == "jalan-nasional"
    assert near.handler_chain[0].role == "entry" and near.handler_chain[0].level == "KEL"
    assert near.handler_chain[0].unit_id.startswith("kelurahan@")
    assert near.asset is not None and near.asset.asset_id == "EX-JLN-001"
    assert near.asset.distance_m == pytest.approx(5.0, abs=0.2)  # the road bends 0.2 m here
    assert "asset_rule" in near.flags
    assert "example_roads@example-2026.12" in near.asset_layers
    rec = near.dispatch_record()
    assert rec["assets"][0]["asset_id"] == "EX-JLN-001" and rec["asset_layers"]
    assert any("EX-JLN-001" in line for line in near.explanation)
    far = _route(owned, *_north(ON_NATIONAL, 40), "jalan berlubang besar")
    assert far.unit_id == f"sudin_bina_marga@{far.location.kode[:5]}"
    assert far.rule_id == "jalan-lokal" and far.asset is None and far.assets == ()
    assert far.handler_chain[0].role == "entry"
    assert far.location.kota == near.location.kota


def test_without_layers_the_same_point_stays_with_the_suku_dinas(router):
    d = _route(router, *_north(ON_NATIONAL, 5), "jalan berlubang besar")
    assert d.unit_id.startswith("sudin_bina_marga@") and d.asset_layers == ()
    # a caller's attribute still reaches BPJN, as before
    given = router.route(Report(*ON_NATIONAL, text="jalan berlubang",
                                attributes={"road_class": "national"}), now=NOW)  # fmt: skip
    assert given.unit_id == "bpjn"


@pytest.mark.parametrize(
    ("point", "text", "unit", "rule"),
    [
        ((106.7871, -6.28655), "jalan tol berlubang", "jasa_marga", "jalan-tol-jasa-marga"),
        ((106.8741, -6.18252), "aspal tol rusak berlubang", "cmnp", "jalan-tol-cmnp"),
        ((106.8500, -6.2125), "jalan rusak berlubang", "kai", "jalan-perlintasan"),
        ((106.8641, -6.2320), "tanggul jebol air meluap", "bbws_cc", "sungai-bbws-banjir"),
        ((106.8641, -6.2320), "saluran tersumbat sampah", "bbws_cc", "sungai-bbws-saluran"),
    ],
)
def test_each_owner(owned, point, text, unit, rule):
    d = _route(owned, *point, text)
    assert (d.unit_id, d.rule_id) == (unit, rule)
    assert d.handler_chain[0].role == "entry" and d.handler_chain[-1].unit_id == unit


def test_a_provincial_road_has_no_rule_of_its_own(owned):
    d = _route(owned, 106.8490, -6.2330, "jalan berlubang")
    assert d.assets and d.assets[0].classes == {"road_class": "provincial"}
    assert d.rule_id == "jalan-lokal" and d.asset is None and "asset_rule" not in d.flags


def test_rail_crossings_are_not_fires(router):
    d = _route(router, 106.8272, -6.1754, "perlintasan kereta api rusak, palang pintu macet")
    assert d.category == "rail_crossing" and d.unit_id == "kai"
    fire = _route(router, 106.8272, -6.1754, "ada api besar, rumah terbakar")
    assert fire.category == "fire"


def test_outside_jakarta_names_the_receiver(owned):
    bekasi = _route(owned, 107.00, -6.24, "jalan rusak")
    assert bekasi.unit_id is None and "outside_jakarta" in bekasi.flags
    assert bekasi.receiver == "Pemerintah Kota Bekasi"
    assert bekasi.receiver_channel.startswith("SP4N-LAPOR!")
    # an area the rule data does not list gets the default, named from the registry
    bandung = _route(owned, 107.6098, -6.9147, "jalan rusak")
    assert bandung.location.external_kode and bandung.receiver == "Pemerintah Kota Bandung"
    sea = _route(owned, 106.85, -5.95, "sampah di laut")
    assert "at_sea" in sea.flags and sea.receiver.startswith("Dinas Ketahanan Pangan")
    assert any("laut / perairan" in line for line in sea.explanation)
    far_sea = _route(owned, 106.85, -5.40, "kapal")  # 30 km from any island: not Jakarta's
    assert "at_sea" not in far_sea.flags and far_sea.receiver is None


def test_batch_and_route_agree_row_by_row(owned):
    rng = np.random.default_rng(14)
    anchors = [(106.7180, -6.1550), (106.7871, -6.28655), (106.8741, -6.18252),
               (106.8500, -6.2125), (106.8641, -6.2320), (106.8490, -6.2330),
               (107.00, -6.24), (106.85, -5.95), (106.8272, -6.1754)]  # fmt: skip
    texts = ["jalan berlubang", "tanggul jebol", "saluran tersumbat", "sampah numpuk",
             "perlintasan kereta api rusak", "lampu jalan mati"]  # fmt: skip
    rows = []
    for i in range(400):
        x, y = anchors[i % len(anchors)]
        rows.append(
            {
                "lon": x + rng.normal(0, 1.5e-4),
                "lat": y + rng.normal(0, 1.5e-4),
                "text": texts[i % len(texts)],
                "created_at": "2026-12-01T09:00:00+07:00",
            }
        )
    frame = pd.DataFrame(rows)
    out = owned.route_frame(frame, now=NOW)
    assert out["asset_id"].notna().sum() > 100 and out["receiver"].notna().sum() > 40
    assert set(out["asset_layers"]) == {";".join(owned.asset_layers)}
    for i, r in enumerate(rows):
        d = owned.route(Report(r["lon"], r["lat"], text=r["text"], created_at=r["created_at"]),
                        now=NOW)  # fmt: skip
        got = out.iloc[i]
        assert got["unit_id"] == d.unit_id, i
        assert set(got["flags"]) == set(d.flags), i
        assert got["receiver"] == d.receiver and got["receiver_channel"] == d.receiver_channel
        first = d.assets[0] if d.assets else None
        assert got["asset_id"] == (first.asset_id if first else None), i
        assert got["asset_layer"] == (first.layer if first else None)
        if first is not None:
            assert got["asset_distance_m"] == pytest.approx(first.distance_m, abs=0.006)


def test_rules_lint_checks_asset_rules_against_installed_layers(jakarta, layers):
    rg = RuleGraph.default(jakarta)
    schemas = [{"layer": x.label, **x.schema()} for x in layers]
    assert [m for m in lint(rg, schemas).messages if m.severity == "error"] == []
    assert not lint_assets(rg, schemas)
    # without the rail layer, the rail rule is warned about (it cannot match)
    no_rail = [s for s in schemas if s["asset"] != "rail"]
    warned = [m for m in lint_assets(rg, no_rail) if m.severity == "warning"]
    assert [m.where for m in warned] == ["rule jalan-perlintasan"]
    # a road layer without toll roads or without jasa_marga: those rules are errors
    roads = next(s for s in schemas if s["asset"] == "road")
    cut = {**roads, "classes": {"road_class": ["national"]}, "owners": ["bpjn"]}
    errors = [m for m in lint_assets(rg, [cut]) if m.severity == "error"]
    assert {m.where for m in errors} == {"rule jalan-tol-jasa-marga", "rule jalan-tol-cmnp"}
    assert any("toll" in m.message for m in errors)
    owner = {**roads, "owners": [*roads["owners"], "pt_tol_baru"]}
    assert any("pt_tol_baru" in m.message for m in lint_assets(rg, [owner]))


def test_where_two_layers_meet_the_nearer_feature_decides_alike_in_batch(jakarta):
    """A national road crossing a railway: both layers match; equal priorities, so the
    nearer feature's rule wins, in router.route and in a file alike."""
    import geopandas as gpd
    import shapely

    from lapor_router.locate import load_asset_layer

    x, y = 106.8000, -6.2500
    road = gpd.GeoDataFrame({"id": ["R1"], "owner": ["bpjn"], "road_class": ["national"]},
                            geometry=[shapely.LineString([(x - 0.01, y), (x + 0.01, y)])],
                            crs=4326)  # fmt: skip
    rail = gpd.GeoDataFrame({"id": ["K1"], "owner": ["kai"]},
                            geometry=[shapely.LineString([(x, y - 0.01), (x, y + 0.01)])],
                            crs=4326)  # fmt: skip
    layers = [
        load_asset_layer(road, name="roads", asset="road", max_distance_m=15,
                         class_cols=("road_class",)),
        load_asset_layer(rail, name="rail", asset="rail", max_distance_m=15),
    ]  # fmt: skip
    r = Router(jakarta, assets=layers)
    rng = np.random.default_rng(3)
    lon, lat = x + rng.uniform(-1.2e-4, 1.2e-4, 300), y + rng.uniform(-1.2e-4, 1.2e-4, 300)
    frame = pd.DataFrame({"lon": lon, "lat": lat, "text": "jalan berlubang",
                          "created_at": "2026-12-01T09:00:00+07:00"})  # fmt: skip
    out = r.route_frame(frame, now=NOW)
    units = set()
    for i in range(len(frame)):
        d = r.route(Report(lon[i], lat[i], text="jalan berlubang",
                           created_at="2026-12-01T09:00:00+07:00"), now=NOW)  # fmt: skip
        assert out["unit_id"].iat[i] == d.unit_id and out["asset_id"].iat[i] == (
            d.assets[0].asset_id if d.assets else None
        )
        if len(d.assets) == 2:
            want = "kai" if d.assets[0].asset == "rail" else "bpjn"
            assert d.unit_id == want and d.asset == d.assets[0]
        units.add(d.unit_id)
    assert {"kai", "bpjn"} <= units


def test_a_report_cannot_claim_an_asset(owned, router):
    claim = {"asset": "road", "road_class": "toll", "asset_owner": "jasa_marga"}
    for r in (owned, router):  # no feature near; with and without layers
        d = r.route(Report(106.8272, -6.1754, text="jalan berlubang", attributes=claim), now=NOW)
        assert d.unit_id.startswith("sudin_bina_marga@") and d.rule_id == "jalan-lokal"
    # next to the provincial road, a claim of rail changes nothing
    d = owned.route(Report(106.8490, -6.2330, text="jalan berlubang",
                           attributes={"asset": "rail"}), now=NOW)  # fmt: skip
    assert d.rule_id == "jalan-lokal"


def test_rule_conditions_on_one_feature_and_bad_area_codes_are_refused(tmp_path):
    import shutil

    from lapor_router.errors import RuleError
    from lapor_router.route import parse_rules
    from lapor_router.route.rules import default_rules_path

    for old, new, says in (
        ('when = { asset = "rail" }', 'when = { asset = "rail", asset_id = "EX-REL-001" }',
         "asset_id"),
        ('[outside.areas."32.75"]', '[outside.areas."3275"]', "Kemendagri code"),
    ):  # fmt: skip
        d = tmp_path / says.replace(" ", "_")
        shutil.copytree(default_rules_path(), d)
        for f in d.glob("*.toml"):
            f.write_text(f.read_text().replace(old, new))
        with pytest.raises(RuleError, match=says):
            parse_rules(d)
