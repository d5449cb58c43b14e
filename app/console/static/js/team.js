// The team page, for supervisors and admins: every agent with their role, lines, whether they are
// online now (on any instance) and active; add an agent, deactivate or reactivate one, set their
// lines, reset a password (docs/agents.md). The server decides who may do what; this page only
// leaves out what it would refuse (an admin's row for a supervisor, deactivating yourself).

import { byId, clear, h, userText } from "./dom.js";
import { key, label, setPlain, setText, t } from "./i18n.js";
import { AddAgentForm, LinesPanel, PasswordPanel, problemText } from "./teamforms.js";

const TEAM_ROLES = new Set(["supervisor", "admin"]);
// Often enough that a dot follows an agent opening or closing the console within seconds.
const REFRESH_MS = 10000;

export function runsTheTeam(me) {
  return TEAM_ROLES.has(me?.role);
}

function linesText(lines) {
  if (!lines.length) return t("team.lines.none");
  return lines.map((line) => (line === "*" ? t("team.lines.all") : line)).join(", ");
}

export class TeamPage {
  /** `onRefused()`: the server no longer lets this agent see the page (demoted meanwhile). */
  constructor(api, { onRefused }) {
    this.api = api;
    this.onRefused = onRefused;
    this.tab = byId("tab-team");
    this.section = byId("view-team");
    this.me = null;
    this.agents = null;
    this.visible = false;
    this.timer = null;
    // The one open panel under a row ({username, node}): kept across refreshes, inputs and all.
    this.panel = null;
    this.status = h("p", { class: "log-status muted", role: "status", id: "team-status" });
    this.count = h("p", { class: "muted team-count", id: "team-count" });
    this.body = h("tbody");
    this.head = h("thead");
    this.form = new AddAgentForm({
      create: (body) => this.api.request("POST", "api/v1/team/agents", { body }),
      canGrantAdmin: () => this.me?.role === "admin",
      done: (agent) => {
        setText(this.status, "team.add.done", { name: agent.display_name });
        this.refresh();
      },
    });
    this.refreshButton = h("button", { type: "button", class: "btn btn-tool", onclick: () => this.refresh() });
    this.title = h("h2", { id: "team-title", class: "view-title" });
    this.intro = h("p", { class: "muted team-intro" });
    this.content = [
      h("div", { class: "log-head" }, this.title, this.refreshButton),
      this.intro,
      this.status,
      this.count,
      h("div", { class: "team-table-wrap" }, h("table", { class: "team-table", "aria-labelledby": "team-title" }, this.head, this.body)),
      this.form.node,
    ];
    this.render();
  }

  /** The signed-in agent is known (GET /api/v1/agents/me): show the tab to those it is for. The
   * page's forms are in the document only for them (and only while signed in): a hidden
   * "Username" field would be one more for the sign-in form's label to find. */
  setMe(me) {
    this.me = me;
    const on = runsTheTeam(me);
    this.tab.hidden = !on;
    if (on) this.section.replaceChildren(...this.content);
    else this.section.replaceChildren();
    this.form.render();
  }

  setVisible(visible) {
    this.visible = visible && runsTheTeam(this.me);
    clearInterval(this.timer);
    this.timer = null;
    if (!this.visible) return;
    this.refresh();
    this.timer = setInterval(() => this.refresh({ quiet: true }), REFRESH_MS);
  }

  reset() {
    this.setVisible(false);
    this.section.replaceChildren();
    this.me = null;
    this.agents = null;
    this.panel = null;
    this.tab.hidden = true;
    this.form.reset();
    setPlain(this.status, "");
    this.render();
  }

  async refresh({ quiet = false } = {}) {
    if (!quiet && this.agents === null) setText(this.status, "team.loading");
    try {
      this.agents = await this.api.request("GET", "api/v1/team/agents");
    } catch (error) {
      if (error.status === 403) return this.refused();
      if (!quiet) setText(this.status, "team.failed", { reason: problemText(error) });
      return;
    }
    if (this.status.dataset.i18n === "team.loading") setPlain(this.status, "");
    this.render();
  }

  refused() {
    this.tab.hidden = true;
    this.section.replaceChildren();
    this.setVisible(false);
    this.onRefused();
  }

  render() {
    this.title.textContent = t("team.title");
    this.intro.textContent = t("team.intro");
    this.refreshButton.textContent = t("team.refresh");
    this.form.render();
    // Each cell also carries its column's name: on a narrow screen a row is a card of labelled lines.
    this.columns = [
      t("team.col.name"),
      t("team.col.username"),
      t("team.col.role"),
      t("team.col.lines"),
      t("team.col.state"),
      t("team.col.actions"),
    ];
    clear(this.head).append(h("tr", {}, this.columns.map((name) => h("th", { scope: "col" }, name))));
    clear(this.body);
    this.count.textContent = "";
    if (!this.agents) return;
    const online = this.agents.filter((agent) => agent.online).length;
    this.count.textContent = t("team.count", { count: this.agents.length, online });
    for (const agent of this.agents) {
      this.body.append(this.row(agent));
      if (this.panel?.username === agent.username) {
        this.body.append(h("tr", { class: "team-panel-row" }, h("td", { colspan: "6" }, this.panel.node)));
      }
    }
  }

  row(agent) {
    const [name, username, role, lines, state, actions] = this.columns;
    const self = agent.username === this.me?.username;
    const onlineText = agent.online ? t("team.online") : t("team.offline");
    return h(
      "tr",
      { class: ["team-row", agent.active ? "" : "team-inactive"], dataset: { username: agent.username } },
      h(
        "td",
        { "data-label": name },
        h(
          "span",
          {},
          h("span", { class: ["team-dot", agent.online ? "team-dot-on" : ""], title: onlineText, "aria-hidden": "true" }),
          h("span", { class: "visually-hidden" }, `${onlineText}: `),
          userText("span", agent.display_name, { class: "team-name" }),
          self ? h("span", { class: "muted" }, ` ${t("team.you")}`) : null,
        ),
      ),
      h("td", { "data-label": username }, h("code", { dir: "ltr" }, agent.username)),
      h("td", { "data-label": role }, label("team.role", agent.role)),
      h("td", { "data-label": lines }, h("span", { dir: "auto", class: "team-lines" }, linesText(agent.lines))),
      h("td", { "data-label": state }, agent.active ? t("team.active") : t("team.inactive")),
      h("td", { "data-label": actions }, h("div", { class: "team-actions" }, this.actions(agent, self))),
    );
  }

  actions(agent, self) {
    if (agent.role === "admin" && this.me?.role !== "admin") {
      return h("span", { class: "muted" }, t("team.admin_only"));
    }
    // Each button names its agent for a screen reader: "Deactivate: Ola Nowak".
    const button = (text, onclick) =>
      h("button", { type: "button", class: "btn btn-tool btn-small", onclick, "aria-label": `${text}: ${agent.display_name}` }, text);
    const close = () => this.close();
    const lines = () => new LinesPanel(agent, (value) => this.change(agent, { lines: value }, key("team.lines_saved")), close);
    const password = () => new PasswordPanel(agent, (value) => this.resetPassword(agent, value), close);
    // The status line already says what went wrong with a button's change.
    const toggle = (active, done) => () => this.change(agent, { active }, done).catch(() => {});
    return [
      button(t("team.edit_lines"), () => this.open(agent, lines())),
      self ? null : agent.active
        ? button(t("team.deactivate"), toggle(false, key("team.deactivated")))
        : button(t("team.reactivate"), toggle(true, key("team.reactivated"))),
      button(t("team.reset"), () => this.open(agent, password())),
    ];
  }

  open(agent, panel) {
    this.panel = { username: agent.username, node: panel.node };
    this.render();
    panel.focus();
  }

  close() {
    this.panel = null;
    this.render();
  }

  async change(agent, body, doneKey) {
    const path = `api/v1/team/agents/${encodeURIComponent(agent.username)}`;
    try {
      await this.api.request("PATCH", path, { body });
    } catch (error) {
      if (error.status === 403 && /team page/.test(error.message)) return this.refused();
      setPlain(this.status, problemText(error));
      throw error;
    }
    this.panel = null;
    setText(this.status, doneKey, { name: agent.display_name });
    await this.refresh({ quiet: true });
  }

  /** `password`: the one typed, or null to have the server make one up (shown here, once). */
  async resetPassword(agent, password) {
    const path = `api/v1/team/agents/${encodeURIComponent(agent.username)}/password`;
    const done = await this.api.request("POST", path, { body: password ? { password } : {} });
    setText(this.status, "team.password.changed", { name: agent.display_name });
    return done.generated_password;
  }
}
