// The note editor under a row of the call log: the note and the outcome, saved to the call
// (POST /api/v1/calls/{id}/note), and for a call with an AI summary its draft (summary.js), which
// the agent can take as the note from here. log.js keeps one open at a time and across its
// refreshes.

import { h } from "./dom.js";
import * as f from "./format.js";
import { setText, t } from "./i18n.js";
import { SummaryPanel } from "./summary.js";
import { chooseOutcome } from "./wrapup.js";

/**
 * An editor for `call`'s note; `onSaved(said)` runs once the server has it (the call's note and
 * disposition are updated first; `said` is what to announce). Returns {id, form, relabel(), focus()}.
 */
export function noteEditor(call, api, onSaved) {
  const note = h("textarea", { class: "input note-input", rows: "2", maxlength: "4000", dir: "auto", "aria-label": t("note.aria") });
  note.value = call.note || "";
  const original = note.value;
  const outcome = h("select", { class: "input select", "aria-label": t("note.outcome") }, f.DISPOSITIONS.map((v) => h("option", { value: v }, f.dispositionLabel(v))));
  chooseOutcome(outcome, call.disposition);
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
      onSaved(t("live.note_saved"));
    } catch (error) {
      setText(status, "note.not_saved", { error: error.message });
      status.className = "save-status save-error";
    }
  });
  // The draft approved: the row shows the new note, unless the agent is changing the note here;
  // then their words stay, the draft's text joins them below, and saving keeps both.
  const approved = (detail, added) => {
    const noted = { note: detail.note ?? null, disposition: detail.disposition ?? null, noted_by: detail.noted_by ?? call.noted_by };
    Object.assign(call, { ...noted, summary_status: "approved" });
    if (note.value === original) return onSaved(t("summary.used"));
    const typed = note.value.trimEnd();
    if (added && !typed.includes(added)) note.value = typed ? `${typed}\n\n${added}` : added;
    if (!outcome.value && detail.disposition) chooseOutcome(outcome, detail.disposition);
    setText(status, "summary.added_unsaved");
    status.className = "save-status save-warn";
  };
  const panel = call.summary_status ? new SummaryPanel(api, approved) : null;
  if (panel) {
    form.append(panel.el);
    panel.watch(call.id);
  }
  // The agent switched language with the editor open: its labels change, the text stays.
  const relabel = () => {
    note.setAttribute("aria-label", t("note.aria"));
    outcome.setAttribute("aria-label", t("note.outcome"));
    for (const option of outcome.options) option.textContent = f.dispositionLabel(option.value);
    form.querySelector("button[type=submit]").textContent = t("note.save");
    panel?.relabel();
  };
  return { id: call.id, form, relabel, focus: () => note.focus() };
}
