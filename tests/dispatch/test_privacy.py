"""What a unit sees: no private reporter's identity, no NIK, no phone or e-mail, whatever
shape they come in and wherever they stand (text, reporter, created_at, transfer reasons,
columns no one named)."""

from __future__ import annotations

import json
import warnings
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lapor_router import Report
from lapor_router.batch import Columns, route_frame
from lapor_router.errors import PrivacyWarning
from lapor_router.privacy import MASK, mask_text, mask_unattributed, mask_values

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
GAMBIR = (106.8272, -6.1754)

# every shape of personal data the adversarial pass found, and the ones that already worked
SHAPES = {
    "spaced NIK": "3171 0101 0190 0004",
    "dotted NIK": "317101.010190.0004",
    "plain NIK": "3171010101900001",
    "double-spaced phone": "0812  3456 7604",
    "parenthesised area code": "(0812) 3456 7703",
    "landline": "(021) 555 1234",
    "international phone": "+62 812-3456-7890",
    "dashed phone": "0812-3456-7890",
    "e-mail": "budi.santoso@mail.co.id",
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_shape_of_personal_data_is_masked_in_free_text(shape):
    value = SHAPES[shape]
    masked = mask_text(f"Mohon dibantu, hubungi {value} ya. Jalan rusak di RT 05 RW 03.")
    assert value not in masked and MASK in masked
    assert "RT 05 RW 03" in masked  # addresses of the problem are not personal


@pytest.mark.parametrize(
    "text",
    [
        "koordinat 106.8272, -6.1754 jam 08.30",
        "JK0000000001 dibuat 2026-11-03T10:00:00+07:00",
        "Rp 1.500.000, tinggi air 0,5 meter, 120 cm",
        "lat -6.2000012345678901",
    ],
)
def test_numbers_that_are_not_personal_stay(text):
    assert mask_text(text) == text


def test_unattributable_raw_text_keeps_numbers_and_ids_only():
    raw = 'JK01,2026-11-03T10:00:00+07:00,106.8,-6.2,"Budi Santoso",0812 3456 7890,true'
    masked = mask_unattributed(raw)
    assert "Budi" not in masked and "Santoso" not in masked and "0812" not in masked
    assert masked.startswith("JK01,2026-11-03T10:00:00+07:00,106.8,-6.2,")
    assert masked.endswith(",true")


def _decide(router, **report):
    fields = {"lon": GAMBIR[0], "lat": GAMBIR[1], "text": "sampah numpuk", **report}
    return router.route(Report(**fields), now=NOW)


def test_an_unreadable_created_at_is_not_copied_into_the_record(router):
    d = _decide(router, created_at="Budi Santoso 0812-3456-7890", private=True)
    record = d.dispatch_record()
    assert record["created_at"] is None
    assert "created_at_invalid" in record["flags"]
    text = json.dumps(record, ensure_ascii=False)
    assert "Budi" not in text and "0812" not in text
    assert _decide(router, created_at="2026-11-20T17:30").dispatch_record()["created_at"] == (
        "2026-11-20T17:30:00"
    )


@pytest.mark.parametrize("private", [True, False])
def test_a_reporter_given_as_a_string_is_handled_like_a_mapping(router, private):
    d = _decide(
        router, text="Saya Siti Aminah, sampah numpuk", reporter="Siti Aminah", private=private
    )
    record = d.dispatch_record()  # raised AttributeError before
    if private:
        assert "reporter" not in record
        assert "Siti Aminah" not in json.dumps(record, ensure_ascii=False)
    else:
        assert record["reporter"] == {"reporter": "Siti Aminah"}


def test_a_transfer_reason_is_masked_like_free_text(router):
    d = _decide(
        router,
        text="jalan berlubang besar",
        private=True,
        reporter={"name": "Siti Aminah", "phone": "0812 3456 7890"},
    )
    moved = router.transfer(d, "bukan wewenang; tanya Siti Aminah di 0812 3456 7890 / siti@x.id")
    text = json.dumps(moved.dispatch_record(), ensure_ascii=False)
    assert "transferred" in moved.flags
    assert "Siti Aminah" not in text and "0812 3456 7890" not in text and "siti@x.id" not in text
    assert "bukan wewenang" in text


def _frame(**extra: list[object]) -> pd.DataFrame:
    base = {
        "lon": [GAMBIR[0]] * 3,
        "lat": [GAMBIR[1]] * 3,
        "text": ["sampah numpuk, wa 0812  3456 7604", "jalan rusak", "pohon tumbang"],
        "private": ["true", "false", "true"],
    }
    return pd.DataFrame({**base, **extra})


def test_identity_columns_are_recognised_by_their_names(router):
    frame = _frame(
        nama_pelapor=["Siti Aminah", "Budi Santoso", None],
        no_hp=["0812-1111-2222", "0813-3333-4444", "0814-5555-6666"],
        email=["siti@x.id", "budi@x.id", ""],
        nik=["3171010101900001", "3171 0101 0190 0004", "3171010101900003"],
        catatan=["titip ke Siti Aminah", "rumah Budi Santoso", "NIK 3171010101900009"],
    )
    out = route_frame(router, frame, now=NOW)
    assert list(out["nama_pelapor"])[:2] == [MASK, "Budi Santoso"]  # public names stay
    assert pd.isna(out["nama_pelapor"].iat[2])
    assert list(out["nik"]) == [MASK, MASK, MASK]  # NIK columns: every reporter
    assert list(out["no_hp"]) == [MASK, MASK, MASK]  # phones: patterns for public rows
    assert list(out["email"])[:2] == [MASK, MASK]
    assert list(out["catatan"]) == [f"titip ke {MASK}", "rumah Budi Santoso", f"NIK {MASK}"]
    assert out["text"].iat[0] == f"sampah numpuk, wa {MASK}"


def test_explicit_reporter_columns_are_joined_by_the_recognised_ones(router):
    frame = _frame(pelapor_x=["Siti", "Budi", "Ani"], nik=["3171010101900001"] * 3)
    out = route_frame(router, frame, Columns(reporter=("pelapor_x",)), now=NOW)
    assert list(out["pelapor_x"]) == [MASK, "Budi", MASK]
    assert list(out["nik"]) == [MASK] * 3


def test_private_rows_without_a_reporter_column_warn(router):
    with pytest.warns(PrivacyWarning, match="2 private row"):
        route_frame(router, _frame(), now=NOW)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrivacyWarning)
        route_frame(router, _frame(private=["false"] * 3), now=NOW)


def test_the_vectorized_pre_filter_lets_every_shape_through_and_dates_past():
    from lapor_router.privacy import maybe_personal

    texts = [f"hubungi {v} ya" for v in SHAPES.values()]
    assert maybe_personal(texts).all()
    assert not maybe_personal(
        ["2026-11-03T10:00:00+07:00", "106.8272", "-6.1754", "RT 05 RW 03", "sudin_hub@31.74"]
    ).any()
    assert maybe_personal(["surel: budi@mail.co.id", "ÉLISE@DOMAÏNE.ID"]).all()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.from_regex(r"\A(?:\+62|62|0)[2-9][0-9]{6,12}\Z"),
            st.from_regex(r"\A[ +()0-9.\-]{6,22}\Z"),
            st.from_regex(r"\A(?:\+62|62|0)[0-9]{5,16}\Z"),
            st.text(max_size=30),
        ),
        max_size=20,
    )
)
def test_mask_values_of_an_array_equals_mask_text_of_each(values):
    assert mask_values(values) == [mask_text(v) for v in values]


PIECES = st.sampled_from(
    ["0", "62", "+62", "+", "8", "12", "3456", "7890", "21", "(", ")", " ", "  ", ".", "-",
     "\u00a0", "\u2009", "\x1c", "\u0660", "\u0668", "\u0967", "a", "é", "_", "@", "x.co",
     "3171", "010190", "0004", "31", "71", "\n", "/", "co", "ÏD", "sudin_hub", ".74"]
)  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(
    st.one_of(
        st.lists(PIECES, max_size=14).map("".join),
        st.text(alphabet="0123456789 .-+()@\u00a0\u0660\u0668a", max_size=30),
    )
)
def test_the_pre_filter_passes_everything_mask_text_would_change(text):
    from lapor_router.privacy import maybe_personal

    if mask_text(text) != text:
        assert maybe_personal([text])[0], text


ASCII_PIECES = st.sampled_from(
    ["0", "62", "+62", "+", "8", "12", "3456", "7890", "21", "(", ")", " ", "  ", ".", "-",
     "\t", "\x0b", "\x0c", "\r", "\x1c", "\x1f", "a", "_", "@", "x.co", "3171", "010190",
     "0004", "31", "71", "\n", "/", "\x7f", "co", "ID"]
)  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.lists(ASCII_PIECES, max_size=14).map("".join), min_size=1, max_size=8))
def test_the_ascii_pre_filter_is_the_pre_filter_on_ascii_text(texts):
    import pyarrow as pa
    import pyarrow.compute as pc

    from lapor_router.privacy import _MAYBE, _MAYBE_ASCII, maybe_personal

    array = pa.array(texts, pa.large_string())
    full = pc.match_substring_regex(array, _MAYBE).to_pylist()
    assert pc.match_substring_regex(array, _MAYBE_ASCII).to_pylist() == full
    assert maybe_personal(array).tolist() == full
    assert maybe_personal([*texts, "é"]).tolist() == [*full, False]  # not ASCII: the full one


@settings(max_examples=1500, deadline=None)
@given(
    st.one_of(
        st.lists(st.one_of(PIECES, ASCII_PIECES), max_size=14).map("".join),
        st.text(alphabet="0123456789 .-+()@\u00a0\u0660\u0668aZ_", max_size=30),
        st.text(max_size=30),
    )
)
@example("@x.co")  # an e-mail ending at its two letters
@example("surel budi@mail.co")
@example("08\u0661\u0662\u0663\u0664\u0665\u0666\u0667")  # Unicode digits after 0 and 8
@example("\u0663\u0661\u0667\u0661" * 4)  # a NIK in Arabic-Indic digits
@example("08123456")  # the shortest phone: 8 digits
@example("tel:+62 812 3456 7890")  # after a character that is not a word character
@example("(021) 5551234")  # a "(" before its start
@example("nik 31.71.01.010190.0004")  # a grouped NIK
@example("2026-11-02 0812345678")  # a phone in the run of digits a date starts
@example("+3171010101900004")  # a NIK after a "+"
def test_the_compiled_pass_lets_through_everything_the_pattern_matches(text):
    import pyarrow as pa

    from lapor_router.dispatch.kernels import may_be_personal
    from lapor_router.normalize.strings import utf8_buffers
    from lapor_router.privacy import maybe_personal

    if maybe_personal([text])[0]:
        assert may_be_personal(*utf8_buffers(pa.array([text], pa.large_string())))[0], text


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.lists(PIECES, max_size=10).map("".join), st.none()), max_size=40),
    st.sampled_from(["", "sudin_hub@31.74", "0812 3456 7890", "x"]),
    st.integers(0, 60),
)
def test_the_column_pre_filter_is_the_pattern_cell_by_cell(cells, filler, fill):
    """Sparse columns (the pattern on the cells the pass finds) and dense ones (on all)."""
    import pyarrow as pa

    from lapor_router.dispatch.frames import _maybe_personal
    from lapor_router.privacy import maybe_personal

    for array in (
        pa.array([*cells, *[filler] * fill], t) for t in (pa.string(), pa.large_string())
    ):
        want = [bool(maybe_personal([v])[0]) if v is not None else False for v in array.to_pylist()]
        assert _maybe_personal(array).tolist() == want
        assert _maybe_personal(array.slice(1)).tolist() == want[1:]
