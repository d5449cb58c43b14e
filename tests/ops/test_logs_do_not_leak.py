"""The log `ringcard serve` writes can go to a log service: after a day's traffic through the real
command on a real socket it holds every access line and the app's INFO lines, one line per event,
and none of the secrets, numbers, names or emails that traffic carried."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

import asyncpg
import httpx
import pytest
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import connect

from app.db.migrate import upgrade
from app.kit.log_redaction import redact_target, scrub_text
from tests.conftest import _pg_admin, in_own_thread
from tests.fixtures.services import PG_ADMIN_DSN, require
from tests.fixtures.store_records import customer, order

SYNC_KEY = "sync-key-for-the-log-test-5f1c9a"
ADMIN_KEY = "admin-key-for-the-log-test-0d2b7e"
TWILIO_TOKEN = "twilio-token-for-the-log-test-8a3f"
CTI_TOKEN = "cti-token-for-the-log-test-71c4e2"
SECRET_KEY = "signing-key-for-the-log-test-c0ffee-0123456789"
SHOPIFY_SECRET = "shopify-secret-for-the-log-test-99"
DB_PASSWORD = "db-password-for-the-log-test-4242"
AGENT = "ola.kowalska"
AGENT_NAME = "Ola Kowalska"
AGENT_PASSWORD = "Correct-Horse-Battery-77"
WRONG_PASSWORD = "Wrong-Horse-Battery-78"
LINE = "+48221234567"


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    email: str
    e164: str

    @property
    def national(self) -> str:
        return self.e164.removeprefix("+48")

    @property
    def spaced(self) -> str:
        n = self.national
        return f"{n[:3]} {n[3:6]} {n[6:]}"


ANNA = Person("Anna", "Nowak", "anna.nowak@example.pl", "+48601234567")
ZBIGNIEW = Person("Zbigniew", "Brzęczyszczykiewicz", "zbigniew.b@example.com", "+48698765432")
# Refused by a trigger in the database: the request that meets an SQL error.
ZOFIA = Person("Zofia", "Wróblewska", "zofia.wroblewska@example.org", "+48512345678")
PEOPLE = (ANNA, ZBIGNIEW, ZOFIA)
AGENT_PHONE = "+48500600700"


def number_forms(e164: str) -> set[str]:
    """Every way the traffic below writes a Polish number, and how each of those looks in a URL."""
    national = e164.removeprefix("+48")
    spaced = f"{national[:3]} {national[3:6]} {national[6:]}"
    written = {e164, e164[1:], "00" + e164[1:], national, spaced, spaced.replace(" ", "-"), f"+48 {spaced}"}
    return {form for w in written for form in (w, quote(w, safe=""), quote_plus(w), quote(w))}


def forbidden(tokens: list[str]) -> dict[str, str]:
    """What must never be in the log, each with why (for the failure message)."""
    found: dict[str, str] = {}
    for name, value in {
        "sync key": SYNC_KEY,
        "admin key": ADMIN_KEY,
        "Twilio token": TWILIO_TOKEN,
        "CTI token": CTI_TOKEN,
        "signing key": SECRET_KEY,
        "Shopify secret": SHOPIFY_SECRET,
        "database password": DB_PASSWORD,
        "agent password": AGENT_PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "agent username": AGENT,
        "agent name": AGENT_NAME,
        "agent surname": "Kowalska",
    }.items():
        found[value] = name
    for index, token in enumerate(tokens):
        found[token] = f"bearer token {index}"
        found[token.split(".")[1]] = f"bearer token {index}'s claims (they hold the username)"
    for person in PEOPLE:
        for form in number_forms(person.e164):
            found[form] = f"{person.first}'s number"
        for part in (person.first, person.last):
            found[part] = f"{person.first}'s name"
        for form in (person.email, quote(person.email, safe=""), person.email.split("@")[0]):
            found[form] = f"{person.first}'s email"
    for form in number_forms(AGENT_PHONE):
        found[form] = "the agent's number"
    return found


@dataclass
class Database:
    url: str
    backend: str


async def _refuse_zofia_on_postgresql(url: str) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        # As a unique violation does (`Key (email)=(...) already exists`), the error's DETAIL
        # quotes the row's values back.
        await conn.execute(f"""
            CREATE FUNCTION refuse_zofia() RETURNS trigger AS $$ BEGIN
              IF NEW.email = '{ZOFIA.email}' THEN
                RAISE EXCEPTION 'refused by the test'
                  USING DETAIL = 'Key (email)=(' || NEW.email || ') already exists.';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER refuse_zofia BEFORE INSERT ON customers
              FOR EACH ROW EXECUTE FUNCTION refuse_zofia();
        """)
    finally:
        await conn.close()


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database of its own (the trigger must not reach other tests) that fails every
    write of ZOFIA inside the database."""
    if request.param == "sqlite":
        path = tmp_path / "ringcard.db"
        url = f"sqlite+aiosqlite:///{path}"
        in_own_thread(upgrade, url)
        with sqlite3.connect(path) as conn:
            conn.execute(
                "CREATE TRIGGER refuse_zofia BEFORE INSERT ON customers "
                f"WHEN NEW.email = '{ZOFIA.email}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )
        yield Database(url, "sqlite")
        return
    require("PostgreSQL", "127.0.0.1", 5432)
    name = f"ringcard_logs_{uuid.uuid4().hex[:10]}"
    in_own_thread(asyncio.run, _pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        # Trust authentication never checks the password, but the service is given it in its URL.
        host = PG_ADMIN_DSN.split("@", 1)[1].rsplit("/", 1)[0]
        url = f"postgresql+asyncpg://postgres:{DB_PASSWORD}@{host}/{name}"
        in_own_thread(upgrade, url)
        in_own_thread(asyncio.run, _refuse_zofia_on_postgresql(url))
        yield Database(url, "postgresql")
    finally:
        in_own_thread(asyncio.run, _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Service:
    url: str
    process: subprocess.Popen[bytes]
    output: list[Path]

    def log(self) -> str:
        return "".join(path.read_text() for path in self.output)


def _start(
    env: dict[str, str], workdir: Path, port: int, stdout: Path, stderr: Path
) -> subprocess.Popen[bytes]:
    with stdout.open("wb") as out, stderr.open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=err,
        )


@asynccontextmanager
async def ringcard_serve(database: Database, log_format: str, workdir: Path) -> AsyncIterator[Service]:
    """`ringcard serve` in a process of its own, configured only through RINGCARD_* variables (no
    .env: it runs in an empty directory), its stdout and stderr kept in files."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RINGCARD_")},
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "RINGCARD_DATABASE_URL": database.url,
        "RINGCARD_PUBLIC_URL": url,
        "RINGCARD_SYNC_API_KEY": SYNC_KEY,
        "RINGCARD_ADMIN_API_KEY": ADMIN_KEY,
        "RINGCARD_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "RINGCARD_CTI_TOKEN": CTI_TOKEN,
        "RINGCARD_SECRET_KEY": SECRET_KEY,
        "RINGCARD_SHOPIFY_WEBHOOK_SECRET": SHOPIFY_SECRET,
        "RINGCARD_LOG_FORMAT": log_format,
        "RINGCARD_LOG_LEVEL": "info",
        "RINGCARD_GC_FREEZE": "false",
    }
    stdout, stderr = workdir / "stdout.log", workdir / "stderr.log"
    process = _start(env, workdir, port, stdout, stderr)
    service = Service(url, process, [stderr, stdout])
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(base_url=url) as client:
            while True:
                assert process.poll() is None, f"ringcard serve exited: {service.log()}"
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"ringcard serve did not start: {service.log()}"
                await asyncio.sleep(0.1)
        yield service
    finally:
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.to_thread(process.wait, 20)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait, 5)


def twilio_signed(url: str, path: str, params: dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(url + path, params)}


def twilio_params(call_sid: str, caller: str, status: str, **extra: str) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": "AC" + "0" * 32,
        "From": caller,
        "To": LINE,
        "Caller": caller,
        "Called": LINE,
        "CallStatus": status,
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        **extra,
    }


def expect(answer: httpx.Response, status: int) -> None:
    assert answer.status_code == status, (answer.request.url, answer.status_code, answer.text)


async def a_days_traffic(url: str) -> list[str]:
    """Everything a store's day sends the service; the bearer tokens it issued."""
    sync = {"Authorization": f"Bearer {SYNC_KEY}"}
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=url, timeout=20) as http:
        # The store backend syncs its customers and orders (names, emails, numbers in every form).
        for external_id, person, number in (
            ("c-1", ANNA, ANNA.spaced),
            (ZBIGNIEW.email, ZBIGNIEW, f"+48 {ZBIGNIEW.spaced}"),
        ):
            body = customer(
                first_name=person.first,
                last_name=person.last,
                email=person.email,
                phones=[{"number": number, "kind": "mobile"}],
            )
            expect(
                await http.put(f"/api/v1/customers/{quote(external_id, safe='')}", json=body, headers=sync),
                200,
            )
        anna_order = order(
            "#1042", "129.00", name=f"{ANNA.first} {ANNA.last}", email=ANNA.email,
            phones=[{"number": f"+48 {ANNA.spaced.replace(' ', '-')}", "kind": "billing"}],
        )  # fmt: skip
        expect(await http.put("/api/v1/orders/o-1", json=anna_order, headers=sync), 200)
        expect(await http.put(f"/api/v1/customers/{ANNA.e164}", json=customer(), headers={}), 401)
        wrong = {"Authorization": f"Bearer {ADMIN_KEY}"}
        expect(await http.put("/api/v1/customers/c-2", json=customer(), headers=wrong), 401)
        # The database refuses one write: an SQL error with the customer's values in its statement.
        zofia = customer(
            first_name=ZOFIA.first,
            last_name=ZOFIA.last,
            email=ZOFIA.email,
            phones=[{"number": ZOFIA.e164, "kind": "mobile"}],
        )
        async with httpx.AsyncClient(base_url=url, timeout=20) as once:  # uvicorn drops a 500's connection
            expect(await once.put("/api/v1/customers/c-3", json=zofia, headers=sync), 500)
        # The store erases a customer it knows by email.
        expect(await http.delete(f"/api/v1/customers/{quote(ZBIGNIEW.email, safe='')}", headers=sync), 200)

        # The operator creates an agent, who signs in (after a typo), as does a stranger.
        agent = {
            "username": AGENT,
            "display_name": AGENT_NAME,
            "password": AGENT_PASSWORD,
            "lines": [LINE],
            "phone": AGENT_PHONE,
        }
        expect(await http.post("/api/v1/agents", json=agent, headers=admin), 201)
        sign_in = {"username": AGENT, "password": WRONG_PASSWORD}
        expect(await http.post("/auth/token", json=sign_in), 401)
        expect(
            await http.post("/auth/token", json={"username": "nobody.else", "password": AGENT_PASSWORD}), 401
        )
        signed_in = await http.post("/auth/token", json={"username": AGENT, "password": AGENT_PASSWORD})
        expect(signed_in, 200)
        token: str = signed_in.json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}

        # The console's socket, with a token in its URL too (where one should not be).
        ws_url = url.replace("http://", "ws://") + f"/ws?token={token}"
        async with connect(ws_url, open_timeout=10) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "snapshot"

            # Anna calls through Twilio: voice webhook, answered, hung up; one forged request.
            sid = "CA" + uuid.uuid4().hex
            ringing = twilio_params(sid, ANNA.e164, "ringing")
            path = "/webhooks/twilio/voice"
            expect(await http.post(path, data=ringing, headers=twilio_signed(url, path, ringing)), 200)
            path = "/webhooks/twilio/status"
            for sequence, status in enumerate(("in-progress", "completed"), start=1):
                params = twilio_params(sid, ANNA.e164, status, SequenceNumber=str(sequence))
                if status == "completed":
                    params["CallDuration"] = "42"
                expect(await http.post(path, data=params, headers=twilio_signed(url, path, params)), 204)
            forged = twilio_params("CA" + uuid.uuid4().hex, ANNA.e164, "ringing")
            expect(
                await http.post("/webhooks/twilio/voice", data=forged, headers={"X-Twilio-Signature": "x"}),
                401,
            )

            # Zbigniew calls through the PBX: CTI events with the token in the path.
            cti = f"/webhooks/cti/{CTI_TOKEN}"
            call = {
                "from": f"0048{ZBIGNIEW.national}",
                "to": LINE,
                "direction": "in",
                "callId": "1699999999.42",
            }
            for event in ("newCall", "answer", "hangup"):
                expect(await http.post(cti, data={**call, "event": event}), 200)
            expect(
                await http.post("/webhooks/cti/not-the-token-0000000", data={**call, "event": "newCall"}), 401
            )
            # The PBX asks for a caller's name with the token in the query; 3CX with a bearer.
            pbx = f"/pbx/lookup?number={quote(ANNA.e164)}&token={CTI_TOKEN}&call_id=pbx-9&to={quote(LINE)}"
            expect(await http.get(pbx), 200)
            expect(await http.get(f"/pbx/lookup?number={ANNA.national}&token={WRONG_PASSWORD}"), 401)
            threecx = {"Authorization": f"Bearer {CTI_TOKEN}"}
            expect(
                await http.get(f"/integrations/3cx/contacts?phone=00{ANNA.e164[1:]}", headers=threecx), 200
            )
        # The agent looks numbers up in every writing and searches the call log by name and email.
        for query in (
            {"number": ANNA.e164},
            {"number": f"+48 {ANNA.spaced}"},
            {"number": ANNA.national},
        ):
            expect(await http.get("/api/v1/lookup", params=query, headers=bearer), 200)
        for raw in (
            f"number={ANNA.e164}",
            f"number=%2B48%20{quote(ANNA.spaced)}",
            f"number={ANNA.spaced.replace(' ', '-')}",
        ):
            expect(await http.get(f"/api/v1/lookup?{raw}", headers=bearer), 200)
        for query in (
            {"q": f"{ANNA.first} {ANNA.last}"},
            {"q": ANNA.last},
            {"q": ANNA.email},
            {"q": ANNA.national},
            {"from": ANNA.e164, "limit": "5"},
        ):
            expect(await http.get("/api/v1/calls", params=query, headers=bearer), 200)

        # Mistyped and probing requests carrying secrets and data.
        expect(await http.get(f"/webhooks/cti/{CTI_TOKEN}/history"), 404)
        expect(await http.get(cti), 405)
        probe = (
            f"/nothing-here?token={CTI_TOKEN}&key={SYNC_KEY}&secret={ADMIN_KEY}&signature={TWILIO_TOKEN}"
            f"&password={AGENT_PASSWORD}&name={quote(ZBIGNIEW.first)}&email={quote(ZBIGNIEW.email)}"
        )
        expect(await http.get(probe), 404)
        expect(await http.get(f"/api/v1/agents/me?access_token={token}"), 401)
        expect(await http.get(f"/download/{token}"), 404)
        expect(await http.get(f"/api/v1/customers/{ANNA.e164}/{SHOPIFY_SECRET}"), 404)
        expect(await http.get(f"/{quote(ZBIGNIEW.email)}?{quote(ANNA.email)}"), 404)
    return [token]


TIME_LEVEL_LOGGER = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+ "
)


def events(log: str, log_format: str) -> list[dict[str, str]]:
    """The log's events, each as ts/level/logger/msg(/exc); every line must be a whole event."""
    parsed = []
    for line in log.splitlines():
        if log_format == "json":
            event = json.loads(line)
            assert {"ts", "level", "logger", "msg"} <= event.keys() <= {"ts", "level", "logger", "msg", "exc"}
            parsed.append(event)
        else:
            head = TIME_LEVEL_LOGGER.match(line)
            assert head is not None, f"not one line per event: {line!r}"
            message, _, exc = line[head.end() :].partition(" | ")
            parsed.append({"level": head.group(1), "logger": line.split(" ")[2], "msg": message, "exc": exc})
    return parsed


@pytest.mark.parametrize(
    ("database", "log_format"), [("sqlite", "text"), ("postgresql", "json")], indirect=["database"]
)
async def test_a_days_log_holds_every_request_and_no_secret_number_name_or_email(
    database: Database, log_format: str, tmp_path: Path
) -> None:
    async with ringcard_serve(database, log_format, tmp_path) as service:
        tokens = await a_days_traffic(service.url)
    log = service.log()

    leaks = {why: value for value, why in forbidden(tokens).items() if value.lower() in log.lower()}
    assert not leaks, f"the log leaks {leaks}"

    parsed = events(log, log_format)
    messages = [e["msg"] for e in parsed]
    access = [e["msg"] for e in parsed if e["logger"] == "uvicorn.access"]

    def logged(fragment: str, lines: list[str] = messages) -> bool:
        return any(fragment in line for line in lines)

    # Every request is there, with its values masked rather than dropped.
    assert len(access) >= 40, access
    for fragment in (
        '"POST /webhooks/twilio/voice HTTP/1.1" 200',
        '"POST /webhooks/twilio/status HTTP/1.1" 204',
        '"POST /webhooks/cti/*** HTTP/1.1" 200',
        '"POST /webhooks/cti/*** HTTP/1.1" 401',
        '"GET /webhooks/cti/***/history HTTP/1.1" 404',
        '"GET /pbx/lookup?number=%2B486******67&token=***&call_id=pbx-9&to=%2B482******67 HTTP/1.1" 200',
        '"GET /integrations/3cx/contacts?phone=%2B486******67 HTTP/1.1" 200',
        '"GET /api/v1/lookup?number=%2B486******67 HTTP/1.1" 200',
        '"GET /api/v1/lookup?number=601****67 HTTP/1.1" 200',
        '"GET /api/v1/calls?q=A***%20N**** HTTP/1.1" 200',
        '"GET /api/v1/calls?q=a*********@e******.pl HTTP/1.1" 200',
        '"GET /api/v1/calls?from=%2B486******67&limit=5 HTTP/1.1" 200',
        '"PUT /api/v1/customers/z*********@e******.com HTTP/1.1" 200',
        '"PUT /api/v1/customers/c-3 HTTP/1.1" 500',
        '"POST /auth/token HTTP/1.1" 401',
        '"POST /auth/token HTTP/1.1" 200',
        '"GET /nothing-here?token=***&key=***&secret=***&signature=***&password=***&name=Z*******&email=',
        '"GET /api/v1/agents/me?access_token=*** HTTP/1.1" 401',
        '"GET /download/*** HTTP/1.1" 404',
    ):
        assert logged(fragment, access), f"no access line with {fragment}:\n" + "\n".join(access)
    assert logged('"WebSocket /ws?token=***" [accepted]')
    # The app's own INFO lines, with the caller masked.
    assert logged("incoming Twilio call CA") and logged("from +486******67")
    assert logged("CTI call 1699999999.42 from 004********32")
    assert logged("PBX lookup for +486******67")
    # The SQL error is logged with its statement and traceback, but not the values it carried.
    errors = [e for e in parsed if e["level"] == "ERROR" and e.get("exc")]
    assert any(
        "refused by the test" in e["exc"] and "hide_parameters=True" in e["exc"] for e in errors
    ), errors


UNCHANGED = ""


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        ("/webhooks/cti/s3cr3t", "/webhooks/cti/***"),
        ("/pbx/lookup?number=+48601234567&token=abc", "/pbx/lookup?number=%2B486******67&token=***"),
        ("/pbx/lookup?number=%2B48%20601%20234%20567", "/pbx/lookup?number=%2B486******67"),
        (
            "/x?number=601+234+567&Key=1&api_key=2&X-Sig=3",
            "/x?number=601****67&Key=***&api_key=***&X-Sig=***",
        ),
        ("/api/v1/calls?q=Anna+Nowak&todo=true", "/api/v1/calls?q=A***%20N****&todo=true"),
        ("/api/v1/calls?since=2026-11-01T00:00:00Z&limit=50", UNCHANGED),
        ("/api/v1/calls?since=2026-11-01", UNCHANGED),
        ("/api/v1/calls?customer=c-1", "/api/v1/calls?customer=c**"),
        ("/api/v1/customers/%2B48601234567", "/api/v1/customers/%2B486******67"),
        ("/console/0123456789ab/app.js", UNCHANGED),
        ("/api/v1/calls/3f2b1c1e-8d5a-4c7e-9a10-1b2c3d4e5f60/note", UNCHANGED),
        ("/?anna%40example.pl", "/?a***@e******.pl"),
        ("/x?call_id=1699999999.42", UNCHANGED),
    ],
)
def test_targets_keep_their_shape_and_lose_their_data(target: str, logged: str) -> None:
    assert redact_target(target) == (logged or target)


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("DETAIL: Key (email)=(zofia@example.org)", "DETAIL: Key (email)=(z****@e******.org)"),
        ("call from +48 601 234 567 at 2026-11-01 12:30:00", "call from +486******67 at 2026-11-01 12:30:00"),
        ("number 0048601234567, line 1234", "number +486******67, line 1234"),
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer ***"),
        ("at 0x7f3a12345678ab in CA0123456789abcdef", "at 0x7f3a12345678ab in CA0123456789abcdef"),
        ("GET /x?token=abc&q=1", "GET /x?token=***&q=1"),
    ],
)
def test_free_text_loses_tokens_emails_and_numbers(text: str, scrubbed: str) -> None:
    assert scrub_text(text) == scrubbed


def test_an_invalid_level_or_format_stops_the_command_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RINGCARD_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    for variable, value in (("RINGCARD_LOG_LEVEL", "LOUD"), ("RINGCARD_LOG_FORMAT", "xml")):
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "serve"],
            cwd=tmp_path,
            env={**env, variable: value},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2
        assert done.stdout == ""
        (line,) = done.stderr.splitlines()
        assert line.startswith(f"ringcard: invalid configuration: {variable}: ")
