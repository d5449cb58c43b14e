"""Who is calling: every way a number can match a customer, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN, SYNC
from tests.fixtures.store_records import T0, case, customer, order


async def put(client: httpx.AsyncClient, kind: str, ext: str, body: dict[str, Any]) -> None:
    answer = await client.put(f"/api/v1/{kind}/{ext}", json=body, headers=SYNC)
    assert answer.status_code == 200, answer.text


async def lookup(client: httpx.AsyncClient, number: str, **params: str) -> dict[str, Any]:
    answer = await client.get("/api/v1/lookup", params={"number": number, **params}, headers=SYNC)
    assert answer.status_code == 200, answer.text
    card: dict[str, Any] = answer.json()
    return card


def names(card: dict[str, Any]) -> list[str]:
    return [c["name"] for c in card["match"]["candidates"]]


async def test_a_number_stored_in_national_form_matches_the_caller_in_e164(
    app_client: httpx.AsyncClient,
) -> None:
    await put(app_client, "customers", "c-1", customer(phones=[{"number": "601 234 567", "kind": "mobile"}]))
    card = await lookup(app_client, "+48601234567")
    assert card["match"]["status"] == "exact"
    assert card["match"]["matched_on"] == ["customer.mobile"]
    assert card["customer"]["name"] == "Anna Nowak"


@pytest.mark.parametrize(
    "written",
    [
        "0048601234567",
        "+48 601-234-567",
        "tel:+48601234567",
        "sip:+48601234567@pbx.example",
        "(+48) 601 234 567 ext. 12",
    ],
)
async def test_every_way_the_number_arrives_finds_the_same_customer(
    app_client: httpx.AsyncClient, written: str
) -> None:
    await put(app_client, "customers", "c-1", customer(phones=[{"number": "601234567", "kind": "mobile"}]))
    card = await lookup(app_client, written)
    assert (card["match"]["status"], card["customer"]["external_id"]) == ("exact", "c-1")


async def test_order_phones_identify_the_customer_too(app_client: httpx.AsyncClient) -> None:
    await put(app_client, "customers", "c-1", customer(phones=[]))
    await put(
        app_client,
        "orders",
        "o-1",
        order(
            "#1",
            "10.00",
            phones=[
                {"number": "+48 512 000 111", "kind": "billing"},
                {"number": "512-000-111", "kind": "shipping"},
            ],
        ),
    )
    card = await lookup(app_client, "+48512000111")
    assert card["match"]["status"] == "exact"
    assert card["match"]["matched_on"] == ["order.billing_phone", "order.shipping_phone"]
    assert card["match"]["via"] == [
        {"field": "billing_phone", "on": "order", "order_number": "#1"},
        {"field": "shipping_phone", "on": "order", "order_number": "#1"},
    ]
    assert card["customer"]["external_id"] == "c-1"


async def test_the_match_says_where_the_number_was_found_once_each_newest_order_first(
    app_client: httpx.AsyncClient,
) -> None:
    number = "+48 601 234 567"
    await put(app_client, "customers", "c-1", customer(phones=[{"number": number, "kind": "mobile"}]))
    for ext, num, kind, days in (("o-old", "#1040", "shipping", 30), ("o-new", "#1042", "billing", 2)):
        await put(
            app_client,
            "orders",
            ext,
            order(num, "10.00", placed=T0 - timedelta(days=days), phones=[{"number": number, "kind": kind}]),
        )
    card = await lookup(app_client, "+48601234567")
    mobile = {"field": "mobile", "on": "customer", "order_number": None}
    billing = {"field": "billing_phone", "on": "order", "order_number": "#1042"}
    shipping = {"field": "shipping_phone", "on": "order", "order_number": "#1040"}
    assert card["match"]["via"] == [mobile, billing, shipping]
    assert card["match"]["candidates"][0]["via"] == [mobile, billing, shipping]
    # The sources as before, each once, for API clients that read them.
    assert sorted(card["match"]["matched_on"]) == [
        "customer.mobile",
        "order.billing_phone",
        "order.shipping_phone",
    ]


async def test_the_same_national_number_under_another_country_is_probable_when_the_caller_country_is_unsure(
    app_client: httpx.AsyncClient,
) -> None:
    # 601 234 567 is a valid Czech mobile as well as a Polish one.
    await put(
        app_client,
        "customers",
        "c-cz",
        customer(first_name="Jana", phones=[{"number": "+420 601 234 567", "kind": "mobile"}]),
    )
    unsure = await lookup(app_client, "601 234 567")
    assert unsure["match"]["status"] == "probable" and unsure["customer"]["first_name"] == "Jana"
    sure = await lookup(app_client, "+48 601 234 567")
    assert sure["match"]["status"] == "unknown"


async def test_a_phone_saved_without_its_country_code_matches_on_its_last_digits(
    app_client: httpx.AsyncClient,
) -> None:
    # A German mobile saved the German way in a Polish store: it does not parse as Polish.
    await put(
        app_client,
        "customers",
        "c-de",
        customer(first_name="Lena", phones=[{"number": "0151 23456789", "kind": "mobile"}]),
    )
    card = await lookup(app_client, "+49 151 23456789")
    assert card["match"]["status"] == "probable"
    assert card["customer"]["first_name"] == "Lena"


async def test_last_digits_never_match_across_two_different_country_codes(
    app_client: httpx.AsyncClient,
) -> None:
    await put(
        app_client, "customers", "c-cz", customer(phones=[{"number": "+420 601 234 567", "kind": "mobile"}])
    )
    assert (await lookup(app_client, "+48 601 234 567"))["match"]["status"] == "unknown"


async def test_two_customers_sharing_a_phone_are_ambiguous_with_both_listed_best_first(
    app_client: httpx.AsyncClient,
) -> None:
    shared = [{"number": "22 654 32 10", "kind": "home"}]
    await put(
        app_client, "customers", "c-jan", customer(first_name="Jan", last_name="Kowalski", phones=shared)
    )
    await put(
        app_client, "customers", "c-maria", customer(first_name="Maria", last_name="Kowalska", phones=shared)
    )
    await put(
        app_client,
        "orders",
        "o-1",
        order("#1", "5.00", customer_external_id="c-jan", placed=T0 - timedelta(days=1)),
    )
    await put(
        app_client,
        "orders",
        "o-2",
        order("#2", "5.00", customer_external_id="c-maria", placed=T0 - timedelta(days=9)),
    )
    card = await lookup(app_client, "+48226543210")
    assert card["match"]["status"] == "ambiguous"
    assert names(card) == ["Jan Kowalski", "Maria Kowalska"]  # the most recent order first
    assert card["customer"] is None

    # An open case outranks a recent order.
    await put(app_client, "cases", "k-1", case(customer_external_id="c-maria"))
    card = await lookup(app_client, "+48226543210")
    assert names(card) == ["Maria Kowalska", "Jan Kowalski"]
    assert card["match"]["candidates"][0]["has_open_case"] is True


async def test_a_guest_checkout_is_identified_by_the_name_on_the_order(app_client: httpx.AsyncClient) -> None:
    await put(
        app_client,
        "orders",
        "o-g",
        order(
            "#77",
            "99.00",
            customer_external_id=None,
            name="Ewa Jabłońska",
            phones=[{"number": "+48 512 987 654", "kind": "billing"}],
        ),
    )
    card = await lookup(app_client, "512987654")
    assert card["match"]["status"] == "exact"
    assert card["customer"]["name"] == "Ewa Jabłońska" and card["customer"]["guest"] is True
    assert [o["number"] for o in card["orders"]] == ["#77"]


async def test_two_names_on_orders_with_one_phone_are_ambiguous(app_client: httpx.AsyncClient) -> None:
    phone = [{"number": "+48 512 987 654", "kind": "shipping"}]
    await put(
        app_client,
        "orders",
        "o-1",
        order("#1", "9.00", customer_external_id=None, name="Ewa Jabłońska", phones=phone),
    )
    await put(
        app_client,
        "orders",
        "o-2",
        order("#2", "9.00", customer_external_id=None, name="Adam Jabłoński", phones=phone),
    )
    await put(
        app_client,
        "orders",
        "o-3",
        order("#3", "9.00", customer_external_id=None, name="ewa  jabłońska", phones=phone),
    )
    card = await lookup(app_client, "+48512987654")
    assert card["match"]["status"] == "ambiguous"
    assert sorted(names(card)) == ["Adam Jabłoński", "Ewa Jabłońska"]


async def test_a_guest_order_in_an_account_holders_name_is_theirs(app_client: httpx.AsyncClient) -> None:
    await put(app_client, "customers", "c-1", customer(phones=[{"number": "601234567", "kind": "mobile"}]))
    await put(
        app_client,
        "orders",
        "o-g",
        order(
            "#9",
            "9.00",
            customer_external_id=None,
            name="Anna Nowak",
            phones=[{"number": "601234567", "kind": "billing"}],
        ),
    )
    card = await lookup(app_client, "+48601234567")
    assert card["match"]["status"] == "exact"
    assert card["match"]["matched_on"] == ["customer.mobile", "order.billing_phone"]
    assert card["match"]["via"] == [
        {"field": "mobile", "on": "customer", "order_number": None},
        {"field": "billing_phone", "on": "order", "order_number": "#9"},
    ]


async def test_an_agents_own_number_is_never_a_customer(app_client: httpx.AsyncClient) -> None:
    await put(app_client, "customers", "c-1", customer(phones=[{"number": "22 100 00 00", "kind": "work"}]))
    made = await app_client.post(
        "/api/v1/agents",
        headers=ADMIN,
        json={
            "username": "ola",
            "display_name": "Ola K.",
            "password": "correct horse",
            "phone": "+48 22 100 00 00",
        },
    )
    assert made.status_code == 201
    card = await lookup(app_client, "0048221000000")
    assert card["match"]["status"] == "unknown" and card["customer"] is None
    assert card["match"]["internal_agent"] == "Ola K."
    assert card["headline"] == "Internal call from Ola K."


@pytest.mark.parametrize(
    ("number", "status", "kind", "headline"),
    [
        ("+48 500 000 001", "unknown", "e164", "Unknown caller +48 500 000 001"),
        ("anonymous", "withheld", "withheld", "Withheld number"),
        ("+266696687", "withheld", "withheld", "Withheld number"),
        ("12", "invalid", "invalid", "Invalid number '12'"),
        ("client:alice", "invalid", "not_a_phone", "Not a phone number"),
    ],
)
async def test_callers_nobody_knows_still_get_an_honest_card(
    app_client: httpx.AsyncClient, number: str, status: str, kind: str, headline: str
) -> None:
    card = await lookup(app_client, number)
    assert card["match"]["status"] == status
    # The console words the headline in the agent's language from the kind, not from the text.
    assert card["caller"]["kind"] == kind
    assert card["headline"] == headline
    assert card["customer"] is None and card["orders"] == []


async def test_lookup_needs_an_agent_token_or_the_sync_key(app_client: httpx.AsyncClient) -> None:
    answer = await app_client.get("/api/v1/lookup", params={"number": "+48601234567"})
    assert answer.status_code == 401
    missing = await app_client.get("/api/v1/lookup", headers=SYNC)
    assert missing.status_code == 422 and "number" in missing.json()["error"]
