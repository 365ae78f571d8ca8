"""The cyclic garbage collector paused while many small objects are made.

A chunk of 50,000 reports makes hundreds of thousands of objects (geometries, cache
entries, tuples) that hold no reference cycles; each run of the collector they trigger
rescans every object still alive, the router's caches among them. A 600,000-row GeoParquet
run spent 0.9 s in 8 full collections; paused around the reading and routing of each
chunk, 1 collection, 0.1 s.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress


@contextmanager
def no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused (re-enabled after, if it was on). What becomes
    garbage meanwhile is collected by the collector's next run."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def use_batch_pool() -> str:
    """Make Arrow's jemalloc pool (its system pool where this pyarrow has none) the default
    pool of this process, unless ``ARROW_DEFAULT_MEMORY_POOL`` names one; returns the
    backend now in use. For a process that runs a batch job (``lapor-router route``, its
    worker processes): pyarrow's default mimalloc pool keeps the pages freed on each of the
    run's threads, so that a 600,000-row CSV→CSV run peaked at 760–800 MB in 8.0–8.8 s,
    and at 699–705 MB in 7.4–7.8 s with jemalloc. A library call leaves the caller's pool
    alone: it is the process's choice, not one call's."""
    import pyarrow as pa

    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL") and not use_pool("jemalloc"):
        use_pool("system")  # a pyarrow built without jemalloc (e.g. on Windows)
    return str(pa.default_memory_pool().backend_name)


def use_pool(backend: str) -> bool:
    """Make Arrow's pool of that backend ("jemalloc", "mimalloc" or "system") the default
    of this process, if this pyarrow has it (a worker process takes its parent's); whether
    it is the default now."""
    import pyarrow as pa

    make = {
        "jemalloc": pa.jemalloc_memory_pool,
        "mimalloc": pa.mimalloc_memory_pool,
        "system": pa.system_memory_pool,
    }.get(backend)
    if make is not None and pa.default_memory_pool().backend_name != backend:
        with suppress(NotImplementedError):
            pa.set_memory_pool(make())
    return bool(pa.default_memory_pool().backend_name == backend)
