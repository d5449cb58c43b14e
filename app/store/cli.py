"""`ringcard import`: a bulk import of an NDJSON file, as POST /api/v1/import takes it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import anyio

from app.ops.operator_errors import OperatorError
from app.settings import Settings


def cmd_import(settings: Settings, path: str, store: str) -> None:
    from app.db import create_engine, make_sessionmaker
    from app.store.bulk_import.importer import import_ndjson
    from app.stores.records import list_stores

    if not Path(path).is_file():
        what = "a directory" if Path(path).is_dir() else "no such file"
        raise OperatorError(f"cannot import {path}: {what} (give the path of an NDJSON file)")

    async def run() -> None:
        engine = create_engine(settings.database_url)

        async def chunks() -> AsyncIterator[bytes]:
            async with await anyio.open_file(path, "rb") as fh:
                while chunk := await fh.read(1 << 20):
                    yield chunk

        sessionmaker = make_sessionmaker(engine)
        try:
            async with sessionmaker() as session:
                regions = {view.id: view.region for view in await list_stores(session, settings)}
            if store not in regions:
                raise OperatorError(f"--store {store}: no such store (see `ringcard store list`)")
            report = await import_ndjson(
                chunks(),
                sessionmaker,
                store=store,
                regions=regions.get,
                batch_size=settings.import_batch_size,
            )
        finally:
            await engine.dispose()
        print(report.model_dump_json(indent=2))

    asyncio.run(run())
