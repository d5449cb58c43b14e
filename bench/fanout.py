"""Push fan-out: 1,000 agents connected to one instance.

    .venv/bin/python -m bench.fanout [--agents 1000] [--per-line 100] [--pops 200] [--deflate]

Prints publish→receive latency (p50/p99/max, from the moment the hub is called in the server to
the moment the agent's client has the frame) for pops to the 100 agents of one line, the same
for a round of one pop on every line at once, and the server's resident memory per idle
connection (RSS delta after connecting the agents / number of agents).

Budget (issue #5): p99 ≤ 10 ms for a pop to the 100 agents of one line; ≤ 50 KB per idle
connection. The server is uvicorn as `ringcard serve` runs it (uvloop, httptools, websockets);
`--deflate` turns on permessage-deflate, uvicorn's default, to show what it costs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
import zlib
from pathlib import Path
from typing import Any, cast

import httpx
import orjson
import psutil

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-fanout-signing-key-0123456789abcdef"


def card_bytes() -> bytes:
    """A card of realistic size (about 2.5 KB), serialised once as the lookup layer does."""
    orders = [
        {
            "external_id": f"o-{n}",
            "number": f"#{1040 + n}",
            "status": "shipped" if n == 0 else "delivered",
            "total": "129.00",
            "currency": "PLN",
            "placed_at": "2026-10-28T10:15:00+00:00",
            "tracking_url": f"https://tracking.example.com/PL{n:010d}",
            "admin_url": f"https://admin.shopify.com/store/acme/orders/{5_000_000 + n}",
        }
        for n in range(5)
    ]
    card = {
        "call": {"id": "bench", "provider": "twilio", "from": "+48601234567", "to": "+48221234567"},
        "caller": {
            "raw": "+48601234567",
            "kind": "e164",
            "e164": "+48601234567",
            "display": "+48 601 234 567",
            "callable": True,
            "callback_url": "tel:+48601234567",
        },
        "match": {
            "status": "exact",
            "matched_on": ["customer.phone"],
            "via": [{"field": "phone", "on": "customer", "order_number": None}],
            "candidates": [],
        },
        "customer": {
            "external_id": "c-1",
            "name": "Anna Nowak",
            "first_name": "Anna",
            "email": "anna.nowak@example.pl",
            "tags": ["vip", "newsletter"],
            "note": "Prefers calls after 5 pm; ask about the loyalty card.",
            "customer_since": "2021-03-14T09:00:00+00:00",
            "admin_url": "https://admin.shopify.com/store/acme/customers/7000001",
        },
        "stats": {
            "orders_count": 14,
            "lifetime_value": [{"amount": "3210.00", "currency": "PLN"}],
            "returns_count": 1,
            "last_order_at": "2026-10-28T10:15:00+00:00",
            "loyalty_tier": "gold",
        },
        "orders": orders,
        "open_cases": [
            {
                "external_id": "C-88",
                "kind": "complaint",
                "status": "open",
                "subject": "Damaged parcel",
                "order_number": "#1042",
                "opened_at": "2026-10-30T08:00:00+00:00",
            }
        ],
        "recent_calls": [
            {"at": "2026-10-30T08:05:00+00:00", "state": "completed", "agent": "Ola", "note": "Sent photos"}
        ],
        "likely_reason": {
            "code": "open_complaint",
            "text": "Probably about complaint C-88 on order #1042",
            "params": {"case_id": "C-88", "order_number": "#1042"},
        },
        "data_as_of": "2026-11-01T12:00:00+00:00",
    }
    return orjson.dumps(card)


# --- the server process --------------------------------------------------------------------------


def serve(fd: int, deflate: bool) -> None:
    import uvicorn
    from fastapi import FastAPI

    from app.main import create_app
    from app.settings import Settings

    warnings.filterwarnings("ignore", category=DeprecationWarning)  # uvicorn's use of websockets.legacy
    app: FastAPI = create_app(Settings(_env_file=None))  # type: ignore[call-arg]
    card = card_bytes()

    @app.post("/bench/pops")
    async def pops(body: dict[str, Any]) -> dict[str, int]:
        """Publish `rounds` rounds, one pop per line in `lines`, `interval_ms` apart; the call
        carries the monotonic time just before the hub is called."""
        push = app.state.push
        for round_no in range(body["rounds"]):
            for line in body["lines"]:
                call = {"id": f"{body['tag']}-{round_no}-{line}", "sent_ns": time.monotonic_ns()}
                await push.publish_call_event("call.ringing", call, card, line)
            await asyncio.sleep(body["interval_ms"] / 1000)
        return {"published": body["rounds"] * len(body["lines"])}

    config = uvicorn.Config(app, log_level="warning", lifespan="on", ws_per_message_deflate=deflate)
    uvicorn.Server(config).run(sockets=[socket.socket(fileno=fd)])


# --- the driver ----------------------------------------------------------------------------------


def prepare_database(directory: Path, agents: int, lines: list[str]) -> tuple[str, list[str], list[str]]:
    """A migrated SQLite database with the agents; their tokens and lines, in the same order."""
    from sqlalchemy import insert

    from app.agents.models import Agent
    from app.agents.tokens import AgentClaims, issue_token
    from app.db import create_engine, utcnow
    from app.db.migrate import upgrade

    url = f"sqlite+aiosqlite:///{directory / 'fanout.db'}"
    upgrade(url)
    agent_lines = [lines[n % len(lines)] for n in range(agents)]

    async def insert_agents() -> None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            rows = [
                {
                    "id": n + 1,
                    "username": f"agent{n}",
                    "display_name": f"Agent {n}",
                    "password_hash": "!",
                    "lines": [agent_lines[n]],
                    "created_at": utcnow(),
                }
                for n in range(agents)
            ]
            await conn.execute(insert(Agent), rows)
        await engine.dispose()

    asyncio.run(insert_agents())
    tokens = [issue_token(SECRET, AgentClaims(n + 1, f"agent{n}", f"Agent {n}"), 3600) for n in range(agents)]
    return url, tokens, agent_lines


class _RawAgent(asyncio.Protocol):
    """One agent's end of `WS /ws`, as thin as a client can be: the frame's arrival is stamped
    in `data_received`, before anything is parsed. A full client library in this one process would
    spend more per frame than the server does and measure itself rather than the server."""

    def __init__(self, agents: Agents, deflate: bool) -> None:
        self.agents = agents
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.first_frame: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        # Context takeover (the server's default): one inflater for the life of the connection.
        self.inflater = zlib.decompressobj(-zlib.MAX_WBITS) if deflate else None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it

    def send_text(self, text: bytes, opcode: int = 0x1) -> None:
        """A client frame (masked, as the protocol requires); short ones only, which is all we send."""
        assert self.transport is not None and len(text) < 2**16
        length = bytes([0x80 | len(text)]) if len(text) < 126 else bytes([0x80 | 126]) + len(text).to_bytes(2)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(text))
        self.transport.write(bytes([0x80 | opcode]) + length + mask + masked)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        self.buffer += data
        if not self.upgraded:
            head, sep, rest = bytes(self.buffer).partition(b"\r\n\r\n")
            if not sep:
                return
            if b" 101 " not in head.split(b"\r\n", 1)[0]:
                self.ready.set_exception(RuntimeError(head.decode(errors="replace")))
                return
            self.upgraded = True
            self.buffer = bytearray(rest)
            self.ready.set_result(None)
        buffer = self.buffer
        while len(buffer) >= 2:
            length, offset = buffer[1] & 0x7F, 2
            if length == 126:
                length, offset = int.from_bytes(buffer[2:4]), 4
            elif length == 127:
                length, offset = int.from_bytes(buffer[2:10]), 10
            if len(buffer) < offset + length:
                return
            first, payload = buffer[0], bytes(buffer[offset : offset + length])
            del buffer[: offset + length]
            opcode = first & 0x0F
            if opcode == 0x9:  # uvicorn pings every 20 s
                self.send_text(payload, opcode=0xA)
            elif opcode == 0x1:
                if first & 0x40 and self.inflater is not None:  # RSV1: a compressed message
                    payload = self.inflater.decompress(payload + b"\x00\x00\xff\xff")
                if not self.first_frame.done():
                    self.first_frame.set_result(payload)
                else:
                    self.agents.arrived(now, payload)


class Agents:
    """The clients: every frame's arrival time, kept raw until the measurement is over."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[int, bytes]] = []
        self.expected = 0
        self.all_arrived = asyncio.Event()
        self.transports: list[asyncio.Transport] = []

    async def connect(self, port: int, token: str, deflate: bool) -> None:
        loop = asyncio.get_running_loop()
        transport, agent = await loop.create_connection(lambda: _RawAgent(self, deflate), "127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        extensions = (
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if deflate else ""
        )
        request = (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extensions}\r\n"
        )
        transport.write(request.encode())
        await asyncio.wait_for(agent.ready, 60)
        agent.send_text(orjson.dumps({"type": "auth", "token": token}))
        snapshot = orjson.loads(await asyncio.wait_for(agent.first_frame, 60))
        assert snapshot["type"] == "snapshot", snapshot
        self.transports.append(transport)

    def arrived(self, at_ns: int, frame: bytes) -> None:
        self.arrivals.append((at_ns, frame))
        if len(self.arrivals) >= self.expected:
            self.all_arrived.set()

    def expect(self, count: int) -> None:
        self.arrivals.clear()
        self.all_arrived.clear()
        self.expected = count

    def latencies_ms(self) -> list[float]:
        return [(arrived - orjson.loads(frame)["call"]["sent_ns"]) / 1e6 for arrived, frame in self.arrivals]

    async def close(self) -> None:
        for transport in self.transports:
            transport.close()


def summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"p50 {statistics.median(ordered):6.2f} ms   p99 {p99:6.2f} ms   max {ordered[-1]:6.2f} ms"
        f"   ({len(ordered)} deliveries)"
    )


async def drive(
    args: argparse.Namespace, port: int, server: psutil.Process, tokens: list[str], lines: list[str]
) -> None:
    base = f"http://127.0.0.1:{port}"
    load_before = os.getloadavg()[0]
    agents = Agents()
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        assert (await http.get("/readyz")).status_code == 200
        # Warm up the code paths (imports, caches, the first pop) before taking the baseline.
        warm = Agents()
        await asyncio.gather(*(warm.connect(port, tokens[n], args.deflate) for n in range(10)))
        warm.expect(1)
        await http.post(
            "/bench/pops", json={"tag": "warm", "lines": [lines[0]], "rounds": 1, "interval_ms": 0}
        )
        await warm.close()
        await asyncio.sleep(1)  # let the server finish closing the warm-up sockets
        baseline = server.memory_info().rss

        started = time.monotonic()
        batch = 50  # connection attempts in flight, well inside the listen backlog
        for first in range(0, args.agents, batch):
            await asyncio.gather(
                *(
                    agents.connect(port, tokens[n], args.deflate)
                    for n in range(first, min(first + batch, args.agents))
                )
            )
        connect_s = time.monotonic() - started
        await asyncio.sleep(2)  # idle: whatever the server allocates lazily has been allocated
        connected = server.memory_info().rss
        per_connection_kb = (connected - baseline) / args.agents / 1024

        one_line = sorted(set(lines))[0]
        per_line = lines.count(one_line)
        agents.expect(args.pops * per_line)
        await http.post(
            "/bench/pops", json={"tag": "line", "lines": [one_line], "rounds": args.pops, "interval_ms": 20}
        )
        await asyncio.wait_for(agents.all_arrived.wait(), 60)
        single_line = agents.latencies_ms()

        every_line = sorted(set(lines))
        rounds = max(args.pops // 4, 10)
        agents.expect(rounds * args.agents)
        await http.post(
            "/bench/pops", json={"tag": "all", "lines": every_line, "rounds": rounds, "interval_ms": 100}
        )
        await asyncio.wait_for(agents.all_arrived.wait(), 120)
        all_lines = agents.latencies_ms()
        await agents.close()

    print(f"permessage-deflate: {'on' if args.deflate else 'off'}; {args.agents} agents, {per_line} per line")
    # Client and server share this machine's CPUs: a busy machine shows in the tail.
    print(f"{os.cpu_count()} CPUs, load average before the run: {load_before:.2f}")
    print(f"connected {args.agents} agents in {connect_s:.1f} s")
    print(
        f"server RSS {baseline / 2**20:.1f} MiB -> {connected / 2**20:.1f} MiB idle with {args.agents} agents:"
    )
    print(f"  {per_connection_kb:.1f} KB per idle connection (budget 50 KB)")
    print(f"pop to the {per_line} agents of one line, {args.pops} pops 20 ms apart (budget p99 10 ms):")
    print(f"  {summary(single_line)}")
    print(
        f"one pop on each of the {len(every_line)} lines at once ({args.agents} deliveries), {rounds} rounds:"
    )
    print(f"  {summary(all_lines)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--per-line", type=int, default=100)
    parser.add_argument("--pops", type=int, default=200)
    parser.add_argument("--deflate", action="store_true", help="permessage-deflate on (uvicorn's default)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--fd", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.fd, args.deflate)
        return

    # Two sockets per agent on this machine (ours and the server's) plus the usual files.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * args.agents + 256
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            sys.exit(f"the open-files limit is {hard}; {wanted} needed (raise `ulimit -Hn`)")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))

    lines = [f"queue-{n}" for n in range(max(args.agents // args.per_line, 1))]
    with tempfile.TemporaryDirectory() as tmp:
        url, tokens, agent_lines = prepare_database(Path(tmp), args.agents, lines)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(2048)
        port = listener.getsockname()[1]
        env = {
            **os.environ,
            "RINGCARD_DATABASE_URL": url,
            "RINGCARD_SECRET_KEY": SECRET,
            "RINGCARD_LOG_LEVEL": "warning",
        }
        env.pop("RINGCARD_REDIS_URL", None)  # one instance, in-process fan-out
        command = [sys.executable, "-m", "bench.fanout", "--serve", "--fd", str(listener.fileno())]
        if args.deflate:
            command.append("--deflate")
        process = subprocess.Popen(command, cwd=ROOT, env=env, pass_fds=(listener.fileno(),))
        try:
            import uvloop

            uvloop.run(drive(args, port, psutil.Process(process.pid), tokens, agent_lines))
        finally:
            process.terminate()
            process.wait(timeout=30)
            listener.close()


if __name__ == "__main__":
    main()
