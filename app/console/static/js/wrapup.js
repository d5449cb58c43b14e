// The note an agent writes after a call, with its outcome. The box is built once per card and
// never re-rendered, so an update to the call or its card never eats what the agent is typing;
// a copy from the server fills it only while the agent has not touched it. A change of language
// relabels it in place.

import { h } from "./dom.js";
import * as f from "./format.js";
import { key, setPlain, setText, t } from "./i18n.js";

export class NoteBox {
  /**
   * `ids`: {note, outcome}, the ids its labels point at. `saveNote(text, disposition)` stores the
   * note and resolves once it is saved.
   */
  constructor(ids, saveNote) {
    this.saveNote = saveNote;
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
    this.form = h(
      "form",
      { class: "wrapup", novalidate: true },
      this.noteLabel,
      this.textarea,
      h("div", { class: "wrapup-row" }, this.outcomeLabel, this.select, this.button, this.status),
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

  update(entry, state) {
    // While it rings there is nothing to note yet; from the answer on, the box is there.
    this.form.hidden = state === "ringing";
    if (this.dirty) return;
    const note = entry.call.note;
    // A server copy without a note (an event recorded before our save) never clears the box.
    if (typeof note === "string" && note && note !== this.textarea.value) this.textarea.value = note;
    if (typeof entry.call.disposition === "string" && entry.call.disposition) {
      this.select.value = entry.call.disposition;
    }
  }
}
