// The push channel (API.md §3): authenticate with the first message, take the snapshot, then
// apply envelopes. Whatever ends the socket (a restart, a proxy timeout, a laptop asleep, 1013
// "too slow"), the client comes back on its own with exponential backoff and jitter, and the
// snapshot it gets then is the truth about what is live.

import { FrameType } from "./events.js";

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;
const PING_EVERY_MS = 20000;
// Two pings without a word back: the socket is dead even if the browser has not noticed.
const SILENCE_LIMIT_MS = 2 * PING_EVERY_MS + 5000;
// Open, authenticate and receive the snapshot within this, or start over.
const HANDSHAKE_LIMIT_MS = 10000;
// After this many failures in a row the indicator says "offline" rather than "reconnecting".
const OFFLINE_AFTER = 4;

export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_TOO_SLOW = 1013;
// The agent opened more consoles than the server keeps (RINGCARD_MAX_SOCKETS_PER_AGENT) and this
// one, the oldest, gave way to a newer one.
export const CLOSE_REPLACED = 4409;

export function backoffDelay(attempt, random = Math.random) {
  // "Equal jitter": never sooner than half the exponential step (no hammering a server that is
  // starting), never in lockstep with the other agents' consoles after a restart.
  const step = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** attempt);
  return step / 2 + random() * (step / 2);
}

export class PushClient {
  constructor({ url, token, onSnapshot, onEnvelope, onStatus, onUnauthorized }) {
    this.url = url;
    this.token = token;
    this.onSnapshot = onSnapshot;
    this.onEnvelope = onEnvelope;
    this.onStatus = onStatus;
    this.onUnauthorized = onUnauthorized;
    this.ws = null;
    this.attempt = 0;
    this.stopped = true;
    this.retryTimer = null;
    this.handshakeTimer = null;
    this.pingTimer = null;
    this.lastHeard = 0;
    this.everConnected = false;
    this.onOnline = () => this.retryNow();
    this.onOffline = () => this.ws?.close();
    this.onVisible = () => {
      if (document.visibilityState === "visible" && this.retryTimer !== null) this.retryNow();
    };
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    document.addEventListener("visibilitychange", this.onVisible);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    document.removeEventListener("visibilitychange", this.onVisible);
    this.clearTimers();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000, "signed out");
    }
  }

  /** Skip the rest of the backoff wait (the agent clicked "retry", or the network came back). */
  retryNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  connect() {
    this.retryTimer = null;
    this.status(this.everConnected ? "reconnecting" : "connecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    let authenticated = false;
    this.handshakeTimer = setTimeout(() => ws.close(), HANDSHAKE_LIMIT_MS);
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify({ type: FrameType.AUTH, token: this.token }));
    });
    ws.addEventListener("message", (event) => {
      if (ws !== this.ws) return;
      this.lastHeard = Date.now();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return; // nothing we understand; the next good message will do
      }
      if (message.type === FrameType.SNAPSHOT) {
        authenticated = true;
        clearTimeout(this.handshakeTimer);
        this.attempt = 0;
        this.everConnected = true;
        this.startPinging(ws);
        this.onSnapshot(Array.isArray(message.calls) ? message.calls : []);
        this.status("connected");
      } else if (message.type === FrameType.PONG) {
        // lastHeard is all a pong is for
      } else if (authenticated && typeof message.call_id === "string") {
        this.onEnvelope(message);
      }
    });
    ws.addEventListener("close", (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.clearTimers();
      if (this.stopped) return;
      if (event.code === CLOSE_UNAUTHENTICATED) {
        this.stopped = true;
        this.status("signed-out");
        this.onUnauthorized();
        return;
      }
      if (event.code === CLOSE_REPLACED) {
        // No retry of our own: it would push the newer console out in turn, and the two would
        // take turns for ever. The agent brings this one back with "Use here" (retryNow).
        this.status("replaced");
        return;
      }
      // 1013: we fell behind; the server wants us back at once for a fresh snapshot.
      if (event.code === CLOSE_TOO_SLOW && this.attempt === 0) this.attempt = -1;
      this.scheduleRetry();
    });
  }

  scheduleRetry() {
    this.attempt += 1;
    const delay = this.attempt <= 0 ? 100 : backoffDelay(this.attempt - 1);
    const offline = navigator.onLine === false || this.attempt >= OFFLINE_AFTER;
    this.status(offline ? "offline" : "reconnecting", Date.now() + delay);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  startPinging(ws) {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (ws !== this.ws || ws.readyState !== WebSocket.OPEN) return;
      if (Date.now() - this.lastHeard > SILENCE_LIMIT_MS) {
        ws.close(4000, "no answer to pings");
        return;
      }
      ws.send(JSON.stringify({ type: FrameType.PING }));
    }, PING_EVERY_MS);
  }

  clearTimers() {
    clearTimeout(this.handshakeTimer);
    clearInterval(this.pingTimer);
    clearTimeout(this.retryTimer);
    this.handshakeTimer = null;
    this.pingTimer = null;
    this.retryTimer = null;
  }

  status(state, retryAt = null) {
    this.onStatus({ state, retryAt, attempt: this.attempt });
  }
}

export function pushUrl() {
  const url = new URL("ws", document.baseURI);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}
