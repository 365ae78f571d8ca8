"""Second stage: which kelurahan contains a point, and how sure we are.

- :mod:`.boundaries`: boundary sets (loading, checks, QA of overlaps and gaps);
- :mod:`.quadtree`, :mod:`.kernels`, :mod:`.codes`: the coverage quadtree and the compiled
  kernels that answer most points without a predicate;
- :mod:`.index`: the spatial index of a set (quadtree, ring bands, STRtree, gap search);
- :mod:`.locator`: :class:`Locator` and :class:`Location`, statuses, corrections, claims;
- :mod:`.assets`, :mod:`.asset_kernels`: asset layers (roads, rivers, rail) and the
  compiled nearest-feature search in metres.

Imports only :mod:`lapor_router.normalize` and the foundation modules.
"""

from __future__ import annotations

from .assets import (
    ASSET_STATUSES,
    RESERVED_KEYS,
    AssetHits,
    AssetLayer,
    AssetMatch,
    install_layer,
    installed_schemas,
    load_asset_layer,
    load_installed_layers,
    load_spec,
    match_layers,
)
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
from .named import NO_PLACE, PlaceMatcher, TextPlace, TextPlaces

__all__ = [
    "ASSET_STATUSES",
    "COLUMNS",
    "NO_PLACE",
    "RESERVED_KEYS",
    "STATUSES",
    "AssetHits",
    "AssetLayer",
    "AssetMatch",
    "BoundaryReport",
    "BoundarySet",
    "Location",
    "Locator",
    "PlaceMatcher",
    "TextPlace",
    "TextPlaces",
    "check_boundaries",
    "install_layer",
    "installed_schemas",
    "load_asset_layer",
    "load_boundaries",
    "load_installed",
    "load_installed_layers",
    "load_spec",
    "locations",
    "match_layers",
    "normalize_code",
    "row_to_location",
]
