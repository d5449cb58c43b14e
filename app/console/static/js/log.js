// The call log: today's calls, the missed ones still to call back, notes. The server answers the
// newest calls first (GET /api/v1/calls); the day, the to-do scope and the search are applied here
// on what it returned, so typing in the search box never waits on the network. An AI draft waiting
// for an agent is marked (the mark opens the note editor to approve it); a note that took one too.

import { draftMark, usedMark } from "./aimark.js";
import { providerCallRef } from "./callref.js";
import { byId, clear, h, userText } from "./dom.js";
import * as f from "./format.js";
import { key, setText, t, tParts } from "./i18n.js";
import { callBackLink, isCallable, notCallable } from "./links.js";
import { noteEditor } from "./logeditor.js";
import { matchesSearch } from "./logsearch.js";
import { StoreFilter } from "./stores.js";

const PAGE = 500;
const REFRESH_DEBOUNCE_MS = 600;

export class CallLog {
  constructor(api, { onMissedCount, announce }) {
    this.api = api;
    this.onMissedCount = onMissedCount;
    this.announce = announce;
    this.scope = "today";
    this.calls = [];
    this.missed = [];
    this.loaded = false;
    this.timer = null;
    this.controller = null;
    this.openEditor = null;
    // When the agent clicked "Call back" on a row (this page's life): that row then offers
    // "Mark done" first, so closing the loop after the call is one click.
    this.calledBack = new Map();
    this.el = {
      today: byId("log-today"),
      todo: byId("log-todo"),
      all: byId("log-all"),
      state: byId("log-state"),
      search: byId("log-search"),
      refresh: byId("log-refresh"),
      doneAll: byId("log-done-all"),
      status: byId("log-status"),
      list: byId("log-list"),
      todoCount: byId("todo-count"),
      filters: byId("log-filters"),
    };
    this.stores = new StoreFilter(byId("log-store"), () => this.render());
    for (const scope of ["today", "todo", "all"]) {
      this.el[scope].addEventListener("click", () => this.setScope(scope));
    }
    this.el.state.addEventListener("change", () => this.refresh());
    this.el.search.addEventListener("input", () => this.render());
    this.el.refresh.addEventListener("click", () => this.refresh());
    this.el.doneAll.addEventListener("click", () => this.markAllDone());
    this.el.filters.addEventListener("submit", (event) => event.preventDefault());
  }

  /** Forget everything (sign-out): the next agent at this PC must not see this one's log. */
  reset() {
    this.controller?.abort();
    clearTimeout(this.timer);
    this.calls = [];
    this.missed = [];
    this.loaded = false;
    this.error = null;
    this.openEditor = null;
    this.calledBack.clear();
    this.el.search.value = "";
    this.render();
  }

  setScope(scope) {
    this.scope = scope;
    for (const name of ["today", "todo", "all"]) this.el[name].setAttribute("aria-pressed", String(name === scope));
    this.render();
    this.refresh();
  }

  /** Refresh after call events, at most once per burst of them. */
  refreshSoon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), REFRESH_DEBOUNCE_MS);
  }

  async refresh() {
    clearTimeout(this.timer);
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const state = this.el.state.value;
    const since = this.scope === "today" ? f.startOfToday().toISOString() : undefined;
    try {
      const [calls, missed] = await Promise.all([
        this.api.calls({ state: state || undefined, since, limit: PAGE }, controller.signal),
        this.api.calls({ state: "missed", todo: true, limit: PAGE }, controller.signal),
      ]);
      this.calls = Array.isArray(calls) ? calls : calls?.calls || [];
      this.missed = Array.isArray(missed) ? missed : missed?.calls || [];
      this.loaded = true;
      this.error = null;
    } catch (error) {
      if (error.name === "AbortError") return;
      this.error = error.status === 404 ? { key: key("log.no_log") } : { key: key("log.load_failed"), params: { error: error.message } };
    }
    this.render();
  }

  /** The missed calls nobody marked done: the to-do list shows every one of them. */
  open() {
    return this.missed.filter((c) => c.state === "missed" && !c.done);
  }

  /** What is left to do: only callers someone can ring back are counted; a withheld or invalid
   * number is listed (marked "cannot be called back") but is no call anyone could make. */
  todo() {
    return this.open().filter(isCallable);
  }

  visible() {
    const [query, state] = [this.el.search.value, this.el.state.value];
    let calls = this.scope === "todo" ? this.open() : this.calls;
    if (this.scope === "today") calls = calls.filter((c) => f.isToday(c.started_at));
    if (state) calls = calls.filter((c) => c.state === state);
    return calls.filter((c) => matchesSearch(c, query) && this.stores.matches(c));
  }

  /** The agent switched language: the list and an open note editor in it (its text stays). */
  relocalise() {
    this.openEditor?.relabel();
    this.stores.relocalise();
    this.render();
  }

  render() {
    const todo = this.todo().length;
    this.onMissedCount(todo);
    this.el.todoCount.hidden = todo === 0;
    this.el.todoCount.textContent = String(todo);
    this.el.doneAll.hidden = this.open().length === 0;
    const calls = this.visible();
    const status = this.el.status;
    if (this.error) setText(status, this.error.key, this.error.params);
    else if (!this.loaded) setText(status, "log.loading");
    else if (!calls.length) setText(status, this.scope === "todo" ? key("log.none_todo") : key("log.none"));
    else setText(status, "log.count", { count: calls.length });
    // An open note editor survives a refresh: the agent may be typing in it.
    const keep = this.openEditor;
    clear(this.el.list).append(...calls.map((call) => this.row(call, keep)));
  }

  row(call, keep) {
    const name = call.customer_name;
    const number = call.from_display || call.from_raw || "";
    const durations = [];
    if (call.waiting_s !== null && call.waiting_s !== undefined) {
      const time = f.duration(call.waiting_s);
      durations.push(call.state === "missed" ? t("call.rang", { time }) : t("call.waited", { time }));
    }
    if (call.talking_s) durations.push(t("call.talked", { time: f.duration(call.talking_s) }));
    const actions = call.state === "missed" ? this.missedActions(call) : [];
    const called = call.state === "missed" && !call.done ? this.calledBack.get(call.id) : undefined;
    const open = keep?.id === call.id;
    const toggle = (e) => this.toggleEditor(call, e.currentTarget.closest("li"));
    const aiNote = call.summary_status === "approved" && call.note;
    actions.push(h("button", { type: "button", class: "btn btn-small btn-tool note-toggle", "aria-expanded": String(open), onclick: toggle }, call.note ? t("log.edit_note") : t("log.add_note")));
    const li = h(
      "li",
      { class: "log-row", dataset: { state: call.state, callId: call.id, ...(called ? { calledBack: "true" } : {}) } },
      h("div", { class: "log-time" }, h("span", { class: "log-clock" }, f.time(call.started_at)), h("span", { class: "muted" }, f.isToday(call.started_at) ? t("log.day_today") : f.date(call.started_at))),
      h("span", { class: ["badge", `call-${call.state}`] }, f.callState(call.state)),
      h(
        "div",
        { class: "log-who" },
        name ? userText("span", name, { class: "log-name" }) : h("span", { class: "log-name muted" }, f.matchStatus(call.match_status) || t("log.caller")),
        h("span", { class: "log-number", dir: "ltr" }, number),
        this.stores.chipFor(call),
        h(
          "span",
          { class: "log-meta muted" },
          durations.join(" · "),
          call.answered_by ? [durations.length ? " · " : "", tParts("call.by", { who: userText("span", call.answered_by) })] : null,
        ),
        providerCallRef(call, this.announce),
      ),
      h(
        "div",
        { class: "log-note" },
        called ? h("p", { class: "called-back" }, t("callback.called", { time: f.time(called) })) : null,
        call.disposition ? h("span", { class: "chip chip-outcome" }, f.dispositionLabel(call.disposition)) : null,
        call.summary_status === "ready" ? draftMark(toggle, open) : null,
        call.note ? userText("p", call.note, { class: "log-note-text" }) : null,
        call.note && (call.noted_by || aiNote)
          ? h("span", { class: "log-meta muted log-noted" }, call.noted_by ? tParts("log.noted_by", { who: userText("span", call.noted_by) }) : null, aiNote ? usedMark() : null)
          : null,
      ),
      h("div", { class: "log-actions" }, actions),
    );
    if (keep?.id === call.id) li.append(keep.form);
    return li;
  }

  /**
   * A missed call's buttons: "Call back" (primary until clicked) beside "Mark done" (primary once
   * the agent called back), or "cannot be called back" for a withheld or invalid caller.
   */
  missedActions(call) {
    const parts = [];
    const called = this.calledBack.has(call.id);
    let dialled = false;
    if (!isCallable(call)) parts.push(notCallable());
    else {
      const who = call.customer_name || call.from_display || call.from || "";
      const back = callBackLink(call.callback_url, who, {
        className: ["btn btn-small", called || call.done ? "btn-tool" : "btn-primary"].join(" "),
        onCall: () => this.calledBackOn(call, who),
      });
      dialled = Boolean(back);
      if (back) parts.push(back);
    }
    if (call.done) parts.push(h("span", { class: "chip chip-done" }, t("log.done")));
    else {
      const primary = called || (!dialled && isCallable(call));
      parts.push(h("button", { type: "button", class: ["btn btn-small mark-done", primary ? "btn-primary" : "btn-tool"], onclick: () => this.markDone(call) }, t("log.mark_done")));
    }
    return parts;
  }

  /** The agent clicked "Call back": once the phone has the number, the row offers "Mark done". */
  calledBackOn(call, who) {
    this.calledBack.set(call.id, new Date().toISOString());
    // Not now: a link taken out of the page before its click is handled never opens the phone.
    setTimeout(() => {
      this.render();
      this.el.list.querySelector(`[data-call-id="${CSS.escape(call.id)}"] .mark-done`)?.focus();
      this.announce(t("callback.calling", { who }));
    }, 0);
  }

  /** Open `call`'s note editor under its row `li` (closing any other), or close it. */
  toggleEditor(call, li) {
    const closing = this.openEditor?.id === call.id;
    this.openEditor?.form.remove();
    this.openEditor = null;
    for (const b of this.el.list.querySelectorAll(".note-toggle")) b.setAttribute("aria-expanded", "false");
    if (closing) return;
    this.openEditor = noteEditor(call, this.api, (said) => {
      this.openEditor = null;
      this.announce(said);
      this.render();
      // The editor that had the keyboard is gone: back to its row's note button.
      this.el.list.querySelector(`[data-call-id="${CSS.escape(call.id)}"] .log-actions .note-toggle`)?.focus();
    });
    for (const b of li.querySelectorAll(".note-toggle")) b.setAttribute("aria-expanded", "true");
    li.append(this.openEditor.form);
    this.openEditor.focus();
  }

  async markDone(call) {
    try {
      await this.api.markDone(call.id);
      for (const list of [this.calls, this.missed]) {
        for (const c of list) if (c.id === call.id) c.done = true;
      }
      this.announce(t("log.marked_done"));
      this.render();
      // The button that had focus is gone; keep the keyboard on the same row.
      this.el.list.querySelector(`[data-call-id="${CSS.escape(call.id)}"] .log-actions button`)?.focus();
    } catch (error) {
      setText(this.el.status, "log.done_failed", { error: error.message });
    }
  }

  async markAllDone() {
    try {
      await this.api.markAllMissedDone();
      for (const list of [this.calls, this.missed]) {
        for (const c of list) if (c.state === "missed") c.done = true;
      }
      this.announce(t("log.all_marked_done"));
      this.render();
      this.el.status.focus();
    } catch (error) {
      setText(this.el.status, "log.done_all_failed", { error: error.message });
    }
  }
}
