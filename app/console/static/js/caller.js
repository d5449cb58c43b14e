// Who is calling, as the top of a call's card says it. Built afresh whenever the card or the
// agent's pick changes (card.js decides when); the customer's details below come from details.js.

import { candidatesPanel } from "./candidates.js";
import { chip, initials } from "./cardparts.js";
import { h, userText } from "./dom.js";
import * as f from "./format.js";
import { icon } from "./icons.js";

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

function identity(headlineId, kind, avatarText, headline, chips) {
  return h(
    "div",
    { class: "identity" },
    h("div", { class: ["avatar", `avatar-${kind}`], "aria-hidden": "true" }, avatarText),
    h(
      "div",
      { class: "identity-text" },
      h("h3", { class: "headline", id: headlineId, tabindex: "-1" }, headline),
      h("div", { class: "chips" }, chips),
    ),
  );
}

/**
 * The top of the card for `entry` showing `card` (null while the lookup runs): the avatar and
 * headline, the chips that say how sure the match is, the likely reason for the call, what to ask
 * when the store does not know the number, and the candidates when several customers share it.
 * `actions`: {pick(entry, candidate), unpick(entry)}.
 */
export function callerNodes(entry, card, headlineId, actions) {
  if (!card) {
    const name = entry.call.customer_name || entry.call.from_display || "Incoming call";
    return [identity(headlineId, "pending", initials(name), h("bdi", {}, name), [chip("Looking up the caller…", "chip-muted")])];
  }
  const match = card.match || {};
  const status = match.internal_agent ? "internal" : match.status;
  const customer = card.customer;
  const picked = entry.picked;
  const candidates = Array.isArray(match.candidates) ? match.candidates : [];

  // The server builds the headline with the agent's pick included (app/card/build.py).
  const headline = card.headline || customer?.name || card.caller?.display || "Incoming call";
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
  const nodes = [identity(headlineId, customer || picked ? "person" : status, avatar, headlineNodes(headline, words), chips)];

  if (picked) {
    nodes.push(
      h(
        "p",
        { class: "picked-bar" },
        h("button", { type: "button", class: "btn btn-link", onclick: () => actions.unpick(entry) }, icon("back"), " Show all candidates again"),
      ),
    );
    if (!customer) {
      nodes.push(h("p", { class: "notice notice-warn" }, "That customer no longer matches this number."));
    }
  }

  const reason = card.likely_reason?.text;
  if (reason) {
    nodes.push(
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
    nodes.push(
      h(
        "div",
        { class: ["special", `special-${status}`] },
        icon(look.icon, "icon special-icon"),
        h("div", {}, h("p", { class: "special-title" }, look.title), h("p", { class: "muted" }, look.hint)),
      ),
    );
  }

  if (status === "ambiguous" && !picked) {
    nodes.push(candidatesPanel(entry, candidates, customer, actions.pick));
  }
  return nodes;
}
