"""The durable report store: each report, its routing state and every change to it as an
event row, over SQLite (default) or PostgreSQL through SQLAlchemy Core.

One transaction per call: a report is written with its ``received``, ``located`` and
``routed`` events or not at all. A private reporter's identity and the raw text live in
``report_input``, which no public method returns. Unit tokens are kept as SHA-256 hashes.
Times are epoch seconds in the database and ISO 8601 in WIB outside it.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .._data import data_dir
from ..dispatch import LIFE_COLUMNS, STATS_BY, responsiveness
from ..dispatch.duplicates import EARTH_RADIUS_M, nearest
from ..errors import RequestError, SchemaVersionError, StatsError, StoreError
from ..privacy import mask_text
from ..route import Report, RoutingDecision
from ..router import Router
from .state import decision_from_state, decision_state

SCHEMA_VERSION = 3
STATUSES = ("open", "closed")
EVENT_KINDS = (
    "received",
    "located",
    "routed",
    "transferred",
    "escalated",
    "pin_moved",
    "category_changed",
    "merged",
    "closed",
)

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
metadata = sa.MetaData()
schema_table = sa.Table(
    "lapor_schema",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.Float, nullable=False),
)
reports = sa.Table(
    "reports",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("service_code", sa.String(64)),
    sa.Column("unit_id", sa.String(128)),
    sa.Column("kelurahan_kode", sa.String(32)),
    sa.Column("lon", sa.Float),
    sa.Column("lat", sa.Float),
    sa.Column("requested_ts", sa.Float, nullable=False),
    sa.Column("updated_ts", sa.Float, nullable=False),
    sa.Column("respond_ts", sa.Float),
    sa.Column("record", sa.Text, nullable=False),  # the public fields, JSON
    sa.Column("decision", sa.Text, nullable=False),  # the routing state, JSON
    # schema 2: where a duplicate went; schema 3: the point's duplicate-search grid cell
    sa.Column("merged_into", _ID),
    sa.Column("cell", sa.BigInteger),
    sa.Index("reports_requested", "requested_ts"),
    sa.Index("reports_unit_status", "unit_id", "status"),
    sa.Index("reports_kelurahan", "kelurahan_kode"),
    # the duplicate search reads this index alone: equal code and status, a few cells, the
    # time window, and the points themselves (no table row is fetched)
    sa.Index("reports_near", "service_code", "status", "cell", "requested_ts", "lon", "lat"),
)
report_input = sa.Table(  # what was submitted, identity and raw text included: never returned
    "report_input",
    metadata,
    sa.Column("report_id", _ID, sa.ForeignKey("reports.id"), primary_key=True),
    sa.Column("input", sa.Text, nullable=False),
)
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("report_id", _ID, sa.ForeignKey("reports.id"), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(160), nullable=False),
    sa.Column("before", sa.Text),
    sa.Column("after", sa.Text),
    sa.Index("events_report", "report_id", "id"),
)
tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("unit_id", sa.String(128), nullable=False),
    sa.Column("label", sa.String(200)),
    sa.Column("created_ts", sa.Float, nullable=False),
)

CELL_DEG = 0.003  # duplicate-search grid, degrees (about 330 m at Jakarta's latitude)
MAX_DUPLICATES = 10  # possible duplicates listed per arriving report


_CELL_ROW = 1 << 20  # cell key = column * _CELL_ROW + row (rows span ±30,000 cells)


def _grid(lon: Any, lat: Any) -> tuple[int, int] | None:
    """The grid column and row of a point (degrees), or None for no usable point."""
    if not (isinstance(lon, float | int) and isinstance(lat, float | int)):
        return None
    if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lat) > 90:
        return None
    return math.floor(lon / CELL_DEG), math.floor(lat / CELL_DEG)


def _cell(lon: Any, lat: Any) -> int | None:
    """The grid cell key of a point: one integer, so that a search asks for a few cells by
    equality instead of scanning a range of columns."""
    grid = _grid(lon, lat)
    return None if grid is None else grid[0] * _CELL_ROW + grid[1]


def _to_v2(conn: Connection) -> None:
    """Schema 2: ``merged_into``, and grid columns for the duplicate search (replaced by
    one cell key in schema 3, which fills it)."""
    for col in ("cx INTEGER", "cy INTEGER", "merged_into BIGINT"):
        conn.exec_driver_sql(f"ALTER TABLE reports ADD COLUMN {col}")
    conn.exec_driver_sql("CREATE INDEX reports_cell ON reports (service_code, status, cx, cy)")


def _to_v3(conn: Connection) -> None:
    """Schema 3: one cell key per report and a covering index for the duplicate search.
    Schema 2's index asked for a range of grid columns and read every report in them, in
    and out of the time window; the search now asks for its few cells and the window in
    the index alone."""
    conn.exec_driver_sql("DROP INDEX reports_cell")
    for col in ("cx", "cy"):
        conn.exec_driver_sql(f"ALTER TABLE reports DROP COLUMN {col}")
    conn.exec_driver_sql("ALTER TABLE reports ADD COLUMN cell BIGINT")
    rows = conn.execute(sa.select(reports.c.id, reports.c.lon, reports.c.lat)).all()
    cells = [{"k": rid, "cell": cell} for rid, lon, lat in rows
             if (cell := _cell(lon, lat)) is not None]  # fmt: skip
    if cells:
        conn.execute(
            reports.update()
            .where(reports.c.id == sa.bindparam("k"))
            .values(cell=sa.bindparam("cell")),
            cells,
        )
    conn.exec_driver_sql(
        "CREATE INDEX reports_near ON reports (service_code, status, cell, requested_ts, lon, lat)"
    )


# version → what it does to a store at the version before it; a new store is created at
# the newest version at once (``metadata`` is always the newest schema)
MIGRATIONS: dict[int, Any] = {
    1: lambda conn: metadata.create_all(conn),
    2: _to_v2,
    3: _to_v3,
}


def default_url() -> str:
    """SQLite in the data directory."""
    return f"sqlite:///{data_dir().parent / 'reports.sqlite3'}"


def _engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[1] if "///" in url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url, connect_args={"timeout": 30})

            @sa.event.listens_for(engine, "connect")
            def _pragmas(dbapi: Any, _record: Any) -> None:
                dbapi.isolation_level = None  # transactions begun below, not by the driver
                cur = dbapi.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")  # durable across a killed process
                cur.execute("PRAGMA foreign_keys=ON")
                cur.close()

            @sa.event.listens_for(engine, "begin")
            def _begin(conn: Connection) -> None:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

            return engine
        if url.startswith("postgresql+psycopg://"):
            return sa.create_engine(url, pool_size=8, max_overflow=16, pool_pre_ping=True)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StoreError(f"{url}: {exc}") from exc
    raise StoreError(f"{url}: a store URL is sqlite:///PATH or postgresql://...")


def drop_tables(url: str) -> None:
    """Drop every table of the store at ``url`` (tests and benchmarks start from empty)."""
    engine = _engine(url)
    with engine.begin() as conn:
        metadata.drop_all(conn)
    engine.dispose()


def _now_ts(now: datetime | None) -> float:
    return (now or datetime.now().astimezone()).timestamp()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class ReportStore:
    """Reports and their history in the database at ``url`` (default: :func:`default_url`).

    ``router`` routes what is submitted and re-routes on pin moves and category changes.
    Opening migrates an older schema forward; a newer one raises
    :class:`~lapor_router.errors.SchemaVersionError`.
    """

    def __init__(self, router: Router, url: str | None = None) -> None:
        self.router = router
        self.url = url or default_url()
        self.engine = _engine(self.url)
        self.dialect = self.engine.dialect.name
        # the duplicate search's read on PostgreSQL: autocommit connections, nothing reset
        # on their return and no pre-ping (one round trip instead of four; a connection
        # the server dropped is retried once); SQLite reads in process, as before
        self._reads = (
            sa.create_engine(self.engine.url, isolation_level="AUTOCOMMIT", pool_size=4,
                             max_overflow=8, pool_reset_on_return=None)
            if self.dialect == "postgresql"
            else self.engine
        )  # fmt: skip
        # SQLite has one writer: one lock per process keeps writers from busy-waiting
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else None
        try:
            self._migrate()
        except sa.exc.OperationalError as exc:
            raise StoreError(f"{self.display_url()}: {exc.orig}") from exc

    def display_url(self) -> str:
        return sa.engine.make_url(self.engine.url).render_as_string(hide_password=True)

    def _migrate(self) -> None:
        with self.engine.begin() as conn:
            schema_table.create(conn, checkfirst=True)
            found = conn.execute(sa.select(sa.func.max(schema_table.c.version))).scalar() or 0
            if found > SCHEMA_VERSION:
                raise SchemaVersionError(self.display_url(), found, SCHEMA_VERSION)
            if found == 0:  # a new store: the newest schema at once
                metadata.create_all(conn)
                conn.execute(
                    schema_table.insert(),
                    [
                        {"version": v, "applied_at": _now_ts(None)}
                        for v in range(1, SCHEMA_VERSION + 1)
                    ],
                )
                return
            for version in range(found + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[version](conn)
                conn.execute(
                    schema_table.insert().values(version=version, applied_at=_now_ts(None))
                )

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(schema_table.c.version))).scalar() or 0)

    def dispose(self) -> None:
        """Close the store's database connections."""
        self.engine.dispose()
        if self._reads is not self.engine:
            self._reads.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        if self._write_lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    # ---- tokens ----------------------------------------------------------------------------

    def add_token(self, unit_id: str, label: str | None = None) -> str:
        """A new token for ``unit_id`` (shown once; only its hash is kept)."""
        if unit_id not in self.router.rules.units:
            raise RequestError(404, f"unknown unit {unit_id!r}")
        token = secrets.token_urlsafe(32)
        with self._write() as conn:
            conn.execute(
                tokens.insert().values(
                    hash=token_hash(token), unit_id=unit_id, label=label, created_ts=_now_ts(None)
                )
            )
        return token

    def unit_of(self, token: str | None) -> str:
        """The unit a token acts for (401 when missing or unknown)."""
        if not token:
            raise RequestError(401, "this action needs a unit token (Authorization: Bearer ...)")
        with self.engine.connect() as conn:
            unit = conn.execute(
                sa.select(tokens.c.unit_id).where(tokens.c.hash == token_hash(token))
            ).scalar()
        if unit is None:
            raise RequestError(401, "unknown token")
        return str(unit)

    # ---- submitting and reading ------------------------------------------------------------

    def submit(
        self,
        report: Report,
        *,
        address: str | None = None,
        media_url: str | None = None,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Route ``report`` and keep it with its first events; its public record."""
        now_dt = now or self.router.now()
        if report.created_at is None:  # received now
            report = replace(report, created_at=now_dt)
        decision = self.router.route(report, now=now_dt)
        ts = _now_ts(now_dt)
        requested = self._requested(report.created_at, ts)
        extra = {"address": address, "media_url": media_url}
        received = [("received", None, _public_input(report, extra), "citizen")]
        private = _dumps(_input(report))
        with self._write() as conn:  # a search, then the report, its input, its events
            near = self._possible_duplicates(conn, decision, requested)
            if near:
                decision = replace(
                    decision,
                    possible_duplicates=near,
                    flags=decision.flags | {"possible_duplicate"},
                )
            record = self._record(None, decision, "open", requested, ts, extra)
            columns = self._columns(decision, record, ts)
            columns["requested_ts"] = requested
            routed = [
                ("located", None, _located(decision.location), "system"),
                ("routed", None, _routed(decision), "system"),
            ]
            inserted = conn.execute(_INSERT_REPORT, columns).inserted_primary_key
            assert inserted is not None
            rid = int(inserted[0])
            conn.execute(_INSERT_INPUT, {"report_id": rid, "input": private})
            self._events(conn, rid, ts, "", received + routed)
        record["service_request_id"] = str(rid)
        return record

    def get(self, rid: str | int) -> dict[str, Any]:
        """The public record of report ``rid`` (404 when there is none)."""
        key = _key(rid)
        with self.engine.connect() as conn:
            row = conn.execute(_GET_RECORD, {"id": key}).scalar()
        if row is None:
            raise RequestError(404, f"no service request {rid}")
        return _with_id(key, row)

    def find(
        self,
        *,
        ids: Sequence[str] = (),
        service_code: Sequence[str] = (),
        status: Sequence[str] = (),
        start: datetime | None = None,
        end: datetime | None = None,
        kelurahan: Sequence[str] = (),
        bbox: tuple[float, float, float, float] | None = None,
        unit_id: str | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Public records matching every filter given, newest first (at most ``limit``).
        ``bbox``: (min lon, min lat, max lon, max lat) in degrees."""
        q = sa.select(reports.c.id, reports.c.record)
        if ids:
            q = q.where(reports.c.id.in_([_key(i) for i in ids]))
        if service_code:
            q = q.where(reports.c.service_code.in_(list(service_code)))
        if status:
            q = q.where(reports.c.status.in_(list(status)))
        if start is not None:
            q = q.where(reports.c.requested_ts >= start.timestamp())
        if end is not None:
            q = q.where(reports.c.requested_ts <= end.timestamp())
        if kelurahan:
            q = q.where(reports.c.kelurahan_kode.in_(list(kelurahan)))
        if bbox is not None:
            x0, y0, x1, y1 = bbox
            q = q.where(reports.c.lon.between(x0, x1), reports.c.lat.between(y0, y1))
        if unit_id is not None:
            q = q.where(reports.c.unit_id == unit_id)
        q = q.order_by(reports.c.requested_ts.desc(), reports.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_with_id(rid, rec) for rid, rec in conn.execute(q)]

    def history(self, rid: str | int) -> list[dict[str, Any]]:
        """Every event of report ``rid``, oldest first."""
        key = _key(rid)
        with self.engine.connect() as conn:
            if conn.execute(sa.select(reports.c.id).where(reports.c.id == key)).scalar() is None:
                raise RequestError(404, f"no service request {rid}")
            rows = conn.execute(
                sa.select(events).where(events.c.report_id == key).order_by(events.c.id)
            ).mappings()
            return [
                {
                    "event_id": r["id"],
                    "kind": r["kind"],
                    "at": self._iso(r["at"]),
                    "actor": r["actor"],
                    "before": json.loads(r["before"]) if r["before"] else None,
                    "after": json.loads(r["after"]) if r["after"] else None,
                }
                for r in rows
            ]

    def count(self) -> dict[str, int]:
        """Rows per table (reports, events): what a load test checks against its 201s."""
        with self.engine.connect() as conn:
            return {
                "reports": int(
                    conn.execute(sa.select(sa.func.count()).select_from(reports)).scalar() or 0
                ),
                "events": int(
                    conn.execute(sa.select(sa.func.count()).select_from(events)).scalar() or 0
                ),
            }

    # ---- lifecycle -------------------------------------------------------------------------

    def transfer(
        self, rid: str | int, unit_id: str, reason: str, now: datetime | None = None
    ) -> dict[str, Any]:
        """ "Not our authority": the holding unit passes the report on (the rule graph's
        transfer policy decides to whom)."""
        if not isinstance(reason, str) or not reason.strip():
            raise RequestError(400, "a transfer needs a reason")
        return self._change(
            rid, unit_id, now, "transferred", lambda d, _m: self.router.transfer(d, reason)
        )

    def escalate(
        self, rid: str | int, unit_id: str | None, now: datetime | None = None
    ) -> dict[str, Any]:
        """Move an overdue report one step up its escalation chain (409 if it is not overdue).
        ``unit_id`` None: the system (``escalate_due``)."""
        moment = now or self.router.now()

        def step(d: RoutingDecision, _moment: datetime) -> RoutingDecision:
            up = self.router.escalate(d, moment)
            if up is d:
                raise RequestError(409, "the report is not past its deadline")
            return up

        return self._change(rid, unit_id, moment, "escalated", step)

    def move_pin(
        self,
        rid: str | int,
        unit_id: str,
        lon: float,
        lat: float,
        accuracy_m: float | None = None,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Move the report's point (degrees): it is located and routed again; the event keeps
        both locations and both units."""
        return self._change(
            rid,
            unit_id,
            now,
            "pin_moved",
            lambda d, m: self._reroute(d, m, lon=lon, lat=lat, accuracy_m=accuracy_m),
        )

    def change_category(
        self, rid: str | int, unit_id: str, category: str, now: datetime | None = None
    ) -> dict[str, Any]:
        """Correct the category and route the report again (to the unit the new category
        needs)."""
        if not isinstance(category, str) or category not in self.router.rules.categories:
            raise RequestError(400, f"unknown service_code {category!r}")
        return self._change(
            rid,
            unit_id,
            now,
            "category_changed",
            lambda d, m: self._reroute(d, m, category=category),
        )

    def reopen(
        self, rid: str | int, unit_id: str, reason: str, now: datetime | None = None
    ) -> dict[str, Any]:
        """Open a closed (or merged) report again, with the unit that held it, because the
        problem is not solved; it gets fresh deadlines from ``now`` (409 if it is open)."""
        if not isinstance(reason, str) or not reason.strip():
            raise RequestError(400, "reopening needs a reason")
        return self._change(
            rid, unit_id, now, "reopened", lambda d, m: self.router.reopen(d, reason, m)
        )

    def close(
        self, rid: str | int, unit_id: str, resolution: str, now: datetime | None = None
    ) -> dict[str, Any]:
        """Close the report with what was done."""
        if not isinstance(resolution, str) or not resolution.strip():
            raise RequestError(400, "closing needs a resolution")
        return self._change(rid, unit_id, now, "closed", None, resolution=resolution)

    def possible_duplicates(
        self, category: str, lon: float, lat: float, at: datetime | None = None
    ) -> list[tuple[str, float]]:
        """Open reports of ``category`` within its duplicates radius of (``lon``, ``lat``)
        (degrees) and window of ``at``: (id, metres), nearest first, at most
        ``MAX_DUPLICATES``."""
        cat = self.router.rules.categories.get(category)
        if cat is None:
            raise RequestError(400, f"unknown service_code {category!r}")
        ts = _now_ts(at) if at is not None else None
        try:
            with self._reads.connect() as conn:
                return self._near(conn, cat, lon, lat, ts)
        except sa.exc.DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            with self._reads.connect() as conn:  # the pool has dropped the dead connection
                return self._near(conn, cat, lon, lat, ts)

    def _possible_duplicates(
        self, conn: Connection, d: RoutingDecision, requested_ts: float
    ) -> tuple[tuple[str, float], ...]:
        cat = self.router.rules.categories.get(d.category or "")
        lon, lat = d.location.lon, d.location.lat
        if cat is None or lon is None or lat is None:
            return ()
        return tuple(self._near(conn, cat, lon, lat, requested_ts))

    def _near(
        self, conn: Connection, cat: Any, lon: float, lat: float, ts: float | None
    ) -> list[tuple[str, float]]:
        grid = _grid(lon, lat)
        if grid is None or abs(lat) > 89:
            return []
        cx, cy = grid
        reach = math.degrees(cat.duplicate_radius_m / EARTH_RADIUS_M)
        k_lat = math.ceil(reach / CELL_DEG)
        k_lon = math.ceil(reach / math.cos(math.radians(abs(lat) + 0.01)) / CELL_DEG)
        cells = [(cx + i) * _CELL_ROW + cy + j
                 for i in range(-k_lon, k_lon + 1) for j in range(-k_lat, k_lat + 1)]  # fmt: skip
        t0, t1 = -_NO_WINDOW, _NO_WINDOW
        if cat.duplicate_window_h is not None and ts is not None:
            w = cat.duplicate_window_h * 3600.0
            t0, t1 = ts - w, ts + w
        rows = conn.execute(_NEAR, {"code": cat.code, "cells": cells, "t0": t0, "t1": t1}).all()
        if not rows:
            return []
        ids = [r[0] for r in rows]
        idx, dist = nearest(
            lon, lat, None,
            np.array([r[1] for r in rows], dtype=float),
            np.array([r[2] for r in rows], dtype=float),
            None, cat.duplicate_radius_m, None,
        )  # fmt: skip
        return [(str(ids[i]), round(float(m), 1)) for i, m in zip(idx, dist, strict=True)][
            :MAX_DUPLICATES
        ]

    def merge(
        self, rid: str | int, unit_id: str, into: str | int, now: datetime | None = None
    ) -> dict[str, Any]:
        """Close report ``rid`` (held by ``unit_id``) as a duplicate of ``into``, which stays
        open; both histories get a ``merged`` event naming the other."""
        key, target = _key(rid), _key(into)
        if key == target:
            raise RequestError(400, "a report cannot be merged into itself")
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(reports.c.status).where(reports.c.id == target)).scalar()
        if found is None:
            raise RequestError(404, f"no service request {into}")
        if found != "open":
            raise RequestError(409, f"service request {into} is closed")
        record = self._change(
            key, unit_id, now, "merged", None, resolution=f"Digabung ke laporan {target}.",
            merged_into=target,
        )  # fmt: skip
        return record

    def life_table(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> pd.DataFrame:
        """One row per report made from ``start`` to ``end``, with the columns of
        :data:`lapor_router.dispatch.LIFE_COLUMNS` (what :meth:`stats` and
        ``lapor-router stats FILE`` compute from; ``lapor-router export`` writes it): where it
        is, who holds it, its first deadlines, a unit's first action (transfer, escalation,
        pin move, category change, merge, close or reopen), the close that holds now,
        transfers and reopenings. No reporter field and no text."""
        cal, window = self.router.calendar, []
        if start is not None:
            window.append(reports.c.requested_ts >= cal.localize(start).timestamp())
        if end is not None:
            window.append(reports.c.requested_ts <= cal.localize(end).timestamp())
        q = sa.select(
            reports.c.id, reports.c.status, reports.c.respond_ts, reports.c.record,
            reports.c.requested_ts,
        ).where(*window).order_by(reports.c.id)  # fmt: skip
        # the events of the same reports by a join (an IN list of ids would pass SQLite's
        # limit on bound variables for a large store)
        qe = (
            sa.select(events.c.report_id, events.c.at, events.c.kind, events.c.actor,
                      events.c.after)
            .select_from(events.join(reports, events.c.report_id == reports.c.id))
            .where(*window)
            .order_by(events.c.report_id, events.c.id)
        )  # fmt: skip
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
            evs = conn.execute(qe).all()
        first_unit: dict[int, float] = {}
        resolved: dict[int, float] = {}
        routed: dict[int, dict[str, Any]] = {}
        transfers: dict[int, int] = {}
        reopened: dict[int, int] = {}
        for rid, at, kind, actor, after in evs:
            values = json.loads(after) if after else {}
            if kind == "routed":
                routed.setdefault(rid, values)
            # a "merged" event with "from" is news of another report, not this unit acting
            if actor.startswith("unit:") and "from" not in values:
                first_unit.setdefault(rid, at)
            if kind == "transferred":
                transfers[rid] = transfers.get(rid, 0) + 1
            if kind == "closed" or (kind == "merged" and "merged_into" in values):
                resolved[rid] = at  # the last close: the one that holds if still closed
            if kind == "reopened":
                reopened[rid] = reopened.get(rid, 0) + 1
                resolved.pop(rid, None)
        iso = self._iso
        out = []
        for rid, status, respond_ts, record, requested_ts in rows:
            rec = json.loads(record)
            first = routed.get(rid, {})
            out.append(
                (
                    str(rid), rec.get("unit_id"), rec.get("kelurahan_kode"), rec.get("kota"),
                    rec.get("service_code"), iso(requested_ts), first.get("respond_by"),
                    first.get("due_at"), iso(respond_ts) if respond_ts is not None else None,
                    status, iso(first_unit[rid]) if rid in first_unit else None,
                    iso(resolved[rid]) if rid in resolved and status != "open" else None,
                    transfers.get(rid, 0), reopened.get(rid, 0),
                )
            )  # fmt: skip
        return pd.DataFrame(out, columns=list(LIFE_COLUMNS))

    def stats(
        self,
        by: str = "unit",
        start: datetime | None = None,
        end: datetime | None = None,
        now: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Responsiveness per ``by`` (unit, kelurahan, kota or category; a report counts for
        the unit holding it now) of the reports made from ``start`` to ``end``, at ``now``:
        :func:`lapor_router.dispatch.responsiveness` of :meth:`life_table`."""
        try:
            if by not in STATS_BY:
                raise StatsError(f"by is one of {', '.join(STATS_BY)}")
            table = self.life_table(start, end)
            return responsiveness(
                table, self.router.calendar, by, start, end, now or self.router.now()
            )
        except StatsError as exc:
            raise RequestError(400, str(exc)) from exc

    def escalate_due(self, now: datetime | None = None) -> list[str]:
        """Escalate every open report past its response deadline, once per deadline: a report
        escalated gets a new deadline, so running this again changes nothing until that one
        passes. Safe to run from cron. The ids escalated."""
        moment = now or self.router.now()
        with self.engine.connect() as conn:
            due = (
                conn.execute(
                    sa.select(reports.c.id).where(
                        reports.c.status == "open", reports.c.respond_ts < moment.timestamp()
                    )
                )
                .scalars()
                .all()
            )
        done = []
        for rid in due:
            try:
                self.escalate(rid, None, moment)
            except RequestError:
                continue  # escalated by another run meanwhile, or at the top of its chain
            done.append(str(rid))
        return done

    def overdue(
        self, unit_id: str | None = None, now: datetime | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Open reports (of ``unit_id``, or of every unit) past their response deadline as it
        stands now (after escalations: the "overdue" of :meth:`stats`), the latest first;
        each public record gains ``overdue_hours``, office hours since the deadline."""
        moment = now or self.router.now()
        q = sa.select(reports.c.id, reports.c.record, reports.c.respond_ts).where(
            reports.c.status == "open", reports.c.respond_ts < moment.timestamp()
        )
        if unit_id is not None:
            q = q.where(reports.c.unit_id == unit_id)
        q = q.order_by(reports.c.respond_ts, reports.c.id).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        cal = self.router.calendar
        tz = cal.tz
        out = []
        for rid, record, respond_ts in rows:
            rec = _with_id(rid, record)
            since = datetime.fromtimestamp(respond_ts, tz)
            rec["overdue_hours"] = round(cal.working_hours(since, moment), 2)
            out.append(rec)
        return out

    # ---- internals -------------------------------------------------------------------------

    def _change(
        self,
        rid: str | int,
        unit_id: str | None,
        now: datetime | None,
        kind: str,
        step: Any,
        resolution: str | None = None,
        merged_into: int | None = None,
    ) -> dict[str, Any]:
        key = _key(rid)
        moment = now or self.router.now()
        ts = _now_ts(moment)
        with self._write() as conn:
            q = (
                sa.select(reports, report_input.c.input)
                .join(report_input)
                .where(reports.c.id == key)
            )
            if self.dialect == "postgresql":
                q = q.with_for_update()
            row = conn.execute(q).mappings().first()
            if row is None:
                raise RequestError(404, f"no service request {rid}")
            if kind == "reopened" and row["status"] == "open":
                raise RequestError(409, f"service request {rid} is open")
            if kind != "reopened" and row["status"] != "open":
                raise RequestError(409, f"service request {rid} is closed")
            if unit_id is not None and row["unit_id"] != unit_id:
                raise RequestError(403, f"service request {rid} is not held by {unit_id}")
            report = _report(json.loads(row["input"]), key)
            before = decision_from_state(json.loads(row["decision"]), report)
            old = _with_id(key, row["record"])
            extra = {"address": old.get("address"), "media_url": old.get("media_url")}
            status = "open"
            after = before
            if step is not None:
                after = step(before, moment)
            if kind in ("closed", "merged"):
                status = "closed"
                resolution = mask_text(resolution)
                extra["resolution"] = resolution
            if merged_into is not None:
                extra["merged_into"] = str(merged_into)
            record = self._record(key, after, status, old["_requested_ts"], ts, extra)
            values = self._columns(after, record, ts)
            values["status"] = status
            if merged_into is not None:
                values["merged_into"] = merged_into
            if kind == "reopened":
                values["merged_into"] = None
                extra.pop("merged_into", None)
            if after.report is not None and after.report is not report:  # re-routed: new input
                conn.execute(
                    report_input.update()
                    .where(report_input.c.report_id == key)
                    .values(input=_dumps(_input(after.report)))
                )
            conn.execute(reports.update().where(reports.c.id == key).values(**values))
            actor = f"unit:{unit_id}" if unit_id else "system"
            pair: tuple[dict[str, Any], dict[str, Any]]
            if kind == "closed":
                pair = ({"status": "open"}, {"status": "closed", "resolution": resolution})
            elif kind == "merged":
                pair = ({"status": "open"}, {"status": "closed", "merged_into": str(merged_into)})
            elif kind == "reopened":
                pair = (
                    {"status": "closed", "resolution": old.get("resolution"),
                     "merged_into": old.get("merged_into"), **_routed(before)},
                    {"status": "open", **_routed(after)},
                )  # fmt: skip
            elif kind == "pin_moved":
                pair = (
                    {**_located(before.location), **_routed(before)},
                    {**_located(after.location), **_routed(after)},
                )
            elif kind == "category_changed":
                pair = (
                    {"category": before.category, **_routed(before)},
                    {"category": after.category, **_routed(after)},
                )
            else:
                pair = (_routed(before), _routed(after))
            self._events(conn, key, ts, actor, [(kind, *pair)])
            if merged_into is not None:  # the report kept hears of the one merged into it
                self._events(conn, merged_into, ts, actor, [("merged", None, {"from": str(key)})])
        return record

    def _reroute(self, d: RoutingDecision, moment: datetime, **changes: Any) -> RoutingDecision:
        assert d.report is not None
        report = replace(d.report, **changes)
        new = self.router.route(report, now=moment)
        # the report's life so far goes on: its path, transfers and escalations are kept
        return replace(
            new,
            handler_chain=(*d.handler_chain, *new.handler_chain[-1:]),
            explanation=(*d.explanation, *new.explanation),
            visited=(*d.visited, *(u for u in new.visited if u not in d.visited)),
            transfers=d.transfers,
            escalations=d.escalations,
        )

    def _events(
        self,
        conn: Connection,
        rid: int,
        ts: float,
        actor: str,
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        """Event rows ``(kind, before, after[, actor])``; ``actor`` where a row names none."""
        conn.execute(
            _INSERT_EVENT,
            [
                {
                    "report_id": rid,
                    "at": ts,
                    "kind": row[0],
                    "actor": row[3] if len(row) > 3 else actor,
                    "before": _dumps(row[1]) if row[1] is not None else None,
                    "after": _dumps(row[2]) if row[2] is not None else None,
                }
                for row in rows
            ],
        )

    def _columns(self, d: RoutingDecision, record: Mapping[str, Any], ts: float) -> dict[str, Any]:
        loc = d.location
        return {
            "status": record["status"],
            "service_code": d.category,
            "unit_id": d.unit_id,
            "kelurahan_kode": loc.kode,
            "lon": loc.lon,
            "lat": loc.lat,
            "updated_ts": ts,
            "respond_ts": d.respond_by.timestamp() if d.respond_by is not None else None,
            "cell": _cell(loc.lon, loc.lat),
            "record": _dumps(record),
            "decision": _dumps(decision_state(d)),
        }

    def _requested(self, created: Any, received: float) -> float:
        """When the report was made (its own time if readable, naive = WIB), else received."""
        if isinstance(created, str):
            try:
                created = datetime.fromisoformat(created.strip())
            except ValueError:
                return received
        if not isinstance(created, datetime):
            return received
        return self.router.calendar.localize(created).timestamp()

    def _iso(self, ts: float) -> str:
        return datetime.fromtimestamp(ts, self.router.calendar.tz).isoformat(timespec="seconds")

    def _record(
        self,
        rid: int | None,
        d: RoutingDecision,
        status: str,
        requested_ts: float,
        updated_ts: float,
        extra: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The public fields: Open311's request plus lapor_router's extensions."""
        dispatch = d.dispatch_record()
        loc = d.location
        rec: dict[str, Any] = {
            "service_request_id": str(rid) if rid is not None else None,
            "status": status,
            "status_notes": " ".join(dispatch["explanation"]),
            "service_name": d.category_name,
            "service_code": d.category,
            "description": dispatch["text"],
            "agency_responsible": d.unit_name,
            "service_notice": (
                f"Keadaan darurat: hubungi {d.emergency_number}." if d.emergency else None
            ),
            "requested_datetime": self._iso(requested_ts),
            "updated_datetime": self._iso(updated_ts),
            "expected_datetime": (
                d.due_at.isoformat(timespec="seconds") if d.due_at is not None else None
            ),
            "address": extra.get("address"),
            "address_id": None,
            "zipcode": None,
            "lat": loc.lat,
            "long": loc.lon,
            "media_url": extra.get("media_url"),
            # extensions
            "unit_id": d.unit_id,
            "kelurahan_kode": loc.kode,
            "kelurahan": loc.nama,
            "kecamatan": loc.kecamatan,
            "kota": loc.kota,
            "location_status": loc.status,
            "respond_by": (
                d.respond_by.isoformat(timespec="seconds") if d.respond_by is not None else None
            ),
            "flags": sorted(d.flags),
            "missing_information": list(d.missing_information),
            "category_source": d.category_source,
            "rule_set": d.rule_set,
            "boundary_set": loc.boundary_set,
            # the asset the deciding rule matched (layer name@version, id, owner, metres)
            "asset": (
                {
                    "layer": d.asset.layer,
                    "asset": d.asset.asset,
                    "asset_id": d.asset.asset_id,
                    "owner": d.asset.owner,
                    "distance_m": round(d.asset.distance_m, 2),
                }
                if d.asset is not None
                else None
            ),
            "receiver": d.receiver,
            "receiver_channel": d.receiver_channel,
            "private": dispatch["private"],
            "_requested_ts": requested_ts,
        }
        rec["possible_duplicates"] = [
            {"service_request_id": i, "distance_m": m} for i, m in d.possible_duplicates
        ]
        if "resolution" in extra:
            rec["resolution"] = extra["resolution"]
        if "merged_into" in extra:
            rec["merged_into"] = extra["merged_into"]
        return rec


_INSERT_REPORT = reports.insert()
_NO_WINDOW = 1e18  # seconds: a time window that holds every report
_NEAR = sa.select(reports.c.id, reports.c.lon, reports.c.lat).where(
    reports.c.service_code == sa.bindparam("code"),
    reports.c.status == "open",
    reports.c.cell.in_(sa.bindparam("cells", expanding=True)),
    reports.c.requested_ts.between(sa.bindparam("t0"), sa.bindparam("t1")),
)
_INSERT_INPUT = report_input.insert()
_INSERT_EVENT = events.insert()
_GET_RECORD = sa.select(reports.c.record).where(reports.c.id == sa.bindparam("id"))


def _with_id(rid: int, record: str) -> dict[str, Any]:
    """A stored record (kept without its id, which the insert gives) with its id."""
    out: dict[str, Any] = json.loads(record)
    out["service_request_id"] = str(rid)
    return out


def public(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` without the store's own keys."""
    return {k: v for k, v in record.items() if not k.startswith("_")}


def _key(rid: str | int) -> int:
    try:
        key = int(str(rid).strip())
    except ValueError:
        raise RequestError(404, f"no service request {rid!r}") from None
    if not 0 < key < 2**62:
        raise RequestError(404, f"no service request {rid!r}")
    return key


def _input(report: Report) -> dict[str, Any]:
    created = report.created_at
    return {
        "lon": report.lon,
        "lat": report.lat,
        "category": report.category,
        "text": report.text,
        "claimed": report.claimed,
        "accuracy_m": report.accuracy_m,
        "created_at": created.isoformat() if isinstance(created, datetime) else created,
        "address": report.address,
        "private": bool(report.private),
        "reporter": dict(report.reporter) if report.reporter else None,
        "attributes": dict(report.attributes),
    }


def _report(values: Mapping[str, Any], rid: int) -> Report:
    return Report(**{**values, "attributes": values.get("attributes") or {}}, report_id=str(rid))


def _public_input(report: Report, extra: Mapping[str, Any]) -> dict[str, Any]:
    """What was submitted, as anyone may read it: no reporter, no raw text."""
    return {
        "lon": report.lon,
        "lat": report.lat,
        "service_code": report.category,
        "claimed": report.claimed,
        "accuracy_m": report.accuracy_m,
        "private": bool(report.private),
        "address": report.address,
        "media_url": extra.get("media_url"),
        "attributes": sorted(report.attributes),
    }


def _located(loc: Any) -> dict[str, Any]:
    return {
        "lon": loc.lon,
        "lat": loc.lat,
        "kelurahan_kode": loc.kode,
        "kelurahan": loc.nama,
        "location_status": loc.status,
        "location_flags": sorted(loc.flags),
    }


def _routed(d: RoutingDecision) -> dict[str, Any]:
    return {
        "unit_id": d.unit_id,
        "unit_name": d.unit_name,
        "service_code": d.category,
        "rule_id": d.rule_id,
        "respond_by": d.respond_by.isoformat(timespec="seconds") if d.respond_by else None,
        "due_at": d.due_at.isoformat(timespec="seconds") if d.due_at else None,
        "transfers": d.transfers,
        "escalations": d.escalations,
    }
