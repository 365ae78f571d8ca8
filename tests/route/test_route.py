"""Routing reports to the responsible unit: categories, areas, text, flags, transfer,
escalation and privacy."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lapor_router import Report, Router, RoutingError

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=WIB)
MONAS = (106.8272, -6.1754)


@pytest.fixture(scope="module")
def rrouter(jakarta, router) -> Router:
    return router


@pytest.fixture(scope="module")
def kota_points(jakarta):
    """One point deep inside a kelurahan of each of the 6 kota/kabupaten."""
    pts = {}
    for i, code in enumerate(jakarta.codes):
        kota = code[:5]
        if kota not in pts:
            p = shapely.point_on_surface(jakarta.geoms[i])
            pts[kota] = (p.x, p.y, code)
    assert sorted(pts) == ["31.01", "31.71", "31.72", "31.73", "31.74", "31.75"]
    return pts


def route(router: Router, text: str = "", category: str | None = None, at=MONAS, **kw):
    return router.route(
        Report(at[0], at[1], category=category, text=text, created_at=NOW, **kw), now=NOW
    )


def test_every_category_routes_in_every_kota(rrouter, kota_points):
    rg = rrouter.rules
    assert len(rg.categories) >= 20
    for kota, (x, y, kel) in kota_points.items():
        for code in rg.categories:
            d = rrouter.route(Report(x, y, category=code, created_at=NOW), now=NOW)
            assert d.category == code and d.category_source == "given"
            assert d.location.kode == kel
            assert d.unit_id in rg.units, (code, kota)
            unit = rg.units[d.unit_id]
            if unit.area is not None:  # a unit serving an area serves this one
                assert kel.startswith(unit.area)
            assert d.handler_chain[0].unit_name == f"Kelurahan {d.location.nama}"
            assert d.handler_chain[-1].unit_id == d.unit_id
            assert d.respond_by is not None and d.due_at is not None
            assert d.respond_by.tzinfo is not None and d.due_at >= d.respond_by - timedelta(1)


def test_official_unit_names(rrouter, jakarta):
    tebet_timur = jakarta.index_of("31.74.01.1001")
    assert jakarta.names[tebet_timur] == "Tebet Timur"
    p = shapely.point_on_surface(jakarta.geoms[tebet_timur])
    d = route(rrouter, "jalan berlubang", "road_damage", at=(p.x, p.y))
    assert [s.unit_name for s in d.handler_chain] == [
        "Kelurahan Tebet Timur",
        "Suku Dinas Bina Marga Kota Administrasi Jakarta Selatan",
    ]
    assert d.level == "KOTA" and d.rule_id == "jalan-lokal"
    units = {u.name for u in rrouter.rules.units.values()}
    assert "Kelurahan Rawasari" in units
    assert "Dinas Lingkungan Hidup Provinsi DKI Jakarta" in units


def test_kepulauan_seribu_has_its_own_rule(rrouter, kota_points):
    x, y, _ = kota_points["31.01"]
    d = route(rrouter, "kapal penumpang ke pulau tidak datang", "public_transport", at=(x, y))
    assert d.unit_name == "Suku Dinas Perhubungan Kabupaten Administrasi Kepulauan Seribu"
    assert d.rule_id == "transportasi-kepulauan"
    x, y, _ = kota_points["31.74"]
    assert route(rrouter, "", "public_transport", at=(x, y)).unit_id == "transjakarta"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Jln bolong2 gede bgt di dpn sekolah, tlg ditambal", "road_damage"),
        ("sampah numpuk udh 3 hari gk diangkut, bau bgt", "garbage"),
        ("got mampet tiap ujan meluap ke rumah warga", "drain_blocked"),
        ("lampu pju mati sebulan, gelap rawan begal", "street_light"),
        ("bnyk mobil parkir sembarangan di bahu jalan bikin macet", "illegal_parking"),
        ("PKL jualan di trotoar, pejalan kaki terpaksa turun ke jalan", "street_vendor"),
        ("ada ODGJ tidur di halte tiap malam", "social_welfare"),
        ("tetangga renovasi rumah jadi 4 lantai tanpa PBG", "building_violation"),
        ("air pam mati dari kemarin, pipa bocor di depan gang", "water_supply"),
        ("listrik padam terus tiap sore, trafo meledak", "electricity"),
        ("Knalpot racing brisik bgt tengah malam", "noise"),
        ("ada ular kobra masuk rumah warga tolong evakuasi", "animal_rescue"),
        ("anjing liar galak menggigit anak", "stray_animal"),
        ("banyak jentik nyamuk, sudah ada warga kena DBD, minta fogging", "health"),
        ("KTP elektronik saya belum jadi sudah 3 bulan di dukcapil", "civil_registry"),
        ("spanduk dan baliho liar dipasang di tiang listrik", "illegal_ads"),
        ("warga bakar sampah tiap pagi asapnya masuk rumah", "waste_burning"),
        ("genangan setinggi lutut di jalan utama setelah hujan", "flooding"),
        ("pohon besar rawan tumbang dahan menjuntai", "tree"),
        ("kebakarn di gudang belakang pasar", "fire"),
    ],
)
def test_category_is_inferred_from_indonesian_text(rrouter, text, expected):
    d = route(rrouter, text)
    assert (d.category, d.category_source) == (expected, "inferred"), d.explanation


def test_a_given_category_that_contradicts_the_text_is_kept_and_flagged(rrouter):
    d = route(rrouter, "lampu jalan mati total, gelap sekali di malam hari", "garbage")
    assert d.category == "garbage" and d.category_source == "given"
    assert "category_mismatch" in d.flags and d.suggested_category == "street_light"
    assert any("street_light" in line for line in d.explanation)


def test_a_consistent_given_category_is_not_flagged(rrouter):
    d = route(rrouter, "sampah menumpuk di pinggir kali", "garbage")
    assert "category_mismatch" not in d.flags


def test_category_names_and_misspellings(rrouter):
    assert route(rrouter, "", "Parkir Liar").category == "illegal_parking"
    d = route(rrouter, "", "sampahh")
    assert (d.category, d.category_source) == ("garbage", "corrected")
    d = route(rrouter, "got mampet", "kategori-aneh")
    assert (d.category, d.category_source) == ("drain_blocked", "inferred")
    assert "category_unknown" in d.flags


def test_nothing_inferable_goes_to_the_coordinator(rrouter):
    d = route(rrouter, "tolong dicek ya pak, terima kasih")
    assert d.category is None and d.category_source is None
    assert d.unit_id == "biro_pemerintahan" and "needs_triage" in d.flags
    assert d.handler_chain[0].unit_name == "Kelurahan Gambir"


def test_outside_jakarta_goes_to_no_unit_and_names_the_area(rrouter):
    d = route(rrouter, "jalan rusak", at=(107.0, -6.25))
    assert d.unit_id is None and d.respond_by is None
    assert "outside_jakarta" in d.flags
    assert any("Kota Bekasi" in line for line in d.explanation)
    assert d.category == "road_damage"


def test_invalid_coordinates_go_to_triage(rrouter):
    d = route(rrouter, "sampah menumpuk", at=("abc", None))
    assert d.unit_id == "biro_pemerintahan"
    assert {"invalid_location", "needs_triage", "invalid_coordinates"} <= d.flags
    assert d.category == "garbage"


@pytest.mark.parametrize(
    "text,category,number",
    [
        ("kebakaran rumah warga api besar", None, "112"),
        ("ada penjambretan dan begal di jalan ini", None, "110"),
        ("pohon tumbang menutup jalan raya", None, "112"),
    ],
)
def test_emergencies_say_whom_to_call(rrouter, text, category, number):
    d = route(rrouter, text, category)
    assert d.emergency and d.emergency_number == number
    assert any(number in line for line in d.explanation)


def test_a_tree_to_prune_is_no_emergency(rrouter):
    d = route(rrouter, "dahan pohon perlu dipangkas menutupi rambu", "tree")
    assert not d.emergency and d.emergency_number is None


def test_operators_need_their_attributes(rrouter):
    d = route(rrouter, "air pam mati tiga hari")
    assert d.unit_id == "pam_jaya" and "needs_information" in d.flags
    assert d.missing_information == ("Nomor pelanggan PAM Jaya",)
    d = route(rrouter, "air pam mati, no pelanggan 12345678")
    assert "needs_information" not in d.flags
    assert d.attributes == {"pam_customer_number": "12345678"}
    d = route(rrouter, "air pam mati", attributes={"pam_customer_number": "998877"})
    assert "needs_information" not in d.flags


def test_national_roads_go_to_the_ministry(rrouter):
    d = route(rrouter, "jalan berlubang", "road_damage", attributes={"road_class": "national"})
    assert d.unit_id == "bpjn" and d.level == "EXT" and d.rule_id == "jalan-nasional"


def test_deadlines_follow_the_category(rrouter):
    friday_evening = datetime(2026, 11, 20, 19, 0, tzinfo=WIB)
    d = rrouter.route(Report(*MONAS, category="garbage", created_at=friday_evening), now=NOW)
    # 1 working day would be Tuesday 08:00, after the 2-calendar-day resolution (Sunday
    # 19:00): the response is due no later than the resolution (the deadlines issue)
    assert d.respond_by == friday_evening + timedelta(days=2)
    assert d.due_at == friday_evening + timedelta(days=2)  # 2 calendar days
    d = rrouter.route(Report(*MONAS, category="permits", created_at=friday_evening), now=NOW)
    assert d.due_at == datetime(2026, 12, 11, 8, 0, tzinfo=WIB)  # 14 working days
    d = rrouter.route(Report(*MONAS, category="garbage"), now=NOW)
    assert "created_at_missing" in d.flags and d.respond_by == datetime(
        2026, 11, 24, 10, 0, tzinfo=WIB
    )
    d = rrouter.route(Report(*MONAS, category="garbage", created_at="kemarin"), now=NOW)
    assert "created_at_invalid" in d.flags
    # a year no deadline can count from is unreadable too, not a crash (the years 1 and
    # 9999 overflowed the calendar; the batch path is tested in tests/batch)
    for odd in (
        "0001-01-01T00:00:00+00:00",
        "9999-12-31T23:59:59+00:00",
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(2300, 1, 1),
    ):
        d = rrouter.route(Report(*MONAS, category="garbage", created_at=odd), now=NOW)
        assert "created_at_invalid" in d.flags, odd
        assert d.respond_by > NOW.astimezone(WIB) - timedelta(days=1), odd
    d = rrouter.route(Report(*MONAS, category="garbage", created_at="2199-06-01T10:00"), now=NOW)
    assert "created_at_invalid" not in d.flags and d.due_at.year == 2199


def test_transfer_goes_through_candidates_without_ping_pong(rrouter):
    d0 = route(rrouter, "got mampet", "drain_blocked")
    assert d0.unit_id == "satpel_sda@31.71.01"
    d1 = rrouter.transfer(d0, "saluran kecil, bukan kewenangan SDA")
    d2 = rrouter.transfer(d1, "bukan kewenangan kami")
    d3 = rrouter.transfer(d2, "bukan kewenangan kami")
    assert [d.unit_id for d in (d1, d2, d3)] == [
        "ppsu@31.71.01.1001",
        "sudin_sda@31.71",
        "biro_pemerintahan",
    ]
    assert (d1.transfers, d2.transfers, d3.transfers) == (1, 2, 3)
    assert "transfer_limit" in d3.flags and "needs_triage" in d3.flags
    visited = [s.unit_id for s in d3.handler_chain if s.role in ("responsible", "transfer")]
    assert len(visited) == len(set(visited)) == 4
    d4 = rrouter.transfer(d3, "bukan kewenangan")
    assert d4.unit_id == "biro_pemerintahan" and "transfer_refused" in d4.flags
    assert d0.due_at == d3.due_at  # the citizen's clock does not restart


def test_transfer_limit_is_a_setting(jakarta):
    from dataclasses import replace

    from lapor_router import RuleGraph

    rg = RuleGraph.default(jakarta)
    strict = RuleGraph.compile(
        replace(rg.spec, settings=replace(rg.settings, max_transfers=0)), jakarta
    )
    router = Router(jakarta, rules=strict)
    d = router.transfer(route(router, "got mampet", "drain_blocked"), "bukan kewenangan")
    assert d.unit_id == "biro_pemerintahan" and "transfer_limit" in d.flags


def test_transfer_errors(rrouter):
    d = route(rrouter, "got mampet", "drain_blocked")
    with pytest.raises(RoutingError, match="reason"):
        rrouter.transfer(d, "  ")
    with pytest.raises(RoutingError, match="outside Jakarta"):
        rrouter.transfer(route(rrouter, "got", at=(107.0, -6.25)), "bukan")


def test_escalation_climbs_the_chain_when_overdue(rrouter):
    d0 = route(rrouter, "jalan berlubang", "road_damage")
    assert rrouter.escalate(d0, d0.due_at - timedelta(minutes=1)) is d0
    late = d0.due_at + timedelta(hours=1)
    d1 = rrouter.escalate(d0, late)
    assert d1.unit_id == "dinas_bina_marga" and {"overdue", "escalated"} <= d1.flags
    assert d1.due_at > late
    d2 = rrouter.escalate(d1, d1.due_at + timedelta(hours=1))
    assert d2.unit_id == "sekda"
    d3 = rrouter.escalate(d2, d2.due_at + timedelta(hours=1))
    assert d3.unit_id == "sekda" and "escalation_exhausted" in d3.flags
    assert [s.role for s in d2.handler_chain][-2:] == ["escalation", "escalation"]


IDENTITY = {
    "name": "Siti Rahmawati",
    "phone": "+62 812-3456-7890",
    "email": "siti.r@example.com",
    "nik": "3171014506900002",
}
TEXT = (
    "Saya Siti Rahmawati, sampah menumpuk depan rumah. Hubungi 0812 3456 7890 atau "
    "siti.r@example.com. NIK 3171014506900002"
)


def _secrets_in(blob: str) -> list[str]:
    found = []
    for value in (*IDENTITY.values(), "3456", "example.com"):
        if value in blob:
            found.append(value)
    return found


def test_private_report_carries_no_identity(rrouter):
    d = route(rrouter, TEXT, private=True, reporter=IDENTITY, report_id="JK2611230001")
    record = d.dispatch_record()
    assert "reporter" not in record and record["private"] is True
    assert _secrets_in(json.dumps(record, ensure_ascii=False)) == []
    assert record["text"].startswith("Saya [disamarkan], sampah menumpuk")
    assert record["report_id"] == "JK2611230001" and record["unit_id"] == "satpel_lh@31.71.01"


def test_public_report_shows_the_reporter_but_never_a_nik(rrouter):
    d = route(rrouter, TEXT, private=False, reporter=IDENTITY)
    record = d.dispatch_record()
    assert record["reporter"] == {
        "name": "Siti Rahmawati",
        "phone": "[disamarkan]",
        "email": "[disamarkan]",
    }
    blob = json.dumps(record, ensure_ascii=False)
    assert "3171014506900002" not in blob
    assert "0812 3456 7890" not in blob and "siti.r@example.com" not in blob


def test_logs_and_reprs_never_hold_identity(rrouter, caplog):
    with caplog.at_level(logging.DEBUG, logger="lapor_router"):
        for private in (True, False):
            d = route(rrouter, TEXT, "garbage", private=private, reporter=IDENTITY)
            d = rrouter.transfer(d, "bukan kewenangan")
            rrouter.escalate(d, d.due_at + timedelta(days=1))
    assert caplog.records, "routing logs its decisions"
    assert _secrets_in(caplog.text) == []
    assert _secrets_in(repr(d)) == [] and "Siti" not in repr(d.report)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lon=st.one_of(st.floats(), st.none(), st.text(max_size=5)),
    lat=st.one_of(st.floats(106.6, 107.0), st.floats(), st.none()),
    text=st.text(max_size=40),
    category=st.one_of(st.none(), st.text(max_size=12)),
    created=st.one_of(st.none(), st.text(max_size=12), st.datetimes()),
)
def test_routing_never_raises(rrouter, lon, lat, text, category, created):
    d = rrouter.route(Report(lon, lat, category=category, text=text, created_at=created), now=NOW)
    assert d.unit_id is None or d.unit_id in rrouter.rules.units
    assert (d.unit_id is None) == ("outside_jakarta" in d.flags)
    json.dumps(d.dispatch_record(), ensure_ascii=False)
