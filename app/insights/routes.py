"""`GET /api/v1/stats`: the call KPIs and why customers call, for team leads (supervisors and
admins, or the admin key); `GET /api/v1/stats/calls.csv`: the period's calls for marketing."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import Response
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.roles import runs_the_team
from app.agents.tokens import AgentClaims
from app.calls.models import Call, CallTopic
from app.deps import SessionDep, SettingsDep, Stores, current_agent
from app.insights import postgres_stats, queries
from app.insights.kpis import by_agent, by_day, by_hour, kpis
from app.insights.period import Period, period_of
from app.insights.queries import CallScope
from app.settings import Settings
from app.stores.directory import StoreDirectory
from app.summaries.models import CallSummary
from app.web.auth import bearer_token, secret_matches
from app.web.openapi import secured_by

router = APIRouter(prefix="/api/v1/stats", tags=["insights"])


async def team_lead(request: Request, settings: SettingsDep) -> AgentClaims | None:
    """A supervisor or admin agent (None for the operator's admin key); others 403."""
    token = bearer_token(request)
    if token and secret_matches(settings.admin_api_key, token):
        return None
    agent = await current_agent(request)
    if not runs_the_team(agent.role):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the insights are for supervisors and admins")
    return agent


TeamLead = Annotated[AgentClaims | None, Depends(team_lead)]
Day = Annotated[date | None, Query(description="a day in the store's time zone (RINGCARD_TIMEZONE)")]
Line = Annotated[str | None, Query(max_length=64, description="only this line")]
Agent = Annotated[str | None, Query(max_length=255, description="only calls this agent answered")]
_SECURED = secured_by("agentToken", "adminKey")


StoreFilter = Annotated[
    str | None, Query(max_length=64, description="only calls on this store's lines, in its time zone")
]


async def _zone(stores: StoreDirectory, settings: Settings, store_id: str | None) -> ZoneInfo:
    """The time zone of the store asked for (404 naming one that does not exist), else the
    deployment's."""
    if store_id is None:
        return ZoneInfo(settings.store_timezone)
    store = await stores.find(store_id)
    if store is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no store {store_id!r}")
    return ZoneInfo(store.view.timezone)


def _period(zone: ZoneInfo, first: date | None, last: date | None) -> Period:
    try:
        return period_of(first, last, zone, datetime.now(zone).date())
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None


def _trend(now: Counter[str], before: Counter[str]) -> list[dict[str, Any]]:
    return [
        {"code": code, "calls": now[code], "previous": before[code]}
        for code in sorted(set(now) | set(before), key=lambda c: (-now[c], -before[c], c))
    ]


@router.get("", openapi_extra=_SECURED)
async def stats(
    session: SessionDep,
    settings: SettingsDep,
    stores: Stores,
    _lead: TeamLead,
    from_: Annotated[date | None, Query(alias="from", description="the first day (store time zone)")] = None,
    to: Day = None,
    line: Line = None,
    agent: Agent = None,
    store: StoreFilter = None,
) -> dict[str, Any]:
    """The period's KPIs (docs/kpis.md), with the period before for trends, the busiest hours,
    the days, the agents, and why customers called; with `store`, of its lines in its time zone."""
    scope = CallScope(line, agent, store)
    zone = await _zone(stores, settings, store)
    period = _period(zone, from_, to)
    before = period.previous()
    thresholds = {"service_level_s": settings.service_level_s, "short_abandon_s": settings.short_abandon_s}
    if session.bind.dialect.name == "postgresql":
        figures = await _figures_in_postgres(session, period, before, scope, thresholds)
    else:
        figures = await _figures_in_python(session, period, before, scope, thresholds)
    reasons_now = await queries.reason_counts(session, period.start, period.end, scope)
    reasons_before = await queries.reason_counts(session, before.start, before.end, scope)
    return {
        "period": {
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            "timezone": period.zone.key,
            "days": period.days,
        },
        "thresholds": thresholds,
        **figures,
        "reasons": {kind: _trend(reasons_now[kind], reasons_before[kind]) for kind in reasons_now},
        **await queries.topics(session, period.start, period.end, scope),
    }


async def _figures_in_python(
    session: AsyncSession,
    period: Period,
    before: Period,
    scope: CallScope,
    thresholds: Any,
) -> dict[str, Any]:
    """SQLite: the rows of the period and the one before, counted here."""
    rows = await queries.call_rows(session, before.start, period.end, scope=scope)
    current = queries.in_period(rows, period.start, period.end)
    previous = queries.in_period(rows, before.start, before.end)
    return {
        "kpis": kpis(current, **thresholds),
        "previous": kpis(previous, **thresholds),
        "by_hour": by_hour(current, period.zone),
        "by_day": by_day(current, period.zone, period.day_names()),
        "agents": by_agent(current),
    }


async def _figures_in_postgres(
    session: AsyncSession,
    period: Period,
    before: Period,
    scope: CallScope,
    thresholds: Any,
) -> dict[str, Any]:
    """PostgreSQL: the same figures as aggregates in the database (app/insights/postgres_stats.py)."""
    zone = period.zone.key
    # These few aggregate statements run in well under a second; PostgreSQL's JIT would spend
    # ~600 ms compiling each of them first (measured with bench/stats.py). For this transaction only.
    await session.execute(text("SET LOCAL jit = off"))
    current, previous = await postgres_stats.kpis(
        session, before.start, period.start, period.end, scope, **thresholds
    )
    hours, days = await postgres_stats.by_hour_and_day(
        session, period.start, period.end, scope, zone, period.day_names()
    )
    return {
        "kpis": current,
        "previous": previous,
        "by_hour": hours,
        "by_day": days,
        "agents": await postgres_stats.by_agent(session, period.start, period.end, scope),
    }


CSV_COLUMNS = [
    "started_at",
    "line",
    "direction",
    "state",
    "wait_s",
    "talk_s",
    "answered_by",
    "likely_reason",
    "disposition",
    "ai_reason",
    "orders",
    "products",
]
PERSONAL_COLUMNS = ["number", "customer"]


@router.get("/calls.csv", response_class=Response, openapi_extra=_SECURED)
async def calls_csv(
    session: SessionDep,
    settings: SettingsDep,
    stores: Stores,
    lead: TeamLead,
    from_: Annotated[date | None, Query(alias="from", description="the first day (store time zone)")] = None,
    to: Day = None,
    line: Line = None,
    agent: Agent = None,
    store: StoreFilter = None,
) -> Response:
    """One row per call of the period, for marketing: what it was about in the store's terms. The
    caller's number and name only for an admin (role admin, or the admin key)."""
    scope = CallScope(line, agent, store)
    period = _period(await _zone(stores, settings, store), from_, to)
    personal = lead is None or lead.role == "admin"
    condition = queries.call_filter(period.start, period.end, scope)
    calls = (
        await session.execute(
            select(Call, CallSummary.reason_code)
            .outerjoin(CallSummary, CallSummary.call_id == Call.id)
            .where(condition)
            .order_by(Call.started_at)
        )
    ).all()
    topics: dict[str, dict[str, list[str]]] = {}
    for call_id, kind, label in await session.execute(
        select(CallTopic.call_id, CallTopic.kind, CallTopic.label)
        .join(Call, Call.id == CallTopic.call_id)
        .where(condition)
    ):
        topics.setdefault(call_id, {}).setdefault(kind, []).append(label)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS + (PERSONAL_COLUMNS if personal else []))
    for call, ai_reason in calls:
        about = topics.get(call.id, {})
        row = [
            call.started_at.astimezone(period.zone).isoformat(timespec="seconds"),
            call.line,
            call.direction,
            call.state,
            call.waiting_s if call.waiting_s is not None else "",
            call.talking_s if call.talking_s is not None else "",
            call.answered_by or "",
            ";".join(about.get("reason", [])),
            call.disposition or "",
            ai_reason or "",
            ";".join(about.get("order", [])),
            ";".join(about.get("product", [])),
        ]
        if personal:
            row += [call.from_e164 or call.from_raw, call.customer_name or ""]
        writer.writerow(row)
    filename = f"ringcard-calls-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
