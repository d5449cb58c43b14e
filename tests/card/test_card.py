"""The context card: everything the agent needs before saying hello (docs/api.md#the-card)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from app.card.build import build_card
from app.card.matching import match_number
from app.card.rules import CardRules
from app.db import create_engine, make_sessionmaker
from app.kit.phones import normalise
from app.settings import Settings
from app.store.order_writes import apply_orders
from app.store.schemas import OrderIn, Target
from app.stores.models import DEFAULT_STORE
from tests.card.test_matching import lookup, put
from tests.fixtures.store_records import case, customer, iso, order

NOW = datetime.now(UTC)
PHONE = [{"number": "601 234 567", "kind": "mobile"}]


def at(**ago: float) -> datetime:
    return NOW - timedelta(**ago)


async def anna(client: httpx.AsyncClient) -> None:
    await put(client, "customers", "c-1", customer(phones=PHONE, updated=at(days=1)))


async def test_the_card_shows_value_orders_and_open_cases(app_client: httpx.AsyncClient) -> None:
    await anna(app_client)
    for i in range(6):
        await put(
            app_client,
            "orders",
            f"d-{i}",
            order(f"#10{i}", "100.00", status="delivered", placed=at(days=40 + i), updated=at(days=30)),
        )
    await put(
        app_client,
        "orders",
        "eur",
        order("#200", "35.50", "EUR", status="delivered", placed=at(days=90), updated=at(days=80)),
    )
    await put(
        app_client,
        "orders",
        "cancelled",
        order("#300", "999.00", status="cancelled", placed=at(days=2), updated=at(days=2)),
    )
    await put(
        app_client,
        "orders",
        "refunded",
        order(
            "#301",
            "50.00",
            status="refunded",
            refunded_total="50.00",
            placed=at(days=60),
            updated=at(days=50),
        ),
    )
    await put(
        app_client,
        "orders",
        "partial",
        order("#302", "80.00", refunded_total="20.00", placed=at(days=70), updated=at(days=50)),
    )
    await put(
        app_client,
        "orders",
        "open-old",
        order("#400", "10.00", status="processing", placed=at(days=100), updated=at(days=1)),
    )
    await put(
        app_client,
        "cases",
        "C-88",
        case("complaint", "in_progress", order_external_id="d-0", updated=at(hours=3)),
    )
    await put(
        app_client, "cases", "C-89", case("return", "closed", order_external_id="d-1", updated=at(hours=3))
    )

    card = await lookup(app_client, "+48601234567")
    stats = card["stats"]
    assert stats["lifetime_value"] == [
        {"amount": "670.00", "currency": "PLN"},  # 6*100 + 80-20 + 10; cancelled and refunded left out
        {"amount": "35.50", "currency": "EUR"},
    ]
    assert stats["orders_count"] == 11 and stats["returns_count"] == 1
    assert stats["last_order_at"] == iso(at(days=2))
    assert stats["loyalty_tier"] == "gold"  # 10 orders or more
    # Open orders first (even an old one), then the newest; five at most.
    assert [o["number"] for o in card["orders"]] == ["#400", "#300", "#100", "#101", "#102"]
    assert card["orders"][0]["total"] == "10.00" and card["orders"][0]["currency"] == "PLN"
    assert [(c["external_id"], c["order_number"]) for c in card["open_cases"]] == [("C-88", "#100")]
    assert card["likely_reason"] == {
        "code": "open_complaint",
        "text": "Probably about complaint C-88 on order #100",
        "params": {"case_id": "C-88", "order_number": "#100"},
    }
    assert card["customer"]["tags"] == ["vip"] and card["customer"]["note"] == "calls after 5pm"
    assert card["data_as_of"] is not None
    assert card["headline"] == "Anna Nowak — say hello to Anna"


LATE = {"status": "shipped", "shipped_at": iso(at(days=8)), "placed": at(days=9), "updated": at(days=8)}


@pytest.mark.parametrize(
    ("records", "code", "text", "params"),
    [
        (
            [
                ("cases", "R-1", case("return", "open", updated=at(hours=1))),
                ("cases", "X-1", case("exchange", "open", updated=at(hours=1))),
            ],
            "return_in_progress",
            "Probably about return R-1",
            {"case_id": "R-1", "order_number": None},
        ),
        (
            [("cases", "X-1", case("exchange", "in_progress", updated=at(hours=1)))],
            "exchange_in_progress",
            "Probably about exchange X-1",
            {"case_id": "X-1", "order_number": None},
        ),
        (
            [
                (
                    "orders",
                    "p-1",
                    order(
                        "#501",
                        "20.00",
                        status="failed",
                        financial_status="failed",
                        placed=at(days=1),
                        updated=at(hours=20),
                    ),
                ),
                ("orders", "w-1", order("#502", "20.00", **LATE)),
            ],
            "payment_problem",
            "Probably about the payment on order #501 (failed)",
            {"order_number": "#501", "state": "failed"},
        ),
        (
            [
                ("orders", "w-1", order("#502", "20.00", **LATE)),
                (
                    "orders",
                    "n-1",
                    order("#503", "5.00", status="pending", placed=at(hours=2), updated=at(hours=2)),
                ),
            ],
            "where_is_my_order",
            "Probably asking where order #502 is: shipped 8 days ago, not delivered",
            {
                "order_number": "#502",
                "shipped_at": iso(at(days=8)),
                "days_since_shipped": 8,
                "expected_delivery_at": None,
            },
        ),
        (
            [
                (
                    "orders",
                    "n-1",
                    order("#503", "5.00", status="pending", placed=at(hours=2), updated=at(hours=2)),
                )
            ],
            "recent_order",
            "Probably about order #503 placed 2 h ago: change or cancel",
            {"order_number": "#503", "placed_at": iso(at(hours=2)), "hours_since_placed": 2},
        ),
        (
            [
                (
                    "orders",
                    "s-1",
                    order(
                        "#504",
                        "5.00",
                        status="shipped",
                        shipped_at=iso(at(days=1)),
                        placed=at(days=3),
                        updated=at(days=1),
                    ),
                )
            ],
            None,
            None,
            {},
        ),
    ],
    ids=[
        "return-beats-exchange",
        "exchange",
        "payment-beats-wismo",
        "wismo-beats-recent",
        "recent-order",
        "nothing",
    ],
)
async def test_likely_reason_rules_in_order_of_precedence(
    app_client: httpx.AsyncClient,
    records: list[tuple[str, str, dict[str, Any]]],
    code: str | None,
    text: str | None,
    params: dict[str, Any],
) -> None:
    await anna(app_client)
    for kind, ext, body in records:
        await put(app_client, kind, ext, body)
    reason = (await lookup(app_client, "+48601234567"))["likely_reason"]
    assert reason["code"] == code
    assert (reason["text"] or "").startswith(text or "")
    # What the console words the reason from, in the agent's language.
    assert reason["params"] == params


async def test_expected_delivery_in_the_past_is_where_is_my_order(app_client: httpx.AsyncClient) -> None:
    await anna(app_client)
    await put(
        app_client,
        "orders",
        "w",
        order(
            "#9",
            "1.00",
            status="shipped",
            expected_delivery_at=iso(at(hours=5)),
            shipped_at=iso(at(days=2)),
            placed=at(days=3),
            updated=at(days=2),
        ),
    )
    reason = (await lookup(app_client, "+48601234567"))["likely_reason"]
    assert reason["code"] == "where_is_my_order"
    assert reason["params"] == {
        "order_number": "#9",
        "shipped_at": iso(at(days=2)),
        "days_since_shipped": 2,
        "expected_delivery_at": iso(at(hours=5)),
    }


async def test_high_returns_are_flagged(app_client: httpx.AsyncClient) -> None:
    await anna(app_client)
    for i in range(3):
        await put(
            app_client,
            "orders",
            f"o-{i}",
            order(f"#{i}", "10.00", placed=at(days=30 + i), updated=at(days=20)),
        )
    await put(app_client, "cases", "r-1", case("return", "closed", updated=at(days=10)))
    card = await lookup(app_client, "+48601234567")
    assert card["stats"]["high_returns"] is True and card["stats"]["loyalty_tier"] == "silver"


async def test_a_guest_card_adds_up_the_guests_orders(app_client: httpx.AsyncClient) -> None:
    phone = [{"number": "+48 512 987 654", "kind": "billing"}]
    await put(
        app_client,
        "orders",
        "g-1",
        order(
            "#1", "10.00", customer_external_id=None, name="Ewa Jabłońska", phones=phone, placed=at(days=5)
        ),
    )
    await put(
        app_client,
        "orders",
        "g-2",
        order(
            "#2",
            "15.00",
            "EUR",
            customer_external_id=None,
            name="Ewa Jabłońska",
            phones=phone,
            placed=at(days=1),
            status="processing",
        ),
    )
    await put(
        app_client,
        "cases",
        "k-1",
        case(customer_external_id=None, order_external_id="g-1", updated=at(hours=1)),
    )
    card = await lookup(app_client, "+48512987654")
    assert card["customer"]["guest"] is True and card["customer"]["external_id"] is None
    assert card["stats"]["orders_count"] == 2
    assert card["stats"]["lifetime_value"] == [
        {"amount": "10.00", "currency": "PLN"},
        {"amount": "15.00", "currency": "EUR"},
    ]
    assert [o["number"] for o in card["orders"]] == ["#2", "#1"]
    assert card["likely_reason"]["code"] == "open_complaint"


async def test_an_ambiguous_card_tells_the_candidates_apart_and_lets_the_agent_pick(
    app_client: httpx.AsyncClient,
) -> None:
    shared = [{"number": "22 654 32 10", "kind": "home"}]
    await put(
        app_client,
        "customers",
        "c-jan",
        customer(first_name="Jan", last_name="Kowalski", city="Warszawa", phones=shared),
    )
    await put(
        app_client,
        "customers",
        "c-ewa",
        customer(first_name="Ewa", last_name="Kowalska", city="Łódź", phones=shared),
    )
    await put(
        app_client, "orders", "o-1", order("#11", "5.00", customer_external_id="c-ewa", placed=at(days=3))
    )
    card = await lookup(app_client, "+48226543210")
    assert card["headline"] == "2 possible customers"
    first, second = card["match"]["candidates"]
    assert (first["name"], first["city"], first["last_order_number"] is None) == (
        "Ewa Kowalska",
        "Łódź",
        True,
    )
    assert first["last_order_at"] == iso(at(days=3)) and second["city"] == "Warszawa"
    picked = await lookup(app_client, "+48226543210", customer="c-jan")
    assert picked["match"]["status"] == "ambiguous" and picked["customer"]["name"] == "Jan Kowalski"
    # The card names whom the agent picked, as any card about one person does.
    assert picked["headline"] == "Jan Kowalski — say hello to Jan"
    assert picked["match"] == card["match"]
    # A pick that no longer matches the number gets the card of the match, headline and all.
    gone = await lookup(app_client, "+48226543210", customer="c-gone")
    assert gone["customer"] is None and gone["headline"] == "2 possible customers"


@contextmanager
def counted(engine: Any) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_matching_takes_one_statement_and_a_card_three_whatever_the_history(
    settings: Settings, database_url: str, app_client: httpx.AsyncClient
) -> None:
    await anna(app_client)
    engine = create_engine(database_url)
    sessionmaker = make_sessionmaker(engine)
    orders = [
        (
            f"big-{i}",
            OrderIn(
                customer_external_id="c-1",
                number=f"#{i}",
                status="delivered",
                total=Decimal("10"),
                currency="PLN",
                placed_at=at(days=20_000 - i),
                updated_at=at(days=1),
                phones=[{"number": "601234567", "kind": "billing"}],
            ),
        )
        for i in range(20_000)
    ]
    async with sessionmaker() as session, session.begin():
        await apply_orders(session, orders, Target(DEFAULT_STORE, "PL"), now=NOW)
    rules = CardRules.from_settings(settings)
    try:
        async with sessionmaker() as session:
            with counted(engine) as statements:
                card = await build_card(session, normalise("+48601234567", "PL"), rules, NOW)
            assert len(statements) <= 3, statements
            assert card["stats"]["orders_count"] == 20_000 and len(card["orders"]) == 5
            with counted(engine) as statements:
                await build_card(session, normalise("+48500000001", "PL"), rules, NOW)
            assert len(statements) == 1
            with counted(engine) as statements:
                match = await match_number(session, normalise("601 234 567", "PL"), suffix_digits=9)
            assert match.status.value == "exact" and len(statements) == 1
    finally:
        await engine.dispose()
