"""Durable jobs in the database: pending → running → done | failed.

Why a table of our own and not a job library: the jobs must live in the databases the service
already runs on (SQLite embedded, PostgreSQL in production) without a broker, be claimed by one
instance of several, and survive restarts. The Python libraries that do this on PostgreSQL
(procrastinate, pgqueuer) do not run on SQLite, and the ones with SQLite support want a broker or
a process of their own. What is needed is small: one conditional UPDATE to claim (with `FOR UPDATE
SKIP LOCKED` on PostgreSQL, so instances never wait on each other's rows), a lease that puts a job
back when its instance died, and a partial unique index that keeps one waiting job per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import table_of, upsert_insert, utcnow
from app.summaries.models import PENDING_JOBS_PREDICATE, AiJob

ERROR_MAX = 500  # characters of an error kept for the agent to read


class JobKind(StrEnum):
    TRANSCRIBE = "transcribe"
    SUMMARISE = "summarise"


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Claimed:
    """A job this instance now runs."""

    id: int
    kind: JobKind
    call_id: str
    attempts: int  # including this one
    recording_url: str | None
    recording_auth: str | None
    language: str | None


async def enqueue(
    session: AsyncSession,
    kind: JobKind,
    call_id: str,
    *,
    run_after: datetime | None = None,
    recording_url: str | None = None,
    recording_auth: str | None = None,
    language: str | None = None,
    sooner: bool = False,
) -> None:
    """Ask for a job. A call has at most one pending job of a kind: asking again moves it to the
    later `run_after` (a stream still speaking), or with `sooner` to the earlier one (the stream
    said it stopped), and takes the newer details; a running job is left alone and the new one
    waits behind it (it will see the newer transcript)."""
    now = utcnow()
    when = run_after or now
    values = {
        "kind": kind.value,
        "call_id": call_id,
        "status": JobStatus.PENDING.value,
        "attempts": 0,
        "recording_url": recording_url,
        "recording_auth": recording_auth,
        "language": language,
        "run_after": when,
        "created_at": now,
        "updated_at": now,
    }
    table = table_of(AiJob)
    statement = upsert_insert(session, table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["call_id", "kind"],
        # The index's own predicate, word for word: PostgreSQL matches the index by it.
        index_where=text(PENDING_JOBS_PREDICATE),
        set_={
            "run_after": _pick(session, sooner)(table.c.run_after, statement.excluded.run_after),
            "recording_url": func.coalesce(statement.excluded.recording_url, table.c.recording_url),
            "recording_auth": func.coalesce(statement.excluded.recording_auth, table.c.recording_auth),
            "language": func.coalesce(statement.excluded.language, table.c.language),
            "updated_at": now,
        },
    )
    await session.execute(statement)


def _pick(session: AsyncSession, sooner: bool) -> Any:
    """The SQL function choosing the earlier (`sooner`) or the later of two times: SQLite's
    two-argument min()/max() are scalar, PostgreSQL names them least()/greatest()."""
    if session.bind.dialect.name == "sqlite":
        return func.min if sooner else func.max
    return func.least if sooner else func.greatest


async def claim(session: AsyncSession, kind: JobKind, worker: str) -> Claimed | None:
    """The next due pending job of `kind`, now running here; None when there is none. One
    statement: two instances never claim the same job."""
    now = utcnow()
    table = table_of(AiJob)
    due = (
        select(table.c.id)
        .where(
            table.c.kind == kind.value, table.c.status == JobStatus.PENDING.value, table.c.run_after <= now
        )
        .order_by(table.c.run_after, table.c.id)
        .limit(1)
    )
    if session.bind.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    row = (
        await session.execute(
            update(table)
            .where(table.c.id == due.scalar_subquery(), table.c.status == JobStatus.PENDING.value)
            .values(
                status=JobStatus.RUNNING.value,
                attempts=table.c.attempts + 1,
                claimed_by=worker,
                claimed_at=now,
                updated_at=now,
            )
            .returning(
                table.c.id,
                table.c.call_id,
                table.c.attempts,
                table.c.recording_url,
                table.c.recording_auth,
                table.c.language,
            )
        )
    ).first()
    if row is None:
        return None
    return Claimed(
        id=row.id,
        kind=kind,
        call_id=row.call_id,
        attempts=row.attempts,
        recording_url=row.recording_url,
        recording_auth=row.recording_auth,
        language=row.language,
    )


async def finish(session: AsyncSession, job_id: int, worker: str) -> None:
    await _settle(session, job_id, worker, status=JobStatus.DONE, error=None)


async def fail(session: AsyncSession, job_id: int, worker: str, error: str) -> None:
    await _settle(session, job_id, worker, status=JobStatus.FAILED, error=error)


async def retry_later(session: AsyncSession, job_id: int, worker: str, error: str, delay: timedelta) -> None:
    """Back to pending after a passing failure (the model timed out, its server restarted). If
    another pending job of the call was asked for meanwhile, that one covers this: this ends."""
    now = utcnow()
    table = table_of(AiJob)
    try:
        # A savepoint: the unique index may refuse a second pending job of the call (one asked
        # for meanwhile), and that refusal must not undo the rest of the transaction.
        async with session.begin_nested():
            await session.execute(
                update(table)
                .where(
                    table.c.id == job_id,
                    table.c.claimed_by == worker,
                    table.c.status == JobStatus.RUNNING.value,
                )
                .values(
                    status=JobStatus.PENDING.value,
                    last_error=error[:ERROR_MAX],
                    run_after=now + delay,
                    claimed_by=None,
                    claimed_at=None,
                    updated_at=now,
                )
            )
    except IntegrityError:
        await _settle(session, job_id, worker, status=JobStatus.DONE, error=error)


async def _settle(
    session: AsyncSession, job_id: int, worker: str, *, status: JobStatus, error: str | None
) -> None:
    table = table_of(AiJob)
    await session.execute(
        update(table)
        # Only the instance still holding the job settles it: one whose lease ran out and was
        # handed on must not overwrite what the next one did.
        .where(table.c.id == job_id, table.c.claimed_by == worker, table.c.status == JobStatus.RUNNING.value)
        .values(
            status=status.value,
            last_error=error[:ERROR_MAX] if error else None,
            updated_at=utcnow(),
        )
    )


async def release_expired(session: AsyncSession, lease: timedelta) -> int:
    """Running jobs whose instance has not settled them within the lease (it died, or was
    stopped hard) go back to pending, for any instance to pick up. Returns how many. A job whose
    call meanwhile got a newer pending job of the same kind is ended instead: the newer covers it."""
    now = utcnow()
    table = table_of(AiJob)
    other = table.alias("other")
    covered = (
        select(other.c.id)
        .where(
            other.c.call_id == table.c.call_id,
            other.c.kind == table.c.kind,
            other.c.status == JobStatus.PENDING.value,
        )
        .exists()
    )
    expired = and_(table.c.status == JobStatus.RUNNING.value, table.c.claimed_at < now - lease)
    await session.execute(
        update(table)
        .where(expired, covered)
        .values(status=JobStatus.DONE.value, last_error="its lease ran out", updated_at=now)
    )
    result = await session.execute(
        update(table)
        .where(expired)
        .values(
            status=JobStatus.PENDING.value, claimed_by=None, claimed_at=None, run_after=now, updated_at=now
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def release_mine(session: AsyncSession, worker: str) -> None:
    """On a clean stop: what this instance was running goes back to pending at once (unless a
    newer pending job covers it)."""
    rows = (
        await session.scalars(
            select(AiJob.id).where(AiJob.claimed_by == worker, AiJob.status == JobStatus.RUNNING.value)
        )
    ).all()
    for job_id in rows:
        await retry_later(session, job_id, worker, "the instance running it stopped", timedelta(0))
