"""The hub's state without sockets: envelopes, the live-call record, and catching up with peers."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from app.push.broker import BrokerListener
from app.push.envelopes import PushEvent, decode_wire, encode_event, encode_sync_request
from app.push.hub import PushHub
from app.push.live_calls import LiveCalls
from app.push.memory_broker import MemoryBroker, MemoryBus

LINE = "+48221234567"
CARD = {"customer": {"name": "Anna Nowak"}}


def event(
    event_type: str, seq: int, *, call_id: str = "c1", line: str = LINE, card: bytes | None = None
) -> PushEvent:
    return PushEvent(event_type, call_id, seq, "2026-11-01T12:00:00.000+00:00", line, {"id": call_id}, card)


def test_the_card_bytes_are_spliced_into_the_envelope_as_they_are() -> None:
    card = b'{"z": 1,   "a": [1, 2]}'  # spacing and key order orjson would never produce
    envelope = event("call.ringing", 1, card=card).envelope()
    assert card in envelope
    assert orjson.loads(envelope) == {
        "type": "call.ringing",
        "call_id": "c1",
        "seq": 1,
        "at": "2026-11-01T12:00:00.000+00:00",
        "call": {"id": "c1"},
        "card": {"z": 1, "a": [1, 2]},
    }


def test_an_event_crosses_instances_intact_and_builds_the_same_envelope_there() -> None:
    sent = event("call.answered", 4, card=orjson.dumps(CARD))
    received = decode_wire(encode_event(sent, "instance-a"))
    assert received.origin == "instance-a" and received.event == sent
    assert received.event.envelope() == sent.envelope()
    without_card = decode_wire(encode_event(event("call.ended", 5), "instance-a"))
    assert without_card.event is not None and without_card.event.card is None
    assert decode_wire(encode_sync_request("instance-b")).event is None


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"no header line",
        b"[1,2]\n",
        b'{"v":2,"kind":"event","origin":"x"}\n',
        b'{"v":1,"kind":"event","origin":"x"}\n',
    ],
)
def test_anything_else_on_the_channel_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        decode_wire(data)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_live_record_keeps_the_newest_state_with_the_newest_card() -> None:
    live = LiveCalls()
    card = orjson.dumps(CARD)
    for item in (event("call.ringing", 1, card=card), event("call.answered", 2)):
        assert live.is_new(item)
        live.record(item, item.envelope())
    assert not live.is_new(event("card.updated", 2)) and live.next_seq("c1") == 3
    (snapshot_item,) = await live.live_calls(frozenset({LINE}))
    assert orjson.loads(snapshot_item) | {"card": None} == orjson.loads(event("call.answered", 2).envelope())
    assert orjson.loads(snapshot_item)["card"] == CARD
    assert await live.live_calls(frozenset({"sales"})) == []
    assert len(await live.live_calls(frozenset({"*"}))) == 1
    (announced,) = live.announcements()
    assert (announced.type, announced.seq, announced.card) == ("call.answered", 2, card)


async def test_an_ended_call_leaves_snapshots_at_once_and_the_record_after_a_while() -> None:
    clock = FakeClock()
    live = LiveCalls(ended_retention_s=30, max_age_s=3600, clock=clock)
    for item in (
        event("call.ringing", 1),
        event("call.ended", 2),
        event("call.ringing", 1, call_id="forgotten"),
    ):
        live.record(item, item.envelope())
    assert [orjson.loads(i)["call_id"] for i in await live.live_calls(frozenset({LINE}))] == ["forgotten"]
    # Still remembered: a late, older event cannot bring the call back.
    assert not live.is_new(event("call.ringing", 1))

    clock.now += 31
    assert [e.call_id for e in live.announcements()] == ["forgotten"]
    clock.now += 3600
    assert live.announcements() == [] and len(live) == 0


class RecordingBroker:
    """A broker that keeps what the hub publishes, for the test to read in order."""

    def __init__(self) -> None:
        self.published: asyncio.Queue[bytes] = asyncio.Queue()
        self.listener: BrokerListener | None = None

    async def start(self, listener: BrokerListener) -> None:
        self.listener = listener
        listener.on_broker_subscribed(resubscribed=False)

    async def stop(self) -> None:
        self.listener = None

    async def publish(self, data: bytes) -> None:
        self.published.put_nowait(data)

    async def healthy(self) -> bool:
        return True

    async def next_published(self) -> Any:
        async with asyncio.timeout(5):
            return decode_wire(await self.published.get())


async def test_a_hub_asks_its_peers_on_subscribing_and_answers_their_requests_with_its_live_calls() -> None:
    broker = RecordingBroker()
    hub = PushHub(broker, region="PL", instance_id="me")
    await hub.start()
    first = await broker.next_published()
    assert (first.origin, first.event) == ("me", None)  # the sync request

    await hub.publish_call_event("call.ringing", {"id": "c1"}, CARD, "+48 22 123 45 67")
    await hub.publish_call_event("call.answered", {"id": "c1", "agent": "ola"}, None, LINE)
    ringing, answered = await broker.next_published(), await broker.next_published()
    assert (ringing.event.seq, ringing.event.line, answered.event.seq) == (1, LINE, 2)
    assert answered.event.card is None

    assert broker.listener is not None
    broker.listener.on_broker_message(encode_sync_request("peer"))
    caught_up = await broker.next_published()
    assert caught_up.origin == "me"
    assert (caught_up.event.type, caught_up.event.seq) == ("call.answered", 2)
    assert orjson.loads(caught_up.event.card) == CARD  # the newest card, for a peer that missed it
    await hub.stop()


async def test_events_of_other_hubs_are_applied_once_and_a_hub_ignores_its_own() -> None:
    bus = MemoryBus()
    publisher = PushHub(MemoryBroker(bus), region="PL", instance_id="publisher")
    receiver = PushHub(MemoryBroker(bus), region="PL", instance_id="receiver")
    await publisher.start()
    await receiver.start()
    await publisher.publish_call_event("call.ringing", {"id": "c1"}, CARD, LINE)
    (item,) = await receiver.live_calls.live_calls(frozenset({LINE}))
    assert orjson.loads(item)["card"] == CARD

    replay = encode_event(event("call.ringing", 1, card=b'{"stale":true}'), "publisher")
    receiver.on_broker_message(replay)  # a duplicate: same seq, not applied again
    (item,) = await receiver.live_calls.live_calls(frozenset({LINE}))
    assert orjson.loads(item)["card"] == CARD
    own = encode_event(event("call.answered", 9), "receiver")
    receiver.on_broker_message(own)
    assert receiver.live_calls.next_seq("c1") == 2
    await publisher.stop()
    await receiver.stop()


async def test_the_publish_entry_point_refuses_what_it_cannot_route() -> None:
    hub = PushHub(MemoryBroker(), region="PL")
    with pytest.raises(ValueError, match="event type"):
        await hub.publish_call_event("call.exploded", {"id": "c1"}, None, LINE)
    with pytest.raises(ValueError, match="id"):
        await hub.publish_call_event("call.ringing", {"from": "+48601234567"}, None, LINE)
