// Who is calling, as the top of a call's card says it. Built afresh whenever the card, the agent's
// pick or the language changes (card.js decides when); the customer's details below come from
// details.js, the sentences from wording.js.

import { candidatesPanel } from "./candidates.js";
import { chip, initials } from "./cardparts.js";
import { h, userText } from "./dom.js";
import * as f from "./format.js";
import { t } from "./i18n.js";
import { icon } from "./icons.js";
import { cardLinks } from "./links.js";
import { storeChip } from "./stores.js";
import { headlineParts, matchedOnChip, reasonText } from "./wording.js";

const SPECIAL_LOOKS = {
  unknown: { icon: "question", title: () => t("special.unknown.title"), hint: () => t("special.unknown.hint") },
  withheld: { icon: "eyeOff", title: () => t("special.withheld.title"), hint: () => t("special.withheld.hint") },
  invalid: { icon: "alert", title: () => t("special.invalid.title"), hint: () => t("special.invalid.hint") },
  unavailable: { icon: "alert", title: () => t("special.unavailable.title"), hint: () => t("special.unavailable.hint") },
  internal: { icon: "headset", title: () => t("special.internal.title"), hint: () => t("special.internal.hint") },
};

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
 * when the store does not know the number, and the candidates when several customers share it;
 * under the headline, links to the customer in the store's admin and to call the caller back.
 * `actions`: {pick(entry, candidate), unpick(entry)}.
 */
export function callerNodes(entry, card, headlineId, actions) {
  if (!card) {
    const name = entry.call.customer_name || entry.call.from_display || t("live.incoming");
    return [identity(headlineId, "pending", initials(name), h("bdi", {}, name), [chip(t("match.looking_up"), "chip-muted")])];
  }
  const match = card.match || {};
  const status = match.internal_agent ? "internal" : match.status;
  const customer = card.customer;
  const picked = entry.picked;
  const candidates = Array.isArray(match.candidates) ? match.candidates : [];

  const chips = [];
  if (picked) chips.push(chip(t("match.picked", { count: candidates.length }), "chip-pick"));
  else chips.push(chip(f.matchStatus(status) || t("match.status.unknown"), `chip-match chip-${status}`));
  const source = picked ? candidates.find((c) => c.customer_external_id === picked.customer) : match;
  chips.push(matchedOnChip(source?.via, source?.matched_on));
  if (card.stats?.loyalty_tier) {
    const tier = card.stats.loyalty_tier;
    chips.push(chip(f.tier(tier), `tier tier-${tier}`));
  }
  if (customer?.guest) chips.push(chip(t("match.guest"), "chip-muted"));
  if (card.store) chips.unshift(storeChip(card.store));
  for (const tag of customer?.tags || []) chips.push(userText("span", tag, { class: "chip chip-tag" }));

  let avatar = initials(customer?.name || match.internal_agent);
  if (!customer) {
    if (status === "ambiguous") avatar = String(candidates.length || "?");
    else if (SPECIAL_LOOKS[status] && status !== "internal") avatar = icon(SPECIAL_LOOKS[status].icon, "icon avatar-icon");
  }
  const nodes = [identity(headlineId, customer || picked ? "person" : status, avatar, headlineParts(card), chips)];
  // The customer in the store's admin, and "Call back" (card.js hides it while the call is live).
  const links = cardLinks(card);
  if (links) nodes.push(links.row);

  if (picked) {
    nodes.push(
      h(
        "p",
        { class: "picked-bar" },
        h("button", { type: "button", class: "btn btn-link", onclick: () => actions.unpick(entry) }, icon("back", "icon icon-directional"), " ", t("match.show_all")),
      ),
    );
    if (!customer) nodes.push(h("p", { class: "notice notice-warn" }, t("match.gone")));
  }

  const reason = reasonText(card.likely_reason);
  if (reason) {
    nodes.push(
      h(
        "div",
        { class: "reason", dataset: { code: card.likely_reason.code || "" } },
        icon("bulb", "icon reason-icon"),
        h("div", {}, h("span", { class: "reason-label" }, t("reason.label")), userText("p", reason, { class: "reason-text" })),
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
        h("div", {}, h("p", { class: "special-title" }, look.title()), h("p", { class: "muted" }, look.hint())),
      ),
    );
  }

  if (status === "ambiguous" && !picked) {
    nodes.push(candidatesPanel(entry, candidates, customer, actions.pick));
  }
  return nodes;
}
