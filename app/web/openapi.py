"""What `/openapi.json` says beyond what FastAPI derives from the routes.

FastAPI describes a route from its parameters. The provider webhooks take none: they read their
raw body (or form) themselves, because the signature covers its exact bytes, and a FastAPI body
parameter would parse it first. So their bodies, their TwiML or plain-text answers and the
signatures that guard them are written out here and attached with `openapi_extra`, which changes
the document and nothing else: the routes read their requests exactly as before.

Who may call what comes from the routes' own dependencies (`app/deps.py`), so the document cannot
claim a key the route does not ask for; routes whose check is not such a dependency (signatures,
the CTI token) name their scheme with `secured_by`.

`WS /ws` cannot be an OpenAPI operation: the description says where it is documented.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.deps import admin_or_agent, agent_or_sync, current_agent, require_admin_key, require_sync_key

Json = dict[str, Any]

DESCRIPTION: Final = """\
Caller identification for online stores. The whole contract, with every route, its auth, inputs,
answers and error statuses, is `docs/api.md` in the repository; the provider webhooks are
set up as `docs/pbx/` and `docs/store-platforms.md` describe.

**The push channel `WS /ws`** (the agents' screen pops) is a WebSocket and cannot be described in
OpenAPI: its protocol, messages and close codes are in `docs/push.md`. Connect to
`wss://<host>/ws` and send `{"type": "auth", "token": "<access_token from POST /auth/token>"}`
as the first message.

Errors answer JSON (`{"detail": ...}`, or `{"error": ..., "detail": [...]}` for a 422), except
the PBX lookups and events, whose error bodies are empty and whose reason is in the
`X-Ringcard-Error` header. Any request body larger than `RINGCARD_MAX_BODY_BYTES` answers 413;
a database that is away answers 503 with `Retry-After`. A provider or an API whose secret is not
configured answers 404: it is switched off, never open.
"""

SECURITY_SCHEMES: Final[Json] = {
    "agentToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An agent's `access_token` from `POST /auth/token`.",
    },
    "syncKey": {"type": "http", "scheme": "bearer", "description": "`RINGCARD_SYNC_API_KEY`."},
    "adminKey": {"type": "http", "scheme": "bearer", "description": "`RINGCARD_ADMIN_API_KEY`."},
    "ctiToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "`RINGCARD_CTI_TOKEN` (the PBX routes also take it as the `token` query parameter).",
    },
    "metricsToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "`RINGCARD_METRICS_TOKEN`; `/metrics` is open while it is unset.",
    },
    "twilioSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Twilio-Signature",
        "description": "Base64 HMAC-SHA1, with `RINGCARD_TWILIO_AUTH_TOKEN`, of the URL Twilio requested "
        "(rebuilt from `RINGCARD_PUBLIC_URL` plus the request's path and query) followed by every "
        "POST field sorted by name, name then value.",
    },
    "telnyxSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "telnyx-signature-ed25519",
        "description": "Base64 Ed25519 signature of `{telnyx-timestamp}|{raw body}`, checked with "
        "`RINGCARD_TELNYX_PUBLIC_KEY`; the `telnyx-timestamp` header (Unix seconds) must be within "
        "300 s of now.",
    },
    "shopifyHmac": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Shopify-Hmac-Sha256",
        "description": "Base64 HMAC-SHA256 of the raw body with `RINGCARD_SHOPIFY_WEBHOOK_SECRET`.",
    },
    "woocommerceSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-WC-Webhook-Signature",
        "description": "Base64 HMAC-SHA256 of the raw body with `RINGCARD_WOOCOMMERCE_WEBHOOK_SECRET`.",
    },
}

# The auth dependencies of app/deps.py and the schemes they accept (any one of them).
_DEPENDENCY_SCHEMES: Final[dict[Callable[..., Any], tuple[str, ...]]] = {
    current_agent: ("agentToken",),
    agent_or_sync: ("agentToken", "syncKey"),
    require_sync_key: ("syncKey",),
    require_admin_key: ("adminKey",),
    admin_or_agent: ("adminKey", "agentToken"),
}


_REFUSED: Final[dict[tuple[str, ...], str]] = {
    ("agentToken",): "no valid agent token (missing, expired, or revoked: the agent was deactivated, "
    "deleted or given a new password)",
    ("agentToken", "syncKey"): "neither a valid agent token nor RINGCARD_SYNC_API_KEY",
    ("syncKey",): "the Bearer token is not RINGCARD_SYNC_API_KEY",
    ("adminKey",): "the Bearer token is not RINGCARD_ADMIN_API_KEY",
    ("adminKey", "agentToken"): "neither RINGCARD_ADMIN_API_KEY nor a valid agent token",
}
_SWITCHED_OFF: Final[dict[tuple[str, ...], str]] = {
    ("syncKey",): "the sync API is switched off: RINGCARD_SYNC_API_KEY is not set",
    ("adminKey",): "the admin API is switched off: RINGCARD_ADMIN_API_KEY is not set",
}


def secured_by(*schemes: str, optional: bool = False) -> Json:
    """`openapi_extra` naming the schemes a route checks itself (any one of them suffices);
    `optional`: the route is also open (while its secret is unset)."""
    unknown = [name for name in schemes if name not in SECURITY_SCHEMES]
    assert not unknown, f"unknown security schemes {unknown}"
    requirements: list[Json] = [{name: []} for name in schemes]
    return {"security": [*requirements, {}] if optional else requirements}


def form_body(fields: Json, *, required: list[str], description: str) -> Json:
    """`openapi_extra` for a form-encoded body the route reads itself. Every field the sender
    posts is signed, so fields not listed are allowed."""
    schema: Json = {
        "type": "object",
        "properties": fields,
        "required": required,
        "additionalProperties": {"type": "string"},
    }
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


def query_fields(fields: Json, *, required: list[str]) -> Json:
    """`openapi_extra` for query parameters the route reads itself (a GET webhook's fields)."""
    return {
        "parameters": [
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "description": schema.get("description", ""),
                "schema": {key: value for key, value in schema.items() if key != "description"},
            }
            for name, schema in fields.items()
        ]
    }


def merged(*parts: Json) -> Json:
    """Several `openapi_extra` parts in one (their keys do not overlap)."""
    result: Json = {}
    for part in parts:
        result.update(part)
    return result


def text_answer(description: str, media_type: str, example: str | None = None) -> Json:
    """A response entry for a non-JSON answer (TwiML, plain text, HTML, metrics)."""
    content: Json = {"schema": {"type": "string"}}
    if example is not None:
        content["example"] = example
    return {"description": description, "content": {media_type: content}}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def route_schemes(route: APIRoute) -> tuple[str, ...]:
    """The schemes a route's auth dependencies accept, empty when it has none of them."""
    for call in _calls(route.dependant):
        if call in _DEPENDENCY_SCHEMES:
            return _DEPENDENCY_SCHEMES[call]
    return ()


def build_openapi(app: FastAPI) -> Json:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
        servers=app.servers,
    )
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        schemes = route_schemes(route)
        if not schemes:
            continue
        for method in route.methods:
            operation = schema["paths"][route.path_format][method.lower()]
            operation.setdefault("security", [{name: []} for name in schemes])
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", {"description": _REFUSED[schemes]})
            if schemes in _SWITCHED_OFF:
                not_found = responses.setdefault("404", {"description": _SWITCHED_OFF[schemes]})
                if not_found["description"] != _SWITCHED_OFF[schemes]:
                    not_found["description"] += f"; or {_SWITCHED_OFF[schemes]}"
    return schema


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` (what `/openapi.json` serves) the document built here, once."""

    def openapi() -> Json:
        if not app.openapi_schema:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


# What the provider webhooks read. Each is checked by the route itself; these only describe it.
