"""What an unauthenticated client can make the service hold is bounded: request bodies, the
socket's first frame, and the snapshot every (re)connecting console receives."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import orjson
import psutil
import pytest
from sqlalchemy import func, select
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.calls.models import Call
from app.calls.snapshots import SNAPSHOT_MAX_CALLS
from app.db import utcnow
from app.main import create_app
from app.push.socket_routes import CLIENT_MESSAGE_MAX_BYTES
from app.store.models import Customer
from tests.conftest import SYNC, make_settings
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, Served, agent_socket, create_agent, serve

pytestmark = LEGACY_WEBSOCKETS_WARNINGS
LIMIT = 64 * 1024
LINE = "+48221234567"


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[Served]:
    settings = make_settings(database_url, max_body_bytes=LIMIT, twilio_auth_token="twilio-token-0123456789")
    async with serve(create_app(settings)) as running:
        yield running


async def raw_request(port: int, head: bytes, body_chunks: list[bytes]) -> tuple[int, bytes]:
    """Send `head` and then `body_chunks` while reading the answer: the server may answer (and
    close) before the client has finished sending, as a real oversized upload sees it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def send() -> None:
        with contextlib.suppress(ConnectionError):
            writer.write(head)
            for chunk in body_chunks:
                writer.write(chunk)
                await writer.drain()

    sending = asyncio.create_task(send())
    try:
        async with asyncio.timeout(10):
            head_bytes = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head_bytes.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            body = await reader.readexactly(length)
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
        writer.close()
    return int(head_bytes.split(b" ", 2)[1]), body


def chunked(data: bytes, size: int) -> list[bytes]:
    parts = [data[i : i + size] for i in range(0, len(data), size)]
    return [b"%x\r\n%s\r\n" % (len(part), part) for part in parts] + [b"0\r\n\r\n"]


async def test_a_body_declared_larger_than_the_limit_is_refused_before_it_is_read(served: Served) -> None:
    head = (
        b"PUT /api/v1/customers/c1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: " + SYNC["Authorization"].encode() + b"\r\n"
        b"Content-Length: 104857600\r\n\r\n"
    )
    status, body = await raw_request(served.port, head, [])
    assert status == 413
    assert orjson.loads(body)["detail"] == (
        f"the request body is larger than {LIMIT} bytes (RINGCARD_MAX_BODY_BYTES)"
    )


async def test_a_streamed_body_is_cut_off_at_the_limit_and_memory_does_not_grow(served: Served) -> None:
    process = psutil.Process()
    payload = b'{"first_name": "' + b"a" * (4 * LIMIT) + b'"}'
    head = (
        b"PUT /api/v1/customers/c1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: " + SYNC["Authorization"].encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    assert (await raw_request(served.port, head, chunked(payload, 8192)))[0] == 413
    # A form post to a webhook too: its route turns unreadable bodies into a 422 of its own,
    # and must not here.
    form_head = (
        b"POST /webhooks/twilio/voice HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    assert (await raw_request(served.port, form_head, chunked(b"From=" + b"1" * 4 * LIMIT, 8192)))[0] == 413

    before = process.memory_info().rss
    big = b"x" * (8 * 1024 * 1024)
    for _ in range(6):
        assert (await raw_request(served.port, head, chunked(big, 256 * 1024)))[0] == 413
    grown_mb = (process.memory_info().rss - before) / 2**20
    assert grown_mb < 40, f"six 8 MB bodies grew the process by {grown_mb:.0f} MB"

    # Nothing was written, and an ordinary request still works.
    assert await served.on_server(customers_stored(served)) == 0
    async with httpx.AsyncClient(base_url=served.http_url) as http:
        ok = await http.put(
            "/api/v1/customers/c1",
            json={"first_name": "Anna", "updated_at": "2026-11-30T10:00:00Z"},
            headers=SYNC,
        )
        assert ok.status_code in (200, 201), ok.text
    assert await served.on_server(customers_stored(served)) == 1


async def customers_stored(served: Served) -> int:
    async with served.app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Customer)) or 0)


async def test_the_ndjson_import_is_bounded_per_line_not_per_body(served: Served) -> None:
    lines = [
        orjson.dumps(
            {
                "type": "customer",
                "external_id": f"c{i}",
                "first_name": "Anna" + "x" * 200,
                "updated_at": "2026-11-30T10:00:00Z",
            }
        )
        for i in range(600)
    ]
    body = b"\n".join(lines) + b"\n"
    assert len(body) > 2 * LIMIT
    async with httpx.AsyncClient(base_url=served.http_url, timeout=30) as http:
        answer = await http.post(
            "/api/v1/import",
            content=body,
            headers={**SYNC, "Content-Type": "application/x-ndjson"},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["rejected"] == 0
    assert await served.on_server(customers_stored(served)) == 600


async def test_an_oversized_first_frame_closes_the_socket_without_being_held(served: Served) -> None:
    process = psutil.Process()
    before = process.memory_info().rss
    for _ in range(10):
        async with connect(served.ws_url, max_size=None) as ws:
            with contextlib.suppress(ConnectionClosed):
                await ws.send("x" * (4 * 1024 * 1024))
            with pytest.raises(ConnectionClosed) as closed:
                async with asyncio.timeout(5):
                    await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    grown_mb = (process.memory_info().rss - before) / 2**20
    assert grown_mb < 40, f"ten 4 MB frames grew the process by {grown_mb:.0f} MB"
    # A token-sized first frame is fine.
    async with httpx.AsyncClient(base_url=served.http_url) as http:
        token = await create_agent(http, "ola", [LINE])
    assert len(token) < CLIENT_MESSAGE_MAX_BYTES // 4
    async with agent_socket(served.ws_url, token) as console:
        assert console.received[0]["type"] == "snapshot"


async def test_the_snapshot_carries_the_newest_live_calls_only(served: Served) -> None:
    now = utcnow()

    async def insert(*calls: Call) -> None:
        async with served.app.state.sessionmaker() as session, session.begin():
            session.add_all(calls)

    async def snapshot_ids() -> list[str]:
        async with agent_socket(served.ws_url, token) as console:
            return [item["call_id"] for item in console.received[0]["calls"]]

    async with httpx.AsyncClient(base_url=served.http_url) as http:
        token = await create_agent(http, "ola", [LINE])
    # Rang for an hour: the provider never said it ended, so it is not a live call; an hour-long
    # conversation is.
    await served.on_server(
        insert(
            call_row("stuck", "ringing", now - timedelta(hours=1)),
            call_row("talking", "answered", now - timedelta(hours=1)),
        )
    )
    assert await snapshot_ids() == ["talking"]

    await served.on_server(
        insert(
            *(
                # All within the ring timeout (180 s): live, and more of them than a snapshot carries.
                call_row(f"new{i}", "ringing", now - timedelta(milliseconds=100 * i))
                for i in range(SNAPSHOT_MAX_CALLS + 50)
            )
        )
    )
    ids = await snapshot_ids()
    assert len(ids) == SNAPSHOT_MAX_CALLS
    assert set(ids) == {f"new{i}" for i in range(SNAPSHOT_MAX_CALLS)}


def call_row(provider_call_id: str, state: str, started_at: object) -> Call:
    return Call(
        id=provider_call_id,
        provider="twilio",
        provider_call_id=provider_call_id,
        direction="in",
        from_raw="+48601234567",
        from_e164="+48601234567",
        to_raw=LINE,
        line=LINE,
        blocked=False,
        state=state,
        started_at=started_at,
        answered_at=started_at if state == "answered" else None,
        seq=1,
        done=True,
        updated_at=started_at,
    )
