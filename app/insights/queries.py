"""Reading what the insights count: the calls of a period, what they were about, their
dispositions and AI reasons. Core selects of plain tuples: a month of a busy store is tens of
thousands of rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import Call, CallTopic
from app.calls.store_filter import of_store
from app.insights.kpis import CallRow
from app.summaries.models import CallSummary

TOP = 10


class CallScope(NamedTuple):
    """Which calls the figures are of; None is any."""

    line: str | None = None
    agent: str | None = None  # who answered
    store: str | None = None  # whose lines they came in on (app/calls/store_filter.py)


def call_filter(start: datetime, end: datetime, scope: CallScope) -> ColumnElement[bool]:
    condition = and_(Call.started_at >= start, Call.started_at < end)
    if scope.line:
        condition = and_(condition, Call.line == scope.line)
    if scope.agent:
        condition = and_(condition, Call.answered_by == scope.agent)
    if scope.store:
        condition = and_(condition, of_store(scope.store))
    return condition


async def call_rows(
    session: AsyncSession, start: datetime, end: datetime, *, scope: CallScope
) -> list[CallRow]:
    """The calls from `start` to `end`, with their follow-up flags (kept as calls end)."""
    statement = select(
        Call.id,
        Call.direction,
        Call.blocked,
        Call.state,
        Call.line,
        Call.started_at,
        Call.answered_at,
        Call.ended_at,
        Call.talking_s,
        Call.answered_by,
        Call.noted_at,
        Call.done,
        Call.from_e164,
        Call.called_again,
        Call.called_back,
    ).where(call_filter(start, end, scope))
    return [CallRow(*row) for row in (await session.execute(statement)).tuples()]


def in_period(rows: Sequence[CallRow], start: datetime, end: datetime) -> list[CallRow]:
    """The rows (already of the line and agent asked for) that started from `start` to `end`."""
    return [r for r in rows if start <= r.started_at < end]


def _topics_of(kind: str, start: datetime, end: datetime, scope: CallScope) -> Any:
    """The period's topics of `kind`: one range scan of call_topics (topics are kept for offered
    calls only, with their call's start); a line, agent or store filter joins the calls."""
    condition = and_(CallTopic.kind == kind, CallTopic.started_at >= start, CallTopic.started_at < end)
    if scope == CallScope():
        return condition, None
    return and_(condition, call_filter(start, end, scope)), Call


async def reason_counts(
    session: AsyncSession, start: datetime, end: datetime, scope: CallScope
) -> dict[str, Counter[str]]:
    """Inbound calls of the period by likely reason at ring, by disposition and by AI reason."""
    inbound = and_(call_filter(start, end, scope), Call.direction == "in", Call.blocked.is_(False))
    condition, joined = _topics_of("reason", start, end, scope)
    statement = select(CallTopic.key, func.count()).where(condition).group_by(CallTopic.key)
    if joined is not None:
        statement = statement.join(Call, Call.id == CallTopic.call_id)
    likely = await session.execute(statement)
    dispositions = await session.execute(
        select(Call.disposition, func.count())
        .where(inbound, Call.disposition.is_not(None))
        .group_by(Call.disposition)
    )
    ai = await session.execute(
        select(CallSummary.reason_code, func.count())
        .join(Call, Call.id == CallSummary.call_id)
        .where(inbound, CallSummary.reason_code.is_not(None))
        .group_by(CallSummary.reason_code)
    )
    return {
        "likely": Counter({key: n for key, n in likely.all()}),
        "disposition": Counter({key: n for key, n in dispositions.all()}),
        "ai": Counter({key: n for key, n in ai.all()}),
    }


async def topics(
    session: AsyncSession, start: datetime, end: datetime, scope: CallScope
) -> dict[str, list[dict[str, Any]]]:
    """The orders, products and case kinds behind the period's inbound calls, and who called most."""
    inbound = and_(call_filter(start, end, scope), Call.direction == "in", Call.blocked.is_(False))
    found: dict[str, list[dict[str, Any]]] = {}
    for kind, name in (("order", "orders"), ("product", "products"), ("case", "case_kinds")):
        calls = func.count().label("calls")
        condition, joined = _topics_of(kind, start, end, scope)
        statement = (
            select(CallTopic.key, func.max(CallTopic.label), calls)
            .where(condition)
            .group_by(CallTopic.key)
            .order_by(calls.desc(), CallTopic.key)
            .limit(TOP)
        )
        if joined is not None:
            statement = statement.join(Call, Call.id == CallTopic.call_id)
        rows = await session.execute(statement)
        if kind == "order":
            found[name] = [{"number": key, "calls": n} for key, _label, n in rows]
        elif kind == "product":
            found[name] = [
                {"title": label, "sku": None if key == label else key, "calls": n} for key, label, n in rows
            ]
        else:
            found[name] = [{"kind": key, "calls": n} for key, _label, n in rows]
    calls = func.count().label("calls")
    customers = await session.execute(
        select(Call.customer_external_id, func.max(Call.customer_name), calls)
        .where(inbound, Call.customer_external_id.is_not(None))
        .group_by(Call.customer_external_id)
        .order_by(calls.desc(), Call.customer_external_id)
        .limit(TOP)
    )
    found["top_customers"] = [{"external_id": ext, "name": name, "calls": n} for ext, name, n in customers]
    return found
