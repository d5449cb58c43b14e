"""What the `ringcard` command prints when the operator must fix something: one line, with the fix.

`ringcard`'s main() runs every command inside `one_line_errors`: an exception it knows (a database
that is away, missing or not migrated, a file that is not there, a port in use, a taken username,
a bad setting) becomes one line on stderr and a non-zero exit; an exception it does not know
becomes one line naming its type. A traceback only with RINGCARD_DEBUG=1.

Nothing secret may reach that line. A failed statement's message quotes its parameters (a
password hash), so for SQLAlchemy's own errors only the driver's message (`exc.orig`) is used,
never `str(exc)`; database URLs are printed with the password masked; an exception of unknown
kind is named by its type alone.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final, NoReturn

if TYPE_CHECKING:
    from pydantic import ValidationError

# PostgreSQL's undefined_table/undefined_column: the schema is older than the code, or not there.
_NO_SCHEMA_SQLSTATES: Final = frozenset({"42P01", "42703"})
DEBUG_VARIABLE: Final = "RINGCARD_DEBUG"
MIGRATE_FIRST: Final = "run `ringcard migrate` first"


class OperatorError(Exception):
    """A mistake or a situation the operator must fix; its message is the one line printed."""


def debugging() -> bool:
    return os.environ.get(DEBUG_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on")


def fail(message: str, status: int = 1) -> NoReturn:
    print(f"ringcard: {message}", file=sys.stderr)
    sys.exit(status)


@contextmanager
def one_line_errors(database_url: str | None) -> Iterator[None]:
    """Run a command; what it raises ends in one line on stderr and exit status 1 (the traceback
    too with RINGCARD_DEBUG=1). `database_url` names the database in messages about it."""
    try:
        yield
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if debugging():
            raise
        fail(explain(exc, database_url))


def settings_problems(exc: ValidationError) -> list[str]:
    """One line per bad setting: the variable, and what it may be. Pydantic's own text would echo
    the values, secrets among them; its messages (`msg`) do not."""
    lines = []
    for error in exc.errors():
        message = _without_prefix(error["msg"])
        if error["loc"]:
            lines.append(f"RINGCARD_{str(error['loc'][0]).upper()}: {message}")
        else:  # a rule across settings; its message names the variables
            lines.append(message)
    return lines


def _without_prefix(message: str) -> str:
    # Pydantic prefixes what a validator raised with "Value error, ".
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def explain(exc: BaseException, database_url: str | None) -> str:
    """The one line for `exc`."""
    from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError

    from app.agents.management import AgentNotFound

    if isinstance(exc, OperatorError):
        return str(exc)
    if isinstance(exc, AgentNotFound):
        return f"{exc} (ringcard list-agents shows them)"
    if isinstance(exc, ArgumentError | NoSuchModuleError):
        return f"RINGCARD_DATABASE_URL is not a database URL this service can use: {DATABASE_URL_FORMS}"
    if isinstance(exc, IntegrityError) and "username" in str(exc.orig):
        return "an agent with that username exists already (ringcard list-agents shows them)"
    if isinstance(exc, SQLAlchemyError) or _from_the_driver(exc):
        return database_problem(exc, database_url)
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"cannot read {exc.filename}: {exc.strerror or type(exc).__name__}"
    if isinstance(exc, OSError):
        return f"{exc.strerror or type(exc).__name__}"
    return f"failed with {type(exc).__name__} ({DEBUG_VARIABLE}=1 shows the traceback)"


DATABASE_URL_FORMS: Final = (
    "use postgresql+asyncpg://USER[:PASSWORD]@HOST[:PORT]/DATABASE or sqlite+aiosqlite:///PATH"
)


def _from_the_driver(exc: BaseException) -> bool:
    # asyncpg raises some connection failures (an unknown database, a refused password) as its
    # own exceptions, not wrapped by SQLAlchemy; a refused or unresolvable address is an OSError.
    return any(
        type(cause).__module__.startswith("asyncpg")
        or isinstance(cause, ConnectionError | socket.gaierror | TimeoutError)
        for cause in causes(exc)
    )


def causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, the driver's exception it wraps, and what caused each, once each."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__


def database_problem(exc: BaseException, url: str | None) -> str:
    """One line about a database failure, with the fix where there is one."""
    where = safe_url(url)
    for cause in causes(exc):
        sqlstate = getattr(cause, "sqlstate", None)
        text = _first_line(cause)
        if sqlstate in _NO_SCHEMA_SQLSTATES or "no such table" in text or "no such column" in text:
            return f"the database at {where} is not migrated, or is older than this version: {MIGRATE_FIRST}"
        if sqlstate == "3D000":  # invalid_catalog_name
            name = _url_part(url, "database") or "DATABASE"
            return (
                f"cannot use the database at {where}: {text}: create it "
                f"(`createdb -O {_url_part(url, 'username') or 'USER'} {name}` as PostgreSQL's superuser), "
                "or fix RINGCARD_DATABASE_URL"
            )
        if sqlstate == "28P01":  # invalid_password
            return f"cannot use the database at {where}: {text}: fix the password in RINGCARD_DATABASE_URL"
        if sqlstate == "28000":  # invalid_authorization_specification: no such role, or pg_hba refuses
            return f"cannot use the database at {where}: {text}: create the role or fix RINGCARD_DATABASE_URL"
        if isinstance(cause, socket.gaierror):
            host = _url_part(url, "host") or "its host"
            return f"cannot reach the database at {where}: {host} is not a known host (RINGCARD_DATABASE_URL)"
        if isinstance(cause, ConnectionRefusedError):
            return f"cannot reach the database at {where}: connection refused; is the database running?"
        if isinstance(cause, TimeoutError):
            return f"cannot reach the database at {where}: no answer (timed out); is the database running?"
        if "unable to open database file" in text:
            return (
                f"cannot open the SQLite database {where}: its directory must exist and be writable "
                "(RINGCARD_DATABASE_URL)"
            )
    return f"cannot use the database at {where}: {_driver_text(exc)}"


def _driver_text(exc: BaseException) -> str:
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return _first_line(exc.orig)
    if isinstance(exc, SQLAlchemyError):
        # Not from the driver: its message may quote a statement and its parameters.
        return type(exc).__name__
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def safe_url(url: str | None) -> str:
    """The URL with its password masked; the variable's name when it is not a URL."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not url:
        return "RINGCARD_DATABASE_URL"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "RINGCARD_DATABASE_URL"


def _url_part(url: str | None, part: str) -> str | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not url:
        return None
    try:
        value = getattr(make_url(url), part)
    except (ArgumentError, ValueError):
        return None
    return str(value) if value else None


def listen_problem(exc: OSError, host: str, port: int) -> str:
    """Why `serve` cannot listen on host:port, and what to do."""
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is in use (another `ringcard serve`?): stop that, "
            "or choose another with --port or RINGCARD_PORT"
        )
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on port {port}: use a port above 1023 (--port or RINGCARD_PORT)"
    if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
        return f"cannot listen on {host}: not an address of this machine (--host or RINGCARD_HOST)"
    return f"cannot listen on {host}:{port}: {exc.strerror or type(exc).__name__}"
