"""The keys of the deliveries already processed: what makes a platform's retry do nothing.

The house rule: the delivery's key is inserted with ON CONFLICT DO NOTHING in the same
transaction as the writes it causes, and the writes happen only when the insert took. A delivery
whose processing fails rolls its key back with everything else, so the platform's retry is
processed; two concurrent copies of one delivery serialise on the key, and the second does nothing.
The same table also remembers facts that must be counted once whatever delivery carries them
(a Shopify refund counted from its order, then delivered on its own).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import table_of, upsert_insert
from app.platforms.models import PlatformDelivery

__all__ = ["DELIVERY_RETENTION", "first_delivery", "forget_old_deliveries", "record_deliveries"]

# Far longer than a platform keeps retrying a delivery (Shopify: 4 hours), so a forgotten key can
# no longer come back; what it guarded is plain history by then.
DELIVERY_RETENTION = timedelta(days=30)
# One request in this many sweeps the expired keys: the table stays bounded without a scheduler,
# and the sweep is an index range delete that finds little each time.
_SWEEP_ONE_IN = 200


async def first_delivery(session: AsyncSession, platform: str, key: str, now: datetime) -> bool:
    """Record the key; True when it is new (act on it), False when it was already there."""
    return bool(await record_deliveries(session, platform, [key], now))


async def record_deliveries(
    session: AsyncSession, platform: str, keys: list[str], now: datetime
) -> list[str]:
    """Record several keys at once; returns the ones that were new."""
    if not keys:
        return []
    table = table_of(PlatformDelivery)
    ins = upsert_insert(session, table)
    rows = await session.execute(
        ins.on_conflict_do_nothing(index_elements=["platform", "delivery_key"]).returning(
            table.c.delivery_key
        ),
        [
            {"platform": platform, "delivery_key": key, "received_at": now}
            for key in dict.fromkeys(k[:255] for k in keys)
        ],
    )
    return list(rows.scalars())


async def forget_old_deliveries(session: AsyncSession, now: datetime, *, always: bool = False) -> None:
    """Delete keys older than the retention, now and then (or `always`)."""
    if always or random.randrange(_SWEEP_ONE_IN) == 0:
        await session.execute(
            delete(PlatformDelivery).where(PlatformDelivery.received_at < now - DELIVERY_RETENTION)
        )
