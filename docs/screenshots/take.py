"""Screenshots of the agent console for the docs, taken from the real app with the demo store.

    .venv/bin/python docs/screenshots/take.py [NAME.png ...]

Starts the service on a temporary SQLite database, plays a few calls through signed Twilio
webhooks (so the log and the cards' recent calls have something to show), and photographs the
console in Debian's chromium at 1280x720 and as a 390x844 phone, in English, Polish and Hebrew,
into this folder, and the supervisor's Insights page over those calls in English and Polish. With
names, only those files are written. The wrap-up with an AI draft
(wrapup-ai.png) is written by the real embedded model (the [ai] extra), started for it.
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from app.db.migrate import upgrade  # noqa: E402
from app.demo.data import DEMO_AGENT_PASSWORD, DEMO_AGENT_USERNAME  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.summaries.local_model import LocalModel  # noqa: E402
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
SYNC_KEY = "sync-key-for-the-screenshots"
# A PBX's recorder's transcript of Anna's call: the model summarises it into the wrap-up's draft.
ANNA_TRANSCRIPT = [
    {"speaker": "agent", "text": "Good morning, Ringcard Shop, Ola speaking.", "start_s": 0.0},
    {
        "speaker": "customer",
        "text": "Hello, this is Anna Nowak. My order 1042 still has not arrived, where is it?",
        "start_s": 3.2,
    },
    {
        "speaker": "agent",
        "text": "It shipped last week. I will ask the courier today and call you back tomorrow.",
        "start_s": 9.5,
    },
    {"speaker": "customer", "text": "Thank you, that would help. Goodbye.", "start_s": 17.0},
]


class AiServer(ConsoleServer):
    """The server with the model's address in its environment (the harness passes on only the
    settings the console tests share)."""

    llm: dict[str, str] = {}

    def env(self) -> dict[str, str]:
        return {**super().env(), **{f"RINGCARD_{k.upper()}": v for k, v in self.llm.items()}}


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


def wanted(name: str) -> bool:
    return not sys.argv[1:] or name in sys.argv[1:]


def shoot(page: Page, name: str, *, full_page: bool = False) -> None:
    if not wanted(name):
        return
    page.wait_for_timeout(1200)  # a ringing timer past 0:00, fonts settled
    page.screenshot(path=str(HERE / name), full_page=full_page)
    print(f"wrote {HERE / name}")


def insights(browser: Browser, server: ConsoleServer, locale: str, name: str) -> None:
    """The supervisor's Insights page over the calls played so far, the whole page."""
    if not wanted(name):
        return
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale=locale, timezone_id="Europe/Warsaw"
    )
    page = context.new_page()
    enter(page, server)
    page.locator("#tab-insights").click()
    expect(page.locator("#view-insights .kpis")).to_be_visible()
    shoot(page, name, full_page=True)
    context.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/ringcard.db"
        upgrade(url)
        port = free_port()
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=url,
            admin_api_key="admin-key-for-the-screenshots",
            sync_api_key=SYNC_KEY,
            twilio_auth_token=TWILIO_TOKEN,
            cti_token=CTI_TOKEN,
            public_url=f"http://127.0.0.1:{port}",
            order_url_template="https://shop.example/admin/orders/{external_id}",
            customer_url_template="https://shop.example/admin/customers/{external_id}",
            demo=True,
        )
        load_demo_store(settings)
        model = LocalModel() if wanted("wrapup-ai.png") else None
        server = AiServer(settings, port)
        if model is not None:
            model.start()
            server.llm = {"llm_base_url": model.base_url, "llm_model": model.model}
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

                insights(browser, server, "en-GB", "insights.png")
                insights(browser, server, "pl-PL", "insights-pl.png")

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
                if model is not None:
                    wrapup_ai(browser, server)
                browser.close()
        finally:
            server.close()
            if model is not None:
                model.stop()


def wrapup_ai(browser: Browser, server: ConsoleServer) -> None:
    """Anna's call is over; its transcript came from the PBX and the model's draft waits in the
    wrap-up, marked as AI-written, for the agent to use as the note or edit."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 720}, locale="en-GB", timezone_id="Europe/Warsaw"
    )
    page = context.new_page()
    enter(page, server)
    call_sid = sid()
    call_id = server.ring(ANNA, call_sid)
    anna = page.locator(f'article[data-call-id="{call_id}"]')
    expect(anna).to_have_attribute("data-state", "ringing")
    server.status(call_sid, ANNA, "in-progress", 1)
    server.status(call_sid, ANNA, "completed", 2, CallDuration="21")
    expect(anna).to_have_attribute("data-state", "completed")
    sent = server.http.post(
        f"/api/v1/calls/{call_id}/transcript",
        json={"segments": ANNA_TRANSCRIPT},
        headers={"Authorization": f"Bearer {SYNC_KEY}"},
    )
    assert sent.status_code == 202, sent.text
    panel = anna.locator(".ai-summary")
    expect(panel).to_have_attribute("data-status", "ready", timeout=180_000)
    # The wrap-up sits under the card: the shot shows the note box and the draft under it.
    panel.evaluate("(el) => { el.scrollIntoView({block: 'end'}); window.scrollBy(0, 16); }")
    shoot(page, "wrapup-ai.png")
    context.close()


if __name__ == "__main__":
    main()
