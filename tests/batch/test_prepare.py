"""Router.prepare(): what the first reports would build, built at once, changing no answer."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from test_output_identity import HERE, _differences, _read, _run

from lapor_router import BoundarySet, Router

from conftest import shared_file

# In a fresh interpreter (kernels compiled or loaded by earlier tests would hide a miss):
# after prepare(), routing the recorded messy file (as read from CSV, and as points from
# GeoParquet) and points near borders compiles or loads no kernel. The file is read before
# the count starts.
_NO_KERNEL_AFTER_PREPARE = """
import json, sys
from datetime import datetime, timezone
import numba.core.dispatcher as D
import pandas as pd, shapely
from lapor_router import Router, load_boundaries
from lapor_router.batch import Columns
from lapor_router.batch.engine import route_chunk
from lapor_router.files import READERS
d, src = sys.argv[1], sys.argv[2]
router = Router(load_boundaries(d + "/jakarta_kel.parquet", kecamatan=d + "/jakarta_kec.parquet",
                kota=d + "/jakarta_kab.parquet", province=d + "/jakarta_prov.parquet"),
                context=d + "/jawabarat_banten_dki_kel.parquet")
if sys.argv[3] == "prepare":
    assert router.prepare() is router
cols = Columns(reporter=("reporter_name", "reporter_phone"))
text = next(READERS["csv"](src, 10_000, 0, 0, cols))
lon = pd.to_numeric(text.frame["lon"], errors="coerce").to_numpy()
lat = pd.to_numeric(text.frame["lat"], errors="coerce").to_numpy()
points = text.frame.drop(columns=["lon", "lat"]).assign(geometry=shapely.points(lon, lat))
# and points near the borders, where the exact tests run: every 97th vertex of the set
xy = shapely.get_coordinates(router.boundaries.geoms)[::97][: len(text.frame)]
border = text.frame.iloc[: len(xy)].assign(lon=[f"{v:.7f}" for v in xy[:, 0] + 2e-7],
                                           lat=[f"{v:.7f}" for v in xy[:, 1] - 3e-7])
compiled = []
original = D.Dispatcher.compile
def counting(self, sig):
    if sig not in self.overloads:
        compiled.append(self.py_func.__qualname__)
    return original(self, sig)
D.Dispatcher.compile = counting
now = datetime(2026, 11, 23, 3, tzinfo=timezone.utc)
route_chunk(router, text.frame, cols, now, None)
route_chunk(router, points, cols, now, "geometry")
route_chunk(router, border, cols, now, None)
print(json.dumps(compiled))
"""


def _kernels_compiled_while_routing(mode: str) -> list[str]:
    out = subprocess.run(
        [
            sys.executable, "-c", _NO_KERNEL_AFTER_PREPARE,
            str(shared_file("jakarta_kel.parquet").parent), str(HERE / "reports.csv"), mode,
        ],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    names: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return names


def test_after_prepare_routing_compiles_no_kernel():
    assert _kernels_compiled_while_routing("prepare") == []


def test_without_prepare_the_first_reports_compile_the_kernels():
    # the check above can fail: an unprepared router loads its kernels on the first reports
    assert len(_kernels_compiled_while_routing("cold")) >= 10


def test_a_prepared_router_writes_the_recorded_output(jakarta: BoundarySet, tmp_path: Path):
    router = Router(jakarta, context=shared_file("jawabarat_banten_dki_kel.parquet"))
    assert router.prepare() is router
    assert router.prepare() is router  # a second call is free and changes nothing
    out, rej = _run(tmp_path, router)
    assert _differences(_read(out), _read(HERE / "routed.csv")) == []
    assert _differences(_read(rej), _read(HERE / "rejects.csv")) == []


@pytest.mark.parametrize("accelerate", [True, False])
def test_prepare_works_on_a_small_set_without_context(toy: BoundarySet, accelerate: bool):
    router = Router(toy, accelerate=accelerate)
    assert router.prepare() is router
    d = router.route(router_report(toy))
    assert d.location.kode == toy.codes[0]


def router_report(bs: BoundarySet):
    import shapely

    from lapor_router import Report

    p = shapely.point_on_surface(bs.geoms[0])
    return Report(p.x, p.y, text="jalan berlubang")


def test_a_pickled_prepared_router_prepares_again_in_its_process(toy: BoundarySet):
    router = Router(toy).prepare()
    copy = pickle.loads(pickle.dumps(router))
    # the copy's process has none of the caches and kernels: prepare() builds them there
    assert copy._prepared is False
    assert copy.prepare() is copy and copy._prepared is True
