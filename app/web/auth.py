"""The credentials a request carries: the Bearer token, and the constant-time comparison with the
secret it is checked against. The checks built on them (which key or token a route wants, the 404
of a route whose secret is unset) are the dependencies of app/deps.py."""

from __future__ import annotations

import hmac

from fastapi import Request


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
