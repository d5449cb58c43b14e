// The console: sign-in, the live stack of call cards, the call log, and what ties them together.

import { DesktopAlerts, RingSound } from "./alerts.js";
import { Api } from "./api.js";
import { CallStore, isLive, stateOf } from "./calls.js";
import { CallCard } from "./card.js";
import { byId, h } from "./dom.js";
import * as f from "./format.js";
import { Integrations } from "./integrations.js";
import { CallLog } from "./log.js";
import { PushClient, pushUrl } from "./push.js";

const SESSION_KEY = "ringcard.session";

// The token lives in sessionStorage: it survives a reload of the tab, and is gone with the tab.
class Session {
  constructor() {
    this.data = null;
    try {
      this.data = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    } catch {
      this.data = null;
    }
  }

  get token() {
    if (!this.data || !this.data.token) return null;
    return this.data.expiresAt > Date.now() ? this.data.token : null;
  }

  get username() {
    return this.data?.username || "";
  }

  save(answer, username) {
    this.data = { token: answer.access_token, expiresAt: Date.now() + answer.expires_in * 1000, username };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(this.data));
  }

  clear() {
    this.data = null;
    sessionStorage.removeItem(SESSION_KEY);
  }
}

// How a simulated call plays out (POST /api/v1/demo/simulate-call): the server answers it after
// `answer_after_s` and hangs up `hang_up_after_s` later, or after that long unanswered.
const SIMULATED_OUTCOMES = {
  answer: { answer_after_s: 5, hang_up_after_s: 30 },
  missed: { hang_up_after_s: 20 },
};

const CONNECTION_LABELS = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting",
  offline: "Offline",
  "signed-out": "Signed out",
  replaced: "Open in another window",
};

class Console {
  constructor() {
    this.session = new Session();
    this.api = new Api(this.session, () => this.signOut("Your session has ended. Please sign in again."));
    this.store = new CallStore();
    this.views = new Map();
    // The signed-in agent ({username, display_name, phone}) once GET /api/v1/agents/me answers:
    // it decides which answered calls are someone else's.
    this.me = null;
    this.push = null;
    this.connection = { state: "connecting", retryAt: null };
    this.view = "live";
    this.el = {
      signin: byId("signin"),
      form: byId("signin-form"),
      username: byId("signin-username"),
      password: byId("signin-password"),
      signinError: byId("signin-error"),
      signinNotice: byId("signin-notice"),
      signinSubmit: byId("signin-submit"),
      app: byId("app"),
      calls: byId("calls"),
      empty: byId("live-empty"),
      liveCount: byId("live-count"),
      missedCount: byId("missed-count"),
      connection: byId("connection"),
      agent: byId("agent-name"),
      tabLive: byId("tab-live"),
      tabLog: byId("tab-log"),
      tabStatus: byId("tab-status"),
      viewLive: byId("view-live"),
      viewLog: byId("view-log"),
      viewStatus: byId("view-status"),
      statusCount: byId("status-count"),
      announcePop: byId("announce-pop"),
      announce: byId("announce"),
      simulate: byId("simulate"),
      dialog: byId("simulate-dialog"),
    };
    this.log = new CallLog(this.api, {
      onMissedCount: (n) => {
        this.el.missedCount.hidden = n === 0;
        this.el.missedCount.textContent = String(n);
        this.el.missedCount.title = f.plural(n, "missed call", "missed calls") + " to return";
      },
      announce: (text) => this.say(text),
    });
    this.integrations = new Integrations(this.api, {
      onProblems: (n, labels) => {
        this.el.statusCount.hidden = n === 0;
        this.el.statusCount.textContent = String(n);
        this.el.statusCount.title = n ? `Refusing deliveries: ${labels.join(", ")}` : "";
      },
    });
    this.alerts = new DesktopAlerts(byId("notify"), {
      onMessage: (text) => this.say(text),
      onClick: (id) => this.focusCall(id),
    });
    this.sound = new RingSound(byId("sound"));

    this.el.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.signIn();
    });
    byId("signout").addEventListener("click", () => this.signOut());
    this.el.tabLive.addEventListener("click", () => this.show("live"));
    this.el.tabLog.addEventListener("click", () => this.show("log"));
    this.el.tabStatus.addEventListener("click", () => this.show("status"));
    this.setupSimulate();
    setInterval(() => this.tick(), 1000);
  }

  start() {
    if (this.session.token) this.enter();
    else this.showSignIn();
  }

  // --- signing in and out -----------------------------------------------------------------------

  showSignIn(notice = "") {
    this.el.app.hidden = true;
    this.el.signin.hidden = false;
    this.el.signinNotice.hidden = !notice;
    this.el.signinNotice.textContent = notice;
    this.el.password.value = "";
    this.el.username.value = this.session.username || this.el.username.value;
    (this.el.username.value ? this.el.password : this.el.username).focus();
  }

  async signIn() {
    const username = this.el.username.value.trim();
    const password = this.el.password.value;
    const error = this.el.signinError;
    if (!username || !password) {
      error.textContent = "Enter your username and password.";
      error.hidden = false;
      return;
    }
    this.el.signinSubmit.disabled = true;
    error.hidden = true;
    try {
      this.session.save(await this.api.signIn(username, password), username);
      this.enter();
    } catch (e) {
      error.textContent = e.status === 401 ? "Wrong username or password." : e.message;
      error.hidden = false;
      this.el.password.select();
    } finally {
      this.el.signinSubmit.disabled = false;
    }
  }

  enter() {
    this.el.signin.hidden = true;
    this.el.app.hidden = false;
    this.el.agent.textContent = this.session.username;
    const token = this.session.token;
    const known = (me) => {
      if (this.session.token !== token) return; // signed out meanwhile
      this.me = me;
      this.render();
    };
    this.api
      .me()
      .then((me) => {
        this.el.agent.textContent = me.display_name || me.username;
        known(me);
      })
      // The username we signed in with is good enough.
      .catch(() => known({ username: this.session.username }));
    this.push = new PushClient({
      url: pushUrl(),
      token: this.session.token,
      onSnapshot: (items) => this.onSnapshot(items),
      onEnvelope: (envelope) => this.onEnvelope(envelope),
      onStatus: (status) => this.onStatus(status),
      onUnauthorized: () => this.signOut("Your session has ended. Please sign in again."),
    });
    this.push.start();
    this.log.refresh();
    this.integrations.start();
    this.api.demoConfig().then((config) => {
      this.demo = config;
      this.el.simulate.hidden = !config;
    });
    this.el.tabLive.focus();
  }

  signOut(notice = "") {
    this.push?.stop();
    this.push = null;
    this.session.clear();
    this.me = null;
    this.store = new CallStore();
    for (const view of this.views.values()) view.el.remove();
    this.views.clear();
    this.sound.stop();
    this.render();
    this.log.reset();
    this.integrations.reset();
    this.show("live", { refresh: false });
    this.showSignIn(notice);
  }

  // --- the push channel -------------------------------------------------------------------------

  onSnapshot(items) {
    const popped = this.store.applySnapshot(items);
    this.render();
    for (const entry of popped) this.popped(entry);
    for (const entry of this.store.calls.values()) if (entry.picked && isLive(entry)) this.refreshPick(entry);
    this.log.refreshSoon();
  }

  onEnvelope(envelope) {
    f.learnServerTime(envelope.at);
    const result = this.store.applyEnvelope(envelope);
    if (!result) return;
    const { entry, popped } = result;
    this.render();
    if (popped) this.popped(entry);
    if (stateOf(entry) !== "ringing") this.alerts.settled(entry.id);
    if (envelope.card && entry.picked) this.refreshPick(entry);
    if (envelope.type === "call.ended" || this.view === "log") this.log.refreshSoon();
  }

  onStatus(status) {
    this.connection = status;
    const el = this.el.connection;
    el.dataset.state = status.state;
    el.replaceChildren(
      h("span", { class: "conn-dot", "aria-hidden": "true" }),
      h("span", { class: "conn-label" }, CONNECTION_LABELS[status.state] || status.state),
      h("span", { class: "conn-retry", "aria-hidden": "true" }),
    );
    if (status.retryAt || status.state === "replaced") {
      const label = status.retryAt ? "Retry now" : "Use here";
      el.append(h("button", { type: "button", class: "btn btn-link conn-now", onclick: () => this.push?.retryNow() }, label));
    }
    this.tick();
  }

  popped(entry) {
    const view = this.views.get(entry.id);
    const headline = view?.headlineText() || "Incoming call";
    const reason = entry.card?.likely_reason?.text || "";
    this.announcePop(`Incoming call: ${headline}. ${reason}`);
    this.alerts.ringing(entry.id, headline, reason || entry.card?.caller?.display || "");
  }

  // --- the live stack ---------------------------------------------------------------------------

  render() {
    const ordered = this.store.ordered();
    const keep = new Set(ordered.map((e) => e.id));
    for (const [id, view] of this.views) {
      if (!keep.has(id)) {
        view.el.remove();
        this.views.delete(id);
        this.alerts.settled(id);
      }
    }
    const actions = {
      pick: (entry, candidate) => this.pick(entry, candidate),
      unpick: (entry) => this.unpick(entry),
      close: (entry) => this.close(entry),
      saveNote: (entry, text, disposition) => this.saveNote(entry, text, disposition),
      me: () => this.me,
      say: (text) => this.say(text),
    };
    const nodes = ordered.map((entry) => {
      let view = this.views.get(entry.id);
      if (view) view.update(entry);
      else {
        view = new CallCard(entry, actions);
        this.views.set(entry.id, view);
      }
      return view.el;
    });
    // Move nodes only when the order really changed: moving a node takes focus out of it.
    const current = [...this.el.calls.children];
    if (current.length !== nodes.length || current.some((node, i) => node !== nodes[i])) {
      this.el.calls.replaceChildren(...nodes);
    }
    this.el.empty.hidden = nodes.length > 0;
    const live = this.store.liveCount;
    this.el.liveCount.hidden = live === 0;
    this.el.liveCount.textContent = String(live);
    const ringing = this.store.ringingCount;
    document.title = ringing ? `(${ringing}) Ringing — Ringcard` : "Ringcard";
    this.sound.update(ringing);
  }

  async pick(entry, candidate) {
    try {
      const card = await this.api.lookup(this.numberOf(entry), candidate.customer_external_id);
      entry.picked = { customer: candidate.customer_external_id, card };
      this.render();
      this.views.get(entry.id)?.headline?.focus();
    } catch (error) {
      this.say(`Could not open that customer: ${error.message}`);
    }
  }

  async refreshPick(entry) {
    const picked = entry.picked;
    try {
      const card = await this.api.lookup(this.numberOf(entry), picked.customer);
      if (entry.picked === picked) {
        entry.picked = { ...picked, card };
        this.render();
      }
    } catch {
      // keep the card we have; the next update tries again
    }
  }

  unpick(entry) {
    entry.picked = null;
    this.render();
    this.views.get(entry.id)?.headline?.focus();
  }

  numberOf(entry) {
    const caller = entry.card?.caller || {};
    return caller.e164 || caller.raw || entry.call.from || entry.call.from_raw || "";
  }

  close(entry) {
    const ordered = this.store.ordered();
    const index = ordered.findIndex((e) => e.id === entry.id);
    this.store.close(entry.id);
    this.render();
    // Keyboard users land on the next card (or the empty live view), not on the page's top.
    const next = ordered[index + 1] || ordered[index - 1];
    const target = next && next.id !== entry.id ? this.views.get(next.id)?.focusTarget : null;
    (target || byId("main")).focus();
  }

  async saveNote(entry, text, disposition) {
    await this.api.saveNote(entry.id, text, disposition);
    entry.call.note = text;
    entry.call.disposition = disposition || null;
    this.say("Note saved");
    this.log.refreshSoon();
  }

  focusCall(id) {
    this.show("live");
    this.views.get(id)?.focusTarget?.focus();
  }

  // --- views, announcements, the clock ---------------------------------------------------------

  show(view, { refresh = true } = {}) {
    this.view = view;
    for (const [name, tab, section] of [
      ["live", this.el.tabLive, this.el.viewLive],
      ["log", this.el.tabLog, this.el.viewLog],
      ["status", this.el.tabStatus, this.el.viewStatus],
    ]) {
      const on = name === view;
      section.hidden = !on;
      if (on) tab.setAttribute("aria-current", "page");
      else tab.removeAttribute("aria-current");
    }
    if (view === "log" && refresh) this.log.refresh();
    this.integrations.setVisible(view === "status" && refresh);
  }

  announcePop(text) {
    // Emptied first so that two pops with the same words are both read out.
    this.el.announcePop.textContent = "";
    setTimeout(() => {
      this.el.announcePop.textContent = text;
    }, 50);
  }

  say(text) {
    this.el.announce.textContent = "";
    setTimeout(() => {
      this.el.announce.textContent = text;
    }, 50);
  }

  tick() {
    for (const view of this.views.values()) view.tick();
    const retry = this.el.connection.querySelector(".conn-retry");
    if (retry) {
      const at = this.connection.retryAt;
      const seconds = at ? Math.max(0, Math.ceil((at - Date.now()) / 1000)) : 0;
      retry.textContent = at ? (seconds ? ` · retry in ${seconds} s` : " · retrying…") : "";
    }
  }

  // --- demo -------------------------------------------------------------------------------------

  setupSimulate() {
    const { dialog, simulate } = this.el;
    const input = byId("simulate-from");
    const error = byId("simulate-error");
    const form = byId("simulate-form");
    const ring = async (from) => {
      error.hidden = true;
      const outcome = SIMULATED_OUTCOMES[form.elements.outcome?.value] || SIMULATED_OUTCOMES.answer;
      try {
        await this.api.simulateCall(from, outcome);
        dialog.close();
        this.show("live");
      } catch (e) {
        error.textContent = e.message;
        error.hidden = false;
      }
    };
    simulate.addEventListener("click", () => {
      // The demo store's sample callers, as the server lists them ({label: number}).
      const examples = Object.entries(this.demo?.callers || {}).map(([label, from]) => ({ label, from }));
      byId("simulate-presets").replaceChildren(
        ...examples.map((example) =>
          h(
            "button",
            { type: "button", class: "btn btn-tool preset", onclick: () => ring(example.from) },
            h("span", { class: "preset-label" }, example.label),
            h("span", { class: "preset-number", dir: "ltr" }, example.from),
          ),
        ),
      );
      input.value = input.value || examples[0]?.from || "";
      error.hidden = true;
      dialog.showModal();
    });
    byId("simulate-cancel").addEventListener("click", () => dialog.close());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (input.value.trim()) ring(input.value.trim());
    });
  }
}

new Console().start();
