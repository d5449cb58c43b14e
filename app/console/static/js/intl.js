// Numbers, money, dates and times as the agent's language writes them, all through Intl (no
// format strings of our own): "1 234,50 zł" in Polish, "1.234,50 €" in German, "לפני 3 ימים" in
// Hebrew. Formatters are cached per language and options; a change of language makes new ones.

import { formatLocale } from "./locale.js";

const cache = new Map();

function formatter(Kind, options = {}) {
  const tag = formatLocale();
  const key = `${Kind.name}|${tag}|${JSON.stringify(options)}`;
  let found = cache.get(key);
  if (!found) {
    found = new Kind(tag, options);
    cache.set(key, found);
  }
  return found;
}

// Server time minus ours, learnt from live envelopes: "ringing for 0:12" must not jump when the
// agent's PC clock is a minute off.
let offsetMs = 0;
export function learnServerTime(at) {
  const t = Date.parse(at);
  if (Number.isFinite(t)) offsetMs = t - Date.now();
}
export function serverNow() {
  return Date.now() + offsetMs;
}

export function number(value, options) {
  const n = Number(value);
  return Number.isFinite(n) ? formatter(Intl.NumberFormat, options).format(n) : String(value ?? "");
}

/** An amount in its own currency, written the agent's way ("1.234,50 €"); as sent if unreadable. */
export function money(amount, currency) {
  const value = Number(amount);
  if (!Number.isFinite(value)) return `${amount} ${currency}`;
  try {
    return formatter(Intl.NumberFormat, { style: "currency", currency }).format(value);
  } catch {
    return `${amount} ${currency}`;
  }
}

/** So many seconds, minutes, hours as a unit: "4 s", "4 Sek.". */
export function unit(value, name) {
  return formatter(Intl.NumberFormat, { style: "unit", unit: name, unitDisplay: "short" }).format(value);
}

/** A call's clock: "0:12", "1:02:03" (the same in every language we speak). */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  const s = Math.max(0, Math.round(seconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

export function secondsSince(iso) {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? Math.max(0, (serverNow() - t) / 1000) : null;
}

/** "in 3 days", "9 days ago", "yesterday": `value` of `unitName` from now (negative: past). */
export function relative(value, unitName) {
  return formatter(Intl.RelativeTimeFormat, { numeric: "auto" }).format(value, unitName);
}

const UNITS = [
  ["year", 365 * 86400],
  ["month", 30 * 86400],
  ["week", 7 * 86400],
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
];

/** How long ago (or ahead) `iso` is, in the largest unit that fits; "" when unreadable. Under a
 * minute: `justNow` (the caller's words, as Intl has none for "a few seconds"). */
export function ago(iso, justNow = "") {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return "";
  const seconds = (t - serverNow()) / 1000;
  for (const [name, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relative(Math.round(seconds / size), name);
  }
  return justNow || relative(0, "minute");
}

function parsed(iso) {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? new Date(t) : null;
}

export function dateTime(iso) {
  const d = parsed(iso);
  return d ? formatter(Intl.DateTimeFormat, { dateStyle: "medium", timeStyle: "short" }).format(d) : "";
}

export function date(iso) {
  const d = parsed(iso);
  return d ? formatter(Intl.DateTimeFormat, { dateStyle: "medium" }).format(d) : "";
}

export function time(iso) {
  const d = parsed(iso);
  return d ? formatter(Intl.DateTimeFormat, { hour: "2-digit", minute: "2-digit" }).format(d) : "";
}

/** A list in the language's own way: "Twilio, Telnyx and 3CX". */
export function list(items) {
  return formatter(Intl.ListFormat, { style: "long", type: "conjunction" }).format(items.map(String));
}

export function pluralRules(tag) {
  let rules = cache.get(`plural|${tag}`);
  if (!rules) {
    rules = new Intl.PluralRules(tag);
    cache.set(`plural|${tag}`, rules);
  }
  return rules;
}
