// Several customers share the number: who is calling? One line per candidate with what tells them
// apart (city, orders, the last one, an open case), and a button that shows that one's card.

import { chip, initials } from "./cardparts.js";
import { h, userText } from "./dom.js";
import * as f from "./format.js";
import { t, tParts } from "./i18n.js";
import { candidateLink } from "./links.js";
import { matchedOnChip } from "./wording.js";

/**
 * The customers who share the caller's number, each a button that opens their card
 * (`pick(entry, candidate)`). `favourite`: the customer the card already shows, left out.
 */
export function candidatesPanel(entry, candidates, favourite, pick) {
  const title = favourite ? t("candidates.others") : t("candidates.title", { count: candidates.length });
  const items = candidates
    .filter((c) => !favourite || c.customer_external_id !== favourite.external_id)
    .map((c) => {
      const facts = [];
      if (c.city) facts.push(userText("span", c.city));
      facts.push(t("candidates.orders", { count: c.orders_count || 0 }));
      if (c.last_order_number || c.last_order_at) {
        const which = [c.last_order_number ? h("bdi", {}, c.last_order_number) : null, c.last_order_at ? f.ago(c.last_order_at) : null];
        facts.push(tParts("candidates.last_order", { order: h("span", {}, which.filter(Boolean).flatMap((x, i) => (i ? [" ", x] : [x]))) }));
      }
      const content = [
        h("span", { class: "avatar avatar-small", "aria-hidden": "true" }, initials(c.name)),
        h(
          "span",
          { class: "candidate-text" },
          userText("span", c.name || t("candidates.unnamed"), { class: "candidate-name" }),
          h("span", { class: "candidate-facts" }, facts.map((x, i) => [i ? " · " : "", x])),
          h(
            "span",
            { class: "chips" },
            c.has_open_case ? chip(t("candidates.open_case"), "chip-case") : null,
            c.guest ? chip(t("match.guest"), "chip-muted") : null,
            matchedOnChip(c.via, c.matched_on),
          ),
        ),
      ];
      // A guest has no account to open: the card can only list what its orders say.
      if (!c.customer_external_id) return h("li", {}, h("div", { class: "candidate candidate-static" }, content));
      // Their page in the store's admin sits beside the button: a link inside a button is neither.
      const admin = candidateLink(c);
      return h(
        "li",
        { class: admin ? "candidate-with-link" : null },
        h(
          "button",
          { type: "button", class: "candidate", onclick: () => pick(entry, c) },
          content,
          h("span", { class: "candidate-go" }, t("candidates.show")),
        ),
        admin,
      );
    });
  return h("section", { class: "panel candidates-panel" }, h("h4", { class: "panel-title" }, title), h("ul", { class: "candidates" }, items));
}
