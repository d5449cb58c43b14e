"""The call work that runs behind the provider's answer, kept referenced until it ends (a task
nothing holds may be garbage-collected half-way) and waited for at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("ringcard.calls")


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, object]) -> None:
        """Run `work` on its own; a failure is logged, never raised to anyone."""
        self.let_finish(asyncio.create_task(_guard(work)))

    def let_finish(self, task: asyncio.Task[Any]) -> None:
        """Keep `task` (an unwanted lookup, say) running to its end rather than cancel it: a query
        cancelled mid-statement leaves its asyncpg connection in a state the next user trips over."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until nothing is left running (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


async def _guard(work: Coroutine[Any, Any, object]) -> None:
    try:
        await work
    except Exception:
        log.exception("call processing failed")
