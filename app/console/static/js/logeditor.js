// The note editor under a row of the call log: the note and the outcome, saved to the call
// (POST /api/v1/calls/{id}/note). log.js keeps one open at a time and across its refreshes.

import { h } from "./dom.js";
import * as f from "./format.js";
import { setText, t } from "./i18n.js";

/**
 * An editor for `call`'s note; `onSaved()` runs once the server has it (the call's note and
 * disposition are updated first). Returns {id, form, relabel(), focus()}.
 */
export function noteEditor(call, api, onSaved) {
  const note = h("textarea", { class: "input note-input", rows: "2", maxlength: "4000", dir: "auto", "aria-label": t("note.aria") });
  note.value = call.note || "";
  const outcome = h("select", { class: "input select", "aria-label": t("note.outcome") }, f.DISPOSITIONS.map((v) => h("option", { value: v }, f.dispositionLabel(v))));
  outcome.value = call.disposition || "";
  const status = h("span", { class: "save-status", role: "status" });
  const form = h(
    "form",
    { class: "wrapup log-editor" },
    note,
    h("div", { class: "wrapup-row" }, outcome, h("button", { type: "submit", class: "btn btn-primary btn-small" }, t("note.save")), status),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api.saveNote(call.id, note.value.trim(), outcome.value);
      call.note = note.value.trim();
      call.disposition = outcome.value || null;
      onSaved();
    } catch (error) {
      setText(status, "note.not_saved", { error: error.message });
      status.className = "save-status save-error";
    }
  });
  // The agent switched language with the editor open: its labels change, the text stays.
  const relabel = () => {
    note.setAttribute("aria-label", t("note.aria"));
    outcome.setAttribute("aria-label", t("note.outcome"));
    for (const option of outcome.options) option.textContent = f.dispositionLabel(option.value);
    form.querySelector("button[type=submit]").textContent = t("note.save");
  };
  return { id: call.id, form, relabel, focus: () => note.focus() };
}
