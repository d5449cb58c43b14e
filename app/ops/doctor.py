"""`ringcard doctor`: is this service set up right, and is each integration reaching it?

One line per finding, `ok`, `warn` or `FAIL` first; the exit status is 1 when any line is FAIL.
It checks the configuration (RINGCARD_PUBLIC_URL's scheme and host, and whether that address
answers; the secrets of the integrations in use; a Twilio token or Telnyx key that cannot be one),
the database (reachable, at the migrations' head), Redis when configured, and then prints what
`GET /api/v1/status` shows: per integration the last delivery and what became of it, the counts of
the last hour and day, and the last refusal with its reason. No secret is printed, ever: settings
are named, never shown, and URLs lose their passwords.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.db import create_engine, make_sessionmaker, utcnow
from app.db.migrate import schema_problem_of
from app.integrations.sources import SOURCES
from app.integrations.status import configured, read_status
from app.ops.operator_errors import database_problem, safe_url, settings_problems
from app.settings import Environment, Settings, get_settings
from app.telephony.telnyx.signature import _load_public_key

OK, WARN, FAIL = "ok", "warn", "FAIL"
TIMEOUT_S = 5.0
_TWILIO_TOKEN = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True, slots=True)
class Finding:
    level: str
    topic: str
    message: str

    def line(self) -> str:
        return f"{self.level:<4}  {self.topic}: {self.message}"


def _ago(at: str, now: datetime) -> str:
    seconds = max((now - datetime.fromisoformat(at.replace("Z", "+00:00"))).total_seconds(), 0)
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def _masked(url: str) -> str:
    """A URL without the password in it (redis://:secret@host, postgresql://u:secret@host)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return parts._replace(netloc=user + netloc).geturl()


# --- the configuration ---------------------------------------------------------------------------


def check_public_url(settings: Settings) -> list[Finding]:
    production = settings.env is Environment.PRODUCTION
    url = (settings.public_url or "").strip()
    if not url:
        level = FAIL if production else WARN
        return [
            Finding(
                level,
                "public URL",
                "RINGCARD_PUBLIC_URL is not set: Twilio signatures are then checked against the URL "
                "each request arrives at, which a TLS proxy changes, and 3CX gets no console links; "
                "set it to the https:// address the providers call",
            )
        ]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [Finding(FAIL, "public URL", "RINGCARD_PUBLIC_URL must look like https://host[/prefix]")]
    if parts.query or parts.fragment:
        return [Finding(FAIL, "public URL", "RINGCARD_PUBLIC_URL must not carry a query or a fragment")]
    where = f"scheme {parts.scheme}, host {parts.netloc}" + (
        f", prefix {parts.path}" if parts.path.strip("/") else ""
    )
    if parts.scheme != "https":
        level = FAIL if production else WARN
        note = (
            "production needs https (providers and browsers refuse plain http)"
            if production
            else ("fine on this machine; providers need an https address")
        )
        return [Finding(level, "public URL", f"{_masked(url)} ({where}): {note}")]
    return [Finding(OK, "public URL", f"{_masked(url)} ({where})")]


async def check_public_url_answers(settings: Settings) -> list[Finding]:
    """Whether RINGCARD_PUBLIC_URL reaches a Ringcard from here (a warning only: this terminal
    may see another network than the providers do)."""
    url = (settings.public_url or "").strip().rstrip("/")
    if not url or urlsplit(url).scheme not in ("http", "https"):
        return []
    probe = f"{url}/healthz"
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False) as client:
            answer = await client.get(probe)
    except httpx.HTTPError as exc:
        return [
            Finding(WARN, "public URL", f"{_masked(probe)} does not answer from here ({type(exc).__name__})")
        ]
    if answer.status_code != 200 or '"ok"' not in answer.text:
        return [
            Finding(
                WARN,
                "public URL",
                f"{_masked(probe)} answers {answer.status_code}, not Ringcard's health check: "
                "does the proxy forward to this service?",
            )
        ]
    return [Finding(OK, "public URL", f"{_masked(probe)} answers: the service is reachable there")]


def check_secrets(settings: Settings, in_use: set[str]) -> list[Finding]:
    """The integrations switched on, a secret that cannot be right, and (from the status) one that
    deliveries arrive for while its secret is unset. `in_use`: the sources that sent anything."""
    findings: list[Finding] = []
    on = [s.label for s in SOURCES if configured(s, settings)]
    findings.append(
        Finding(OK if on else WARN, "integrations", "switched on: " + (", ".join(on) if on else "none"))
    )
    for source in SOURCES:
        variable = f"RINGCARD_{source.setting.upper()}"
        if not configured(source, settings) and source.name in in_use:
            findings.append(
                Finding(
                    FAIL, source.name, f"deliveries arrive but {variable} is not set: they are refused (404)"
                )
            )
    token = settings.twilio_auth_token
    if token and not _TWILIO_TOKEN.match(token):
        findings.append(
            Finding(
                WARN,
                "twilio",
                "RINGCARD_TWILIO_AUTH_TOKEN is not 32 hex digits: Twilio signs with the account's Auth "
                "Token (Console > Account info), not an API key's secret",
            )
        )
    if settings.telnyx_public_key and _load_public_key(settings.telnyx_public_key) is None:
        findings.append(
            Finding(
                FAIL,
                "telnyx",
                "RINGCARD_TELNYX_PUBLIC_KEY is not a base64 Ed25519 public key (32 bytes): every "
                "Telnyx webhook would be refused; copy the public key from the Telnyx portal",
            )
        )
    if not settings.admin_api_key:
        findings.append(
            Finding(
                WARN, "admin API", "RINGCARD_ADMIN_API_KEY is not set: agents cannot be managed over HTTP"
            )
        )
    return findings


# --- the services it needs ---------------------------------------------------------------------------


async def check_redis(settings: Settings) -> list[Finding]:
    if not settings.redis_url:
        return [
            Finding(OK, "redis", "not configured (enough for one instance; several need RINGCARD_REDIS_URL)")
        ]
    from redis.asyncio import Redis

    shown = _masked(settings.redis_url)
    client = Redis.from_url(settings.redis_url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S)
    try:
        async with asyncio.timeout(TIMEOUT_S):
            await client.ping()
    except Exception as exc:
        return [Finding(FAIL, "redis", f"{shown} does not answer ({type(exc).__name__})")]
    finally:
        await client.aclose()
    return [Finding(OK, "redis", f"{shown} answers")]


def _missing_sqlite_file(url: str) -> str | None:
    if not url.startswith("sqlite"):
        return None
    try:
        path = make_url(url).database
    except ArgumentError:
        return None
    if not path or path == ":memory:" or path.startswith("file:") or Path(path).exists():
        return None
    return f"the SQLite database {path}"


async def check_database(settings: Settings) -> tuple[list[Finding], dict[str, Any] | None]:
    """The database's findings, and the integration status when the database can give it."""
    findings: list[Finding] = []
    where = safe_url(settings.database_url)
    if settings.is_sqlite and settings.env is Environment.PRODUCTION:
        findings.append(
            Finding(WARN, "database", f"SQLite in production ({where}): one process only; use PostgreSQL")
        )
    missing = _missing_sqlite_file(settings.database_url)
    if missing is not None:
        # Connecting would create an empty file: say so instead.
        return [
            *findings,
            Finding(FAIL, "database", f"{missing} does not exist: run `ringcard migrate`"),
        ], None
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        try:
            async with asyncio.timeout(TIMEOUT_S), engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                problem = await schema_problem_of(conn)
        except Exception as exc:
            return [*findings, Finding(FAIL, "database", database_problem(exc, settings.database_url))], None
        findings.append(Finding(OK, "database", f"{where} answers"))
        if problem is not None:
            return [*findings, Finding(FAIL, "migrations", f"the schema is {problem}")], None
        findings.append(Finding(OK, "migrations", "the schema is at the head"))
        async with make_sessionmaker(engine)() as session:
            status = await read_status(session, settings, utcnow())
        return findings, status
    finally:
        await engine.dispose()


# --- the integrations' status ----------------------------------------------------------------------


def _counts(counts: dict[str, int]) -> str:
    shown = [f"{counts['accepted']} accepted"]
    shown += [f"{counts[name]} {name}" for name in ("duplicate", "rejected", "failed") if counts[name]]
    return ", ".join(shown)


def status_findings(status: dict[str, Any], now: datetime) -> list[Finding]:
    findings: list[Finding] = []
    for entry in status["sources"]:
        name, state, received = entry["source"], entry["state"], entry["last_received"]
        if state in ("off", "unused"):
            continue
        if received is None:
            findings.append(Finding(WARN, name, "switched on, nothing received yet"))
            continue
        when = _ago(received["at"], now)
        last = f"last {received['outcome']} {when} ({received['what']}, {received['status']})"
        if entry.get("last_write"):
            last += f"; last write {_ago(entry['last_write']['at'], now)}"
        counts = f"hour: {_counts(entry['last_hour'])}; day: {_counts(entry['last_day'])}"
        findings.append(Finding(OK if state == "ok" else FAIL, name, f"{last}; {counts}"))
        failure, refusal = entry["last_auth_failure"], entry["last_rejected"]
        if refusal is not None and failure is not None and refusal["at"] == failure["at"]:
            refusal = None  # the same delivery
        for kind, refused in (("signature failure", failure), ("refusal", refusal)):
            if refused is None:
                continue
            # Still what happens now, or history since mended.
            level = FAIL if refused["at"] == received["at"] and state == "failing" else WARN
            detail = f": {refused['detail']}" if refused["detail"] else ""
            findings.append(
                Finding(level, name, f"last {kind} {_ago(refused['at'], now)}: {refused['reason']}{detail}")
            )
    return findings


# --- all of it --------------------------------------------------------------------------------------


async def diagnose(settings: Settings) -> list[Finding]:
    findings = [Finding(OK, "environment", settings.env.value)]
    findings += check_public_url(settings)
    findings += await check_public_url_answers(settings)
    database, status = await check_database(settings)
    in_use = {e["source"] for e in status["sources"] if e["last_received"]} if status else set()
    findings += check_secrets(settings, in_use)
    findings += database
    findings += await check_redis(settings)
    if status is not None:
        findings += status_findings(status, utcnow())
    else:
        findings.append(Finding(WARN, "integrations", "no status until the database above is usable"))
    return findings


def report(settings: Settings, out: Callable[[str], None] = print) -> int:
    """Print the findings; the exit status (1 when anything FAILed)."""
    try:
        findings = asyncio.run(diagnose(settings))
    except Exception as exc:  # one line, whatever happened: the operator needs no traceback here
        findings = [Finding(FAIL, "doctor", f"stopped by {type(exc).__name__}")]
    for finding in findings:
        out(finding.line())
    failed = sum(f.level == FAIL for f in findings)
    out(f"{failed} problem(s) found" if failed else "no problems found")
    return 1 if failed else 0


def run(out: Callable[[str], None] = print) -> int:
    """`ringcard doctor`: the settings as the service would read them, then `report`. A setting
    that does not even load is a finding too (named, its value never shown)."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        for problem in settings_problems(exc):
            out(Finding(FAIL, "settings", problem).line())
        out("the other checks need valid settings")
        return 1
    return report(settings, out)
