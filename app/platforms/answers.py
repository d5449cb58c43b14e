"""What a platform webhook answers, and how /openapi.json describes the request and the answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.store.schemas import Outcome, WriteResult
from app.web.openapi import secured_by

__all__ = [
    "WEBHOOK_RESPONSES",
    "DeliveryOutcome",
    "WebhookAnswer",
    "outcome_of",
    "webhook_openapi",
    "written",
]

DeliveryOutcome = Literal["applied", "stale", "duplicate", "ignored", "deleted", "erased", "logged"]


class WebhookAnswer(BaseModel):
    """What a platform webhook answers (always 200 once the body was understood)."""

    topic: str
    outcome: DeliveryOutcome
    note: str | None = None
    results: list[WriteResult] = Field(default_factory=list)


def written(outcomes: list[Outcome]) -> list[WriteResult]:
    """The store writers' outcomes as the answer lists them."""
    return [WriteResult(**outcome._asdict()) for outcome in outcomes]


def outcome_of(results: list[WriteResult]) -> DeliveryOutcome:
    """`applied` when any record was, else why the first was not (`stale`, `erased`)."""
    return "applied" if any(r.applied for r in results) else (results[0].reason or "stale")


def webhook_openapi(description: str, *, signature: str, headers: dict[str, str]) -> dict[str, Any]:
    """The request for /openapi.json: FastAPI cannot describe a body read raw for its signature,
    nor the headers read beside it. `signature` names the security scheme (app/web/openapi.py)."""
    return {
        **secured_by(signature),
        "parameters": [
            {"name": name, "in": "header", "description": meaning, "schema": {"type": "string"}}
            for name, meaning in headers.items()
        ],
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
    }


WEBHOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "understood: applied, stale, a duplicate, ignored, deleted, erased or logged"},
    401: {"description": "bad or missing signature: nothing is stored"},
    404: {"description": "not configured: the platform's webhook secret is not set"},
    409: {"description": "a concurrent delivery wrote the same record; the platform's retry applies it"},
    413: {"description": "a body larger than RINGCARD_MAX_BODY_BYTES (1 MiB by default), or than 5 MiB"},
    422: {"description": 'a payload that cannot be used: `{"error": "field: problem", "detail": [...]}`'},
}
