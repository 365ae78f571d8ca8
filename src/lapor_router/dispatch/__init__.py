"""Fourth stage: what a unit receives of routed reports, with the reporter protected.

A single decision's record is :meth:`lapor_router.RoutingDecision.dispatch_record`
(:mod:`lapor_router.route.decision`); whole tables are routed and masked here
(:mod:`.frames`). Both apply the rules of :mod:`lapor_router.privacy`.
"""

from __future__ import annotations

from typing import Any

from ..privacy import MASK, mask_text, public_reporter
from ..route import RoutingDecision
from .frames import (
    OUTPUT_COLUMNS,
    Routes,
    input_names,
    route_frame,
    route_frame_unmasked,
)
from .stats import FIGURES, LIFE_COLUMNS, STATS_BY, responsiveness, stats_frame


def dispatch_record(decision: RoutingDecision) -> dict[str, Any]:
    """The record a unit receives for ``decision``: its
    :meth:`~lapor_router.route.RoutingDecision.dispatch_record`."""
    return decision.dispatch_record()


__all__ = [
    "FIGURES",
    "LIFE_COLUMNS",
    "MASK",
    "OUTPUT_COLUMNS",
    "STATS_BY",
    "Routes",
    "dispatch_record",
    "input_names",
    "mask_text",
    "public_reporter",
    "responsiveness",
    "route_frame",
    "route_frame_unmasked",
    "stats_frame",
]
