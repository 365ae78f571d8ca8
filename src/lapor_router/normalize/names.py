"""Comparison keys for kelurahan names that survive the spellings seen in real reports
("Kel. Rawasari", "KELURAHAN RAWA SARI", "GN. SAHARI UTARA")."""

from __future__ import annotations

import re
import unicodedata

import numpy as np

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
