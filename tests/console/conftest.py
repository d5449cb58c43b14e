"""One server and one chromium for the module (starting either costs more than most tests); a
fresh browser context, signed out, for every test. A module that needs the server set up
otherwise (a call-back template, link templates) names those settings in `SERVER_SETTINGS`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.conftest import MigratedDatabases, empty_database, in_own_thread, make_settings
from tests.console.harness import (
    AGENT,
    CTI_TOKEN,
    TWILIO_TOKEN,
    ConsoleServer,
    free_port,
    launch_chromium,
    load_demo_store,
)


@pytest.fixture(scope="module")
def server(migrated: MigratedDatabases, request: pytest.FixtureRequest) -> Iterator[ConsoleServer]:
    url = migrated.url("sqlite")
    in_own_thread(asyncio.run, empty_database(url))
    port = free_port()
    settings = make_settings(
        url,
        twilio_auth_token=TWILIO_TOKEN,
        cti_token=CTI_TOKEN,
        public_url=f"http://127.0.0.1:{port}",
        demo=True,
        **getattr(request.module, "SERVER_SETTINGS", {}),
    )
    load_demo_store(settings)
    running = ConsoleServer(settings, port)
    try:
        running.start()
        running.create_agent(AGENT["username"], AGENT["display_name"], AGENT["password"])
        yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        try:
            chromium = launch_chromium(playwright)
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)
        yield chromium
        chromium.close()


# What the browser itself logs about the network (a refused socket while the server restarts, a
# 404 the console handles) is expected; anything else in the console is a bug in our script.
_NETWORK_NOISE = ("Failed to load resource", "WebSocket connection to")


def _is_script_error(message: ConsoleMessage) -> bool:
    return message.type == "error" and not message.text.startswith(_NETWORK_NOISE)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 720}, locale="en-US", timezone_id="Europe/Warsaw"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if _is_script_error(message) else None)
    yield page
    context.close()
    # A script error in the console is a failure even when the test's own checks passed.
    assert not errors, errors
