// The push channel's state in the top bar ("Connected", "Reconnecting · retry in 4 s"), with the
// button that skips the wait (or takes the channel back from another window).

import { h } from "./dom.js";
import { label, t, unit } from "./i18n.js";

export class ConnectionIndicator {
  /** `el`: the #connection element; `retryNow()`: connect again at once. */
  constructor(el, retryNow) {
    this.el = el;
    this.retryNow = retryNow;
    this.status = { state: "connecting", retryAt: null };
  }

  /** `status`: {state, retryAt} as PushClient reports it. The countdown is drawn by tick(). */
  show(status) {
    this.status = status;
    const el = this.el;
    el.dataset.state = status.state;
    el.replaceChildren(
      h("span", { class: "conn-dot", "aria-hidden": "true" }),
      h("span", { class: "conn-label" }, label("connection.state", status.state)),
      h("span", { class: "conn-retry", "aria-hidden": "true" }),
    );
    if (status.retryAt || status.state === "replaced") {
      const text = status.retryAt ? t("connection.retry_now") : t("connection.use_here");
      el.append(h("button", { type: "button", class: "btn btn-link conn-now", onclick: () => this.retryNow() }, text));
    }
  }

  tick() {
    const retry = this.el.querySelector(".conn-retry");
    if (retry) {
      const at = this.status.retryAt;
      const seconds = at ? Math.max(0, Math.ceil((at - Date.now()) / 1000)) : 0;
      const words = seconds ? t("connection.retry_in", { time: unit(seconds, "second") }) : t("connection.retrying");
      retry.textContent = at ? ` · ${words}` : "";
    }
  }
}
