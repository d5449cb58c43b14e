"""`GET /pbx/lookup` as Asterisk, FreeSWITCH and Superfecta call it: a plain-text name, fast,
empty when there is nothing honest to show; with `call_id` it also pops the card."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import app.telephony.pbx.common as pbx_common
import app.telephony.pbx.lookup_routes as pbx_lookup
from app.card.matching import Candidate, Match, MatchStatus
from app.main import create_app
from app.telephony.pbx.common import number_from_query
from app.telephony.pbx.lookup_routes import shown_name
from tests.conftest import SYNC, make_settings
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, Served, agent_socket, create_agent, serve
from tests.fixtures.store_records import customer
from tests.telephony.test_twilio_calls import store_anna

pytestmark = LEGACY_WEBSOCKETS_WARNINGS

TOKEN = "cti-token-for-tests-0123456789"
LINE = "+48221234567"
TEXT = "text/plain; charset=utf-8"


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[Served]:
    async with serve(create_app(make_settings(database_url, cti_token=TOKEN))) as running:
        yield running


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.http_url) as client:
        await store_anna(client)
        for external_id, first, last, phone in (
            ("c-2", "Łukasz", "Żółć", "+48 602 000 001"),
            ("c-3", "שרה", "כהן", "+972 52 123 4567"),
            ("c-4", "Jan", "Kowalski", "+48 603 000 003"),
            ("c-5", "Maria", "Kowalska", "+48 603 000 003"),
        ):
            body = customer(
                first_name=first, last_name=last, email=None, phones=[{"number": phone, "kind": "mobile"}]
            )
            saved = await client.put(f"/api/v1/customers/{external_id}", json=body, headers=SYNC)
            assert saved.status_code == 200, saved.text
        yield client


async def lookup(http: httpx.AsyncClient, **params: str) -> httpx.Response:
    return await http.get("/pbx/lookup", params={"token": TOKEN, **params})


async def test_a_known_caller_gets_their_name_as_plain_text(http: httpx.AsyncClient) -> None:
    answer = await lookup(http, number="+48601234567", to=LINE)
    assert (answer.status_code, answer.headers["content-type"], answer.text) == (200, TEXT, "Anna Nowak")


@pytest.mark.parametrize("number", ["601234567", "48601234567", "0048601234567", "+48 601-234-567"])
async def test_the_number_may_come_the_way_pbxs_write_it(http: httpx.AsyncClient, number: str) -> None:
    assert (await lookup(http, number=number)).text == "Anna Nowak"


async def test_a_plus_the_pbx_did_not_url_encode_still_counts(http: httpx.AsyncClient) -> None:
    # FreeSWITCH puts ${caller_id_number} into the URL as it is: the "+" arrives as a space.
    answer = await http.get(f"/pbx/lookup?number=+972521234567&token={TOKEN}")
    assert answer.text == "שרה כהן"


def test_number_from_query() -> None:
    assert number_from_query(" 48601234567") == "+48601234567"
    assert number_from_query("601234567") == "601234567"
    assert number_from_query(" anonymous") == " anonymous"
    assert number_from_query("") == ""


async def test_utf8_names_by_default_and_ascii_on_request(http: httpx.AsyncClient) -> None:
    assert (await lookup(http, number="602000001")).text == "Łukasz Żółć"
    assert (await lookup(http, number="602000001", ascii="1")).text == "Lukasz Zolc"
    hebrew = await lookup(http, number="+972521234567", ascii="1")
    assert hebrew.text and hebrew.text.isascii() and hebrew.text == hebrew.text.strip()
    assert (await lookup(http, number="+972521234567")).text == "שרה כהן"


async def test_max_length_cuts_the_name(http: httpx.AsyncClient) -> None:
    assert (await lookup(http, number="601234567", max_length="6")).text == "Anna N"
    assert (await lookup(http, number="601234567", max_length="60")).text == "Anna Nowak"
    assert (await lookup(http, number="601234567", max_length="5")).text == "Anna"


async def test_an_ambiguous_number_shows_the_best_guess_and_how_many_others(http: httpx.AsyncClient) -> None:
    answer = await lookup(http, number="603000003")
    assert answer.text in ("Jan Kowalski (+1)", "Maria Kowalska (+1)")
    short = await lookup(http, number="603000003", max_length="10")
    assert short.text.endswith(" (+1)") and len(short.text) == 10


@pytest.mark.parametrize("number", ["+48500000999", "anonymous", "", "Restricted", "112", "client:alice"])
async def test_unknown_withheld_and_invalid_callers_get_an_empty_answer(
    http: httpx.AsyncClient, number: str
) -> None:
    answer = await lookup(http, number=number)
    assert (answer.status_code, answer.headers["content-type"], answer.content) == (200, TEXT, b"")


async def test_the_token_may_come_as_a_bearer_token(http: httpx.AsyncClient) -> None:
    answer = await http.get(
        "/pbx/lookup", params={"number": "601234567"}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.text == "Anna Nowak"


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"token": "wrong"}, {}),
        ({}, {}),
        ({}, {"Authorization": "Bearer wrong"}),
        ({"token": ""}, {"Authorization": "Basic " + TOKEN}),
    ],
)
async def test_a_wrong_or_missing_token_is_refused_without_a_body(
    http: httpx.AsyncClient, params: dict[str, str], headers: dict[str, str]
) -> None:
    answer = await http.get("/pbx/lookup", params={"number": "601234567", **params}, headers=headers)
    # No body: Asterisk's CURL() would show it on the phones as the caller's name.
    assert (answer.status_code, answer.content) == (401, b"")
    assert "token" in answer.headers["x-ringcard-error"].lower()


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({}, "missing number"),
        ({"number": "601234567", "max_length": "abc"}, "max_length"),
        ({"number": "601234567", "max_length": "0"}, "max_length"),
        ({"number": "601234567", "ascii": "maybe"}, "ascii"),
        ({"number": "601234567", "call_id": "x" * 256}, "call_id"),
    ],
)
async def test_bad_parameters_get_422_naming_them(
    http: httpx.AsyncClient, params: dict[str, str], problem: str
) -> None:
    answer = await http.get("/pbx/lookup", params={"token": TOKEN, **params})
    assert (answer.status_code, answer.content) == (422, b"")
    assert problem in answer.headers["x-ringcard-error"]


async def test_lookups_are_off_without_a_token(database_url: str) -> None:
    app = create_app(make_settings(database_url))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        answer = await client.get("/pbx/lookup", params={"number": "601234567", "token": "anything"})
    assert answer.status_code == 404


async def test_a_call_id_also_raises_the_pop_once(served: Served, http: httpx.AsyncClient) -> None:
    token = await create_agent(http, "ola", [LINE])
    async with agent_socket(served.ws_url, token) as agent:
        for _ in range(2):  # Superfecta and a dialplan retry may both ask
            answer = await lookup(http, number="601234567", to=LINE, call_id="1732000000.42")
            assert answer.text == "Anna Nowak"
        pop = await agent.until(lambda m: m.get("type") == "call.ringing")
    assert pop["card"]["customer"]["name"] == "Anna Nowak"
    assert (pop["call"]["provider"], pop["call"]["line"]) == ("pbx", LINE)
    await served.on_server(served.app.state.intake.drain())
    calls = (await http.get("/api/v1/calls", headers={"Authorization": f"Bearer {token}"})).json()
    assert [(c["provider"], c["state"]) for c in calls] == [("pbx", "ringing")]


async def test_a_slow_lookup_answers_empty_in_time(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def stuck(*_args: Any, **_kwargs: Any) -> Match:
        await asyncio.sleep(30)
        raise AssertionError("unreachable")

    monkeypatch.setattr(pbx_common, "match_number", stuck)
    monkeypatch.setattr(pbx_lookup, "LOOKUP_TIMEOUT_S", 0.3)
    started = time.perf_counter()
    answer = await lookup(http, number="601234567")
    assert (answer.status_code, answer.content) == (200, b"")
    assert time.perf_counter() - started < 2.0


# --- the name, without a server --------------------------------------------------------------------


def _person(name: str) -> Candidate:
    return Candidate(
        customer_id=1,
        customer_external_id="c",
        name=name,
        first_name=None,
        email=None,
        city=None,
        orders_count=0,
        last_order_at=None,
        has_open_case=False,
    )


@pytest.mark.parametrize(
    ("match", "options", "shown"),
    [
        (None, {}, ""),
        (Match(MatchStatus.UNKNOWN), {}, ""),
        (Match(MatchStatus.WITHHELD), {}, ""),
        (Match(MatchStatus.EXACT, [_person("Anna Nowak")]), {}, "Anna Nowak"),
        (Match(MatchStatus.PROBABLE, [_person("Anna\nNowak\t")]), {}, "Anna Nowak"),
        (Match(MatchStatus.EXACT, [_person("Łukasz Żółć")]), {"ascii_only": True}, "Lukasz Zolc"),
        (
            Match(MatchStatus.AMBIGUOUS, [_person("Jan Kowalski"), _person("Maria"), _person("X")]),
            {},
            "Jan Kowalski (+2)",
        ),
        (
            Match(MatchStatus.AMBIGUOUS, [_person("Jan Kowalski"), _person("M")]),
            {"max_length": 8},
            "Jan (+1)",
        ),
        (Match(MatchStatus.AMBIGUOUS, [_person("Jan Kowalski"), _person("M")]), {"max_length": 4}, "Jan"),
        (Match(MatchStatus.EXACT, [_person("Anna Nowak")]), {"max_length": 60}, "Anna Nowak"),
    ],
)
def test_shown_name(match: Match | None, options: dict[str, Any], shown: str) -> None:
    assert shown_name(match, **options) == shown
