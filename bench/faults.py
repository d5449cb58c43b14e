"""Calls through database trouble: a PostgreSQL restart, then a 10 s outage, at 20 calls/s.

    .venv/bin/python -m bench.faults [--rate 20 --seconds 40 --agents 5]

The service runs in its own process on a PostgreSQL cluster made for this run (a throwaway
cluster on another port, never the machine's shared server). Every call is a signed Twilio voice
webhook and, a second later, its `completed` status callback. At 5 s the cluster restarts; at
15 s it stops for 10 s. Prints calls sent, popped (on every agent's socket), logged (in the call
log with its final state once the database is back) and lost, which must be 0, and TwiML p99
during the outage. Budget (issue #12): lost 0; the pop after the database returns within the
normal budget."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
from sqlalchemy import text
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import connect

from app.calls.identity import call_id_for
from app.db import create_engine
from app.db.migrate import upgrade
from bench.common import at_rate, service_process
from tests.fixtures.throwaway_services import ThrowawayPostgres

TOKEN = "faults-twilio-token-0123456789"
ADMIN = "faults-admin-key-0123456789"
SYNC = "faults-sync-key-0123456789"
LINE = "+48221234567"
PASSWORD = "faults-password-123"


@dataclass
class Run:
    sent: dict[str, float] = field(default_factory=dict)  # call id -> sent at (perf_counter)
    twiml: list[tuple[float, float]] = field(default_factory=list)  # (sent at, ms)
    pops: list[dict[str, float]] = field(default_factory=list)  # per agent: call id -> ms
    outage: tuple[float, float] = (0.0, 0.0)
    restart: tuple[float, float] = (0.0, 0.0)


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def populate(http: httpx.AsyncClient) -> None:
    """1,000 customers with a phone each, through the real import endpoint."""
    lines = [
        orjson.dumps(
            {
                "type": "customer",
                "external_id": f"c{i}",
                "first_name": "Anna",
                "last_name": f"Nowak{i}",
                "phones": [{"number": f"+48601{i:06d}", "kind": "mobile"}],
                "updated_at": "2026-11-30T10:00:00Z",
            }
        )
        for i in range(1, 1001)
    ]
    answer = await http.post(
        "/api/v1/import",
        content=b"\n".join(lines) + b"\n",
        headers={"Authorization": f"Bearer {SYNC}", "Content-Type": "application/x-ndjson"},
    )
    answer.raise_for_status()


async def run(base: str, cluster: ThrowawayPostgres, rate: float, seconds: float, agents: int) -> Run:
    result = Run()
    validator = RequestValidator(TOKEN)
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        await populate(http)
        created = await http.post(
            "/api/v1/agents",
            headers={"Authorization": f"Bearer {ADMIN}"},
            json={"username": "ola", "display_name": "Ola", "password": PASSWORD, "lines": ["*"]},
        )
        created.raise_for_status()
        token = (await http.post("/auth/token", json={"username": "ola", "password": PASSWORD})).json()[
            "access_token"
        ]
        stop = asyncio.Event()
        ready = asyncio.Event()
        connected: list[int] = []

        async def agent(index: int) -> None:
            pops: dict[str, float] = {}
            result.pops.append(pops)
            ws_url = base.replace("http://", "ws://") + "/ws"
            async with connect(ws_url, max_size=None) as ws:
                await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
                await ws.recv()  # the snapshot
                connected.append(index)
                if len(connected) == agents:
                    ready.set()
                while not stop.is_set():
                    try:
                        async with asyncio.timeout(0.5):
                            message = orjson.loads(await ws.recv())
                    except TimeoutError:
                        continue
                    call_id = message.get("call_id")
                    if (
                        message.get("type") == "call.ringing"
                        and call_id in result.sent
                        and call_id not in pops
                    ):
                        pops[call_id] = (time.perf_counter() - result.sent[call_id]) * 1000

        listeners = [asyncio.create_task(agent(i)) for i in range(agents)]
        await ready.wait()

        async def signed(path: str, params: dict[str, str]) -> httpx.Response:
            url = f"{base}{path}"
            return await http.post(
                path, data=params, headers={"X-Twilio-Signature": validator.compute_signature(url, params)}
            )

        async def one_call(i: int) -> None:
            sid = f"CA{i:032x}"
            params = {
                "CallSid": sid,
                "From": f"+48601{(i % 1000) + 1:06d}",
                "To": LINE,
                "Direction": "inbound",
            }
            started = time.perf_counter()
            result.sent[call_id_for("twilio", sid)] = started
            answer = await signed("/webhooks/twilio/voice", {**params, "CallStatus": "ringing"})
            result.twiml.append((started, (time.perf_counter() - started) * 1000))
            if answer.status_code != 200:
                print(f"TwiML answered {answer.status_code} for call {i}")
            await asyncio.sleep(1)
            ended = await signed(
                "/webhooks/twilio/status",
                {**params, "CallStatus": "completed", "SequenceNumber": "1", "CallDuration": "1"},
            )
            if ended.status_code != 204:
                print(f"status callback answered {ended.status_code} for call {i}")

        async def database_trouble(begin: float) -> None:
            await asyncio.sleep(max(0.0, begin + 5 - time.perf_counter()))
            started = time.perf_counter()
            await asyncio.to_thread(cluster.restart)
            result.restart = (started, time.perf_counter())
            await asyncio.sleep(max(0.0, begin + 15 - time.perf_counter()))
            started = time.perf_counter()
            await asyncio.to_thread(cluster.stop)
            await asyncio.sleep(10)
            await asyncio.to_thread(cluster.start)
            result.outage = (started, time.perf_counter())

        begin = time.perf_counter()
        trouble = asyncio.create_task(database_trouble(begin))
        await at_rate(rate, int(rate * seconds), one_call)
        await trouble
        await asyncio.sleep(3)  # the last pops, and the refreshed cards
        stop.set()
        await asyncio.gather(*listeners)
    return result


async def logged(url: str, expected: int, within_s: float = 60) -> int:
    engine = create_engine(url, pool_size=1)
    deadline = time.monotonic() + within_s
    try:
        while True:
            async with engine.connect() as conn:
                count = int(
                    (
                        await conn.execute(text("SELECT count(*) FROM calls WHERE state = 'completed'"))
                    ).scalar()
                    or 0
                )
            if count >= expected or time.monotonic() > deadline:
                return count
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()


def report(result: Run, logged_count: int) -> None:
    sent = len(result.sent)
    popped_everywhere = set.intersection(*(set(pops) for pops in result.pops)) if result.pops else set()
    lost = sent - min(len(popped_everywhere), logged_count)
    in_outage = [ms for at, ms in result.twiml if result.outage[0] <= at <= result.outage[1]]
    around_restart = [ms for at, ms in result.twiml if result.restart[0] <= at <= result.restart[1] + 1]
    pops_normal = [
        ms
        for pops in result.pops
        for call_id, ms in pops.items()
        if not (result.restart[0] - 1 <= result.sent[call_id] <= result.restart[1] + 1)
        and not (result.outage[0] - 1 <= result.sent[call_id] <= result.outage[1] + 1)
    ]
    after_return = [
        ms
        for pops in result.pops
        for call_id, ms in pops.items()
        if result.outage[1] < result.sent[call_id] <= result.outage[1] + 2
    ]
    print(
        f"calls sent: {sent}  popped on every agent's socket: {len(popped_everywhere)}  logged completed: {logged_count}"
    )
    print(f"lost: {lost}  (budget 0)")
    print(
        f"restart took {result.restart[1] - result.restart[0]:.1f} s, outage {result.outage[1] - result.outage[0]:.1f} s"
    )
    print(
        f"TwiML during the outage: p50 {pct(in_outage, 50):.1f} ms  p99 {pct(in_outage, 99):.1f} ms  ({len(in_outage)} calls)"
    )
    print(f"TwiML around the restart: p99 {pct(around_restart, 99):.1f} ms  ({len(around_restart)} calls)")
    print(f"pop, database healthy: p50 {pct(pops_normal, 50):.1f} ms  p99 {pct(pops_normal, 99):.1f} ms")
    print(
        f"pop, first 2 s after the database returned: p50 {pct(after_return, 50):.1f} ms  p99 {pct(after_return, 99):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--agents", type=int, default=5)
    args = parser.parse_args()
    cluster = ThrowawayPostgres()
    cluster.create()
    try:
        upgrade(cluster.url)
        env = {
            "RINGCARD_DATABASE_URL": cluster.url,
            "RINGCARD_TWILIO_AUTH_TOKEN": TOKEN,
            "RINGCARD_ADMIN_API_KEY": ADMIN,
            "RINGCARD_SYNC_API_KEY": SYNC,
            "RINGCARD_SECRET_KEY": "faults-secret-key-" + "x" * 32,
        }
        with tempfile.TemporaryDirectory() as tmp, service_process(env, cwd=Path(tmp)) as service:
            result = asyncio.run(run(service.base, cluster, args.rate, args.seconds, args.agents))
        report(result, asyncio.run(logged(cluster.url, len(result.sent))))
    finally:
        cluster.destroy()


if __name__ == "__main__":
    main()
