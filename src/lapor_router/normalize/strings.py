"""Columns of text as Arrow string arrays, and the UTF-8 bytes behind them, for the
vectorized passes over whole columns (masking, writing)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: the characters ``str.strip()`` removes (``str.isspace``), for Arrow's trim kernels
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


#: pandas' text dtype backed by Arrow (``str``: missing cells are NaN)
TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)


def text_series(text: pa.Array, index: pd.Index | None = None) -> pd.Series:
    """An Arrow string array as a pandas ``str`` column, without copying its cells."""
    if not pa.types.is_large_string(text.type):
        text = text.cast(pa.large_string())
    return pd.Series(pd.array(text, dtype=TEXT_DTYPE), index=index)  # the same buffers


def arrow_text(cells: pd.Series | np.ndarray) -> pa.Array | None:
    """The Arrow array behind a pandas column of Arrow-backed text, else None."""
    array = cells.array if isinstance(cells, pd.Series) else cells
    if isinstance(array, pd.arrays.ArrowStringArray):
        text = pa.array(array)
        return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    return None


def gathered_text(values: Sequence[Any], codes: np.ndarray) -> pa.Array | None:
    """``values[codes]`` as Arrow text (large strings; code -1: null), gathered from one
    value per distinct key without a Python object per row; None when some value is
    neither a ``str`` nor None."""
    if not all(v is None or isinstance(v, str) for v in values):
        return None
    codes = np.asarray(codes, dtype=np.int64)
    if not len(values):
        return pa.nulls(len(codes), pa.large_string())
    dictionary = pa.array(list(values), pa.large_string())
    return dictionary.take(pa.array(codes, mask=codes < 0))


def category_text(column: pd.Series) -> pa.Array | None:
    """A categorical column of text as Arrow text (missing: null), from its codes and
    categories; None for any other column."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return None
    return gathered_text(list(column.cat.categories), column.cat.codes.to_numpy())


def string_array(cells: pd.Series | np.ndarray | pa.Array) -> pa.Array | None:
    """``cells`` (a column, an object array) as a large string array, None and NaN as
    nulls, when every present cell is a ``str``; None when some cell is another type.
    Arrow text (an Arrow array, an Arrow-backed column) is taken as it is."""
    if isinstance(cells, pa.Array):
        textual = pa.types.is_string(cells.type) or pa.types.is_large_string(cells.type)
        return cells.cast(pa.large_string()) if textual else None
    text = arrow_text(cells)
    if text is not None:
        return text.cast(pa.large_string())
    if isinstance(cells, pd.Series):
        cells = cells.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(cells, skipna=True) not in ("string", "empty"):
        return None
    return pa.array(cells, pa.large_string(), from_pandas=True)


def utf8_buffers(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The offsets (int64, one more than the cells, from 0) and UTF-8 bytes of a string
    array's cells (nulls are empty), without copying where Arrow's buffers allow."""
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    text = text.cast(pa.large_string())
    _, offsets_buf, data_buf = text.buffers()
    offsets = np.frombuffer(offsets_buf, np.int64)[text.offset : text.offset + len(text) + 1]
    lo, hi = (int(offsets[0]), int(offsets[-1])) if len(offsets) else (0, 0)
    data = np.frombuffer(data_buf, np.uint8)[lo:hi] if data_buf is not None else None
    return offsets - lo, data if data is not None else np.empty(0, np.uint8)


def stripped(text: pa.Array) -> pa.Array:
    """Each cell with the whitespace ``str.strip()`` removes removed."""
    return pc.utf8_trim(text, PY_WHITESPACE)
