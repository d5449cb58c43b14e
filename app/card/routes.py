"""`GET /api/v1/lookup?number=`: the card for a number, without a call (`store=`: as a call on
that store's line would show it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.card.build import build_card
from app.card.serialise import card_bytes
from app.db import utcnow
from app.deps import AgentOrSync, NamedStore, SessionDep, StoreRulesDep
from app.kit.phones import normalise

router = APIRouter(prefix="/api/v1", tags=["lookup"])


@router.get(
    "/lookup",
    responses={
        200: {"description": "The context card (docs/api.md#the-card)", "content": {"application/json": {}}}
    },
)
async def lookup(
    _: AgentOrSync,
    session: SessionDep,
    rules: StoreRulesDep,
    store: NamedStore,
    number: Annotated[str, Query(max_length=256, description="the caller's number, in any format")],
    customer: Annotated[
        str | None,
        Query(
            max_length=255, description="external id of the candidate an agent picked on an ambiguous card"
        ),
    ] = None,
) -> Response:
    card = await build_card(
        session,
        normalise(number, store.view.region),
        rules.of(store.id),
        utcnow(),
        chosen_customer=customer,
        rules_of=rules.of,
    )
    return Response(card_bytes(card), media_type="application/json")
