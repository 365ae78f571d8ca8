"""Compiled kernels (numba) of the normalize stage: where, in a batch of texts, a place hit
may start; which text cells are decimal literals.

:class:`~.places.PlaceFinder` reads a text with one regular expression whose every hit
starts at a word. Trying the expression at every word start costs the engine a call each;
for a batch, this kernel first looks at every word start of all texts at once and keeps
those whose leading run of letters is the leading run of some name or keyword (an FNV-1a
hash looked up in a sorted table), so the expression is tried only there. A kept start is
a candidate, not a hit: the expression decides. Compiled on first use and cached on disk
by numba (``cache=True``); imported lazily, so finding the places of one text does not
load numba.
"""

from __future__ import annotations

import numba
import numpy as np

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
_MASK = (1 << 64) - 1


def run_hash(letters: str) -> int:
    """The FNV-1a hash of a run of letters, as the kernel computes it."""
    h = FNV_OFFSET
    for byte in letters.encode("ascii"):
        h = ((h ^ byte) * FNV_PRIME) & _MASK
    return h


@numba.njit(cache=True, nogil=True)
def candidate_starts(buf: np.ndarray, table: np.ndarray, out: np.ndarray) -> int:
    """Into ``out``, the positions ``i`` (in order) where ``buf[i]`` is not a lower-case
    letter or digit and the run of letters ``a-z`` from ``i + 1`` has its hash in the
    sorted ``table``; returns how many. ``out`` holds at least ``len(buf)`` entries."""
    n = buf.shape[0]
    m = table.shape[0]
    count = 0
    prev_word = True  # the byte before buf[0] counts as a word byte: no start at 0
    for i in range(n):
        c = buf[i]
        is_word = (97 <= c <= 122) or (48 <= c <= 57)
        if is_word and not prev_word and i > 0:
            h = np.uint64(FNV_OFFSET)
            j = i
            while j < n and 97 <= buf[j] <= 122:
                h = (h ^ np.uint64(buf[j])) * np.uint64(FNV_PRIME)
                j += 1
            lo = 0
            hi = m
            while lo < hi:
                mid = (lo + hi) >> 1
                if table[mid] < h:
                    lo = mid + 1
                else:
                    hi = mid
            if lo < m and table[lo] == h:
                out[count] = i - 1
                count += 1
        prev_word = is_word
    return count


@numba.njit(cache=True, nogil=True)
def expand_words(
    raw_ids: np.ndarray,  # int64: every word found, text after text (ids of distinct words)
    per_text: np.ndarray,  # int64: how many words each text has
    piece_start: np.ndarray,  # int64 (distinct + 1): where each distinct word's pieces are
    piece_ids: np.ndarray,  # int64: the pieces (vocabulary ids)
) -> tuple[np.ndarray, np.ndarray]:
    """(words, offsets): every text's words with each found word replaced by its pieces
    and a word equal to the one before it in the same text dropped."""
    total = 0
    for i in range(raw_ids.shape[0]):
        r = raw_ids[i]
        total += piece_start[r + 1] - piece_start[r]
    out = np.empty(total, dtype=np.int32)
    offsets = np.zeros(per_text.shape[0] + 1, dtype=np.int64)
    k = 0
    pos = 0
    for t in range(per_text.shape[0]):
        last = -1
        for _ in range(per_text[t]):
            r = raw_ids[pos]
            pos += 1
            for q in range(piece_start[r], piece_start[r + 1]):
                w = piece_ids[q]
                if w != last:
                    out[k] = w
                    k += 1
                    last = w
        offsets[t + 1] = k
    return out[:k], offsets


@numba.njit(cache=True, nogil=True)
def decimal_literals(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    r"""Per cell (UTF-8 ``data`` between ``offsets``): True where the whole cell is a decimal
    literal, ``[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?`` as a CSV export
    writes a number (ASCII digits only), in one pass over the bytes."""
    n = offsets.shape[0] - 1
    out = np.zeros(n, dtype=np.bool_)
    for k in range(n):
        i, end = offsets[k], offsets[k + 1]
        if i < end and (data[i] == 43 or data[i] == 45):  # + -
            i += 1
        whole = 0
        while i < end and 48 <= data[i] <= 57:
            whole += 1
            i += 1
        frac = 0
        if i < end and data[i] == 46:  # .
            i += 1
            while i < end and 48 <= data[i] <= 57:
                frac += 1
                i += 1
        if whole == 0 and frac == 0:
            continue
        if i < end and (data[i] == 101 or data[i] == 69):  # e E
            i += 1
            if i < end and (data[i] == 43 or data[i] == 45):
                i += 1
            digits = 0
            while i < end and 48 <= data[i] <= 57:
                digits += 1
                i += 1
            if digits == 0:
                continue
        out[k] = i == end
    return out
