"""Repeat calls and call-backs as the stats count them: flags the calls get as they end
(app/calls/follow_ups.py). Many calls of a few numbers, their endings racing through the real CTI
webhook of a running service in random order (some calls heard of only through their hang-up),
must leave exactly the flags the definitions give from the stored calls, on SQLite and PostgreSQL;
a call-back dialled as a national number counts; an install from before the flags gets them."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.db.migrate import upgrade
from app.kit.phones import normalise
from app.main import create_app
from tests.conftest import ADMIN, execute, in_own_thread, make_settings
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, Served, serve
from tests.insights.test_stats import LINE, TOKEN, WARSAW, Clock

pytestmark = LEGACY_WEBSOCKETS_WARNINGS

REPEAT = timedelta(days=7)
CALLBACK = timedelta(hours=24)
NUMBERS = [f"+4860{n}000{n}0{n}" for n in range(1, 7)]
START = datetime(2026, 11, 2, 9, tzinfo=WARSAW)  # a Monday
WEBHOOK = f"/webhooks/cti/{TOKEN}"


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[tuple[Served, Clock]]:
    app = create_app(make_settings(database_url, cti_token=TOKEN, timezone="Europe/Warsaw"))
    clock = Clock(START)
    app.state.clock = clock
    async with serve(app) as running:
        yield running, clock


def national(e164: str) -> str:
    """How an agent types a Polish number: without the country code, in groups."""
    digits = e164.removeprefix("+48")
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def planned_calls(rng: random.Random) -> list[dict[str, Any]]:
    """Eight inbound calls of each of six numbers over weeks (gaps of hours to ten days, so some fall
    within the 7 days and some not), a third of them missed; outbound calls to some missed
    callers, dialled as national numbers, within 24 h of the miss or later."""
    plan: list[dict[str, Any]] = []
    for n, number in enumerate(NUMBERS):
        at = START + timedelta(hours=n)
        for k in range(8):
            at += timedelta(hours=rng.choice([3, 20, 50, 130, 170, 240]))
            missed = rng.random() < 0.35
            inbound = {"id": f"in-{n}-{k}", "direction": "in", "number": number, "at": at}
            plan.append({**inbound, "missed": missed})
            if missed and rng.random() < 0.7:
                later = at + timedelta(hours=rng.choice([1, 5, 23, 26, 40]))
                plan.append(
                    {"id": f"out-{n}-{k}", "direction": "out", "number": number, "at": later, "missed": False}
                )
    return plan


def fields(call: dict[str, Any], event: str) -> dict[str, str]:
    if call["direction"] == "in":
        parties = {"from": call["number"], "to": LINE}
    else:
        parties = {"from": "201", "to": national(call["number"])}
    extra = {"user": "ola"} if event == "answer" else {}
    if event == "hangup":
        extra = {"cause": "cancel" if call["missed"] else "normalClearing"}
    return {"event": event, "callId": call["id"], "direction": call["direction"], **parties, **extra}


async def end(http: httpx.AsyncClient, call: dict[str, Any]) -> None:
    if not call["missed"]:
        assert (await http.post(WEBHOOK, data=fields(call, "answer"))).status_code == 200
    await asyncio.sleep(0)
    assert (await http.post(WEBHOOK, data=fields(call, "hangup"))).status_code == 200


def expected_flags(rows: list[tuple[Any, ...]]) -> dict[str, tuple[bool, bool]]:
    """The definitions (docs/kpis.md) applied to the stored calls themselves."""
    calls = [(cid, direction, e164, to, _utc(started)) for cid, direction, e164, to, started, *_ in rows]
    flags = {}
    for cid, direction, e164, _to, started in calls:
        if direction != "in" or e164 is None:
            continue
        again = any(d == "in" and e == e164 and started < s <= started + REPEAT for _c, d, e, _t, s in calls)
        back = any(
            d == "out" and normalise(t, "PL").e164 == e164 and started < s <= started + CALLBACK
            for _c, d, _e, t, s in calls
        )
        flags[cid] = (again, back)
    return flags


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def test_racing_endings_leave_exactly_the_repeat_and_call_back_flags_of_the_definitions(
    served: tuple[Served, Clock], database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    running, clock = served
    rng = random.Random(18)
    plan = planned_calls(rng)
    # A few calls the PBX reports only as they end (the first event is the hang-up), at the end.
    last = max(c["at"] for c in plan)
    heard_late = [
        {"id": f"late-{n}", "direction": "in", "number": NUMBERS[n], "at": last, "missed": True}
        for n in (0, 3)
    ]
    async with httpx.AsyncClient(base_url=running.http_url, timeout=60) as http:
        # Each call rings at its planned time (that is its start) ...
        for call in sorted(plan, key=lambda c: c["at"]):
            clock.at(call["at"])
            assert (await http.post(WEBHOOK, data=fields(call, "newCall"))).status_code == 200
        # ... and they all end at once, in random order, the late ones first heard of now.
        clock.at(last + timedelta(minutes=5))
        endings = [end(http, call) for call in plan + heard_late]
        rng.shuffle(endings)
        await asyncio.gather(*endings)
        await running.on_server(running.app.state.intake.drain())
        days = f"from={(START - timedelta(days=1)).date()}&to={(last + timedelta(days=1)).date()}"
        stats = (await http.get(f"/api/v1/stats?{days}", headers=ADMIN)).json()

    rows = await execute(
        database_url,
        "SELECT provider_call_id, direction, from_e164, to_raw, started_at, called_again, called_back, "
        "state FROM calls",
    )
    assert len(rows) == len(plan) + len(heard_late)
    # Every marking went through (none lost to a deadlock between endings of one number).
    assert not [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("ringcard")
    ]
    stored = {c: (bool(again), bool(back)) for c, d, e, _t, _s, again, back, _st in rows if d == "in" and e}
    expected = expected_flags(rows)
    assert stored == expected
    # Not a trivial plan: each flag is set on some calls and not on others.
    assert {again for again, _ in expected.values()} == {True, False}
    assert {back for _, back in expected.values()} == {True, False}

    answered = [cid for cid, d, e, _t, _s, _a, _b, state in rows if d == "in" and e and state == "completed"]
    missed = [cid for cid, d, e, _t, _s, _a, _b, state in rows if d == "in" and e and state == "missed"]
    kpis = stats["kpis"]
    assert kpis["repeat_rate_7d"] == pytest.approx(sum(expected[c][0] for c in answered) / len(answered))
    assert kpis["callback_rate"] == pytest.approx(sum(expected[c][1] for c in missed) / len(missed))


BEFORE_FLAGS = "d4f6a8b0c2e4"
_CALL = (
    "INSERT INTO calls (id, provider, provider_call_id, direction, from_raw, from_e164, to_raw, line, "
    "state, started_at, blocked, done, seq, updated_at) VALUES ('{id}', 'cti', '{id}', '{direction}', "
    "'x', {e164}, '{to}', 'l', '{state}', '{at}', false, {done}, 1, '2026-11-01 00:00:00')"
)


async def test_calls_logged_before_the_flags_get_them_when_the_install_upgrades(blank_url: str) -> None:
    in_own_thread(upgrade, blank_url, BEFORE_FLAGS)
    for values in (
        # Anna calls on the 1st, again on the 5th (a repeat) and on the 20th (not one).
        {"id": "a1", "direction": "in", "e164": "'+48601234567'", "to": "l", "at": "2026-11-01 10:00:00"},
        {"id": "a2", "direction": "in", "e164": "'+48601234567'", "to": "l", "at": "2026-11-05 10:00:00"},
        {"id": "a3", "direction": "in", "e164": "'+48601234567'", "to": "l", "at": "2026-11-20 10:00:00"},
        # Ben's missed call is called back 2 h later, Clara's only after two days.
        {"id": "b1", "direction": "in", "e164": "'+48602000002'", "to": "l", "at": "2026-11-02 10:00:00"},
        {"id": "o1", "direction": "out", "e164": "NULL", "to": "+48602000002", "at": "2026-11-02 12:00:00"},
        {"id": "c1", "direction": "in", "e164": "'+48603000003'", "to": "l", "at": "2026-11-02 10:00:00"},
        {"id": "o2", "direction": "out", "e164": "NULL", "to": "+48603000003", "at": "2026-11-04 12:00:00"},
    ):
        state, done = ("completed", "true") if values["direction"] == "out" else ("missed", "false")
        await execute(blank_url, _CALL.format(state=state, done=done, **values))
    in_own_thread(upgrade, blank_url)

    flags = await execute(blank_url, "SELECT id, called_again, called_back, to_e164 FROM calls ORDER BY id")
    assert [(cid, bool(again), bool(back), to) for cid, again, back, to in flags] == [
        ("a1", True, False, None),
        ("a2", False, False, None),
        ("a3", False, False, None),
        ("b1", False, True, None),
        ("c1", False, False, None),
        ("o1", False, False, "+48602000002"),
        ("o2", False, False, "+48603000003"),
    ]
