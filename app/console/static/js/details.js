// The lower half of a known customer's card, in two columns: their open cases and latest orders
// on the left; lifetime value, contact details and the calls before this one on the right.

import { chip, section } from "./cardparts.js";
import { externalLink, h, userText } from "./dom.js";
import * as f from "./format.js";
import { t, tParts } from "./i18n.js";
import { icon } from "./icons.js";
import { caseIdLink, orderNumberLink } from "./links.js";

/** What the store knows about the customer: open cases and orders; value, contact and recent calls. */
export function customerDetails(card) {
  const left = [];
  const right = [];
  const cases = card.open_cases || [];
  if (cases.length) {
    left.push(
      section(
        t("cases.title", { count: cases.length }),
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
                chip(f.caseKind(c.kind), `chip-kind kind-${c.kind}`),
                caseIdLink(c),
                chip(f.caseStatus(c.status), "chip-muted"),
              ),
              c.subject ? userText("p", c.subject, { class: "case-subject" }) : null,
              h(
                "p",
                { class: "case-meta muted" },
                c.order_number ? [tParts("case.order", { order: h("bdi", {}, c.order_number) }), " · "] : null,
                t("case.opened", { when: f.ago(c.opened_at) }),
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
      total > orders.length ? t("orders.title_latest", { shown: orders.length, total }) : t("orders.title", { count: orders.length }),
      orders.length ? h("ul", { class: "orders" }, orders.map(order)) : h("p", { class: "muted" }, t("orders.none")),
    ),
  );

  const stats = card.stats;
  if (stats) {
    const ltv = stats.lifetime_value || [];
    right.push(
      section(
        t("customer.title"),
        h(
          "dl",
          { class: "stats" },
          h("div", {}, h("dt", {}, t("customer.ltv")), h("dd", { class: "ltv" }, ltv.length ? ltv.map((v) => h("span", {}, f.money(v.amount, v.currency))) : "—")),
          h("div", {}, h("dt", {}, t("customer.orders")), h("dd", {}, f.number(stats.orders_count ?? 0))),
          h(
            "div",
            {},
            h("dt", {}, t("customer.returns")),
            h("dd", {}, f.number(stats.returns_count ?? 0), stats.high_returns ? chip(t("customer.many_returns"), "chip-warn") : null),
          ),
          card.customer?.customer_since
            ? h("div", {}, h("dt", {}, t("customer.since")), h("dd", {}, f.date(card.customer.customer_since)))
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
      t("recent.title"),
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
                  h("span", { class: ["badge", `call-${c.state}`] }, f.callState(c.state) || t("recent.call")),
                  ` ${f.ago(c.at)}`,
                  c.agent ? [" · ", userText("span", c.agent)] : null,
                  c.disposition ? chip(f.dispositionLabel(c.disposition), "chip-outcome") : null,
                ),
                c.note ? userText("p", c.note, { class: "recent-note" }) : null,
              ),
            ),
          )
        : h("p", { class: "muted" }, t("recent.none")),
    ),
  );
  return h("div", { class: "details" }, h("div", { class: "col" }, left), h("div", { class: "col" }, right));
}

function order(o) {
  const when = [t("order.placed", { when: f.ago(o.placed_at) })];
  if (o.delivered_at) when.push(t("order.delivered", { when: f.ago(o.delivered_at) }));
  else if (o.shipped_at) when.push(t("order.shipped", { when: f.ago(o.shipped_at) }));
  const platform = [o.financial_status, o.fulfillment_status].filter(Boolean).map(f.platformStatus).join(", ");
  const items = (o.items || [])
    .map((i) => (i.quantity > 1 ? `${i.title} ×${i.quantity}` : i.title))
    .filter(Boolean)
    .join(" · ");
  const track = externalLink(o.tracking_url, [t("order.track"), " ", icon("external", "icon icon-inline")], { class: "track" });
  return h(
    "li",
    { class: "order" },
    h(
      "div",
      { class: "order-top" },
      orderNumberLink(o),
      h("span", { class: ["badge", `status-${o.status}`] }, f.orderStatus(o.status)),
      h("span", { class: "order-total" }, f.money(o.total, o.currency)),
      o.refunded ? h("span", { class: "refunded" }, t("order.refunded", { amount: f.money(o.refunded, o.currency) })) : null,
    ),
    h("p", { class: "order-meta muted" }, when.join(" · "), platform ? ` · ${platform}` : "", track ? " · " : "", track),
    items ? userText("p", items, { class: "order-items" }) : null,
  );
}
