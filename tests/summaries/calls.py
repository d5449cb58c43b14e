"""What the summary tests share: a running service with the AI settings given, a call that really
happened (a PBX's newCall/answer/hangup through the generic CTI protocol), its transcript sent
as a PBX sends it, and waiting for the summary the worker makes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from app.calls.identity import call_id_for
from app.main import create_app
from tests.conftest import SYNC, make_settings
from tests.fixtures.push_harness import Served, create_agent, serve
from tests.telephony.test_twilio_calls import store_anna

CTI_TOKEN = "cti-token-for-summary-tests-0123"
LINE = "+48221234567"
CALLER = "+48601234567"
CTI = {"Authorization": f"Bearer {CTI_TOKEN}"}
# Spoken as speech-to-text writes it: a Visa test number that passes Luhn.
CARD_NUMBER = "4111 1111 1111 1111"

SEGMENTS: list[dict[str, Any]] = [
    {"speaker": "agent", "text": "Good morning, Ringcard Shop, Ola speaking.", "start_s": 0.0},
    {
        "speaker": "customer",
        "text": "Hi, this is Anna Nowak. My order 1042 has not arrived yet, where is it?",
        "start_s": 3.5,
    },
    {"speaker": "agent", "text": "It shipped yesterday, it should arrive tomorrow.", "start_s": 9.0},
    {
        "speaker": "customer",
        "text": f"Good. Also, can you take my card {CARD_NUMBER} for a new order?",
        "start_s": 14.0,
    },
    {"speaker": "agent", "text": "Please order on the website instead. Anything else?", "start_s": 20.0},
    {"speaker": "customer", "text": "No, thank you, bye.", "start_s": 24.0},
]


@asynccontextmanager
async def running(database_url: str, **settings: Any) -> AsyncIterator[tuple[Served, httpx.AsyncClient]]:
    values: dict[str, Any] = {"cti_token": CTI_TOKEN, "ai_retry_backoff_s": 0.2}
    values.update(settings)
    app = create_app(make_settings(database_url, **values))
    async with serve(app) as served, httpx.AsyncClient(base_url=served.http_url, timeout=30) as http:
        yield served, http


async def agent(http: httpx.AsyncClient, username: str = "ola") -> dict[str, str]:
    token = await create_agent(http, username, [LINE])
    return {"Authorization": f"Bearer {token}"}


async def a_call(served: Served, http: httpx.AsyncClient, pbx_call_id: str, *, with_anna: bool = True) -> str:
    """A call from Anna, answered by ola and ended: Ringcard's id of it."""
    if with_anna:
        await store_anna(http)
    url = f"/webhooks/cti/{CTI_TOKEN}"
    base = {"from": CALLER, "to": LINE, "direction": "in", "callId": pbx_call_id}
    for event, extra in (
        ("newCall", {}),
        ("answer", {"user": "ola"}),
        ("hangup", {"cause": "normalClearing"}),
    ):
        answer = await http.post(url, data={"event": event, **base, **extra})
        assert answer.status_code == 200, answer.text
    await served.on_server(served.app.state.intake.drain())
    return call_id_for("cti", pbx_call_id)


async def send_transcript(http: httpx.AsyncClient, call: str, body: dict[str, Any]) -> httpx.Response:
    return await http.post(f"/api/v1/calls/{call}/transcript", json=body, headers=SYNC)


async def call_detail(http: httpx.AsyncClient, call_id: str, headers: dict[str, str]) -> dict[str, Any]:
    answer = await http.get(f"/api/v1/calls/{call_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    detail: dict[str, Any] = answer.json()
    return detail


async def summary_settled(
    http: httpx.AsyncClient, call_id: str, headers: dict[str, str], *, timeout_s: float = 180
) -> dict[str, Any]:
    """The call once its summary is no longer being written (ready, failed or approved)."""
    deadline = time.monotonic() + timeout_s
    while True:
        detail = await call_detail(http, call_id, headers)
        summary = detail["summary"]
        if summary is not None and summary["status"] != "pending":
            return detail
        assert time.monotonic() < deadline, f"the summary is still {summary}"
        await asyncio.sleep(0.25)
