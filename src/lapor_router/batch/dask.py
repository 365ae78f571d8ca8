"""Scale-out on Dask: the same routing on a dask.distributed cluster.

The router (boundary index, rule graph, classifier) is pickled and sent to every worker
once (``Client.scatter(..., broadcast=True)``); tasks then carry only report rows.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pandas as pd

from ..dispatch import route_frame
from ..files import Chunk
from ..normalize import Columns
from ..router import Router
from .engine import Done, PartWriter, route_chunk


def _client(workers: int | None, scheduler: str | None) -> tuple[Any, Any]:
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    import pyarrow as pa

    cluster = LocalCluster(
        n_workers=workers or 2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        # the workers are this run's processes: this one's Arrow memory pool (a nanny's env)
        env={"ARROW_DEFAULT_MEMORY_POOL": str(pa.default_memory_pool().backend_name)},
    )
    return Client(cluster), cluster


class DaskEngine:
    """Routes chunks on a cluster, keeping at most ``2 × workers`` chunks in flight; the
    routed rows come back here and are written on one writer thread, in chunk order
    (workers of a real cluster need not share this machine's disk)."""

    def __init__(
        self, router: Router, workers: int | None = None, scheduler: str | None = None
    ) -> None:
        _ = router.rules  # compile and load before shipping, so workers never repeat it
        router.load_context()
        self.client, self.cluster = _client(workers, scheduler)
        self.router = self.client.scatter(router, broadcast=True)
        n = len(self.client.scheduler_info().get("workers", {})) or (workers or 2)
        self.window = max(2, 2 * n)
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="lapor-writer")

    def submit(
        self, chunk: Chunk, columns: Columns, now: datetime, finish: PartWriter
    ) -> Future[Done]:
        routed = self.client.submit(
            route_chunk, self.router, chunk.frame, columns, now, chunk.geometry, pure=False
        )

        def write() -> Done:
            frame, lonlat = routed.result()
            return finish(chunk, columns, frame, lonlat)

        return self.writer.submit(write)

    def close(self) -> None:
        self.writer.shutdown(wait=True, cancel_futures=True)
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def route_dask(
    ddf: Any,
    router: Router | None = None,
    columns: Columns | None = None,
    client: Any = None,
    now: datetime | None = None,
) -> Any:
    """Route a dask DataFrame of reports partition by partition; returns a dask DataFrame
    with the columns of :func:`lapor_router.dispatch.route_frame`. ``row_id`` is the input
    index. The router is scattered to the workers of ``client`` (default: the current
    client) once."""
    import dask.dataframe as dd

    router = router or Router.default()
    _ = router.rules
    now = now or router.now()
    meta = route_frame(router, ddf._meta, columns, now=now, row_ids=[])
    if client is None:
        from distributed import default_client

        try:
            client = default_client()
        except ValueError:
            client = None
    shipped: Any = client.scatter(router, broadcast=True) if client is not None else router

    def part(frame: pd.DataFrame, router: Router) -> pd.DataFrame:
        return route_frame(router, frame, columns, now=now, row_ids=frame.index.to_numpy())

    result: Any = dd.map_partitions(part, ddf, shipped, meta=meta, align_dataframes=False)
    return result
