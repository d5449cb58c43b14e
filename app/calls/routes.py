"""The call log for agents: list, notes and dispositions, and the missed-calls to-do list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import or_, select, update

from app.calls.events import CallState
from app.calls.models import Call
from app.calls.store_filter import of_store
from app.calls.views import call_json
from app.db import utcnow
from app.db.storable import UTCTimestamp
from app.deps import CardRulesDep, CurrentAgent, SessionDep, SettingsDep
from app.kit.phones import NumberKind, normalise
from app.summaries.models import CallSummary

router = APIRouter(prefix="/api/v1/calls", tags=["call log"])

MAX_PAGE = 500
LIKE_ESCAPE = "\\"


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, every character taken literally: `%` and `_` are
    escaped rather than dropped (a Telnyx call_control_id has underscores in it)."""
    for special in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(special, LIKE_ESCAPE + special)
    return f"%{text}%"


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: Annotated[str, StringConstraints(max_length=10_000)] = ""
    disposition: Annotated[str, StringConstraints(max_length=64)] | None = None


class DoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[str, StringConstraints(min_length=1, max_length=32)]] = Field(
        default_factory=list, max_length=MAX_PAGE
    )
    all_missed: bool = False

    @model_validator(mode="after")
    def _something(self) -> DoneIn:
        if not self.ids and not self.all_missed:
            raise ValueError("give the call ids to mark done, or all_missed: true")
        return self


class DoneOut(BaseModel):
    marked: int


@router.get("")
async def list_calls(
    session: SessionDep,
    settings: SettingsDep,
    rules: CardRulesDep,
    _agent: CurrentAgent,
    state: Annotated[CallState | None, Query(description="only calls in this state")] = None,
    from_: Annotated[
        str | None, Query(alias="from", max_length=64, description="only calls from this number (any format)")
    ] = None,
    since: Annotated[
        UTCTimestamp | None, Query(description="only calls that started at or after this time")
    ] = None,
    todo: Annotated[bool, Query(description="only missed calls nobody has marked done")] = False,
    store: Annotated[str | None, Query(max_length=64, description="only calls on this store's lines")] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description="search the number, the customer's name or the provider's call id (Twilio "
            "CallSid, Telnyx call_control_id, the PBX's callId): any part of it, case-insensitive",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> list[Mapping[str, Any]]:
    """The call log, newest first."""
    # With each call, where its AI summary stands, so the log marks drafts waiting for approval.
    statement = (
        select(Call, CallSummary.status)
        .outerjoin(CallSummary, CallSummary.call_id == Call.id)
        .order_by(Call.started_at.desc())
        .limit(limit)
    )
    if state is not None:
        statement = statement.where(Call.state == state.value)
    if from_:
        number = normalise(from_, settings.default_region)
        statement = statement.where(
            Call.from_e164 == number.e164 if number.kind is NumberKind.E164 else Call.from_raw == from_
        )
    if since is not None:
        statement = statement.where(Call.started_at >= since)
    if todo:
        statement = statement.where(Call.done.is_(False))
    if store is not None:
        statement = statement.where(of_store(store))
    if q:
        pattern = contains_pattern(q)
        statement = statement.where(
            or_(
                *(
                    column.ilike(pattern, escape=LIKE_ESCAPE)
                    for column in (Call.customer_name, Call.from_raw, Call.from_e164, Call.provider_call_id)
                )
            )
        )
    rows = (await session.execute(statement)).all()
    return [
        {**call_json(call, settings.default_region, links=rules.links), "summary_status": summary_status}
        for call, summary_status in rows
    ]


@router.post("/{call_id}/note")
async def save_note(
    call_id: str,
    body: NoteIn,
    session: SessionDep,
    settings: SettingsDep,
    rules: CardRulesDep,
    agent: CurrentAgent,
) -> Mapping[str, Any]:
    call = await session.get(Call, call_id)
    if call is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no call {call_id!r}")
    call.note = body.text or None
    call.disposition = body.disposition
    call.noted_by = agent.display_name
    call.noted_at = utcnow()
    return call_json(call, settings.default_region, links=rules.links)


@router.post("/{call_id}/done", response_model=DoneOut)
async def mark_done(call_id: str, session: SessionDep, _agent: CurrentAgent) -> DoneOut:
    call = await session.get(Call, call_id)
    if call is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no call {call_id!r}")
    marked = 0 if call.done else 1
    call.done = True
    return DoneOut(marked=marked)


@router.post("/done", response_model=DoneOut)
async def mark_many_done(body: DoneIn, session: SessionDep, _agent: CurrentAgent) -> DoneOut:
    condition = Call.done.is_(False)
    statement = update(Call).where(condition).values(done=True)
    if not body.all_missed:
        statement = statement.where(Call.id.in_(body.ids))
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return DoneOut(marked=int(getattr(result, "rowcount", 0) or 0))
