"""The console in the agent's language: every word the console shows comes from a catalogue
(js/locales/<tag>.js), every language has every English key with the same placeholders, and (in
chromium) the card reads in English, Polish, German and Hebrew, Hebrew right to left, switching
without a reload, and a key a language lacks falls back to English, never to the key."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, Route, expect

from tests.console.catalogues import (
    PLACEHOLDER,
    Catalogue,
    console_uses,
    is_plural,
    languages,
    read_catalogue,
)
from tests.console.harness import AGENT, ConsoleServer

LATER_SECTIONS = ["card links & call back", "many ringing & small screens", "team page"]


@pytest.fixture(scope="module")
def catalogues() -> dict[str, Catalogue]:
    return {tag: read_catalogue(tag) for tag in languages()}


def test_the_console_speaks_english_polish_german_and_hebrew(catalogues: dict[str, Catalogue]) -> None:
    assert list(catalogues)[:4] == ["en", "pl", "de", "he"]
    assert catalogues["he"].meta["dir"] == "rtl"
    assert {c.meta["dir"] for tag, c in catalogues.items() if tag != "he"} == {"ltr"}


def test_every_key_the_console_uses_is_in_english(catalogues: dict[str, Catalogue]) -> None:
    en = catalogues["en"]
    uses = console_uses()
    assert len(uses.keys) > 150  # the reader found the calls (a broken regex finds none)
    missing = {
        key: where
        for key, where in uses.keys.items()
        if key not in en.messages and not (key in en.groups and is_plural(en.groups[key]))
    }
    assert not missing, f"keys used but not in en.js: {missing}"
    no_prefix = [p for p in uses.prefixes if not any(k.startswith(f"{p}.") for k in en.messages)]
    assert not no_prefix, f"label() prefixes with no key in en.js: {no_prefix}"
    # A key built at run time (t(`reason.${code}`)) is one no test can check: write the key out,
    # or use label(prefix, code) for a server's codes.
    assert not uses.templated, uses.templated


def test_english_has_no_key_nobody_uses(catalogues: dict[str, Catalogue]) -> None:
    uses = console_uses()
    unused = [
        key
        for key in catalogues["en"].messages
        if key not in uses.keys
        and key.rsplit(".", 1)[0] not in uses.keys  # a plural form or a group read by its name
        and not any(key.startswith(f"{prefix}.") for prefix in uses.prefixes)
    ]
    assert not unused, f"en.js keys no script or page uses: {unused}"


@pytest.mark.parametrize("tag", ["pl", "de", "he"])
def test_each_language_has_every_english_key_with_its_placeholders(
    catalogues: dict[str, Catalogue], tag: str
) -> None:
    en, other = catalogues["en"], catalogues[tag]
    categories = set(other.plurals)
    expected: set[str] = set()
    for key in en.messages:
        base = key.rpartition(".")[0]
        if base in en.groups and is_plural(en.groups[base]):
            # The language's own plural forms stand in for English's one/other.
            expected |= {f"{base}.{c}" for c in categories}
        else:
            expected.add(key)
    assert sorted(expected - set(other.messages)) == [], f"{tag}.js lacks these keys"
    assert sorted(set(other.messages) - expected) == [], f"{tag}.js has keys English does not"
    for key, text in other.messages.items():
        base = key.rpartition(".")[0]
        plural = base in en.groups and is_plural(en.groups[base])
        english = en.messages[f"{base}.other" if plural else key]
        theirs, ours = set(PLACEHOLDER.findall(text)), set(PLACEHOLDER.findall(english))
        # "one" may say the number in words ("שיחה אחת") and leave {count} out; nothing else may go.
        allowed_gone = {"count"} if plural else set()
        assert theirs <= ours, f"{tag}.js {key}: unknown placeholders {theirs - ours}"
        assert ours - theirs <= allowed_gone, f"{tag}.js {key}: lost placeholders {ours - theirs}"


def test_every_catalogue_keeps_the_sections_later_changes_fill_in(catalogues: dict[str, Catalogue]) -> None:
    for tag, catalogue in catalogues.items():
        assert catalogue.sections[-3:] == LATER_SECTIONS, tag
        assert catalogue.sections == catalogues["en"].sections, f"{tag}.js sections differ from en.js"


# --- in chromium ------------------------------------------------------------------------------------

ZOFIA_PHONE = "+48 605 111 222"  # a complaint on #5001; orders in złoty and in euro
PIOTR_PHONE = "+48 605 333 444"  # #5003 shipped nine days ago, not delivered


def new_sid() -> str:
    return "CA" + uuid.uuid4().hex


def card(page: Page, call_id: str) -> Locator:
    return page.locator(f'article.call[data-call-id="{call_id}"]')


@pytest.fixture(scope="module")
def customers(server: ConsoleServer) -> ConsoleServer:
    """Two customers whose cards say everything in numbers we know: Zofia's lifetime value is
    12 345,50 zł and 1 234,50 € (platinum), her complaint C-501 (three days old) is on #5001;
    Piotr's #5003 is late."""
    now = datetime.now(UTC)

    def order(
        ext: str, owner: str, number: str, total: str, currency: str, status: str, days: int, **more: Any
    ) -> None:
        server.put(
            f"/api/v1/orders/{ext}",
            {
                "customer_external_id": owner,
                "number": number,
                "status": status,
                "financial_status": "paid",
                "total": total,
                "currency": currency,
                "placed_at": (now - timedelta(days=days + 1)).isoformat(),
                "updated_at": (now - timedelta(days=days)).isoformat(),
                **more,
            },
        )

    for ext, first, last, phone in (
        ("cust-i18n-zofia", "Zofia", "Wiśniewska", ZOFIA_PHONE),
        ("cust-i18n-piotr", "Piotr", "Zieliński", PIOTR_PHONE),
    ):
        server.put(
            f"/api/v1/customers/{ext}",
            {
                "first_name": first,
                "last_name": last,
                "city": "Łódź",
                "phones": [{"number": phone, "kind": "mobile"}],
                "created_at": (now - timedelta(days=700)).isoformat(),
                "updated_at": now.isoformat(),
            },
        )
    shipped = (now - timedelta(days=9)).isoformat()
    order(
        "o-i18n-5001",
        "cust-i18n-zofia",
        "#5001",
        "12345.50",
        "PLN",
        "shipped",
        9,
        shipped_at=shipped,
        phones=[{"number": ZOFIA_PHONE, "kind": "billing"}],
    )
    order(
        "o-i18n-5002",
        "cust-i18n-zofia",
        "#5002",
        "1234.50",
        "EUR",
        "delivered",
        40,
        phones=[{"number": ZOFIA_PHONE, "kind": "shipping"}],
    )
    order("o-i18n-5003", "cust-i18n-piotr", "#5003", "99.00", "PLN", "shipped", 9, shipped_at=shipped)
    server.put(
        "/api/v1/cases/C-501",
        {
            "customer_external_id": "cust-i18n-zofia",
            "order_external_id": "o-i18n-5001",
            "kind": "complaint",
            "status": "open",
            "subject": "Paczka nie dotarła",
            "opened_at": (now - timedelta(days=3)).isoformat(),
            "updated_at": (now - timedelta(days=3)).isoformat(),
        },
    )
    return server


@contextmanager
def browser_in(browser: Browser, locale: str) -> Iterator[tuple[Page, list[str]]]:
    """A page whose browser prefers `locale`; yields it with the console's warnings. A script error
    fails the test, as in conftest's page."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 720}, locale=locale, timezone_id="Europe/Warsaw"
    )
    page = context.new_page()
    errors: list[str] = []
    warnings: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def console(message: ConsoleMessage) -> None:
        if message.type == "warning":
            warnings.append(message.text)
        elif message.type == "error" and not message.text.startswith(
            ("Failed to load resource", "WebSocket")
        ):
            errors.append(message.text)

    page.on("console", console)
    try:
        yield page, warnings
    finally:
        context.close()
    assert not errors, errors


def sign_in_as(page: Page, server: ConsoleServer, username: str, password: str = AGENT["password"]) -> None:
    """Signs in by the form's ids: its labels are in the browser's language."""
    if not page.url.startswith(server.url):
        page.goto(server.url + "/")
    page.locator("#signin-username").fill(username)
    page.locator("#signin-password").fill(password)
    page.locator("#signin-submit").click()
    page.locator("#connection[data-state=connected]").wait_for(timeout=5000)


NBSP, RLM = "\u00a0", "\u200f"

# What an agent reads, per browser language: the sign-in button, Zofia's card, Piotr's reason.
CARDS = {
    "en-US": {
        "lang": "en-US",
        "signin": "Sign in",
        "tab": "Call log",
        "state": "Ringing",
        "tier": "Platinum",
        "headline": "Zofia Wiśniewska — say hello to Zofia",
        "reason": "Probably about complaint C-501 on order #5001",
        "via": "matched on mobile · billing phone of #5001 · shipping phone of #5002",
        "ltv": [f"PLN{NBSP}12,345.50", "€1,234.50"],
        "case": "Complaint",
        "opened": "opened 3 days ago",
        "wismo": "Probably asking where order #5003 is: shipped 9 days ago, not delivered",
    },
    "pl-PL": {
        "lang": "pl-PL",
        "signin": "Zaloguj się",
        "tab": "Rejestr połączeń",
        "state": "Dzwoni",
        "tier": "Platynowy",
        "headline": "Zofia Wiśniewska — przywitaj się: Zofia",
        "reason": "Prawdopodobnie w sprawie reklamacji C-501 do zamówienia #5001",
        "via": "dopasowano po: komórka · telefon rozliczeniowy z zamówienia #5001"
        " · telefon do dostawy z zamówienia #5002",
        "ltv": [f"12{NBSP}345,50{NBSP}zł", f"1234,50{NBSP}€"],
        "case": "Reklamacja",
        "opened": "otwarta 3 dni temu",
        "wismo": "Prawdopodobnie pyta, gdzie jest zamówienie #5003: wysłane 9 dni temu,"
        " jeszcze nie doręczone",
    },
    "de-DE": {
        "lang": "de-DE",
        "signin": "Anmelden",
        "tab": "Anrufliste",
        "state": "Klingelt",
        "tier": "Platin",
        "headline": "Zofia Wiśniewska — Zofia begrüßen",
        "reason": "Wahrscheinlich wegen der Reklamation C-501 zur Bestellung #5001",
        "via": "erkannt über Mobilnummer · Rechnungstelefon von #5001 · Liefertelefon von #5002",
        "ltv": [f"12.345,50{NBSP}PLN", f"1.234,50{NBSP}€"],
        "case": "Reklamation",
        "opened": "eröffnet vor 3 Tagen",
        "wismo": "Fragt wahrscheinlich, wo Bestellung #5003 bleibt: vor 9 Tagen versandt,"
        " noch nicht zugestellt",
    },
    "he-IL": {
        "lang": "he-IL",
        "signin": "כניסה",
        "tab": "יומן שיחות",
        "state": "מצלצלת",
        "tier": "פלטינה",
        "headline": "Zofia Wiśniewska — לפנות בשם: Zofia",
        "reason": "כנראה בנוגע לתלונה C-501 על הזמנה #5001",
        "via": "זוהה לפי נייד · טלפון לחיוב בהזמנה #5001 · טלפון למשלוח בהזמנה #5002",
        "ltv": [f"{RLM}12,345.50{NBSP}{RLM}PLN", f"{RLM}1,234.50{NBSP}{RLM}€"],
        "case": "תלונה",
        "opened": "נפתחה לפני 3 ימים",
        "wismo": "כנראה רוצים לדעת איפה הזמנה #5003: נשלחה לפני 9 ימים, טרם נמסרה",
    },
}


@pytest.mark.browser
@pytest.mark.parametrize("locale", list(CARDS))
def test_the_card_reads_in_the_browsers_language(
    browser: Browser, customers: ConsoleServer, locale: str
) -> None:
    said = CARDS[locale]
    with browser_in(browser, locale) as (page, warnings):
        page.goto(customers.url + "/")
        expect(page.locator("#signin-submit")).to_have_text(said["signin"])
        expect(page.locator("html")).to_have_attribute("lang", said["lang"])
        expect(page.locator("html")).to_have_attribute("dir", "rtl" if locale == "he-IL" else "ltr")
        sign_in_as(page, customers, AGENT["username"])
        expect(page.locator("#tab-log")).to_contain_text(said["tab"])

        sid = new_sid()
        zofia = card(page, customers.ring(ZOFIA_PHONE, sid))
        expect(zofia.locator(".headline")).to_have_text(said["headline"])
        expect(zofia.locator(".reason-text")).to_have_text(said["reason"])
        expect(zofia.locator(".state-label")).to_have_text(said["state"])
        expect(zofia.locator(".tier")).to_have_text(said["tier"])
        expect(zofia.locator(".matched-on")).to_have_text(said["via"])
        expect(zofia.locator(".ltv span")).to_have_text(said["ltv"])
        expect(zofia.locator(".case .chip-kind")).to_have_text(said["case"])
        expect(zofia.locator(".case-meta")).to_contain_text(said["opened"])
        late = new_sid()
        piotr = card(page, customers.ring(PIOTR_PHONE, late))
        expect(piotr.locator(".reason-text")).to_have_text(said["wismo"])
        # Nothing on screen is a key or a developer's name for a field.
        body = page.locator("body").inner_text()
        assert not re.search(r"\b(card|call|match|reason|status|headline)\.[a-z_]+\b", body), body
        assert "customer.mobile" not in body
        assert not warnings, warnings
        customers.status(sid, ZOFIA_PHONE, "no-answer", 1)
        customers.status(late, PIOTR_PHONE, "no-answer", 1)


def box(locator: Locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, locator
    return found


@pytest.mark.browser
def test_hebrew_is_laid_out_right_to_left_and_english_left_to_right(
    browser: Browser, customers: ConsoleServer
) -> None:
    with browser_in(browser, "he-IL") as (page, _):
        sign_in_as(page, customers, AGENT["username"])
        sid = new_sid()
        zofia = card(page, customers.ring(ZOFIA_PHONE, sid))
        expect(zofia.locator(".reason-text")).to_have_text(CARDS["he-IL"]["reason"])
        assert page.evaluate("document.documentElement.dir") == "rtl"
        avatar, name, article = (
            box(zofia.locator(".avatar").first),
            box(zofia.locator(".headline")),
            box(zofia),
        )
        # Right to left: the avatar at the card's right edge, the name to its left, the state's
        # coloured edge on the right; the first tab (Live) rightmost.
        assert avatar["x"] > name["x"] + name["width"] - 1
        assert article["x"] + article["width"] - (avatar["x"] + avatar["width"]) < 40
        assert zofia.evaluate("el => getComputedStyle(el).borderRightWidth") == "7px"
        assert box(page.locator("#tab-live"))["x"] > box(page.locator("#tab-log"))["x"]
        # Her Latin name keeps its own direction inside the Hebrew sentence; the number reads left to right.
        assert zofia.locator(".headline bdi").first.evaluate("el => el.matches(':dir(ltr)')")
        assert zofia.locator(".caller-number").evaluate("el => el.matches(':dir(ltr)')")

        page.locator("#locale").select_option("en")
        expect(zofia.locator(".reason-text")).to_have_text(CARDS["en-US"]["reason"])
        assert page.evaluate("document.documentElement.dir") == "ltr"
        avatar, name = box(zofia.locator(".avatar").first), box(zofia.locator(".headline"))
        assert avatar["x"] + avatar["width"] < name["x"] + 1
        assert zofia.evaluate("el => getComputedStyle(el).borderLeftWidth") == "7px"
        assert box(page.locator("#tab-live"))["x"] < box(page.locator("#tab-log"))["x"]
        customers.status(sid, ZOFIA_PHONE, "no-answer", 1)


@pytest.mark.browser
def test_switching_language_redraws_at_once_and_is_remembered_per_agent(
    browser: Browser, customers: ConsoleServer
) -> None:
    customers.create_agent("marek", "Marek Lis", AGENT["password"])
    with browser_in(browser, "en-US") as (page, _):
        sign_in_as(page, customers, "marek")
        sid = new_sid()
        zofia = card(page, customers.ring(ZOFIA_PHONE, sid))
        customers.status(sid, ZOFIA_PHONE, "in-progress", 1)
        expect(zofia.locator(".state-label")).to_have_text("Answered")
        zofia.get_by_label("Note for the call log").fill("Obiecałem zwrot do piątku")
        page.evaluate("window.__same_page = true")

        page.locator("#locale").select_option("de")
        expect(zofia.locator(".reason-text")).to_have_text(CARDS["de-DE"]["reason"])
        expect(zofia.locator(".state-label")).to_have_text("Angenommen")
        expect(zofia.locator(".headline")).to_have_text(CARDS["de-DE"]["headline"])
        expect(zofia.get_by_label("Notiz für die Anrufliste")).to_have_value("Obiecałem zwrot do piątku")
        expect(zofia.get_by_role("button", name="Notiz speichern")).to_be_visible()
        expect(page.locator("#tab-log")).to_contain_text("Anrufliste")
        expect(page.locator("#signout")).to_have_text("Abmelden")
        expect(page.locator("html")).to_have_attribute("lang", "de")
        assert page.evaluate("window.__same_page") is True  # no reload

        page.locator("#tab-log").click()
        expect(page.locator("#log-search")).to_have_attribute("placeholder", "Nummer, Name oder Anruf-ID")
        expect(page.locator(f'.log-row[data-call-id="{card_id(zofia)}"] .badge')).to_have_text("Im Gespräch")

        # Marek's choice outlives a reload and his session; Ola on the same PC keeps her browser's.
        page.reload()
        expect(page.locator("#signout")).to_have_text("Abmelden")
        page.locator("#signout").click()
        sign_in_as(page, customers, AGENT["username"])
        expect(page.locator("#signout")).to_have_text("Sign out")
        page.locator("#signout").click()
        sign_in_as(page, customers, "marek")
        expect(page.locator("#signout")).to_have_text("Abmelden")
        customers.status(sid, ZOFIA_PHONE, "completed", 2, CallDuration="5")


def card_id(locator: Locator) -> str:
    value = locator.get_attribute("data-call-id")
    assert value
    return value


def without_keys(route: Route, keys: tuple[str, ...]) -> None:
    """Serve the catalogue without `keys`, as a translation that lacks them: a key's own line, a
    whole group's line, or its entry in a group's line ("nav": { …, log: "…" })."""
    body = route.fetch().text()
    for key in keys:
        prefix, _, sub = key.rpartition(".")
        own = re.compile(rf'^  "{re.escape(key)}": .*\n', re.M)
        entry = re.compile(
            rf'^(  "{re.escape(prefix)}": \{{.*?)\b{re.escape(sub)}: "(?:[^"\\]|\\.)*",? ?', re.M
        )
        changed = own.sub("", body, count=1)
        if changed == body:
            changed = entry.sub(r"\1", body, count=1)
        assert changed != body, f"{key} is in the file"
        body = changed
    route.fulfill(body=body, content_type="text/javascript; charset=utf-8")


@pytest.mark.browser
def test_a_missing_translation_shows_english_and_never_the_key(
    browser: Browser, customers: ConsoleServer
) -> None:
    with browser_in(browser, "pl-PL") as (page, warnings):
        # Polish lacks the tiers and the reason's label; no language at all has the Call log tab's.
        page.route(
            "**/js/locales/pl.js", lambda route: without_keys(route, ("tier", "reason.label", "nav.log"))
        )
        page.route("**/js/locales/en.js", lambda route: without_keys(route, ("nav.log",)))
        sign_in_as(page, customers, AGENT["username"])
        sid = new_sid()
        zofia = card(page, customers.ring(ZOFIA_PHONE, sid))
        expect(zofia.locator(".reason-text")).to_have_text(CARDS["pl-PL"]["reason"])
        expect(zofia.locator(".tier")).to_have_text("Platinum")
        expect(zofia.locator(".reason-label")).to_have_text("Likely reason")
        expect(page.locator("#tab-log")).to_contain_text("Call log")  # the page's own English
        expect(page.locator("#tab-live")).to_contain_text("Na żywo")
        body = page.locator("body").inner_text()
        assert "nav.log" not in body and "tier.platinum" not in body and "reason.label" not in body
        assert any('"nav.log"' in warning for warning in warnings), warnings
        customers.status(sid, ZOFIA_PHONE, "no-answer", 1)


@pytest.mark.browser
def test_plural_forms_follow_each_languages_rules(
    browser: Browser, customers: ConsoleServer, catalogues: dict[str, Catalogue]
) -> None:
    with browser_in(browser, "en-US") as (page, _):
        page.goto(customers.url + "/")
        page.locator("#signin-submit").wait_for()
        said = page.evaluate(
            """async (tags) => {
                const main = document.querySelector('script[type=module]').src;
                const i18n = await import(main.replace(/main\\.js$/, "i18n.js"));
                const out = {};
                for (const tag of tags) {
                    i18n.setLocale(tag);
                    out[tag] = {
                        categories: new Intl.PluralRules(tag).resolvedOptions().pluralCategories,
                        calls: [1, 2, 5, 22, 25].map((count) => i18n.t("log.count", { count })),
                    };
                }
                i18n.setLocale("en");
                return out;
            }""",
            list(catalogues),
        )
    for tag, catalogue in catalogues.items():
        assert sorted(said[tag]["categories"]) == sorted(catalogue.plurals), tag
    assert said["en"]["calls"] == ["1 call", "2 calls", "5 calls", "22 calls", "25 calls"]
    assert said["pl"]["calls"] == [
        "1 połączenie",
        "2 połączenia",
        "5 połączeń",
        "22 połączenia",
        "25 połączeń",
    ]
    assert said["de"]["calls"] == ["1 Anruf", "2 Anrufe", "5 Anrufe", "22 Anrufe", "25 Anrufe"]
    assert said["he"]["calls"] == ["שיחה אחת", "2 שיחות", "5 שיחות", "22 שיחות", "25 שיחות"]
