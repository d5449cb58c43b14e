// The note an agent writes after a call, with its outcome. The box is built once per card and
// never re-rendered, so an update to the call or its card never eats what the agent is typing;
// a copy from the server fills it only while the agent has not touched it. A change of language
// relabels it in place.
//
// Under it, once the call is over, the AI's draft of the call (summary.js). Approving the draft
// makes it part of the call's note on the server; the box then shows that note, unless the agent
// has typed in it: their words stay and the draft's text joins them below.

import { sharedApi } from "./api.js";
import { h } from "./dom.js";
import * as f from "./format.js";
import { key, setPlain, setText, t } from "./i18n.js";
import { SummaryPanel } from "./summary.js";

/** Show `value` in an outcome select: one of ours, or another's words (a model's suggestion, an
 * older console's code) as an option of its own, so that saving the note keeps it. */
export function chooseOutcome(select, value) {
  const wanted = value || "";
  if (wanted && ![...select.options].some((option) => option.value === wanted)) {
    select.append(h("option", { value: wanted }, f.dispositionLabel(wanted)));
  }
  select.value = wanted;
}

/** The box as tall as the note it shows, up to a few lines: an approved draft is read in full. */
function fit(textarea) {
  textarea.style.height = "";
  textarea.style.height = `${Math.min(textarea.scrollHeight + 2, 240)}px`;
}

export class NoteBox {
  /**
   * `ids`: {note, outcome}, the ids its labels point at. `saveNote(text, disposition)` stores the
   * note and resolves once it is saved. `api`: where the AI draft comes from.
   */
  constructor(ids, saveNote, api = sharedApi()) {
    this.saveNote = saveNote;
    this.entry = null;
    // Touched since the last save: the agent's words win over any copy from the server.
    this.dirty = false;
    this.savedNote = null;
    this.textarea = h("textarea", { id: ids.note, class: "input note-input", rows: "2", maxlength: "4000", dir: "auto" });
    this.select = h(
      "select",
      { id: ids.outcome, class: "input select" },
      f.DISPOSITIONS.map((value) => h("option", { value })),
    );
    this.status = h("span", { class: "save-status", role: "status" });
    this.button = h("button", { type: "submit", class: "btn btn-primary" });
    this.noteLabel = h("label", { class: "field-label", for: ids.note });
    this.outcomeLabel = h("label", { class: "field-label inline", for: ids.outcome });
    this.summary = new SummaryPanel(api, (call, text) => this.adopt(call, text));
    this.form = h(
      "form",
      { class: "wrapup", novalidate: true },
      this.noteLabel,
      this.textarea,
      h("div", { class: "wrapup-row" }, this.outcomeLabel, this.select, this.button, this.status),
      this.summary.el,
    );
    this.relabel();
    const touched = () => {
      this.dirty = true;
      this.setStatus(null);
    };
    this.textarea.addEventListener("input", touched);
    this.select.addEventListener("change", touched);
    this.textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) this.form.requestSubmit();
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
  }

  /** Labels, placeholder and outcomes in the current language; what was typed stays. */
  relabel() {
    this.textarea.placeholder = t("note.placeholder");
    for (const option of this.select.options) option.textContent = f.dispositionLabel(option.value);
    this.button.textContent = t("note.save");
    this.noteLabel.textContent = t("note.label");
    this.outcomeLabel.textContent = t("note.outcome");
    this.summary.relabel();
  }

  /** `key` null: no status. The text follows a change of language (data-i18n). */
  setStatus(name, params = {}, kind = "") {
    const { status } = this;
    status.className = ["save-status", kind ? `save-${kind}` : ""].filter(Boolean).join(" ");
    if (name) setText(status, name, params);
    else setPlain(status, "");
  }

  async save() {
    const { textarea, select, button } = this;
    const text = textarea.value.trim();
    if (!text && !select.value) {
      this.setStatus(key("note.empty"), {}, "error");
      textarea.focus();
      return;
    }
    button.disabled = true;
    this.setStatus(key("note.saving"));
    try {
      await this.saveNote(text, select.value);
      this.dirty = false;
      this.savedNote = text;
      this.setStatus(key("note.saved_at"), { time: f.time(new Date().toISOString()) }, "ok");
    } catch (error) {
      this.setStatus(key("note.not_saved"), { error: error.message }, "error");
    } finally {
      button.disabled = false;
    }
  }

  /** The AI draft became the call's note on the server (`call`: its answer; `added`: the text). */
  adopt(call, added) {
    const mine = this.entry?.call;
    if (mine) Object.assign(mine, { note: call.note ?? null, disposition: call.disposition ?? null, noted_by: call.noted_by ?? mine.noted_by });
    if (!this.dirty) {
      this.textarea.value = call.note || "";
      chooseOutcome(this.select, call.disposition);
      this.savedNote = call.note || "";
      fit(this.textarea);
      this.setStatus(key("summary.note_saved"), { time: f.time(new Date().toISOString()) }, "ok");
      return;
    }
    // The agent has unsaved words in the box: they stay, and the draft joins them below, so that
    // saving the box keeps both (the server's note already has the draft after the saved note).
    const typed = this.textarea.value.trimEnd();
    if (added && !typed.includes(added)) this.textarea.value = typed ? `${typed}\n\n${added}` : added;
    if (!this.select.value && call.disposition) chooseOutcome(this.select, call.disposition);
    fit(this.textarea);
    this.setStatus(key("summary.added_unsaved"), {}, "warn");
  }

  update(entry, state) {
    this.entry = entry;
    // While it rings there is nothing to note yet; from the answer on, the box is there.
    this.form.hidden = state === "ringing";
    // Once the call is over its AI summary may come; for a call that was talked, a transcript may
    // still be on its way, so the panel waits for one.
    if (!f.LIVE_STATES.has(state)) {
      this.summary.watch(entry.id, { waitForTranscript: state === "completed" || Boolean(entry.call.answered_at) });
    }
    if (this.dirty) return;
    const note = entry.call.note;
    // A server copy without a note (an event recorded before our save) never clears the box.
    if (typeof note === "string" && note && note !== this.textarea.value) this.textarea.value = note;
    if (typeof entry.call.disposition === "string" && entry.call.disposition) {
      chooseOutcome(this.select, entry.call.disposition);
    }
  }
}
