"""The one rule for a new password, wherever it is set: the admin API creating or changing an
agent, `ringcard create-agent` and `ringcard update-agent`. Light to import: `ringcard` states
the rule in its help."""

from __future__ import annotations

from typing import Final

PASSWORD_MIN_CHARS: Final = 8
PASSWORD_MAX_CHARS: Final = 1024
PASSWORD_RULE: Final = f"at least {PASSWORD_MIN_CHARS} characters (at most {PASSWORD_MAX_CHARS})"


def password_problem(password: str) -> str | None:
    """None when `password` may be an agent's password, else the rule it breaks."""
    return None if PASSWORD_MIN_CHARS <= len(password) <= PASSWORD_MAX_CHARS else PASSWORD_RULE
