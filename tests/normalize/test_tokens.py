"""Many texts read at once (``tokenize_many``) give exactly the words and flags that
``text_tokens`` and ``clean_text`` give each text alone, whatever the text holds."""

from __future__ import annotations

import csv

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lapor_router.normalize.text import clean_text, text_tokens
from lapor_router.normalize.tokens import text_flags_many, tokenize_many
from lapor_router.route import Classifier, RuleGraph

from conftest import ROOT

ODD = [
    "",
    "   ",
    "\t\n",
    "@a@b banjir",
    "@@x y",
    ".@x z",
    "email budi@mail.com banjir",
    "a/b http://x.y/z www.q.com jalan",
    "lihat bit.ly/abc dan t.co/x",
    "sampahhh numpukkk bangettt",
    "bolong2 mati2 abc2 ab2 2abc sampah2_x",
    "\x00\x01\x02 banjir",
    "Ä Ö é banjir di Kebon Jeruk",
    "😂😂😂",
    "#banjirkiriman #drainaseburuk #cuacaekstrim",
    "#sampah2 #a #ab_cd #PPKM",
    "x" * 25_000,
    "jalan2 jalanan jl jln",
    "gk bs lalin tije",
    "pohontumbang disana dekatsekolah",
    "banjir banjir banjir",
    "jl jalan jalan",
    "Ｆｕｌｌｗｉｄｔｈ ｂａｎｊｉｒ",
    "中文 банjir",
    "\ufffd\ufffd\ufffd",
    "a_b_c __ _",
    "PKL-liar di trotoar!!!",
]
OTHER = [None, float("nan"), 12, 3.5, b"banjir di jalan", bytearray(b"\xff\xfe"), ["x"]]


@pytest.fixture(scope="module")
def segmenter():
    rg = RuleGraph.default()
    return Classifier(rg.categories, rg.spec).segmenter


def corpus() -> list[str]:
    with open(ROOT / "benchmarks" / "data" / "complaints.csv", encoding="utf-8") as fh:
        return [r["text"] for r in csv.DictReader(fh)]


def check(texts, segmenter) -> None:
    batch = tokenize_many(texts, segmenter)
    assert len(batch) == len(texts)
    for i, text in enumerate(texts):
        assert batch.words(i) == text_tokens(text, segmenter), repr(text)[:80]
        assert batch.flags[i] == clean_text(text)[1], repr(text)[:80]
    assert text_flags_many(texts) == [clean_text(t)[1] for t in texts]


def test_the_corpus_and_odd_texts_read_as_one_by_one(segmenter):
    check(corpus() + ODD, segmenter)


def test_values_that_are_not_strings_read_as_one_by_one(segmenter):
    check(ODD + OTHER + corpus()[:50], segmenter)


def test_without_a_segmenter_hashtags_are_plain_words():
    check(["#banjirkiriman di #jalan", "biasa saja", *ODD], None)


def test_an_empty_batch_has_no_words(segmenter):
    batch = tokenize_many([], segmenter)
    assert len(batch) == 0 and len(batch.ids) == 0


PIECES = st.sampled_from(
    [
        "banjir", "Jl", "jln", "#banjirkiriman", "#", "@", "@dki", "2", "bolong2", "sampahhh",
        "http://x.co/a", "www.", "/", ".", "_", " ", "  ", "\n", "é", "😂", "\x01", "PKL",
        "pohontumbang", "gk", "lalin", "-", "RT.010/RW.003", "aaa", "a", "Ö",
    ]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(PIECES, max_size=12).map("".join), min_size=1, max_size=20))
def test_any_mix_of_the_tricky_parts_reads_as_one_by_one(texts):
    rg = RuleGraph.default()
    check(texts, Classifier(rg.categories, rg.spec).segmenter)
