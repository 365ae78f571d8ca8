"""First stage of the pipeline: turn raw coordinates and kelurahan names into clean values.

Coordinates become float64 arrays (degrees, or the caller's CRS units) with a reason for
every value that cannot be a coordinate; names become comparison keys that survive the
spellings seen in real reports ("Kel. Rawasari", "KELURAHAN RAWA SARI", "GN. SAHARI UTARA").
"""

from __future__ import annotations

import re
import unicodedata
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


# ---------------------------------------------------------------------------- kelurahan names

_ESCAPES = re.compile(r"\\[rntRNT]")
_PREFIXES = {"kel", "kelurahan", "kelurahaan", "desa", "ds", "kantor", "lurah", "kalurahan"}
_ABBREVIATIONS = {
    "gn": "gunung",
    "gng": "gunung",
    "pd": "pondok",
    "pdk": "pondok",
    "kb": "kebon",
    "tj": "tanjung",
    "tg": "tanjung",
    "tjg": "tanjung",
    "kp": "kampung",
    "kmp": "kampung",
    "ps": "pasar",
    "psr": "pasar",
    "kr": "karang",
    "krg": "karang",
    "jt": "jati",
    "utr": "utara",
    "ut": "utara",
    "sel": "selatan",
    "slt": "selatan",
    "sltn": "selatan",
    "tim": "timur",
    "tmr": "timur",
    "brt": "barat",
    "bar": "barat",
    "p": "pulau",
    "pl": "pulau",
    "bdg": "bendungan",
    "kby": "kebayoran",
    "cpk": "cempaka",
}


def name_key(name: object) -> str:
    """Comparison key of a kelurahan name: lower-case letters and digits, no prefix or spaces.

    >>> name_key("Kel. Rawa Sari") == name_key("RAWASARI") == "rawasari"
    True
    >>> name_key("GN. SAHARI UTARA")
    'gunungsahariutara'
    """
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return ""
    text = _ESCAPES.sub(" ", str(name))
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    tokens = re.sub(r"[^a-z0-9]+", " ", text).split()
    while tokens and tokens[0] in _PREFIXES:
        tokens = tokens[1:]
    return "".join(_ABBREVIATIONS.get(t, t) for t in tokens)


# ------------------------------------------------------------------------- complaint text

# Slang, abbreviations and common misspellings in Jakarta complaint texts → standard words.
_SLANG = {
    "jln": "jalan",
    "jl": "jalan",
    "jalanan": "jalan",
    "gg": "gang",
    "ga": "tidak",
    "gak": "tidak",
    "nggak": "tidak",
    "ngga": "tidak",
    "enggak": "tidak",
    "tdk": "tidak",
    "gk": "tidak",
    "blm": "belum",
    "udh": "sudah",
    "sdh": "sudah",
    "udah": "sudah",
    "dgn": "dengan",
    "yg": "yang",
    "utk": "untuk",
    "tlg": "tolong",
    "tolongin": "tolong",
    "bgt": "banget",
    "bnyk": "banyak",
    "byk": "banyak",
    "dkt": "dekat",
    "dr": "dari",
    "sm": "sama",
    "krn": "karena",
    "lg": "lagi",
    "bs": "bisa",
    "sy": "saya",
    "kmrn": "kemarin",
    "lmp": "lampu",
    "numpuk": "menumpuk",
    "bolong": "berlubang",
    "bolong2": "berlubang",
    "ngelupas": "mengelupas",
    "mampet": "mampet",
    "ambles": "amblas",
    "mati2": "mati",
    "sampahnya": "sampah",
    "sampah2": "sampah",
    "jalannya": "jalan",
    "lampunya": "lampu",
    "pohonnya": "pohon",
    "airnya": "air",
    "ngamen": "pengamen",
    "ngemis": "pengemis",
    "parkiran": "parkir",
    "markir": "parkir",
    "dagang": "berjualan",
    "jualan": "berjualan",
    "kebakar": "terbakar",
    "kebakaran": "kebakaran",
    "nyolong": "curi",
    "dicolong": "curi",
    "berisik": "berisik",
    "brisik": "berisik",
    "knalpot": "knalpot",
    "bau": "bau",
    "tai": "tinja",
    "wc": "wc",
    "bpjs": "bpjs",
    "ktp": "ktp",
    "e": "e",
    "pemda": "pemda",
    "got2": "got",
    "selokannya": "selokan",
    "kalinya": "kali",
    "banjirnya": "banjir",
}
_REDUPLICATION = re.compile(r"\b([a-z]{3,})2\b")  # "sampah2" (= sampah-sampah)


def text_tokens(text: object) -> list[str]:
    """Normalized words of a complaint text: lower-case ASCII, slang expanded, repeats
    ("jalan-jalan", "sampah2") collapsed.

    >>> text_tokens("Jln bolong2, TLG diperbaiki!!")
    ['jalan', 'berlubang', 'tolong', 'diperbaiki']
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return []
    raw = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    raw = _REDUPLICATION.sub(r"\1", raw)
    words = re.sub(r"[^a-z0-9]+", " ", raw).split()
    out: list[str] = []
    for w in words:
        w = _SLANG.get(w, w)
        if not out or out[-1] != w:
            out.append(w)
    return out
