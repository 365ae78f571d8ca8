"""Former home of the Dask engine; it lives in :mod:`lapor_router.batch.dask` now."""

from __future__ import annotations

from .batch.dask import DaskEngine, route_dask

__all__ = ["DaskEngine", "route_dask"]
