"""The `ringcard` command: serve, migrate, demo, import, create-agent, list-agents, update-agent,
delete-agent, simulate-call."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio

from app.agents import cli_commands as agent_commands
from app.settings import Settings, get_settings

DEMO_ENV_KEYS = (
    "RINGCARD_SYNC_API_KEY",
    "RINGCARD_ADMIN_API_KEY",
    "RINGCARD_TWILIO_AUTH_TOKEN",
    "RINGCARD_CTI_TOKEN",
    "RINGCARD_SHOPIFY_WEBHOOK_SECRET",
    "RINGCARD_WOOCOMMERCE_WEBHOOK_SECRET",
)


def _ensure_demo_env(path: Path) -> None:
    """Give a fresh checkout working secrets (random, kept in .env) so every feature is on in the
    demo; an operator's own values in .env or the environment are never replaced."""
    existing = path.read_text() if path.exists() else ""
    missing = [key for key in DEMO_ENV_KEYS if f"{key}=" not in existing]
    if not missing:
        return
    lines = [f"{key}={secrets.token_urlsafe(24)}" for key in missing]
    if "RINGCARD_PUBLIC_URL=" not in existing:
        lines.append("RINGCARD_PUBLIC_URL=http://127.0.0.1:8000")
    with path.open("a") as fh:
        fh.write(("" if existing.endswith("\n") or not existing else "\n") + "\n".join(lines) + "\n")
    print(f"Wrote demo secrets to {path} (kept across restarts; delete it to make new ones).")


def cmd_migrate(settings: Settings) -> None:
    from app.migrate import upgrade

    upgrade(settings.database_url)
    print("Database is at the latest schema.")


def cmd_demo(settings: Settings, *, if_empty: bool) -> None:
    from app.demo import load_demo

    loaded = asyncio.run(load_demo(settings, if_empty=if_empty))
    if loaded:
        print(loaded)


def cmd_serve(settings: Settings, *, demo: bool, host: str | None, port: int | None) -> None:
    import uvicorn

    from app.main import create_app
    from app.push.ws import CLIENT_MESSAGE_MAX_BYTES

    if demo:
        _ensure_demo_env(Path(".env"))
        get_settings.cache_clear()
        settings = get_settings().model_copy(update={"demo": True})
        cmd_migrate(settings)
        cmd_demo(settings, if_empty=True)
        from app.demo import DEMO_AGENT_PASSWORD, DEMO_AGENT_USERNAME

        print(
            f"\n  Agent console: http://{host or settings.host}:{port or settings.port}/\n"
            f"  Sign in as {DEMO_AGENT_USERNAME} / {DEMO_AGENT_PASSWORD}\n"
        )
    from app.logging_setup import logging_config

    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        # uvicorn applies our config (its own would print tokens and numbers in access lines);
        # levels are in it, so no log_level that would override them.
        log_config=logging_config(settings),
        log_level=None,
        proxy_headers=True,
        ws_max_size=CLIENT_MESSAGE_MAX_BYTES,
        # Compression would make every socket deflate every pop again (the card is serialised
        # once for all agents) and triples the memory of an idle connection.
        ws_per_message_deflate=False,
    )


def cmd_import(settings: Settings, path: str) -> None:
    from app.db import create_engine, make_sessionmaker
    from app.store.importer import import_ndjson

    async def run() -> None:
        engine = create_engine(settings.database_url)

        async def chunks() -> AsyncIterator[bytes]:
            async with await anyio.open_file(path, "rb") as fh:
                while chunk := await fh.read(1 << 20):
                    yield chunk

        try:
            report = await import_ndjson(
                chunks(),
                make_sessionmaker(engine),
                region=settings.default_region,
                batch_size=settings.import_batch_size,
            )
        finally:
            await engine.dispose()
        print(report.model_dump_json(indent=2))

    asyncio.run(run())


def cmd_create_agent(settings: Settings, args: argparse.Namespace) -> None:
    from app.agents.cli_commands import operator_errors
    from app.demo import create_agent

    with operator_errors(settings):
        asyncio.run(
            create_agent(settings, args.username, args.display_name, args.password, args.lines, args.phone)
        )
    print(f"Agent {args.username} created.")


def cmd_simulate_call(settings: Settings, args: argparse.Namespace) -> None:
    from app.simulate import simulate_call

    if not settings.twilio_auth_token:
        sys.exit("RINGCARD_TWILIO_AUTH_TOKEN is not set (run `ringcard serve --demo` once, or set it)")
    base = args.url or settings.public_url or f"http://{settings.host}:{settings.port}"
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
    print(f"Call {result.call_sid}: the service answered {result.voice_status}")
    if result.voice_status != 200:
        sys.exit(1)


def _settings_or_exit() -> Settings:
    """The settings, or one line naming each bad variable and exit status 2: an operator fixing a
    typo needs no traceback, and pydantic's own message would echo the values (secrets among them)."""
    from pydantic import ValidationError

    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"RINGCARD_{str(error['loc'][0]).upper()}: {error['msg']}" if error["loc"] else error["msg"]
            for error in exc.errors()
        )
        print(f"ringcard: invalid configuration: {problems}", file=sys.stderr)
        sys.exit(2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ringcard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the service")
    serve.add_argument(
        "--demo", action="store_true", help="migrate, load the demo store if empty, make dev secrets"
    )
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    sub.add_parser("migrate", help="bring the database schema up to date")
    demo = sub.add_parser("demo", help="load the demo store")
    demo.add_argument("--if-empty", action="store_true", help="only when the database holds no customers")
    imp = sub.add_parser("import", help="bulk import an NDJSON file (same format as POST /api/v1/import)")
    imp.add_argument("path")
    agent = sub.add_parser("create-agent", help="create an agent")
    agent.add_argument("username")
    agent.add_argument("--display-name", required=True)
    agent.add_argument("--password", required=True)
    agent.add_argument("--lines", nargs="*", default=["*"])
    agent.add_argument("--phone")
    agent_commands.add_parsers(sub)

    sim = sub.add_parser("simulate-call", help="send the service a signed Twilio webhook for a call")
    sim.add_argument("--from", dest="from_", required=True, help="the caller's number, e.g. +48601234567")
    sim.add_argument("--to", default="+48221234567", help="the dialled number (the line)")
    sim.add_argument("--url", help="the service's base URL (default: RINGCARD_PUBLIC_URL or host:port)")
    sim.add_argument("--answer-after", type=float, help="seconds until an agent answers")
    sim.add_argument("--hang-up-after", type=float, help="seconds until the call ends")

    args = parser.parse_args(argv)
    settings = _settings_or_exit()
    from app.logging_setup import configure_logging

    configure_logging(settings)
    if args.command == "serve":
        cmd_serve(settings, demo=args.demo, host=args.host, port=args.port)
    elif args.command == "migrate":
        cmd_migrate(settings)
    elif args.command == "demo":
        cmd_migrate(settings)
        cmd_demo(settings, if_empty=args.if_empty)
    elif args.command == "import":
        cmd_import(settings, args.path)
    elif args.command == "create-agent":
        cmd_create_agent(settings, args)
    elif args.command in agent_commands.COMMANDS:
        agent_commands.run(settings, args)
    elif args.command == "simulate-call":
        cmd_simulate_call(settings, args)
    else:  # pragma: no cover - argparse enforces the choices
        parser.error(f"unknown command {args.command}")


if __name__ == "__main__":
    main(sys.argv[1:])
