// The sentences a card says, composed here from the codes the server sends (so they read in the
// agent's language): the headline, the likely reason, how the number matched. The server's own
// English (`headline`, `likely_reason.text`) stays for API users and for codes this console does
// not know yet.

import { h } from "./dom.js";
import { ago, list, relative } from "./intl.js";
import { label, t, tParts } from "./i18n.js";

// A caller id that is not a phone number at all (a SIP account, a Twilio Client): `caller.kind`
// says so; a card cached by an older server says so only in its headline's words.
const NOT_A_PHONE = "Not a phone number";

/** People's words keep their own direction inside the sentence. */
const person = (text) => h("bdi", {}, text);
/** A phone number reads left to right even inside a Hebrew sentence ("+48 500 000 001"). */
const phone = (text) => h("bdi", { dir: "ltr" }, text);

/** The headline of `card` as parts for h(): names and numbers in their own <bdi>. */
export function headlineParts(card) {
  const customer = card?.customer;
  const match = card?.match || {};
  const caller = card?.caller || {};
  if (customer?.name) {
    return tParts("headline.person", { name: person(customer.name), first: person(customer.first_name || customer.name) });
  }
  if (match.internal_agent) return tParts("headline.internal", { agent: person(match.internal_agent) });
  const number = caller.display || caller.raw || "";
  switch (match.status) {
    case "withheld":
      return [t("headline.withheld")];
    case "invalid":
      return caller.kind === "not_a_phone" || card.headline === NOT_A_PHONE ? [t("headline.not_a_phone")] : tParts("headline.invalid", { raw: person(caller.raw ?? "") });
    case "unknown":
      return tParts("headline.unknown", { number: phone(number) });
    case "ambiguous":
      return tParts("headline.ambiguous", { count: Array.isArray(match.candidates) ? match.candidates.length : 0 });
    case "unavailable":
      return tParts("headline.unavailable", { number: phone(number) });
    default:
      return [card?.headline || number || t("live.incoming")];
  }
}

function caseReason(params, withOrder, alone) {
  return params.order_number ? withOrder : alone;
}

/**
 * The likely reason in the agent's language, from `likely_reason.code` and `.params` (docs/api.md);
 * the server's English `text` when the params are missing or the code is new to this console.
 */
export function reasonText(reason) {
  if (!reason || (!reason.code && !reason.text)) return "";
  const p = reason.params;
  const text = reason.text || "";
  if (!reason.code || !p || typeof p !== "object") return text;
  const order = { order_number: p.order_number ?? "", case_id: p.case_id ?? "" };
  switch (reason.code) {
    case "open_complaint":
      if (!p.case_id) return text;
      return caseReason(p, t("reason.open_complaint", order), t("reason.open_complaint_alone", order));
    case "return_in_progress":
      if (!p.case_id) return text;
      return caseReason(p, t("reason.return_in_progress", order), t("reason.return_in_progress_alone", order));
    case "exchange_in_progress":
      if (!p.case_id) return text;
      return caseReason(p, t("reason.exchange_in_progress", order), t("reason.exchange_in_progress_alone", order));
    case "payment_problem":
      if (!p.order_number) return text;
      return t("reason.payment_problem", { ...order, state: label("payment.state", String(p.state || "").toLowerCase()) });
    case "where_is_my_order": {
      if (!p.order_number) return text;
      // Days, as the rule counts them ("9 days ago", not "last week").
      if (Number.isInteger(p.days_since_shipped)) return t("reason.where_is_my_order", { ...order, ago: relative(-p.days_since_shipped, "day") });
      if (p.shipped_at) return t("reason.where_is_my_order", { ...order, ago: ago(p.shipped_at) });
      return t("reason.where_is_my_order_overdue", order);
    }
    case "recent_order": {
      if (!p.order_number) return text;
      const when = p.placed_at ? ago(p.placed_at, t("time.just_now")) : Number.isInteger(p.hours_since_placed) ? relative(-p.hours_since_placed, "hour") : "";
      return when ? t("reason.recent_order", { ...order, ago: when }) : text;
    }
    default:
      return text;
  }
}

// Beyond this many orders a match lists the rest as "12 more orders" (the whole list is the
// chip's tooltip): a customer who gave the same phone on every order is no rarer than one order.
const ORDERS_SHOWN = 2;

function unique(items) {
  return [...new Set(items.filter(Boolean))];
}

/** `via` as its parts: the customer's own fields, then each order's ("billing phone and shipping
 * phone of #1042"), in the server's order. */
function viaParts(via) {
  const own = [];
  const orders = new Map();
  for (const v of via) {
    const field = label("match.field", v?.field);
    if (v?.on === "order" && v.order_number) {
      if (!orders.has(v.order_number)) orders.set(v.order_number, []);
      orders.get(v.order_number).push(field);
    } else own.push(field);
  }
  const each = [...orders].map(([order, fields]) => t("match.of_order", { field: list(unique(fields)), order }));
  return { own: unique(own), orders: each };
}

/**
 * How the number matched, in words: {text: "matched on mobile · billing phone of #1042", full}
 * from `via` (each {field, on, order_number}); from `matched_on` ("customer.mobile") when `via`
 * is absent, without order numbers. null when neither says.
 */
export function matchedVia(via, matchedOn) {
  let shown = [];
  let all = [];
  if (Array.isArray(via) && via.length) {
    const { own, orders } = viaParts(via);
    all = [...own, ...orders];
    shown = [...own, ...orders.slice(0, ORDERS_SHOWN)];
    if (orders.length > ORDERS_SHOWN) shown.push(t("match.more_orders", { count: orders.length - ORDERS_SHOWN }));
  } else if (Array.isArray(matchedOn)) {
    all = shown = unique(matchedOn.map((source) => label("match.field", String(source).split(".").pop())));
  }
  if (!shown.length) return null;
  return { text: t("match.on", { via: shown.join(" · ") }), full: t("match.on", { via: all.join(" · ") }) };
}

/** The chip that says how the number matched, or null. */
export function matchedOnChip(via, matchedOn) {
  const said = matchedVia(via, matchedOn);
  if (!said) return null;
  return h("span", { class: "matched-on", title: said.full !== said.text ? said.full : null }, said.text);
}
