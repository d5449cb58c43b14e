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
from app.store.models import Case, Customer, Order
from app.store.schemas import CaseIn, Outcome, is_stale

_cases = table_of(Case)


async def apply_cases(
    session: AsyncSession, records: Sequence[tuple[str, CaseIn]], *, now: datetime
) -> list[Outcome]:
    results: list[Outcome] = []
    for run in unique_runs(records):
        results.extend(await _apply_run(session, run))
    return results


async def _ids_by_external(
    session: AsyncSession, model: type[Customer] | type[Order], exts: set[str]
) -> dict[str, int]:
    if not exts:
        return {}
    rows = await session.execute(select(model.external_id, model.id).where(model.external_id.in_(exts)))
    return {ext: id_ for ext, id_ in rows.all()}


async def _apply_run(session: AsyncSession, run: list[tuple[str, CaseIn]]) -> list[Outcome]:
    existing = {
        row.external_id: row
        for row in (
            await session.execute(
                select(Case.id, Case.external_id, Case.customer_id, Case.kind, Case.updated_at).where(
                    Case.external_id.in_([ext for ext, _ in run])
                )
            )
        ).all()
    }
    customers = await _ids_by_external(
        session, Customer, {r.customer_external_id for _, r in run if r.customer_external_id}
    )
    orders = await _ids_by_external(
        session, Order, {r.order_external_id for _, r in run if r.order_external_id}
    )
    # A case that names only its order belongs to the order's customer.
    order_customers: dict[int, int | None] = {}
    if orders:
        order_customers = {
            oid: cid
            for oid, cid in (
                await session.execute(
                    select(Order.id, Order.customer_id).where(Order.id.in_(orders.values()))
                )
            ).all()
        }

    deltas = AggregateDeltas()
    results: list[Outcome] = []
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for ext, rec in run:
        old = existing.get(ext)
        if old is not None and is_stale(rec.updated_at, old.updated_at):
            results.append(Outcome(external_id=ext, applied=False, reason="stale"))
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
        }
        deltas.case_changed(
            (old.customer_id, old.kind) if old is not None else None, (customer_id, rec.kind.value)
        )
        if old is None:
            inserts.append({"external_id": ext, **values})
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
