"""How the console's files are served: from the app, versioned, cacheable, locked down."""

from __future__ import annotations

import gzip
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from app.console.routes import IMMUTABLE, REVALIDATE, STATIC_DIR, load_bundle
from app.main import create_app
from tests.conftest import make_settings


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # The console's routes touch no database: no lifespan needed.
    app = create_app(make_settings("sqlite+aiosqlite:///:memory:"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


async def test_the_page_names_versioned_assets_and_forbids_everything_else(http: httpx.AsyncClient) -> None:
    page = await http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == REVALIDATE
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    version = load_bundle().version
    # Relative URLs (the app may sit under a proxy prefix) carrying the version; no CDN anywhere.
    assert f'src="console/{version}/js/main.js"' in page.text
    assert f'href="console/{version}/console.css"' in page.text
    assert "__ASSETS__" not in page.text
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text)

    again = await http.get("/", headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 304


async def test_assets_are_immutable_under_their_version_and_compressed(http: httpx.AsyncClient) -> None:
    version = load_bundle().version
    script = await http.get(f"/console/{version}/js/main.js", headers={"Accept-Encoding": "identity"})
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.headers["cache-control"] == IMMUTABLE
    assert script.content == (STATIC_DIR / "js" / "main.js").read_bytes()

    raw = await http.get(f"/console/{version}/console.css", headers={"Accept-Encoding": "gzip"})
    assert raw.headers.get("content-encoding") == "gzip"
    assert raw.content == (STATIC_DIR / "console.css").read_bytes()  # httpx decoded it
    assert len(gzip.compress(raw.content)) < len(raw.content)

    stale = await http.get("/console/0123456789ab/js/main.js")
    assert stale.status_code == 200
    assert stale.headers["cache-control"] == REVALIDATE  # never cached under an old version's name


@pytest.mark.parametrize(
    "path", ["/console/v/%2e%2e/routes.py", "/console/v/index.html", "/console/v/nope.js", "/console/v/js/"]
)
async def test_only_the_console_files_are_served(http: httpx.AsyncClient, path: str) -> None:
    assert (await http.get(path)).status_code == 404


def test_no_script_builds_html_from_strings() -> None:
    """User data reaches the page as text nodes only (see js/dom.js)."""
    for path in STATIC_DIR.rglob("*.js"):
        source = path.read_text()
        for sink in (
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
        ):
            assert sink not in source, f"{path.name} uses {sink}"
