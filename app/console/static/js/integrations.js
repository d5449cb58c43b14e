// The Integrations view: is each phone system, shop and the store sync reaching Ringcard, and if
// not, why not (GET /api/v1/status). Read-only for everyone signed in: agents are the first to
// notice that no card popped, and the answer ("Twilio: last delivery refused 2 minutes ago, wrong
// URL") tells them whom to call; the fix is the operator's (`ringcard doctor`).

import { byId, clear, h } from "./dom.js";
import * as f from "./format.js";
import { key, label, setPlain, setText, t, tParts } from "./i18n.js";

const REFRESH_VISIBLE_MS = 15_000;
const REFRESH_HIDDEN_MS = 60_000;

const COUNT_COLUMNS = ["accepted", "duplicate", "rejected", "failed"];

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
      this.error = { key: key("status.load_failed"), params: { error: error.message } };
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
    const note = this.el.note;
    if (this.error) setText(note, this.error.key, this.error.params);
    else if (!this.status) setText(note, "status.loading");
    else {
      const updated = t("status.updated", { time: f.time(this.status.generated_at) });
      setPlain(note, failing.length ? `${t("status.refusing", { count: failing.length })} ${updated}` : updated);
    }
    const quiet = new Set(["off", "unused"]);
    clear(this.el.list).append(...sources.filter((s) => !quiet.has(s.state)).map((source) => this.card(source)));
    const names = (state) => sources.filter((s) => s.state === state).map((s) => s.label);
    // Joined by commas, not Intl.ListFormat: a name may hold its own "and" ("PBX lookup and events").
    const lines = [];
    if (names("unused").length) lines.push(t("status.unused_list", { names: names("unused").join(", ") }));
    if (names("off").length) lines.push(t("status.off_list", { names: names("off").join(", ") }));
    this.el.off.hidden = lines.length === 0;
    this.el.off.textContent = lines.join(" ");
  }

  card(source) {
    const state = { label: label("status.state", source.state), text: label("status.state_text", source.state) };
    const titleId = `integration-${source.source}`;
    const received = source.last_received;
    const facts = [];
    if (received) {
      facts.push(
        h(
          "p",
          { class: "integration-last" },
          tParts("status.last_delivery", { when: when(received.at), outcome: label("status.outcome", received.outcome) }),
          " ",
          h("span", { class: "integration-what" }, `(${received.what}, ${received.status})`),
        ),
      );
    } else {
      const hint = source.kind === "sync" ? t("status.no_writes") : t("status.nothing");
      facts.push(h("p", { class: "integration-last muted" }, hint));
    }
    if (source.last_write && source.last_write.at !== received?.at) {
      facts.push(h("p", { class: "integration-last" }, tParts("status.last_write", { when: when(source.last_write.at) }), " ", h("span", { class: "integration-what" }, `(${source.last_write.what})`)));
    }
    const failure = source.last_auth_failure;
    let refusal = source.last_rejected;
    if (refusal && failure && refusal.at === failure.at) refusal = null;
    const problems = [
      failure ? this.problem(key("status.auth_failure"), failure, received) : null,
      refusal ? this.problem(key("status.refusal"), refusal, received) : null,
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
      h("p", { class: "integration-kind muted" }, label("status.kind", source.kind)),
      facts,
      this.counts(source),
      problems,
    );
  }

  counts(source) {
    return h(
      "table",
      { class: "integration-counts" },
      h("caption", { class: "visually-hidden" }, t("status.deliveries", { source: source.label })),
      h("thead", {}, h("tr", {}, h("td", {}), COUNT_COLUMNS.map((key) => h("th", { scope: "col" }, label("status.column", key))))),
      h(
        "tbody",
        {},
        [
          [t("status.last_hour"), source.last_hour],
          [t("status.last_day"), source.last_day],
        ].map(([name, counts]) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, name),
            COUNT_COLUMNS.map((key) => h("td", { class: counts[key] && (key === "rejected" || key === "failed") ? "count-bad" : null }, f.number(counts[key]))),
          ),
        ),
      ),
    );
  }

  problem(titleKey, refused, received) {
    // Still what happens now, or history since mended.
    const current = received && refused.at === received.at;
    return h(
      "div",
      { class: ["integration-problem", current ? "integration-problem-now" : null] },
      h(
        "p",
        { class: "integration-problem-title" },
        tParts(titleKey, { when: when(refused.at), reason: label("status.reason", refused.reason) }),
        current ? "" : ` ${t("status.mended")}`,
      ),
      refused.detail ? h("p", { class: "integration-problem-detail" }, refused.detail) : null,
    );
  }
}
