"""Screenshots of the agent console for the docs, taken from the real app with the demo store.

    .venv/bin/python docs/screenshots/take.py [NAME.png ...]

Starts the service on a temporary SQLite database, plays a few calls through signed Twilio
webhooks (so the log and the cards' recent calls have something to show), and photographs the
console in Debian's chromium at 1280x720 and as a 390x844 phone, in English, Polish and Hebrew,
into this folder. With names, only those files are written.
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from app.db.migrate import upgrade  # noqa: E402
from app.demo.data import DEMO_AGENT_PASSWORD, DEMO_AGENT_USERNAME  # noqa: E402
from app.settings import Settings  # noqa: E402
from tests.console.harness import (  # noqa: E402
    CTI_TOKEN,
    NOA_PHONE,
    TWILIO_TOKEN,
    ConsoleServer,
    free_port,
    launch_chromium,
    load_demo_store,
    store_noa,
    twilio_params,
)

ANNA = "+48601234567"
SHARED = "+48226543210"
GUEST = "+48512987654"
UNKNOWN = "+48500000001"


def sid() -> str:
    return "CA" + uuid.uuid4().hex


def play_history(server: ConsoleServer) -> None:
    """Calls earlier today, with the notes agents wrote after them."""
    token = server.http.post(
        "/auth/token", json={"username": DEMO_AGENT_USERNAME, "password": DEMO_AGENT_PASSWORD}
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    for caller, outcome, note, disposition in (
        (ANNA, "completed", "Courier contacted about #1042; promised her an update by 17:00.", "callback"),
        (GUEST, "completed", "Wanted to add a second mug to the order: done.", "order_changed"),
        (NOA_PHONE, "completed", "שלחנו תווית החזרה במייל; הזיכוי אחרי קבלת המוצר.", "refund"),
        (UNKNOWN, "no-answer", None, None),
        (SHARED, "no-answer", None, None),
    ):
        call_sid = sid()
        call_id = server.ring(caller, call_sid)
        time.sleep(0.3)  # the webhook's pop happens after its answer; keep the events in order
        sequence = 1
        if outcome == "completed":
            server.status(call_sid, caller, "in-progress", sequence)
            sequence += 1
        server.status(
            call_sid, caller, outcome, sequence, CallDuration="95" if outcome == "completed" else "0"
        )
        if note:
            response = server.http.post(
                f"/api/v1/calls/{call_id}/note", json={"text": note, "disposition": disposition}, headers=auth
            )
            assert response.status_code == 200, response.text


def enter(page: Page, server: ConsoleServer) -> None:
    """Sign in as the demo supervisor by the form's ids: its labels are in the browser's language."""
    page.goto(server.url + "/")
    page.locator("#signin-username").fill(DEMO_AGENT_USERNAME)
    page.locator("#signin-password").fill(DEMO_AGENT_PASSWORD)
    page.locator("#signin-submit").click()
    page.locator("#connection[data-state=connected]").wait_for(timeout=5000)


def shoot(page: Page, name: str) -> None:
    if sys.argv[1:] and name not in sys.argv[1:]:
        return
    page.wait_for_timeout(1200)  # a ringing timer past 0:00, fonts settled
    page.screenshot(path=str(HERE / name))
    print(f"wrote {HERE / name}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/ringcard.db"
        upgrade(url)
        port = free_port()
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=url,
            admin_api_key="admin-key-for-the-screenshots",
            sync_api_key="sync-key-for-the-screenshots",
            twilio_auth_token=TWILIO_TOKEN,
            cti_token=CTI_TOKEN,
            public_url=f"http://127.0.0.1:{port}",
            order_url_template="https://shop.example/admin/orders/{external_id}",
            customer_url_template="https://shop.example/admin/customers/{external_id}",
            demo=True,
        )
        load_demo_store(settings)
        server = ConsoleServer(settings, port)
        server.start()
        try:
            store_noa(server)
            play_history(server)
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                context = browser.new_context(
                    viewport={"width": 1280, "height": 720}, locale="en-GB", timezone_id="Europe/Warsaw"
                )
                page = context.new_page()
                enter(page, server)

                anna_sid = sid()
                anna = page.locator(f'article[data-call-id="{server.ring(ANNA, anna_sid)}"]')
                expect(anna.locator(".recent-calls")).to_contain_text("Courier contacted")
                shoot(page, "ringing.png")
                server.status(anna_sid, ANNA, "no-answer", 1)
                expect(anna).to_have_attribute("data-state", "missed")
                anna.get_by_role("button", name="Close the card", exact=False).click()

                shared_sid = sid()
                shared = page.locator(f'article[data-call-id="{server.ring(SHARED, shared_sid)}"]')
                expect(shared.locator("button.candidate")).to_have_count(2)
                shoot(page, "ambiguous.png")
                server.status(shared_sid, SHARED, "no-answer", 1)
                expect(shared).to_have_attribute("data-state", "missed")

                # A colleague picks up the guest's call on the PBX: it folds to one line here.
                server.create_agent("ola", "Ola K.", "correct horse battery")
                ringing_sid = sid()
                ringing = page.locator(f'article[data-call-id="{server.ring(ANNA, ringing_sid)}"]')
                expect(ringing).to_have_attribute("data-state", "ringing")
                pbx_id = "pbx-" + uuid.uuid4().hex[:10]
                server.cti("newCall", pbx_id, GUEST)
                time.sleep(0.3)
                server.cti("answer", pbx_id, GUEST, user="Ola K.")
                folded = page.locator("article.call[data-folded=true]")
                expect(folded).to_contain_text("answered by Ola K.")
                shoot(page, "answered-elsewhere.png")
                server.cti("hangup", pbx_id, GUEST, cause="normalClearing")
                server.status(ringing_sid, ANNA, "no-answer", 1)
                expect(ringing).to_have_attribute("data-state", "missed")

                page.get_by_role("button", name="Call log", exact=False).click()
                expect(page.locator(".log-row")).to_have_count(9)
                shoot(page, "call-log.png")

                page.get_by_role("button", name="Team", exact=False).click()
                expect(page.locator("#view-team")).to_contain_text("Ola K.")
                shoot(page, "team.png")

                # Ringcard moved behind a TLS proxy, RINGCARD_PUBLIC_URL still the old address.
                proxied = twilio_params(sid(), ANNA, "ringing")
                signature = RequestValidator(TWILIO_TOKEN).compute_signature(
                    "https://ringcard.example/webhooks/twilio/voice", proxied
                )
                refused = server.http.post(
                    "/webhooks/twilio/voice",
                    data=proxied,
                    headers={
                        "X-Twilio-Signature": signature,
                        "X-Forwarded-Proto": "https",
                        "X-Forwarded-Host": "ringcard.example",
                    },
                )
                assert refused.status_code == 401, refused.text
                page.get_by_role("button", name="Integrations", exact=False).click()
                expect(page.locator('li.integration[data-source="twilio"] .badge')).to_have_text("Refusing")
                shoot(page, "integrations.png")
                context.close()

                many = browser.new_context(
                    viewport={"width": 1280, "height": 720}, locale="en-GB", timezone_id="Europe/Warsaw"
                )
                page = many.new_page()
                enter(page, server)
                ringing_now = [(caller, sid()) for caller in (ANNA, GUEST, SHARED)]
                for caller, call_sid in ringing_now:
                    server.ring(caller, call_sid)
                    time.sleep(0.4)
                expect(page.locator("article.call")).to_have_count(3)
                shoot(page, "many-ringing.png")
                for caller, call_sid in ringing_now:
                    server.status(call_sid, caller, "no-answer", 1)
                many.close()

                for locale, size, name in (
                    ("pl-PL", {"width": 1280, "height": 720}, "ringing-pl.png"),
                    ("en-GB", {"width": 390, "height": 844}, "phone.png"),
                    ("pl-PL", {"width": 390, "height": 844}, "phone-pl.png"),
                ):
                    context = browser.new_context(viewport=size, locale=locale, timezone_id="Europe/Warsaw")
                    page = context.new_page()
                    enter(page, server)
                    anna_sid = sid()
                    anna = page.locator(f'article[data-call-id="{server.ring(ANNA, anna_sid)}"]')
                    expect(anna.locator(".recent-calls")).to_be_attached()
                    shoot(page, name)
                    server.status(anna_sid, ANNA, "no-answer", 1)
                    context.close()

                phone = browser.new_context(
                    viewport={"width": 390, "height": 844}, locale="he-IL", timezone_id="Asia/Jerusalem"
                )
                page = phone.new_page()
                enter(page, server)
                noa_sid = sid()
                noa = page.locator(f'article[data-call-id="{server.ring(NOA_PHONE, noa_sid)}"]')
                expect(noa.locator(".case-subject")).to_be_visible()
                shoot(page, "phone-rtl.png")
                server.status(noa_sid, NOA_PHONE, "no-answer", 1)
                phone.close()
                browser.close()
        finally:
            server.close()


if __name__ == "__main__":
    main()
