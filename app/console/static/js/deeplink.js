// Deep links (docs/console.md#deep-links): `/?number=…&customer=…` opens that caller's card, the
// link a 3CX contact carries (docs/pbx/3cx.md) and any CRM's "open in Ringcard".
//
// - The address is read once, when the page loads. An agent who is not signed in signs in first
//   (the query stays in the address meanwhile, so a reload of the sign-in page keeps it too); the
//   card opens right after.
// - Once it has been acted on, `number` and `customer` leave the address: a reload or a bookmark of
//   the console then does not open a card the agent has closed long ago.
// - The card comes from the lookup API (GET /api/v1/lookup), the same card a call pops, without a
//   call: no state, no note. `customer` is the customer to show when several share the number
//   (the link's pick, used only when the number's candidates contain it).
// - A value that is no phone number gets a sentence saying so, never a broken card.

import { callerNodes } from "./caller.js";
import { customerDetails } from "./details.js";
import { byId, clear, h } from "./dom.js";
import * as f from "./format.js";
import { key, onLocaleChange, t } from "./i18n.js";
import { icon } from "./icons.js";

const PARAMS = ["number", "customer"];
const MAX_NUMBER = 256; // what GET /api/v1/lookup takes
const PHONE_LIKE = /^\+?[\d\s().\-/]+$/;
// Cards that have no number to show a customer for (caller.kind, docs/api.md).
const NO_PHONE = new Set(["not_a_phone", "invalid", "withheld"]);

/** What `search` (the page's query) asks to open: {number, customer}, or null when it names
 * neither. */
export function readDeepLink(search) {
  const query = new URLSearchParams(search);
  if (!PARAMS.some((name) => query.has(name))) return null;
  let number = (query.get("number") ?? "").replace(/^\s*tel:/i, "");
  // A "+" nobody encoded reads back as a space ("?number=+48…" is " 48…"); 3CX sends numbers so.
  if (/^\s+\d/.test(number)) number = `+${number.trimStart()}`;
  return { number: number.trim(), customer: (query.get("customer") ?? "").trim() };
}

/** Why `number` cannot be looked up (a message key), or null when it may be a phone number. */
export function problemOf(number) {
  if (!number) return key("deeplink.no_number");
  if (number.length > MAX_NUMBER || !PHONE_LIKE.test(number)) return key("deeplink.not_a_phone");
  if (number.replace(/\D+/g, "").length < 3) return key("deeplink.not_a_phone");
  return null;
}

/** The address without the deep link's parameters (any other query and the fragment stay). */
function cleanAddress() {
  const url = new URL(window.location.href);
  for (const name of PARAMS) url.searchParams.delete(name);
  window.history.replaceState(window.history.state, "", `${url.pathname}${url.search}${url.hash}`);
}

export class DeepLink {
  /**
   * `signin`: the SignIn form (told what will open after it); `onOpen()`: show the live view, where
   * the card goes.
   */
  constructor({ api, signin, onOpen }) {
    this.api = api;
    this.signin = signin;
    this.onOpen = onOpen;
    this.pending = readDeepLink(window.location.search);
    this.generation = 0;
    this.entry = null; // {id, call, card, picked, number, note}: the card on screen
    this.message = null; // {key, params, alert}
    this.box = h("div", { class: "deeplink", hidden: true });
    byId("view-live").insertBefore(this.box, byId("live-empty"));
    if (this.pending && !problemOf(this.pending.number)) this.signin.setIntent(key("deeplink.signin"), { number: this.pending.number });
    onLocaleChange(() => this.render());
  }

  /** Signed in: open what the address asked for, once. */
  async open() {
    const link = this.pending;
    if (!link) return;
    this.pending = null;
    this.signin.setIntent(null);
    cleanAddress();
    this.onOpen();
    const generation = ++this.generation;
    const problem = problemOf(link.number);
    if (problem) return this.show(null, { key: problem, params: { value: link.number }, alert: true });
    this.show(null, { key: key("deeplink.looking_up"), params: { number: link.number } });
    try {
      const card = await this.api.lookup(link.number);
      if (generation !== this.generation) return; // signed out meanwhile
      const kind = card?.caller?.kind;
      if (NO_PHONE.has(kind) || NO_PHONE.has(card?.match?.status)) {
        return this.show(null, { key: key("deeplink.not_a_phone"), params: { value: link.number }, alert: true });
      }
      const entry = { id: "deeplink", call: {}, card, picked: null, number: card.caller?.e164 || link.number, note: null };
      const wanted = link.customer;
      if (wanted && card.customer?.external_id !== wanted) {
        const candidates = Array.isArray(card.match?.candidates) ? card.match.candidates : [];
        if (candidates.some((c) => c.customer_external_id === wanted)) {
          const picked = await this.api.lookup(entry.number, wanted);
          if (generation !== this.generation) return;
          entry.picked = { customer: wanted, card: picked };
        } else entry.note = key("deeplink.customer_not_here");
      }
      this.show(entry, null);
      this.headline()?.focus();
    } catch (error) {
      if (generation !== this.generation && error.status !== 401) return;
      if (error.status === 401) {
        // The session ended under us (the sign-in form is back): open it after the next sign-in.
        this.pending = link;
        this.signin.setIntent(key("deeplink.signin"), { number: link.number });
        return;
      }
      this.show(null, { key: key("deeplink.failed"), params: { number: link.number, error: error.message }, alert: true });
    }
  }

  /** Signed out: the card and any message go (the next agent at this PC must not see them). */
  reset() {
    this.generation += 1;
    this.show(null, null);
  }

  show(entry, message) {
    this.entry = entry;
    this.message = message;
    this.render();
  }

  headline() {
    return this.box.querySelector(".headline");
  }

  render() {
    clear(this.box);
    this.box.hidden = !this.entry && !this.message;
    if (this.message) this.box.append(this.notice(this.message));
    if (this.entry) this.box.append(this.card(this.entry));
  }

  notice({ key: name, params, alert }) {
    return h(
      "div",
      { class: ["notice", "deeplink-notice", alert ? "notice-warn" : null], role: alert ? "alert" : "status" },
      h("p", {}, t(name, params)),
      alert ? h("button", { type: "button", class: "btn btn-small btn-tool", onclick: () => this.dismiss() }, t("deeplink.dismiss")) : null,
    );
  }

  dismiss() {
    this.show(this.entry, null);
    byId("main").focus();
  }

  /** The card, drawn as a call's card is (caller.js, details.js), under a bar saying where from. */
  card(entry) {
    const card = entry.picked?.card || entry.card;
    const headlineId = "deeplink-headline";
    const actions = { pick: (e, candidate) => this.pick(candidate), unpick: () => this.unpick() };
    const body = h("div", { class: "call-body" }, callerNodes(entry, card, headlineId, actions));
    if (entry.note && !entry.picked) body.append(h("p", { class: "notice notice-warn" }, t(entry.note)));
    if (card?.customer) body.append(customerDetails(card));
    if (card?.data_as_of) body.append(h("p", { class: "as-of muted" }, t("call.data_as_of", { when: f.dateTime(card.data_as_of) })));
    const headline = body.querySelector(".headline")?.textContent || entry.number;
    const close = h(
      "button",
      { type: "button", class: "btn btn-icon close", title: t("call.close"), "aria-label": t("call.close_named", { headline }), onclick: () => this.close() },
      icon("close"),
    );
    const number = card?.caller?.display || entry.number;
    const bar = h(
      "div",
      { class: "call-bar" },
      h("span", { class: "call-state" }, h("span", { class: "state-pill" }, icon("external", "icon icon-inline"), h("span", { class: "state-label" }, t("deeplink.title")))),
      h("span", { class: "call-ends" }, h("span", { class: "caller-number", dir: "ltr" }, number), close),
    );
    const match = card?.match?.internal_agent ? "internal" : card?.match?.status || "unknown";
    return h("article", { class: "lookup-card", "aria-labelledby": headlineId, dataset: { match } }, bar, body);
  }

  async pick(candidate) {
    const entry = this.entry;
    const generation = this.generation;
    try {
      const card = await this.api.lookup(entry.number, candidate.customer_external_id);
      if (generation !== this.generation || entry !== this.entry) return;
      entry.picked = { customer: candidate.customer_external_id, card };
      this.render();
      this.headline()?.focus();
    } catch (error) {
      if (generation !== this.generation) return;
      this.show(entry, { key: key("live.pick_failed"), params: { error: error.message }, alert: true });
    }
  }

  unpick() {
    if (!this.entry) return;
    this.entry.picked = null;
    this.render();
    this.headline()?.focus();
  }

  close() {
    this.show(null, null);
    byId("main").focus();
  }
}
