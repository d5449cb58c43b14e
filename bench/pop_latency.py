"""Webhook → pop latency under load: the service on PostgreSQL with 1M customers and 5M orders,
100 agents connected over websockets, signed Twilio webhooks at 50 calls/s for 60 s.

    .venv/bin/python -m bench.pop_latency [--customers 1000000 --rate 50 --seconds 60 --agents 100]

Prints webhook→pop p50/p99/max (every agent's receipt counts), TwiML answer p50/p99 and lost
pops. Budget (issue #6): pop p99 <= 25 ms, TwiML p99 <= 50 ms, 0 lost."""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import secrets
import statistics
import time
from dataclasses import dataclass, field

import httpx
import orjson
from sqlalchemy import text
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import connect

from app.db import create_engine
from bench.common import fresh_database, running_service, signed_in_agent

TOKEN = "bench-twilio-token-0123456789"
ADMIN = "bench-admin-key-0123456789"
LINE = "+48221234567"
FIRST = 600_000_000


async def populate(url: str, customers: int) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO customers (id, external_id, first_name, last_name, tags, updated_at, synced_at,"
                " orders_count, returns_count, last_order_at)"
                " SELECT i, 'c' || i, 'Anna', 'Nowak' || i, '[]'::json, now(), now(), 5, 0, now()"
                " FROM generate_series(1, :n) AS i"
            ),
            {"n": customers},
        )
        await conn.execute(
            text(
                "INSERT INTO phones (customer_id, source, raw, e164, national, reversed_digits, country_code)"
                " SELECT i, 'customer.mobile', d, '+48' || d, d, reverse('48' || d), 48"
                " FROM (SELECT i, (:first + i)::text AS d FROM generate_series(1, :n) AS i) AS s"
            ),
            {"n": customers, "first": FIRST},
        )
        await conn.execute(
            text(
                "INSERT INTO orders (external_id, customer_id, customer_external_id, number, status,"
                " total_units, refunded_units, currency, placed_at, shipped_at, items, updated_at, synced_at)"
                " SELECT 'o' || i || '-' || j, i, 'c' || i, '#' || (i * 5 + j),"
                " (ARRAY['delivered','delivered','delivered','shipped','processing'])[j + 1],"
                " 1000000, 0, 'PLN', now() - ((j * 30 + 1) || ' days')::interval,"
                " now() - ((j * 30) || ' days')::interval, '[]'::json, now(), now()"
                " FROM generate_series(1, :n) AS i, generate_series(0, 4) AS j"
            ),
            {"n": customers},
        )
        await conn.execute(
            text(
                "INSERT INTO customer_ltv (customer_id, currency, amount_units)"
                " SELECT i, 'PLN', 500000000 FROM generate_series(1, :n) AS i"
            ),
            {"n": customers},
        )
        await conn.execute(text("SELECT setval('customers_id_seq', :n)"), {"n": customers})
        await conn.execute(text("SELECT setval('orders_id_seq', (SELECT max(id) FROM orders))"))
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    await engine.dispose()


def pct(values: list[float], q: int) -> float:
    return (
        statistics.quantiles(values, n=100)[q - 1]
        if len(values) > 1
        else (values[0] if values else float("nan"))
    )


@dataclass
class Measured:
    """One run of the client: every agent's webhook→pop times, the webhook answers' times."""

    calls: int
    agents: int
    pops: list[float] = field(default_factory=list)
    twiml: list[float] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.calls * self.agents - len(self.pops)


async def run(base: str, customers: int, rate: float, seconds: float, agents: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        token = await signed_in_agent(http, ADMIN, LINE)
    report(await drive(base, token, customers, rate, seconds, agents))


async def drive(base: str, token: str, customers: int, rate: float, seconds: float, agents: int) -> Measured:
    """The client of the pop benchmarks (this one and bench/pop_vs_floor.py): `agents` consoles
    on `base`'s /ws, signed Twilio ringing webhooks at `rate` for `seconds`, callers drawn from
    the populated customers (one in ten unknown)."""
    ws_url = base.replace("http://", "ws://") + "/ws"
    run_id = secrets.token_hex(4)
    sent_at: dict[str, float] = {}
    measured = Measured(int(rate * seconds), agents)
    pops, twiml = measured.pops, measured.twiml
    received: dict[str, int] = {}

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:

        async def agent(ready: asyncio.Event, ready_count: list[int], stop: asyncio.Event) -> None:
            async with connect(ws_url, max_size=2**22) as ws:
                await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
                await ws.recv()  # the snapshot
                ready_count[0] += 1
                if ready_count[0] == agents:
                    ready.set()
                while not stop.is_set():
                    try:
                        raw = await asyncio.wait_for(ws.recv(decode=False), 0.5)
                    except TimeoutError:
                        continue
                    now = time.perf_counter()
                    # The envelope starts {"type":...,"call_id":"..."}: read just that, so the
                    # client (sharing the machine's two cores with the server) stays cheap.
                    head = raw[:120]
                    if not head.startswith(b'{"type":"call.ringing"'):
                        continue
                    start = head.index(b'"call_id":"') + 11
                    key = head[start : head.index(b'"', start)].decode()
                    started = sent_at.get(key)
                    if started is not None:
                        pops.append((now - started) * 1000)
                        received[key] = received.get(key, 0) + 1

        ready, stop = asyncio.Event(), asyncio.Event()
        count = [0]
        listeners = [asyncio.create_task(agent(ready, count, stop)) for _ in range(agents)]
        await asyncio.wait_for(ready.wait(), 60)
        print(f"{agents} agents connected")

        validator = RequestValidator(TOKEN)
        rng = random.Random(5)
        url = f"{base}/webhooks/twilio/voice"

        async def one_call(i: int) -> None:
            caller = (
                f"+48{FIRST + rng.randrange(1, customers)}"
                if i % 10
                else f"+4869{rng.randrange(10**6, 10**7)}"
            )
            # Unique per run: a run on a database a run before used must not replay its calls.
            sid = f"CA{run_id}{i:024x}"
            params = {
                "CallSid": sid,
                "From": caller,
                "To": LINE,
                "CallStatus": "ringing",
                "Direction": "inbound",
            }
            signature = validator.compute_signature(url, params)
            from app.calls.identity import call_id_for

            sent_at[call_id_for("twilio", sid)] = started = time.perf_counter()
            answer = await http.post(
                "/webhooks/twilio/voice", data=params, headers={"X-Twilio-Signature": signature}
            )
            twiml.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.text

        calls: list[asyncio.Task[None]] = []
        total = int(rate * seconds)
        begin = time.perf_counter()
        for i in range(total):
            delay = begin + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            calls.append(asyncio.create_task(one_call(i)))
        await asyncio.gather(*calls)
        await asyncio.sleep(2)  # the last pops
        stop.set()
        await asyncio.gather(*listeners)
    return measured


def report(measured: Measured) -> None:
    pops, twiml = measured.pops, measured.twiml
    expected = measured.calls * measured.agents
    print(f"{measured.calls} calls to {measured.agents} agents ({expected:,} pops expected)")
    print(
        f"webhook -> pop: p50 {pct(pops, 50):.1f} ms  p99 {pct(pops, 99):.1f} ms  max {max(pops):.1f} ms"
        "  (budget p99 <= 25 ms)"
    )
    print(f"TwiML answer:   p50 {pct(twiml, 50):.1f} ms  p99 {pct(twiml, 99):.1f} ms  (budget p99 <= 50 ms)")
    print(f"lost pops: {measured.lost}  (budget 0)")


def service_env(url: str, agents: int) -> dict[str, str]:
    """The service's settings for the pop benchmarks (this one and bench/pop_vs_floor.py)."""
    return {
        "RINGCARD_DATABASE_URL": url,
        "RINGCARD_TWILIO_AUTH_TOKEN": TOKEN,
        "RINGCARD_ADMIN_API_KEY": ADMIN,
        "RINGCARD_SECRET_KEY": "bench-secret-key-" + "x" * 32,
        # One bench agent stands for the 100 consoles: let it keep them all open.
        "RINGCARD_MAX_SOCKETS_PER_AGENT": str(max(agents, 5)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--agents", type=int, default=100)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))

    url = fresh_database("ringcard_bench_pop")
    started = time.perf_counter()
    asyncio.run(populate(url, args.customers))
    print(
        f"loaded {args.customers:,} customers and {args.customers * 5:,} orders in {time.perf_counter() - started:.0f} s"
    )
    with running_service(service_env(url, args.agents)) as base:
        asyncio.run(run(base, args.customers, args.rate, args.seconds, args.agents))


if __name__ == "__main__":
    main()
