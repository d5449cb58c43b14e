"""One way to make an agent, whoever asks (the admin API, the CLI, the demo store), and the same
normalisation of lines and phone for a change to one (app/agents/management.py)."""

from __future__ import annotations

from app.agents.models import Agent, Role
from app.db import utcnow
from app.kit.lines import line_key
from app.kit.phones import NumberKind, normalise


def agent_lines(lines: list[str], region: str) -> list[str]:
    """Lines as they are compared: a dialled number as E.164, a queue name as written."""
    return [line_key(line, region) for line in lines]


def agent_phone(phone: str | None, region: str) -> tuple[str | None, str | None]:
    """(as written, E.164): the agent's own number is known so that it is never matched as a
    customer. An empty number is no number."""
    if not phone:
        return None, None
    number = normalise(phone, region)
    return phone, number.e164 if number.kind is NumberKind.E164 else None


def new_agent(
    username: str,
    display_name: str,
    *,
    password_hash: str,
    lines: list[str],
    phone: str | None,
    region: str,
    role: Role = Role.AGENT,
) -> Agent:
    """An agent row with its lines normalised and its own number known. The password comes
    hashed: Argon2 must run off the event loop (`hash_password_async`), which is the caller's to
    await. Keyword-only, so that a caller still passing the plain password where the hash goes
    fails loudly instead of storing it."""
    phone_raw, phone_e164 = agent_phone(phone, region)
    return Agent(
        username=username,
        display_name=display_name,
        password_hash=password_hash,
        lines=agent_lines(lines, region),
        phone_raw=phone_raw,
        phone_e164=phone_e164,
        created_at=utcnow(),
        role=role.value,
    )
