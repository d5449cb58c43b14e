// Building the page out of nodes. Everything a caller, a customer or a colleague wrote reaches
// the DOM as a text node: no HTML is ever parsed from data, so a name like "<img onerror=…>" is
// just a strange name.

import { t } from "./i18n.js";

/**
 * h("p", {class: "x", dir: "auto", onclick: fn}, "text", child, [more, children], null)
 * Attributes: `class`, `text`, `on<event>` (a listener), booleans (present when true), `dataset`
 * (an object), anything else through setAttribute. Children: nodes, strings (text nodes),
 * arrays, and null/undefined/false (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    else if (key === "text") el.textContent = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Text written by people (names, notes, subjects, cities): its own direction, so Hebrew reads
 * right to left inside an English card and the punctuation around it stays where it belongs. */
export function userText(tag, value, attrs = {}) {
  return h(tag, { ...attrs, dir: "auto" }, value ?? "");
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/** Only web links may become hrefs: a `javascript:` tracking URL from a store is not a link. */
export function safeUrl(value) {
  if (typeof value !== "string" || !value) return null;
  try {
    const url = new URL(value, window.location.href);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

export function externalLink(href, label, attrs = {}) {
  const url = safeUrl(href);
  if (!url) return null;
  return h(
    "a",
    { ...attrs, href: url, target: "_blank", rel: "noopener noreferrer" },
    label,
    h("span", { class: "visually-hidden" }, ` ${t("link.new_tab")}`),
  );
}

export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el;
}
