"""The README's commands keep their promises: `serve --demo` and the test suite never interfere,
`simulate-call` finds the demo wherever it serves, and the 422 texts the README quotes are the
ones the service answers."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.cli import _ensure_demo_env, served_url
from tests.conftest import SYNC
from tests.fixtures.store_records import customer, order
from tests.fixtures.throwaway_services import free_port

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def copy_of_the_checkout(to: Path) -> Path:
    """The working tree as a clone would get it once committed: tracked files and new ones that
    are not ignored (never `.env`, databases or caches)."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, to / name)
    return to


def wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 40) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve --demo exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"serve --demo was not ready within {timeout_s} s:\n{log.read_text()}")


def test_the_demo_then_the_test_suite_in_a_fresh_copy_both_work(tmp_path: Path) -> None:
    checkout = copy_of_the_checkout(tmp_path / "checkout")
    # This process's environment is clean (tests/conftest.py); the copy's code runs, not ours.
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        demo = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--demo", "--port", str(port)],
            cwd=checkout,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}", demo, log)
        # The README's second-terminal command, as written: no --url, the port found in .env.
        simulated = subprocess.run(
            [
                sys.executable,
                "-m",
                "app.cli",
                "simulate-call",
                "--from",
                "+48601234567",
                "--hang-up-after",
                "0.2",
            ],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert simulated.returncode == 0, simulated.stderr
        assert "the service answered 200" in simulated.stdout
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=30)
    dotenv = (checkout / ".env").read_text()
    assert f"RINGCARD_PUBLIC_URL=http://127.0.0.1:{port}\n" in dotenv
    assert "RINGCARD_TWILIO_AUTH_TOKEN=" in dotenv

    # The test command's own pytest, in the same copy, beside the demo's .env and under a shell
    # that sets RINGCARD_* (one of them not even valid): the suite reads neither. test_simulate
    # answered 401 when it read the demo's URL and token.
    shell = {
        "RINGCARD_PUBLIC_URL": "http://127.0.0.1:9",
        "RINGCARD_TWILIO_AUTH_TOKEN": "a-token-from-the-shell",
        "RINGCARD_DATABASE_URL": "sqlite:///not-an-async-driver.db",
        "RINGCARD_ADMIN_API_KEY": "an-admin-key-from-the-shell",
    }
    suite = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/demo/test_simulate.py"],
        cwd=checkout,
        env={**env, **shell},
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert suite.returncode == 0, suite.stdout[-3000:] + suite.stderr[-2000:]
    assert " passed" in suite.stdout and "failed" not in suite.stdout


def test_a_demo_on_another_port_moves_the_url_it_wrote_and_keeps_an_operators_own(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    _ensure_demo_env(dotenv, "http://127.0.0.1:8000")
    first = dotenv.read_text()
    assert "RINGCARD_PUBLIC_URL=http://127.0.0.1:8000\n" in first
    assert oct(dotenv.stat().st_mode & 0o777) == "0o600"  # it holds secrets

    _ensure_demo_env(dotenv, "http://127.0.0.1:18100")
    moved = dotenv.read_text()
    assert moved == first.replace("127.0.0.1:8000", "127.0.0.1:18100")  # secrets kept, one line moved

    own = "RINGCARD_PUBLIC_URL=https://ringcard.example.com\n"
    dotenv.write_text(moved.replace("RINGCARD_PUBLIC_URL=http://127.0.0.1:18100\n", own))
    _ensure_demo_env(dotenv, "http://127.0.0.1:18200")
    assert own in dotenv.read_text() and "18200" not in dotenv.read_text()


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", 8000, "http://127.0.0.1:8000"),
        ("0.0.0.0", 18100, "http://127.0.0.1:18100"),  # noqa: S104 - the wildcard, as an operator passes it
        ("::", 8000, "http://[::1]:8000"),
        ("::1", 8000, "http://[::1]:8000"),
        ("192.168.1.5", 8000, "http://192.168.1.5:8000"),
    ],
)
def test_the_url_written_is_where_this_machine_reaches_the_server(host: str, port: int, url: str) -> None:
    assert served_url(host, port) == url


async def test_the_422_texts_the_readme_quotes_are_what_the_service_answers(
    app_client: httpx.AsyncClient,
) -> None:
    bad_currency = await app_client.put(
        "/api/v1/orders/o-1", json=order("#1", "10.00", currency="ZZZ"), headers=SYNC
    )
    nul = await app_client.put("/api/v1/customers/c-1", json=customer(first_name="An\x00na"), headers=SYNC)
    for answer in (bad_currency, nul):
        assert answer.status_code == 422
        assert f'"{answer.json()["error"]}"' in README, answer.json()["error"]
    assert bad_currency.json()["error"] == "currency: unknown ISO 4217 currency code 'ZZZ'"
