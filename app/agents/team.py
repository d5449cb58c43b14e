"""The team page's rules: what a supervisor or an admin may do to the agents through it.

* Agents with the role `agent` have no team page (403).
* Only an admin grants the admin role, and only an admin changes an admin in any way (lines,
  password, deactivation, removing the role). The target's role is checked in the same UPDATE
  that writes (`only_if`), so an agent promoted to admin a moment before a supervisor's change
  is not changed by it.
* Nobody deactivates themselves or changes their own role here: a supervisor would lock
  themselves out, and the last admin would leave nobody to undo it (the operator's admin key
  still can, through the admin API or `ringcard update-agent`).

Everything else goes through the same functions as the admin API (app/agents/management.py):
one statement per change, the token version bumped in it when a password changes or an agent is
deactivated.
"""

from __future__ import annotations

import secrets
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.changes import AgentChange
from app.agents.management import (
    AgentChanges,
    AgentNotFound,
    AgentView,
    NewAgent,
    get_agent,
    update_agent,
)
from app.agents.models import Agent, Role
from app.agents.tokens import AgentClaims

# No 0/o, 1/l/i: a password read out over the phone or copied from a screen by eye.
_ALPHABET: Final = "abcdefghjkmnpqrstuvwxyz23456789"
_GROUPS: Final = 3
_GROUP_CHARS: Final = 4

NOT_ON_THE_TEAM: Final = "the team page is for supervisors and admins; your role is {role}"
ONLY_ADMINS_GRANT_ADMIN: Final = "role: only an admin may make an agent an admin"
ONLY_ADMINS_CHANGE_ADMINS: Final = "only an admin may change an admin ({username})"
NOT_YOURSELF_ACTIVE: Final = "active: you cannot deactivate yourself; ask another supervisor or an admin"
NOT_YOURSELF_ROLE: Final = "role: you cannot change your own role; ask an admin"


class TeamRefusal(PermissionError):
    """The signed-in agent may not do this (403); the message says why."""


def generated_password() -> str:
    """A new password to hand over once: 12 letters and digits in groups (about 59 bits)."""
    groups = ("".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_CHARS)) for _ in range(_GROUPS))
    return "-".join(groups)


def check_may_add(actor: AgentClaims, agent: NewAgent) -> None:
    if agent.role is Role.ADMIN and actor.role != Role.ADMIN:
        raise TeamRefusal(ONLY_ADMINS_GRANT_ADMIN)


def _check_may_change(actor: AgentClaims, username: str, changes: AgentChanges) -> None:
    yourself = actor.username == username
    if yourself and changes.active is False:
        raise TeamRefusal(NOT_YOURSELF_ACTIVE)
    if yourself and changes.role is not None and changes.role != actor.role:
        raise TeamRefusal(NOT_YOURSELF_ROLE)
    if changes.role is Role.ADMIN and actor.role != Role.ADMIN:
        raise TeamRefusal(ONLY_ADMINS_GRANT_ADMIN)


async def change_team_member(
    session: AsyncSession, actor: AgentClaims, username: str, changes: AgentChanges, *, region: str
) -> tuple[AgentView, AgentChange]:
    """Apply `changes` to the agent if `actor` may; raises TeamRefusal or AgentNotFound."""
    _check_may_change(actor, username, changes)
    only_if = () if actor.role == Role.ADMIN else (Agent.role != Role.ADMIN.value,)
    try:
        return await update_agent(session, username, changes, region=region, only_if=only_if)
    except AgentNotFound:
        if only_if and (await get_agent(session, username)).role is Role.ADMIN:
            raise TeamRefusal(ONLY_ADMINS_CHANGE_ADMINS.format(username=username)) from None
        raise
