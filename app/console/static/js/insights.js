// The Insights page, for supervisors and admins (GET /api/v1/stats, docs/kpis.md): the period's
// KPIs with their trend, the busiest hours, answered and missed per day, why customers called
// (the likely reason at ring, the agents' outcomes, the AI's reason), the products and orders
// behind the calls, and each agent's calls. The server computes every number; this page only
// writes them in the console's language.

import { dayBars, dayRange, hbars } from "./charts.js";
import { byId, h, userText } from "./dom.js";
import { heatmap } from "./heatmap.js";
import { direction, label, number, setPlain, setText, t } from "./i18n.js";
import { InsightsFilters } from "./insightsfilters.js";
import { kpiTiles, seconds } from "./kpis.js";
import { runsTheTeam } from "./team.js";

function problem(error) {
  return error?.message || String(error);
}

function section(id, title, ...body) {
  return h("section", { class: "insights-card", id, "aria-labelledby": `${id}-title` }, h("h3", { id: `${id}-title`, class: "insights-card-title" }, title), body);
}

// A call with no code is counted under null (or "none", as the contract names it).
function reasonRows(rows, labelOf) {
  return (rows || []).map((row) => {
    const code = row.code && row.code !== "none" ? row.code : null;
    return { code: code ?? "none", label: labelOf(code), calls: row.calls, previous: row.previous };
  });
}

export class InsightsPage {
  /** `onRefused()`: the server no longer lets this agent see the page (demoted meanwhile). */
  constructor(api, { onRefused }) {
    this.api = api;
    this.onRefused = onRefused;
    this.tab = byId("tab-insights");
    this.section = byId("view-insights");
    this.me = null;
    this.stats = null;
    this.visible = false;
    this.asked = 0; // the latest request's number: an older answer arriving late is dropped
    this.filters = new InsightsFilters(() => this.refresh());
    this.title = h("h2", { id: "insights-title", class: "view-title" });
    this.refreshButton = h("button", { type: "button", class: "btn btn-tool", onclick: () => this.refresh() });
    this.csvButton = h("button", { type: "button", class: "btn btn-tool", id: "insights-csv", onclick: () => this.downloadCsv() });
    this.periodLine = h("p", { class: "muted insights-period", id: "insights-period" });
    this.status = h("p", { class: "log-status muted", role: "status", id: "insights-status" });
    this.body = h("div", { class: "insights-body", id: "insights-body" });
    this.content = [
      h("div", { class: "log-head" }, this.title, h("span", { class: "insights-actions" }, this.csvButton, this.refreshButton)),
      this.filters.node,
      this.periodLine,
      this.status,
      this.body,
    ];
    this.render();
  }

  /** The signed-in agent is known: the tab is for supervisors and admins only. */
  setMe(me) {
    this.me = me;
    this.filters.stores.set(me.stores);
    const on = runsTheTeam(me);
    this.tab.hidden = !on;
    if (on) this.section.replaceChildren(...this.content);
    else this.section.replaceChildren();
    if (on) this.learnLines();
  }

  setVisible(visible) {
    this.visible = visible && runsTheTeam(this.me);
    if (this.visible) this.refresh();
  }

  reset() {
    this.visible = false;
    this.asked += 1;
    this.me = null;
    this.stats = null;
    this.tab.hidden = true;
    this.section.replaceChildren();
    this.filters.reset();
    setPlain(this.status, "");
    this.render();
  }

  /** The lines the team answers, as choices for the line filter (best effort: typing one works too). */
  async learnLines() {
    try {
      const agents = await this.api.request("GET", "api/v1/team/agents");
      this.filters.learnLines(agents.flatMap((agent) => agent.lines || []));
    } catch {
      // no choices offered; the field still takes any line
    }
  }

  async refresh() {
    if (!runsTheTeam(this.me)) return;
    const asked = ++this.asked;
    setText(this.status, "insights.loading");
    this.section.setAttribute("aria-busy", "true");
    let stats;
    try {
      stats = await this.api.request("GET", "api/v1/stats", { query: this.filters.query() });
    } catch (error) {
      if (asked !== this.asked) return;
      this.section.removeAttribute("aria-busy");
      if (error.status === 403) return this.refused();
      setText(this.status, "insights.failed", { reason: problem(error) });
      return;
    }
    if (asked !== this.asked) return;
    this.section.removeAttribute("aria-busy");
    this.stats = stats;
    this.filters.learn(stats);
    setPlain(this.status, "");
    this.render();
  }

  /** The period's calls as CSV (GET /api/v1/stats/calls.csv), saved by the browser. */
  async downloadCsv() {
    if (!runsTheTeam(this.me)) return;
    this.csvButton.disabled = true;
    try {
      const { blob, name } = await this.api.download("api/v1/stats/calls.csv", { query: this.filters.query() });
      const url = URL.createObjectURL(blob);
      const link = h("a", { href: url, download: name, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      // The browser has the file once the click is handled; the URL is not needed after.
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (error) {
      if (error.status === 403) return this.refused();
      setText(this.status, "insights.csv_failed", { reason: problem(error) });
    } finally {
      this.csvButton.disabled = false;
    }
  }

  refused() {
    this.tab.hidden = true;
    this.section.replaceChildren();
    this.visible = false;
    this.onRefused();
  }

  render() {
    this.title.textContent = t("insights.title");
    this.refreshButton.textContent = t("insights.refresh");
    this.csvButton.textContent = t("insights.csv");
    // Admins get the callers' numbers and names in the file; everyone else gets the calls without.
    this.csvButton.title = this.me?.role === "admin" ? t("insights.csv_hint_admin") : t("insights.csv_hint");
    this.filters.render();
    const stats = this.stats;
    if (!stats) {
      this.periodLine.textContent = "";
      this.body.replaceChildren();
      return;
    }
    const { from, to, timezone } = stats.period;
    this.periodLine.replaceChildren(
      t("insights.period_line", { range: dayRange(from, to), count: stats.period.days }),
      " ",
      h("span", { class: "insights-zone" }, t("insights.timezone", { zone: timezone })),
    );
    this.section.dataset.from = from;
    this.section.dataset.to = to;
    if (!stats.kpis?.offered) {
      this.body.replaceChildren(
        h(
          "div",
          { class: "empty insights-empty", id: "insights-empty" },
          h("p", { class: "empty-title" }, t("insights.empty_title")),
          h("p", { class: "muted" }, t("insights.empty_text")),
        ),
      );
      return;
    }
    this.body.replaceChildren(
      section("insights-kpis", t("insights.kpis"), kpiTiles(stats)),
      section("insights-hours", t("insights.busiest"), h("p", { class: "muted insights-note" }, t("insights.busiest_note")), heatmap(stats.by_hour)),
      section("insights-days", t("insights.by_day"), dayBars(stats.by_day, direction() === "rtl")),
      h("div", { class: "insights-grid" }, this.reasons(stats.reasons || {})),
      h("div", { class: "insights-grid" }, this.behind(stats)),
      section("insights-agents", t("insights.agents"), this.agents(stats.agents || [])),
    );
  }

  reasons(reasons) {
    const none = () => t("insights.reason_none");
    const likely = reasonRows(reasons.likely, (code) => (code ? label("summary.reason", code) : none()));
    const outcome = reasonRows(reasons.disposition, (code) => (code ? label("disposition", code) : t("disposition.none")));
    const ai = reasonRows(reasons.ai, (code) => (code ? label("summary.reason", code) : none()));
    const list = (rows) => (rows.length ? hbars(rows) : h("p", { class: "muted" }, t("insights.nothing")));
    return [
      section("insights-likely", t("insights.reasons.likely"), list(likely)),
      section("insights-disposition", t("insights.reasons.disposition"), list(outcome)),
      section("insights-ai", t("insights.reasons.ai"), list(ai)),
    ];
  }

  behind(stats) {
    const list = (rows) => (rows.length ? hbars(rows) : h("p", { class: "muted" }, t("insights.nothing")));
    const products = (stats.products || []).map((p) => ({ code: p.sku, label: p.sku ? `${p.title} (${p.sku})` : p.title, calls: p.calls }));
    const orders = (stats.orders || []).map((o) => ({ code: o.number, label: o.number, calls: o.calls }));
    const kinds = (stats.case_kinds || []).map((c) => ({ code: c.kind, label: label("case.kind", c.kind), calls: c.calls }));
    return [
      section("insights-products", t("insights.products"), list(products)),
      section("insights-orders", t("insights.orders"), list(orders)),
      section("insights-cases", t("insights.case_kinds"), list(kinds)),
    ];
  }

  agents(rows) {
    if (!rows.length) return h("p", { class: "muted" }, t("insights.nothing"));
    const time = (value) => (value === null || value === undefined ? t("insights.no_value") : seconds(value));
    const columns = [t("insights.col.agent"), t("insights.kpi.answered"), t("insights.kpi.asa_s"), t("insights.kpi.aht_s")];
    return h(
      "div",
      { class: "team-table-wrap" },
      h(
        "table",
        { class: "team-table insights-agents", "aria-labelledby": "insights-agents-title" },
        h("thead", {}, h("tr", {}, columns.map((name) => h("th", { scope: "col" }, name)))),
        h(
          "tbody",
          {},
          rows.map((row) =>
            h(
              "tr",
              { dataset: { agent: row.agent } },
              // Each cell names its column too: on a phone a row is a card of labelled lines (team.css).
              h("td", { "data-label": columns[0] }, userText("span", row.agent)),
              h("td", { class: "num", "data-label": columns[1] }, number(row.answered)),
              h("td", { class: "num", "data-label": columns[2] }, time(row.asa_s)),
              h("td", { class: "num", "data-label": columns[3] }, time(row.aht_s)),
            ),
          ),
        ),
      ),
    );
  }
}
