"""Twilio transcripts end to end: with RINGCARD_TWILIO_TRANSCRIBE the voice TwiML starts a
real-time transcription and records the dial; the transcription's events, a recording's
transcript and the dial's recording, signed with Twilio's own RequestValidator, reach a running
server and end as the call's transcript in the database (card numbers redacted, each utterance
once, in order) with its summary asked for.

Twilio publishes these callbacks' parameters as tables, without sample requests: the requests
here are built from those tables (tests/fixtures/transcript_payloads.py says which page)."""

from __future__ import annotations

import asyncio
import random
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.request_validator import RequestValidator

from app.calls.identity import call_id_for
from app.main import create_app
from app.summaries.models import AiJob
from app.summaries.transcripts import Transcript, transcript_of
from tests.conftest import make_settings
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, Served, create_agent, serve
from tests.fixtures.transcript_payloads import (
    TWILIO_ACCOUNT_SID,
    TWILIO_CALL_SID,
    TWILIO_REALTIME_CONTENT,
    TWILIO_REALTIME_STARTED,
    TWILIO_REALTIME_STOPPED,
    TWILIO_RECORDING_STATUS,
    TWILIO_TRANSCRIBE_CALLBACK,
)
from tests.telephony.test_twilio_calls import LINE, TOKEN, incoming, twilio_post

pytestmark = LEGACY_WEBSOCKETS_WARNINGS

REALTIME = "/webhooks/twilio/realtime-transcription"
TRANSCRIPTION = "/webhooks/twilio/transcription"
RECORDING = "/webhooks/twilio/recording"
# A Visa test number, spoken as speech-to-text writes it: it passes Luhn.
CARD_NUMBER = "4111 1111 1111 1111"
CALL_ID = call_id_for("twilio", TWILIO_CALL_SID)


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[Served]:
    settings = make_settings(database_url, twilio_auth_token=TOKEN, twilio_transcribe=True)
    async with serve(create_app(settings)) as running:
        yield running


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.http_url, timeout=30) as client:
        yield client


async def stored(database: async_sessionmaker[AsyncSession], call_id: str = CALL_ID) -> Transcript | None:
    async with database() as session:
        return await transcript_of(session, call_id)


async def jobs_of(
    database: async_sessionmaker[AsyncSession], kind: str, call_id: str = CALL_ID
) -> list[AiJob]:
    async with database() as session:
        return list(
            (await session.scalars(select(AiJob).where(AiJob.call_id == call_id, AiJob.kind == kind))).all()
        )


async def a_call(served: Served, http: httpx.AsyncClient, call_sid: str = TWILIO_CALL_SID) -> ET.Element:
    """Twilio's voice webhook for an incoming call, recorded: the TwiML it answered."""
    answer = await twilio_post(http, "/webhooks/twilio/voice", incoming(call_sid))
    assert answer.status_code == 200, answer.text
    await served.on_server(served.app.state.intake.drain())
    return ET.fromstring(answer.text)  # noqa: S314 - our own answer


def content(sequence: int, text: str, track: str = "inbound_track", *, final: bool = True) -> dict[str, str]:
    return {
        **TWILIO_REALTIME_CONTENT,
        "SequenceId": str(sequence),
        "Track": track,
        "Final": "true" if final else "false",
        "TranscriptionData": orjson.dumps({"transcript": text, "confidence": 0.91}).decode(),
    }


def lines_of(transcript: Transcript | None) -> list[tuple[str | None, str]]:
    assert transcript is not None
    return [(segment.speaker, segment.text) for segment in transcript.segments]


async def test_the_voice_twiml_transcribes_the_call_and_records_the_dial(
    served: Served, http: httpx.AsyncClient
) -> None:
    await create_agent(http, "ola", [LINE])
    twiml = await a_call(served, http)
    assert [verb.tag for verb in twiml] == ["Start", "Dial"]
    transcription = twiml.find("Start/Transcription")
    assert transcription is not None
    assert transcription.attrib == {
        "statusCallbackUrl": f"{served.http_url}{REALTIME}",
        "track": "both_tracks",
    }
    dial = twiml[1]
    assert dial.get("record") == "record-from-answer-dual"
    assert dial.get("recordingStatusCallback") == f"{served.http_url}{RECORDING}"
    assert [client.findtext("Identity") for client in dial.iter("Client")] == ["ola"]


async def test_without_the_setting_the_voice_twiml_neither_transcribes_nor_records(database_url: str) -> None:
    app = create_app(make_settings(database_url, twilio_auth_token=TOKEN))
    async with serve(app) as running, httpx.AsyncClient(base_url=running.http_url) as client:
        await create_agent(client, "ola", [LINE])
        answer = await twilio_post(client, "/webhooks/twilio/voice", incoming("CA-plain"))
        twiml = ET.fromstring(answer.text)  # noqa: S314 - our own answer
        await running.on_server(running.app.state.intake.drain())
    assert [verb.tag for verb in twiml] == ["Dial"]
    assert twiml[0].get("record") is None and twiml[0].get("recordingStatusCallback") is None


async def test_final_utterances_become_the_transcript_in_order_with_who_said_them(
    served: Served, http: httpx.AsyncClient, database: async_sessionmaker[AsyncSession]
) -> None:
    await a_call(served, http)
    deliveries = [
        TWILIO_REALTIME_STARTED,
        TWILIO_REALTIME_CONTENT,
        content(3, "Let me look. It shipped on Monday.", "outbound_track"),
        content(4, "Can I pay the return shipping with my card", final=False),  # a partial guess
        content(5, f"Can I pay the return shipping with my card {CARD_NUMBER}?"),
        content(6, "Of course, I will send you a link instead.", "outbound_track"),
    ]
    for params in deliveries:
        answer = await twilio_post(http, REALTIME, params)
        assert answer.status_code == 204, answer.text
    # Twilio delivers again when an answer is slow: nothing doubles.
    assert (await twilio_post(http, REALTIME, deliveries[4])).status_code == 204

    transcript = await stored(database)
    assert transcript is not None and transcript.source == "twilio-realtime"
    assert transcript.language == "en-us"
    assert lines_of(transcript) == [
        ("customer", "Hi, my parcel for order 1042 never came."),
        ("agent", "Let me look. It shipped on Monday."),
        ("customer", "Can I pay the return shipping with my card [redacted]?"),
        ("agent", "Of course, I will send you a link instead."),
    ]
    assert "4111" not in transcript.text
    # The stream may go on: its summary waits for it to go quiet.
    [waiting] = await jobs_of(database, "summarise")
    assert waiting.status == "pending" and waiting.run_after > datetime.now(UTC)

    # Twilio says the transcription stopped: the summary is asked for now, once.
    for _ in range(2):
        assert (await twilio_post(http, REALTIME, TWILIO_REALTIME_STOPPED)).status_code == 204
    [asked] = await jobs_of(database, "summarise")
    assert asked.status == "pending" and asked.run_after <= datetime.now(UTC)
    assert len(lines_of(await stored(database))) == 4


async def test_concurrent_utterances_in_any_order_each_land_once_in_sequence_order(
    served: Served, http: httpx.AsyncClient, database: async_sessionmaker[AsyncSession]
) -> None:
    await a_call(served, http)
    rng = random.Random(17)
    tracks = ["inbound_track", "outbound_track"]
    utterances = [content(n, f"utterance number {n}", rng.choice(tracks)) for n in range(2, 32)]
    shuffled = rng.sample(utterances, len(utterances))
    answers = await asyncio.gather(*(twilio_post(http, REALTIME, params) for params in shuffled))
    assert [answer.status_code for answer in answers] == [204] * 30
    # And every one again, at once: redeliveries racing each other change nothing.
    again = await asyncio.gather(
        *(twilio_post(http, REALTIME, params) for params in rng.sample(utterances, 30))
    )
    assert {answer.status_code for answer in again} == {204}

    expected = [
        ("customer" if params["Track"] == "inbound_track" else "agent", f"utterance number {n}")
        for n, params in zip(range(2, 32), utterances, strict=True)
    ]
    assert lines_of(await stored(database)) == expected
    assert len(await jobs_of(database, "summarise")) == 1


async def test_a_recordings_transcript_is_the_calls_transcript_and_a_failed_one_stores_nothing(
    served: Served, http: httpx.AsyncClient, database: async_sessionmaker[AsyncSession]
) -> None:
    await a_call(served, http)
    failed = {**TWILIO_TRANSCRIBE_CALLBACK, "TranscriptionStatus": "failed", "TranscriptionText": ""}
    assert (await twilio_post(http, TRANSCRIPTION, failed)).status_code == 204
    assert await stored(database) is None and await jobs_of(database, "summarise") == []

    spoken = {
        **TWILIO_TRANSCRIBE_CALLBACK,
        "TranscriptionText": f"Hello, this is Anna about order 1042. My card is {CARD_NUMBER}, charge it.",
    }
    for _ in range(2):  # a redelivery replaces the transcript with itself
        assert (await twilio_post(http, TRANSCRIPTION, spoken)).status_code == 204
    transcript = await stored(database)
    assert transcript is not None and transcript.source == "twilio-recording"
    assert lines_of(transcript) == [
        (None, "Hello, this is Anna about order 1042. My card is [redacted], charge it.")
    ]
    [asked] = await jobs_of(database, "summarise")
    assert asked.status == "pending"

    # The published shape itself, as Twilio sends it.
    assert (await twilio_post(http, TRANSCRIPTION, TWILIO_TRANSCRIBE_CALLBACK)).status_code == 204


async def test_a_completed_recording_is_taken_to_be_transcribed_with_the_accounts_credentials(
    served: Served, http: httpx.AsyncClient, database: async_sessionmaker[AsyncSession]
) -> None:
    await a_call(served, http)
    for recording_status in ("in-progress", "absent"):
        params = {**TWILIO_RECORDING_STATUS, "RecordingStatus": recording_status}
        assert (await twilio_post(http, RECORDING, params)).status_code == 204
    assert await jobs_of(database, "transcribe") == []

    for _ in range(2):  # Twilio's retry of a slow answer asks for nothing more
        assert (await twilio_post(http, RECORDING, TWILIO_RECORDING_STATUS)).status_code == 204
    [job] = await jobs_of(database, "transcribe")
    assert job.recording_url == TWILIO_RECORDING_STATUS["RecordingUrl"]
    assert job.recording_auth == f"twilio:{TWILIO_ACCOUNT_SID}"

    not_a_url = {**TWILIO_RECORDING_STATUS, "RecordingSid": "RE" + "0" * 32, "RecordingUrl": "ftp://x/y"}
    refused = await twilio_post(http, RECORDING, not_a_url)
    assert refused.status_code == 422 and "RecordingUrl" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (REALTIME, TWILIO_REALTIME_CONTENT),
        (REALTIME, TWILIO_REALTIME_STOPPED),
        (TRANSCRIPTION, TWILIO_TRANSCRIBE_CALLBACK),
        (RECORDING, TWILIO_RECORDING_STATUS),
    ],
)
async def test_a_callback_for_a_call_ringcard_never_saw_is_not_found(
    served: Served,
    http: httpx.AsyncClient,
    database: async_sessionmaker[AsyncSession],
    path: str,
    params: dict[str, str],
) -> None:
    answer = await twilio_post(http, path, params)
    assert answer.status_code == 404
    assert TWILIO_CALL_SID in answer.json()["detail"]
    assert await stored(database) is None


@pytest.mark.parametrize("path", [REALTIME, TRANSCRIPTION, RECORDING])
@pytest.mark.parametrize("tamper", ["unsigned", "field", "token"])
async def test_unsigned_or_tampered_callbacks_are_refused_and_store_nothing(
    served: Served,
    http: httpx.AsyncClient,
    database: async_sessionmaker[AsyncSession],
    path: str,
    tamper: str,
) -> None:
    await a_call(served, http)
    params = {REALTIME: TWILIO_REALTIME_CONTENT, TRANSCRIPTION: TWILIO_TRANSCRIBE_CALLBACK}.get(
        path, TWILIO_RECORDING_STATUS
    )
    if tamper == "unsigned":
        answer = await http.post(path, data=params)
    elif tamper == "field":
        signature = RequestValidator(TOKEN).compute_signature(f"{served.http_url}{path}", params)
        forged = {**params, "TranscriptionText": "forged", "TranscriptionData": '{"transcript":"forged"}'}
        answer = await http.post(path, data=forged, headers={"X-Twilio-Signature": signature})
    else:
        answer = await twilio_post(http, path, params, token="another-auth-token")
    assert answer.status_code == 401
    assert await stored(database) is None
    assert await jobs_of(database, "transcribe") == []


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({**TWILIO_REALTIME_CONTENT, "TranscriptionData": "not json"}, "TranscriptionData"),
        ({**TWILIO_REALTIME_CONTENT, "TranscriptionData": '{"confidence": 0.9}'}, "TranscriptionData"),
        ({**TWILIO_REALTIME_CONTENT, "TranscriptionData": '["a list"]'}, "TranscriptionData"),
        ({**TWILIO_REALTIME_CONTENT, "SequenceId": "-1"}, "SequenceId"),
        ({**TWILIO_REALTIME_CONTENT, "SequenceId": "9" * 40}, "SequenceId"),
        ({k: v for k, v in TWILIO_REALTIME_CONTENT.items() if k != "TranscriptionSid"}, "TranscriptionSid"),
        (
            {k: v for k, v in TWILIO_REALTIME_CONTENT.items() if k != "TranscriptionEvent"},
            "TranscriptionEvent",
        ),
    ],
)
async def test_a_malformed_event_is_refused_naming_the_field(
    served: Served, http: httpx.AsyncClient, params: dict[str, str], named: str
) -> None:
    await a_call(served, http)
    answer = await twilio_post(http, REALTIME, params)
    assert answer.status_code == 422
    assert named in answer.json()["detail"]
