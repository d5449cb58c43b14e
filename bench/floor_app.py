"""The floor of a pop (issue #20): the least work a screen pop can do on this machine, as a bare
FastAPI app on the same uvicorn, PostgreSQL and database as the service.

It takes Twilio's signed ringing webhook (the form is parsed and the signature checked: a pop
that skips either is not one anyone could ship), runs one indexed statement for the caller with
their five newest orders, sends the JSON to every connected socket and answers the TwiML. No
call log, no idempotency, no state machine, no card beyond that, no fan-out across instances:
what is left is the floor Ringcard is measured against (bench/pop_vs_floor.py).

    RINGCARD_BENCH_FLOOR_DSN=postgresql://... RINGCARD_BENCH_FLOOR_TOKEN=... \\
        .venv/bin/python -m uvicorn bench.floor_app:app --port 8100
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request, Response, WebSocket, WebSocketDisconnect
from twilio.request_validator import RequestValidator

from app.calls.identity import call_id_for

DSN = os.environ.get("RINGCARD_BENCH_FLOOR_DSN", "postgresql://postgres@127.0.0.1:5432/ringcard_bench_pop")
TOKEN = os.environ.get("RINGCARD_BENCH_FLOOR_TOKEN", "bench-twilio-token-0123456789")
PUBLIC_URL = os.environ.get("RINGCARD_BENCH_FLOOR_URL", "")
TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Client>bench</Client></Dial></Response>'

# One statement: the caller by their E.164 number, with their newest orders as a JSON array.
LOOKUP = """
SELECT c.id, c.first_name, c.last_name, c.orders_count,
       (SELECT coalesce(json_agg(o ORDER BY o.placed_at DESC), '[]'::json)
        FROM (SELECT number, status, total_units, currency, placed_at FROM orders
              WHERE customer_id = c.id ORDER BY placed_at DESC LIMIT 5) o) AS orders
FROM phones p JOIN customers c ON c.id = p.customer_id
WHERE p.e164 = $1
LIMIT 1
"""

sockets: set[WebSocket] = set()
state: dict[str, Any] = {}


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    state["pool"] = await asyncpg.create_pool(DSN, min_size=4, max_size=10)
    state["lookup"] = LOOKUP
    try:
        yield
    finally:
        await state["pool"].close()


app = FastAPI(lifespan=lifespan)
validator = RequestValidator(TOKEN)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/webhooks/twilio/voice")
async def voice(request: Request) -> Response:
    form = dict((await request.form()).items())
    params = {key: str(value) for key, value in form.items()}
    url = (PUBLIC_URL or str(request.base_url).rstrip("/")) + "/webhooks/twilio/voice"
    if not validator.validate(url, params, request.headers.get("X-Twilio-Signature", "")):
        return Response(status_code=401)
    async with state["pool"].acquire() as conn:
        row = await conn.fetchrow(state["lookup"], params.get("From", ""))
    card = (
        None
        if row is None
        else {
            "customer": {
                "name": f"{row['first_name']} {row['last_name']}",
                "orders_count": row["orders_count"],
            },
            "orders": orjson.loads(row["orders"]),
        }
    )
    envelope = orjson.dumps(
        {"type": "call.ringing", "call_id": call_id_for("twilio", params.get("CallSid", "")), "card": card}
    ).decode()
    for socket in list(sockets):
        try:
            await socket.send_text(envelope)
        except Exception:  # a console that went away
            sockets.discard(socket)
    return Response(TWIML, media_type="application/xml")


@app.websocket("/ws")
async def ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.receive_text()  # the console's auth message (the floor trusts it)
    await websocket.send_text('{"type":"snapshot","items":[]}')
    sockets.add(websocket)
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        sockets.discard(websocket)
