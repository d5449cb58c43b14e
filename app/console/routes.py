"""`GET /`: the agent console, served by the app itself.

Stores run Ringcard on closed networks, so nothing comes from a CDN and there is no build step: the
files in `static/` are served as they are. Their URLs carry a version (a hash of every file), so a
browser may keep them for a year and still never runs yesterday's script against today's page; the
page itself is revalidated on every load (it is tiny, and it names the current version). URLs in
the page are relative, so the console also works behind a proxy that mounts the app under a prefix.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from app.web.openapi import text_answer

STATIC_DIR: Final = Path(__file__).parent / "static"
ASSETS_PATH: Final = "console"
_PLACEHOLDER: Final = b"__ASSETS__"

# Only these kinds are served; anything else in the folder (an editor's swap file) stays private.
_MEDIA_TYPES: Final = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".html": "text/html; charset=utf-8",
}
_COMPRESSIBLE: Final = (".js", ".css", ".svg", ".html")

IMMUTABLE: Final = "public, max-age=31536000, immutable"
REVALIDATE: Final = "no-cache"

# The page builds every node itself (no inline script or style, no user data as HTML), so it can
# forbid everything else; 'self' in connect-src covers the same-origin WebSocket in CSP 3 browsers.
# No referrer: a tracking link must not tell the carrier where the agent's console lives.
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

router = APIRouter(tags=["pages"])


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str


@dataclass(frozen=True, slots=True)
class Bundle:
    version: str
    index: bytes
    assets: dict[str, Asset]  # by path relative to static/, with forward slashes


@functools.cache
def load_bundle(directory: Path = STATIC_DIR) -> Bundle:
    """Every servable file, read once per process (the whole console is a few dozen kilobytes)."""
    files = sorted(
        p for p in directory.rglob("*") if p.is_file() and p.suffix in _MEDIA_TYPES and p.name != "index.html"
    )
    digest = hashlib.sha256()
    assets: dict[str, Asset] = {}
    for path in files:
        name = path.relative_to(directory).as_posix()
        body = path.read_bytes()
        digest.update(name.encode() + b"\0" + body + b"\0")
        # mtime=0: the same bytes every time, so the compressed body is as cacheable as the plain one.
        gzipped = gzip.compress(body, compresslevel=9, mtime=0) if path.suffix in _COMPRESSIBLE else None
        assets[name] = Asset(body, gzipped, _MEDIA_TYPES[path.suffix])
    index_template = (directory / "index.html").read_bytes()
    digest.update(index_template)
    version = digest.hexdigest()[:12]
    index = index_template.replace(_PLACEHOLDER, f"{ASSETS_PATH}/{version}".encode())
    return Bundle(version, index, assets)


async def _bundle() -> Bundle:
    # The first request reads the files in a worker thread; every later one hits the cache.
    return await run_in_threadpool(load_bundle)


def _accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


def _etag_matches(request: Request, etag: str) -> bool:
    given = request.headers.get("if-none-match", "")
    return any(tag.strip().removeprefix("W/") == etag for tag in given.split(",")) or given.strip() == "*"


@router.get(
    "/",
    response_class=Response,
    summary="The agent console (a browser page: sign in, live pops, call log, notes)",
    responses={
        200: text_answer("the page", "text/html"),
        304: {"description": "the page the browser has is current (If-None-Match)"},
    },
)
async def console_page(request: Request) -> Response:
    bundle = await _bundle()
    etag = f'"{bundle.version}"'
    headers = {"Cache-Control": REVALIDATE, "ETag": etag, **SECURITY_HEADERS}
    if _etag_matches(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(bundle.index, media_type="text/html; charset=utf-8", headers=headers)


@router.get(
    "/console/{version}/{path:path}",
    response_class=Response,
    summary="The console's scripts, styles and images",
    responses={
        200: {"description": "the file; cached for a year when `version` is the current one"},
        404: {"description": "no such file"},
    },
)
async def console_asset(request: Request, version: str, path: str) -> Response:
    bundle = await _bundle()
    asset = bundle.assets.get(path)
    if asset is None:
        return Response("not found", status_code=404, media_type="text/plain; charset=utf-8")
    # A page loaded before an upgrade asks for its old version: it gets today's file, but not
    # cached under yesterday's name.
    cache = IMMUTABLE if version == bundle.version else REVALIDATE
    headers = {"Cache-Control": cache, "X-Content-Type-Options": "nosniff", "Vary": "Accept-Encoding"}
    body = asset.body
    if asset.gzipped is not None and _accepts_gzip(request):
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=asset.media_type, headers=headers)
