"""The AI's draft of a call's summary: written by the worker, approved by an agent into the
call's note. An approved summary is never overwritten, and an agent's own note never replaced."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import Call
from app.db import table_of, upsert_insert, utcnow
from app.summaries.models import CallSummary
from app.summaries.prompt import SummaryDraft

ERROR_MAX = 500
NOTE_MAX = 10_000


class SummaryStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"
    APPROVED = "approved"


class NoDraft(Exception):
    """There is no draft to approve (none yet, it failed, or it was approved already)."""


async def mark_pending(session: AsyncSession, call_id: str, language: str) -> bool:
    """The worker starts on the call's summary. False when an agent approved one already: that
    one stays, and nothing is written."""
    now = utcnow()
    table = table_of(CallSummary)
    statement = upsert_insert(session, table).values(
        call_id=call_id, status=SummaryStatus.PENDING.value, language=language, updated_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=["call_id"],
        set_={"status": SummaryStatus.PENDING.value, "error": None, "language": language, "updated_at": now},
        where=table.c.status != SummaryStatus.APPROVED.value,
    )
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


async def store_draft(
    session: AsyncSession, call_id: str, draft: SummaryDraft, *, model: str, language: str
) -> bool:
    """The validated draft, whole. False when it is not stored (approved meanwhile)."""
    result = await session.execute(
        update(CallSummary)
        .where(CallSummary.call_id == call_id, CallSummary.status != SummaryStatus.APPROVED.value)
        .values(
            status=SummaryStatus.READY.value,
            text=draft.summary,
            reason_code=draft.reason_code,
            disposition=draft.disposition or None,
            sentiment=draft.sentiment,
            action_items_json=json.dumps(draft.action_items, ensure_ascii=False),
            language=language,
            model=model[:255],
            error=None,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def store_failure(session: AsyncSession, call_id: str, error: str, *, final: bool) -> None:
    """Why the draft could not be made. `final`: it will not be tried again unless an agent asks;
    otherwise it stays pending, with the reason shown, until the next attempt."""
    await session.execute(
        update(CallSummary)
        .where(CallSummary.call_id == call_id, CallSummary.status != SummaryStatus.APPROVED.value)
        .values(
            status=SummaryStatus.FAILED.value if final else SummaryStatus.PENDING.value,
            error=error[:ERROR_MAX],
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )


def noted(existing: str | None, summary: str) -> str:
    """The note once the summary is used: the summary after what the agent wrote, if anything."""
    if existing and existing.strip():
        if summary.strip() in existing:
            return existing
        return f"{existing.rstrip()}\n\n{summary}"[:NOTE_MAX]
    return summary[:NOTE_MAX]


async def approve(
    session: AsyncSession, call_id: str, agent_name: str, *, text: str | None, now: datetime
) -> None:
    """The agent accepts the draft (as it is, or as they edited it): it becomes the call's note,
    so the next pop of this caller shows it. One conditional UPDATE moves the draft from ready
    to approved, so two agents approving at once approve once (on SQLite too, where there are no
    row locks), and a worker's late draft cannot slip under the approval."""
    edited = text.strip() if text is not None and text.strip() else None
    table = table_of(CallSummary)
    approved = (
        await session.execute(
            update(table)
            .where(
                table.c.call_id == call_id,
                table.c.status == SummaryStatus.READY.value,
                table.c.text.is_not(None),
            )
            .values(
                status=SummaryStatus.APPROVED.value,
                text=func.coalesce(edited, table.c.text),
                approved_by=agent_name[:255],
                approved_at=now,
                updated_at=now,
            )
            .returning(table.c.text, table.c.disposition)
        )
    ).first()
    if approved is None:
        raise NoDraft
    final_text, disposition = approved
    # The summary's row is this transaction's now: the note is written once.
    call = await session.scalar(select(Call).where(Call.id == call_id).with_for_update())
    if call is None:
        raise NoDraft
    call.note = noted(call.note, final_text)
    if not call.disposition and disposition:
        call.disposition = disposition[:64]
    call.noted_by = agent_name[:255]
    call.noted_at = now
