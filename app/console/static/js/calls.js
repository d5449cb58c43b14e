// What the console knows about calls: every card on screen, in the order an agent wants them.
// Pure state, no DOM, so the rules below can be tested on their own.
//
// - An envelope whose seq is not newer than the last one applied for its call is dropped
//   (API.md §3): providers repeat and reorder events, instances race.
// - A snapshot is the truth about which calls are live: it replaces the live ones. A card the agent
//   still holds for a call that is no longer live stays (a note may be half written), marked ended.
// - A card stays after its call until the agent closes it; a closed call never pops again.

import { EventType } from "./events.js";
import { LIVE_STATES } from "./format.js";

const EVENT_STATES = { [EventType.CALL_RINGING]: "ringing", [EventType.CALL_ANSWERED]: "answered" };
const REMEMBERED_SEQS = 2000;

export function stateOf(entry) {
  return entry.call.state || "ringing";
}

export function isLive(entry) {
  return LIVE_STATES.has(stateOf(entry)) && !entry.lost;
}

function folded(text) {
  // A Twilio Client identity may come as "client:ola".
  return String(text ?? "").normalize("NFC").trim().replace(/^client:/i, "").toLowerCase();
}

function digitsOf(text) {
  return String(text ?? "").replace(/\D+/g, "");
}

const PHONE_LIKE = /^[\d\s()+\-./]+$/;

function sameNumber(a, b) {
  if (!PHONE_LIKE.test(a) || !PHONE_LIKE.test(b)) return false;
  const [x, y] = [digitsOf(a), digitsOf(b)].sort((p, q) => p.length - q.length);
  // An extension is equal or nothing; a phone number written nationally is the international
  // one's tail ("600 100 200" is "+48 600 100 200").
  return x.length >= 2 && (x === y || (x.length >= 6 && y.endsWith(x)));
}

/**
 * Whether `who` (a call's answered_by, as the provider said it: a display name, a username or an
 * extension; several joined with ", " by some PBXs) names the signed-in agent
 * `me` ({username, display_name, phone}).
 */
export function isMe(who, me) {
  if (!me || typeof who !== "string" || !who.trim()) return false;
  const names = [me.display_name, me.username].map(folded).filter(Boolean);
  const said = [who, ...who.split(",")].map((w) => w.trim()).filter(Boolean);
  return said.some((w) => names.includes(folded(w)) || (me.phone ? sameNumber(w, me.phone) : false));
}

/** A call someone other than `me` answered. Unknown until we know who we are (`me` null). */
export function answeredElsewhere(call, me) {
  return Boolean(me && call?.answered_by && call.state !== "ringing" && !isMe(call.answered_by, me));
}

export class CallStore {
  constructor() {
    this.calls = new Map();
    this.seqs = new Map();
    this.closed = new Set();
  }

  /** Apply one envelope. Returns {entry, popped} when it changed something, else null. */
  applyEnvelope(envelope) {
    const id = envelope.call_id;
    const seq = Number(envelope.seq);
    const last = this.seqs.get(id);
    if (last !== undefined && !(seq > last)) return null;
    this.remember(id, seq);
    if (this.closed.has(id)) return null;
    let entry = this.calls.get(id);
    const call = envelope.call || {};
    const state = call.state || EVENT_STATES[envelope.type] || entry?.call.state;
    const popped = !entry && state === "ringing";
    if (!entry) {
      // A call that ended before we ever saw it ring belongs in the log, not in a pop.
      if (!LIVE_STATES.has(state)) return null;
      entry = { id, call: {}, card: null, picked: null, lost: false, firstSeen: Date.now() };
      this.calls.set(id, entry);
    }
    entry.lost = false;
    this.update(entry, call, envelope.card, state, seq);
    return { entry, popped };
  }

  /** Replace the live calls with the snapshot's. Returns the entries that popped anew. */
  applySnapshot(items) {
    const incoming = new Map();
    for (const item of items) {
      if (item && typeof item.call_id === "string") incoming.set(item.call_id, item);
    }
    for (const entry of this.calls.values()) {
      if (isLive(entry) && !incoming.has(entry.id)) entry.lost = true;
    }
    const popped = [];
    for (const [id, item] of incoming) {
      this.closed.delete(id);
      let entry = this.calls.get(id);
      const call = item.call || {};
      const state = call.state || EVENT_STATES[item.type] || "ringing";
      if (!entry) {
        entry = { id, call: {}, card: null, picked: null, lost: false, firstSeen: Date.now() };
        this.calls.set(id, entry);
        if (state === "ringing") popped.push(entry);
      }
      entry.lost = false;
      // The snapshot is the new baseline even when its seq is lower than what we had (the
      // server restarted and counts this call afresh).
      this.seqs.delete(id);
      this.update(entry, call, item.card, state, Number(item.seq));
    }
    return popped;
  }

  update(entry, call, card, state, seq) {
    entry.call = { ...entry.call, ...call, state };
    if (card) entry.card = card;
    entry.seq = seq;
    this.remember(entry.id, seq);
  }

  remember(id, seq) {
    this.seqs.delete(id);
    this.seqs.set(id, seq);
    if (this.seqs.size > REMEMBERED_SEQS) this.seqs.delete(this.seqs.keys().next().value);
  }

  close(id) {
    if (this.calls.delete(id)) this.closed.add(id);
  }

  /** Live calls first, newest on top; then the ended ones the agent still holds, newest first. */
  ordered() {
    const started = (e) => Date.parse(e.call.started_at || "") || e.firstSeen;
    return [...this.calls.values()].sort((a, b) => {
      const live = Number(isLive(b)) - Number(isLive(a));
      return live || started(b) - started(a) || b.firstSeen - a.firstSeen;
    });
  }

  get liveCount() {
    let n = 0;
    for (const entry of this.calls.values()) if (isLive(entry)) n += 1;
    return n;
  }

  get ringingCount() {
    let n = 0;
    for (const entry of this.calls.values()) if (isLive(entry) && stateOf(entry) === "ringing") n += 1;
    return n;
  }
}
