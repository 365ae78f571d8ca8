"""Compiled kernels (numba) of the file stage: CSV rows written from columns of UTF-8 bytes,
quoted as the csv module quotes them. Imported lazily by the writers."""

from __future__ import annotations

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True)

_QUOTE, _COMMA, _NEWLINE = 34, 44, 10


@_jit
def csv_rows(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The bytes of CSV rows: cell (row i, column j) is ``data[starts[i, j]:ends[i, j]]``
    (UTF-8), cells joined by commas, rows ended by ``\\n``. A cell is quoted when it holds a
    comma, a quote or a newline (quotes doubled), or when it is the empty only cell of a
    row: the csv module's ``QUOTE_MINIMAL`` with ``lineterminator="\\n"``, as pandas writes."""
    n, ncol = starts.shape
    # room for the worst case: every cell quoted, every byte a doubled quote
    out = np.empty(2 * len(data) + 3 * n * ncol + n, dtype=np.uint8)
    p = 0
    for i in range(n):
        for j in range(ncol):
            if j:
                out[p] = _COMMA
                p += 1
            s, e = starts[i, j], ends[i, j]
            begin = p
            special = ncol == 1 and e == s
            for k in range(s, e):  # copied as it is until a byte asks for quotes
                c = data[k]
                if c in (_QUOTE, _COMMA, _NEWLINE):
                    special = True
                    break
                out[p] = c
                p += 1
            if special:
                p = begin
                out[p] = _QUOTE
                p += 1
                for k in range(s, e):
                    c = data[k]
                    out[p] = c
                    p += 1
                    if c == _QUOTE:
                        out[p] = _QUOTE
                        p += 1
                out[p] = _QUOTE
                p += 1
        out[p] = _NEWLINE
        p += 1
    return out[:p]
