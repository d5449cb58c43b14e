"""Roles in the schema and on the command line: agents from before roles become 'agent', the
database refuses any other value, SQLite keeps never reusing ids after its table is rebuilt, and
the operator grants roles with `ringcard`."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy.exc import IntegrityError

from app.agents.cli import ROLE_CHOICES
from app.agents.models import ROLES
from app.db.migrate import alembic_config, upgrade
from tests.agents.team_helpers import PASSWORD, bearer, make, token_of
from tests.agents.test_agent_management import one_line, ringcard
from tests.conftest import execute, in_own_thread

BEFORE = "e6cdbaa7fe4b"
ROLES_REVISION = "a1c3e5f7b9d1"


_INSERT = (
    "INSERT INTO agents (username, display_name, password_hash, lines, is_active, token_version, "
    "created_at{role}) VALUES ('{name}', 'X', '!', '[]', true, 0, '2026-12-01 10:00:00'{value})"
)


async def test_the_migration_makes_earlier_agents_agents_and_refuses_other_roles(blank_url: str) -> None:
    in_own_thread(upgrade, blank_url, BEFORE)
    await execute(blank_url, _INSERT.format(role="", name="old", value=""))
    in_own_thread(upgrade, blank_url, ROLES_REVISION)

    assert await execute(blank_url, "SELECT username, role FROM agents") == [("old", "agent")]
    await execute(blank_url, _INSERT.format(role=", role", name="boss", value=", 'supervisor'"))
    with pytest.raises(IntegrityError, match="ck_agents_role"):
        await execute(blank_url, _INSERT.format(role=", role", name="eve", value=", 'owner'"))
    # The rebuilt SQLite table still never hands a deleted agent's id to the next one.
    (newest,) = (await execute(blank_url, "SELECT max(id) FROM agents"))[0]
    await execute(blank_url, "DELETE FROM agents WHERE username = 'boss'")
    await execute(blank_url, _INSERT.format(role="", name="next", value=""))
    assert await execute(blank_url, "SELECT id FROM agents WHERE username = 'next'") > [(newest,)]

    in_own_thread(command.downgrade, alembic_config(blank_url), BEFORE)
    assert await execute(blank_url, "SELECT username FROM agents ORDER BY id") == [("old",), ("next",)]
    in_own_thread(upgrade, blank_url)


def test_the_command_line_offers_exactly_the_schemas_roles() -> None:
    assert ROLE_CHOICES == ROLES


async def test_the_operator_grants_roles_from_the_command_line(
    app_client: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    await make(app_client, "ola")
    token = bearer(await token_of(app_client, "ola"))
    assert (await app_client.get("/api/v1/team/agents", headers=token)).status_code == 403

    promoted = await ringcard(tmp_path, database_url, "update-agent", "ola", "--role", "supervisor")
    assert promoted.returncode == 0 and one_line(promoted.stdout) == "Agent ola updated (role)."
    assert (await app_client.get("/api/v1/team/agents", headers=token)).status_code == 200

    created = await ringcard(
        tmp_path,
        database_url,
        "create-agent",
        "ada",
        "--display-name",
        "Ada",
        "--password",
        PASSWORD,
        "--role",
        "admin",
    )
    assert created.returncode == 0, created.stderr
    listed = await ringcard(tmp_path, database_url, "list-agents")
    rows = {line.split()[0]: line.split() for line in listed.stdout.strip().splitlines()[1:]}
    assert (rows["ada"][2], rows["ola"][2]) == ("admin", "supervisor")

    wrong = await ringcard(tmp_path, database_url, "update-agent", "ola", "--role", "owner")
    assert wrong.returncode == 2 and "invalid choice: 'owner'" in wrong.stderr
