"""Apply customer records from the sync API, the import and the platform webhooks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import table_of
from app.store.aggregates import recompute_customer
from app.store.batching import unique_runs
from app.store.bulk_insert import insert_rows
from app.store.erasures import erased_since
from app.store.models import Case, Customer, Order, Phone
from app.store.phone_rows import owner_phone_rows
from app.store.schemas import CustomerIn, Outcome, RecordOrigin, Target, is_stale, origin_values
from app.store.write_transactions import customer_key, lock_records

_customers = table_of(Customer)
_phones = table_of(Phone)


async def apply_customers(
    session: AsyncSession,
    records: Sequence[tuple[str, CustomerIn]],
    into: Target,
    *,
    now: datetime,
    origin: RecordOrigin | None = None,
) -> list[Outcome]:
    """Write `records` into the target's store (its external ids), reading their phones in its
    region. `origin`: the platform whose webhook sent the records. None (the sync API, the
    import) leaves a stored record's origin as it is (see origin_values)."""
    results: list[Outcome] = []
    for run in unique_runs(records):
        results.extend(await _apply_run(session, run, into, now, origin))
    return results


async def _apply_run(
    session: AsyncSession,
    run: list[tuple[str, CustomerIn]],
    into: Target,
    now: datetime,
    origin: RecordOrigin | None,
) -> list[Outcome]:
    store, region = into
    ext_ids = [ext for ext, _ in run]
    await lock_records(session, [customer_key(store, ext) for ext in ext_ids])
    existing = {
        ext: (cid, updated)
        for cid, ext, updated in (
            await session.execute(
                select(Customer.id, Customer.external_id, Customer.updated_at).where(
                    Customer.store_id == store, Customer.external_id.in_(ext_ids)
                )
            )
        ).all()
    }
    erased = await erased_since(session, store, ext_ids)

    results: list[Outcome] = []
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    applied: list[tuple[str, CustomerIn]] = []
    for ext, rec in run:
        stored = existing.get(ext)
        if is_stale(rec.updated_at, stored[1] if stored else None):
            results.append(Outcome(external_id=ext, applied=False, reason="stale"))
            continue
        if ext in erased and rec.updated_at <= erased[ext]:
            results.append(Outcome(external_id=ext, applied=False, reason="erased"))
            continue
        values = {
            "first_name": rec.first_name,
            "last_name": rec.last_name,
            "email": rec.email,
            "city": rec.city,
            "tags": rec.tags,
            "note": rec.note,
            "created_at": rec.created_at,
            "updated_at": rec.updated_at,
            "synced_at": now,
        }
        if stored is None:
            inserts.append(
                {"store_id": store, "external_id": ext, **values, **origin_values(origin, created=True)}
            )
        else:
            updates.append({"b_id": stored[0], **values, **origin_values(origin, created=False)})
        applied.append((ext, rec))
        results.append(Outcome(external_id=ext, applied=True, created=stored is None))

    ids = {ext: cid for ext, (cid, _) in existing.items()}
    if inserts:
        new_ids = await insert_rows(session, _customers, inserts)
        ids.update({row["external_id"]: cid for row, cid in zip(inserts, new_ids, strict=True)})
    if updates:
        await session.execute(
            update(_customers).where(_customers.c.id == bindparam("b_id")),
            updates,
            execution_options={"synchronize_session": False},
        )
        await session.execute(
            delete(_phones).where(
                _phones.c.customer_id.in_([u["b_id"] for u in updates]), _phones.c.order_id.is_(None)
            )
        )
    phone_rows = [
        row
        for ext, rec in applied
        for row in owner_phone_rows(
            [(p.number, f"customer.{p.kind}") for p in rec.phones], region, customer_id=ids[ext]
        )
    ]
    await insert_rows(session, _phones, phone_rows)
    if inserts:
        await _link_early_arrivals(session, store, [row["external_id"] for row in inserts], ids)
    return results


async def _link_early_arrivals(
    session: AsyncSession, store: str, new_ext_ids: list[str], ids: dict[str, int]
) -> None:
    """Orders and cases that arrived before their customer are linked now, and the customer's
    aggregates are built from them once."""
    waiting = set(
        (
            await session.execute(
                select(Order.customer_external_id)
                .where(
                    Order.store_id == store,
                    Order.customer_id.is_(None),
                    Order.customer_external_id.in_(new_ext_ids),
                )
                .union(
                    select(Case.customer_external_id).where(
                        Case.store_id == store,
                        Case.customer_id.is_(None),
                        Case.customer_external_id.in_(new_ext_ids),
                    )
                )
            )
        ).scalars()
    )
    for ext in waiting:
        cid = ids[ext]
        await session.execute(
            update(Order)
            .where(Order.store_id == store, Order.customer_external_id == ext, Order.customer_id.is_(None))
            .values(customer_id=cid)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(Case)
            .where(Case.store_id == store, Case.customer_external_id == ext, Case.customer_id.is_(None))
            .values(customer_id=cid)
            .execution_options(synchronize_session=False)
        )
        await recompute_customer(session, cid)
