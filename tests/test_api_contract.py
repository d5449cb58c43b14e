"""`/openapi.json` describes every HTTP route the app serves, the provider webhooks included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.routing import Route, WebSocketRoute

from app.main import create_app
from tests.conftest import make_settings

# The document itself: what describes the routes need not describe itself.
OPENAPI_DOCUMENT = ("GET", "/openapi.json")

Endpoint = tuple[str, str]


@pytest.fixture(scope="module")
def app() -> FastAPI:
    # The routes do not depend on the settings: every one is served, switched on or not.
    return create_app(make_settings("sqlite+aiosqlite:///:memory:"))


def served(app: FastAPI) -> Iterator[Endpoint]:
    for route in app.routes:
        if isinstance(route, WebSocketRoute):
            yield "WS", route.path_format
        elif isinstance(route, Route):
            # Starlette answers HEAD wherever it answers GET: not a route of its own.
            for method in sorted((route.methods or set()) - {"HEAD"}):
                yield method, route.path_format
        else:  # a Mount or a host route would serve paths nobody listed
            raise AssertionError(f"a route of a kind the contract test does not know: {route!r}")


@pytest.fixture(scope="module")
def openapi(app: FastAPI) -> dict[str, Any]:
    schema: dict[str, Any] = app.openapi()
    return schema


def test_openapi_describes_every_http_route(app: FastAPI, openapi: dict[str, Any]) -> None:
    paths = openapi["paths"]
    missing = [
        (method, path)
        for method, path in served(app)
        if method != "WS" and (method, path) != OPENAPI_DOCUMENT and method.lower() not in paths.get(path, {})
    ]
    assert not missing, f"not in /openapi.json: {missing}"
    operations = [operation for item in paths.values() for operation in item.values()]
    ids = [operation["operationId"] for operation in operations]
    assert len(ids) == len(set(ids)), "two operations share an operationId"
    for operation in operations:
        assert operation.get("summary"), operation["operationId"]
        assert operation.get("responses"), operation["operationId"]


def test_the_openapi_description_says_where_the_push_channel_is(openapi: dict[str, Any]) -> None:
    description = openapi["info"]["description"]
    assert "WS /ws" in description and "docs/push.md" in description and "docs/api.md" in description
    assert "/ws" not in openapi["paths"]


def _form_fields(operation: dict[str, Any]) -> set[str]:
    body = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    return set(body["properties"])


def test_the_provider_webhooks_describe_what_they_read_and_answer(openapi: dict[str, Any]) -> None:
    paths = openapi["paths"]
    twilio = {path: item for path, item in paths.items() if path.startswith("/webhooks/twilio/")}
    assert set(twilio) == {f"/webhooks/twilio/{name}" for name in ("voice", "status", "leg", "dial")}
    for item in twilio.values():
        for operation in item.values():
            assert operation["security"] == [{"twilioSignature": []}]
            assert {"401", "404", "422"} <= set(operation["responses"])
    voice = paths["/webhooks/twilio/voice"]
    assert {"CallSid", "From", "To"} <= _form_fields(voice["post"])
    assert {"CallSid", "From", "To"} <= {p["name"] for p in voice["get"]["parameters"]}
    assert "<Response>" in voice["post"]["responses"]["200"]["content"]["text/xml"]["example"]
    status_fields = _form_fields(paths["/webhooks/twilio/status"]["post"])
    assert {"CallSid", "CallStatus", "SequenceNumber"} <= status_fields
    assert {"ParentCallSid", "CallStatus"} <= _form_fields(paths["/webhooks/twilio/leg"]["post"])
    dial = paths["/webhooks/twilio/dial"]["post"]
    assert "DialCallStatus" in _form_fields(dial) and "text/xml" in dial["responses"]["200"]["content"]
    assert set(paths["/webhooks/twilio/status"]["post"]["responses"]) >= {"204", "503"}

    telnyx = paths["/webhooks/telnyx"]["post"]
    data = telnyx["requestBody"]["content"]["application/json"]["schema"]["properties"]["data"]
    assert {"event_type", "id", "occurred_at", "payload"} <= set(data["properties"])
    assert telnyx["security"] == [{"telnyxSignature": []}]

    shopify = paths["/webhooks/shopify"]["post"]
    assert "X-Shopify-Topic" in {p["name"] for p in shopify["parameters"] if p["in"] == "header"}
    assert "X-WC-Webhook-Topic" in {p["name"] for p in paths["/webhooks/woocommerce"]["post"]["parameters"]}
    cti = paths["/webhooks/cti/{token}"]["post"]["requestBody"]["content"]
    assert {"application/x-www-form-urlencoded", "application/json"} <= set(cti)
    assert "application/x-www-form-urlencoded" in paths["/pbx/event"]["post"]["requestBody"]["content"]
    assert "text/plain" in paths["/pbx/lookup"]["get"]["responses"]["200"]["content"]
    metrics = paths["/metrics"]["get"]
    assert metrics["security"] == [{"metricsToken": []}, {}]
    assert any(kind.startswith("text/plain") for kind in metrics["responses"]["200"]["content"])
