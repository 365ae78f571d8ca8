"""The officers' page (``GET /``): static files served from the package (Leaflet 1.9.4
vendored under ``static/leaflet``, no CDN), its settings, and the kelurahan boundaries as
GeoJSON for its base layer. The page reads the Open311 and ``/v1`` endpoints like any client.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import shapely

from ..locate import BoundarySet

STATIC_DIR = Path(__file__).with_name("static")
MAX_FEATURES = 3000  # boundary polygons per response; more: zoom in
SIMPLIFY_DEG = 1e-5  # about a metre: drawing, not locating


class BoundaryFeatures:
    """GeoJSON features of a boundary set, made once (simplified by :data:`SIMPLIFY_DEG`)
    and served by bounding box."""

    def __init__(self, boundaries: BoundarySet) -> None:
        self.boundaries = boundaries
        self._bounds = shapely.bounds(boundaries.geoms)
        self._features: np.ndarray | None = None
        self._lock = threading.Lock()

    def _all(self) -> np.ndarray:
        with self._lock:
            if self._features is None:
                b = self.boundaries
                geoms = shapely.simplify(b.geoms, SIMPLIFY_DEG, preserve_topology=True)
                texts = shapely.to_geojson(geoms)
                props = zip(
                    b.codes.tolist(), b.names.tolist(), b.kecamatan_names.tolist(),
                    b.kota_names.tolist(), strict=True,
                )  # fmt: skip
                self._features = np.array(
                    [
                        '{"type":"Feature","properties":'
                        + json.dumps(
                            {"kode": k, "nama": n, "kecamatan": kc, "kota": kt},
                            ensure_ascii=False,
                        )
                        + ',"geometry":'
                        + g
                        + "}"
                        for (k, n, kc, kt), g in zip(props, texts.tolist(), strict=True)
                    ],
                    dtype=object,
                )
            return self._features

    def collection(self, bbox: tuple[float, float, float, float] | None) -> bytes:
        """A FeatureCollection of the polygons whose bounds meet ``bbox`` (degrees; all
        when None); when more than :data:`MAX_FEATURES` meet it, none, and
        ``"too_many": true``."""
        b = self._bounds
        if bbox is None:
            hit = np.ones(len(b), dtype=bool)
        else:
            x0, y0, x1, y1 = bbox
            hit = (b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0)
        n = int(hit.sum())
        if n > MAX_FEATURES:
            return (
                f'{{"type":"FeatureCollection","features":[],"too_many":true,"matched":{n}}}'
            ).encode()
        features = ",".join(self._all()[hit].tolist())
        return ('{"type":"FeatureCollection","features":[' + features + "]}").encode()


def settings(boundaries: BoundarySet, tiles: str | None, attribution: str) -> dict[str, Any]:
    """What the page needs to start: the set's bounds (degrees) and the optional tile layer."""
    return {
        "bounds": list(boundaries.bounds),
        "boundary_set": boundaries.id,
        "kelurahan": len(boundaries),
        "tiles": tiles,
        "attribution": attribution if tiles else "",
    }


def content_policy(tiles: str | None) -> str:
    """The page's Content-Security-Policy: its own scripts only; images also from the tile
    server when one is set. Leaflet sets inline styles, hence ``'unsafe-inline'`` for style."""
    img = "'self' data:"
    if tiles:
        parts = urlsplit(tiles.replace("{s}", "*"))
        if parts.scheme in ("http", "https") and parts.netloc:
            img += f" {parts.scheme}://{parts.netloc.split('{', 1)[0] or '*'}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src {img}; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
