"""lapor_router: route geotagged public complaints in Jakarta to the unit that must act.

The pipeline, one module per stage: ``normalize`` → ``locate`` → ``route`` (over the rule
graph of ``rules``, with ``deadlines``) → ``dispatch`` → (batch).
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
    RoutingError,
    RuleError,
)
from .locate import STATUSES, Location
from .route import HandlerStep, Report, Router, RoutingDecision
from .rules import RuleGraph, lint

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
    "HandlerStep",
    "LaporRouterError",
    "Location",
    "Report",
    "Router",
    "RoutingDecision",
    "RoutingError",
    "RuleError",
    "RuleGraph",
    "__version__",
    "check_boundaries",
    "data_dir",
    "install",
    "lint",
    "load_boundaries",
]
