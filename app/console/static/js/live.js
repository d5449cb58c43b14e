// The live stack: a card on screen for every call the store holds, in its order, and what the
// agent does with them (pick one of several customers, close a card, save a note). The live count
// on the tab, the page title and the ring follow the calls that are ringing.

import { CallStore } from "./calls.js";
import { CallCard } from "./card.js";
import { byId } from "./dom.js";
import { t } from "./i18n.js";
import { reasonText } from "./wording.js";

export class LiveStack {
  /**
   * `me()`: the signed-in agent, null until known; `onNoteSaved()`: a note reached the server.
   */
  constructor({ api, alerts, sound, announcer, me, onNoteSaved }) {
    this.api = api;
    this.alerts = alerts;
    this.sound = sound;
    this.announcer = announcer;
    this.me = me;
    this.onNoteSaved = onNoteSaved;
    this.store = new CallStore();
    this.views = new Map();
    this.el = { calls: byId("calls"), empty: byId("live-empty"), liveCount: byId("live-count") };
  }

  /** Signed out: every card goes, and the store starts afresh. */
  reset() {
    this.store = new CallStore();
    for (const view of this.views.values()) view.el.remove();
    this.views.clear();
    this.sound.stop();
    this.render();
  }

  /** The agent switched language: every card drawn again in it. */
  relocalise() {
    for (const view of this.views.values()) view.relocalise();
    this.render();
  }

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
      me: () => this.me(),
      say: (text) => this.announcer.say(text),
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
    document.title = ringing ? t("live.page_title", { count: ringing }) : "Ringcard";
    this.sound.update(ringing);
  }

  /** A call just started ringing on screen: tell the agent, in words and on the desktop. */
  popped(entry) {
    const view = this.views.get(entry.id);
    const headline = view?.headlineText() || t("live.incoming");
    const reason = reasonText(entry.card?.likely_reason);
    this.announcer.pop(t("live.pop", { headline, reason }).trim());
    this.alerts.ringing(entry.id, headline, reason || entry.card?.caller?.display || "");
  }

  tick() {
    for (const view of this.views.values()) view.tick();
  }

  focus(id) {
    this.views.get(id)?.focusTarget?.focus();
  }

  async pick(entry, candidate) {
    try {
      const card = await this.api.lookup(this.numberOf(entry), candidate.customer_external_id);
      entry.picked = { customer: candidate.customer_external_id, card };
      this.render();
      this.views.get(entry.id)?.headline?.focus();
    } catch (error) {
      this.announcer.say(t("live.pick_failed", { error: error.message }));
    }
  }

  /** The customer the agent picked may have changed: fetch their card again. */
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
    this.announcer.say(t("live.note_saved"));
    this.onNoteSaved();
  }
}
