"""A phone call without a phone line: sends the webhooks Twilio would send, signed with the
service's own Twilio auth token through the `twilio` package, so the whole path (signature,
TwiML, lookup, pop, answer, call log) runs exactly as for a real call.

The call follows the TwiML the service answers: when it dials agents, each dialled leg reports
its progress to the `statusCallback` the TwiML names, the answering agent's leg says who took the
call, and the `<Dial action>` gets the dial's outcome, as Twilio does. Without a dial (the
`enqueue` routing) the number's own status callback reports the answer and the end.
"""

from __future__ import annotations

import asyncio
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from email.utils import format_datetime
from urllib.parse import urlsplit

import httpx
from twilio.request_validator import RequestValidator

from app.db import utcnow

DEFAULT_LINE = "+48221234567"
STATUS_PATH = "/webhooks/twilio/status"
TRANSCRIPTION_PATH = "/webhooks/twilio/transcription"
ACCOUNT_SID = "AC" + "0" * 32


@dataclass(frozen=True, slots=True)
class SimulatedCall:
    call_sid: str
    voice_status: int
    twiml: str


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


@dataclass(slots=True)
class _Leg:
    """One dialled `<Client>` or `<Number>` of the TwiML, and where it reports."""

    to: str
    status_callback: str | None
    sid: str = field(default_factory=new_call_sid)
    sequence: int = 0


@dataclass(frozen=True, slots=True)
class _Dial:
    action: str | None
    legs: list[_Leg]


def _params(call_sid: str, caller: str, line: str, status: str) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT_SID,
        "From": caller,
        "To": line,
        "Caller": caller,
        "Called": line,
        "CallStatus": status,
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }


def _dial_of(twiml: str) -> _Dial | None:
    """The `<Dial>` of the TwiML with its legs, or None when the TwiML dials nobody."""
    try:
        # The answer of the service being simulated against, which the operator runs.
        dial = ET.fromstring(twiml).find("Dial")  # noqa: S314
    except ET.ParseError:
        return None
    if dial is None:
        return None
    legs: list[_Leg] = []
    for noun in dial:
        if noun.tag == "Client":
            identity = noun.findtext("Identity") or (noun.text or "")
            legs.append(_Leg("client:" + identity.strip(), noun.get("statusCallback")))
        elif noun.tag in ("Number", "Sip"):
            legs.append(_Leg((noun.text or "").strip(), noun.get("statusCallback")))
    return _Dial(dial.get("action"), legs) if legs else None


class _Twilio:
    """Posts signed requests to the service the way Twilio does: to the URL it was given."""

    def __init__(self, client: httpx.AsyncClient, signing_base: str, token: str) -> None:
        self._client = client
        self._signing_base = signing_base.rstrip("/")
        self._validator = RequestValidator(token)

    async def post(self, url_or_path: str, params: dict[str, str]) -> httpx.Response:
        # A URL the TwiML named is signed as it stands; a path is the number's configured URL.
        url = url_or_path if "://" in url_or_path else self._signing_base + url_or_path
        signature = self._validator.compute_signature(url, params)
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return await self._client.post(path, data=params, headers={"X-Twilio-Signature": signature})

    async def leg_status(
        self, leg: _Leg, parent_sid: str, caller: str, status: str, duration_s: int | None = None
    ) -> None:
        if not leg.status_callback:
            return
        params = {
            "CallSid": leg.sid,
            "ParentCallSid": parent_sid,
            "AccountSid": ACCOUNT_SID,
            "From": caller,
            "To": leg.to,
            "Called": leg.to,
            "CallStatus": status,
            "Direction": "outbound-dial",
            "ApiVersion": "2010-04-01",
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(leg.sequence),
            "Timestamp": format_datetime(utcnow(), usegmt=True),
        }
        if duration_s is not None:
            params["CallDuration"] = str(duration_s)
        leg.sequence += 1
        await self.post(leg.status_callback, params)


async def simulate_call(
    base_url: str,
    auth_token: str,
    caller: str,
    *,
    line: str = DEFAULT_LINE,
    public_url: str | None = None,
    answer_after_s: float | None = None,
    hang_up_after_s: float | None = None,
    call_sid: str | None = None,
    answered_by: str | None = None,
    transcript: str | None = None,
) -> SimulatedCall:
    """Ring (and optionally answer, then hang up) a call from `caller` on `line`.

    The answer comes from the dialled client whose identity is `answered_by` (an agent's
    username) when the TwiML dials it, else from the first one dialled. Without an answer, the
    hang-up after `hang_up_after_s` is the caller giving up: the dial ends `no-answer`. A call
    answered and ended with a `transcript` then gets it as Twilio's transcribeCallback sends one,
    so the demo shows the AI summary that follows.
    """
    call_sid = call_sid or new_call_sid()
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        twilio = _Twilio(client, public_url or base_url, auth_token)
        voice = await twilio.post("/webhooks/twilio/voice", _params(call_sid, caller, line, "ringing"))
        dial = _dial_of(voice.text) if voice.status_code == 200 else None
        if dial is not None:
            steps = _Steps(twilio, call_sid, caller, line)
            await steps.dial(dial, answer_after_s, hang_up_after_s, answered_by)
        else:
            await _play_without_dial(twilio, call_sid, caller, line, answer_after_s, hang_up_after_s)
        if transcript and answer_after_s is not None and hang_up_after_s is not None:
            await twilio.post(TRANSCRIPTION_PATH, _transcribed(call_sid, caller, line, transcript))
    return SimulatedCall(call_sid, voice.status_code, voice.text)


def _transcribed(call_sid: str, caller: str, line: str, text: str) -> dict[str, str]:
    """The fields of Twilio's transcribeCallback for a finished transcription."""
    tail = secrets.token_hex(16)
    return {
        **_params(call_sid, caller, line, "completed"),
        "TranscriptionSid": "TR" + tail,
        "TranscriptionStatus": "completed",
        "TranscriptionText": text,
        "TranscriptionUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Transcriptions/TR{tail}",
        "RecordingSid": "RE" + tail,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE{tail}",
    }


@dataclass(frozen=True, slots=True)
class _Steps:
    twilio: _Twilio
    call_sid: str
    caller: str
    line: str

    async def leg(self, leg: _Leg, status: str, duration_s: int | None = None) -> None:
        await self.twilio.leg_status(leg, self.call_sid, self.caller, status, duration_s)

    async def dial(
        self,
        dial: _Dial,
        answer_after_s: float | None,
        hang_up_after_s: float | None,
        answered_by: str | None,
    ) -> None:
        for leg in dial.legs:
            await self.leg(leg, "initiated")
            await self.leg(leg, "ringing")
        if answer_after_s is None and hang_up_after_s is None:
            return  # it rings until the ring timeout ends it
        answering: _Leg | None = None
        if answer_after_s is not None:
            await asyncio.sleep(answer_after_s)
            wanted = f"client:{answered_by}" if answered_by else None
            answering = next((leg for leg in dial.legs if leg.to == wanted), dial.legs[0])
            await self.leg(answering, "in-progress")
            # The others stop ringing: Twilio cancels them once one leg answers.
            for leg in dial.legs:
                if leg is not answering:
                    await self.leg(leg, "canceled")
        if hang_up_after_s is None:
            return
        await asyncio.sleep(hang_up_after_s)
        talked = max(int(round(hang_up_after_s)), 1) if answering is not None else 0
        if answering is not None:
            await self.leg(answering, "completed", duration_s=talked)
            outcome = {"DialCallStatus": "completed", "DialCallSid": answering.sid}
            outcome["DialCallDuration"] = str(talked)
        else:
            for leg in dial.legs:
                await self.leg(leg, "no-answer")
            outcome = {"DialCallStatus": "no-answer", "DialCallSid": dial.legs[0].sid}
        if dial.action:
            after = {**_params(self.call_sid, self.caller, self.line, "in-progress"), **outcome}
            await self.twilio.post(dial.action, after)
        # The number's own status callback, last, as Twilio sends it when the call is over.
        final = {**_params(self.call_sid, self.caller, self.line, "completed"), "SequenceNumber": "0"}
        if answering is not None:
            final["CallDuration"] = str(talked)
        await self.twilio.post(STATUS_PATH, final)


async def _play_without_dial(
    twilio: _Twilio,
    call_sid: str,
    caller: str,
    line: str,
    answer_after_s: float | None,
    hang_up_after_s: float | None,
) -> None:
    sequence = 0
    if answer_after_s is not None:
        await asyncio.sleep(answer_after_s)
        sequence += 1
        params = {**_params(call_sid, caller, line, "in-progress"), "SequenceNumber": str(sequence)}
        await twilio.post(STATUS_PATH, params)
    if hang_up_after_s is not None:
        await asyncio.sleep(hang_up_after_s)
        sequence += 1
        status = "completed" if answer_after_s is not None else "no-answer"
        params = {**_params(call_sid, caller, line, status), "SequenceNumber": str(sequence)}
        if answer_after_s is not None:
            params["CallDuration"] = str(int(hang_up_after_s))
        await twilio.post(STATUS_PATH, params)
