"""The way out of a card: a missed caller is called back through the store's own click-to-call
target (RINGCARD_CALLBACK_URL_TEMPLATE), the order links to the store's admin, a withheld caller is
listed but not counted as to do, and a CRM's or 3CX's `/?number=` link opens that caller's card,
through sign-in when needed."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from tests.console.harness import (
    AGENT,
    ConsoleServer,
    sign_in,
)

ANNA = "+48601234567"
SIP = "sip:{e164}@pbx.example"


# Read by the module's server fixture (tests/console/conftest.py).
SERVER_SETTINGS = {
    "callback_url_template": SIP,
    "order_url_template": "https://shop.example/admin/orders/{external_id}",
}


def miss(server: ConsoleServer, caller: str) -> None:
    call_sid = "CA" + uuid.uuid4().hex
    server.ring(caller, call_sid)
    server.status(call_sid, caller, "no-answer", 1)


def test_a_missed_caller_is_called_back_through_the_configured_target_and_withheld_is_not_to_do(
    page: Page, server: ConsoleServer
) -> None:
    sign_in(page, server)
    miss(server, ANNA)
    miss(server, "anonymous")
    page.locator("#tab-log").click()
    rows = page.locator(".log-row")
    expect(rows).to_have_count(2)
    back = page.locator("#view-log a.call-back")
    # Only Anna can be rung back, and the link is exactly the store's softphone template.
    expect(back).to_have_count(1)
    expect(back).to_have_attribute("href", "sip:+48601234567@pbx.example")
    expect(page.locator("#todo-count")).to_have_text("1")


def test_the_card_links_each_order_to_the_store_admin(page: Page, server: ConsoleServer) -> None:
    sign_in(page, server)
    call_sid = "CA" + uuid.uuid4().hex
    card = page.locator(f'article[data-call-id="{server.ring(ANNA, call_sid)}"]')
    links = card.locator('a[href^="https://shop.example/admin/orders/"]')
    expect(links.first).to_be_visible()
    assert links.first.get_attribute("target") == "_blank"
    assert "noopener" in (links.first.get_attribute("rel") or "")
    server.status(call_sid, ANNA, "no-answer", 1)


def test_a_deep_link_opens_that_callers_card_after_sign_in(page: Page, server: ConsoleServer) -> None:
    page.goto(server.url + "/?number=%2B48601234567")
    page.locator("#signin-username").fill(AGENT["username"])
    page.locator("#signin-password").fill(AGENT["password"])
    page.locator("#signin-submit").click()
    opened = page.locator(".deeplink")
    expect(opened).to_be_visible()
    expect(opened).to_contain_text("Anna Nowak")
    # Acted on: a reload does not open the card again.
    assert "number=" not in page.url
