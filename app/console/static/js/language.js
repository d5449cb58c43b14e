// The language pickers (the top bar's and the sign-in page's): every language the console speaks,
// each in its own name. A choice applies at once, without a reload, and is remembered for the agent
// signed in, on this PC (localStorage, per username); before sign-in it becomes theirs at sign-in.

import { byId, h } from "./dom.js";
import { browserLocale, currentLocale, languages, onLocaleChange, saveLocale, savedLocale, setLocale } from "./i18n.js";

export class LanguagePickers {
  /** `signedInAs()`: the username of the agent signed in, null on the sign-in page. */
  constructor(signedInAs) {
    this.signedInAs = signedInAs;
    this.chosenBeforeSignIn = null;
    this.selects = [byId("locale"), byId("signin-locale")];
    for (const select of this.selects) {
      select.replaceChildren(...languages().map(({ tag, name, dir }) => h("option", { value: tag, lang: tag, dir }, name)));
      select.addEventListener("change", () => this.choose(select.value));
    }
    onLocaleChange(() => this.show());
    // A reload with a session: that agent's language before anything is drawn for them.
    const user = signedInAs();
    if (user && savedLocale(user)) setLocale(savedLocale(user));
    this.show();
  }

  choose(tag) {
    const user = this.signedInAs();
    if (user) saveLocale(user, tag);
    else this.chosenBeforeSignIn = tag;
    setLocale(tag);
  }

  /**
   * `username` signed in: a language picked on the sign-in page is now theirs; else the one they
   * chose before on this PC; else their browser's (not the previous agent's choice).
   */
  signedIn(username) {
    if (this.chosenBeforeSignIn) {
      saveLocale(username, this.chosenBeforeSignIn);
      this.chosenBeforeSignIn = null;
    } else {
      setLocale(savedLocale(username) || browserLocale());
    }
  }

  show() {
    for (const select of this.selects) select.value = currentLocale();
  }
}
