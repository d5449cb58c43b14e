"""`GET /docs`: the API's interactive documentation (Swagger UI), served by the app itself.

FastAPI's own page loads Swagger UI from a CDN, which a store's closed network may not reach and
which the console's Content-Security-Policy would forbid anywhere else. Here Swagger UI's release
files come from the `swagger-ui-bundle-v2` package (Swagger UI 5, which reads the OpenAPI 3.1
documents FastAPI writes), and the page and its start-up script are ours: the script is a file,
not inline, so the page's policy allows scripts from 'self' only, with no nonce to manage.

Asset URLs carry a version (of Swagger UI and of our script), so browsers may keep them for a year;
URLs in the page are relative, so the page also works behind a proxy that mounts the app under a
prefix. ReDoc (`/redoc`) is not served: it would need another bundle for the same document.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from swagger_ui_bundle import swagger_ui_path

from app.web.openapi import text_answer

router = APIRouter(tags=["pages"])

DOCS_PATH: Final = "/docs"
ASSETS_PATH: Final = "docs/static"
IMMUTABLE: Final = "public, max-age=31536000, immutable"
REVALIDATE: Final = "no-cache"

# Swagger UI builds its page with the DOM and sets styles through the CSSOM, which style-src does
# not govern; its icons are inline SVG and data: images. "Try it out" fetches from this origin.
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

# What the page starts Swagger UI with: FastAPI's defaults, and no online validator (its badge
# would fetch from a third party).
START_SCRIPT: Final = b"""\
"use strict";
// Kept out of the page so that its Content-Security-Policy needs no inline script.
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""

_MEDIA_TYPES: Final = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
# Only what the page uses: the release folder also holds a demo page pointed at a public petstore.
_RELEASE_FILES: Final = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
START_NAME: Final = "ringcard-docs.js"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str


@dataclass(frozen=True, slots=True)
class DocsBundle:
    version: str
    assets: dict[str, Asset]


@functools.cache
def load_docs_bundle(release: Path = Path(str(swagger_ui_path))) -> DocsBundle:
    """Swagger UI's files and our start-up script, read and compressed once per process."""
    files = {name: (release / name).read_bytes() for name in _RELEASE_FILES}
    files[START_NAME] = START_SCRIPT
    digest = hashlib.sha256(release.name.encode())
    assets: dict[str, Asset] = {}
    for name, body in files.items():
        digest.update(name.encode() + b"\0" + body + b"\0")
        suffix = Path(name).suffix
        # mtime=0: the same bytes every time, as cacheable as the plain body.
        gzipped = gzip.compress(body, compresslevel=6, mtime=0) if suffix in (".js", ".css") else None
        assets[name] = Asset(body, gzipped, _MEDIA_TYPES[suffix])
    return DocsBundle(digest.hexdigest()[:12], assets)


def docs_page(title: str, openapi_url: str, version: str) -> bytes:
    # Relative to /docs, like every URL in the page: a proxy's path prefix is kept.
    assets = f"{ASSETS_PATH}/{version}"
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} - API</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{html.escape(openapi_url)}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/{START_NAME}"></script>
</body>
</html>
"""
    return page.encode()


@router.get(
    DOCS_PATH,
    response_class=Response,
    summary="This API's interactive documentation (Swagger UI)",
    responses={200: text_answer("the page", "text/html")},
)
async def swagger_ui(request: Request) -> Response:
    # The first request reads and compresses the files in a worker thread; later ones hit the cache.
    bundle = await run_in_threadpool(load_docs_bundle)
    openapi_url = (request.app.openapi_url or "/openapi.json").lstrip("/")
    body = docs_page(request.app.title, openapi_url, bundle.version)
    headers = {"Cache-Control": REVALIDATE, **SECURITY_HEADERS}
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)


@router.get(
    f"/{ASSETS_PATH}/{{version}}/{{name}}",
    response_class=Response,
    summary="Swagger UI's scripts and styles",
    responses={
        200: {"description": "the file; cached for a year when `version` is the current one"},
        404: {"description": "no such file"},
    },
)
async def swagger_ui_asset(request: Request, version: str, name: str) -> Response:
    bundle = await run_in_threadpool(load_docs_bundle)
    asset = bundle.assets.get(name)
    if asset is None:
        return Response("not found", status_code=404, media_type="text/plain; charset=utf-8")
    # A page loaded before an upgrade gets today's file, but not cached under yesterday's name.
    cache = IMMUTABLE if version == bundle.version else REVALIDATE
    headers = {"Cache-Control": cache, "X-Content-Type-Options": "nosniff", "Vary": "Accept-Encoding"}
    body = asset.body
    if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", "").lower():
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=asset.media_type, headers=headers)
