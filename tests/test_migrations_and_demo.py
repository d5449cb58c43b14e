"""The migrations build exactly the schema the code expects, and the demo store loads."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from app.db import Base, create_engine, make_sessionmaker
from app.demo.data import DEMO_AGENT_USERNAME, load_demo
from app.settings import Settings
from app.store.models import Case, Customer, Order


async def test_migrations_create_everything_the_models_declare(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await engine.dispose()
    assert diff == []


async def test_demo_store_has_what_the_brief_promises(settings: Settings, database_url: str) -> None:
    message = await load_demo(settings, if_empty=True)
    assert message is not None and DEMO_AGENT_USERNAME in message
    assert await load_demo(settings, if_empty=True) is None  # a second start keeps the data
    engine = create_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            customers = await session.scalar(select(func.count()).select_from(Customer))
            assert customers is not None and customers >= 300
            statuses = set((await session.execute(select(Order.status).distinct())).scalars())
            assert statuses == {
                "pending",
                "processing",
                "on_hold",
                "shipped",
                "delivered",
                "cancelled",
                "refunded",
                "failed",
            }
            kinds = set((await session.execute(select(Case.kind).distinct())).scalars())
            assert {"complaint", "return", "exchange"} <= kinds
            guests = await session.scalar(
                select(func.count()).select_from(Order).where(Order.customer_id.is_(None))
            )
            assert guests is not None and guests >= 1
            hebrew = await session.scalar(
                select(func.count()).select_from(Customer).where(Customer.last_name == "כהן")
            )
            assert hebrew is not None and hebrew >= 1
            anna = await session.scalar(select(Customer).where(Customer.external_id == "cust-anna-nowak"))
            assert anna is not None and anna.orders_count == 14
    finally:
        await engine.dispose()
