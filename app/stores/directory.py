"""Which store a line, a shop or a request is, known without a database round trip.

A call's pop must not wait for a store read (the caller's number is read in the line's store
region before the call is even recorded), so every instance keeps all stores in memory: a few
rows each. It loads at start, again in the background once it is older than REFRESH_EVERY_S,
at once after this instance wrote a store, and once more when asked for a store it does not
know (created on another instance a moment ago). Another instance's change to an existing store
(its region, its lines) therefore reaches this one within REFRESH_EVERY_S.

While the database cannot be read, the last stores read stay in effect (at start: the default
store from the settings alone)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from app.stores.models import DEFAULT_STORE, Store, StoreLine
from app.stores.records import unwritten_default, view_of
from app.stores.schemas import StoreView

__all__ = ["KnownStore", "StoreDirectory"]

log = logging.getLogger("ringcard.stores")

REFRESH_EVERY_S: Final = 5.0
LOAD_TIMEOUT_S: Final = 1.5
SHOPIFY_DOMAIN_SUFFIX: Final = ".myshopify.com"


@dataclass(frozen=True, slots=True)
class KnownStore:
    """A store as in effect, with the webhook secrets its deliveries are verified with (kept
    here only: no view and no log shows them)."""

    view: StoreView
    shopify_secret: str | None
    woocommerce_secret: str | None

    @property
    def id(self) -> str:
        return self.view.id


@dataclass(frozen=True, slots=True)
class _Snapshot:
    stores: dict[str, KnownStore]
    by_line: dict[str, str]
    by_shop: dict[str, str]  # Shopify handle → store id
    by_site: dict[str, str]  # WooCommerce site, lower-cased, no trailing slash → store id


def _site_key(site: str) -> str:
    return site.strip().rstrip("/").lower()


def _known(store: Store, lines: list[str], settings: Settings) -> KnownStore:
    is_default = store.id == DEFAULT_STORE
    return KnownStore(
        view=view_of(store, lines, settings),
        shopify_secret=store.shopify_webhook_secret
        or (settings.shopify_webhook_secret if is_default else None),
        woocommerce_secret=store.woocommerce_webhook_secret
        or (settings.woocommerce_webhook_secret if is_default else None),
    )


def _snapshot(stores: list[Store], lines: list[tuple[str, str]], settings: Settings) -> _Snapshot:
    if all(store.id != DEFAULT_STORE for store in stores):
        stores = [*stores, unwritten_default()]
    lines_of: dict[str, list[str]] = {}
    for line, store_id in lines:
        lines_of.setdefault(store_id, []).append(line)
    known = {store.id: _known(store, lines_of.get(store.id, []), settings) for store in stores}
    by_shop: dict[str, str] = {}
    by_site: dict[str, str] = {}
    # The default store's shop and site come from the settings; a store naming the same one
    # itself is the one that claimed it.
    for store_id in sorted(known, key=lambda s: s != DEFAULT_STORE):
        view = known[store_id].view
        if view.shopify_shop:
            by_shop[view.shopify_shop] = store_id
        if view.woocommerce_url:
            by_site[_site_key(view.woocommerce_url)] = store_id
    return _Snapshot(known, {line: store_id for line, store_id in lines}, by_shop, by_site)


class StoreDirectory:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._snapshot = _snapshot([], [], settings)
        self._loaded_at = 0.0
        self._refreshing: asyncio.Task[None] | None = None

    async def load(self) -> None:
        """Read every store now; on failure keep what was known (and say why in the log)."""
        try:
            async with asyncio.timeout(LOAD_TIMEOUT_S), self._sessionmaker() as session:
                stores = list(await session.scalars(select(Store)))
                rows = await session.execute(select(StoreLine.line, StoreLine.store_id))
                lines = [(line, store_id) for line, store_id in rows]
                # The rows are plain values from here on: nothing reads them through the session.
                session.expunge_all()
        except Exception as exc:
            log.warning("stores not refreshed: %s", type(exc).__name__)
            return
        self._snapshot = _snapshot(stores, lines, self._settings)
        self._loaded_at = time.monotonic()

    async def stop(self) -> None:
        """At shutdown: a refresh still reading stops before the engine goes."""
        if self._refreshing is not None and not self._refreshing.done():
            self._refreshing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refreshing

    def _keep_fresh(self) -> None:
        if time.monotonic() - self._loaded_at > REFRESH_EVERY_S and (
            self._refreshing is None or self._refreshing.done()
        ):
            self._refreshing = asyncio.create_task(self.load())

    @property
    def default(self) -> KnownStore:
        return self._snapshot.stores[DEFAULT_STORE]

    def of_line(self, line: str) -> KnownStore:
        """The store whose line `line` (a line key) is; the default store for any other line."""
        self._keep_fresh()
        snapshot = self._snapshot
        return snapshot.stores.get(snapshot.by_line.get(line, DEFAULT_STORE)) or self.default

    def known(self, store_id: str) -> KnownStore | None:
        self._keep_fresh()
        return self._snapshot.stores.get(store_id)

    async def find(self, store_id: str) -> KnownStore | None:
        """The store, reading the stores again first when it is not known here (yet)."""
        found = self.known(store_id)
        if found is None:
            await self.load()
            found = self._snapshot.stores.get(store_id)
        return found

    def region_of(self, store_id: str) -> str | None:
        """The region `store_id` reads numbers in; None when there is no such store."""
        found = self.known(store_id)
        return found.view.region if found is not None else None

    def of_shopify_shop(self, domain: str) -> KnownStore | None:
        """The store of X-Shopify-Shop-Domain `domain` (acme.myshopify.com), if one has it."""
        self._keep_fresh()
        handle = domain.strip().lower().removesuffix(SHOPIFY_DOMAIN_SUFFIX)
        store_id = self._snapshot.by_shop.get(handle)
        return self._snapshot.stores.get(store_id) if store_id else None

    def of_woocommerce_site(self, source: str) -> KnownStore | None:
        """The store of X-WC-Webhook-Source `source` (https://shop.example/), if one has it."""
        self._keep_fresh()
        store_id = self._snapshot.by_site.get(_site_key(source))
        return self._snapshot.stores.get(store_id) if store_id else None

    def has_several(self) -> bool:
        """Whether there is a store besides the default one (cards then name their store)."""
        return len(self._snapshot.stores) > 1

    def all(self) -> list[KnownStore]:
        self._keep_fresh()
        return sorted(self._snapshot.stores.values(), key=lambda s: s.id)
