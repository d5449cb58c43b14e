"""The credentials a request carries and the settings that hold the secrets they are checked
against: the Bearer token, compared in constant time. The checks built on them (which key or token
a route wants, the 404 of a route whose secret is unset) are the dependencies of app/deps.py, which
is where routes import `SettingsDep` from too; it is defined here, below them, so that the checks
of the platform pipeline can share it without importing every part of the application."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from app.settings import Settings


async def get_settings_dep(connection: HTTPConnection) -> Settings:
    # Async although it awaits nothing: FastAPI runs a plain `def` dependency in the thread pool.
    settings: Settings = connection.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def secret_matches(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
