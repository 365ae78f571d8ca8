"""Complaint text read the way citizens write it on social media and in apps."""

from __future__ import annotations

import pytest

from lapor_router.normalize.stem import Stemmer
from lapor_router.normalize.text import clean_text
from lapor_router.route import Classifier, RuleGraph


@pytest.fixture(scope="module")
def reader() -> Classifier:
    rg = RuleGraph.default()
    return Classifier(rg.categories, rg.spec)


def test_hashtags_are_split_into_known_words(reader):
    words = reader.tokens("Kapuk banjir lagi #banjirkiriman #drainaseburuk #cuacaekstrim")
    assert words[-5:] == ["kiriman", "drainase", "buruk", "cuaca", "ekstrem"]
    assert "banjirkiriman" not in words


def test_a_run_together_word_is_split_only_into_known_words(reader):
    assert reader.tokens("pohontumbang nutup jalan")[:2] == ["pohon", "tumbang"]
    assert "kebanjiran" in reader.tokens("rumah kami kebanjiran")  # a real word stays whole


def test_urls_mentions_emoji_and_punctuation_runs_are_dropped(reader):
    words = reader.tokens("BANJIR!!! 😡🙏 @DKIJakarta cek https://t.co/AbC123 dan www.x.id/y ???")
    assert words == ["banjir", "cek", "dan"]


def test_slang_reduplication_and_repeated_letters(reader):
    words = reader.tokens("jln bolong2 gk ditambal2, sampahhh numpuk, lubang-lubang")
    assert words[:2] == ["jalan", "berlubang"] and "tidak" in words
    assert "sampah" in words and words.count("lubang") == 1


@pytest.mark.parametrize(
    ("word", "root"),
    [
        ("menggenangi", "genang"),
        ("tergenang", "genang"),
        ("kebanjiran", "banjir"),
        ("penerangan", "terang"),
        ("pemadaman", "padam"),
        ("perbaikan", "baik"),
        ("diperbaiki", "baik"),
        ("penumpukan", "tumpuk"),
        ("ngerokok", "rokok"),
        ("nyapu", "sapu"),
        ("dibersihin", "bersih"),
        ("pedagangnya", "dagang"),
    ],
)
def test_affixes_are_stripped_to_a_known_root(word, root):
    assert Stemmer().stem(word) == root


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        (None, "text_missing"),
        ("   ", "text_missing"),
        ("水浸街道，请帮忙", "text_unreadable"),
        (b"\xff\xfe\x00\x01binary", "text_unreadable"),
        ("banjir " * 5000, "text_truncated"),
    ],
)
def test_texts_that_cannot_be_read_are_flagged(text, flag):
    _, flags = clean_text(text)
    assert flag in flags


def test_the_issue_texts_get_their_category(reader):
    for text, code in [
        ("Banjir di jl dermaga kp tegal amba rt 14 rw 11 kel klender udh sedada org dewasa "
         "mohon bantuannya", "flooding"),
        ("Kapuk rt 018 rw 012, dan sekitarannya. Mohon diaktifkan pompa di pintu air "
         "terdekat, kirimkan PPSU. BANJIR!!!", "flooding"),
        ("banjir karena drainase buruk", "flooding"),
        ("got mampet, bau", "drain_blocked"),
        ("Kaki Lima Liar - trotoar penuh lapak", "street_vendor"),
        ("PKL liar di depan stasiun", "street_vendor"),
    ]:  # fmt: skip
        guess = reader.classify(None, text)
        assert guess.code == code, (text, guess.candidates)
