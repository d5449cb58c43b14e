"""Demo mode: lets anyone see a pop without a phone line (the console's "Simulate a call").

The simulated webhooks go to this very server, never to an address a request names: the `Host`
header is the client's to write, and following it would let any agent make the server post signed
requests to any host. They go to the socket the agent's request arrived on (its address and port
come from the operating system, which also covers `ringcard serve --port` overriding
RINGCARD_PORT), and are signed for RINGCARD_PUBLIC_URL when it is set, as Twilio would sign them,
since that is the URL the signature check rebuilds.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.types import Scope

from app.demo.data import HERO_PHONE, SHARED_PHONE
from app.demo.simulate import DEFAULT_LINE, new_call_sid, simulate_call
from app.deps import CurrentAgent, SettingsDep, StateDep
from app.settings import Settings

router = APIRouter(prefix="/api/v1/demo", tags=["demo"])

SAMPLE_CALLERS = {
    "Anna Nowak (gold, open complaint)": HERO_PHONE,
    "Two customers sharing a phone": "+48 " + SHARED_PHONE,
    "Guest checkout": "+48 512 987 654",
    "Unknown caller": "+48 500 000 001",
    "Withheld number": "anonymous",
}


# What the demo's callers say once answered: the demo's AI summary is written from it (the card
# number shows the redaction at work). A caller without one of their own gets the generic one.
DEMO_TRANSCRIPTS = {
    HERO_PHONE: (
        "Hello, this is Anna Nowak. My parcel for order 1042 still has not arrived, the tracking has "
        "been stuck for five days. I am really not happy. Can I just pay again with my card "
        "4111 1111 1111 1111 and get a new one? I am sorry about that, please do not give me your "
        "card number on the phone. I will chase the courier today and if the parcel is not found by "
        "Friday we send a replacement for free. Thank you, please call me back when you know more."
    ),
}
GENERIC_TRANSCRIPT = (
    "Hi, I ordered last week and I would like to know when my order arrives. Let me check: it "
    "shipped yesterday and should be with you tomorrow. Great, thank you, that is all."
)


class DemoConfig(BaseModel):
    demo: bool
    line: str
    callers: dict[str, str]


class SimulateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(alias="from")
    to: Annotated[str, StringConstraints(min_length=1, max_length=64)] = DEFAULT_LINE
    answer_after_s: float | None = Field(default=None, ge=0, le=60)
    hang_up_after_s: float | None = Field(default=None, ge=0, le=600)


class SimulateOut(BaseModel):
    call_sid: str
    webhook_status: int


def own_base_url(scope: Scope, settings: Settings) -> str:
    """Where this server can post to itself: the local end of the request's connection, else
    (a Unix socket has no address) RINGCARD_PUBLIC_URL, else RINGCARD_HOST and RINGCARD_PORT.

    Plain HTTP: `ringcard serve` has no TLS of its own (a proxy in front terminates it), and the
    request's scheme may come from a proxy's X-Forwarded-Proto."""
    server = scope.get("server")
    if isinstance(server, tuple | list) and len(server) == 2 and server[1] is not None:
        host, port = str(server[0]), int(server[1])
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    if settings.public_url:
        return settings.public_url
    return f"http://{settings.host}:{settings.port}"


def _require_demo(settings: SettingsDep) -> None:
    if not settings.demo or not settings.twilio_auth_token:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "demo mode is off (start with `ringcard serve --demo`)"
        )


@router.get("/config", response_model=DemoConfig)
async def demo_config(settings: SettingsDep) -> DemoConfig:
    _require_demo(settings)
    return DemoConfig(demo=True, line=DEFAULT_LINE, callers=SAMPLE_CALLERS)


@router.post("/simulate-call", response_model=SimulateOut, status_code=status.HTTP_202_ACCEPTED)
async def simulate(
    body: SimulateIn, request: Request, settings: SettingsDep, agent: CurrentAgent, state: StateDep
) -> SimulateOut:
    """Sends the service properly signed Twilio webhooks, as Twilio would; the simulated answer
    comes from the asking agent's own client."""
    _require_demo(settings)
    assert settings.twilio_auth_token is not None
    base = own_base_url(request.scope, settings)
    call_sid = new_call_sid()
    call = simulate_call(
        base,
        settings.twilio_auth_token,
        body.from_,
        line=body.to,
        public_url=settings.public_url,
        answer_after_s=body.answer_after_s,
        hang_up_after_s=body.hang_up_after_s,
        call_sid=call_sid,
        answered_by=agent.username,
        transcript=DEMO_TRANSCRIPTS.get(body.from_, GENERIC_TRANSCRIPT),
    )
    if body.answer_after_s is None and body.hang_up_after_s is None:
        result = await call
        return SimulateOut(call_sid=result.call_sid, webhook_status=result.voice_status)
    # A call with answer/hang-up steps plays out after this request has been answered.
    task = asyncio.create_task(call)
    state.background.add(task)
    task.add_done_callback(state.background.discard)
    return SimulateOut(call_sid=call_sid, webhook_status=202)
