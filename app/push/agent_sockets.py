"""Each agent's open sockets on this process, and which of them may stay open.

Every socket is kept with the token version its agent signed in under. When an admin revokes an
agent's tokens (deactivation, deletion, a new password) the sockets signed in under a revoked
version close with 4401; the hub does that on the instance where the change was made and on the
others when the broker brings them the news. A message the broker lost (an instance cut off from
Redis just then) is made good by `recheck`, which asks the database (the hub runs it periodically
and after every resubscription).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Protocol

from app.agents.changes import AgentChange
from app.push.connection import CLOSE_UNAUTHENTICATED, Connection
from app.push.metrics import SOCKETS_REVOKED

log = logging.getLogger("ringcard.push")

# How often the open sockets' agents are checked against the database: the bound on how long a
# revoked agent keeps a socket when the broker lost the revocation (or the change came from the
# CLI without Redis to tell the instances). One indexed query per instance per period.
RECHECK_EVERY_S = 30.0

_REVOKED_REASON = "signed out: sign in again"


class TokenVersions(Protocol):
    """Where the hub learns which agents may keep their sockets (app.agents.access.AgentAccess)."""

    async def token_versions(self, agent_ids: Collection[int]) -> Mapping[int, int]:
        """The current token version of each of these agents that is still active."""
        ...


class AgentRevoked(Exception):
    """The token a socket signed in with was revoked while it did."""


class AgentSockets:
    def __init__(self) -> None:
        # Each agent's sockets, oldest first, with the token version each signed in under.
        self._by_agent: dict[int, dict[Connection, int]] = {}
        # Tokens revoked so far: an agent's tokens below this version (None: all of them). Kept
        # for the life of the process (a few ints per agent ever revoked) so that a socket whose
        # sign-in read the agent just before the revocation cannot register just after it.
        self._revoked: dict[int, int | None] = {}

    def add(self, conn: Connection, token_version: int) -> None:
        self._by_agent.setdefault(conn.agent_id, {})[conn] = token_version

    def remove(self, conn: Connection) -> None:
        mine = self._by_agent.get(conn.agent_id)
        if mine is not None:
            mine.pop(conn, None)
            if not mine:
                del self._by_agent[conn.agent_id]

    def open_sockets(self, agent_id: int) -> list[Connection]:
        """The agent's sockets not yet closing, oldest first."""
        return [conn for conn in self._by_agent.get(agent_id, ()) if conn.close_code is None]

    def is_revoked(self, agent_id: int, token_version: int) -> bool:
        if agent_id not in self._revoked:
            return False
        floor = self._revoked[agent_id]
        return floor is None or token_version < floor

    def revoke(self, agent_id: int, *, below_version: int | None = None) -> int:
        """Close the agent's sockets signed in under a version below `below_version` (every one
        when None) with 4401, and refuse such tokens from now on. Returns how many were closed."""
        known = self._revoked.get(agent_id, 0)
        self._revoked[agent_id] = (
            None if below_version is None or known is None else max(known, below_version)
        )
        closed = 0
        for conn, token_version in list(self._by_agent.get(agent_id, {}).items()):
            if conn.close_code is None and self.is_revoked(agent_id, token_version):
                conn.close(CLOSE_UNAUTHENTICATED, _REVOKED_REASON)
                closed += 1
        SOCKETS_REVOKED.inc(closed)
        return closed

    def apply(self, change: AgentChange) -> int:
        """Act on an admin's change to an agent; returns the sockets closed."""
        if change.revoke_all:
            return self.revoke(change.agent_id)
        if change.revoke_below is not None:
            return self.revoke(change.agent_id, below_version=change.revoke_below)
        return 0

    async def recheck(self, token_versions: TokenVersions) -> int:
        """Close the sockets whose agent the database no longer lets in (deleted, deactivated, or
        a newer token version). Returns how many were closed."""
        if not self._by_agent:
            return 0
        # Only sockets registered before the query: a socket that signs in while it runs was
        # checked by a read newer than this one and must not be judged by this one's answer.
        seen = [(conn, version) for mine in self._by_agent.values() for conn, version in mine.items()]
        try:
            current = await token_versions.token_versions({conn.agent_id for conn, _ in seen})
        except Exception as exc:  # the database is away: the next round (or the broker) will do
            log.warning("could not recheck agents' sockets: %s", type(exc).__name__)
            return 0
        closed = 0
        for conn, version in seen:
            if conn.close_code is None and current.get(conn.agent_id) != version:
                conn.close(CLOSE_UNAUTHENTICATED, _REVOKED_REASON)
                closed += 1
        SOCKETS_REVOKED.inc(closed)
        return closed
