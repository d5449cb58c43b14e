"""`GET /pbx/lookup`: the caller's display name as plain text, for PBXs that fetch a name over
HTTP while the call rings (Asterisk `CURL()`, FreeSWITCH `mod_cidlookup`, FreePBX Superfecta).

Decisions:

* **The answer is the name alone**, `text/plain; charset=utf-8`, empty when the number is unknown,
  withheld or not a phone, when the lookup fails, and when it takes longer than `LOOKUP_TIMEOUT_S`
  (Superfecta gives up after 3 s; the caller's number on the phone beats no answer at all).
* **Several people on one number**: the best candidate (open case, then most recent order) and how
  many others there are: `Jan Kowalski (+1)`. Short enough for a phone's display, and honest that
  the name is a guess; the agent's card lists them all.
* **Errors carry no body.** Asterisk's `CURL()` hands back the body whatever the status, and it
  would land on the phones as the caller's name; the reason is in the `X-Ringcard-Error` header
  and the log instead (`curl -i` shows it).
* `ascii=1` transliterates (`Łukasz` → `Lukasz`, Hebrew and Cyrillic too) for PBXs that read
  ISO-8859-1; `max_length=N` cuts the name to N characters (Superfecta: 60), keeping the `(+1)`.
* With `call_id` the request also raises the pop: a ringing call from provider `pbx`, put in the
  background so the name never waits on it.
"""

from __future__ import annotations

import logging
from typing import Annotated

from anyascii import anyascii
from fastapi import APIRouter, Query, Request, Response, status

from app.calls.contracts import Provider
from app.calls.events import CallEvent, EventKind
from app.card.matching import Match, MatchStatus
from app.db import utcnow
from app.deps import Intake, Sessions, SettingsDep
from app.kit.masking import mask_phone
from app.telephony.fields import whole_number
from app.telephony.pbx.common import cti_token_problem, match_within, number_from_query
from app.web.auth import bearer_token
from app.web.openapi import secured_by

log = logging.getLogger("ringcard.webhooks.pbx")
router = APIRouter(tags=["telephony"])

PROVIDER = Provider.PBX
TEXT = "text/plain; charset=utf-8"
LOOKUP_TIMEOUT_S = 2.0
MAX_CALL_ID = 255  # calls.provider_call_id
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


class _Problem(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def _plain(body: str = "", status_code: int = status.HTTP_200_OK, problem: str | None = None) -> Response:
    headers = {}
    if problem:
        headers["X-Ringcard-Error"] = problem
    if status_code == status.HTTP_401_UNAUTHORIZED:
        headers["WWW-Authenticate"] = "Bearer"
    return Response(body.encode(), status_code=status_code, media_type=TEXT, headers=headers)


def _flag(value: str | None, name: str) -> bool:
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Problem(status.HTTP_422_UNPROCESSABLE_ENTITY, f"{name} must be 1 or 0")


def _length(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    length = whole_number(value, 1000)
    if length is None or length < 1:
        raise _Problem(
            status.HTTP_422_UNPROCESSABLE_ENTITY, "max_length must be a whole number from 1 to 1000"
        )
    return length


def _clean(name: str) -> str:
    # Control characters and line breaks would break a caller-id field (or a dialplan variable).
    printable = "".join(ch if ch.isprintable() else " " for ch in name)
    return " ".join(printable.split())


def shown_name(match: Match | None, *, ascii_only: bool = False, max_length: int | None = None) -> str:
    """What the phone shows for this match (see the module's decisions)."""
    if match is None or not match.candidates:
        return ""
    if match.status not in (MatchStatus.EXACT, MatchStatus.PROBABLE, MatchStatus.AMBIGUOUS):
        return ""
    name = match.candidates[0].name
    if ascii_only:
        name = anyascii(name)
    name = _clean(name)
    others = len(match.candidates) - 1 if match.status is MatchStatus.AMBIGUOUS else 0
    suffix = f" (+{others})" if others else ""
    if max_length is None:
        return name + suffix
    if len(suffix) >= max_length:
        # No room for both: the name says more than the count.
        return name[:max_length].rstrip()
    return name[: max_length - len(suffix)].rstrip() + suffix


@router.get(
    "/pbx/lookup",
    response_class=Response,
    summary="PBX caller-id lookup: the caller's name as plain text (with call_id, the pop too)",
    openapi_extra=secured_by("ctiToken"),
    responses={
        200: {
            "description": "the caller's display name; empty when unknown, withheld or not found in time",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        401: {"description": "wrong token (empty body; the reason is in X-Ringcard-Error)"},
        404: {"description": "RINGCARD_CTI_TOKEN is not set"},
        422: {"description": "a malformed parameter (named in X-Ringcard-Error)"},
    },
)
async def pbx_lookup(
    request: Request,
    settings: SettingsDep,
    intake: Intake,
    sessions: Sessions,
    number: Annotated[str | None, Query(description="the caller's number, in any format")] = None,
    to: Annotated[str | None, Query(description="the dialled number or queue (the call's line)")] = None,
    call_id: Annotated[str | None, Query(description="the PBX's id of the call: also raises the pop")] = None,
    token: Annotated[
        str | None, Query(description="RINGCARD_CTI_TOKEN (or send it as a Bearer token)")
    ] = None,
    ascii_: Annotated[
        str | None, Query(alias="ascii", description="1: transliterate the name to ASCII")
    ] = None,
    max_length: Annotated[str | None, Query(description="cut the name to this many characters")] = None,
) -> Response:
    """The caller's name as plain text for a PBX's caller-id lookup (and, with `call_id`, the pop)."""
    problem = cti_token_problem(settings, token, bearer_token(request))
    if problem is not None:
        log.warning("refused a PBX lookup: %s", problem[1])
        return _plain(status_code=problem[0], problem=problem[1])
    try:
        if number is None:
            raise _Problem(status.HTTP_422_UNPROCESSABLE_ENTITY, "missing number")
        ascii_only = _flag(ascii_, "ascii")
        limit = _length(max_length)
        if call_id is not None and len(call_id) > MAX_CALL_ID:
            raise _Problem(
                status.HTTP_422_UNPROCESSABLE_ENTITY, f"call_id is longer than {MAX_CALL_ID} characters"
            )
    except _Problem as bad:
        return _plain(status_code=bad.status_code, problem=bad.message)

    number = number_from_query(number)
    line = number_from_query(to or "").strip()
    event = CallEvent(
        provider=PROVIDER,
        # Only a lookup with a call id is recorded (and popped); without one the event just
        # says who calls on which line.
        provider_call_id=(call_id or "").strip() or "lookup",
        kind=EventKind.RINGING,
        at=utcnow(),
        from_raw=number,
        to_raw=line,
        line=line or None,
    )
    # The caller's number is read in the region of the dialled line's store.
    parties = intake.parties(event)
    caller = parties.caller
    if call_id and call_id.strip():
        intake.submit(event, parties)
    match = await match_within(
        sessions, settings, caller, LOOKUP_TIMEOUT_S, home=intake.home_store(parties.line)
    )
    name = shown_name(match, ascii_only=ascii_only, max_length=limit)
    log.info(
        "PBX lookup for %s: %s", mask_phone(caller.e164 or number), match.status if match else "no answer"
    )
    return _plain(name)
