"""Personal data in what leaves lapor_router: found and masked.

A unit never sees a private reporter's identity (the 2021 Matraman case that made JAKI
reports private by default), never sees a NIK (national identity number) of anyone, and
sees phone numbers and e-mail addresses masked wherever they appear. The same rules serve
dispatch records, routed tables, rejects and logs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import numpy as np

MASK = "[disamarkan]"
# a phone number: +62 / 62 / 0, an area or mobile prefix (21, 812...; may stand in
# parentheses), then 5–10 more digits; spaces (any number), dots or dashes between groups
_PHONE = re.compile(
    r"(?<![\w+])\(?\s*(?:\+62|62|0)[\s.\-]*\(?\s*[2-9]\d{1,3}\s*\)?(?:[\s.\-]*\d){5,10}(?!\d)"
)
# an e-mail address: its domain ends in a name of letters (unit ids such as
# ``sudin_hub@31.74`` are not addresses)
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z]{2,}\b")
# a NIK: 16 digits, whole, or in the groups people write (3171 0101 0190 0004,
# 317101.010190.0004, 31.71.01.010190.0004); the grouped forms are looked for after the
# phone numbers, so that a phone written just before a NIK is not read as its first group
_NIK = re.compile(r"(?<![\w.])\d{16}(?!\d)")
_NIK_GROUPED = re.compile(
    r"(?<![\w.])(?:\d{4}([ .\-])\d{4}\1\d{4}\1\d{4}|\d{6}([ .\-])\d{6}\2\d{4}"
    r"|\d{2}([ .\-])\d{2}\3\d{2}\3\d{6}\3\d{4})(?!\d)"
)
# column names (lower case, runs of non-alphanumerics as "_") that hold a reporter's identity
NIK_COLUMNS = frozenset(
    {"nik", "no_ktp", "ktp", "nomor_ktp", "no_nik", "nomor_nik", "nomor_induk_kependudukan"}
    | {"national_id", "id_number", "reporter_nik", "nik_pelapor", "ktp_pelapor"}
)
IDENTITY_COLUMNS = NIK_COLUMNS | frozenset(
    {
        "nama",
        "name",
        "nama_lengkap",
        "full_name",
        "first_name",
        "last_name",
        "nama_pelapor",
        "pelapor",
        "reporter",
        "reporter_name",
        "email",
        "e_mail",
        "surel",
        "email_pelapor",
        "reporter_email",
        "telepon",
        "telp",
        "no_telp",
        "no_telepon",
        "nomor_telepon",
        "hp",
        "no_hp",
        "nomor_hp",
        "handphone",
        "phone",
        "phone_number",
        "mobile",
        "telepon_pelapor",
        "hp_pelapor",
        "reporter_phone",
        "wa",
        "no_wa",
        "whatsapp",
        "alamat_pelapor",
        "reporter_address",
        "account_id",
        "device_id",
    }
)
# tokens of unattributable raw text that are kept: numbers, dates and times, booleans,
# codes that carry digits (report ids, kelurahan codes); everything else may be a name
_KEEP_TOKEN = re.compile(
    r"[+-]?\d+(?:[.,]\d+)?(?:[eE][+-]?\d+)?"
    r"|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|true|false|null|none|ya|tidak|yes|no|t|f|y|n"
    r"|(?=[A-Za-z0-9._@\-]*\d)[A-Za-z0-9._\-]+",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[^\s,;|\t\"'{}\[\]=()]+")
_JSON_KEY = re.compile(r'"\s*:')  # after a token: the token is a JSON key


def column_key(name: object) -> str:
    """A column name as the identity lists spell it: lower case, ``_`` between words."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def is_identity_column(name: object) -> bool:
    """True for a column whose name says it holds who reported (name, phone, NIK...)."""
    return column_key(name) in IDENTITY_COLUMNS


def is_nik_column(name: object) -> bool:
    """True for a column of national identity numbers: masked for every reporter."""
    return column_key(name) in NIK_COLUMNS


def mask_text(text: object, extra: Iterable[str] = ()) -> str:
    """Free text with e-mail addresses, phone numbers (+62…, 08…, (021)…) and NIKs (16
    digits, grouped or not) masked, and each string in ``extra`` (e.g. a private reporter's
    name) masked too.

    >>> mask_text("Hubungi 0812-3456-7890 atau budi@mail.com, NIK 3171010101900001")
    'Hubungi [disamarkan] atau [disamarkan], NIK [disamarkan]'
    """
    if text is None or (isinstance(text, float) and text != text):
        return ""
    return _mask(str(text), tuple(w.strip() for w in extra if len(str(w).strip()) >= 3))


@lru_cache(maxsize=1 << 16)
def _mask(text: str, extra: tuple[str, ...]) -> str:
    out = text
    if "@" in out:
        out = _EMAIL.sub(MASK, out)
    if any(c.isdigit() for c in out):
        out = _NIK_GROUPED.sub(MASK, _PHONE.sub(MASK, _NIK.sub(MASK, out)))
    return mask_words(out, extra)


def mask_words(text: str, words: Iterable[str]) -> str:
    """``text`` with every case-insensitive occurrence of each word masked, longest first."""
    for word in sorted(words, key=len, reverse=True):
        text = _replace_folded(text, word)
    return text


# What a value must hold to need :func:`mask_text`: an "@" and a domain, or the start of a
# NIK or of a phone number as the patterns above find them. A superset of every pattern,
# in RE2 syntax, tested over whole arrays: RE2 has no look-behind, so "not after a word
# character" is read as "at the start or after a character that is not an ASCII word
# character" (which lets more through), and Python's Unicode \d and \s are spelt out; the
# trailing look-aheads and the upper repeat counts are dropped (they only let fewer
# through). Dates, times and coordinates ("106.8272", "2026-11-03T10:00") pass it by.
_D = r"\p{Nd}"
_S = r"[\s\x{0b}\x{1c}-\x{1f}\x{85}\p{Z}]"
_SEP = rf"(?:{_S}|[.\-])"  # Python's [\s.\-]
_MAYBE = "|".join(
    [
        # an e-mail's "@", then its domain's characters up to a dot and two ASCII letters
        # (RE2's [^\s@] holds Python's Unicode [\w.-]); a unit id (sudin_hub@31.74) passes by
        r"@[^\s@]+\.[A-Za-z]{2}",
        rf"(?:^|[^\w.])(?:{_D}{{16}}|{_D}{{4}}[ .\-]{_D}{{4}}[ .\-]{_D}{{4}}[ .\-]{_D}{{4}}"
        rf"|{_D}{{6}}[ .\-]{_D}{{6}}[ .\-]{_D}{{4}}"
        rf"|{_D}{{2}}[ .\-]{_D}{{2}}[ .\-]{_D}{{2}}[ .\-]{_D}{{6}}[ .\-]{_D}{{4}})",
        rf"(?:^|[^\w+])\(?{_S}*(?:\+62|62|0){_SEP}*\(?{_S}*[2-9]{_D}{{1,3}}{_S}*\)?"
        rf"(?:{_SEP}*{_D}){{5}}",
    ]
)


# The same pattern for text that is all ASCII (about a third faster in RE2): there \p{Nd}
# is [0-9] and the spaces above are the ASCII ones (\t \n \v \f \r, space, \x1c-\x1f).
_MAYBE_ASCII = _MAYBE.replace(_D, "[0-9]").replace(_S, r"[\t-\r \x1c-\x1f]")


def maybe_personal(values: Any) -> np.ndarray:
    """Which of ``values`` (strings, or an Arrow string array whose nulls are not personal)
    may hold a phone, e-mail or NIK (a vectorized pre-filter: the others are left as they
    are by :func:`mask_text`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = values if isinstance(values, pa.Array) else pa.array(values, type=pa.large_string())
    if not len(array):
        return np.zeros(0, dtype=bool)
    ascii_only = pc.all(pc.string_is_ascii(array)).as_py() is not False  # nulls: no text
    pattern = _MAYBE_ASCII if ascii_only else _MAYBE
    found = pc.fill_null(pc.match_substring_regex(array, pattern), False)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


# A whole value that is one phone number without separators (08…, 62…, +62…; 8 to 15
# digits, so never a 16-digit NIK): :func:`mask_text` turns it into MASK, as
# :func:`mask_values` does at once for whole arrays (RE2, no per-value Python).
PLAIN_PHONE = r"^(?:\+62|62|0)[2-9][0-9]{6,12}$"


def plain_phones(values: Any) -> np.ndarray:
    """Which of ``values`` (strings, or an Arrow string array whose nulls are none) are each
    one plain phone number (:data:`PLAIN_PHONE`), which :func:`mask_text` makes MASK whole."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = values if isinstance(values, pa.Array) else pa.array(values, type=pa.large_string())
    found = pc.fill_null(pc.match_substring_regex(array, PLAIN_PHONE), False)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def mask_values(values: list[str]) -> list[str]:
    """:func:`mask_text` of each value (no extra words), plain phone numbers at array speed."""
    if not values:
        return []
    whole = plain_phones(values).tolist()
    return [MASK if w else mask_text(v) for v, w in zip(values, whole, strict=True)]


def _replace_folded(text: str, word: str) -> str:
    """``text`` with every case-insensitive occurrence of ``word`` masked (no regex: reporter
    values are unique per row and would each compile a pattern)."""
    low, target = text.casefold(), word.casefold()
    if len(low) != len(text):  # case folding changed lengths: let a regex do it
        return re.sub(re.escape(word), MASK, text, flags=re.IGNORECASE)
    parts, start = [], 0
    i = low.find(target)
    while i >= 0:
        parts += [text[start:i], MASK]
        start = i + len(target)
        i = low.find(target, start)
    return "".join(parts) + text[start:] if parts else text


def mask_unattributed(text: object) -> str:
    """Raw text that cannot be read as fields (a malformed line of a private or unknown
    reporter): phones, e-mails and NIKs masked, then every token that could be a name or
    an address; numbers, dates, booleans and codes with digits (ids) stay.

    >>> mask_unattributed('JK01,106.8,-6.2,"Budi Santoso",0812 3456 7890,true')
    'JK01,106.8,-6.2,"[disamarkan] [disamarkan]",[disamarkan],true'
    """
    masked = mask_text(text).replace(MASK, "\x00")

    def keep(m: re.Match[str]) -> str:
        token = m.group(0)
        if (
            token == "\x00"
            or not any(c.isalnum() for c in token)
            or _KEEP_TOKEN.fullmatch(token)
            or _JSON_KEY.match(masked, m.end())
        ):
            return token
        return MASK

    return _TOKEN.sub(keep, masked).replace("\x00", MASK)


def _as_reporter(reporter: Any) -> Mapping[str, Any] | None:
    """A reporter given as a mapping, or as anything else (a name string, a list...)."""
    if reporter is None or isinstance(reporter, Mapping):
        return reporter
    if isinstance(reporter, str | bytes | int | float):
        return {"reporter": reporter}
    try:
        return {f"reporter_{i}": v for i, v in enumerate(reporter)}
    except TypeError:
        return {"reporter": reporter}


def public_reporter(reporter: Any) -> dict[str, str] | None:
    """A non-private reporter as a unit may see it: no NIK field, phones, e-mails and
    NIK-like values masked."""
    mapping = _as_reporter(reporter)
    if not mapping:
        return None
    return {str(k): mask_text(v) for k, v in mapping.items() if not is_nik_column(k)}


def identity_words(reporter: Any) -> tuple[str, ...]:
    """The values of a reporter (a mapping or a plain value), to be masked wherever they
    appear in free text."""
    mapping = _as_reporter(reporter)
    if not mapping:
        return ()
    return tuple(str(v) for v in mapping.values() if v is not None and str(v).strip())
