"""Agents: creation by the operator, sign-in for the console."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.agents.models import Agent
from app.agents.new_agent import new_agent
from app.agents.passwords import verify_password
from app.agents.tokens import AgentClaims, issue_token
from app.auth import AdminKey, CurrentAgent, SettingsDep
from app.db import SessionDep

router = APIRouter()


class AgentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    password: Annotated[str, StringConstraints(min_length=8, max_length=1024)]
    lines: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=lambda: ["*"], max_length=500
    )
    phone: Annotated[str, StringConstraints(max_length=64)] | None = None


class AgentOut(BaseModel):
    id: int
    username: str
    display_name: str
    lines: list[str]
    phone: str | None


class TokenIn(BaseModel):
    username: Annotated[str, StringConstraints(max_length=64)]
    password: Annotated[str, StringConstraints(max_length=1024)]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


@router.post("/api/v1/agents", status_code=status.HTTP_201_CREATED, response_model=AgentOut, tags=["agents"])
async def create_agent(body: AgentIn, session: SessionDep, settings: SettingsDep, _: AdminKey) -> AgentOut:
    agent = new_agent(
        body.username, body.display_name, body.password, body.lines, body.phone, settings.default_region
    )
    session.add(agent)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"username {body.username!r} is taken") from exc
    return AgentOut(
        id=agent.id,
        username=agent.username,
        display_name=agent.display_name,
        lines=agent.lines,
        phone=body.phone,
    )


@router.post("/auth/token", response_model=TokenOut, tags=["agents"])
async def sign_in(body: TokenIn, request: Request, session: SessionDep, settings: SettingsDep) -> TokenOut:
    agent = await session.scalar(select(Agent).where(Agent.username == body.username, Agent.is_active))
    if not await verify_password(agent.password_hash if agent else None, body.password) or agent is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    key: str = request.app.state.token_key
    claims = AgentClaims(agent.id, agent.username, agent.display_name)
    return TokenOut(
        access_token=issue_token(key, claims, settings.token_ttl_s), expires_in=settings.token_ttl_s
    )


@router.get("/api/v1/agents/me", response_model=AgentOut, tags=["agents"])
async def who_am_i(agent: CurrentAgent, session: SessionDep) -> AgentOut:
    row = await session.get(Agent, agent.agent_id)
    if row is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "this agent no longer exists")
    return AgentOut(
        id=row.id, username=row.username, display_name=row.display_name, lines=row.lines, phone=row.phone_raw
    )
