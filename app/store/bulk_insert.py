"""Insert many new rows at once. On PostgreSQL this goes through COPY, with the ids taken from the
table's sequence first, because per-row INSERT parameter handling was most of a bulk import's cost;
SQLite (and small batches) take the ordinary multi-row INSERT ... RETURNING."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import JSON, Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

COPY_THRESHOLD = 64


async def insert_rows(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows (all with the same keys) and return their new ids in the same order."""
    if not rows:
        return []
    if session.bind.dialect.name != "postgresql" or len(rows) < COPY_THRESHOLD:
        result = await session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        )
        return [row[0] for row in result.all()]
    return await _copy(session, table, rows)


async def _copy(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    ids = [
        record[0]
        for record in await driver.fetch(
            "SELECT nextval($1::regclass) FROM generate_series(1, $2)", f"{table.name}_id_seq", len(rows)
        )
    ]
    given = list(rows[0])
    # COPY does not apply the model's Python-side defaults: fill them in here.
    defaults = {
        column.name: getattr(column.default, "arg", None)
        for column in table.columns
        if column.name not in given and column.name != "id" and column.default is not None
    }
    json_columns = {column.name for column in table.columns if isinstance(column.type, JSON)}
    columns = ["id", *given, *defaults]

    def value(name: str, raw_value: Any) -> Any:
        if name in json_columns:
            return orjson.dumps(raw_value).decode()
        return raw_value

    default_values = [value(name, arg(None) if callable(arg) else arg) for name, arg in defaults.items()]
    records = [
        (row_id, *(value(name, row[name]) for name in given), *default_values)
        for row_id, row in zip(ids, rows, strict=True)
    ]
    await driver.copy_records_to_table(table.name, records=records, columns=columns)
    return ids
