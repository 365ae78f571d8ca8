"""The kelurahan a complaint text names, matched to a boundary set.

:class:`~lapor_router.normalize.places.PlaceFinder` reads the place a text names (kelurahan,
kecamatan, RT/RW, street); here the named kelurahan is matched to the set's rows with the
same rule as a claimed name (exact name key, else a close spelling with a clear winner), a
named kecamatan choosing among kelurahan that share a name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..normalize import name_key
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

    def of_many(self, texts: Sequence[object]) -> list[TextPlace]:
        """The :class:`TextPlace` of each text (work once per distinct place)."""
        found = self.finder.find_many(texts)
        cache: dict[NamedPlace, TextPlace] = {}
        out = []
        for place in found:
            tp = cache.get(place)
            if tp is None:
                tp = cache[place] = self._matched(place)
            out.append(tp)
        return out

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
