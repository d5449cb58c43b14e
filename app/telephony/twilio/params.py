"""What a Twilio request says: its parameters, once the signature proves Twilio sent them, and
the fields the routes read from them, each refused with a 422 naming the field when malformed."""

from __future__ import annotations

import logging
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from starlette.datastructures import FormData

from app.db import utcnow
from app.deps import SettingsDep, require_secret
from app.integrations import deliveries
from app.ops import signature_diagnosis
from app.telephony.fields import believable_time, call_id_problem, whole_number
from app.telephony.twilio.signature import public_request_url, twilio_signature_valid

log = logging.getLogger("ringcard.webhooks.twilio")

# Far above any call Twilio connects (its calls end after 24 hours at the latest); what matters is
# that talking_s (a 32-bit column) and the answer time derived from it stay computable.
MAX_CALL_DURATION_S = 7 * 24 * 3600


TwilioToken = Annotated[str, Depends(require_secret("twilio_auth_token", "Twilio is switched off"))]


async def verified_params(request: Request, settings: SettingsDep, token: TwilioToken) -> FormData:
    """The request's parameters, once its X-Twilio-Signature proves Twilio sent them."""
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    path_and_query = raw_path.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")
    url = public_request_url(settings.public_url, str(request.url), path_and_query)
    # A GET is signed over its URL alone; a POST over the URL and its form fields.
    try:
        form = await request.form() if request.method == "POST" else FormData()
    except Exception as exc:  # the multipart parser's own errors: the body is unreadable
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "unreadable form body") from exc
    signed: dict[str, list[str]] = {
        name: [v for v in form.getlist(name) if isinstance(v, str)] for name in form
    }
    # Twilio sends no files and nothing reads them; a multipart body's uploads would otherwise stay
    # open until the garbage collector finds them.
    await form.close()
    signature = request.headers.get("x-twilio-signature")
    if not twilio_signature_valid(token, url, signed, signature):
        received, forwarded = signature_diagnosis.request_urls(
            request.url.scheme, request.headers, path_and_query
        )
        reason, detail = signature_diagnosis.twilio_rejection(
            token,
            checked_url=url,
            received_url=received,
            forwarded_url=forwarded,
            public_url=settings.public_url,
            params=signed,
            signature=signature,
        )
        deliveries.note_rejection(reason, detail)
        log.warning("rejected a Twilio request for %s: %s (%s)", request.url.path, reason.value, detail)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "bad or missing X-Twilio-Signature")
    if request.method != "POST":
        return FormData([(k, v) for k, v in request.query_params.multi_items()])
    for name, values in signed.items():
        # StorableTextMiddleware reads urlencoded bodies only; a multipart one arrives here unread.
        if "\x00" in name or any("\x00" in value for value in values):
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                f"{name.replace(chr(0), '?')} contains a NUL character, which cannot be stored",
            )
    return form


TwilioParams = Annotated[FormData, Depends(verified_params)]


def required(params: FormData, name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"missing {name}")
    return value.strip()


def text_of(params: FormData, name: str) -> str:
    value = params.get(name)
    return value if isinstance(value, str) else ""


def unprocessable(message: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, message)


def sid_of(params: FormData, name: str = "CallSid") -> str:
    """A call's SID field (`CallSid`, a leg's `ParentCallSid`): present and storable."""
    call_sid = required(params, name)
    if (problem := call_id_problem(call_sid, name)) is not None:
        raise unprocessable(problem)
    return call_sid


def when_of(params: FormData) -> datetime:
    """When the status changed by Twilio's clock; our own time when `Timestamp` is absent, is not
    an RFC 2822 date or is not believable. It only places the event in time (it never decides
    which call or which event it is), so a bad one is no reason to lose the callback."""
    now = utcnow()
    stamp = text_of(params, "Timestamp")
    if stamp:
        try:
            parsed = parsedate_to_datetime(stamp)
        except (TypeError, ValueError, IndexError, OverflowError):
            return now
        return believable_time(parsed, now) or now
    return now


def direction_of(params: FormData) -> str:
    # Twilio sends `inbound`, `outbound-api` or `outbound-dial`. Anything else is taken as outbound
    # (logged, never popped) rather than refused: a value Twilio adds later must not fail live calls.
    return "in" if text_of(params, "Direction").strip().lower() in ("", "inbound") else "out"


def sequence_of(params: FormData) -> str:
    """`SequenceNumber` as sent (a whole number from 0), or "" when absent."""
    sequence = text_of(params, "SequenceNumber").strip()
    if sequence and not (sequence.isascii() and sequence.isdigit()):
        raise unprocessable("SequenceNumber must be a whole number")
    # Only ever compared as text, in the event key: no bound needed (a long key is hashed).
    return sequence


def duration_of(params: FormData, name: str = "CallDuration") -> int | None:
    """A duration field (`CallDuration`, the dial's `DialCallDuration`) in whole seconds, or None."""
    duration = text_of(params, name).strip()
    if not duration:
        return None
    seconds = whole_number(duration, MAX_CALL_DURATION_S)
    if seconds is None:
        raise unprocessable(f"{name} must be a whole number of seconds from 0 to {MAX_CALL_DURATION_S}")
    return seconds
