"""Several stores on one Ringcard, as a merchant with a Polish and a German shop runs it: the same
external ids and one shared phone in both, calls to each shop's line, a German national number,
two Shopify shops with their own secrets, an erasure in one shop. On SQLite and PostgreSQL.

The platform deliveries are the platforms' published samples, byte for byte (the files under
tests/platforms/published/, whose README names each one's source)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.db.migrate import upgrade
from app.main import create_app
from app.store.models import Customer, Order
from tests.conftest import ADMIN, SYNC, execute, in_own_thread, make_settings
from tests.fixtures.platform_payloads import rows, shopify_sign, woo_sign
from tests.fixtures.push_harness import (
    LEGACY_WEBSOCKETS_WARNINGS,
    Served,
    agent_socket,
    create_agent,
    serve,
)
from tests.platforms.test_published_payloads import published
from tests.store.test_concurrent_writes import stored_aggregates_match_rows

pytestmark = LEGACY_WEBSOCKETS_WARNINGS

CTI_TOKEN = "cti-token-for-tests-0123456789"
PL_LINE, DE_LINE = "+48221234567", "+4930900000"
SHARED_PHONE = "+48601234567"
PL_SECRET = "pl-shop-webhook-secret-0123456789"
DE_SECRET = "de-shop-webhook-secret-0123456789"
PL_SITE, DE_SITE = "https://sklep.example.pl", "https://shop.example.de"


def pl_store(**over: Any) -> dict[str, Any]:
    return {
        "name": "Sklep PL",
        "region": "PL",
        "base_currency": "PLN",
        "colour": "#dc143c",
        "lines": [PL_LINE],
        "shopify_shop": "pl-shop.myshopify.com",
        "shopify_webhook_secret": PL_SECRET,
        "woocommerce_url": PL_SITE,
        "woocommerce_webhook_secret": PL_SECRET,
        # Gold from 2 orders or 1,000 PLN.
        "loyalty": {
            "silver_orders": 1,
            "silver_ltv": "100",
            "gold_orders": 2,
            "gold_ltv": "1000",
            "platinum_orders": 50,
            "platinum_ltv": "100000",
        },
        **over,
    }


def de_store(**over: Any) -> dict[str, Any]:
    return {
        "name": "Shop DE",
        "region": "DE",
        "base_currency": "EUR",
        "colour": "#000000",
        "lines": [DE_LINE],
        "shopify_shop": "de-shop",
        "shopify_webhook_secret": DE_SECRET,
        "woocommerce_url": DE_SITE + "/",
        "woocommerce_webhook_secret": DE_SECRET,
        # Silver from 1 order; gold needs 10 orders or 5,000 EUR.
        "loyalty": {"silver_orders": 1, "silver_ltv": "1", "gold_orders": 10, "gold_ltv": "5000"},
        **over,
    }


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[Served]:
    app = create_app(
        make_settings(database_url, default_region="PL", base_currency="PLN", cti_token=CTI_TOKEN)
    )
    async with serve(app) as running:
        yield running


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.http_url, timeout=120) as client:
        for store_id, body in (("pl", pl_store()), ("de", de_store())):
            answer = await client.put(f"/api/v1/stores/{store_id}", json=body, headers=ADMIN)
            assert answer.status_code == 201, answer.text
        yield client


def customer(first: str, last: str, phone: str) -> dict[str, Any]:
    return {
        "first_name": first,
        "last_name": last,
        "phones": [{"number": phone, "kind": "mobile"}],
        "updated_at": "2026-11-20T10:00:00Z",
    }


def order(customer_id: str, total: str, currency: str, status: str = "delivered") -> dict[str, Any]:
    return {
        "customer_external_id": customer_id,
        "number": "#1001",
        "status": status,
        "total": total,
        "currency": currency,
        "placed_at": "2026-11-10T10:00:00Z",
        "updated_at": "2026-11-10T10:00:00Z",
    }


async def put(http: httpx.AsyncClient, path: str, store: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await http.put(f"/api/v1/{path}", params={"store": store}, json=body, headers=SYNC)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def two_annas(http: httpx.AsyncClient) -> None:
    """Customer c-1 and order 1001 in both shops, one phone: Anna in Poland, Anne in Germany."""
    assert (await put(http, "customers/c-1", "pl", customer("Anna", "Nowak", SHARED_PHONE)))["created"]
    assert (await put(http, "customers/c-1", "de", customer("Anne", "Neumann", SHARED_PHONE)))["created"]
    assert (await put(http, "orders/1001", "pl", order("c-1", "1200.00", "PLN")))["created"]
    assert (await put(http, "orders/1001", "de", order("c-1", "80.00", "EUR")))["created"]


async def lookup(http: httpx.AsyncClient, number: str, store: str) -> dict[str, Any]:
    answer = await http.get("/api/v1/lookup", params={"number": number, "store": store}, headers=SYNC)
    assert answer.status_code == 200, answer.text
    card: dict[str, Any] = answer.json()
    return card


async def test_the_same_ids_in_two_stores_are_two_customers_each_with_its_own_order(
    http: httpx.AsyncClient, database_url: str
) -> None:
    await two_annas(http)
    stored = await rows(database_url, select(Customer.store_id, Customer.external_id, Customer.first_name))
    assert sorted(stored) == [("de", "c-1", "Anne"), ("pl", "c-1", "Anna")]
    # A second write of the same id in one store updates that store's record only.
    again = await put(
        http, "orders/1001", "de", {**order("c-1", "90.00", "EUR"), "updated_at": "2026-11-11T10:00:00Z"}
    )
    assert again == {"external_id": "1001", "applied": True, "created": False, "reason": None}
    pl_card = await lookup(http, SHARED_PHONE, "pl")
    assert [o["total"] for o in pl_card["orders"]] == ["1200.00"]


async def test_each_line_shows_its_own_stores_customer_first_and_the_other_compactly(
    http: httpx.AsyncClient,
) -> None:
    await two_annas(http)
    pl = await lookup(http, SHARED_PHONE, "pl")
    assert pl["customer"]["name"] == "Anna Nowak" and pl["match"]["status"] == "exact"
    assert pl["store"] == {"id": "pl", "name": "Sklep PL", "colour": "#dc143c"}
    # 1,200 PLN passes the Polish shop's 1,000 PLN gold threshold.
    assert pl["stats"]["loyalty_tier"] == "gold"
    assert pl["stats"]["lifetime_value"] == [{"amount": "1200.00", "currency": "PLN"}]
    [other] = pl["also_customer_of"]
    assert other["store"] == {"id": "de", "name": "Shop DE", "colour": "#000000"}
    # 80 EUR and one order: silver in the German shop, whose gold needs 10 orders or 5,000 EUR.
    assert (other["name"], other["orders_count"], other["loyalty_tier"]) == ("Anne Neumann", 1, "silver")

    de = await lookup(http, SHARED_PHONE, "de")
    assert de["customer"]["name"] == "Anne Neumann" and de["store"]["id"] == "de"
    assert de["stats"]["loyalty_tier"] == "silver"
    assert [o["store"]["id"] for o in de["also_customer_of"]] == ["pl"]
    assert de["also_customer_of"][0]["loyalty_tier"] == "gold"


async def test_a_caller_only_another_store_knows_is_shown_with_that_store(http: httpx.AsyncClient) -> None:
    await put(http, "customers/c-9", "de", customer("Jonas", "Weber", "+4915112345678"))
    card = await lookup(http, "+4915112345678", "pl")
    assert card["customer"]["name"] == "Jonas Weber" and card["store"]["id"] == "de"
    assert card["also_customer_of"] == []


async def test_calls_to_each_line_pop_that_stores_customer_and_read_national_numbers_there(
    served: Served, http: httpx.AsyncClient
) -> None:
    await two_annas(http)
    # A Berlin customer, written as a German would: read in the German shop's region.
    await put(http, "customers/c-2", "de", customer("Klaus", "Berger", "030 1234567"))
    token = await create_agent(http, "ola", [PL_LINE, DE_LINE])
    # An agent of the German shop only: its lines, whichever they are.
    hans = await create_agent(http, "hans", ["store:de"])
    url = f"/webhooks/cti/{CTI_TOKEN}"
    async with agent_socket(served.ws_url, token) as agent, agent_socket(served.ws_url, hans) as german:
        for call_id, caller, line in (
            ("pl-1", SHARED_PHONE, PL_LINE),
            ("de-1", SHARED_PHONE, DE_LINE),
            ("de-2", "030 1234567", DE_LINE),
        ):
            body = {"event": "newCall", "from": caller, "to": line, "direction": "in", "callId": call_id}
            assert (await http.post(url, data=body)).status_code == 200
        pops = {}
        while len(pops) < 3:
            message = await agent.until(lambda m: m.get("type") == "call.ringing")
            pops[message["call"]["provider_call_id"]] = message["card"]
        seen_by_hans = set()
        while len(seen_by_hans) < 2:
            message = await german.until(lambda m: m.get("type") == "call.ringing")
            seen_by_hans.add(message["call"]["provider_call_id"])
        await german.send({"type": "ping"})
        assert (await german.until(lambda m: m.get("type") in ("pong", "call.ringing")))["type"] == "pong"
    assert seen_by_hans == {"de-1", "de-2"}
    # Twilio rings the clients of the agents of the line: Hans for the German line only.
    directory = served.app.state.directory
    await served.on_server(directory.load())
    assert await served.on_server(directory.agents_for(DE_LINE)) == ["hans", "ola"]
    assert await served.on_server(directory.agents_for(PL_LINE)) == ["ola"]
    assert (pops["pl-1"]["customer"]["name"], pops["pl-1"]["store"]["name"]) == ("Anna Nowak", "Sklep PL")
    assert (pops["de-1"]["customer"]["name"], pops["de-1"]["store"]["name"]) == ("Anne Neumann", "Shop DE")
    assert [o["name"] for o in pops["de-1"]["also_customer_of"]] == ["Anna Nowak"]
    berlin = pops["de-2"]
    assert (berlin["customer"]["name"], berlin["match"]["status"]) == ("Klaus Berger", "exact")
    assert berlin["caller"]["e164"] == "+49301234567"
    # The log and the KPIs of one store.
    await served.on_server(served.app.state.intake.drain())
    auth = {"Authorization": f"Bearer {token}"}
    german_calls = (await http.get("/api/v1/calls", params={"store": "de"}, headers=auth)).json()
    assert sorted(c["provider_call_id"] for c in german_calls) == ["de-1", "de-2"]
    assert {c["store_id"] for c in german_calls} == {"de"}
    stats = (await http.get("/api/v1/stats", params={"store": "de"}, headers=ADMIN)).json()
    assert stats["kpis"]["offered"] == 2 and stats["period"]["timezone"] == "Europe/Berlin"
    everything = (await http.get("/api/v1/stats", headers=ADMIN)).json()
    assert everything["kpis"]["offered"] == 3
    assert (await http.get("/api/v1/stats", params={"store": "fr"}, headers=ADMIN)).status_code == 404


def shopify_headers(topic: str, body: bytes, shop: str, secret: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": shopify_sign(body, secret),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": "2025-01",
        "X-Shopify-Webhook-Id": f"test-{topic}",
        "X-Shopify-Event-Id": f"event-{topic}",
        "X-Shopify-Triggered-At": "2025-01-01T12:00:00.000000000Z",
    }


async def deliver_shopify(http: httpx.AsyncClient, topic: str, shop: str, secret: str) -> httpx.Response:
    body = published("shopify", topic.replace("/", "__") + ".json")
    return await http.post(
        "/webhooks/shopify", content=body, headers=shopify_headers(topic, body, shop, secret)
    )


async def test_two_shopify_shops_each_verified_with_its_own_secret(
    http: httpx.AsyncClient, database_url: str
) -> None:
    # The published customers/create sample, sent by both shops (the same event id in each).
    for shop, secret in (("pl-shop.myshopify.com", PL_SECRET), ("de-shop.myshopify.com", DE_SECRET)):
        answer = await deliver_shopify(http, "customers/create", shop, secret)
        assert (answer.status_code, answer.json()["outcome"]) == (200, "applied"), answer.text
    stored = await rows(database_url, select(Customer.store_id, Customer.external_id, Customer.origin))
    assert sorted(stored) == [
        ("de", "706405506930370000", "shopify"),
        ("pl", "706405506930370000", "shopify"),
    ]
    # Signed with the German shop's secret but sent as the Polish shop: refused, nothing written.
    forged = await deliver_shopify(http, "customers/update", "pl-shop.myshopify.com", DE_SECRET)
    assert forged.status_code == 401 and "store 'pl'" in forged.json()["detail"]
    # A shop no store has is the default store's, whose secret (none here) is off.
    stranger = await deliver_shopify(http, "customers/update", "other.myshopify.com", PL_SECRET)
    assert stranger.status_code == 404
    assert len(await rows(database_url, select(Customer.id))) == 2


async def test_a_redact_in_one_shop_leaves_the_other_shops_customer(
    http: httpx.AsyncClient, database_url: str
) -> None:
    # The published customers/redact sample names customer 191167: both shops have one.
    for store in ("pl", "de"):
        await put(http, "customers/191167", store, customer("John", "Doe", "+48601000111"))
    answer = await deliver_shopify(http, "customers/redact", "de-shop.myshopify.com", DE_SECRET)
    assert (answer.status_code, answer.json()["outcome"]) == (200, "erased"), answer.text
    assert await rows(database_url, select(Customer.store_id, Customer.external_id)) == [("pl", "191167")]
    card = await lookup(http, "+48601000111", "de")
    assert card["customer"]["name"] == "John Doe" and card["store"]["id"] == "pl"


async def test_two_woocommerce_sites_route_by_their_source(
    http: httpx.AsyncClient, database_url: str
) -> None:
    body = published("woocommerce", "customer_retrieve.json")
    for site, secret in ((PL_SITE + "/", PL_SECRET), (DE_SITE + "/", DE_SECRET)):
        headers = {
            "Content-Type": "application/json",
            "X-WC-Webhook-Source": site,
            "X-WC-Webhook-Topic": "customer.created",
            "X-WC-Webhook-Resource": "customer",
            "X-WC-Webhook-Event": "created",
            "X-WC-Webhook-Signature": woo_sign(body, secret),
            "X-WC-Webhook-ID": "7",
        }
        answer = await http.post("/webhooks/woocommerce", content=body, headers=headers)
        assert (answer.status_code, answer.json()["outcome"]) == (200, "applied"), answer.text
        wrong = await http.post(
            "/webhooks/woocommerce",
            content=body,
            headers={**headers, "X-WC-Webhook-Signature": woo_sign(body, PL_SECRET + DE_SECRET)},
        )
        assert wrong.status_code == 401
    stored = await rows(database_url, select(Customer.store_id, Customer.external_id))
    assert sorted(stored) == [("de", "25"), ("pl", "25")]


async def test_requests_naming_a_store_that_does_not_exist_are_refused(http: httpx.AsyncClient) -> None:
    answer = await http.put(
        "/api/v1/customers/c-1", params={"store": "fr"}, json=customer("A", "B", "+33612345678"), headers=SYNC
    )
    assert answer.status_code == 404 and "no store 'fr'" in answer.json()["detail"]
    lines = b'{"type":"customer","external_id":"c-1","store":"fr","updated_at":"2026-11-20T10:00:00Z"}\n'
    lines += b'{"type":"customer","external_id":"c-1","store":"de","updated_at":"2026-11-20T10:00:00Z"}\n'
    report = await http.post(
        "/api/v1/import",
        params={"store": "pl"},
        content=lines,
        headers={**SYNC, "Content-Type": "application/x-ndjson"},
    )
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["applied"], body["rejected"]) == (1, 1)
    assert body["errors"][0]["line"] == 1 and "no store 'fr'" in body["errors"][0]["error"]


async def test_a_store_with_records_is_not_deleted_and_its_secrets_are_never_shown(
    http: httpx.AsyncClient,
) -> None:
    await put(http, "customers/c-1", "de", customer("Anne", "Neumann", SHARED_PHONE))
    refused = await http.delete("/api/v1/stores/de", headers=ADMIN)
    assert refused.status_code == 409 and "1 customers" in refused.json()["detail"]
    shown = (await http.get("/api/v1/stores/de", headers=ADMIN)).json()
    assert shown["shopify_webhook_secret_set"] is True and DE_SECRET not in str(shown)
    # A PUT that leaves the secret out keeps it; "" removes it.
    kept = await http.put(
        "/api/v1/stores/de", json={**de_store(), "shopify_webhook_secret": None}, headers=ADMIN
    )
    assert kept.json()["shopify_webhook_secret_set"] is True
    removed = await http.put(
        "/api/v1/stores/de", json={**de_store(), "shopify_webhook_secret": ""}, headers=ADMIN
    )
    assert removed.json()["shopify_webhook_secret_set"] is False
    off = await deliver_shopify(http, "customers/create", "de-shop.myshopify.com", DE_SECRET)
    assert off.status_code == 404 and "store 'de'" in off.json()["detail"]
    # Another store cannot take the same shop.
    taken = await http.put("/api/v1/stores/at", json={**de_store(lines=[])}, headers=ADMIN)
    assert taken.status_code == 409 and "Shopify shop de-shop" in taken.json()["detail"]


STORES_WITHOUT_RECORDS = "f6b8d0e2a4c6"  # the head before records belonged to stores
_BEFORE = [
    "INSERT INTO customers (id, external_id, first_name, last_name, tags, updated_at, synced_at,"
    " orders_count, returns_count) VALUES (1, 'c-1', 'Anna', 'Nowak', '[]', '2026-11-01 10:00:00',"
    " '2026-11-01 10:00:00', 1, 0)",
    "INSERT INTO phones (id, customer_id, source, raw, e164, national, reversed_digits, country_code)"
    " VALUES (1, 1, 'customer.mobile', '+48601234567', '+48601234567', '601234567', '76543210684', 48)",
    "INSERT INTO orders (id, external_id, customer_id, customer_external_id, number, status, total_units,"
    " refunded_units, currency, placed_at, items, updated_at, synced_at) VALUES (1, '1001', 1, 'c-1',"
    " '#1001', 'shipped', 12000000, 0, 'PLN', '2026-11-01 10:00:00', '[]', '2026-11-01 10:00:00',"
    " '2026-11-01 10:00:00')",
    "INSERT INTO customer_ltv (customer_id, currency, amount_units) VALUES (1, 'PLN', 12000000)",
    "INSERT INTO cases (id, external_id, customer_id, customer_external_id, order_id, order_external_id,"
    " kind, status, opened_at, updated_at) VALUES (1, 'k-1', 1, 'c-1', 1, '1001', 'complaint', 'open',"
    " '2026-11-02 10:00:00', '2026-11-02 10:00:00')",
    "INSERT INTO erasures (external_id, erased_at) VALUES ('c-gone', '2026-11-03 10:00:00')",
    "INSERT INTO order_deletions (external_id, deleted_at) VALUES ('999', '2026-11-03 10:00:00')",
]


async def test_an_install_from_before_keeps_all_its_records_under_default(blank_url: str) -> None:
    in_own_thread(upgrade, blank_url, STORES_WITHOUT_RECORDS)
    for statement in _BEFORE:
        await execute(blank_url, statement)
    in_own_thread(upgrade, blank_url)
    for table in ("customers", "orders", "cases", "erasures", "order_deletions"):
        assert await execute(blank_url, f"SELECT DISTINCT store_id FROM {table}") == [("default",)], table
    app = create_app(make_settings(blank_url, default_region="PL", base_currency="PLN"))
    async with serve(app) as running, httpx.AsyncClient(base_url=running.http_url) as http:
        # Everything that worked keeps working without naming a store.
        card = await lookup(http, "+48601234567", "default")
        assert card["customer"]["name"] == "Anna Nowak" and card["store"] is None
        assert [o["number"] for o in card["orders"]] == ["#1001"]
        assert [c["external_id"] for c in card["open_cases"]] == ["k-1"]
        assert card["stats"]["lifetime_value"] == [{"amount": "1200.00", "currency": "PLN"}]
        # The erasure's tombstone still keeps an older state of the erased customer out.
        late = await put(
            http,
            "customers/c-gone",
            "default",
            {**customer("X", "Y", "+48600000001"), "updated_at": "2026-11-02T10:00:00Z"},
        )
        assert (late["applied"], late["reason"]) == (False, "erased")
        # And a new store may use the same external ids.
        await http.put("/api/v1/stores/de", json=de_store(), headers=ADMIN)
        assert (await put(http, "customers/c-1", "de", customer("Anne", "Neumann", SHARED_PHONE)))["created"]


async def test_a_storm_of_writes_to_two_stores_with_the_same_ids_keeps_them_apart(
    http: httpx.AsyncClient, database_url: str
) -> None:
    """Two hundred writers at once, both stores, one id space: orders moving between customers,
    and one erasure in one store. Every order stays with a customer of its own store, every
    aggregate equals what the stored orders add up to, and the erasure took one store's only."""
    rng = random.Random(19)
    stores, customers_n, orders_n = ("pl", "de"), 4, 10
    await asyncio.gather(
        *(
            put(http, f"customers/c-{i}", store, customer(f"P{i}", store, f"+4860000000{i}"))
            for store in stores
            for i in range(customers_n)
        )
    )
    writes = [
        http.put(
            f"/api/v1/orders/o-{rng.randrange(orders_n)}",
            params={"store": rng.choice(stores)},
            json={
                **order(
                    f"c-{rng.randrange(customers_n)}",
                    f"{rng.randint(1, 999)}.00",
                    rng.choice(["PLN", "EUR"]),
                    rng.choice(["processing", "shipped", "delivered", "cancelled"]),
                ),
                "updated_at": f"2026-11-10T10:00:{rng.randint(0, 59):02d}Z",
            },
            headers=SYNC,
        )
        for _ in range(200)
    ]
    erase = http.delete("/api/v1/customers/c-0", params={"store": "de"}, headers=SYNC)
    answers = await asyncio.gather(*writes[:100], erase, *writes[100:])
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers if a.status_code != 200]
    crossed = await rows(
        database_url,
        select(Order.store_id, Customer.store_id)
        .join(Customer, Customer.id == Order.customer_id)
        .where(Order.store_id != Customer.store_id),
    )
    assert crossed == []
    assert await stored_aggregates_match_rows(database_url) == []
    left = await rows(database_url, select(Customer.store_id).where(Customer.external_id == "c-0"))
    assert left == [("pl",)]
