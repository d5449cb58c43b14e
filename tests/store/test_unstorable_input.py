"""Values the databases refuse (a NUL character in text, a time UTC cannot hold) are a 422 that
names the field, on every endpoint, before anything is written; in an import, a rejected line
that names its line number while the other lines are applied."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select

from app.store.models import Customer
from tests.conftest import ADMIN, SYNC
from tests.fixtures.platform_payloads import rows
from tests.fixtures.push_harness import create_agent
from tests.fixtures.store_records import customer, order


async def test_a_nul_character_in_a_record_is_a_422_naming_the_field(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    answer = await app_client.put(
        "/api/v1/customers/c-1", json=customer(first_name="An\u0000na"), headers=SYNC
    )
    assert answer.status_code == 422
    assert answer.json()["error"].startswith("first_name: contains a NUL character")
    nested = await app_client.put(
        "/api/v1/orders/o-1", json=order("#1", "1.00", items=[{"title": "Mu\u0000g"}]), headers=SYNC
    )
    assert nested.status_code == 422 and nested.json()["error"].startswith("items.0.title:")
    assert await rows(database_url, select(Customer.id)) == []


async def test_a_nul_character_anywhere_a_client_can_put_one_is_a_422(app_client: httpx.AsyncClient) -> None:
    sign_in = await app_client.post("/auth/token", json={"username": "ol\u0000a", "password": "x" * 12})
    assert sign_in.status_code == 422 and "username" in sign_in.json()["error"]
    form = await app_client.post(
        "/auth/token",
        content=b"username=ol%00a&password=xxxxxxxxxxxx",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 422 and form.json()["error"].startswith("username:")
    search = await app_client.get("/api/v1/calls", params={"q": "An\u0000na"}, headers=ADMIN)
    assert search.status_code == 422 and search.json()["error"].startswith("q:")
    path = await app_client.put("/api/v1/customers/c%001", json=customer(), headers=SYNC)
    assert path.status_code == 422 and path.json()["error"].startswith("path:")


async def test_times_utc_cannot_hold_are_a_422(app_client: httpx.AsyncClient) -> None:
    agent = {"Authorization": f"Bearer {await create_agent(app_client, 'ola', ['sales'])}"}
    for when in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        answer = await app_client.put("/api/v1/customers/c-1", json=customer(updated_at=when), headers=SYNC)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"].startswith("updated_at:"), answer.json()
        since = await app_client.get("/api/v1/calls", params={"since": when}, headers=agent)
        assert since.status_code == 422 and since.json()["error"].startswith("since:"), since.text


async def test_an_import_reports_unstorable_lines_by_number_and_applies_the_rest(
    app_client: httpx.AsyncClient, database_url: str
) -> None:
    lines = [{"type": "customer", "external_id": f"c-{i}", **customer()} for i in range(6)]
    lines[2]["last_name"] = "Now\u0000ak"
    lines[4]["updated_at"] = "0001-01-01T00:00:00+14:00"
    body = b"\n".join(json.dumps(line).encode() for line in lines) + b"\n"
    answer = await app_client.post(
        "/api/v1/import", content=body, headers={**SYNC, "Content-Type": "application/x-ndjson"}
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["lines"], report["applied"], report["rejected"]) == (6, 4, 2)
    errors = {e["line"]: e["error"] for e in report["errors"]}
    assert errors[3].startswith("last_name: contains a NUL character")
    assert errors[5].startswith("customer.updated_at:") or errors[5].startswith("updated_at:"), errors
    stored = sorted(ext for (ext,) in await rows(database_url, select(Customer.external_id)))
    assert stored == ["c-0", "c-1", "c-3", "c-5"]
