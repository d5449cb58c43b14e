"""`/metrics` behind RINGCARD_METRICS_TOKEN when it is set, open as before when it is not."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import ValidationError

from app.main import create_app
from app.settings import Settings
from tests.conftest import make_settings

TOKEN = "metrics-token-for-tests-0123456789"


async def _client(metrics_token: str | None) -> AsyncIterator[httpx.AsyncClient]:
    # The route touches no database: no lifespan needed.
    app = create_app(make_settings("sqlite+aiosqlite:///:memory:", metrics_token=metrics_token))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        yield client


@pytest.fixture
async def guarded() -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(TOKEN):
        yield client


@pytest.fixture
async def open_metrics() -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(None):
        yield client


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}"],
)
async def test_with_a_token_metrics_refuse_anyone_without_it(
    guarded: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = await guarded.get("/metrics", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "python_info" not in answer.text


async def test_with_a_token_metrics_answer_its_bearer(guarded: httpx.AsyncClient) -> None:
    answer = await guarded.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and "python_info" in answer.text
    assert answer.headers["content-type"].startswith("text/plain")


async def test_without_a_token_metrics_stay_open(open_metrics: httpx.AsyncClient) -> None:
    assert (await open_metrics.get("/metrics")).status_code == 200
    # A stray header changes nothing either.
    answer = await open_metrics.get("/metrics", headers={"Authorization": "Bearer anything"})
    assert answer.status_code == 200 and "python_info" in answer.text


def test_production_refuses_a_placeholder_metrics_token() -> None:
    strong = {"env": "production", "secret_key": "s" * 40}
    with pytest.raises(ValidationError, match="RINGCARD_METRICS_TOKEN"):
        Settings(_env_file=None, metrics_token="changeme", **strong)  # type: ignore[call-arg]
    assert Settings(_env_file=None, metrics_token=TOKEN, **strong).metrics_token == TOKEN  # type: ignore[call-arg]
