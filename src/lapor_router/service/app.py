"""The ASGI app: Open311 GeoReport v2 at the root, lifecycle actions under ``/v1/``.

Bad input never gets a 500: every refusal is the spec's error body with a 4xx code. Store
calls run on the event loop (``threads=True``: in Starlette's thread pool). Request bodies
above ``max_body`` bytes get 413.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import LaporRouterError, RequestError
from . import open311, page
from .store import STATUSES, ReportStore, public

log = logging.getLogger("lapor_router.service")
MAX_BODY = 64 * 1024  # bytes
_JSON = "application/json; charset=utf-8"
_XML = "text/xml; charset=utf-8"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _fmt(request: Request) -> tuple[str, str]:
    """The path parameter without its ``.json`` / ``.xml`` suffix, and the format."""
    raw = str(request.path_params.get("rest", ""))
    for f in open311.FORMATS:
        if raw.endswith("." + f):
            return raw[: -len(f) - 1], f
    return raw, "json"


def _reply(body: Any, fmt: str, status: int = 200, root: str = "", item: str = "") -> Response:
    if fmt == "xml":
        rows = body if isinstance(body, list) else [body]
        return Response(open311.to_xml(root, item, rows), status, media_type=_XML)
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")), status, media_type=_JSON
    )


def _error(status: int, description: str, fmt: str) -> Response:
    return _reply(open311.errors(status, description), fmt, status, "errors", "error")


async def _form(request: Request, max_body: int) -> dict[str, list[str]]:
    """The body as form fields: url-encoded (the spec's) or a JSON object."""
    declared = request.headers.get("content-length")
    if declared is not None and (
        not (declared.isascii() and declared.isdigit()) or int(declared) > max_body
    ):
        raise RequestError(413, f"the body is larger than {max_body:,} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body:
            raise RequestError(413, f"the body is larger than {max_body:,} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError(400, "the body is not UTF-8") from None
    if kind in ("", "application/x-www-form-urlencoded"):
        try:
            return parse_qs(text, keep_blank_values=True, strict_parsing=False, max_num_fields=200)
        except ValueError as exc:
            raise RequestError(400, f"malformed form body: {exc}") from None
    if kind == "application/json":
        try:
            data = json.loads(text) if text.strip() else {}
        except (ValueError, RecursionError):
            raise RequestError(400, "malformed JSON body") from None
        if not isinstance(data, dict):
            raise RequestError(400, "the JSON body must be an object")
        out: dict[str, list[str]] = {}
        for key, value in data.items():
            if key == "attributes" and isinstance(value, dict):
                for k, v in value.items():
                    out[f"attribute[{_scalar('', k)}]"] = [_scalar(f"attributes.{k}", v)]
                continue
            out[_scalar("", key)] = [_scalar(key, value)]
        return out
    raise RequestError(415, f"unsupported body type {kind[:60]!r} (form or JSON)")


def _scalar(key: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)  # JSON may carry them; UTF-8 cannot
    if isinstance(value, int | float):
        return str(value)
    raise RequestError(400, f"{key[:64]} must be a string or a number")


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _q(request: Request, key: str) -> str | None:
    values = request.query_params.getlist(key)
    if len(values) > 1:
        raise RequestError(400, f"{key} given {len(values)} times")
    if values and "\x00" in values[0]:  # PostgreSQL holds no text with one: refused for both
        raise RequestError(400, f"{key} holds a NUL character")
    return values[0] if values else None


def _moment(request: Request, key: str, tz: Any) -> datetime | None:
    """A time query parameter (W3C datetime; without an offset: in ``tz``, WIB)."""
    raw = _q(request, key)
    if raw is None:
        return None
    moment = open311.parse_time(raw, key)
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def _limit(request: Request) -> int:
    """The ``limit`` query parameter: 1 to 1000, default 1000."""
    raw = _q(request, "limit") or "1000"
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= 1000:
        raise RequestError(400, "limit is a whole number from 1 to 1000")
    return int(raw)


def create_app(
    store: ReportStore,
    *,
    max_body: int = MAX_BODY,
    now: Callable[[], datetime] | None = None,
    threads: bool = False,
    tiles: str | None = None,
    attribution: str = "",
) -> Starlette:
    """The service over ``store`` (whose router routes). ``now`` stands in for the clock
    (tests). ``threads``: store calls in Starlette's thread pool instead of on the event
    loop (for a remote database). ``tiles``: a tile URL template (``{z}/{x}/{y}``) under the
    officers' page map, with its ``attribution``; without one the page draws the kelurahan
    boundaries alone."""
    router = store.router
    rules = router.rules
    clock = now or router.now
    features = page.BoundaryFeatures(router.boundaries)
    page_settings = json.dumps(page.settings(router.boundaries, tiles, attribution))
    policy = page.content_policy(tiles)
    _warm_up(store)
    # A store call takes about a millisecond of CPU: made on the event loop it skips the
    # thread hop and the GIL hand-offs that tripled the tail latency under load (SQLite and
    # a local PostgreSQL alike). ``threads=True`` is for a database far enough away that
    # its round trips, not the CPU, are the cost.

    async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not threads:
            return fn(*args, **kwargs)
        return await run_in_threadpool(fn, *args, **kwargs)

    def handler(
        fn: Callable[[Request, str], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            _, fmt = _fmt(request)
            try:
                return await fn(request, fmt)
            except RequestError as exc:
                return _error(exc.status, exc.description, fmt)
            except LaporRouterError as exc:  # e.g. a transfer the rule graph refuses
                return _error(400, str(exc), fmt)

        return endpoint

    async def list_services(request: Request, fmt: str) -> Response:
        return _reply(open311.services(rules), fmt, root="services", item="service")

    async def service_definition(request: Request, fmt: str, code: str) -> Response:
        body = open311.definition(rules, code)
        return _reply(body, fmt, root="service_definition", item="service")

    async def post_request(request: Request, fmt: str) -> Response:
        form = await _form(request, max_body)
        report, extra = open311.parse_request(form, rules)
        record = await call(
            store.submit, report, address=report.address, media_url=extra["media_url"], now=clock()
        )
        body = [
            {
                "service_request_id": record["service_request_id"],
                "service_notice": record["service_notice"],
                "account_id": None,
                # extension: open reports of the category nearby, nearest first
                "possible_duplicates": record["possible_duplicates"],
            }
        ]
        return _reply(body, fmt, 201, "service_requests", "request")

    async def get_requests(request: Request, fmt: str) -> Response:
        statuses = open311.split(_q(request, "status"))
        if any(s not in STATUSES for s in statuses):
            raise RequestError(400, f"status is one of {', '.join(STATUSES)}")
        tz = router.calendar.tz
        rows = await call(
            store.find,
            ids=open311.split(_q(request, "service_request_id")),
            service_code=open311.split(_q(request, "service_code")),
            status=statuses,
            start=_moment(request, "start_date", tz),
            end=_moment(request, "end_date", tz),
            kelurahan=open311.split(_q(request, "kelurahan")),
            bbox=open311.bbox(_q(request, "bbox")),
            unit_id=_q(request, "unit_id"),  # extension: the unit holding the report now
            limit=_limit(request),
        )
        return _reply([public(r) for r in rows], fmt, root="service_requests", item="request")

    async def get_request(request: Request, fmt: str, rid: str) -> Response:
        record = await call(store.get, rid)
        return _reply([public(record)], fmt, root="service_requests", item="request")

    async def history(request: Request, fmt: str) -> Response:
        rid = request.path_params["rid"]
        rows = await call(store.history, rid)
        return _reply(rows, fmt, root="events", item="event")

    async def stats(request: Request, fmt: str) -> Response:
        tz = router.calendar.tz
        start, end = _moment(request, "from", tz), _moment(request, "to", tz)
        by = _q(request, "by") or "unit"
        rows = await call(store.stats, by, start, end, clock())
        names = router.group_names(by)
        for row in rows:  # extension of the figures: the group's display name
            row["name"] = names.get(row[by], row[by])
        return _reply(rows, fmt, root="stats", item="group")

    async def overdue(request: Request, fmt: str) -> Response:
        rows = await call(store.overdue, _q(request, "unit_id"), clock(), _limit(request))
        return _reply([public(r) for r in rows], fmt, root="service_requests", item="request")

    async def boundaries(request: Request, fmt: str) -> Response:
        body = features.collection(open311.bbox(_q(request, "bbox")))
        return Response(body, media_type="application/geo+json")

    async def page_config(request: Request, fmt: str) -> Response:
        return Response(page_settings, media_type=_JSON)

    async def index(request: Request) -> Response:
        return FileResponse(
            page.STATIC_DIR / "index.html",
            media_type="text/html; charset=utf-8",
            headers={"content-security-policy": policy, "cache-control": "no-cache"},
        )

    def action(
        name: str, do: Callable[[str, str, Mapping[str, Sequence[str]]], dict[str, Any]]
    ) -> Callable[[Request, str], Awaitable[Response]]:
        async def run(request: Request, fmt: str) -> Response:
            unit = await call(store.unit_of, _token(request))
            form = await _form(request, max_body)
            record = await call(do, request.path_params["rid"], unit, form)
            log.info("%s report=%s unit=%s", name, record["service_request_id"], unit)
            return _reply([public(record)], fmt, root="service_requests", item="request")

        return run

    def field(form: Mapping[str, Sequence[str]], key: str) -> str:
        value = open311.text_field(form, key)
        if value is None:
            raise RequestError(400, f"{key} is required")
        return value

    def moved(rid: str, unit: str, form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        lat = open311.number_field(form, "lat", -90.0, 90.0)
        lon = open311.number_field(form, "long", -180.0, 180.0)
        if lat is None or lon is None:
            raise RequestError(400, "lat and long are required")
        acc = open311.number_field(form, "accuracy_m", 0.0, 1e6)
        return store.move_pin(rid, unit, lon, lat, acc, now=clock())

    actions = {
        "transfer": lambda rid, unit, f: store.transfer(rid, unit, field(f, "reason"), clock()),
        "escalate": lambda rid, unit, f: store.escalate(rid, unit, clock()),
        "pin": moved,
        "category": lambda rid, unit, f: store.change_category(
            rid, unit, field(f, "service_code"), clock()
        ),
        "close": lambda rid, unit, f: store.close(rid, unit, field(f, "resolution"), clock()),
        "merge": lambda rid, unit, f: store.merge(rid, unit, field(f, "into"), clock()),
        "reopen": lambda rid, unit, f: store.reopen(rid, unit, field(f, "reason"), clock()),
    }

    routes = [
        Route(
            "/services{rest:path}",
            handler(_services_or_definition(list_services, service_definition)),
            methods=["GET"],
        ),
        Route(
            "/requests{rest:path}",
            handler(_requests(post_request, get_requests, get_request)),
            methods=["GET", "POST"],
        ),
        Route("/v1/requests/{rid}/events", handler(history), methods=["GET"]),
        Route("/v1/stats", handler(stats), methods=["GET"]),
        Route("/v1/overdue", handler(overdue), methods=["GET"]),
        Route("/v1/boundaries.geojson", handler(boundaries), methods=["GET"]),
        Route("/v1/page", handler(page_config), methods=["GET"]),
        Route("/", index, methods=["GET"]),
        Mount("/static", StaticFiles(directory=page.STATIC_DIR), name="static"),
        *(
            Route(f"/v1/requests/{{rid}}/{name}", handler(action(name, call)), methods=["POST"])
            for name, call in actions.items()
        ),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        desc = exc.detail if isinstance(exc, HTTPException) else "internal error"
        return _error(status, str(desc), "json")

    async def internal(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(500, "internal error", "json")

    return Starlette(
        routes=routes, exception_handlers={HTTPException: not_found, Exception: internal}
    )


def _warm_up(store: ReportStore) -> None:
    """Route one report before serving: the first call compiles the locator's kernels and
    builds the place finder (seconds), which no client should wait for."""
    import shapely

    from ..route import Report

    point = shapely.point_on_surface(store.router.boundaries.geoms[0])
    store.router.route(Report(point.x, point.y, text="jalan berlubang di kelurahan"))


_Handler = Callable[[Request, str], Awaitable[Response]]
_OneHandler = Callable[[Request, str, str], Awaitable[Response]]


def _one(rest: str) -> str | None:
    """The ``{key}`` of a path tail ``/{key}``, or None for any other tail."""
    return rest[1:] if rest.startswith("/") and "/" not in rest[1:] else None


def _services_or_definition(listing: _Handler, one: _OneHandler) -> _Handler:
    """``/services[.fmt]`` lists; ``/services/{code}[.fmt]`` defines one."""

    async def dispatch(request: Request, fmt: str) -> Response:
        rest, _ = _fmt(request)
        if rest == "":
            return await listing(request, fmt)
        if (code := _one(rest)) is not None:
            return await one(request, fmt, code)
        raise RequestError(404, "not found")

    return dispatch


def _requests(post: _Handler, listing: _Handler, one: _OneHandler) -> _Handler:
    """``POST /requests[.fmt]``, ``GET /requests[.fmt]``, ``GET /requests/{id}[.fmt]``."""

    async def dispatch(request: Request, fmt: str) -> Response:
        rest, _ = _fmt(request)
        if rest == "":
            return await (post if request.method == "POST" else listing)(request, fmt)
        if request.method == "POST":
            raise RequestError(405, "POST goes to /requests")
        if (rid := _one(rest)) is not None:
            return await one(request, fmt, rid)
        raise RequestError(404, "not found")

    return dispatch
