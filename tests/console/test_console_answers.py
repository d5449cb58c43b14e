"""Issue 13 in the console: a call another agent answered folds to one line on everyone else's
screen, the provider's call id is on the card and in the log (copyable, searchable), and a
simulated call plays out by itself the way the dialog says."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect

from app.calls.identity import call_id_for
from tests.console.harness import AGENT, ConsoleServer, sign_in

pytestmark = pytest.mark.browser

ANNA = "+48601234567"
EWA = {"username": "ewa", "password": "another horse battery", "display_name": "Ewa Zielińska"}


def card(page: Page, call_id: str) -> Locator:
    return page.locator(f'article.call[data-call-id="{call_id}"]')


@contextmanager
def second_console(browser: Browser, server: ConsoleServer, agent: dict[str, str]) -> Iterator[Page]:
    """Another agent at another PC: a browser context of their own, signed in; script errors fail
    the test as the `page` fixture's do."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 720}, locale="en-GB", timezone_id="Europe/Warsaw"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    try:
        sign_in(page, server, agent["username"], agent["password"])
        yield page
    finally:
        context.close()
    assert not errors, errors


@pytest.fixture(scope="module")
def ewa(server: ConsoleServer) -> dict[str, str]:
    server.create_agent(EWA["username"], EWA["display_name"], EWA["password"])
    return EWA


def test_a_call_a_colleague_answered_folds_to_one_line_that_opens_again(
    page: Page, browser: Browser, server: ConsoleServer, ewa: dict[str, str]
) -> None:
    sign_in(page, server)
    with second_console(browser, server, ewa) as other:
        pbx_id = f"pbx-{uuid.uuid4().hex[:12]}"
        call_id = call_id_for("cti", pbx_id)
        server.cti("newCall", pbx_id, ANNA)
        mine, theirs = card(page, call_id), card(other, call_id)
        for pop in (mine, theirs):
            expect(pop.locator(".headline")).to_have_text("Anna Nowak — say hello to Anna")
        expect(mine.locator(".call-ref-id")).to_have_text(pbx_id)
        expect(mine.locator(".call-ref-id")).to_have_attribute("title", "PBX call id")

        # The PBX says who picked up: Ola, by her display name.
        server.cti("answer", pbx_id, ANNA, user=AGENT["display_name"])
        answered = time.monotonic()
        fold = theirs.get_by_role("button", name=re.compile("answered by"))
        expect(theirs).to_have_attribute("data-folded", "true", timeout=1000)
        assert time.monotonic() - answered < 1.0
        expect(fold).to_contain_text(f"Anna Nowak — answered by {AGENT['display_name']}")
        expect(fold).to_contain_text("In progress")
        expect(fold).to_have_attribute("aria-expanded", "false")
        expect(theirs.locator(".headline")).to_be_hidden()
        expect(theirs.locator(".wrapup")).to_be_hidden()
        # The name is the provider's text: its own direction, isolated from the sentence.
        expect(fold.locator(".who")).to_have_attribute("dir", "auto")
        other.screenshot(path="/tmp/collapsed.png")

        # Ola answered: she keeps the whole card, with the note box.
        expect(mine).to_have_attribute("data-state", "answered")
        expect(mine).to_have_attribute("data-folded", "false")
        expect(mine.locator(".call-fold")).to_be_hidden()
        expect(mine.locator(".headline")).to_be_visible()
        expect(mine.locator(".wrapup")).to_be_visible()
        expect(mine.locator(".call-details")).to_contain_text(f"by {AGENT['display_name']}")

        # Ewa opens it with the keyboard, reads it, folds it again; the focus stays on the line.
        fold.focus()
        other.keyboard.press("Enter")
        expect(fold).to_have_attribute("aria-expanded", "true")
        expect(theirs.locator(".headline")).to_be_visible()
        expect(fold).to_be_focused()
        # Open, it stays open through the call's next envelope.
        server.cti("hangup", pbx_id, ANNA, cause="normalClearing")
        expect(theirs).to_have_attribute("data-state", "completed")
        expect(theirs.locator(".headline")).to_be_visible()
        expect(fold).to_contain_text("Completed")
        fold.click()
        expect(fold).to_have_attribute("aria-expanded", "false")
        expect(theirs.locator(".headline")).to_be_hidden()
        expect(fold).to_be_focused()

        # Over and folded, it closes from its line.
        expect(mine).to_have_attribute("data-state", "completed")
        theirs.get_by_role("button", name=re.compile("^Close the card")).click()
        expect(theirs).to_have_count(0)
        expect(mine.locator(".headline")).to_be_visible()


def test_who_is_me_by_name_username_or_extension_and_a_note_being_written_stays_open(
    page: Page, server: ConsoleServer
) -> None:
    """The rules in calls.js and card.js, run in the page on the modules the console itself uses."""
    sign_in(page, server)
    result = page.evaluate(
        """async () => {
          const main = document.querySelector('script[type=module]').src;
          const { answeredElsewhere } = await import(main.replace(/js\\/main\\.js$/, 'js/calls.js'));
          const { CallCard } = await import(main.replace(/js\\/main\\.js$/, 'js/card.js'));
          const me = { username: 'ola', display_name: 'Ola Nowicka', phone: '+48 600 100 200' };
          const elsewhere = (answered_by, state = 'answered', who = me) =>
            answeredElsewhere({ answered_by, state }, who);
          // Ola typing a note when the provider says Ewa took the call: her card stays open.
          const call = { id: 'x1', state: 'answered', started_at: new Date().toISOString() };
          const entry = (c) => ({ id: 'x1', call: c, card: null, picked: null, lost: false });
          const view = new CallCard(entry(call), { me: () => me });
          view.wrapup.textarea.value = 'half a note';
          view.wrapup.textarea.dispatchEvent(new Event('input'));
          view.update(entry({ ...call, answered_by: 'Ewa Zielińska' }));
          const typing = { folded: view.el.dataset.folded, line: !view.fold.hidden };
          return {
            typing,
            displayName: elsewhere('Ola Nowicka'),
            username: elsewhere('OLA '),
            client: elsewhere('client:ola'),
            several: elsewhere('ewa, ola'),
            extension: elsewhere('600100200'),
            colleague: elsewhere('Ewa Zielińska'),
            otherExtension: elsewhere('201'),
            ended: elsewhere('Ewa Zielińska', 'completed'),
            ringing: elsewhere('Ewa Zielińska', 'ringing'),
            nobody: elsewhere(null),
            notYetKnown: elsewhere('Ewa Zielińska', 'answered', null),
          };
        }"""
    )
    assert result == {
        "typing": {"folded": "false", "line": True},
        "displayName": False,
        "username": False,
        "client": False,
        "several": False,
        "extension": False,
        "colleague": True,
        "otherExtension": True,
        "ended": True,
        "ringing": False,
        "nobody": False,
        "notYetKnown": False,
    }


def test_the_providers_call_id_is_on_the_card_and_in_the_log_copyable_and_searchable(
    page: Page, server: ConsoleServer
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, server)
    sid = "CA" + uuid.uuid4().hex
    other_sid = "CA" + uuid.uuid4().hex
    pop = card(page, server.ring(ANNA, sid))
    ref = pop.locator(".call-ref-id")
    expect(ref).to_have_text(sid)
    expect(ref).to_have_attribute("title", "Twilio CallSid")
    assert ref.evaluate("el => getComputedStyle(el).fontFamily").find("mono") != -1
    pop.get_by_role("button", name="Copy the Twilio CallSid").click()
    expect(pop.locator(".btn-copy.copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == sid
    expect(page.locator("#announce")).to_have_text("Twilio CallSid copied")
    other = card(page, server.ring("+48500000021", other_sid))
    expect(other.locator(".call-ref-id")).to_have_text(other_sid)
    server.status(sid, ANNA, "no-answer", 1)
    server.status(other_sid, "+48500000021", "no-answer", 1)
    expect(pop).to_have_attribute("data-state", "missed")
    expect(other).to_have_attribute("data-state", "missed")

    page.get_by_role("button", name=re.compile("^Call log")).click()
    row = page.locator(f'.log-row[data-call-id="{pop.get_attribute("data-call-id")}"]')
    other_row = page.locator(f'.log-row[data-call-id="{other.get_attribute("data-call-id")}"]')
    expect(row.locator(".call-ref-id")).to_have_text(sid)
    expect(row.get_by_role("button", name="Copy the Twilio CallSid")).to_be_visible()
    # Pasted whole, or a part of it in any case: only that call.
    for query in (sid, sid[-12:].upper()):
        page.get_by_label("Search").fill(query)
        expect(row).to_be_visible()
        expect(other_row).to_be_hidden()
    page.get_by_label("Search").fill("")
    expect(other_row).to_be_visible()
    # On a phone the id shrinks (its copy button still copies all of it): nothing wider than it.
    page.set_viewport_size({"width": 400, "height": 800})
    expect(row.locator(".call-ref-id")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 400


def _shortened(bodies: list[dict[str, Any]], **times: float) -> Any:
    """Records what the console sends and lets it through with shorter times, so a 5 + 30 s call
    plays out in seconds; the server then does what it would have done."""

    def handle(route: Route) -> None:
        body = route.request.post_data_json
        bodies.append(body)
        short = {key: times[key] for key in body if key in times}
        route.continue_(post_data=json.dumps({**body, **short}))

    return handle


def test_a_simulated_call_is_answered_then_ends_or_is_missed_as_the_dialog_says(
    page: Page, server: ConsoleServer
) -> None:
    sign_in(page, server)
    bodies: list[dict[str, Any]] = []
    page.route("**/api/v1/demo/simulate-call", _shortened(bodies, answer_after_s=1, hang_up_after_s=1))
    page.get_by_role("button", name="Simulate a call").click()
    dialog = page.get_by_role("dialog")
    answer = dialog.get_by_role("radio", name="I answer after 5 s, we talk 30 s")
    expect(answer).to_be_checked()
    with page.expect_response("**/api/v1/demo/simulate-call") as simulated:
        dialog.get_by_role("button", name=re.compile("^Anna Nowak")).click()
    assert simulated.value.status == 202, simulated.value.text()
    expect(dialog).to_be_hidden()
    assert bodies == [{"from": "+48 601 234 567", "answer_after_s": 5, "hang_up_after_s": 30}]
    pop = page.locator("article.call").first
    expect(pop.locator(".headline")).to_have_text("Anna Nowak — say hello to Anna")
    expect(pop).to_have_attribute("data-state", "answered", timeout=5000)
    expect(pop).to_have_attribute("data-folded", "false")  # answered here (or by nobody named)
    expect(pop).to_have_attribute("data-state", "completed", timeout=5000)
    expect(pop.locator(".call-details")).to_contain_text("talked 0:01")

    page.get_by_role("button", name="Simulate a call").click()
    dialog.get_by_role("radio", name="Nobody answers (missed after 20 s)").check()
    with page.expect_response("**/api/v1/demo/simulate-call") as simulated:
        dialog.get_by_role("button", name=re.compile("^Unknown caller")).click()
    assert simulated.value.status == 202, simulated.value.text()
    expect(dialog).to_be_hidden()
    assert bodies[1] == {"from": "+48 500 000 001", "hang_up_after_s": 20}
    missed = page.locator("article.call").first
    expect(missed.locator(".headline")).to_have_text(re.compile("^Unknown caller"))
    expect(missed).to_have_attribute("data-state", "missed", timeout=5000)
    expect(missed.locator(".call-details")).to_contain_text("rang 0:01")
