"""The `ringcard` command: serve, migrate, demo, import, create-agent, list-agents, update-agent,
delete-agent, simulate-call, model, doctor.

Settings come from RINGCARD_* environment variables and a `.env` file in the current directory.
An operator's mistake ends in one line on stderr and a non-zero exit (app/ops/operator_errors.py);
RINGCARD_DEBUG=1 shows the traceback instead."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import signal
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

from app.agents import cli as agent_commands
from app.agents.password_rule import PASSWORD_RULE, password_problem
from app.ops.operator_errors import (
    OperatorError,
    debugging,
    fail,
    listen_problem,
    one_line_errors,
    settings_problems,
)
from app.settings import Settings, get_settings
from app.stores import cli as store_commands

DEMO_ENV_KEYS = (
    "RINGCARD_SYNC_API_KEY",
    "RINGCARD_ADMIN_API_KEY",
    "RINGCARD_TWILIO_AUTH_TOKEN",
    "RINGCARD_CTI_TOKEN",
    "RINGCARD_SHOPIFY_WEBHOOK_SECRET",
    "RINGCARD_WOOCOMMERCE_WEBHOOK_SECRET",
)


# Addresses an earlier `serve --demo` wrote as RINGCARD_PUBLIC_URL: this machine's, never a
# provider's way in, so one that no longer says where the demo serves is replaced.
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0", "::"})  # noqa: S104


def served_url(host: str, port: int) -> str:
    """The URL a client on this machine reaches `serve --host host --port port` at."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - naming the wildcard, not binding to it
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _is_local_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS and parts.path in ("", "/")


def _ensure_demo_env(path: Path, url: str) -> None:
    """Give a fresh checkout working secrets (random, kept in .env) so every feature is on in the
    demo, and RINGCARD_PUBLIC_URL the URL this demo serves on (`simulate-call` finds it there, and
    the Twilio signatures are checked against it). An operator's own values are never replaced:
    only a public URL that an earlier demo wrote (one of this machine's addresses) moves with
    --host/--port."""
    existing = path.read_text() if path.exists() else ""
    lines = existing.splitlines()

    def assigned(key: str) -> list[int]:
        return [i for i, line in enumerate(lines) if line.strip().startswith(f"{key}=")]

    new_secrets = [f"{key}={secrets.token_urlsafe(24)}" for key in DEMO_ENV_KEYS if not assigned(key)]
    public = assigned("RINGCARD_PUBLIC_URL")
    if public:
        # As in python-dotenv, the last assignment is the one that counts.
        was = lines[public[-1]].split("=", 1)[1].strip().strip("'\"")
        if was != url and _is_local_url(was):
            lines[public[-1]] = f"RINGCARD_PUBLIC_URL={url}"
            print(f"RINGCARD_PUBLIC_URL in {path} is now {url} (was {was}).")
        elif not new_secrets:
            return
    if new_secrets:
        print(f"Wrote demo secrets to {path} (kept across restarts; delete it to make new ones).")
    if not public:
        new_secrets.append(f"RINGCARD_PUBLIC_URL={url}")
        print(
            f"Wrote RINGCARD_PUBLIC_URL={url} to {path} (`ringcard simulate-call` finds the service there)."
        )
    if not path.exists():
        path.touch(mode=0o600)  # it holds secrets
    path.write_text("".join(f"{line}\n" for line in lines + new_secrets))


def cmd_migrate(settings: Settings, *, wait: bool = True) -> None:
    from app.db.migrate import upgrade
    from app.ops.startup_checks import wait_for_database

    if wait:  # a container's `migrate && serve` may start before its database
        asyncio.run(wait_for_database(settings))
    upgrade(settings.database_url)
    print("Database is at the latest schema.")


def cmd_demo(settings: Settings, *, if_empty: bool) -> None:
    from app.demo.data import load_demo

    loaded = asyncio.run(load_demo(settings, if_empty=if_empty))
    if loaded:
        print(loaded)


def _listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything else happens (uvicorn listens on it): a port in
    use is said at once, in one line, and `--port 0` learns its port before .env is written."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OperatorError(listen_problem(exc, host, port)) from None
    sock.set_inheritable(True)
    return sock


def cmd_serve(settings: Settings, *, demo: bool, host: str | None, port: int | None) -> None:
    import uvicorn

    from app.main import create_app
    from app.ops.startup_checks import check_schema, wait_for_database, warn_about_production_sqlite
    from app.push.socket_routes import CLIENT_MESSAGE_MAX_BYTES

    host = host or settings.host
    sock = _listening_socket(host, settings.port if port is None else port)
    port = int(sock.getsockname()[1])
    url = served_url(host, port)
    try:
        if demo:
            _ensure_demo_env(Path(".env"), url)
            get_settings.cache_clear()
            settings = _settings_or_exit().model_copy(update={"demo": True})
        warn_about_production_sqlite(settings)
        asyncio.run(wait_for_database(settings))
        if demo:
            cmd_migrate(settings, wait=False)
            cmd_demo(settings, if_empty=True)
            from app.demo.data import DEMO_AGENT_PASSWORD, DEMO_AGENT_USERNAME

            print(f"\n  Agent console: {url}/\n  Sign in as {DEMO_AGENT_USERNAME} / {DEMO_AGENT_PASSWORD}\n")
        asyncio.run(check_schema(settings))
        from app.ops.logging_setup import logging_config
        from app.summaries.local_model import demo_settings

        # The demo's AI summaries run on the embedded model, when the [ai] extra is installed.
        with demo_settings(settings, print) if demo else contextlib.nullcontext(settings) as settings:
            server = uvicorn.Server(
                uvicorn.Config(
                    create_app(settings),
                    host=host,
                    port=port,
                    # uvicorn applies our config (its own would print tokens and numbers in access
                    # lines); levels are in it, so no log_level that would override them.
                    log_config=logging_config(settings),
                    log_level=None,
                    proxy_headers=True,
                    ws_max_size=CLIENT_MESSAGE_MAX_BYTES,
                    # Compression would make every socket deflate every pop again (the card is
                    # serialised once for all agents) and triples the memory of an idle connection.
                    ws_per_message_deflate=False,
                )
            )
            with contextlib.suppress(KeyboardInterrupt):
                server.run(sockets=[sock])
    finally:
        sock.close()
    if not server.started:
        # The app's startup failed; uvicorn has logged why (as `uvicorn.run` exits).
        sys.exit(3)


def cmd_create_agent(settings: Settings, args: argparse.Namespace) -> None:
    from app.demo.data import create_agent

    if (problem := password_problem(args.password)) is not None:
        raise OperatorError(f"--password: {problem}")
    asyncio.run(
        create_agent(
            settings, args.username, args.display_name, args.password, args.lines, args.phone, role=args.role
        )
    )
    print(f"Agent {args.username} created.")


def cmd_simulate_call(settings: Settings, args: argparse.Namespace) -> None:
    import httpx

    from app.demo.simulate import simulate_call

    if not settings.twilio_auth_token:
        raise OperatorError(
            "RINGCARD_TWILIO_AUTH_TOKEN is not set (run `ringcard serve --demo` once, or set it)"
        )
    # Where the running service is: what `serve --demo` wrote to .env, or the host and port.
    base = (args.url or settings.public_url or served_url(settings.host, settings.port)).rstrip("/")
    try:
        result = asyncio.run(
            simulate_call(
                base,
                settings.twilio_auth_token,
                args.from_,
                line=args.to,
                public_url=settings.public_url,
                answer_after_s=args.answer_after,
                hang_up_after_s=args.hang_up_after,
            )
        )
    except httpx.TransportError:
        raise OperatorError(
            f"no Ringcard service answers at {base}: start it with `ringcard serve --demo`, or pass --url"
        ) from None
    if result.voice_status == 401:
        raise OperatorError(
            f"the service at {base} refused the call's signature (401): it has another "
            "RINGCARD_TWILIO_AUTH_TOKEN or RINGCARD_PUBLIC_URL than this directory's .env and environment"
        )
    print(f"Call {result.call_sid}: the service answered {result.voice_status}")
    if result.voice_status != 200:
        sys.exit(1)


def _at_least_one(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def cmd_model(port: int, threads: int | None) -> None:
    """The embedded model in the foreground until Ctrl-C, for a `serve` elsewhere to summarise with."""
    from app.summaries.local_model import INSTALL_HINT, LocalModelError, model_file, run_in_foreground

    if model_file() is None:
        fail(f"the local model needs the [ai] extra: {INSTALL_HINT}", status=2)
    # A service manager stops it with SIGTERM: stopped like Ctrl-C, so the server goes with it.
    # Ctrl-C itself is set too: a shell starts background jobs with SIGINT ignored, and Python
    # keeps an inherited "ignore" (uvicorn, for `serve`, sets its own handlers the same way).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run_in_foreground(port, threads, lambda line: print(line, flush=True))
    except LocalModelError as exc:
        fail(str(exc))
    except KeyboardInterrupt:  # while it was starting (the child is stopped)
        sys.exit(130)


def _settings_or_exit() -> Settings:
    """The settings, or one line per bad variable (what it may be) and exit status 2: an operator
    fixing a typo needs no traceback, and pydantic's own message would echo the values (secrets
    among them)."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    try:
        return get_settings()
    except ValidationError as exc:
        if debugging():
            raise
        for problem in settings_problems(exc):
            print(f"ringcard: invalid configuration: {problem}", file=sys.stderr)
        sys.exit(2)
    except (SettingsError, OSError, UnicodeDecodeError) as exc:  # .env unreadable, a value unparsable
        if debugging():
            raise
        fail(f"cannot read the configuration (RINGCARD_* variables, .env): {exc}", status=2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ringcard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the service")
    serve.add_argument(
        "--demo", action="store_true", help="migrate, load the demo store if empty, make dev secrets"
    )
    serve.add_argument("--host", help="the address to listen on (default: RINGCARD_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="the port to listen on (default: RINGCARD_PORT, 8000)")
    sub.add_parser("migrate", help="bring the database schema up to date")
    sub.add_parser("doctor", help="check the configuration and show what each integration has sent")
    demo = sub.add_parser("demo", help="load the demo store")
    demo.add_argument("--if-empty", action="store_true", help="only when the database holds no customers")
    imp = sub.add_parser("import", help="bulk import an NDJSON file (same format as POST /api/v1/import)")
    imp.add_argument("path")
    imp.add_argument(
        "--store", default="default", help="the store the records belong to, unless a line names its own"
    )
    agent = sub.add_parser("create-agent", help="create an agent")
    agent.add_argument("username")
    agent.add_argument("--display-name", required=True)
    agent.add_argument("--password", required=True, help=f"the agent's password: {PASSWORD_RULE}")
    agent.add_argument("--lines", nargs="*", default=["*"])
    agent.add_argument("--phone")
    agent.add_argument("--role", choices=agent_commands.ROLE_CHOICES, default="agent")
    agent_commands.add_parsers(sub)
    store_commands.add_parser(sub)

    sim = sub.add_parser("simulate-call", help="send the service a signed Twilio webhook for a call")
    sim.add_argument("--from", dest="from_", required=True, help="the caller's number, e.g. +48601234567")
    sim.add_argument("--to", default="+48221234567", help="the dialled number (the line)")
    sim.add_argument(
        "--url",
        help="the service's base URL (default: RINGCARD_PUBLIC_URL, which `serve --demo` writes to "
        ".env, else RINGCARD_HOST:RINGCARD_PORT)",
    )
    sim.add_argument("--answer-after", type=float, help="seconds until an agent answers")
    sim.add_argument("--hang-up-after", type=float, help="seconds until the call ends")

    model = sub.add_parser(
        "model", help="run the embedded local model (the [ai] extra) behind an OpenAI-compatible API"
    )
    model.add_argument("--port", type=int, default=8088, help="the port on 127.0.0.1 (default: 8088)")
    model.add_argument(
        "--threads",
        type=_at_least_one,
        help="CPU threads for the model (default: the cores but one, which serving keeps; at least 1)",
    )

    args = parser.parse_args(argv)
    if args.command == "model":  # reads no settings: it serves the model, nothing of Ringcard's
        cmd_model(args.port, args.threads)
        return
    if args.command == "doctor":  # reads the settings itself: a bad one is one of its findings
        from app.ops.doctor import run

        sys.exit(run())
    settings = _settings_or_exit()
    from app.ops.logging_setup import configure_logging

    configure_logging(settings)
    # Every mistake below ends in one line on stderr (app/ops/operator_errors.py).
    with one_line_errors(settings.database_url):
        if args.command == "serve":
            cmd_serve(settings, demo=args.demo, host=args.host, port=args.port)
        elif args.command == "migrate":
            cmd_migrate(settings)
        elif args.command == "demo":
            cmd_migrate(settings)
            cmd_demo(settings, if_empty=args.if_empty)
        elif args.command == "import":
            from app.store.cli import cmd_import

            cmd_import(settings, args.path, args.store)
        elif args.command == "create-agent":
            cmd_create_agent(settings, args)
        elif args.command in agent_commands.COMMANDS:
            agent_commands.run(settings, args)
        elif args.command == store_commands.COMMAND:
            store_commands.run(settings, args)
        elif args.command == "simulate-call":
            cmd_simulate_call(settings, args)
        else:  # pragma: no cover - argparse enforces the choices
            parser.error(f"unknown command {args.command}")


if __name__ == "__main__":
    main(sys.argv[1:])
