"""TwiML answers for Twilio voice webhooks, built as strings with real XML escaping.

Everything here is pure: no configuration, no I/O, no framework, so an answer can still be
produced when the rest of the service is failing. Documents are built with ElementTree, which
escapes ``& < > "`` in text and attributes; characters XML 1.0 cannot carry at all (control
characters, lone surrogates) are dropped, since Twilio would refuse the whole document otherwise.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_FALLBACK_MESSAGE",
    "LEG_EVENTS",
    "MAX_CLIENTS",
    "XML_DECLARATION",
    "Transcribing",
    "TwimlFallback",
    "after_dial",
    "enqueue",
    "fallback_response",
    "forward",
    "ring_clients",
]

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'

# Twilio rings at most 10 <Client>s in one <Dial>; the rest would make the whole TwiML invalid.
MAX_CLIENTS = 10
# Twilio's allowed range for <Dial timeout>.
_DIAL_TIMEOUT_MIN_S = 5
_DIAL_TIMEOUT_MAX_S = 600
# Twilio's limits on <Say> text and on queue names.
_SAY_MAX_CHARS = 4096
_QUEUE_NAME_MAX_CHARS = 64

DEFAULT_FALLBACK_MESSAGE = "Sorry, we cannot take your call right now. Please try again later."

# What a dialled leg reports to its statusCallback: every step, so Ringcard learns who answered.
LEG_EVENTS = "initiated ringing answered completed"

# How the dial records when the call is transcribed: from the answer, one channel per party, so a
# speech-to-text pass can still tell the caller from the agent.
RECORD_DUAL = "record-from-answer-dual"
# Both parties' speech: Twilio names each final result's speaker by its track.
TRANSCRIBE_TRACKS = "both_tracks"

# DialCallStatus values meaning the caller actually talked to someone.
_CONNECTED_DIAL_STATUSES = frozenset({"completed", "answered"})

_NOT_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(value: str) -> str:
    return _NOT_XML_CHARS.sub("", value)


def _check_queue_name(queue_name: str) -> None:
    if not queue_name.strip():
        raise ValueError("queue name must not be empty")
    if len(queue_name) > _QUEUE_NAME_MAX_CHARS:
        raise ValueError(f"Twilio queue names have at most {_QUEUE_NAME_MAX_CHARS} characters")


@dataclass(frozen=True, slots=True)
class TwimlFallback:
    """What a caller gets when nobody answers: an optional spoken ``message``, then either
    ``<Enqueue>`` into ``queue_name`` (with Twilio's hold music, or ``wait_url``'s) or, when no
    queue is set, ``<Hangup/>``.

    The queue name is checked here so that a bad configuration fails when it is loaded, not in
    the middle of a live call.
    """

    message: str | None = None
    queue_name: str | None = None
    wait_url: str | None = None

    def __post_init__(self) -> None:
        if self.queue_name is not None:
            _check_queue_name(self.queue_name)
        if self.wait_url is not None and self.queue_name is None:
            raise ValueError("wait_url needs a queue_name")


@dataclass(frozen=True, slots=True)
class Transcribing:
    """Transcribe the call while it lasts and record what the dial connects.

    ``events_url`` receives the real-time transcription's events (``<Start><Transcription
    statusCallbackUrl>``, both tracks, final results only); ``recording_url`` is told when the
    dial's two-channel recording is ready (``<Dial recordingStatusCallback>``), for a transcript
    made from the recording when the real-time one is missing.
    """

    events_url: str
    recording_url: str


def _response(transcribing: Transcribing | None = None) -> ET.Element:
    response = ET.Element("Response")
    if transcribing is not None:
        # First, so that the transcription runs from the first ring to the hang-up, whatever the
        # verbs after it do (a dial, a queue, the dial's fallback).
        start = ET.SubElement(response, "Start")
        ET.SubElement(
            start,
            "Transcription",
            statusCallbackUrl=_xml_text(transcribing.events_url),
            track=TRANSCRIBE_TRACKS,
        )
    return response


def _record(dial: ET.Element, transcribing: Transcribing | None) -> None:
    if transcribing is not None:
        dial.set("record", RECORD_DUAL)
        dial.set("recordingStatusCallback", _xml_text(transcribing.recording_url))


def _render(response: ET.Element) -> str:
    return XML_DECLARATION + ET.tostring(response, encoding="unicode")


def _dial_timeout(timeout_s: int) -> str:
    # Clamped rather than rejected: the value comes from settings, and refusing to answer a
    # live call over it would drop the caller.
    return str(min(max(timeout_s, _DIAL_TIMEOUT_MIN_S), _DIAL_TIMEOUT_MAX_S))


def _say(response: ET.Element, message: str) -> None:
    ET.SubElement(response, "Say").text = _xml_text(message)[:_SAY_MAX_CHARS]


def _enqueue(response: ET.Element, queue_name: str, wait_url: str | None) -> None:
    element = ET.SubElement(response, "Enqueue")
    if wait_url:
        element.set("waitUrl", _xml_text(wait_url))
    element.text = _xml_text(queue_name)


def _append_fallback(response: ET.Element, fallback: TwimlFallback) -> None:
    if fallback.message and _xml_text(fallback.message).strip():
        _say(response, fallback.message)
    if fallback.queue_name is not None:
        _enqueue(response, fallback.queue_name, fallback.wait_url)
    else:
        ET.SubElement(response, "Hangup")


def _follow_leg(noun: ET.Element, status_callback: str | None) -> None:
    """Ask Twilio to report this leg's progress (its answer above all) to ``status_callback``."""
    if status_callback:
        noun.set("statusCallbackEvent", LEG_EVENTS)
        noun.set("statusCallback", _xml_text(status_callback))
        noun.set("statusCallbackMethod", "POST")


def _unique_identities(identities: Sequence[str]) -> list[str]:
    # A duplicate would spend one of the ten slots ringing the same client twice.
    seen: set[str] = set()
    unique: list[str] = []
    for identity in identities:
        cleaned = _xml_text(identity)
        if cleaned.strip() and cleaned not in seen:
            seen.add(cleaned)
            unique.append(cleaned)
    return unique


def ring_clients(
    identities: Sequence[str],
    parameters: Mapping[str, str],
    *,
    timeout_s: int = 20,
    caller_id: str | None = None,
    fallback: TwimlFallback | None = None,
    action_url: str | None = None,
    status_callback: str | None = None,
    transcribing: Transcribing | None = None,
) -> str:
    """Ring the agents' browser clients at once; the first to answer gets the call.

    Every ``<Client>`` carries the same custom ``parameters`` (e.g. ``ringcard_call_id``), which
    the Voice SDK hands to the agent's browser with the incoming call. Twilio rings at most
    ``MAX_CLIENTS`` clients, so only the first ten distinct identities are used: the caller must
    order them by priority. ``answerOnBridge`` keeps the caller hearing ringback (and the call
    unanswered, so unbilled) until an agent picks up.

    Without ``action_url`` the ``fallback`` verbs follow the ``<Dial>``. Twilio runs them whenever
    the caller is still on the line after the dial ends, which includes an agent hanging up
    first after a real conversation. Pass ``action_url`` to avoid that: the ``<Dial>`` then posts
    ``DialCallStatus`` to it, ``fallback`` is not inlined (Twilio would never reach it), and the
    action handler answers with :func:`after_dial`.

    With ``status_callback`` every ``<Client>`` leg reports each step (``LEG_EVENTS``) there:
    the parent call's own callbacks never say who answered or when.

    With ``transcribing`` the answer starts with ``<Start><Transcription>`` and the ``<Dial>``
    records (see :class:`Transcribing`); without it the answer is exactly as before.

    With no usable identity there is nothing to dial: the answer is the fallback straight away,
    or :func:`fallback_response` when there is none.
    """
    clients = _unique_identities(identities)[:MAX_CLIENTS]
    if not clients:
        if fallback is None:
            return fallback_response()
        response = _response(transcribing)
        _append_fallback(response, fallback)
        return _render(response)

    response = _response(transcribing)
    dial = ET.SubElement(response, "Dial", answerOnBridge="true", timeout=_dial_timeout(timeout_s))
    if caller_id:
        dial.set("callerId", _xml_text(caller_id))
    if action_url:
        dial.set("action", _xml_text(action_url))
        dial.set("method", "POST")
    _record(dial, transcribing)
    for identity in clients:
        client = ET.SubElement(dial, "Client")
        _follow_leg(client, status_callback)
        ET.SubElement(client, "Identity").text = identity
        for name, value in parameters.items():
            ET.SubElement(client, "Parameter", name=_xml_text(name), value=_xml_text(value))
    if fallback is not None and not action_url:
        _append_fallback(response, fallback)
    return _render(response)


def after_dial(dial_call_status: str, fallback: TwimlFallback | None = None) -> str:
    """The answer for a ``<Dial action>`` callback, given its ``DialCallStatus`` field.

    A call that was connected (``completed``/``answered``) just ends; any other status
    (``no-answer``, ``busy``, ``failed``, ``canceled``) gets the fallback, or a hang-up.
    """
    response = _response()
    if dial_call_status in _CONNECTED_DIAL_STATUSES or fallback is None:
        ET.SubElement(response, "Hangup")
    else:
        _append_fallback(response, fallback)
    return _render(response)


def enqueue(queue_name: str, *, wait_url: str | None = None, transcribing: Transcribing | None = None) -> str:
    """Put the caller in a Twilio queue; agents take calls from it with ``<Dial><Queue>``.

    With ``transcribing`` the transcription starts first (there is no dial here to record).
    Raises ValueError for an empty queue name or one longer than Twilio's 64 characters.
    """
    _check_queue_name(queue_name)
    response = _response(transcribing)
    _enqueue(response, queue_name, wait_url)
    return _render(response)


def forward(
    number: str,
    *,
    timeout_s: int = 20,
    caller_id: str | None = None,
    action_url: str | None = None,
    status_callback: str | None = None,
    transcribing: Transcribing | None = None,
) -> str:
    """Forward the call to a phone number (``<Dial><Number>``).

    ``caller_id`` must be a number Twilio lets the account present (one of its own or a verified
    one); without it Twilio shows the original caller. ``status_callback``, ``action_url`` and
    ``transcribing`` work as for :func:`ring_clients`. Raises ValueError for an empty number.
    """
    cleaned = _xml_text(number).strip()
    if not cleaned:
        raise ValueError("number to forward to must not be empty")
    response = _response(transcribing)
    dial = ET.SubElement(response, "Dial", answerOnBridge="true", timeout=_dial_timeout(timeout_s))
    if caller_id:
        dial.set("callerId", _xml_text(caller_id))
    if action_url:
        dial.set("action", _xml_text(action_url))
        dial.set("method", "POST")
    _record(dial, transcribing)
    target = ET.SubElement(dial, "Number")
    _follow_leg(target, status_callback)
    target.text = cleaned
    return _render(response)


def fallback_response(message: str | None = None) -> str:
    """The answer of last resort: ``<Say>`` a short message, then ``<Hangup/>``. Never raises.

    It hangs up rather than enqueueing on purpose: this answer is for when the service itself is
    failing, and then nothing may be taking callers out of a queue. Endless hold music is worse
    for the caller than a clear "try again later".
    """
    text = _xml_text(message or "").strip() or DEFAULT_FALLBACK_MESSAGE
    response = _response()
    _say(response, text)
    ET.SubElement(response, "Hangup")
    return _render(response)
