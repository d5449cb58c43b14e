// What the Insights page shows: a period (the last 7 or 30 days, or from–to dates) and, optionally,
// one line and one agent. The days are the store's (the API's `period.timezone`): "the last 7
// days" for a supervisor in another zone is still the store's today and the six days before.

import { h } from "./dom.js";
import { setText, t } from "./i18n.js";
import { StoreFilter } from "./stores.js";

/** Today in `timeZone` as YYYY-MM-DD (the browser's own zone until the server has named one). */
export function today(timeZone) {
  let parts;
  try {
    parts = new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(new Date());
  } catch {
    parts = new Intl.DateTimeFormat("en-US", { year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(new Date());
  }
  const part = (type) => parts.find((p) => p.type === type).value;
  return `${part("year")}-${part("month")}-${part("day")}`;
}

export function addDays(iso, days) {
  const date = new Date(`${iso}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export class InsightsFilters {
  /** `onChange()`: the supervisor chose another period, line or agent. */
  constructor(onChange) {
    this.onChange = onChange;
    this.timezone = undefined;
    this.range = "7";
    this.agents = new Set();
    this.lines = new Set();
    const seg = (range) =>
      h("button", { type: "button", class: "seg", "aria-pressed": String(range === this.range), dataset: { range }, onclick: () => this.pick(range) });
    this.segs = { 7: seg("7"), 30: seg("30"), custom: seg("custom") };
    this.scope = h("div", { class: "log-scope", role: "group" }, Object.values(this.segs));
    this.fromLabel = h("label", { class: "field-label inline", for: "insights-from" });
    this.toLabel = h("label", { class: "field-label inline", for: "insights-to" });
    this.from = h("input", { id: "insights-from", class: "input", type: "date" });
    this.to = h("input", { id: "insights-to", class: "input", type: "date" });
    this.apply = h("button", { type: "submit", class: "btn btn-tool" });
    this.error = h("p", { class: "form-error", role: "alert", id: "insights-range-error", hidden: true });
    this.dates = h(
      "form",
      { class: "insights-dates", hidden: true, novalidate: true, onsubmit: (event) => this.submitDates(event) },
      h("span", { class: "insights-field" }, this.fromLabel, this.from),
      h("span", { class: "insights-field" }, this.toLabel, this.to),
      this.apply,
      this.error,
    );
    this.lineLabel = h("label", { class: "field-label inline", for: "insights-line" });
    this.lineList = h("datalist", { id: "insights-lines" });
    this.line = h("input", { id: "insights-line", class: "input", type: "search", list: "insights-lines", autocomplete: "off", spellcheck: "false", dir: "auto" });
    this.line.addEventListener("change", () => this.onChange());
    this.agentLabel = h("label", { class: "field-label inline", for: "insights-agent" });
    this.agent = h("select", { id: "insights-agent", class: "input select" });
    this.agent.addEventListener("change", () => this.onChange());
    this.storeLabel = h("label", { class: "field-label inline", for: "insights-store", hidden: true });
    this.stores = new StoreFilter(h("select", { id: "insights-store", class: "input select", hidden: true }), () => this.onChange());
    this.node = h(
      "div",
      { class: "insights-filters" },
      this.scope,
      this.dates,
      h("span", { class: "insights-field" }, this.lineLabel, this.line, this.lineList),
      h("span", { class: "insights-field" }, this.agentLabel, this.agent),
      h("span", { class: "insights-field" }, this.storeLabel, this.stores.select),
    );
    this.render();
  }

  pick(range) {
    this.range = range;
    for (const [name, button] of Object.entries(this.segs)) button.setAttribute("aria-pressed", String(name === range));
    this.dates.hidden = range !== "custom";
    if (range === "custom") {
      // Start from what is shown, so moving one end is one change.
      const { from, to } = this.period();
      this.from.value ||= from;
      this.to.value ||= to;
      this.from.focus();
      return;
    }
    this.error.hidden = true;
    this.onChange();
  }

  submitDates(event) {
    event.preventDefault();
    const from = this.from.value;
    const to = this.to.value;
    this.error.hidden = false;
    if (!DATE.test(from) || !DATE.test(to)) setText(this.error, "insights.range.missing");
    else if (from > to) setText(this.error, "insights.range.order");
    else {
      this.error.hidden = true;
      this.onChange();
    }
  }

  period() {
    if (this.range === "custom" && DATE.test(this.from.value) && DATE.test(this.to.value)) {
      return { from: this.from.value, to: this.to.value };
    }
    const to = today(this.timezone);
    return { from: addDays(to, -(Number(this.range === "custom" ? 7 : this.range) - 1)), to };
  }

  /** The API's query for what is chosen. */
  query() {
    return { ...this.period(), line: this.line.value.trim(), agent: this.agent.value, store: this.stores.value };
  }

  /** What an answer taught: the store's time zone, the agents who answered. */
  learn(stats) {
    if (stats.period?.timezone) this.timezone = stats.period.timezone;
    let grew = false;
    for (const row of stats.agents || []) {
      if (row.agent && !this.agents.has(row.agent)) {
        this.agents.add(row.agent);
        grew = true;
      }
    }
    if (grew) this.renderAgents();
  }

  /** The lines agents answer (from the team page's list), offered as the line field's choices. */
  learnLines(lines) {
    for (const line of lines) if (line && line !== "*") this.lines.add(line);
    this.lineList.replaceChildren(...[...this.lines].sort().map((line) => h("option", { value: line })));
  }

  reset() {
    this.timezone = undefined;
    this.agents.clear();
    this.lines.clear();
    this.line.value = "";
    this.from.value = "";
    this.to.value = "";
    this.lineList.replaceChildren();
    this.pick7Quietly();
    this.renderAgents();
  }

  pick7Quietly() {
    this.range = "7";
    for (const [name, button] of Object.entries(this.segs)) button.setAttribute("aria-pressed", String(name === "7"));
    this.dates.hidden = true;
    this.error.hidden = true;
  }

  renderAgents() {
    const chosen = this.agent.value;
    const names = [...this.agents].sort((a, b) => a.localeCompare(b));
    this.agent.replaceChildren(
      h("option", { value: "" }, t("insights.filter.all_agents")),
      ...names.map((name) => h("option", { value: name, selected: name === chosen }, name)),
    );
  }

  render() {
    this.scope.setAttribute("aria-label", t("insights.period"));
    this.segs[7].textContent = t("insights.range.last7");
    this.segs[30].textContent = t("insights.range.last30");
    this.segs.custom.textContent = t("insights.range.custom");
    this.fromLabel.textContent = t("insights.range.from");
    this.toLabel.textContent = t("insights.range.to");
    this.apply.textContent = t("insights.range.apply");
    this.lineLabel.textContent = t("insights.filter.line");
    this.line.placeholder = t("insights.filter.all_lines");
    this.agentLabel.textContent = t("insights.filter.agent");
    this.storeLabel.textContent = t("store.filter");
    this.stores.relocalise();
    this.renderAgents();
  }
}
