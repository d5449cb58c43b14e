"""Every statement a pop runs reaches its rows through an index, on PostgreSQL.

A pop is a handful of statements (record the call, match the caller, the card, keep the match on
the call); one that scans a table costs nothing on a test's few rows and hundreds of milliseconds
on a store's million customers. (One did: keeping the match looked the customer up by external id
alone once external ids became unique per store, a walk over the whole (store_id, external_id)
index.) So the statements of a real call, as the service sends them, run again (each rolled back)
among 20,000 other customers with EXPLAIN (ANALYZE, BUFFERS): one that touches more than a few
dozen pages is reading a table or an index end to end rather than probing it. The card's statements
are measured as the service runs them too: planned once per connection (CARD_LOOKUP_SETTINGS), a
generic plan that must be the same index walk for every caller."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event

from app.db import CARD_LOOKUP_SETTINGS
from app.main import create_app
from tests.conftest import SYNC, MigratedDatabases, empty_database, make_settings
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, Served, agent_socket, create_agent, serve

pytestmark = LEGACY_WEBSOCKETS_WARNINGS

CTI_TOKEN = "cti-token-for-tests-0123456789"
LINE, CALLER = "+48221234567", "+48601234567"
BUFFERS = re.compile(r"Buffers: shared (?:hit=(\d+))?\s*(?:read=(\d+))?")
# An index probe and its heap rows: a handful of pages per table a statement touches.
MAX_PAGES = 60
FILLER = 20_000


@pytest.fixture
async def postgres_url(migrated: MigratedDatabases) -> str:
    url = migrated.url("postgresql")
    await empty_database(url)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        # Other customers, each with a phone and an order, so that a scan is many pages.
        await conn.execute(
            "INSERT INTO customers (id, external_id, first_name, tags, updated_at, synced_at, orders_count,"
            " returns_count) SELECT 1000 + i, 'f' || i, 'Filler', '[]', now(), now(), 1, 0"
            f" FROM generate_series(1, {FILLER}) AS i"
        )
        await conn.execute(
            "INSERT INTO phones (customer_id, source, raw, e164, national, reversed_digits, country_code)"
            " SELECT 1000 + i, 'customer.mobile', d, '+48' || d, d, reverse('48' || d), 48"
            f" FROM (SELECT i, (700000000 + i)::text AS d FROM generate_series(1, {FILLER}) AS i) AS s"
        )
        await conn.execute(
            "INSERT INTO orders (external_id, customer_id, customer_external_id, number, status, total_units,"
            " refunded_units, currency, placed_at, items, updated_at, synced_at) SELECT 'fo' || i, 1000 + i,"
            " 'f' || i, '#' || i, 'delivered', 100, 0, 'PLN', now(), '[]', now(), now()"
            f" FROM generate_series(1, {FILLER}) AS i"
        )
        await conn.execute("SELECT setval('customers_id_seq', 100000)")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return url


@pytest.fixture
async def served(postgres_url: str) -> AsyncIterator[Served]:
    async with serve(create_app(make_settings(postgres_url, cti_token=CTI_TOKEN))) as running:
        yield running


def _engine_of(sessionmaker: Any) -> Any:
    return sessionmaker.kw["bind"].sync_engine


def _watch(served: Served, engines: set[Any]) -> list[tuple[str, Any]]:
    """Every statement the service sends through `engines` from now on, with its parameters."""
    sent: list[tuple[str, Any]] = []
    for engine in engines:

        @event.listens_for(engine, "before_cursor_execute")
        def keep(
            _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool
        ) -> None:
            # A statement run once per row (executemany) is measured with its first row.
            sent.append((statement, parameters[0] if many else parameters))

    return sent


async def test_the_statements_of_a_pop_use_indexes(served: Served, postgres_url: str) -> None:
    async with httpx.AsyncClient(base_url=served.http_url, timeout=30) as http:
        customer = {
            "first_name": "Anna",
            "last_name": "Nowak",
            "phones": [{"number": CALLER, "kind": "mobile"}],
            "updated_at": "2026-11-20T10:00:00Z",
        }
        assert (await http.put("/api/v1/customers/c-1", json=customer, headers=SYNC)).status_code == 200
        order = {
            "customer_external_id": "c-1",
            "number": "#1",
            "status": "shipped",
            "total": "10.00",
            "currency": "PLN",
            "placed_at": "2026-11-10T10:00:00Z",
            "updated_at": "2026-11-10T10:00:00Z",
        }
        assert (await http.put("/api/v1/orders/o-1", json=order, headers=SYNC)).status_code == 200
        token = await create_agent(http, "ola", [LINE])
        intake = served.app.state.intake
        sent = _watch(served, {served.app.state.engine.sync_engine, _engine_of(intake.writer)})
        looked_up = _watch(served, {_engine_of(intake.reader)})
        async with agent_socket(served.ws_url, token) as agent:
            body = {"event": "newCall", "from": CALLER, "to": LINE, "direction": "in", "callId": "pbx-1"}
            assert (await http.post(f"/webhooks/cti/{CTI_TOKEN}", data=body)).status_code == 200
            pop = await agent.until(lambda m: m.get("type") == "call.ringing")
            assert pop["card"]["customer"]["name"] == "Anna Nowak"
            hangup = {**body, "event": "hangup", "cause": "normalClearing"}
            assert (await http.post(f"/webhooks/cti/{CTI_TOKEN}", data=hangup)).status_code == 200
        await served.on_server(served.app.state.intake.drain())
    planned = _planned(sent)
    assert len(planned) >= 3, sent
    card = _planned(looked_up)
    assert len(card) == 3, looked_up  # the match, the orders, the cases and lifetime value
    heavy, measured = await _heavy(postgres_url, planned + card)
    assert measured >= 6, planned + card
    assert heavy == [], "\n".join(heavy)
    # As the service's card connections run them: each a generic plan, made once.
    heavy, measured = await _heavy(postgres_url, card, generic=True)
    assert measured == 3, card
    assert heavy == [], "\n".join(heavy)


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text.replace("'", "''") + "'"


def _planned(sent: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    verbs = ("SELECT", "UPDATE", "DELETE", "INSERT", "WITH")
    return [(s, p) for s, p in sent if s.lstrip().split(None, 1)[0].upper() in verbs]


async def _heavy(
    url: str, statements: list[tuple[str, Any]], *, generic: bool = False
) -> tuple[list[str], int]:
    """The statements that touched more than MAX_PAGES pages, and how many were measured; with
    `generic`, each prepared and run with its generic plan, as the card's connections do."""
    conn = await asyncpg.connect(
        url.replace("postgresql+asyncpg://", "postgresql://"),
        server_settings=CARD_LOOKUP_SETTINGS if generic else None,
    )
    found, measured = [], 0
    try:
        for statement, parameters in statements:
            transaction = conn.transaction()
            await transaction.start()
            values = tuple(parameters or ())
            try:
                if generic:
                    # EXPLAIN EXECUTE shows the prepared statement's own (cached, generic) plan.
                    await conn.execute(f"PREPARE card_statement AS {statement}")
                    # A utility statement takes no parameters: the values go in as literals.
                    arguments = ", ".join(_literal(value) for value in values)
                    explain = f"EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) EXECUTE card_statement({arguments})"
                    rows = await conn.fetch(explain)
                    if not any("$1" in r[0] or "$2" in r[0] for r in rows) and values:
                        raise AssertionError("not a generic plan:\n" + "\n".join(r[0] for r in rows))
                else:
                    rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) {statement}", *values)
            except asyncpg.PostgresError:
                continue  # a write that cannot run twice (its row exists): its twin was measured
            finally:
                await transaction.rollback()
                if generic:
                    await conn.execute("DEALLOCATE ALL")  # prepared statements outlive a rollback
            measured += 1
            top = next((r[0] for r in rows if "Buffers:" in r[0]), "")
            hit, read = BUFFERS.search(top).groups() if BUFFERS.search(top) else (None, None)
            pages = int(hit or 0) + int(read or 0)
            if pages > MAX_PAGES:
                found.append(f"{pages} pages: {' '.join(statement.split())[:300]}")
        return found, measured
    finally:
        await conn.close()
