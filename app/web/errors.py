"""Error answers that name the problem: a client fixing a 422 should not need our source."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from app.calls.outage_buffer import CallLogUnavailable
from app.db.faults import is_unavailable

log = logging.getLogger("ringcard.errors")


def _field(loc: tuple[int | str, ...]) -> str:
    # Drop the "body"/"query" prefix FastAPI adds: clients think in their own field names.
    parts = (
        [str(p) for p in loc[1:]]
        if loc and loc[0] in ("body", "query", "path", "header")
        else list(map(str, loc))
    )
    return ".".join(parts) or "body"


def _message(msg: str) -> str:
    # Pydantic prefixes what our validators raise with "Value error, ": noise to the reader.
    return msg.removeprefix("Value error, ")


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    summary = "; ".join(f"{_field(tuple(e['loc']))}: {_message(e['msg'])}" for e in errors[:5])
    detail = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in errors]
    return JSONResponse(status_code=422, content=jsonable_encoder({"error": summary, "detail": detail}))


async def database_error(request: Request, exc: Exception) -> JSONResponse:
    """The database is away (down, restarting, refusing connections): 503 and when to retry,
    never a 500 for a fault the client can wait out. Anything else stays a 500."""
    if isinstance(exc, CallLogUnavailable) or is_unavailable(exc):
        log.warning(
            "%s %s: the database is unavailable (%s)", request.method, request.url.path, type(exc).__name__
        )
        return JSONResponse(
            status_code=503,
            content={"detail": "the database is unavailable; retry shortly"},
            headers={"Retry-After": "2"},
        )
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse(status_code=500, content={"detail": "internal error"})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    for unavailable in (DBAPIError, ConnectionError, TimeoutError, CallLogUnavailable):
        app.add_exception_handler(unavailable, database_error)
