"""Second stage: which kelurahan contains a point, and how sure we are.

- :mod:`.boundaries`: boundary sets (loading, checks, QA of overlaps and gaps);
- :mod:`.quadtree`, :mod:`.kernels`, :mod:`.codes`: the coverage quadtree and the compiled
  kernels that answer most points without a predicate;
- :mod:`.index`: the spatial index of a set (quadtree, ring bands, STRtree, gap search);
- :mod:`.locator`: :class:`Locator` and :class:`Location`, statuses, corrections, claims.

Imports only :mod:`lapor_router.normalize` and the foundation modules.
"""

from __future__ import annotations

from .boundaries import (
    BoundaryReport,
    BoundarySet,
    check_boundaries,
    load_boundaries,
    load_installed,
    normalize_code,
)
from .codes import STATUSES
from .locator import COLUMNS, Location, Locator, locations, row_to_location
from .named import NO_PLACE, PlaceMatcher, TextPlace

__all__ = [
    "COLUMNS",
    "NO_PLACE",
    "STATUSES",
    "BoundaryReport",
    "BoundarySet",
    "Location",
    "Locator",
    "PlaceMatcher",
    "TextPlace",
    "check_boundaries",
    "load_boundaries",
    "load_installed",
    "locations",
    "normalize_code",
    "row_to_location",
]
