"""`/docs`: Swagger UI served by the app itself, nothing from a CDN, under a policy that allows
only 'self'; and in a real browser it lists the operations without a CSP violation or a request
leaving the machine."""

from __future__ import annotations

import gzip
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from playwright.async_api import async_playwright

from app.main import create_app
from app.web.docs_routes import IMMUTABLE, REVALIDATE, load_docs_bundle
from tests.conftest import MigratedDatabases, make_settings
from tests.console.harness import CHROMIUM, CHROMIUM_ARGS
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, serve

BASE = "http://test"


class _References(HTMLParser):
    """Every URL the page makes the browser load: script src, link href, img src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script":
            if named.get("src"):
                self.urls.append((tag, named["src"] or ""))
            else:
                self.inline_scripts += 1
        elif tag == "link" and named.get("href"):
            self.urls.append((named.get("rel") or tag, named["href"] or ""))
        elif tag == "img" and named.get("src"):
            self.urls.append((tag, named["src"] or ""))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # The docs touch no database: no lifespan needed.
    app = create_app(make_settings("sqlite+aiosqlite:///:memory:"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        yield client


async def test_the_page_loads_only_same_origin_assets_under_a_self_only_policy(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == REVALIDATE
    csp = page.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'none'" and directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'" and directives["connect-src"] == "'self'"
    assert "unsafe" not in csp and "http" not in csp and "nonce" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"

    references = _References()
    references.feed(page.text)
    assert references.inline_scripts == 0
    kinds = {kind for kind, _ in references.urls}
    assert {"script", "stylesheet", "icon"} <= kinds
    expected_types = {"script": "text/javascript", "stylesheet": "text/css", "icon": "image/png"}
    for kind, url in references.urls:
        absolute = urljoin(f"{BASE}/docs", url)
        assert urlsplit(absolute).netloc == urlsplit(BASE).netloc, url
        assert not re.match(r"^(https?:)?//", url), url  # relative: a proxy's prefix is kept
        asset = await http.get(absolute)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].startswith(expected_types[kind]), (url, asset.headers)
        assert asset.headers["cache-control"] == IMMUTABLE
        assert asset.headers["x-content-type-options"] == "nosniff"


async def test_scripts_are_compressed_when_asked_and_unknown_names_are_not_served(
    http: httpx.AsyncClient,
) -> None:
    version = load_docs_bundle().version
    plain = await http.get(
        f"/docs/static/{version}/swagger-ui-bundle.js", headers={"Accept-Encoding": "identity"}
    )
    packed = await http.get(
        f"/docs/static/{version}/swagger-ui-bundle.js", headers={"Accept-Encoding": "gzip"}
    )
    assert packed.headers["content-encoding"] == "gzip" and packed.content == plain.content
    assert int(packed.headers["content-length"]) < len(gzip.compress(plain.content)) * 1.2
    # The release folder also holds a demo page aimed at a public petstore: never served.
    for name in ("index.html", "swagger-initializer.js", "..%2F..%2F__init__.py"):
        assert (await http.get(f"/docs/static/{version}/{name}")).status_code == 404
    stale = await http.get("/docs/static/0123456789ab/swagger-ui.css")
    assert stale.status_code == 200 and stale.headers["cache-control"] == REVALIDATE


async def test_redoc_is_not_served_from_a_cdn_either(http: httpx.AsyncClient) -> None:
    assert (await http.get("/redoc")).status_code == 404
    assert (await http.get("/openapi.json")).json()["info"]["title"] == "Ringcard"


@pytest.mark.browser
@LEGACY_WEBSOCKETS_WARNINGS
async def test_in_a_browser_the_operations_are_listed_with_nothing_refused_or_fetched_elsewhere(
    migrated: MigratedDatabases,
) -> None:
    # One backend is enough: the page reads no data (the lifespan still wants a migrated database).
    app = create_app(make_settings(migrated.url("sqlite")))
    async with serve(app) as served, async_playwright() as playwright:
        # Debian's chromium with the console tests' flags (never a browser download of Playwright's).
        assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: `apt-get install -y chromium`"
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page()
            requests: list[str] = []
            problems: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "console", lambda message: problems.append(message.text) if message.type == "error" else None
            )
            # CSP violations reach the page as events even when the console stays quiet.
            await page.add_init_script(
                "window.__violations = [];"
                "document.addEventListener('securitypolicyviolation',"
                " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
            )
            await page.goto(f"{served.http_url}/docs")
            await page.wait_for_selector(".opblock-summary-path", timeout=15_000)
            paths = await page.locator(".opblock-summary-path").all_inner_texts()
            assert "/api/v1/calls" in {path.replace("\u200b", "") for path in paths}
            assert len(paths) > 20
            # "Try it out" fetches from this origin (connect-src 'self') and renders the answer.
            healthz = page.locator(".opblock", has=page.locator(".opblock-summary-path", has_text="/healthz"))
            await healthz.locator(".opblock-summary").click()
            await healthz.get_by_role("button", name="Try it out").click()
            await healthz.get_by_role("button", name="Execute").click()
            await healthz.locator(".live-responses-table .response-col_status", has_text="200").wait_for()
            violations = await page.evaluate("window.__violations")
        finally:
            await browser.close()
    assert violations == []
    assert problems == []
    assert requests and all(url.startswith(f"{served.http_url}/") for url in requests), requests
