"""A category classifier an agency trains on its own labelled reports.

Features are those of the keyword classifier's reading of a text (:mod:`.classify`: slang,
hashtags, roots): each word is the unit-length TF-IDF vector of itself, its root and its
character 3–5-grams weighted by their smoothed IDF, a word pair one IDF-weighted feature;
a text is the sum of its words' and pairs' vectors, divided by the root of the sum of their
squared lengths (unit length but for the few n-grams two words of a text share). Since a
word's vector does not depend on the text, its score under the model and its squared length
are computed once per word, and scoring a text is a sum of cached word scores. The keyword
classifier's five best scores of the text are features too, weighted by a factor chosen by
cross-validation on the labelled texts: the rule set's knowledge carries over to wordings
the labelled texts lack. A
multinomial logistic regression (scikit-learn, training only) scores the categories; its
probabilities are calibrated by temperature scaling fitted on cross-validated scores.
:func:`train` writes a model file (``.npz``: arrays only, no pickled code) that names its
format version, the rule set it was trained for and its confidence threshold;
:class:`ModelClassifier` uses it above that threshold and falls back to the keyword
classifier below it. Using a model needs numpy only: scikit-learn is imported by
:func:`train` alone.
"""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from ..normalize import is_missing
from ..normalize.memory import no_gc
from ..normalize.text import clean_text
from .classify import CategoryGuess, Classifier

FORMAT = "lapor-router-category-model"
FORMAT_VERSION = 1
_BATCH_MIN = 64  # distinct texts from which they are scored all at once
_CHARS = (3, 5)  # character n-gram sizes, inside "<word>"


def _char_grams(word: str) -> list[str]:
    w = f"<{word}>"
    lo, hi = _CHARS
    return [f"c:{w[i : i + n]}" for n in range(lo, hi + 1) for i in range(len(w) - n + 1)]


class Features:
    """Feature strings of texts as a classifier reads them (cached per word)."""

    def __init__(self, reader: Classifier) -> None:
        self.reader = reader
        self._word_cache: dict[str, list[str]] = {}

    def of_word(self, word: str) -> list[str]:
        """The features of one word: itself, its root and its character n-grams."""
        grams = self._word_cache.get(word)
        if grams is None:
            root = self.reader.stemmer.stem(word)
            grams = [f"w:{word}", *([f"r:{root}"] if root != word else []), *_char_grams(word)]
            if len(self._word_cache) < 500_000:
                self._word_cache[word] = grams
        return grams


@dataclass
class _Arrays:
    coef: np.ndarray  # (features, categories) float32
    intercept: np.ndarray  # (categories,)
    idf: np.ndarray  # (features,)
    temperature: float


class ModelClassifier:
    """Categories from a trained model above its threshold, from ``fallback`` (the keyword
    classifier of the same rule set) below it; given categories and mismatches are checked
    as the keyword classifier checks them."""

    def __init__(
        self, path: str | Path, fallback: Classifier, threshold: float | None = None
    ) -> None:
        self.path = Path(path)
        meta, arrays, vocabulary = _load(self.path)
        self.meta = meta
        self.classes: list[str] = list(meta["classes"])
        unknown = [c for c in self.classes if c not in fallback.categories]
        if unknown:
            raise ModelError(
                self.path, f"categories {unknown[:5]} are not in the rule set; retrain the model"
            )
        self.fallback = fallback
        self.categories = fallback.categories
        self.threshold = float(meta["threshold"] if threshold is None else threshold)
        self.name = f"model:{meta['name']}@{meta['trained_at']}"
        self._arrays = arrays
        self._index = {f: i for i, f in enumerate(vocabulary)}
        self._features = Features(fallback)
        self._word_scores: dict[str, tuple[np.ndarray, float]] = {}
        self._keyword_scale = float(meta.get("keyword_scale", 0.0))
        self._zero = np.zeros(len(self.classes), dtype=np.float32)
        self._proba_cache: dict[str, np.ndarray] = {}
        self._bigrams = {
            tuple(f[2:].split("_", 1)): j
            for f, j in self._index.items()
            if f.startswith("b:") and "_" in f
        }

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_proba_cache"] = {}
        return state

    # the keyword classifier's parts, for callers that use them directly
    def tokens(self, text: object) -> list[str]:
        return self.fallback.tokens(text)

    def emergency(self, category: Any, text: object) -> bool:
        return self.fallback.emergency(category, text)

    def resolve_given(self, given: str) -> tuple[str | None, str | None]:
        return self.fallback.resolve_given(given)

    def probabilities(self, texts: Sequence[object]) -> np.ndarray:
        """(texts, categories) calibrated probabilities; rows of zeros for texts that have
        no known feature."""
        keys = ["" if is_missing(t) else str(t) for t in texts]
        todo = list(dict.fromkeys(k for k in keys if k not in self._proba_cache))
        if todo:
            rows = self._score_batch(todo) if len(todo) >= _BATCH_MIN else self._score(todo)
            for key, row in zip(todo, rows, strict=True):
                if len(self._proba_cache) < 200_000:
                    self._proba_cache[key] = row
                else:
                    self._proba_cache.setdefault(key, row)
            fresh = dict(zip(todo, rows, strict=True))
        else:
            fresh = {}
        if not keys:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        cache = self._proba_cache
        return np.stack([fresh[k] if k in fresh else cache[k] for k in keys]).astype(
            np.float32, copy=False
        )

    def _word_score(self, word: str) -> tuple[np.ndarray, float]:
        """The model's scores of one word's vector and its squared length (cached)."""
        got = self._word_scores.get(word)
        if got is None:
            a = self._arrays
            ids, w = _word_vector(self._features.of_word(word), self._index, a.idf)
            scores: np.ndarray = (a.coef[ids] * w[:, None]).sum(axis=0) if len(ids) else self._zero
            got = (scores, float(np.dot(w, w)))
            if len(self._word_scores) < 500_000:
                self._word_scores[word] = got
        return got

    def _score(self, texts: list[str]) -> np.ndarray:
        """Calibrated probabilities of ``texts`` (rows of zeros: no known feature)."""
        a = self._arrays
        scores = np.zeros((len(texts), len(self.classes)), dtype=np.float32)
        has = np.zeros(len(texts), dtype=bool)
        for i, text in enumerate(texts):
            tokens = self.fallback.tokens(text)
            if not tokens:
                continue
            total, square = self._zero.copy(), 0.0
            for t in tokens:
                vec, sq = self._word_score(t)
                total += vec
                square += sq
            for left, right in pairwise(tokens):
                j = self._index.get(f"b:{left}_{right}")
                if j is not None:
                    total += a.coef[j] * a.idf[j]
                    square += float(a.idf[j]) ** 2
            if square > 0:
                scores[i] = total / np.sqrt(square)
                has[i] = True
            if self._keyword_scale:
                for code, value in _keyword_scores(self.fallback, text):
                    j = self._index.get(f"k:{code}")
                    if j is not None and value:
                        scores[i] += a.coef[j] * (value * self._keyword_scale)
                        has[i] = True
        return self._softmax(scores, has)

    def _softmax(self, scores: np.ndarray, has: np.ndarray) -> np.ndarray:
        a = self._arrays
        z = (scores + a.intercept) / a.temperature
        z -= z.max(axis=1, keepdims=True)
        prob: np.ndarray = np.exp(z)
        prob /= prob.sum(axis=1, keepdims=True)
        prob[~has] = 0.0
        return prob

    def _score_batch(self, texts: list[str]) -> np.ndarray:
        """:meth:`_score` of many texts, the same numbers: words read at once, each word's
        scores looked up (computed once per new word) and summed by a compiled kernel."""
        from .kernels import model_scores

        a = self._arrays
        fb = self.fallback
        ka = fb.keyword_arrays(texts, top=_KEYWORD_TOP)
        batch = ka.batch
        vocab = batch.vocab
        got = [self._word_score(w) for w in vocab]
        n_cat = len(self.classes)
        vecs = np.stack([g[0] for g in got]) if got else np.zeros((0, n_cat), np.float32)
        squares = np.fromiter((g[1] for g in got), dtype=np.float64, count=len(got))
        ids = batch.ids.astype(np.int64)
        # the feature of each word pair (a word and the next one of the same text)
        pair = np.full(len(ids), -1, dtype=np.int64)
        if len(ids) > 1 and self._bigrams:
            at = {w: i for i, w in enumerate(vocab)}
            size = len(vocab)
            known = [
                (at[left] * size + at[right], j)
                for (left, right), j in self._bigrams.items()
                if left in at and right in at
            ]
            if known:
                keys = np.array([k for k, _ in known], dtype=np.int64)
                feats = np.array([j for _, j in known], dtype=np.int64)
                order = np.argsort(keys)
                keys, feats = keys[order], feats[order]
                wanted = ids[:-1] * size + ids[1:]
                pos = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
                hit = keys[pos] == wanted
                pair[:-1] = np.where(hit, feats[pos], -1)
                pair[batch.offsets[1:] - 1] = -1  # the last word of a text has no next
        k = ka.order.shape[1]
        kw_feature = np.full((len(texts), k), -1, dtype=np.int64)
        kw_value = np.zeros((len(texts), k), dtype=np.float64)
        if self._keyword_scale:
            code_feature = np.array(
                [self._index.get(f"k:{c}", -1) for c in fb.codes], dtype=np.int64
            )
            kw_feature = np.where(ka.top_group < 2, code_feature[ka.order], -1)
            kw_value = ka.top_score * self._keyword_scale
        scores, has = model_scores(
            ids, batch.offsets, vecs, squares, pair, a.coef, a.idf, kw_feature, kw_value
        )
        return self._softmax(scores, has)

    def classify(self, given: str | None, text: object) -> CategoryGuess:
        return self.classify_many([given], [text])[0]

    def classify_many(
        self, givens: Sequence[str | None], texts: Sequence[object]
    ) -> list[CategoryGuess]:
        """:meth:`classify` for many reports, the model run once over all their texts; the
        keyword classifier runs only for given categories and below the threshold (on
        those reports at once)."""
        if len(texts) >= _BATCH_MIN:
            with no_gc():
                return self._classify_many(givens, texts)
        return self._classify_many(givens, texts)

    def _classify_many(
        self, givens: Sequence[str | None], texts: Sequence[object]
    ) -> list[CategoryGuess]:
        proba = self.probabilities(texts)
        n = len(texts)
        order = np.argsort(-proba, axis=1)[:, :3] if n else np.zeros((0, 3), dtype=np.int64)
        top_p = np.take_along_axis(proba, order, axis=1)
        conf = top_p[:, 0].astype(np.float64) if n else np.zeros(0)
        has = top_p[:, 0] > 0 if n else np.zeros(0, dtype=bool)
        given_text = [not is_missing(g) and bool(str(g).strip()) for g in givens]
        by_model = has & (conf >= self.threshold) & ~np.asarray(given_text, dtype=bool)
        rest = np.flatnonzero(~by_model).tolist()
        keyword = dict(
            zip(
                rest,
                self.fallback.classify_many([givens[i] for i in rest], [texts[i] for i in rest]),
                strict=True,
            )
        )
        model_at = np.flatnonzero(by_model).tolist()
        text_flags = dict(zip(model_at, self._flags_of([texts[i] for i in model_at]), strict=True))
        names = np.asarray(self.classes, dtype=object)[order].tolist()
        # (float32 values: np.round rounds them as round() does)
        values = np.round(top_p.astype(np.float64), 3).tolist()
        n_top = (top_p > 0).sum(axis=1).tolist()
        conf_l = conf.tolist()
        out = []
        for i in range(n):
            k = n_top[i]
            top = tuple(zip(names[i][:k], values[i][:k], strict=True))
            best = names[i][0] if top else None
            c = conf_l[i] if top else 0.0
            if i in text_flags:
                flags = text_flags[i] - {"text_missing"}
                out.append(CategoryGuess(best, "inferred", None, flags, (), top, self.name))
                continue
            kw = keyword[i]
            if kw.source in ("given", "corrected"):
                if kw.code != best and c >= max(self.threshold, 0.8):
                    flags = kw.flags | {"category_mismatch"}
                    guess = CategoryGuess(kw.code, kw.source, best, flags, (), top, self.name)
                else:
                    flags = kw.flags - {"category_mismatch"}
                    guess = CategoryGuess(
                        kw.code, kw.source, None, flags, kw.matched, top, self.name
                    )
            else:  # below the threshold: the keyword classifier decides
                guess = kw
            out.append(guess)
        return out

    def _flags_of(self, texts: Sequence[object]) -> list[frozenset[str]]:
        if len(texts) >= _BATCH_MIN:
            from ..normalize.tokens import text_flags_many

            return text_flags_many(texts)
        return [clean_text(t)[1] for t in texts]


# ----------------------------------------------------------------------------- files


def _load(path: Path) -> tuple[dict[str, Any], _Arrays, list[str]]:
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode("utf-8"))
            if meta.get("format") != FORMAT:
                raise ModelError(path, "not a lapor_router category model")
            if meta.get("format_version") != FORMAT_VERSION:
                raise ModelError(
                    path,
                    f"model format {meta.get('format_version')}, this lapor_router reads "
                    f"format {FORMAT_VERSION}; retrain it with `lapor-router category train`",
                )
            arrays = _Arrays(
                z["coef"].astype(np.float32),
                z["intercept"].astype(np.float32),
                z["idf"].astype(np.float32),
                float(meta["temperature"]),
            )
            vocabulary = [str(v) for v in z["vocabulary"].tolist()]
    except ModelError:
        raise
    except FileNotFoundError as exc:
        raise ModelError(path, "no such model file") from exc
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise ModelError(path, f"damaged or unreadable model file ({exc})") from exc
    n_feat, n_cls = len(vocabulary), len(meta.get("classes", ()))
    if arrays.coef.shape != (n_feat, n_cls) or arrays.idf.shape != (n_feat,):
        raise ModelError(path, "damaged model file (array shapes do not match)")
    if not 0 < arrays.temperature < 1000 or not np.isfinite(arrays.coef).all():
        raise ModelError(path, "damaged model file (values out of range)")
    return meta, arrays, vocabulary


def train(
    texts: Sequence[object],
    labels: Sequence[str],
    reader: Classifier,
    output: str | Path,
    rule_set: str,
    name: str | None = None,
    threshold: float = 0.5,
    c: float = 10.0,
) -> dict[str, Any]:
    """Train a model on labelled texts and write it to ``output``; returns its metadata.
    ``reader`` is the keyword classifier of the rule set the labels belong to."""
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
    except ImportError as exc:  # pragma: no cover - the extra is missing
        raise ModelError(
            output, "training needs scikit-learn: pip install 'lapor_router[model]'"
        ) from exc
    unknown = sorted({str(lab) for lab in labels} - set(reader.categories))
    if unknown:
        raise ModelError(output, f"labels {unknown[:5]} are not categories of the rule set")
    if len(texts) != len(labels) or len(set(labels)) < 2:
        raise ModelError(output, "need texts and labels of the same length and two categories")
    feats = Features(reader)
    tokens = [reader.tokens(t) for t in texts]
    df: dict[str, int] = {}
    for toks in tokens:
        seen = {f for t in toks for f in feats.of_word(t)}
        seen |= {f"b:{a}_{b}" for a, b in pairwise(toks)}
        for f in seen:
            df[f] = df.get(f, 0) + 1
    vocabulary = sorted(f for f, k in df.items() if k >= 2 or not f.startswith("c:"))
    index = {f: i for i, f in enumerate(vocabulary)}
    n = len(tokens)
    idf = np.array([math.log((1 + n) / (1 + df[f])) + 1.0 for f in vocabulary], dtype=np.float32)
    text_x = _matrix(tokens, feats, index, idf)
    # the keyword classifier's scores are features too: the rule set's knowledge carries
    # over to wordings the labelled texts lack; their weight is chosen by cross-validation
    codes = sorted(reader.categories)
    keyword_x = _keyword_matrix(reader, texts, codes)
    vocabulary += [f"k:{code}" for code in codes]
    idf = np.concatenate([idf, np.ones(len(codes), dtype=np.float32)])
    classes = sorted(set(map(str, labels)))
    y = np.array([classes.index(str(lab)) for lab in labels])
    model = LogisticRegression(C=c, max_iter=3000)
    folds = min(5, int(np.bincount(y).min()))
    scale = _KEYWORD_SCALES[len(_KEYWORD_SCALES) // 2]
    if folds >= 3:
        cv3 = StratifiedKFold(3, shuffle=True, random_state=0)
        accuracy = {
            k: float(
                (cross_val_predict(model, _joined(text_x, keyword_x, k), y, cv=cv3) == y).mean()
            )
            for k in _KEYWORD_SCALES
        }
        scale = max(_KEYWORD_SCALES, key=lambda k: (accuracy[k], -abs(k - 0.1)))
    x = _joined(text_x, keyword_x, scale)
    temperature = 1.0
    if folds >= 2:
        cv = StratifiedKFold(folds, shuffle=True, random_state=0)
        scores = cross_val_predict(model, x, y, cv=cv, method="decision_function")
        temperature = _fit_temperature(np.asarray(scores), y)
    model.fit(x, y)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name or Path(output).stem,
        "rule_set": rule_set,
        "classes": classes,
        "threshold": threshold,
        "temperature": temperature,
        "trained_at": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        "texts": n,
        "features": len(vocabulary),
        "c": c,
        "keyword_scale": scale,
    }
    out = Path(output)
    tmp = out.with_name(out.name + ".tmp.npz")
    np.savez_compressed(
        tmp,
        meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
        coef=model.coef_.T.astype(np.float32),
        intercept=model.intercept_.astype(np.float32),
        idf=idf,
        vocabulary=np.array(vocabulary, dtype=str),
    )
    tmp.replace(out)
    return meta


_KEYWORD_SCALES = (0.05, 0.1, 0.2)  # weights of the keyword scores tried by cross-validation
_KEYWORD_TOP = 5  # keyword candidates a text contributes


def _keyword_scores(reader: Classifier, text: object) -> list[tuple[str, float]]:
    """The keyword classifier's best candidates of a text, after its outranks policy."""
    body = "" if is_missing(text) else str(text)
    score, _ = reader.scores(body)
    return reader.ranked(score)[:_KEYWORD_TOP]


def _keyword_matrix(reader: Classifier, texts: Sequence[object], codes: list[str]) -> Any:
    from scipy.sparse import csr_matrix

    at = {c: i for i, c in enumerate(codes)}
    rows, cols, vals = [], [], []
    for i, text in enumerate(texts):
        for code, value in _keyword_scores(reader, text):
            rows.append(i)
            cols.append(at[code])
            vals.append(value)
    return csr_matrix(
        (np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(len(texts), len(codes))
    )


def _joined(text_x: Any, keyword_x: Any, scale: float) -> Any:
    from scipy.sparse import hstack

    return hstack([text_x, keyword_x * scale]).tocsr()


def _word_vector(
    features: list[str], index: Mapping[str, int], idf: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(feature ids, weights) of one word: the IDF of its known features."""
    ids = np.array(sorted({index[f] for f in features if f in index}), dtype=np.int64)
    return ids, idf[ids].astype(np.float32)


def _matrix(
    tokens: list[list[str]], feats: Features, index: Mapping[str, int], idf: np.ndarray
) -> Any:
    """The texts' feature rows as :class:`ModelClassifier` computes them (sparse)."""
    from scipy.sparse import csr_matrix

    words: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    rows, cols, vals = [], [], []
    for i, toks in enumerate(tokens):
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        for t in toks:
            if t not in words:
                words[t] = _word_vector(feats.of_word(t), index, idf)
            parts.append(words[t])
        for left, right in pairwise(toks):
            j = index.get(f"b:{left}_{right}")
            if j is not None:
                parts.append((np.array([j]), np.array([idf[j]], dtype=np.float32)))
        square = sum(float(np.dot(w, w)) for _, w in parts)
        scale = 1.0 / math.sqrt(square) if square > 0 else 0.0
        for ids, w in parts:
            rows.append(np.full(len(ids), i))
            cols.append(ids)
            vals.append(w * scale)
    m = csr_matrix(
        (
            np.concatenate(vals) if vals else np.zeros(0, np.float32),
            (np.concatenate(rows) if rows else [], np.concatenate(cols) if cols else []),
        ),
        shape=(len(tokens), len(index)),
    )
    m.sum_duplicates()
    return m


def _fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """The temperature that minimizes the log loss of softmax(scores / T) (golden section)."""

    def loss(t: float) -> float:
        z = scores / t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(y)), y].mean())

    lo, hi = math.log(0.05), math.log(20.0)
    g = (math.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    for _ in range(60):
        if loss(math.exp(a)) < loss(math.exp(b)):
            hi = b
        else:
            lo = a
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    return float(math.exp((lo + hi) / 2))


# ------------------------------------------------------------------------- evaluation


def evaluate(
    truth: Sequence[str], predicted: Sequence[str | None], classes: Iterable[str]
) -> dict[str, Any]:
    """Per-category precision, recall and F1, their macro average, the triage rate (no
    category) and the confusion counts {true: {predicted: n}} (triage as ``(triage)``)."""
    labels = sorted(set(classes) | set(truth))
    confusion: dict[str, dict[str, int]] = {t: {} for t in labels}
    for t, p in zip(truth, predicted, strict=True):
        key = p if p is not None else "(triage)"
        confusion[t][key] = confusion[t].get(key, 0) + 1
    per: dict[str, dict[str, float]] = {}
    for c in labels:
        tp = confusion[c].get(c, 0)
        fn = sum(confusion[c].values()) - tp
        fp = sum(row.get(c, 0) for t, row in confusion.items() if t != c)
        if tp + fn == 0:
            continue
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn)
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per[c] = {"precision": prec, "recall": rec, "f1": f1, "support": tp + fn}
    macro = sum(v["f1"] for v in per.values()) / len(per) if per else 0.0
    triage = sum(p is None for p in predicted) / len(predicted) if predicted else 0.0
    accuracy = sum(t == p for t, p in zip(truth, predicted, strict=True)) / max(len(truth), 1)
    return {
        "macro_f1": macro,
        "accuracy": accuracy,
        "triage_rate": triage,
        "per_category": per,
        "confusion": confusion,
    }
