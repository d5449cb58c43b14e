"""A recording in, its transcript out: fetched from the provider (Twilio's with the account's
credentials, Telnyx's presigned links as they are) and sent to any OpenAI-compatible
`/v1/audio/transcriptions` endpoint (speaches/faster-whisper-server, whisper.cpp's server, vLLM,
a hosted API)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from app.summaries.llm import ModelUnavailable
from app.summaries.transcripts import Segment

AUDIO_MAX_BYTES = 100 * 1024 * 1024  # a two-hour WAV at 8 kHz; anything bigger is not a call
TWILIO_HOSTS = ("api.twilio.com",)
_AUDIO_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "ogg": "audio/ogg", "webm": "audio/webm"}


class RecordingRefused(Exception):
    """The recording cannot be had, and asking again will not help (a bad link, too big)."""


@dataclass(frozen=True, slots=True)
class Audio:
    data: bytes
    content_type: str
    filename: str


def check_recording_url(url: str) -> str:
    """The link as given, if it is one this service may fetch; ValueError saying why not."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ValueError("recording_url is not a URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("recording_url must be an http(s) URL")
    return url


def _credentials(url: str, auth: str | None, twilio_auth_token: str | None) -> httpx.BasicAuth | None:
    """Twilio serves recordings to the account (HTTP basic, AccountSid and auth token), and only
    to Twilio's own host are those ever sent."""
    if not auth or not auth.startswith("twilio:"):
        return None
    host = urlsplit(url).hostname or ""
    if host not in TWILIO_HOSTS or not twilio_auth_token:
        return None
    return httpx.BasicAuth(auth.removeprefix("twilio:"), twilio_auth_token)


async def fetch_recording(
    client: httpx.AsyncClient, url: str, auth: str | None, *, twilio_auth_token: str | None, timeout_s: float
) -> Audio:
    credentials = _credentials(url, auth, twilio_auth_token)
    try:
        async with client.stream(
            "GET", url, auth=credentials, timeout=timeout_s, follow_redirects=True
        ) as response:
            if response.status_code in (401, 403, 404, 410):
                raise RecordingRefused(f"the recording's link answered {response.status_code}")
            if response.status_code >= 400:
                raise ModelUnavailable(f"the recording's link answered {response.status_code}")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > AUDIO_MAX_BYTES:
                    raise RecordingRefused("the recording is larger than 100 MB")
                chunks.append(chunk)
            content_type = response.headers.get("content-type", "").split(";")[0].strip()
    except httpx.TimeoutException:
        raise ModelUnavailable("the recording could not be fetched in time") from None
    except httpx.HTTPError as exc:
        raise ModelUnavailable(f"the recording could not be fetched ({type(exc).__name__})") from None
    extension = next((ext for ext, kind in _AUDIO_TYPES.items() if kind == content_type), None)
    if extension is None:
        path = urlsplit(url).path.lower()
        extension = next((ext for ext in _AUDIO_TYPES if path.endswith("." + ext)), "wav")
        content_type = _AUDIO_TYPES[extension]
    return Audio(b"".join(chunks), content_type, f"recording.{extension}")


def _seconds(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class Heard:
    segments: list[Segment]
    language: str | None


async def transcribe(
    client: httpx.AsyncClient,
    base_url: str,
    model: str,
    audio: Audio,
    *,
    api_key: str | None,
    timeout_s: float,
) -> Heard:
    """The recording's words, with their times when the server gives segments (verbose_json)."""
    url = base_url.rstrip("/") + "/audio/transcriptions"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = await client.post(
            url,
            files={"file": (audio.filename, audio.data, audio.content_type)},
            data={"model": model, "response_format": "verbose_json"},
            headers=headers,
            timeout=timeout_s,
        )
    except httpx.TimeoutException:
        raise ModelUnavailable("speech-to-text did not answer in time (RINGCARD_STT_TIMEOUT_S)") from None
    except httpx.HTTPError as exc:
        raise ModelUnavailable(f"speech-to-text could not be reached ({type(exc).__name__})") from None
    if response.status_code >= 400:
        raise ModelUnavailable(f"speech-to-text answered {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        raise RecordingRefused("speech-to-text answered something that is not JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        raise RecordingRefused("speech-to-text answered without a text")
    language = body.get("language") if isinstance(body.get("language"), str) else None
    segments = [
        Segment(item["text"], None, _seconds(item.get("start")))
        for item in body.get("segments") or []
        if isinstance(item, dict) and isinstance(item.get("text"), str)
    ]
    return Heard(segments or [Segment(body["text"])], language)
