"""Compiled kernels (numba) of the route stage: keyword scores of many texts at once.

:func:`keyword_scores` is :meth:`~.classify.Classifier.scores` over a whole
:class:`~lapor_router.normalize.tokens.TokenBatch`, with the same sums in the same order (so
the same floats): words and phrases found, each keyword once per category and text, and
every keyword after a causal word weighted ``cause_weight``. Compiled on first use and cached
on disk (``cache=True``); imported lazily, so classifying one text does not load numba.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def keyword_scores(
    ids: np.ndarray,  # int32 word ids of every text, text after text
    offsets: np.ndarray,  # int64 (n + 1)
    root: np.ndarray,  # int32 per word: the id of its root
    causal: np.ndarray,  # bool per word
    m_start: np.ndarray,  # int64 (words + 1): the word's own matches in m_*
    m_cat: np.ndarray,  # int32
    m_kw: np.ndarray,  # int32
    m_weight: np.ndarray,  # float64
    p_start: np.ndarray,  # int64 (words + 1): phrases whose first word is this word
    p_len: np.ndarray,  # int32 per phrase
    p_first: np.ndarray,  # int64 per phrase: where its words are in p_words
    p_words: np.ndarray,  # int32
    p_cat: np.ndarray,  # int32
    p_kw: np.ndarray,  # int32
    n_cat: int,
    n_kw: int,
    phrase_weight: float,
    cause_weight: float,
    max_hits: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """(scores (n, categories), present (n, categories), hit_text, hit_cat, hit_kw, hits):
    the first ``hits`` entries of the hit arrays are the keywords found, text by text, in
    the order they were found."""
    n = offsets.shape[0] - 1
    scores = np.zeros((n, n_cat), dtype=np.float64)
    present = np.zeros((n, n_cat), dtype=np.bool_)
    hit_text = np.empty(max_hits, dtype=np.int32)
    hit_cat = np.empty(max_hits, dtype=np.int32)
    hit_kw = np.empty(max_hits, dtype=np.int32)
    stamp = np.zeros(n_cat * n_kw, dtype=np.int32)  # text + 1 that found (category, keyword)
    h = 0
    for t in range(n):
        s = offsets[t]
        e = offsets[t + 1]
        w = 1.0
        for i in range(s, e):
            tok = ids[i]
            r = root[tok]
            if causal[tok]:
                w = cause_weight
            for key_pass in range(2):
                key = tok if key_pass == 0 else r
                if key_pass == 1 and r == tok:
                    break
                for p in range(p_start[key], p_start[key + 1]):
                    length = p_len[p]
                    if i + length > e:
                        continue
                    first = p_first[p]
                    same = True
                    for k in range(length):
                        if ids[i + k] != p_words[first + k]:
                            same = False
                            break
                    if not same:
                        same = True
                        for k in range(length):
                            if root[ids[i + k]] != p_words[first + k]:
                                same = False
                                break
                    if same:
                        c = p_cat[p]
                        slot = c * n_kw + p_kw[p]
                        if stamp[slot] != t + 1:
                            stamp[slot] = t + 1
                            scores[t, c] += phrase_weight * w
                            present[t, c] = True
                            hit_text[h] = t
                            hit_cat[h] = c
                            hit_kw[h] = p_kw[p]
                            h += 1
            for m in range(m_start[tok], m_start[tok + 1]):
                c = m_cat[m]
                slot = c * n_kw + m_kw[m]
                if stamp[slot] != t + 1:
                    stamp[slot] = t + 1
                    scores[t, c] += m_weight[m] * w
                    present[t, c] = True
                    hit_text[h] = t
                    hit_cat[h] = c
                    hit_kw[h] = m_kw[m]
                    h += 1
    return scores, present, hit_text, hit_cat, hit_kw, h


@numba.njit(cache=True, nogil=True)
def model_scores(
    rows: np.ndarray,  # int64 per word of every text: its row in vecs/squares
    offsets: np.ndarray,  # int64 (n + 1)
    vecs: np.ndarray,  # (words, categories) float32: each word's scores under the model
    squares: np.ndarray,  # float64 per word: its vector's squared length
    pair: np.ndarray,  # int64 per word: the feature of (this word, the next) or -1
    coef: np.ndarray,  # (features, categories) float32
    idf: np.ndarray,  # float32 per feature
    kw_feature: np.ndarray,  # (n, k) int64: keyword-score features, -1 for none
    kw_value: np.ndarray,  # (n, k) float64: their values times the keyword scale
) -> tuple[np.ndarray, np.ndarray]:
    """(scores (n, categories) float32, has (n,)): :meth:`ModelClassifier._score`'s sums
    before the softmax, the same float32 and float64 operations in the same order."""
    n = offsets.shape[0] - 1
    n_cat = vecs.shape[1]
    out = np.zeros((n, n_cat), dtype=np.float32)
    has = np.zeros(n, dtype=np.bool_)
    total = np.zeros(n_cat, dtype=np.float32)
    for t in range(n):
        s = offsets[t]
        e = offsets[t + 1]
        if e > s:
            total[:] = 0
            square = 0.0
            for i in range(s, e):
                r = rows[i]
                for c in range(n_cat):
                    total[c] += vecs[r, c]
                square += squares[r]
            for i in range(s, e - 1):
                j = pair[i]
                if j >= 0:
                    w = idf[j]
                    for c in range(n_cat):
                        total[c] += coef[j, c] * w
                    square += np.float64(w) * np.float64(w)
            if square > 0:
                root = np.sqrt(square)
                for c in range(n_cat):
                    out[t, c] = np.float32(np.float64(total[c]) / root)
                has[t] = True
        for k in range(kw_feature.shape[1]):
            j = kw_feature[t, k]
            v = kw_value[t, k]
            if j >= 0 and v != 0:
                v32 = np.float32(v)
                for c in range(n_cat):
                    out[t, c] += coef[j, c] * v32
                has[t] = True
    return out, has
