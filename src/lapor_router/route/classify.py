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
from typing import Any, Protocol

from ..normalize import is_missing, name_key, text_tokens
from ..normalize.memory import no_gc
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
_BATCH_MIN = 64  # texts from which classify_many reads them all at once
_TABLE_MAX = 1_000_000  # words whose table id is remembered
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


@dataclass(frozen=True)
class KeywordArrays:
    """Keyword scores of many texts (:meth:`Classifier.keyword_arrays`): ``scores`` (texts,
    categories) in :attr:`Classifier.codes` order; ``order`` the best categories per text
    after the outranks policy, with ``top_group`` (0 in the running, 1 outranked, 2 not
    found) and ``top_score`` (rounded as :meth:`Classifier.ranked` rounds); ``running`` how
    many are in the running; ``hit_*`` the keywords found, text by text, in order."""

    batch: Any  # the texts' TokenBatch
    flags: list[frozenset[str]]
    scores: Any
    order: Any
    top_group: Any
    top_score: Any
    running: Any
    hit_text: Any
    hit_cat: Any
    hit_kw: Any


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
        self._table: _WordTable | None = None  # for batches, built on first use
        self._given_cache: dict[str, tuple[str | None, str | None]] = {}

    @property
    def codes(self) -> list[str]:
        """Category codes in the order of :meth:`keyword_arrays`' columns (sorted)."""
        return sorted(self.categories)

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
        """:meth:`classify` for many reports, the same guesses: a batch of distinct texts is
        read and scored at once (:func:`~lapor_router.normalize.tokens.tokenize_many` and a
        compiled kernel), a few texts one by one."""
        if len(texts) < _BATCH_MIN:
            return [self.classify(g, t) for g, t in zip(givens, texts, strict=True)]
        with no_gc():  # many small objects, no cycles: the collector would only rescan caches
            return self._classify_batch(list(givens), list(texts))

    def keyword_arrays(self, texts: Sequence[object], top: int = _TOP) -> KeywordArrays:
        """:meth:`scores` and :meth:`ranked` of many texts as arrays (see
        :class:`KeywordArrays`): texts read at once, scored by a compiled kernel."""
        import numpy as np

        from ..normalize.tokens import tokenize_many
        from .kernels import keyword_scores

        if self._table is None:
            self._table = _WordTable(self)
        table = self._table
        # bodies as classify() reads them; flags of the texts themselves
        bodies = [t if type(t) is str else ("" if is_missing(t) else str(t)) for t in texts]
        batch = tokenize_many(bodies, self.segmenter)
        flags = batch.flags
        for i, t in enumerate(texts):
            if type(t) is not str:
                flags[i] = clean_text(t)[1]
        to_table = table.ids_of(batch.vocab)
        ids = to_table[batch.ids] if len(batch.ids) else batch.ids.astype(np.int64)
        arrays = table.arrays()
        n_cat = len(table.codes)
        bound = int(
            (arrays["m_count"][ids].sum() + arrays["p_count"][ids].sum())
            + arrays["p_count"][arrays["root"][ids]].sum()
        )
        scores, present, hit_text, hit_cat, hit_kw, n_hits = keyword_scores(
            ids.astype(np.int32),
            batch.offsets,
            arrays["root"],
            arrays["causal"],
            arrays["m_start"],
            arrays["m_cat"],
            arrays["m_kw"],
            arrays["m_weight"],
            arrays["p_start"],
            arrays["p_len"],
            arrays["p_first"],
            arrays["p_words"],
            arrays["p_cat"],
            arrays["p_kw"],
            n_cat,
            len(table.kw_names),
            _PHRASE_WEIGHT,
            float(self._cause_weight),
            max(bound, 1),
        )
        # ranking after the outranks policy, all texts at once (as _ranked does)
        rounded = np.round(scores, 3)
        strong = (scores >= _INFER_MIN).astype(np.float32)
        outranks = table.outranks  # (categories, categories): row outranks column
        beaten = ((strong @ outranks) > 0) & present
        beaten &= ~((strong @ outranks.T) > 0)
        group = np.where(present, np.where(beaten, 1, 0), 2).astype(np.int64)
        milli = np.rint(rounded * 1000).astype(np.int64)
        key = (group << 50) + ((1 << 40) - milli) * 64 + table.name_rank[None, :]
        top = min(top, n_cat)
        if n_cat > top:
            part = np.argpartition(key, top - 1, axis=1)[:, :top]
        else:
            part = np.tile(np.arange(n_cat), (len(texts), 1))
        part_key = np.take_along_axis(key, part, axis=1)
        order = np.take_along_axis(part, np.argsort(part_key, axis=1), axis=1)
        return KeywordArrays(
            batch=batch,
            flags=flags,
            scores=scores,
            order=order,
            top_group=np.take_along_axis(group, order, axis=1),
            top_score=np.take_along_axis(rounded, order, axis=1),
            running=(group == 0).sum(axis=1),
            hit_text=hit_text[:n_hits],
            hit_cat=hit_cat[:n_hits],
            hit_kw=hit_kw[:n_hits],
        )

    def _classify_batch(self, givens: list[str | None], texts: list[object]) -> list[CategoryGuess]:
        import numpy as np

        ka = self.keyword_arrays(texts)
        table = self._table
        assert table is not None
        flags, scores, order = ka.flags, ka.scores, ka.order
        top_group, top_score, running = ka.top_group, ka.top_score, ka.running
        hit_text, hit_cat, hit_kw = ka.hit_text, ka.hit_cat, ka.hit_kw
        top = order.shape[1]
        has_best = top_group[:, 0] < 2
        best_score = np.where(has_best, top_score[:, 0], 0.0)
        second = np.where(running > 1, top_score[:, 1] if top > 1 else 0.0, 0.0)
        confident = (best_score >= _INFER_MIN) & (best_score - second >= _INFER_MARGIN)
        best = np.where(has_best, order[:, 0], -1)
        # given categories
        codes = table.codes
        at = table.code_index
        given_code = np.full(len(texts), -1, dtype=np.int64)
        given_src: list[str | None] = [None] * len(texts)
        unknown = np.zeros(len(texts), dtype=bool)
        for i, g in enumerate(givens):
            if g is None or is_missing(g):
                continue
            gs = str(g)
            if not gs.strip():
                continue
            got = self._given_cache.get(gs)
            if got is None:
                got = self.resolve_given(gs)
                if len(self._given_cache) < 10_000:
                    self._given_cache[gs] = got
            if got[0] is None:
                unknown[i] = True
            else:
                given_code[i] = at[got[0]]
                given_src[i] = got[1]
        rows = np.arange(len(texts))
        given_score = np.where(given_code >= 0, scores[rows, np.maximum(given_code, 0)], 0.0)
        mismatch = (
            (given_code >= 0)
            & confident
            & (best != given_code)
            & (best_score >= _MISMATCH_MIN)
            & (given_score == 0.0)
        )
        # the keywords that decided: of the best for an inference or a mismatch, else of the
        # given category
        chosen = np.where(mismatch | ((given_code < 0) & confident & (best >= 0)), best, given_code)
        keep = hit_cat == chosen[hit_text]
        kw_names = table.kw_names
        sel_text = hit_text[keep]
        sel_kw = [kw_names[k] for k in hit_kw[keep].tolist()]
        bounds = np.searchsorted(sel_text, np.arange(len(texts) + 1))
        out: list[CategoryGuess] = []
        name = self.name
        n_top = (top_group < 2).sum(axis=1).tolist()
        top_names = np.asarray(codes, dtype=object)[order].tolist()
        top_val = top_score.tolist()
        best_l = best.tolist()
        gc_l = given_code.tolist()
        mismatch_l = mismatch.tolist()
        conf_l = (confident & (best >= 0)).tolist()
        suggest_l = (best_score >= _INFER_MIN).tolist()
        bounds_l = bounds.tolist()
        unknown_l = unknown.tolist()
        flag_sets: dict[tuple[frozenset[str], str], frozenset[str]] = {}

        def with_flag(base: frozenset[str], extra: str) -> frozenset[str]:
            got = flag_sets.get((base, extra))
            if got is None:
                got = flag_sets[(base, extra)] = (
                    base - {"text_missing"} if extra == "-missing" else base | {extra}
                )
            return got

        new = object.__new__
        for i in range(len(texts)):
            k = n_top[i]
            cands = tuple(zip(top_names[i][:k], top_val[i][:k], strict=True))
            text_flags = flags[i]
            b = best_l[i]
            gc_i = gc_l[i]
            code: str | None
            if gc_i >= 0:
                fl = (
                    with_flag(text_flags, "-missing")
                    if "text_missing" in text_flags
                    else text_flags
                )
                code, source = codes[gc_i], given_src[i]
                if mismatch_l[i]:
                    fl, suggested = with_flag(fl, "category_mismatch"), codes[b]
                else:
                    suggested = None
                matched = tuple(sel_kw[bounds_l[i] : bounds_l[i + 1]])
            else:
                fl = with_flag(text_flags, "category_unknown") if unknown_l[i] else text_flags
                if conf_l[i]:
                    code, source, suggested = codes[b], "inferred", None
                    matched = tuple(sel_kw[bounds_l[i] : bounds_l[i + 1]])
                else:
                    fl = with_flag(fl, "needs_triage")
                    code, source, matched = None, None, ()
                    suggested = codes[b] if b >= 0 and suggest_l[i] else None
            guess = new(CategoryGuess)
            guess.__dict__.update(
                code=code,
                source=source,
                suggested=suggested,
                flags=fl,
                matched=matched,
                candidates=cands,
                classifier=name,
            )
            out.append(guess)
        return out

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


class _WordTable:
    """The keyword classifier's knowledge as arrays for :func:`~.kernels.keyword_scores`:
    words by id with their root, whether they are causal, their own matches (category,
    keyword, weight) and the phrases they start. Grows as batches bring new words."""

    def __init__(self, clf: Classifier) -> None:
        import numpy as np

        self.clf = clf
        self.codes = sorted(clf.categories)
        self.code_index = {c: i for i, c in enumerate(self.codes)}
        self.name_rank = np.argsort(np.argsort(np.array(self.codes, dtype=object))).astype(np.int64)
        n = len(self.codes)
        self.outranks = np.zeros((n, n), dtype=np.float32)
        for c, beaten in clf._outranks.items():
            for o in beaten:
                if o in self.code_index:
                    self.outranks[self.code_index[c], self.code_index[o]] = 1.0
        self.word_id: dict[str, int] = {}
        self.kw_id: dict[str, int] = {}
        self.kw_names: list[str] = []
        self.root: list[int] = []
        self.causal: list[bool] = []
        self.known: list[bool] = []  # whether the word's own matches are filled in
        self.matches: list[tuple[tuple[int, int, float], ...]] = []
        self.phrases: list[list[int]] = []  # per word: phrase numbers it starts
        self.p_len: list[int] = []
        self.p_words: list[tuple[int, ...]] = []
        self.p_cat: list[int] = []
        self.p_kw: list[int] = []
        self._intern("")  # id 0: every word that no keyword or phrase can use
        self.known[0] = True
        for first, entries in clf._phrases.items():
            for form, code in entries:
                words = tuple(self._intern(w) for w in form)
                self.phrases[self._intern(first)].append(len(self.p_len))
                self.p_len.append(len(form))
                self.p_words.append(words)
                self.p_cat.append(self.code_index[code])
                self.p_kw.append(self._kw(" ".join(form)))
        self.in_phrase = frozenset(w for form in clf._phrases.values() for f, _ in form for w in f)
        self._arrays: dict[str, np.ndarray] | None = None

    def _kw(self, kw: str) -> int:
        k = self.kw_id.get(kw)
        if k is None:
            k = self.kw_id[kw] = len(self.kw_names)
            self.kw_names.append(kw)
        return k

    def _intern(self, word: str) -> int:
        """The id of ``word`` (its matches not yet filled in)."""
        i = self.word_id.get(word)
        if i is None:
            i = self.word_id[word] = len(self.root)
            self.root.append(i)
            self.causal.append(False)
            self.known.append(False)
            self.matches.append(())
            self.phrases.append([])
        return i

    def ids_of(self, vocab: list[str]) -> Any:
        """The table's ids of a batch's words, filling in the words it had not seen. A word
        that no keyword or phrase can use (no match, not causal, neither it nor its root in
        a phrase) gets id 0, shared by all such words: the table holds only words that
        matter, however many house numbers and names the texts bring."""
        import numpy as np

        out = np.empty(len(vocab), dtype=np.int64)
        clf = self.clf
        word_id = self.word_id
        in_phrase = self.in_phrase
        for j, word in enumerate(vocab):
            i = word_id.get(word)
            if i is None or not self.known[i]:
                root, found, causal = clf._token(word)
                if not found and not causal and word not in in_phrase and root not in in_phrase:
                    if i is None and len(word_id) < _TABLE_MAX:
                        word_id[word] = 0
                    out[j] = 0
                    continue
                i = self._intern(word)
                self.root[i] = self._intern(root)
                self.causal[i] = causal
                self.matches[i] = tuple(
                    (self.code_index[c], self._kw(kw), value) for c, kw, value in found
                )
                self.known[i] = True
                self._arrays = None
            out[j] = i
        return out

    def arrays(self) -> dict[str, Any]:
        import numpy as np

        if self._arrays is not None:
            return self._arrays
        m_count = np.fromiter((len(m) for m in self.matches), dtype=np.int64)
        p_count = np.fromiter((len(p) for p in self.phrases), dtype=np.int64)
        flat = [m for ms in self.matches for m in ms]
        p_words_len = np.asarray(self.p_len, dtype=np.int64)
        p_first = np.zeros(len(self.p_len), dtype=np.int64)
        if len(p_first) > 1:
            np.cumsum(p_words_len[:-1], out=p_first[1:])
        self._arrays = {
            "root": np.asarray(self.root, dtype=np.int32),
            "causal": np.asarray(self.causal, dtype=np.bool_),
            "m_count": m_count,
            "m_start": np.concatenate([[0], np.cumsum(m_count)]).astype(np.int64),
            "m_cat": np.asarray([m[0] for m in flat], dtype=np.int32),
            "m_kw": np.asarray([m[1] for m in flat], dtype=np.int32),
            "m_weight": np.asarray([m[2] for m in flat], dtype=np.float64),
            "p_count": p_count,
            "p_start": np.concatenate([[0], np.cumsum(p_count)]).astype(np.int64),
            "p_len": np.asarray(self.p_len, dtype=np.int32),
            "p_first": p_first,
            "p_words": np.asarray([w for ws in self.p_words for w in ws], dtype=np.int32),
            "p_cat": np.asarray(self.p_cat, dtype=np.int32),
            "p_kw": np.asarray(self.p_kw, dtype=np.int32),
        }
        # phrase numbers in the order of their first word (p_start's CSR)
        order = [p for ps in self.phrases for p in ps]
        for k in ("p_len", "p_first", "p_cat", "p_kw"):
            self._arrays[k] = self._arrays[k][order] if order else self._arrays[k]
        return self._arrays
