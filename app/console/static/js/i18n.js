// The console's words in the agent's language (docs/console.md#languages).
//
//   t("card.reason.label")                        -> "Likely reason" / "Prawdopodobny powód"
//   t("log.count", {count: 5})                    -> "5 calls" / "5 połączeń" (Intl.PluralRules
//                                                    picks log.count.one/few/many/other)
//   tParts("headline.person", {name: bdiNode})    -> ["", bdiNode, " — say hello to ", …] for h()
//   label("order.status", o.status)               -> a code's label; an unknown code reads as itself
//
// A key the language lacks comes from English; a key no catalogue has shows the `fallback` given,
// else nothing (and a warning in the console): a user never sees "card.reason.label". Static texts
// in index.html carry data-i18n="key" (and data-i18n-label / -placeholder / -title for aria-label,
// placeholder and title) and are set again on every change of language.

import { currentLocale, messagesOf, onLocaleChange } from "./locale.js";
import { number, pluralRules } from "./intl.js";

export {
  bestMatch,
  browserLocale,
  currentLocale,
  direction,
  formatLocale,
  languages,
  onLocaleChange,
  saveLocale,
  savedLocale,
  setLocale,
  supported,
} from "./locale.js";
export { ago, date, dateTime, duration, list, money, number, relative, time, unit } from "./intl.js";

const FALLBACK = "en";
const PLACEHOLDER = /\{(\w+)\}/g;

function find(tag, key, count) {
  const messages = messagesOf(tag);
  if (!messages) return undefined;
  if (typeof count === "number") {
    const found = messages[`${key}.${pluralRules(tag).select(count)}`] ?? messages[`${key}.other`];
    if (typeof found === "string") return found;
  }
  return typeof messages[key] === "string" ? messages[key] : undefined;
}

/** The text of `key` in the agent's language, else in English; undefined when none has it. */
export function lookup(key, count) {
  const tag = currentLocale();
  return find(tag, key, count) ?? (tag === FALLBACK ? undefined : find(FALLBACK, key, count));
}

export function has(key) {
  return lookup(key) !== undefined || lookup(key, 1) !== undefined;
}

function shown(value) {
  if (typeof value === "number") return number(value);
  if (value instanceof Node) return value.textContent;
  return String(value ?? "");
}

function template(key, params, fallback) {
  const text = lookup(key, params?.count);
  if (text !== undefined) return text;
  // A catalogue lost a key (a test checks that none does): the developer hears of it, the agent
  // reads the English given here, or nothing.
  console.warn(`ringcard: no words for "${key}" in any language`);
  return fallback ?? "";
}

function filled(text, params) {
  return text.replace(PLACEHOLDER, (whole, name) => (name in params ? shown(params[name]) : whole));
}

/** `key` in the agent's language with its {placeholders} filled from `params`. */
export function t(key, params = {}, fallback = undefined) {
  return filled(template(key, params, fallback), params);
}

/**
 * Like t(), as a list of parts for h(): a parameter that is a node (a <bdi> round a name, a <time>)
 * is put in as that node, so people's words keep their own direction inside the sentence.
 */
export function tParts(key, params = {}, fallback = undefined) {
  const parts = [];
  const text = template(key, params, fallback);
  let at = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    if (match.index > at) parts.push(text.slice(at, match.index));
    const name = match[1];
    if (!(name in params)) parts.push(match[0]);
    else parts.push(params[name] instanceof Node ? params[name] : shown(params[name]));
    at = match.index + match[0].length;
  }
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}

/** The label of a code the server sends ("shipped", "on_hold"): `prefix.code`, else the code in
 * words ("partially shipped") — a store's own status word is still worth showing. */
export function label(prefix, code) {
  if (code === null || code === undefined || code === "") return "";
  const text = lookup(`${prefix}.${String(code).replace(/[^A-Za-z0-9_]/g, "_")}`);
  return text === undefined ? String(code).replace(/_/g, " ") : filled(text, {});
}

/** Marks a key handed on as data (shown later with setText): the catalogue test finds it. */
export const key = (name) => name;

/** Put `key`'s text in `el` and keep it there across changes of language (for status lines). */
export function setText(el, key, params = {}) {
  el.dataset.i18n = key;
  el.dataset.i18nParams = JSON.stringify(params);
  el.textContent = t(key, params);
}

/** Text that is not ours to translate (a server's message), replacing any key set before. */
export function setPlain(el, text) {
  delete el.dataset.i18n;
  delete el.dataset.i18nParams;
  el.textContent = text ?? "";
}

const ATTRIBUTES = [
  ["i18nLabel", "aria-label"],
  ["i18nPlaceholder", "placeholder"],
  ["i18nTitle", "title"],
];

/** Every data-i18n* under `root` set to the current language. */
export function translatePage(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    let params = {};
    try {
      params = JSON.parse(el.dataset.i18nParams || "{}");
    } catch {
      params = {};
    }
    el.textContent = t(el.dataset.i18n, params, el.textContent);
  }
  for (const [data, attribute] of ATTRIBUTES) {
    const selector = `[data-${data.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}]`;
    for (const el of root.querySelectorAll(selector)) {
      el.setAttribute(attribute, t(el.dataset[data], {}, el.getAttribute(attribute) ?? ""));
    }
  }
}

onLocaleChange(() => translatePage());
translatePage();
