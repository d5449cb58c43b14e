from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from twilio.twiml.voice_response import VoiceResponse

from app.telephony.twilio.twiml import (
    DEFAULT_FALLBACK_MESSAGE,
    MAX_CLIENTS,
    Transcribing,
    TwimlFallback,
    after_dial,
    enqueue,
    fallback_response,
    forward,
    ring_clients,
)

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
NASTY = "a&b<c>\"d'e"


def _parse(twiml: str) -> ET.Element:
    assert twiml.startswith(DECLARATION)
    # Parse the encoded bytes, as Twilio does, so the declared encoding is honoured.
    root = ET.fromstring(twiml.encode("utf-8"))  # noqa: S314 - our own output, not untrusted input
    assert root.tag == "Response"
    return root


def _verbs(root: ET.Element) -> list[str]:
    return [child.tag for child in root]


def _identities(dial: ET.Element) -> list[str | None]:
    return [client.findtext("Identity") for client in dial.findall("Client")]


# --- ring_clients ---------------------------------------------------------------------------


def test_ring_clients_structure() -> None:
    root = _parse(ring_clients(["alice", "bob"], {"ringcard_call_id": "c-1", "store": "s-9"}))
    assert _verbs(root) == ["Dial"]
    dial = root[0]
    assert dial.attrib == {"answerOnBridge": "true", "timeout": "20"}
    assert _identities(dial) == ["alice", "bob"]
    for client in dial.findall("Client"):
        assert [child.tag for child in client] == ["Identity", "Parameter", "Parameter"]
        params = [(p.get("name"), p.get("value")) for p in client.findall("Parameter")]
        assert params == [("ringcard_call_id", "c-1"), ("store", "s-9")]
        assert client.text is None  # the identity is only in <Identity>, not as bare text


def test_ring_clients_timeout_and_caller_id() -> None:
    dial = _parse(ring_clients(["alice"], {}, timeout_s=35, caller_id="+48221234567"))[0]
    assert dial.get("timeout") == "35"
    assert dial.get("callerId") == "+48221234567"
    assert dial.find("Client/Parameter") is None


@pytest.mark.parametrize(
    ("given", "expected"), [(0, "5"), (-3, "5"), (5, "5"), (600, "600"), (10_000, "600")]
)
def test_ring_clients_timeout_is_clamped_to_twilio_range(given: int, expected: str) -> None:
    assert _parse(ring_clients(["alice"], {}, timeout_s=given))[0].get("timeout") == expected


def test_ring_clients_escapes_identities_and_parameters() -> None:
    parameters = {NASTY: NASTY, "ringcard_call_id": "</Parameter><Hangup/>"}
    twiml = ring_clients([NASTY], parameters, caller_id=NASTY)
    assert "<Hangup" not in twiml
    assert "&amp;" in twiml and "&lt;" in twiml and "&quot;" in twiml
    dial = _parse(twiml)[0]
    assert dial.get("callerId") == NASTY
    assert _identities(dial) == [NASTY]
    params = [(p.get("name"), p.get("value")) for p in dial.findall("Client/Parameter")]
    assert params == [(NASTY, NASTY), ("ringcard_call_id", "</Parameter><Hangup/>")]


def test_ring_clients_keeps_non_ascii_and_newlines() -> None:
    dial = _parse(ring_clients(["łukasz"], {"name": "Zażółć\ngęślą"}))[0]
    assert _identities(dial) == ["łukasz"]
    assert dial.find("Client/Parameter") is not None
    assert dial.find("Client/Parameter").get("value") == "Zażółć\ngęślą"  # type: ignore[union-attr]


def test_ring_clients_drops_characters_xml_cannot_carry() -> None:
    twiml = ring_clients(["al\x00ice\x1b"], {"k\x01": "v\ud800\x7f"})
    dial = _parse(twiml)[0]
    assert _identities(dial) == ["alice"]
    param = dial.find("Client/Parameter")
    assert param is not None
    assert (param.get("name"), param.get("value")) == ("k", "v\x7f")
    twiml.encode("utf-8")  # no lone surrogate left


def test_ring_clients_caps_at_ten_keeping_the_first() -> None:
    identities = [f"agent{i}" for i in range(15)]
    dial = _parse(ring_clients(identities, {"ringcard_call_id": "c-1"}))[0]
    assert MAX_CLIENTS == 10
    assert _identities(dial) == [f"agent{i}" for i in range(10)]
    assert len(dial.findall("Client/Parameter")) == 10


def test_ring_clients_exactly_ten_are_all_kept() -> None:
    identities = [f"agent{i}" for i in range(10)]
    assert _identities(_parse(ring_clients(identities, {}))[0]) == identities


def test_ring_clients_duplicates_do_not_use_up_slots() -> None:
    identities = ["alice", "alice", "", "  ", *[f"agent{i}" for i in range(12)]]
    dial = _parse(ring_clients(identities, {}))[0]
    assert _identities(dial) == ["alice", *[f"agent{i}" for i in range(9)]]


def test_ring_clients_with_enqueue_fallback() -> None:
    fallback = TwimlFallback(
        message="All agents are busy.", queue_name="support", wait_url="https://x/wait?a=1&b=2"
    )
    root = _parse(ring_clients(["alice"], {}, fallback=fallback))
    assert _verbs(root) == ["Dial", "Say", "Enqueue"]
    assert root[1].text == "All agents are busy."
    assert root[2].text == "support"
    assert root[2].get("waitUrl") == "https://x/wait?a=1&b=2"


def test_ring_clients_with_hangup_fallback() -> None:
    root = _parse(ring_clients(["alice"], {}, fallback=TwimlFallback(message="Nobody is here.")))
    assert _verbs(root) == ["Dial", "Say", "Hangup"]
    assert len(root[2]) == 0 and not root[2].text


def test_ring_clients_fallback_without_message() -> None:
    root = _parse(ring_clients(["alice"], {}, fallback=TwimlFallback(queue_name="q")))
    assert _verbs(root) == ["Dial", "Enqueue"]


def test_ring_clients_with_action_url_leaves_fallback_to_the_action() -> None:
    fallback = TwimlFallback(queue_name="support")
    root = _parse(
        ring_clients(["alice"], {}, fallback=fallback, action_url="https://r.example/dial-done?x=1&y=2")
    )
    assert _verbs(root) == ["Dial"]
    assert root[0].get("action") == "https://r.example/dial-done?x=1&y=2"
    assert root[0].get("method") == "POST"


def test_ring_clients_without_identities_answers_with_fallback() -> None:
    root = _parse(ring_clients([], {"ringcard_call_id": "c"}, fallback=TwimlFallback(queue_name="support")))
    assert _verbs(root) == ["Enqueue"]


def test_ring_clients_without_identities_or_fallback_is_the_last_resort_answer() -> None:
    root = _parse(ring_clients(["", " "], {}))
    assert _verbs(root) == ["Say", "Hangup"]


# --- after_dial -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["completed", "answered"])
def test_after_dial_connected_call_just_ends(status: str) -> None:
    root = _parse(after_dial(status, TwimlFallback(message="Sorry", queue_name="support")))
    assert _verbs(root) == ["Hangup"]


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", "canceled"])
def test_after_dial_unanswered_gets_fallback(status: str) -> None:
    root = _parse(after_dial(status, TwimlFallback(message="Sorry", queue_name="support")))
    assert _verbs(root) == ["Say", "Enqueue"]


def test_after_dial_unanswered_without_fallback_hangs_up() -> None:
    assert _verbs(_parse(after_dial("no-answer"))) == ["Hangup"]


# --- TwimlFallback --------------------------------------------------------------------------


@pytest.mark.parametrize("queue_name", ["", "   ", "q" * 65])
def test_fallback_rejects_bad_queue_name(queue_name: str) -> None:
    with pytest.raises(ValueError, match="queue name"):
        TwimlFallback(queue_name=queue_name)


def test_fallback_wait_url_needs_a_queue() -> None:
    with pytest.raises(ValueError, match="wait_url"):
        TwimlFallback(wait_url="https://x/wait")


# --- enqueue --------------------------------------------------------------------------------


def test_enqueue() -> None:
    root = _parse(enqueue("support"))
    assert _verbs(root) == ["Enqueue"]
    assert root[0].text == "support"
    assert root[0].attrib == {}


def test_enqueue_with_wait_url_and_escaping() -> None:
    root = _parse(enqueue(NASTY, wait_url="https://x/wait?a=1&b=<2>"))
    assert root[0].text == NASTY
    assert root[0].get("waitUrl") == "https://x/wait?a=1&b=<2>"


@pytest.mark.parametrize("queue_name", ["", "q" * 65])
def test_enqueue_rejects_bad_queue_name(queue_name: str) -> None:
    with pytest.raises(ValueError, match="queue name"):
        enqueue(queue_name)


def test_enqueue_accepts_longest_queue_name() -> None:
    assert _parse(enqueue("q" * 64))[0].text == "q" * 64


# --- forward --------------------------------------------------------------------------------


def test_forward() -> None:
    root = _parse(forward("+48601234567", timeout_s=25, caller_id="+48221234567"))
    assert _verbs(root) == ["Dial"]
    dial = root[0]
    assert dial.get("timeout") == "25"
    assert dial.get("callerId") == "+48221234567"
    assert [child.tag for child in dial] == ["Number"]
    assert dial.findtext("Number") == "+48601234567"


def test_forward_defaults() -> None:
    dial = _parse(forward("+48601234567"))[0]
    assert dial.get("timeout") == "20"
    assert dial.get("callerId") is None


def test_forward_escapes_number() -> None:
    assert _parse(forward("+1 <555> & 0"))[0].findtext("Number") == "+1 <555> & 0"


def test_forward_rejects_empty_number() -> None:
    with pytest.raises(ValueError, match="number"):
        forward(" ")


# --- fallback_response ----------------------------------------------------------------------


def test_fallback_response_default() -> None:
    root = _parse(fallback_response())
    assert _verbs(root) == ["Say", "Hangup"]
    assert root[0].text == DEFAULT_FALLBACK_MESSAGE


def test_fallback_response_custom_message_escaped() -> None:
    root = _parse(fallback_response(f"Sklep {NASTY} jest zamknięty"))
    assert root[0].text == f"Sklep {NASTY} jest zamknięty"


@pytest.mark.parametrize("message", ["", "   ", "\x00\x01"])
def test_fallback_response_blank_message_uses_default(message: str) -> None:
    assert _parse(fallback_response(message))[0].text == DEFAULT_FALLBACK_MESSAGE


def test_fallback_response_truncates_to_say_limit() -> None:
    assert len(_parse(fallback_response("x" * 5000))[0].text or "") == 4096


# --- transcribing (RINGCARD_TWILIO_TRANSCRIBE) -----------------------------------------------

EVENTS_URL = "https://r.example/webhooks/twilio/realtime-transcription?store=1&line=<2>"
RECORDING_URL = "https://r.example/webhooks/twilio/recording"
TRANSCRIBING = Transcribing(EVENTS_URL, RECORDING_URL)


def _twilio_sdk(response: VoiceResponse) -> ET.Element:
    """What Twilio's own SDK writes for the same verbs: the attribute names Twilio documents."""
    return _parse(f"{DECLARATION}{response.to_xml(xml_declaration=False)}")


def test_transcribing_starts_with_the_transcription_twilios_sdk_writes() -> None:
    ours = _parse(ring_clients(["alice"], {}, transcribing=TRANSCRIBING))
    sdk = VoiceResponse()
    sdk.start().transcription(status_callback_url=EVENTS_URL, track="both_tracks")
    expected = _twilio_sdk(sdk)[0]
    assert _verbs(ours) == ["Start", "Dial"]
    assert [(child.tag, child.attrib) for child in ours[0]] == [(c.tag, c.attrib) for c in expected]
    assert ours[0][0].attrib == {"statusCallbackUrl": EVENTS_URL, "track": "both_tracks"}


def test_transcribing_records_the_dial_in_two_channels_as_twilios_sdk_names_it() -> None:
    dial = _parse(
        ring_clients(["alice"], {}, action_url="https://r.example/dial", transcribing=TRANSCRIBING)
    )[1]
    sdk = VoiceResponse()
    sdk.dial(record="record-from-answer-dual", recording_status_callback=RECORDING_URL)
    expected = _twilio_sdk(sdk)[0].attrib
    assert {name: dial.get(name) for name in expected} == expected
    # The rest of the dial is as without transcribing.
    plain = _parse(ring_clients(["alice"], {}, action_url="https://r.example/dial"))[0]
    assert {k: v for k, v in dial.attrib.items() if k not in expected} == plain.attrib
    assert ET.tostring(dial.find("Client")) == ET.tostring(plain.find("Client"))  # type: ignore[arg-type]


def test_transcribing_a_forwarded_call_records_the_forward() -> None:
    root = _parse(forward("+48601234567", transcribing=TRANSCRIBING))
    assert _verbs(root) == ["Start", "Dial"]
    assert root[1].get("record") == "record-from-answer-dual"
    assert root[1].get("recordingStatusCallback") == RECORDING_URL
    assert root[1].findtext("Number") == "+48601234567"


def test_transcribing_a_queued_caller_has_no_dial_to_record() -> None:
    root = _parse(enqueue("support", transcribing=TRANSCRIBING))
    assert _verbs(root) == ["Start", "Enqueue"]
    assert root[0][0].get("statusCallbackUrl") == EVENTS_URL
    assert root[1].attrib == {}


def test_transcribing_with_nobody_to_ring_still_transcribes_the_fallback() -> None:
    root = _parse(
        ring_clients([], {}, fallback=TwimlFallback(queue_name="support"), transcribing=TRANSCRIBING)
    )
    assert _verbs(root) == ["Start", "Enqueue"]
    # The answer of last resort stays as it is: the service itself is failing then.
    assert _verbs(_parse(ring_clients([], {}, transcribing=TRANSCRIBING))) == ["Say", "Hangup"]


def test_transcribing_escapes_its_urls() -> None:
    twiml = ring_clients(
        ["alice"], {}, transcribing=Transcribing(f"{EVENTS_URL}\x00", f"{RECORDING_URL}?a=1&b=2")
    )
    assert "&amp;" in twiml and "&lt;2&gt;" in twiml
    root = _parse(twiml)
    assert root[0][0].get("statusCallbackUrl") == EVENTS_URL
    assert root[1].get("recordingStatusCallback") == f"{RECORDING_URL}?a=1&b=2"
