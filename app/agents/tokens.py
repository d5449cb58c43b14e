"""Signed, expiring access tokens for agents (HS256 JWT)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import ServiceSecret
from app.db import table_of, upsert_insert

_ALGORITHM = "HS256"
_AUDIENCE = "ringcard-agent"


@dataclass(frozen=True, slots=True)
class AgentClaims:
    agent_id: int
    username: str
    display_name: str
    # The agent's token_version when the token was issued; a token whose version is not the
    # agent's current one was revoked (password changed, agent deactivated).
    version: int = 0
    # The agent's role as the database says now (app/agents/access.py fills it on every request).
    # Never written into a token: a demotion must count at the next request, not at expiry.
    role: str = "agent"


def issue_token(key: str, claims: AgentClaims, ttl_s: int, *, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    payload = {
        "sub": str(claims.agent_id),
        "usr": claims.username,
        "name": claims.display_name,
        "ver": claims.version,
        "aud": _AUDIENCE,
        "iat": issued,
        "exp": issued + ttl_s,
    }
    return jwt.encode(payload, key, algorithm=_ALGORITHM)


def read_token(key: str, token: str) -> AgentClaims | None:
    """The claims of a valid, unexpired token; None for anything else."""
    try:
        payload = jwt.decode(
            token, key, algorithms=[_ALGORITHM], audience=_AUDIENCE, options={"require": ["exp", "sub"]}
        )
        # Tokens from before versions existed carry none: they count as version 0, which is what
        # every agent had then, so they stay valid until the agent's version is first bumped.
        version = payload.get("ver", 0)
        if not isinstance(version, int) or isinstance(version, bool):
            return None
        return AgentClaims(int(payload["sub"]), str(payload["usr"]), str(payload["name"]), version)
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return None


async def load_or_create_signing_key(session: AsyncSession) -> str:
    """The key generated on first start; every instance sharing the database reads the same one."""
    ins = upsert_insert(session, table_of(ServiceSecret))
    await session.execute(
        ins.values(name="token_signing_key", value=secrets.token_urlsafe(48)).on_conflict_do_nothing()
    )
    key = await session.scalar(select(ServiceSecret.value).where(ServiceSecret.name == "token_signing_key"))
    assert key is not None
    return key
