"""The push channel's names come from one enum each and travel as the plain strings they were."""

from __future__ import annotations

import orjson

from app.push.envelopes import PONG, PushEvent, snapshot_frame
from app.push.event_types import EVENT_TYPES, EventType, FrameType


def test_the_wire_vocabulary_is_what_api_md_documents() -> None:
    documented = {"call.ringing", "call.answered", "call.ended", "card.updated"}
    assert documented == EVENT_TYPES
    assert {str(t) for t in FrameType} == {"auth", "ping", "pong", "snapshot"}
    # Any string may be asked about, a member or not, without Python 3.11's enum warning.
    assert "call.ended" in EVENT_TYPES and "call.started" not in EVENT_TYPES


def test_frames_are_byte_for_byte_what_they_were() -> None:
    assert PONG == '{"type":"pong"}'
    assert snapshot_frame([]) == '{"type":"snapshot","calls":[]}'
    assert snapshot_frame([b'{"a":1}', b'{"b":2}']) == '{"type":"snapshot","calls":[{"a":1},{"b":2}]}'


def test_a_member_serialises_and_compares_as_its_string() -> None:
    event = PushEvent(EventType.CALL_ENDED, "c1", 3, "2026-01-01T00:00:00.000+00:00", "l", {"id": "c1"}, None)
    assert orjson.loads(event.envelope())["type"] == "call.ended"
    assert EventType.CALL_RINGING == "call.ringing"
    assert {EventType.CALL_RINGING: 1}["call.ringing"] == 1
