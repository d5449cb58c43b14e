"""One batch of NDJSON lines as rows for the staging tables (staging.py).

A validated line becomes one plain tuple per record (and one per index row of its phones), in the
column order below, which is all COPY needs: no model objects, no per-record dicts."""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from app.kit.money import to_units
from app.store.bulk_import.phone_cache import PhoneCache
from app.store.schemas import CustomerPhoneIn, OrderItemIn, OrderPhoneIn

# Defaults the validated dicts leave out (see records.py): read from the models, so the two
# paths cannot disagree on them.
_PHONE_KIND: Final[str] = CustomerPhoneIn.model_fields["kind"].default
_ITEM_QUANTITY: Final[int] = OrderItemIn.model_fields["quantity"].default
# Where an order's phone was written, as order_writes names it, for each kind the schema allows.
_ORDER_SOURCES: Final = {
    kind: f"order.{kind}_phone" for kind in typing.get_args(OrderPhoneIn.model_fields["kind"].annotation)
}

# The order of the values in the tuples PgBatch builds; COPY names the columns, so these must match
# the tuples, not the staging tables' own column order.
CUSTOMER_COLUMNS: Final = (
    "line",
    "run",
    "external_id",
    "first_name",
    "last_name",
    "email",
    "city",
    "tags",
    "note",
    "created_at",
    "updated_at",
    "store_id",
)
ORDER_COLUMNS: Final = (
    "line",
    "run",
    "external_id",
    "customer_external_id",
    "name",
    "email",
    "city",
    "number",
    "status",
    "financial_status",
    "fulfillment_status",
    "total_units",
    "refunded_units",
    "currency",
    "placed_at",
    "shipped_at",
    "delivered_at",
    "expected_delivery_at",
    "tracking_url",
    "items",
    "updated_at",
    "store_id",
)
CASE_COLUMNS: Final = (
    "line",
    "run",
    "external_id",
    "customer_external_id",
    "order_external_id",
    "kind",
    "status",
    "subject",
    "opened_at",
    "updated_at",
    "url",
    "store_id",
)
PHONE_COLUMNS: Final = ("line", "source", "raw", "e164", "national", "reversed_digits", "country_code")


@dataclass(slots=True)
class _Runs:
    """Splits one kind's records into the runs app/store/batching.unique_runs would make."""

    run: int = 1
    seen: set[tuple[str, str]] = field(default_factory=set)

    def of(self, store: str, external_id: str) -> int:
        # Stores never share a record: only the same id in the same store starts a new run.
        key = (store, external_id)
        if key in self.seen:
            self.run += 1
            self.seen = set()
        self.seen.add(key)
        return self.run


def _json(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        # orjson refuses what the stdlib writes as escapes (a lone surrogate, say).
        return json.dumps(value)


def _items_json(items: list[dict[str, Any]]) -> str:
    """The order's items as order_writes stores them: every item with its title and quantity."""
    if all(len(item) == 2 for item in items):
        # Both keys present (the validated dicts hold no others): already the stored shape.
        return _json(items)
    return _json([{"title": i["title"], "quantity": i.get("quantity", _ITEM_QUANTITY)} for i in items])


class PgBatch:
    """One batch as rows for the staging tables, in the order the lines came."""

    __slots__ = (
        "_case_runs",
        "_customer_runs",
        "_order_runs",
        "cases",
        "customers",
        "orders",
        "phones",
    )

    def __init__(self) -> None:
        self.customers: list[tuple[Any, ...]] = []
        self.orders: list[tuple[Any, ...]] = []
        self.cases: list[tuple[Any, ...]] = []
        self.phones: list[tuple[Any, ...]] = []
        self._customer_runs = _Runs()
        self._order_runs = _Runs()
        self._case_runs = _Runs()

    def __len__(self) -> int:
        return len(self.customers) + len(self.orders) + len(self.cases)

    @property
    def runs(self) -> tuple[int, int, int]:
        return (
            self._customer_runs.run if self.customers else 0,
            self._order_runs.run if self.orders else 0,
            self._case_runs.run if self.cases else 0,
        )

    def add(self, line: int, record: dict[str, Any], store: str, phones: PhoneCache) -> None:
        """One validated line of `store`, its phones read through `phones` (that store's)."""
        kind = record["type"]
        if kind == "order":
            self._add_order(line, record, store, phones)
        elif kind == "customer":
            self._add_customer(line, record, store, phones)
        else:
            self._add_case(line, record, store)

    def _add_customer(self, line: int, rec: dict[str, Any], store: str, phones_of: PhoneCache) -> None:
        get = rec.get
        ext = rec["external_id"]
        tags = get("tags")
        self.customers.append(
            (
                line,
                self._customer_runs.of(store, ext),
                ext,
                get("first_name"),
                get("last_name"),
                get("email"),
                get("city"),
                _json(tags) if tags else "[]",
                get("note"),
                get("created_at"),
                rec["updated_at"],
                store,
            )
        )
        phones = get("phones")
        if phones:
            self._add_phones(
                line,
                tuple([(p["number"], f"customer.{p.get('kind', _PHONE_KIND)}") for p in phones]),
                phones_of,
            )

    def _add_order(self, line: int, rec: dict[str, Any], store: str, phones_of: PhoneCache) -> None:
        get = rec.get
        ext = rec["external_id"]
        refunded = get("refunded_total")
        items = get("items")
        self.orders.append(
            (
                line,
                self._order_runs.of(store, ext),
                ext,
                get("customer_external_id"),
                get("name"),
                get("email"),
                get("city"),
                rec["number"],
                rec["status"].value,
                get("financial_status"),
                get("fulfillment_status"),
                to_units(rec["total"]),
                0 if refunded is None else to_units(refunded),
                rec["currency"],
                rec["placed_at"],
                get("shipped_at"),
                get("delivered_at"),
                get("expected_delivery_at"),
                get("tracking_url"),
                _items_json(items) if items else "[]",
                rec["updated_at"],
                store,
            )
        )
        phones = get("phones")
        if phones:
            self._add_phones(
                line, tuple([(p["number"], _ORDER_SOURCES[p["kind"]]) for p in phones]), phones_of
            )

    def _add_case(self, line: int, rec: dict[str, Any], store: str) -> None:
        get = rec.get
        ext = rec["external_id"]
        self.cases.append(
            (
                line,
                self._case_runs.of(store, ext),
                ext,
                get("customer_external_id"),
                get("order_external_id"),
                rec["kind"].value,
                rec["status"].value,
                get("subject"),
                rec["opened_at"],
                rec["updated_at"],
                get("url"),
                store,
            )
        )

    def _add_phones(self, line: int, phones: tuple[tuple[str, str], ...], cache: PhoneCache) -> None:
        append = self.phones.append
        for row in cache.rows(phones):
            append((line, *row))
