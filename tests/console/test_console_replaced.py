"""An agent's consoles beyond RINGCARD_MAX_SOCKETS_PER_AGENT: the newest works, the oldest says it
is open elsewhere and stays quiet (no reconnecting on its own, which would push the newer one out
in turn) until the agent brings it back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import MigratedDatabases, empty_database, in_own_thread, make_settings
from tests.console.harness import AGENT, TWILIO_TOKEN, ConsoleServer, free_port, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(migrated: MigratedDatabases) -> Iterator[ConsoleServer]:
    """This module's own server: one socket per agent, so two consoles are one too many."""
    url = migrated.url("sqlite")
    in_own_thread(asyncio.run, empty_database(url))
    port = free_port()
    settings = make_settings(url, twilio_auth_token=TWILIO_TOKEN, max_sockets_per_agent=1)
    running = ConsoleServer(settings, port)
    try:
        running.start()
        running.create_agent(AGENT["username"], AGENT["display_name"], AGENT["password"])
        yield running
    finally:
        running.close()


def test_a_newer_console_replaces_the_oldest_which_waits_to_be_brought_back(
    page: Page, browser: Browser, server: ConsoleServer
) -> None:
    sign_in(page, server)
    other_context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-GB")
    try:
        newer = other_context.new_page()
        sign_in(newer, server)  # waits until it is connected

        first = page.locator("#connection")
        expect(first).to_have_attribute("data-state", "replaced", timeout=5000)
        expect(first).to_contain_text("Open in another window")
        # Longer than the first reconnection delay: the replaced console did not come back by
        # itself and push the newer one out.
        time.sleep(1.5)
        expect(first).to_have_attribute("data-state", "replaced")
        expect(newer.locator("#connection")).to_have_attribute("data-state", "connected")

        first.get_by_role("button", name="Use here").click()
        expect(first).to_have_attribute("data-state", "connected", timeout=5000)
        expect(newer.locator("#connection")).to_have_attribute("data-state", "replaced", timeout=5000)
    finally:
        other_context.close()
