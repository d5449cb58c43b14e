"""Which calls are a store's: for the call log's and the KPIs' store filter."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_

from app.calls.models import Call
from app.stores.models import DEFAULT_STORE


def of_store(store_id: str) -> ColumnElement[bool]:
    """The calls on the store's lines; those logged before stores existed (NULL) are the default
    store's, as everything else from then is."""
    if store_id == DEFAULT_STORE:
        return or_(Call.store_id == DEFAULT_STORE, Call.store_id.is_(None))
    return Call.store_id == store_id
