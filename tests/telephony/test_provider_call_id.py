"""The provider's own call id (Twilio CallSid, Telnyx call_control_id) on every call an operator
looks at, and the call log's search finding a call by it (issue 13)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.main import create_app
from tests.conftest import make_settings
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, Served, agent_socket, create_agent, serve
from tests.telephony.test_telnyx import PUBLIC_KEY, T0
from tests.telephony.test_telnyx import event as telnyx_event
from tests.telephony.test_telnyx import post as telnyx_post
from tests.telephony.test_twilio_calls import LINE, TOKEN, incoming, twilio_post

pytestmark = LEGACY_WEBSOCKETS_WARNINGS

CALL_SID = "CA" + "1234abcd" * 4
# Telnyx's ids carry underscores and dashes: the search must take them literally.
TELNYX_CALL = "Wz_7bH-Xy9pQ"
CALL_CONTROL_ID = f"v3:{TELNYX_CALL}"


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[Served]:
    settings = make_settings(database_url, twilio_auth_token=TOKEN, telnyx_public_key=PUBLIC_KEY)
    async with serve(create_app(settings)) as running:
        yield running


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.http_url) as client:
        yield client


async def search(http: httpx.AsyncClient, token: str, q: str) -> list[str]:
    """The provider call ids of the calls `q=` finds."""
    answer = await http.get("/api/v1/calls", params={"q": q}, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    calls: list[dict[str, Any]] = answer.json()
    return sorted(call["provider_call_id"] for call in calls)


async def test_the_log_and_the_pop_carry_the_providers_call_id_and_q_finds_it(
    served: Served, http: httpx.AsyncClient
) -> None:
    token = await create_agent(http, "ola", [LINE])
    async with agent_socket(served.ws_url, token) as agent:
        assert (await twilio_post(http, "/webhooks/twilio/voice", incoming(CALL_SID))).status_code == 200
        pop = await agent.until(lambda m: m.get("type") == "call.ringing")
    assert pop["call"]["provider_call_id"] == CALL_SID and pop["card"]["call"]["provider_call_id"] == CALL_SID
    answer = await telnyx_post(http, telnyx_event("call.initiated", "ev-1", TELNYX_CALL, T0))
    assert answer.status_code == 204
    await served.on_server(served.app.state.intake.drain())

    log = (await http.get("/api/v1/calls", headers={"Authorization": f"Bearer {token}"})).json()
    assert sorted((call["provider"], call["provider_call_id"]) for call in log) == [
        ("telnyx", CALL_CONTROL_ID),
        ("twilio", CALL_SID),
    ]

    assert await search(http, token, CALL_SID) == [CALL_SID]
    assert await search(http, token, "ca1234ABCD12") == [CALL_SID]  # any part, any case
    assert await search(http, token, CALL_CONTROL_ID) == [CALL_CONTROL_ID]
    assert await search(http, token, "z_7bh-x") == [CALL_CONTROL_ID]
    # `_` and `%` are the characters themselves, never wildcards.
    assert await search(http, token, "1_34") == []
    assert await search(http, token, "%") == []
    assert await search(http, token, "v3%z") == []
    # The number and the name are still searched as before.
    assert await search(http, token, "601234567") == [CALL_SID, CALL_CONTROL_ID]
