"""Which agents take calls on a line, known without a database round trip: TwiML must answer
even while the database is slow or down, so the agent list is cached and refreshed behind it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.agents.models import Agent
from app.kit.lines import ALL_LINES, STORE_LINES_PREFIX

log = logging.getLogger("ringcard.calls")

REFRESH_EVERY_S = 30.0
LOAD_TIMEOUT_S = 1.5
# How long an answer may wait for a refresh when an agent we do not know yet is online: short,
# because the caller is waiting; the TwiML goes out with what we know when it runs out.
CATCH_UP_S = 0.25


@dataclass(frozen=True, slots=True)
class DirectoryAgent:
    id: int
    username: str
    lines: frozenset[str]
    display_name: str = ""


class AgentDirectory:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        online_ids: Callable[[], set[int]] | None = None,
        store_of_line: Callable[[str], str] | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._online_ids = online_ids
        # The id of the store whose line a line is: an agent of `store:<id>` takes all of them.
        self._store_of_line = store_of_line
        self._agents: list[DirectoryAgent] = []
        self._loaded_at = 0.0
        self._refreshing: asyncio.Task[None] | None = None
        self._stale = False

    async def load(self) -> None:
        try:
            async with asyncio.timeout(LOAD_TIMEOUT_S), self._sessionmaker() as session:
                rows = (
                    await session.execute(
                        select(Agent.id, Agent.username, Agent.lines, Agent.display_name).where(
                            Agent.is_active
                        )
                    )
                ).all()
        except Exception as exc:  # keep the last good list; say why in the log
            log.warning("agent directory not refreshed: %s", type(exc).__name__)
            return
        self._agents = [
            DirectoryAgent(r.id, r.username, frozenset(r.lines or ()), r.display_name or "") for r in rows
        ]
        self._loaded_at = time.monotonic()

    def refresh_soon(self, _agent_id: int | None = None) -> None:
        """Reload in the background: another instance changed an agent (a hub agent listener,
        called from the broker's callback, so it must not wait). A reload already running may
        have read before that change was committed, so it is followed by one more."""
        self._stale = True
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.create_task(self._reload_while_stale())

    async def _reload_while_stale(self) -> None:
        while self._stale:
            self._stale = False
            await self.load()

    async def agents_for(self, line: str) -> list[str]:
        """Usernames of the agents of `line`, online ones first (they can answer now)."""
        online = self._online_ids() if self._online_ids else set()
        if online - {a.id for a in self._agents}:
            # Someone signed in whom the cached list does not have yet (a new agent).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CATCH_UP_S):
                    await self.load()
        elif time.monotonic() - self._loaded_at > REFRESH_EVERY_S and (
            self._refreshing is None or self._refreshing.done()
        ):
            self._refreshing = asyncio.create_task(self.load())
        store_lines = STORE_LINES_PREFIX + self._store_of_line(line) if self._store_of_line else None
        agents = [
            a for a in self._agents if ALL_LINES in a.lines or line in a.lines or store_lines in a.lines
        ]
        agents.sort(key=lambda a: (a.id not in online, a.username))
        return [a.username for a in agents]

    def display_name(self, username: str) -> str | None:
        """The name agents know `username` by (a Twilio client identity is a username), from the
        cached list; None for someone it does not know."""
        for agent in self._agents:
            if agent.username == username:
                return agent.display_name or agent.username
        return None
