// The console: what ties sign-in, the push channel, the live stack of call cards, the call log and
// the integrations' status together. Each of those is a module of its own; this one only wires
// them up and routes what the push channel says.

import { DesktopAlerts, RingSound } from "./alerts.js";
import { Announcer } from "./announce.js";
import { Api } from "./api.js";
import { isLive, stateOf } from "./calls.js";
import { ConnectionIndicator } from "./connection.js";
import { DeepLink } from "./deeplink.js";
import { byId } from "./dom.js";
import { EventType } from "./events.js";
import * as f from "./format.js";
import { key, onLocaleChange, t } from "./i18n.js";
import { InsightsPage } from "./insights.js";
import { Integrations } from "./integrations.js";
import { LanguagePickers } from "./language.js";
import { LiveStack } from "./live.js";
import { CallLog } from "./log.js";
import { PushClient, pushUrl } from "./push.js";
import { Session } from "./session.js";
import { SignIn } from "./signin.js";
import { setupSimulate } from "./simulate.js";
import { Tabs } from "./tabs.js";
import { TeamPage } from "./team.js";

const SESSION_ENDED = key("session.ended");

class Console {
  constructor() {
    this.session = new Session();
    this.api = new Api(this.session, () => this.signOut(SESSION_ENDED));
    // The signed-in agent ({username, display_name, phone}) once GET /api/v1/agents/me answers:
    // it decides which answered calls are someone else's.
    this.me = null;
    this.push = null;
    this.demo = null;
    this.view = "live";
    this.el = {
      agent: byId("agent-name"),
      missedCount: byId("missed-count"),
      statusCount: byId("status-count"),
      simulate: byId("simulate"),
    };
    this.announcer = new Announcer();
    this.log = new CallLog(this.api, {
      onMissedCount: (n) => {
        this.el.missedCount.hidden = n === 0;
        this.el.missedCount.textContent = String(n);
        this.el.missedCount.title = t("nav.missed", { count: n });
      },
      announce: (text) => this.announcer.say(text),
    });
    this.integrations = new Integrations(this.api, {
      onProblems: (n, labels) => {
        this.el.statusCount.hidden = n === 0;
        this.el.statusCount.textContent = String(n);
        this.el.statusCount.title = n ? t("nav.refusing", { names: labels.join(", ") }) : "";
      },
    });
    this.alerts = new DesktopAlerts(byId("notify"), {
      onMessage: (text) => this.announcer.say(text),
      onClick: (id) => this.focusCall(id),
    });
    this.sound = new RingSound(byId("sound"));
    this.live = new LiveStack({
      api: this.api,
      alerts: this.alerts,
      sound: this.sound,
      announcer: this.announcer,
      me: () => this.me,
      onNoteSaved: () => this.log.refreshSoon(),
    });
    this.team = new TeamPage(this.api, { onRefused: () => this.show("live") });
    this.insights = new InsightsPage(this.api, { onRefused: () => this.show("live") });
    this.connection = new ConnectionIndicator(byId("connection"), () => this.push?.retryNow());
    this.signin = new SignIn(this.session, this.api, () => this.enter());
    this.deepLink = new DeepLink({ api: this.api, signin: this.signin, onOpen: () => this.show("live") });
    this.tabs = new Tabs((view) => this.show(view));
    onLocaleChange(() => this.relocalise());
    this.languages = new LanguagePickers(() => (this.session.token ? this.session.username : null));

    byId("signout").addEventListener("click", () => this.signOut());
    setupSimulate(this.api, () => this.demo, () => this.show("live"));
    setInterval(() => this.tick(), 1000);
  }

  start() {
    if (this.session.token) this.enter();
    else this.signin.show();
  }

  // --- signing in and out -----------------------------------------------------------------------

  enter() {
    this.languages.signedIn(this.session.username);
    this.signin.hide();
    this.el.agent.textContent = this.session.username;
    const token = this.session.token;
    const known = (me) => {
      if (this.session.token !== token) return; // signed out meanwhile
      this.me = me;
      this.team.setMe(me);
      this.insights.setMe(me);
      this.log.stores.set(me.stores);
      this.live.render();
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
      onUnauthorized: () => this.signOut(SESSION_ENDED),
    });
    this.push.start();
    this.log.refresh();
    this.integrations.start();
    this.api.demoConfig().then((config) => {
      this.demo = config;
      this.el.simulate.hidden = !config;
    });
    this.tabs.focus("live");
    this.deepLink.open(); // /?number=…: that caller's card, once signed in
  }

  signOut(notice = "") {
    this.push?.stop();
    this.push = null;
    this.session.clear();
    this.me = null;
    this.live.reset();
    this.log.reset();
    this.integrations.reset();
    this.team.reset();
    this.insights.reset();
    this.deepLink.reset();
    this.show("live", { refresh: false });
    this.signin.show(notice);
  }

  // --- the push channel -------------------------------------------------------------------------

  onSnapshot(items) {
    const live = this.live;
    const popped = live.store.applySnapshot(items);
    live.render();
    for (const entry of popped) live.popped(entry);
    for (const entry of live.store.calls.values()) if (entry.picked && isLive(entry)) live.refreshPick(entry);
    this.log.refreshSoon();
  }

  onEnvelope(envelope) {
    f.learnServerTime(envelope.at);
    const result = this.live.store.applyEnvelope(envelope);
    if (!result) return;
    const { entry, popped } = result;
    this.live.render();
    if (popped) this.live.popped(entry);
    if (stateOf(entry) !== "ringing") this.alerts.settled(entry.id);
    if (envelope.card && entry.picked) this.live.refreshPick(entry);
    if (envelope.type === EventType.CALL_ENDED || this.view === "log") this.log.refreshSoon();
  }

  onStatus(status) {
    this.connection.show(status);
    this.tick();
  }

  // --- views and the clock ----------------------------------------------------------------------

  focusCall(id) {
    this.show("live");
    this.live.focus(id);
  }

  show(view, { refresh = true } = {}) {
    this.view = view;
    this.tabs.select(view);
    if (view === "log" && refresh) this.log.refresh();
    this.integrations.setVisible(view === "status" && refresh);
    this.team.setVisible(view === "team" && refresh);
    this.insights.setVisible(view === "insights" && refresh);
  }

  /** The agent picked another language: what is on screen is drawn again in it, no reload. */
  relocalise() {
    this.live.relocalise();
    this.log.relocalise();
    this.integrations.render();
    this.team.render();
    this.insights.render();
    this.connection.show(this.connection.status);
    this.alerts.render();
    this.sound.render();
    this.tick();
  }

  tick() {
    this.live.tick();
    this.connection.tick();
  }
}

new Console().start();
