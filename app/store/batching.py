"""Helpers shared by the batch writers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def unique_runs(records: Sequence[tuple[str, T]]) -> Iterator[list[tuple[str, T]]]:
    """Split a batch into consecutive runs in which each external id appears once, so a batch that
    writes one record twice behaves exactly like two single writes in that order."""
    run: list[tuple[str, T]] = []
    seen: set[str] = set()
    for item in records:
        if item[0] in seen:
            yield run
            run, seen = [], set()
        run.append(item)
        seen.add(item[0])
    if run:
        yield run
