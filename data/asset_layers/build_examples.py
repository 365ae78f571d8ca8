"""Write the example asset layers (GeoJSON) and their specs (TOML, with each file's sha256).

A handful of hand-placed features with invented ids (``EX-…``), enough for the tests and
``make demo``; they are not a road, rail or river register. Real layers are the user's to
prepare and install (README, "Asset layers"). Run again after editing a feature:

    python data/asset_layers/build_examples.py
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

HERE = Path(__file__).parent
STRIP = 0.00012  # half-width of the example river polygon, degrees (about 13 m)

LAYERS = {
    "example_roads": {
        "asset": "road",
        "max_distance_m": 15,
        "class_cols": ["road_class"],
        "description": "Example road centre lines: national, toll and provincial (invented)",
        "features": [
            (
                "EX-JLN-001",
                "national",
                "bpjn",
                "Contoh jalan nasional (Kalideres)",
                [(106.7060, -6.1540), (106.7180, -6.1550), (106.7300, -6.1560)],
            ),
            (
                "EX-JLN-002",
                "toll",
                "jasa_marga",
                "Contoh ruas tol (Pondok Pinang)",
                [(106.7750, -6.2830), (106.7870, -6.2865), (106.8000, -6.2900)],
            ),
            (
                "EX-JLN-003",
                "toll",
                "cmnp",
                "Contoh ruas tol dalam kota (Cempaka Putih)",
                [(106.8700, -6.1750), (106.8740, -6.1825), (106.8780, -6.1900)],
            ),
            (
                "EX-JLN-004",
                "provincial",
                "dinas_bina_marga",
                "Contoh jalan provinsi (Tebet)",
                [(106.8450, -6.2300), (106.8530, -6.2360)],
            ),
        ],
    },
    "example_rail": {
        "asset": "rail",
        "max_distance_m": 15,
        "class_cols": [],
        "description": "Example railway line with a level crossing (invented)",
        "features": [
            (
                "EX-REL-001",
                None,
                "kai",
                "Contoh jalur rel (Manggarai)",
                [(106.8480, -6.2050), (106.8500, -6.2125), (106.8520, -6.2200)],
            ),
        ],
    },
    "example_rivers": {
        "asset": "river",
        "max_distance_m": 30,
        "class_cols": [],
        "description": "Example river reach as a polygon (invented)",
        "features": [
            (
                "EX-SGI-001",
                None,
                "bbws_cc",
                "Contoh ruas sungai (Kampung Melayu)",
                [(106.8620, -6.2250), (106.8640, -6.2320), (106.8660, -6.2400)],
            ),
        ],
    },
}


def _river(line: list[tuple[float, float]]) -> list[list[float]]:
    """A strip STRIP degrees either side of a north-south line, closed."""
    left = [[x - STRIP, y] for x, y in line]
    right = [[x + STRIP, y] for x, y in reversed(line)]
    ring = left + right
    return [*ring, ring[0]]


def main() -> None:
    for name, layer in LAYERS.items():
        features = []
        for fid, klass, owner, label, line in layer["features"]:
            props = {"id": fid, "owner": owner, "name": label}
            if layer["class_cols"]:
                props["road_class"] = klass
            if layer["asset"] == "river":
                geom = {"type": "Polygon", "coordinates": [_river(line)]}
            else:
                geom = {"type": "LineString", "coordinates": [list(p) for p in line]}
            features.append({"type": "Feature", "properties": props, "geometry": geom})
        body = {"type": "FeatureCollection", "name": name,
                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
                "features": features}  # fmt: skip
        data = (json.dumps(body, ensure_ascii=False, indent=1) + "\n").encode()
        (HERE / f"{name}.geojson").write_bytes(data)
        spec = [
            "# Written by build_examples.py: an example layer, not a register.",
            "[layer]",
            f"name = {json.dumps(name)}",
            f"asset = {json.dumps(layer['asset'])}",
            f"file = {json.dumps(name + '.geojson')}",
            'version = "example-2026.12"',
            f"sha256 = {json.dumps(hashlib.sha256(data).hexdigest())}",
            'id_col = "id"',
            'owner_col = "owner"',
            f"class_cols = {json.dumps(layer['class_cols'])}",
            f"max_distance_m = {layer['max_distance_m']}",
            f"description = {json.dumps(layer['description'])}",
        ]
        (HERE / f"{name}.toml").write_text("\n".join(spec) + "\n", encoding="utf-8")
        print(f"{name}: {len(features)} features")


if __name__ == "__main__":
    main()
