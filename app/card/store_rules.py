"""The card rules of each store (its currency, tiers and links), compiled once per version of
the store and read from the in-memory store directory: a pop never waits for them."""

from __future__ import annotations

from app.card.rules import CardRules
from app.settings import Settings
from app.stores.directory import KnownStore, StoreDirectory


class StoreCardRules:
    def __init__(self, settings: Settings, stores: StoreDirectory, default: CardRules) -> None:
        self._settings = settings
        self._stores = stores
        # The rules with one store only: the settings', and no store named on the card.
        self._default = default
        # Per store: the directory's entry the rules were compiled from (a reload makes new ones).
        self._compiled: dict[str, tuple[KnownStore, CardRules]] = {}

    @property
    def stores(self) -> StoreDirectory:
        return self._stores

    def _rules(self, store: KnownStore) -> CardRules:
        if not self._stores.has_several():
            return self._default
        kept = self._compiled.get(store.id)
        if kept is None or kept[0] is not store:
            kept = (store, CardRules.for_store(self._settings, store.view, named=True))
            self._compiled[store.id] = kept
        return kept[1]

    def of(self, store_id: str) -> CardRules:
        """The rules of `store_id` (the default store's for one that is gone)."""
        return self._rules(self._stores.known(store_id) or self._stores.default)

    def of_line(self, line: str) -> CardRules:
        return self._rules(self._stores.of_line(line))
