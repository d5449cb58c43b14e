// The live stack: a card on screen for every call the store holds, in its order, and what the
// agent does with them (pick one of several customers, close a card, save a note). Beyond two
// ringing calls the others are lines under the full cards (compact.js). The live count on the
// tab, the page title and the ring follow the calls that are ringing.

import { CallStore, isLive } from "./calls.js";
import { CallCard } from "./card.js";
import { CompactRow, callerName, fullRinging, isRinging, waitingSince } from "./compact.js";
import { byId, clear, h } from "./dom.js";
import { t } from "./i18n.js";
import { reasonText } from "./wording.js";

let cards = 0;

/** Put `nodes` in `parent`, in that order, moving nothing that is already in place: moving a node
 * takes the focus out of it. */
function placeKeepingFocus(parent, nodes) {
  const current = [...parent.children];
  if (current.length === nodes.length && current.every((node, i) => node === nodes[i])) return;
  const active = document.activeElement;
  parent.replaceChildren(...nodes);
  if (active && active !== document.activeElement && active.isConnected && parent.contains(active)) active.focus();
}

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
    // The ringing calls beyond the full ones: their lines (compact.js), and which are full now.
    this.rows = new Map();
    this.full = new Set();
    this.el = {
      calls: byId("calls"),
      empty: byId("live-empty"),
      liveCount: byId("live-count"),
      queue: h("section", { class: "ringing-queue", "aria-labelledby": "ringing-queue-title" }),
      queueTitle: h("h3", { class: "queue-title", id: "ringing-queue-title" }),
    };
    this.actions = {
      pick: (entry, candidate) => this.pick(entry, candidate),
      unpick: (entry) => this.unpick(entry),
      close: (entry) => this.close(entry),
      saveNote: (entry, text, disposition) => this.saveNote(entry, text, disposition),
      me: () => this.me(),
      say: (text) => this.announcer.say(text),
    };
  }

  /** Signed out: every card goes, and the store starts afresh. */
  reset() {
    this.store = new CallStore();
    for (const view of this.views.values()) view.el.remove();
    this.views.clear();
    for (const row of this.rows.values()) row.el.remove();
    this.rows.clear();
    this.full = new Set();
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
        this.rows.get(id)?.el.remove();
        this.rows.delete(id);
        this.alerts.settled(id);
      }
    }
    this.full = fullRinging(ordered, this.full);
    const lines = [];
    const nodes = [];
    for (const entry of ordered) {
      const view = this.viewOf(entry);
      if (isRinging(entry) && !this.full.has(entry.id)) lines.push(entry);
      else {
        view.el.hidden = false;
        this.dropRow(entry.id, view);
        nodes.push(view.el);
      }
    }
    // The lines sit together under the full cards, the longest waiting (the next to open) first.
    lines.sort((a, b) => waitingSince(a) - waitingSince(b));
    if (lines.length) {
      const liveEnd = nodes.findIndex((node) => !isLive(this.store.calls.get(node.dataset.callId)));
      nodes.splice(liveEnd < 0 ? nodes.length : liveEnd, 0, this.queue(lines));
    }
    placeKeepingFocus(this.el.calls, nodes);
    this.el.empty.hidden = nodes.length > 0;
    const live = this.store.liveCount;
    this.el.liveCount.hidden = live === 0;
    this.el.liveCount.textContent = String(live);
    const ringing = this.store.ringingCount;
    document.title = ringing ? t("live.page_title", { count: ringing }) : "Ringcard";
    this.sound.update(ringing);
  }

  /** The card of `entry`, made on first sight and brought up to date after. */
  viewOf(entry) {
    let view = this.views.get(entry.id);
    if (view) view.update(entry);
    else {
      view = new CallCard(entry, this.actions);
      cards += 1;
      view.el.id = `call-card-${cards}`;
      this.views.set(entry.id, view);
    }
    return view;
  }

  /** The group of ringing calls beyond the full two: one line each, a card under an opened one. */
  queue(lines) {
    clear(this.el.queueTitle).append(t("compact.title", { count: lines.length }));
    const nodes = [this.el.queueTitle];
    for (const entry of lines) {
      const view = this.views.get(entry.id);
      let row = this.rows.get(entry.id);
      if (row) row.update(entry);
      else {
        row = new CompactRow(entry, view.el.id, (open) => this.toggle(entry.id, open));
        this.rows.set(entry.id, row);
      }
      view.el.hidden = !row.open;
      nodes.push(row.el, view.el);
    }
    placeKeepingFocus(this.el.queue, nodes);
    return this.el.queue;
  }

  /** A line's card opened or folded by the agent. */
  toggle(id, open) {
    const row = this.rows.get(id);
    const view = this.views.get(id);
    if (!row || !view) return;
    row.setOpen(open);
    view.el.hidden = !open;
    if (open) view.headline?.scrollIntoView?.({ block: "nearest" });
  }

  /** `id` is a full card now (or never was a line): its line goes, the focus it held to the card. */
  dropRow(id, view) {
    const row = this.rows.get(id);
    if (!row) return;
    const hadFocus = row.el.contains(document.activeElement);
    row.el.remove();
    this.rows.delete(id);
    if (hadFocus) queueMicrotask(() => view.focusTarget?.focus());
  }

  /** A call just started ringing on screen: tell the agent, in words and on the desktop. */
  popped(entry) {
    const view = this.views.get(entry.id);
    const headline = view?.headlineText() || t("live.incoming");
    const reason = reasonText(entry.card?.likely_reason);
    // A call that rings as a line is announced as one: who, and how many are waiting, not the
    // whole card read out over the ones the agent is looking at.
    if (this.rows.has(entry.id)) this.announcer.pop(t("compact.pop", { caller: callerName(entry), count: this.store.ringingCount }));
    else this.announcer.pop(t("live.pop", { headline, reason }).trim());
    this.alerts.ringing(entry.id, headline, reason || entry.card?.caller?.display || "");
  }

  tick() {
    for (const view of this.views.values()) view.tick();
    for (const row of this.rows.values()) row.tick();
  }

  /** The keyboard to call `id`: its card, or its line while it is one. */
  focus(id) {
    const row = this.rows.get(id);
    if (row && !row.open) row.button.focus();
    else this.views.get(id)?.focusTarget?.focus();
  }

  async pick(entry, candidate) {
    try {
      const card = await this.api.lookup(this.numberOf(entry), candidate.customer_external_id, entry.card?.store?.id);
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
      const card = await this.api.lookup(this.numberOf(entry), picked.customer, entry.card?.store?.id);
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
    if (next && next.id !== entry.id) this.focus(next.id);
    if (!this.el.calls.contains(document.activeElement)) byId("main").focus();
  }

  async saveNote(entry, text, disposition) {
    await this.api.saveNote(entry.id, text, disposition);
    entry.call.note = text;
    entry.call.disposition = disposition || null;
    this.announcer.say(t("live.note_saved"));
    this.onNoteSaved();
  }
}
