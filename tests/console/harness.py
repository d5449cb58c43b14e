"""The console under a real browser: the app in its own process on a real port, Debian's chromium
driven by Playwright, and a phone provider's signed webhooks. Shared by the browser tests and
docs/screenshots/take.py."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, Playwright
from twilio.request_validator import RequestValidator

from app.calls.identity import call_id_for
from app.demo.data import load_demo
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
LINE = "+48221234567"
TWILIO_TOKEN = "twilio-auth-token-for-the-console-tests"
CTI_TOKEN = "cti-token-for-the-console-tests"
AGENT = {"username": "ola", "password": "correct horse battery", "display_name": "Ola Nowicka"}
# The environment variables a server process gets from Settings (nothing else leaks in).
SETTINGS_ENV = (
    "database_url",
    "sync_api_key",
    "admin_api_key",
    "default_region",
    "base_currency",
    "twilio_auth_token",
    "cti_token",
    "public_url",
    "demo",
    "max_sockets_per_agent",
    "shopify_shop",
    "woocommerce_url",
    "order_url_template",
    "customer_url_template",
    "case_url_template",
    "callback_url_template",
    "timezone",
    "service_level_s",
    "short_abandon_s",
)


def launch_chromium(playwright: Playwright) -> Browser:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(
            f"{CHROMIUM} is missing: `apt-get install -y chromium` (the console tests never skip it)"
        )
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ConsoleServer:
    """`python -m tests.console.serve_console` on a fixed port; `restart` keeps port and database."""

    def __init__(self, settings: Settings, port: int) -> None:
        self.settings = settings
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkstemp(prefix="ringcard-console-", suffix=".log")[1])
        self.http = httpx.Client(base_url=self.url, timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RINGCARD_")}
        for name in SETTINGS_ENV:
            value = getattr(self.settings, name)
            if value is not None:
                env[f"RINGCARD_{name.upper()}"] = (
                    str(value).lower() if isinstance(value, bool) else str(value)
                )
        env["PYTHONPATH"] = str(ROOT)
        return env

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(128)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.console.serve_console", "--fd", str(sock.fileno())],
                pass_fds=(sock.fileno(),),
                env=self.env(),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        # The child has its own copy; once it exits the port is free, as after a real stop.
        sock.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.output()}")
            try:
                if self.http.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the server did not start in 30 s:\n{self.output()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # SIGTERM: uvicorn runs the lifespan shutdown, which closes every agent socket with 1001.
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"the server did not stop in 15 s:\n{self.output()}") from None

    def close(self) -> None:
        self.stop()
        self.http.close()
        self.log.unlink(missing_ok=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]

    # --- what a phone provider and the store do ----------------------------------------------

    def twilio(self, path: str, params: dict[str, str]) -> httpx.Response:
        url = f"{self.settings.public_url}{path}"
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
        response = self.http.post(path, data=params, headers={"X-Twilio-Signature": signature})
        assert response.status_code < 300, response.text
        return response

    def ring(self, caller: str, call_sid: str) -> str:
        """An incoming Twilio call from `caller`; our id of the call (the card's data-call-id)."""
        self.twilio("/webhooks/twilio/voice", twilio_params(call_sid, caller, "ringing"))
        return call_id_for("twilio", call_sid)

    def status(self, call_sid: str, caller: str, call_status: str, sequence: int, **extra: str) -> None:
        params = {**twilio_params(call_sid, caller, call_status), "SequenceNumber": str(sequence), **extra}
        self.twilio("/webhooks/twilio/status", params)

    def cti(self, event: str, call_id: str, caller: str, **extra: str) -> None:
        """A PBX speaking the generic CTI protocol (CTI.md): `newCall`, `answer` (with `user`, who
        answered), `hangup`, for an incoming call to LINE."""
        body = {"event": event, "from": caller, "to": LINE, "direction": "in", "callId": call_id, **extra}
        response = self.http.post(f"/webhooks/cti/{self.settings.cti_token}", data=body)
        assert response.status_code == 200, response.text

    def publish(self, event_type: str, call: dict[str, Any], card: dict[str, Any] | None, seq: int) -> None:
        """Straight into the hub, as the telephony code publishes (for cards no store would make)."""
        body = {"type": event_type, "call": call, "card": card, "line": LINE, "seq": seq}
        response = self.http.post("/test/publish", json=body)
        assert response.status_code == 200, response.text

    def create_agent(self, username: str, display_name: str, password: str, **extra: Any) -> None:
        body = {
            "username": username,
            "display_name": display_name,
            "password": password,
            "lines": ["*"],
            **extra,
        }
        headers = {"Authorization": f"Bearer {self.settings.admin_api_key}"}
        response = self.http.post("/api/v1/agents", json=body, headers=headers)
        assert response.status_code == 201, response.text

    def put(self, path: str, body: dict[str, Any]) -> None:
        headers = {"Authorization": f"Bearer {self.settings.sync_api_key}"}
        response = self.http.put(path, json=body, headers=headers)
        assert response.status_code == 200, response.text


def twilio_params(call_sid: str, caller: str, call_status: str) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": "AC" + "0" * 32,
        "From": caller,
        "To": LINE,
        "Caller": caller,
        "Called": LINE,
        "CallStatus": call_status,
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }


def load_demo_store(settings: Settings) -> None:
    """The demo store (Anna Nowak with her complaint, the shared household phone, Polish, German,
    British and Hebrew customers), loaded in a thread of its own: asyncio.run must not meet the
    event loop pytest-asyncio manages."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, load_demo(settings, if_empty=False)).result()


def sign_in(
    page: Page, server: ConsoleServer, username: str = AGENT["username"], password: str = AGENT["password"]
) -> None:
    page.goto(server.url + "/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#connection[data-state=connected]").wait_for(timeout=5000)


NOA_PHONE = "+972 54 812 3456"


def store_noa(server: ConsoleServer) -> None:
    """A customer whose name, city, items and case are Hebrew: the card must read right to left
    where she wrote and left to right around her."""
    now = datetime.now(UTC)
    server.put(
        "/api/v1/customers/cust-noa-cohen",
        {
            "first_name": "נועה",
            "last_name": "כהן",
            "email": "noa.cohen@example.co.il",
            "city": "תל אביב",
            "phones": [{"number": NOA_PHONE, "kind": "mobile"}],
            "tags": ["vip"],
            "note": "מעדיפה שיחה בעברית",
            "created_at": (now - timedelta(days=500)).isoformat(),
            "updated_at": now.isoformat(),
        },
    )
    for number, status, days, title in (
        ("#2077", "shipped", 3, "שמיכת צמר"),
        ("#1988", "delivered", 60, "ספל קרמיקה"),
    ):
        server.put(
            f"/api/v1/orders/o-{number[1:]}",
            {
                "customer_external_id": "cust-noa-cohen",
                "name": "נועה כהן",
                "email": "noa.cohen@example.co.il",
                "city": "תל אביב",
                "number": number,
                "status": status,
                "financial_status": "paid",
                "fulfillment_status": "fulfilled",
                "total": "349.90",
                "currency": "ILS",
                "placed_at": (now - timedelta(days=days)).isoformat(),
                "updated_at": (now - timedelta(days=days - 1)).isoformat(),
                "phones": [{"number": NOA_PHONE, "kind": "billing"}],
                "tracking_url": f"https://tracking.example/parcel/{number[1:]}",
                "items": [{"title": title, "quantity": 1}],
            },
        )
    server.put(
        "/api/v1/cases/C-301",
        {
            "customer_external_id": "cust-noa-cohen",
            "order_external_id": "o-1988",
            "kind": "return",
            "status": "open",
            "subject": "החזרה: המידה לא מתאימה",
            "opened_at": (now - timedelta(days=2)).isoformat(),
            "updated_at": (now - timedelta(days=2)).isoformat(),
        },
    )
