"""A realistic demo store: customers from Poland, Germany, Britain and Israel with phones written
every which way, orders in every status, complaints, returns and exchanges, a guest checkout and
two customers sharing one phone. Deterministic, so screenshots and docs stay true. What it is
drawn from (names, cities, phone spellings, statuses, products) is in pools.py."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent, Role
from app.agents.new_agent import new_agent
from app.agents.passwords import hash_password_async
from app.db import create_engine, make_sessionmaker, utcnow
from app.demo.pools import (
    CASES_ON_DELIVERED,
    COUNTRIES,
    COUNTRY_WEIGHTS,
    FINANCIAL,
    FULFILMENT,
    PRODUCTS,
    STATUS_WEIGHTS,
    random_phone,
    random_time_before,
)
from app.settings import Settings
from app.store.case_writes import apply_cases
from app.store.customer_writes import apply_customers
from app.store.models import Customer
from app.store.order_writes import apply_orders
from app.store.schemas import CaseIn, CustomerIn, OrderIn, Target
from app.stores.models import DEFAULT_STORE

DEMO_AGENT_USERNAME = "demo"
DEMO_AGENT_PASSWORD = "ringcard-demo"  # noqa: S105 - printed in the README on purpose: a demo login
# The demo login is a supervisor, so the demo shows the team page; the others give it a team to
# show (and "jonas", a plain agent with the same password, shows the console without the page).
DEMO_TEAM = (
    (DEMO_AGENT_USERNAME, "Demo Agent", Role.SUPERVISOR, ["*"]),
    ("jonas", "Jonas Becker", Role.AGENT, ["*"]),
    ("marta", "Marta Kowalczyk", Role.AGENT, ["+48 22 123 45 67"]),
)
HERO_PHONE = "+48 601 234 567"
SHARED_PHONE = "22 654 32 10"


@dataclass
class DemoStore:
    customers: list[tuple[str, CustomerIn]]
    orders: list[tuple[str, OrderIn]]
    cases: list[tuple[str, CaseIn]]


def build_demo_store(now: datetime, *, customers: int = 300, seed: int = 1042) -> DemoStore:
    rng = random.Random(seed)
    store = DemoStore([], [], [])
    order_no = iter(range(1100, 10**6))
    case_no = iter(range(100, 10**6))

    def add_order(
        cust_ext: str | None,
        name: str,
        email: str | None,
        city: str,
        phone: str,
        currency: str,
        status: str,
        placed_at: datetime,
        *,
        number: str | None = None,
        shipping_phone: str | None = None,
        financial: str | None = None,
    ) -> str:
        n = number or f"#{next(order_no)}"
        ext = f"o-{n.lstrip('#')}"
        total = Decimal(rng.randrange(2900, 89900)) / 100
        shipped = status in ("shipped", "delivered")
        store.orders.append(
            (
                ext,
                OrderIn(
                    customer_external_id=cust_ext,
                    name=name,
                    email=email,
                    city=city,
                    number=n,
                    status=status,
                    financial_status=financial or FINANCIAL[status],
                    fulfillment_status=FULFILMENT.get(status, "unfulfilled"),
                    total=total,
                    refunded_total=total if status == "refunded" else Decimal(0),
                    currency=currency,
                    placed_at=placed_at,
                    shipped_at=placed_at + timedelta(days=1) if shipped else None,
                    delivered_at=placed_at + timedelta(days=3) if status == "delivered" else None,
                    updated_at=min(placed_at + timedelta(days=3), now),
                    phones=[
                        {"number": phone, "kind": "billing"},
                        {"number": shipping_phone or phone, "kind": "shipping"},
                    ],
                    tracking_url=f"https://tracking.example/parcel/{n.lstrip('#')}" if shipped else None,
                    items=[
                        {"title": rng.choice(PRODUCTS), "quantity": rng.randint(1, 3)}
                        for _ in range(rng.randint(1, 3))
                    ],
                ),
            )
        )
        return ext

    def add_case(
        kind: str, status: str, subject: str, cust_ext: str | None, order_ext: str, opened: datetime
    ) -> None:
        ext = f"C-{next(case_no)}"
        store.cases.append(
            (
                ext,
                CaseIn(
                    customer_external_id=cust_ext,
                    order_external_id=order_ext,
                    kind=kind,
                    status=status,
                    subject=subject,
                    opened_at=opened,
                    updated_at=opened,
                ),
            )
        )

    # The customer from the product brief: gold, a late parcel and an open complaint on it.
    hero = "cust-anna-nowak"
    store.customers.append(
        (
            hero,
            CustomerIn(
                first_name="Anna",
                last_name="Nowak",
                email="anna.nowak@example.pl",
                city="Kraków",
                phones=[{"number": HERO_PHONE, "kind": "mobile"}],
                tags=["vip", "newsletter"],
                note="Prefers a call back after 17:00.",
                created_at=now - timedelta(days=900),
                updated_at=now - timedelta(days=2),
            ),
        )
    )
    for i in range(13):
        add_order(
            hero,
            "Anna Nowak",
            "anna.nowak@example.pl",
            "Kraków",
            "601-234-567",
            "PLN",
            "delivered",
            random_time_before(rng, now, 800, 30 + i),
        )
    late = add_order(
        hero,
        "Anna Nowak",
        "anna.nowak@example.pl",
        "Kraków",
        "0048601234567",
        "PLN",
        "shipped",
        now - timedelta(days=7),
        number="#1042",
    )
    store.cases.append(
        (
            "C-88",
            CaseIn(
                customer_external_id=hero,
                order_external_id=late,
                kind="complaint",
                status="open",
                subject="Parcel not delivered, tracking stuck for 5 days",
                opened_at=now - timedelta(days=1),
                updated_at=now - timedelta(days=1),
            ),
        )
    )

    # Two customers sharing one landline: a household.
    for ext, first, last in (
        ("cust-jan-kowalski", "Jan", "Kowalski"),
        ("cust-maria-kowalska", "Maria", "Kowalska"),
    ):
        store.customers.append(
            (
                ext,
                CustomerIn(
                    first_name=first,
                    last_name=last,
                    email=f"{first.lower()}.{last.lower()}@example.pl",
                    city="Warszawa",
                    phones=[{"number": SHARED_PHONE, "kind": "home"}],
                    created_at=now - timedelta(days=400),
                    updated_at=now - timedelta(days=10),
                ),
            )
        )
        add_order(
            ext,
            f"{first} {last}",
            None,
            "Warszawa",
            SHARED_PHONE,
            "PLN",
            "delivered",
            random_time_before(rng, now, 300, 20),
        )

    # A guest checkout: no account, known only by the order.
    add_order(
        None,
        "Ewa Jabłońska",
        "ewa.j@example.pl",
        "Gdańsk",
        "+48 512 987 654",
        "PLN",
        "processing",
        now - timedelta(hours=3),
    )

    for i in range(customers):
        country = rng.choices(COUNTRIES, weights=COUNTRY_WEIGHTS)[0]
        first, last = rng.choice(country.female if rng.random() < 0.55 else country.male)
        ext = f"cust-{i:04d}"
        city = rng.choice(country.cities)
        phone = random_phone(rng, country)
        phones = [{"number": phone, "kind": "mobile"}]
        if rng.random() < 0.15:
            phones.append({"number": random_phone(rng, country), "kind": "work"})
        email = f"customer{i}@example.{country.region.lower()}"
        store.customers.append(
            (
                ext,
                CustomerIn(
                    first_name=first,
                    last_name=last,
                    email=email,
                    city=city,
                    phones=phones,
                    tags=rng.sample(["newsletter", "wholesale", "vip", "b2b"], k=rng.randint(0, 2)),
                    created_at=random_time_before(rng, now, 1000, 400),
                    updated_at=random_time_before(rng, now, 300, 1),
                ),
            )
        )
        name = f"{first} {last}"
        # Orders written with another spelling of the phone, as checkout forms do.
        order_phone = phone.replace(" ", "") if rng.random() < 0.5 else phone
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4, 6, 9, 12))):
            status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
            recent = status in ("pending", "processing", "shipped", "on_hold")
            placed = random_time_before(rng, now, 12 if recent else 700, 0.1 if recent else 14)
            currency = country.currency if rng.random() < 0.9 else "EUR"
            order = add_order(ext, name, email, city, order_phone, currency, status, placed)
            roll = rng.random()
            for below, kind, statuses, subjects, after in CASES_ON_DELIVERED:
                if status == "delivered" and roll < below:
                    case_status = rng.choice(statuses)
                    add_case(kind, case_status, rng.choice(subjects), ext, order, placed + after)
                    break
            else:
                if roll > 0.97:
                    add_case(
                        "inquiry", "open", "Question about invoice", ext, order, placed + timedelta(hours=6)
                    )
    return store


async def load_demo(settings: Settings, *, if_empty: bool) -> str | None:
    engine = create_engine(settings.database_url)
    try:
        sessionmaker = make_sessionmaker(engine)
        async with sessionmaker() as session, session.begin():
            if if_empty and (await session.scalar(select(func.count()).select_from(Customer))):
                await _ensure_demo_agent(session, settings)
                return None
            now = utcnow()
            store = build_demo_store(now)
            into = Target(DEFAULT_STORE, settings.default_region)
            await apply_customers(session, store.customers, into, now=now)
            await apply_orders(session, store.orders, into, now=now)
            await apply_cases(session, store.cases, store=DEFAULT_STORE, now=now)
            await _ensure_demo_agent(session, settings)
        return (
            f"Demo store loaded: {len(store.customers)} customers, {len(store.orders)} orders, "
            f"{len(store.cases)} cases; agent {DEMO_AGENT_USERNAME} / {DEMO_AGENT_PASSWORD}."
        )
    finally:
        await engine.dispose()


async def _ensure_demo_agent(session: AsyncSession, settings: Settings) -> None:
    """The demo team, each agent added if missing (an agent already there is left as it is)."""
    present = set(
        await session.scalars(select(Agent.username).where(Agent.username.in_([t[0] for t in DEMO_TEAM])))
    )
    missing = [member for member in DEMO_TEAM if member[0] not in present]
    if not missing:
        return
    password_hash = await hash_password_async(DEMO_AGENT_PASSWORD)
    for username, display_name, role, lines in missing:
        session.add(
            new_agent(
                username,
                display_name,
                password_hash=password_hash,
                lines=lines,
                phone=None,
                region=settings.default_region,
                role=role,
            )
        )


async def create_agent(
    settings: Settings,
    username: str,
    display_name: str,
    password: str,
    lines: list[str],
    phone: str | None,
    *,
    role: str = Role.AGENT.value,
) -> None:
    password_hash = await hash_password_async(password)
    engine = create_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            session.add(
                new_agent(
                    username,
                    display_name,
                    password_hash=password_hash,
                    lines=lines,
                    phone=phone,
                    region=settings.default_region,
                    role=Role(role),
                )
            )
    finally:
        await engine.dispose()
