// What says "written by AI" wherever the console shows a summary's words: a sparkle badge on the
// draft panel (summary.js), and the marks of the call log (log.js) — "AI draft" on a call whose
// draft waits for an agent, "AI" beside a note an agent took from a draft.

import { h } from "./dom.js";
import { t } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";
// A four-pointed star and a small one: the sign most tools use for AI-written text.
const SPARKLE = [
  "M11 3.5 12.9 9.1 18.5 11 12.9 12.9 11 18.5 9.1 12.9 3.5 11 9.1 9.1z",
  "M18.5 15.5 19.3 17.7 21.5 18.5 19.3 19.3 18.5 21.5 17.7 19.3 15.5 18.5 17.7 17.7z",
];

export function sparkle() {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "icon icon-inline ai-sparkle");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  for (const d of SPARKLE) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    svg.appendChild(path);
  }
  return svg;
}

/** The badge on the panel: a screen reader hears "written by AI", not the letters. */
export function aiBadge() {
  return h(
    "span",
    { class: "ai-badge", title: t("summary.badge_title") },
    sparkle(),
    h("span", { "aria-hidden": "true" }, t("summary.badge")),
    h("span", { class: "visually-hidden" }, t("summary.badge_title")),
  );
}

/** A call whose AI draft waits for an agent: the mark opens the note editor, where it is approved. */
export function draftMark(open, expanded) {
  return h(
    "button",
    { type: "button", class: "ai-mark ai-mark-draft note-toggle", "aria-expanded": String(expanded), onclick: open },
    sparkle(),
    t("summary.mark_draft"),
  );
}

/** Beside a note that holds an approved AI summary. */
export function usedMark() {
  return h(
    "span",
    { class: "ai-mark ai-mark-used", title: t("summary.mark_used") },
    sparkle(),
    h("span", { "aria-hidden": "true" }, t("summary.badge")),
    h("span", { class: "visually-hidden" }, t("summary.mark_used")),
  );
}
