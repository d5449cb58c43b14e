// The team page's forms: adding an agent, and the panels under an agent's row for its lines and
// for a new password. Labels carry data-i18n, so a change of language rewords them in place and
// nothing typed is lost.

import { h } from "./dom.js";
import { key, label, setPlain, t } from "./i18n.js";

const ROLES = ["agent", "supervisor", "admin"];

/** Lines as typed: numbers or queue names separated by commas or new lines. */
export function parseLines(text) {
  return text
    .split(/[,\n]/)
    .map((line) => line.trim())
    .filter(Boolean);
}

/** What went wrong, in the agent's words where we know the problem; else the server's own. */
export function problemText(error) {
  const message = String(error?.message ?? "");
  if (error?.status === 409) return t("team.error.taken");
  if (error?.status === 503) return t("team.error.busy");
  if (error?.status === 403 && /yourself|your own/.test(message)) return t("team.error.self");
  if (error?.status === 403 && /only an admin/.test(message)) return t("team.error.admin_only");
  if (error?.status === 422) {
    if (message.startsWith("password")) return t("team.error.password");
    if (message.startsWith("username")) return t("team.error.username");
    if (message.startsWith("display_name")) return t("team.error.display_name");
    if (message.startsWith("lines")) return t("team.error.lines");
  }
  return message;
}

/** An element whose text is the words of `name` (a key("…")), reworded on a change of language. */
function words(tag, name, attrs = {}) {
  return h(tag, { ...attrs, "data-i18n": name }, t(name));
}

function field(id, name, input, hintKey = null) {
  return h(
    "div",
    { class: "team-field" },
    words("label", name, { class: "field-label", for: id }),
    input,
    hintKey ? words("p", hintKey, { class: "muted team-hint", id: `${id}-hint` }) : null,
  );
}

function input(id, attrs = {}) {
  return h("input", { id, class: "input", autocomplete: "off", spellcheck: "false", ...attrs });
}

async function submitting(form, error, work) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  setPlain(error, "");
  error.hidden = true;
  try {
    await work();
  } catch (failure) {
    setPlain(error, problemText(failure));
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

export class AddAgentForm {
  /** `create(body)` posts the agent; `done(agent)` runs with what the server stored. */
  constructor({ create, canGrantAdmin, done }) {
    this.canGrantAdmin = canGrantAdmin;
    this.username = input("team-add-username", { autocapitalize: "none", required: true, maxlength: "64", dir: "ltr" });
    this.displayName = input("team-add-name", { required: true, maxlength: "255", dir: "auto" });
    this.password = input("team-add-password", { type: "text", required: true, minlength: "8", "aria-describedby": "team-add-password-hint" });
    this.lines = input("team-add-lines", { value: "*", dir: "ltr", "aria-describedby": "team-add-lines-hint" });
    this.role = h("select", { id: "team-add-role", class: "input select" });
    this.error = h("p", { class: "form-error", role: "alert", hidden: true });
    this.form = h(
      "form",
      { class: "team-add", novalidate: true, "aria-labelledby": "team-add-title" },
      words("h3", key("team.add.title"), { id: "team-add-title", class: "panel-title" }),
      h(
        "div",
        { class: "team-fields" },
        field("team-add-name", key("team.add.display_name"), this.displayName),
        field("team-add-username", key("team.add.username"), this.username),
        field("team-add-password", key("team.add.password"), this.password, key("team.add.password_hint")),
        field("team-add-lines", key("team.add.lines"), this.lines, key("team.lines.hint")),
        field("team-add-role", key("team.add.role"), this.role),
      ),
      this.error,
      words("button", key("team.add.submit"), { type: "submit", class: "btn btn-primary" }),
    );
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      submitting(this.form, this.error, async () => {
        const agent = await create({
          username: this.username.value.trim(),
          display_name: this.displayName.value.trim(),
          password: this.password.value,
          lines: parseLines(this.lines.value),
          role: this.role.value,
        });
        this.reset();
        done(agent);
      });
    });
    this.node = this.form;
    this.render();
  }

  /** The roles on offer: only an admin may add an admin. */
  render() {
    const chosen = this.role.value || "agent";
    const roles = ROLES.filter((role) => role !== "admin" || this.canGrantAdmin());
    this.role.replaceChildren(...roles.map((role) => h("option", { value: role }, label("team.role", role))));
    this.role.value = roles.includes(chosen) ? chosen : "agent";
  }

  reset() {
    this.form.reset();
    this.lines.value = "*";
    this.error.hidden = true;
    this.render();
  }
}

/** One field under an agent's row, with Cancel and a submit button: the lines panel and the
 * password panel differ only in their field, their words and what submitting does. */
function panelForm(id, field, { label, hint, submit }, close, onSubmit) {
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const form = h(
    "form",
    { class: "team-panel", novalidate: true },
    h(
      "div",
      { class: "team-field" },
      h("label", { class: "field-label", for: id }, label),
      field,
      words("p", hint, { class: "muted team-hint", id: `${id}-hint` }),
    ),
    error,
    h(
      "div",
      { class: "dialog-actions" },
      words("button", key("team.cancel"), { type: "button", class: "btn btn-tool", onclick: close }),
      words("button", submit, { type: "submit", class: "btn btn-primary" }),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, error, onSubmit);
  });
  return form;
}

/** Under an agent's row: its lines, to change. `save(lines)` throws what the server said. */
export class LinesPanel {
  constructor(agent, save, close) {
    const id = `team-lines-${agent.id}`;
    this.input = input(id, { value: agent.lines.join(", "), dir: "ltr", "aria-describedby": `${id}-hint` });
    const wording = {
      label: t("team.lines.label", { name: agent.display_name }),
      hint: key("team.lines.hint"),
      submit: key("team.save"),
    };
    this.node = panelForm(id, this.input, wording, close, () => save(parseLines(this.input.value)));
  }

  focus() {
    this.input.focus();
  }
}

/** Under an agent's row: a new password, typed or made up by the server and then shown once.
 * `reset(password | null)` resolves to the made-up password (null when one was typed). */
export class PasswordPanel {
  constructor(agent, reset, close) {
    const id = `team-password-${agent.id}`;
    this.input = input(id, { type: "text", minlength: "8", "aria-describedby": `${id}-hint` });
    const wording = {
      label: t("team.password.label", { name: agent.display_name }),
      hint: key("team.password.hint"),
      submit: key("team.password.submit"),
    };
    const form = panelForm(id, this.input, wording, close, async () => {
      const made = await reset(this.input.value || null);
      this.node.replaceChildren(...this.result(agent, made, close));
    });
    this.node = h("div", { class: "team-panel-box" }, form);
  }

  result(agent, made, close) {
    const done = words("button", key("team.done"), { type: "button", class: "btn btn-tool", onclick: close });
    if (!made) return [h("p", {}, t("team.password.changed", { name: agent.display_name })), done];
    return [
      h("p", {}, t("team.password.generated", { name: agent.display_name })),
      h("p", {}, h("code", { class: "team-secret", dir: "ltr", "data-secret": "" }, made)),
      h("p", { class: "muted" }, t("team.password.once", { name: agent.display_name })),
      done,
    ];
  }

  focus() {
    this.input.focus();
  }
}
