"""The KPIs of GET /api/v1/stats against their formulas (docs/kpis.md), from calls with known
timings made through the real CTI webhook of a running service (the server's clock is the test's,
so every wait and talk is exact), on SQLite and PostgreSQL; the period's days and hours in the
store's time zone across a DST change; who may see them; the CSV for marketing."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.main import create_app
from tests.conftest import ADMIN, make_settings
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, Served, create_agent, serve
from tests.telephony.test_twilio_calls import store_anna

pytestmark = LEGACY_WEBSOCKETS_WARNINGS

TOKEN = "cti-token-for-stats-tests-0123"
LINE = "+48221234567"
WARSAW = ZoneInfo("Europe/Warsaw")
# Sunday 2026-10-25 is the day Poland leaves summer time: 02:00-03:00 happens twice.
DST_DAY = datetime(2026, 10, 25, tzinfo=WARSAW)
ANNA, BEN, CLARA, DAN = "+48601234567", "+48602000002", "+48603000003", "+48604000004"


class Clock:
    def __init__(self, at: datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now

    def at(self, moment: datetime) -> None:
        self.now = moment.timestamp()


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[tuple[Served, Clock]]:
    settings = make_settings(
        database_url, cti_token=TOKEN, timezone="Europe/Warsaw", service_level_s=10, short_abandon_s=3
    )
    app = create_app(settings)
    clock = Clock(datetime(2026, 10, 24, 9, tzinfo=WARSAW))
    app.state.clock = clock
    async with serve(app) as running:
        yield running, clock


async def supervisor(
    http: httpx.AsyncClient, username: str = "lead", role: str = "supervisor"
) -> dict[str, str]:
    created = await http.post(
        "/api/v1/agents",
        json={
            "username": username,
            "display_name": username.title(),
            "password": "correct horse",
            "lines": [LINE],
            "role": role,
        },
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    token = (await http.post("/auth/token", json={"username": username, "password": "correct horse"})).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


async def call(
    served: Served,
    http: httpx.AsyncClient,
    clock: Clock,
    pbx_id: str,
    caller: str,
    start: datetime,
    *,
    answer_after_s: float | None,
    end_after_s: float,
    direction: str = "in",
) -> None:
    """One call through the CTI webhook at the given local times: answered by ola or not."""
    parties = {"from": caller, "to": LINE} if direction == "in" else {"from": "201", "to": caller}
    base = {**parties, "direction": direction, "callId": pbx_id}
    url = f"/webhooks/cti/{TOKEN}"
    clock.at(start)
    assert (await http.post(url, data={"event": "newCall", **base})).status_code == 200
    if answer_after_s is not None:
        clock.now = start.timestamp() + answer_after_s
        assert (await http.post(url, data={"event": "answer", "user": "ola", **base})).status_code == 200
    clock.now = start.timestamp() + end_after_s
    cause = "normalClearing" if answer_after_s is not None else "cancel"
    assert (await http.post(url, data={"event": "hangup", "cause": cause, **base})).status_code == 200
    await served.on_server(served.app.state.intake.drain())


async def the_week(served: Served, http: httpx.AsyncClient, clock: Clock) -> None:
    """Five offered calls and an outbound call-back, with every timing known."""
    at = datetime(2026, 10, 24, 9, 30, tzinfo=WARSAW)  # Saturday, summer time
    await call(served, http, clock, "c1", ANNA, at, answer_after_s=4, end_after_s=64)
    await call(served, http, clock, "c2", BEN, at.replace(hour=10), answer_after_s=15, end_after_s=45)
    await call(served, http, clock, "c3", CLARA, at.replace(hour=11), answer_after_s=None, end_after_s=2)
    await call(served, http, clock, "c4", DAN, at.replace(hour=12), answer_after_s=None, end_after_s=20)
    # Dan is called back the same afternoon; Anna calls again the next day, in winter time.
    await call(
        served, http, clock, "o1", DAN, at.replace(hour=15), answer_after_s=1, end_after_s=61, direction="out"
    )
    await call(
        served,
        http,
        clock,
        "c5",
        ANNA,
        datetime(2026, 10, 25, 23, 30, tzinfo=WARSAW),
        answer_after_s=2,
        end_after_s=12,
    )


async def test_every_kpi_is_its_formula_over_calls_with_known_timings(
    served: tuple[Served, Clock],
) -> None:
    running, clock = served
    async with httpx.AsyncClient(base_url=running.http_url, timeout=30) as http:
        await store_anna(http)
        await create_agent(http, "ola", [LINE])
        lead = await supervisor(http)
        await the_week(running, http, clock)
        answer = await http.get("/api/v1/stats?from=2026-10-19&to=2026-10-25", headers=lead)
    assert answer.status_code == 200, answer.text
    stats = answer.json()
    assert stats["period"] == {
        "from": "2026-10-19",
        "to": "2026-10-25",
        "timezone": "Europe/Warsaw",
        "days": 7,
    }
    k = stats["kpis"]
    assert (k["offered"], k["answered"], k["missed"], k["short_abandoned"]) == (5, 3, 2, 1)
    assert k["service_level"] == pytest.approx(2 / (5 - 1))  # waits 4 and 2 within 10 s; 15 is not
    assert k["asa_s"] == pytest.approx((4 + 15 + 2) / 3)
    assert k["asa_p90_s"] == pytest.approx(15)
    assert k["aht_s"] == pytest.approx((60 + 30 + 10) / 3)
    assert k["missed_rate"] == pytest.approx(2 / 5)
    assert k["callback_rate"] == pytest.approx(1 / 2)  # Dan was called back, Clara not
    assert k["repeat_rate_7d"] == pytest.approx(1 / 3)  # Anna called again; Ben and Anna's second did not
    assert stats["previous"]["offered"] == 0
    # The hours are the store's: 09:30 on Saturday (summer), 23:30 on Sunday (winter, after DST).
    grid = stats["by_hour"]
    assert grid[5][9] == {"offered": 1, "answered": 1, "missed": 0}
    assert grid[5][11] == {"offered": 1, "answered": 0, "missed": 1}
    assert grid[6][23] == {"offered": 1, "answered": 1, "missed": 0}
    assert sum(cell["offered"] for day in grid for cell in day) == 5
    days = {d["date"]: d for d in stats["by_day"]}
    assert len(days) == 7 and days["2026-10-24"]["offered"] == 4 and days["2026-10-25"]["offered"] == 1
    assert stats["agents"] == [
        {"agent": "ola", "answered": 3, "asa_s": pytest.approx(7.0), "aht_s": pytest.approx(100 / 3)}
    ]


async def test_why_customers_call_counts_reasons_orders_and_products_from_the_cards(
    served: tuple[Served, Clock],
) -> None:
    running, clock = served
    async with httpx.AsyncClient(base_url=running.http_url, timeout=30) as http:
        await store_anna(http)
        await create_agent(http, "ola", [LINE])
        lead = await supervisor(http)
        await the_week(running, http, clock)
        stats = (await http.get("/api/v1/stats?from=2026-10-19&to=2026-10-25", headers=lead)).json()
    likely = {row["code"]: row["calls"] for row in stats["reasons"]["likely"]}
    # Anna's two calls pop with her open complaint; the others match nobody.
    assert likely == {"open_complaint": 2, "none": 3}
    assert stats["orders"] == [{"number": "#1042", "calls": 2}]
    assert stats["case_kinds"] == [{"kind": "complaint", "calls": 2}]
    assert stats["top_customers"] == [{"external_id": "c-1", "name": "Anna Nowak", "calls": 2}]


async def test_only_team_leads_see_the_insights_and_a_bad_period_is_refused(
    served: tuple[Served, Clock],
) -> None:
    running, _ = served
    async with httpx.AsyncClient(base_url=running.http_url, timeout=30) as http:
        plain = {"Authorization": f"Bearer {await create_agent(http, 'ola', [LINE])}"}
        lead = await supervisor(http)
        refused = await http.get("/api/v1/stats", headers=plain)
        anonymous = await http.get("/api/v1/stats")
        backwards = await http.get("/api/v1/stats?from=2026-10-25&to=2026-10-19", headers=lead)
        too_long = await http.get("/api/v1/stats?from=2024-01-01&to=2026-10-19", headers=lead)
        not_a_day = await http.get("/api/v1/stats?from=yesterday", headers=lead)
        operator = await http.get("/api/v1/stats", headers=ADMIN)
    assert (refused.status_code, refused.json()["detail"]) == (
        403,
        "the insights are for supervisors and admins",
    )
    assert anonymous.status_code == 401
    assert (backwards.status_code, backwards.json()["detail"]) == (422, "`from` is after `to`")
    assert too_long.status_code == 422 and "at most 366 days" in too_long.json()["detail"]
    assert not_a_day.status_code == 422
    assert operator.status_code == 200 and operator.json()["kpis"]["offered"] == 0


async def test_the_csv_has_a_row_per_call_and_personal_data_only_for_admins(
    served: tuple[Served, Clock],
) -> None:
    running, clock = served
    async with httpx.AsyncClient(base_url=running.http_url, timeout=30) as http:
        await store_anna(http)
        await create_agent(http, "ola", [LINE])
        lead = await supervisor(http)
        admin = await supervisor(http, "boss", role="admin")
        await the_week(running, http, clock)
        for_lead = await http.get("/api/v1/stats/calls.csv?from=2026-10-19&to=2026-10-25", headers=lead)
        for_admin = await http.get("/api/v1/stats/calls.csv?from=2026-10-19&to=2026-10-25", headers=admin)
    assert for_lead.status_code == 200 and for_lead.headers["content-type"].startswith("text/csv")
    assert 'filename="ringcard-calls-2026-10-19-2026-10-25.csv"' in for_lead.headers["content-disposition"]
    rows: list[dict[str, Any]] = list(csv.DictReader(io.StringIO(for_lead.text)))
    assert len(rows) == 6 and "number" not in rows[0] and "customer" not in rows[0]
    assert all(ANNA not in line and "Anna" not in line for line in for_lead.text.splitlines())
    first = rows[0]
    assert (first["started_at"], first["state"], first["wait_s"], first["talk_s"]) == (
        "2026-10-24T09:30:00+02:00",
        "completed",
        "4",
        "60",
    )
    assert (first["likely_reason"], first["orders"]) == ("open_complaint", "#1042")
    admin_rows = list(csv.DictReader(io.StringIO(for_admin.text)))
    assert admin_rows[0]["number"] == ANNA and admin_rows[0]["customer"] == "Anna Nowak"
    assert datetime.fromisoformat(admin_rows[-1]["started_at"]).astimezone(UTC) == datetime(
        2026, 10, 25, 22, 30, tzinfo=UTC
    )
