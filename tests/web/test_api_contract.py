"""The contract in the repository stays true: `docs/api.md` lists exactly the routes the app
serves (HTTP and WebSocket, in the schema or not), each with the auth the route really checks, and
`/openapi.json` describes every HTTP route, the provider webhooks included."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.routing import Route, WebSocketRoute

from app.main import create_app
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
API_MD = ROOT / "docs" / "api.md"
PUSH_MD = ROOT / "docs" / "push.md"
README = ROOT / "README.md"

# One heading per route: "### `POST /webhooks/twilio/voice`", "### `GET|POST /pbx/event`",
# "### `WS /ws`". Paths as FastAPI formats them (`{path}`, not `{path:path}`).
HEADING = re.compile(r"^### `(?P<methods>[A-Z]+(?:\|[A-Z]+)*) (?P<path>/[^`\s]*)`\s*$")
# An endpoint named in the "Coming" table: "`GET /api/v1/stats?from=`", "`PUT\|GET /api/v1/stores/{id}`".
COMING = re.compile(r"^(?P<methods>[A-Z]+(?:\|[A-Z]+)*) (?P<path>/\S*)$")
# The document itself: what describes the routes need not describe itself.
OPENAPI_DOCUMENT = ("GET", "/openapi.json")

# What a route's entry in docs/api.md must name for each scheme its operation declares.
SCHEME_WORDS = {
    "agentToken": "agent token",
    "syncKey": "RINGCARD_SYNC_API_KEY",
    "adminKey": "RINGCARD_ADMIN_API_KEY",
    "ctiToken": "RINGCARD_CTI_TOKEN",
    "metricsToken": "RINGCARD_METRICS_TOKEN",
    "twilioSignature": "X-Twilio-Signature",
    "telnyxSignature": "telnyx-signature-ed25519",
    "shopifyHmac": "X-Shopify-Hmac-Sha256",
    "woocommerceSignature": "X-WC-Webhook-Signature",
}

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


def documented(text: str) -> dict[Endpoint, str]:
    """Each endpoint docs/api.md lists, with its entry's text (up to the next heading)."""
    entries: dict[Endpoint, str] = {}
    current: list[Endpoint] = []
    for line in text.splitlines():
        if line.startswith("#"):
            current = []
            heading = HEADING.match(line)
            if heading is None:
                assert not line.startswith("### `"), f"a route heading docs/api.md cannot read: {line!r}"
                continue
            for method in heading["methods"].split("|"):
                endpoint = (method, heading["path"])
                assert endpoint not in entries, f"{method} {heading['path']} is listed twice"
                entries[endpoint] = ""
                current.append(endpoint)
        else:
            for endpoint in current:
                entries[endpoint] += line + "\n"
    return entries


@pytest.fixture(scope="module")
def contract() -> dict[Endpoint, str]:
    return documented(API_MD.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def openapi(app: FastAPI) -> dict[str, Any]:
    schema: dict[str, Any] = app.openapi()
    return schema


def test_every_route_the_app_serves_is_in_docs_api_md(app: FastAPI, contract: dict[Endpoint, str]) -> None:
    missing = sorted(set(served(app)) - contract.keys())
    assert not missing, f"served but not in docs/api.md: {missing}"


def test_every_route_docs_api_md_lists_is_served(app: FastAPI, contract: dict[Endpoint, str]) -> None:
    unknown = sorted(contract.keys() - set(served(app)))
    assert not unknown, f"in docs/api.md but not served: {unknown}"


def test_nothing_listed_as_coming_is_served_already(app: FastAPI) -> None:
    coming = API_MD.read_text(encoding="utf-8").split("\n## Coming", 1)[1]
    listed: set[Endpoint] = set()
    for span in re.findall(r"`([^`]+)`", coming):
        # A table cell writes `PUT\|GET`: the backslash keeps the bar from splitting the cell.
        found = COMING.match(span.replace("\\|", "|"))
        if found:
            path = found["path"].split("?", 1)[0]
            listed.update((method, path) for method in found["methods"].split("|"))
    # Either endpoints the test can read, or the section says there are none (a typo in a row
    # would otherwise hide it from this test).
    assert (
        listed or "No new endpoint is coming" in coming
    ), "the Coming table lists no endpoint the test can read"
    served_already = sorted(listed & set(served(app)))
    assert not served_already, f"served, but still under 'Coming' in docs/api.md: {served_already}"


def test_every_entry_says_something(contract: dict[Endpoint, str]) -> None:
    empty = sorted(endpoint for endpoint, text in contract.items() if not text.strip())
    assert not empty, f"headings with nothing under them: {empty}"


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


def test_each_entry_names_the_auth_its_route_checks(
    openapi: dict[str, Any], contract: dict[Endpoint, str]
) -> None:
    schemes = openapi["components"]["securitySchemes"]
    assert set(schemes) == set(SCHEME_WORDS)
    wrong = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            entry = contract.get((method.upper(), path))
            if entry is None:  # not documented at all: the first test says so
                continue
            for requirement in operation.get("security", []):
                for scheme in requirement:
                    if SCHEME_WORDS[scheme] not in entry:
                        wrong.append(f"{method.upper()} {path}: {SCHEME_WORDS[scheme]!r} ({scheme})")
    assert not wrong, "docs/api.md entries that do not name their route's auth: " + ", ".join(wrong)


def _form_fields(operation: dict[str, Any]) -> set[str]:
    body = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    return set(body["properties"])


def test_the_provider_webhooks_describe_what_they_read_and_answer(openapi: dict[str, Any]) -> None:
    paths = openapi["paths"]
    twilio = {path: item for path, item in paths.items() if path.startswith("/webhooks/twilio/")}
    assert set(twilio) == {
        f"/webhooks/twilio/{name}"
        for name in ("voice", "status", "leg", "dial", "transcription", "realtime-transcription", "recording")
    }
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


def test_the_readme_and_push_md_point_at_the_contract_in_the_repository() -> None:
    readme = README.read_text(encoding="utf-8")
    api_section = readme.split("## The API", 1)[1].split("\n## ", 1)[0]
    assert "docs/api.md" in api_section and "../shared/" not in api_section
    api = API_MD.read_text(encoding="utf-8")
    assert "push.md" in api
    push = PUSH_MD.read_text(encoding="utf-8")
    assert "WS /ws" in push and "api.md" in push
