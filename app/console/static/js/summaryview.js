// What the AI draft panel (summary.js) shows in each state of a summary: being written, failed,
// ready (the text, the caller's mood, why they called, the suggested outcome, what is left to do),
// being edited, used as the note. Every view starts with the AI badge: nobody mistakes the
// model's words for a colleague's. `on` holds the panel's actions for the buttons.

import { aiBadge } from "./aimark.js";
import { h, userText } from "./dom.js";
import * as f from "./format.js";
import { key, label, t, tParts } from "./i18n.js";

function head(ids, titleKey) {
  return h("div", { class: "ai-head" }, aiBadge(), h("h4", { class: "ai-title", id: ids.title, tabindex: "-1" }, t(titleKey)));
}

function button(name, onclick, kind, extra = "") {
  return h("button", { type: "button", class: ["btn btn-small", kind, extra], onclick }, t(name));
}

const hint = () => h("p", { class: "ai-hint muted" }, t("summary.hint"));

/** The outcome the model suggests: one of ours by its label, else its own words. */
function outcome(disposition) {
  return f.DISPOSITIONS.includes(disposition) ? f.dispositionLabel(disposition) : userText("bdi", disposition);
}

export function pendingView(s, ids) {
  return [
    head(ids, key("summary.title")),
    h("p", { class: "ai-quiet" }, h("span", { class: "ai-dot", "aria-hidden": "true" }), t("summary.writing")),
    // An attempt that failed and will be tried again says why, quietly.
    s.error ? userText("p", s.error, { class: "ai-error-detail muted" }) : null,
  ];
}

export function failedView(s, ids, on) {
  return [
    head(ids, key("summary.title")),
    h("p", { class: "ai-error" }, t("summary.failed")),
    // The server's reason as it said it (a model that timed out, an endpoint that refused).
    s.error ? userText("p", s.error, { class: "ai-error-detail muted" }) : null,
    h("div", { class: "ai-buttons" }, button(key("summary.retry"), on.retry, "btn-tool")),
  ];
}

export function usedView(s, ids) {
  const words = s.approved_by
    ? tParts("summary.used_by", { who: userText("span", s.approved_by, { class: "who" }) })
    : [t("summary.used")];
  return [h("div", { class: "ai-head" }, aiBadge(), h("p", { class: "ai-title ai-used", id: ids.title, tabindex: "-1" }, words))];
}

function chips(s) {
  const found = [
    s.sentiment
      ? h("span", { class: ["chip", "ai-sentiment", `ai-sentiment-${s.sentiment}`] }, t("summary.mood", { sentiment: label("summary.sentiment", s.sentiment) }))
      : null,
    s.reason_code ? h("span", { class: "chip chip-muted" }, label("summary.reason", s.reason_code)) : null,
    // One span inside the chip: a chip is a flex box, which would eat the space before a node.
    s.disposition ? h("span", { class: "chip chip-outcome" }, h("span", {}, tParts("summary.outcome", { outcome: outcome(s.disposition) }))) : null,
  ].filter(Boolean);
  return found.length ? h("div", { class: "chips" }, found) : null;
}

/** `on`: {approve, edit, inMine (absent when the draft is in the console's language)}. */
export function draftView(s, ids, on) {
  const items = (Array.isArray(s.action_items) ? s.action_items : []).filter((item) => typeof item === "string" && item.trim());
  return [
    head(ids, key("summary.title_draft")),
    userText("p", s.text || "", { class: "ai-text", lang: s.language || null }),
    chips(s),
    items.length ? h("p", { class: "ai-subtitle", id: ids.items }, t("summary.action_items")) : null,
    items.length ? h("ul", { class: "ai-items", "aria-labelledby": ids.items }, items.map((item) => userText("li", item))) : null,
    h(
      "div",
      { class: "ai-buttons" },
      button(key("summary.use"), on.approve, "btn-primary"),
      button(key("summary.edit"), on.edit, "btn-tool", "ai-edit"),
      on.inMine ? button(key("summary.write_in_mine"), on.inMine, "btn-link") : null,
    ),
    hint(),
  ];
}

/** `on`: {approve (the edited text), cancel}. */
export function editingView(ids, editor, on) {
  return [
    head(ids, key("summary.title_draft")),
    h("label", { class: "field-label", for: ids.editor }, t("summary.edit_label")),
    editor,
    h("div", { class: "ai-buttons" }, button(key("summary.use"), on.approve, "btn-primary"), button(key("summary.cancel"), on.cancel, "btn-tool")),
    hint(),
  ];
}
