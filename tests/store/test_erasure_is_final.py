"""An erased person stays erased: a retry, a replay, a re-import or a late webhook of data that is
not newer than the erasure never brings their name, email, city, phones, tracking link or cases
back, on any path (sync API, NDJSON import through both writers, Shopify, WooCommerce). Only
genuinely newer data, the person registering again, is new."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.settings import Settings
from app.store.models import Case, Customer, Order, Phone
from tests.conftest import SYNC, make_settings
from tests.fixtures.platform_payloads import (
    CUSTOMER_ID,
    SHOPIFY_SECRET,
    WOO_SECRET,
    rows,
    shopify_customer,
    shopify_order,
    shopify_redact,
    shopify_request,
    woo_customer,
    woo_order,
    woo_request,
)
from tests.fixtures.store_records import T0, case, customer, order

TRACKING = "https://track.example/PL123"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(
        database_url, shopify_webhook_secret=SHOPIFY_SECRET, woocommerce_webhook_secret=WOO_SECRET
    )


async def personal_data_left(url: str) -> list[object]:
    """Everything that could still identify a person: must be empty after an erasure."""
    left: list[object] = []
    left += await rows(url, select(Customer.external_id))
    left += [
        r for r in await rows(url, select(Order.name, Order.email, Order.city, Order.tracking_url)) if any(r)
    ]
    left += await rows(url, select(Phone.raw))
    left += await rows(url, select(Case.external_id))
    return left


async def lookup_finds_nobody(client: httpx.AsyncClient, number: str) -> bool:
    from tests.conftest import ADMIN

    answer = await client.get("/api/v1/lookup", params={"number": number}, headers=ADMIN)
    return answer.status_code in (200, 404) and (
        answer.status_code == 404 or not answer.json().get("customer")
    )


def ndjson(*records: dict[str, object]) -> bytes:
    return b"\n".join(json.dumps(r).encode() for r in records) + b"\n"


async def test_retried_sync_writes_after_an_erasure_keep_the_person_gone(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    the_order = order("#1", "120.00", tracking_url=TRACKING)
    the_case = case(order_external_id="o-1")
    assert (await app_client.put("/api/v1/customers/c-1", json=customer(), headers=SYNC)).status_code == 200
    assert (await app_client.put("/api/v1/orders/o-1", json=the_order, headers=SYNC)).status_code == 200
    assert (await app_client.put("/api/v1/cases/k-1", json=the_case, headers=SYNC)).status_code == 200
    assert (await app_client.delete("/api/v1/customers/c-1", headers=SYNC)).json()["erased"] is True

    # The store's backend retries every write it sent before the erasure, unchanged.
    retried_customer = await app_client.put("/api/v1/customers/c-1", json=customer(), headers=SYNC)
    retried_order = await app_client.put("/api/v1/orders/o-1", json=the_order, headers=SYNC)
    retried_case = await app_client.put("/api/v1/cases/k-1", json=the_case, headers=SYNC)
    assert retried_customer.json() == {
        "external_id": "c-1",
        "applied": False,
        "reason": "erased",
        "created": False,
    }
    assert retried_order.json()["reason"] == "erased"
    assert retried_case.json() == {
        "external_id": "k-1",
        "applied": False,
        "reason": "erased",
        "created": False,
    }
    assert await personal_data_left(database_url) == []
    # The order stays for the store's totals.
    assert await rows(database_url, select(Order.number, Order.total_units)) == [("#1", 1_200_000)]


async def test_a_person_who_registers_again_is_new(app_client: httpx.AsyncClient, database_url: str) -> None:
    await app_client.put("/api/v1/customers/c-1", json=customer(), headers=SYNC)
    await app_client.delete("/api/v1/customers/c-1", headers=SYNC)
    later = T0 + timedelta(days=400)
    again = await app_client.put("/api/v1/customers/c-1", json=customer(updated=later), headers=SYNC)
    assert again.json()["applied"] is True and again.json()["created"] is True
    assert (
        await app_client.put(
            "/api/v1/orders/o-9", json=order("#9", "5.00", updated=later, placed=later), headers=SYNC
        )
    ).json()["reason"] is None
    assert await rows(database_url, select(Order.name)) == [("Anna Nowak",)]


async def test_reimporting_the_same_file_after_an_erasure_keeps_the_person_gone(
    app_client: httpx.AsyncClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the Python writers, and on PostgreSQL also through the set-based writer."""
    import app.store.routes as sync_api

    real = sync_api.import_ndjson
    writers = [False, True] if database_url.startswith("postgresql") else [False]
    for set_based in writers:

        async def through(*args: Any, set_based: bool = set_based, **kwargs: Any) -> Any:
            return await real(*args, **kwargs, set_based=set_based)

        monkeypatch.setattr(sync_api, "import_ndjson", through)
        n = int(set_based)
        body = ndjson(
            {"type": "customer", "external_id": f"c-{n}", **customer()},
            {
                "type": "order",
                "external_id": f"o-{n}",
                **order("#1", "80.00", customer_external_id=f"c-{n}", tracking_url=TRACKING),
            },
            {
                "type": "case",
                "external_id": f"k-{n}",
                **case(customer_external_id=f"c-{n}", order_external_id=f"o-{n}"),
            },
        )
        headers = {**SYNC, "Content-Type": "application/x-ndjson"}
        first = await app_client.post("/api/v1/import", content=body, headers=headers)
        assert first.json()["applied"] == 3, first.text
        await app_client.delete(f"/api/v1/customers/c-{n}", headers=SYNC)

        again = await app_client.post("/api/v1/import", content=body, headers=headers)
        report = again.json()
        assert (report["applied"], report["erased"], report["stale"]) == (0, 3, 0), (set_based, report)
        assert await personal_data_left(database_url) == []
    assert await rows(database_url, select(Order.total_units)) == [(800_000,)] * len(writers)


async def test_late_shopify_deliveries_after_a_redact_keep_the_person_gone(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    the_order = shopify_order()
    for topic, payload in (("customers/create", shopify_customer()), ("orders/create", the_order)):
        body, headers = shopify_request(topic, payload)
        assert (await app_client.post("/webhooks/shopify", content=body, headers=headers)).status_code == 200
    body, headers = shopify_request("customers/redact", shopify_redact())
    assert (await app_client.post("/webhooks/shopify", content=body, headers=headers)).json()[
        "outcome"
    ] == "erased"

    # Shopify retries a slow delivery of the old state with a new event id.
    for topic, payload in (("orders/updated", the_order), ("customers/update", shopify_customer())):
        body, headers = shopify_request(topic, payload, event_id=f"retry-{topic}")
        answer = await app_client.post("/webhooks/shopify", content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        assert all(r["reason"] == "erased" for r in answer.json()["results"]), answer.json()
    assert await personal_data_left(database_url) == []
    assert await rows(database_url, select(Customer.external_id)) == []
    assert str(CUSTOMER_ID) not in str(await rows(database_url, select(Order.customer_external_id)))


async def test_late_woocommerce_deliveries_after_a_deleted_account_keep_the_person_gone(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    the_order = woo_order()
    for topic, payload in (("customer.created", woo_customer()), ("order.created", the_order)):
        body, headers = woo_request(topic, payload)
        assert (
            await app_client.post("/webhooks/woocommerce", content=body, headers=headers)
        ).status_code == 200
    body, headers = woo_request("customer.deleted", {"id": 25})
    assert (await app_client.post("/webhooks/woocommerce", content=body, headers=headers)).status_code == 200

    for topic, payload in (("order.updated", the_order), ("customer.updated", woo_customer())):
        body, headers = woo_request(topic, payload)
        answer = await app_client.post("/webhooks/woocommerce", content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["outcome"] in ("erased", "duplicate", "applied"), answer.json()
        assert all(r["reason"] == "erased" for r in answer.json()["results"]), answer.json()
    assert await personal_data_left(database_url) == []
