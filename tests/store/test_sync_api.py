"""The store backend keeps Ringcard current through the sync API (docs/api.md §2)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select, text

from app.db import create_engine
from app.store.models import Case, Customer, Order, Phone
from tests.conftest import SYNC
from tests.fixtures.store_records import T0, case, customer, iso, order, summary


async def put(client: httpx.AsyncClient, kind: str, ext: str, body: dict[str, object]) -> httpx.Response:
    return await client.put(f"/api/v1/{kind}/{ext}", json=body, headers=SYNC)


async def test_lifetime_value_counts_per_currency_and_leaves_out_cancelled_and_refunds(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    assert (await put(app_client, "customers", "c-1", customer())).json()["applied"] is True
    await put(app_client, "orders", "o-1", order("#1001", "100.00", placed=T0 - timedelta(days=30)))
    await put(app_client, "orders", "o-2", order("#1002", "250.50"))
    await put(app_client, "orders", "o-3", order("#1003", "40.00", "EUR", placed=T0 - timedelta(days=2)))
    await put(app_client, "orders", "o-4", order("#1004", "999.00", status="cancelled"))
    await put(
        app_client, "orders", "o-5", order("#1005", "500.00", status="refunded", refunded_total="500.00")
    )
    await put(app_client, "orders", "o-6", order("#1006", "80.00", refunded_total="30.00"))
    await put(app_client, "cases", "r-1", case("return", "in_progress", order_external_id="o-2"))
    await put(app_client, "cases", "k-1", case("complaint"))

    got = await summary(database_url, "c-1")
    assert got is not None
    assert got["ltv"] == {"PLN": "400.50", "EUR": "40.00"}
    assert got["orders_count"] == 6
    assert got["returns_count"] == 1
    assert got["first_order_at"] == T0 - timedelta(days=30)
    assert got["last_order_at"] == T0 - timedelta(days=2)


async def test_an_order_cancelled_later_drops_out_of_lifetime_value(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    await put(app_client, "customers", "c-1", customer())
    await put(app_client, "orders", "o-1", order("#1", "120.00", status="processing"))
    await put(
        app_client,
        "orders",
        "o-1",
        order("#1", "120.00", status="cancelled", updated=T0 + timedelta(hours=1)),
    )
    got = await summary(database_url, "c-1")
    assert got is not None and got["ltv"] == {} and got["orders_count"] == 1


async def test_repeated_put_is_idempotent(app_client: httpx.AsyncClient, database_url: str) -> None:
    await put(app_client, "customers", "c-1", customer())
    for _ in range(3):
        answer = await put(app_client, "orders", "o-1", order("#1", "70.00"))
        assert answer.status_code == 200 and answer.json()["applied"] is True
    got = await summary(database_url, "c-1")
    assert got is not None and got["orders_count"] == 1 and got["ltv"] == {"PLN": "70.00"}


async def test_stale_write_is_not_applied_and_says_so(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    await put(app_client, "customers", "c-1", customer(updated=T0, first_name="Anna"))
    stale = await put(
        app_client, "customers", "c-1", customer(updated=T0 - timedelta(minutes=1), first_name="Old")
    )
    assert stale.status_code == 200
    assert stale.json() == {"external_id": "c-1", "applied": False, "reason": "stale", "created": False}
    got = await summary(database_url, "c-1")
    assert got is not None and got["first_name"] == "Anna"

    await put(app_client, "orders", "o-1", order("#1", "10.00", status="cancelled", updated=T0))
    late = await put(
        app_client, "orders", "o-1", order("#1", "10.00", status="processing", updated=T0 - timedelta(days=1))
    )
    assert late.json()["reason"] == "stale"
    got = await summary(database_url, "c-1")
    assert got is not None and got["ltv"] == {}


async def test_order_arriving_before_its_customer_is_linked_when_the_customer_arrives(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    await put(app_client, "orders", "o-1", order("#1", "30.00", customer_external_id="c-late"))
    await put(app_client, "orders", "o-2", order("#2", "20.00", "GBP", customer_external_id="c-late"))
    await put(app_client, "cases", "r-1", case("return", customer_external_id="c-late"))
    assert await summary(database_url, "c-late") is None
    created = await put(app_client, "customers", "c-late", customer())
    assert created.json()["created"] is True
    got = await summary(database_url, "c-late")
    assert got is not None
    assert got["orders_count"] == 2 and got["returns_count"] == 1
    assert got["ltv"] == {"PLN": "30.00", "GBP": "20.00"}


async def test_an_order_moved_to_another_customer_moves_its_value(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    await put(app_client, "customers", "c-1", customer())
    await put(app_client, "customers", "c-2", customer(first_name="Piotr"))
    await put(app_client, "orders", "o-1", order("#1", "55.00", customer_external_id="c-1"))
    await put(
        app_client,
        "orders",
        "o-1",
        order("#1", "55.00", customer_external_id="c-2", updated=T0 + timedelta(1)),
    )
    one, two = await summary(database_url, "c-1"), await summary(database_url, "c-2")
    assert one is not None and two is not None
    assert (one["orders_count"], one["ltv"], one["last_order_at"]) == (0, {}, None)
    assert (two["orders_count"], two["ltv"]) == (1, {"PLN": "55.00"})


async def test_phones_are_stored_as_written_and_normalised(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    await put(app_client, "customers", "c-1", customer(phones=[{"number": "601 234 567", "kind": "mobile"}]))
    await put(
        app_client,
        "orders",
        "o-1",
        order("#1", "1.00", phones=[{"number": "0048 512-000-111", "kind": "shipping"}]),
    )
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(Phone.raw, Phone.e164, Phone.national, Phone.source).order_by(Phone.id))
        ).all()
    await engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("601 234 567", "+48601234567", "601234567", "customer.mobile"),
        ("0048 512-000-111", "+48512000111", "512000111", "order.shipping_phone"),
    ]


async def test_malformed_records_get_422_naming_the_field_and_change_nothing(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    await put(app_client, "customers", "c-1", customer())
    bad_currency = await put(app_client, "orders", "o-1", order("#1", "10.00", currency="ZZZ"))
    assert bad_currency.status_code == 422
    assert "currency" in bad_currency.json()["error"]
    bad_date = await put(app_client, "orders", "o-1", order("#1", "10.00", placed_at="yesterday"))
    assert bad_date.status_code == 422 and "placed_at" in bad_date.json()["error"]
    naive_date = await put(app_client, "orders", "o-1", order("#1", "10.00", placed_at="2026-11-01T10:00:00"))
    assert naive_date.status_code == 422 and "placed_at" in naive_date.json()["error"]
    bad_total = await put(app_client, "orders", "o-1", order("#1", "-5"))
    assert bad_total.status_code == 422 and "total" in bad_total.json()["error"]
    bad_kind = await put(app_client, "cases", "k-1", case("praise"))
    assert bad_kind.status_code == 422 and "kind" in bad_kind.json()["error"]
    bad_status = await put(app_client, "orders", "o-1", order("#1", "10.00", status="lost"))
    assert bad_status.status_code == 422 and "status" in bad_status.json()["error"]
    not_json = await app_client.put(
        "/api/v1/customers/c-2", content=b"{nope", headers={**SYNC, "content-type": "application/json"}
    )
    assert not_json.status_code == 422

    engine = create_engine(database_url)
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(Order)) == 0
        assert await conn.scalar(select(func.count()).select_from(Case)) == 0
        assert await conn.scalar(select(func.count()).select_from(Customer)) == 1
    await engine.dispose()


async def test_writes_need_the_sync_key(app_client: httpx.AsyncClient, database_url: str) -> None:
    no_key = await app_client.put("/api/v1/customers/c-1", json=customer())
    wrong = await app_client.put(
        "/api/v1/customers/c-1", json=customer(), headers={"Authorization": "Bearer nope"}
    )
    import_no_key = await app_client.post("/api/v1/import", content=b"")
    erase = await app_client.delete("/api/v1/customers/c-1")
    assert {no_key.status_code, wrong.status_code, import_no_key.status_code, erase.status_code} == {401}
    assert await summary(database_url, "c-1") is None


async def test_erasure_leaves_no_name_or_phone_behind(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    await put(app_client, "customers", "c-1", customer())
    await put(app_client, "orders", "o-1", order("#1", "10.00", tracking_url="https://t.example/1"))
    await put(app_client, "cases", "k-1", case())
    erased = await app_client.delete("/api/v1/customers/c-1", headers=SYNC)
    assert erased.json() == {"external_id": "c-1", "erased": True}

    engine = create_engine(database_url)
    async with engine.connect() as conn:
        dump = []
        for table in ("customers", "orders", "cases", "phones", "customer_ltv"):
            dump += [str(tuple(r)) for r in (await conn.execute(text(f"SELECT * FROM {table}"))).all()]
        assert await conn.scalar(select(func.count()).select_from(Order)) == 1  # kept for the store's totals
    await engine.dispose()
    blob = " ".join(dump)
    for personal in ("Anna", "Nowak", "anna@example.pl", "601", "Kraków", "Parcel damaged", "t.example"):
        assert personal not in blob

    # A delayed retry of the old write does not bring the person back.
    retry = await put(app_client, "customers", "c-1", customer())
    assert retry.json()["applied"] is False and retry.json()["reason"] == "erased"
    again = await app_client.delete("/api/v1/customers/c-1", headers=SYNC)
    assert again.json()["erased"] is False


async def test_bulk_import_streams_ndjson_and_reports_each_rejected_line(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    import orjson

    lines = [
        {"type": "order", "external_id": "o-1", **order("#1", "12.00", customer_external_id="c-9")},
        {"type": "customer", "external_id": "c-9", **customer()},
        {"type": "case", "external_id": "r-1", **case("return", customer_external_id="c-9")},
        {
            "type": "order",
            "external_id": "o-2",
            **order("#2", "1.00", currency="XXQ", customer_external_id="c-9"),
        },
        {"type": "parcel", "external_id": "p-1"},
        {"type": "customer", "external_id": "c-9", **customer(updated=T0 - timedelta(days=5))},
    ]
    body = b"\n".join(orjson.dumps(line) for line in lines) + b"\n{broken json\n\n"

    async def chunks():  # type: ignore[no-untyped-def]
        for i in range(0, len(body), 37):  # cut mid-line: the server must reassemble lines
            yield body[i : i + 37]

    answer = await app_client.post(
        "/api/v1/import", content=chunks(), headers={**SYNC, "content-type": "application/x-ndjson"}
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["lines"], report["applied"], report["stale"], report["rejected"]) == (7, 3, 1, 3)
    rejected = {e["line"]: e["error"] for e in report["errors"]}
    assert set(rejected) == {4, 5, 7}
    assert "currency" in rejected[4]
    assert "type" in rejected[5] or "parcel" in rejected[5]
    got = await summary(database_url, "c-9")
    assert got is not None and got["orders_count"] == 1 and got["returns_count"] == 1


async def test_created_at_must_be_a_date(app_client: httpx.AsyncClient) -> None:
    answer = await put(app_client, "customers", "c-1", customer(created_at=iso(T0)[:10] + "Tjunk"))
    assert answer.status_code == 422 and "created_at" in answer.json()["error"]


async def test_a_large_import_lands_every_row_with_its_phones_and_totals(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    """Large enough that PostgreSQL takes the COPY path."""
    import orjson

    lines = []
    for i in range(150):
        lines.append(
            {
                "type": "customer",
                "external_id": f"c{i}",
                **customer(phones=[{"number": f"60{i:07d}", "kind": "mobile"}]),
            }
        )
        for j in range(3):
            lines.append(
                {
                    "type": "order",
                    "external_id": f"o{i}-{j}",
                    **order(
                        f"#{i}-{j}",
                        "10.50",
                        customer_external_id=f"c{i}",
                        phones=[
                            {"number": f"+48 60{i:07d}", "kind": "billing"},
                            {"number": f"0048 60{i:07d}", "kind": "shipping"},
                        ],
                    ),
                }
            )
    body = b"\n".join(orjson.dumps(line) for line in lines)
    answer = await app_client.post(
        "/api/v1/import", content=body, headers={**SYNC, "content-type": "application/x-ndjson"}
    )
    assert answer.json()["applied"] == 600
    got = await summary(database_url, "c149")
    assert got is not None and got["orders_count"] == 3 and got["ltv"] == {"PLN": "31.50"}
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(Phone.source, Phone.e164).where(Phone.e164 == "+48600000149"))
        ).all()
        tags = await conn.scalar(select(Customer.tags).where(Customer.external_id == "c7"))
    await engine.dispose()
    # One row for the customer, one per order (billing and shipping are the same number).
    assert (
        sorted(r.source for r in rows)
        == ["customer.mobile"] + ["order.billing_phone,order.shipping_phone"] * 3
    )
    assert tags == ["vip"]
