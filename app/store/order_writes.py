"""Apply order records, keeping the customer's aggregates and the phone index current."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import table_of
from app.kit.money import to_units
from app.store.aggregates import CONTRIBUTION_COLUMNS, AggregateDeltas, OrderContribution
from app.store.batching import unique_runs
from app.store.bulk_insert import insert_rows
from app.store.erasures import erased_since, without_personal_data
from app.store.models import Case, Customer, Order, Phone
from app.store.phone_rows import owner_phone_rows
from app.store.schemas import OrderIn, OrderStatus, Outcome, RecordOrigin, Target, is_stale, origin_values
from app.store.write_transactions import customer_key, lock_records, order_key

_orders = table_of(Order)
_phones = table_of(Phone)
SHIPPED_STATUSES = frozenset({OrderStatus.SHIPPED, OrderStatus.DELIVERED})


async def apply_orders(
    session: AsyncSession,
    records: Sequence[tuple[str, OrderIn]],
    into: Target,
    *,
    now: datetime,
    origin: RecordOrigin | None = None,
) -> list[Outcome]:
    """`into` and `origin` as for customer_writes.apply_customers."""
    results: list[Outcome] = []
    for run in unique_runs(records):
        results.extend(await _apply_run(session, run, into, now, origin))
    return results


async def _stored_orders(session: AsyncSession, store: str, ext_ids: list[str]) -> dict[str, Any]:
    return {
        row.external_id: row
        for row in (
            await session.execute(
                select(
                    Order.id,
                    Order.external_id,
                    Order.customer_external_id,
                    *CONTRIBUTION_COLUMNS,
                    Order.shipped_at,
                    Order.delivered_at,
                    Order.updated_at,
                ).where(Order.store_id == store, Order.external_id.in_(ext_ids))
            )
        ).all()
    }


def _owners(stored: dict[str, Any]) -> set[str]:
    return {row.customer_external_id for row in stored.values() if row.customer_external_id}


async def _apply_run(
    session: AsyncSession,
    run: list[tuple[str, OrderIn]],
    into: Target,
    now: datetime,
    origin: RecordOrigin | None,
) -> list[Outcome]:
    store = into.store
    ext_ids = [ext for ext, _ in run]
    customer_exts = {rec.customer_external_id for _, rec in run if rec.customer_external_id}
    # The customers the orders belong to now lose them (or their totals change): their keys are
    # needed too. Read before locking, so that all keys are taken in one sorted step (keys taken
    # in two steps can deadlock with another writer); read again once they are held.
    locked = customer_exts | _owners(await _stored_orders(session, store, ext_ids))
    await lock_records(
        session, [*(order_key(store, ext) for ext in ext_ids), *(customer_key(store, c) for c in locked)]
    )
    existing = await _stored_orders(session, store, ext_ids)
    late_owners = _owners(existing) - locked
    if late_owners:
        # Another writer moved an order between our two reads: take its owner too and read again.
        await lock_records(session, [customer_key(store, c) for c in late_owners])
        existing = await _stored_orders(session, store, ext_ids)

    # A write not newer than its customer's erasure (a retry, a replay, a re-import) keeps the
    # order's totals but never brings the person back.
    erased = await erased_since(session, store, list(customer_exts)) if customer_exts else {}
    anonymised: set[str] = set()
    records: list[tuple[str, OrderIn]] = []
    for ext, rec in run:
        erased_at = erased.get(rec.customer_external_id or "")
        if erased_at is not None and rec.updated_at <= erased_at:
            rec = without_personal_data(rec)
            anonymised.add(ext)
        records.append((ext, rec))
    run = records
    customer_exts = {rec.customer_external_id for _, rec in run if rec.customer_external_id}
    customer_ids: dict[str, int] = {}
    if customer_exts:
        customer_ids = {
            ext: cid
            for cid, ext in (
                await session.execute(
                    select(Customer.id, Customer.external_id).where(
                        Customer.store_id == store, Customer.external_id.in_(customer_exts)
                    )
                )
            ).all()
        }

    deltas = AggregateDeltas()
    results: list[Outcome] = []
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    applied: list[tuple[str, OrderIn]] = []
    for ext, rec in run:
        old = existing.get(ext)
        if old is not None and is_stale(rec.updated_at, old.updated_at):
            results.append(Outcome(external_id=ext, applied=False, reason="stale"))
            continue
        customer_id = customer_ids.get(rec.customer_external_id) if rec.customer_external_id else None
        total, refunded = to_units(rec.total), to_units(rec.refunded_total)
        values = {
            "customer_id": customer_id,
            "customer_external_id": rec.customer_external_id,
            "name": rec.name,
            "email": rec.email,
            "city": rec.city,
            "number": rec.number,
            "status": rec.status.value,
            "financial_status": rec.financial_status,
            "fulfillment_status": rec.fulfillment_status,
            "total_units": total,
            "refunded_units": refunded,
            "currency": rec.currency,
            "placed_at": rec.placed_at,
            "shipped_at": _shipped_at(rec, old.shipped_at if old else None),
            "delivered_at": _delivered_at(rec, old.delivered_at if old else None),
            "expected_delivery_at": rec.expected_delivery_at,
            "tracking_url": rec.tracking_url,
            "items": [{"title": item.title, "quantity": item.quantity} for item in rec.items],
            "updated_at": rec.updated_at,
            "synced_at": now,
        }
        deltas.order_changed(
            OrderContribution.of_stored(old) if old is not None else None,
            OrderContribution.of(customer_id, rec.status, rec.currency, total, refunded, rec.placed_at),
        )
        if old is None:
            inserts.append(
                {"store_id": store, "external_id": ext, **values, **origin_values(origin, created=True)}
            )
        else:
            updates.append({"b_id": old.id, **values, **origin_values(origin, created=False)})
        applied.append((ext, rec))
        results.append(
            Outcome(
                external_id=ext,
                applied=True,
                reason="erased" if ext in anonymised else None,
                created=old is None,
            )
        )

    ids = {ext: row.id for ext, row in existing.items()}
    if inserts:
        new_ids = await insert_rows(session, _orders, inserts)
        ids.update({row["external_id"]: oid for row, oid in zip(inserts, new_ids, strict=True)})
    if updates:
        await session.execute(
            update(_orders).where(_orders.c.id == bindparam("b_id")),
            updates,
            execution_options={"synchronize_session": False},
        )
        await session.execute(delete(_phones).where(_phones.c.order_id.in_([u["b_id"] for u in updates])))
    phone_rows = [
        row
        for ext, rec in applied
        for row in owner_phone_rows(
            [(p.number, f"order.{p.kind}_phone") for p in rec.phones], into.region, order_id=ids[ext]
        )
    ]
    await insert_rows(session, _phones, phone_rows)
    if inserts:
        # Cases that named this order before it existed.
        await session.execute(
            update(Case)
            .where(
                Case.store_id == store,
                Case.order_id.is_(None),
                Case.order_external_id.in_([i["external_id"] for i in inserts]),
            )
            .values(
                order_id=select(Order.id)
                .where(Order.store_id == store, Order.external_id == Case.order_external_id)
                .scalar_subquery()
            )
            .execution_options(synchronize_session=False)
        )
    await deltas.apply(session)
    return results


def _shipped_at(rec: OrderIn, stored: datetime | None) -> datetime | None:
    if rec.shipped_at is not None:
        return rec.shipped_at
    if rec.status in SHIPPED_STATUSES:
        # The store did not say when it shipped: the first write that says "shipped" is our best
        # evidence, and later writes keep it rather than moving it forward.
        return stored or rec.updated_at
    return None


def _delivered_at(rec: OrderIn, stored: datetime | None) -> datetime | None:
    if rec.delivered_at is not None:
        return rec.delivered_at
    if rec.status == OrderStatus.DELIVERED:
        return stored or rec.updated_at
    return None
