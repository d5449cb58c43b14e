"""`GET /integrations/3cx/contacts?phone=`: the contact lookup behind 3CX's server-side CRM
integration (the template is docs/pbx/3cx-ringcard-template.xml).

Decisions:

* **Who is listed**: the matched person; on an ambiguous number every candidate, best first (3CX
  shows the first and offers the others); nobody for unknown, withheld or invalid numbers, or when
  the lookup does not finish within `LOOKUP_TIMEOUT_S`.
* **Guests** (known only by the name on their orders) get `id` `guest:<hash of the name>`: stable
  across calls, so 3CX can keep them apart, and never mistaken for a store's customer id. Their name
  is split at the first space into first and last name.
* **Phones**: the caller's number (E.164), under `phoneMobile` when it is a mobile number (or a
  number whose type the numbering plan cannot tell, as in North America) and under `phoneBusiness`
  when it is a landline or any other kind.
* **url** opens the agent console on the caller's number (and the chosen customer), based on
  RINGCARD_PUBLIC_URL. Without it the url is empty: the address this request came to is whatever
  its `Host` header says, and a link built from it would send agents wherever the sender chose.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from typing import Annotated
from urllib.parse import urlencode

import phonenumbers
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from app.card.matching import Candidate, Match, MatchStatus
from app.deps import Sessions, SettingsDep
from app.kit.masking import mask_phone
from app.kit.phones import NormalisedNumber, NumberKind, normalise
from app.telephony.pbx.common import cti_token_problem, match_within, number_from_query
from app.web.auth import bearer_token
from app.web.openapi import secured_by

log = logging.getLogger("ringcard.webhooks.3cx")
router = APIRouter(prefix="/integrations/3cx", tags=["telephony"])

LOOKUP_TIMEOUT_S = 3.0
_LISTED = (MatchStatus.EXACT, MatchStatus.PROBABLE, MatchStatus.AMBIGUOUS)
_MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


class ThreeCxContact(BaseModel):
    # 3CX's template reads camelCase names (firstName, phoneMobile...).
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    id: str | None = Field(description="the store's customer id, or guest:<hash> for a guest")
    first_name: str
    last_name: str
    company: str
    email: str
    phone_mobile: str
    phone_business: str
    url: str = Field(
        description="the agent console, opened on this caller; empty without RINGCARD_PUBLIC_URL"
    )


class ThreeCxContacts(BaseModel):
    contacts: list[ThreeCxContact]


async def require_cti_bearer(request: Request, settings: SettingsDep) -> None:
    problem = cti_token_problem(settings, bearer_token(request))
    if problem is not None:
        log.warning("refused a 3CX lookup: %s", problem[1])
        headers = {"WWW-Authenticate": "Bearer"} if problem[0] == status.HTTP_401_UNAUTHORIZED else None
        raise HTTPException(problem[0], problem[1], headers=headers)


def guest_id(name: str) -> str:
    folded = " ".join(unicodedata.normalize("NFKC", name).casefold().split())
    return "guest:" + hashlib.blake2b(folded.encode(), digest_size=8).hexdigest()


def split_name(candidate: Candidate) -> tuple[str, str]:
    """(first name, last name) as 3CX wants them."""
    name = " ".join(candidate.name.split())
    first = " ".join((candidate.first_name or "").split())
    if candidate.customer_id is not None and first and name.startswith(first):
        return first, name[len(first) :].strip()
    head, _, rest = name.partition(" ")
    return head, rest


def _phone_fields(number: NormalisedNumber) -> tuple[str, str]:
    """(phoneMobile, phoneBusiness)."""
    e164 = number.e164 or ""
    try:
        kind = phonenumbers.number_type(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return e164, ""
    return (e164, "") if kind in _MOBILE_TYPES else ("", e164)


def console_url(base: str | None, number: NormalisedNumber, candidate: Candidate) -> str:
    if not base:
        return ""
    query = {"number": number.e164 or number.raw}
    if candidate.customer_external_id:
        query["customer"] = candidate.customer_external_id
    return f"{base.rstrip('/')}/?{urlencode(query)}"


def contacts_for(match: Match | None, number: NormalisedNumber, base_url: str | None) -> ThreeCxContacts:
    if match is None or match.status not in _LISTED:
        return ThreeCxContacts(contacts=[])
    mobile, business = _phone_fields(number)
    contacts = []
    for candidate in match.candidates:
        first, last = split_name(candidate)
        contacts.append(
            ThreeCxContact(
                id=candidate.customer_external_id or guest_id(candidate.name),
                first_name=first,
                last_name=last,
                company="",
                email=candidate.email or "",
                phone_mobile=mobile,
                phone_business=business,
                url=console_url(base_url, number, candidate),
            )
        )
    return ThreeCxContacts(contacts=contacts)


@router.get(
    "/contacts",
    response_model=ThreeCxContacts,
    summary="3CX: contacts for a phone number (server-side CRM lookup)",
    openapi_extra=secured_by("ctiToken"),
    dependencies=[Depends(require_cti_bearer)],
    responses={
        401: {"description": "wrong or missing Bearer token"},
        404: {"description": "RINGCARD_CTI_TOKEN is not set"},
    },
)
async def threecx_contacts(
    settings: SettingsDep,
    sessions: Sessions,
    phone: Annotated[str, Query(max_length=64, description="the number as 3CX sends it (+, 00 or national)")],
) -> ThreeCxContacts:
    """3CX's contact lookup by phone number: every person the number may belong to."""
    number = normalise(number_from_query(phone), settings.default_region)
    match = (
        await match_within(sessions, settings, number, LOOKUP_TIMEOUT_S)
        if number.kind is NumberKind.E164
        else None
    )
    found = contacts_for(match, number, settings.public_url)
    log.info("3CX lookup for %s: %d contact(s)", mask_phone(number.e164 or phone), len(found.contacts))
    return found
