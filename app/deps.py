"""What a route may ask for: the application's parts, typed, and who may call it.

Routes name what they use (`intake: Intake`, `session: SessionDep`, `agent: CurrentAgent`) instead of
reading `request.app.state`, so a signature says what a handler touches and mypy checks it. The
parts live in one `AppState`, which `create_app` and its lifespan (app/main.py) fill.

Every dependency here is `async def` although few await: FastAPI runs a plain `def` dependency in
the shared thread pool, so a queue of slow work there (a login flood once) would delay every
request that merely needs to read a header, signed webhooks included.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request, status
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.datastructures import State
from starlette.requests import HTTPConnection

from app.agents.access import AgentAccess
from app.agents.sign_in_limits import SignInLimits
from app.agents.tokens import AgentClaims, read_token
from app.calls.directory import AgentDirectory
from app.calls.intake import CallIntake
from app.card.rules import CardRules
from app.card.store_rules import StoreCardRules
from app.integrations.recorder import IntegrationRecorder
from app.push.broker import Broker
from app.push.hub import PushHub
from app.settings import Settings
from app.stores.directory import KnownStore, StoreDirectory
from app.stores.models import DEFAULT_STORE
from app.summaries.worker import SummaryWorker
from app.web.auth import bearer_token, secret_matches


class AppState(State):
    """Everything the application keeps between requests: it is `app.state`.

    `create_app` sets the settings, the card rules, the clock and the background tasks; the
    lifespan sets the rest when the app starts (nothing connects at import time), so reading
    one of those before then fails as an unset attribute would. A Starlette `State`, so that tests
    may still put a part in place: a fixed clock before the app starts, an engine that cannot
    connect."""

    settings: Settings
    card_rules: CardRules
    # Unix seconds, for what is timed on arrival (CTI events, Telnyx timestamps): tests pin it.
    clock: Callable[[], float]
    # Work a request starts but does not wait for (a simulated call's later steps); held here so
    # the tasks are not garbage-collected half-way.
    background: set[asyncio.Task[Any]]

    # Set by the lifespan.
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    token_key: str
    sign_in_limits: SignInLimits
    agent_access: AgentAccess
    push: PushHub
    broker: Broker
    intake: CallIntake
    integrations: IntegrationRecorder
    directory: AgentDirectory
    stores: StoreDirectory
    store_rules: StoreCardRules
    summaries: SummaryWorker

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.card_rules = CardRules.from_settings(settings)
        self.clock = time.time
        self.background = set()


def state_of(connection: HTTPConnection) -> AppState:
    """The state of the app serving this request or socket."""
    state: AppState = connection.app.state
    return state


# --- the application's parts ----------------------------------------------------------------


async def _state(connection: HTTPConnection) -> AppState:
    return state_of(connection)


async def _settings(connection: HTTPConnection) -> Settings:
    # Async although it awaits nothing: FastAPI runs a plain `def` dependency in the thread pool.
    return state_of(connection).settings


async def _sessionmaker(connection: HTTPConnection) -> async_sessionmaker[AsyncSession]:
    return state_of(connection).sessionmaker


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: committed when the handler returns, rolled back on error.
    Handlers and services only flush."""
    async with state_of(request).sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def _card_rules(connection: HTTPConnection) -> CardRules:
    return state_of(connection).card_rules


async def _clock(connection: HTTPConnection) -> Callable[[], float]:
    return state_of(connection).clock


async def _intake(connection: HTTPConnection) -> CallIntake:
    return state_of(connection).intake


async def _hub(connection: HTTPConnection) -> PushHub:
    return state_of(connection).push


async def _directory(connection: HTTPConnection) -> AgentDirectory:
    return state_of(connection).directory


async def _store_rules(connection: HTTPConnection) -> StoreCardRules:
    return state_of(connection).store_rules


async def _stores(connection: HTTPConnection) -> StoreDirectory:
    return state_of(connection).stores


async def _store_named(
    stores: Annotated[StoreDirectory, Depends(_stores)],
    store: Annotated[
        str,
        Query(max_length=64, description="the store the records belong to (docs/stores.md)"),
    ] = DEFAULT_STORE,
) -> KnownStore:
    """The store a sync request names (`?store=`), or 404 naming it when there is none."""
    found = await stores.find(store)
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no store {store!r}: create it first (PUT /api/v1/stores/{{id}})"
        )
    return found


async def _recorder(connection: HTTPConnection) -> IntegrationRecorder:
    return state_of(connection).integrations


async def _sign_in_limits(connection: HTTPConnection) -> SignInLimits:
    return state_of(connection).sign_in_limits


async def _token_key(connection: HTTPConnection) -> str:
    return state_of(connection).token_key


StateDep = Annotated[AppState, Depends(_state)]
Sessions = Annotated[async_sessionmaker[AsyncSession], Depends(_sessionmaker)]
SettingsDep = Annotated[Settings, Depends(_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
CardRulesDep = Annotated[CardRules, Depends(_card_rules)]
StoreRulesDep = Annotated[StoreCardRules, Depends(_store_rules)]
Clock = Annotated[Callable[[], float], Depends(_clock)]
Intake = Annotated[CallIntake, Depends(_intake)]
Hub = Annotated[PushHub, Depends(_hub)]
Directory = Annotated[AgentDirectory, Depends(_directory)]
Stores = Annotated[StoreDirectory, Depends(_stores)]
NamedStore = Annotated[KnownStore, Depends(_store_named)]
Recorder = Annotated[IntegrationRecorder, Depends(_recorder)]
SignInLimitsDep = Annotated[SignInLimits, Depends(_sign_in_limits)]
TokenKey = Annotated[str, Depends(_token_key)]


# --- switched off until configured ----------------------------------------------------------


def switched_off(setting: str, off: str) -> str:
    """What an integration answers while its secret is unset: `<off>: set RINGCARD_<SETTING>`."""
    return f"{off}: set RINGCARD_{setting.upper()}"


def require_secret(setting: str, off: str) -> Callable[[HTTPConnection], Awaitable[str]]:
    """A dependency giving the secret in the `setting` field of the settings (the sync API key,
    a provider's token or key, a platform's webhook secret), or answering 404 while it is unset:
    an integration without its secret is switched off, never open. `off` says what is, e.g.
    "Twilio is switched off"; the answer's detail adds which variable to set."""
    if setting not in Settings.model_fields:
        raise ValueError(f"no setting {setting!r}")
    message = switched_off(setting, off)

    async def configured_secret(connection: HTTPConnection) -> str:
        secret: str | None = getattr(state_of(connection).settings, setting)
        if not secret:
            raise HTTPException(status.HTTP_404_NOT_FOUND, message)
        return secret

    return configured_secret


# --- who may call ----------------------------------------------------------------------------


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


_sync_api_key = require_secret("sync_api_key", "the sync API is switched off")
_admin_api_key = require_secret("admin_api_key", "the admin API is switched off")


async def require_sync_key(request: Request, key: Annotated[str, Depends(_sync_api_key)]) -> None:
    if not secret_matches(key, bearer_token(request)):
        raise _unauthorised(
            "a valid sync API key is required (Authorization: Bearer <RINGCARD_SYNC_API_KEY>)"
        )


async def require_admin_key(request: Request, key: Annotated[str, Depends(_admin_api_key)]) -> None:
    if not secret_matches(key, bearer_token(request)):
        raise _unauthorised(
            "a valid admin API key is required (Authorization: Bearer <RINGCARD_ADMIN_API_KEY>)"
        )


async def current_agent(request: Request) -> AgentClaims:
    """The agent of a valid token, as the agent is now. A token of an agent deactivated or
    deleted since, or issued before its password last changed, is refused at once, on every
    instance: one primary-key read per request (why no cache: app/agents/access.py)."""
    state = state_of(request)
    token = bearer_token(request)
    claims = read_token(state.token_key, token) if token else None
    if claims is None:
        raise _unauthorised("a valid agent token is required (POST /auth/token)")
    current = await state.agent_access.current(claims)
    if current is None:
        raise _unauthorised(
            "this token was revoked (the agent was deactivated or deleted, or its password "
            "changed): sign in again (POST /auth/token)"
        )
    return current


async def agent_or_sync(request: Request, settings: SettingsDep) -> AgentClaims | None:
    """Agents and the store backend may both read cards."""
    token = bearer_token(request)
    if token and secret_matches(settings.sync_api_key, token):
        return None
    return await current_agent(request)


async def admin_or_agent(request: Request, settings: SettingsDep) -> AgentClaims | None:
    """The operator (admin key) or any signed-in agent: read-only views both may see."""
    token = bearer_token(request)
    if token and secret_matches(settings.admin_api_key, token):
        return None
    return await current_agent(request)


SyncKey = Annotated[None, Depends(require_sync_key)]
AdminKey = Annotated[None, Depends(require_admin_key)]
CurrentAgent = Annotated[AgentClaims, Depends(current_agent)]
AgentOrSync = Annotated[AgentClaims | None, Depends(agent_or_sync)]
AdminOrAgent = Annotated[AgentClaims | None, Depends(admin_or_agent)]
