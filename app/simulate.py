"""A phone call without a phone line: sends the webhooks Twilio would send, signed with the
service's own Twilio auth token through the `twilio` package, so the whole path (signature,
TwiML, lookup, pop, call log) runs exactly as for a real call."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

import httpx
from twilio.request_validator import RequestValidator

DEFAULT_LINE = "+48221234567"


@dataclass(frozen=True, slots=True)
class SimulatedCall:
    call_sid: str
    voice_status: int
    twiml: str


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


def _params(call_sid: str, caller: str, line: str, status: str) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": "AC" + "0" * 32,
        "From": caller,
        "To": line,
        "Caller": caller,
        "Called": line,
        "CallStatus": status,
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }


async def _post(
    client: httpx.AsyncClient, signing_base: str, path: str, token: str, params: dict[str, str]
) -> httpx.Response:
    signature = RequestValidator(token).compute_signature(signing_base.rstrip("/") + path, params)
    return await client.post(path, data=params, headers={"X-Twilio-Signature": signature})


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
) -> SimulatedCall:
    """Ring (and optionally answer, then hang up) a call from `caller` on `line`."""
    call_sid = call_sid or new_call_sid()
    signing_base = public_url or base_url
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        ring = _params(call_sid, caller, line, "ringing")
        voice = await _post(client, signing_base, "/webhooks/twilio/voice", auth_token, ring)
        sequence = 0
        if answer_after_s is not None:
            await asyncio.sleep(answer_after_s)
            sequence += 1
            params = {**_params(call_sid, caller, line, "in-progress"), "SequenceNumber": str(sequence)}
            await _post(client, signing_base, "/webhooks/twilio/status", auth_token, params)
        if hang_up_after_s is not None:
            await asyncio.sleep(hang_up_after_s)
            sequence += 1
            status = "completed" if answer_after_s is not None else "no-answer"
            params = {**_params(call_sid, caller, line, status), "SequenceNumber": str(sequence)}
            if answer_after_s is not None:
                params["CallDuration"] = str(int(hang_up_after_s))
            await _post(client, signing_base, "/webhooks/twilio/status", auth_token, params)
    return SimulatedCall(call_sid, voice.status_code, voice.text)
