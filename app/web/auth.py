"""Who may call what: the sync and admin API keys, and agents' bearer tokens.

Every dependency here is `async def` although none awaits: FastAPI runs a plain `def` dependency
in the shared thread pool, so a queue of slow work there (a login flood once) would delay every
request that merely needs to read a header, signed webhooks included."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from app.agents.access import AgentAccess
from app.agents.tokens import AgentClaims, read_token
from app.settings import Settings


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def secret_matches(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


async def require_sync_key(request: Request, settings: SettingsDep) -> None:
    if not settings.sync_api_key:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "the sync API is switched off: set RINGCARD_SYNC_API_KEY"
        )
    if not secret_matches(settings.sync_api_key, bearer_token(request)):
        raise _unauthorised(
            "a valid sync API key is required (Authorization: Bearer <RINGCARD_SYNC_API_KEY>)"
        )


async def require_admin_key(request: Request, settings: SettingsDep) -> None:
    if not settings.admin_api_key:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "the admin API is switched off: set RINGCARD_ADMIN_API_KEY"
        )
    if not secret_matches(settings.admin_api_key, bearer_token(request)):
        raise _unauthorised(
            "a valid admin API key is required (Authorization: Bearer <RINGCARD_ADMIN_API_KEY>)"
        )


async def current_agent(request: Request) -> AgentClaims:
    """The agent of a valid token, as the agent is now. A token of an agent deactivated or
    deleted since, or issued before its password last changed, is refused at once, on every
    instance: one primary-key read per request (why no cache: app/agents/access.py)."""
    token = bearer_token(request)
    claims = read_token(request.app.state.token_key, token) if token else None
    if claims is None:
        raise _unauthorised("a valid agent token is required (POST /auth/token)")
    access: AgentAccess = request.app.state.agent_access
    current = await access.current(claims)
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
