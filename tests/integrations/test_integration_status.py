"""Integration status end to end: real signed deliveries to a running server (accepted, repeated,
refused for each reason a provider's signature can fail) show up in `GET /api/v1/status` with the
right counts and the right reason; concurrent deliveries to two instances sharing one database
are counted exactly."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from twilio.request_validator import RequestValidator

from app.main import create_app
from app.settings import Settings
from tests.conftest import ADMIN, SYNC, make_settings
from tests.fixtures.platform_payloads import SHOPIFY_SECRET, shopify_customer, shopify_request
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, Served, create_agent, serve
from tests.fixtures.store_records import customer
from tests.telephony.test_telnyx import PUBLIC_KEY, T0, event, signed

pytestmark = LEGACY_WEBSOCKETS_WARNINGS

TWILIO_TOKEN = "twilio-auth-token-for-status-tests"
PUBLIC_URL = "https://ringcard.example"
CTI_TOKEN = "cti-token-for-status-tests"


def status_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "twilio_auth_token": TWILIO_TOKEN,
        "telnyx_public_key": PUBLIC_KEY,
        "shopify_webhook_secret": SHOPIFY_SECRET,
        "public_url": PUBLIC_URL,
        "cti_token": CTI_TOKEN,
    }
    values.update(overrides)
    return make_settings(database_url, **values)


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[Served]:
    async with serve(create_app(status_settings(database_url))) as running:
        yield running


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.http_url, timeout=30) as client:
        yield client


async def status_of(http: httpx.AsyncClient, headers: dict[str, str] = ADMIN) -> dict[str, dict[str, Any]]:
    answer = await http.get("/api/v1/status", headers=headers)
    assert answer.status_code == 200, answer.text
    return {entry["source"]: entry for entry in answer.json()["sources"]}


async def telnyx(http: httpx.AsyncClient, body: dict[str, Any], **sign: Any) -> httpx.Response:
    raw = orjson.dumps(body)
    return await http.post("/webhooks/telnyx", content=raw, headers=signed(raw, **sign))


def voice(call_sid: str) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": "AC" + "0" * 32,
        "From": "+48601234567",
        "To": "+48221234567",
        "CallStatus": "ringing",
        "Direction": "inbound",
    }


async def twilio(
    http: httpx.AsyncClient,
    params: dict[str, str],
    *,
    signed_for: str = PUBLIC_URL,
    token: str = TWILIO_TOKEN,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    signature = RequestValidator(token).compute_signature(f"{signed_for}/webhooks/twilio/voice", params)
    return await http.post(
        "/webhooks/twilio/voice", data=params, headers={"X-Twilio-Signature": signature, **(headers or {})}
    )


def counts(entry: dict[str, Any], period: str = "last_hour") -> tuple[int, int, int, int]:
    c = entry[period]
    return c["accepted"], c["duplicate"], c["rejected"], c["failed"]


async def test_telnyx_deliveries_accepted_repeated_and_refused_for_each_reason(
    served: Served, http: httpx.AsyncClient
) -> None:
    before = await status_of(http)
    assert before["telnyx"]["state"] == "waiting" and before["telnyx"]["last_received"] is None
    assert counts(before["telnyx"]) == (0, 0, 0, 0)

    ringing = event("call.initiated", "ev-s1", "s1", T0)
    assert (await telnyx(http, ringing)).status_code == 204
    assert (await telnyx(http, ringing)).status_code == 204  # Telnyx redelivers: the same data.id
    stale = await telnyx(http, event("call.initiated", "ev-s2", "s2", T0), timestamp=int(time.time()) - 900)
    assert stale.status_code == 401
    status = await status_of(http)
    assert counts(status["telnyx"]) == (1, 1, 1, 0)
    failure = status["telnyx"]["last_auth_failure"]
    assert failure["reason"] == "stale_timestamp" and failure["status"] == 401
    assert re.search(r"telnyx-timestamp is 90[0-5] s behind this server's clock", failure["detail"])
    assert status["telnyx"]["state"] == "failing"
    assert status["telnyx"]["last_accepted"]["what"] == "POST /webhooks/telnyx"

    forged = await telnyx(http, event("call.initiated", "ev-s3", "s3", T0), key=Ed25519PrivateKey.generate())
    assert forged.status_code == 401
    raw = orjson.dumps(event("call.initiated", "ev-s4", "s4", T0))
    unsigned = await http.post("/webhooks/telnyx", content=raw, headers={"content-type": "application/json"})
    assert unsigned.status_code == 401
    malformed = orjson.dumps({"meta": {}})
    assert (
        await http.post("/webhooks/telnyx", content=malformed, headers=signed(malformed))
    ).status_code == 422
    status = await status_of(http)
    entry = status["telnyx"]
    assert counts(entry) == (1, 1, 4, 0) and counts(entry, "last_day") == (1, 1, 4, 0)
    assert entry["last_auth_failure"]["reason"] == "missing_signature"
    assert entry["last_rejected"]["reason"] == "malformed"
    assert entry["last_rejected"]["status"] == 422
    assert entry["last_rejected"]["detail"] == "data must be a JSON object"
    assert entry["last_received"]["outcome"] == "rejected"

    # The next good one puts it back to ok; the last failure stays for the operator to read.
    assert (await telnyx(http, event("call.hangup", "ev-s5", "s1", T0, direction=None))).status_code == 204
    entry = (await status_of(http))["telnyx"]
    assert entry["state"] == "ok" and counts(entry) == (2, 1, 4, 0)
    assert entry["last_auth_failure"]["reason"] == "missing_signature"
    # Nothing else moved.
    assert all(counts(status[name]) == (0, 0, 0, 0) for name in ("cti", "pbx", "3cx", "woocommerce"))


async def test_a_wrong_secret_is_told_apart_from_a_proxy_that_changed_the_url(
    served: Served, http: httpx.AsyncClient
) -> None:
    assert (await twilio(http, voice("CA100"))).status_code == 200
    # The same webhook again (Twilio retries on a timeout): answered alike, counted as a duplicate
    # once the background recording has seen it.
    assert (await twilio(http, voice("CA100"))).status_code == 200
    # RINGCARD_PUBLIC_URL says https://ringcard.example, but Twilio signed the address the request
    # really came to: Twilio's webhook points elsewhere, or a proxy forwards another host.
    assert (await twilio(http, voice("CA101"), signed_for=served.http_url)).status_code == 401
    await served.on_server(served.app.state.intake.drain())
    entry = (await status_of(http))["twilio"]
    assert counts(entry) == (1, 1, 1, 0)
    failure = entry["last_auth_failure"]
    assert failure["reason"] == "wrong_url"
    assert (
        f"signed for {served.http_url}/webhooks/twilio/voice, not for {PUBLIC_URL}/webhooks/twilio/voice"
        in failure["detail"]
    )
    assert "RINGCARD_PUBLIC_URL" in failure["detail"]

    assert (await twilio(http, voice("CA102"), token="not-the-account-token")).status_code == 401
    failure = (await status_of(http))["twilio"]["last_auth_failure"]
    assert failure["reason"] == "wrong_secret"
    assert "RINGCARD_TWILIO_AUTH_TOKEN is not this Twilio account's auth token" in failure["detail"]
    assert TWILIO_TOKEN not in failure["detail"]

    missing = await http.post("/webhooks/twilio/voice", data=voice("CA103"))
    assert missing.status_code == 401
    assert (await status_of(http))["twilio"]["last_auth_failure"]["reason"] == "missing_signature"


async def test_without_public_url_a_tls_proxy_is_named_with_the_setting_that_fixes_it(
    database_url: str,
) -> None:
    app = create_app(status_settings(database_url, public_url=None))
    async with serve(app) as served, httpx.AsyncClient(base_url=served.http_url, timeout=30) as http:
        # A TLS proxy in front: Twilio signed https://ringcard.example/..., the service sees the
        # proxy's X-Forwarded-* and its own plain-HTTP address.
        proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "ringcard.example"}
        assert (await twilio(http, voice("CA200"), headers=proxied)).status_code == 401
        failure = (await status_of(http))["twilio"]["last_auth_failure"]
    assert failure["reason"] == "wrong_url"
    assert failure["detail"].startswith("signed for https://ringcard.example/webhooks/twilio/voice, but")
    assert failure["detail"].endswith("set RINGCARD_PUBLIC_URL=https://ringcard.example")


async def test_platforms_and_the_sync_api(served: Served, http: httpx.AsyncClient) -> None:
    body, headers = shopify_request("customers/update", shopify_customer(), event_id="evt-1")
    assert (await http.post("/webhooks/shopify", content=body, headers=headers)).status_code == 200
    assert (await http.post("/webhooks/shopify", content=body, headers=headers)).status_code == 200
    forged = {**headers, "X-Shopify-Hmac-Sha256": "bm90IHRoZSBobWFj"}
    assert (await http.post("/webhooks/shopify", content=body, headers=forged)).status_code == 401
    # WooCommerce is switched off here, but a shop is already sending to it.
    woo = await http.post("/webhooks/woocommerce", content=b"{}", headers={"X-WC-Webhook-Signature": "x"})
    assert woo.status_code == 404

    assert (await http.put("/api/v1/customers/c-1", json=customer(), headers=SYNC)).status_code == 200
    wrong = {"Authorization": "Bearer not-the-sync-key-at-all"}
    assert (await http.put("/api/v1/customers/c-2", json=customer(), headers=wrong)).status_code == 401
    assert (await http.get("/api/v1/lookup", params={"number": "601234567"}, headers=SYNC)).status_code == 200

    status = await status_of(http)
    shopify = status["shopify"]
    assert counts(shopify) == (1, 1, 1, 0)
    assert shopify["last_accepted"]["what"] == "customers/update"
    assert shopify["last_auth_failure"]["reason"] == "wrong_secret"
    assert "RINGCARD_SHOPIFY_WEBHOOK_SECRET" in shopify["last_auth_failure"]["detail"]
    woocommerce = status["woocommerce"]
    assert woocommerce["configured"] is False and woocommerce["state"] == "failing"
    assert woocommerce["last_rejected"]["reason"] == "not_configured"
    assert "RINGCARD_WOOCOMMERCE_WEBHOOK_SECRET" in woocommerce["last_rejected"]["detail"]
    sync = status["store_sync"]
    # Reads are no deliveries: only the two writes count.
    assert counts(sync) == (1, 0, 1, 0)
    assert sync["last_write"]["what"] == "PUT /api/v1/customers/{external_id}"
    assert sync["last_auth_failure"]["reason"] == "wrong_secret"


async def test_pbx_lookups_3cx_and_oversized_bodies(served: Served, http: httpx.AsyncClient) -> None:
    lookup = {"number": "+48601234567", "call_id": "pbx-1"}
    assert (await http.get("/pbx/lookup", params={**lookup, "token": CTI_TOKEN})).status_code == 200
    # The PBX asks again for the same call: answered alike, the pop is not raised twice.
    assert (await http.get("/pbx/lookup", params={**lookup, "token": CTI_TOKEN})).status_code == 200
    assert (await http.get("/pbx/lookup", params=lookup)).status_code == 401
    wrong = await http.get("/integrations/3cx/contacts", params={"phone": "601234567"}, headers=SYNC)
    assert wrong.status_code == 401
    huge = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    assert (await http.post("/webhooks/telnyx", content=huge, headers=signed(huge))).status_code == 413
    await served.on_server(served.app.state.intake.drain())
    status = await status_of(http)
    pbx = status["pbx"]
    assert counts(pbx) == (1, 1, 1, 0)
    assert pbx["last_auth_failure"]["reason"] == "missing_signature"
    assert pbx["last_auth_failure"]["detail"] == "no token (?token= or a Bearer token)"
    assert pbx["last_accepted"]["what"] == "GET /pbx/lookup"
    threecx = status["3cx"]["last_auth_failure"]
    assert threecx["reason"] == "wrong_secret"
    assert threecx["detail"] == "the Bearer token is not RINGCARD_CTI_TOKEN"
    too_large = status["telnyx"]["last_rejected"]
    assert (too_large["status"], too_large["reason"]) == (413, "too_large")
    assert status["telnyx"]["last_auth_failure"] is None
    # The generic CTI shares the token: nothing came for it, so it is not "waiting" for anything.
    assert status["cti"]["state"] == "unused"


async def test_status_takes_the_admin_key_or_an_agent_and_shows_no_secret(
    served: Served, http: httpx.AsyncClient
) -> None:
    assert (await http.get("/api/v1/status")).status_code == 401
    assert (await http.get("/api/v1/status", headers=SYNC)).status_code == 401
    token = await create_agent(http, "ola", ["*"])
    agent = await http.get("/api/v1/status", headers={"Authorization": f"Bearer {token}"})
    assert agent.status_code == 200
    assert (await twilio(http, voice("CA300"), token="wrong-token-12345")).status_code == 401
    text = (await http.get("/api/v1/status", headers=ADMIN)).text
    for secret in (TWILIO_TOKEN, SHOPIFY_SECRET, CTI_TOKEN, "wrong-token-12345", ADMIN["Authorization"][7:]):
        assert secret not in text


async def test_concurrent_deliveries_to_two_instances_are_counted_exactly(database_url: str) -> None:
    """200 signed Telnyx webhooks at once, split over two instances of the service on one
    database: 60 new calls, 40 redeliveries of them (sent to the other instance), 80 events of a
    type Ringcard ignores, 20 forged."""
    async with AsyncExitStack() as stack:
        instances = [
            await stack.enter_async_context(serve(create_app(status_settings(database_url))))
            for _ in range(2)
        ]
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=s.http_url, timeout=60, limits=httpx.Limits(max_connections=200))
            )
            for s in instances
        ]
        sends: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
        for n in range(60):
            ringing = event("call.initiated", f"ev-c{n}", f"c{n}", T0)
            sends.append((n % 2, ringing, {}))
            if n < 40:
                sends.append(((n + 1) % 2, ringing, {}))
        for n in range(80):
            sends.append((n % 2, event("call.bridged", f"ev-b{n}", f"b{n}", T0), {}))
        forger = Ed25519PrivateKey.generate()
        for n in range(20):
            sends.append((n % 2, event("call.initiated", f"ev-f{n}", f"f{n}", T0), {"key": forger}))
        assert len(sends) == 200
        answers = await asyncio.gather(*(telnyx(clients[i], body, **sign) for i, body, sign in sends))
        assert sorted(a.status_code for a in answers) == [204] * 180 + [401] * 20
        for served in instances:
            await served.on_server(served.app.state.intake.drain())
        # Each instance's status writes what it noted itself first; both together are the truth.
        await status_of(clients[0])
        views = [await status_of(client) for client in (clients[1], clients[0])]
    for view in views:
        assert counts(view["telnyx"]) == (140, 40, 20, 0)
        assert counts(view["telnyx"], "last_day") == (140, 40, 20, 0)
        assert view["telnyx"]["last_auth_failure"]["reason"] == "wrong_secret"
