"""A batch of texts classified at once gets exactly the guesses each text gets alone: the
keyword classifier's kernel and the model's, with given, misspelt and unknown categories,
texts that cannot be read and texts met for the first time."""

from __future__ import annotations

import csv
import random

import numpy as np
import pyarrow as pa
import pytest

from lapor_router.route import Classifier, RuleGraph
from lapor_router.route.model import ModelClassifier

from conftest import ROOT

CORPUS = ROOT / "benchmarks" / "data" / "complaints.csv"
ODD = ["", "  ", "x" * 30_000, "\x00\x01banjir", "#banjirkiriman di kel klender", "😂", "2"]


def corpus(split: str | None = None) -> list[dict[str, str]]:
    with open(CORPUS, encoding="utf-8", newline="") as fh:
        return [r for r in csv.DictReader(fh) if split is None or r["split"] == split]


def variants(texts: list[str], n: int, seed: int) -> list[str]:
    """Texts never seen before: a corpus text, three words of others and new numbers."""
    rng = random.Random(seed)
    words = [w for t in texts for w in t.split()]
    return [
        f"{rng.choice(texts)} {' '.join(rng.choice(words) for _ in range(3))} no {seed}{i}"
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def rg() -> RuleGraph:
    return RuleGraph.default()


@pytest.fixture(scope="module")
def texts() -> list[str]:
    base = [r["text"] for r in corpus()]
    return base + variants(base, 1500, 1) + ODD


def givens_for(rg: RuleGraph, n: int) -> list[object]:
    rng = random.Random(7)
    misspelt = max(rg.categories, key=len) + "x"
    pool = [*rg.categories, None, "", "  ", "banjir", "Jalan Rusak", "xyz", misspelt, 3]
    return [rng.choice(pool) if rng.random() < 0.4 else None for _ in range(n)]


def test_keyword_batches_guess_as_one_text_at_a_time(rg, texts):
    givens = givens_for(rg, len(texts))
    alone = Classifier(rg.categories, rg.spec)
    expected = [alone.classify(g, t) for g, t in zip(givens, texts, strict=True)]
    batch = Classifier(rg.categories, rg.spec)
    # two batches: the second meets words the first taught the word table
    half = len(texts) // 2
    got = batch.classify_many(givens[:half], texts[:half])
    got += batch.classify_many(givens[half:], texts[half:])
    assert [g == e for g, e in zip(got, expected, strict=True)].count(False) == 0
    assert {g.source for g in got} >= {"given", "corrected", "inferred", None}
    assert any("category_mismatch" in g.flags for g in got)
    assert any("needs_triage" in g.flags for g in got)


def test_values_that_are_not_text_are_guessed_as_alone(rg):
    texts = [None, float("nan"), 12, b"banjir di jalan", "got mampet", *ODD] * 10
    alone = Classifier(rg.categories, rg.spec)
    expected = [alone.classify(None, t) for t in texts]
    assert Classifier(rg.categories, rg.spec).classify_many([None] * len(texts), texts) == expected


def test_the_word_table_keeps_only_words_that_matter(rg):
    clf = Classifier(rg.categories, rg.spec)
    numbers = [f"banjir di rt {i} rw {i + 1} no {i * 7}" for i in range(500)]
    clf.classify_many([None] * len(numbers), numbers)
    assert clf._table is not None
    # house numbers share id 0: the table's arrays do not grow with them
    assert len(clf._table.root) < 5_000
    assert clf._table.word_id["3444"] == 0


def test_model_batches_score_and_guess_as_one_text_at_a_time(rg, texts, model_file):
    alone = ModelClassifier(model_file, Classifier(rg.categories, rg.spec))
    batch = ModelClassifier(model_file, Classifier(rg.categories, rg.spec))
    sample = texts[::3]
    expected_p = np.vstack([alone._score([t]) for t in sample])
    got_p = batch._score_batch(sample)
    assert np.array_equal(expected_p, got_p)  # the same floats, not nearly
    givens = givens_for(rg, len(sample))
    expected = [alone.classify(g, t) for g, t in zip(givens, sample, strict=True)]
    fresh = ModelClassifier(model_file, Classifier(rg.categories, rg.spec))
    got = fresh.classify_many(givens, sample)
    assert [g == e for g, e in zip(got, expected, strict=True)].count(False) == 0
    assert any(g.classifier.startswith("model:") and g.source == "inferred" for g in got)
    assert any(g.classifier.startswith("keywords") for g in got)  # below the threshold


def test_created_at_parsed_in_arrays_is_the_instant_and_flags_of_parse_created():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from lapor_router import Router
    from lapor_router.route.decide import parse_created
    from lapor_router.route.many import _NONE, _created_many

    cal = Router.default().calendar
    now = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
    values = [
        "2026-11-02T07:00:00+07:00", "2026-11-02T07:00:00-03:30", "2026-11-02T23:59:59+00:00",
        "2026-02-30T07:00:00+07:00", "2026-11-02T24:00:00+07:00", "2026-11-02T07:00:60+07:00",
        "2026-11-02T07:00:00+24:00", "2026-11-02T07:00:00", "2026-11-02 07:00:00+07:00",
        "2026-11-02T07:00:00.5+07:00", "2026-11-02T07:00:00Z", "2026-11-02", " ", "", "besok",
        _NONE, datetime(2026, 11, 2, 7, 0), datetime(2026, 11, 2, 7, tzinfo=ZoneInfo("UTC")),
        "٢٠٢٦-11-02T07:00:00+07:00",
    ]  # fmt: skip
    when, codes, sets = _created_many(values, cal, now)
    assert sets[0] == frozenset() and len(set(sets)) == len(sets)
    for v, w, c in zip(values, when, codes, strict=True):
        want, want_flags = parse_created(None if v is _NONE else v, cal, now)
        assert (w.to_pydatetime(), sets[c]) == (want, frozenset(want_flags)), v
    # Arrow text (nulls missing), each value twice: the odd ones are parsed once each
    text = [v for v in values if isinstance(v, str) and v is not _NONE] * 2 + [None]
    when, codes, sets = _created_many(pa.array(text, pa.large_string()), cal, now)
    for v, w, c in zip(text, when, codes, strict=True):
        want, want_flags = parse_created(v, cal, now)
        assert (w.to_pydatetime(), sets[c]) == (want, frozenset(want_flags)), v
