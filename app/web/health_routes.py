"""Liveness, readiness and Prometheus metrics.

`/metrics` is open unless RINGCARD_METRICS_TOKEN is set: a scraper inside the network needs no
secret, but metrics name lines and counts that an operator may not want to publish; with the token
set, Prometheus sends it as `authorization: {credentials: ...}` (a Bearer token).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from app.db.migrate import schema_problem_of
from app.deps import SettingsDep, StateDep
from app.web.auth import bearer_token, secret_matches
from app.web.openapi import secured_by, text_answer

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(state: StateDep) -> JSONResponse:
    """Ready when the database answers, its schema is at the migrations' head (an older one
    answers every request 500) and the broker (Redis, when configured) answers; 503 otherwise,
    `checks` saying which failed."""
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(2):
            async with state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                checks["database"] = "ok"
                checks["migrations"] = await schema_problem_of(conn) or "ok"
    except Exception as exc:  # any failure means "not ready"; the reason goes to the operator
        if "database" in checks:
            checks["migrations"] = f"unknown: {type(exc).__name__}"
        else:
            checks["database"] = f"unavailable: {type(exc).__name__}"
            checks["migrations"] = "unknown: the database is unavailable"
    checks["broker"] = "ok" if await state.broker.healthy() else "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics (text exposition format)",
    responses={
        200: text_answer("every ringcard_* metric and the process's own", CONTENT_TYPE_LATEST),
        401: {"description": "RINGCARD_METRICS_TOKEN is set and the Bearer token is not it"},
    },
    openapi_extra=secured_by("metricsToken", optional=True),
)
async def metrics(request: Request, settings: SettingsDep) -> Response:
    # Compared in constant time, like every other secret here.
    if settings.metrics_token and not secret_matches(settings.metrics_token, bearer_token(request)):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid metrics token is required (Authorization: Bearer <RINGCARD_METRICS_TOKEN>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
