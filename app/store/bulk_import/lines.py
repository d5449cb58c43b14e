"""Reading an NDJSON stream line by line and validating each line into the batch being filled.

This is the only per-line Python work outside the writer's own validation, so it is kept to plain
local loops and slotted objects: no generator, no extra call per line."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sized
from typing import Generic, TypeVar

from pydantic import ValidationError

from app.db.storable import json_nul_path
from app.store.bulk_import.pipeline import BatchPipeline, BatchWriter
from app.store.bulk_import.records import LineRefused
from app.store.bulk_import.report import Tally, describe

MAX_LINE_BYTES = 1 << 20
_TOO_LONG = f"line longer than {MAX_LINE_BYTES} bytes"
# Lines parsed between two looks at the event loop while a batch is being written: the writer
# needs the loop for every round trip to the database, and parsing a whole network chunk (hundreds
# of lines) in one go would keep the database waiting for that long at each one.
_PARSE_SLICE = 32


class LineStream:
    """The complete lines of a byte stream, one network chunk's worth per step; what follows the
    last newline so far waits in `rest` for the next chunk."""

    __slots__ = ("_chunks", "rest")

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self.rest = b""

    def __aiter__(self) -> LineStream:
        return self

    async def __anext__(self) -> list[bytes]:
        self.rest += await anext(self._chunks)
        *lines, self.rest = self.rest.split(b"\n")
        return lines

    @property
    def overlong(self) -> bool:
        """Whether the unfinished line is already too long to be accepted, however it ends."""
        return len(self.rest) > MAX_LINE_BYTES

    async def skip_line(self) -> None:
        """Drop the unfinished line with the rest of it: everything up to the next newline."""
        self.rest = b""
        async for more in self._chunks:
            if b"\n" in more:
                self.rest = more.split(b"\n", 1)[1]
                break


_B = TypeVar("_B", bound=Sized)


class BatchFiller(Generic[_B]):
    """Numbers the lines, validates them into the batch being filled and counts or rejects them."""

    __slots__ = ("_take", "_tally", "_writer", "batch", "line_no")

    def __init__(self, writer: BatchWriter[_B], tally: Tally) -> None:
        self._writer = writer
        self._take = writer.take
        self._tally = tally
        self.batch: _B = writer.new_batch()
        self.line_no = 0

    def swap(self) -> _B:
        """Hand back the batch filled so far and start an empty one."""
        full, self.batch = self.batch, self._writer.new_batch()
        return full

    async def take_lines(self, lines: list[bytes], pipeline: BatchPipeline[_B]) -> None:
        """Take one chunk's lines, giving the event loop to a running write between slices."""
        take = self.take
        line_no = self.line_no
        for start in range(0, len(lines), _PARSE_SLICE):
            for raw in lines[start : start + _PARSE_SLICE]:
                line_no += 1
                take(line_no, raw)
            self.line_no = line_no
            if pipeline.busy:
                await asyncio.sleep(0)

    def take_last(self, raw: bytes) -> None:
        """The stream's last line, which has no newline after it."""
        self.line_no += 1
        self.take(self.line_no, raw)

    def reject_overlong(self) -> None:
        """Count and reject the unfinished line, found too long before its end arrived."""
        self.line_no += 1
        self._tally.lines += 1
        self._tally.reject(self.line_no, _TOO_LONG)

    def take(self, line_no: int, raw: bytes) -> None:
        if not raw or raw.isspace():
            return
        tally = self._tally
        tally.lines += 1
        if len(raw) > MAX_LINE_BYTES:
            tally.reject(line_no, _TOO_LONG)
            return
        if (where := json_nul_path(raw)) is not None:
            tally.reject(line_no, f"{where}: contains a NUL character, which cannot be stored")
            return
        try:
            self._take(self.batch, line_no, raw)
        except ValidationError as exc:
            tally.reject(line_no, describe(exc))
        except LineRefused as exc:
            tally.reject(line_no, str(exc))
