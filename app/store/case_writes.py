"""Apply case records (complaints, returns, exchanges, inquiries)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import table_of
from app.store.aggregates import AggregateDeltas
from app.store.batching import unique_runs
from app.store.bulk_insert import insert_rows
from app.store.erasures import erased_since
from app.store.models import Case, Customer, Order
from app.store.schemas import CaseIn, Outcome, is_stale
from app.store.write_transactions import case_key, customer_key, lock_records, order_key

_cases = table_of(Case)


async def apply_cases(
    session: AsyncSession, records: Sequence[tuple[str, CaseIn]], *, store: str, now: datetime
) -> list[Outcome]:
    """Write `records` into `store`: the customers and orders they name are that store's."""
    results: list[Outcome] = []
    for run in unique_runs(records):
        results.extend(await _apply_run(session, run, store))
    return results


async def _ids_by_external(
    session: AsyncSession, model: type[Customer] | type[Order], store: str, exts: set[str]
) -> dict[str, int]:
    if not exts:
        return {}
    rows = await session.execute(
        select(model.external_id, model.id).where(model.store_id == store, model.external_id.in_(exts))
    )
    return {ext: id_ for ext, id_ in rows.all()}


async def _stored_cases(session: AsyncSession, store: str, ext_ids: list[str]) -> dict[str, Any]:
    return {
        row.external_id: row
        for row in (
            await session.execute(
                select(
                    Case.id,
                    Case.external_id,
                    Case.customer_id,
                    Case.customer_external_id,
                    Case.kind,
                    Case.updated_at,
                ).where(Case.store_id == store, Case.external_id.in_(ext_ids))
            )
        ).all()
    }


async def _owners(session: AsyncSession, store: str, ext_ids: list[str], order_exts: set[str]) -> set[str]:
    cases = select(Case.customer_external_id).where(Case.store_id == store, Case.external_id.in_(ext_ids))
    orders = select(Order.customer_external_id).where(
        Order.store_id == store, Order.external_id.in_(order_exts)
    )
    return {owner for owner in (await session.execute(cases.union(orders))).scalars() if owner}


async def _apply_run(session: AsyncSession, run: list[tuple[str, CaseIn]], store: str) -> list[Outcome]:
    ext_ids = [ext for ext, _ in run]
    customer_exts = {r.customer_external_id for _, r in run if r.customer_external_id}
    order_exts = {r.order_external_id for _, r in run if r.order_external_id}
    # Customers whose return counts this write changes, beyond those the records name: the stored
    # cases' and the named orders' owners. Read before locking so that every key is taken in one
    # sorted step (see order_writes), and read again once held.
    owners = await _owners(session, store, ext_ids, order_exts)
    locked = customer_exts | owners
    await lock_records(
        session,
        [
            *(case_key(store, ext) for ext in ext_ids),
            *(customer_key(store, c) for c in locked),
            *(order_key(store, o) for o in order_exts),
        ],
    )
    existing = await _stored_cases(session, store, ext_ids)
    customers = await _ids_by_external(session, Customer, store, customer_exts)
    orders = await _ids_by_external(session, Order, store, order_exts)
    # A case that names only its order belongs to the order's customer.
    order_customers: dict[int, int | None] = {}
    late_owners: set[str] = set()
    if orders:
        for oid, cid, owner in (
            await session.execute(
                select(Order.id, Order.customer_id, Order.customer_external_id).where(
                    Order.id.in_(orders.values())
                )
            )
        ).all():
            order_customers[oid] = cid
            if owner:
                late_owners.add(owner)
    late_owners |= {row.customer_external_id for row in existing.values() if row.customer_external_id}
    if late_owners - locked:
        await lock_records(session, [customer_key(store, c) for c in late_owners - locked])
        existing = await _stored_cases(session, store, ext_ids)
    erased = await erased_since(session, store, list(customer_exts)) if customer_exts else {}

    deltas = AggregateDeltas()
    results: list[Outcome] = []
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for ext, rec in run:
        old = existing.get(ext)
        if old is not None and is_stale(rec.updated_at, old.updated_at):
            results.append(Outcome(external_id=ext, applied=False, reason="stale"))
            continue
        erased_at = erased.get(rec.customer_external_id or "")
        if erased_at is not None and rec.updated_at <= erased_at:
            # The case went with its customer; a retry or replay of it must not bring it back.
            results.append(Outcome(external_id=ext, applied=False, reason="erased"))
            continue
        order_id = orders.get(rec.order_external_id) if rec.order_external_id else None
        customer_id = customers.get(rec.customer_external_id) if rec.customer_external_id else None
        if customer_id is None and order_id is not None:
            customer_id = order_customers.get(order_id)
        values = {
            "customer_id": customer_id,
            "customer_external_id": rec.customer_external_id,
            "order_id": order_id,
            "order_external_id": rec.order_external_id,
            "kind": rec.kind.value,
            "status": rec.status.value,
            "subject": rec.subject,
            "opened_at": rec.opened_at,
            "updated_at": rec.updated_at,
            "url": rec.url,
        }
        deltas.case_changed(
            (old.customer_id, old.kind) if old is not None else None, (customer_id, rec.kind.value)
        )
        if old is None:
            inserts.append({"store_id": store, "external_id": ext, **values})
        else:
            updates.append({"b_id": old.id, **values})
        results.append(Outcome(external_id=ext, applied=True, created=old is None))
    await insert_rows(session, _cases, inserts)
    if updates:
        await session.execute(
            update(_cases).where(_cases.c.id == bindparam("b_id")),
            updates,
            execution_options={"synchronize_session": False},
        )
    await deltas.apply(session)
    return results
