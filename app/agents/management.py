"""Managing agents: add, list, change and delete them; one set of rules for the admin API, the
team page (app/agents/team.py adds who may do what) and the CLI.

These functions only execute and flush; the caller commits, and only then tells the running
instances (`AgentChange`), because sockets and the call directory read the committed state.

A change that revokes tokens bumps `token_version` in the same single UPDATE that applies it
(`token_version = token_version + 1`): concurrent changes never lose a bump, and the row never
holds a mix of two writes. What revokes: a new password (someone may know the old one) and a
deactivation (the person left). Reactivating does not bring the old tokens back: the agent signs
in again.

Deleting removes the row. Nothing references agents by key: the call log keeps the answering
agent's username (`calls.answered_by`) and the note author's display name (`calls.noted_by`) as
text, so every past call stays readable exactly as it was, and the username is free for a new
agent at once (an admin who deletes "ola" and creates "ola" again expects that to work). Ids are
never reused (see Agent.__table_args__), so no token of the deleted agent can open anything again.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError
from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.changes import AgentChange
from app.agents.models import Agent, Role
from app.agents.new_agent import agent_lines, agent_phone, new_agent
from app.agents.password_rule import PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, password_problem


def _checked_password(value: str) -> str:
    # The API's and the CLI's one rule (app/agents/password_rule.py), the rule as the message.
    if (problem := password_problem(value)) is not None:
        raise PydanticCustomError("password_rule", problem)
    return value


USERNAME_PATTERN: Final = r"^[A-Za-z0-9_.@-]+$"
Username = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=USERNAME_PATTERN)]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Password = Annotated[
    str,
    AfterValidator(_checked_password),
    Field(json_schema_extra={"minLength": PASSWORD_MIN_CHARS, "maxLength": PASSWORD_MAX_CHARS}),
]
Line = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Phone = Annotated[str, StringConstraints(max_length=64)]
MAX_LINES: Final = 500


class AgentNotFound(LookupError):
    def __init__(self, username: str) -> None:
        super().__init__(f"no agent named {username!r}")
        self.username = username


class UsernameTaken(ValueError):
    def __init__(self, username: str) -> None:
        super().__init__(f"username {username!r} is taken")
        self.username = username


class NewAgent(BaseModel):
    """An agent to create: the admin API's and the team page's body."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: Username
    display_name: DisplayName
    password: Password
    lines: list[Line] = Field(default_factory=lambda: ["*"], max_length=MAX_LINES)
    phone: Phone | None = None
    role: Role = Role.AGENT


class AgentPatch(BaseModel):
    """A change to an agent: only the fields given change. `phone: null` (or "") removes the
    agent's number; the other fields cannot be null."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    display_name: DisplayName | None = None
    password: Password | None = None
    lines: list[Line] | None = Field(default=None, max_length=MAX_LINES)
    phone: Phone | None = None
    active: StrictBool | None = None  # JSON true/false only: "no" or 0 must not guess
    role: Role | None = None

    @field_validator("display_name", "password", "lines", "active", "role", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Only an explicit null reaches here (an absent field keeps its default): say so by name
        # rather than let null mean "leave it" for some fields and "clear it" for others.
        if value is None:
            raise ValueError("may not be null (leave the field out to keep it)")
        return value

    @property
    def revokes_tokens(self) -> bool:
        return self.password is not None or self.active is False


class _Keep(enum.Enum):
    KEEP = "keep"


KEEP: Final = _Keep.KEEP


@dataclass(frozen=True, slots=True)
class AgentChanges:
    """What to write, the password already hashed (off the event loop, by the caller)."""

    display_name: str | None = None
    password_hash: str | None = None
    lines: list[str] | None = None
    phone: str | None | _Keep = KEEP
    active: bool | None = None
    role: Role | None = None
    revoke_tokens: bool = False

    @classmethod
    def from_patch(cls, patch: AgentPatch, password_hash: str | None) -> AgentChanges:
        return cls(
            display_name=patch.display_name,
            password_hash=password_hash,
            lines=patch.lines,
            phone=patch.phone if "phone" in patch.model_fields_set else KEEP,
            active=patch.active,
            role=patch.role,
            revoke_tokens=patch.revokes_tokens,
        )


@dataclass(frozen=True, slots=True)
class AgentView:
    """An agent as the admin sees it: never the password hash."""

    id: int
    username: str
    display_name: str
    lines: list[str]
    phone: str | None
    active: bool
    created_at: datetime
    token_version: int
    role: Role


_VIEW_COLUMNS = (
    Agent.id,
    Agent.username,
    Agent.display_name,
    Agent.lines,
    Agent.phone_raw,
    Agent.is_active,
    Agent.created_at,
    Agent.token_version,
    Agent.role,
)


def _view(row: Any) -> AgentView:
    return AgentView(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        lines=list(row.lines or []),
        phone=row.phone_raw,
        active=bool(row.is_active),
        created_at=row.created_at,
        token_version=row.token_version,
        role=Role(row.role),
    )


async def list_agents(session: AsyncSession) -> list[AgentView]:
    rows = (await session.execute(select(*_VIEW_COLUMNS).order_by(Agent.username))).all()
    return [_view(row) for row in rows]


async def get_agent(session: AsyncSession, username: str) -> AgentView:
    row = (await session.execute(select(*_VIEW_COLUMNS).where(Agent.username == username))).one_or_none()
    if row is None:
        raise AgentNotFound(username)
    return _view(row)


async def add_agent(
    session: AsyncSession, agent: NewAgent, *, password_hash: str, region: str
) -> tuple[AgentView, AgentChange]:
    """Insert the agent (one statement, so a bad value leaves nothing behind); raises
    UsernameTaken. Two concurrent adds of one username: the unique index lets one through."""
    row = new_agent(
        agent.username,
        agent.display_name,
        password_hash=password_hash,
        lines=agent.lines,
        phone=agent.phone,
        region=region,
        role=agent.role,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise UsernameTaken(agent.username) from exc
    view = AgentView(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        lines=list(row.lines),
        phone=row.phone_raw,
        active=True,
        created_at=row.created_at,
        token_version=0,
        role=agent.role,
    )
    # The new agent's phone rings from the next call on, on every instance (the directories).
    return view, AgentChange(view.id)


async def update_agent(
    session: AsyncSession,
    username: str,
    changes: AgentChanges,
    *,
    region: str,
    only_if: tuple[ColumnElement[bool], ...] = (),
) -> tuple[AgentView, AgentChange]:
    """Apply `changes` in one statement; raises AgentNotFound, also when a row exists but fails
    `only_if` (conditions in the same statement: checked and written at once, so no concurrent
    change slips between a check and the write; the caller reads the row to say why). The
    AgentChange is what the running instances must hear once the caller has committed."""
    values: dict[str, Any] = {}
    if changes.display_name is not None:
        values["display_name"] = changes.display_name
    if changes.password_hash is not None:
        values["password_hash"] = changes.password_hash
    if changes.lines is not None:
        values["lines"] = agent_lines(changes.lines, region)
    if changes.phone is not KEEP:
        values["phone_raw"], values["phone_e164"] = agent_phone(changes.phone, region)
    if changes.active is not None:
        values["is_active"] = changes.active
    if changes.role is not None:
        values["role"] = changes.role.value
    if changes.revoke_tokens:
        # In the statement, not read-then-written: two concurrent revocations are two bumps.
        values["token_version"] = Agent.token_version + 1
    if not values:
        # Nothing to write still answers as a write would: the same conditions apply.
        values["username"] = Agent.username
    statement = (
        update(Agent)
        .where(Agent.username == username, *only_if)
        .values(**values)
        .returning(*_VIEW_COLUMNS)
        .execution_options(synchronize_session=False)
    )
    row = (await session.execute(statement)).one_or_none()
    if row is None:
        raise AgentNotFound(username)
    view = _view(row)
    return view, AgentChange(view.id, revoke_below=view.token_version if changes.revoke_tokens else None)


async def delete_agent(session: AsyncSession, username: str) -> AgentChange:
    """Delete the agent (its calls stay in the log, see the module's docstring); raises
    AgentNotFound."""
    statement = (
        delete(Agent)
        .where(Agent.username == username)
        .returning(Agent.id)
        .execution_options(synchronize_session=False)
    )
    agent_id = (await session.execute(statement)).scalar_one_or_none()
    if agent_id is None:
        raise AgentNotFound(username)
    return AgentChange(agent_id, revoke_all=True)
