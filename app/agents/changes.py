"""What the running instances must hear after an agent was changed (once the change is committed).

It lives with the agents, not with the push that carries it: app/agents/management.py returns it
and sits below app/push, which encodes it for the other instances and applies it to open sockets.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AgentChange:
    """An admin changed an agent (on some instance, after the commit)."""

    agent_id: int
    # Tokens issued under a version below this one no longer open anything (a password change
    # or a deactivation bumped the version); None: no token was revoked (lines, name, phone).
    revoke_below: int | None = None
    # Every token of the agent is revoked, whatever its version (the agent was deleted).
    revoke_all: bool = False

    @property
    def revokes(self) -> bool:
        return self.revoke_all or self.revoke_below is not None
