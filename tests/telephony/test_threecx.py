"""`GET /integrations/3cx/contacts`: 3CX's server-side CRM lookup finds the store's people."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.card.matching import Candidate
from app.main import create_app
from app.telephony.pbx.threecx_routes import ThreeCxContact, guest_id, split_name
from tests.conftest import SYNC, make_settings
from tests.fixtures.store_records import T0, customer, order

TOKEN = "cti-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PUBLIC = "https://ringcard.example.com"


def person(first: str, last: str, phone: str, email: str | None = None) -> dict[str, Any]:
    return customer(
        first_name=first, last_name=last, email=email, phones=[{"number": phone, "kind": "mobile"}]
    )


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(database_url, cti_token=TOKEN, public_url=PUBLIC))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http,
    ):
        guest_order = order(
            "#2001",
            "59.00",
            customer_external_id=None,
            name="Ewa Maria Zielińska",
            email="ewa@example.pl",
            placed=T0 - timedelta(days=2),
            phones=[{"number": "+48 604 000 004", "kind": "shipping"}],
        )
        writes: list[tuple[str, dict[str, Any]]] = [
            ("/api/v1/customers/c-1", customer()),
            ("/api/v1/customers/c-2", person("Jan", "Kowalski", "+48 603 000 003", email="jan@example.pl")),
            ("/api/v1/customers/c-3", person("Maria", "Kowalska", "+48 603 000 003")),
            ("/api/v1/customers/c-4", person("Biuro", "Rachunkowe", "+48 12 345 67 89")),
            ("/api/v1/orders/o-9", guest_order),
        ]
        for path, body in writes:
            saved = await http.put(path, json=body, headers=SYNC)
            assert saved.status_code == 200, saved.text
        yield http


async def contacts(client: httpx.AsyncClient, phone: str) -> list[dict[str, Any]]:
    answer = await client.get("/integrations/3cx/contacts", params={"phone": phone}, headers=AUTH)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["contacts"]
    return found


@pytest.mark.parametrize("phone", ["+48601234567", "0048601234567", "601234567", "48601234567"])
async def test_a_known_caller_is_one_contact(client: httpx.AsyncClient, phone: str) -> None:
    assert await contacts(client, phone) == [
        {
            "id": "c-1",
            "firstName": "Anna",
            "lastName": "Nowak",
            "company": "",
            "email": "anna@example.pl",
            "phoneMobile": "+48601234567",
            "phoneBusiness": "",
            "url": f"{PUBLIC}/?number=%2B48601234567&customer=c-1",
        }
    ]


@pytest.mark.parametrize("phone", ["+48500000999", "anonymous", "", "112"])
async def test_unknown_withheld_and_invalid_numbers_have_no_contacts(
    client: httpx.AsyncClient, phone: str
) -> None:
    assert await contacts(client, phone) == []


async def test_an_unencoded_plus_from_the_template_still_counts(client: httpx.AsyncClient) -> None:
    answer = await client.get("/integrations/3cx/contacts?phone=+48601234567", headers=AUTH)
    assert [c["id"] for c in answer.json()["contacts"]] == ["c-1"]


async def test_an_ambiguous_number_lists_every_candidate(client: httpx.AsyncClient) -> None:
    found = await contacts(client, "+48603000003")
    assert sorted((c["id"], c["firstName"], c["lastName"], c["email"]) for c in found) == [
        ("c-2", "Jan", "Kowalski", "jan@example.pl"),
        ("c-3", "Maria", "Kowalska", ""),
    ]


async def test_a_landline_is_a_business_phone(client: httpx.AsyncClient) -> None:
    [office] = await contacts(client, "+48123456789")
    assert (office["phoneMobile"], office["phoneBusiness"]) == ("", "+48123456789")


async def test_a_guest_is_named_from_their_order(client: httpx.AsyncClient) -> None:
    [guest] = await contacts(client, "604 000 004")
    assert guest["id"] == guest_id("Ewa Maria Zielińska") and guest["id"].startswith("guest:")
    assert (guest["firstName"], guest["lastName"], guest["email"]) == (
        "Ewa",
        "Maria Zielińska",
        "ewa@example.pl",
    )
    assert guest["url"] == f"{PUBLIC}/?number=%2B48604000004"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}, {"Authorization": ""}],
)
async def test_a_wrong_or_missing_bearer_token_is_refused(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    answer = await client.get("/integrations/3cx/contacts", params={"phone": "+48601234567"}, headers=headers)
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    in_query = await client.get(
        "/integrations/3cx/contacts", params={"phone": "+48601234567", "token": TOKEN}
    )
    assert in_query.status_code == 401


async def test_a_missing_phone_is_a_422(client: httpx.AsyncClient) -> None:
    answer = await client.get("/integrations/3cx/contacts", headers=AUTH)
    assert answer.status_code == 422 and "phone" in answer.json()["error"]


async def test_3cx_is_off_without_a_token(database_url: str) -> None:
    app = create_app(make_settings(database_url))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        answer = await client.get(
            "/integrations/3cx/contacts", params={"phone": "+48601234567"}, headers=AUTH
        )
    assert answer.status_code == 404


@pytest.mark.parametrize("public_url", [PUBLIC, None])
async def test_the_link_never_follows_the_host_header(database_url: str, public_url: str | None) -> None:
    app = create_app(make_settings(database_url, cti_token=TOKEN, public_url=public_url))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://evil.example") as http,
    ):
        assert (await http.put("/api/v1/customers/c-1", json=customer(), headers=SYNC)).status_code == 200
        [anna] = (
            await http.get(
                "/integrations/3cx/contacts",
                params={"phone": "601234567"},
                headers={**AUTH, "Host": "evil.example:8443"},
            )
        ).json()["contacts"]
    # Without RINGCARD_PUBLIC_URL there is no address to trust: no link rather than the sender's.
    assert anna["url"] == (f"{PUBLIC}/?number=%2B48601234567&customer=c-1" if public_url else "")
    assert "evil" not in anna["url"]


def _candidate(name: str, first: str | None, customer_id: int | None) -> Candidate:
    return Candidate(
        customer_id=customer_id,
        customer_external_id=None,
        name=name,
        first_name=first,
        email=None,
        city=None,
        orders_count=0,
        last_order_at=None,
        has_open_case=False,
    )


@pytest.mark.parametrize(
    ("candidate", "split"),
    [
        (_candidate("Anna Nowak", "Anna", 1), ("Anna", "Nowak")),
        (_candidate("Anna Maria Nowak", "Anna Maria", 1), ("Anna Maria", "Nowak")),
        (_candidate("anna@example.pl", None, 1), ("anna@example.pl", "")),
        (_candidate("Jan  van Dyke", None, None), ("Jan", "van Dyke")),
        (_candidate("Cher", "Cher", 1), ("Cher", "")),
    ],
)
def test_names_split_into_first_and_last(candidate: Candidate, split: tuple[str, str]) -> None:
    assert split_name(candidate) == split


def test_guest_ids_are_stable_and_ignore_case_and_spacing() -> None:
    assert guest_id("Ewa  Zielińska") == guest_id("ewa zielińska") != guest_id("Ewa Zielinska")


def test_the_shipped_template_reads_the_fields_this_endpoint_writes() -> None:
    template = Path(__file__).parents[2] / "docs" / "pbx" / "3cx-ringcard-template.xml"
    root = ET.parse(template).getroot()  # noqa: S314 - our own file
    [scenario] = root.iter("Scenario")
    request = scenario.find("Request")
    assert request is not None and request.get("RequestType") == "Get"
    assert request.get("Url", "").endswith("/integrations/3cx/contacts?phone=[Number]")
    header = request.find("Headers/Value")
    assert header is not None and header.get("Key") == "Authorization"
    assert (header.text or "").startswith("Bearer [")
    fields = set(ThreeCxContact.model_json_schema(by_alias=True)["properties"])
    paths = {v.get("Path", "") for v in scenario.iter("Variable")}
    assert {p.removeprefix("contacts.") for p in paths} <= fields
    outputs = {o.get("Type") for o in scenario.iter("Output")}
    assert {
        "FirstName",
        "LastName",
        "CompanyName",
        "Email",
        "PhoneMobile",
        "PhoneBusiness",
        "ContactUrl",
    } <= outputs
