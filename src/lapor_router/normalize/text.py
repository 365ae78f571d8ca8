"""Complaint text as normalized words: lower-case ASCII, slang expanded, repeats collapsed."""

from __future__ import annotations

import re
import unicodedata

import numpy as np

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
