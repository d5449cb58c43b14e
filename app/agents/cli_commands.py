"""`ringcard list-agents | update-agent | delete-agent`: agent management from the command line,
through the same rules as the admin API (app/agents/management.py).

An operator's mistake (an unknown username, a bad value, a database that is not there) ends in
one line on stderr and a non-zero exit, never a traceback: the operator needs the fix, not our
source, and a traceback of a failed statement would print its parameters (a password hash).

After a change that revokes tokens, REST access is cut at once (every request reads the agent).
Open sockets are closed by the running instances: told through Redis when it is configured, else
by their periodic recheck (within `RECHECK_EVERY_S`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, NoReturn, TypeVar

from app.settings import Settings

# Imported where used: `ringcard` builds every subcommand's parser on each run, and the other
# commands should not pay for SQLAlchemy, Redis and the hub to start.
if TYPE_CHECKING:
    from app.agents.management import AgentPatch, AgentView
    from app.push.envelopes import AgentChange

COMMANDS: Final = frozenset({"list-agents", "update-agent", "delete-agent"})
T = TypeVar("T")

# Where each field of AgentPatch comes from on the command line, to name it in a complaint.
_OPTIONS: Final = {
    "display_name": "--display-name",
    "password": "--password",
    "lines": "--lines",
    "phone": "--phone",
    "active": "--activate/--deactivate",
}
# The schema is older than the code (or not there): PostgreSQL's undefined_table/undefined_column.
_NO_SCHEMA_SQLSTATES: Final = frozenset({"42P01", "42703"})


class OperatorError(Exception):
    """A mistake or a situation the operator must fix; its message is the one line printed."""


def add_parsers(sub: Any) -> None:
    """Add the commands to `ringcard`'s subparsers."""
    sub.add_parser("list-agents", help="list the agents (active or not)")
    update = sub.add_parser(
        "update-agent",
        help="change an agent: only the options given; a new password or --deactivate signs it out",
    )
    update.add_argument("username")
    update.add_argument("--display-name")
    update.add_argument("--password", help="a new password (at least 8 characters)")
    update.add_argument("--lines", nargs="*", help="the lines it takes calls for, replacing the old ones")
    update.add_argument("--phone", help="its own number or extension ('' removes it)")
    state = update.add_mutually_exclusive_group()
    state.add_argument("--activate", dest="active", action="store_const", const=True)
    state.add_argument("--deactivate", dest="active", action="store_const", const=False)
    delete = sub.add_parser("delete-agent", help="delete an agent (its calls stay in the call log)")
    delete.add_argument("username")


def run(settings: Settings, args: argparse.Namespace) -> None:
    """Run one of COMMANDS; prints what happened, or one line on stderr and exits non-zero."""
    with operator_errors(settings):
        if args.command == "list-agents":
            print(_run(_list(settings)))
        elif args.command == "update-agent":
            print(_run(_update(settings, args.username, _patch(args))))
        elif args.command == "delete-agent":
            print(_run(_delete(settings, args.username)))
        else:  # pragma: no cover - main() only dispatches COMMANDS here
            raise OperatorError(f"unknown command {args.command}")


@contextmanager
def operator_errors(settings: Settings) -> Iterator[None]:
    """Turn what an operator can fix into one line on stderr and exit status 1."""
    from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError

    from app.agents.management import AgentNotFound

    database_errors: tuple[type[BaseException], ...] = (SQLAlchemyError, OSError, *_driver_errors())
    try:
        yield
    except OperatorError as exc:
        _fail(str(exc))
    except AgentNotFound as exc:
        _fail(f"{exc} (ringcard list-agents shows them)")
    except ArgumentError:
        _fail("RINGCARD_DATABASE_URL is not a database URL SQLAlchemy understands")
    except IntegrityError as exc:
        if "username" in str(exc.orig):
            _fail("an agent with that username exists already (ringcard list-agents shows them)")
        _fail(_database_problem(exc, settings.database_url))
    except database_errors as exc:
        _fail(_database_problem(exc, settings.database_url))


def _driver_errors() -> tuple[type[Exception], ...]:
    # asyncpg raises some connection failures (an unknown database, a refused password) as its
    # own exceptions, not wrapped by SQLAlchemy.
    import asyncpg  # type: ignore[import-untyped]

    return (asyncpg.PostgresError, asyncpg.InterfaceError)


def _fail(message: str) -> NoReturn:
    print(f"ringcard: {message}", file=sys.stderr)
    sys.exit(1)


def _run(work: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(work)


def _patch(args: argparse.Namespace) -> AgentPatch:
    from pydantic import ValidationError

    from app.agents.management import AgentPatch

    given: dict[str, Any] = {
        name: value
        for name in ("display_name", "password", "lines", "phone", "active")
        if (value := getattr(args, name)) is not None
    }
    if not given:
        raise OperatorError(
            "nothing to change: give --display-name, --password, --lines, --phone, --activate or --deactivate"
        )
    try:
        return AgentPatch.model_validate(given)
    except ValidationError as exc:
        error = exc.errors()[0]
        option = _OPTIONS.get(str(error["loc"][0]), str(error["loc"][0])) if error["loc"] else "value"
        raise OperatorError(f"{option}: {error['msg']}") from None


async def _list(settings: Settings) -> str:
    from app.agents.management import list_agents
    from app.db import create_engine, make_sessionmaker

    engine = create_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            agents = await list_agents(session)
    finally:
        await engine.dispose()
    if not agents:
        return "No agents yet (ringcard create-agent USERNAME --display-name … --password …)."
    return _table(agents)


def _table(agents: list[AgentView]) -> str:
    rows = [("USERNAME", "DISPLAY NAME", "ACTIVE", "LINES", "PHONE", "CREATED")]
    rows += [
        (
            a.username,
            a.display_name,
            "yes" if a.active else "no",
            ",".join(a.lines) or "-",
            a.phone or "-",
            a.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        )
        for a in agents
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


async def _update(settings: Settings, username: str, patch: AgentPatch) -> str:
    from app.agents.management import AgentChanges, update_agent
    from app.agents.passwords import hash_password_async
    from app.db import create_engine, make_sessionmaker

    password_hash = await hash_password_async(patch.password) if patch.password is not None else None
    engine = create_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            view, change = await update_agent(
                session,
                username,
                AgentChanges.from_patch(patch, password_hash),
                region=settings.default_region,
            )
    finally:
        await engine.dispose()
    changed = ", ".join(name.replace("_", " ") for name in _OPTIONS if name in patch.model_fields_set)
    if patch.active is False:
        done = f"Agent {view.username} deactivated ({changed}); its tokens no longer work"
    elif change.revokes:
        done = f"Agent {view.username} updated ({changed}); its earlier tokens no longer work"
    else:
        done = f"Agent {view.username} updated ({changed})"
    return done + await _tell_instances(settings, change) + "."


async def _delete(settings: Settings, username: str) -> str:
    from app.agents.management import delete_agent
    from app.db import create_engine, make_sessionmaker

    engine = create_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            change = await delete_agent(session, username)
    finally:
        await engine.dispose()
    told = await _tell_instances(settings, change)
    return f"Agent {username} deleted; its calls stay in the call log{told}."


async def _tell_instances(settings: Settings, change: AgentChange) -> str:
    """Tell the running instances (after the commit); what to add to the message about it."""
    from redis.exceptions import RedisError

    from app.push.envelopes import encode_agent_change
    from app.push.hub import RECHECK_EVERY_S

    later = f"; open consoles close within {RECHECK_EVERY_S:.0f} s" if change.revokes else ""
    if not settings.redis_url:
        return later
    from app.push.redis_broker import publish_once

    try:
        await publish_once(settings.redis_url, encode_agent_change(change, f"cli-{uuid.uuid4().hex}"))
    except (RedisError, OSError) as exc:
        return f" (Redis unreachable: {type(exc).__name__}){later}"
    return ""


def _database_problem(exc: BaseException, url: str) -> str:
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    where = _safe_url(url)
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if (
        getattr(orig, "sqlstate", None) in _NO_SCHEMA_SQLSTATES
        or "no such table" in text
        or "no such column" in text
    ):
        return f"the database at {where} has no agents table, or an older one: run `ringcard migrate` first"
    if isinstance(exc, SQLAlchemyError) and not isinstance(exc, DBAPIError):
        # Not from the driver: its message may quote a statement and its parameters.
        text = type(exc).__name__
    return f"cannot use the database at {where}: {text}"


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "RINGCARD_DATABASE_URL"
