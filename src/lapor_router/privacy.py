"""Personal data in what leaves lapor_router: found and masked.

A unit never sees a private reporter's identity (the 2021 Matraman case that made JAKI
reports private by default), never sees a NIK (national identity number) of anyone, and
sees phone numbers and e-mail addresses inside the free text masked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

MASK = "[disamarkan]"
# +62 / 62 / 0 followed by 8–13 digits, with spaces, dots or dashes between groups
_PHONE = re.compile(r"(?<![\w+])(?:\+62|62|0)[\s.\-]?8(?:[\s.\-]?\d){7,11}(?!\d)")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_NIK = re.compile(r"(?<!\d)\d{16}(?!\d)")
_NIK_KEYS = {"nik", "no_ktp", "ktp", "nomor_ktp", "nomor_induk_kependudukan", "national_id"}


def mask_text(text: object, extra: tuple[str, ...] = ()) -> str:
    """Free text with e-mail addresses, phone numbers (+62…, 08…) and 16-digit NIKs masked,
    and each string in ``extra`` (e.g. a private reporter's name) masked too.

    >>> mask_text("Hubungi 0812-3456-7890 atau budi@mail.com, NIK 3171010101900001")
    'Hubungi [disamarkan] atau [disamarkan], NIK [disamarkan]'
    """
    if text is None or (isinstance(text, float) and text != text):
        return ""
    return _mask(str(text), tuple(w.strip() for w in extra if len(w.strip()) >= 3))


@lru_cache(maxsize=1 << 16)
def _mask(text: str, extra: tuple[str, ...]) -> str:
    out = _PHONE.sub(MASK, _NIK.sub(MASK, _EMAIL.sub(MASK, text)))
    for word in sorted(extra, key=len, reverse=True):
        out = _replace_folded(out, word)
    return out


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


def public_reporter(reporter: Mapping[str, Any] | None) -> dict[str, str] | None:
    """A non-private reporter as a unit may see it: no NIK field, NIK-like values masked."""
    if not reporter:
        return None
    return {
        str(k): mask_text(v)
        for k, v in reporter.items()
        if str(k).lower().replace(" ", "_") not in _NIK_KEYS
    }


def identity_words(reporter: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The values of a reporter mapping, to be masked wherever they appear in free text."""
    if not reporter:
        return ()
    return tuple(str(v) for v in reporter.values() if v is not None and str(v).strip())
