"""Telnyx transcripts end to end: the published `call.transcription`,
`call.recording.transcription.saved` and `call.recording.saved` samples (byte for byte, see
tests/fixtures/transcript_payloads.py), signed with a real Ed25519 key, reach a running server
after the call's `call.initiated` and end as the call's transcript in the database, or as its
recording taken to be transcribed: card numbers redacted, each utterance once and in order,
the summary asked for. Unsigned requests and calls Ringcard never saw change nothing."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.identity import call_id_for
from app.main import create_app
from app.summaries.models import AiJob
from app.summaries.transcripts import Transcript, transcript_of
from tests.conftest import make_settings
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, Served, serve
from tests.fixtures.transcript_payloads import (
    TELNYX_CALL_RECORDING_SAVED,
    TELNYX_CALL_TRANSCRIPTION,
    TELNYX_RECORDING_SAVED_AS_LOGGED,
    TELNYX_RECORDING_TRANSCRIPTION_SAVED,
)
from tests.telephony.test_telnyx import PUBLIC_KEY, T0, event, signed

pytestmark = LEGACY_WEBSOCKETS_WARNINGS

# The calls the published samples belong to.
LIVE_CALL = "v2:7subYr8fLrXmaAXm8egeAMpoSJ72J3SGPUuome81-hQuaKRf9b7hKA"
RECORDED_CALL = "v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg"
# A Visa test number, spoken as speech-to-text writes it: it passes Luhn.
CARD_NUMBER = "4111 1111 1111 1111"


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[Served]:
    async with serve(create_app(make_settings(database_url, telnyx_public_key=PUBLIC_KEY))) as running:
        yield running


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.http_url, timeout=30) as client:
        yield client


async def post(http: httpx.AsyncClient, raw: bytes, **sign: Any) -> httpx.Response:
    return await http.post("/webhooks/telnyx", content=raw, headers=signed(raw, **sign))


async def a_call(served: Served, http: httpx.AsyncClient, call_control_id: str) -> str:
    """The call's `call.initiated`, recorded: Ringcard's id of the call."""
    initiated = event("call.initiated", f"init-{call_control_id}", "x", T0)
    initiated["data"]["payload"]["call_control_id"] = call_control_id
    assert (await post(http, orjson.dumps(initiated))).status_code == 204
    await served.on_server(served.app.state.intake.drain())
    return call_id_for("telnyx", call_control_id)


def variant(sample: bytes, event_id: str, **changes: Any) -> bytes:
    """A published sample with another event id and some fields changed (`payload__x` sets
    `data.payload.x`, `transcription__x` sets `data.payload.transcription_data.x`)."""
    body = orjson.loads(sample)
    data = body["data"]
    data["id"] = event_id
    for name, value in changes.items():
        if name.startswith("payload__"):
            data["payload"][name.removeprefix("payload__")] = value
        elif name.startswith("transcription__"):
            data["payload"]["transcription_data"][name.removeprefix("transcription__")] = value
        else:
            data[name] = value
    return orjson.dumps(body)


def utterance(n: int, text: str, track: str | None = None, *, final: bool = True) -> bytes:
    at = (T0 + timedelta(seconds=n)).isoformat().replace("+00:00", "Z")
    changes: dict[str, Any] = {
        "occurred_at": at,
        "transcription__transcript": text,
        "transcription__is_final": final,
    }
    if track is not None:
        changes["transcription__transcription_track"] = track
    return variant(TELNYX_CALL_TRANSCRIPTION, f"utterance-{n}-{final}", **changes)


async def stored(database: async_sessionmaker[AsyncSession], call_id: str) -> Transcript | None:
    async with database() as session:
        return await transcript_of(session, call_id)


async def jobs_of(database: async_sessionmaker[AsyncSession], kind: str, call_id: str) -> list[AiJob]:
    async with database() as session:
        query = select(AiJob).where(AiJob.call_id == call_id, AiJob.kind == kind)
        return list((await session.scalars(query)).all())


def lines_of(transcript: Transcript | None) -> list[tuple[str | None, str]]:
    assert transcript is not None
    return [(segment.speaker, segment.text) for segment in transcript.segments]


async def test_the_published_utterance_becomes_the_calls_transcript_once(
    served: Served, http: httpx.AsyncClient, database: async_sessionmaker[AsyncSession]
) -> None:
    call_id = await a_call(served, http, LIVE_CALL)
    for _ in range(2):  # Telnyx redelivers with the same data.id
        answer = await post(http, TELNYX_CALL_TRANSCRIPTION)
        assert answer.status_code == 204, answer.text
    transcript = await stored(database, call_id)
    assert transcript is not None and transcript.source == "telnyx-realtime"
    assert lines_of(transcript) == [(None, "hello this is a test speech")]  # the sample names no track
    [waiting] = await jobs_of(database, "summarise", call_id)
    assert waiting.status == "pending" and waiting.run_after > datetime.now(UTC)


async def test_final_utterances_keep_their_order_and_speakers_and_lose_card_numbers(
    served: Served, http: httpx.AsyncClient, database: async_sessionmaker[AsyncSession]
) -> None:
    call_id = await a_call(served, http, LIVE_CALL)
    for raw in (
        utterance(1, "Good morning, Ringcard Shop.", "outbound"),
        utterance(2, "Hi, I want to pay for order", "inbound", final=False),  # an interim guess
        utterance(2, f"Hi, I want to pay for order 1042 with {CARD_NUMBER}.", "inbound"),
        utterance(3, "Please use the link I am sending.", "outbound"),
    ):
        assert (await post(http, raw)).status_code == 204
    transcript = await stored(database, call_id)
    assert lines_of(transcript) == [
        ("agent", "Good morning, Ringcard Shop."),
        ("customer", "Hi, I want to pay for order 1042 with [redacted]."),
        ("agent", "Please use the link I am sending."),
    ]
    assert transcript is not None and "4111" not in transcript.text


async def test_concurrent_utterances_in_any_order_each_land_once_in_the_order_they_were_said(
    served: Served, http: httpx.AsyncClient, database: async_sessionmaker[AsyncSession]
) -> None:
    call_id = await a_call(served, http, LIVE_CALL)
    rng = random.Random(17)
    tracks = [rng.choice(["inbound", "outbound"]) for _ in range(30)]
    bodies = [utterance(n, f"utterance number {n}", tracks[n]) for n in range(30)]
    # Each one twice, all at once, in a random order: redeliveries race the first deliveries.
    deliveries = rng.sample(bodies + bodies, 60)
    answers = await asyncio.gather(*(post(http, raw) for raw in deliveries))
    assert {answer.status_code for answer in answers} == {204}
    speaker = {"inbound": "customer", "outbound": "agent"}
    assert lines_of(await stored(database, call_id)) == [
        (speaker[tracks[n]], f"utterance number {n}") for n in range(30)
    ]
    assert len(await jobs_of(database, "summarise", call_id)) == 1


async def test_a_recordings_transcript_replaces_the_one_before_and_asks_for_the_summary(
    served: Served, http: httpx.AsyncClient, database: async_sessionmaker[AsyncSession]
) -> None:
    call_id = await a_call(served, http, RECORDED_CALL)
    failed = variant(TELNYX_RECORDING_TRANSCRIPTION_SAVED, "failed-1", payload__status="failed")
    assert (await post(http, failed)).status_code == 204
    assert await stored(database, call_id) is None

    assert (await post(http, TELNYX_RECORDING_TRANSCRIPTION_SAVED)).status_code == 204
    transcript = await stored(database, call_id)
    assert transcript is not None and transcript.source == "telnyx-recording"
    assert lines_of(transcript) == [(None, "Hi!")]

    corrected = variant(
        TELNYX_RECORDING_TRANSCRIPTION_SAVED,
        "corrected-1",
        payload__transcription_text=f"Hi! Please charge {CARD_NUMBER} for order 1042.",
    )
    assert (await post(http, corrected)).status_code == 204
    # A late redelivery of the first one changes nothing.
    assert (await post(http, TELNYX_RECORDING_TRANSCRIPTION_SAVED)).status_code == 204
    assert lines_of(await stored(database, call_id)) == [
        (None, "Hi! Please charge [redacted] for order 1042.")
    ]
    [asked] = await jobs_of(database, "summarise", call_id)
    assert asked.status == "pending"


async def test_a_saved_recording_is_taken_to_be_transcribed_without_credentials(
    served: Served, http: httpx.AsyncClient, database: async_sessionmaker[AsyncSession]
) -> None:
    call_id = await a_call(served, http, RECORDED_CALL)
    # The reference sample names no call_control_id: nothing can say which call it is.
    unmatched = await post(http, TELNYX_CALL_RECORDING_SAVED)
    assert unmatched.status_code == 422
    assert "data.payload.call_control_id" in unmatched.json()["detail"]

    # As deliveries carry it (the logged delivery in Telnyx's recording guide does).
    assert orjson.loads(TELNYX_RECORDING_SAVED_AS_LOGGED)["payload"]["call_control_id"]
    delivered = variant(TELNYX_CALL_RECORDING_SAVED, "saved-1", payload__call_control_id=RECORDED_CALL)
    for _ in range(2):
        assert (await post(http, delivered)).status_code == 204
    [job] = await jobs_of(database, "transcribe", call_id)
    assert job.recording_url == "http://example.com/recording.mp3"  # the smaller file
    assert job.recording_auth is None  # presigned: nothing to send with it

    no_links = variant(
        TELNYX_CALL_RECORDING_SAVED,
        "saved-2",
        payload__call_control_id=RECORDED_CALL,
        payload__recording_urls={},
        payload__public_recording_urls={},
    )
    refused = await post(http, no_links)
    assert refused.status_code == 422 and "recording_urls" in refused.json()["detail"]


@pytest.mark.parametrize(
    "raw",
    [
        TELNYX_CALL_TRANSCRIPTION,
        TELNYX_RECORDING_TRANSCRIPTION_SAVED,
        variant(TELNYX_CALL_RECORDING_SAVED, "saved-9", payload__call_control_id=RECORDED_CALL),
    ],
    ids=["call.transcription", "call.recording.transcription.saved", "call.recording.saved"],
)
async def test_an_event_for_a_call_ringcard_never_saw_is_not_found(
    served: Served, http: httpx.AsyncClient, database: async_sessionmaker[AsyncSession], raw: bytes
) -> None:
    answer = await post(http, raw)
    assert answer.status_code == 404
    assert "call_control_id" in answer.json()["detail"]
    for call in (LIVE_CALL, RECORDED_CALL):
        assert await stored(database, call_id_for("telnyx", call)) is None


@pytest.mark.parametrize("tamper", ["unsigned", "body", "stale"])
async def test_unsigned_tampered_or_stale_events_are_refused_and_store_nothing(
    served: Served, http: httpx.AsyncClient, database: async_sessionmaker[AsyncSession], tamper: str
) -> None:
    call_id = await a_call(served, http, LIVE_CALL)
    if tamper == "unsigned":
        answer = await http.post("/webhooks/telnyx", content=TELNYX_CALL_TRANSCRIPTION)
    elif tamper == "body":
        headers = signed(TELNYX_CALL_TRANSCRIPTION)
        forged = TELNYX_CALL_TRANSCRIPTION.replace(b"test speech", b"forged text")
        answer = await http.post("/webhooks/telnyx", content=forged, headers=headers)
    else:
        answer = await post(http, TELNYX_CALL_TRANSCRIPTION, timestamp=int(T0.timestamp()) - 3600)
    assert answer.status_code == 401
    assert await stored(database, call_id) is None


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        (
            variant(TELNYX_CALL_TRANSCRIPTION, "bad-1", payload__transcription_data="hello"),
            "transcription_data",
        ),
        (variant(TELNYX_CALL_TRANSCRIPTION, "bad-2", transcription__transcript=42), "transcript"),
        (
            variant(TELNYX_RECORDING_TRANSCRIPTION_SAVED, "bad-3", payload__transcription_text=None),
            "transcription_text",
        ),
        (variant(TELNYX_CALL_TRANSCRIPTION, "", payload__call_control_id=LIVE_CALL), "data.id"),
    ],
)
async def test_a_malformed_transcript_event_is_refused_naming_the_field(
    served: Served, http: httpx.AsyncClient, raw: bytes, named: str
) -> None:
    await a_call(served, http, LIVE_CALL)
    await a_call(served, http, RECORDED_CALL)
    answer = await post(http, raw)
    assert answer.status_code == 422
    assert named in answer.json()["detail"]
