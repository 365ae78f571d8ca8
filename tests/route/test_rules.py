"""Rule files: the default Jakarta set compiles and lints clean; malformed or inconsistent
files get a RuleError (or lint messages) naming file, key and problem."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lapor_router import RuleError, RuleGraph, lint
from lapor_router.cli import app
from lapor_router.route import default_rules_path

from conftest import BOUNDARIES


@pytest.fixture()
def ruledir(tmp_path: Path) -> Path:
    dest = tmp_path / "rules"
    shutil.copytree(default_rules_path(), dest)
    return dest


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_default_graph_has_typed_nodes_and_edges():
    rg = RuleGraph.default()
    node_types = {d["type"] for _, d in rg.graph.nodes(data=True)}
    edge_types = {d["type"] for *_, d in rg.graph.edges(data=True)}
    assert node_types == {"category", "unit", "area"}
    assert edge_types == {"handled_by", "escalates_to", "part_of"}
    assert len(rg.categories) >= 20
    assert rg.graph.has_edge("area:31.74.01.1001", "area:31.74.01", key="part_of")
    assert rg.graph.has_edge(
        "category:road_damage", "unit:sudin_bina_marga@31.74", key="jalan-lokal"
    )
    assert rg.graph.has_edge(
        "unit:sudin_bina_marga@31.74", "unit:dinas_bina_marga", key="escalates_to"
    )


def test_default_rules_pass_lint():
    report = lint(RuleGraph.default())
    assert report.ok, [str(m) for m in report.messages]
    c = report.coverage
    assert c["routed_pairs"] == c["expected_pairs"] == c["categories"] * 267


@pytest.mark.parametrize(
    "file,old,new,where,problem",
    [
        (
            "rules.toml",
            'category = "road_damage"',
            'category = "jalan_rusak"',
            "rules[0] (jalan-lokal)",
            "unknown category",
        ),
        (
            "rules.toml",
            'unit = "sudin_bina_marga"',
            'unit = "sudin_jalan"',
            "rules[0]",
            "unknown unit",
        ),
        (
            "rules.toml",
            'id = "jalan-lokal"\ncategory',
            'id = "jalan-lokal"\ncategroy',
            "rules[0]",
            "unknown key",
        ),
        (
            "rules.toml",
            'id = "jalan-nasional"',
            'id = "jalan-lokal"',
            "rules[1]",
            "duplicate rule id",
        ),
        (
            "rules.toml",
            'when = { road_class = "national" }',
            'when = { kelas = "national" }',
            "rules[1]",
            "unknown attribute",
        ),
        (
            "categories.toml",
            'resolve = { duration = "3d", days = "calendar" }',
            'resolve = { duration = "3 weeks", days = "calendar" }',
            "categories.street_light.resolve.duration",
            'must look like "24h" or "6d"',
        ),
        (
            "categories.toml",
            'respond = { duration = "1h", days = "calendar" }',
            'respond = { duration = "1h", days = "working" }',
            "categories.fire.respond",
            "hours",
        ),
        (
            "categories.toml",
            'requires = ["pam_customer_number"]',
            'requires = ["nomor_meter"]',
            "categories.water_supply.requires",
            "unknown attribute",
        ),
        (
            "units.toml",
            'escalates_to = "dinas_bina_marga"',
            'escalates_to = "dinas_jalan"',
            "templates.sudin_bina_marga.escalates_to",
            "unknown unit",
        ),
        (
            "units.toml",
            'name = "Suku Dinas Bina Marga {kota}"',
            'name = "Suku Dinas Bina Marga {kelurahan}"',
            "templates.sudin_bina_marga.name",
            "placeholder",
        ),
        (
            "units.toml",
            'level = "PROV"\ntop = true',
            'level = "PUSAT"\ntop = true',
            "units.sekda.level",
            "must be one of",
        ),
        (
            "units.toml",
            'coordinator = "biro_pemerintahan"',
            'coordinator = "kelurahan"',
            "settings.coordinator",
            "fixed unit",
        ),
        (
            "units.toml",
            'timezone = "Asia/Jakarta"',
            'timezone = "Asia/Batavia"',
            "settings.timezone",
            "unknown time zone",
        ),
        (
            "units.toml",
            'escalates_to = "kecamatan"',
            'escalates_to = "ppsu"',
            "templates.kelurahan.escalates_to",
            None,
        ),
    ],
)
def test_malformed_rule_files_name_file_key_and_problem(ruledir, file, old, new, where, problem):
    edit(ruledir / file, old, new)
    if problem is None:  # valid to load, wrong to lint: kelurahan ↔ ppsu escalate in a cycle
        report = lint(RuleGraph.load(ruledir))
        assert not report.ok
        assert any("cycle" in m.message for m in report.messages)
        return
    with pytest.raises(RuleError) as info:
        RuleGraph.load(ruledir)
    err = info.value
    assert err.source.endswith(file)
    assert err.where.startswith(where), err.where
    assert problem in err.problem


def test_toml_syntax_errors_give_the_line(ruledir):
    edit(ruledir / "rules.toml", 'id = "pju"', 'id = "pju')
    with pytest.raises(RuleError, match=r"rules.toml: not valid TOML .*line \d+"):
        RuleGraph.load(ruledir)


def test_missing_rule_file(ruledir):
    (ruledir / "units.toml").unlink()
    with pytest.raises(RuleError, match=r"missing rule file\(s\) \['units.toml'\]"):
        RuleGraph.load(ruledir)
    with pytest.raises(RuleError, match="no such rule file"):
        RuleGraph.load(ruledir / "nothing.toml")


def test_lint_finds_ties_gaps_unreachable_units_and_orphan_categories(ruledir):
    edit(
        ruledir / "rules.toml",
        '[[rules]]\nid = "pju"',
        '''[[rules]]
id = "pju-dua"
category = "street_light"
unit = "ppsu"

[[rules]]
id = "pju"''',
    )
    edit(
        ruledir / "rules.toml",
        'id = "transportasi-umum"\ncategory = "public_transport"',
        'id = "transportasi-umum"\ncategory = "public_transport"\nkota = ["31.71"]',
    )
    edit(
        ruledir / "units.toml",
        "[units.pln]",
        """[units.ombudsman]
name = "Ombudsman RI Perwakilan Jakarta Raya"
level = "EXT"
escalates_to = "sekda"

[units.pln]""",
    )
    edit(
        ruledir / "categories.toml",
        "[categories.crime]",
        """[categories.kuliner]
name = "Kuliner"
keywords = ["makanan"]

[categories.crime]""",
    )
    report = lint(RuleGraph.load(ruledir))
    assert not report.ok
    text = "\n".join(str(m) for m in report.messages)
    assert "rules ['pju', 'pju-dua']: tie for category street_light" in text
    assert "category public_transport: no rule routes kelurahan 31.72" in text
    assert "units.ombudsman: unreachable" in text
    assert "categories.kuliner: no rule handles this category" in text
    assert all(str(ruledir) in m.source for m in report.messages)


runner = CliRunner()


def test_cli_rules_lint(ruledir, tmp_path, monkeypatch):
    monkeypatch.setenv("LAPOR_ROUTER_DATA", str(tmp_path / "empty"))
    ok = runner.invoke(app, ["rules", "lint"])
    assert ok.exit_code == 0, ok.output
    assert "11214/11214" in ok.output.replace(",", "")  # 42 categories × 267 kelurahan
    edit(ruledir / "units.toml", 'escalates_to = "kecamatan"', 'escalates_to = "ppsu"')
    bad = runner.invoke(app, ["rules", "lint", str(ruledir), "--json"])
    assert bad.exit_code == 1
    assert any("cycle" in m for m in json.loads(bad.output)["messages"])
    edit(ruledir / "rules.toml", 'id = "pju"', 'id = "pju')
    broken = runner.invoke(app, ["rules", "lint", str(ruledir)])
    assert broken.exit_code == 2 and "not valid TOML" in broken.output


def test_cli_route_one(tmp_path, monkeypatch):
    from lapor_router import install

    monkeypatch.setenv("LAPOR_ROUTER_DATA", str(tmp_path / "home"))
    install(BOUNDARIES, ["jakarta"])
    result = runner.invoke(
        app,
        [
            "route-one",
            "--lon",
            "106.8272",
            "--lat",
            "-6.1754",
            "--text",
            "sampah numpuk, hub 081234567890",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["unit_id"] == "satpel_lh@31.71.01" and record["category"] == "garbage"
    assert "081234567890" not in result.output
    result = runner.invoke(
        app, ["route-one", "--lon", "106.8272", "--lat", "-6.1754", "--category", "fire"]
    )
    assert result.exit_code == 0 and "EMERGENCY: call 112" in result.output


def test_the_readme_example_category_loads_lints_and_routes(ruledir):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("```toml\n# categories.toml\n", 1)[1].split("```", 1)[0]
    categories, rules = block.split("# rules.toml\n")
    with open(ruledir / "categories.toml", "a", encoding="utf-8") as fh:
        fh.write("\n" + categories)
    with open(ruledir / "rules.toml", "a", encoding="utf-8") as fh:
        fh.write("\n" + rules)
    rg = RuleGraph.load(ruledir)
    assert lint(rg).ok
    (rule, unit), *_ = rg.matching_rules("garbage_truck", "31.74.01.1001")
    assert rule.id == "truk-sampah"
    assert rg.units[unit].name == "Suku Dinas Lingkungan Hidup Kota Administrasi Jakarta Selatan"
