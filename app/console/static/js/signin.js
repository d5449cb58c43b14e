// The sign-in form: shown when there is no valid session, with a notice when one just ended.

import { byId, h } from "./dom.js";
import { setPlain, setText } from "./i18n.js";

export class SignIn {
  /** `onSignedIn()` runs once `session` holds a fresh token. */
  constructor(session, api, onSignedIn) {
    this.session = session;
    this.api = api;
    this.onSignedIn = onSignedIn;
    this.el = {
      signin: byId("signin"),
      form: byId("signin-form"),
      username: byId("signin-username"),
      password: byId("signin-password"),
      error: byId("signin-error"),
      notice: byId("signin-notice"),
      submit: byId("signin-submit"),
      app: byId("app"),
    };
    // What opens once the agent is in (a deep link's card): said above the form.
    this.el.intent = h("p", { id: "signin-intent", class: "notice signin-intent", hidden: true });
    this.el.notice.after(this.el.intent);
    this.el.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.signIn();
    });
  }

  /** `notice`: the key of why the last session ended, or "". */
  show(notice = "") {
    this.el.app.hidden = true;
    this.el.signin.hidden = false;
    this.el.notice.hidden = !notice;
    if (notice) setText(this.el.notice, notice);
    else setPlain(this.el.notice, "");
    this.el.password.value = "";
    this.el.username.value = this.session.username || this.el.username.value;
    (this.el.username.value ? this.el.password : this.el.username).focus();
  }

  /** `key` (with `params`): what the console opens after the sign-in; null: nothing. */
  setIntent(key, params = {}) {
    this.el.intent.hidden = !key;
    if (key) setText(this.el.intent, key, params);
    else setPlain(this.el.intent, "");
  }

  /** The console takes the page. */
  hide() {
    this.el.signin.hidden = true;
    this.el.app.hidden = false;
  }

  async signIn() {
    const username = this.el.username.value.trim();
    const password = this.el.password.value;
    const error = this.el.error;
    if (!username || !password) {
      setText(error, "signin.missing");
      error.hidden = false;
      return;
    }
    this.el.submit.disabled = true;
    error.hidden = true;
    try {
      this.session.save(await this.api.signIn(username, password), username);
      this.onSignedIn();
    } catch (e) {
      if (e.status === 401) setText(error, "signin.wrong");
      else setPlain(error, e.message);
      error.hidden = false;
      this.el.password.select();
    } finally {
      this.el.submit.disabled = false;
    }
  }
}
