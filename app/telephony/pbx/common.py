"""What the self-hosted PBX endpoints share: the CTI token, and a caller lookup bounded in time so
a PBX waiting on a caller name always gets its answer before it gives up."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.card.matching import Match, match_number
from app.deps import switched_off
from app.kit.masking import mask_phone
from app.kit.phones import NormalisedNumber
from app.settings import Settings
from app.stores.models import DEFAULT_STORE
from app.web.auth import secret_matches

log = logging.getLogger("ringcard.webhooks.pbx")

# Not `require_secret`'s 404: each PBX route answers it in its own shape (see cti_token_problem).
SWITCHED_OFF = switched_off("cti_token", "the PBX integrations are switched off")
# The words of the original generic CTI, which PBX connectors may show to operators.
WRONG_TOKEN = "Invalid token, please contact your admin!"  # noqa: S105 - a message, not a secret


def number_from_query(raw: str) -> str:
    """The caller's number from a query string that a PBX did not URL-encode.

    FreeSWITCH's `${caller_id_number}` and 3CX's `[Number]` go into the URL as they are, so the
    `+` of an international number arrives decoded as a space; without it, the digits would be
    read as a national number of the default region."""
    if raw[:1] == " " and raw.strip()[:1].isdigit():
        return "+" + raw.lstrip()
    return raw


def cti_token_problem(settings: Settings, *given: str | None) -> tuple[int, str] | None:
    """(status, message) when none of the `given` tokens is RINGCARD_CTI_TOKEN; None when one is.

    Every candidate is compared (in constant time), not just up to the first match, so the time
    taken says nothing about which one matched."""
    if not settings.cti_token:
        return 404, SWITCHED_OFF
    matches = [secret_matches(settings.cti_token, token) for token in given]
    if not any(matches):
        return 401, WRONG_TOKEN
    return None


async def match_within(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    number: NormalisedNumber,
    timeout_s: float,
    *,
    home: str = DEFAULT_STORE,
) -> Match | None:
    """The caller's match, or None when the lookup failed or did not finish within `timeout_s`:
    the caller's number is still shown, which beats the PBX giving up on us."""
    try:
        # The pool wait counts too: a database that is away must not hold the PBX.
        async with asyncio.timeout(timeout_s), sessionmaker() as session:
            return await match_number(session, number, suffix_digits=settings.suffix_match_digits, home=home)
    except TimeoutError:
        log.warning(
            "caller lookup for %s took over %.1f s; answered without a name",
            mask_phone(number.e164),
            timeout_s,
        )
    except Exception:
        log.exception("caller lookup for %s failed; answered without a name", mask_phone(number.e164))
    return None
