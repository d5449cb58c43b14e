"""`/api/v1/stores`: the stores this Ringcard serves, for the operator (admin key). A PUT writes a
store whole: 201 when it is new, 200 when replaced; a bad field is a 422 naming it, a line another
store has a 409 naming that store, and nothing is written in either case (the request's session
rolls back, app/deps.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response, status
from sqlalchemy.exc import IntegrityError

from app.deps import AdminKey, SessionDep, SettingsDep, Stores
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
from app.stores.schemas import STORE_ID, STORE_ID_RULE, StoreIn, StoreView

router = APIRouter(prefix="/api/v1/stores", tags=["stores"])
StoreId = Annotated[str, Path(pattern=STORE_ID.pattern, description=STORE_ID_RULE)]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no store has this id"}}


def _not_found(store_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no store {store_id!r}")


@router.get("")
async def stores(session: SessionDep, settings: SettingsDep, _admin: AdminKey) -> list[StoreView]:
    """Every store, as in effect (empty fields are the deployment's settings, named in `inherited`)."""
    return await list_stores(session, settings)


@router.get("/{store_id}", responses=_NOT_FOUND)
async def store(store_id: StoreId, session: SessionDep, settings: SettingsDep, _admin: AdminKey) -> StoreView:
    try:
        return await get_store(session, store_id, settings)
    except StoreNotFound:
        raise _not_found(store_id) from None


@router.put(
    "/{store_id}",
    status_code=status.HTTP_200_OK,
    responses={201: {"description": "the store is new"}, 409: {"description": "a line is another store's"}},
)
async def write_store(
    store_id: StoreId,
    given: StoreIn,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    stores: Stores,
    _admin: AdminKey,
) -> StoreView:
    try:
        view, created = await put_store(session, store_id, given, settings)
        await session.commit()  # the answer says it is written only once it is
    except (LineTaken, ShopTaken) as taken:
        raise HTTPException(status.HTTP_409_CONFLICT, str(taken)) from None
    except IntegrityError:
        # Another store claimed the same shop or site in the same instant.
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "another store took this Shopify shop or WooCommerce site at the same time; read it again",
        ) from None
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None
    # This instance routes by the store at once; the others within their refresh (docs/stores.md).
    await stores.load()
    if created:
        response.status_code = status.HTTP_201_CREATED
    return view


@router.delete("/{store_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_NOT_FOUND)
async def remove_store(store_id: StoreId, session: SessionDep, stores: Stores, _admin: AdminKey) -> Response:
    """Delete a store and its lines (not `default`, which holds everything written without a store)."""
    try:
        await delete_store(session, store_id)
        await session.commit()
    except StoreNotFound:
        raise _not_found(store_id) from None
    except (DefaultStoreKept, StoreInUse) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    await stores.load()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
