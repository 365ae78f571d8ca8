"""lapor_router: route geotagged public complaints in Jakarta to the unit that must act.

The pipeline, one subpackage per stage, imports pointing down only: ``normalize`` →
``locate`` → ``route`` → ``dispatch`` → (:class:`Router`, the façade) → ``files`` →
``batch`` → ``cli``. See the README's "How it is built".
"""

from __future__ import annotations

from ._data import data_dir, install
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
from .locate import (
    STATUSES,
    BoundaryReport,
    BoundarySet,
    Location,
    check_boundaries,
    load_boundaries,
)
from .route import HandlerStep, Report, RoutingDecision, RuleGraph, lint
from .router import Router

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
