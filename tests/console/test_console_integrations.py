"""The console's Integrations view in real chromium: what each phone system and shop sent, the
counts, and a refusal's reason in words, for every signed-in agent, read-only."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Locator, Page, expect
from twilio.request_validator import RequestValidator

from tests.console.harness import TWILIO_TOKEN, ConsoleServer, sign_in, twilio_params

pytestmark = pytest.mark.browser

ANNA = "+48601234567"
SCREENSHOT = "/tmp/ringcard-integrations.png"


def integration(page: Page, source: str) -> Locator:
    return page.locator(f'li.integration[data-source="{source}"]')


def last_hour(card: Locator) -> Locator:
    """The card's "Last hour" row: accepted, duplicates, refused, failed."""
    return card.get_by_role("row", name=re.compile("^Last hour"))


def twilio_signed_for(server: ConsoleServer, host: str, call_sid: str) -> int:
    """A Twilio webhook signed for `host` (Twilio's console points there), arriving with that Host."""
    params = twilio_params(call_sid, ANNA, "ringing")
    url = f"http://{host}/webhooks/twilio/voice"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    answer = server.http.post(
        "/webhooks/twilio/voice", data=params, headers={"X-Twilio-Signature": signature, "Host": host}
    )
    return answer.status_code


def test_integrations_show_what_arrived_and_why_a_delivery_was_refused(
    page: Page, server: ConsoleServer
) -> None:
    sign_in(page, server)
    tab = page.get_by_role("button", name=re.compile("^Integrations"))
    tab.click()
    expect(tab).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", name="Integrations", level=2)).to_be_visible()
    twilio = integration(page, "twilio")
    expect(twilio.locator(".badge")).to_have_text("Waiting")
    expect(twilio).to_contain_text("Nothing received yet")
    expect(integration(page, "3cx").locator(".badge")).to_have_text("Waiting")
    expect(page.locator("#status-off")).to_contain_text("Telnyx, Shopify, WooCommerce")

    server.ring(ANNA, "CA" + uuid.uuid4().hex)
    server.cti("newCall", "cti-1", ANNA)
    page.get_by_role("button", name="Refresh").click()
    expect(twilio.locator(".badge")).to_have_text("Receiving")
    expect(twilio).to_contain_text("accepted (POST /webhooks/twilio/voice, 200)")
    expect(last_hour(twilio)).to_have_text(re.compile(r"Last hour\s*1\s*0\s*0\s*0"))
    cti = integration(page, "cti")
    expect(cti).to_contain_text("accepted (POST /webhooks/cti/{token}, 200)")
    # The PBX speaks the generic CTI: 3CX and the PBX lookup, on by the same token, step aside.
    expect(integration(page, "3cx")).to_have_count(0)
    expect(page.locator("#status-off")).to_contain_text(
        "Not used (nothing received; their token serves another integration): 3CX, PBX lookup and events."
    )

    # Twilio's console points at another host than RINGCARD_PUBLIC_URL says, and a PBX has an old
    # token: both refused, each with its reason.
    port = server.port
    assert twilio_signed_for(server, f"localhost:{port}", "CA" + uuid.uuid4().hex) == 401
    assert server.http.post("/webhooks/cti/not-the-token", data={"event": "newCall"}).status_code == 401
    page.get_by_role("button", name="Refresh").click()
    expect(twilio.locator(".badge")).to_have_text("Refusing")
    problem = twilio.locator(".integration-problem-now")
    expect(problem).to_contain_text("Last signature failure")
    expect(problem).to_contain_text("Wrong URL (proxy or webhook address)")
    expect(problem).to_contain_text(
        f"signed for http://localhost:{port}/webhooks/twilio/voice, not for "
        f"http://127.0.0.1:{port}/webhooks/twilio/voice (built from RINGCARD_PUBLIC_URL)"
    )
    expect(last_hour(twilio)).to_have_text(re.compile(r"Last hour\s*1\s*0\s*1\s*0"))
    expect(integration(page, "cti").locator(".integration-problem-now")).to_contain_text("Wrong secret")
    expect(page.locator("#status-note")).to_contain_text("2 integrations are refusing deliveries.")
    count = page.locator("#status-count")
    expect(count).to_have_text("2")
    expect(count).to_have_attribute("title", "Refusing deliveries: Twilio, Generic CTI (PBX)")
    page.screenshot(path=SCREENSHOT, full_page=True)

    # An agent who never opens the view still sees that something is refusing, from the tab.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, server)
    expect(page.locator("#status-count")).to_have_text("2")
    expect(page.locator("#view-status")).to_be_hidden()
