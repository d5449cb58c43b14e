"""Agents (the people who answer the phone), which instance holds whose sockets, and the service's
own generated secrets."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import JSON, Boolean, CheckConstraint, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime


class Role(StrEnum):
    """An agent's role (what each may do: app/agents/roles.py). Declared with the table, whose
    check constraint allows exactly these."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


ROLES: Final = tuple(role.value for role in Role)
_ROLE_VALUES = ", ".join(f"'{role}'" for role in ROLES)


class Agent(Base):
    __tablename__ = "agents"
    # Tokens name their agent by id: an id must never come back for someone else after a delete.
    # PostgreSQL's sequence never reuses one; SQLite reuses the highest rowid unless told not to.
    __table_args__ = (
        CheckConstraint(f"role IN ({_ROLE_VALUES})", name="role"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    # Dialled numbers in E.164, PBX queue names, or "*" for every line.
    lines: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone_raw: Mapped[str | None] = mapped_column(String(64))
    phone_e164: Mapped[str | None] = mapped_column(String(20), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Every token carries the version it was issued under; bumping it (password change,
    # deactivation) makes every token issued before unusable at once (app/agents/access.py).
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # app/agents/roles.py; read on every request, never trusted from a token.
    role: Mapped[str] = mapped_column(String(16), default=Role.AGENT.value, server_default=Role.AGENT.value)


class SocketPresence(Base):
    """Which agents have a push socket open on one running instance, as of `seen_at`
    (app/agents/presence.py: why a table, and when a row counts as gone)."""

    __tablename__ = "socket_presence"

    instance_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ServiceSecret(Base):
    """Secrets the service generates for itself when the operator set none (the token signing key),
    kept in the database so that every instance and every restart agrees on them."""

    __tablename__ = "service_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
