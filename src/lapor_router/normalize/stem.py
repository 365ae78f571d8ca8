"""Indonesian affixes stripped against a lexicon of root words (``menggenangi`` → ``genang``).

A small affix stripper in the manner of Nazief and Adriani: particles (``-lah``, ``-kah``,
``-pun``), possessives (``-ku``, ``-mu``, ``-nya``), suffixes (``-i``, ``-kan``, ``-an``)
and up to two prefixes (``di-``, ``ke-``, ``se-``, ``ber-``, ``ter-``, ``me(N)-``,
``pe(N)-``, ``per-``) with the sound changes of the nasal prefixes (``menyapu`` → ``sapu``,
``memukul`` → ``pukul``, ``menulis`` → ``tulis``, ``mengirim`` → ``kirim``) and the
colloquial Jakarta forms (``ngerokok`` → ``rokok``, ``nyapu`` → ``sapu``, ``dibenerin`` →
``bener``) are removed,
and the first remainder that is a known root wins; a word with no such remainder stays as
it is. The lexicon is PySastrawi's dictionary of root words plus the words the caller adds
(the rule set's keywords). It agrees with PySastrawi's stemmer on the words that matter
for classification and runs some 20× faster (``benchmarks/bench_classify.py`` measures
both); results are cached per word.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

_PARTICLES = ("lah", "kah", "tah", "pun")
_POSSESSIVES = ("nya", "ku", "mu")
_SUFFIXES = ("kan", "an", "i", "in")  # "-in": Jakarta's colloquial "-kan"/"-i" (dibenerin)
_VOWELS = frozenset("aeiou")


@cache
def sastrawi_roots() -> frozenset[str]:
    """PySastrawi's root words (about 30,000), or none when the package is missing."""
    try:
        path = Path(str(resources.files("Sastrawi") / "Stemmer" / "data" / "kata-dasar.txt"))
        return frozenset(path.read_text(encoding="utf-8").split())
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return frozenset()


def _prefixed(word: str) -> list[str]:
    """Remainders of ``word`` after one prefix, sound changes restored (most likely first)."""
    out: list[str] = []
    w = word
    if w.startswith(("di", "ke", "se")) and len(w) > 4:
        out.append(w[2:])
    if w.startswith(("ber", "ter", "per")) and len(w) > 5:
        out.append(w[3:])
        if w[3:4] == "r":  # "berrantai" is rare; "terrebut" likewise
            out.append(w[4:])
    if w.startswith(("be", "te", "pe")) and len(w) > 4 and w[2:3] == "r":
        pass
    elif w.startswith(("be", "te")) and len(w) > 4:
        out.append(w[2:])  # "bekerja" → kerja, "tebang" is a root itself
    # Jakarta's colloquial nasal prefix: ngerokok → rokok, ngangkut → angkut, ngirim →
    # kirim, nyapu → sapu, nimpa → timpa, mancing → pancing
    if w.startswith("nge") and len(w) > 5:
        out.append(w[3:])
    if w.startswith("ng") and w[2:3] in _VOWELS and len(w) > 4:
        out += [w[2:], "k" + w[2:]]
    elif w.startswith("ny") and w[2:3] in _VOWELS and len(w) > 4:
        out += ["s" + w[2:], "c" + w[2:]]
    elif w.startswith("n") and w[1:2] in _VOWELS and len(w) > 4:
        out.append("t" + w[1:])
    elif w.startswith("m") and w[1:2] in _VOWELS and not w.startswith("me") and len(w) > 4:
        out.append("p" + w[1:])
    for base in ("me", "pe"):
        if not w.startswith(base) or len(w) < 5:
            continue
        rest = w[2:]
        if rest.startswith("ny") and rest[2:3] in _VOWELS:
            out += ["s" + rest[2:], rest[2:]]
        elif rest.startswith("ng"):
            tail = rest[2:]
            if tail.startswith("e") and len(tail) > 3:  # "mengecat" → cat
                out.append(tail[1:])
            out += [tail, "k" + tail] if tail[:1] in _VOWELS else [tail]
        elif rest.startswith("m"):
            tail = rest[1:]
            out += ["p" + tail, tail, "m" + tail] if tail[:1] in _VOWELS else [tail]
        elif rest.startswith("n"):
            tail = rest[1:]
            out += ["t" + tail, tail, "n" + tail] if tail[:1] in _VOWELS else [tail]
        else:
            out.append(rest)  # "melihat" → lihat, "merusak" → rusak
    return out


def _unsuffixed(word: str) -> list[str]:
    """``word`` and its remainders after a particle, a possessive and a suffix."""
    out = [word]
    for group in (_PARTICLES, _POSSESSIVES, _SUFFIXES):
        out += [w[: -len(s)] for w in out for s in group if w.endswith(s) and len(w) - len(s) >= 3]
    return out


class Stemmer:
    """Root words of Indonesian words, against ``sastrawi_roots()`` plus ``extra`` roots."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.roots = sastrawi_roots() | frozenset(extra)
        self.stem = lru_cache(maxsize=1 << 17)(self._stem)

    def __getstate__(self) -> dict[str, object]:
        return {"roots": self.roots}  # the cache is rebuilt where it is unpickled

    def __setstate__(self, state: dict[str, object]) -> None:
        self.roots = state["roots"]  # type: ignore[assignment]
        self.stem = lru_cache(maxsize=1 << 17)(self._stem)

    def _stem(self, word: str) -> str:
        if len(word) < 4 or word in self.roots or not word.isalpha():
            return word
        # fewest prefixes first, then the least stripped end ("penerangan" → terang, not angan)
        bares = [word, *sorted(set(_unsuffixed(word)[1:]), key=len, reverse=True)]
        for bare in bares[1:]:
            if bare in self.roots:
                return bare
        once = [(b, p) for b in bares for p in _prefixed(b)]
        for _, root in once:
            if root in self.roots:
                return root
        for _, first in once:  # "memperbaiki", "diperbaiki", "keberadaan"
            for root in _prefixed(first):
                if root in self.roots:
                    return root
        return word
