"""The Arrow memory pool of a batch process: the route command takes the leaner one,
unless the environment names one; a library call leaves the caller's pool alone; spawned
worker processes take their parent's. Each case runs in a fresh interpreter, since the
pool is the process's."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow as pa
import pytest

from conftest import ROOT

HERE = ROOT / "tests" / "batch"


def _has(make) -> bool:
    try:
        make()
    except NotImplementedError:
        return False
    return True


LEAN = "jemalloc" if _has(pa.jemalloc_memory_pool) else "system"


def _python(code: str, *argv: str, env: dict[str, str] | None = None) -> dict:
    base = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    base["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests"), str(HERE)])
    done = subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True, text=True, env={**base, **(env or {})}, cwd=HERE,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    said: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return said


_CHOICE = """
import json, sys
import pyarrow as pa
from lapor_router.normalize.memory import use_batch_pool
before = pa.default_memory_pool().backend_name
if sys.argv[1] == "no-jemalloc":
    def missing():
        raise NotImplementedError("built without jemalloc")
    pa.jemalloc_memory_pool = missing
got = use_batch_pool()
print(json.dumps({"before": before, "got": got, "now": pa.default_memory_pool().backend_name}))
"""


def test_the_batch_pool_is_jemalloc_else_the_system_pool():
    said = _python(_CHOICE, "plain")
    assert said["got"] == said["now"] == LEAN
    assert said["before"] != LEAN  # pyarrow's own default (mimalloc) is not the one chosen
    said = _python(_CHOICE, "no-jemalloc")
    assert said["got"] == said["now"] == "system"


def test_a_pool_named_by_the_environment_is_kept():
    for named in ("system", "mimalloc"):
        said = _python(_CHOICE, "plain", env={"ARROW_DEFAULT_MEMORY_POOL": named})
        assert said == {"before": named, "got": named, "now": named}


_ROUTE = """
import json, sys
import pyarrow as pa
from typer.testing import CliRunner
from lapor_router import install
from lapor_router.batch import route_file
from lapor_router.cli import app
from conftest import BOUNDARIES
install(BOUNDARIES, ["jakarta"])
before = pa.default_memory_pool().backend_name
route_file(sys.argv[1], sys.argv[2] + "/lib.csv", progress=False)
after_library = pa.default_memory_pool().backend_name
done = CliRunner().invoke(app, ["route", sys.argv[1], "-o", sys.argv[2] + "/cli.csv"])
print(json.dumps({"code": done.exit_code, "before": before, "library": after_library,
                  "cli": pa.default_memory_pool().backend_name}))
"""


def test_the_route_command_takes_the_batch_pool_and_a_library_call_does_not(tmp_path):
    src = HERE / "identity" / "reports.csv"
    said = _python(
        _ROUTE, str(src), str(tmp_path), env={"LAPOR_ROUTER_DATA": str(tmp_path / "home")}
    )
    assert said["code"] == 0
    assert said["library"] == said["before"] != LEAN
    assert said["cli"] == LEAN
    lib, cli = (tmp_path / "lib.csv").read_bytes(), (tmp_path / "cli.csv").read_bytes()
    assert lib.count(b"\n") > 100 and lib.split(b"\n", 1)[0] == cli.split(b"\n", 1)[0]


def backend() -> str:
    """The default pool's backend, asked of a worker process."""
    return str(pa.default_memory_pool().backend_name)


_SPAWN = """
import json, sys, threading
import pyarrow as pa
from lapor_router import Router, load_boundaries
from lapor_router.batch.engine import ProcessEngine
from lapor_router.normalize.memory import use_pool
from conftest import BOUNDARIES
import test_memory_pool
use_pool(sys.argv[1])
d = BOUNDARIES
router = Router(load_boundaries(d / "jakarta_kel.parquet"))
stop = threading.Event()
caller = threading.Thread(target=stop.wait)  # another thread: the workers are spawned
caller.start()
try:
    engine = ProcessEngine(router, 1)
    pool = engine._start()
    got = pool.submit(test_memory_pool.backend).result()
    pool.shutdown()
finally:
    stop.set()
    caller.join()
print(json.dumps({"method": engine.start_method, "parent": pa.default_memory_pool().backend_name,
                  "worker": got}))
"""


@pytest.mark.parametrize("parent", ["system", LEAN])
def test_spawned_workers_take_the_parents_pool(parent):
    said = _python(_SPAWN, parent)
    assert said == {"method": "spawn", "parent": parent, "worker": parent}


_DASK = """
import json, sys
import pyarrow as pa
from lapor_router import Router, load_boundaries
from lapor_router.batch.dask import DaskEngine
from lapor_router.normalize.memory import use_pool
from conftest import BOUNDARIES
import test_memory_pool
use_pool(sys.argv[1])
d = BOUNDARIES
engine = DaskEngine(Router(load_boundaries(d / "jakarta_kel.parquet")), workers=1)
try:
    got = sorted(set(engine.client.run(test_memory_pool.backend).values()))
finally:
    engine.close()
print(json.dumps({"parent": pa.default_memory_pool().backend_name, "workers": got}))
"""


def test_a_local_dask_cluster_takes_the_parents_pool():
    pytest.importorskip("distributed")
    said = _python(_DASK, LEAN)
    assert said == {"parent": LEAN, "workers": [LEAN]}
