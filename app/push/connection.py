"""One agent's socket: a bounded queue of frames and the one task that writes them.

Everything that feeds a connection (`offer`, `hold`/`release`, `close`) is synchronous and never
waits for the peer, so the broker listener and the publisher can hand a frame to a thousand
sockets without any one of them slowing the rest. Only the writer task awaits the socket.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from contextlib import suppress

from starlette.websockets import WebSocket, WebSocketDisconnect

from app.push.metrics import SLOW_CONSUMER_DISCONNECTS

log = logging.getLogger("ringcard.push")

# A healthy console has at most a frame or two in flight; 64 queued means the peer stopped reading
# (or its network did), and it is cheaper for it to reconnect and take a snapshot than for us to
# buffer a backlog it will never catch up with.
QUEUE_LIMIT = 64

CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_GOING_AWAY = 1001
CLOSE_INTERNAL_ERROR = 1011
# The token is bad, or no longer good: the agent was deactivated or deleted, or its password changed.
CLOSE_UNAUTHENTICATED = 4401
# The agent opened more sockets on this process than allowed; the oldest gives way (docs/push.md).
CLOSE_REPLACED = 4409

# Errors that mean "this socket is finished": the peer left (Starlette turns OSError into
# WebSocketDisconnect) or the server already closed it (RuntimeError on a send after close).
_SOCKET_FINISHED = (OSError, RuntimeError, WebSocketDisconnect)


class Connection:
    __slots__ = (
        "_cancelled_to_close",
        "_close",
        "_frames",
        "_gone",
        "_held_at",
        "_holds",
        "_limit",
        "_sending",
        "_wakeup",
        "_websocket",
        "_writer",
        "agent_id",
        "lines",
    )

    def __init__(
        self, websocket: WebSocket, agent_id: int, lines: frozenset[str], *, limit: int = QUEUE_LIMIT
    ) -> None:
        self.agent_id = agent_id
        self.lines = lines
        self._websocket = websocket
        self._limit = limit
        self._frames: deque[str] = deque()
        self._wakeup: asyncio.Future[None] | None = None
        # While a snapshot is being prepared, frames queued after position `_held_at` wait behind it.
        self._holds = 0
        self._held_at = 0
        self._close: tuple[int, str] | None = None
        self._gone = False
        self._sending = False
        self._cancelled_to_close = False
        self._writer: asyncio.Task[None] | None = None

    @property
    def close_code(self) -> int | None:
        return None if self._close is None else self._close[0]

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write(), name=f"push-writer-agent-{self.agent_id}")

    def offer(self, frame: str) -> bool:
        """Queue a frame; a full queue closes the connection with 1013 instead of waiting."""
        if self._close is not None:
            return False
        if len(self._frames) >= self._limit:
            SLOW_CONSUMER_DISCONNECTS.inc()
            log.info("agent %s cannot keep up; closing its socket with 1013", self.agent_id)
            self.close(CLOSE_TRY_AGAIN_LATER, "too slow: reconnect for a snapshot")
            return False
        self._frames.append(frame)
        self._wake()
        return True

    def hold(self) -> None:
        """Frames offered from now on wait until `release` puts a snapshot in front of them."""
        if self._holds == 0:
            self._held_at = len(self._frames)
        self._holds += 1

    def release(self, snapshot: str | None) -> None:
        if self._holds == 0:
            raise RuntimeError("release without hold")
        if snapshot is not None and self._close is None:
            self._frames.insert(self._held_at, snapshot)
            self._held_at += 1
        self._holds -= 1
        self._wake()

    def close(self, code: int, reason: str) -> None:
        """Ask the writer to close the socket with `code`; queued frames are dropped, since the
        client will reconnect and take a snapshot anyway."""
        if self._close is not None:
            return
        self._close = (code, reason)
        self._frames.clear()
        if self._sending and self._writer is not None:
            # The writer is stuck on a peer that does not read: interrupt it so the close goes out.
            self._cancelled_to_close = True
            self._writer.cancel()
        else:
            self._wake()

    def abandon(self) -> None:
        """The peer is gone: stop the writer without a closing handshake."""
        self._gone = True
        if self._close is None:
            self._close = (CLOSE_GOING_AWAY, "")
        self._frames.clear()
        self._wake()

    async def wait_closed(self, grace_s: float) -> None:
        """Wait for the writer to finish, cutting it off after `grace_s`."""
        if self._writer is None:
            return
        done, _ = await asyncio.wait({self._writer}, timeout=grace_s)
        if not done:
            self._writer.cancel()
            await asyncio.wait({self._writer})

    def _wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    async def _next(self) -> str | None:
        """The next frame to send, or None once the connection is closing."""
        while True:
            if self._close is not None:
                return None
            if self._frames and (self._holds == 0 or self._held_at > 0):
                if self._holds:
                    self._held_at -= 1
                return self._frames.popleft()
            self._wakeup = asyncio.get_running_loop().create_future()
            try:
                await self._wakeup
            finally:
                self._wakeup = None

    async def _write(self) -> None:
        send = self._websocket.send
        try:
            while (frame := await self._next()) is not None:
                self._sending = True
                await send({"type": "websocket.send", "text": frame})
                self._sending = False
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not self._cancelled_to_close or task is None:
                raise
            task.uncancel()  # we cancelled our own send to deliver the close; carry on and close
        except _SOCKET_FINISHED:
            return
        if self._gone or self._close is None:
            return
        code, reason = self._close
        with suppress(*_SOCKET_FINISHED):
            await self._websocket.close(code, reason)
