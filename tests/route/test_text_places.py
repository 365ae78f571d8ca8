"""The place a report's text names: compared with where the point is, and used to route a
report whose coordinates cannot be read."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from lapor_router import STATUSES, Report
from lapor_router.batch import route_frame

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
MONAS = (106.8272, -6.1754)  # Kelurahan Gambir
ISSUE_TEXT = (
    "Banjir di jl dermaga kp tegal amba rt 14 rw 11 kel klender udh sedada org dewasa "
    "mohon bantuannya"
)


def kode_of(router, name: str) -> str:
    rows = router._match_claim(name)
    assert len(rows) == 1
    return str(router.boundaries.codes[rows[0]])


def test_a_text_naming_another_kelurahan_is_flagged_with_its_code(router):
    d = router.route(Report(*MONAS, text="sampah numpuk di kel klender RT.010/RW.003"), now=NOW)
    assert d.location.nama == "Gambir"
    assert "text_place_mismatch" in d.flags
    assert d.named_kode == kode_of(router, "Klender")
    assert (d.named.rt, d.named.rw) == ("10", "3")
    assert any("Klender" in line for line in d.explanation)
    assert d.dispatch_record()["named_kode"] == d.named_kode


def test_a_text_naming_the_located_kelurahan_is_not_flagged(router):
    d = router.route(Report(*MONAS, text="sampah numpuk di Kelurahan Gambir"), now=NOW)
    assert d.named_kode == kode_of(router, "Gambir") and "text_place_mismatch" not in d.flags


def test_a_named_kecamatan_elsewhere_is_flagged_when_no_kelurahan_is_named(router):
    d = router.route(Report(*MONAS, text="lampu jalan mati di kec. tebet"), now=NOW)
    assert d.named.kecamatan == "Tebet" and d.named_kode is None
    assert "text_place_mismatch" in d.flags


@pytest.mark.parametrize("lon, lat", [(None, None), ("abc", "def"), (float("nan"), -6.2)])
def test_a_report_without_usable_coordinates_is_routed_by_the_kelurahan_it_names(router, lon, lat):
    d = router.route(Report(lon, lat, text=ISSUE_TEXT), now=NOW)
    assert "named" in STATUSES and d.location.status == "named"
    assert d.location.kode == kode_of(router, "Klender")
    assert {"location_named", "invalid_coordinates"} <= d.flags
    assert (d.named.rt, d.named.rw) == ("14", "11")
    assert d.unit_id != router.rules.settings.coordinator or d.category is None
    assert d.handler_chain and d.handler_chain[0].unit_name == "Kelurahan Klender"


def test_without_a_named_kelurahan_an_invalid_point_still_goes_to_triage(router):
    d = router.route(Report(None, None, text="banjir sedada mohon bantuan"), now=NOW)
    assert d.location.status == "invalid" and "invalid_location" in d.flags
    assert d.unit_id == router.rules.settings.coordinator


def test_batch_rows_agree_with_route_on_named_places(router):
    frame = pd.DataFrame(
        {
            "lon": [str(MONAS[0]), "", str(MONAS[0]), ""],
            "lat": [str(MONAS[1]), "", str(MONAS[1]), ""],
            "text": [
                "sampah numpuk di kel klender RT.010/RW.003",
                ISSUE_TEXT,
                "lampu jalan mati di kec. tebet",
                "banjir sedada mohon bantuan",
            ],
        }
    )
    routed = route_frame(router, frame, now=NOW)
    for i, row in frame.iterrows():
        d = router.route(Report(row.lon or None, row.lat or None, text=row.text), now=NOW)
        got = routed.iloc[i]
        assert got.location_status == d.location.status
        assert (got.kelurahan_kode or None) == d.location.kode
        assert (got.unit_id or None) == d.unit_id
        assert got["flags"] == d.flags
        assert (got.named_kode if isinstance(got.named_kode, str) else None) == d.named_kode
        assert (got.rt if isinstance(got.rt, str) else None) == (d.named.rt if d.named else None)


def test_text_places_of_many_texts_are_each_texts_own_place(router):
    texts = [
        "sampah di kel klender rt 3 rw 5",
        None,
        float("nan"),
        pd.NaT,
        "jalan rusak kelurahan gambir",
        "sampah di kel klender rt 3 rw 5",
        ["not", "text"],  # unhashable: read on its own
        "got nothing here",
        "",
        "jalan rusak kelurahan gambir",
        "kec. kramat jati",
    ]
    many = router.text_places(texts)
    assert len(many) == len(texts)
    one_by_one = [router.text_places([t])[0] for t in texts]
    assert list(many) == one_by_one
    assert [many[i] for i in range(len(texts))] == one_by_one
    assert list(many[2:5]) == one_by_one[2:5]
    # missing cells name no place, and repeated texts share one place
    assert many[1] == many[2] == many[3] == many[8]
    assert many[1].kode is None and not many[1].codes
    assert many[0].kode == kode_of(router, "Klender") and (many[0].place.rt, many[0].place.rw) == (
        "3",
        "5",
    )
    assert len(many.places) < len(texts)
    kodes = many.column(lambda p: p.kode)
    assert kodes.tolist() == [p.kode for p in one_by_one]
