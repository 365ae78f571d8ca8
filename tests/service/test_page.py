"""The officers' page (GET /) in a real headless Chromium (playwright driving Debian's
chromium) against `lapor-router serve` on 127.0.0.1: the map draws every open report and
every kelurahan, the filters change the list and the markers, a unit's overdue list is the
store's, the stats table is /v1/stats, text is shown as text, and the console stays clean.

With LAPOR_SCREENSHOTS=DIR the test also writes the README's screenshots there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.serverproc import Server

CHROMIUM = (
    os.environ.get("LAPOR_CHROMIUM")
    or shutil.which("chromium")
    or shutil.which("chromium-browser")
    or shutil.which("google-chrome")
)
REQUIRE = os.environ.get("LAPOR_REQUIRE_BROWSER") == "1"
SHOTS = os.environ.get("LAPOR_SCREENSHOTS")
PLACES = [  # mainland Jakarta, lon/lat in degrees
    (106.8272, -6.1754), (106.7990, -6.2440), (106.9057, -6.1588), (106.7350, -6.1480),
    (106.8560, -6.3100), (106.8700, -6.2150), (106.8800, -6.1100), (106.7900, -6.1650),
]  # fmt: skip
CATEGORIES = ["road_damage", "garbage", "drain_blocked", "street_light"]
OLD = "2026-11-02T09:00:00+07:00"  # responded-by long past: overdue while open
HOSTILE = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> got bolong'
SECRET = "Rahasia Pelapor"


def _browser_or_skip() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if REQUIRE:
            pytest.fail("LAPOR_REQUIRE_BROWSER=1 but playwright is not installed")
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    if CHROMIUM is None:
        if REQUIRE:
            pytest.fail("LAPOR_REQUIRE_BROWSER=1 but no chromium (bash .ci/chromium.sh)")
        pytest.skip("no chromium on PATH; set LAPOR_CHROMIUM or apt-get install chromium")
    return CHROMIUM


@pytest.fixture(scope="module")
def chromium() -> str:
    return _browser_or_skip()


@pytest.fixture(scope="module")
def site(
    chromium: str, data_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, dict[str, Any]]]:
    """A server over a fresh SQLite store with reports of four categories at eight places,
    a third made long ago (overdue), two closed, one private, one with markup in its text."""
    db = f"sqlite:///{tmp_path_factory.mktemp('page') / 'reports.sqlite3'}"
    srv = Server(db, data_home, tmp_path_factory.mktemp("page-server") / "server.log").start()
    made: dict[str, Any] = {"ids": [], "old": set(), "closed": set()}
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        for i in range(24):
            lon, lat = PLACES[i % len(PLACES)]
            form = {
                "service_code": CATEGORIES[i % len(CATEGORIES)],
                "lat": str(lat + 0.004 * (i // len(PLACES))),
                "long": str(lon),
                "description": f"laporan nomor {i}",
            }
            if i % 3 == 0:
                form["requested_datetime"] = OLD
            if i == 5:
                form["description"] = HOSTILE
            if i == 7:
                form |= {"private": "true", "first_name": SECRET, "phone": "+62 812 0000 1111"}
            r = c.post("/requests.json", data=form)
            assert r.status_code == 201, r.text
            rid = r.json()[0]["service_request_id"]
            made["ids"].append(rid)
            if i % 3 == 0:
                made["old"].add(rid)
            if i == 5:
                made["hostile"] = rid
        for rid in (made["ids"][0], made["ids"][4]):  # one old, one fresh
            unit = c.get(f"/requests/{rid}.json").json()[0]["unit_id"]
            r = c.post(
                f"/v1/requests/{rid}/close",
                data={"resolution": "sudah ditangani"},
                headers={"Authorization": f"Bearer {srv.token(unit)}"},
            )
            assert r.status_code == 200, r.text
            made["closed"].add(rid)
    yield srv, made
    srv.stop()
    assert "Traceback" not in srv.output(), srv.output()


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, site: tuple[Server, dict[str, Any]]) -> Iterator[Any]:
    """The page, loaded; after the test, no console error, page error, failed request or
    error response may have happened."""
    srv, _ = site
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems: list[str] = []
    pg.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in
          ("error", "warning") else None)  # fmt: skip
    pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    pg.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
    pg.on("response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400
          else None)  # fmt: skip
    pg.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    pg.goto(srv.url + "/")
    pg.wait_for_selector("body[data-ready='1']", timeout=30_000)
    yield pg
    pg.close()
    assert problems == []


def _choose(pg: Any, **choice: str) -> None:
    """Set the filters (select id → value) and wait until the page shows that choice."""
    for key, value in choice.items():
        pg.select_option(f"#f-{key}", value)
    shown = httpx.QueryParams({k: v for k, v in _filters(pg).items() if v})
    want = f"?{shown}" if str(shown) else ""
    pg.wait_for_function("w => document.body.dataset.shown === w", arg=want, timeout=15_000)


def _filters(pg: Any) -> dict[str, str]:
    return {
        "unit_id": pg.input_value("#f-unit"),
        "service_code": pg.input_value("#f-category"),
        "status": pg.input_value("#f-status"),
    }


def _listed(pg: Any, table: str) -> list[str]:
    return [str(x) for x in pg.eval_on_selector_all(
        f"#{table} tbody tr[data-id]", "rows => rows.map(r => r.dataset.id)")]  # fmt: skip


def _api(srv: Server, path: str, **params: str) -> Any:
    r = httpx.get(srv.url + path, params=params, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_map_draws_open_reports_and_kelurahan(page, site):
    srv, made = site
    open_ids = [r["service_request_id"] for r in _api(srv, "/requests.json", status="open")]
    assert len(open_ids) == len(made["ids"]) - len(made["closed"]) > 0
    assert page.locator("#map path.report").count() == len(open_ids)
    assert sorted(_listed(page, "report-list")) == sorted(open_ids)
    assert page.get_attribute("#report-count", "data-count") == str(len(open_ids))
    kelurahan = _api(srv, "/v1/page")["kelurahan"]
    assert page.locator("#map path.kelurahan").count() == kelurahan == 267
    # late markers are the open reports past their response deadline
    assert page.locator("#map path.report-late").count() == len(made["old"] - made["closed"])
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / "officer_page.png"), full_page=True)


def test_filters_change_the_list_and_the_markers(page, site):
    srv, made = site
    for code in CATEGORIES[:2]:
        _choose(page, category=code)
        want = [r["service_request_id"]
                for r in _api(srv, "/requests.json", status="open", service_code=code)]  # fmt: skip
        assert 0 < len(want) < len(made["ids"])
        assert sorted(_listed(page, "report-list")) == sorted(want)
        assert page.locator("#map path.report").count() == len(want)
    _choose(page, category="", status="closed")
    assert set(_listed(page, "report-list")) == made["closed"]
    assert page.locator("#map path.report-closed").count() == len(made["closed"])
    _choose(page, status="")
    assert sorted(_listed(page, "report-list")) == sorted(made["ids"])


def test_a_units_overdue_list(page, site):
    srv, made = site
    now = datetime.now().astimezone()
    late = {r["service_request_id"] for r in _api(srv, "/requests.json", status="open")
            if datetime.fromisoformat(r["respond_by"]) < now}  # fmt: skip
    assert late == made["old"] - made["closed"]  # by construction of the fixture
    assert set(_listed(page, "overdue-list")) == late
    unit = _api(srv, f"/requests/{sorted(late)[0]}.json")[0]["unit_id"]
    _choose(page, unit=unit)
    theirs = {r["service_request_id"] for r in _api(srv, "/requests.json", unit_id=unit,
              status="open")}  # fmt: skip
    assert set(_listed(page, "report-list")) == theirs
    assert set(_listed(page, "overdue-list")) == late & theirs != set()
    hours = page.eval_on_selector_all(
        "#overdue-list tbody tr td.late", "cells => cells.map(c => Number(c.textContent))"
    )
    assert hours and all(h > 8 for h in hours)  # a month late: far more than a working day
    if SHOTS:
        page.locator("#overdue-panel").screenshot(path=str(Path(SHOTS) / "officer_overdue.png"))


def test_stats_table_is_v1_stats(page, site):
    srv, _ = site
    for by in ("unit", "category"):
        page.select_option("#f-by", by)
        rows = _api(srv, "/v1/stats", by=by)
        names = {r["name"] for r in rows}
        page.wait_for_function(
            "n => document.querySelectorAll('#stats-table tbody tr').length === n", arg=len(rows)
        )
        shown = page.eval_on_selector_all(
            "#stats-table tbody tr",
            "rows => rows.map(r => [...r.cells].map(c => c.textContent))",
        )
        assert {s[0] for s in shown} == names and len(shown) == len(rows)
        received = {r["name"]: r["received"] for r in rows}
        assert all(int(s[1]) == received[s[0]] for s in shown)
        assert sum(int(s[8]) for s in shown) == sum(r["open"] for r in rows)
        assert sum(int(s[9]) for s in shown) == sum(r["overdue"] for r in rows)


def test_text_is_text_and_private_reporters_stay_hidden(page, site):
    _, made = site
    page.locator(f"#report-list tbody tr[data-id='{made['hostile']}']").click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "<img src=x" in popup.inner_text()  # shown as typed, not made an element
    assert page.evaluate("window.__xss") is None
    assert page.locator(".leaflet-popup-content img, .leaflet-popup-content script").count() == 0
    assert SECRET not in page.content() and "0000 1111" not in page.content()


def test_page_headers_and_boundaries_by_bbox(site):
    srv, _ = site
    r = httpx.get(srv.url + "/", timeout=30)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "script-src 'self'" in r.headers["content-security-policy"]
    js = httpx.get(srv.url + "/static/leaflet/leaflet.js", timeout=30)
    assert js.status_code == 200 and "Leaflet 1.9.4" in js.text[:400]
    lon, lat = PLACES[0]
    near = _api(srv, "/v1/boundaries.geojson", bbox=f"{lon},{lat},{lon + 0.001},{lat + 0.001}")
    assert 1 <= len(near["features"]) < 10
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in near["features"])
    assert len(_api(srv, "/v1/boundaries.geojson", bbox="0,0,1,1")["features"]) == 0
    bad = httpx.get(srv.url + "/v1/boundaries.geojson", params={"bbox": "a,b"}, timeout=30)
    assert bad.status_code == 400 and bad.json()[0]["code"] == 400
    assert httpx.get(srv.url + "/static/../store.py", timeout=30).status_code == 404
    assert httpx.get(srv.url + "/v1/overdue", params={"limit": "0"}, timeout=30).status_code == 400
