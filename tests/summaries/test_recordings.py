"""A recording becomes the call's transcript: Ringcard fetches it from its link at once and sends
it to the OpenAI-compatible `/v1/audio/transcriptions` endpoint of RINGCARD_STT_BASE_URL.

No speech-to-text model ships in a package registry (faster-whisper and whisper.cpp fetch their
weights from a model hub), so the endpoint here is a real HTTP server speaking OpenAI's protocol:
it reads the multipart upload as a real server does and answers in the `verbose_json` shape of
OpenAI's API reference (https://platform.openai.com/docs/api-reference/audio/createTranscription,
"verbose_json" example: task, language, duration, text, segments with id/seek/start/end/text/
tokens/temperature/avg_logprob/compression_ratio/no_speech_prob). What it proves is Ringcard's
side: the fetch, the upload, reading segments, redaction, and the failures."""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from app.summaries.models import AiJob
from tests.fixtures.platform_payloads import rows
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, serve
from tests.summaries.calls import a_call, agent, call_detail, running, send_transcript

pytestmark = LEGACY_WEBSOCKETS_WARNINGS


def wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A real mono 16-bit PCM WAV: a 440 Hz tone."""
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate)))
        for n in range(int(seconds * rate))
    )
    header = b"RIFF" + struct.pack("<I", 36 + len(frames)) + b"WAVEfmt "
    header += (
        struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", len(frames))
    )
    return header + frames


def verbose_json(text: str, segments: list[tuple[float, float, str]]) -> dict[str, Any]:
    return {
        "task": "transcribe",
        "language": "english",
        "duration": segments[-1][1],
        "text": text,
        "segments": [
            {
                "id": i,
                "seek": 0,
                "start": start,
                "end": end,
                "text": said,
                "tokens": [50364, 440, 7534],
                "temperature": 0.0,
                "avg_logprob": -0.2860786020755768,
                "compression_ratio": 1.2363636493682861,
                "no_speech_prob": 0.00985979475080967,
            }
            for i, (start, end, said) in enumerate(segments)
        ],
    }


SAID = [
    (0.0, 3.2, " Hi, my order 1042 did not arrive."),
    (3.2, 7.9, " My card is 5500 0000 0000 0004 if you need it."),
]


@dataclass
class Recorder:
    """Serves a recording at /rec/{name} (410 once expired) and transcribes at /v1/audio/transcriptions."""

    audio: bytes = field(default_factory=wav)
    expired: bool = False
    uploads: list[dict[str, Any]] = field(default_factory=list)
    fetches: list[str | None] = field(default_factory=list)
    base_url: str = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/rec/{name}")
        async def recording(name: str, request: Request) -> Response:
            self.fetches.append(request.headers.get("authorization"))
            if self.expired:
                return Response(status_code=410)
            return Response(self.audio, media_type="audio/wav")

        @app.post("/v1/audio/transcriptions")
        async def transcriptions(request: Request) -> JSONResponse:
            async with request.form() as form:
                upload = form["file"]
                assert not isinstance(upload, str)
                self.uploads.append(
                    {
                        "model": form["model"],
                        "response_format": form["response_format"],
                        "filename": upload.filename,
                        "content_type": upload.content_type,
                        "bytes": await upload.read(),
                        "authorization": request.headers.get("authorization"),
                    }
                )
            return JSONResponse(verbose_json("".join(s for _, _, s in SAID).strip(), SAID))

        return app


@asynccontextmanager
async def recorder() -> AsyncIterator[Recorder]:
    made = Recorder()
    async with serve(made.app()) as running_server:
        made.base_url = running_server.http_url
        yield made


async def _job_settled(database_url: str) -> tuple[str, str | None]:
    for _ in range(200):
        found = await rows(database_url, select(AiJob.kind, AiJob.status, AiJob.last_error))
        transcribe = [(status, error) for kind, status, error in found if kind == "transcribe"]
        if transcribe and transcribe[0][0] in ("done", "failed"):
            return transcribe[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"the transcription job did not settle: {found}")


async def test_a_recording_is_fetched_transcribed_with_its_times_and_redacted(database_url: str) -> None:
    async with (
        recorder() as stt,
        running(
            database_url,
            stt_base_url=f"{stt.base_url}/v1",
            stt_model="whisper-large-v3",
            stt_api_key="stt-key-0123",
        ) as (served, http),
    ):
        call_id = await a_call(served, http, "pbx-90")
        url = f"{stt.base_url}/rec/90.wav"
        assert (await send_transcript(http, call_id, {"recording_url": url})).status_code == 202
        assert await _job_settled(database_url) == ("done", None)
        detail = await call_detail(http, call_id, await agent(http))
    [upload] = stt.uploads
    assert upload["bytes"] == stt.audio and upload["content_type"] == "audio/wav"
    assert (upload["model"], upload["response_format"]) == ("whisper-large-v3", "verbose_json")
    assert upload["authorization"] == "Bearer stt-key-0123"
    assert stt.fetches == [None]  # no credentials go to a link that is not Twilio's
    transcript = detail["transcript"]
    assert transcript["source"] == "stt" and transcript["language"] == "english"
    assert [(s["start_s"], s["text"]) for s in transcript["segments"]] == [
        (0.0, "Hi, my order 1042 did not arrive."),
        (3.2, "My card is [redacted] if you need it."),
    ]
    # The transcript asks for its summary like any other.
    assert ("summarise", "pending", None) in await rows(
        database_url, select(AiJob.kind, AiJob.status, AiJob.last_error)
    )


async def test_an_expired_recording_link_fails_its_job_saying_so_and_stores_nothing(
    database_url: str,
) -> None:
    async with recorder() as stt, running(database_url, stt_base_url=f"{stt.base_url}/v1") as (served, http):
        stt.expired = True
        call_id = await a_call(served, http, "pbx-91")
        await send_transcript(http, call_id, {"recording_url": f"{stt.base_url}/rec/91.wav"})
        assert await _job_settled(database_url) == ("failed", "the recording's link answered 410")
        detail = await call_detail(http, call_id, await agent(http))
    assert detail["transcript"] is None and stt.uploads == []


async def test_a_speech_to_text_server_that_is_down_is_tried_again_then_the_job_fails(
    database_url: str,
) -> None:
    async with (
        recorder() as stt,
        running(
            database_url, stt_base_url="http://127.0.0.1:9/v1", ai_max_attempts=2, ai_retry_backoff_s=0.1
        ) as (served, http),
    ):
        call_id = await a_call(served, http, "pbx-92")
        await send_transcript(http, call_id, {"recording_url": f"{stt.base_url}/rec/92.wav"})
        assert await _job_settled(database_url) == (
            "failed",
            "speech-to-text could not be reached (ConnectError)",
        )
    assert len(stt.fetches) == 2  # fetched afresh for each attempt
