"""`GET /api/v1/status`: is each integration reaching the service, and if not, why not.

Who may read it: the operator (the admin key: scripts, monitoring) and every signed-in agent (the
console's Integrations view). It carries no secret and no caller's data, only what arrived, when,
and why a refusal was refused, and the agents are the first to notice that no card popped: they
should be able to see at once whether the phone system is reaching Ringcard rather than wait for
someone holding the admin key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.db import utcnow
from app.deps import AdminOrAgent, Recorder, Sessions, SettingsDep
from app.integrations.status import read_status

router = APIRouter(prefix="/api/v1", tags=["operations"])


class Counts(BaseModel):
    accepted: int
    duplicate: int
    rejected: int
    failed: int = Field(description="409, 429, 5xx: our side could not take it; the sender retries")


class LastDelivery(BaseModel):
    at: datetime
    what: str = Field(description="a topic, a call event, or the method and path (never a secret)")


class LastReceived(LastDelivery):
    outcome: Literal["accepted", "duplicate", "rejected", "failed"]
    status: int


class LastRefusal(LastDelivery):
    status: int
    reason: str = Field(
        description="missing_signature, wrong_secret, wrong_url (Twilio: signed for another URL), "
        "stale_timestamp (Telnyx), not_configured, not_found, too_large or malformed"
    )
    detail: str | None = Field(description="what exactly did not match, or the refusal's message")


class SourceStatus(BaseModel):
    source: Literal["twilio", "telnyx", "cti", "3cx", "pbx", "shopify", "woocommerce", "store_sync"]
    label: str
    kind: Literal["telephony", "platform", "sync"]
    configured: bool = Field(description="its secret is set, so its routes are switched on")
    state: Literal["ok", "failing", "waiting", "unused", "off"] = Field(
        description="ok: the newest delivery was taken; failing: it was refused or failed; waiting: "
        "switched on, nothing yet; unused: as waiting, while its secret's sibling is in use "
        "(RINGCARD_CTI_TOKEN serves cti, 3cx and pbx); off: switched off, nothing received"
    )
    last_received: LastReceived | None
    last_accepted: LastDelivery | None
    last_hour: Counts
    last_day: Counts
    last_rejected: LastRefusal | None
    last_auth_failure: LastRefusal | None
    last_write: LastDelivery | None = Field(None, description="store_sync only: its last accepted write")


class IntegrationStatus(BaseModel):
    generated_at: datetime
    sources: list[SourceStatus]


@router.get(
    "/status",
    response_model=IntegrationStatus,
    summary="Integration status: what each provider, platform and the sync API sent",
)
async def integration_status(
    settings: SettingsDep, _: AdminOrAgent, recorder: Recorder, sessions: Sessions
) -> IntegrationStatus:
    """Per telephony provider, store platform and the store sync API: the newest delivery, the
    accepted, duplicate, rejected and failed counts of the last hour and day (every instance's),
    the newest refusal and signature failure with the reason."""
    # What this instance noted in the last second is included: send a test webhook, look at once.
    await recorder.flush()
    async with sessions() as session:
        status = await read_status(session, settings, utcnow())
    return IntegrationStatus.model_validate(status)
