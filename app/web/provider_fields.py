"""The request fields the provider webhooks read, and their answers, as `/openapi.json` shows them:
Twilio's form fields and TwiML examples, Telnyx's event envelope, the PBX event's form. The routes
read their raw requests themselves (their signatures cover the exact bytes), so what they read is
written out here and attached with `openapi_extra` (app/web/openapi.py)."""

from __future__ import annotations

from typing import Any, Final

Json = dict[str, Any]

_TEXT: Final[Json] = {"type": "string"}


def _field(description: str, **schema: Any) -> Json:
    return {"type": "string", "description": description, **schema}


_TWILIO_CALL_STATUSES: Final = [
    "queued",
    "initiated",
    "ringing",
    "in-progress",
    "completed",
    "busy",
    "failed",
    "no-answer",
    "canceled",
]
_TWILIO_CALL: Final[Json] = {
    "CallSid": _field("Twilio's id of the call (CA…); the call's `provider_call_id`", maxLength=255),
    "From": _field("the caller's number, or a withheld-caller word or placeholder"),
    "To": _field("the dialled number: the call's line"),
    "Caller": _field("read when `From` is empty"),
    "Called": _field("read when `To` is empty"),
    "Direction": _field("`inbound` pops; `outbound-api` and `outbound-dial` are logged as outbound"),
}
_TWILIO_WHEN: Final[Json] = {
    "Timestamp": _field(
        "when the status changed (RFC 2822); the time of arrival when absent or not believable"
    ),
    "SequenceNumber": _field(
        "the callback's number from 0: (`CallSid`, `SequenceNumber`) de-duplicates", pattern="^[0-9]*$"
    ),
    "CallDuration": _field("seconds the call lasted (on `completed`)", pattern="^[0-9]*$"),
}
TWILIO_VOICE_FIELDS: Final[Json] = {
    **_TWILIO_CALL,
    "CallStatus": _field("ignored here: the voice webhook always starts a ringing call"),
}
TWILIO_STATUS_FIELDS: Final[Json] = {
    **_TWILIO_CALL,
    "CallStatus": _field("the call's status", enum=_TWILIO_CALL_STATUSES),
    **_TWILIO_WHEN,
}
TWILIO_LEG_FIELDS: Final[Json] = {
    "CallSid": _field("the dialled leg's own id"),
    "ParentCallSid": _field("the caller's call, which this leg's answer and hang-up move on"),
    "CallStatus": _field(
        "the leg's status: `in-progress` answers the caller's call, `completed` with a "
        "`CallDuration` ends it; the others change nothing",
        enum=_TWILIO_CALL_STATUSES,
    ),
    "To": _field("the leg's destination: `client:<username>` names the agent who answered"),
    "Called": _field("read when `To` is empty"),
    **_TWILIO_WHEN,
}
TWILIO_DIAL_FIELDS: Final[Json] = {
    **_TWILIO_CALL,
    "DialCallStatus": _field(
        "how the `<Dial>` ended: `completed` or `answered` (someone talked), else nobody answered",
        enum=["completed", "answered", "busy", "failed", "no-answer", "canceled"],
    ),
    "DialCallDuration": _field("seconds the dialled party talked", pattern="^[0-9]*$"),
    "Timestamp": _TWILIO_WHEN["Timestamp"],
}
_TWILIO_CALL_OF_TRANSCRIPT: Final[Json] = {
    "CallSid": _field("the call the transcript belongs to: Ringcard must know it (its voice webhook)"),
    "AccountSid": _field("the Twilio account"),
}
TWILIO_TRANSCRIPTION_FIELDS: Final[Json] = {
    **_TWILIO_CALL_OF_TRANSCRIPT,
    "TranscriptionSid": _field("the transcription's id: a redelivery of it changes nothing"),
    "TranscriptionStatus": _field(
        "`completed` stores `TranscriptionText`; `failed` stores nothing", enum=["completed", "failed"]
    ),
    "TranscriptionText": _field(
        "the recording's whole transcript: replaces the one Twilio sent before (card numbers redacted)"
    ),
    "TranscriptionUrl": _field("the transcription's REST resource (not read)"),
    "RecordingSid": _field("the transcribed recording (not read)"),
    "RecordingUrl": _field("the transcribed recording's audio (not read)"),
}
TWILIO_REALTIME_TRANSCRIPTION_FIELDS: Final[Json] = {
    **_TWILIO_CALL_OF_TRANSCRIPT,
    "TranscriptionSid": _field("the real-time transcription's id (GT…)"),
    "TranscriptionEvent": _field(
        "`transcription-content` carries an utterance; `transcription-stopped` asks for the summary "
        "at once; `transcription-started` and `transcription-error` store nothing",
        enum=[
            "transcription-started",
            "transcription-content",
            "transcription-stopped",
            "transcription-error",
        ],
    ),
    "SequenceId": _field(
        "the event's number: orders the utterances, and (with `TranscriptionSid`) de-duplicates them",
        pattern="^[0-9]+$",
    ),
    "TranscriptionData": _field(
        'on `transcription-content`: a JSON string, `{"transcript": "…", "confidence": 0.9}`'
    ),
    "Final": _field(
        "`true` for a final result; partial results (`false`) are ignored", enum=["true", "false"]
    ),
    "Track": _field(
        "who spoke: `inbound_track` the caller (customer), `outbound_track` the agent",
        enum=["inbound_track", "outbound_track"],
    ),
    "LanguageCode": _field("the transcript's language (BCP 47), kept with it"),
    "Timestamp": _field("when the event happened (not read: `SequenceId` orders)"),
    "TranscriptionError": _field("on `transcription-error`: why (logged)"),
}
TWILIO_RECORDING_FIELDS: Final[Json] = {
    **_TWILIO_CALL_OF_TRANSCRIPT,
    "RecordingSid": _field("the recording's id: a redelivery of it changes nothing"),
    "RecordingStatus": _field(
        "`completed` is fetched and transcribed (RINGCARD_STT_BASE_URL); the others change nothing",
        enum=["in-progress", "completed", "absent", "failed"],
    ),
    "RecordingUrl": _field("where the audio is: fetched at once with the account's credentials"),
    "RecordingDuration": _field("seconds recorded (not read)", pattern="^[0-9]*$"),
    "RecordingChannels": _field("2 for the dial's two-channel recording (not read)"),
}

TWIML_RING_EXAMPLE: Final = (
    '<?xml version="1.0" encoding="UTF-8"?><Response>'
    '<Dial answerOnBridge="true" timeout="20" action="https://ringcard.example.com/webhooks/twilio/dial" '
    'method="POST"><Client statusCallbackEvent="initiated ringing answered completed" '
    'statusCallback="https://ringcard.example.com/webhooks/twilio/leg" statusCallbackMethod="POST">'
    '<Identity>anna</Identity><Parameter name="ringcard_call_id" value="5f0c3a9e1b2d4c6e8a70" /></Client>'
    "</Dial></Response>"
)
TWIML_AFTER_DIAL_EXAMPLE: Final = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Enqueue>+48221234567</Enqueue></Response>'
)


CALL_LOG_FULL: Final[dict[int | str, Json]] = {
    503: {"description": "the call log cannot keep the event now (database away, buffer full); retry"}
}


def twilio_responses(ok: dict[int | str, Json]) -> dict[int | str, Json]:
    """The answers of a Twilio webhook: `ok` on success, and what refuses a request."""
    return {
        **ok,
        401: {"description": "bad or missing `X-Twilio-Signature`: nothing is recorded"},
        404: {"description": "Twilio is switched off: `RINGCARD_TWILIO_AUTH_TOKEN` is not set"},
        422: {"description": 'a required field is missing or malformed (`{"detail": "missing CallSid"}`)'},
    }


TELNYX_EVENT: Final[Json] = {
    "requestBody": {
        "required": True,
        "description": "A Telnyx Call Control webhook, read raw (the signature covers its bytes). "
        "`call.initiated`, `call.answered` and `call.hangup` move the call; `call.transcription` "
        "(a final `payload.transcription_data.transcript`, said by `transcription_track` `inbound`, "
        "the customer, or `outbound`, the agent), `call.recording.transcription.saved` "
        "(`payload.transcription_text`, the whole transcript) and `call.recording.saved` "
        "(`payload.recording_urls`, fetched at once and transcribed) attach to a call Ringcard "
        "knows (404 otherwise). Other event types answer 204 and are ignored.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["data"],
                    "properties": {
                        "data": {
                            "type": "object",
                            "required": ["event_type", "id", "occurred_at", "payload"],
                            "properties": {
                                "event_type": _field(
                                    "the event",
                                    examples=[
                                        "call.initiated",
                                        "call.answered",
                                        "call.hangup",
                                        "call.transcription",
                                        "call.recording.transcription.saved",
                                        "call.recording.saved",
                                    ],
                                ),
                                "id": _field("the event's id: de-duplicates redeliveries"),
                                "occurred_at": _field(
                                    "ISO 8601, within 10 years of now: orders the events", format="date-time"
                                ),
                                "payload": {
                                    "type": "object",
                                    "required": ["call_control_id"],
                                    "properties": {
                                        "call_control_id": _field("the call's `provider_call_id`"),
                                        "from": _TEXT,
                                        "to": _field("the call's line"),
                                        "direction": _field(
                                            "`incoming` (the default) pops", enum=["incoming", "outgoing"]
                                        ),
                                        "hangup_cause": _field("on `call.hangup`: how it ended"),
                                        "transcription_data": {
                                            "type": "object",
                                            "description": "on `call.transcription`: one utterance, "
                                            "kept once under the event's `id` when `is_final`",
                                            "properties": {
                                                "transcript": _TEXT,
                                                "is_final": {"type": "boolean"},
                                                "confidence": {"type": ["number", "null"]},
                                                "transcription_track": _field(
                                                    "who spoke", enum=["inbound", "outbound"]
                                                ),
                                            },
                                        },
                                        "transcription_text": _field(
                                            "on `call.recording.transcription.saved`: the whole "
                                            "transcript, replacing the one sent before"
                                        ),
                                        "recording_urls": {
                                            "type": "object",
                                            "description": "on `call.recording.saved`: `mp3` or "
                                            "`wav`, links valid for 10 minutes (then "
                                            "`public_recording_urls`)",
                                            "properties": {"mp3": _TEXT, "wav": _TEXT},
                                        },
                                    },
                                },
                            },
                        }
                    },
                }
            }
        },
    }
}

PBX_EVENT_FORM: Final[Json] = {
    "requestBody": {
        "required": False,
        "description": "The same fields as the query, form-encoded (Asterisk `CURL(url,data)`); "
        "a body's field wins over the query's. A body without a content type is read as a form.",
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "additionalProperties": {"type": "string"}}
            },
            "multipart/form-data": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}},
        },
    }
}
