"""Error answers that name the problem: a client fixing a 422 should not need our source."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def _field(loc: tuple[int | str, ...]) -> str:
    # Drop the "body"/"query" prefix FastAPI adds: clients think in their own field names.
    parts = (
        [str(p) for p in loc[1:]]
        if loc and loc[0] in ("body", "query", "path", "header")
        else list(map(str, loc))
    )
    return ".".join(parts) or "body"


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    summary = "; ".join(f"{_field(tuple(e['loc']))}: {e['msg']}" for e in errors[:5])
    detail = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in errors]
    return JSONResponse(status_code=422, content=jsonable_encoder({"error": summary, "detail": detail}))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
