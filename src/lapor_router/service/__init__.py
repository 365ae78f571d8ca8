"""The report service (``pip install 'lapor_router[service]'``): Open311 GeoReport v2 over a
durable :class:`ReportStore` that keeps each report's history.

Stage: above :mod:`lapor_router.router`; imports it, the route and privacy stages, and
nothing from files or batch. ``lapor-router serve`` runs :func:`create_app` under uvicorn.
"""

from __future__ import annotations

from .app import MAX_BODY, create_app
from .store import SCHEMA_VERSION, ReportStore, default_url

__all__ = ["MAX_BODY", "SCHEMA_VERSION", "ReportStore", "create_app", "default_url", "serve"]


def serve(
    store: ReportStore,
    host: str = "127.0.0.1",
    port: int = 8311,
    tiles: str | None = None,
    attribution: str = "",
) -> None:
    """Serve ``store`` with uvicorn until interrupted (one process; access log off, so no
    query string reaches a log). ``tiles``/``attribution``: see :func:`create_app`."""
    import uvicorn

    app = create_app(store, tiles=tiles, attribution=attribution)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
