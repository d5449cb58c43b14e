// The push channel's state in the top bar ("Connected", "Reconnecting · retry in 4 s"), with the
// button that skips the wait (or takes the channel back from another window).

import { h } from "./dom.js";

const CONNECTION_LABELS = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting",
  offline: "Offline",
  "signed-out": "Signed out",
  replaced: "Open in another window",
};

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
      h("span", { class: "conn-label" }, CONNECTION_LABELS[status.state] || status.state),
      h("span", { class: "conn-retry", "aria-hidden": "true" }),
    );
    if (status.retryAt || status.state === "replaced") {
      const label = status.retryAt ? "Retry now" : "Use here";
      el.append(h("button", { type: "button", class: "btn btn-link conn-now", onclick: () => this.retryNow() }, label));
    }
  }

  tick() {
    const retry = this.el.querySelector(".conn-retry");
    if (retry) {
      const at = this.status.retryAt;
      const seconds = at ? Math.max(0, Math.ceil((at - Date.now()) / 1000)) : 0;
      retry.textContent = at ? (seconds ? ` · retry in ${seconds} s` : " · retrying…") : "";
    }
  }
}
