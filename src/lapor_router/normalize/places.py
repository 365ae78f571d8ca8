"""The place a complaint text names: kelurahan, kecamatan, RT/RW and street.

``PlaceFinder(kelurahan_names, kecamatan_names)`` compiles the names once into one
regular expression (a character trie, so every name is looked for in a single pass) and
reads what a text says about where it happened::

    "Jl. Nirbaya XIII RT.010/RW.003 Kel. Klender"
    → NamedPlace(kelurahan="Klender", kecamatan=None, rt="10", rw="3",
                 street="Jalan Nirbaya XIII")

Names are compared as :func:`~.names.name_key` compares claimed names: prefixes dropped,
abbreviations expanded ("kb. melati" is Kebon Melati), spaces ignored ("rawa sari" is
Rawasari); here also "cip." for Cipinang and digits for number words ("pegangsaan 2").
A name after an explicit prefix ("kel.", "kelurahan", "desa", "kec.", "kecamatan") may
carry a small typo ("kel. klendr"): it is matched with the similarity rule used for claims
(difflib ratio of at least 0.8 and a clear winner). The names come as plain lists; this
module reads no boundary set. What each hit of the expression says is remembered by its
text, and :meth:`PlaceFinder.find_many` tries the expression only where a compiled kernel
(:mod:`.kernels`) says a hit may start.
"""

from __future__ import annotations

import contextlib
import difflib
import heapq
import itertools
import numbers
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from .names import _ABBREVIATIONS

# name_key's abbreviations, "cip." for Cipinang, and numbers for number words ("Pegangsaan
# 2" is Pegangsaan Dua): how a word of a name may be written.
_SHORT_FORMS = {
    **_ABBREVIATIONS,
    "cip": "cipinang",
    **{str(i): w for i, w in enumerate(("nol", "satu", "dua", "tiga", "empat", "lima")) if i},
}

MAX_CHARS: Final = 20_000
"""Characters of a text that are read; the rest of a longer text is ignored."""

FUZZY_CUTOFF: Final = 0.8
FUZZY_MARGIN: Final = 0.05

# Kelurahan/kecamatan names that are also ordinary words: without a prefix they are never
# read as a place ("di tengah jalan" is not Kelurahan Tengah). Whole names only: the words
# still count inside a longer name ("Pasar Baru", "Kebayoran Lama").
COMMON_WORDS: Final = frozenset(
    {
        "baru", "lama", "pasar", "kota", "selatan", "utara", "timur", "barat", "tengah",
        "gunung", "jati", "pulo", "pulau", "kramat", "karet", "kapuk", "dukuh", "setu",
        "gedong", "kenari", "kartini", "kamal", "guntur", "galur", "tangki", "rambutan",
        "susukan", "keagungan", "penggilingan", "serdang", "selong", "bangka", "paseban",
        "kampung", "kebon", "pondok", "rawa", "kali", "tanah", "sungai", "sumur", "dua",
    }
)  # fmt: skip

_PREPOSITIONS = frozenset(
    {
        "di", "dekat", "depan", "samping", "sebelah", "arah", "menuju", "ke", "dari",
        "belakang", "seberang", "sekitar", "pinggir", "ujung", "sepanjang", "simpang",
        "perempatan", "pertigaan", "tikungan", "persis", "dkt", "dpn", "sblh", "dket",
        "antara", "mulai", "sampai", "sampe", "ampe", "hingga", "sini", "situ", "sana",
        "dalam",
    }
)  # fmt: skip

# Words a complaint is about, never a part of a place name ("jalan rusak", "gang banjir",
# "jalan lampu mati").
_COMPLAINT_WORDS = frozenset(
    {
        "rusak", "bolong", "bolong2", "berlubang", "lubang", "lobang", "banjir", "macet",
        "mati", "padam", "sampah", "tergenang", "genangan", "licin", "gelap", "sempit",
        "becek", "retak", "amblas", "ambles", "longsor", "roboh", "tumbang", "kotor", "bau",
        "putus", "mampet", "tersumbat", "penuh", "menumpuk", "numpuk", "parah", "hancur",
        "ditutup", "tutup", "terputus", "kebakaran", "terbakar", "liar", "parkir", "pkl",
        "rawan", "bahaya", "berbahaya", "hilang", "bocor", "meluap", "terendam", "kumuh",
        "berdebu", "debu", "bising", "berisik", "asap", "jebol", "ambruk", "miring",
        "mengelupas", "keropos", "gelombang", "bergelombang", "tidak", "belum", "sudah",
        "diperbaiki", "ditambal", "diaspal", "digali", "dibongkar", "terganggu", "tertutup",
        "terhalang", "sepi", "ramai", "kav", "kavling", "lampu", "lampunya", "pju", "got",
        "selokan", "saluran", "drainase", "trotoar", "pohon", "kabel", "tiang", "listrik",
        "pipa",
    }
)  # fmt: skip

# Function words and other words that end a name (or show that none follows a prefix).
_FUNCTION_WORDS = frozenset(
    {
        "yang", "yg", "dan", "dgn", "dengan", "atau", "ga", "gak", "nggak", "ngga", "enggak",
        "engga", "tdk", "gk", "blm", "sdh", "udh", "udah", "telah", "sedang", "masih",
        "sangat", "banget", "bgt", "ada", "ini", "itu", "tsb", "tersebut", "setempat", "nya",
        "juga", "kami", "saya", "sy", "kita", "aku", "mereka", "mohon", "tolong", "tlg",
        "pak", "bu", "bapak", "ibu", "untuk", "utk", "agar", "supaya", "karena", "krn",
        "tapi", "tetapi", "namun", "lagi", "lg", "akan", "bisa", "dapat", "harus", "segera",
        "sering", "selalu", "kurang", "lambat", "lamban", "diam", "cuek", "saja", "aja",
        "hanya", "cuma", "pun", "kok", "sih", "dong", "ya", "mau", "minta", "pada", "oleh",
        "sejak", "selama", "sampai", "hingga", "sekarang", "kemarin", "tadi", "hari",
        "minggu", "bulan", "tahun", "jam", "pagi", "siang", "sore", "malam", "warga",
        "rumah", "jakarta", "dki", "kab", "kabupaten", "provinsi", "prov", "wilayah",
        "kelurahan", "kel", "kecamatan", "kec", "desa", "ds", "kota", "kantor", "pihak",
        "lurah", "camat", "rt", "rw", "no", "nomor", "km", "blok", "jalan", "jl", "jln",
        "gang", "gg", "tp", "sm", "sama", "bikin", "jadi", "menjadi", "tanpa", "kalau",
        "kalo", "jika", "bila", "ketika", "saat", "waktu", "seperti", "kayak", "lewat",
        "melalui", "lokasi", "alamat", "tempat", "daerah", "kawasan", "area", "tiap",
        "setiap", "pas", "kaya", "udeh", "kapan", "apa", "dulu", "terus", "setelah",
        "sebelum", "nyala", "redup", "item", "ancur", "pake", "pakai", "biar", "nih", "mulu",
        "aje", "kagak", "iki", "neng", "ora", "ane", "gue", "gw", "lu", "nye", "ikut", "buka",
        "sembarangan", "td", "skrg", "semua", "sekali", "https", "http", "www",
    }
)  # fmt: skip

# A street "name" made only of these is a kind of road, not a name ("jalan raya macet").
_GENERIC_STREETS = frozenset(
    {
        "raya", "utama", "besar", "kecil", "kaki", "tol", "setapak", "protokol", "umum",
        "lingkungan", "kampung", "alternatif", "baru", "lama", "tikus", "buntu", "lurus",
        "masuk", "keluar", "pintas", "layang", "arteri", "inspeksi", "kompleks", "komplek",
        "perumahan", "sekolah", "warga", "umumnya", "setempat", "aspal", "beton", "tanah",
    }
)  # fmt: skip

# Kinds of road: never a word of a street's name ("jalan kaki", "jalan tol").
_ROAD_KINDS = frozenset(
    {
        "kaki", "tol", "setapak", "tikus", "tembus", "pintas", "protokol", "lingkungan",
        "alternatif", "layang", "paving", "arteri", "inspeksi",
    }
)  # fmt: skip

_STOPS = _PREPOSITIONS | _COMPLAINT_WORDS | _FUNCTION_WORDS

_KEL, _KEC, _RT, _STREET = "kel", "kec", "rt", "street"
# Where a hit's value goes; the first of each wins. For a name the slots rank as named
# (after a prefix), bare, written (after a prefix, matching no official name); a street
# after "jl."/"gg." or written with capitals outranks one after the plain word "jalan".
_KEL_NAMED, _KEL_BARE, _KEL_WRITTEN, _KEC_NAMED, _KEC_BARE, _KEC_WRITTEN = range(6)
_RT_SLOT, _RW_SLOT, _STREET_SLOT, _STREET_WEAK_SLOT = 6, 7, 8, 9
_MEMO_SIZE = 200_000
_SEEN_SIZE = 1_000_000  # distinct texts find_many remembers
_BATCH = 8192  # texts read together by find_many
_KERNEL_MIN = 64  # fewer distinct texts than this are scanned one by one
_FUZZY_PER_TEXT = 8
_KEL_PREFIXES = ("kel", "kelurahan", "kelurahaan", "kalurahan", "desa", "ds")
_KEC_PREFIXES = ("kec", "kecamatan", "kecamatn")
_SHORT_PREFIXES = frozenset({"kel", "kec", "ds"})
_STREET_KINDS = {"jalan": "Jalan", "jln": "Jalan", "jl": "Jalan", "gang": "Gang", "gg": "Gang"}
_SHORT_MARKERS = frozenset({"jln", "jl", "gg"})

_SEP = r"[\s.\-]{0,3}"  # between the words of a name: "kb. melati", "kebon-sirih", "kebonsirih"
_SEP_SPLIT = re.compile(r"[^a-z0-9]+")
_ESCAPES = re.compile(r"\\[rntRNT]")  # "\n" written out, as in exported CSV files
_WORDS = re.compile(r"[a-z0-9]+")
_STREET_TOKENS = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?\.?")
_LETTERS = re.compile(r"[a-z]+")
_VERB = re.compile(r"(?:meng|mem|men|meny|ber|ter|di)[a-z]{2}")  # "mengeluh", "diam"
# Verbs that end a street written in lower case ("jalan dicuri orang", "jl. x dipotong")
_STREET_VERB = re.compile(r"di[bcdghjklmnprstwy]|me(?:ng|ny|m[bp]|n[cdjt])|ketutup|ketimbun")

# Between two words of a name or a street: spaces, or a dot after a word of at most three
# characters ("kb. melati", "h. naim"); after a longer word a dot ends the sentence.
_TITLES = ("jend", "letjen", "mayjen", "brigjen", "kapten", "prof", "kolonel")
_GAP = (
    r"(?:[ \t]{1,3}|(?:(?<![a-z0-9]{4})"
    + "".join(f"|(?<={t})" for t in _TITLES)
    + r")\.[ \t]{0,3})"
)


def _rtrw_pattern(*, named: bool) -> str:
    """RT/RW: "rt 14", "RT.010/RW.003", "RT 05/02", "rt14/rw11", "rt/rw 05/02",
    "rt rw 05 02", "Rt.3 Rw.7", "RT 005 RW 002" (the RW is then a hit of its own), "rw 05".
    With ``named`` groups k, pair, a, k2, k3 and b; without, the same language."""

    def g(name: str, body: str) -> str:
        return f"(?P<{name}>{body})" if named else f"(?:{body})"

    number = r"[\s.:\-]{0,3}(?:no[\s.:]{0,2})?"
    slash = rf"[/\\]\s{{0,2}}(?:r{g('k2', '[tw]')}[\s.:\-]{{0,3}})?"  # "05/02", "010/RW.003"
    label = rf"[,\-]?\s{{0,2}}r{g('k3', '[tw]')}[\s.:\-]{{0,3}}"  # "05 RW 02", "05rw02"
    digits = r"\d{1,3}"
    first = g("a", digits) + r"(?!\d)"
    second = g("b", digits) + r"(?!\d)"
    pair = rf"[\s./\\]{{0,2}}r{g('pair', '[tw]')}"  # "rt/rw": both numbers follow
    if named:
        return (
            rf"r{g('k', '[tw]')}(?:{pair})?{number}{first}"
            rf"(?:\s{{0,2}}(?:{slash}|{label}|(?(pair)\s|(?!))){second})?"
        )
    return (
        rf"r[tw](?:{pair}{number}{first}(?:\s{{0,2}}(?:{slash}|{label}|\s){second})?"
        rf"|{number}{first}(?:\s{{0,2}}(?:{slash}|{label}){second})?)"
    )


_RTRW = re.compile(_rtrw_pattern(named=True))
_KINDS = {
    **dict.fromkeys(_KEL_PREFIXES, _KEL),
    **dict.fromkeys(_KEC_PREFIXES, _KEC),
    **dict.fromkeys(("rt", "rw", "rtrw", "rwrt"), _RT),
    **dict.fromkeys(_STREET_KINDS, _STREET),
}
_PREFIX_SEPARATORS = " \t\n\r\f\v.:-"


@dataclass(frozen=True, slots=True)
class NamedPlace:
    """What a complaint text says about where it happened; None for what it does not say.

    ``kelurahan``/``kecamatan`` are official names from the finder's lists, or, when an
    explicit prefix ("kel.", "kec.") is followed by a name that matches none, that name as
    written (title-cased) so that a caller can flag it. ``rt``/``rw`` are numbers without
    leading zeros; ``street`` is "Jalan X" or "Gang X".
    """

    kelurahan: str | None = None
    kecamatan: str | None = None
    rt: str | None = None
    rw: str | None = None
    street: str | None = None


_NOTHING = NamedPlace()


def _fold(text: object) -> str:
    """ASCII of at most MAX_CHARS characters with a leading space (its lower-case is what
    the scan reads, position for position); "" when the value holds no text (None, NaN,
    numbers, objects whose ``str()`` fails)."""
    if isinstance(text, str):
        s = str.__getitem__(text, slice(0, MAX_CHARS))  # whatever a subclass overrides
    elif isinstance(text, bytes | bytearray | memoryview):
        try:
            s = bytes(text[: 4 * MAX_CHARS]).decode("utf-8", "replace")[:MAX_CHARS]
        except Exception:  # a memoryview that cannot be sliced as bytes
            return ""
    elif text is None or isinstance(text, numbers.Number):
        return ""
    else:
        try:
            s = str(text)[:MAX_CHARS]
        except Exception:  # an object whose str() fails names no place
            return ""
    if not s.isascii():
        s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")
    if "\\" in s:
        s = _ESCAPES.sub(" ", s)
    return " " + s


def _words(name: str) -> list[str]:
    """The words of a name, lower-case ASCII, leading prefixes dropped, short forms
    expanded (the words whose concatenation is :func:`name_key`, numbers spelled out)."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = _WORDS.findall(text)
    while words and words[0] in _KEL_PREFIXES:
        words = words[1:]
    return [_SHORT_FORMS.get(w, w) for w in words]


def _key(words: Iterable[str]) -> str:
    return "".join(_SHORT_FORMS.get(w, w) for w in words)


def _spellings(words: Sequence[str], vocabulary: set[str]) -> list[str]:
    """Ways a name may be written, words separated by one space: each word as it is or in
    a short form ("kb" for kebon, "2" for dua), a compound split in two ("rawa sari",
    "bale kambang": known words, or both parts of at least four letters)."""
    reverse: dict[str, list[str]] = {}
    for short, full in _SHORT_FORMS.items():
        reverse.setdefault(full, []).append(short)
    options: list[list[str]] = []
    for word in words:
        forms = [word, *reverse.get(word, ())]
        for i in range(3, len(word) - 2):
            head, tail = word[:i], word[i:]
            if (head in vocabulary and tail in vocabulary) or min(len(head), len(tail)) >= 4:
                forms.append(f"{head} {tail}")
        options.append(forms)
    spellings = [""]
    for forms in options:
        spellings = [f"{head} {form}".strip() for head in spellings for form in forms]
    return spellings


def _trie(strings: Iterable[str]) -> dict[str, Any]:
    """Strings as a character trie: nested dicts, "" marking where a string ends."""
    trie: dict[str, Any] = {}
    for string in strings:
        node = trie
        for ch in string:
            node = node.setdefault(ch, {})
        node[""] = {}
    return trie


def _emit(node: dict[str, Any]) -> str:
    """The regular expression of a trie node (a space stands for a short run of
    separators, or none); the longest string at a position is tried first."""
    alternatives = [
        (_SEP if ch == " " else re.escape(ch)) + _emit(child)
        for ch, child in sorted(node.items())
        if ch
    ]
    if not alternatives:
        return ""
    body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
    return f"(?:{body})?" if "" in node else body


def _trie_pattern(strings: Iterable[str]) -> str:
    """A regular expression matching exactly ``strings``, branching character by
    character: fast whatever the number of strings."""
    return _emit(_trie(strings))


def _capitalised(cased: str, i: int) -> bool:
    """Whether the word at ``i`` starts with a capital that says it is a name: inside a
    sentence, after a word that starts in lower case ("di Keagungan", "warga Desa
    Sukamaju": a prefix word before it is skipped), so not in "Di Tengah Kota" of a text
    that capitalises every word, nor in a text in capitals."""
    if not cased[i : i + 1].isupper():
        return False
    for _ in range(2):
        end = i
        while end > 0 and not cased[end - 1].isalnum():
            if cased[end - 1] in ".!?\n":
                return False
            end -= 1
        i = end
        while i > 0 and cased[i - 1].isalnum():
            i -= 1
        if i == 0 or i == end:  # the text's leading space: the start of the text
            return False
        if cased[i].islower():
            return True
        if _KINDS.get(cased[i:end].lower()) not in (_KEL, _KEC):
            return False
    return False


def _number(digits: str | None) -> str | None:
    value = int(digits) if digits else 0
    return str(value) if value else None


class PlaceFinder:
    """Finds the kelurahan, kecamatan, RT/RW and street a complaint text names.

    Built once from the official names (``kelurahan_names``, ``kecamatan_names``: any
    iterables; duplicates, blanks and non-strings are skipped). :meth:`find` reads one
    text, :meth:`find_many` a column of them. Neither raises: a value that is not text
    (None, NaN, numbers, objects whose ``str()`` fails) names no place, bytes are read as
    UTF-8, and only the first :data:`MAX_CHARS` characters of a text are read.

    Rules, strongest first:

    - a name after an explicit prefix: "kel."/"kelurahan"/"desa" names a kelurahan,
      "kec."/"kecamatan" a kecamatan (a name that is only the other kind is taken as that
      kind); the longest run of words that is a name, else a close spelling of one
      ("kel. klendr"); a name after a prefix that matches nothing is kept as written
      (after "kelurahan"/"kecamatan"/"desa" in full, only when written with a capital),
      but an official name found elsewhere in the text wins over it;
    - a whole official name anywhere, the longest at each place ("Cipinang Melayu", not
      "Melayu"); a name that is also a common word (``common_words``: "Baru", "Tengah",
      "Gunung"...) only when written with a capital inside a sentence; a name that is
      both a kelurahan and a kecamatan is the kelurahan only when exactly one kelurahan
      has it, else the kecamatan;
    - the first of each kind wins; names inside a street ("Jl. Kebon Sirih") are the
      street's, not a place of their own.
    """

    def __init__(
        self,
        kelurahan_names: Iterable[object],
        kecamatan_names: Iterable[object],
        *,
        common_words: Iterable[str] = COMMON_WORDS,
    ) -> None:
        common = {_key(_words(w)) for w in common_words if isinstance(w, str)}
        self._kel: dict[str, str] = {}  # key → official name (the first spelling seen)
        self._kec: dict[str, str] = {}
        kel_count: dict[str, int] = {}
        words_of: dict[str, list[list[str]]] = {}  # key → the words of each spelling given
        for names, table in ((kelurahan_names, self._kel), (kecamatan_names, self._kec)):
            for raw in names:
                if not isinstance(raw, str):
                    continue
                words = _words(raw)
                key = "".join(words)
                if not key:
                    continue
                if table is self._kel:
                    kel_count[key] = kel_count.get(key, 0) + 1
                table.setdefault(key, " ".join(raw.split()))
                if words not in words_of.setdefault(key, []):
                    words_of[key].append(words)
        # A bare name: the kelurahan when exactly one kelurahan has it, else the kecamatan.
        self._bare: dict[str, tuple[str, str, bool]] = {}
        for key in words_of:
            if key in self._kec and kel_count.get(key, 0) != 1:
                self._bare[key] = (_KEC, self._kec[key], key in common)
            else:
                self._bare[key] = (_KEL, self._kel[key], key in common)
        self._close_index = {_KEL: _CloseIndex(self._kel), _KEC: _CloseIndex(self._kec)}
        vocabulary = {w for spellings in words_of.values() for words in spellings for w in words}
        self._vocabulary = frozenset(vocabulary)
        # Words that end a name ("dalam" ends no "Menteng Dalam") or a street (a complaint
        # word always does: "jalan lubang" is a hole, not Jalan Lubang Buaya).
        self._stops = frozenset(_STOPS - vocabulary)
        self._street_stops = self._stops | _COMPLAINT_WORDS | _ROAD_KINDS
        self._fuzzy: dict[tuple[str, str], str | None] = {}
        self._surfaces: dict[str, tuple[str, str, bool]] = {}  # spelling → (level, name, common)
        for key, spellings in words_of.items():
            for words in spellings:
                for spelling in _spellings(words, vocabulary):
                    self._surfaces.setdefault(spelling, self._bare[key])
        self._compile()
        # What the hits of the scan say and the places built, remembered by their text:
        # names, prefixes and streets repeat across complaints.
        self._hits: dict[str, tuple[tuple[int, str, int], ...]] = {}
        self._places: dict[tuple[str | None, ...], NamedPlace] = {}
        self._runs: np.ndarray[Any, np.dtype[np.uint64]] | None = None
        self._streets: dict[tuple[str, bool], tuple[str | None, bool, int]] = {}

    def _compile(self) -> None:
        """The expressions that read a text.

        ``_scan`` finds, in one pass, every prefix with the words after it, RT/RW, street
        marker with its words, and bare name. A hit starts at a non-word character (texts
        get a leading space), so the engine only tries word starts, and the expression is
        one trie branching on the first letter of names and keywords alike, so that a word
        start costs a handful of character tests. It captures nothing: a hit's first word
        says what it is, and it is read once per distinct hit text (:meth:`_parse`). The
        words after a prefix or a street marker are taken up to a stop word (``rusak``,
        ``di``, ``rt``...) or punctuation. ``_names_scan`` finds bare names alone.
        """

        def not_stop(stops: Iterable[str], extra: str = "") -> str:
            words = _trie_pattern(sorted(stops))
            return rf"(?!(?:{words})(?![a-z0-9])|(?:r[tw]|km|no)\d{extra})"

        name_word = rf"{not_stop(self._stops)}[a-z0-9]+"
        name_words = rf"(?=[a-z]){name_word}(?:(?:{_GAP}|-){name_word}){{0,3}}"
        # "dr" without a dot is "dari"; "retak2", "gelap2an" are words repeated
        street_word = (
            not_stop(self._street_stops, r"|dr(?![a-z0-9.])|[a-z]+2[a-z]*(?![a-z0-9])")
            + r"[a-z0-9]+(?:'[a-z]+)?"
        )
        # a street's name starts with a letter ("Gg. 5": a gang's also with a digit), not
        # with a preposition ("jalan dalam gelap")
        no_preposition = rf"(?!(?:{_trie_pattern(sorted(_PREPOSITIONS))})(?![a-z0-9]))"
        street_words = rf"{no_preposition}{street_word}(?:{_GAP}{street_word}){{0,4}}"
        # a prefix or marker is a hit only with words after it; one followed by none
        # leaves its separator to the next hit ("jalan rt 5")
        kel_tail = rf"(?![a-z])[\s.:\-]{{0,3}}{name_words}"
        # a dot after an abbreviated marker ("jl.", "gg."), not after a word ("jalan.")
        jalan_tail = rf"(?![a-z0-9])[ \t]{{0,3}}(?=[a-z]){street_words}"
        jl_tail = rf"(?![a-z0-9])\.?[ \t]{{0,3}}(?=[a-z]){street_words}"
        gang_tail = rf"(?![a-z0-9])[ \t]{{0,3}}(?=[a-z0-9]){street_words}"
        gg_tail = rf"(?![a-z0-9])\.?[ \t]{{0,3}}(?=[a-z0-9]){street_words}"
        names = _trie_pattern(self._surfaces)
        self._names_scan = re.compile(rf"[^a-z0-9](?:{names})(?![a-z])")

        keywords: dict[str, list[str]] = {}
        for prefixes in (_KEL_PREFIXES, _KEC_PREFIXES):
            for first in sorted({p[0] for p in prefixes}):
                rests = [p[1:] for p in prefixes if p[0] == first]
                keywords.setdefault(first, []).append(f"(?:{_trie_pattern(rests)}){kel_tail}")
        keywords.setdefault("r", []).append(_rtrw_pattern(named=False)[1:])
        keywords.setdefault("j", []).append(f"(?:alan{jalan_tail}|ln?{jl_tail})")
        keywords.setdefault("g", []).append(f"(?:ang{gang_tail}|g{gg_tail})")
        trie = _trie(self._surfaces)
        branches = []
        for first in sorted(set(trie) | set(keywords)):
            parts = list(keywords.get(first, []))
            if first in trie:
                parts.append(_emit(trie[first]) + "(?![a-z])")
            body = parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"
            branches.append(re.escape(first) + body)
        self._scan = re.compile(r"[^a-z0-9](?:" + "|".join(branches) + ")")

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without what it remembered (rebuilt as it reads, e.g. on a worker)."""
        state = self.__dict__.copy()
        state["_hits"], state["_places"], state["_fuzzy"], state["_streets"] = {}, {}, {}, {}
        return state

    # ------------------------------------------------------------------ public interface

    def find(self, text: object) -> NamedPlace:
        """The place ``text`` names (a :class:`NamedPlace` of Nones when it names none)."""
        return self._find(_fold(text))

    def find_many(self, texts: Iterable[object]) -> list[NamedPlace]:
        """:meth:`find` for each of ``texts``, in order; each distinct text is read once.

        Texts are read in batches: a compiled kernel (:mod:`.kernels`) first finds where
        in a batch a hit may start, and the expression is tried only there."""
        known: dict[object, NamedPlace | int] = {}  # a place, or where it is in the batch
        out: list[NamedPlace] = []
        iterator = iter(texts)
        while chunk := list(itertools.islice(iterator, _BATCH)):
            batch: list[object] = []  # the distinct texts not read yet
            got: list[NamedPlace | int] = []
            for text in chunk:
                try:
                    place = known.get(text)
                except Exception:  # unhashable or incomparable: read it, do not remember it
                    got.append(len(batch))
                    batch.append(text)
                    continue
                if place is None:
                    place = len(batch)
                    batch.append(text)
                    if len(known) < _SEEN_SIZE:
                        known[text] = place
                got.append(place)
            places = self._find_all(batch)
            for text, place in zip(batch, places, strict=True):
                with contextlib.suppress(Exception):  # unhashable: not remembered
                    if type(known.get(text)) is int:
                        known[text] = place
            out += [p if type(p) is NamedPlace else places[p] for p in got]  # type: ignore[index]
        return out

    def _find_all(self, values: list[object]) -> list[NamedPlace]:
        """:meth:`find` of each value; over many, the kernel picks where to try the scan."""
        folded = [_fold(v) for v in values]
        if len(folded) < _KERNEL_MIN:
            return [self._find(c) for c in folded]
        from .kernels import candidate_starts  # numba: loaded on the first large batch

        lows = [c.lower() for c in folded]
        buffer = np.frombuffer("\x00".join(lows).encode("ascii"), dtype=np.uint8)
        found = np.empty(len(buffer), dtype=np.int64)
        count = candidate_starts(buffer, self._run_table(), found)
        positions = found[:count]
        sizes = np.fromiter(map(len, lows), dtype=np.int64, count=len(lows)) + 1
        offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        bounds = np.searchsorted(positions, np.append(offsets, len(buffer))).tolist()
        where = positions.tolist()
        return [
            self._find(cased, low, where, bounds[i], bounds[i + 1], offset)
            for i, (cased, low, offset) in enumerate(
                zip(folded, lows, offsets.tolist(), strict=True)
            )
        ]

    def _run_table(self) -> np.ndarray[Any, np.dtype[np.uint64]]:
        """The sorted hashes of the letter runs a hit can start with (see :mod:`.kernels`):
        of each spelling of a name, its words fused one, two... at a time and cut at the
        first non-letter ("kebon", "kebonsirih", "pegangsaan" for "pegangsaan 2"); and the
        prefixes, street markers and RT/RW words."""
        if self._runs is None:
            from .kernels import run_hash

            runs = set(_KINDS)
            for spelling in self._surfaces:
                words = spelling.split(" ")
                for j in range(1, len(words) + 1):
                    letters = _LETTERS.match("".join(words[:j]))
                    runs.add(letters.group() if letters else "")
            self._runs = np.array(sorted({run_hash(r) for r in runs}), dtype=np.uint64)
        return self._runs

    # ---------------------------------------------------------------------- the one pass

    def _find(
        self,
        cased: str,
        low: str | None = None,
        where: list[int] | None = None,
        first: int = 0,
        last: int = 0,
        offset: int = 0,
    ) -> NamedPlace:
        """The place in ``cased`` (from :func:`_fold`; ``low``: its lower case). The scan
        runs over the whole text, or is tried only at the candidates ``where[first:last]``
        (positions in a batch buffer where this text starts at ``offset``): a hit cannot
        start anywhere else."""
        if len(cased) < 3:
            return _NOTHING
        if low is None:
            low = cased.lower()
        matches: Iterable[re.Match[str]]
        if where is None:
            matches = self._scan.finditer(low)
        else:
            matches = []
            end = 0
            match = self._scan.match
            for i in range(first, last):
                position = where[i] - offset
                if position >= end and (m := match(low, position)) is not None:
                    end = m.end()
                    matches.append(m)
        slots: list[str | None] = [None] * 10
        memo = self._hits
        budget: list[int] | None = None  # close-spelling searches left for this text
        for m in matches:
            start, end = m.span()
            hit = cased[start:end]
            parts = memo.get(hit)
            if parts is None:
                if budget is None:
                    budget = [_FUZZY_PER_TEXT]
                parts = self._parse(hit, budget)
                if len(memo) < _MEMO_SIZE and budget[0] >= 0:
                    memo[hit] = parts
            for slot, value, at in parts:
                if slots[slot] is None and (at < 0 or _capitalised(cased, start + at)):
                    slots[slot] = value
        key = (
            slots[_KEL_NAMED] or slots[_KEL_BARE] or slots[_KEL_WRITTEN],
            slots[_KEC_NAMED] or slots[_KEC_BARE] or slots[_KEC_WRITTEN],
            slots[_RT_SLOT],
            slots[_RW_SLOT],
            slots[_STREET_SLOT] or slots[_STREET_WEAK_SLOT],
        )
        place = self._places.get(key)
        if place is None:
            place = NamedPlace(*key)
            if len(self._places) < _MEMO_SIZE:
                self._places[key] = place
        return place

    def _parse(self, hit: str, budget: list[int]) -> tuple[tuple[int, str, int], ...]:
        """What one hit of the scan says: (slot, value, offset) triples. Offset -1, or for
        a value that holds only where the text writes it with a capital (:func:`_capitalised`),
        where that word starts in the hit. A function of the hit's text alone, so that it is
        remembered by that text (unless the text's budget of close-spelling searches ran
        out: ``budget[0]`` is then -1)."""
        low = hit.lower()
        first = _LETTERS.match(low, 1)
        keyword = first.group() if first else ""
        kind = _KINDS.get(keyword)
        parts: list[tuple[int, str, int]] = []
        if kind is None:
            self._add_bare(parts, low[1:], 1)
        elif kind == _RT:
            rt, rw = _rtrw(low[1:])
            parts += [(_RT_SLOT, rt, -1)] if rt else []
            parts += [(_RW_SLOT, rw, -1)] if rw else []
        elif kind == _STREET:
            words = hit[1 + len(keyword) :].lstrip(". \t")
            start = len(hit) - len(words)
            shouting = hit.isupper()
            found = self._streets.get((words, shouting))
            if found is None:
                found = self._street(words, shouting)
                if len(self._streets) < _MEMO_SIZE:
                    self._streets[(words, shouting)] = found
            name, capitals, used = found
            if name is not None:
                strong = capitals or keyword in _SHORT_MARKERS
                slot = _STREET_SLOT if strong else _STREET_WEAK_SLOT
                parts.append((slot, f"{_STREET_KINDS[keyword]} {name}", -1))
            self._bare_in(parts, low, start + used)
        else:
            words = low[1 + len(keyword) :].lstrip(_PREFIX_SEPARATORS)
            if words:
                at = len(hit) - len(words)
                self._after_prefix(parts, words, hit[at:], at, kind, keyword, budget)
        return tuple(parts)

    def _add_bare(self, parts: list[tuple[int, str, int]], spelling: str, at: int) -> None:
        """A bare name's part (``at``: where it starts in the hit)."""
        found = self._surfaces.get(spelling)
        if found is None:  # separators other than one space: "kebon  sirih", "kb.melati"
            found = self._bare.get(_key(w for w in _SEP_SPLIT.split(spelling) if w))
        if found is not None:
            level, name, common = found
            parts.append((_KEL_BARE if level == _KEL else _KEC_BARE, name, at if common else -1))

    def _bare_in(self, parts: list[tuple[int, str, int]], low: str, start: int) -> None:
        """The bare names in ``low`` (a hit) from ``start`` (a separator) on."""
        if start < len(low):
            for m in self._names_scan.finditer(low, start):
                self._add_bare(parts, m.group()[1:], m.start() + 1)

    def _after_prefix(
        self,
        parts: list[tuple[int, str, int]],
        low: str,
        cased: str,
        at: int,
        kind: str,
        prefix: str,
        budget: list[int],
    ) -> None:
        """The parts of the words ``low`` (``cased``: as written) after a prefix (``at``:
        where they start in the hit): the longest run of words that is a name, else a close
        spelling, else the words as written (those with a capital, when the first has
        one); bare names in the words left over."""
        spans = [w.span() for w in _WORDS.finditer(low)]
        words = [low[a:b] for a, b in spans]
        expanded = [_SHORT_FORMS.get(w, w) for w in words]
        primary, secondary = (self._kel, self._kec) if kind == _KEL else (self._kec, self._kel)
        levels = (_KEL, _KEC) if kind == _KEL else (_KEC, _KEL)
        for k in range(len(words), 0, -1):
            key = "".join(expanded[:k])
            if key in primary:
                level, name = levels[0], primary[key]
            elif key in secondary:
                level, name = levels[1], secondary[key]
            else:
                close = self._close(key, kind, budget)
                if close is None:
                    continue
                level, name = levels[0], close
            parts.append((_KEL_NAMED if level == _KEL else _KEC_NAMED, name, -1))
            self._bare_in(parts, " " + low, spans[k - 1][1] + 1)
            return
        used = 0
        first = words[0]
        if len(first) >= 3 and first.isalpha() and not _VERB.match(first):
            # After an abbreviated prefix ("kel. sukamaju") an unknown name is taken as
            # written; after a whole word only with a capital ("kelurahan Sukamaju"),
            # since "kantor kelurahan sepi" names no place.
            used = min(3, len(words))
            if cased[:1].isupper():  # "Desa Sukamaju Jaya resah": the capitalised words
                used = next((j for j in range(1, used) if cased[spans[j][0]].islower()), used)
            written = " ".join(w.capitalize() for w in words[:used])
            offset = -1 if prefix in _SHORT_PREFIXES else at
            parts.append((_KEL_WRITTEN if kind == _KEL else _KEC_WRITTEN, written, offset))
        self._bare_in(parts, " " + low, spans[max(used, 1) - 1][1] + 1)

    def _close(self, key: str, kind: str, budget: list[int]) -> str | None:
        """The official name ``key`` is a close spelling of (the claims' rule), or None."""
        if len(key) < 4:
            return None
        cached = self._fuzzy.get((kind, key), "")
        if cached != "":
            return cached
        if budget[0] <= 0:  # bounded work per text: a junk text may hold many prefixes
            budget[0] = -1
            return None
        budget[0] -= 1
        found = self._close_index[kind].closest(key)
        if len(self._fuzzy) < 100_000:
            self._fuzzy[(kind, key)] = found
        return found

    def _street(self, words: str, shouting: bool) -> tuple[str | None, bool, int]:
        """(the name of the street in the words after a marker, or None; whether it starts
        with a capital in a text not in capitals; characters of ``words`` it used). The scan
        took up to five words; here the name ends earlier after a Roman or other number
        ("Delima IV"), after "raya" that is not its first word ("Tebet Raya"), before a
        lower-case word when it starts with a capital in a text not in capitals ("Jl. Tebet
        Raya kerja malam"), and, in lower case, before a verb ("dipotong") or a word ending
        in -nya. None for a kind of road ("jalan raya")."""
        tokens = words.replace(".", ". ").split()
        if not tokens:
            return None, False, 0
        capitals = tokens[0][0].isupper() and not shouting
        out: list[str] = []
        bare: list[str] = []
        for i, word in enumerate(tokens):
            low = word.lower().rstrip(".")
            roman = not low.strip("ivx")
            if i and low.isdigit():
                break  # a house number, not the street's
            if capitals:
                if i and word[0].islower() and not roman:
                    break
            elif low not in self._vocabulary and (
                _STREET_VERB.match(low) or (len(low) > 4 and low.endswith("nya"))
            ):
                break
            out.append(word)
            bare.append(low)
            if low.isdigit() or (i and (roman or low == "raya")):
                break
        if len(out) == len(tokens):
            used = len(words)
        else:  # where the first word left out starts
            used = list(_STREET_TOKENS.finditer(words))[len(out)].start()
        if not out or _GENERIC_STREETS.issuperset(bare):
            return None, False, used
        return " ".join([_street_word(w, not shouting) for w in out]), capitals, used


def _street_word(word: str, cased: bool) -> str:
    """A word of a street's name as it is written on the sign: "XIII", "H.", "Sa'ari"; a
    word written in capitals in a text that is not ("KKO") stays so."""
    bare = word.rstrip(".").lower()
    if not bare.strip("ivx") or (cased and len(bare) > 1 and word.isupper()):
        return word.upper()
    return word[:1].upper() + word[1:].lower()


class _CloseIndex:
    """The claims' rule for a close spelling, over a fixed set of name keys: the keys
    ``difflib.get_close_matches(key, keys, n=3, cutoff=0.8)`` returns, scored again by
    ``SequenceMatcher(None, key, k).ratio()``, the best kept only when it leads by
    FUZZY_MARGIN. The same answers as calling difflib, but the candidates are first narrowed
    with difflib's own upper bound (the ratio of shared letters, ``quick_ratio``) computed for
    every key at once, so a search costs tens of microseconds, not a millisecond."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.keys = sorted(table)
        counts = np.zeros((len(_ALNUM), len(self.keys)), dtype=np.uint8)  # letter × key
        for i, key in enumerate(self.keys):
            counts[:, i] = _letter_counts(key)
        self.counts = counts
        self.lengths = np.array([len(k) for k in self.keys], dtype=np.float64)
        self.shortest = min(map(len, self.keys), default=0)
        self.longest = max(map(len, self.keys), default=0)

    def closest(self, key: str) -> str | None:
        # difflib's cheapest bound first: the lengths alone (real_quick_ratio)
        n = len(key)
        if not self.keys or n > 1.5 * self.longest or 1.5 * n < self.shortest:
            return None
        query = _letter_counts(key)[:, None]
        shared = np.minimum(self.counts, query).sum(axis=0)
        bound = 2.0 * shared / (self.lengths + len(key))
        matches = []
        for i in np.flatnonzero(bound >= FUZZY_CUTOFF).tolist():
            candidate = self.keys[i]
            score = difflib.SequenceMatcher(None, candidate, key).ratio()
            if score >= FUZZY_CUTOFF:
                matches.append((score, candidate))
        best = [k for _, k in heapq.nlargest(3, matches)]  # what get_close_matches returns
        if len(best) == 1:  # no runner-up: no margin to check
            return self.table[best[0]]
        scored = sorted(
            ((difflib.SequenceMatcher(None, key, k).ratio(), k) for k in best), reverse=True
        )
        if scored and (len(scored) == 1 or scored[0][0] - scored[1][0] >= FUZZY_MARGIN):
            return self.table[scored[0][1]]
        return None


_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_ALNUM_INDEX = np.zeros(256, dtype=np.intp)
_ALNUM_INDEX[np.frombuffer(_ALNUM.encode(), dtype=np.uint8)] = np.arange(len(_ALNUM))


def _letter_counts(key: str) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """How often each of a-z, 0-9 occurs in ``key`` (a name key: nothing else occurs)."""
    data = np.frombuffer(key.encode("ascii", "ignore"), dtype=np.uint8)
    counts = np.bincount(_ALNUM_INDEX[data], minlength=len(_ALNUM))
    return np.minimum(counts, 255).astype(np.uint8)


def _rtrw(body: str) -> tuple[str | None, str | None]:
    """(rt, rw) of an RT/RW hit; numbers without leading zeros, None for zero."""
    m = _RTRW.fullmatch(body)
    if m is None:  # pragma: no cover - the scan matched the same expression
        return None, None
    first, b = m.group("k"), m.group("b")
    second = m.group("pair") or m.group("k2") or m.group("k3")
    if second is None:
        second = "w" if first == "t" else "t"
    values = {first: _number(m.group("a"))}
    if b is not None and second != first:  # "rt 05/rt 06": one kind twice, keep the first
        values[second] = _number(b)
    return values.get("t"), values.get("w")
