"""One Ringcard instance in a process of its own, for the multi-instance tests.

    python -m tests.push.serve_instance --fd N

Settings come from RINGCARD_* environment variables (never from a .env file); the listening socket
is inherited from the test, which therefore never waits for a port to open. Adds a test-only
`POST /test/publish` route that calls the hub's publish entry point, the way the telephony code
will: it exists here, never in app/.
"""

from __future__ import annotations

import argparse
import socket
import warnings
from typing import Any

import uvicorn
from fastapi import FastAPI

from app.main import create_app
from app.push.socket_routes import CLIENT_MESSAGE_MAX_BYTES
from app.settings import Settings


def build_app() -> FastAPI:
    app = create_app(Settings(_env_file=None))  # type: ignore[call-arg]

    @app.post("/test/publish")
    async def publish(body: dict[str, Any]) -> dict[str, int | None]:
        seq = await app.state.push.publish_call_event(
            body["type"], body["call"], body.get("card"), body["line"], seq=body.get("seq")
        )
        return {"seq": seq}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int, required=True, help="an inherited, listening socket")
    args = parser.parse_args()
    # uvicorn 0.32 serves websockets through websockets' deprecated legacy API.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"websockets\.")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"uvicorn\.")
    config = uvicorn.Config(
        build_app(),
        log_level="warning",
        lifespan="on",
        ws="websockets",
        ws_max_size=CLIENT_MESSAGE_MAX_BYTES,
    )
    uvicorn.Server(config).run(sockets=[socket.socket(fileno=args.fd)])


if __name__ == "__main__":
    main()
