"""Complaint text as normalized words, the way citizens write it on social media and apps.

:func:`text_tokens` lower-cases and folds accents, drops URLs, @mentions, emoji and
punctuation runs, keeps hashtags as words (split into known words by a :class:`Segmenter`
when one is given: ``#banjirkiriman`` → ``banjir kiriman``; an unknown run-together word
outside a hashtag only when every piece is a known word: ``pohontumbang``), expands slang (``jln``,
``gk``, ``udh``...), collapses reduplication (``bolong2``, ``lubang-lubang``) and repeated
letters (``sampahh``). :class:`Stemmer` strips Indonesian affixes (``menggenangi`` →
``genang``) against a lexicon of root words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

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
    "karna": "karena",
    "ekstrim": "ekstrem",
    "krna": "karena",
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
    "lobang": "lubang",
    "lobangnya": "lubang",
    "ancur": "hancur",
    "kagak": "tidak",
    "kaga": "tidak",
    "ampe": "sampai",
    "sampe": "sampai",
    "udeh": "sudah",
    "ilang": "hilang",
    "ujan": "hujan",
    "item": "hitam",
    "jatoh": "jatuh",
    "aer": "air",
    "ngalir": "mengalir",
    "kerendem": "terendam",
    "kejebak": "terjebak",
    "kejepit": "terjepit",
    "ngamuk": "mengamuk",
    "gile": "gila",
    "edan": "gila",
    "wong": "orang",
    "mabok": "mabuk",
    "mendem": "mabuk",
    "duit": "uang",
    "ijin": "izin",
    "bis": "bus",
    "tj": "transjakarta",
    "ngerokok": "merokok",
    "ngevape": "vape",
    "sticker": "stiker",
    "ngobong": "membakar",
    "dodolan": "berjualan",
    "bakul": "pedagang",
    "banter": "keras",
    "kenceng": "kencang",
    "asu": "anjing",
    "nggonggong": "menggonggong",
    "mengular": "memanjang",
    "pake": "pakai",
    "ora": "tidak",
    "iso": "bisa",
    "turu": "tidur",
    "omah": "rumah",
    "dalan": "jalan",
    "mlebu": "masuk",
    "peteng": "gelap",
    "kobong": "terbakar",
    "geni": "api",
    "duwit": "uang",
    "njaluk": "minta",
    "dijaluki": "dimintai",
    "lalin": "lalu lintas",
    "tije": "transjakarta",
    "orange": "oranye",
    # common words one letter away from a keyword, read by their root so that they are
    # not taken for a misspelling of it (berisi ~ berisik, berjalan ~ berjualan)
    "berisi": "isi",
    "berjalan": "jalan",
}
MAX_CHARS = 20_000  # characters of a text that are read (a longer one is flagged)
SLANG_WORDS = frozenset(_SLANG)  # words the slang table knows, for splitting hashtags
_REDUPLICATION = re.compile(r"\b([a-z]{3,})2\b")  # "sampah2" (= sampah-sampah)
_URL = re.compile(r"(?:https?://|www\.)\S+|\b\S+\.(?:com|id|ly|co|net|org)/\S*", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w.])@\w+")
_HASHTAG = re.compile(r"#([a-z0-9_]{2,})")
_LETTER_RUN = re.compile(r"([a-z])\1{2,}")  # "sampahhh" → "sampah" (3+ of one letter)
_WORD = re.compile(r"[a-z0-9]+")


class Segmenter:
    """Splits run-together words into known words (``banjirkiriman`` → banjir, kiriman):
    the split covering most characters with known words, then with the fewest pieces."""

    def __init__(self, words: Iterable[str], min_piece: int = 3) -> None:
        self.words = frozenset(w for w in words if len(w) >= min_piece and w.isalnum())
        self.longest = max((len(w) for w in self.words), default=0)
        self.min_piece = min_piece
        self.split = lru_cache(maxsize=1 << 16)(self._split)

    def split_whole(self, token: str) -> tuple[str, ...]:
        """:meth:`split` only when every piece is a known word (a run-together word outside
        a hashtag), else the token itself."""
        pieces = self.split(token)
        return pieces if all(p in self.words for p in pieces) else (token,)

    def __getstate__(self) -> dict[str, object]:
        return {"words": self.words, "longest": self.longest, "min_piece": self.min_piece}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.split = lru_cache(maxsize=1 << 16)(self._split)

    def _split(self, token: str) -> tuple[str, ...]:
        n = len(token)
        if n < 2 * self.min_piece or token in self.words or n > 60:
            return (token,)
        # best[i]: (unknown characters, pieces, split) for token[:i]
        empty: tuple[str, ...] = ()
        best: list[tuple[int, int, tuple[str, ...]]] = [(0, 0, empty)]
        best += [(n + 1, n + 1, empty)] * n
        for i in range(n):
            unknown, pieces, split = best[i]
            if unknown > n:
                continue
            for j in range(i + self.min_piece, min(n, i + self.longest) + 1):
                if token[i:j] in self.words:
                    cand = (unknown, pieces + 1, (*split, token[i:j]))
                    if cand[:2] < best[j][:2]:
                        best[j] = cand
            # or one unknown character, joined to the previous unknown piece
            prev = split[-1] if split and split[-1] not in self.words else None
            grown = (*split[:-1], prev + token[i]) if prev is not None else (*split, token[i])
            cand = (unknown + 1, pieces + (prev is None), grown)
            if cand[:2] < best[i + 1][:2]:
                best[i + 1] = cand
        unknown, _, split = best[n]
        return split if unknown <= n // 4 and len(split) > 1 else (token,)


_JUNK = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")


def _junk_share(raw: str) -> float:
    """Share of replacement and control characters at the start of a text (binary junk)."""
    head = raw[:2000]
    if not head or not _JUNK.search(head):
        return 0.0
    return len(_JUNK.findall(head)) / len(head)


def clean_text(text: object) -> tuple[str, frozenset[str]]:
    """The readable part of a text (lower case, ASCII, at most :data:`MAX_CHARS`) and what
    was wrong with it: ``text_missing`` (nothing), ``text_truncated`` (too long),
    ``text_unreadable`` (no Latin letters or digits, or a tenth of it control or
    replacement characters: binary junk or another script)."""
    if text is None or (isinstance(text, float) and text != text):
        return "", frozenset({"text_missing"})
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "replace")
    raw = str(text)
    flags: set[str] = set()
    if len(raw) > MAX_CHARS:
        raw = raw[:MAX_CHARS]
        flags.add("text_truncated")
    folded = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode().lower()
    if not raw.strip():
        flags.add("text_missing")
    elif not _WORD.search(folded) or _junk_share(raw) >= 0.1:
        flags.add("text_unreadable")
    return folded, frozenset(flags)


def text_tokens(text: object, segmenter: Segmenter | None = None) -> list[str]:
    """Normalized words of a complaint text (see the module doc).

    >>> text_tokens("Jln bolong2, TLG diperbaiki!! @DKIJakarta http://bit.ly/x")
    ['jalan', 'berlubang', 'tolong', 'diperbaiki']
    """
    raw, _ = clean_text(text)
    return words_of(raw, segmenter) if raw else []


def split_hashtags(raw: str, segmenter: Segmenter | None) -> str:
    """A cleaned text without URLs and mentions, its hashtags split into words (with a
    segmenter; the rest of :func:`words_of` is left to do)."""
    if "http" in raw or "www." in raw or "/" in raw:
        raw = _URL.sub(" ", raw)
    if "@" in raw:
        raw = _MENTION.sub(" ", raw)
    if segmenter is not None and "#" in raw:
        raw = _HASHTAG.sub(lambda m: " " + " ".join(segmenter.split(m.group(1))) + " ", raw)
    return raw


def words_of(raw: str, segmenter: Segmenter | None = None) -> list[str]:
    """:func:`text_tokens` of a text already cleaned by :func:`clean_text`."""
    raw = split_hashtags(raw, segmenter)
    if "2" in raw:
        raw = _REDUPLICATION.sub(r"\1", raw)
    raw = _LETTER_RUN.sub(r"\1", raw)
    out: list[str] = []
    last = ""
    slang = _SLANG
    for w in _WORD.findall(raw):
        w = slang.get(w, w)
        if segmenter is not None and len(w) >= 8 and w not in segmenter.words and w.isalpha():
            w = " ".join(segmenter.split_whole(w))  # "pohontumbang" → pohon tumbang
        if " " in w:
            for piece in w.split():
                if piece != last:
                    out.append(piece)
                    last = piece
        elif w != last:
            out.append(w)
            last = w
    return out
