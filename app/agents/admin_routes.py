"""Agent management for the operator (admin key): list, change, delete.

Each change is committed before the running instances hear of it, and the answer goes out only
after this instance has applied it: once the admin has the 200/204, the agent's revoked tokens
fail on every instance (each request reads the agent, app/agents/access.py), its sockets here are
closed with 4401, the other instances' follow through the broker, and this instance's call
directory no longer rings a deactivated or deleted agent.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.changes import AgentChange
from app.agents.management import (
    AgentChanges,
    AgentNotFound,
    AgentPatch,
    AgentView,
    NewAgent,
    UsernameTaken,
    add_agent,
    delete_agent,
    list_agents,
    update_agent,
)
from app.agents.models import Role
from app.agents.passwords import HashingBusy, hash_password_async
from app.calls.directory import AgentDirectory
from app.deps import AdminKey, Directory, Hub, SessionDep, SettingsDep
from app.push.hub import PushHub
from app.settings import Settings

log = logging.getLogger("ringcard.agents")
router = APIRouter(prefix="/api/v1/agents", tags=["agents"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no agent has this username"}}


class AgentRecord(BaseModel):
    id: int
    username: str
    display_name: str
    lines: list[str]
    phone: str | None
    active: bool
    created_at: datetime
    role: Role

    @classmethod
    def of(cls, view: AgentView) -> AgentRecord:
        # The view's own fields, minus what the admin never sees (the token version).
        return cls.model_validate(view, from_attributes=True)


@router.get("", response_model=list[AgentRecord], summary="List agents")
async def list_all(session: SessionDep, _: AdminKey) -> list[AgentRecord]:
    """Every agent, active or not, by username."""
    return [AgentRecord.of(view) for view in await list_agents(session)]


@router.patch(
    "/{username}",
    response_model=AgentRecord,
    summary="Change an agent",
    responses={**_NOT_FOUND, 503: {"description": "too many passwords being hashed; see Retry-After"}},
)
async def change(
    username: str,
    body: AgentPatch,
    session: SessionDep,
    settings: SettingsDep,
    _: AdminKey,
    hub: Hub,
    directory: Directory,
) -> AgentRecord:
    """Change any of `display_name`, `lines`, `password`, `phone`, `active`, `role` (`agent`,
    `supervisor` or `admin`; counts from the agent's next request). A new password or
    `active: false` signs the agent out everywhere at once (its sockets close with 4401)."""
    password_hash = await hash_or_503(body.password) if body.password is not None else None
    try:
        view, agent_change = await update_agent(
            session, username, AgentChanges.from_patch(body, password_hash), region=settings.default_region
        )
    except AgentNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    await session.commit()
    await tell_instances(hub, directory, agent_change)
    return AgentRecord.of(view)


@router.delete(
    "/{username}", status_code=status.HTTP_204_NO_CONTENT, responses=_NOT_FOUND, summary="Delete an agent"
)
async def remove(username: str, session: SessionDep, _: AdminKey, hub: Hub, directory: Directory) -> Response:
    """Delete the agent: its tokens and sockets stop working at once; calls it answered stay in
    the call log under its username, and the username is free for a new agent."""
    try:
        agent_change = await delete_agent(session, username)
    except AgentNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    await session.commit()
    await tell_instances(hub, directory, agent_change)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def hash_or_503(password: str) -> str:
    """The password hashed off the event loop; 503 when the hashing threads are saturated."""
    try:
        return await hash_password_async(password)
    except HashingBusy as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "too many passwords being checked at once; retry in a second",
            headers={"Retry-After": "1"},
        ) from exc


async def create_announced(
    session: AsyncSession, body: NewAgent, settings: Settings, hub: PushHub, directory: AgentDirectory
) -> AgentView:
    """Create the agent (409 when the username is taken), commit, then tell every instance: the
    new agent's phone rings from the next call on, on every instance, each of which answers TwiML
    from its cached agent list and would otherwise learn of them only on its next refresh."""
    password_hash = await hash_or_503(body.password)
    try:
        view, change = await add_agent(
            session, body, password_hash=password_hash, region=settings.default_region
        )
    except UsernameTaken as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    await session.commit()
    await tell_instances(hub, directory, change)
    return view


async def tell_instances(hub: PushHub, directory: AgentDirectory, change: AgentChange) -> None:
    """After the commit. Failing here must not turn a committed change into a 500: REST access
    is already cut by the database, and the hubs' periodic recheck closes any socket missed."""
    try:
        await hub.agent_changed(change)
    except Exception:
        log.exception("agent %s changed, but telling the sockets failed", change.agent_id)
    # Awaited, not scheduled: the next call on this instance must not ring a deactivated agent.
    await directory.load()
