"""Whether an agent's token still opens anything: the agent exists, is active, and the token was
issued under the agent's current token version; and what the agent's role is now.

Checked on every agent request with one primary-key read and no cache. A cache would have to be
invalidated on the other instances through the broker, and pub/sub delivers after the admin's
answer has gone out: the next request on another instance could still pass for a few
milliseconds, or for the cache's whole lifetime if Redis were away. "Deactivated means locked
out at the next request, everywhere" is only true if that request asks the database, and the
read costs about what `bench/agent_auth.py` prints (a fraction of a millisecond). The pop path
(provider webhook to socket) never comes here: sockets are checked once at sign-in and then cut
by the hub when the agent's version moves (`PushHub.revoke_agent`), with a periodic recheck
behind it for a revocation the broker lost.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, NullPool

from app.agents.models import Agent
from app.agents.tokens import AgentClaims

_CURRENT = select(Agent.username, Agent.display_name, Agent.token_version, Agent.role).where(
    Agent.id == bindparam("agent_id"), Agent.is_active
)


class AgentAccess:
    def __init__(self, engine: AsyncEngine) -> None:
        self._own: AsyncEngine | None = None
        if engine.dialect.name == "postgresql":
            # Autocommit: a lone SELECT then costs one round trip instead of three (BEGIN,
            # SELECT, ROLLBACK).
            self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        elif isinstance(engine.pool, NullPool):
            # A SQLite file: the app's engine opens a new connection per session (a thread and
            # its PRAGMAs, milliseconds), which would double the cost of every agent request.
            # The check keeps a few connections open instead; the driver runs a SELECT outside
            # any transaction, so each read sees every commit made before it.
            self._own = create_async_engine(
                engine.url,
                poolclass=AsyncAdaptedQueuePool,
                pool_size=5,
                max_overflow=5,
                connect_args={"timeout": 30},
            )
            self._engine = self._own
        else:
            self._engine = engine  # SQLite in memory: one shared connection, nothing to gain

    async def aclose(self) -> None:
        if self._own is not None:
            await self._own.dispose()

    async def current(self, claims: AgentClaims) -> AgentClaims | None:
        """The token's claims as the agent is now (its current username, display name and role:
        a supervisor demoted a moment ago is an agent in this answer), or None when the agent was
        deleted or deactivated or the token's version is not current."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(_CURRENT, {"agent_id": claims.agent_id})).one_or_none()
        if row is None or row.token_version != claims.version:
            return None
        return AgentClaims(claims.agent_id, row.username, row.display_name, row.token_version, row.role)

    async def token_versions(self, agent_ids: Collection[int]) -> dict[int, int]:
        """The current token version of each of these agents that is still active; deleted and
        deactivated agents are absent."""
        if not agent_ids:
            return {}
        statement = select(Agent.id, Agent.token_version).where(
            Agent.id.in_(sorted(agent_ids)), Agent.is_active
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(statement)).all()
        return {row.id: row.token_version for row in rows}
