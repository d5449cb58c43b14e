"""The console when many calls ring and on a phone, in real chromium: beyond two ringing calls the
others are lines that open their card; on a 390x844 screen the top bar is one row with a menu, a
ringing card's key facts are in the first screen, 200-character values never widen the page, the
simulate dialog shows its numbers whole and the call log's times stay on one line."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.console.harness import AGENT, ConsoleServer, sign_in

ANNA = "+48601234567"  # the demo's Anna Nowak: gold, an open complaint, 14 orders
GUEST = "+48 512 987 654"
UNKNOWN = "+48 500 000 001"
SHARED = "+48 22 654 32 10"
LONG_PHONE = "+48 600 777 888"
PHONE = {"width": 390, "height": 844}


def new_sid() -> str:
    return "CA" + uuid.uuid4().hex


def card(page: Page, call_id: str) -> Locator:
    return page.locator(f'article.call[data-call-id="{call_id}"]')


def line(page: Page, call_id: str) -> Locator:
    return page.locator(f'.compact[data-call-id="{call_id}"] button.compact-row')


def ring(page: Page, server: ConsoleServer, caller: str) -> tuple[str, str]:
    """Rings and waits until the console holds the call, so the next one rings later."""
    sid = new_sid()
    call_id = server.ring(caller, sid)
    expect(card(page, call_id)).to_be_attached()
    return sid, call_id


# The innermost elements that reach past the screen's edge, to say what widened the page.
BEYOND_THE_EDGE = """() => [...document.querySelectorAll("body *")]
  .filter((el) => !el.closest(".visually-hidden"))
  .filter((el) => {
    const r = el.getBoundingClientRect();
    return r.width && (r.right > innerWidth + 0.5 || r.left < -0.5);
  })
  .filter((el, _, all) => !all.some((other) => other !== el && el.contains(other)))
  .slice(0, 5).map((el) => `${el.tagName.toLowerCase()}.${el.className}`)"""


def no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    if widths[0] > widths[1]:
        culprits = page.evaluate(BEYOND_THE_EDGE)
        raise AssertionError(f"the page is {widths[0]} px wide on a {widths[1]} px screen: {culprits}")


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, locale="en-US", timezone_id="Europe/Warsaw")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


def test_beyond_two_ringing_calls_the_others_are_lines_that_open_their_card(
    page: Page, server: ConsoleServer
) -> None:
    sign_in(page, server)
    first_sid, first = ring(page, server, UNKNOWN)
    second_sid, second = ring(page, server, GUEST)
    anna_sid, anna = ring(page, server, ANNA)
    # The third is a line: who, tier, reason and how long it has waited; its card is not shown.
    anna_line = line(page, anna)
    expect(anna_line).to_be_visible()
    expect(anna_line).to_have_attribute("aria-expanded", "false")
    expect(anna_line.locator(".compact-name")).to_have_text("Anna Nowak")
    expect(anna_line.locator(".tier")).to_have_text("Gold")
    expect(anna_line.locator(".compact-reason")).to_have_text("Probably about complaint C-88 on order #1042")
    expect(card(page, anna)).to_be_hidden()
    expect(page.locator("#announce-pop")).to_have_text("Also ringing: Anna Nowak. 3 calls ringing")
    # The two waiting longest are the full cards.
    for call_id in (first, second):
        expect(card(page, call_id).locator(".headline")).to_be_visible()
        expect(line(page, call_id)).to_have_count(0)
    expect(page.locator("article.call:visible")).to_have_count(2)
    expect(page.locator("button.compact-row")).to_have_count(1)
    expect(page.locator(".queue-title")).to_have_text("1 more ringing")

    wait = anna_line.locator(".compact-wait")
    expect(wait).to_have_text(re.compile(r"^0:0\d$"))
    before = wait.inner_text()
    expect(wait).not_to_have_text(before, timeout=3000)  # it ticks

    shared_sid, shared = ring(page, server, SHARED)
    expect(page.locator("button.compact-row")).to_have_count(2)
    expect(line(page, shared).locator(".chip-ambiguous")).to_be_visible()
    # The longest waiting line first: the next to become a card.
    rows = page.locator(".compact").evaluate_all("rows => rows.map(r => r.dataset.callId)")
    assert rows == [anna, shared]

    anna_line.click()
    expect(anna_line).to_have_attribute("aria-expanded", "true")
    expect(card(page, anna).locator(".headline")).to_have_text("Anna Nowak — say hello to Anna")
    assert anna_line.get_attribute("aria-controls") == card(page, anna).get_attribute("id")
    anna_line.click()
    expect(anna_line).to_have_attribute("aria-expanded", "false")
    expect(card(page, anna)).to_be_hidden()

    # A full one ends: the longest-waiting line becomes its card, the ended card stays full.
    server.status(first_sid, UNKNOWN, "no-answer", 1)
    expect(card(page, first)).to_have_attribute("data-state", "missed")
    expect(line(page, anna)).to_have_count(0)
    expect(card(page, anna).locator(".headline")).to_be_visible()
    expect(card(page, first).locator(".headline")).to_be_visible()
    expect(page.locator(".queue-title")).to_have_text("1 more ringing")

    # The agent holds the last line with the keyboard when a full one is answered: the line turns
    # into its card and the keyboard is on that card's headline, not lost on the page.
    line(page, shared).focus()
    server.status(second_sid, GUEST, "in-progress", 1)
    expect(card(page, second)).to_have_attribute("data-state", "answered")
    expect(page.locator("button.compact-row")).to_have_count(0)
    expect(page.locator(".ringing-queue")).to_have_count(0)
    expect(card(page, shared).locator(".headline")).to_be_focused()
    expect(page.locator("article.call:visible")).to_have_count(4)
    server.status(second_sid, GUEST, "completed", 2, CallDuration="3")
    for ringing_sid, caller in ((anna_sid, ANNA), (shared_sid, SHARED)):
        server.status(ringing_sid, caller, "no-answer", 1)
    expect(page.locator('article.call[data-state="missed"]')).to_have_count(3)


def test_a_phone_has_a_one_row_top_bar_with_the_tabs_and_tools_in_a_menu(
    phone: Page, server: ConsoleServer
) -> None:
    page = phone
    sign_in(page, server)
    bar = page.locator(".topbar")
    assert bar.bounding_box()["height"] < 64  # type: ignore[index]
    toggle = page.get_by_role("button", name="Menu")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("button", name="Call log")).to_be_hidden()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    expect(page.locator("#topbar-view")).to_have_text("Live")
    expect(page.locator("#connection")).to_be_visible()

    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    for name in ("Live", "Call log", "Integrations", "Ring sound", "Desktop alerts", "Sign out"):
        expect(page.get_by_role("button", name=re.compile(f"^{name}"))).to_be_visible()
    expect(page.locator("#locale")).to_be_visible()
    expect(page.locator("#tab-live")).to_be_focused()
    assert bar.bounding_box()["height"] < 64  # type: ignore[index]  # the panel is over the page
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()

    toggle.click()
    page.get_by_role("button", name=re.compile("^Call log")).click()
    expect(page.get_by_role("heading", name="Call log", level=2)).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#topbar-view")).to_have_text("Call log")

    # A click anywhere else closes it too.
    toggle.click()
    page.mouse.click(PHONE["width"] / 2, PHONE["height"] - 20)
    expect(toggle).to_have_attribute("aria-expanded", "false")

    # The counts the tabs carry are on the button while the menu is closed.
    sid = new_sid()
    server.ring("+48500000071", sid)
    server.status(sid, "+48500000071", "no-answer", 1)
    expect(page.locator("#menu-count")).to_have_text(re.compile(r"^[1-9]\d*$"))
    expect(toggle).to_have_attribute("aria-label", re.compile(r"^Menu, \d+ things? to look at$"))

    toggle.click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Username")).to_be_visible()


@pytest.mark.parametrize("locale", ["en-US", "he-IL"])
def test_on_a_phone_a_ringing_cards_key_facts_are_in_the_first_screen(
    browser: Browser, server: ConsoleServer, locale: str
) -> None:
    context = browser.new_context(viewport=PHONE, locale=locale, timezone_id="Europe/Warsaw")
    page = context.new_page()
    try:
        page.goto(server.url + "/")
        page.locator("#signin-username").fill(AGENT["username"])
        page.locator("#signin-password").fill(AGENT["password"])
        page.locator("#signin-submit").click()
        page.locator("#connection[data-state=connected]").wait_for()
        sid, call_id = ring(page, server, ANNA)
        pop = card(page, call_id)
        expect(pop.locator(".ltv")).to_be_visible()
        assert page.evaluate("window.scrollY") == 0
        assert page.locator(".topbar").bounding_box()["height"] < 64  # type: ignore[index]
        for fact in (".headline", ".tier", ".reason", ".case", ".ltv"):
            box = pop.locator(fact).first.bounding_box()
            assert box is not None, fact
            assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], (fact, box)
        no_horizontal_scroll(page)
        if locale == "he-IL":
            # Right to left: the mark at the right edge, the menu button at the left.
            assert page.locator("html").get_attribute("dir") == "rtl"
            mark = page.locator(".topbar .brand").bounding_box()
            menu = page.locator("#menu-toggle").bounding_box()
            assert mark and menu and menu["x"] < mark["x"]
            avatar = pop.locator(".avatar").bounding_box()
            headline = pop.locator(".headline").bounding_box()
            assert avatar and headline and avatar["x"] > headline["x"]
        server.status(sid, ANNA, "no-answer", 1)
        expect(pop).to_have_attribute("data-state", "missed")
    finally:
        context.close()


def store_long_values(server: ConsoleServer) -> dict[str, str]:
    """A customer whose every free text is one unbroken 200-character word."""
    now = datetime.now(UTC)
    long = {
        "name": "N" * 200,
        "last": "L" * 200,
        "email": "e" * 188 + "@example.com",
        "note": "n" * 200,
        "city": "c" * 200,
        "tag": "t" * 200,
        "item": "i" * 200,
        "subject": "s" * 200,
        "number": "#" + "9" * 63,
    }
    server.put(
        "/api/v1/customers/cust-long",
        {
            "first_name": long["name"],
            "last_name": long["last"],
            "email": long["email"],
            "city": long["city"],
            "note": long["note"],
            "tags": [long["tag"]],
            "phones": [{"number": LONG_PHONE, "kind": "mobile"}],
            "created_at": (now - timedelta(days=90)).isoformat(),
            "updated_at": now.isoformat(),
        },
    )
    server.put(
        "/api/v1/orders/o-long",
        {
            "customer_external_id": "cust-long",
            "name": long["name"],
            "email": long["email"],
            "number": long["number"],
            "status": "shipped",
            "total": "1234567.89",
            "currency": "PLN",
            "placed_at": (now - timedelta(days=3)).isoformat(),
            "shipped_at": (now - timedelta(days=2)).isoformat(),
            "updated_at": now.isoformat(),
            "tracking_url": "https://tracking.example/" + "u" * 200,
            "items": [{"title": long["item"], "quantity": 2}],
        },
    )
    server.put(
        "/api/v1/cases/C-LONG",
        {
            "customer_external_id": "cust-long",
            "order_external_id": "o-long",
            "kind": "complaint",
            "status": "open",
            "subject": long["subject"],
            "opened_at": (now - timedelta(days=1)).isoformat(),
            "updated_at": now.isoformat(),
        },
    )
    return long


def test_200_character_values_never_make_the_page_wider_than_the_phone(
    phone: Page, server: ConsoleServer
) -> None:
    page = phone
    long = store_long_values(server)
    sign_in(page, server)
    sid, call_id = ring(page, server, LONG_PHONE)
    pop = card(page, call_id)
    expect(pop.locator(".customer-note")).to_have_text(long["note"])
    expect(pop.locator(".order-items")).to_contain_text(long["item"])
    expect(pop.locator(".email")).to_have_text(long["email"])
    expect(pop.locator(".case-subject")).to_have_text(long["subject"])
    no_horizontal_scroll(page)
    for part in (".headline", ".customer-note", ".order-items", ".email", ".chip-tag", ".order-top"):
        box = pop.locator(part).first.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (part, box)
    server.status(sid, LONG_PHONE, "no-answer", 1)
    expect(pop).to_have_attribute("data-state", "missed")
    no_horizontal_scroll(page)

    # The same caller as a line among ringing calls, and in the call log.
    rings = [ring(page, server, caller) for caller in (UNKNOWN, GUEST, LONG_PHONE)]
    expect(line(page, rings[2][1]).locator(".compact-name")).to_have_text(f"{long['name']} {long['last']}")
    no_horizontal_scroll(page)
    for (ringing_sid, _), caller in zip(rings, (UNKNOWN, GUEST, LONG_PHONE), strict=True):
        server.status(ringing_sid, caller, "no-answer", 1)
    page.get_by_role("button", name=re.compile("^Menu")).click()
    page.get_by_role("button", name=re.compile("^Call log")).click()
    expect(page.locator(".log-row").filter(has_text=long["name"]).first).to_be_visible()
    no_horizontal_scroll(page)


def test_call_log_times_stay_on_one_line(page: Page, phone: Page, server: ConsoleServer) -> None:
    sid = new_sid()
    server.ring("+48500000072", sid)
    server.status(sid, "+48500000072", "no-answer", 1)
    for each, open_log in ((page, "#tab-log"), (phone, None)):
        sign_in(each, server)
        if open_log:
            each.locator(open_log).click()
        else:
            each.get_by_role("button", name=re.compile("^Menu")).click()
            each.get_by_role("button", name=re.compile("^Call log")).click()
        clock = each.locator(".log-clock").first
        expect(clock).to_have_text(re.compile(r"^\d{1,2}:\d\d\s[AP]M$"))
        # The lines its text is laid out on (one top per line), measured on the row on screen: the
        # log redraws its rows when calls change, and a row just replaced has no lines at all.
        lines = each.wait_for_function(
            """() => {
              const el = document.querySelector(".log-clock");
              const range = document.createRange();
              range.selectNodeContents(el);
              return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size || null;
            }"""
        ).json_value()
        assert lines == 1, f"{clock.inner_text()!r} takes {lines} lines"


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 720}, PHONE])
def test_the_simulate_dialog_shows_each_example_number_whole(
    browser: Browser, server: ConsoleServer, viewport: dict[str, int]
) -> None:
    context = browser.new_context(viewport=viewport, locale="en-US")  # type: ignore[arg-type]
    page = context.new_page()
    try:
        sign_in(page, server)
        if viewport["width"] < 700:
            page.get_by_role("button", name=re.compile("^Menu")).click()
        page.get_by_role("button", name="Simulate a call").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_be_visible()
        numbers = dialog.locator(".preset-number")
        expect(numbers.first).to_have_text("+48 601 234 567")
        box = dialog.bounding_box()
        assert box is not None
        for number in numbers.all():
            sizes = number.evaluate("el => [el.scrollWidth, el.clientWidth]")
            assert sizes[0] <= sizes[1], f"{number.inner_text()} is cut: {sizes}"
            inner = number.bounding_box()
            assert inner and inner["x"] >= box["x"] and inner["x"] + inner["width"] <= box["x"] + box["width"]
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_be_hidden()
    finally:
        context.close()
