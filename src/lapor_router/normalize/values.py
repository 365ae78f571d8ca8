"""Raw coordinate and accuracy values as float64 arrays, with a reason for each value that
cannot be a number (``missing``, ``not_a_number``, ``not_finite``, ``out_of_range``)."""

from __future__ import annotations

import numbers
import sys
from collections.abc import Iterable, Mapping, Set
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import CoordinateError

MISSING = "missing"
NOT_A_NUMBER = "not_a_number"
NOT_FINITE = "not_finite"
OUT_OF_RANGE = "out_of_range"
REASONS = (None, MISSING, NOT_A_NUMBER, NOT_FINITE, OUT_OF_RANGE)  # int8 codes 0..4
_CODE = {r: i for i, r in enumerate(REASONS)}


def as_array(values: Any, n: int | None = None, name: str | None = None) -> np.ndarray:
    """A 1-d array from a scalar, sequence, numpy array, pandas column or pyarrow array
    (broadcast to n). Masked elements of a numpy masked array and pyarrow nulls become
    missing (NaN in a float array, None in an object array); a 0-d array is its scalar.

    ``name`` (the argument's name) makes shape mistakes a
    :class:`~lapor_router.errors.CoordinateError`: a length other than 1 or ``n``, an
    array of more than one dimension (a column or row vector is one value per element), a
    structured (record) array, a table of several columns, or a set or mapping (no order).
    Without it, such input is flattened or iterated as it comes.
    """
    values = _unwrap_container(values, name)
    if isinstance(values, pd.Series | pd.Index):
        dtype = values.dtype
        if isinstance(dtype, np.dtype):  # numpy-backed: coerce_floats reads the dtype
            arr = values.to_numpy()
        elif (
            pd.api.types.is_numeric_dtype(dtype)
            and not pd.api.types.is_bool_dtype(dtype)
            and not pd.api.types.is_complex_dtype(dtype)
        ):  # nullable and pyarrow numbers: NA is NaN
            arr = values.to_numpy(dtype="float64", na_value=np.nan)
        else:
            arr = values.to_numpy(dtype=object)
    elif isinstance(values, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(values)
        if values.dtype.kind in "fiu" and values.dtype.itemsize <= 8:
            arr = values.data.astype("float64")
            arr[mask] = np.nan
        else:
            arr = values.data.astype(object)
            arr[mask] = None
    elif isinstance(values, np.ndarray):
        arr = np.asarray(values)  # a subclass (np.matrix...) as a plain array
    elif isinstance(values, str | bytes) or not isinstance(values, Iterable) or _is_scalar(values):
        arr = np.empty(1, dtype=object)
        arr[0] = values  # as it is (np.array would unpack a pyarrow list scalar)
    else:
        if name is not None and isinstance(values, Set | Mapping):
            raise CoordinateError(
                f"{name} is a {type(values).__name__}, which has no order: pass a sequence"
            )
        items = list(values)
        arr = np.fromiter(items, dtype=object, count=len(items))  # elements kept as they are
    if name is not None and arr.dtype.names is not None:
        fields = ", ".join(arr.dtype.names)
        raise CoordinateError(
            f"{name} is a structured array (fields {fields}): pass one field, "
            f"e.g. {name}[{arr.dtype.names[0]!r}]"
        )
    if arr.ndim != 1:
        if name is not None and sum(d != 1 for d in arr.shape) > 1:
            raise CoordinateError(
                f"{name} has shape {arr.shape}: pass one value per point (a 1-d array)"
            )
        arr = arr.reshape(-1)
    if n is not None and len(arr) != n:
        if len(arr) == 1:
            arr = np.repeat(arr, n)
        elif name is not None:
            raise CoordinateError(f"{name} has {len(arr)} values for {n} points")
    return arr


def _unwrap_container(values: Any, name: str | None) -> Any:
    """pyarrow arrays and tables as pandas, one-column tables as their column, pandas
    extension arrays as a Series."""
    pa = sys.modules.get("pyarrow")  # loaded by whoever made a pyarrow value
    if pa is not None:
        if isinstance(values, pa.Table | pa.RecordBatch):
            if values.num_columns == 1:
                values = values.column(0)
            elif name is not None:
                raise CoordinateError(
                    f"{name} is a table of {values.num_columns} columns: pass one column"
                )
            else:
                values = values.to_pandas()
        if isinstance(values, pa.Array | pa.ChunkedArray):
            try:
                values = values.to_pandas()
            except (pa.ArrowException, ValueError, TypeError, OverflowError):
                values = values.to_pylist()  # e.g. dates beyond pandas' range
    if isinstance(values, pd.DataFrame):
        if values.shape[1] == 1:
            return values.iloc[:, 0]
        if name is not None:
            raise CoordinateError(
                f"{name} is a table of {values.shape[1]} columns: pass one column"
            )
        return values.to_numpy(dtype=object)
    if isinstance(values, pd.api.extensions.ExtensionArray):
        return pd.Series(values, copy=False)
    return values


def _is_scalar(v: Any) -> bool:
    """A pyarrow scalar: one value, even when it holds a list."""
    pa = sys.modules.get("pyarrow")
    return pa is not None and isinstance(v, pa.Scalar)


def scalar(v: Any) -> Any:
    """One value as itself: a 0-d array as its element, a pyarrow scalar as its Python
    value, a masked element (``np.ma.masked``) as None."""
    for _ in range(4):  # a 0-d array may hold another
        if isinstance(v, np.ndarray):
            if v.ndim != 0:
                return v
            if isinstance(v, np.ma.MaskedArray):
                if np.ma.getmaskarray(v).any():
                    return None
                v = v.data
            v = v[()]
            continue
        pa = sys.modules.get("pyarrow")
        if pa is not None and isinstance(v, pa.Scalar):
            try:
                v = v.as_py()
            except (ValueError, TypeError, OverflowError, pa.ArrowException):
                return v  # e.g. a timestamp beyond datetime's range: not a number anyway
            continue
        return v
    return v


def _parse_one(v: Any) -> tuple[float, str | None]:
    v = scalar(v)
    if v is None or v is pd.NA or v is pd.NaT:
        return np.nan, MISSING
    if isinstance(v, bool | np.bool_ | complex | np.complexfloating):
        return np.nan, NOT_A_NUMBER  # complex: even with a zero imaginary part
    if isinstance(v, np.datetime64 | np.timedelta64):  # timedelta64 is an np.integer
        return np.nan, MISSING if np.isnat(v) else NOT_A_NUMBER
    if isinstance(v, Decimal):
        if v.is_nan():  # signalling NaN too
            return np.nan, MISSING
        if v.is_infinite():
            return np.nan, NOT_FINITE
        f = float(v)
        return (f, None) if np.isfinite(f) else (np.nan, OUT_OF_RANGE)
    if isinstance(v, numbers.Real):  # int, float, Fraction, numpy integers and floats
        try:
            f = float(v)
        except OverflowError:  # an integer or fraction beyond float64
            return np.nan, OUT_OF_RANGE
        except (TypeError, ValueError):
            return np.nan, NOT_A_NUMBER
        if np.isnan(f):
            return f, MISSING
        if np.isfinite(f):
            return f, None
        if isinstance(v, np.floating) and np.isfinite(v):
            return np.nan, OUT_OF_RANGE  # a long double beyond float64
        return f, NOT_FINITE
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
        if np.isfinite(f):
            return f, None
        return (f, NOT_FINITE) if "inf" in text.lower() else (np.nan, OUT_OF_RANGE)
    return np.nan, NOT_A_NUMBER


# elements pandas parses as numbers (or text) as they are; the others go value by value
_PLAIN = frozenset(
    {float, int, str, Decimal, np.float64, np.float32, np.float16}
    | {np.dtype(c).type for c in "bhilqBHILQ"}
)


def coerce_floats(values: np.ndarray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """float64 values and an int8 reason code per value (0 where it is a number; else the
    index of the reason in :data:`REASONS`).

    Numeric arrays are converted at once; booleans, complex numbers, dates and durations
    (NaT: missing) and raw bytes (``V``) are not numbers, without a look at each element.
    In object and text arrays, pandas parses the plain numbers and strings at once; the
    other elements, and those it cannot make a finite number of, are read value by value.
    An Arrow string array is parsed by Arrow at once when every cell is a number literal
    (the same float64 as pandas), else as an object array.
    """
    if isinstance(values, pa.Array):
        return _text_floats(values)
    n = len(values)
    reason = np.zeros(n, dtype=np.int8)
    kind = values.dtype.kind
    if kind in "fiu":
        with np.errstate(over="ignore"):  # long doubles beyond float64 become inf
            out = values.astype("float64", copy=False)
        inf = np.isinf(out)
        reason[np.isnan(out)] = _CODE[MISSING]
        reason[inf] = _CODE[NOT_FINITE]
        if kind == "f" and values.dtype.itemsize > 8 and inf.any():
            big = inf & np.isfinite(values)  # a number, beyond float64
            reason[big] = _CODE[OUT_OF_RANGE]
            out = np.where(big, np.nan, out)
        return out, reason
    if kind in "bcmMV":
        reason[:] = _CODE[NOT_A_NUMBER]
        if kind in "mM":
            reason[np.isnat(values)] = _CODE[MISSING]
        return np.full(n, np.nan), reason
    if kind in "US":
        values = values.astype(object)
    plain = [type(v) in _PLAIN for v in values.tolist()]
    every = all(plain)
    out = np.full(n, np.nan)
    if every or any(plain):
        mask = None if every else np.array(plain, dtype=bool)
        try:
            some = values if mask is None else values[mask]
            parsed = pd.to_numeric(pd.Series(some, dtype=object), errors="coerce")
            if mask is None:
                out = np.array(parsed, dtype="float64")
            else:
                out[mask] = np.asarray(parsed, dtype="float64")
        except (TypeError, ValueError, OverflowError):
            pass  # e.g. an int beyond float64: every element value by value
    for i in np.flatnonzero(~np.isfinite(out)).tolist():
        out[i], why = _parse_one(values[i])
        reason[i] = _CODE[why]
    return out, reason


def _text_floats(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """:func:`coerce_floats` of Arrow text: the cells that are decimal literals parsed by
    Arrow at once, the others (blanks, commas, words, nulls) as an object array."""
    from .kernels import decimal_literals  # numba: loaded with the first Arrow column
    from .strings import utf8_buffers

    text = text.cast(pa.large_string())
    # the decimal literals a CSV export writes: what Arrow's cast reads as pandas does
    found = decimal_literals(*utf8_buffers(text))
    if text.null_count:
        found &= np.asarray(text.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    literal = None if found.all() else found
    parsed = pc.cast(text if literal is None else text.filter(pa.array(literal)), pa.float64())
    out = np.full(len(text), np.nan)
    reason = np.zeros(len(text), dtype=np.int8)
    if literal is None:
        out[:] = parsed.to_numpy(zero_copy_only=False)
    else:
        out[literal] = parsed.to_numpy(zero_copy_only=False)
        rest = np.flatnonzero(~literal)  # once per distinct cell
        codes, cells = distinct_values(text.take(pa.array(rest)))
        got, why = coerce_floats(objects(cells))
        out[rest], reason[rest] = got[codes], why[codes]
    odd = np.flatnonzero(~np.isfinite(out) & (reason == 0))  # nulls, nan, inf, too big
    if len(odd):  # once per distinct cell
        codes, cells = distinct_values(text.take(pa.array(odd)))
        parsed_odd = [_parse_one(v) for v in cells]
        out[odd] = np.array([p[0] for p in parsed_odd], dtype=np.float64)[codes]
        reason[odd] = np.array([_CODE[p[1]] for p in parsed_odd], dtype=np.int8)[codes]
    return out, reason


def distinct_values(values: np.ndarray | pa.Array) -> tuple[np.ndarray, list[Any]]:
    """:func:`distinct`'s codes and the distinct values themselves, code by code (an
    Arrow null as None)."""
    codes, first = distinct(values)
    if isinstance(values, pa.Array):
        return codes, values.take(pa.array(first)).to_pylist()
    return codes, values[first].tolist()


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


def objects(values: Iterable[Any]) -> np.ndarray:
    """A 1-d object array holding ``values`` as they are (tuples and lists stay cells)."""
    cells = values if isinstance(values, list | tuple) else list(values)
    return np.fromiter(cells, dtype=object, count=len(cells))


def coded_cells(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A column's cells as objects (None where missing) and one int64 code per distinct cell
    (-1 where missing): a categorical column's own codes and categories, gathered without
    hashing a cell (as ``astype(object)`` gives them, at a fraction of its cost)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy().astype(np.int64)
        names = np.full(len(column.cat.categories) + 1, None, dtype=object)
        names[:-1] = np.asarray(column.cat.categories, dtype=object)
        return names[codes], codes  # code -1: the None at the end
    cells = column.astype(object).where(column.notna(), None).to_numpy()
    return cells, pd.factorize(cells, use_na_sentinel=True)[0].astype(np.int64)


def first_rows(codes: np.ndarray) -> np.ndarray:
    """The row of each code's first appearance (codes 0..k-1, as pandas' factorize gives)."""
    first = np.zeros(int(codes.max(initial=-1)) + 1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes), dtype=np.int64)[::-1]
    return first


def distinct(values: np.ndarray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(codes, first rows) of ``values``' distinct cells, in order of first appearance: a
    column of text (and missing cells) keyed by its values, any other by each cell's
    ``repr`` (to pandas 1, 1.0 and True are one value; unhashable lists are fine); missing
    cells (None, NaN, NaT, NA) by their ``repr`` too. Arrow text is hashed by Arrow, nulls
    one value apart from any text."""
    if isinstance(values, pa.Array):
        encoded = pc.dictionary_encode(values, null_encoding="encode")
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        return codes, first_rows(codes)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        codes = pd.factorize(values, use_na_sentinel=True)[0].astype(np.int64)
        missing = codes < 0
        if missing.any():  # apart from the text, and from each other by repr
            keys = pd.Series(values[missing], dtype=object).map(repr)
            codes[missing] = int(codes.max(initial=-1)) + 1 + pd.factorize(keys)[0]
            codes = pd.factorize(codes)[0]  # numbered in order of first appearance
    else:
        codes = pd.factorize(pd.Series(values, dtype=object).map(repr), use_na_sentinel=False)[0]
    return codes, first_rows(codes)
