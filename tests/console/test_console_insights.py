"""The Insights page in real chromium, against the real server: four calls rung through the CTI
webhook with real waits (two answered after about a second, one missed after more than 5 s, one
abandoned within half a second) and the supervisor's tiles show what GET /api/v1/stats counted,
written the console's way; the heatmap's cell of the calls' hour holds all four, the day's bar
both outcomes; an empty period says so instead of drawing empty charts; the page reads in Polish,
in Hebrew right to left on a phone with no sideways scrolling, and a plain agent has no tab."""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from app.demo.data import DEMO_AGENT_PASSWORD, DEMO_AGENT_USERNAME
from app.insights.routes import CSV_COLUMNS
from tests.console.harness import AGENT, ConsoleServer, sign_in

pytestmark = pytest.mark.browser

ANSWERED_BY = "Ola Nowicka"
SCREENSHOT = "/tmp/ringcard-insights.png"


@dataclass(frozen=True)
class Played:
    stats: dict[str, Any]  # what GET /api/v1/stats answered once the calls were over
    weekday: int  # Monday 0, in the store's time zone, when they rang
    hour: int
    today: str


def supervisor_token(server: ConsoleServer) -> str:
    response = server.http.post(
        "/auth/token", json={"username": DEMO_AGENT_USERNAME, "password": DEMO_AGENT_PASSWORD}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def stats(server: ConsoleServer, token: str, **query: str) -> dict[str, Any]:
    response = server.http.get("/api/v1/stats", params=query, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def played(server: ConsoleServer) -> Played:
    token = supervisor_token(server)
    zone = ZoneInfo(stats(server, token)["period"]["timezone"])
    tag = uuid.uuid4().hex[:8]
    calls = {
        name: (f"pbx-insights-{name}-{tag}", f"+48 600 100 00{n}")
        for n, name in enumerate(("first", "second", "missed", "abandoned"), start=1)
    }
    rang = datetime.now(zone)
    started = time.monotonic()
    for call_id, caller in calls.values():
        server.cti("newCall", call_id, caller)
    time.sleep(0.3)
    server.cti("hangup", *calls["abandoned"])  # hung up at once: missed, and short-abandoned
    time.sleep(0.9)
    for name in ("first", "second"):
        server.cti("answer", *calls[name], user=ANSWERED_BY)
    time.sleep(1.0)
    for name in ("first", "second"):
        server.cti("hangup", *calls[name], cause="normalClearing")
    time.sleep(max(0.0, 5.8 - (time.monotonic() - started)))
    server.cti("hangup", *calls["missed"])  # rang for more than RINGCARD_SHORT_ABANDON_S (5)
    answer = stats(server, token)
    return Played(answer, rang.weekday(), rang.hour, rang.date().isoformat())


def enter(page: Page, server: ConsoleServer, username: str, password: str) -> None:
    """Sign in by the form's ids: its labels are in the browser's language."""
    page.goto(server.url + "/")
    page.locator("#signin-username").fill(username)
    page.locator("#signin-password").fill(password)
    page.locator("#signin-submit").click()
    page.locator("#connection[data-state=connected]").wait_for(timeout=5000)


def open_insights(page: Page) -> None:
    tab = page.locator("#tab-insights")
    if not tab.is_visible():  # a phone: the tabs are in the top bar's menu
        page.locator("#menu-toggle").click()
    expect(tab).to_be_visible()
    tab.click()
    expect(tab).to_have_attribute("aria-current", "page")
    expect(page.locator("#view-insights .kpis, #insights-empty")).to_be_visible()


def tile(page: Page, kpi: str) -> Any:
    return page.locator(f'#view-insights .kpi[data-kpi="{kpi}"]')


@pytest.fixture
def other_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A browser in another language and size: `(locale, timezone, width, height)` as param."""
    locale, zone, width, height = request.param
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale=locale, timezone_id=zone
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


def test_the_calls_as_counted_are_what_the_tiles_heatmap_and_bars_show(
    page: Page, server: ConsoleServer, played: Played
) -> None:
    kpis = played.stats["kpis"]
    # The four calls, by the definitions of docs/kpis.md: 2 of the 3 offered (less the one that
    # hung up at once) answered within 20 s.
    assert (kpis["offered"], kpis["answered"], kpis["missed"], kpis["short_abandoned"]) == (4, 2, 2, 1)
    assert kpis["service_level"] == pytest.approx(2 / 3)
    assert kpis["missed_rate"] == pytest.approx(0.5)
    assert 0.8 < kpis["asa_s"] < 3

    enter(page, server, DEMO_AGENT_USERNAME, DEMO_AGENT_PASSWORD)
    open_insights(page)
    expect(page.get_by_role("heading", name="Insights", level=2)).to_be_visible()
    expect(tile(page, "offered").locator(".kpi-value")).to_have_text("4")
    expect(tile(page, "answered").locator(".kpi-value")).to_have_text("2")
    expect(tile(page, "missed").locator(".kpi-value")).to_have_text("2")
    expect(tile(page, "missed")).to_contain_text("1 of them hung up within 5 s")
    expect(tile(page, "service_level").locator(".kpi-value")).to_have_text("66.7%")
    expect(tile(page, "missed_rate").locator(".kpi-value")).to_have_text("50%")
    expect(tile(page, "asa_s").locator(".kpi-value")).to_have_text(re.compile(r"^\d(\.\d)? sec$"))
    expect(tile(page, "asa_s").locator(".kpi-value")).to_have_attribute("data-value", str(kpis["asa_s"]))
    # Nothing rang in the week before: no trend to draw, and it says so. Lower waits are good.
    expect(tile(page, "offered").locator(".kpi-trend")).to_have_attribute("data-direction", "none")
    expect(tile(page, "offered")).to_contain_text("no earlier figure")
    expect(tile(page, "asa_s")).to_contain_text("Lower is better.")
    expect(tile(page, "service_level")).to_contain_text("Higher is better.")

    cell = page.locator(f'.heatmap td[data-weekday="{played.weekday}"][data-hour="{played.hour}"]')
    assert played.stats["by_hour"][played.weekday][played.hour]["offered"] == 4
    expect(cell).to_have_text(re.compile(r"^4"))
    expect(cell).to_have_attribute("title", re.compile(r": 4 calls \(2 answered, 2 missed\)$"))
    expect(page.locator(".heatmap td.heat-0")).to_have_count(7 * 24 - 1)
    # Monday first, names from Intl.
    expect(page.locator(".heatmap tbody th.heat-day").first).to_have_attribute("title", "Monday")

    day = page.locator(f'.daybars-day[data-date="{played.today}"] title')
    expect(day).to_have_text(re.compile(r": 2 answered, 2 missed$"))
    expect(page.locator(".daybars-day")).to_have_count(7)

    agent = page.locator(f'.insights-agents tr[data-agent="{ANSWERED_BY}"]')
    expect(agent.locator("td").nth(1)).to_have_text("2")
    # Each reason list has the API's rows, the longest first, with their counts.
    for kind, section in (("likely", "#insights-likely"), ("disposition", "#insights-disposition")):
        rows = played.stats["reasons"][kind]
        bars = page.locator(f"{section} .hbar")
        expect(bars).to_have_count(len(rows))
        for n, row in enumerate(rows):
            expect(bars.nth(n).locator(".hbar-count")).to_have_text(str(row["calls"]))
    page.screenshot(path=SCREENSHOT, full_page=True)

    # The agent filter takes only Ola's calls: the missed ones are nobody's.
    page.locator("#insights-agent").select_option(ANSWERED_BY)
    expect(tile(page, "offered").locator(".kpi-value")).to_have_text("2")

    # The last 30 days: a period of 30 of the store's days, ending today.
    page.locator("#insights-agent").select_option("")
    page.get_by_role("button", name="Last 30 days").click()
    expect(page.locator("#view-insights")).to_have_attribute("data-to", played.today)
    expect(page.locator(".daybars-day")).to_have_count(30)
    expect(page.locator("#insights-period")).to_contain_text("(30 days)")


def test_a_supervisor_downloads_the_periods_calls_as_csv_without_callers_numbers_or_names(
    page: Page, server: ConsoleServer, played: Played
) -> None:
    enter(page, server, DEMO_AGENT_USERNAME, DEMO_AGENT_PASSWORD)
    open_insights(page)
    button = page.locator("#insights-csv")
    expect(button).to_have_text("Download CSV")
    expect(button).to_have_attribute("title", re.compile("without callers. numbers and names"))
    with page.expect_download() as downloading:
        button.click()
    download = downloading.value
    period = played.stats["period"]
    assert download.suggested_filename == f"ringcard-calls-{period['from']}-{played.today}.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text("utf-8"))))
    assert rows and list(rows[0]) == CSV_COLUMNS  # a supervisor's file has no number or customer column
    played_today = [r for r in rows if r["started_at"].startswith(played.today) and r["line"]]
    assert len(played_today) >= 4
    assert Counter(r["answered_by"] for r in played_today)[ANSWERED_BY] >= 2
    assert "600 100 00" not in Path(download.path()).read_text("utf-8")


def test_an_empty_period_says_so_and_dates_the_wrong_way_round_are_refused(
    page: Page, server: ConsoleServer, played: Played
) -> None:
    enter(page, server, DEMO_AGENT_USERNAME, DEMO_AGENT_PASSWORD)
    open_insights(page)
    page.get_by_role("button", name="Dates").click()
    page.get_by_label("From", exact=True).fill("2025-03-10")
    page.get_by_label("To", exact=True).fill("2025-03-01")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#insights-range-error")).to_have_text("The first date must not be after the second.")
    page.get_by_label("To", exact=True).fill("2025-03-16")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#insights-empty")).to_contain_text("No calls in this period")
    expect(page.locator("#insights-period")).to_contain_text("(7 days)")
    expect(
        page.locator("#view-insights .kpis, #view-insights .heatmap, #view-insights .daybars")
    ).to_have_count(0)


@pytest.mark.parametrize("other_page", [("pl-PL", "Europe/Warsaw", 1280, 900)], indirect=True)
def test_in_polish_the_page_reads_in_polish(other_page: Page, server: ConsoleServer, played: Played) -> None:
    page = other_page
    enter(page, server, DEMO_AGENT_USERNAME, DEMO_AGENT_PASSWORD)
    expect(page.locator("#tab-insights")).to_have_text("Statystyki")
    open_insights(page)
    expect(page.get_by_role("heading", name="Statystyki", level=2)).to_be_visible()
    expect(tile(page, "answered").locator(".kpi-name")).to_have_text("Odebrane")
    expect(tile(page, "service_level").locator(".kpi-value")).to_have_text(re.compile(r"^66,7\s?%$"))
    expect(tile(page, "asa_s")).to_contain_text("Im mniej, tym lepiej.")
    expect(page.locator(".heatmap tbody th.heat-day").first).to_have_attribute("title", "poniedziałek")
    expect(page.locator(f'.daybars-day[data-date="{played.today}"] title')).to_contain_text(
        "odebrane 2, nieodebrane 2"
    )
    expect(page.get_by_role("button", name="Ostatnie 30 dni")).to_be_visible()


@pytest.mark.parametrize("other_page", [("he-IL", "Asia/Jerusalem", 390, 844)], indirect=True)
def test_in_hebrew_on_a_phone_it_runs_right_to_left_without_sideways_scrolling(
    other_page: Page, server: ConsoleServer, played: Played
) -> None:
    page = other_page
    enter(page, server, DEMO_AGENT_USERNAME, DEMO_AGENT_PASSWORD)
    open_insights(page)
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", name="תובנות", level=2)).to_be_visible()
    # The Hebrew week starts on Sunday (by_hour[6]).
    expect(page.locator(".heatmap tbody tr").first).to_have_attribute("data-weekday", "6")
    # Hour 0 is on the right, hour 23 on the left; the first day's bar on the right too.
    first_hour = page.locator(".heatmap thead th.heat-hour").first.bounding_box()
    last_hour = page.locator(".heatmap thead th.heat-hour").last.bounding_box()
    assert first_hour and last_hour and first_hour["x"] > last_hour["x"]
    bars = page.locator(".daybars-day rect.bar-answered")
    assert bars.first.get_attribute("x") is not None
    assert float(bars.first.get_attribute("x") or 0) > float(bars.last.get_attribute("x") or 0)
    for section in ("#insights-kpis", "#insights-hours", "#insights-days", "#insights-agents"):
        page.locator(section).scroll_into_view_if_needed()
        expect(page.locator(section)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path="/tmp/ringcard-insights-he.png", full_page=True)


def test_a_plain_agent_has_no_insights_tab_and_the_api_refuses_it(page: Page, server: ConsoleServer) -> None:
    sign_in(page, server)
    expect(page.locator("#agent-name")).to_have_text(AGENT["display_name"])
    expect(page.locator("#tab-insights")).to_be_hidden()
    expect(page.locator("#view-insights")).to_be_empty()
    token = server.http.post(
        "/auth/token", json={"username": AGENT["username"], "password": AGENT["password"]}
    ).json()["access_token"]
    refused = server.http.get("/api/v1/stats", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403, refused.text
