// Small pieces every part of a call's card is made of: a chip, a titled panel, a person's
// initials for the avatar.

import { h } from "./dom.js";

export function initials(name) {
  const words = String(name || "").trim().split(/\s+/).filter(Boolean);
  const letters = words.slice(0, 2).map((w) => Array.from(w)[0] || "");
  return letters.join("").toUpperCase() || "?";
}

export function section(title, ...children) {
  return h("section", { class: "panel" }, h("h4", { class: "panel-title" }, title), ...children);
}

export function chip(text, className = "") {
  return h("span", { class: ["chip", className] }, text);
}
