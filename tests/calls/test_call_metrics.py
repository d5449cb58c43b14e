"""The call KPIs as Prometheus metrics (docs/metrics-calls.md): calls through the real CTI webhook
with the server's clock moved, so every wait and talking time is known, then `/metrics` scraped as
Prometheus would. Each call counts once, however often its end is delivered and to which instance;
and the shipped Grafana dashboard asks only for metrics the service exposes."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.calls.call_metrics import CallMetrics
from app.main import create_app
from tests.conftest import make_settings
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, Served, serve
from tests.telephony.test_cti import RULES, URL, Clock

pytestmark = LEGACY_WEBSOCKETS_WARNINGS

LINE = "+48221234567"  # the CTI tests' line, as its key
OTHER_LINE = "+48227654321"
CALLER = "+48601234567"
DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "ringcard-calls.json"
# Small thresholds, unlike the defaults (20 s and 5 s), so the settings are seen to reach the metrics.
THRESHOLDS = {"service_level_s": 10.0, "short_abandon_s": 4.0}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class Scrape:
    """One `/metrics` answer, read with the Prometheus client's own parser."""

    def __init__(self, text: str) -> None:
        self.samples: Samples = {}
        self.families: dict[str, str] = {}
        for family in text_string_to_metric_families(text):
            self.families[family.name] = family.type
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name: str, **labels: str) -> float:
        return self.samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(http: httpx.AsyncClient) -> Scrape:
    answer = await http.get("/metrics")
    assert answer.status_code == 200, answer.text
    return Scrape(answer.text)


def grown(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    """How much a sample grew between two scrapes: the registry is the test process's, shared
    with every test before this one."""
    return after.value(name, **labels) - before.value(name, **labels)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def served_app(database_url: str, clock: Clock) -> Any:
    app = create_app(make_settings(database_url, **RULES, **THRESHOLDS))
    app.state.clock = clock
    return app


@pytest.fixture
async def served(database_url: str, clock: Clock) -> AsyncIterator[Served]:
    async with serve(served_app(database_url, clock)) as running:
        yield running


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.http_url) as client:
        yield client


def event(kind: str, call_id: str, *, line: str = LINE, caller: str = CALLER, **extra: str) -> dict[str, str]:
    return {"event": kind, "from": caller, "to": line, "direction": "in", "callId": call_id, **extra}


async def cti(http: httpx.AsyncClient, body: dict[str, str]) -> None:
    answer = await http.post(URL, data=body)
    assert answer.status_code == 200, answer.text


async def answered_call(
    http: httpx.AsyncClient, clock: Clock, call_id: str, wait_s: float, talk_s: float, line: str = LINE
) -> None:
    await cti(http, event("newCall", call_id, line=line))
    clock.advance(wait_s)
    await cti(http, event("answer", call_id, line=line, user="ola"))
    clock.advance(talk_s)
    await cti(http, event("hangup", call_id, line=line, cause="normalClearing"))


async def missed_call(http: httpx.AsyncClient, clock: Clock, call_id: str, wait_s: float) -> None:
    await cti(http, event("newCall", call_id))
    clock.advance(wait_s)
    await cti(http, event("hangup", call_id, cause="cancel"))


async def settled(served: Served) -> None:
    await served.on_server(served.app.state.intake.drain())


async def test_calls_are_counted_per_line_with_their_waits_and_talking_times(
    served: Served, http: httpx.AsyncClient, clock: Clock
) -> None:
    before = await scrape(http)
    await answered_call(http, clock, "m-1", wait_s=3, talk_s=95)  # within the 10 s service level
    await answered_call(http, clock, "m-2", wait_s=12, talk_s=40)  # answered, but too late for it
    await missed_call(http, clock, "m-3", wait_s=2)  # gave up within 4 s: short abandoned
    await missed_call(http, clock, "m-4", wait_s=30)
    await answered_call(http, clock, "m-5", wait_s=1, talk_s=20, line=OTHER_LINE)
    # Not offered: a blocked caller, an outbound call; not counted yet: a call still ringing.
    await cti(http, event("newCall", "m-6", caller="+48 500 100 200"))
    await cti(http, event("hangup", "m-6", caller="+48 500 100 200", cause="busy"))
    await cti(http, {"event": "newCall", "from": "201", "to": CALLER, "direction": "out", "callId": "m-7"})
    await cti(http, {"event": "hangup", "from": "201", "to": CALLER, "direction": "out", "callId": "m-7"})
    await cti(http, event("newCall", "m-8"))
    await settled(served)
    after = await scrape(http)

    def counted(name: str, line: str = LINE, **labels: str) -> float:
        return grown(before, after, name, line=line, **labels)

    assert {
        kpi: counted(f"ringcard_calls_{kpi}_total")
        for kpi in ("offered", "answered", "missed", "short_abandoned", "answered_within_service_level")
    } == {"offered": 4, "answered": 2, "missed": 2, "short_abandoned": 1, "answered_within_service_level": 1}
    wait = "ringcard_call_wait_seconds"
    assert counted(f"{wait}_count", outcome="answered") == 2
    assert counted(f"{wait}_sum", outcome="answered") == pytest.approx(15, abs=0.01)
    answered_buckets = [counted(f"{wait}_bucket", outcome="answered", le=le) for le in ("2.0", "5.0", "15.0")]
    assert answered_buckets == [0, 1, 2]
    assert counted(f"{wait}_count", outcome="missed") == 2
    assert counted(f"{wait}_sum", outcome="missed") == pytest.approx(32, abs=0.01)
    assert [counted(f"{wait}_bucket", outcome="missed", le=le) for le in ("2.0", "20.0", "30.0")] == [1, 1, 2]
    talk = "ringcard_call_talk_seconds"
    assert counted(f"{talk}_count") == 2 and counted(f"{talk}_sum") == pytest.approx(135, abs=0.01)
    assert [counted(f"{talk}_bucket", le=le) for le in ("30.0", "60.0", "120.0", "+Inf")] == [0, 1, 2, 2]
    # Each line has its own series.
    assert counted("ringcard_calls_offered_total", OTHER_LINE) == 1
    assert counted("ringcard_calls_answered_within_service_level_total", OTHER_LINE) == 1
    assert counted(f"{talk}_sum", OTHER_LINE) == pytest.approx(20, abs=0.01)


async def test_a_redelivered_hangup_counts_once_on_any_instance(
    database_url: str, served: Served, http: httpx.AsyncClient, clock: Clock
) -> None:
    async with (
        serve(served_app(database_url, clock)) as second,
        httpx.AsyncClient(base_url=second.http_url) as other,
    ):
        before = await scrape(http)
        await answered_call(http, clock, "r-1", wait_s=6, talk_s=70)
        await missed_call(http, clock, "r-2", wait_s=8)
        clock.advance(5)
        # The PBX retries both hang-ups, to the other instance; then reports another end (a new
        # event, not a redelivery: it names another outcome), which an ended call ignores.
        await cti(other, event("hangup", "r-1", cause="normalClearing"))
        await cti(other, event("hangup", "r-2", cause="cancel"))
        await cti(other, event("hangup", "r-1", cause="busy"))
        await settled(served)
        await settled(second)
        after = await scrape(other)
    assert grown(before, after, "ringcard_calls_offered_total", line=LINE) == 2
    assert grown(before, after, "ringcard_calls_answered_total", line=LINE) == 1
    assert grown(before, after, "ringcard_calls_missed_total", line=LINE) == 1
    assert grown(before, after, "ringcard_call_talk_seconds_count", line=LINE) == 1
    assert grown(before, after, "ringcard_call_talk_seconds_sum", line=LINE) == pytest.approx(70, abs=0.01)
    assert grown(
        before, after, "ringcard_call_wait_seconds_sum", line=LINE, outcome="missed"
    ) == pytest.approx(8, abs=0.01)


async def test_a_call_first_heard_of_through_an_answer_without_its_caller_counts_once_at_its_end(
    served: Served, http: httpx.AsyncClient, clock: Clock
) -> None:
    before = await scrape(http)
    # The ringing was lost; the answer names no caller; the hang-up does (and teaches the log it).
    await cti(http, {"event": "answer", "to": LINE, "direction": "in", "callId": "l-1", "user": "ola"})
    clock.advance(50)
    await cti(http, event("hangup", "l-1", cause="normalClearing"))
    await cti(http, event("hangup", "l-1", cause="busy"))  # another end changes nothing
    await settled(served)
    after = await scrape(http)
    assert grown(before, after, "ringcard_calls_offered_total", line=LINE) == 1
    assert grown(before, after, "ringcard_calls_answered_total", line=LINE) == 1
    assert grown(before, after, "ringcard_call_talk_seconds_sum", line=LINE) == pytest.approx(50, abs=0.01)


def test_lines_past_the_cap_share_one_label() -> None:
    capped = CallMetrics(max_lines=2)
    seen = ("+48221234567", "sales", "support", "+48221234567", "returns")
    assert [capped.line_label(line) for line in seen] == [
        "+48221234567",
        "sales",
        "other",
        "+48221234567",
        "other",
    ]
    assert CallMetrics().line_label("") == "none"


async def test_the_grafana_dashboard_asks_only_for_exposed_metrics(http: httpx.AsyncClient) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exposed = (await scrape(http)).families
    panels = dashboard["panels"]
    asked = {
        name
        for panel in panels
        for target in panel.get("targets", [])
        for name in re.findall(r"\bringcard_[a-z_]+", target["expr"])
    }
    assert asked, "the dashboard queries no ringcard metric"
    suffixes = {"_total": "counter", "_bucket": "histogram", "_sum": "histogram", "_count": "histogram"}
    for name in sorted(asked):
        suffix = next((s for s in suffixes if name.endswith(s)), "")
        family = name.removesuffix(suffix) if suffix else name
        assert exposed.get(family) == suffixes.get(suffix, exposed.get(family)), name
    kinds = {panel["type"] for panel in panels}
    assert {"heatmap", "timeseries", "stat"} <= kinds
    assert any(v["name"] == "line" for v in dashboard["templating"]["list"])
