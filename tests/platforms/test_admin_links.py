"""A record a platform's webhook wrote links to that platform's admin from the card: Shopify's
admin.shopify.com/store/<handle>/…, WooCommerce's wp-admin screens (HPOS or the legacy post
screens). Delivered as the platforms publish their samples, on SQLite and PostgreSQL.

The samples' phones (123-123-1234, (555) 555-5555) are no dialable numbers anywhere, so each test
gives the sample one real number, the only change to the published bytes, to look the card up by.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app.settings import Settings
from tests.card.test_matching import lookup, put
from tests.conftest import make_settings
from tests.fixtures.platform_payloads import SHOPIFY_SECRET, WOO_SECRET, shopify_sign
from tests.fixtures.store_records import order
from tests.platforms.test_published_payloads import published, woo

NUMBER = "+48 601 234 567"


def links_settings(database_url: str, **over: Any) -> Settings:
    return make_settings(
        database_url,
        shopify_webhook_secret=SHOPIFY_SECRET,
        woocommerce_webhook_secret=WOO_SECRET,
        shopify_shop="Acme.myshopify.com",
        woocommerce_url="https://shop.example/",
        # A template too: a platform's record links to its platform, never to the sync API's.
        order_url_template="https://elsewhere.example/orders/{external_id}",
        **over,
    )


@pytest.fixture
def settings(database_url: str) -> Settings:
    return links_settings(database_url)


async def shopify_order_created(client: httpx.AsyncClient) -> dict[str, Any]:
    payload = json.loads(published("shopify", "orders__create.json"))
    payload["customer"]["default_address"]["phone"] = NUMBER
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": shopify_sign(body),
        "X-Shopify-Shop-Domain": "acme.myshopify.com",
        "X-Shopify-Event-Id": "event-links",
    }
    answer = await client.post("/webhooks/shopify", content=body, headers=headers)
    assert answer.status_code == 200 and answer.json()["outcome"] == "applied", answer.text
    return payload


async def test_a_shopify_order_webhook_links_the_order_and_customer_to_the_shopify_admin(
    app_client: httpx.AsyncClient,
) -> None:
    payload = await shopify_order_created(app_client)
    card = await lookup(app_client, NUMBER)
    admin = "https://admin.shopify.com/store/acme"
    assert card["customer"]["admin_url"] == f"{admin}/customers/{payload['customer']['id']}"
    assert card["match"]["candidates"][0]["admin_url"] == card["customer"]["admin_url"]
    assert [(o["number"], o["admin_url"]) for o in card["orders"]] == [
        (payload["name"], f"{admin}/orders/{payload['id']}")
    ]


async def test_a_sync_api_write_of_a_shopify_order_keeps_its_shopify_link(
    app_client: httpx.AsyncClient,
) -> None:
    """A backfill of the same records through the sync API (or the import) does not take the
    records away from the platform whose admin holds them."""
    payload = await shopify_order_created(app_client)
    customer_id, order_id = str(payload["customer"]["id"]), str(payload["id"])
    await put(app_client, "orders", order_id, order("#9999", "10.00", customer_external_id=customer_id))
    # A record only the sync API wrote follows the template.
    await put(app_client, "orders", "o-sync", order("#1", "5.00", customer_external_id=customer_id))
    card = await lookup(app_client, NUMBER)
    assert {o["number"]: o["admin_url"] for o in card["orders"]} == {
        "#9999": f"https://admin.shopify.com/store/acme/orders/{order_id}",
        "#1": "https://elsewhere.example/orders/o-sync",
    }


@pytest.mark.parametrize(
    ("orders_ui", "order_path"),
    [
        ("hpos", "/wp-admin/admin.php?page=wc-orders&action=edit&id=723"),
        ("posts", "/wp-admin/post.php?post=723&action=edit"),
    ],
)
async def test_woocommerce_records_link_to_wp_admin(
    database_url: str, orders_ui: str, order_path: str
) -> None:
    from app.main import create_app

    app = create_app(links_settings(database_url, woocommerce_orders_ui=orders_ui))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            order_723 = next(
                o for o in json.loads(published("woocommerce", "order_list.json")) if o["id"] == 723
            )
            order_723["billing"]["phone"] = NUMBER
            answer = await woo(client, "order.updated", json.dumps(order_723).encode())
            assert answer.status_code == 200 and answer.json()["outcome"] == "applied", answer.text
            customer = json.loads(published("woocommerce", "customer_retrieve.json"))
            customer["id"] = order_723["customer_id"]  # the order's customer (26)
            answer = await woo(client, "customer.updated", json.dumps(customer).encode())
            assert answer.status_code == 200 and answer.json()["outcome"] == "applied", answer.text
            card = await lookup(client, NUMBER)
    assert card["customer"]["admin_url"] == "https://shop.example/wp-admin/user-edit.php?user_id=26"
    assert [o["admin_url"] for o in card["orders"]] == [f"https://shop.example{order_path}"]
