"""The agent console in real headless chromium against the real app: signed Twilio webhooks pop
cards, status callbacks move them, notes reach the log and the next card, a restart is survived,
an ambiguous caller can be picked, and nobody's name can run script."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.console.harness import AGENT, LINE, NOA_PHONE, ConsoleServer, sign_in, store_noa

pytestmark = pytest.mark.browser

ANNA = "+48601234567"
SHARED = "+48226543210"  # Jan Kowalski and Maria Kowalska's landline


def new_sid() -> str:
    return "CA" + uuid.uuid4().hex


def card(page: Page, call_id: str) -> Locator:
    return page.locator(f'article.call[data-call-id="{call_id}"]')


def test_a_ringing_call_pops_within_a_second_and_follows_the_call_to_its_note(
    page: Page, server: ConsoleServer
) -> None:
    sign_in(page, server)
    expect(page.locator("#agent-name")).to_have_text(AGENT["display_name"])
    sid = new_sid()
    started = time.monotonic()
    call_id = server.ring(ANNA, sid)
    pop = card(page, call_id)
    expect(pop.locator(".headline")).to_have_text("Anna Nowak — say hello to Anna", timeout=1000)
    expect(pop.locator(".reason-text")).to_have_text(
        "Probably about complaint C-88 on order #1042", timeout=1000
    )
    assert time.monotonic() - started < 1.0
    # Everything the agent reads before picking up.
    expect(pop).to_have_attribute("data-state", "ringing")
    expect(pop.locator(".state-label")).to_have_text("Ringing")
    expect(pop.locator(".caller-number")).to_have_text("+48 601 234 567")
    # How the number matched, in words: her own mobile first, then her orders' phones.
    expect(pop.locator(".matched-on")).to_contain_text(
        re.compile(r"^matched on mobile · billing phone and shipping phone of #1042 · ")
    )
    expect(pop.locator(".matched-on")).not_to_contain_text("customer.")
    expect(pop.locator(".tier")).to_have_text("Gold")
    expect(pop.locator(".case-complaint")).to_contain_text("Parcel not delivered")
    shipped = pop.locator(".order").filter(has_text="#1042")
    expect(shipped.locator(".badge")).to_have_class(re.compile(r"\bstatus-shipped\b"))
    track = shipped.get_by_role("link", name=re.compile("Track parcel"))
    expect(track).to_have_attribute("href", "https://tracking.example/parcel/1042")
    expect(track).to_have_attribute("rel", "noopener noreferrer")
    expect(pop.locator(".ltv")).to_contain_text("PLN")
    expect(pop.locator(".wrapup")).to_be_hidden()
    expect(page.locator("#announce-pop")).to_contain_text("Anna Nowak")
    expect(page).to_have_title(re.compile(r"^\(\d+\) Ringing — Ringcard$"))

    server.status(sid, ANNA, "in-progress", 1)
    expect(pop).to_have_attribute("data-state", "answered")
    expect(pop.locator(".state-label")).to_have_text("Answered")
    expect(pop.locator(".wrapup")).to_be_visible()
    server.status(sid, ANNA, "completed", 2, CallDuration="42")
    expect(pop).to_have_attribute("data-state", "completed")
    expect(pop.locator(".call-details")).to_contain_text("talked 0:42")

    # The card stays after the call: the agent writes the note and saves it.
    pop.get_by_label("Note for the call log").fill("Promised a refund for the parcel by Friday.")
    pop.get_by_label("Outcome").select_option("refund")
    pop.get_by_role("button", name="Save note").click()
    expect(pop.locator(".save-status")).to_have_text(re.compile("^Saved at"))

    page.get_by_role("button", name=re.compile("^Call log")).click()
    row = page.locator(f'.log-row[data-call-id="{call_id}"]')
    expect(row).to_contain_text("Promised a refund for the parcel by Friday.")
    expect(row).to_contain_text("Refund or return")
    expect(row).to_contain_text("Anna Nowak")

    page.get_by_role("button", name=re.compile("^Live")).click()
    pop.get_by_role("button", name=re.compile("^Close the card")).click()
    expect(pop).to_have_count(0)

    # Her next call shows what was promised.
    again = new_sid()
    next_pop = card(page, server.ring(ANNA, again))
    expect(next_pop.locator(".recent-calls")).to_contain_text("Promised a refund for the parcel by Friday.")
    expect(next_pop.locator(".recent-calls")).to_contain_text("Refund or return")
    server.status(again, ANNA, "no-answer", 1)
    expect(next_pop).to_have_attribute("data-state", "missed")


def test_an_ambiguous_caller_lists_the_candidates_and_the_agent_picks_one(
    page: Page, server: ConsoleServer
) -> None:
    sign_in(page, server)
    sid = new_sid()
    pop = card(page, server.ring(SHARED, sid))
    expect(pop.locator(".headline")).to_have_text("2 possible customers")
    candidates = pop.locator("button.candidate")
    expect(candidates).to_have_count(2)
    expect(candidates.filter(has_text="Jan Kowalski")).to_contain_text("Warszawa")
    expect(candidates.filter(has_text="Maria Kowalska")).to_contain_text("last order")

    candidates.filter(has_text="Maria Kowalska").click()
    expect(pop.locator(".headline")).to_have_text("Maria Kowalska — say hello to Maria")
    expect(pop.locator(".headline")).to_be_focused()  # the keyboard follows the pick
    expect(pop.locator(".chip-pick")).to_have_text("Picked by you from 2 candidates")
    expect(pop.locator(".orders .order")).to_have_count(1)

    pop.get_by_role("button", name="Show all candidates again").click()
    expect(pop.locator("button.candidate")).to_have_count(2)
    server.status(sid, SHARED, "no-answer", 1)
    expect(pop).to_have_attribute("data-state", "missed")


def test_unknown_withheld_invalid_and_internal_callers_each_look_their_own_and_stack_newest_first(
    page: Page, server: ConsoleServer
) -> None:
    server.create_agent("kasia", "Kasia Wójcik", "correct horse battery", phone="+48 600 100 200")
    sign_in(page, server)
    callers = {
        "unknown": "+48500000001",
        "withheld": "anonymous",
        "invalid": "12",
        "internal": "+48600100200",
    }
    sids = {kind: new_sid() for kind in callers}
    ids = {kind: server.ring(callers[kind], sids[kind]) for kind in callers}
    expect(page.locator("#live-count")).to_have_text(re.compile(r"^[4-9]$|^\d\d+$"))
    # Beyond two ringing calls the others are lines (test_console_layout.py): once over, every
    # card is whole.
    for kind in callers:
        server.status(sids[kind], callers[kind], "no-answer", 1)
        expect(card(page, ids[kind])).to_have_attribute("data-state", "missed")
    for kind, call_id in ids.items():
        expect(card(page, call_id).locator(f".special-{kind}")).to_be_visible()
    expect(card(page, ids["unknown"]).locator(".headline")).to_have_text("Unknown caller +48 500 000 001")
    expect(card(page, ids["withheld"]).locator(".headline")).to_have_text("Withheld number")
    expect(card(page, ids["invalid"]).locator(".headline")).to_have_text("Invalid number '12'")
    expect(card(page, ids["internal"]).locator(".headline")).to_have_text("Internal call from Kasia Wójcik")
    expect(card(page, ids["unknown"]).locator(".caller-number")).to_have_text("+48 500 000 001")

    on_screen = page.locator("article.call").evaluate_all("cards => cards.map(c => c.dataset.callId)")
    ours = [call_id for call_id in on_screen if call_id in ids.values()]
    assert ours == [ids[kind] for kind in reversed(list(callers))], "the newest call is on top"


def test_names_are_text_never_markup_and_hebrew_reads_right_to_left(
    page: Page, server: ConsoleServer
) -> None:
    store_noa(server)
    sign_in(page, server)
    sid = new_sid()
    noa = card(page, server.ring(NOA_PHONE, sid))
    headline = noa.locator(".headline")
    expect(headline).to_have_text("נועה כהן — say hello to נועה")
    # An English sentence around her name: the sentence left to right, the name right to left.
    assert headline.evaluate("el => el.matches(':dir(ltr)')")
    expect(headline.locator("bdi")).to_have_text(["נועה כהן", "נועה"])
    assert headline.locator("bdi").first.evaluate("el => el.matches(':dir(rtl)')")
    subject = noa.locator(".case-subject")
    expect(subject).to_have_text("החזרה: המידה לא מתאימה")
    assert subject.evaluate("el => el.matches(':dir(rtl)')")
    assert noa.locator(".reason-label").evaluate("el => el.matches(':dir(ltr)')")
    expect(noa.locator(".city")).to_have_text("תל אביב")
    server.status(sid, NOA_PHONE, "no-answer", 1)

    hostile = '<img src=x onerror="window.__owned = 1">'
    call = {
        "id": "hostile-" + uuid.uuid4().hex[:8],
        "state": "ringing",
        "from_raw": "+48 601 000 000",
        "from_display": "+48 601 000 000",
        "line": LINE,
        "started_at": datetime.now(UTC).isoformat(),
    }
    server.publish("call.ringing", call, _card_of(hostile), seq=1)
    pop = card(page, call["id"])
    expect(pop.locator(".headline")).to_have_text(f"{hostile} — say hello to {hostile}")
    expect(pop.locator(".customer-note")).to_have_text("<script>window.__owned = 2</script>")
    expect(pop.locator(".order-number")).to_have_text("#1")
    expect(pop.locator(".order a")).to_have_count(0)  # a javascript: tracking URL is not a link
    page.wait_for_timeout(200)
    assert page.evaluate("window.__owned") is None
    assert page.locator("article.call img").count() == 0
    server.publish("call.ended", {**call, "state": "missed"}, None, seq=2)
    expect(pop).to_have_attribute("data-state", "missed")


def _card_of(name: str) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    return {
        "call": None,
        "caller": {"raw": "+48601000000", "e164": "+48601000000", "display": "+48 601 000 000"},
        "match": {
            "status": "exact",
            "matched_on": ["customer.mobile"],
            "candidates": [],
            "internal_agent": None,
        },
        "customer": {
            "external_id": "c-hostile",
            "name": name,
            "first_name": name,
            "email": "x@example.com",
            "city": name,
            "tags": [name],
            "note": "<script>window.__owned = 2</script>",
            "customer_since": now,
            "guest": False,
        },
        "stats": {
            "orders_count": 1,
            "lifetime_value": [{"amount": "10.00", "currency": "PLN"}],
            "returns_count": 0,
            "first_order_at": now,
            "last_order_at": now,
            "loyalty_tier": "new",
            "high_returns": False,
        },
        "orders": [
            {
                "external_id": "o-1",
                "number": "#1",
                "status": "shipped",
                "financial_status": "paid",
                "fulfillment_status": name,
                "total": "10.00",
                "refunded": None,
                "currency": "PLN",
                "placed_at": now,
                "shipped_at": now,
                "delivered_at": None,
                "tracking_url": "javascript:window.__owned = 3",
                "items": [{"title": name, "quantity": 1}],
            }
        ],
        "open_cases": [],
        "recent_calls": [{"at": now, "state": "completed", "agent": name, "note": name, "disposition": name}],
        "likely_reason": {"code": None, "text": name},
        "data_as_of": now,
        "headline": f"{name} — say hello to {name}",
    }


def test_envelopes_not_newer_than_the_last_applied_are_dropped(page: Page, server: ConsoleServer) -> None:
    """The store's rules (docs/push.md), run in the page on the module the console itself uses."""
    sign_in(page, server)
    result = page.evaluate(
        """async () => {
          const main = document.querySelector('script[type=module]').src;
          const { CallStore } = await import(main.replace(/js\\/main\\.js$/, 'js/calls.js'));
          const store = new CallStore();
          const at = new Date().toISOString();
          const env = (id, type, seq, state) =>
            ({ type, call_id: id, seq, at, call: { id, state }, card: null });
          const out = {};
          out.ring = store.applyEnvelope(env('c1', 'call.ringing', 1, 'ringing'))?.popped;
          out.answer = !!store.applyEnvelope(env('c1', 'call.answered', 3, 'answered'));
          out.late = store.applyEnvelope(env('c1', 'call.ringing', 2, 'ringing'));
          out.again = store.applyEnvelope(env('c1', 'call.answered', 3, 'answered'));
          out.state = store.calls.get('c1').call.state;
          out.endedUnseen = store.applyEnvelope(env('c9', 'call.ended', 4, 'missed'));
          out.popped = store.applySnapshot([env('c2', 'call.ringing', 1, 'ringing')]).map(e => e.id);
          out.lost = store.calls.get('c1').lost;
          store.applyEnvelope(env('c2', 'call.ended', 2, 'missed'));
          store.close('c2');
          out.closedStays = store.applyEnvelope(env('c2', 'card.updated', 3, 'missed'));
          out.order = store.ordered().map(e => e.id);
          return out;
        }"""
    )
    assert result == {
        "ring": True,
        "answer": True,
        "late": None,
        "again": None,
        "state": "answered",
        "endedUnseen": None,
        "popped": ["c2"],
        "lost": True,
        "closedStays": None,
        "order": ["c1"],
    }


def test_after_a_server_restart_the_console_reconnects_and_the_snapshot_replaces_the_live_list(
    page: Page, server: ConsoleServer
) -> None:
    sign_in(page, server)
    sid = new_sid()
    ringing = card(page, server.ring("+48500000002", sid))
    expect(ringing).to_have_attribute("data-state", "ringing")
    # A call only this process knew (never recorded in the log): after the restart nobody has it.
    ghost = {"id": "ghost-" + uuid.uuid4().hex[:8], "state": "ringing", "from_raw": "+48 500 000 003"}
    ghost_card = card(page, ghost["id"])
    server.publish("call.ringing", {**ghost, "started_at": datetime.now(UTC).isoformat()}, None, seq=1)
    expect(ghost_card).to_have_attribute("data-state", "ringing")

    server.stop()
    connection = page.locator("#connection")
    expect(connection).to_have_attribute("data-state", re.compile("^(reconnecting|offline)$"), timeout=5000)
    server.start()
    expect(connection).to_have_attribute("data-state", "connected", timeout=15000)
    # The snapshot: the logged call still rings; the forgotten one is no longer live, but its card
    # stays for a note until the agent closes it.
    expect(ringing).to_have_attribute("data-state", "ringing")
    expect(ghost_card).to_have_attribute("data-state", "lost")
    expect(ghost_card.locator(".state-label")).to_have_text("No longer live")
    expect(ghost_card.get_by_role("button", name=re.compile("^Close the card"))).to_be_visible()

    server.status(sid, "+48500000002", "no-answer", 1)
    expect(ringing).to_have_attribute("data-state", "missed")


def test_missed_calls_are_a_to_do_list_in_the_log(page: Page, server: ConsoleServer) -> None:
    sign_in(page, server)
    missed = {}
    for caller in ("+48500000011", "+48500000012"):
        sid = new_sid()
        missed[caller] = server.ring(caller, sid)
        # A call that ends before its pop is shown never pops (it goes to the log): let it ring.
        expect(card(page, missed[caller])).to_have_attribute("data-state", "ringing")
        server.status(sid, caller, "no-answer", 1)
        expect(card(page, missed[caller])).to_have_attribute("data-state", "missed")
    expect(card(page, missed["+48500000011"]).locator(".call-details")).to_contain_text("rang")

    page.get_by_role("button", name=re.compile("^Call log")).click()
    page.get_by_role("button", name=re.compile("^Missed to do")).click()
    expect(page.locator("#missed-count")).to_have_text(re.compile(r"^\d+$"))
    first = page.locator(f'.log-row[data-call-id="{missed["+48500000011"]}"]')
    second = page.locator(f'.log-row[data-call-id="{missed["+48500000012"]}"]')
    expect(first).to_be_visible()

    page.get_by_label("Search").fill("500 000 011")
    expect(first).to_be_visible()
    expect(second).to_be_hidden()
    page.get_by_label("Search").fill("")
    expect(second).to_be_visible()

    first.get_by_role("button", name="Mark done").click()
    expect(first).to_have_count(0)  # done: off the to-do list
    page.get_by_role("button", name="Mark all missed done").click()
    expect(second).to_have_count(0)
    expect(page.locator("#log-status")).to_have_text("No missed calls to return. Nice.")
    expect(page.locator("#missed-count")).to_be_hidden()

    page.get_by_role("button", name="Today").click()
    expect(first.locator(".chip-done")).to_have_text("Done")


def test_narrow_screen_and_keyboard(browser: Browser, server: ConsoleServer) -> None:
    context = browser.new_context(viewport={"width": 400, "height": 800}, locale="en-GB")
    page = context.new_page()
    try:
        page.goto(server.url + "/")
        # The sign-in form takes the focus; the skip link comes before it, the button after.
        expect(page.get_by_label("Username")).to_be_focused()
        page.keyboard.press("Shift+Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to the calls"
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        expect(page.get_by_label("Password")).to_be_focused()
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Sign in")).to_be_focused()
        sign_in(page, server)
        sid = new_sid()
        pop = card(page, server.ring(SHARED, sid))
        expect(pop.locator("button.candidate")).to_have_count(2)
        assert page.evaluate("document.documentElement.scrollWidth") <= 400, "nothing wider than the phone"
        # Focus is visible wherever it goes, and a candidate is picked with the keyboard alone.
        candidate = pop.locator("button.candidate").first
        pop.locator(".headline").focus()
        page.keyboard.press("Tab")
        expect(candidate).to_be_focused()
        assert candidate.evaluate("el => getComputedStyle(el).outlineStyle") != "none"
        page.keyboard.press("Enter")
        expect(pop.locator(".chip-pick")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 400
        server.status(sid, SHARED, "no-answer", 1)
        expect(pop).to_have_attribute("data-state", "missed")
    finally:
        context.close()


def test_the_demo_button_simulates_a_signed_call_and_alerts_are_switched_on_by_a_click(
    page: Page, server: ConsoleServer
) -> None:
    page.context.grant_permissions(["notifications"])
    sign_in(page, server)
    for name in ("Ring sound", "Desktop alerts"):
        toggle = page.get_by_role("button", name=name)
        expect(toggle).to_have_attribute("aria-pressed", "false")
        toggle.click()
        expect(toggle).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Simulate a call").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    before = page.locator("article.call").count()
    dialog.get_by_role("button", name=re.compile("^Unknown caller")).click()
    expect(dialog).to_be_hidden()
    expect(page.locator("article.call")).to_have_count(before + 1)
    expect(page.locator("article.call").first.locator(".headline")).to_have_text(
        re.compile("^Unknown caller")
    )

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.locator("article.call")).to_have_count(0)
    assert page.evaluate("sessionStorage.getItem('ringcard.session')") is None
