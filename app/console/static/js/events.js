// Generated from app/push/event_types.py by `python -m app.console.events_js`: do not edit.
// The names on the push channel, spelled exactly as the server sends and reads them.

/** What happened to a call: the `type` of an envelope (API.md §3). */
export const EventType = Object.freeze({
  CALL_RINGING: "call.ringing",
  CALL_ANSWERED: "call.answered",
  CALL_ENDED: "call.ended",
  CARD_UPDATED: "card.updated",
});

/**
 * The `type` of the socket's other messages: the console sends `auth` and `ping`, the server
 * answers `snapshot` (the live calls, after `auth`) and `pong`.
 */
export const FrameType = Object.freeze({
  AUTH: "auth",
  PING: "ping",
  PONG: "pong",
  SNAPSHOT: "snapshot",
});
