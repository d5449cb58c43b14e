// Links out of the card and the call log (docs/console.md#links-out-and-call-back): an order, a
// customer or a case in the store's admin or helpdesk, and the click-to-call link of a caller.
//
// The server builds every URL (docs/api.md, "Links out"); this module still only ever makes a link
// of what can be one: an admin or helpdesk page must be http(s) (a `javascript:` URL a store wrote
// into its data is no link), a call back one of the schemes a softphone or web phone takes.

import { h, safeUrl } from "./dom.js";
import { key, t } from "./i18n.js";
import { icon } from "./icons.js";

// The console knows a platform only when the URL says it (the server words nothing about it).
const WORDS = {
  shopify: { order: key("links.order.shopify"), customer: key("links.customer.shopify"), open: key("links.open.shopify") },
  woocommerce: { order: key("links.order.woocommerce"), customer: key("links.customer.woocommerce"), open: key("links.open.woocommerce") },
  store: { order: key("links.order.store"), customer: key("links.customer.store"), open: key("links.open.store") },
};

/** Which admin `url` opens: Shopify's (admin.shopify.com, a *.myshopify.com shop), WooCommerce's
 * (a WordPress /wp-admin/ page) or a store's own we cannot name. */
export function platformOf(url) {
  try {
    const { hostname, pathname } = new URL(url);
    if (hostname === "admin.shopify.com" || hostname.endsWith(".myshopify.com")) return "shopify";
    if (pathname.includes("/wp-admin/")) return "woocommerce";
  } catch {
    // not a URL: safeUrl refused it already
  }
  return "store";
}

/** A link that opens `href` in a new tab, named `label` for screen readers, showing `content` and
 * the external-link icon; null unless `href` is an http(s) URL. */
export function outLink(href, label, content, className = "") {
  const url = safeUrl(href);
  if (!url) return null;
  const name = `${label} ${t("link.new_tab")}`;
  return h(
    "a",
    { class: ["out-link", className], href: url, target: "_blank", rel: "noopener noreferrer", "aria-label": name, title: label },
    content,
    icon("external", "icon icon-inline out-icon"),
  );
}

/** The order's number, as a link to the order in the store's admin when there is one. */
export function orderNumberLink(order) {
  const number = h("bdi", { class: "order-number" }, order.number);
  const words = WORDS[platformOf(order.admin_url)];
  return outLink(order.admin_url, t(words.order, { order: order.number }), number, "order-link") || number;
}

/** The case's id, as a link to its helpdesk page when there is one. */
export function caseIdLink(kase) {
  const id = h("bdi", { class: "case-id" }, kase.external_id);
  return outLink(kase.url, t("links.case", { case: kase.external_id }), id, "case-link") || id;
}

/** "Open in the store admin": the customer's page there, or null. */
export function customerLink(customer) {
  if (!customer?.admin_url) return null;
  const words = WORDS[platformOf(customer.admin_url)];
  const label = t(words.customer, { name: customer.name || customer.external_id || "" });
  return outLink(customer.admin_url, label, t(words.open), "btn btn-small btn-tool customer-link");
}

/** A candidate's page in the store's admin, as an icon beside their "Show card" button. */
export function candidateLink(candidate) {
  const words = WORDS[platformOf(candidate.admin_url)];
  const label = t(words.customer, { name: candidate.name || candidate.customer_external_id || "" });
  return outLink(candidate.admin_url, label, null, "btn btn-icon candidate-link");
}

// The schemes RINGCARD_CALLBACK_URL_TEMPLATE may use (app/settings.py CALLBACK_SCHEMES).
const DIALLERS = new Set(["tel:", "sip:", "sips:", "callto:"]);

/** `url` when it is a click-to-call link the console hands on; a web phone's page opens in a tab. */
export function callbackUrl(url) {
  if (typeof url !== "string" || !url) return null;
  const web = safeUrl(url);
  if (web && /^https?:/i.test(url)) return web;
  try {
    return DIALLERS.has(new URL(url).protocol) ? url : null;
  } catch {
    return null;
  }
}

/** Whether the caller of a call (or a card's `caller`) can be called back: an older server that
 * does not say is taken at its number. */
export function isCallable(who) {
  if (!who) return false;
  if (typeof who.callable === "boolean") return who.callable;
  return Boolean(who.from || who.e164);
}

/**
 * The "Call back" link for `url` (the server's callback_url), named after `who` (a name or a
 * number); `onCall()` runs on the click, before the phone takes over. Null when `url` is no link.
 */
export function callBackLink(url, who, { className = "btn btn-small btn-primary", onCall } = {}) {
  const href = callbackUrl(url);
  if (!href) return null;
  const web = /^https?:/i.test(href);
  return h(
    "a",
    {
      class: ["call-back", className],
      href,
      target: web ? "_blank" : null,
      rel: web ? "noopener noreferrer" : null,
      "aria-label": who ? t("callback.label", { who }) : t("callback.button"),
      onclick: onCall ? () => onCall() : null,
    },
    icon("phone", "icon icon-inline"),
    h("span", {}, t("callback.button")),
  );
}

/** The marker of a missed caller nobody can ring back (withheld, not a phone number). */
export function notCallable() {
  return h("span", { class: "chip chip-muted not-callable", title: t("callback.not_callable_hint") }, icon("phoneOff", "icon icon-inline"), " ", t("callback.not_callable"));
}

/**
 * The row of links under a card's headline: the customer in the store's admin and, when the
 * caller can be called back, "Call back". Returns {row, callBack} (`callBack` the link, to hide
 * while the call is live) or null when there is nothing to offer.
 */
export function cardLinks(card) {
  const customer = customerLink(card?.customer);
  const caller = card?.caller;
  const who = card?.customer?.name || caller?.display || caller?.e164 || "";
  const callBack = isCallable(caller) ? callBackLink(caller.callback_url, who, { className: "btn btn-small btn-tool" }) : null;
  if (!customer && !callBack) return null;
  return { row: h("p", { class: "card-links" }, callBack, customer), callBack };
}
