// Which language the console speaks: the agent's choice (remembered per username on this PC), else
// the best of the browser's languages we have, else English. `<html lang dir>` follows, and so does
// everything on screen: whoever shows text listens with onLocaleChange and draws it again.

import { LANGUAGES } from "./locales/index.js";

const FALLBACK = "en";
const STORE_PREFIX = "ringcard.locale.";
// Tags browsers still send for languages that were renamed (Chrome said "iw" for Hebrew for years).
const ALIASES = { iw: "he", ji: "yi", in: "id" };

/** A catalogue's nested groups ("call.state": {ringing: …}) become flat keys ("call.state.ringing"). */
function flatten(messages) {
  const flat = {};
  for (const [key, value] of Object.entries(messages || {})) {
    if (value && typeof value === "object") {
      for (const [sub, text] of Object.entries(value)) flat[`${key}.${sub}`] = text;
    } else flat[key] = value;
  }
  return flat;
}

// Every catalogue is loaded up front (a few kilobytes each), so switching is instant and t() is
// synchronous. A language whose file fails to load is left out rather than taking the page down.
const loaded = await Promise.allSettled(LANGUAGES.map((tag) => import(`./locales/${tag}.js`)));
const catalogues = new Map();
loaded.forEach((result, i) => {
  if (result.status === "fulfilled") {
    const { meta, default: messages } = result.value;
    catalogues.set(LANGUAGES[i], { meta: { tag: LANGUAGES[i], dir: "ltr", ...meta }, messages: flatten(messages) });
  } else {
    console.warn(`ringcard: the ${LANGUAGES[i]} catalogue did not load`, result.reason);
  }
});

/** The languages on offer, in their own names: [{tag, name, dir}]. */
export function languages() {
  return [...catalogues.values()].map(({ meta }) => ({ tag: meta.tag, name: meta.name || meta.tag, dir: meta.dir }));
}

/** The flat messages of `tag`, or undefined. */
export function messagesOf(tag) {
  return catalogues.get(tag)?.messages;
}

function primary(tag) {
  const lang = String(tag || "").trim().toLowerCase().split(/[-_]/)[0];
  return ALIASES[lang] || lang;
}

/** The catalogue for a language tag ("pl-PL" -> "pl", "iw" -> "he"), or null when we have none. */
export function supported(tag) {
  const lang = primary(tag);
  return catalogues.has(lang) ? lang : null;
}

/** The best catalogue for a list of tags in order of preference (navigator.languages). */
export function bestMatch(tags) {
  for (const tag of tags || []) {
    const found = supported(tag);
    if (found) return found;
  }
  return FALLBACK;
}

function browserTags() {
  const tags = Array.isArray(navigator.languages) && navigator.languages.length ? navigator.languages : [navigator.language];
  return tags.filter(Boolean);
}

/** The language the browser asks for (the best we have of navigator.languages). */
export function browserLocale() {
  return bestMatch(browserTags());
}

let current = browserLocale();
const listeners = new Set();

/** The catalogue in use: "en", "pl", "de", "he". */
export function currentLocale() {
  return current;
}

/**
 * The tag Intl formats with: the browser's own tag when it is the same language ("de-AT" formats
 * Austrian dates with German words), else the catalogue's.
 */
export function formatLocale() {
  return browserTags().find((tag) => supported(tag) === current && Intl.NumberFormat.supportedLocalesOf(tag).length) || current;
}

export function direction() {
  return catalogues.get(current)?.meta.dir === "rtl" ? "rtl" : "ltr";
}

function applyToPage() {
  const root = document.documentElement;
  root.lang = formatLocale();
  root.dir = direction();
}

/** Speak `tag` (any form of a supported language) from now on; returns the catalogue chosen. */
export function setLocale(tag) {
  const next = supported(tag) || FALLBACK;
  if (next === current) return current;
  current = next;
  applyToPage();
  for (const fn of [...listeners]) {
    try {
      fn(current);
    } catch (error) {
      console.warn("ringcard: a view failed to redraw in the new language", error);
    }
  }
  return current;
}

/** `fn(tag)` after every change of language; returns the function that stops it. */
export function onLocaleChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** The language `username` chose on this PC, or null. */
export function savedLocale(username) {
  if (!username) return null;
  try {
    return supported(localStorage.getItem(STORE_PREFIX + username));
  } catch {
    return null;
  }
}

export function saveLocale(username, tag) {
  if (!username) return;
  try {
    localStorage.setItem(STORE_PREFIX + username, tag);
  } catch {
    // private mode without storage: the choice lasts for this page only
  }
}

applyToPage();
