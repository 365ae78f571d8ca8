"""Category classification on the evaluation corpus, in one run: the keyword classifier
against a model trained on the corpus' train split, both scored on its held-out test split.

Prints macro-F1, accuracy and triage rate of each, the model's coverage at its threshold,
throughput on distinct texts (batch, as `lapor-router route` classifies: once per distinct
text), model training and load times, and the two affix strippers (PySastrawi's stemmer and
lapor_router's) on the corpus' words.

    python benchmarks/bench_classify.py [--corpus benchmarks/data/complaints.csv] [--texts 50000]
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lapor_router.route import Classifier, RuleGraph
from lapor_router.route.model import ModelClassifier, evaluate, train

ROOT = Path(__file__).resolve().parents[1]


def read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def distinct_texts(rows: list[dict[str, str]], n: int, seed: int = 1) -> list[str]:
    """``n`` different texts of a backlog's length: a corpus text with another RT/RW and house
    number, and three words of another text (other words, places, numbers)."""
    rng = random.Random(seed)
    parts = [r["text"] for r in rows]
    words = [w for t in parts for w in t.split()]
    out = []
    for i in range(n):
        extra = " ".join(rng.choice(words) for _ in range(3))
        out.append(
            f"{rng.choice(parts)} {extra} rt {rng.randint(1, 20)} rw {rng.randint(1, 15)} no {i}"
        )
    return out


def rate(fn, texts: list[str]) -> float:
    t = time.perf_counter()
    fn(texts)
    return len(texts) / (time.perf_counter() - t)


def steady_rate(fn, rows: list[dict[str, str]], n: int, runs: int = 3) -> tuple[float, float]:
    """(first batch, median of ``runs`` later batches) texts/s on ``n`` distinct texts each:
    a batch run classifies chunk after chunk with one classifier, so words met in one chunk
    are known in the next (the first batch pays for its new words and loads the kernels)."""
    first = rate(fn, distinct_texts(rows, n, seed=100))
    later = sorted(rate(fn, distinct_texts(rows, n, seed=101 + k)) for k in range(runs))
    return first, later[runs // 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT / "benchmarks" / "data" / "complaints.csv")
    ap.add_argument("--texts", type=int, default=50_000, help="distinct texts for throughput")
    args = ap.parse_args()
    rows = read(args.corpus)
    train_rows = [r for r in rows if r["split"] == "train"]
    test_rows = [r for r in rows if r["split"] == "test"]
    rg = RuleGraph.default()
    print(
        f"corpus {args.corpus.name}: {len(rows)} texts, {len({r['category'] for r in rows})} "
        f"categories; train {len(train_rows)}, test {len(test_rows)}"
    )
    truth = [r["category"] for r in test_rows]
    texts = [r["text"] for r in test_rows]

    keywords = Classifier(rg.categories, rg.spec)
    kw = evaluate(
        truth, [g.code for g in keywords.classify_many([None] * len(texts), texts)], rg.categories
    )

    with tempfile.TemporaryDirectory() as tmp:
        model_path = Path(tmp) / "model.npz"
        t = time.perf_counter()
        meta = train(
            [r["text"] for r in train_rows],
            [r["category"] for r in train_rows],
            Classifier(rg.categories, rg.spec),
            model_path,
            rule_set=rg.fingerprint,
        )
        train_s = time.perf_counter() - t
        load = subprocess.run(
            [sys.executable, "-c",
             "import time, sys; from lapor_router.route import RuleGraph, Classifier; "
             "rg = RuleGraph.default(); kw = Classifier(rg.categories, rg.spec); "
             "from lapor_router.route.model import ModelClassifier; t = time.perf_counter(); "
             f"m = ModelClassifier({str(model_path)!r}, kw); "
             "print(time.perf_counter() - t, 'sklearn' in sys.modules)"],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        model = ModelClassifier(model_path, Classifier(rg.categories, rg.spec))
        guesses = model.classify_many([None] * len(texts), texts)
        md = evaluate(truth, [g.code for g in guesses], rg.categories)
        coverage = float((model.probabilities(texts).max(axis=1) >= model.threshold).mean())

        t = time.perf_counter()
        cold = Classifier(rg.categories, rg.spec)  # built once per router, timed apart
        build_s = time.perf_counter() - t
        kw_first, kw_rate = steady_rate(
            lambda ts: cold.classify_many([None] * len(ts), ts), rows, args.texts
        )
        fresh = ModelClassifier(model_path, Classifier(rg.categories, rg.spec))
        md_first, md_rate = steady_rate(
            lambda ts: fresh.classify_many([None] * len(ts), ts), rows, args.texts
        )
        fresh2 = ModelClassifier(model_path, Classifier(rg.categories, rg.spec))
        _, proba_rate = steady_rate(fresh2.probabilities, rows, args.texts)
        one = [r["text"] for r in test_rows[:200]]
        single = ModelClassifier(model_path, Classifier(rg.categories, rg.spec))
        t = time.perf_counter()
        for text in one:  # one report at a time, as Router.route classifies
            single.fallback.classify(None, text)
        one_kw = len(one) / (time.perf_counter() - t)
        t = time.perf_counter()
        for text in one:
            single.classify(None, text)
        one_md = len(one) / (time.perf_counter() - t)

    print()
    print(f"{'classifier':28s} {'macro-F1':>9s} {'accuracy':>9s} {'triage':>7s} {'texts/s':>10s}")
    for name, fig, speed in (
        ("keywords", kw, kw_rate),
        ("model (+ keyword fallback)", md, md_rate),
    ):
        print(
            f"{name:28s} {fig['macro_f1']:9.3f} {fig['accuracy']:9.3f} "
            f"{fig['triage_rate']:7.1%} {speed:10,.0f}"
        )
    print(
        f"  texts/s: median of 3 batches of {args.texts:,} distinct texts after a first batch "
        f"(first batch: keywords {kw_first:,.0f}, model {md_first:,.0f}: new words, kernels "
        f"loaded); one text at a time: keywords {one_kw:,.0f}, model {one_md:,.0f}"
    )
    print(
        f"  building the keyword classifier (lexicon, segmenter): {build_s:.2f} s, not timed above"
    )
    print(
        f"  model probabilities alone: {proba_rate:,.0f} texts/s; coverage at threshold "
        f"{model.threshold:g}: {coverage:.1%}"
    )
    print(
        f"  training: {train_s:.1f} s on {meta['texts']} texts ({meta['features']:,} features, "
        f"temperature {meta['temperature']:.2f}); load in a fresh process: {float(load[0]):.3f} s "
        f"(scikit-learn imported: {load[1]})"
    )
    worst = sorted(kw["per_category"].items(), key=lambda kv: kv[1]["f1"])[:5]
    print(
        "  keyword classifier's weakest categories: "
        + ", ".join(f"{c} {v['f1']:.2f}" for c, v in worst)
    )
    stemmers(rows)
    print(f"\nthroughput on {args.texts:,} distinct texts; python {sys.version.split()[0]}")


def stemmers(rows: list[dict[str, str]]) -> None:
    from lapor_router.normalize import text_tokens
    from lapor_router.normalize.stem import Stemmer, sastrawi_roots

    words = sorted({w for r in rows for w in text_tokens(r["text"]) if w.isalpha() and len(w) > 3})
    ours = Stemmer()
    t = time.perf_counter()
    mine = [ours._stem(w) for w in words]
    ours_rate = len(words) / (time.perf_counter() - t)
    try:
        from Sastrawi.Dictionary.ArrayDictionary import ArrayDictionary
        from Sastrawi.Stemmer.Stemmer import Stemmer as SastrawiStemmer
    except ImportError:
        print("  PySastrawi not installed: stemmer comparison skipped")
        return
    ref = SastrawiStemmer(ArrayDictionary(list(sastrawi_roots())))
    t = time.perf_counter()
    theirs = [ref.stem(w) for w in words]
    ref_rate = len(words) / (time.perf_counter() - t)
    same = sum(a == b for a, b in zip(mine, theirs, strict=True)) / len(words)
    print(
        f"  affix stripping of the corpus' {len(words):,} distinct words: lapor_router "
        f"{ours_rate:,.0f} words/s, PySastrawi {ref_rate:,.0f} words/s (uncached); "
        f"same root for {same:.1%}"
    )


if __name__ == "__main__":
    main()
