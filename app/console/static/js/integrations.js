// The Integrations view: is each phone system, shop and the store sync reaching Ringcard, and if
// not, why not (GET /api/v1/status). Read-only for everyone signed in: agents are the first to
// notice that no card popped, and the answer ("Twilio: last delivery refused 2 minutes ago, wrong
// URL") tells them whom to call; the fix is the operator's (`ringcard doctor`).

import { byId, clear, h } from "./dom.js";
import * as f from "./format.js";

const REFRESH_VISIBLE_MS = 15_000;
const REFRESH_HIDDEN_MS = 60_000;

const KINDS = { telephony: "Phone system", platform: "Store platform", sync: "From the store's own backend" };

const STATES = {
  ok: { label: "Receiving", text: "The last delivery was taken." },
  failing: { label: "Refusing", text: "The last delivery was refused or failed." },
  waiting: { label: "Waiting", text: "Switched on; nothing has arrived yet." },
  unused: { label: "Unused", text: "Switched on with a token another integration uses; nothing has arrived." },
  off: { label: "Off", text: "Switched off." },
};

const OUTCOMES = { accepted: "accepted", duplicate: "a duplicate", rejected: "refused", failed: "failed on our side" };

export const REASONS = {
  missing_signature: "No signature or key",
  wrong_secret: "Wrong secret",
  wrong_url: "Wrong URL (proxy or webhook address)",
  stale_timestamp: "Stale timestamp",
  not_configured: "Switched off here",
  not_found: "Unknown address",
  too_large: "Too large",
  malformed: "Malformed",
};

const COUNT_COLUMNS = [
  ["accepted", "Accepted"],
  ["duplicate", "Duplicates"],
  ["rejected", "Refused"],
  ["failed", "Failed"],
];

function when(iso) {
  return h("time", { datetime: iso, title: f.dateTime(iso) }, f.ago(iso));
}

export class Integrations {
  constructor(api, { onProblems }) {
    this.api = api;
    this.onProblems = onProblems;
    this.status = null;
    this.error = null;
    this.visible = false;
    this.timer = null;
    this.controller = null;
    this.el = {
      list: byId("status-list"),
      off: byId("status-off"),
      note: byId("status-note"),
      refresh: byId("status-refresh"),
    };
    this.el.refresh.addEventListener("click", () => this.refresh({ announce: true }));
  }

  /** Signed in: load now (the tab shows how many integrations are refusing), then keep current. */
  start() {
    this.refresh();
  }

  reset() {
    this.controller?.abort();
    clearTimeout(this.timer);
    this.timer = null;
    this.status = null;
    this.error = null;
    this.render();
  }

  setVisible(visible) {
    this.visible = visible;
    if (visible) this.refresh();
  }

  async refresh({ announce = false } = {}) {
    clearTimeout(this.timer);
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    try {
      this.status = await this.api.status(controller.signal);
      this.error = null;
      if (announce) this.el.note.focus();
    } catch (error) {
      if (error.name === "AbortError") return;
      if (error.status === 401) return; // signed out meanwhile
      this.error = `The integration status did not load: ${error.message}`;
    }
    this.render();
    if (this.controller === controller) {
      this.timer = setTimeout(() => this.refresh(), this.visible ? REFRESH_VISIBLE_MS : REFRESH_HIDDEN_MS);
    }
  }

  render() {
    const sources = this.status?.sources || [];
    const failing = sources.filter((s) => s.state === "failing");
    this.onProblems(failing.length, failing.map((s) => s.label));
    if (this.error) this.el.note.textContent = this.error;
    else if (!this.status) this.el.note.textContent = "Loading…";
    else {
      const problems = failing.length ? `${f.plural(failing.length, "integration is", "integrations are")} refusing deliveries. ` : "";
      this.el.note.textContent = `${problems}Updated ${f.time(this.status.generated_at)}.`;
    }
    const quiet = new Set(["off", "unused"]);
    clear(this.el.list).append(...sources.filter((s) => !quiet.has(s.state)).map((source) => this.card(source)));
    const names = (state) => sources.filter((s) => s.state === state).map((s) => s.label);
    const lines = [];
    if (names("unused").length) lines.push(`Not used (nothing received; their token serves another integration): ${names("unused").join(", ")}.`);
    if (names("off").length) lines.push(`Switched off (no secret set, nothing received): ${names("off").join(", ")}.`);
    this.el.off.hidden = lines.length === 0;
    this.el.off.textContent = lines.join(" ");
  }

  card(source) {
    const state = STATES[source.state] || { label: source.state, text: "" };
    const titleId = `integration-${source.source}`;
    const received = source.last_received;
    const facts = [];
    if (received) {
      facts.push(
        h(
          "p",
          { class: "integration-last" },
          "Last delivery ",
          when(received.at),
          `: ${OUTCOMES[received.outcome] || received.outcome} `,
          h("span", { class: "integration-what" }, `(${received.what}, ${received.status})`),
        ),
      );
    } else {
      const hint = source.kind === "sync" ? "No writes yet from the store's backend." : "Nothing received yet: point its webhook at this service.";
      facts.push(h("p", { class: "integration-last muted" }, hint));
    }
    if (source.last_write && source.last_write.at !== received?.at) {
      facts.push(h("p", { class: "integration-last" }, "Last write ", when(source.last_write.at), " ", h("span", { class: "integration-what" }, `(${source.last_write.what})`)));
    }
    const failure = source.last_auth_failure;
    let refusal = source.last_rejected;
    if (refusal && failure && refusal.at === failure.at) refusal = null;
    const problems = [
      failure ? this.problem("Last signature failure", failure, received) : null,
      refusal ? this.problem("Last refusal", refusal, received) : null,
    ];
    return h(
      "li",
      { class: "integration", dataset: { state: source.state, source: source.source }, "aria-labelledby": titleId },
      h(
        "div",
        { class: "integration-head" },
        h("h3", { class: "integration-name", id: titleId }, source.label),
        h("span", { class: ["badge", `integration-${source.state}`], title: state.text }, state.label),
      ),
      h("p", { class: "integration-kind muted" }, KINDS[source.kind] || source.kind),
      facts,
      this.counts(source),
      problems,
    );
  }

  counts(source) {
    return h(
      "table",
      { class: "integration-counts" },
      h("caption", { class: "visually-hidden" }, `${source.label}: deliveries`),
      h("thead", {}, h("tr", {}, h("td", {}), COUNT_COLUMNS.map(([, label]) => h("th", { scope: "col" }, label)))),
      h(
        "tbody",
        {},
        [
          ["Last hour", source.last_hour],
          ["Last day", source.last_day],
        ].map(([label, counts]) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, label),
            COUNT_COLUMNS.map(([key]) => h("td", { class: counts[key] && (key === "rejected" || key === "failed") ? "count-bad" : null }, String(counts[key]))),
          ),
        ),
      ),
    );
  }

  problem(title, refused, received) {
    // Still what happens now, or history since mended.
    const current = received && refused.at === received.at;
    return h(
      "div",
      { class: ["integration-problem", current ? "integration-problem-now" : null] },
      h("p", { class: "integration-problem-title" }, `${title} `, when(refused.at), `: ${REASONS[refused.reason] || refused.reason}`, current ? "" : " (deliveries were taken since)"),
      refused.detail ? h("p", { class: "integration-problem-detail" }, refused.detail) : null,
    );
  }
}
