"""Agents (the people who answer the phone) and the service's own generated secrets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime


class Agent(Base):
    __tablename__ = "agents"
    # Tokens name their agent by id: an id must never come back for someone else after a delete.
    # PostgreSQL's sequence never reuses one; SQLite reuses the highest rowid unless told not to.
    __table_args__ = {"sqlite_autoincrement": True}

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


class ServiceSecret(Base):
    """Secrets the service generates for itself when the operator set none (the token signing key),
    kept in the database so that every instance and every restart agrees on them."""

    __tablename__ = "service_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
