"""Shopify webhooks end to end: real HMAC signatures, realistic payloads, and what the card will
read afterwards (orders, lifetime value, cases, phones)."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from app.db import create_engine, make_sessionmaker
from app.main import create_app
from app.platforms.delivery_keys import first_delivery, forget_old_deliveries
from app.platforms.models import PlatformDelivery
from app.platforms.payloads import PayloadError
from app.platforms.shopify.mapping import map_customer, map_order, map_refund
from app.platforms.shopify.return_mapping import map_return
from app.platforms.statuses import shopify_order_status, shopify_return_status
from app.settings import Settings
from app.store.models import Case, Customer, Order, Phone
from app.store.schemas import CaseStatus, OrderStatus
from tests.conftest import make_settings
from tests.fixtures.platform_payloads import (
    CUSTOMER_ID,
    ORDER_ID,
    SHOPIFY_SECRET,
    T0,
    count,
    rows,
    shopify_customer,
    shopify_data_request,
    shopify_fulfillment,
    shopify_order,
    shopify_redact,
    shopify_refund,
    shopify_request,
    shopify_return,
    shopify_shop_redact,
    shopify_sign,
)
from tests.fixtures.store_records import summary

CUSTOMER = str(CUSTOMER_ID)
ORDER = str(ORDER_ID)


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Overrides conftest's: the app_client fixture then runs with Shopify switched on.
    return make_settings(database_url, shopify_webhook_secret=SHOPIFY_SECRET)


async def deliver(
    client: httpx.AsyncClient, topic: str, payload: dict[str, Any], **kw: Any
) -> httpx.Response:
    body, headers = shopify_request(topic, payload, **kw)
    return await client.post("/webhooks/shopify", content=body, headers=headers)


async def outcome(client: httpx.AsyncClient, topic: str, payload: dict[str, Any], **kw: Any) -> str:
    answer = await deliver(client, topic, payload, **kw)
    assert answer.status_code == 200, answer.text
    assert answer.json()["topic"] == topic
    return str(answer.json()["outcome"])


async def order_row(database_url: str, external_id: str = ORDER) -> dict[str, Any] | None:
    found = await rows(
        database_url,
        select(
            Order.number,
            Order.status,
            Order.financial_status,
            Order.fulfillment_status,
            Order.name,
            Order.email,
            Order.city,
            Order.tracking_url,
            Order.items,
            Order.shipped_at,
            Order.customer_external_id,
            Order.customer_id,
        ).where(Order.external_id == external_id),
    )
    if not found:
        return None
    keys = ["number", "status", "financial", "fulfilment", "name", "email", "city", "tracking_url"]
    keys += ["items", "shipped_at", "customer_external_id", "customer_id"]
    return dict(zip(keys, found[0], strict=True))


async def test_an_order_links_its_customer_and_indexes_all_four_phones(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    # No customers/create: the customer embedded in the order is enough.
    assert await outcome(app_client, "orders/create", shopify_order()) == "applied"

    got = await summary(database_url, CUSTOMER)
    assert got is not None
    assert (got["first_name"], got["orders_count"], got["ltv"]) == ("Anna", 1, {"PLN": "249.00"})
    order = await order_row(database_url)
    assert order is not None
    assert order["number"] == "#1042" and order["status"] == "processing"
    assert (order["financial"], order["fulfilment"]) == ("paid", None)
    assert (order["name"], order["email"], order["city"]) == ("Anna Nowak", "anna.nowak@example.pl", "Kraków")
    assert order["items"] == [{"title": "Ceramic mug - forest green", "quantity": 2}]
    assert order["customer_id"] is not None

    phones = await rows(
        database_url,
        select(Phone.raw, Phone.e164, Phone.national, Phone.source, Phone.customer_id.is_not(None)).order_by(
            Phone.e164
        ),
    )
    assert phones == [
        ("512 000 111", "+48512000111", "512000111", "customer.default_address", True),
        ("0048 600-700-800", "+48600700800", "600700800", "order.billing_phone", False),
        ("+48601234567", "+48601234567", "601234567", "customer.phone", True),
        ("48 790 123 456", "+48790123456", "790123456", "order.shipping_phone", False),
    ]


async def test_customer_then_order_through_its_lifecycle(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    customer = shopify_customer()
    assert "orders_count" not in customer and "total_spent" not in customer  # API 2025-01
    created = await deliver(app_client, "customers/create", customer)
    assert created.json()["results"][0]["created"] is True

    steps: list[tuple[str, dict[str, Any], str]] = [
        ("orders/create", shopify_order(financial_status="pending"), "pending"),
        ("orders/paid", shopify_order(updated=T0 + timedelta(hours=1)), "processing"),
        (
            "orders/fulfilled",
            shopify_order(
                updated=T0 + timedelta(hours=2),
                fulfillment_status="fulfilled",
                fulfillments=[shopify_fulfillment()],
            ),
            "shipped",
        ),
        (
            "orders/updated",
            shopify_order(
                updated=T0 + timedelta(days=2),
                fulfillment_status="fulfilled",
                fulfillments=[shopify_fulfillment(shipment_status="delivered")],
            ),
            "delivered",
        ),
    ]
    for topic, payload, expected in steps:
        assert await outcome(app_client, topic, payload) == "applied"
        order = await order_row(database_url)
        assert order is not None and order["status"] == expected, topic

    order = await order_row(database_url)
    assert order is not None
    assert order["tracking_url"] == "https://inpost.pl/sledzenie-przesylek?number=6800123456789012345678"
    assert order["shipped_at"] == T0 - timedelta(days=3)
    assert order["fulfilment"] == "fulfilled"
    got = await summary(database_url, CUSTOMER)
    assert got is not None and got["orders_count"] == 1 and got["ltv"] == {"PLN": "249.00"}


async def test_duplicates_and_late_deliveries_change_nothing(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    newer = shopify_order(updated=T0 + timedelta(hours=1))
    assert await outcome(app_client, "orders/create", newer) == "applied"
    assert await outcome(app_client, "orders/create", newer) == "duplicate"
    # A webhook id stands in when the event id is missing.
    body, headers = shopify_request("orders/updated", newer)
    del headers["X-Shopify-Event-Id"]
    for _ in range(2):
        again = await app_client.post("/webhooks/shopify", content=body, headers=headers)
    assert again.json()["outcome"] == "duplicate"

    older = shopify_order(updated=T0, cancelled_at=T0, financial_status="voided")
    answer = await deliver(app_client, "orders/cancelled", older)
    assert answer.json()["outcome"] == "stale"
    assert answer.json()["results"][0] == {
        "external_id": ORDER,
        "applied": False,
        "reason": "stale",
        "created": False,
    }
    stale_customer = shopify_customer(updated=T0 - timedelta(days=1), first_name="Old")
    assert await outcome(app_client, "customers/update", stale_customer) == "stale"

    got = await summary(database_url, CUSTOMER)
    assert got is not None
    assert (got["first_name"], got["orders_count"], got["ltv"]) == ("Anna", 1, {"PLN": "249.00"})
    order = await order_row(database_url)
    assert order is not None and order["status"] == "processing"


async def test_a_refund_lowers_lifetime_value_exactly_once(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    first = shopify_refund(refund_id=1001, amount="30.00", created=T0 + timedelta(hours=2))
    second = shopify_refund(refund_id=1002, amount="219.00", created=T0 + timedelta(hours=4))

    async def ltv() -> dict[str, str]:
        got = await summary(database_url, CUSTOMER)
        assert got is not None
        return dict(got["ltv"])

    await deliver(app_client, "orders/create", shopify_order())
    assert await ltv() == {"PLN": "249.00"}
    assert await outcome(app_client, "refunds/create", first) == "applied"
    assert await ltv() == {"PLN": "219.00"}
    # The same refund again: once as a redelivery, once from a second subscription (new event id).
    assert await outcome(app_client, "refunds/create", first) == "duplicate"
    assert await outcome(app_client, "refunds/create", first, event_id="second-subscription") == "duplicate"
    assert await ltv() == {"PLN": "219.00"}

    # The order update Shopify sends after the refund lists it: recomputed, not added again.
    partly = shopify_order(
        updated=T0 + timedelta(hours=3), financial_status="partially_refunded", refunds=[first]
    )
    assert await outcome(app_client, "orders/updated", partly) == "applied"
    assert await ltv() == {"PLN": "219.00"}
    # An order state from before the refund, delivered late, does not bring the money back.
    assert (
        await outcome(app_client, "orders/updated", shopify_order(updated=T0 + timedelta(hours=1))) == "stale"
    )
    assert await ltv() == {"PLN": "219.00"}

    # The second refund shows up in the order before its own refunds/create arrives.
    fully = shopify_order(
        updated=T0 + timedelta(hours=5), financial_status="refunded", refunds=[first, second]
    )
    assert await outcome(app_client, "orders/updated", fully) == "applied"
    assert await outcome(app_client, "refunds/create", second) == "duplicate"
    assert await ltv() == {}
    order = await order_row(database_url)
    assert order is not None and order["status"] == "refunded"


async def test_a_refund_before_its_order_waits_for_the_order(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    refund = shopify_refund(amount="49.00")
    assert await outcome(app_client, "refunds/create", refund) == "ignored"
    await deliver(
        app_client, "orders/create", shopify_order(updated=T0 + timedelta(hours=3), refunds=[refund])
    )
    got = await summary(database_url, CUSTOMER)
    assert got is not None and got["ltv"] == {"PLN": "200.00"}


async def test_a_cancelled_order_leaves_lifetime_value(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    await deliver(app_client, "orders/create", shopify_order())
    cancelled = shopify_order(
        updated=T0 + timedelta(hours=1), cancelled_at=T0 + timedelta(hours=1), financial_status="voided"
    )
    assert await outcome(app_client, "orders/cancelled", cancelled) == "applied"
    got = await summary(database_url, CUSTOMER)
    assert got is not None and got["ltv"] == {} and got["orders_count"] == 1
    order = await order_row(database_url)
    assert order is not None and (order["status"], order["financial"]) == ("cancelled", "voided")


async def test_a_deleted_order_takes_its_value_and_phones_and_stays_deleted(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    await deliver(app_client, "orders/create", shopify_order())
    other = shopify_order(order_id=ORDER_ID + 1, name="#1043", total="100.00", placed=T0 - timedelta(days=1))
    await deliver(app_client, "orders/create", other)
    got = await summary(database_url, CUSTOMER)
    assert got is not None and (got["orders_count"], got["ltv"]) == (2, {"PLN": "349.00"})

    assert await outcome(app_client, "orders/delete", {"id": ORDER_ID + 1}) == "deleted"
    got = await summary(database_url, CUSTOMER)
    assert got is not None
    assert (got["orders_count"], got["ltv"]) == (1, {"PLN": "249.00"})
    assert got["last_order_at"] == T0 - timedelta(days=5)
    assert await order_row(database_url, str(ORDER_ID + 1)) is None
    assert await count(database_url, Phone) == 4  # the deleted order's two are gone

    # Its last state, delivered late, does not bring it back; deleting twice is harmless.
    assert await outcome(app_client, "orders/updated", other) == "stale"
    assert await outcome(app_client, "orders/delete", {"id": ORDER_ID + 1}, event_id="again") == "ignored"
    assert await order_row(database_url, str(ORDER_ID + 1)) is None


async def test_deleting_a_customer_erases_them(app_client: httpx.AsyncClient, database_url: str) -> None:
    await deliver(app_client, "customers/create", shopify_customer())
    await deliver(app_client, "orders/create", shopify_order())
    deleted = {
        "id": CUSTOMER_ID,
        "phone": None,
        "addresses": [],
        "tax_exemptions": [],
        "admin_graphql_api_id": "x",
    }
    assert await outcome(app_client, "customers/delete", deleted) == "erased"
    assert await summary(database_url, CUSTOMER) is None
    order = await order_row(database_url)
    assert order is not None and (order["name"], order["email"], order["customer_id"]) == (None, None, None)
    assert await count(database_url, Phone) == 0
    # A retry of an update from before the delete does not bring the person back.
    assert (
        await outcome(app_client, "customers/update", shopify_customer(updated=T0 + timedelta(minutes=1)))
        == "erased"
    )
    assert await summary(database_url, CUSTOMER) is None


async def test_redact_leaves_no_name_or_phone_behind(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    await deliver(app_client, "customers/create", shopify_customer())
    await deliver(app_client, "orders/create", shopify_order())
    guest = shopify_order(order_id=ORDER_ID + 7, name="#1050", customer={}, phone="+48 601 234 567")
    await deliver(app_client, "orders/create", guest)
    await deliver(app_client, "returns/request", shopify_return())

    assert (
        await outcome(app_client, "customers/redact", shopify_redact(orders=[ORDER_ID, ORDER_ID + 7]))
        == "erased"
    )

    dump: list[str] = []
    for table in ("customers", "orders", "cases", "phones", "customer_ltv"):
        dump += [
            json.dumps([str(v) for v in r])
            for r in await rows(database_url, select(text("*")).select_from(text(table)))
        ]
    everything = " ".join(dump)
    for trace in (
        "Anna",
        "Nowak",
        "anna.nowak",
        "601234567",
        "512000111",
        "600700800",
        "790123456",
        "Kraków",
    ):
        assert trace not in everything, trace
    assert await count(database_url, Order) == 2  # kept, anonymised, for the store's totals
    assert await count(database_url, Phone) == 0


async def test_privacy_requests_are_answered_without_logging_personal_data(
    app_client: httpx.AsyncClient, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await deliver(app_client, "customers/create", shopify_customer())
    answer = await deliver(app_client, "customers/data_request", shopify_data_request())
    assert answer.status_code == 200 and answer.json()["outcome"] == "logged"
    shop = await deliver(app_client, "shop/redact", shopify_shop_redact())
    assert shop.status_code == 200 and shop.json()["outcome"] == "ignored"
    assert "shop" in shop.json()["note"]
    assert "9999" in caplog.text  # the request is traceable by its id
    for trace in ("anna", "601234567", "+48601234567"):
        assert trace not in caplog.text.lower()
    got = await summary(database_url, CUSTOMER)
    assert got is not None and got["first_name"] == "Anna"  # shop/redact erased nothing it cannot attribute


async def case_row(database_url: str, external_id: str) -> tuple[Any, ...]:
    (row,) = await rows(
        database_url,
        select(
            Case.kind, Case.status, Case.subject, Case.customer_id.is_not(None), Case.order_external_id
        ).where(Case.external_id == external_id),
    )
    return row


async def test_returns_and_exchanges_become_cases(app_client: httpx.AsyncClient, database_url: str) -> None:
    await deliver(app_client, "orders/create", shopify_order())
    hour = timedelta(hours=1)

    assert await outcome(app_client, "returns/request", shopify_return(), triggered=T0 + hour) == "applied"
    assert await case_row(database_url, "945000954") == (
        "return",
        "open",
        "Return #1042-R1: 1 item (defective)",
        True,
        ORDER,
    )
    got = await summary(database_url, CUSTOMER)
    assert got is not None and got["returns_count"] == 1

    await deliver(app_client, "returns/approve", shopify_return(status="open"), triggered=T0 + 2 * hour)
    assert (await case_row(database_url, "945000954"))[1] == "in_progress"
    await deliver(app_client, "returns/close", shopify_return(status="closed"), triggered=T0 + 4 * hour)
    # An approval raised before the close, delivered after it, is stale.
    late = await outcome(
        app_client, "returns/approve", shopify_return(status="open"), triggered=T0 + 3 * hour, event_id="late"
    )
    assert late == "stale"
    assert (await case_row(database_url, "945000954"))[1] == "resolved"

    exchange = shopify_return(return_id=945000955, exchange=True)
    await deliver(app_client, "returns/request", exchange, triggered=T0 + hour)
    assert await case_row(database_url, "945000955") == (
        "exchange",
        "open",
        "Exchange #1042-R1: 1 item (size too small)",
        True,
        ORDER,
    )
    declined = shopify_return(return_id=945000956, status="declined")
    await deliver(app_client, "returns/decline", declined, triggered=T0 + hour)
    assert (await case_row(database_url, "945000956"))[:2] == ("return", "rejected")
    got = await summary(database_url, CUSTOMER)
    assert got is not None and got["returns_count"] == 2  # exchanges are not returns
    subjects = " ".join(
        str(r[2]) for r in await rows(database_url, select(Case.kind, Case.status, Case.subject))
    )
    assert "601" not in subjects  # the customer's free-text note is not copied


async def test_a_bad_signature_stores_nothing(app_client: httpx.AsyncClient, database_url: str) -> None:
    body, headers = shopify_request("orders/create", shopify_order())
    forged = {**headers, "X-Shopify-Hmac-Sha256": shopify_sign(b"{}")}
    missing = {k: v for k, v in headers.items() if k != "X-Shopify-Hmac-Sha256"}
    wrong_secret = shopify_request("orders/create", shopify_order(), secret="not-the-secret")[1]
    for bad_headers, bad_body in (
        (forged, body),
        (missing, body),
        (wrong_secret, body),
        (headers, body + b" "),
    ):
        answer = await app_client.post("/webhooks/shopify", content=bad_body, headers=bad_headers)
        assert answer.status_code == 401
        assert "X-Shopify-Hmac-Sha256" in answer.json()["detail"]
    for model in (Customer, Order, Phone, PlatformDelivery):
        assert await count(database_url, model) == 0


async def test_switched_off_without_a_secret(database_url: str) -> None:
    app = create_app(make_settings(database_url))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        body, headers = shopify_request("orders/create", shopify_order())
        answer = await client.post("/webhooks/shopify", content=body, headers=headers)
    assert answer.status_code == 404
    assert "RINGCARD_SHOPIFY_WEBHOOK_SECRET" in answer.json()["detail"]


async def test_unreadable_bodies_get_422_naming_the_problem(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    async def post_raw(body: bytes) -> httpx.Response:
        _, headers = shopify_request("orders/create", {})
        headers["X-Shopify-Hmac-Sha256"] = shopify_sign(body)  # signed: only the body is wrong
        return await app_client.post("/webhooks/shopify", content=body, headers=headers)

    not_json = await post_raw(b"{nope")
    assert not_json.status_code == 422 and "body: is not JSON" in not_json.json()["error"]
    not_object = await post_raw(b"[1, 2]")
    assert not_object.status_code == 422 and "JSON object" in not_object.json()["error"]
    not_utf8 = await post_raw(b"\xff\xfe{")
    assert not_utf8.status_code == 422

    cases = [
        ({k: v for k, v in shopify_order().items() if k != "id"}, "id"),
        (shopify_order(updated_at="yesterday"), "updated_at"),
        (shopify_order(updated_at="2026-11-01T12:00:00"), "updated_at: has no UTC offset"),
        (shopify_order(currency="ZZZ"), "currency"),
        (shopify_order(total_price="lots", total_price_set=None), "total_price"),
        (shopify_order(customer=shopify_customer(updated_at="soon")), "customer.updated_at"),
        (shopify_order(customer=shopify_customer(customer_id=-3)), "customer.id"),
        (shopify_order(updated_at="9999-12-31T23:59:59-05:00"), "updated_at: is out of range"),
        (shopify_order(total_price="1e40"), "total_price: is too large"),
        (shopify_order(line_items="mug"), "line_items"),
    ]
    for payload, field in cases:
        answer = await deliver(app_client, "orders/create", payload)
        assert answer.status_code == 422, field
        assert field in answer.json()["error"], answer.json()
    no_id_refund = await deliver(app_client, "refunds/create", {"order_id": ORDER_ID})
    assert no_id_refund.status_code == 422 and "id" in no_id_refund.json()["error"]

    body, headers = shopify_request("orders/create", shopify_order())
    del headers["X-Shopify-Topic"]
    no_topic = await app_client.post("/webhooks/shopify", content=body, headers=headers)
    assert no_topic.status_code == 422 and "X-Shopify-Topic" in no_topic.json()["error"]

    for model in (Customer, Order, Phone, PlatformDelivery):
        assert await count(database_url, model) == 0


async def test_topics_we_do_not_use_are_acknowledged(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    answer = await deliver(app_client, "products/update", {"id": 632910392, "title": "Ceramic mug"})
    assert answer.status_code == 200
    assert answer.json() == {
        "topic": "products/update",
        "outcome": "ignored",
        "note": "topic products/update is not used by Ringcard",
        "results": [],
    }
    assert await count(database_url, PlatformDelivery) == 0


@pytest.mark.parametrize(
    ("cancelled", "financial", "fulfilment", "shipments", "expected"),
    [
        (True, "paid", "fulfilled", [("success", "delivered")], OrderStatus.CANCELLED),
        (False, "refunded", None, [], OrderStatus.REFUNDED),
        (False, "voided", None, [], OrderStatus.CANCELLED),
        (False, "expired", None, [], OrderStatus.FAILED),
        (False, "paid", "fulfilled", [("success", "delivered")], OrderStatus.DELIVERED),
        (False, "paid", "fulfilled", [("success", "delivered"), ("cancelled", None)], OrderStatus.DELIVERED),
        (
            False,
            "paid",
            "fulfilled",
            [("success", "delivered"), ("success", "in_transit")],
            OrderStatus.SHIPPED,
        ),
        (False, "paid", "fulfilled", [], OrderStatus.SHIPPED),
        (False, "paid", "partial", [("success", "delivered")], OrderStatus.SHIPPED),
        (False, "pending", "fulfilled", [("success", "out_for_delivery")], OrderStatus.SHIPPED),
        (False, "pending", None, [], OrderStatus.PENDING),
        (False, "partially_paid", None, [], OrderStatus.ON_HOLD),
        (False, "authorized", None, [], OrderStatus.PROCESSING),
        (False, "paid", "restocked", [], OrderStatus.PROCESSING),
        (False, "partially_refunded", None, [], OrderStatus.PROCESSING),
        (False, None, None, [], OrderStatus.PROCESSING),
        (False, "something_new", None, [], OrderStatus.PROCESSING),
    ],
)
def test_shopify_status_table(
    cancelled: bool,
    financial: str | None,
    fulfilment: str | None,
    shipments: list[tuple[str, str | None]],
    expected: OrderStatus,
) -> None:
    got = shopify_order_status(
        cancelled=cancelled, financial_status=financial, fulfillment_status=fulfilment, fulfillments=shipments
    )
    assert got is expected


def test_return_statuses() -> None:
    assert shopify_return_status("REQUESTED", "returns/request") is CaseStatus.OPEN
    assert shopify_return_status(None, "returns/approve") is CaseStatus.IN_PROGRESS
    assert shopify_return_status("", "returns/cancel") is CaseStatus.CLOSED
    assert shopify_return_status(None, "returns/update") is None


def test_refunds_in_the_presentment_currency_use_the_orders_rate() -> None:
    # A EUR shop selling in PLN: 100.00 EUR shown as 430.00 PLN; 43.00 PLN refunded = 10.00 EUR.
    refund = shopify_refund(amount="43.00", currency="PLN")
    payload = shopify_order(
        currency="EUR",
        total="100.00",
        presentment_currency="PLN",
        total_price_set={
            "shop_money": {"amount": "100.00", "currency_code": "EUR"},
            "presentment_money": {"amount": "430.00", "currency_code": "PLN"},
        },
        refunds=[refund, shopify_refund(refund_id=2, amount="5.00", currency="EUR", status="failure")],
    )
    mapped = map_order(payload)
    assert (mapped.order.currency, mapped.order.total, mapped.order.refunded_total) == (
        "EUR",
        Decimal("100.00"),
        Decimal("10.00"),
    )
    assert mapped.refund_ids == ("509562969", "2")


async def test_old_delivery_keys_are_forgotten(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            now = T0 + timedelta(days=100)
            assert await first_delivery(session, "shopify", "orders/create:old", T0)
            assert await first_delivery(session, "shopify", "orders/create:recent", now - timedelta(days=1))
            assert not await first_delivery(session, "shopify", "orders/create:old", now)
            await forget_old_deliveries(session, now, always=True)
        keys = await rows(database_url, select(PlatformDelivery.delivery_key))
        assert keys == [("orders/create:recent",)]
    finally:
        await engine.dispose()


WEIRD: list[Any] = [None, 0, -1, True, "x", "", [], {}, [1], {"id": "x"}, 1e308, "9" * 5000]


def test_every_field_of_the_wrong_type_is_a_payload_error_or_fine() -> None:
    """Every field of a real order, customer, refund and return replaced by a value of the wrong
    type: the mapping either copes or raises PayloadError (a 422), never anything else (a 500)."""
    samples: list[tuple[Callable[[dict[str, Any]], object], dict[str, Any]]] = [
        (map_order, shopify_order()),
        (map_customer, shopify_customer()),
        (map_refund, shopify_refund()),
        (lambda p: map_return(p, "returns/approve"), shopify_return()),
    ]
    for mapper, sample in samples:
        for field in sample:
            for value in WEIRD:
                with contextlib.suppress(PayloadError):
                    mapper({**sample, field: value})


async def test_wrong_types_over_http_are_200_or_422(app_client: httpx.AsyncClient) -> None:
    for topic, sample in (("orders/updated", shopify_order()), ("customers/update", shopify_customer())):
        for field in ("id", "updated_at", "customer", "billing_address", "phone", "tags", "refunds"):
            if field not in sample:
                continue
            for value in (None, -1, "x", [1], {"id": "x"}):
                answer = await deliver(app_client, topic, {**sample, field: value})
                assert answer.status_code in (200, 422), (topic, field, value, answer.text)
