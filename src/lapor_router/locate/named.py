"""The kelurahan a complaint text names, matched to a boundary set.

:class:`~lapor_router.normalize.places.PlaceFinder` reads the place a text names (kelurahan,
kecamatan, RT/RW, street); here the named kelurahan is matched to the set's rows with the
same rule as a claimed name (exact name key, else a close spelling with a clear winner), a
named kecamatan choosing among kelurahan that share a name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import pandas as pd
import pyarrow as pa

from ..normalize import distinct_values, name_key, objects
from ..normalize.places import NamedPlace, PlaceFinder
from .boundaries import BoundarySet


@dataclass(frozen=True)
class TextPlace:
    """The place a text names; ``kode`` is the one kelurahan of the set it names (None when
    it names none or a name several kelurahan share), ``codes`` every kelurahan it may mean."""

    place: NamedPlace
    kode: str | None
    codes: tuple[str, ...]


NO_PLACE = TextPlace(NamedPlace(), None, ())


class TextPlaces(Sequence[TextPlace]):
    """The places many texts name, each distinct place once: row ``i`` names
    ``places[codes[i]]``. A sequence of :class:`TextPlace` (one per text, in order) whose
    columns are gathered from the distinct places (:meth:`column`)."""

    def __init__(self, codes: np.ndarray, places: Sequence[TextPlace]) -> None:
        self.codes = np.asarray(codes, dtype=np.int64)
        self.places = tuple(places)

    @classmethod
    def of(cls, places: Sequence[TextPlace]) -> TextPlaces:
        """Any sequence of places, coded once per distinct place."""
        if isinstance(places, TextPlaces):
            return places
        codes, uniques = pd.factorize(objects(places), use_na_sentinel=False)
        return cls(codes, list(uniques))

    def __len__(self) -> int:
        return len(self.codes)

    @overload
    def __getitem__(self, i: int) -> TextPlace: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[TextPlace]: ...
    def __getitem__(self, i: int | slice) -> TextPlace | Sequence[TextPlace]:
        if isinstance(i, slice):
            return TextPlaces(self.codes[i], self.places)
        return self.places[int(self.codes[i])]

    def __iter__(self) -> Iterator[TextPlace]:
        return (self.places[c] for c in self.codes.tolist())

    def column(self, get: Callable[[TextPlace], Any]) -> np.ndarray:
        """``get(place)`` of each row's place (an object array), computed once per distinct
        place."""
        return objects([get(p) for p in self.places])[self.codes]


class PlaceMatcher:
    """Named places of texts, matched to the rows of ``boundaries`` by ``match`` (a claimed
    name → rows function). The finder is built on first use."""

    def __init__(self, boundaries: BoundarySet, match: Callable[[str], tuple[int, ...]]) -> None:
        self.boundaries = boundaries
        self.match = match
        self._finder: PlaceFinder | None = None

    @property
    def finder(self) -> PlaceFinder:
        if self._finder is None:
            bs = self.boundaries
            self._finder = PlaceFinder(
                sorted({str(n) for n in bs.names}),
                sorted({str(n) for n in bs.kecamatan_names if n is not None}),
            )
        return self._finder

    def of_many(self, texts: Sequence[object] | pa.Array) -> TextPlaces:
        """The :class:`TextPlace` of each text, read once per distinct text (missing cells:
        None, NaN, NaT, NA name no place) and matched once per distinct place. Arrow text
        is hashed by Arrow: only its distinct values become Python strings."""
        uniques: Sequence[object]
        if isinstance(texts, pa.Array):
            codes, uniques = distinct_values(texts)  # a null: its own code, value None
        else:
            cells = objects(texts)
            try:
                codes, found_u = pd.factorize(cells, use_na_sentinel=True)
                uniques = found_u.tolist()
            except TypeError:  # unhashable cells: each read on its own
                codes, uniques = np.arange(len(cells)), cells.tolist()
        found = self.finder.find_many([*uniques, None])
        # distinct texts may name one place: match each place once
        pcodes, places = pd.factorize(objects(found), use_na_sentinel=False)
        matched = [self._matched(p) for p in places]
        return TextPlaces(pcodes[codes], matched)  # code -1 (missing) is the final None

    def _matched(self, place: NamedPlace) -> TextPlace:
        if place == NamedPlace():
            return NO_PLACE
        if not place.kelurahan:
            return TextPlace(place, None, ())
        bs = self.boundaries
        rows = self.match(place.kelurahan)
        if len(rows) > 1 and place.kecamatan:
            key = name_key(place.kecamatan)
            rows = tuple(r for r in rows if name_key(bs.kecamatan_names[r]) == key) or rows
        codes = tuple(str(bs.codes[r]) for r in rows)
        return TextPlace(place, codes[0] if len(codes) == 1 else None, codes)
