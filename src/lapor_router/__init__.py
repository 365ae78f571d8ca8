"""lapor_router: route geotagged public complaints in Jakarta to the unit that must act.

The pipeline, one module per stage: ``normalize`` → ``locate`` → (route → dispatch → batch).
"""

from __future__ import annotations

from ._data import data_dir, install
from .boundaries import BoundaryReport, BoundarySet, check_boundaries, load_boundaries
from .errors import (
    BoundaryError,
    ChecksumError,
    CoordinateError,
    DataError,
    DataNotInstalledError,
    LaporRouterError,
)
from .locate import STATUSES, Location, Router

__version__ = "0.1.0"

__all__ = [
    "STATUSES",
    "BoundaryError",
    "BoundaryReport",
    "BoundarySet",
    "ChecksumError",
    "CoordinateError",
    "DataError",
    "DataNotInstalledError",
    "LaporRouterError",
    "Location",
    "Router",
    "__version__",
    "check_boundaries",
    "data_dir",
    "install",
    "load_boundaries",
]
