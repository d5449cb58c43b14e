"""WooCommerce webhooks end to end: the activation ping, real signatures, REST v3 payloads, and
what the card reads afterwards."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.main import create_app
from app.platforms.models import PlatformDelivery
from app.platforms.payloads import PayloadError
from app.platforms.statuses import (
    SHOPIFY_RETURN_STATUSES,
    WOOCOMMERCE_ORDER_STATUSES,
    woocommerce_order_status,
)
from app.platforms.woocommerce.mapping import map_customer, map_order
from app.settings import Settings
from app.store.models import Customer, Order, Phone
from app.store.schemas import OrderStatus
from tests.conftest import make_settings
from tests.fixtures.platform_payloads import (
    T0,
    WOO_SECRET,
    count,
    rows,
    woo_customer,
    woo_order,
    woo_refund,
    woo_request,
    woo_sign,
)
from tests.fixtures.store_records import summary

DOCS = Path(__file__).resolve().parents[2] / "docs" / "store-platforms.md"


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Overrides conftest's: the app_client fixture then runs with WooCommerce switched on.
    return make_settings(database_url, woocommerce_webhook_secret=WOO_SECRET)


async def deliver(client: httpx.AsyncClient, topic: str, payload: dict[str, Any]) -> httpx.Response:
    body, headers = woo_request(topic, payload)
    return await client.post("/webhooks/woocommerce", content=body, headers=headers)


async def outcome(client: httpx.AsyncClient, topic: str, payload: dict[str, Any]) -> str:
    answer = await deliver(client, topic, payload)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["outcome"])


async def order_row(database_url: str, external_id: str = "727") -> dict[str, Any] | None:
    found = await rows(
        database_url,
        select(
            Order.number,
            Order.status,
            Order.financial_status,
            Order.customer_external_id,
            Order.customer_id,
            Order.name,
            Order.email,
            Order.city,
            Order.updated_at,
            Order.delivered_at,
        ).where(Order.external_id == external_id),
    )
    if not found:
        return None
    keys = ["number", "status", "financial", "customer_external_id", "customer_id", "name", "email", "city"]
    return dict(zip([*keys, "updated_at", "delivered_at"], found[0], strict=True))


async def test_the_activation_ping_gets_200_and_stores_nothing(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    # Woo sends it unsigned, form-encoded, before the webhook is saved as active.
    answer = await app_client.post(
        "/webhooks/woocommerce",
        content=b"webhook_id=12",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "WooCommerce/9.4.2 Hookshot",
        },
    )
    assert answer.status_code == 200
    assert answer.json()["topic"] == "ping" and "12" in answer.json()["note"]
    assert await count(database_url, PlatformDelivery) == 0


async def test_customer_and_order_with_phones_and_lifetime_value(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    assert await outcome(app_client, "customer.created", woo_customer()) == "applied"
    assert (
        await outcome(app_client, "order.created", woo_order(shipping_phone="0048 790 555 666")) == "applied"
    )

    got = await summary(database_url, "25")
    assert got is not None
    assert (got["first_name"], got["orders_count"], got["ltv"]) == ("Jan", 1, {"PLN": "129.00"})
    order = await order_row(database_url)
    assert order is not None
    assert (order["number"], order["status"], order["financial"]) == ("727", "processing", "processing")
    assert order["customer_id"] is not None and order["city"] == "Gdańsk"
    # date_modified_gmt has no offset: it is UTC.
    assert order["updated_at"] == T0

    phones = await rows(database_url, select(Phone.e164, Phone.source).order_by(Phone.e164))
    assert phones == [
        ("+48502333444", "customer.shipping"),
        ("+48601111222", "customer.billing"),
        ("+48601111222", "order.billing_phone"),
        ("+48790555666", "order.shipping_phone"),
    ]


async def test_an_order_before_its_customer_is_linked_later(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    await deliver(app_client, "order.created", woo_order())
    assert await summary(database_url, "25") is None
    await deliver(app_client, "customer.created", woo_customer())
    got = await summary(database_url, "25")
    assert got is not None and got["orders_count"] == 1 and got["ltv"] == {"PLN": "129.00"}


async def test_a_guest_order_identifies_the_caller_by_itself(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    guest = woo_order(order_id=730, customer_id=0, billing_phone="+48 600 000 001")
    assert await outcome(app_client, "order.created", guest) == "applied"
    order = await order_row(database_url, "730")
    assert order is not None
    assert (order["customer_external_id"], order["customer_id"]) == (None, None)
    assert (order["name"], order["email"]) == ("Jan Kowalski", "jan.kowalski@example.pl")
    assert await count(database_url, Customer) == 0
    assert await rows(database_url, select(Phone.e164, Phone.order_id.is_not(None))) == [
        ("+48600000001", True)
    ]


async def test_refunds_arriving_as_order_updated_lower_lifetime_value(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    await deliver(app_client, "customer.created", woo_customer())
    await deliver(app_client, "order.created", woo_order())
    partly = woo_order(modified=T0 + timedelta(hours=1), refunds=[woo_refund(801, "10.00")])
    assert await outcome(app_client, "order.updated", partly) == "applied"
    got = await summary(database_url, "25")
    assert got is not None and got["ltv"] == {"PLN": "119.00"}

    fully = woo_order(
        status="refunded",
        modified=T0 + timedelta(hours=2),
        refunds=[woo_refund(802, "119.00"), woo_refund(801, "10.00")],
    )
    assert await outcome(app_client, "order.updated", fully) == "applied"
    got = await summary(database_url, "25")
    assert got is not None and got["ltv"] == {} and got["orders_count"] == 1
    order = await order_row(database_url)
    assert order is not None and (order["status"], order["financial"]) == ("refunded", "refunded")


async def test_duplicates_and_late_deliveries_change_nothing(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    await deliver(app_client, "customer.created", woo_customer())
    completed = woo_order(
        status="completed", modified=T0 + timedelta(hours=3), completed=T0 + timedelta(hours=3)
    )
    assert await outcome(app_client, "order.updated", completed) == "applied"
    # Woo retries with a new delivery id but the same body: a duplicate.
    assert await outcome(app_client, "order.updated", completed) == "duplicate"
    # order.created of the same state, sent alongside: the same delivery as far as we care.
    assert await outcome(app_client, "order.created", completed) == "duplicate"
    # An older state arriving late is not applied.
    older = woo_order(status="processing", modified=T0 + timedelta(hours=1))
    assert await outcome(app_client, "order.updated", older) == "stale"
    stale_customer = woo_customer(modified=T0 - timedelta(days=1), first_name="Stary")
    assert await outcome(app_client, "customer.updated", stale_customer) == "stale"

    order = await order_row(database_url)
    assert order is not None and order["status"] == "delivered"
    assert order["delivered_at"] == T0 + timedelta(hours=3)
    got = await summary(database_url, "25")
    assert got is not None
    assert (got["first_name"], got["orders_count"], got["ltv"]) == ("Jan", 1, {"PLN": "129.00"})


async def test_a_second_state_within_the_same_second_is_not_taken_for_a_duplicate(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    await deliver(app_client, "order.created", woo_order(status="pending"))
    same_second = woo_order(status="processing")
    assert await outcome(app_client, "order.updated", same_second) == "applied"
    order = await order_row(database_url)
    assert order is not None and order["status"] == "processing"


async def test_deleted_orders_go_and_stay_gone_until_restored(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    await deliver(app_client, "customer.created", woo_customer())
    await deliver(app_client, "order.created", woo_order())
    await deliver(app_client, "order.created", woo_order(order_id=728, total="50.00"))
    assert await outcome(app_client, "order.deleted", {"id": 728}) == "deleted"
    got = await summary(database_url, "25")
    assert got is not None and (got["orders_count"], got["ltv"]) == (1, {"PLN": "129.00"})
    assert await order_row(database_url, "728") is None

    # A redelivery of its creation is a duplicate; an older state arriving late is refused as well.
    assert await outcome(app_client, "order.created", woo_order(order_id=728, total="50.00")) == "duplicate"
    late = woo_order(order_id=728, total="50.00", status="on-hold", modified=T0 - timedelta(minutes=5))
    assert await outcome(app_client, "order.updated", late) == "stale"
    assert await order_row(database_url, "728") is None
    # Restoring from the trash repeats the same state: it comes back.
    assert await outcome(app_client, "order.restored", woo_order(order_id=728, total="50.00")) == "applied"
    got = await summary(database_url, "25")
    assert got is not None and (got["orders_count"], got["ltv"]) == (2, {"PLN": "179.00"})

    # An order saved with status "trash" is deleted as well.
    trashed = woo_order(order_id=728, status="trash", modified=T0 + timedelta(hours=1))
    assert await outcome(app_client, "order.updated", trashed) == "deleted"
    assert await order_row(database_url, "728") is None
    assert await outcome(app_client, "order.deleted", {"id": 728}) == "ignored"


async def test_a_deleted_customer_is_erased(app_client: httpx.AsyncClient, database_url: str) -> None:
    await deliver(app_client, "customer.created", woo_customer())
    await deliver(app_client, "order.created", woo_order())
    assert await outcome(app_client, "customer.deleted", {"id": 25}) == "erased"
    assert await summary(database_url, "25") is None
    order = await order_row(database_url)
    assert order is not None and (order["name"], order["email"], order["customer_id"]) == (None, None, None)
    assert await count(database_url, Phone) == 0
    assert (
        await outcome(app_client, "customer.updated", woo_customer(modified=T0 + timedelta(seconds=1)))
        == "erased"
    )


async def test_a_customer_never_modified_is_ordered_by_creation(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    assert await outcome(app_client, "customer.created", woo_customer(modified=None)) == "applied"
    got = await summary(database_url, "25")
    assert got is not None and got["first_name"] == "Jan"


async def test_a_bad_signature_stores_nothing(app_client: httpx.AsyncClient, database_url: str) -> None:
    body, headers = woo_request("order.created", woo_order())
    attempts = [
        {**headers, "X-WC-Webhook-Signature": woo_sign(body, "guess")},
        {k: v for k, v in headers.items() if k != "X-WC-Webhook-Signature"},
        {**headers, "X-WC-Webhook-Signature": "not base64 at all"},
    ]
    for bad in attempts:
        answer = await app_client.post("/webhooks/woocommerce", content=body, headers=bad)
        assert answer.status_code == 401 and "X-WC-Webhook-Signature" in answer.json()["detail"]
    tampered = await app_client.post(
        "/webhooks/woocommerce", content=body.replace(b"129.00", b"1.00"), headers=headers
    )
    assert tampered.status_code == 401
    for model in (Customer, Order, Phone, PlatformDelivery):
        assert await count(database_url, model) == 0


async def test_switched_off_without_a_secret(database_url: str) -> None:
    app = create_app(make_settings(database_url))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        ping = await client.post("/webhooks/woocommerce", content=b"webhook_id=3")
    assert ping.status_code == 404 and "RINGCARD_WOOCOMMERCE_WEBHOOK_SECRET" in ping.json()["detail"]


async def test_unreadable_bodies_get_422_naming_the_problem(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    def signed(body: bytes, topic: str = "order.updated") -> dict[str, str]:
        return {"X-WC-Webhook-Topic": topic, "X-WC-Webhook-Signature": woo_sign(body)}

    for body, problem in ((b"{nope", "body: is not JSON"), (b'"text"', "JSON object")):
        answer = await app_client.post("/webhooks/woocommerce", content=body, headers=signed(body))
        assert answer.status_code == 422 and problem in answer.json()["error"]

    cases: list[tuple[str, dict[str, Any], str]] = [
        ("order.updated", {k: v for k, v in woo_order().items() if k != "id"}, "id"),
        ("order.deleted", {}, "id"),
        ("customer.deleted", {"id": "  "}, "id"),
        ("order.updated", woo_order(date_modified_gmt="tuesday", date_created_gmt=None), "date_modified_gmt"),
        ("order.updated", woo_order(currency="XYZ"), "currency"),
        ("order.updated", woo_order(total=None), "total"),
        ("order.updated", woo_order(status=None), "status"),
        ("order.updated", woo_order(billing="Jan"), "billing: must be an object"),
        ("customer.updated", woo_customer(modified=None, date_created_gmt=None), "date_modified_gmt"),
    ]
    for topic, payload, field in cases:
        answer = await deliver(app_client, topic, payload)
        assert answer.status_code == 422, (topic, field)
        assert field in answer.json()["error"], answer.json()

    body, headers = woo_request("order.updated", woo_order())
    del headers["X-WC-Webhook-Topic"]
    no_topic = await app_client.post("/webhooks/woocommerce", content=body, headers=headers)
    assert no_topic.status_code == 422 and "X-WC-Webhook-Topic" in no_topic.json()["error"]
    for model in (Customer, Order, PlatformDelivery):
        assert await count(database_url, model) == 0


async def test_topics_we_do_not_use_are_acknowledged(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    for topic in ("product.updated", "coupon.created", "action.woocommerce_add_to_cart"):
        answer = await deliver(app_client, topic, {"id": 93, "name": "Wool blanket"})
        assert answer.status_code == 200 and answer.json()["outcome"] == "ignored"
    assert await count(database_url, PlatformDelivery) == 0


@pytest.mark.parametrize(
    ("woo", "expected"),
    [
        ("pending", OrderStatus.PENDING),
        ("processing", OrderStatus.PROCESSING),
        ("on-hold", OrderStatus.ON_HOLD),
        ("completed", OrderStatus.DELIVERED),
        ("cancelled", OrderStatus.CANCELLED),
        ("refunded", OrderStatus.REFUNDED),
        ("failed", OrderStatus.FAILED),
        ("checkout-draft", OrderStatus.PENDING),
        ("wc-completed", OrderStatus.DELIVERED),
        ("shipped", OrderStatus.SHIPPED),
        ("awaiting-pickup", OrderStatus.PROCESSING),
    ],
)
def test_woocommerce_status_table(woo: str, expected: OrderStatus) -> None:
    assert woocommerce_order_status(woo) is expected


def test_the_operators_doc_repeats_the_status_tables() -> None:
    """docs/store-platforms.md shows operators the same mapping the code applies."""
    doc = DOCS.read_text(encoding="utf-8")
    for woo, card in WOOCOMMERCE_ORDER_STATUSES.items():
        assert re.search(rf"\| `{re.escape(woo)}`[^|]*\| `{card.value}` \|", doc), woo
    for shopify, case_status in SHOPIFY_RETURN_STATUSES.items():
        assert re.search(rf"\| `{shopify}`[^|]*\| `{case_status.value}` \|", doc), shopify
    for rule in ("`refunded` | `refunded`", "`voided` | `cancelled`", "`expired` | `failed`"):
        assert rule in doc, rule
    assert "`partially_paid` | `on_hold`" in doc and "`pending` | `pending`" in doc


def test_every_field_of_the_wrong_type_is_a_payload_error_or_fine() -> None:
    """The mapping either copes with a wrong-typed field or raises PayloadError (a 422)."""
    weird: list[Any] = [None, 0, -1, True, "x", "", [], {}, [1], {"id": "x"}, 1e308]
    samples: list[tuple[Callable[[dict[str, Any]], object], dict[str, Any]]] = [
        (map_order, woo_order(refunds=[woo_refund(1, "2.00")])),
        (map_customer, woo_customer()),
    ]
    for mapper, sample in samples:
        for field in sample:
            for value in weird:
                with contextlib.suppress(PayloadError):
                    mapper({**sample, field: value})
