"""The Team page in real chromium: a supervisor sees who is online, adds an agent who then signs
in on another browser, resets that agent's password (its console is signed out, the new password
works) and deactivates it; a plain agent has no Team tab and the API refuses it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.console.harness import AGENT, ConsoleServer, sign_in

pytestmark = pytest.mark.browser

BOSS = {"username": "bea", "password": "supervisor password", "display_name": "Bea Supervisor"}
SCREENSHOT = "/tmp/ringcard-team.png"


@pytest.fixture(scope="module")
def boss(server: ConsoleServer) -> dict[str, str]:
    server.create_agent(BOSS["username"], BOSS["display_name"], BOSS["password"], role="supervisor")
    return BOSS


@pytest.fixture
def second_page(browser: Browser) -> Iterator[Page]:
    """Another person's browser: a context of its own, so nothing of the first one's session."""
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


def row(page: Page, username: str) -> Locator:
    return page.locator(f'#view-team tr.team-row[data-username="{username}"]')


def open_team(page: Page) -> None:
    tab = page.get_by_role("button", name="Team")
    expect(tab).to_be_visible()
    tab.click()
    expect(tab).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", name="Team", level=2)).to_be_visible()


def test_a_supervisor_adds_an_agent_who_then_signs_in(
    page: Page, second_page: Page, server: ConsoleServer, boss: dict[str, str]
) -> None:
    sign_in(page, server, boss["username"], boss["password"])
    open_team(page)
    me = row(page, "bea")
    expect(me).to_contain_text("Bea Supervisor")
    expect(me).to_contain_text("(you)")
    expect(me).to_contain_text("Supervisor")
    # Her own console is connected: she is online; nobody else has a console open.
    expect(me.locator(".team-dot-on")).to_have_count(1)
    expect(row(page, AGENT["username"]).locator(".team-dot-on")).to_have_count(0)
    # Nobody deactivates themselves.
    expect(me.get_by_role("button", name=re.compile("^Deactivate"))).to_have_count(0)

    page.locator("#team-add-name").fill("Kasia Zielińska")
    page.locator("#team-add-username").fill("kasia")
    page.locator("#team-add-password").fill("short")
    page.get_by_role("button", name="Add agent").click()
    expect(page.locator(".team-add .form-error")).to_have_text("A password needs at least 8 characters.")
    expect(row(page, "kasia")).to_have_count(0)
    page.locator("#team-add-password").fill("first day at work")
    page.locator("#team-add-lines").fill("+48 22 123 45 67, returns")
    # A supervisor may add supervisors but not admins.
    options = page.locator("#team-add-role option")
    expect(options).to_have_text(["Agent", "Supervisor"])
    page.get_by_role("button", name="Add agent").click()
    expect(page.locator("#team-status")).to_have_text("Kasia Zielińska was added and can sign in now.")
    kasia = row(page, "kasia")
    expect(kasia).to_contain_text("Agent")
    expect(kasia).to_contain_text("+48221234567, returns")
    expect(kasia).to_contain_text("Active")
    expect(page.locator("#team-add-name")).to_have_value("")

    # Kasia signs in on her own browser and sees the console, without a Team tab.
    sign_in(second_page, server, "kasia", "first day at work")
    expect(second_page.locator("#agent-name")).to_have_text("Kasia Zielińska")
    expect(second_page.get_by_role("button", name="Team")).to_be_hidden()
    page.get_by_role("button", name="Refresh").click()
    expect(kasia.locator(".team-dot-on")).to_have_count(1)
    page.screenshot(path=SCREENSHOT, full_page=True)

    # Bea sets Kasia's lines.
    kasia.get_by_role("button", name="Edit lines: Kasia Zielińska").click()
    lines = page.get_by_label("Lines for Kasia Zielińska")
    expect(lines).to_be_focused()
    lines.fill("sales, *")
    page.get_by_role("button", name="Save").click()
    expect(kasia).to_contain_text("sales, All lines")

    # A reset password is shown once; Kasia's console is signed out, the new password works.
    kasia.get_by_role("button", name="Reset password: Kasia Zielińska").click()
    page.locator("#view-team .team-panel").get_by_role("button", name="Reset password").click()
    secret = page.locator("#view-team .team-secret")
    expect(secret).to_have_text(re.compile(r"^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$"))
    password = secret.inner_text()
    expect(second_page.locator("#signin")).to_be_visible()
    expect(second_page.locator("#signin-notice")).to_contain_text("sign in again")
    sign_in(second_page, server, "kasia", password)
    page.get_by_role("button", name="Done").click()
    expect(secret).to_have_count(0)

    # Deactivated, she is signed out at once and cannot sign in; reactivated, she can.
    kasia.get_by_role("button", name="Deactivate: Kasia Zielińska").click()
    expect(page.locator("#team-status")).to_have_text(
        "Kasia Zielińska is deactivated and signed out everywhere."
    )
    expect(kasia).to_contain_text("Deactivated")
    expect(second_page.locator("#signin")).to_be_visible()
    refused = server.http.post("/auth/token", json={"username": "kasia", "password": password})
    assert refused.status_code == 401
    kasia.get_by_role("button", name="Reactivate: Kasia Zielińska").click()
    expect(kasia).to_contain_text("Active")
    sign_in(second_page, server, "kasia", password)


def test_the_team_page_speaks_the_agents_language(
    page: Page, server: ConsoleServer, boss: dict[str, str]
) -> None:
    sign_in(page, server, boss["username"], boss["password"])
    open_team(page)
    page.locator("#locale").select_option("pl")
    expect(page.get_by_role("heading", name="Zespół", level=2)).to_be_visible()
    expect(page.locator("#team-add-title")).to_have_text("Dodaj konsultanta")
    expect(row(page, "bea")).to_contain_text("Kierownik")
    page.locator("#locale").select_option("he")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", name="צוות", level=2)).to_be_visible()
    # On a phone each agent is a card of labelled lines, and nothing is wider than the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    expect(row(page, "bea").locator("td").first).to_have_attribute("data-label", "שם")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=SCREENSHOT.replace(".png", "-he-phone.png"), full_page=True)
    page.locator("#menu-toggle").click()  # on a phone the language picker is in the top bar's menu
    page.locator("#locale").select_option("en")


def test_a_plain_agent_has_no_team_tab_and_the_api_refuses_it(page: Page, server: ConsoleServer) -> None:
    sign_in(page, server)
    expect(page.get_by_role("button", name=re.compile("^Integrations"))).to_be_visible()
    expect(page.get_by_role("button", name="Team")).to_be_hidden()
    expect(page.locator("#view-team")).to_be_hidden()
    token = httpx.post(
        f"{server.url}/auth/token", json={"username": AGENT["username"], "password": AGENT["password"]}
    ).json()["access_token"]
    refused = server.http.get("/api/v1/team/agents", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403
    assert refused.json()["detail"] == "the team page is for supervisors and admins; your role is agent"
