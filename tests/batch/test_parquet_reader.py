"""Parquet chunks are what pandas reads from the file (its pandas metadata: nullable types,
a named index), with text columns Arrow-backed and every other column as objects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lapor_router.files.readers import read_parquet_chunks
from lapor_router.normalize.strings import TEXT_DTYPE


def test_pandas_metadata_is_kept_and_text_is_arrow_backed(tmp_path):
    frame = pd.DataFrame(
        {
            "n": pd.array([5, None, 7], dtype="Int64"),
            "lon": [106.8, None, 106.9],
            "s": np.array(["x", None, "z"], dtype=object),
        },
        index=pd.Index([10, 11, 12], name="id"),
    )
    path = tmp_path / "reports.parquet"
    pq.write_table(pa.Table.from_pandas(frame), path)
    chunks = list(read_parquet_chunks(path, 2))
    got = pd.concat([c.frame for c in chunks])
    want = pq.read_table(path).to_pandas()
    assert list(got.columns) == ["__row_id", "n", "lon", "s"]  # the index is no column
    assert got["__row_id"].tolist() == [0, 1, 2]
    assert got["n"].dtype == object and got["n"].tolist()[0] == 5 and got["n"].tolist()[2] == 7
    assert got["n"].isna().tolist() == want["n"].isna().tolist()
    assert got["s"].dtype == TEXT_DTYPE
    assert got["s"].tolist()[::2] == ["x", "z"] and pd.isna(got["s"].tolist()[1])


def test_reading_and_routing_a_geoparquet_chunk_runs_no_older_collection(router, tmp_path):
    """A geometry object per row: each collector run it triggered rescanned the router's
    caches (8 full collections, 0.9 s, in a 600,000-row run)."""
    from datetime import UTC, datetime

    import geopandas as gpd
    import shapely

    from lapor_router.batch import Columns
    from lapor_router.batch.engine import route_chunk

    n = 20_000
    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(106.70, 106.95, n), rng.uniform(-6.35, -6.10, n)
    gdf = gpd.GeoDataFrame(
        {"text": [f"jalan berlubang no {i}" for i in range(n)]},
        geometry=shapely.points(lon, lat),
        crs="EPSG:4326",
    )
    path = tmp_path / "reports.parquet"
    gdf.to_parquet(path)

    def read_and_route() -> pd.DataFrame:
        chunk = next(read_parquet_chunks(path, n))
        now = datetime(2026, 12, 1, tzinfo=UTC)
        return route_chunk(router, chunk.frame, Columns(), now, "geometry")[0]

    routed, older = _older_collections(read_and_route)
    assert len(routed) == n
    assert older == []  # a few of the youngest generation, no more


def test_writing_points_of_lon_lat_rows_runs_no_older_collection(tmp_path):
    """A CSV input's rows written as GeoParquet: a point object per row, made paused."""

    from lapor_router.files.writers import _point_geometry

    n = 60_000
    rng = np.random.default_rng(6)
    lonlat = pd.DataFrame({"lon": rng.uniform(106.7, 106.9, n), "lat": rng.uniform(-6.3, -6.1, n)})
    points, older = _older_collections(
        lambda: _point_geometry(pd.DataFrame(index=range(n)), None, lonlat)
    )
    assert len(points) == n and points[0].x == lonlat["lon"].iat[0]
    assert older == []


def _older_collections(work):
    """``work()``'s result and the generations above the youngest that the collector
    collected meanwhile (each such run rescans every object older than the work)."""
    import gc

    runs: list[int] = []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            runs.append(info["generation"])

    gc.collect()
    gc.callbacks.append(count)
    try:
        result = work()
    finally:
        gc.callbacks.remove(count)
    return result, [g for g in runs if g > 0]
