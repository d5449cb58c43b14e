"""The store's data as Ringcard keeps it: customers, their phones, orders and cases, plus the
per-customer aggregates that the card reads without scanning history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime
from app.stores.models import DEFAULT_STORE

# A digits-only column compared by byte value: suffix matching does range scans on reversed
# digits, which must not depend on a locale's collation.
DigitString = String(32).with_variant(String(32, collation="C"), "postgresql")


def store_column(*, primary_key: bool = False) -> Mapped[str]:
    """The store a record belongs to (app/stores): external ids are unique within it, so two
    shops' order 1001 are two orders. Records written without naming a store are `default`'s."""
    return mapped_column(
        String(64),
        ForeignKey("stores.id"),
        default=DEFAULT_STORE,
        server_default=DEFAULT_STORE,
        primary_key=primary_key,
    )


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[str] = store_column()
    external_id: Mapped[str] = mapped_column(String(255))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    city: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The platform whose webhooks wrote the record (RecordOrigin: its admin links to it), NULL for
    # the sync API and the import (docs/store-platforms.md#links-to-the-stores-admin).
    origin: Mapped[str | None] = mapped_column(String(16))

    # Aggregates, kept current by every order/case write (see app/store/aggregates.py).
    orders_count: Mapped[int] = mapped_column(Integer, default=0)
    returns_count: Mapped[int] = mapped_column(Integer, default=0)
    first_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("store_id", "external_id"),)


class CustomerLifetimeValue(Base):
    """Lifetime value of one customer in one currency, in 1/10,000 units (see currencies.py)."""

    __tablename__ = "customer_ltv"

    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    amount_units: Mapped[int] = mapped_column(BigInteger, default=0)


OPEN_ORDERS_PREDICATE = "status IN ('pending', 'processing', 'on_hold', 'shipped')"


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[str] = store_column()
    external_id: Mapped[str] = mapped_column(String(255))
    # Indexed by ix_orders_customer_id_placed_at below (its leading column).
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id", ondelete="SET NULL"))
    # Kept so that an order arriving before its customer is linked when the customer arrives.
    customer_external_id: Mapped[str | None] = mapped_column(String(255), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    city: Mapped[str | None] = mapped_column(String(255))
    number: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    financial_status: Mapped[str | None] = mapped_column(String(64))
    fulfillment_status: Mapped[str | None] = mapped_column(String(64))
    total_units: Mapped[int] = mapped_column(BigInteger)
    refunded_units: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expected_delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tracking_url: Mapped[str | None] = mapped_column(String(2048))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    origin: Mapped[str | None] = mapped_column(String(16))  # as Customer.origin

    __table_args__ = (
        UniqueConstraint("store_id", "external_id"),
        Index("ix_orders_customer_id_placed_at", "customer_id", "placed_at"),
        # The card's "open orders first" for a customer with thousands of delivered ones: a walk
        # over just the open orders, whatever the history.
        Index(
            "ix_orders_open_customer_id_placed_at",
            "customer_id",
            "placed_at",
            postgresql_where=text(OPEN_ORDERS_PREDICATE),
            sqlite_where=text(OPEN_ORDERS_PREDICATE),
        ),
    )


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[str] = store_column()
    external_id: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    customer_external_id: Mapped[str | None] = mapped_column(String(255), index=True)
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id", ondelete="SET NULL"))
    order_external_id: Mapped[str | None] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(1000))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The case's page in the store's helpdesk, as the store sent it (an http(s) URL).
    url: Mapped[str | None] = mapped_column(String(2048))

    __table_args__ = (UniqueConstraint("store_id", "external_id"),)


class Phone(Base):
    """Every phone a customer or an order carries, as written and normalised, for lookup."""

    __tablename__ = "phones"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    # customer.mobile, customer.work, ..., order.billing_phone, order.shipping_phone
    # Where the number was written, comma-separated when one owner wrote it in several places.
    source: Mapped[str] = mapped_column(String(100))
    raw: Mapped[str] = mapped_column(String(64))
    e164: Mapped[str | None] = mapped_column(String(20), index=True)
    national: Mapped[str | None] = mapped_column(DigitString, index=True)
    # The number's digits reversed, so "ends with" becomes an indexable range scan.
    reversed_digits: Mapped[str | None] = mapped_column(DigitString, index=True)
    country_code: Mapped[int | None] = mapped_column(Integer)


class Erasure(Base):
    """A tombstone: a late or retried write older than the erasure must not bring the person back."""

    __tablename__ = "erasures"

    store_id: Mapped[str] = store_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OrderDeletion(Base):
    """When the store last deleted an order: writes of older states are not applied."""

    __tablename__ = "order_deletions"

    store_id: Mapped[str] = store_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime)
