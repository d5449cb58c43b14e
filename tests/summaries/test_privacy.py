"""Privacy: erasing a customer erases their calls' transcripts, summaries and jobs (and a
transcript arriving after that stores nothing); RINGCARD_TRANSCRIPT_RETENTION_DAYS deletes old
transcripts and keeps the summaries; transcripts never reach the log."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.db import create_engine, make_sessionmaker, utcnow
from app.settings import Settings
from app.summaries.drafts import store_draft
from app.summaries.models import AiJob, CallSummary, TranscriptPart
from app.summaries.prompt import SummaryDraft
from app.summaries.worker import SummaryWorker
from tests.conftest import SYNC, make_settings
from tests.fixtures.platform_payloads import rows
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS
from tests.summaries.calls import SEGMENTS, a_call, agent, call_detail, running, send_transcript

pytestmark = LEGACY_WEBSOCKETS_WARNINGS

DRAFT = SummaryDraft(
    summary="Anna asked where order #1042 is.", reason_code="where_is_my_order", sentiment="neutral"
)


async def _with_draft(database_url: str, call_id: str) -> None:
    engine = create_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            session.add(CallSummary(call_id=call_id, status="pending", updated_at=utcnow()))
            await session.flush()
            assert await store_draft(session, call_id, DRAFT, model="test", language="en")
    finally:
        await engine.dispose()


async def test_erasing_a_customer_erases_their_calls_transcripts_and_summaries(database_url: str) -> None:
    async with running(database_url) as (served, http):
        ola = await agent(http)
        call_id = await a_call(served, http, "pbx-70")
        await send_transcript(http, call_id, {"segments": SEGMENTS})
        await _with_draft(database_url, call_id)
        assert (await call_detail(http, call_id, ola))["summary"]["status"] == "ready"
        assert (await http.delete("/api/v1/customers/c-1", headers=SYNC)).json()["erased"] is True
        detail = await call_detail(http, call_id, ola)
        late = await send_transcript(http, call_id, {"text": "Anna Nowak again"})
    assert detail["transcript"] is None and detail["summary"] is None and detail["note"] is None
    assert late.status_code == 202 and late.json()["parts"] == 0
    for model in (TranscriptPart, CallSummary, AiJob):
        assert await rows(database_url, select(model.call_id)) == []


async def test_old_transcripts_go_after_the_retention_period_and_their_summaries_stay(
    database_url: str,
) -> None:
    async with running(database_url) as (served, http):
        old_call = await a_call(served, http, "pbx-71")
        new_call = await a_call(served, http, "pbx-72", with_anna=False)
        for call in (old_call, new_call):
            await send_transcript(http, call, {"segments": SEGMENTS})
            await _with_draft(database_url, call)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(TranscriptPart)
                .where(TranscriptPart.call_id == old_call)
                .values(received_at=utcnow() - timedelta(days=31))
            )
        settings: Settings = make_settings(database_url, transcript_retention_days=30)
        async with make_sessionmaker(engine)() as session, session.begin():
            removed = await SummaryWorker(
                make_sessionmaker(engine), settings, instance_id="t"
            ).apply_retention(session)
    finally:
        await engine.dispose()
    assert removed == len(SEGMENTS)
    assert {c for (c,) in await rows(database_url, select(TranscriptPart.call_id).distinct())} == {new_call}
    assert sorted(await rows(database_url, select(CallSummary.call_id, CallSummary.status))) == sorted(
        [(old_call, "ready"), (new_call, "ready")]
    )


async def test_transcripts_never_reach_the_log(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    # Everything Ringcard logs, at its most talkative (a database driver's own debug log of
    # statements is not Ringcard's: RINGCARD_LOG_LEVEL keeps libraries at WARNING).
    caplog.set_level(logging.DEBUG, logger="ringcard")
    async with running(database_url) as (served, http):
        call_id = await a_call(served, http, "pbx-73")
        await send_transcript(http, call_id, {"segments": SEGMENTS})
        await send_transcript(http, call_id, {"text": "the whole secret story"})
    assert "secret story" not in caplog.text and "has not arrived yet" not in caplog.text
