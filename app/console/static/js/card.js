// One call on screen: who is calling (the card, API.md §4: caller.js and details.js), how the call
// is going (the bar, here), and the note the agent writes after it (wrapup.js).
//
// A call another agent answered folds to one line ("Anna Nowak — answered by Ola K."): it is
// theirs now. The line is a button that opens the full card again (and folds it back).

import { providerCallRef } from "./callref.js";
import { callerNodes } from "./caller.js";
import { answeredElsewhere, isLive, stateOf } from "./calls.js";
import { customerDetails } from "./details.js";
import { clear, h, userText } from "./dom.js";
import * as f from "./format.js";
import { t, tParts } from "./i18n.js";
import { icon } from "./icons.js";
import { otherStores } from "./stores.js";
import { NoteBox } from "./wrapup.js";

let counter = 0;

/** Who is calling, in a few words, for the folded line. */
function callerLabel(entry) {
  const card = entry.picked?.card || entry.card;
  if (card?.customer?.name) return card.customer.name;
  if (entry.call.customer_name) return entry.call.customer_name;
  if (card?.match?.status === "withheld") return t("headline.withheld");
  return card?.caller?.display || entry.call.from_display || entry.call.from_raw || t("call.a_caller");
}

export class CallCard {
  /**
   * `actions`: {pick(entry, candidate), unpick(entry), close(entry), saveNote(entry, text,
   * disposition), me() (the signed-in agent, null until known), say(text)}
   */
  constructor(entry, actions) {
    counter += 1;
    this.actions = actions;
    this.ids = {
      headline: `call-${counter}-headline`,
      note: `call-${counter}-note`,
      outcome: `call-${counter}-outcome`,
      full: `call-${counter}-full`,
    };
    this.rendered = { card: undefined, picked: undefined, pending: undefined };
    // Opened again by the agent after it folded (someone else answered): stays open.
    this.expanded = false;
    this.wasElsewhere = false;
    this.ref = null;
    // The close button is built once: an update of the bar must not take the focus from it.
    this.closeButton = h(
      "button",
      { type: "button", class: "btn btn-icon close", onclick: () => this.actions.close(this.entry) },
      icon("close"),
    );
    this.barState = h("span", { class: "call-state" });
    // The provider's call id sits in the bar's end once, outside what each update redraws, so
    // its copy button keeps the focus.
    this.barWhere = h("span", { class: "call-where" });
    this.barEnds = h("span", { class: "call-ends" }, this.barWhere);
    this.bar = h("div", { class: "call-bar" }, this.barState, this.barEnds);
    this.body = h("div", { class: "call-body" });
    this.wrapup = new NoteBox(this.ids, (text, disposition) => this.actions.saveNote(this.entry, text, disposition));
    this.full = h("div", { class: "call-full", id: this.ids.full }, this.bar, this.body, this.wrapup.form);
    this.foldText = h("span", { class: "fold-text" });
    this.foldState = h("span", { class: "fold-state" });
    this.foldButton = h(
      "button",
      {
        type: "button",
        class: "fold-toggle",
        "aria-expanded": "false",
        "aria-controls": this.ids.full,
        onclick: () => this.setExpanded(!this.expanded),
      },
      icon("chevron", "icon fold-chevron"),
      this.foldText,
      this.foldState,
    );
    this.fold = h("div", { class: "call-fold", hidden: true }, this.foldButton);
    this.el = h(
      "article",
      { class: "call", "aria-labelledby": this.ids.headline, dataset: { callId: entry.id } },
      this.fold,
      this.full,
    );
    this.update(entry);
  }

  /** The agent switched language: everything drawn again in it (the note box keeps its text). */
  relocalise() {
    this.rendered = { card: undefined, picked: undefined, pending: undefined };
    if (this.ref) this.ref.key = null;
    this.wrapup.relabel();
    this.update(this.entry);
  }

  setExpanded(open) {
    this.expanded = open;
    this.update(this.entry);
  }

  update(entry) {
    this.entry = entry;
    const state = entry.lost ? "lost" : stateOf(entry);
    this.el.dataset.state = state;
    this.el.dataset.match = entry.card?.match?.internal_agent ? "internal" : entry.card?.match?.status || "pending";
    const card = entry.picked?.card || entry.card;
    const pending = card ? null : `${entry.call.customer_name || ""}|${entry.call.from_display || ""}`;
    if (card !== this.rendered.card || entry.picked !== this.rendered.picked || pending !== this.rendered.pending) {
      this.rendered = { card, picked: entry.picked, pending };
      this.renderBody(entry, card);
    }
    this.renderLinks(entry);
    this.renderBar(entry, state); // after the body: the close button is labelled with the headline
    this.wrapup.update(entry, state);
    this.renderFold(entry, state);
    this.tick();
  }

  /** "Call back" is for a call that is over: while it rings or is being talked, it is in the way. */
  renderLinks(entry) {
    const row = this.body.querySelector(".card-links");
    if (!row) return;
    const back = row.querySelector(".call-back");
    if (back) back.hidden = isLive(entry);
    row.hidden = [...row.children].every((el) => el.hidden);
  }

  /** Someone else answered: one line instead of the card, unless the agent opened it again. */
  renderFold(entry, state) {
    const elsewhere = answeredElsewhere({ ...entry.call, state }, this.actions.me?.());
    // A note the agent is writing is never folded away under their hands: that card stays open
    // (its line above it folds it).
    if (elsewhere && !this.wasElsewhere && this.wrapup.dirty) this.expanded = true;
    this.wasElsewhere = elsewhere;
    const folded = elsewhere && !this.expanded;
    // Focus inside what is about to be hidden goes to the line that opens it again.
    const hadFocus = folded && !this.full.hidden && this.full.contains(document.activeElement);
    this.fold.hidden = !elsewhere;
    this.full.hidden = folded;
    this.el.dataset.folded = String(folded);
    this.foldButton.setAttribute("aria-expanded", String(!folded));
    if (elsewhere) {
      const call = entry.call;
      clear(this.foldText).append(
        ...tParts("call.fold", {
          caller: userText("span", callerLabel(entry), { class: "fold-caller" }),
          who: userText("span", call.answered_by, { class: "who" }),
        }),
      );
      const label = state === "lost" ? t("call.lost") : f.callState(state);
      const since = state === "answered" ? call.answered_at || call.started_at : null;
      const talked = state === "completed" && call.talking_s !== null && call.talking_s !== undefined;
      const parts = [h("span", { class: "state-dot", "aria-hidden": "true" }), label];
      if (since) parts.push(h("span", { class: "timer", dataset: { since }, "aria-hidden": "true" }));
      if (talked) parts.push(` · ${t("call.talked", { time: f.duration(call.talking_s) })}`);
      clear(this.foldState).append(...parts);
    }
    // A folded card that is over can be closed from its line.
    const closable = !isLive(entry);
    const home = folded ? this.fold : this.bar;
    if (closable && this.closeButton.parentNode !== home) home.append(this.closeButton);
    if (!closable) this.closeButton.remove();
    if (hadFocus) this.foldButton.focus();
  }

  /** The headline, for focus after a pick and for announcements. */
  get headline() {
    return this.body.querySelector(".headline");
  }

  /** Where the keyboard lands on this card: its headline, or its line when it is folded. */
  get focusTarget() {
    return this.full.hidden ? this.foldButton : this.headline;
  }

  headlineText() {
    return this.headline?.textContent || t("live.incoming");
  }

  tick() {
    for (const timer of this.el.querySelectorAll("[data-since]")) {
      timer.textContent = f.duration(f.secondsSince(timer.dataset.since));
    }
  }

  // --- the bar: state, timer, number, close ------------------------------------------------------

  renderBar(entry, state) {
    const call = entry.call;
    // A withheld caller has no number to show: the headline already says so.
    const withheld = entry.card?.match?.status === "withheld";
    const caller = withheld ? "" : entry.card?.caller?.display || call.from_display || call.from_raw || "";
    const parts = [];
    let label = f.callState(state);
    let since = null;
    if (state === "ringing") since = call.started_at;
    if (state === "answered") {
      since = call.answered_at || call.started_at;
      label = t("call.answered_label");
    }
    const details = [];
    if (call.answered_by && state !== "ringing") details.push(tParts("call.by", { who: userText("span", call.answered_by, { class: "who" }) }));
    if (state === "completed" || state === "answered" || state === "missed") {
      if (call.waiting_s !== null && call.waiting_s !== undefined) {
        const time = f.duration(call.waiting_s);
        details.push([state === "missed" ? t("call.rang", { time }) : t("call.waited", { time })]);
      }
    }
    if (state === "completed" && call.talking_s !== null && call.talking_s !== undefined) {
      details.push([t("call.talked", { time: f.duration(call.talking_s) })]);
    }
    if (state === "lost") {
      label = t("call.lost");
      details.push([t("call.lost_text")]);
    }
    parts.push(
      h(
        "span",
        { class: "state-pill" },
        h("span", { class: "state-dot", "aria-hidden": "true" }),
        h("span", { class: "state-label" }, label),
        since ? h("span", { class: "timer", dataset: { since }, "aria-hidden": "true" }) : null,
      ),
    );
    if (details.length) {
      parts.push(h("span", { class: "call-details" }, details.map((d, i) => [i ? " · " : "", ...d])));
    }
    clear(this.barState).append(...parts);
    const line = call.line && call.line !== "*" ? call.line : call.to;
    clear(this.barWhere).append(
      ...[
        line ? h("span", { class: "call-line" }, tParts("call.line", { line: h("bdi", {}, line) })) : null,
        caller ? h("span", { class: "caller-number", dir: "ltr" }, caller) : null,
      ].filter(Boolean),
    );
    const refKey = `${call.provider || ""}|${call.provider_call_id || ""}`;
    if (refKey !== this.ref?.key) {
      this.ref?.node?.remove();
      const node = providerCallRef(call, (text) => this.actions.say?.(text));
      if (node) this.barEnds.prepend(node);
      this.ref = { key: refKey, node };
    }
    this.closeButton.title = t("call.close");
    this.closeButton.setAttribute("aria-label", t("call.close_named", { headline: this.headlineText() }));
  }

  // --- the body: who is calling, and what the store knows about them ----------------------------

  renderBody(entry, card) {
    clear(this.body).append(...callerNodes(entry, card, this.ids.headline, this.actions));
    if (card?.customer) this.body.append(customerDetails(card));
    const others = otherStores(card);
    if (others) this.body.append(others);
    if (card?.data_as_of) {
      this.body.append(h("p", { class: "as-of muted" }, t("call.data_as_of", { when: f.dateTime(card.data_as_of) })));
    }
  }
}
