"""Raw coordinate and accuracy values as float64 arrays, with a reason for each value that
cannot be a number (``missing``, ``not_a_number``, ``not_finite``, ``out_of_range``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

MISSING = "missing"
NOT_A_NUMBER = "not_a_number"
NOT_FINITE = "not_finite"
OUT_OF_RANGE = "out_of_range"
REASONS = (None, MISSING, NOT_A_NUMBER, NOT_FINITE, OUT_OF_RANGE)  # int8 codes 0..4
_CODE = {r: i for i, r in enumerate(REASONS)}


def as_array(values: Any, n: int | None = None) -> np.ndarray:
    """A 1-d array from a scalar, sequence, numpy array or pandas column (broadcast to n)."""
    if isinstance(values, pd.Series | pd.Index):
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
            values.dtype
        ):
            arr = values.to_numpy(dtype="float64", na_value=np.nan)
        else:
            arr = values.to_numpy(dtype=object)
    elif isinstance(values, np.ndarray):
        arr = values
    elif isinstance(values, str | bytes) or not isinstance(values, Iterable):
        arr = np.array([values], dtype=object)
    else:
        items = list(values)
        arr = np.fromiter(items, dtype=object, count=len(items))  # elements kept as they are
    arr = arr.reshape(-1) if arr.ndim != 1 else arr
    if n is not None and len(arr) == 1 and n != 1:
        arr = np.repeat(arr, n)
    return arr


def _parse_one(v: Any) -> tuple[float, str | None]:
    if v is None or v is pd.NA or v is pd.NaT:
        return np.nan, MISSING
    if isinstance(v, bool | np.bool_):
        return np.nan, NOT_A_NUMBER
    if isinstance(v, int | float | np.integer | np.floating):
        f = float(v)
        if np.isnan(f):
            return f, MISSING
        return f, None if np.isfinite(f) else NOT_FINITE
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    if isinstance(v, str):
        text = v.strip()
        if not text:
            return np.nan, MISSING
        if "," in text and "." not in text and text.count(",") == 1:
            text = text.replace(",", ".")  # decimal comma, common in Indonesian spreadsheets
        try:
            f = float(text)
        except ValueError:
            return np.nan, NOT_A_NUMBER
        if np.isnan(f):
            return np.nan, NOT_A_NUMBER
        return f, None if np.isfinite(f) else NOT_FINITE
    return np.nan, NOT_A_NUMBER


def coerce_floats(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float64 values and an int8 reason code per value (0 where it is a number; else the
    index of the reason in :data:`REASONS`)."""
    reason = np.zeros(len(values), dtype=np.int8)
    if values.dtype.kind in "fiu":
        out = values.astype("float64", copy=False)
        reason[np.isnan(out)] = _CODE[MISSING]
        reason[np.isinf(out)] = _CODE[NOT_FINITE]
        return out, reason
    if values.dtype.kind == "b":
        reason[:] = _CODE[NOT_A_NUMBER]
        return np.full(len(values), np.nan), reason
    # fast path: what pandas parses as plain numbers; the rest value by value
    out = np.array(pd.to_numeric(pd.Series(values, dtype=object), errors="coerce"), dtype="float64")
    slow = ~np.isfinite(out) | np.array(
        [isinstance(v, bool | np.bool_) for v in values], dtype=bool
    )
    for i in np.flatnonzero(slow).tolist():
        out[i], why = _parse_one(values[i])
        reason[i] = _CODE[why]
    return out, reason


def is_missing(value: Any) -> bool:
    """None, NaN, pd.NA or NaT: what files and frames use for an empty cell."""
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and value != value)
    )


def is_present(value: Any) -> bool:
    """A cell that holds something other than blanks."""
    return value is not None and value == value and str(value).strip() != ""
