// The AI's draft of what a call was about, under the wrap-up's note box (wrapup.js) and in the call
// log's note editor (logeditor.js), always marked as written by AI. The agent takes it as it is
// with one click, or edits it first; POST /api/v1/calls/{id}/summary/approve then makes it the
// call's note on the server — after a note the agent wrote, never instead of it — and the owner of
// the panel shows the new note (onApproved) without touching what the agent is typing.
//
// There is no push event for summaries, so the panel asks GET /api/v1/calls/{id} again while the
// draft is being written (and, in the wrap-up, while the call has no summary yet: a transcript can
// arrive a while after the call). It stops once the draft is ready, failed or approved, when the
// panel has left the page, or after five minutes.

import { clear, h } from "./dom.js";
import { currentLocale, key, setPlain, setText, supported } from "./i18n.js";
import { draftView, editingView, failedView, pendingView, usedView } from "./summaryview.js";

const WRITING_MS = 2500; // a draft on its way: a small local model takes some seconds
const WAITING_MS = 5000; // no transcript yet
const GIVE_UP_MS = 5 * 60 * 1000;
const SETTLED = new Set(["ready", "failed", "approved"]);
const SHOWN = new Set(["pending", "ready", "failed", "approved"]);

let panels = 0;

export class SummaryPanel {
  /** `onApproved(call, text)`: the server made `text` part of the call's note; `call` is its answer. */
  constructor(api, onApproved) {
    panels += 1;
    this.api = api;
    this.onApproved = onApproved;
    this.ids = { title: `ai-summary-${panels}`, items: `ai-summary-${panels}-items`, editor: `ai-summary-${panels}-edit` };
    this.callId = null;
    this.summary = null;
    this.drawn = null;
    // The textarea while the agent edits the draft: kept across redraws, so is what they typed.
    this.editor = null;
    this.busy = false;
    this.refocus = false;
    // Bumped by every approval and retry: an answer to a poll sent before it is stale.
    this.generation = 0;
    this.timer = null;
    this.until = 0;
    this.waitForTranscript = false;
    this.body = h("div", { class: "ai-body" });
    // Outside what each redraw replaces, so that screen readers hear what is put in them.
    this.status = h("span", { class: "ai-status", role: "status" });
    this.news = h("span", { class: "visually-hidden", role: "status" });
    this.el = h("section", { class: "ai-summary", hidden: true, "aria-labelledby": this.ids.title }, this.body, this.status, this.news);
  }

  /** Follow the summary of call `callId`, once (the wrap-up calls this on every update).
   * `waitForTranscript`: keep asking while the call has no summary at all. */
  watch(callId, { waitForTranscript = false } = {}) {
    if (this.callId) return;
    this.callId = callId;
    this.waitForTranscript = waitForTranscript;
    this.until = Date.now() + GIVE_UP_MS;
    this.load();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    this.until = 0;
  }

  async load() {
    const generation = this.generation;
    let call = null;
    try {
      call = await this.api.callDetail(this.callId);
    } catch (error) {
      // No such call, or a server without summaries: nothing to show, nothing to wait for. An
      // unreachable or failing server is asked again at the next tick.
      if (error.status >= 400 && error.status < 500) return this.stop();
    }
    if (generation !== this.generation) return;
    if (call) this.show(call.summary);
    // A server without a model writes no summaries: nothing to wait for.
    if (call && call.ai_summaries === false && !this.summary) return this.stop();
    this.later();
  }

  later() {
    clearTimeout(this.timer);
    this.timer = null;
    const status = this.summary?.status;
    if (SETTLED.has(status) || Date.now() >= this.until) return;
    if (!status && !this.waitForTranscript) return;
    // A card closed or an editor folded meanwhile: nobody is looking any more.
    this.timer = setTimeout(() => this.el.isConnected && this.load(), status === "pending" ? WRITING_MS : WAITING_MS);
  }

  show(summary) {
    const was = this.summary?.status;
    this.summary = summary && typeof summary === "object" && SHOWN.has(summary.status) ? summary : null;
    const now = this.summary?.status;
    if (now !== "ready") this.editor = null;
    if (was === "pending" && now === "ready") setText(this.news, "summary.ready_news");
    if (was === "pending" && now === "failed") setText(this.news, "summary.failed");
    this.render();
  }

  /** The agent switched language: drawn again in it (an edit in progress keeps its text). */
  relabel() {
    this.drawn = null;
    this.render();
  }

  render() {
    const s = this.summary;
    const drawn = JSON.stringify([s, Boolean(this.editor), currentLocale()]);
    if (drawn === this.drawn) return; // a poll that changed nothing leaves focus and selection be
    this.drawn = drawn;
    const hadFocus = this.body.contains(document.activeElement) || this.refocus;
    this.el.hidden = !s;
    this.el.dataset.status = s?.status || "none";
    // A view leaves out what a summary lacks as nulls: DOM's append would write them as "null".
    clear(this.body).append(...(s ? this.view(s) : []).filter(Boolean));
    // The button that had the keyboard is gone: it goes on to what took its place.
    if (hadFocus && !this.body.contains(document.activeElement)) this.focus();
    this.refocus = false;
  }

  focus() {
    const buttons = this.body.querySelector(".ai-buttons");
    (buttons?.querySelector(".btn-primary") || buttons?.querySelector("button") || this.body.querySelector(".ai-title"))?.focus();
  }

  /** What the panel shows for summary `s`, with the buttons wired to this panel. */
  view(s) {
    const ids = this.ids;
    if (s.status === "pending") return pendingView(s, ids);
    if (s.status === "failed") return failedView(s, ids, { retry: () => this.retry() });
    if (s.status === "approved") return usedView(s, ids);
    const on = { approve: () => this.approve(), edit: () => this.edit(), cancel: () => this.cancelEdit() };
    if (this.editor) return editingView(ids, this.editor, { ...on, approve: () => this.approve(this.editor.value) });
    const mine = currentLocale();
    // A draft in another language than the console's: one click asks for it in the agent's.
    if (s.language && supported(s.language) !== mine) on.inMine = () => this.retry(mine);
    return draftView(s, ids, on);
  }

  edit() {
    const editor = h("textarea", { id: this.ids.editor, class: "input note-input ai-editor", rows: "4", maxlength: "4000", dir: "auto" });
    editor.value = this.summary?.text || "";
    editor.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.approve(editor.value);
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        this.cancelEdit();
      }
    });
    this.editor = editor;
    this.say(null);
    this.render();
    editor.focus();
  }

  cancelEdit() {
    this.editor = null;
    this.say(null);
    this.render();
    this.body.querySelector(".ai-edit")?.focus();
  }

  say(name, params = {}, kind = "") {
    this.status.className = ["ai-status", kind ? `save-${kind}` : ""].filter(Boolean).join(" ");
    if (name) setText(this.status, name, params);
    else setPlain(this.status, "");
  }

  /** Begin an approval or a retry: answers to polls sent before it no longer count. */
  begin() {
    if (this.busy) return false;
    this.busy = true;
    this.generation += 1;
    clearTimeout(this.timer);
    // A button that is disabled loses the focus: the panel gives it back once it has answered.
    this.refocus = this.body.contains(document.activeElement);
    for (const button of this.body.querySelectorAll("button")) button.disabled = true;
    return true;
  }

  end() {
    this.busy = false;
    for (const button of this.body.querySelectorAll("button")) button.disabled = false;
    if (this.refocus && !this.body.contains(document.activeElement)) this.focus();
    this.refocus = false;
  }

  /** `edited` undefined: the draft as it is; else the agent's version of it. */
  async approve(edited) {
    const text = edited === undefined ? undefined : edited.trim();
    if (text === "") {
      this.say(key("summary.empty"), {}, "error");
      this.editor?.focus();
      return;
    }
    if (!this.begin()) return;
    this.say(key("summary.using"));
    try {
      this.settle(await this.api.approveSummary(this.callId, text), text);
    } catch (error) {
      if (error.status === 409) await this.recheck();
      else this.say(key("summary.not_used"), { error: error.message }, "error");
    } finally {
      this.end();
    }
  }

  settle(call, text) {
    this.editor = null;
    this.say(null);
    this.show(call.summary);
    setText(this.news, "summary.used");
    this.onApproved(call, text ?? call.summary?.text ?? "");
  }

  /** 409: no ready draft any more. Approved from another screen, or being written again. */
  async recheck() {
    try {
      const call = await this.api.callDetail(this.callId);
      if (call.summary?.status === "approved") return this.settle(call, call.summary.text);
      this.editor = null;
      this.show(call.summary);
      this.say(key("summary.changed"), {}, "error");
      this.until = Date.now() + GIVE_UP_MS;
      this.later();
    } catch (error) {
      this.say(key("summary.not_used"), { error: error.message }, "error");
    }
  }

  /** Write the draft again (in `language`, or the server's own). */
  async retry(language) {
    if (!this.begin()) return;
    this.say(key("summary.asking"));
    try {
      const call = await this.api.retrySummary(this.callId, language);
      this.say(null);
      this.editor = null;
      this.until = Date.now() + GIVE_UP_MS;
      this.show(call.summary);
      this.later();
    } catch (error) {
      this.say(key("summary.retry_failed"), { error: error.message }, "error");
    } finally {
      this.end();
    }
  }
}
