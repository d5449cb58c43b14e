"""Summary jobs live in the database: one that an instance was running when it stopped (cleanly,
or dead without a word) is picked up again by the next, and instances racing for jobs each get
different ones. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update

from app.db import create_engine, make_sessionmaker, utcnow
from app.summaries import jobs
from app.summaries.jobs import JobKind
from app.summaries.local_model import LocalModel
from app.summaries.models import AiJob
from tests.fixtures.chat_endpoints import chat_endpoint
from tests.fixtures.platform_payloads import rows
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS
from tests.summaries.calls import SEGMENTS, a_call, agent, running, send_transcript, summary_settled

pytestmark = LEGACY_WEBSOCKETS_WARNINGS


async def _until(database_url: str, status: str) -> list[tuple[object, ...]]:
    for _ in range(200):
        found = await rows(database_url, select(AiJob.status, AiJob.claimed_by))
        if found and found[0][0] == status:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no job became {status}: {found}")


async def test_a_job_running_when_its_instance_stops_is_finished_by_the_next_one(
    database_url: str, local_model: LocalModel
) -> None:
    async with chat_endpoint("slow") as hanging:
        async with running(database_url, llm_base_url=hanging.base_url, llm_timeout_s=60) as (served, http):
            call_id = await a_call(served, http, "pbx-60")
            await send_transcript(http, call_id, {"segments": SEGMENTS})
            [(_, first_instance)] = await _until(database_url, "running")
        # Stopped mid-job: the job went back to pending for whoever comes next.
        assert await rows(database_url, select(AiJob.status, AiJob.claimed_by)) == [("pending", None)]
    async with running(database_url, llm_base_url=local_model.base_url, llm_model=local_model.model) as (
        _served,
        http,
    ):
        detail = await summary_settled(http, call_id, await agent(http))
    assert detail["summary"]["status"] == "ready"
    [(status, claimed_by)] = await rows(database_url, select(AiJob.status, AiJob.claimed_by))
    assert status == "done" and claimed_by not in (None, first_instance)


async def test_a_job_left_running_by_an_instance_that_died_is_taken_over_when_its_lease_runs_out(
    database_url: str, local_model: LocalModel
) -> None:
    async with running(database_url) as (served, http):
        call_id = await a_call(served, http, "pbx-61")
        await send_transcript(http, call_id, {"segments": SEGMENTS})
    # An instance that claimed it and was killed: it never said anything again.
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(AiJob).values(
                    status="running", claimed_by="dead-instance", claimed_at=utcnow() - timedelta(hours=2)
                )
            )
    finally:
        await engine.dispose()
    async with running(database_url, llm_base_url=local_model.base_url, llm_model=local_model.model) as (
        _served,
        http,
    ):
        detail = await summary_settled(http, call_id, await agent(http))
    assert detail["summary"]["status"] == "ready"


async def test_instances_racing_for_jobs_each_claim_different_ones_and_none_twice(database_url: str) -> None:
    async with running(database_url) as (served, http):
        calls = [await a_call(served, http, f"pbx-claim-{n}", with_anna=n == 0) for n in range(40)]
    engine = create_engine(database_url, pool_size=8)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session, session.begin():
            for call in calls:
                await jobs.enqueue(session, JobKind.SUMMARISE, call)
                await jobs.enqueue(session, JobKind.SUMMARISE, call)  # asked twice: still one job

        async def instance(name: str) -> list[str]:
            mine: list[str] = []
            while True:
                async with sessions() as session, session.begin():
                    job = await jobs.claim(session, JobKind.SUMMARISE, name)
                if job is None:
                    return mine
                mine.append(job.call_id)
                await asyncio.sleep(0)

        claimed = await asyncio.gather(*(instance(f"instance-{n}") for n in range(6)))
    finally:
        await engine.dispose()
    every = [call for mine in claimed for call in mine]
    assert sorted(every) == sorted(calls)
    assert await rows(database_url, select(AiJob.status).distinct()) == [("running",)]
