"""The AI draft of a call in the console, the whole way through the real parts: a Twilio call that
was answered and ended, its transcript sent as a PBX sends it, the worker asking the real embedded
model (SmolLM2-135M behind llama.cpp's OpenAI-compatible server), and chromium showing the draft
in the wrap-up, marked as AI-written. The agent edits it and uses it as the note, which the server
and the call log then have. A model nobody answers for ends as a failure the agent sees in plain
words and asks again for — here in Hebrew on a phone, right to left and by keyboard."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect

from app.summaries.local_model import LocalModel
from tests.conftest import SYNC, MigratedDatabases, empty_database, in_own_thread, make_settings
from tests.console.harness import (
    AGENT,
    CTI_TOKEN,
    TWILIO_TOKEN,
    ConsoleServer,
    free_port,
    load_demo_store,
    sign_in,
)

ANNA = "+48601234567"  # the demo's Anna Nowak: order #1042 shipped, complaint C-88 open on it
PHONE: ViewportSize = {"width": 390, "height": 844}
# The local model on two shared cores takes seconds per summary; a busy machine, some more.
DRAFT_TIMEOUT_MS = 180_000
# What a PBX's recorder sends: who said what, and when.
SEGMENTS: list[dict[str, Any]] = [
    {"speaker": "agent", "text": "Good morning, Ringcard Shop, Ola speaking.", "start_s": 0.0},
    {
        "speaker": "customer",
        "text": "Hello, this is Anna Nowak. My order 1042 still has not arrived, where is it?",
        "start_s": 3.2,
    },
    {
        "speaker": "agent",
        "text": "I see it shipped last week. I will ask the courier today and call you back tomorrow.",
        "start_s": 9.5,
    },
    {"speaker": "customer", "text": "Thank you, that would help. Goodbye.", "start_s": 17.0},
]
EDITED = "Anna's order #1042 has not arrived. Ola asks the courier today and calls Anna back tomorrow."


class AiConsoleServer(ConsoleServer):
    """The console's server with the AI settings in its environment (the harness passes on only the
    settings the other console tests need); `use_model` points it at another model and restarts it
    on the same port and database."""

    def __init__(self, settings: Any, port: int, ai: dict[str, str]) -> None:
        super().__init__(settings, port)
        self.ai = ai

    def env(self) -> dict[str, str]:
        return {**super().env(), **{f"RINGCARD_{name.upper()}": value for name, value in self.ai.items()}}

    def use_model(self, base_url: str) -> None:
        if self.ai["llm_base_url"] == base_url:
            return
        self.stop()
        self.ai = {**self.ai, "llm_base_url": base_url}
        self.start()


@pytest.fixture(scope="module")
def server(migrated: MigratedDatabases, local_model: LocalModel) -> Iterator[AiConsoleServer]:
    url = migrated.url("sqlite")
    in_own_thread(asyncio.run, empty_database(url))
    port = free_port()
    settings = make_settings(
        url,
        twilio_auth_token=TWILIO_TOKEN,
        cti_token=CTI_TOKEN,
        public_url=f"http://127.0.0.1:{port}",
        demo=True,
    )
    load_demo_store(settings)
    ai = {
        "llm_base_url": local_model.base_url,
        "llm_model": local_model.model,
        "llm_timeout_s": "120",
        # One attempt: a model that cannot be reached fails at once rather than after backoffs.
        "ai_max_attempts": "1",
    }
    running = AiConsoleServer(settings, port, ai)
    try:
        running.start()
        running.create_agent(AGENT["username"], AGENT["display_name"], AGENT["password"])
        yield running
    finally:
        running.close()


def a_talked_call(server: ConsoleServer, page: Page) -> tuple[str, Locator]:
    """Anna calls, the agent talks with her for 21 s, she hangs up: our id of the call, its card."""
    sid = "CA" + uuid.uuid4().hex
    call_id = server.ring(ANNA, sid)
    card = page.locator(f'article.call[data-call-id="{call_id}"]')
    expect(card).to_have_attribute("data-state", "ringing")
    server.status(sid, ANNA, "in-progress", 1)
    server.status(sid, ANNA, "completed", 2, CallDuration="21")
    expect(card).to_have_attribute("data-state", "completed")
    return call_id, card


def send_transcript(server: ConsoleServer, call_id: str) -> None:
    response = server.http.post(
        f"/api/v1/calls/{call_id}/transcript", json={"segments": SEGMENTS}, headers=SYNC
    )
    assert response.status_code == 202, response.text


def agent_headers(server: ConsoleServer) -> dict[str, str]:
    response = server.http.post(
        "/auth/token", json={"username": AGENT["username"], "password": AGENT["password"]}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


# Text straight in the panel's body, outside its paragraphs: nothing should ever be there.
STRAY_TEXT = (
    "(el) => [...el.querySelector('.ai-body').childNodes].filter((n) => n.nodeType === 3).map((n) => n.data)"
)


def call_detail(server: ConsoleServer, call_id: str) -> dict[str, Any]:
    response = server.http.get(f"/api/v1/calls/{call_id}", headers=agent_headers(server))
    assert response.status_code == 200, response.text
    detail: dict[str, Any] = response.json()
    return detail


def test_the_wrap_up_shows_the_ai_draft_and_the_edited_draft_becomes_the_calls_note(
    page: Page, server: AiConsoleServer, local_model: LocalModel
) -> None:
    server.use_model(local_model.base_url)
    sign_in(page, server)
    call_id, card = a_talked_call(server, page)
    send_transcript(server, call_id)

    panel = card.locator(".ai-summary")
    # Asked for while the model writes; then the draft, marked as written by AI.
    expect(panel).to_have_attribute("data-status", "ready", timeout=DRAFT_TIMEOUT_MS)
    expect(panel.get_by_role("heading", name="AI summary · draft")).to_be_visible()
    expect(panel.locator(".ai-badge")).to_contain_text("AI")
    expect(panel.locator(".ai-badge")).to_have_attribute("title", "Written by AI")
    draft = call_detail(server, call_id)["summary"]
    assert draft["status"] == "ready" and draft["ai"] is True and draft["text"], draft
    # The panel shows the server's draft as it is (text nodes: whatever the model wrote).
    expect(panel.locator(".ai-text")).to_have_text(draft["text"].strip())
    expect(panel.locator(".ai-sentiment")).to_have_text(f"Caller's mood: {draft['sentiment']}")
    expect(panel.locator(".ai-items li")).to_have_count(len([i for i in draft["action_items"] if i.strip()]))
    expect(panel).to_contain_text("Check it before you use it.")
    assert panel.evaluate(STRAY_TEXT) == []
    # Written in the console's language already: no offer to write it again in it.
    assert draft["language"] == "en"
    expect(panel.get_by_role("button", name="Write it in English")).to_have_count(0)
    # A draft is not a note until the agent says so: the note box is still empty.
    note = card.get_by_label("Note for the call log")
    expect(note).to_have_value("")

    panel.get_by_role("button", name="Edit").click()
    editor = panel.get_by_label("Edit the summary, then use it as the note")
    expect(editor).to_be_focused()
    expect(editor).to_have_value(draft["text"])
    editor.fill(EDITED)
    panel.get_by_role("button", name="Use as note").click()

    expect(panel).to_have_attribute("data-status", "approved")
    expect(panel).to_have_text(re.compile(r"AI summary used as note by Ola Nowicka"))
    expect(panel.locator(".ai-text")).to_have_count(0)
    expect(note).to_have_value(EDITED)
    saved = card.locator(".wrapup-row .save-status")
    expect(saved).to_have_text(re.compile("^AI summary saved as the note at"))
    detail = call_detail(server, call_id)
    assert detail["note"] == EDITED, detail
    assert detail["summary"]["status"] == "approved" and detail["summary"]["approved_by"] == "Ola Nowicka"
    assert detail["disposition"] == draft["disposition"]  # the agent had picked none
    # The box shows the outcome the server took from the draft, whatever words the model used.
    expect(card.get_by_label("Outcome")).to_have_value(detail["disposition"] or "")

    # The call log has the note, marked as holding an AI summary; the draft is no longer waiting.
    page.get_by_role("button", name=re.compile("^Call log")).click()
    row = page.locator(f'.log-row[data-call-id="{call_id}"]')
    expect(row.locator(".log-note-text")).to_have_text(EDITED)
    expect(row.locator(".ai-mark-used")).to_contain_text("This note includes an AI summary")
    expect(row.locator(".ai-mark-draft")).to_have_count(0)


@pytest.fixture
def hebrew_phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, locale="he-IL", timezone_id="Asia/Jerusalem")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


def test_a_draft_the_model_cannot_write_shows_why_and_is_asked_for_again(
    hebrew_phone: Page, server: AiConsoleServer
) -> None:
    page = hebrew_phone
    nobody = f"http://127.0.0.1:{free_port()}/v1"  # a port where nothing listens
    server.use_model(nobody)
    with httpx.Client() as probe, pytest.raises(httpx.ConnectError):
        probe.get(nobody + "/models")
    page.goto(server.url + "/")
    page.locator("#signin-username").fill(AGENT["username"])
    page.locator("#signin-password").fill(AGENT["password"])
    page.locator("#signin-submit").click()
    page.locator("#connection[data-state=connected]").wait_for(timeout=5000)
    call_id, card = a_talked_call(server, page)
    send_transcript(server, call_id)

    panel = card.locator(".ai-summary")
    expect(panel).to_have_attribute("data-status", "failed", timeout=30_000)
    expect(panel.locator(".ai-error")).to_have_text("ה־AI לא הצליח לכתוב סיכום של השיחה הזו.")
    failure = call_detail(server, call_id)["summary"]
    assert failure["status"] == "failed" and failure["error"], failure
    expect(panel.locator(".ai-error-detail")).to_have_text(failure["error"])
    # Right to left: the panel's AI stripe is on its right, the page no wider than the phone.
    assert page.evaluate("document.documentElement.dir") == "rtl"
    stripe = panel.evaluate(
        "(el) => ['Right', 'Left'].map((side) => getComputedStyle(el)[`border${side}Width`])"
    )
    assert stripe == ["4px", "1px"], stripe
    width = page.evaluate("[document.scrollingElement.scrollWidth, innerWidth]")
    assert width[0] <= width[1], width

    # By keyboard: the button takes the focus and Enter asks again; it is written again (and fails
    # again, nothing listens still), and the focus stays in the panel.
    again = panel.get_by_role("button", name="ניסיון חוזר")
    again.focus()
    page.keyboard.press("Enter")
    expect(panel).to_have_attribute("data-status", "pending")
    expect(panel.locator(".ai-quiet")).to_have_text("הסיכום נכתב…")
    assert panel.evaluate(STRAY_TEXT) == []
    assert panel.evaluate("(el) => el.contains(document.activeElement)")
    expect(panel).to_have_attribute("data-status", "failed", timeout=30_000)
    # Back where it was: on "Try again", for another go.
    expect(panel.get_by_role("button", name="ניסיון חוזר")).to_be_focused()
    assert call_detail(server, call_id)["summary"]["status"] == "failed"
