"""Stores as records, through the running service (admin key) and `ringcard store`: a fresh
install has `default`, all of it the settings; a German store reads its lines as German numbers
and lives in Berlin's time zone; bad values are 422s naming the field and write nothing; a line
belongs to one store, also when twenty PUTs race for it, on SQLite and PostgreSQL; the default
store stays; an install upgraded from before stores has its `default` row."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from alembic import command

from app.db.migrate import alembic_config, upgrade
from app.main import create_app
from tests.conftest import ADMIN, execute, in_own_thread, make_settings
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, serve

pytestmark = LEGACY_WEBSOCKETS_WARNINGS

BERLIN_LINE = "030 1234567"  # as a German agent writes it: +49 30 1234567


@pytest.fixture
async def http(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(database_url, default_region="PL", base_currency="PLN"))
    async with serve(app) as running, httpx.AsyncClient(base_url=running.http_url, timeout=30) as client:
        yield client


def german(**more: Any) -> dict[str, Any]:
    return {
        "name": "Acme Deutschland",
        "region": "de",
        "base_currency": "eur",
        "lines": [BERLIN_LINE],
        **more,
    }


async def test_a_fresh_install_has_the_default_store_with_the_settings_values(
    http: httpx.AsyncClient,
) -> None:
    stores = (await http.get("/api/v1/stores", headers=ADMIN)).json()
    assert [s["id"] for s in stores] == ["default"]
    default = stores[0]
    assert (default["region"], default["base_currency"], default["timezone"]) == (
        "PL",
        "PLN",
        "Europe/Warsaw",
    )
    assert "region" in default["inherited"] and "loyalty.gold_orders" in default["inherited"]
    assert (await http.get("/api/v1/stores")).status_code == 401


async def test_a_german_store_reads_its_lines_in_germany_and_lives_in_berlin(http: httpx.AsyncClient) -> None:
    created = await http.put("/api/v1/stores/de", json=german(loyalty={"gold_orders": 8}), headers=ADMIN)
    assert created.status_code == 201, created.text
    store = created.json()
    assert store["lines"] == ["+49301234567"]
    assert (store["region"], store["base_currency"], store["timezone"]) == ("DE", "EUR", "Europe/Berlin")
    assert store["loyalty"]["gold_orders"] == 8 and store["loyalty"]["silver_orders"] == 3
    assert "timezone" not in store["inherited"] and "loyalty.silver_orders" in store["inherited"]

    # A PUT writes the store whole: what it leaves out is the settings' again.
    replaced = await http.put("/api/v1/stores/de", json=german(colour="#1F6FEB"), headers=ADMIN)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["colour"] == "#1f6feb"
    assert replaced.json()["loyalty"]["gold_orders"] == 10
    shown = (await http.get("/api/v1/stores/de", headers=ADMIN)).json()
    assert shown == replaced.json()
    assert [s["id"] for s in (await http.get("/api/v1/stores", headers=ADMIN)).json()] == ["de", "default"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (german(region="QQ"), "unknown region"),
        (german(base_currency="EURO"), "unknown ISO 4217 currency"),
        (german(timezone="Mars/Olympus"), "unknown time zone"),
        (german(colour="blue"), "#rrggbb"),
        (german(order_url_template="https://shop.example/orders/{id}"), "unknown placeholder"),
        (german(loyalty={"gold_orders": 1}), "silver_orders ≤ gold_orders ≤ platinum_orders"),
        (german(lines=[BERLIN_LINE, "+49 30 1234567"]), "a line is given twice"),
        (german(lines=["*"]), "every line"),
        (german(shopify_secret="x"), "extra"),
    ],
)
async def test_a_bad_store_is_refused_naming_the_problem_and_nothing_is_written(
    http: httpx.AsyncClient, body: dict[str, Any], named: str
) -> None:
    answer = await http.put("/api/v1/stores/de", json=body, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert named.lower() in answer.text.lower()
    assert (await http.get("/api/v1/stores/de", headers=ADMIN)).status_code == 404


async def test_a_store_id_must_be_a_slug(http: httpx.AsyncClient) -> None:
    answer = await http.put("/api/v1/stores/Acme%20DE", json=german(), headers=ADMIN)
    assert answer.status_code == 422 and "store_id" in answer.text


async def test_a_line_belongs_to_one_store_and_the_default_store_stays(http: httpx.AsyncClient) -> None:
    assert (await http.put("/api/v1/stores/de", json=german(), headers=ADMIN)).status_code == 201
    # The same line written the Polish way (+49 …) on another store: refused, the store not made.
    taken = await http.put(
        "/api/v1/stores/pl", json={"name": "Acme Polska", "lines": ["+49 30 123 45 67"]}, headers=ADMIN
    )
    assert taken.status_code == 409 and "store 'de'" in taken.json()["detail"]
    assert (await http.get("/api/v1/stores/pl", headers=ADMIN)).status_code == 404

    assert (await http.delete("/api/v1/stores/default", headers=ADMIN)).status_code == 409
    assert (await http.delete("/api/v1/stores/de", headers=ADMIN)).status_code == 204
    assert (await http.delete("/api/v1/stores/de", headers=ADMIN)).status_code == 404
    # The line is free again.
    again = await http.put(
        "/api/v1/stores/pl", json={"name": "Acme Polska", "lines": ["+49 30 123 45 67"]}, headers=ADMIN
    )
    assert again.status_code == 201, again.text


async def test_twenty_puts_racing_for_one_line_leave_one_owner_and_no_half_written_store(
    http: httpx.AsyncClient,
) -> None:
    shared = "+48221234567"

    async def put(n: int) -> int:
        body = {"name": f"Shop {n}", "lines": [f"+4822100000{n}", shared]}
        return (await http.put(f"/api/v1/stores/shop-{n}", json=body, headers=ADMIN)).status_code

    # Ten stores, each PUT twice, all at once.
    codes = await asyncio.gather(*(put(n % 10) for n in range(20)))
    assert Counter(codes) == {201: 1, 200: 1, 409: 18}
    stores = {s["id"]: s for s in (await http.get("/api/v1/stores", headers=ADMIN)).json()}
    (winner,) = set(stores) - {"default"}
    n = winner.removeprefix("shop-")
    assert stores[winner]["lines"] == sorted([f"+4822100000{n}", shared])
    assert stores[winner]["name"] == f"Shop {n}"


def ringcard(database_url: str, *args: str, **more_env: str) -> subprocess.CompletedProcess[str]:
    env = {
        "RINGCARD_DATABASE_URL": database_url,
        "RINGCARD_DEFAULT_REGION": "PL",
        "PATH": "/usr/bin:/bin",
        **more_env,
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "store", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_the_operator_manages_stores_from_the_command_line(database_url: str) -> None:
    made = ringcard(database_url, "put", "de", "--name", "Acme DE", "--region", "DE", "--line", BERLIN_LINE)
    assert made.returncode == 0, made.stderr
    assert "Store de created" in made.stdout and "lines: +49301234567" in made.stdout
    listed = ringcard(database_url, "list")
    assert [line.split()[0] for line in listed.stdout.splitlines()] == ["ID", "de", "default"]
    for args, says in (
        (("put", "pl", "--name", "PL", "--line", "+49301234567"), "belongs to store 'de'"),
        (("put", "pl", "--name", "PL", "--region", "QQ"), "--region: unknown region 'QQ'"),
        (("put", "pl", "--name", "PL", "--loyalty", "gold_orders"), "TIER_MEASURE=VALUE"),
        (("delete", "default"), "the default store"),
        (("show", "nope"), "no store 'nope'"),
    ):
        failed = ringcard(database_url, *args)
        assert failed.returncode != 0 and failed.stdout == ""
        assert failed.stderr.strip().splitlines() == [
            f"ringcard: {failed.stderr.strip().removeprefix('ringcard: ')}"
        ]
        assert says in failed.stderr and "Traceback" not in failed.stderr
    assert ringcard(database_url, "delete", "de").returncode == 0


def test_the_command_line_sets_a_stores_shop_with_its_secret_from_the_environment(database_url: str) -> None:
    secret = "de-shop-webhook-secret-0123456789"
    made = ringcard(
        database_url,
        *("put", "de", "--name", "Acme DE", "--shopify-shop", "acme-de.myshopify.com"),
        RINGCARD_STORE_SHOPIFY_WEBHOOK_SECRET=secret,
    )
    assert made.returncode == 0, made.stderr
    assert "shopify_shop: acme-de" in made.stdout and "shopify_webhook_secret_set: True" in made.stdout
    assert secret not in made.stdout
    # A put without the variable keeps the secret; another store cannot take the same shop.
    again = ringcard(database_url, "put", "de", "--name", "Acme DE", "--shopify-shop", "acme-de")
    assert "shopify_webhook_secret_set: True" in again.stdout, again.stderr
    taken = ringcard(database_url, "put", "at", "--name", "Acme AT", "--shopify-shop", "acme-de")
    assert taken.returncode != 0 and "Shopify shop acme-de belongs to store 'de'" in taken.stderr
    bad = ringcard(database_url, "put", "at", "--name", "Acme AT", "--shopify-shop", "shop.example.com")
    assert bad.returncode != 0 and bad.stderr.startswith("ringcard: --shopify-shop: not a Shopify store")


BEFORE_STORES = "e5a7c9d1f3b5"


async def test_an_install_from_before_stores_gets_its_default_store(blank_url: str) -> None:
    in_own_thread(upgrade, blank_url, BEFORE_STORES)
    in_own_thread(upgrade, blank_url)
    assert await execute(blank_url, "SELECT id, name, region FROM stores") == [
        ("default", "Default store", None)
    ]
    in_own_thread(command.downgrade, alembic_config(blank_url), BEFORE_STORES)
    in_own_thread(upgrade, blank_url)
