"""Any PBX sends a call's transcript to POST /api/v1/calls/{call_id}/transcript: as text, as
segments with who spoke, or as a recording to transcribe. Agents read it back redacted on
GET /api/v1/calls/{call_id}. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from app.summaries.models import AiJob, TranscriptPart
from tests.conftest import SYNC
from tests.fixtures.platform_payloads import rows
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS
from tests.summaries.calls import (
    CARD_NUMBER,
    CTI,
    SEGMENTS,
    a_call,
    agent,
    call_detail,
    running,
    send_transcript,
)

pytestmark = LEGACY_WEBSOCKETS_WARNINGS


async def test_segments_from_a_pbx_are_shown_to_agents_in_order_with_the_card_number_redacted(
    database_url: str,
) -> None:
    async with running(database_url) as (served, http):
        call_id = await a_call(served, http, "pbx-7")
        shuffled = [SEGMENTS[i] for i in (3, 0, 5, 1, 4, 2)]
        answer = await http.post(
            "/api/v1/calls/cti:pbx-7/transcript", json={"segments": shuffled, "language": "en"}, headers=CTI
        )
        assert answer.status_code == 202, answer.text
        assert answer.json() == {"call_id": call_id, "recording": None, "parts": 6}
        detail = await call_detail(http, call_id, await agent(http))
    transcript = detail["transcript"]
    assert transcript["source"] == "api" and transcript["language"] == "en"
    assert [s["start_s"] for s in transcript["segments"]] == [0.0, 3.5, 9.0, 14.0, 20.0, 24.0]
    assert transcript["segments"][1] == {
        "speaker": "customer",
        "text": "Hi, this is Anna Nowak. My order 1042 has not arrived yet, where is it?",
        "start_s": 3.5,
    }
    assert (
        CARD_NUMBER not in transcript["text"] and "my card [redacted] for a new order" in transcript["text"]
    )
    assert transcript["text"].startswith("agent: Good morning, Ringcard Shop, Ola speaking.\ncustomer: Hi,")
    # Nothing unredacted was stored either: what a model or a backup would read.
    stored = await rows(database_url, select(TranscriptPart.text))
    assert stored and all("4111" not in text for (text,) in stored)
    # No model configured: nothing claims to be writing a summary, but the job waits for one.
    assert detail["summary"] is None and detail["summary_status"] is None
    assert detail["ai_summaries"] is False
    assert await rows(database_url, select(AiJob.kind, AiJob.status)) == [("summarise", "pending")]


async def test_sending_the_transcript_again_replaces_it_and_asks_for_one_summary(database_url: str) -> None:
    async with running(database_url) as (served, http):
        call_id = await a_call(served, http, "pbx-8")
        assert (await send_transcript(http, call_id, {"text": "first version"})).status_code == 202
        assert (await send_transcript(http, call_id, {"text": " corrected version "})).status_code == 202
        detail = await call_detail(http, call_id, await agent(http))
    assert detail["transcript"]["text"] == "corrected version"
    assert detail["transcript"]["segments"] == [
        {"speaker": None, "text": "corrected version", "start_s": 0.0}
    ]
    assert len(await rows(database_url, select(AiJob.id))) == 1


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({}, 'give exactly one of "text", "segments" or "recording_url"'),
        ({"text": "a", "segments": []}, 'give exactly one of "text", "segments" or "recording_url"'),
        ({"segments": [{"speaker": "robot", "text": "hi"}]}, "speaker"),
        ({"recording_url": "file:///etc/passwd"}, "recording_url must be an http(s) URL"),
        ({"text": "hi", "language": "english please"}, "language"),
        ({"text": "x" * 200_001}, "text"),
    ],
)
async def test_a_bad_transcript_is_refused_naming_the_problem_and_stores_nothing(
    database_url: str, body: dict[str, object], problem: str
) -> None:
    async with running(database_url) as (served, http):
        call_id = await a_call(served, http, "pbx-9")
        answer = await send_transcript(http, call_id, body)
    assert answer.status_code == 422
    assert problem in answer.json()["error"]
    assert await rows(database_url, select(TranscriptPart.id)) == []


async def test_only_the_store_or_the_pbx_may_send_transcripts_and_only_for_known_calls(
    database_url: str,
) -> None:
    async with running(database_url) as (served, http):
        call_id = await a_call(served, http, "pbx-10")
        body = {"text": "hello"}
        anonymous = await http.post(f"/api/v1/calls/{call_id}/transcript", json=body)
        wrong = await http.post(
            f"/api/v1/calls/{call_id}/transcript", json=body, headers={"Authorization": "Bearer nope"}
        )
        as_agent = await http.post(
            f"/api/v1/calls/{call_id}/transcript", json=body, headers=await agent(http)
        )
        unknown = await http.post("/api/v1/calls/cti:never-rang/transcript", json=body, headers=SYNC)
        ours_unknown = await send_transcript(http, "0" * 20, body)
    assert [a.status_code for a in (anonymous, wrong, as_agent)] == [401, 401, 401]
    assert "sync API key or CTI token" in anonymous.json()["detail"]
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "no call 'cti:never-rang'")
    assert ours_unknown.status_code == 404
    assert await rows(database_url, select(TranscriptPart.id)) == []


async def test_a_recording_url_waits_as_a_transcription_job_and_fails_clearly_without_speech_to_text(
    database_url: str,
) -> None:
    async with running(database_url) as (served, http):
        call_id = await a_call(served, http, "pbx-11")
        answer = await send_transcript(http, call_id, {"recording_url": "https://pbx.example/rec/11.wav"})
        assert answer.json() == {"call_id": call_id, "recording": "accepted", "parts": 0}
        for _ in range(100):
            jobs = await rows(database_url, select(AiJob.kind, AiJob.status, AiJob.last_error))
            if jobs and jobs[0][1] == "failed":
                break
            await asyncio.sleep(0.05)
    assert jobs == [("transcribe", "failed", "speech-to-text is off: set RINGCARD_STT_BASE_URL")]


async def test_many_pbx_deliveries_at_once_leave_each_call_one_whole_transcript_and_one_waiting_job(
    database_url: str,
) -> None:
    """20 calls, each sent 8 versions of its transcript at once (a PBX retrying, a corrected
    version racing the first): every call ends with exactly one version, whole, never a mix, and
    exactly one pending summary job."""
    async with running(database_url) as (served, http):
        calls = [await a_call(served, http, f"pbx-race-{n}", with_anna=n == 0) for n in range(20)]

        def version(call: str, v: int) -> dict[str, object]:
            return {
                "segments": [{"text": f"{call} v{v} part {p}", "start_s": float(p)} for p in range(v + 1)]
            }

        answers = await asyncio.gather(
            *(send_transcript(http, call, version(call, v)) for call in calls for v in range(8))
        )
    assert {a.status_code for a in answers} == {202}
    parts = await rows(database_url, select(TranscriptPart.call_id, TranscriptPart.text))
    for call in calls:
        texts = [text for owner, text in parts if owner == call]
        versions = {text.split(" ")[1] for text in texts}
        assert len(versions) == 1, f"{call} mixes versions {versions}"
        (v,) = versions
        assert sorted(texts) == sorted(f"{call} {v} part {p}" for p in range(int(v[1:]) + 1))
    jobs = await rows(database_url, select(AiJob.call_id, AiJob.kind, AiJob.status))
    assert sorted(jobs) == sorted((call, "summarise", "pending") for call in calls)
