"""Categories of complaint texts: given, corrected or inferred by keyword scoring.

A text is read as :mod:`lapor_router.normalize.text` reads it (slang, hashtags split into
words, reduplication) and each word also by its root (:mod:`lapor_router.normalize.stem`:
``menggenangi`` counts as ``genang``, a keyword of flooding). Each category scores its
keywords found: a phrase counts double, a word once, a root 0.9, a near-miss spelling of a
long word 0.75; a keyword after a causal word (``karena``, ``akibat``...) counts
``cause_weight`` (0.5) of that, since what follows is the cause, not the complaint.

The decision policy is rule data: a category that ``outranks`` another wins when both are
found ("banjir karena got mampet" is flooding; "got mampet" alone is a blocked drain).
The best category is inferred when it scores at least 0.75 and leads the next by 0.5;
otherwise the report goes to triage with the candidates listed. Every guess carries its
top candidates and scores.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..normalize import is_missing, name_key, text_tokens
from ..normalize.stem import Stemmer, sastrawi_roots
from ..normalize.text import SLANG_WORDS, Segmenter, clean_text
from .rules import Category, RuleSpec

_PHRASE_WEIGHT = 2.0
_WORD_WEIGHT = 1.0
_ROOT_WEIGHT = 0.9
_FUZZY_WEIGHT = 0.75
_FUZZY_CUTOFF = 0.85
_INFER_MIN = 0.75
_INFER_MARGIN = 0.5
_MISMATCH_MIN = 2.0
_CATEGORY_CUTOFF = 0.85
_TOP = 3  # candidates kept on a guess
_SLANG_CAUSES = ("karena", "akibat", "gara", "disebabkan", "sebab", "dampak", "imbas")


@dataclass(frozen=True)
class CategoryGuess:
    """The category of one report: ``source`` is ``given``, ``corrected``, ``inferred`` or
    None; ``candidates`` the best-scoring categories ((code, score), best first);
    ``classifier`` which classifier decided (``keywords@RULES`` or ``model:NAME@VERSION``)."""

    code: str | None
    source: str | None
    suggested: str | None
    flags: frozenset[str]
    matched: tuple[str, ...]  # keywords that decided an inference or a mismatch
    candidates: tuple[tuple[str, float], ...] = ()
    classifier: str = "keywords"


class CategoryClassifier(Protocol):
    """What routing asks of a classifier: the keyword :class:`Classifier` or a trained
    :class:`~lapor_router.route.model.ModelClassifier`."""

    name: str

    @property
    def categories(self) -> Mapping[str, Category]: ...
    def classify(self, given: str | None, text: object) -> CategoryGuess: ...
    def classify_many(
        self, givens: Sequence[str | None], texts: Sequence[object]
    ) -> list[CategoryGuess]: ...
    def emergency(self, category: Category | None, text: object) -> bool: ...
    def tokens(self, text: object) -> list[str]: ...


class Classifier:
    """Keyword scoring of Indonesian complaint texts against the rule set's categories."""

    def __init__(self, categories: Mapping[str, Category], spec: RuleSpec | None = None) -> None:
        self.categories = categories
        self.name = f"keywords@{spec.fingerprint}" if spec is not None else "keywords"
        words: set[str] = set()
        for c in categories.values():
            for kw in c.keywords:
                words.update(text_tokens(kw))
        self.stemmer = Stemmer(extra=words)
        self.segmenter = Segmenter(sastrawi_roots() | words | SLANG_WORDS)
        self._phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}  # first word → ...
        self._words: dict[str, list[str]] = {}
        self._roots: dict[str, list[str]] = {}  # root of a keyword word → categories
        for c in categories.values():
            for kw in c.keywords:
                tokens = text_tokens(kw)
                if len(tokens) > 1:
                    roots = [self.stemmer.stem(t) for t in tokens]
                    for form in {tuple(tokens), tuple(roots)}:
                        entry = (form, c.code)
                        if entry not in self._phrases.setdefault(form[0], []):
                            self._phrases[form[0]].append(entry)
                elif tokens:
                    self._words.setdefault(tokens[0], []).append(c.code)
                    root = self.stemmer.stem(tokens[0])
                    if c.code not in self._roots.setdefault(root, []):
                        self._roots[root].append(c.code)
        self._long_words: dict[tuple[str, int], list[str]] = {}
        for w in self._words:
            if len(w) >= 5:
                self._long_words.setdefault((w[0], len(w)), []).append(w)
        self._names: dict[str, str] = {}
        for c in categories.values():
            for label in (c.code, c.name, *c.aliases):
                self._names.setdefault(name_key(label), c.code)
        self._causal = frozenset(spec.causal_words if spec and spec.causal_words else _SLANG_CAUSES)
        self._cause_weight = spec.cause_weight if spec is not None else 0.5
        self._outranks = {c.code: frozenset(c.outranks) for c in categories.values()}
        self._lexicon = self.stemmer.roots
        self._score_cache: dict[str, tuple[dict[str, float], dict[str, list[str]]]] = {}
        self._tokens: dict[str, tuple[str, tuple[tuple[str, str, float], ...], bool]] = {}
        self._fuzzy_cache: dict[str, str | None] = {}

    def tokens(self, text: object) -> list[str]:
        """The words of ``text`` as this classifier reads them (hashtags split)."""
        return text_tokens(text, self.segmenter)

    def _fuzzy(self, token: str) -> str | None:
        """A keyword word that ``token`` is a near-miss spelling of ("sampahh", "bajir")."""
        if token not in self._fuzzy_cache:
            pool = [
                w
                for n in range(len(token) - 1, len(token) + 2)
                for w in self._long_words.get((token[0], n), ())
            ]
            best = difflib.get_close_matches(token, pool, n=1, cutoff=_FUZZY_CUTOFF)
            self._fuzzy_cache[token] = best[0] if best else None
        return self._fuzzy_cache[token]

    def _token(self, tok: str) -> tuple[str, tuple[tuple[str, str, float], ...], bool]:
        """(root, (category, keyword, weight) matches of the word alone, is causal), cached."""
        info = self._tokens.get(tok)
        if info is None:
            root = self.stemmer.stem(tok)
            found: tuple[tuple[str, str, float], ...] = ()
            if tok in self._words:
                found = tuple((c, tok, _WORD_WEIGHT) for c in self._words[tok])
            elif root in self._roots:
                found = tuple((c, root, _ROOT_WEIGHT) for c in self._roots[root])
            elif len(tok) >= 5 and not tok.isdigit() and tok not in self._lexicon:
                near = self._fuzzy(tok)
                if near is not None:
                    found = tuple((c, near, _FUZZY_WEIGHT) for c in self._words[near])
            info = (root, found, tok in self._causal or root in self._causal)
            if len(self._tokens) < 500_000:
                self._tokens[tok] = info
        return info

    def scores(self, text: str) -> tuple[dict[str, float], dict[str, list[str]]]:
        """Score per category and the keywords that matched (cached per text)."""
        cached = self._score_cache.get(text)
        if cached is not None:
            return cached
        tokens = self.tokens(text)
        known = self._tokens
        infos = [known.get(t) or self._token(t) for t in tokens]
        score: dict[str, float] = {}
        hits: dict[str, list[str]] = {}
        w = 1.0
        phrases = self._phrases
        roots = [info[0] for info in infos]
        for i, (tok, (root, found, causal)) in enumerate(zip(tokens, infos, strict=True)):
            if causal:  # a keyword after a causal word names the cause: it counts less
                w = self._cause_weight
            starts = (
                phrases.get(tok, ())
                if root == tok
                else (*phrases.get(tok, ()), *phrases.get(root, ()))
            )
            for form, code in starts:
                n = len(form)
                if tuple(tokens[i : i + n]) == form or tuple(roots[i : i + n]) == form:
                    kw = " ".join(form)
                    got = hits.setdefault(code, [])
                    if kw not in got:
                        got.append(kw)
                        score[code] = score.get(code, 0.0) + _PHRASE_WEIGHT * w
            for code, kw, value in found:
                got = hits.setdefault(code, [])
                if kw not in got:
                    got.append(kw)
                    score[code] = score.get(code, 0.0) + value * w
        if len(self._score_cache) < 100_000:
            self._score_cache[text] = (score, hits)
        return score, hits

    def ranked(self, score: Mapping[str, float]) -> list[tuple[str, float]]:
        """Categories by score, best first, after the ``outranks`` policy: a category found
        with enough weight removes the categories it outranks from the running (they follow
        the others)."""
        return self._ranked(score)[0]

    def _ranked(self, score: Mapping[str, float]) -> tuple[list[tuple[str, float]], int]:
        """:meth:`ranked`, and how many of its first entries are still in the running."""
        strong = {c for c, v in score.items() if v >= _INFER_MIN}
        beaten = {o for c in strong for o in self._outranks.get(c, ()) if o in score}
        # two categories that outrank each other cancel out: both stay
        beaten = {o for o in beaten if not (self._outranks.get(o, frozenset()) & strong)}
        ranked = sorted(
            ((c, round(v, 3)) for c, v in score.items() if c not in beaten),
            key=lambda kv: (-kv[1], kv[0]),
        )
        running = len(ranked)
        return ranked + sorted(
            ((c, round(score[c], 3)) for c in beaten), key=lambda kv: (-kv[1], kv[0])
        ), running

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

    def classify(self, given: str | None, text: object) -> CategoryGuess:
        """The report's category, with flags ``category_unknown``, ``category_mismatch``,
        ``needs_triage`` and, for texts that cannot be read, ``text_missing``,
        ``text_unreadable`` or ``text_truncated``."""
        flags: set[str] = set()
        _, text_flags = clean_text(text)
        body = text if isinstance(text, str) else ("" if is_missing(text) else str(text))
        score, hits = self.scores(body)
        ranked, running = self._ranked(score)
        top = tuple(ranked[:_TOP])
        best, best_score = ranked[0] if ranked else (None, 0.0)
        # the lead is measured against the categories still in the running: one that the
        # best outranks is its cause or context, not a rival
        second = ranked[1][1] if running > 1 else 0.0
        confident = best_score >= _INFER_MIN and best_score - second >= _INFER_MARGIN
        code, source = (None, None)
        if not is_missing(given) and str(given).strip():
            code, source = self.resolve_given(str(given))
            if code is None:
                flags.add("category_unknown")
        flags |= text_flags - ({"text_missing"} if code is not None else set())
        if code is not None:
            if (
                confident
                and best != code
                and best_score >= _MISMATCH_MIN
                and score.get(code, 0.0) == 0.0
            ):
                flags.add("category_mismatch")
                matched = tuple(hits.get(best or "", ()))
                return CategoryGuess(code, source, best, frozenset(flags), matched, top, self.name)
            matched = tuple(hits.get(code, ()))
            return CategoryGuess(code, source, None, frozenset(flags), matched, top, self.name)
        if confident and best is not None:
            return CategoryGuess(
                best, "inferred", None, frozenset(flags), tuple(hits[best]), top, self.name
            )
        flags.add("needs_triage")
        suggestion = best if best_score >= _INFER_MIN else None
        return CategoryGuess(None, None, suggestion, frozenset(flags), (), top, self.name)

    def classify_many(
        self, givens: Sequence[str | None], texts: Sequence[object]
    ) -> list[CategoryGuess]:
        """:meth:`classify` for many reports (one call per report; scores are cached)."""
        return [self.classify(g, t) for g, t in zip(givens, texts, strict=True)]

    def emergency(self, category: Category | None, text: object) -> bool:
        """True for an emergency category, or when every ``emergency_if`` group is in the text."""
        if category is None:
            return False
        if category.emergency:
            return True
        if not category.emergency_if:
            return False
        tokens = self.tokens(text)
        joined, words = f" {' '.join(tokens)} ", set(tokens)
        return all(
            any((f" {w} " in joined) if " " in w else (w in words) for w in group)
            for group in category.emergency_if
        )
