"""Many writers at once, as real traffic arrives: concurrent PUTs of the same records through a
running service (uvicorn on a real socket, a pool of connections), then the stored state and
every aggregate compared with what the stored rows say they must be. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.kit.money import to_units
from app.main import create_app
from app.settings import Settings
from app.store.models import Customer, CustomerLifetimeValue, Order
from app.store.schemas import NON_REVENUE_STATUSES
from tests.conftest import SYNC, make_settings
from tests.fixtures.platform_payloads import SHOPIFY_SECRET, rows, shopify_order, shopify_request
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, serve
from tests.fixtures.store_records import T0, customer, iso, order

pytestmark = LEGACY_WEBSOCKETS_WARNINGS

STATUSES = ["pending", "processing", "shipped", "delivered", "cancelled", "refunded"]


async def stored_aggregates_match_rows(url: str) -> list[str]:
    """Every customer's stored aggregates against the same figures recomputed from the rows:
    the mismatches, described (none is the only right answer)."""
    customers = await rows(
        url,
        select(
            Customer.id,
            Customer.external_id,
            Customer.orders_count,
            Customer.first_order_at,
            Customer.last_order_at,
        ),
    )
    orders = await rows(
        url,
        select(
            Order.customer_id,
            Order.status,
            Order.currency,
            Order.total_units,
            Order.refunded_units,
            Order.placed_at,
        ),
    )
    ltv_rows = await rows(
        url,
        select(
            CustomerLifetimeValue.customer_id,
            CustomerLifetimeValue.currency,
            CustomerLifetimeValue.amount_units,
        ),
    )
    by_customer: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in orders:
        if row[0] is not None:
            by_customer[row[0]].append(row)
    stored_ltv: dict[int, dict[str, int]] = defaultdict(dict)
    for cid, currency, units in ltv_rows:
        if units:
            stored_ltv[cid][currency] = units
    problems = []
    for cid, ext, count, first, last in customers:
        mine = by_customer.get(cid, [])
        expected_ltv: dict[str, int] = defaultdict(int)
        for _, status, currency, total, refunded, _placed in mine:
            if status not in NON_REVENUE_STATUSES:
                expected_ltv[currency] += max(total - refunded, 0)
        expected_ltv = {k: v for k, v in expected_ltv.items() if v}
        placed = [row[5] for row in mine]
        expected = (len(mine), min(placed) if placed else None, max(placed) if placed else None, expected_ltv)
        actual = (count, first, last, stored_ltv.get(cid, {}))
        if expected != actual:
            problems.append(f"{ext}: stored {actual}, rows say {expected}")
    return problems


def _settings(database_url: str) -> Settings:
    return make_settings(database_url, shopify_webhook_secret=SHOPIFY_SECRET)


@asynccontextmanager
async def running_service(database_url: str, **client: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The service on a real socket, and a client with a pool of connections to it."""
    async with (
        serve(create_app(_settings(database_url))) as served,
        httpx.AsyncClient(base_url=served.http_url, **client) as http,
    ):
        yield http


async def _put(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
    return await http.put(path, json=body, headers=SYNC)


async def test_concurrent_versions_of_one_order_keep_the_newest_and_right_totals(database_url: str) -> None:
    """Ten writers PUT ten versions of the same order at once, round after round: the newest
    `updated_at` is what stays, whatever order they land in, and lifetime value follows it."""
    rng = random.Random(11)
    async with running_service(database_url, limits=httpx.Limits(max_connections=20), timeout=60) as http:
        rounds = 12
        for r in range(rounds):
            assert (await _put(http, f"/api/v1/customers/c-{r}", customer())).status_code == 200
        expected: dict[str, tuple[str, str]] = {}
        for r in range(rounds):
            versions = [
                order(
                    f"#{r}",
                    total=f"{rng.randint(1, 500)}.00",
                    status=rng.choice(STATUSES),
                    customer_external_id=f"c-{r}",
                    updated=T0 + timedelta(seconds=v),
                    placed=T0 - timedelta(days=rng.randint(1, 30)),
                )
                for v in range(10)
            ]
            rng.shuffle(versions)
            answers = await asyncio.gather(*(_put(http, f"/api/v1/orders/o-{r}", v) for v in versions))
            assert [a.status_code for a in answers] == [200] * 10, [a.text for a in answers]
            newest = max(versions, key=lambda v: v["updated_at"])
            expected[f"o-{r}"] = (newest["total"], newest["updated_at"])
            # Each answer tells the truth: a version older than one already stored says stale.
            assert any(a.json()["applied"] for a in answers)

    stored = {
        ext: (total, updated)
        for ext, total, updated in await rows(
            database_url, select(Order.external_id, Order.total_units, Order.updated_at)
        )
    }
    for ext, (total, updated) in expected.items():
        assert stored[ext] == (to_units(Decimal(total)), datetime_of(updated)), ext
    assert await stored_aggregates_match_rows(database_url) == []


def datetime_of(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text)


async def test_concurrent_first_writes_of_one_id_never_fail(database_url: str) -> None:
    """Twenty writers create the same new customer and the same new order at the same moment:
    every one is answered 2xx, one record of each exists, and exactly one says it created it."""
    async with running_service(database_url, timeout=60) as http:
        bodies = [customer(updated=T0 + timedelta(seconds=i)) for i in range(20)]
        orders = [
            order("#1", "10.00", customer_external_id="c-new", updated=T0 + timedelta(seconds=i))
            for i in range(20)
        ]
        answers = await asyncio.gather(
            *(_put(http, "/api/v1/customers/c-new", b) for b in bodies),
            *(_put(http, "/api/v1/orders/o-new", b) for b in orders),
        )
    assert [a.status_code for a in answers] == [200] * 40, [a.text for a in answers if a.status_code != 200]
    created = [a.json()["created"] for a in answers]
    assert sum(created[:20]) == 1 and sum(created[20:]) == 1
    assert len(await rows(database_url, select(Customer.id))) == 1
    assert len(await rows(database_url, select(Order.id))) == 1
    assert await stored_aggregates_match_rows(database_url) == []


async def test_a_storm_of_overlapping_writes_leaves_every_aggregate_right(database_url: str) -> None:
    """Writers move orders between customers, change their currencies, statuses and dates, all at
    once and overlapping: afterwards every customer's counts, LTV per currency and first/last
    order equal what their stored orders add up to."""
    rng = random.Random(5)
    customers_n, orders_n, writes = 6, 15, 240
    async with running_service(database_url, timeout=120) as http:
        await asyncio.gather(
            *(_put(http, f"/api/v1/customers/c-{i}", customer()) for i in range(customers_n))
        )
        bodies = [
            (
                f"o-{rng.randrange(orders_n)}",
                order(
                    f"#{i}",
                    total=f"{rng.randint(1, 999)}.{rng.randint(0, 99):02d}",
                    currency=rng.choice(["PLN", "EUR"]),
                    status=rng.choice(STATUSES),
                    customer_external_id=rng.choice([*(f"c-{c}" for c in range(customers_n)), None]),
                    placed=T0 - timedelta(days=rng.randint(1, 400)),
                    updated=T0 + timedelta(seconds=rng.randint(0, 50)),
                ),
            )
            for i in range(writes)
        ]
        semaphore = asyncio.Semaphore(24)

        async def write(ext: str, body: dict[str, Any]) -> int:
            async with semaphore:
                return (await _put(http, f"/api/v1/orders/{ext}", body)).status_code

        codes = await asyncio.gather(*(write(ext, body) for ext, body in bodies))
    assert set(codes) == {200}
    assert await stored_aggregates_match_rows(database_url) == []
    # And each order holds its newest version.
    newest: dict[str, str] = {}
    for ext, body in bodies:
        if ext not in newest or body["updated_at"] > newest[ext]:
            newest[ext] = body["updated_at"]
    stored = dict(await rows(database_url, select(Order.external_id, Order.updated_at)))
    assert {ext: iso(at) for ext, at in stored.items()} == {
        ext: datetime_of(at).isoformat() for ext, at in newest.items()
    }


async def test_racing_shopify_deliveries_of_one_order_keep_the_newest_state(database_url: str) -> None:
    """orders/updated, orders/paid and orders/fulfilled of one order land within milliseconds,
    in any order: the newest state is stored, every delivery is answered 200."""
    rng = random.Random(3)
    async with running_service(database_url, timeout=60) as http:
        for r in range(8):
            deliveries = []
            for v, topic in enumerate(["orders/updated", "orders/paid", "orders/fulfilled"] * 2):
                payload = shopify_order(
                    order_id=1000 + r, updated=T0 + timedelta(minutes=v), total=f"{10 + v}.00"
                )
                deliveries.append(shopify_request(topic, payload, event_id=f"e-{r}-{v}"))
            rng.shuffle(deliveries)
            answers = await asyncio.gather(
                *(
                    http.post("/webhooks/shopify", content=body, headers=headers)
                    for body, headers in deliveries
                )
            )
            assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
    stored = await rows(database_url, select(Order.external_id, Order.total_units, Order.updated_at))
    assert len(stored) == 8
    for _ext, total, updated in stored:
        assert updated == T0 + timedelta(minutes=5)
        assert total == to_units(Decimal("15.00"))
    assert await stored_aggregates_match_rows(database_url) == []


async def test_racing_webhooks_and_sync_writes_keep_the_platform_origin_for_its_admin_links(
    database_url: str,
) -> None:
    """A Shopify store that also backfills through the sync API: after the webhook created an
    order, the webhook's and the sync API's newer versions of it race. The newest (the sync API's)
    is stored, and no sync write takes away the order's Shopify origin, which the card's admin
    link is built from."""
    rng = random.Random(5)

    def webhook(http: httpx.AsyncClient, order_id: int, v: int) -> Any:
        payload = shopify_order(order_id=order_id, updated=T0 + timedelta(minutes=v), total=f"{10 + v}.00")
        body, headers = shopify_request("orders/updated", payload, event_id=f"o-{order_id}-{v}")
        return http.post("/webhooks/shopify", content=body, headers=headers)

    async with running_service(database_url, timeout=60) as http:
        for r in range(8):
            order_id = 2000 + r
            assert (await webhook(http, order_id, 0)).status_code == 200
            writes = []
            for v in range(1, 7):
                if v % 2:
                    writes.append(webhook(http, order_id, v))
                else:
                    updated = T0 + timedelta(minutes=v)
                    record = order(f"#{order_id}", f"{10 + v}.00", customer_external_id=None, updated=updated)
                    writes.append(_put(http, f"/api/v1/orders/{order_id}", record))
            rng.shuffle(writes)
            answers = await asyncio.gather(*writes)
            assert [a.status_code for a in answers if a.status_code >= 300] == [], [a.text for a in answers]
    stored = await rows(database_url, select(Order.external_id, Order.total_units, Order.origin))
    assert len(stored) == 8
    for _ext, total, origin in stored:
        assert total == to_units(Decimal("16.00"))
        assert origin == "shopify"
    assert await stored_aggregates_match_rows(database_url) == []


@pytest.mark.parametrize("writers", [8])
async def test_concurrent_erasure_and_replays_never_bring_the_person_back(
    database_url: str, writers: int
) -> None:
    """An erasure lands in the middle of a burst of retried writes of the person's order and
    case: once it is done, nothing of the person is stored, whichever write came last."""
    async with running_service(database_url, timeout=60) as http:
        assert (await _put(http, "/api/v1/customers/c-1", customer())).status_code == 200
        body = order("#1", "10.00", customer_external_id="c-1")
        assert (await _put(http, "/api/v1/orders/o-1", body)).status_code == 200
        retries = [_put(http, "/api/v1/orders/o-1", body) for _ in range(writers)]
        erase = http.delete("/api/v1/customers/c-1", headers=SYNC)
        answers = await asyncio.gather(*retries, erase, *retries[:0])
        assert {a.status_code for a in answers} == {200}
        # Retried again after the erasure, as a platform retries a slow delivery.
        late = await asyncio.gather(*(_put(http, "/api/v1/orders/o-1", body) for _ in range(writers)))
        assert {(a.status_code, a.json()["reason"]) for a in late} == {(200, "erased")}
    ((name, email, city, customer_id),) = await rows(
        database_url, select(Order.name, Order.email, Order.city, Order.customer_id)
    )
    assert (name, email, city, customer_id) == (None, None, None, None)
    assert await rows(database_url, select(Customer.id)) == []
