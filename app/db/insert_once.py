"""INSERT ... ON CONFLICT DO NOTHING, compiled once per shape.

SQLAlchemy never caches the dialects' own upsert constructs (`sqlalchemy.dialects.postgresql` and
`.sqlite` `insert` set `inherit_cache = False`): every execution compiles the statement anew, about
a millisecond of CPU for a call's 25 columns, twice on every pop's path (the provider event and
the call). The same statement as text with typed parameters is cached by its text, so it is
compiled once per process. Its SQL is the same on both databases (SQLite has had ON CONFLICT and
RETURNING since 3.35), and the column types still convert the values (UTC times, JSON).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from sqlalchemy import Table, bindparam, text
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import TextualSelect

InsertStatement = TextClause | TextualSelect


def insert_ignoring_conflicts(
    table: Table, columns: Iterable[str], *, returning: str | None = None
) -> InsertStatement:
    """The statement that inserts a row of `columns` (executed with their values by name) into
    `table` unless a row with the same unique key exists; with `returning`, that column of the
    inserted row (no row: a conflict)."""
    return _statement(table, tuple(columns), returning)


@functools.lru_cache(maxsize=128)
def _statement(table: Table, columns: tuple[str, ...], returning: str | None) -> InsertStatement:
    names = ", ".join(_quoted(name) for name in columns)
    placeholders = ", ".join(f":{name}" for name in columns)
    sql = f"INSERT INTO {_quoted(table.name)} ({names}) VALUES ({placeholders}) ON CONFLICT DO NOTHING"
    if returning is not None:
        sql += f" RETURNING {_quoted(returning)}"
    statement = text(sql).bindparams(*(bindparam(name, type_=table.c[name].type) for name in columns))
    return statement.columns(table.c[returning]) if returning is not None else statement


def _quoted(name: str) -> str:
    # Double quotes name a column on both databases, whatever the word (`key`, `line`, `order`).
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain column or table name: {name!r}")
    return f'"{name}"'
