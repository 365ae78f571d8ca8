"""A category model an agency trains on its own history: trained on the corpus' train split,
judged on its test split, refused with a typed error when its file is damaged, and used
above its threshold with the keyword classifier below it."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from lapor_router import Report, Router
from lapor_router.errors import ModelError
from lapor_router.route import Classifier, RuleGraph
from lapor_router.route.model import ModelClassifier, evaluate, train

from conftest import BOUNDARIES, ROOT

CORPUS = ROOT / "benchmarks" / "data" / "complaints.csv"
MONAS = (106.8272, -6.1754)


def rows(split: str) -> list[dict[str, str]]:
    with open(CORPUS, encoding="utf-8", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["split"] == split]


@pytest.fixture(scope="module")
def rg() -> RuleGraph:
    return RuleGraph.default()


def test_the_corpus_covers_every_category_with_a_fixed_split(rg):
    train_rows, test_rows = rows("train"), rows("test")
    assert len(train_rows) + len(test_rows) >= 800
    for code in rg.categories:
        assert sum(r["category"] == code for r in test_rows) >= 5, code
        assert sum(r["category"] == code for r in train_rows) >= 10, code
    assert not {r["id"] for r in train_rows} & {r["id"] for r in test_rows}


def test_the_model_file_names_its_format_rule_set_and_threshold(model_file, rg):
    with np.load(model_file, allow_pickle=False) as z:
        meta = json.loads(bytes(z["meta"]).decode())
    assert meta["format_version"] == 1 and meta["rule_set"] == rg.fingerprint
    assert 0 < meta["threshold"] < 1 and set(meta["classes"]) <= set(rg.categories)


def test_held_out_texts_are_classified_well_by_both_classifiers(model_file, rg):
    test_rows = rows("test")
    texts, truth = [r["text"] for r in test_rows], [r["category"] for r in test_rows]
    keywords = Classifier(rg.categories, rg.spec)
    model = ModelClassifier(model_file, Classifier(rg.categories, rg.spec))
    kw = evaluate(
        truth, [g.code for g in keywords.classify_many([None] * len(texts), texts)], rg.categories
    )
    md = evaluate(
        truth, [g.code for g in model.classify_many([None] * len(texts), texts)], rg.categories
    )
    # measured 0.777 and 0.82 (bench_classify.py); the goals are 0.80 and 0.90 and
    # are not met yet: these floors keep what holds from slipping back
    assert kw["macro_f1"] >= 0.75, kw["macro_f1"]
    assert md["macro_f1"] >= 0.79, md["macro_f1"]
    assert md["macro_f1"] >= kw["macro_f1"] and md["triage_rate"] < kw["triage_rate"]


def test_below_its_threshold_the_keyword_classifier_decides(model_file, rg):
    keywords = Classifier(rg.categories, rg.spec)
    never = ModelClassifier(model_file, keywords, threshold=1.01)
    always = ModelClassifier(model_file, keywords, threshold=0.0)
    text = "jalan berlubang besar di depan sekolah, bahaya buat motor"
    assert never.classify(None, text).classifier == keywords.name
    assert never.classify(None, text) == keywords.classify(None, text)
    guess = always.classify(None, text)
    assert guess.classifier.startswith("model:dinas@") and guess.code == "road_damage"
    assert guess.candidates[0][0] == "road_damage" and len(guess.candidates) == 3


def test_router_decisions_name_the_model(model_file, jakarta):
    router = Router(jakarta, classifier=model_file)
    d = router.route(Report(*MONAS, text="banjir sepinggang, pompa gak jalan"))
    assert d.category == "flooding" and d.classifier.startswith("model:dinas@")
    assert d.dispatch_record()["classifier"] == d.classifier


@pytest.mark.parametrize(
    "damage",
    ["truncated", "not a zip", "wrong format version", "other categories", "missing"],
)
def test_a_damaged_or_foreign_model_file_is_a_typed_error_naming_it(
    model_file, rg, tmp_path, damage
):
    bad = tmp_path / "bad.npz"
    data = model_file.read_bytes()
    if damage == "truncated":
        bad.write_bytes(data[: len(data) // 2])
    elif damage == "not a zip":
        bad.write_bytes(b"this is not a model")
    elif damage in ("wrong format version", "other categories"):
        with np.load(model_file, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(bytes(arrays["meta"]).decode())
        if damage == "wrong format version":
            meta["format_version"] = 99
        else:
            meta["classes"] = ["kuliner", *meta["classes"][1:]]
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        np.savez(bad, **arrays)
    with pytest.raises(ModelError) as err:
        ModelClassifier(bad, Classifier(rg.categories, rg.spec))
    assert str(bad) in str(err.value)
    assert isinstance(err.value.problem, str) and err.value.problem


def test_training_refuses_labels_that_are_no_category(rg, tmp_path):
    with pytest.raises(ModelError, match="kuliner"):
        train(
            ["a", "b"],
            ["garbage", "kuliner"],
            Classifier(rg.categories, rg.spec),
            tmp_path / "m.npz",
            rule_set="x",
        )


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        12345,
        3.5,
        b"\xff\xfe\x00binary",
        "x" * 1_000_000,
        "水浸街道，请帮忙",
        "\x00\x01\x02",
    ],
)
def test_bad_texts_go_to_triage_with_a_flag_and_never_raise(model_file, rg, text):
    model = ModelClassifier(model_file, Classifier(rg.categories, rg.spec))
    for guess in (
        model.classify(None, text),
        Classifier(rg.categories, rg.spec).classify(None, text),
    ):
        if guess.code is None:
            assert "needs_triage" in guess.flags
            assert guess.flags & {
                "text_missing",
                "text_unreadable",
                "text_truncated",
            } or isinstance(text, int | float)


def test_a_router_without_a_model_never_imports_scikit_learn(tmp_path):
    kel = str(BOUNDARIES / "jakarta_kel.parquet")
    code = (
        "import sys; from lapor_router import Router, Report, load_boundaries; "
        f"r = Router(load_boundaries({kel!r})); "
        "r.route(Report(106.8272, -6.1754, text='sampah numpuk')); "
        "print('sklearn' in sys.modules, 'scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
