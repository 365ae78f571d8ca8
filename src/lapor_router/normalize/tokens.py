"""Normalized words of many texts at once, as :func:`~.text.text_tokens` reads each one.

:func:`tokenize_many` reads a batch the way :func:`~.text.text_tokens` reads one text, with
the same words out, but as array operations: the common text (ASCII, no hashtag, no run of
three equal letters, no control character, at most :data:`~.text.MAX_CHARS`) is cleaned,
stripped of URLs and mentions and cut into words by pyarrow's string kernels (RE2, no
per-text Python), and slang, run-together words and roots are looked up once per distinct
word. Other texts (accents to fold, hashtags to split, ``sampahhh``) take the one-text path.
The result, a :class:`TokenBatch`, is every text's words as ids into one vocabulary, which
the classifiers score with compiled kernels.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from .text import _SLANG, MAX_CHARS, Segmenter, clean_text, split_hashtags

# The one-text path's regular expressions, written for RE2 (no look-behind: the character
# before a mention is kept by a group instead).
_URL = r"(?i)(?:https?://|www\.)\S+|\b\S+\.(?:com|id|ly|co|net|org)/\S*"
_MENTION = r"(^|[^\w.])@\w+"
_REDUPLICATION = r"\b([a-z]{3,})2\b"
_CONTROL = "[\x00-\x08\x0b\x0c\x0e-\x1f]"  # binary junk is measured on the text itself
_BLANK = r"^[ \t\n\r\x0b\x0c]*$"
_LETTER_RUN = re.compile(r"([a-z])\1{2,}")  # RE2 has no back-references: per distinct word
_RUN_RE2 = "|".join(c * 3 for c in "abcdefghijklmnopqrstuvwxyz")  # words that may hold one
_NO_FLAGS: frozenset[str] = frozenset()
_MISSING = frozenset({"text_missing"})
_UNREADABLE = frozenset({"text_unreadable"})


@dataclass(frozen=True)
class TokenBatch:
    """Words of ``n`` texts: text ``i``'s words are ``vocab[ids[offsets[i]:offsets[i + 1]]]``;
    ``flags`` are :func:`~.text.clean_text`'s flags of each text."""

    vocab: list[str]
    ids: np.ndarray  # int32, every text's word ids, one text after the other
    offsets: np.ndarray  # int64, n + 1
    flags: list[frozenset[str]]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def words(self, i: int) -> list[str]:
        """The words of text ``i``."""
        vocab = self.vocab
        return [vocab[k] for k in self.ids[self.offsets[i] : self.offsets[i + 1]].tolist()]


_WORD_BYTES = np.full(256, ord(" "), dtype=np.uint8)
for _c in b"abcdefghijklmnopqrstuvwxyz0123456789":
    _WORD_BYTES[_c] = _c


def _words_only(arr: Any) -> Any:
    """The ASCII strings of ``arr`` with every byte but ``a-z0-9`` made a space (what the
    word pattern ``[a-z0-9]+`` finds is then the words between spaces)."""
    import pyarrow as pa

    arr = pa.concat_arrays([arr]) if arr.offset else arr
    validity, offsets, data = arr.buffers()
    if data is None:
        return arr
    start = int(np.frombuffer(offsets, dtype=np.int64)[0])
    end = int(np.frombuffer(offsets, dtype=np.int64)[len(arr)])
    raw = np.frombuffer(data, dtype=np.uint8)
    out = raw.copy()
    out[start:end] = _WORD_BYTES[raw[start:end]]
    return pa.LargeStringArray.from_buffers(
        len(arr), offsets, pa.py_buffer(out), validity, arr.null_count
    )


def _expand(word: str, segmenter: Segmenter | None) -> tuple[str, ...]:
    """One word found by the word pattern (after reduplication), as :func:`~.text.words_of`
    turns it into words."""
    if not word:
        return ()
    if word.isdigit():
        return (word,)
    if _LETTER_RUN.search(word):  # "sampahhh": runs collapse before slang is looked up
        word = _LETTER_RUN.sub(r"\1", word)
    w = _SLANG.get(word, word)
    if segmenter is not None and len(w) >= 8 and w not in segmenter.words and w.isalpha():
        w = " ".join(segmenter.split_whole(w))
    return tuple(w.split()) if " " in w else (w,)


def _plain(texts: Sequence[object]) -> tuple[Any, np.ndarray]:
    """(all texts as an Arrow array, which of them pyarrow may read as they are: ASCII, at
    most MAX_CHARS, no hashtag); (None, all False) when some text is not a string."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.array(texts, pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None, np.zeros(len(texts), dtype=bool)
    ok = pc.and_(
        pc.and_(pc.string_is_ascii(arr), pc.less_equal(pc.binary_length(arr), MAX_CHARS)),
        pc.invert(pc.match_substring(arr, "#")),
    )
    return arr, pc.fill_null(ok, False).to_numpy(zero_copy_only=False)


def tokenize_many(texts: Sequence[object], segmenter: Segmenter | None = None) -> TokenBatch:
    """The words of every text (see the module doc); ``texts[i]`` may be any object, as for
    :func:`~.text.text_tokens`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(texts)
    flags: list[frozenset[str] | None] = [None] * n
    arr, plain = _plain(texts)
    cleaned: dict[int, str] = {}
    split = np.zeros(n, dtype=bool)  # hashtags split: URLs and mentions already removed
    for i in np.flatnonzero(~plain).tolist():
        cleaned[i], flags[i] = clean_text(texts[i])
        if "#" in cleaned[i]:
            # URLs, mentions and hashtags in the one-text order: a mention that follows a
            # hashtag (#banjir@dki) is a word once the hashtag is split
            cleaned[i] = split_hashtags(cleaned[i], segmenter)
            split[i] = True
    if arr is None or cleaned:
        # texts read as they are, with the cleaned form of the others in their places
        base = arr if arr is not None else pa.array([""] * n, pa.large_string())
        if cleaned:
            mask = np.zeros(n, dtype=bool)
            at = np.fromiter(cleaned, dtype=np.int64, count=len(cleaned))
            mask[at] = True
            order = np.argsort(at)
            base = pc.replace_with_mask(
                base,
                pa.array(mask),
                pa.array([cleaned[i] for i in at[order].tolist()], pa.large_string()),
            )
        arr = base
    arr = pc.ascii_lower(arr)
    _fill_flags(arr, texts, flags)
    not_split = pa.array(~split)
    for needles, pattern, rewrite, again in (
        (("/", "www."), _URL, " ", False),  # (every URL the pattern finds has one of them)
        (("@",), _MENTION, r"\1 ", False),
        (("2",), _REDUPLICATION, r"\1", True),
    ):
        has = pc.match_substring(arr, needles[0])
        for other in needles[1:]:
            has = pc.or_(has, pc.match_substring(arr, other))
        if not again and split.any():
            has = pc.and_(has, not_split)
        if pc.any(has).as_py():
            arr = pc.replace_with_mask(
                arr, has, pc.replace_substring_regex(arr.filter(has), pattern, rewrite)
            )
    lists = pc.ascii_split_whitespace(_words_only(arr))
    per_list = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    enc = pc.dictionary_encode(pc.list_flatten(lists))
    raw_ids = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    found = enc.dictionary
    # distinct words found: most are words as they are; slang, letter runs and long
    # run-together words are turned into their words in Python
    vocab = found.to_pylist()
    special = pc.or_(
        pc.or_(pc.is_in(found, value_set=_slang_keys()), pc.match_substring_regex(found, _RUN_RE2)),
        pc.equal(pc.binary_length(found), 0),  # (between two spaces)
    )
    if segmenter is not None:
        long_alpha = pc.and_(pc.greater_equal(pc.binary_length(found), 8), pc.ascii_is_alpha(found))
        special = pc.or_(
            special, pc.and_(long_alpha, pc.invert(pc.is_in(found, value_set=_words_of(segmenter))))
        )
    special_at = np.flatnonzero(special.to_numpy(zero_copy_only=False)).tolist()
    piece_start = np.arange(len(vocab) + 1, dtype=np.int64)
    piece_ids = np.arange(len(vocab), dtype=np.int64)
    if special_at:
        # a special word's pieces: known words keep their ids, new ones are appended
        expanded = [_expand(vocab[j], segmenter) for j in special_at]
        flat = [p for ps in expanded for p in ps]
        known = pc.index_in(pa.array(flat, pa.large_string()), value_set=found)
        known_l = known.to_numpy(zero_copy_only=False) if len(flat) else np.zeros(0)
        added: dict[str, int] = {}
        flat_ids = []
        for piece, k in zip(flat, known_l.tolist(), strict=True):
            if k != k or k is None:  # null: a word not found as such
                k = added.get(piece)
                if k is None:
                    k = added[piece] = len(vocab)
                    vocab.append(piece)
            flat_ids.append(int(k))
        lens = np.ones(len(piece_start) - 1, dtype=np.int64)
        lens[special_at] = [len(ps) for ps in expanded]
        piece_start = np.zeros(len(lens) + 1, dtype=np.int64)
        np.cumsum(lens, out=piece_start[1:])
        piece_ids = np.repeat(np.arange(len(lens), dtype=np.int64), lens)
        slots = np.concatenate(
            [np.arange(piece_start[j], piece_start[j + 1]) for j in special_at]
        ).astype(np.int64)
        piece_ids[slots] = flat_ids
    from .kernels import expand_words

    words, offsets = expand_words(raw_ids, per_list, piece_start, piece_ids)
    done = [f if f is not None else _NO_FLAGS for f in flags]
    return TokenBatch(vocab, words, offsets, done)


def _fill_flags(arr: Any, texts: Sequence[object], flags: list[frozenset[str] | None]) -> None:
    """The flags of the texts that have none yet, from their lower-cased ASCII ``arr``."""
    import pyarrow.compute as pc

    blank = pc.match_substring_regex(arr, _BLANK).to_numpy(zero_copy_only=False)
    has_word = pc.match_substring_regex(arr, "[a-z0-9]").to_numpy(zero_copy_only=False)
    kind = np.where(blank, 1, np.where(has_word, 0, 2))
    control = pc.match_substring_regex(arr, _CONTROL).to_numpy(zero_copy_only=False)
    choices = (_NO_FLAGS, _MISSING, _UNREADABLE)
    for i, (k, c) in enumerate(zip(kind.tolist(), control.tolist(), strict=True)):
        if flags[i] is None:
            # control characters: binary junk is measured on the text itself
            flags[i] = clean_text(texts[i])[1] if c else choices[k]


def text_flags_many(texts: Sequence[object]) -> list[frozenset[str]]:
    """:func:`~.text.clean_text`'s flags of every text (without reading their words)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr, plain = _plain(texts)
    flags: list[frozenset[str] | None] = [None] * len(texts)
    if arr is None or not plain.all():
        for i in np.flatnonzero(~plain).tolist():
            flags[i] = clean_text(texts[i])[1]
        at = np.flatnonzero(plain)
        if not len(at):
            return [f or _NO_FLAGS for f in flags]
        sub = pa.array([texts[i] for i in at.tolist()], pa.large_string())
        part: list[frozenset[str] | None] = [None] * len(at)
        _fill_flags(pc.ascii_lower(sub), [texts[i] for i in at.tolist()], part)
        for i, f in zip(at.tolist(), part, strict=True):
            flags[i] = f
    else:
        _fill_flags(pc.ascii_lower(arr), texts, flags)
    return [f if f is not None else _NO_FLAGS for f in flags]


@cache
def _slang_keys() -> Any:
    import pyarrow as pa

    return pa.array(sorted(_SLANG), pa.large_string())


_SEGMENTER_WORDS: dict[int, tuple[Segmenter, Any]] = {}


def _words_of(segmenter: Segmenter) -> Any:
    """The segmenter's words as an Arrow array (kept per segmenter)."""
    import pyarrow as pa

    got = _SEGMENTER_WORDS.get(id(segmenter))
    if got is None or got[0] is not segmenter:
        got = (segmenter, pa.array(sorted(segmenter.words), pa.large_string()))
        _SEGMENTER_WORDS.clear()
        _SEGMENTER_WORDS[id(segmenter)] = got
    return got[1]
