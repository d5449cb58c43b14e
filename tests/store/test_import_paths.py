"""The set-based bulk import on PostgreSQL (app/store/bulk_import/pg_writer.py) must leave exactly what the
Python writers leave (app/store/*_writes.py, the reference: single PUTs and webhooks use them).

Every test imports the same NDJSON twice into the same PostgreSQL database, once through each path,
from the same starting state, and compares everything the store holds (rows keyed by external id,
phones as a multiset, lifetime values including zero rows) and the import reports."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from app.db import create_engine, make_sessionmaker
from app.store.bulk_import.importer import ImportReport, import_ndjson
from app.store.erasures import erase_customer
from app.stores.models import DEFAULT_STORE
from tests.conftest import MigratedDatabases, empty_database
from tests.fixtures.store_records import T0, case, customer, iso, order

PL_ONLY = {DEFAULT_STORE: "PL"}  # the stores the imports write to, with their regions

Line = dict[str, Any] | bytes


def _hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def _body(lines: list[Line]) -> bytes:
    return b"\n".join(line if isinstance(line, bytes) else orjson.dumps(line) for line in lines) + b"\n"


async def _chunks(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def _import(url: str, lines: list[Line], *, set_based: bool, batch_size: int) -> ImportReport:
    engine = create_engine(url)
    try:
        return await import_ndjson(
            _chunks(_body(lines), 97),
            make_sessionmaker(engine),
            store=DEFAULT_STORE,
            regions=PL_ONLY.get,
            batch_size=batch_size,
            set_based=set_based,
        )
    finally:
        await engine.dispose()


async def _erase(url: str, erasures: list[tuple[str, datetime]]) -> None:
    engine = create_engine(url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            for ext, at in erasures:
                await erase_customer(session, DEFAULT_STORE, ext, at)
    finally:
        await engine.dispose()


async def _snapshot(url: str) -> dict[str, Any]:
    """Everything the store holds, with ids replaced by the external ids they stand for (ids come
    from the same sequences but need not be handed out in the same order)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:

            async def rows(sql: str) -> list[dict[str, Any]]:
                return [dict(row._mapping) for row in (await conn.execute(text(sql))).all()]

            customers = await rows("SELECT * FROM customers")
            orders = await rows("SELECT * FROM orders")
            cases = await rows("SELECT * FROM cases")
            phones = await rows("SELECT * FROM phones")
            ltv = await rows("SELECT * FROM customer_ltv")
            erasures = await rows("SELECT * FROM erasures")
    finally:
        await engine.dispose()
    customer_ext = {row["id"]: row["external_id"] for row in customers}
    order_ext = {row["id"]: row["external_id"] for row in orders}

    def keyed(table: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        out = {}
        for row in table:
            row = dict(row)
            row.pop("id")
            # When a batch was written differs between the two runs; that it was is checked below.
            assert row.pop("synced_at", True) is not None
            if "customer_id" in row:
                row["customer_id"] = customer_ext.get(row["customer_id"], row["customer_id"])
            if "order_id" in row:
                row["order_id"] = order_ext.get(row["order_id"], row["order_id"])
            out[row["external_id"]] = row
        return out

    return {
        "customers": keyed(customers),
        "orders": keyed(orders),
        "cases": keyed(cases),
        "phones": Counter(
            (
                customer_ext.get(row["customer_id"]),
                order_ext.get(row["order_id"]),
                row["source"],
                row["raw"],
                row["e164"],
                row["national"],
                row["reversed_digits"],
                row["country_code"],
            )
            for row in phones
        ),
        "ltv": sorted(
            (customer_ext[row["customer_id"]], row["currency"], row["amount_units"]) for row in ltv
        ),
        "erasures": sorted((row["external_id"], row["erased_at"]) for row in erasures),
    }


async def _both_paths(
    migrated: MigratedDatabases,
    lines: list[Line],
    *,
    batch_size: int,
    before: list[Line],
    erasures: list[tuple[str, datetime]],
) -> tuple[ImportReport, dict[str, Any]]:
    """Import `lines` through both paths from the same state (`before`, imported through the
    Python writers, then `erasures`); assert the outcomes are identical and return one."""
    url = migrated.url("postgresql")
    outcomes = []
    for set_based in (False, True):
        await empty_database(url)
        if before:
            await _import(url, before, set_based=False, batch_size=1000)
        await _erase(url, erasures)
        report = await _import(url, lines, set_based=set_based, batch_size=batch_size)
        outcomes.append((report, await _snapshot(url)))
    (python_report, python_state), (set_report, set_state) = outcomes
    for part in python_state:
        assert set_state[part] == python_state[part], part
    assert set_report == python_report
    return set_report, set_state


def _c(ext: str, updated: datetime = T0, **over: Any) -> dict[str, Any]:
    return {"type": "customer", "external_id": ext, **customer(updated, **over)}


def _o(ext: str, number: str, total: str, currency: str = "PLN", **over: Any) -> dict[str, Any]:
    return {"type": "order", "external_id": ext, **order(number, total, currency, **over)}


def _k(ext: str, kind: str = "complaint", status: str = "open", **over: Any) -> dict[str, Any]:
    return {"type": "case", "external_id": ext, **case(kind, status, **over)}


def _scenario() -> tuple[list[Line], list[Line], list[tuple[str, datetime]]]:
    """A hand-written tour of every rule: (before, lines, erasures)."""
    before: list[Line] = [
        _c("c-old", _hours(0), phones=[{"number": "601 234 567", "kind": "mobile"}]),
        _c("c-gone", _hours(0)),
        _c("c-2", _hours(0), first_name="Piotr", phones=[{"number": "+48 512 000 111", "kind": "work"}]),
        _o("o-old", "#1", "100.00", customer_external_id="c-old", status="processing", updated=_hours(0)),
        _o("o-move", "#2", "55.00", customer_external_id="c-old", updated=_hours(0)),
        _o("o-eur", "#3", "40.00", "EUR", customer_external_id="c-2", updated=_hours(0)),
        _k("k-ret", "return", customer_external_id="c-old", updated=_hours(0)),
    ]
    erasures = [("c-gone", _hours(2)), ("c-never", _hours(2))]
    lines: list[Line] = [
        # Updates, stale and idempotent writes of a stored customer, phones replaced.
        _c("c-old", _hours(1), first_name="Anna Maria", phones=[{"number": "0048 601-234-567"}]),
        _c("c-old", _hours(0.5), first_name="Stale"),
        _c("c-2", _hours(0), first_name="Piotr", phones=[{"number": "+48 512 000 111", "kind": "work"}]),
        # Erasure tombstones: older or equal writes refused, a newer one creates the customer again.
        _c("c-gone", _hours(1)),
        _c("c-gone", _hours(2)),
        _c("c-never", _hours(3), phones=[]),
        # Orders and cases before their customer; a case naming only an order not yet there.
        _o("o-early", "#10", "30.00", customer_external_id="c-late", placed=_hours(-50)),
        _o("o-early-gbp", "#11", "20.00", "GBP", customer_external_id="c-late", placed=_hours(-70)),
        _k("k-early", "return", customer_external_id="c-late", url="https://help.example/tickets/k-early"),
        _k("k-order-first", "complaint", customer_external_id=None, order_external_id="o-later"),
        _k("k-unknown-customer", "exchange", customer_external_id="c-nobody", order_external_id="o-old"),
        b"",
        b"   ",
        b"{broken json",
        b'{"type": "parcel", "external_id": "p-1"}',
        _o("o-bad", "#12", "-5.00"),
        _o("o-bad-currency", "#13", "5.00", currency="XXQ"),
        _c("c-late", _hours(1), phones=[{"number": "+48 601 234 567", "kind": "mobile"}, {"number": "12"}]),
        # An order moved to another customer and in time; cancelled and refunded orders.
        _o("o-move", "#2", "55.00", customer_external_id="c-2", updated=_hours(1), placed=_hours(-1)),
        _o("o-old", "#1", "100.00", customer_external_id="c-old", status="shipped", updated=_hours(1)),
        _o("o-old", "#1", "100.00", customer_external_id="c-old", status="delivered", updated=_hours(2)),
        _o("o-old", "#1", "100.00", customer_external_id="c-old", status="processing", updated=_hours(1.5)),
        _o("o-eur", "#3", "40.00", "EUR", customer_external_id="c-2", status="cancelled", updated=_hours(1)),
        _o("o-ref", "#4", "80.00", customer_external_id="c-2", refunded_total="30.00"),
        _o("o-over", "#5", "10.00", customer_external_id="c-2", refunded_total="25.00"),
        _o("o-refunded", "#6", "500", customer_external_id="c-2", status="refunded", refunded_total="500"),
        _o("o-jpy", "#7", "1200", "jpy", customer_external_id="c-2", shipped_at=iso(_hours(-3))),
        _o(
            "o-later",
            "#8",
            "12.3456",
            customer_external_id="c-2",
            status="shipped",
            phones=[
                {"number": "+48 601 234 567", "kind": "billing"},
                {"number": "0048601234567", "kind": "shipping"},
                {"number": "abc 7654321", "kind": "shipping"},
            ],
            items=[{"title": "Mug"}, {"title": "  Plate  ", "quantity": 3, "colour": "red"}],
        ),
        _o("o-guest", "#9", "9.99", customer_external_id=None, name="Guest Buyer", phones=[]),
        # A return that becomes a complaint, a case moved between customers, duplicates in a row.
        _k("k-ret", "complaint", customer_external_id="c-old", updated=_hours(1)),
        _k("k-move", "return", customer_external_id="c-old"),
        _k("k-move", "return", customer_external_id="c-2", updated=_hours(1)),
        _c("c-dup", _hours(1), first_name="First"),
        _c("c-dup", _hours(3), first_name="Third"),
        _c("c-dup", _hours(2), first_name="Second (stale)"),
        _o("o-dup", "#20", "10.00", customer_external_id="c-dup", status="processing", updated=_hours(1)),
        _o("o-dup", "#20", "10.00", customer_external_id="c-dup", status="shipped", updated=_hours(2)),
        _o("o-dup", "#20", "10.00", customer_external_id="c-dup", status="delivered", updated=_hours(3)),
        _o("o-dup", "#20", "10.00", customer_external_id="c-dup", status="cancelled", updated=_hours(3)),
        {"type": "customer", "external_id": "c-minimal", "updated_at": iso(_hours(1))},
        {
            "type": "order",
            "external_id": "o-minimal",
            "number": " #30 ",
            "status": "pending",
            "total": "1",
            "currency": "pln",
            "placed_at": "2026-10-01T10:00:00+02:00",
            "updated_at": "2026-10-01T10:00:00+02:00",
            "unknown_field": {"ignored": True},
        },
        {
            "type": "case",
            "external_id": "k-minimal",
            "kind": "inquiry",
            "status": "closed",
            "opened_at": iso(_hours(-1)),
            "updated_at": iso(_hours(-1)),
        },
        _c("c-gone", _hours(2.5), first_name="Back"),
    ]
    return before, lines, erasures


@pytest.mark.parametrize("batch_size", [1, 2, 5, 1000])
async def test_scenario_leaves_the_same_store_on_both_paths(
    migrated: MigratedDatabases, batch_size: int
) -> None:
    before, lines, erasures = _scenario()
    report, state = await _both_paths(
        migrated, lines, batch_size=batch_size, before=before, erasures=erasures
    )
    # The scenario does what it says (the comparison alone would pass on two equal mistakes).
    assert report.rejected == 4 and {e.line for e in report.errors} == {14, 15, 16, 17}
    customers, orders = state["customers"], state["orders"]
    assert customers["c-old"]["first_name"] == "Anna Maria"
    assert customers["c-gone"]["first_name"] == "Back"
    assert "c-never" in customers
    late = customers["c-late"]
    assert (late["orders_count"], late["returns_count"]) == (2, 1)
    assert late["first_order_at"] == _hours(-70)
    assert orders["o-early"]["customer_id"] == "c-late"
    assert state["cases"]["k-order-first"]["order_id"] == "o-later"
    assert state["cases"]["k-unknown-customer"]["customer_id"] == "c-old"
    assert orders["o-move"]["customer_id"] == "c-2"
    assert orders["o-old"]["status"] == "delivered" and orders["o-old"]["shipped_at"] == _hours(1)
    assert customers["c-dup"]["first_name"] == "Third"
    assert orders["o-dup"]["status"] == "cancelled"
    assert ("c-2", "EUR", 0) in state["ltv"]
    assert orders["o-later"]["items"] == [{"title": "Mug", "quantity": 1}, {"title": "Plate", "quantity": 3}]


def _random_lines(seed: int, count: int) -> tuple[list[Line], list[Line], list[tuple[str, datetime]]]:
    """Many writes over few ids and few timestamps, so that stale, equal and duplicate writes,
    early arrivals, moves and erasures all happen, in every order."""
    rng = random.Random(seed)
    customers = [f"c{i}" for i in range(10)]
    orders = [f"o{i}" for i in range(16)]
    cases = [f"k{i}" for i in range(6)]
    numbers = [
        "601 234 567",
        "+48 601-234-567",
        "0048 512 000 111",
        "512000111",
        "+49 30 1234567",
        "12",
        "abc 7654321",
        "(0) 22 123 45 67",
        "+1 415 555 2671",
    ]

    def when() -> str:
        return iso(_hours(rng.choice([0, 1, 1, 2, 3])))

    def maybe(value: Any) -> Any:
        return value if rng.random() < 0.7 else None

    def one() -> Line:
        roll = rng.random()
        if roll < 0.03:
            return rng.choice([b"{nope", b'{"type": "customer"}', b"[]", b'{"type": "order", "total": "x"}'])
        if roll < 0.33:
            line: dict[str, Any] = {
                "type": "customer",
                "external_id": rng.choice(customers),
                "first_name": rng.choice(["Anna", " Ewa ", None, "Zoë"]),
                "phones": [
                    {"number": rng.choice(numbers), "kind": rng.choice(["mobile", "work", "mobile"])}
                    for _ in range(rng.choice([0, 1, 1, 2, 3]))
                ],
                "tags": rng.choice([[], ["vip"], ["a", "b"]]),
                "updated_at": when(),
            }
            if rng.random() < 0.5:
                line["created_at"] = iso(_hours(-100))
            return line
        if roll < 0.8:
            total = rng.choice(["0", "10.00", "99.99", "1234.5678", "5"])
            line = {
                "type": "order",
                "external_id": rng.choice(orders),
                "customer_external_id": rng.choice([*customers, None, "c-missing"]),
                "number": f"#{rng.randrange(100)}",
                "status": rng.choice(
                    ["pending", "processing", "shipped", "delivered", "cancelled", "refunded", "failed"]
                ),
                "total": total,
                "currency": rng.choice(["PLN", "EUR", "jpy"]),
                "placed_at": iso(_hours(rng.choice([-48, -24, -5]))),
                "updated_at": when(),
                "phones": [
                    {"number": rng.choice(numbers), "kind": rng.choice(["billing", "shipping"])}
                    for _ in range(rng.choice([0, 1, 2, 2]))
                ],
                "items": [{"title": "Mug", "quantity": 2}] if rng.random() < 0.5 else [{"title": "Cup"}],
            }
            if rng.random() < 0.4:
                line["refunded_total"] = rng.choice(["0", "5.00", "2000"])
            if rng.random() < 0.2:
                line["shipped_at"] = iso(_hours(-4))
            if rng.random() < 0.2:
                line["delivered_at"] = iso(_hours(-2))
            return line
        return {
            "type": "case",
            "external_id": rng.choice(cases),
            "customer_external_id": maybe(rng.choice([*customers, "c-missing"])),
            "order_external_id": maybe(rng.choice([*orders, "o-missing"])),
            "kind": rng.choice(["return", "complaint", "return", "exchange"]),
            "status": rng.choice(["open", "closed"]),
            "subject": maybe("Broken"),
            "url": maybe("https://help.example/tickets/1"),
            "opened_at": iso(_hours(-1)),
            "updated_at": when(),
        }

    before = [one() for _ in range(count // 3)]
    lines = [one() for _ in range(count)]
    erasures = [(rng.choice(customers), _hours(rng.choice([1, 2]))) for _ in range(2)]
    return before, lines, erasures


@pytest.mark.parametrize(("seed", "batch_size"), [(1, 1), (2, 3), (3, 7), (4, 25), (5, 1000), (6, 13)])
async def test_random_histories_leave_the_same_store_on_both_paths(
    migrated: MigratedDatabases, seed: int, batch_size: int
) -> None:
    before, lines, erasures = _random_lines(seed, 240)
    report, state = await _both_paths(
        migrated, lines, batch_size=batch_size, before=before, erasures=erasures
    )
    assert report.applied and report.stale and report.rejected
    assert state["phones"] and state["ltv"]


def _tricky_lines() -> list[bytes]:
    base_order = {"type": "order", "external_id": "o", "number": "#1", "status": "pending", "total": "1"}
    base_order |= {"currency": "PLN", "placed_at": iso(T0), "updated_at": iso(T0)}
    base_customer = {"type": "customer", "external_id": "c", "updated_at": iso(T0)}
    base_case = {"type": "case", "external_id": "k", "kind": "return", "status": "open"}
    base_case |= {"opened_at": iso(T0), "updated_at": iso(T0)}
    variants: list[dict[str, Any]] = [
        base_customer,
        base_customer | {"first_name": "  Anna  ", "tags": ["  a "], "note": None, "extra": [1]},
        base_customer | {"phones": None},
        base_customer | {"phones": [{"number": " 601 ", "kind": None}]},
        base_customer | {"phones": [{"number": "601"}], "created_at": "2026-11-01"},
        base_customer | {"phones": [{"number": " 601 "}, {"number": "602", "kind": "work"}]},
        base_customer | {"created_at": "2026-11-01T12:00:00.1234567+05:30", "email": None},
        base_customer | {"updated_at": 1_790_000_000},
        base_customer | {"updated_at": "2026-11-01T12:00:00"},
        base_customer | {"external_id": ""},
        base_customer | {"external_id": 7},
        base_customer | {"first_name": "x" * 256},
        base_customer | {"tags": ["x"] * 201},
        base_order,
        base_order | {"total": "NaN"},
        base_order | {"total": "1.00001"},
        base_order | {"total": 12.5, "refunded_total": "-1"},
        base_order | {"total": "1e3", "currency": "eur"},
        base_order | {"currency": "EURO"},
        base_order | {"status": "SHIPPED"},
        base_order | {"items": [{"title": "Mug", "quantity": "2"}]},
        base_order | {"items": [{"title": "Mug", "quantity": -1}]},
        base_order | {"items": [{"title": "Mug", "quantity": 2.0}, {"title": " Cup "}]},
        base_order | {"items": [{"quantity": 2}]},
        base_order | {"phones": [{"number": "601", "kind": "home"}]},
        base_order | {"phones": [{"number": "601", "kind": "billing", "x": 1}] * 11},
        base_order | {"customer_external_id": None, "shipped_at": None, "number": "   "},
        base_case,
        base_case | {"kind": "praise"},
        base_case | {"status": "in_progress", "subject": "x" * 1001},
        base_case | {"order_external_id": 5},
        {"type": "parcel", "external_id": "p"},
        {"external_id": "no type"},
    ]
    return [orjson.dumps(v) for v in variants] + [b"[]", b"{nope", b'"text"', b"null"]


def test_the_dict_schema_accepts_exactly_what_the_models_accept() -> None:
    """The bulk path validates with TypedDicts derived from the models; they must agree on every
    line, and on the values (the dicts leave defaults out)."""
    from pydantic import ValidationError

    from app.store.bulk_import.records import line_dicts, line_models

    accepted = 0
    for raw in _tricky_lines():
        try:
            model = line_models.validate_json(raw).model_dump()
        except ValidationError:
            model = None
        try:
            fast: dict[str, Any] | None = line_dicts.validate_json(raw)
        except ValidationError:
            fast = None
        assert (model is None) == (fast is None), raw
        if model is not None and fast is not None:
            accepted += 1
            # Every value the dict holds is the model's; what it lacks is the model's default.
            for key, value in model.items():
                if key not in fast:
                    assert value in (None, [], 0), (raw, key)
                elif key in ("phones", "items"):
                    defaults = {"kind": "phone", "quantity": 1}
                    assert [defaults | item for item in fast[key]] == [defaults | v for v in value], raw
                else:
                    assert fast[key] == value, (raw, key)
    assert accepted >= 10


async def test_a_failing_batch_stops_the_import_and_leaves_earlier_batches_committed(
    migrated: MigratedDatabases, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.store.bulk_import import pg_writer

    url = migrated.url("postgresql")
    await empty_database(url)
    script = pg_writer.batch_script
    calls = 0

    def failing_second_batch(runs: tuple[int, int, int], now: datetime) -> str:
        nonlocal calls
        calls += 1
        return script(runs, now) + ("SELECT 1 / 0;" if calls == 2 else "")

    lines: list[Line] = [_c(f"c{i}") for i in range(9)]
    engine = create_engine(url, pool_size=2)
    try:
        sessionmaker = make_sessionmaker(engine)

        async def run() -> ImportReport:
            return await import_ndjson(
                _chunks(_body(lines), 97),
                sessionmaker,
                store=DEFAULT_STORE,
                regions=PL_ONLY.get,
                batch_size=2,
                set_based=True,
            )

        monkeypatch.setattr(pg_writer, "batch_script", failing_second_batch)
        report = await run()
        # The answer says what is stored, so the client can resume after it: the first batch
        # (lines 1-2) committed; the failing one and everything after it did not.
        assert report.failed is not None and "DivisionByZero" in report.failed
        assert report.committed_through_line == 2 and report.applied == 2
        state = await _snapshot(url)
        assert len(state["customers"]) == 2

        # The connections went back to the pool clean: the next import through it works.
        monkeypatch.setattr(pg_writer, "batch_script", script)
        assert (await run()).applied == 9
    finally:
        await engine.dispose()


async def test_a_stream_that_breaks_off_leaves_the_pool_clean(migrated: MigratedDatabases) -> None:
    """The client goes away mid-stream while batches are being written."""
    url = migrated.url("postgresql")
    await empty_database(url)
    body = _body([_c(f"c{i}") for i in range(400)])
    engine = create_engine(url, pool_size=2)
    try:
        sessionmaker = make_sessionmaker(engine)

        async def broken() -> AsyncIterator[bytes]:
            async for chunk in _chunks(body[: len(body) // 2], 4096):
                yield chunk
            raise ConnectionResetError("client went away")

        with pytest.raises(ConnectionResetError):
            await import_ndjson(
                broken(),
                sessionmaker,
                store=DEFAULT_STORE,
                regions=PL_ONLY.get,
                batch_size=10,
                set_based=True,
            )
        report = await import_ndjson(
            _chunks(body, 4096),
            sessionmaker,
            store=DEFAULT_STORE,
            regions=PL_ONLY.get,
            batch_size=10,
            set_based=True,
        )
        assert (report.lines, report.applied) == (400, 400)
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM customers")) == 400
    finally:
        await engine.dispose()
