"""Compiled kernel (numba) of the normalize stage: where, in a batch of texts, a place hit
may start.

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
