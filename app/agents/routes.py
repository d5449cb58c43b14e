"""Agents: creation by the operator, sign-in for the console."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, StringConstraints
from sqlalchemy import select

from app.agents.admin_routes import create_announced
from app.agents.management import NewAgent
from app.agents.models import Agent, Role
from app.agents.passwords import HashingBusy, hashing_is_full, verify_password
from app.agents.tokens import AgentClaims, issue_token
from app.deps import (
    AdminKey,
    CurrentAgent,
    Directory,
    Hub,
    SessionDep,
    Sessions,
    SettingsDep,
    SignInLimitsDep,
    Stores,
    TokenKey,
)

router = APIRouter()


class StoreBadgeOut(BaseModel):
    id: str
    name: str
    colour: str | None


class AgentOut(BaseModel):
    id: int
    username: str
    display_name: str
    lines: list[str]
    phone: str | None
    role: Role
    # The deployment's stores, for the console's store names, colours and filters; [] while
    # there is one store only (nothing to tell apart).
    stores: list[StoreBadgeOut] = []


class TokenIn(BaseModel):
    username: Annotated[str, StringConstraints(max_length=64)]
    password: Annotated[str, StringConstraints(max_length=1024)]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


@router.post("/api/v1/agents", status_code=status.HTTP_201_CREATED, response_model=AgentOut, tags=["agents"])
async def create_agent(
    body: NewAgent, session: SessionDep, settings: SettingsDep, _: AdminKey, hub: Hub, directory: Directory
) -> AgentOut:
    """Create an agent; `role` is `agent` (the default), `supervisor` or `admin`."""
    view = await create_announced(session, body, settings, hub, directory)
    return AgentOut(
        id=view.id,
        username=view.username,
        display_name=view.display_name,
        lines=view.lines,
        phone=view.phone,
        role=view.role,
    )


def _busy() -> HTTPException:
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        "too many sign-ins at once; retry in a second",
        headers={"Retry-After": "1"},
    )


@router.post(
    "/auth/token",
    response_model=TokenOut,
    tags=["agents"],
    responses={429: {"description": "too many attempts; see Retry-After"}, 503: {"description": "busy"}},
)
async def sign_in(
    body: TokenIn,
    request: Request,
    settings: SettingsDep,
    limits: SignInLimitsDep,
    sessions: Sessions,
    key: TokenKey,
) -> TokenOut:
    address = request.client.host if request.client else "unknown"
    refusal = await limits.attempt(address, body.username)
    if refusal is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"{refusal.reason}; retry in {refusal.retry_after_s} s",
            headers={"Retry-After": str(refusal.retry_after_s)},
        )
    if hashing_is_full():
        raise _busy()
    # The row is read in a session of its own, closed before the hash runs: a sign-in waiting for
    # Argon2 must not hold one of the pool's connections that lookups and calls need.
    async with sessions() as session:
        agent = await session.scalar(select(Agent).where(Agent.username == body.username, Agent.is_active))
    try:
        verified = await verify_password(agent.password_hash if agent else None, body.password)
    except HashingBusy as exc:
        raise _busy() from exc
    if not verified or agent is None:
        await limits.failed(body.username)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    # The version read with the password hash: if a revocation commits after that read, this
    # token is refused at its first use (its version is then an old one).
    claims = AgentClaims(agent.id, agent.username, agent.display_name, agent.token_version)
    return TokenOut(
        access_token=issue_token(key, claims, settings.token_ttl_s), expires_in=settings.token_ttl_s
    )


@router.get("/api/v1/agents/me", response_model=AgentOut, tags=["agents"])
async def who_am_i(agent: CurrentAgent, session: SessionDep, stores: Stores) -> AgentOut:
    """The signed-in agent, with its `role` as it is now (the console shows the Team tab to a
    supervisor or admin)."""
    row = await session.get(Agent, agent.agent_id)
    if row is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "this agent no longer exists")
    return AgentOut(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        lines=row.lines,
        phone=row.phone_raw,
        role=Role(row.role),
        stores=[StoreBadgeOut(id=s.id, name=s.view.name, colour=s.view.colour) for s in stores.all()]
        if stores.has_several()
        else [],
    )
