"""Approving a draft under real traffic: agents clicking "use as note" at once approve it once,
and the note holds the summary once. On SQLite and PostgreSQL, through the running service."""

from __future__ import annotations

import asyncio

from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS
from tests.summaries.calls import SEGMENTS, a_call, agent, call_detail, running, send_transcript
from tests.summaries.test_privacy import DRAFT, _with_draft

pytestmark = LEGACY_WEBSOCKETS_WARNINGS


async def test_agents_approving_one_draft_at_once_approve_it_once(database_url: str) -> None:
    async with running(database_url) as (served, http):
        agents = [await agent(http, name) for name in ("ola", "ewa", "jan", "iza")]
        call_id = await a_call(served, http, "pbx-80")
        await send_transcript(http, call_id, {"segments": SEGMENTS})
        await _with_draft(database_url, call_id)
        answers = await asyncio.gather(
            *(
                http.post(f"/api/v1/calls/{call_id}/summary/approve", json={}, headers=headers)
                for headers in agents * 3
            )
        )
        detail = await call_detail(http, call_id, agents[0])
    assert sorted(a.status_code for a in answers) == [200] + [409] * 11
    [winner] = [a.json() for a in answers if a.status_code == 200]
    assert detail["note"] == DRAFT.summary and detail["noted_by"] == winner["summary"]["approved_by"]
    assert detail["summary"]["status"] == "approved"
    assert detail["disposition"] is None  # the draft had none to give
