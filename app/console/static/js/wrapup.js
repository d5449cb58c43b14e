// The note an agent writes after a call, with its outcome. The box is built once per card and
// never re-rendered, so an update to the call or its card never eats what the agent is typing;
// a copy from the server fills it only while the agent has not touched it.

import { h } from "./dom.js";
import * as f from "./format.js";

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
    this.textarea = h("textarea", {
      id: ids.note,
      class: "input note-input",
      rows: "2",
      maxlength: "4000",
      dir: "auto",
      placeholder: "What was the call about? What did you promise?",
    });
    this.select = h(
      "select",
      { id: ids.outcome, class: "input select" },
      f.DISPOSITIONS.map(([value, label]) => h("option", { value }, label)),
    );
    this.status = h("span", { class: "save-status", role: "status" });
    this.button = h("button", { type: "submit", class: "btn btn-primary" }, "Save note");
    this.form = h(
      "form",
      { class: "wrapup", novalidate: true },
      h("label", { class: "field-label", for: ids.note }, "Note for the call log"),
      this.textarea,
      h(
        "div",
        { class: "wrapup-row" },
        h("label", { class: "field-label inline", for: ids.outcome }, "Outcome"),
        this.select,
        this.button,
        this.status,
      ),
    );
    const touched = () => {
      this.dirty = true;
      this.status.textContent = "";
      this.status.className = "save-status";
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

  async save() {
    const { textarea, select, status, button } = this;
    const text = textarea.value.trim();
    if (!text && !select.value) {
      status.textContent = "Write a note or pick an outcome first.";
      status.className = "save-status save-error";
      textarea.focus();
      return;
    }
    button.disabled = true;
    status.textContent = "Saving…";
    status.className = "save-status";
    try {
      await this.saveNote(text, select.value);
      this.dirty = false;
      this.savedNote = text;
      status.textContent = `Saved at ${f.time(new Date().toISOString())}`;
      status.className = "save-status save-ok";
    } catch (error) {
      status.textContent = `Not saved: ${error.message}`;
      status.className = "save-status save-error";
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
