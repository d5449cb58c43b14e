"""`ringcard store list | show ID | put ID … | delete ID`: the stores from the command line,
through the same rules as PUT /api/v1/stores/{id} (app/stores/records.py). `put` writes the store
whole, as the API's PUT does: an option left out is the deployment's setting.

A mistake (a bad value, a line another store has, an unknown store) is one line on stderr and a
non-zero exit (OperatorError, app/ops/operator_errors.py)."""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import TYPE_CHECKING, Any, Final

from app.ops.operator_errors import OperatorError
from app.settings import Settings

if TYPE_CHECKING:
    from app.stores.schemas import StoreIn, StoreView

COMMAND: Final = "store"
# Where each field of StoreIn comes from on the command line, to name it in a complaint.
_OPTIONS: Final = {
    "name": "--name",
    "region": "--region",
    "base_currency": "--currency",
    "timezone": "--timezone",
    "colour": "--colour",
    "order_url_template": "--order-url-template",
    "customer_url_template": "--customer-url-template",
    "case_url_template": "--case-url-template",
    "loyalty": "--loyalty",
    "lines": "--line",
    "shopify_shop": "--shopify-shop",
    "woocommerce_url": "--woocommerce-url",
}
# Secrets never go on a command line (process lists, shell history): `store put` reads them from
# these variables when set, and keeps the stored ones otherwise.
SECRET_VARIABLES: Final = {
    "shopify_webhook_secret": "RINGCARD_STORE_SHOPIFY_WEBHOOK_SECRET",
    "woocommerce_webhook_secret": "RINGCARD_STORE_WOOCOMMERCE_WEBHOOK_SECRET",
}


def add_parser(sub: Any) -> None:
    store = sub.add_parser("store", help="the stores this Ringcard serves (docs/stores.md)")
    commands = store.add_subparsers(dest="store_command", required=True)
    commands.add_parser("list", help="every store, as in effect")
    show = commands.add_parser("show", help="one store, as in effect")
    show.add_argument("store_id")
    put = commands.add_parser(
        "put", help="write a store whole (created when new); an option left out is the deployment's setting"
    )
    put.add_argument("store_id", help="lower-case letters, digits, - and _ (e.g. de)")
    put.add_argument("--name", required=True)
    put.add_argument("--region", help="ISO 3166 code national numbers are read in (e.g. DE)")
    put.add_argument("--currency", dest="base_currency", help="ISO 4217 code (e.g. EUR)")
    put.add_argument("--timezone", help="IANA name (default: the region's)")
    put.add_argument("--colour", help="#rrggbb")
    put.add_argument("--order-url-template")
    put.add_argument("--customer-url-template")
    put.add_argument("--case-url-template")
    put.add_argument(
        "--loyalty",
        action="append",
        default=[],
        metavar="TIER_MEASURE=VALUE",
        help="a loyalty threshold, e.g. gold_orders=8 or gold_ltv=1500 (repeatable)",
    )
    put.add_argument(
        "--line", dest="lines", action="append", default=[], help="a line of the store (repeatable)"
    )
    put.add_argument("--shopify-shop", help="its Shopify shop: the handle or acme.myshopify.com")
    put.add_argument("--woocommerce-url", help="its WooCommerce site, e.g. https://shop.example")
    put.epilog = (
        "Webhook secrets come from RINGCARD_STORE_SHOPIFY_WEBHOOK_SECRET and "
        "RINGCARD_STORE_WOOCOMMERCE_WEBHOOK_SECRET when set (left unset, the stored ones stay)."
    )
    delete = commands.add_parser("delete", help="delete a store (not default)")
    delete.add_argument("store_id")


def run(settings: Settings, args: argparse.Namespace) -> None:
    print(asyncio.run(_run(settings, args)))


async def _run(settings: Settings, args: argparse.Namespace) -> str:
    from app.db import create_engine, make_sessionmaker
    from app.stores.records import (
        DefaultStoreKept,
        LineTaken,
        ShopTaken,
        StoreInUse,
        StoreNotFound,
        delete_store,
        get_store,
        list_stores,
        put_store,
    )

    given = _store_in(args) if args.store_command == "put" else None
    engine = create_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            if args.store_command == "list":
                return "\n".join(_table(await list_stores(session, settings)))
            if args.store_command == "show":
                return _details(await get_store(session, args.store_id, settings))
            if args.store_command == "delete":
                await delete_store(session, args.store_id)
                return f"Store {args.store_id} deleted."
            assert given is not None
            view, created = await put_store(session, args.store_id, given, settings)
            return f"Store {view.id} {'created' if created else 'replaced'}:\n{_details(view)}"
    except StoreNotFound:
        raise OperatorError(f"no store {args.store_id!r} (ringcard store list shows them)") from None
    except (LineTaken, ShopTaken, DefaultStoreKept, StoreInUse) as exc:
        raise OperatorError(str(exc)) from None
    except ValueError as exc:
        raise OperatorError(str(exc)) from None
    finally:
        await engine.dispose()


def _store_in(args: argparse.Namespace) -> StoreIn:
    from pydantic import ValidationError

    from app.stores.schemas import StoreIn

    loyalty: dict[str, str] = {}
    for item in args.loyalty:
        name, sep, value = item.partition("=")
        if not sep:
            raise OperatorError(f"--loyalty {item!r}: write it as TIER_MEASURE=VALUE, e.g. gold_orders=8")
        loyalty[name.strip()] = value.strip()
    given = {name: getattr(args, name) for name in _OPTIONS if name not in ("loyalty",)}
    secrets = {
        name: os.environ[variable] for name, variable in SECRET_VARIABLES.items() if variable in os.environ
    }
    try:
        return StoreIn.model_validate({**given, **secrets, "loyalty": loyalty})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "value"
        option = _OPTIONS.get(field, SECRET_VARIABLES.get(field, field))
        if field == "loyalty" and len(error["loc"]) > 1:
            option = f"--loyalty {error['loc'][1]}"
        raise OperatorError(f"{option}: {error['msg'].removeprefix('Value error, ')}") from None


def _table(stores: list[StoreView]) -> list[str]:
    rows = [("ID", "NAME", "REGION", "CURRENCY", "TIME ZONE", "LINES")]
    rows += [(s.id, s.name, s.region, s.base_currency, s.timezone, ",".join(s.lines) or "-") for s in stores]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _details(view: StoreView) -> str:
    inherited = set(view.inherited)
    shown = view.model_dump(exclude={"inherited", "created_at", "updated_at", "loyalty", "lines"})
    lines = [
        f"  {name}: {value if value is not None else '-'}{' (setting)' if name in inherited else ''}"
        for name, value in shown.items()
    ]
    lines.append(f"  lines: {', '.join(view.lines) or '-'}")
    lines += [
        f"  loyalty.{name}: {value}{' (setting)' if f'loyalty.{name}' in inherited else ''}"
        for name, value in view.loyalty.items()
    ]
    return "\n".join(lines)
