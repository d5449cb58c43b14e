"""One way to make an agent, whoever asks (the admin API, the CLI, the demo store)."""

from __future__ import annotations

from app.agents.models import Agent
from app.agents.passwords import hash_password
from app.db import utcnow
from app.lookup.lines import line_key
from app.lookup.phones import NumberKind, normalise


def new_agent(
    username: str, display_name: str, password: str, lines: list[str], phone: str | None, region: str
) -> Agent:
    """An agent row with its password hashed, its lines normalised (a dialled number compares as
    E.164) and its own number known, so that it is never matched as a customer."""
    number = normalise(phone, region) if phone else None
    return Agent(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        lines=[line_key(line, region) for line in lines],
        phone_raw=phone,
        phone_e164=number.e164 if number is not None and number.kind is NumberKind.E164 else None,
        created_at=utcnow(),
    )
