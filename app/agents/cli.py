"""`ringcard list-agents | update-agent | delete-agent`: agent management from the command line,
through the same rules as the admin API (app/agents/management.py). `--role` (agent, supervisor,
admin) is how an operator makes the first supervisor or admin; a role change counts from that
agent's next request.

An operator's mistake (an unknown username, a bad value, a database that is not there) ends in
one line on stderr and a non-zero exit, never a traceback (app/ops/operator_errors.py, around every
command): the operator needs the fix, not our source, and a traceback of a failed statement would
print its parameters (a password hash).

After a change that revokes tokens, REST access is cut at once (every request reads the agent).
Open sockets are closed by the running instances: told through Redis when it is configured, else
by their periodic recheck (within `RECHECK_EVERY_S`).
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Final, TypeVar

from app.agents.password_rule import PASSWORD_RULE
from app.ops.operator_errors import OperatorError
from app.settings import Settings

# Imported where used: `ringcard` builds every subcommand's parser on each run, and the other
# commands should not pay for SQLAlchemy, Redis and the hub to start.
if TYPE_CHECKING:
    from app.agents.changes import AgentChange
    from app.agents.management import AgentPatch, AgentView

COMMANDS: Final = frozenset({"list-agents", "update-agent", "delete-agent"})
T = TypeVar("T")

# Where each field of AgentPatch comes from on the command line, to name it in a complaint.
_OPTIONS: Final = {
    "display_name": "--display-name",
    "password": "--password",
    "lines": "--lines",
    "phone": "--phone",
    "active": "--activate/--deactivate",
    "role": "--role",
}
# Light to import (no SQLAlchemy): the roles as the parser offers them.
ROLE_CHOICES: Final = ("agent", "supervisor", "admin")
__all__ = ["COMMANDS", "OperatorError", "add_parsers", "run"]


def add_parsers(sub: Any) -> None:
    """Add the commands to `ringcard`'s subparsers."""
    sub.add_parser("list-agents", help="list the agents (active or not)")
    update = sub.add_parser(
        "update-agent",
        help="change an agent: only the options given; a new password or --deactivate signs it out",
    )
    update.add_argument("username")
    update.add_argument("--display-name")
    update.add_argument("--password", help=f"a new password: {PASSWORD_RULE}")
    update.add_argument("--lines", nargs="*", help="the lines it takes calls for, replacing the old ones")
    update.add_argument("--phone", help="its own number or extension ('' removes it)")
    update.add_argument("--role", choices=ROLE_CHOICES, help="supervisors and admins get the team page")
    state = update.add_mutually_exclusive_group()
    state.add_argument("--activate", dest="active", action="store_const", const=True)
    state.add_argument("--deactivate", dest="active", action="store_const", const=False)
    delete = sub.add_parser("delete-agent", help="delete an agent (its calls stay in the call log)")
    delete.add_argument("username")


def run(settings: Settings, args: argparse.Namespace) -> None:
    """Run one of COMMANDS and print what happened; a mistake raises (OperatorError, AgentNotFound,
    a database error), which `ringcard` turns into one line on stderr."""
    if args.command == "list-agents":
        print(_run(_list(settings)))
    elif args.command == "update-agent":
        print(_run(_update(settings, args.username, _patch(args))))
    elif args.command == "delete-agent":
        print(_run(_delete(settings, args.username)))
    else:  # pragma: no cover - main() only dispatches COMMANDS here
        raise OperatorError(f"unknown command {args.command}")


def _run(work: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(work)


def _patch(args: argparse.Namespace) -> AgentPatch:
    from pydantic import ValidationError

    from app.agents.management import AgentPatch

    given: dict[str, Any] = {
        name: value
        for name in ("display_name", "password", "lines", "phone", "active", "role")
        if (value := getattr(args, name)) is not None
    }
    if not given:
        raise OperatorError(
            "nothing to change: give --display-name, --password, --lines, --phone, --role, "
            "--activate or --deactivate"
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
    rows = [("USERNAME", "DISPLAY NAME", "ROLE", "ACTIVE", "LINES", "PHONE", "CREATED")]
    rows += [
        (
            a.username,
            a.display_name,
            a.role,
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
