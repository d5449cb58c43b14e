"""`ringcard doctor`: one line per finding, exit status 1 when anything is wrong, never a
traceback or a secret; the integrations' status as `GET /api/v1/status` has it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import orjson

from app.main import create_app
from app.ops import doctor
from app.settings import Settings
from tests.conftest import ADMIN_KEY, SYNC_KEY, make_settings
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, serve
from tests.fixtures.services import require
from tests.telephony.test_telnyx import PUBLIC_KEY, T0, event, signed

pytestmark = LEGACY_WEBSOCKETS_WARNINGS

ROOT = Path(__file__).resolve().parents[2]
TWILIO_TOKEN = "0123456789abcdef0123456789abcdef"
SECRET_KEY = "a-secret-key-of-more-than-32-characters-0123"


async def report(settings: Settings) -> tuple[int, list[str]]:
    lines: list[str] = []
    # doctor runs its own event loop, as on the command line.
    status = await asyncio.to_thread(doctor.report, settings, lines.append)
    return status, lines


def assert_one_line_each(lines: list[str], *secrets: str) -> None:
    for line in lines:
        assert "\n" not in line and "Traceback" not in line
        for secret in secrets:
            assert secret not in line, line


async def test_a_good_configuration_and_the_integrations_status(database_url: str) -> None:
    settings = make_settings(database_url, twilio_auth_token=TWILIO_TOKEN, telnyx_public_key=PUBLIC_KEY)
    async with serve(create_app(settings)) as served:
        settings = settings.model_copy(update={"public_url": served.http_url})
        async with httpx.AsyncClient(base_url=served.http_url) as http:
            raw = orjson.dumps(event("call.initiated", "ev-d1", "d1", T0))
            assert (await http.post("/webhooks/telnyx", content=raw, headers=signed(raw))).status_code == 204
            await http.get("/api/v1/status", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        status, lines = await report(settings)
    assert status == 0, lines
    assert_one_line_each(lines, TWILIO_TOKEN, SYNC_KEY, ADMIN_KEY)
    text = "\n".join(lines)
    assert "ok    database: " in text and "ok    migrations: the schema is at the head" in text
    assert f"ok    public URL: {served.http_url}/healthz answers" in text
    # http is fine on this machine, but said.
    assert f"warn  public URL: {served.http_url} (scheme http, host 127.0.0.1:{served.port})" in text
    telnyx = next(line for line in lines if line.startswith("ok    telnyx: last accepted"))
    assert "(POST /webhooks/telnyx, 204); hour: 1 accepted; day: 1 accepted" in telnyx
    assert "warn  twilio: switched on, nothing received yet" in text
    assert lines[-1] == "no problems found"


async def test_a_failing_integration_is_a_problem_with_its_reason(database_url: str) -> None:
    settings = make_settings(database_url, telnyx_public_key=PUBLIC_KEY)
    async with serve(create_app(settings)) as served, httpx.AsyncClient(base_url=served.http_url) as http:
        raw = orjson.dumps(event("call.initiated", "ev-d2", "d2", T0))
        stale = signed(raw, timestamp=1_000_000_000)
        assert (await http.post("/webhooks/telnyx", content=raw, headers=stale)).status_code == 401
        # WooCommerce is off, but a shop sends to it.
        assert (await http.post("/webhooks/woocommerce", content=b"{}")).status_code == 404
        await http.get("/api/v1/status", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    status, lines = await report(settings)
    assert status == 1
    assert_one_line_each(lines, SYNC_KEY, ADMIN_KEY, PUBLIC_KEY)
    text = "\n".join(lines)
    assert "FAIL  telnyx: last rejected " in text and "hour: 0 accepted, 1 rejected" in text
    assert "FAIL  telnyx: last signature failure " in text and ": stale_timestamp: validly signed" in text
    assert "FAIL  woocommerce: deliveries arrive but RINGCARD_WOOCOMMERCE_WEBHOOK_SECRET is not set" in text
    assert lines[-1].endswith("problem(s) found")


async def test_a_bad_configuration_names_every_problem(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="production",
        secret_key=SECRET_KEY,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/never-migrated.db",
        public_url="http://127.0.0.1:9",
        telnyx_public_key="bm90IGEga2V5",
        twilio_auth_token="an-api-key-secret-not-the-token",
    )
    status, lines = await report(settings)
    assert status == 1
    assert_one_line_each(lines, SECRET_KEY, "an-api-key-secret-not-the-token")
    text = "\n".join(lines)
    assert (
        "FAIL  public URL: http://127.0.0.1:9 (scheme http, host 127.0.0.1:9): production needs https" in text
    )
    assert "warn  public URL: http://127.0.0.1:9/healthz does not answer from here (ConnectError)" in text
    assert "FAIL  telnyx: RINGCARD_TELNYX_PUBLIC_KEY is not a base64 Ed25519 public key" in text
    assert "warn  twilio: RINGCARD_TWILIO_AUTH_TOKEN is not 32 hex digits" in text
    assert "warn  database: SQLite in production" in text
    assert f"FAIL  database: the SQLite database {tmp_path}/never-migrated.db does not exist" in text
    assert not (tmp_path / "never-migrated.db").exists()  # looking did not create it


async def test_an_unreachable_database_is_one_line_without_its_password() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url="postgresql+asyncpg://ringcard:hunter2-password@127.0.0.1:9/ringcard",
    )
    status, lines = await report(settings)
    assert status == 1
    assert_one_line_each(lines, "hunter2-password")
    [database] = [line for line in lines if line.startswith("FAIL  database")]
    assert "ringcard:***@127.0.0.1:9/ringcard" in database and "connection refused" in database


async def test_redis_is_checked_when_configured(database_url: str) -> None:
    require("Redis", "127.0.0.1", 6379)
    up = make_settings(database_url, redis_url="redis://127.0.0.1:6379/0")
    down = make_settings(database_url, redis_url="redis://:redis-password-1@127.0.0.1:9/0")
    assert "ok    redis: redis://127.0.0.1:6379/0 answers" in (await report(up))[1]
    status, lines = await report(down)
    assert status == 1
    assert_one_line_each(lines, "redis-password-1")
    assert "FAIL  redis: redis://:***@127.0.0.1:9/0 does not answer (ConnectionError)" in lines


def run_cli(env: dict[str, str], cwd: Path, command: str = "doctor") -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RINGCARD_")}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", command],
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_command_exits_non_zero_with_one_line_per_finding(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/ringcard.db"
    bad = run_cli({"RINGCARD_DATABASE_URL": url, "RINGCARD_CTI_TOKEN": "cti-token-value-1234"}, tmp_path)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Traceback" not in bad.stdout + bad.stderr and "cti-token-value-1234" not in bad.stdout
    assert "FAIL  database: the SQLite database" in bad.stdout
    migrated = run_cli({"RINGCARD_DATABASE_URL": url}, tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    good = run_cli({"RINGCARD_DATABASE_URL": url, "RINGCARD_ADMIN_API_KEY": "admin-key-value-1234"}, tmp_path)
    assert good.returncode == 0, good.stdout
    assert good.stdout.splitlines()[-1] == "no problems found"
    assert "admin-key-value-1234" not in good.stdout

    unreadable = run_cli({"RINGCARD_DATABASE_URL": url, "RINGCARD_TOKEN_TTL_S": "soon"}, tmp_path)
    assert unreadable.returncode == 1
    assert unreadable.stdout.splitlines()[0].startswith("FAIL  settings: RINGCARD_TOKEN_TTL_S: ")
    assert "Traceback" not in unreadable.stdout + unreadable.stderr
