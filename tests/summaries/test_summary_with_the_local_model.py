"""The whole way with the real embedded model (SmolLM2-135M behind llama.cpp's OpenAI-compatible
server): a call's transcript comes in, the worker asks the model with the call's card, a summary
that validates is shown to the agent as an AI draft, and approving it makes it the call's note,
which the caller's next pop shows. What the model was sent is read on the way (a pass-through in
front of the model): the card's order is in it, the card number never is."""

from __future__ import annotations

from typing import Any

from app.summaries.local_model import LocalModel
from app.summaries.prompt import REASON_CODES, SENTIMENTS
from tests.fixtures.chat_endpoints import chat_endpoint
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, agent_socket
from tests.summaries.calls import (
    CALLER,
    CARD_NUMBER,
    CTI_TOKEN,
    LINE,
    SEGMENTS,
    a_call,
    agent,
    call_detail,
    running,
    send_transcript,
    summary_settled,
)

pytestmark = LEGACY_WEBSOCKETS_WARNINGS


async def test_a_transcript_becomes_an_ai_draft_the_agent_approves_into_the_note_of_the_next_pop(
    database_url: str, local_model: LocalModel
) -> None:
    async with (
        chat_endpoint("forward", local_model.base_url) as model,
        running(database_url, llm_base_url=model.base_url, llm_model=local_model.model) as (served, http),
    ):
        ola = await agent(http)
        call_id = await a_call(served, http, "pbx-42")
        assert (await send_transcript(http, call_id, {"segments": SEGMENTS})).status_code == 202
        detail = await summary_settled(http, call_id, ola)
        summary = detail["summary"]
        assert summary["status"] == "ready", summary
        assert summary["ai"] is True and summary["text"] and summary["error"] is None
        assert summary["reason_code"] in REASON_CODES and summary["sentiment"] in SENTIMENTS
        assert isinstance(summary["action_items"], list) and summary["language"] == "en"
        assert detail["note"] is None  # a draft is not a note until an agent says so
        assert detail["ai_summaries"] is True
        listed = (await http.get("/api/v1/calls", headers=ola)).json()
        assert [c["summary_status"] for c in listed if c["id"] == call_id] == ["ready"]

        # llama.cpp's server refuses OpenAI's json_schema once and is asked its own way after;
        # an answer that did not validate is asked for once more.
        sent: list[dict[str, Any]] = model.requests
        assert [r["response_format"]["type"] for r in sent][:2] == ["json_schema", "json_object"]
        assert len(sent) <= 3
        for request in sent:
            prompt = "\n".join(m["content"] for m in request["messages"])
            assert "order #1042" in prompt and "Anna Nowak" in prompt  # the card went along
            assert CARD_NUMBER not in prompt and "4111" not in prompt and "[redacted]" in prompt

        approved = await http.post(f"/api/v1/calls/{call_id}/summary/approve", json={}, headers=ola)
        assert approved.status_code == 200, approved.text
        assert approved.json()["summary"]["status"] == "approved"
        assert approved.json()["note"] == summary["text"] and approved.json()["noted_by"] == "Ola"
        again = await http.post(f"/api/v1/calls/{call_id}/summary/approve", json={}, headers=ola)
        assert again.status_code == 409

        # Anna calls again: her card shows the approved summary as the last call's note.
        async with agent_socket(served.ws_url, ola["Authorization"].removeprefix("Bearer ")) as socket:
            await http.post(
                f"/webhooks/cti/{CTI_TOKEN}",
                data={"event": "newCall", "from": CALLER, "to": LINE, "direction": "in", "callId": "pbx-43"},
            )
            pop = await socket.until(lambda m: m.get("type") == "call.ringing")
    [last_call, *_] = pop["card"]["recent_calls"]
    assert last_call["note"] == summary["text"] and last_call["noted_by"] == "Ola"


async def test_an_edited_draft_goes_after_the_agents_own_note_and_never_replaces_it(
    database_url: str, local_model: LocalModel
) -> None:
    async with running(database_url, llm_base_url=local_model.base_url, llm_model=local_model.model) as (
        served,
        http,
    ):
        ola = await agent(http)
        call_id = await a_call(served, http, "pbx-44")
        own = await http.post(
            f"/api/v1/calls/{call_id}/note", json={"text": "Customer prefers email."}, headers=ola
        )
        assert own.status_code == 200
        await send_transcript(http, call_id, {"segments": SEGMENTS})
        assert (await summary_settled(http, call_id, ola))["summary"]["status"] == "ready"
        # The draft arriving did not touch the agent's note.
        assert (await call_detail(http, call_id, ola))["note"] == "Customer prefers email."
        edited = "Anna asked about #1042 (arrives tomorrow); told her to order online."
        approved = await http.post(
            f"/api/v1/calls/{call_id}/summary/approve", json={"text": edited}, headers=ola
        )
    assert approved.status_code == 200, approved.text
    assert approved.json()["note"] == f"Customer prefers email.\n\n{edited}"
    assert approved.json()["summary"]["text"] == edited
