"""What travels to agents and between instances, serialised once.

An envelope is built once per event per process and the same bytes go to every agent. The card
arrives already serialised by the lookup layer and is spliced in with `orjson.Fragment`, never
decoded. Between instances an event travels as a one-line JSON header and the raw card bytes, so
a receiving instance builds the identical envelope without parsing the card either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from app.agents.changes import AgentChange
from app.push.event_types import EVENT_TYPES, FrameType

_WIRE_VERSION = 1
_KIND_EVENT = "event"
_KIND_SYNC = "sync"
_KIND_AGENT = "agent"


PONG = orjson.dumps({"type": FrameType.PONG}).decode()
# Written by hand around the items, which are already JSON: nothing is decoded to be re-encoded.
_SNAPSHOT_HEAD = f'{{"type":"{FrameType.SNAPSHOT}","calls":['.encode()


@dataclass(frozen=True, slots=True)
class PushEvent:
    type: str
    call_id: str
    seq: int
    at: str
    line: str  # a line key (see app.kit.lines.line_key)
    call: Mapping[str, Any]  # the call core's view of the call (app/calls/contracts.py)
    card: bytes | None  # serialised JSON, or None when the event carries no card

    def envelope(self, card: bytes | None = None) -> bytes:
        """The envelope agents receive; `card` overrides the event's own (snapshots carry the
        latest card even when the latest event had none)."""
        card = self.card if card is None else card
        return orjson.dumps(
            {
                "type": self.type,
                "call_id": self.call_id,
                "seq": self.seq,
                "at": self.at,
                "call": self.call,
                "card": None if card is None else orjson.Fragment(card),
            }
        )


def timestamp(at: datetime | None = None) -> str:
    moment = datetime.now(UTC) if at is None else at
    if moment.tzinfo is None:
        raise ValueError("naive datetime given as an event time; pass an aware datetime")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def snapshot_frame(items: list[bytes]) -> str:
    return (_SNAPSHOT_HEAD + b",".join(items) + b"]}").decode()


# --- between instances -------------------------------------------------------------------------
# orjson never writes a raw newline (they are escaped inside strings), so the first b"\n" always
# ends the header; whatever follows is the card exactly as the publisher had it.


def encode_event(event: PushEvent, origin: str) -> bytes:
    header = orjson.dumps(
        {
            "v": _WIRE_VERSION,
            "kind": _KIND_EVENT,
            "origin": origin,
            "type": event.type,
            "call_id": event.call_id,
            "seq": event.seq,
            "at": event.at,
            "line": event.line,
            "call": event.call,
        }
    )
    return header + b"\n" + (event.card or b"")


def encode_sync_request(origin: str) -> bytes:
    """Asks every other instance to republish the calls it holds live (sent after subscribing)."""
    return orjson.dumps({"v": _WIRE_VERSION, "kind": _KIND_SYNC, "origin": origin}) + b"\n"


def encode_agent_change(change: AgentChange, origin: str) -> bytes:
    return (
        orjson.dumps(
            {
                "v": _WIRE_VERSION,
                "kind": _KIND_AGENT,
                "origin": origin,
                "agent_id": change.agent_id,
                "revoke_below": change.revoke_below,
                "revoke_all": change.revoke_all,
            }
        )
        + b"\n"
    )


@dataclass(frozen=True, slots=True)
class WireMessage:
    origin: str
    event: PushEvent | None  # None (and no agent change): a sync request
    agent: AgentChange | None = None


def decode_wire(data: bytes) -> WireMessage:
    """Raises ValueError for anything that is not a message of ours in a version we read."""
    head, sep, card = data.partition(b"\n")
    if not sep:
        raise ValueError("no header line")
    try:
        header = orjson.loads(head)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"header is not JSON: {exc}") from exc
    if not isinstance(header, dict) or header.get("v") != _WIRE_VERSION:
        raise ValueError("not a version 1 push message")
    origin = header.get("origin")
    if not isinstance(origin, str):
        raise ValueError("no origin")
    kind = header.get("kind")
    if kind == _KIND_SYNC:
        return WireMessage(origin, None)
    if kind == _KIND_AGENT:
        return WireMessage(origin, None, _agent_change(header))
    if kind != _KIND_EVENT:
        raise ValueError(f"unknown kind {kind!r}")
    event_type, call_id, seq = header.get("type"), header.get("call_id"), header.get("seq")
    at, line, call = header.get("at"), header.get("line"), header.get("call")
    if (
        event_type not in EVENT_TYPES
        or not isinstance(call_id, str)
        or not isinstance(seq, int)
        or not isinstance(at, str)
        or not isinstance(line, str)
        or not isinstance(call, dict)
    ):
        raise ValueError("malformed event header")
    return WireMessage(origin, PushEvent(str(event_type), call_id, seq, at, line, call, card or None))


def _agent_change(header: dict[str, object]) -> AgentChange:
    agent_id, below, every = header.get("agent_id"), header.get("revoke_below"), header.get("revoke_all")
    # bool is an int to Python: a true "agent_id" would otherwise name agent 1.
    if not isinstance(agent_id, int) or isinstance(agent_id, bool) or not isinstance(every, bool):
        raise ValueError("malformed agent change")
    if below is not None and (not isinstance(below, int) or isinstance(below, bool)):
        raise ValueError("malformed agent change")
    return AgentChange(agent_id, below, every)
