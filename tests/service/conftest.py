"""The service as it runs for real: `lapor-router serve` in its own process on 127.0.0.1,
over SQLite and (when one is reachable, always in CI) PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from lapor_router.service.store import drop_tables

from service.serverproc import Server

BOUNDARIES = Path(__file__).resolve().parents[3] / "shared" / "data" / "kelurahan_boundaries"
PG_URL = os.environ.get("LAPOR_TEST_PG_URL")
REQUIRE_PG = os.environ.get("LAPOR_REQUIRE_PG") == "1"
DBS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def data_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with the Jakarta boundary set installed (from ../shared)."""
    from lapor_router import install

    home = tmp_path_factory.mktemp("service-home")
    old = os.environ.get("LAPOR_ROUTER_DATA")
    os.environ["LAPOR_ROUTER_DATA"] = str(home)
    try:
        install(BOUNDARIES, ["jakarta"])
    finally:
        if old is None:
            os.environ.pop("LAPOR_ROUTER_DATA")
        else:
            os.environ["LAPOR_ROUTER_DATA"] = old
    return home


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database of this test session's own on the server LAPOR_TEST_PG_URL names, so that
    two runs against one server do not drop each other's tables; dropped at the end."""
    assert PG_URL is not None
    name = f"lapor_test_{os.getpid()}"
    admin = sa.create_engine(
        PG_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    yield str(sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


@pytest.fixture(scope="module", params=DBS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh, empty store URL of each kind (one per test module)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('store') / 'reports.sqlite3'}"
    if PG_URL is None:
        if REQUIRE_PG:
            pytest.fail("LAPOR_REQUIRE_PG=1 but LAPOR_TEST_PG_URL is not set (.ci/postgres.sh)")
        pytest.skip('no PostgreSQL: set LAPOR_TEST_PG_URL (eval "$(bash .ci/postgres.sh)")')
    url = request.getfixturevalue("pg_database")
    drop_tables(url)  # an empty database: every table of an earlier module dropped
    return url


@pytest.fixture(scope="module")
def server(
    db_url: str, data_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One server per test module and store kind: tests must not assume an empty store."""
    srv = Server(db_url, data_home, tmp_path_factory.mktemp("server") / "server.log").start()
    yield srv
    srv.stop()
    log = srv.output()
    assert "Traceback" not in log, log


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c
