"""What an agent may do beyond answering calls: its role.

`agent` answers calls; `supervisor` also runs the team page (lists agents and who is online, adds
and deactivates agents, sets their lines, resets passwords); `admin` may do all that to anyone,
including granting and removing the admin role. The operator's admin API key stands above every
role (it is how the first admin is made).

A role is read from the database on every request (app/agents/access.py), never from the token:
a demoted supervisor loses the team page at their next request, on every instance.
"""

from __future__ import annotations

from typing import Final

from app.agents.models import ROLES, Role

__all__ = ["ROLES", "TEAM_ROLES", "Role", "runs_the_team"]
# The roles the team page opens for.
TEAM_ROLES: Final = frozenset({Role.SUPERVISOR, Role.ADMIN})


def runs_the_team(role: str) -> bool:
    return role in TEAM_ROLES
