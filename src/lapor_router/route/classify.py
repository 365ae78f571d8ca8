"""Categories of complaint texts: given, corrected or inferred by keyword scoring."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass

from ..normalize import is_missing, name_key, text_tokens
from .rules import Category

_PHRASE_WEIGHT = 2.0
_WORD_WEIGHT = 1.0
_FUZZY_WEIGHT = 0.75
_FUZZY_CUTOFF = 0.85
_INFER_MIN = 0.75
_INFER_MARGIN = 0.5
_MISMATCH_MIN = 2.0
_CATEGORY_CUTOFF = 0.85


@dataclass(frozen=True)
class CategoryGuess:
    code: str | None
    source: str | None
    suggested: str | None
    flags: frozenset[str]
    matched: tuple[str, ...]  # keywords that decided an inference or a mismatch


class Classifier:
    """Keyword scoring of Indonesian complaint texts against the rule set's categories."""

    def __init__(self, categories: Mapping[str, Category]) -> None:
        self.categories = categories
        self._phrases: list[tuple[str, str]] = []  # (" phrase ", category)
        self._words: dict[str, list[str]] = {}
        for c in categories.values():
            for kw in c.keywords:
                norm = " ".join(text_tokens(kw))
                if " " in norm:
                    self._phrases.append((f" {norm} ", c.code))
                else:
                    self._words.setdefault(norm, []).append(c.code)
        self._long_words = [w for w in self._words if len(w) >= 5]
        self._names: dict[str, str] = {}
        for c in categories.values():
            for label in (c.code, c.name, *c.aliases):
                self._names.setdefault(name_key(label), c.code)
        self._score_cache: dict[str, tuple[dict[str, float], dict[str, list[str]]]] = {}
        self._fuzzy_cache: dict[str, str | None] = {}

    def _fuzzy(self, token: str) -> str | None:
        if token not in self._fuzzy_cache:
            best = difflib.get_close_matches(token, self._long_words, n=1, cutoff=_FUZZY_CUTOFF)
            self._fuzzy_cache[token] = best[0] if best else None
        return self._fuzzy_cache[token]

    def scores(self, text: str) -> tuple[dict[str, float], dict[str, list[str]]]:
        """Score per category and the keywords that matched (cached per text)."""
        if text in self._score_cache:
            return self._score_cache[text]
        tokens = text_tokens(text)
        joined = f" {' '.join(tokens)} "
        score: dict[str, float] = {}
        hits: dict[str, list[str]] = {}

        def add(code: str, kw: str, weight: float) -> None:
            if kw not in hits.setdefault(code, []):
                hits[code].append(kw)
                score[code] = score.get(code, 0.0) + weight

        for phrase, code in self._phrases:
            if phrase in joined:
                add(code, phrase.strip(), _PHRASE_WEIGHT)
        for tok in set(tokens):
            if tok in self._words:
                for code in self._words[tok]:
                    add(code, tok, _WORD_WEIGHT)
            elif len(tok) >= 5 and not tok.isdigit():
                near = self._fuzzy(tok)
                if near is not None:
                    for code in self._words[near]:
                        add(code, near, _FUZZY_WEIGHT)
        if len(self._score_cache) < 100_000:
            self._score_cache[text] = (score, hits)
        return score, hits

    def resolve_given(self, given: str) -> tuple[str | None, str | None]:
        """(code, source) for a category the report or app gave: ``given`` for a code, name
        or alias, ``corrected`` for a close misspelling, (None, None) when unknown."""
        key = name_key(given)
        if not key:
            return None, None
        if key in self._names:
            return self._names[key], "given"
        near = difflib.get_close_matches(key, list(self._names), n=1, cutoff=_CATEGORY_CUTOFF)
        return (self._names[near[0]], "corrected") if near else (None, None)

    def classify(self, given: str | None, text: str) -> CategoryGuess:
        """The report's category, with flags ``category_unknown``, ``category_mismatch``,
        ``needs_triage``."""
        flags: set[str] = set()
        score, hits = self.scores(text or "")
        ranked = sorted(score.items(), key=lambda kv: (-kv[1], kv[0]))
        best, best_score = ranked[0] if ranked else (None, 0.0)
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        confident = best_score >= _INFER_MIN and best_score - second >= _INFER_MARGIN
        code, source = (None, None)
        if not is_missing(given) and str(given).strip():
            code, source = self.resolve_given(str(given))
            if code is None:
                flags.add("category_unknown")
        if code is not None:
            if (
                confident
                and best != code
                and best_score >= _MISMATCH_MIN
                and score.get(code, 0.0) == 0.0
            ):
                flags.add("category_mismatch")
                return CategoryGuess(
                    code, source, best, frozenset(flags), tuple(hits.get(best or "", ()))
                )
            return CategoryGuess(code, source, None, frozenset(flags), tuple(hits.get(code, ())))
        if confident and best is not None:
            return CategoryGuess(best, "inferred", None, frozenset(flags), tuple(hits[best]))
        flags.add("needs_triage")
        suggestion = best if best_score >= _INFER_MIN else None
        return CategoryGuess(None, None, suggestion, frozenset(flags), ())

    def emergency(self, category: Category | None, text: str) -> bool:
        """True for an emergency category, or when every ``emergency_if`` group is in the text."""
        if category is None:
            return False
        if category.emergency:
            return True
        if not category.emergency_if:
            return False
        tokens = text_tokens(text)
        joined, words = f" {' '.join(tokens)} ", set(tokens)
        return all(
            any((f" {w} " in joined) if " " in w else (w in words) for w in group)
            for group in category.emergency_if
        )
