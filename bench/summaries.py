"""AI summaries on this machine: N call transcripts through the embedded local model (SmolLM2-135M
behind llama.cpp's OpenAI-compatible server, the [ai] extra), and the pop latency while they run.

    .venv/bin/python -m bench.summaries [--calls 12 --agents 20 --rate 5 --seconds 20]

The service runs as an operator runs it (its own process, PostgreSQL). Prints seconds per summary
(transcript in → draft ready), summaries per minute, how many validated, and webhook → pop
p50/p99/max for signed Twilio calls with no summaries running and with the worker busy (the same
calls, rate and agents). Budget (issue #6, kept by issue #17): pop p99 <= 25 ms while summaries run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

import httpx
import orjson
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import connect

from app.calls.identity import call_id_for
from app.summaries.local_model import LocalModel
from bench.common import fresh_database, running_service, signed_in_agent

TOKEN = "bench-twilio-token-0123456789"
ADMIN = "bench-admin-key-0123456789"
SYNC = "bench-sync-key-0123456789"
CTI = "bench-cti-token-0123456789"
LINE = "+48221234567"

TOPICS = [
    ("my order {n} has not arrived yet, where is it?", "It shipped yesterday and arrives tomorrow."),
    ("I want to return the kettle from order {n}, the lid is broken.", "I have opened a return for you."),
    ("I was charged twice for order {n}.", "I see the second charge, I will refund it today."),
    ("Can I change the address on order {n}? I just placed it.", "Yes, I have changed it."),
]


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def transcript(i: int) -> dict[str, object]:
    asked, answered = TOPICS[i % len(TOPICS)]
    number = 1000 + i
    return {
        "segments": [
            {"speaker": "agent", "text": "Good morning, Ringcard Shop.", "start_s": 0.0},
            {"speaker": "customer", "text": f"Hi, {asked.format(n=number)}", "start_s": 2.0},
            {"speaker": "agent", "text": answered, "start_s": 8.0},
            {"speaker": "customer", "text": "Thank you, bye.", "start_s": 14.0},
        ]
    }


async def make_calls(http: httpx.AsyncClient, count: int) -> list[str]:
    ids = []
    for i in range(count):
        base = {"from": f"+4860{1000000 + i}", "to": LINE, "direction": "in", "callId": f"bench-{i}"}
        for event, extra in (
            ("newCall", {}),
            ("answer", {"user": "bench"}),
            ("hangup", {"cause": "normalClearing"}),
        ):
            assert (
                await http.post(f"/webhooks/cti/{CTI}", data={"event": event, **base, **extra})
            ).status_code == 200
        ids.append(call_id_for("cti", f"bench-{i}"))
    await asyncio.sleep(1)  # the call events are recorded behind their answers
    return ids


async def pops(
    base: str, http: httpx.AsyncClient, token: str, agents: int, rate: float, seconds: float, tag: str
) -> list[float]:
    """Webhook → pop milliseconds for signed Twilio calls at `rate`, every agent's receipt."""
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    stop = asyncio.Event()
    ready = asyncio.Semaphore(0)

    async def agent() -> None:
        async with connect(base.replace("http://", "ws://") + "/ws", max_size=2**22) as ws:
            await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
            await ws.recv()
            ready.release()
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(decode=False), 0.5)
                except TimeoutError:
                    continue
                now = time.perf_counter()
                head = raw[:120]
                if head.startswith(b'{"type":"call.ringing"'):
                    start = head.index(b'"call_id":"') + 11
                    started = sent_at.get(head[start : head.index(b'"', start)].decode())
                    if started is not None:
                        latencies.append((now - started) * 1000)

    listeners = [asyncio.create_task(agent()) for _ in range(agents)]
    for _ in range(agents):
        await asyncio.wait_for(ready.acquire(), 60)
    validator = RequestValidator(TOKEN)
    url = f"{base}/webhooks/twilio/voice"
    begin = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = begin + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sid = f"CA{tag}{i:030x}"
        params = {"CallSid": sid, "From": f"+4869{1000000 + i}", "To": LINE, "CallStatus": "ringing"}
        sent_at[call_id_for("twilio", sid)] = time.perf_counter()
        answer = await http.post(
            "/webhooks/twilio/voice",
            data=params,
            headers={"X-Twilio-Signature": validator.compute_signature(url, params)},
        )
        assert answer.status_code == 200, answer.text
    await asyncio.sleep(1)
    stop.set()
    await asyncio.gather(*listeners)
    return latencies


async def run(base: str, calls: int, agents: int, rate: float, seconds: float) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        token = await signed_in_agent(http, ADMIN, LINE)
        agent_headers = {"Authorization": f"Bearer {token}"}

        quiet = await pops(base, http, token, agents, rate, seconds, "a")
        print(
            f"pops, no summaries running: {len(quiet)} receipts  p50 {pct(quiet, 50):.2f} ms  "
            f"p99 {pct(quiet, 99):.2f} ms  max {max(quiet):.2f} ms"
        )

        ids = await make_calls(http, calls)
        posted: dict[str, float] = {}
        began = time.perf_counter()
        for i, call_id in enumerate(ids):
            posted[call_id] = time.perf_counter()
            answer = await http.post(
                f"/api/v1/calls/{call_id}/transcript",
                json=transcript(i),
                headers={"Authorization": f"Bearer {SYNC}"},
            )
            assert answer.status_code == 202, answer.text
        busy_task = asyncio.create_task(pops(base, http, token, agents, rate, seconds, "b"))
        finished: dict[str, tuple[float, str]] = {}
        while len(finished) < len(ids):
            for call_id in ids:
                if call_id in finished:
                    continue
                summary = (await http.get(f"/api/v1/calls/{call_id}", headers=agent_headers)).json()[
                    "summary"
                ]
                if summary and summary["status"] in ("ready", "failed"):
                    finished[call_id] = (time.perf_counter(), summary["status"])
            await asyncio.sleep(0.2)
        total_s = time.perf_counter() - began
        busy = await busy_task

    done_at = sorted(at for at, _ in finished.values())
    each = [b - a for a, b in zip([began, *done_at], done_at, strict=False)]
    ready = sum(1 for _, state in finished.values() if state == "ready")
    print(f"summaries: {calls} transcripts, {ready} validated drafts, {calls - ready} failed after a retry")
    print(
        f"  one after another on {os.cpu_count()} cores: {statistics.mean(each):.1f} s per summary "
        f"(median {statistics.median(each):.1f} s, slowest {max(each):.1f} s); "
        f"{calls / total_s * 60:.1f} summaries per minute"
    )
    print(
        f"pops while summaries ran: {len(busy)} receipts  p50 {pct(busy, 50):.2f} ms  "
        f"p99 {pct(busy, 99):.2f} ms  max {max(busy):.2f} ms  (budget p99 <= 25 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=12)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--rate", type=float, default=5)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    started = time.perf_counter()
    with LocalModel() as model:
        print(f"local model {model.model} answering after {time.perf_counter() - started:.1f} s")
        url = fresh_database("ringcard_bench_summaries")
        env = {
            "RINGCARD_DATABASE_URL": url,
            "RINGCARD_TWILIO_AUTH_TOKEN": TOKEN,
            "RINGCARD_ADMIN_API_KEY": ADMIN,
            "RINGCARD_SYNC_API_KEY": SYNC,
            "RINGCARD_CTI_TOKEN": CTI,
            # Every agent of the benchmark signs in as one user: one socket each.
            "RINGCARD_MAX_SOCKETS_PER_AGENT": "100",
            "RINGCARD_LLM_BASE_URL": model.base_url,
            "RINGCARD_LLM_MODEL": model.model,
        }
        with running_service(env) as base:
            asyncio.run(run(base, args.calls, args.agents, args.rate, args.seconds))


if __name__ == "__main__":
    main()
