// The REST side of the console: sign-in, lookups, the call log, notes. Paths are relative to the
// page, so a console served under a proxy prefix calls the API under that same prefix.

import { t } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    if (typeof body.error === "string") return body.error;
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail) && body.detail[0]?.msg) return body.detail[0].msg;
  } catch {
    // not JSON: the status line says enough
  }
  return t("api.failed", { status: `${response.status} ${response.statusText || ""}`.trim() });
}

// The console's one Api, for parts built where none is handed down (the wrap-up's AI draft panel
// lives in the note box, which the call card makes with only a saveNote callback).
let shared = null;

export function sharedApi() {
  return shared;
}

export class Api {
  /** `session` gives the token; `onUnauthorized` runs when the server no longer accepts it. */
  constructor(session, onUnauthorized) {
    this.session = session;
    this.onUnauthorized = onUnauthorized;
    shared = this;
  }

  async request(method, path, { body, query, auth = true, signal } = {}) {
    const response = await this.send(method, path, { body, query, auth, signal, accept: "application/json" });
    if (response.status === 204) return null;
    const type = response.headers.get("content-type") || "";
    return type.includes("json") ? response.json() : response.text();
  }

  /** A file the API answers with (the Insights CSV): its bytes and the name the server gave it. */
  async download(path, { query } = {}) {
    const response = await this.send("GET", path, { query, auth: true, accept: "*/*" });
    const disposition = response.headers.get("content-disposition") || "";
    const name = /filename="([^"]+)"/.exec(disposition)?.[1] || path.split("/").pop();
    return { blob: await response.blob(), name };
  }

  /** The response of a successful request; an ApiError naming the problem otherwise. */
  async send(method, path, { body, query, auth, signal, accept }) {
    const url = new URL(path, document.baseURI);
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, String(value));
    }
    const headers = { Accept: accept };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const token = this.session.token;
    if (auth && token) headers.Authorization = `Bearer ${token}`;
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        cache: "no-store",
        credentials: "same-origin",
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(0, t("api.unreachable"));
    }
    if (response.status === 401 && auth) {
      this.onUnauthorized();
      throw new ApiError(401, t("session.ended"));
    }
    if (!response.ok) throw new ApiError(response.status, await errorMessage(response));
    return response;
  }

  signIn(username, password) {
    return this.request("POST", "auth/token", { body: { username, password }, auth: false });
  }

  me() {
    return this.request("GET", "api/v1/agents/me");
  }

  /** The card of `number` (about `customer`, a picked candidate), as a call on `store`'s line shows it. */
  lookup(number, customer, store) {
    return this.request("GET", "api/v1/lookup", { query: { number, customer, store } });
  }

  calls(query, signal) {
    return this.request("GET", "api/v1/calls", { query, signal });
  }

  saveNote(callId, text, disposition) {
    return this.request("POST", `api/v1/calls/${encodeURIComponent(callId)}/note`, {
      body: { text, disposition: disposition || null },
    });
  }

  /** The call as the log has it, with its transcript and its AI summary (or null for each). */
  callDetail(callId) {
    return this.request("GET", `api/v1/calls/${encodeURIComponent(callId)}`);
  }

  /** The AI draft becomes the call's note: as written (`text` undefined), or the agent's edit. */
  approveSummary(callId, text) {
    return this.request("POST", `api/v1/calls/${encodeURIComponent(callId)}/summary/approve`, {
      body: text === undefined ? {} : { text },
    });
  }

  /** Write the draft again, in `language` when given (else the server's summary language). */
  retrySummary(callId, language) {
    return this.request("POST", `api/v1/calls/${encodeURIComponent(callId)}/summary/retry`, {
      body: language ? { language } : {},
    });
  }

  markDone(callId) {
    return this.request("POST", `api/v1/calls/${encodeURIComponent(callId)}/done`);
  }

  markAllMissedDone() {
    return this.request("POST", "api/v1/calls/done", { body: { all_missed: true } });
  }

  status(signal) {
    return this.request("GET", "api/v1/status", { signal });
  }

  async demoConfig() {
    try {
      const config = await this.request("GET", "api/v1/demo/config");
      return config && config.demo === true ? config : null;
    } catch {
      return null; // not a demo (404), or an older server: no simulate button
    }
  }

  /** `outcome`: {answer_after_s, hang_up_after_s}, either may be absent (then it rings on). */
  simulateCall(from, outcome = {}) {
    return this.request("POST", "api/v1/demo/simulate-call", { body: { from, ...outcome } });
  }
}
