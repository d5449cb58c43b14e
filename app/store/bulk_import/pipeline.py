"""Full batches on their way to the database: written in order, while the next ones are parsed.

Parsing is CPU in this process and writing is mostly the database's time, so overlapping them is
the cheapest throughput there is. Batches still commit strictly one after another (each write
waits for the previous one), so later lines see earlier ones, and a database failure stops the
import with everything before the failing batch stored."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Sized
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.exc import DBAPIError

from app.store.bulk_import.report import Tally

# What a database that fails under an import raises: the driver's errors through SQLAlchemy or
# directly (the set-based path talks to asyncpg), and a connection that breaks.
DATABASE_FAILURES: tuple[type[BaseException], ...] = (
    DBAPIError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
)


class DatabaseFailed(Exception):
    """A batch's write failed in the database (not in the client's stream)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause


class BatchCounts(NamedTuple):
    """What became of a batch's records: applied as sent, or held back by an erasure (the rest
    were stale)."""

    applied: int
    erased: int


_B = TypeVar("_B", bound=Sized)


class BatchWriter(Protocol[_B]):
    """How the import fills and hands over batches, whichever way they are written (the Python
    writers in model_writer.py, the set-based statements in pg_writer.py)."""

    # How many batches may be unfinished at once (being written, or waiting to be).
    depth: int

    def new_batch(self) -> _B: ...

    def take(self, batch: _B, line_no: int, raw: bytes) -> None:
        """Validate one line into the batch; raises ValidationError for a rejected line."""
        ...

    def write(self, batch: _B, after: asyncio.Future[Any] | None) -> Awaitable[BatchCounts]:
        """Write the batch once `after` (the previous batch's write, if any) is done; return how
        many of its records were applied and how many an erasure held back."""
        ...


class BatchPipeline(Generic[_B]):
    """The batches handed over and not yet written, at most the writer's depth of them."""

    __slots__ = ("_in_flight", "_tally", "_writer")

    def __init__(self, writer: BatchWriter[_B], tally: Tally) -> None:
        self._writer = writer
        self._tally = tally
        self._in_flight: collections.deque[asyncio.Task[None]] = collections.deque()

    @property
    def busy(self) -> bool:
        """Whether the newest write is still running: the parser should then let it have the
        event loop now and then, since it needs the loop for every round trip to the database."""
        return bool(self._in_flight) and not self._in_flight[-1].done()

    async def hand_over(self, full: _B, last_line: int) -> None:
        """Start writing `full` (whose last line is `last_line`) after the batches before it,
        first waiting for the oldest one if the writer's depth is reached. Raises DatabaseFailed
        if a write that was waited for failed."""
        in_flight = self._in_flight
        if len(in_flight) == self._writer.depth:
            await in_flight.popleft()
        if len(full):
            after = in_flight[-1] if in_flight else None
            in_flight.append(asyncio.create_task(self._written(full, after, last_line)))

    async def drain(self) -> None:
        """Wait for every batch handed over; raises DatabaseFailed as hand_over does."""
        while self._in_flight:
            await self._in_flight.popleft()

    async def cancel(self) -> None:
        """Stop the writes still running and let them roll back before their connections go."""
        for task in self._in_flight:
            task.cancel()
        await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _written(self, full: _B, after: asyncio.Future[Any] | None, last_line: int) -> None:
        try:
            counts = await self._writer.write(full, after)
        except DATABASE_FAILURES as exc:
            raise DatabaseFailed(exc) from exc
        tally = self._tally
        tally.applied += counts.applied
        tally.erased += counts.erased
        tally.stale += len(full) - counts.applied - counts.erased
        tally.committed_through_line = last_line
