"""A console for two shops: each pop names its store with its colour, the same caller known in the
other shop shows as "also a customer of", and the call log shows and filters by store. A single
shop's console shows no store at all (the other console tests run with one store)."""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.console.harness import LINE, ConsoleServer, sign_in

ANNA = "+48601234567"  # the demo's Anna Nowak, of the default store
DE_LINE = "+4930900000"
SCREENSHOT = "/tmp/ringcard-stores.png"


def admin(server: ConsoleServer, path: str, body: dict[str, object]) -> None:
    headers = {"Authorization": f"Bearer {server.settings.admin_api_key}"}
    answer = server.http.put(path, json=body, headers=headers)
    assert answer.status_code in (200, 201), answer.text


def two_shops(server: ConsoleServer) -> None:
    admin(server, "/api/v1/stores/default", {"name": "Sklep PL", "colour": "#dc143c", "lines": [LINE]})
    admin(
        server,
        "/api/v1/stores/de",
        {"name": "Shop DE", "region": "DE", "base_currency": "EUR", "colour": "#1f6feb", "lines": [DE_LINE]},
    )
    headers = {"Authorization": f"Bearer {server.settings.sync_api_key}"}
    anne = {
        "first_name": "Anne",
        "last_name": "Neumann",
        "phones": [{"number": ANNA, "kind": "mobile"}],
        "updated_at": "2026-11-20T10:00:00Z",
    }
    answer = server.http.put("/api/v1/customers/c-anne", params={"store": "de"}, json=anne, headers=headers)
    assert answer.status_code == 200, answer.text


def cti_call(server: ConsoleServer, call_id: str, line: str) -> None:
    body = {"event": "newCall", "from": ANNA, "to": line, "direction": "in", "callId": call_id}
    answer = httpx.post(f"{server.url}/webhooks/cti/{server.settings.cti_token}", data=body)
    assert answer.status_code == 200, answer.text


def test_each_pop_names_its_store_and_the_log_filters_by_store(page: Page, server: ConsoleServer) -> None:
    two_shops(server)
    sign_in(page, server)
    pl_call, de_call = f"pl-{uuid.uuid4().hex[:8]}", f"de-{uuid.uuid4().hex[:8]}"
    cti_call(server, pl_call, LINE)
    pl_pop = page.locator("article.call").filter(has_text="Anna Nowak")
    expect(pl_pop.locator(".chips .chip-store")).to_have_text("Sklep PL")
    expect(pl_pop.locator(".chips .chip-store")).to_have_attribute("title", "Store: Sklep PL")
    colour = pl_pop.locator(".chips .chip-store .store-dot").evaluate(
        "d => getComputedStyle(d).backgroundColor"
    )
    assert colour == "rgb(220, 20, 60)"
    also = pl_pop.locator(".panel").filter(has_text="Also a customer of")
    expect(also).to_contain_text("Shop DE")
    expect(also).to_contain_text("Anne Neumann")
    expect(also).to_contain_text("0 orders")

    cti_call(server, de_call, DE_LINE)
    de_pop = page.locator("article.call").filter(has_text="Anne Neumann — say hello to Anne")
    expect(de_pop.locator(".chips .chip-store")).to_have_text("Shop DE")
    expect(de_pop.locator(".panel").filter(has_text="Also a customer of")).to_contain_text("Anna Nowak")
    page.screenshot(path=SCREENSHOT, full_page=True)

    page.reload()  # the console learns the stores at sign-in (GET /api/v1/agents/me)
    page.locator("#connection[data-state=connected]").wait_for(timeout=5000)
    page.get_by_role("button", name=re.compile("^Call log")).click()
    store = page.get_by_label("Store", exact=True)
    expect(store).to_be_visible()
    rows = page.locator(".log-row")
    expect(rows.filter(has_text="Shop DE")).to_have_count(1)
    store.select_option(label="Shop DE")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Anne Neumann")
    store.select_option(label="Sklep PL")
    expect(rows.filter(has_text="Anne Neumann")).to_have_count(0)
    expect(rows.filter(has_text="Anna Nowak").first).to_be_visible()
