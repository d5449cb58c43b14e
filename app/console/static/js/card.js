// One call on screen: who is calling (the card, API.md §4), how the call is going, and the note
// the agent writes after it. The note box is built once and never re-rendered, so an update to
// the call or its card never eats what the agent is typing.
//
// A call another agent answered folds to one line ("Anna Nowak — answered by Ola K."): it is
// theirs now. The line is a button that opens the full card again (and folds it back).

import { providerCallRef } from "./callref.js";
import { answeredElsewhere, isLive, stateOf } from "./calls.js";
import { clear, externalLink, h, userText } from "./dom.js";
import * as f from "./format.js";
import { icon } from "./icons.js";

let counter = 0;

const SPECIAL_LOOKS = {
  unknown: {
    icon: "question",
    title: "Not in the store",
    hint: "No customer or order has this number. Ask for their name and an order number.",
  },
  withheld: {
    icon: "eyeOff",
    title: "Caller id hidden",
    hint: "The caller withheld their number. Ask for their name and an order number.",
  },
  invalid: {
    icon: "alert",
    title: "Not a usable number",
    hint: "The caller id is not a phone number anyone could have; ask who is calling.",
  },
  unavailable: {
    icon: "alert",
    title: "Store data unavailable",
    hint: "Ringcard cannot read the store's data right now; the card fills in once it can. Ask for their name and an order number.",
  },
  internal: {
    icon: "headset",
    title: "A colleague",
    hint: "This is an internal call from another agent's phone or extension.",
  },
};

export function initials(name) {
  const words = String(name || "").trim().split(/\s+/).filter(Boolean);
  const letters = words.slice(0, 2).map((w) => Array.from(w)[0] || "");
  return letters.join("").toUpperCase() || "?";
}

function personHeadline(customer) {
  const first = customer.first_name || customer.name;
  return `${customer.name} — say hello to ${first}`;
}

/**
 * The headline is an English sentence around people's words ("<name> — say hello to <first>",
 * "Internal call from <agent>", "Invalid number '<raw>'"). Each of those words goes in its own
 * <bdi>, so a Hebrew name reads right to left inside a sentence that still reads left to right.
 */
export function headlineNodes(text, words) {
  const wanted = [...new Set(words.filter((w) => typeof w === "string" && w.trim()))].sort((a, b) => b.length - a.length);
  const nodes = [];
  let rest = text;
  while (rest) {
    let at = -1;
    let word = "";
    for (const w of wanted) {
      const i = rest.indexOf(w);
      if (i !== -1 && (at === -1 || i < at)) {
        at = i;
        word = w;
      }
    }
    if (at === -1) {
      nodes.push(rest);
      break;
    }
    if (at > 0) nodes.push(rest.slice(0, at));
    nodes.push(h("bdi", {}, word));
    rest = rest.slice(at + word.length);
  }
  return nodes;
}

function section(title, ...children) {
  return h("section", { class: "panel" }, h("h4", { class: "panel-title" }, title), ...children);
}

function chip(text, className = "") {
  return h("span", { class: ["chip", className] }, text);
}

/** Who is calling, in a few words, for the folded line. */
function callerLabel(entry) {
  const card = entry.picked?.card || entry.card;
  if (card?.customer?.name) return card.customer.name;
  if (entry.call.customer_name) return entry.call.customer_name;
  if (card?.match?.status === "withheld") return "Withheld number";
  return card?.caller?.display || entry.call.from_display || entry.call.from_raw || "A caller";
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
    this.dirty = false;
    this.savedNote = null;
    this.rendered = { card: undefined, picked: undefined, pending: undefined };
    // Opened again by the agent after it folded (someone else answered): stays open.
    this.expanded = false;
    this.wasElsewhere = false;
    this.ref = null;
    // The close button is built once: an update of the bar must not take the focus from it.
    this.closeButton = h(
      "button",
      { type: "button", class: "btn btn-icon close", title: "Close this card", onclick: () => this.actions.close(this.entry) },
      icon("close"),
    );
    this.barState = h("span", { class: "call-state" });
    // The provider's call id sits in the bar's end once, outside what each update redraws, so
    // its copy button keeps the focus.
    this.barWhere = h("span", { class: "call-where" });
    this.barEnds = h("span", { class: "call-ends" }, this.barWhere);
    this.bar = h("div", { class: "call-bar" }, this.barState, this.barEnds);
    this.body = h("div", { class: "call-body" });
    this.wrapup = this.buildWrapup();
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
    this.renderBar(entry, state); // after the body: the close button is labelled with the headline
    this.updateWrapup(entry, state);
    this.renderFold(entry, state);
    this.tick();
  }

  /** Someone else answered: one line instead of the card, unless the agent opened it again. */
  renderFold(entry, state) {
    const elsewhere = answeredElsewhere({ ...entry.call, state }, this.actions.me?.());
    // A note the agent is writing is never folded away under their hands: that card stays open
    // (its line above it folds it).
    if (elsewhere && !this.wasElsewhere && this.dirty) this.expanded = true;
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
        userText("span", callerLabel(entry), { class: "fold-caller" }),
        " — answered by ",
        userText("span", call.answered_by, { class: "who" }),
      );
      const label = { answered: "In progress", lost: "No longer live" }[state] || f.CALL_STATES[state] || state;
      const since = state === "answered" ? call.answered_at || call.started_at : null;
      const talked = state === "completed" && call.talking_s !== null && call.talking_s !== undefined;
      const parts = [h("span", { class: "state-dot", "aria-hidden": "true" }), label];
      if (since) parts.push(h("span", { class: "timer", dataset: { since }, "aria-hidden": "true" }));
      if (talked) parts.push(` · talked ${f.duration(call.talking_s)}`);
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
    return this.headline?.textContent || "Incoming call";
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
    let label = f.CALL_STATES[state] || state;
    let since = null;
    if (state === "ringing") since = call.started_at;
    if (state === "answered") {
      since = call.answered_at || call.started_at;
      label = "Answered";
    }
    const details = [];
    if (call.answered_by && state !== "ringing") details.push(["by ", userText("span", call.answered_by, { class: "who" })]);
    if (state === "completed" || state === "answered" || state === "missed") {
      if (call.waiting_s !== null && call.waiting_s !== undefined) {
        details.push([state === "missed" ? "rang " : "waited ", f.duration(call.waiting_s)]);
      }
    }
    if (state === "completed" && call.talking_s !== null && call.talking_s !== undefined) {
      details.push(["talked ", f.duration(call.talking_s)]);
    }
    if (state === "lost") {
      label = "No longer live";
      details.push(["it ended while you were offline; the call log has the rest"]);
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
        line ? h("span", { class: "call-line" }, "line ", h("bdi", {}, line)) : null,
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
    this.closeButton.setAttribute("aria-label", `Close the card of ${this.headlineText()}`);
  }

  // --- the body: who is calling -----------------------------------------------------------------

  renderBody(entry, card) {
    clear(this.body);
    if (!card) {
      const name = entry.call.customer_name || entry.call.from_display || "Incoming call";
      this.body.append(
        this.identity("pending", initials(name), h("bdi", {}, name), [chip("Looking up the caller…", "chip-muted")]),
      );
      return;
    }
    const match = card.match || {};
    const status = match.internal_agent ? "internal" : match.status;
    const customer = card.customer;
    const picked = entry.picked;
    const candidates = Array.isArray(match.candidates) ? match.candidates : [];

    let headline = card.headline || customer?.name || card.caller?.display || "Incoming call";
    if (picked && customer) headline = personHeadline(customer);
    const chips = [];
    if (picked) chips.push(chip(`Picked by you from ${f.plural(candidates.length, "candidate", "candidates")}`, "chip-pick"));
    else chips.push(chip(f.MATCHES[status] || status || "Unknown", `chip-match chip-${status}`));
    const matchedOn = picked
      ? candidates.find((c) => c.customer_external_id === picked.customer)?.matched_on
      : match.matched_on;
    if (Array.isArray(matchedOn) && matchedOn.length) {
      chips.push(h("span", { class: "matched-on" }, "matched on ", matchedOn.join(", ")));
    }
    if (card.stats?.loyalty_tier) {
      const tier = card.stats.loyalty_tier;
      chips.push(chip(f.TIERS[tier] || tier, `tier tier-${tier}`));
    }
    if (customer?.guest) chips.push(chip("Guest checkout", "chip-muted"));
    for (const tag of customer?.tags || []) chips.push(userText("span", tag, { class: "chip chip-tag" }));

    let avatar = initials(customer?.name || match.internal_agent);
    if (!customer) {
      if (status === "ambiguous") avatar = String(candidates.length || "?");
      else if (SPECIAL_LOOKS[status] && status !== "internal") avatar = icon(SPECIAL_LOOKS[status].icon, "icon avatar-icon");
    }
    const words = [customer?.name, customer?.first_name, match.internal_agent, card.caller?.raw];
    this.body.append(this.identity(customer || picked ? "person" : status, avatar, headlineNodes(headline, words), chips));

    if (picked) {
      this.body.append(
        h(
          "p",
          { class: "picked-bar" },
          h("button", { type: "button", class: "btn btn-link", onclick: () => this.actions.unpick(entry) }, icon("back"), " Show all candidates again"),
        ),
      );
      if (!customer) {
        this.body.append(h("p", { class: "notice notice-warn" }, "That customer no longer matches this number."));
      }
    }

    const reason = card.likely_reason?.text;
    if (reason) {
      this.body.append(
        h(
          "div",
          { class: "reason", dataset: { code: card.likely_reason.code || "" } },
          icon("bulb", "icon reason-icon"),
          h("div", {}, h("span", { class: "reason-label" }, "Likely reason"), userText("p", reason, { class: "reason-text" })),
        ),
      );
    }

    const look = SPECIAL_LOOKS[status];
    if (look && !customer) {
      this.body.append(
        h(
          "div",
          { class: ["special", `special-${status}`] },
          icon(look.icon, "icon special-icon"),
          h("div", {}, h("p", { class: "special-title" }, look.title), h("p", { class: "muted" }, look.hint)),
        ),
      );
    }

    if (status === "ambiguous" && !picked) {
      this.body.append(this.candidatesPanel(entry, candidates, customer));
    }
    if (customer) this.body.append(this.details(card));
    if (card.data_as_of) {
      this.body.append(h("p", { class: "as-of muted" }, `Store data as of ${f.dateTime(card.data_as_of)}`));
    }
  }

  identity(kind, avatarText, headline, chips) {
    return h(
      "div",
      { class: "identity" },
      h("div", { class: ["avatar", `avatar-${kind}`], "aria-hidden": "true" }, avatarText),
      h(
        "div",
        { class: "identity-text" },
        h("h3", { class: "headline", id: this.ids.headline, tabindex: "-1" }, headline),
        h("div", { class: "chips" }, chips),
      ),
    );
  }

  candidatesPanel(entry, candidates, favourite) {
    const title = favourite
      ? "Other possible customers on this number"
      : `${f.plural(candidates.length, "customer shares", "customers share")} this number — who is calling?`;
    const items = candidates
      .filter((c) => !favourite || c.customer_external_id !== favourite.external_id)
      .map((c) => {
        const facts = [];
        if (c.city) facts.push(userText("span", c.city));
        facts.push(f.plural(c.orders_count || 0, "order", "orders"));
        if (c.last_order_number || c.last_order_at) {
          facts.push([
            "last order ",
            c.last_order_number ? [h("bdi", {}, c.last_order_number), " "] : null,
            c.last_order_at ? f.ago(c.last_order_at) : "",
          ]);
        }
        const content = [
          h("span", { class: "avatar avatar-small", "aria-hidden": "true" }, initials(c.name)),
          h(
            "span",
            { class: "candidate-text" },
            userText("span", c.name || "Unnamed", { class: "candidate-name" }),
            h("span", { class: "candidate-facts" }, facts.map((x, i) => [i ? " · " : "", x])),
            h(
              "span",
              { class: "chips" },
              c.has_open_case ? chip("Open case", "chip-case") : null,
              c.guest ? chip("Guest checkout", "chip-muted") : null,
              Array.isArray(c.matched_on) && c.matched_on.length
                ? h("span", { class: "matched-on" }, "matched on ", c.matched_on.join(", "))
                : null,
            ),
          ),
        ];
        // A guest has no account to open: the card can only list what its orders say.
        if (!c.customer_external_id) return h("li", {}, h("div", { class: "candidate candidate-static" }, content));
        return h(
          "li",
          {},
          h(
            "button",
            { type: "button", class: "candidate", onclick: () => this.actions.pick(entry, c) },
            content,
            h("span", { class: "candidate-go" }, "Show card"),
          ),
        );
      });
    return h("section", { class: "panel candidates-panel" }, h("h4", { class: "panel-title" }, title), h("ul", { class: "candidates" }, items));
  }

  details(card) {
    const left = [];
    const right = [];
    const cases = card.open_cases || [];
    if (cases.length) {
      left.push(
        section(
          `Open cases (${cases.length})`,
          h(
            "ul",
            { class: "cases" },
            cases.map((c) =>
              h(
                "li",
                { class: ["case", `case-${c.kind}`] },
                h(
                  "div",
                  { class: "case-top" },
                  chip(f.CASE_KINDS[c.kind] || c.kind, `chip-kind kind-${c.kind}`),
                  h("bdi", { class: "case-id" }, c.external_id),
                  chip(f.CASE_STATUSES[c.status] || c.status, "chip-muted"),
                ),
                c.subject ? userText("p", c.subject, { class: "case-subject" }) : null,
                h(
                  "p",
                  { class: "case-meta muted" },
                  c.order_number ? ["order ", h("bdi", {}, c.order_number), " · "] : null,
                  `opened ${f.ago(c.opened_at)}`,
                ),
              ),
            ),
          ),
        ),
      );
    }
    const orders = card.orders || [];
    const total = card.stats?.orders_count ?? orders.length;
    left.push(
      section(
        total > orders.length ? `Orders (latest ${orders.length} of ${total})` : `Orders (${orders.length})`,
        orders.length ? h("ul", { class: "orders" }, orders.map((o) => this.order(o))) : h("p", { class: "muted" }, "No orders yet."),
      ),
    );

    const stats = card.stats;
    if (stats) {
      const ltv = stats.lifetime_value || [];
      right.push(
        section(
          "Customer",
          h(
            "dl",
            { class: "stats" },
            h("div", {}, h("dt", {}, "Lifetime value"), h("dd", { class: "ltv" }, ltv.length ? ltv.map((v) => h("span", {}, f.money(v.amount, v.currency))) : "—")),
            h("div", {}, h("dt", {}, "Orders"), h("dd", {}, String(stats.orders_count ?? 0))),
            h(
              "div",
              {},
              h("dt", {}, "Returns"),
              h("dd", {}, String(stats.returns_count ?? 0), stats.high_returns ? chip("Many returns", "chip-warn") : null),
            ),
            card.customer?.customer_since
              ? h("div", {}, h("dt", {}, "Customer since"), h("dd", {}, f.date(card.customer.customer_since)))
              : null,
          ),
          h(
            "p",
            { class: "contact" },
            card.customer?.email ? userText("span", card.customer.email, { class: "email" }) : null,
            card.customer?.city ? userText("span", card.customer.city, { class: "city" }) : null,
          ),
          card.customer?.note ? userText("p", card.customer.note, { class: "customer-note" }) : null,
        ),
      );
    }
    const calls = card.recent_calls || [];
    right.push(
      section(
        "Recent calls",
        calls.length
          ? h(
              "ul",
              { class: "recent-calls" },
              calls.map((c) =>
                h(
                  "li",
                  {},
                  h(
                    "p",
                    { class: "recent-top" },
                    h("span", { class: ["badge", `call-${c.state}`] }, f.CALL_STATES[c.state] || c.state || "Call"),
                    ` ${f.ago(c.at)}`,
                    c.agent ? [" · ", userText("span", c.agent)] : null,
                    c.disposition ? chip(f.dispositionLabel(c.disposition), "chip-outcome") : null,
                  ),
                  c.note ? userText("p", c.note, { class: "recent-note" }) : null,
                ),
              ),
            )
          : h("p", { class: "muted" }, "No earlier calls."),
      ),
    );
    return h("div", { class: "details" }, h("div", { class: "col" }, left), h("div", { class: "col" }, right));
  }

  order(o) {
    const when = [`placed ${f.ago(o.placed_at)}`];
    if (o.delivered_at) when.push(`delivered ${f.ago(o.delivered_at)}`);
    else if (o.shipped_at) when.push(`shipped ${f.ago(o.shipped_at)}`);
    const platform = [o.financial_status, o.fulfillment_status].filter(Boolean).join(", ");
    const items = (o.items || [])
      .map((i) => (i.quantity > 1 ? `${i.title} ×${i.quantity}` : i.title))
      .filter(Boolean)
      .join(" · ");
    const track = externalLink(o.tracking_url, ["Track parcel ", icon("external", "icon icon-inline")], { class: "track" });
    return h(
      "li",
      { class: "order" },
      h(
        "div",
        { class: "order-top" },
        h("bdi", { class: "order-number" }, o.number),
        h("span", { class: ["badge", `status-${o.status}`] }, f.ORDER_STATUSES[o.status] || o.status),
        h("span", { class: "order-total" }, f.money(o.total, o.currency)),
        o.refunded ? h("span", { class: "refunded" }, `refunded ${f.money(o.refunded, o.currency)}`) : null,
      ),
      h("p", { class: "order-meta muted" }, when.join(" · "), platform ? ` · ${platform}` : "", track ? " · " : "", track),
      items ? userText("p", items, { class: "order-items" }) : null,
    );
  }

  // --- the note after the call ------------------------------------------------------------------

  buildWrapup() {
    const textarea = h("textarea", {
      id: this.ids.note,
      class: "input note-input",
      rows: "2",
      maxlength: "4000",
      dir: "auto",
      placeholder: "What was the call about? What did you promise?",
    });
    const select = h(
      "select",
      { id: this.ids.outcome, class: "input select" },
      f.DISPOSITIONS.map(([value, label]) => h("option", { value }, label)),
    );
    const status = h("span", { class: "save-status", role: "status" });
    const button = h("button", { type: "submit", class: "btn btn-primary" }, "Save note");
    const form = h(
      "form",
      { class: "wrapup", novalidate: true },
      h("label", { class: "field-label", for: this.ids.note }, "Note for the call log"),
      textarea,
      h(
        "div",
        { class: "wrapup-row" },
        h("label", { class: "field-label inline", for: this.ids.outcome }, "Outcome"),
        select,
        button,
        status,
      ),
    );
    const touched = () => {
      this.dirty = true;
      status.textContent = "";
      status.className = "save-status";
    };
    textarea.addEventListener("input", touched);
    select.addEventListener("change", touched);
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    return { form, textarea, select, status, button };
  }

  async save() {
    const { textarea, select, status, button } = this.wrapup;
    const text = textarea.value.trim();
    if (!text && !select.value) {
      status.textContent = "Write a note or pick an outcome first.";
      status.className = "save-status save-error";
      textarea.focus();
      return;
    }
    button.disabled = true;
    status.textContent = "Saving…";
    status.className = "save-status";
    try {
      await this.actions.saveNote(this.entry, text, select.value);
      this.dirty = false;
      this.savedNote = text;
      status.textContent = `Saved at ${f.time(new Date().toISOString())}`;
      status.className = "save-status save-ok";
    } catch (error) {
      status.textContent = `Not saved: ${error.message}`;
      status.className = "save-status save-error";
    } finally {
      button.disabled = false;
    }
  }

  updateWrapup(entry, state) {
    // While it rings there is nothing to note yet; from the answer on, the box is there.
    this.wrapup.form.hidden = state === "ringing";
    if (this.dirty) return;
    const note = entry.call.note;
    // A server copy without a note (an event recorded before our save) never clears the box.
    if (typeof note === "string" && note && note !== this.wrapup.textarea.value) this.wrapup.textarea.value = note;
    if (typeof entry.call.disposition === "string" && entry.call.disposition) {
      this.wrapup.select.value = entry.call.disposition;
    }
  }
}
