"""`/api/v1/team`: the team page's API, for agents whose role is supervisor or admin.

The caller's role is the one in the database at this request (app/agents/access.py reads it on
every request), so a supervisor demoted a moment ago is refused at once, on every instance. What
each role may do is in app/agents/team.py; who is online in app/agents/presence.py. Changes are
committed before the running instances hear of them, as in the admin API
(app/agents/admin_routes.py): once the answer is out, a deactivated or re-passworded agent's
tokens fail everywhere and its sockets close with 4401.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.admin_routes import create_announced, hash_or_503, tell_instances
from app.agents.management import (
    AgentChanges,
    AgentNotFound,
    AgentPatch,
    AgentView,
    NewAgent,
    Password,
    list_agents,
)
from app.agents.models import Role
from app.agents.presence import online_agents
from app.agents.roles import runs_the_team
from app.agents.team import (
    NOT_ON_THE_TEAM,
    TeamRefusal,
    change_team_member,
    check_may_add,
    generated_password,
)
from app.agents.tokens import AgentClaims
from app.calls.directory import AgentDirectory
from app.deps import CurrentAgent, Directory, Hub, SessionDep, SettingsDep
from app.push.hub import PushHub

router = APIRouter(prefix="/api/v1/team", tags=["team"])

_REFUSED: dict[int | str, dict[str, Any]] = {
    403: {"description": "the caller's role may not do this (the detail says why)"},
}
_CHANGE: dict[int | str, dict[str, Any]] = {
    **_REFUSED,
    404: {"description": "no agent has this username"},
    503: {"description": "too many passwords being hashed; see Retry-After"},
}


async def team_member(agent: CurrentAgent) -> AgentClaims:
    """The signed-in agent, if its role (as it is now) runs the team page; else 403."""
    if not runs_the_team(agent.role):
        raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_ON_THE_TEAM.format(role=agent.role))
    return agent


TeamMember = Annotated[AgentClaims, Depends(team_member)]


class TeamAgent(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    lines: list[str]
    phone: str | None
    active: bool
    # A push socket open on any instance right now (app/agents/presence.py).
    online: bool
    created_at: datetime

    @classmethod
    def of(cls, view: AgentView, online: set[int]) -> TeamAgent:
        return cls(
            id=view.id,
            username=view.username,
            display_name=view.display_name,
            role=view.role,
            lines=view.lines,
            phone=view.phone,
            active=view.active,
            online=view.id in online,
            created_at=view.created_at,
        )


class PasswordReset(BaseModel):
    """Leave `password` out to have one generated (it is in the answer, once)."""

    model_config = ConfigDict(extra="forbid")

    password: Password | None = None


class PasswordResetDone(BaseModel):
    username: str
    # The generated password, shown this once (null when the caller chose it).
    generated_password: str | None


@router.get("/agents", response_model=list[TeamAgent], responses=_REFUSED, summary="The team")
async def team(session: SessionDep, hub: Hub, _: TeamMember) -> list[TeamAgent]:
    """Every agent, active or not, by username, with whether it is online now on any instance."""
    online = await online_agents(session, instance_id=hub.instance_id, here=hub.online_agent_ids())
    return [TeamAgent.of(view, online) for view in await list_agents(session)]


@router.post(
    "/agents",
    status_code=status.HTTP_201_CREATED,
    response_model=TeamAgent,
    responses={**_CHANGE, 409: {"description": "the username is taken"}},
    summary="Add an agent",
)
async def add(
    body: NewAgent,
    session: SessionDep,
    settings: SettingsDep,
    hub: Hub,
    directory: Directory,
    actor: TeamMember,
) -> TeamAgent:
    """Add an agent: `username`, `display_name`, its first `password` (the same rule as
    everywhere), `lines` (default every line, `*`), `phone`, `role` (only an admin adds an admin)."""
    try:
        check_may_add(actor, body)
    except TeamRefusal as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    view = await create_announced(session, body, settings, hub, directory)
    return TeamAgent.of(view, set())


@router.patch("/agents/{username}", response_model=TeamAgent, responses=_CHANGE, summary="Change an agent")
async def change(
    username: str,
    body: AgentPatch,
    session: SessionDep,
    settings: SettingsDep,
    hub: Hub,
    directory: Directory,
    actor: TeamMember,
) -> TeamAgent:
    """Change any of `display_name`, `lines`, `phone`, `active` (false deactivates: signed out
    everywhere at once; true reactivates: the agent signs in again), `role`, `password`."""
    password_hash = await hash_or_503(body.password) if body.password is not None else None
    changes = AgentChanges.from_patch(body, password_hash)
    view = await _change(session, actor, username, changes, settings.default_region, hub, directory)
    online = await online_agents(session, instance_id=hub.instance_id, here=hub.online_agent_ids())
    return TeamAgent.of(view, online)


@router.post(
    "/agents/{username}/password",
    response_model=PasswordResetDone,
    responses=_CHANGE,
    summary="Reset an agent's password",
)
async def reset_password(
    username: str,
    body: PasswordReset,
    session: SessionDep,
    settings: SettingsDep,
    hub: Hub,
    directory: Directory,
    actor: TeamMember,
) -> PasswordResetDone:
    """Give the agent a new password (the one in the body, or a generated one returned here once).
    Every token the agent holds stops working at once; its consoles must sign in again."""
    generated = generated_password() if body.password is None else None
    password_hash = await hash_or_503(body.password or generated or "")
    changes = AgentChanges(password_hash=password_hash, revoke_tokens=True)
    view = await _change(session, actor, username, changes, settings.default_region, hub, directory)
    return PasswordResetDone(username=view.username, generated_password=generated)


async def _change(
    session: AsyncSession,
    actor: AgentClaims,
    username: str,
    changes: AgentChanges,
    region: str,
    hub: PushHub,
    directory: AgentDirectory,
) -> AgentView:
    try:
        view, agent_change = await change_team_member(session, actor, username, changes, region=region)
    except TeamRefusal as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except AgentNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    await session.commit()
    await tell_instances(hub, directory, agent_change)
    return view
