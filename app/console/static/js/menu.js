// The top bar on a small screen: one row (the mark, the view shown, the connection, a menu button)
// instead of three. The tabs, the simulate button, sound, alerts, the language, the agent's name
// and sign-out move into a panel the menu button opens (a disclosure: aria-expanded on the
// button, Escape or a click elsewhere closes it). On a wide screen the panel's content is the bar
// itself and the button is not shown; which one applies is console.css's media query, the same
// width as NARROW below.
//
// The counts that sit on the tabs (missed calls to do, integrations refusing) would be hidden in
// the closed panel: the menu button carries their sum, so a phone still shows there is something
// to look at.

import { byId } from "./dom.js";
import { onLocaleChange, t } from "./i18n.js";

const NARROW = "(max-width: 720px)";

function shownCount(el) {
  return el && !el.hidden ? Number(el.textContent) || 0 : 0;
}

export class TopbarMenu {
  constructor() {
    this.bar = document.querySelector(".topbar");
    this.toggle = byId("menu-toggle");
    this.panel = byId("topbar-menu");
    this.badge = byId("menu-count");
    this.viewName = byId("topbar-view");
    this.liveCount = byId("topbar-live-count");
    this.counts = { live: byId("live-count"), attention: [byId("missed-count"), byId("status-count")] };
    this.tab = this.panel.querySelector('.tab[aria-current="page"]');
    this.narrow = window.matchMedia(NARROW);
    this.toggle.addEventListener("click", () => this.setOpen(!this.isOpen));
    this.bar.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen) {
        this.setOpen(false);
        this.toggle.focus();
      }
    });
    // A tool that opens a dialog (Simulate) closes the panel: the dialog is what comes next.
    this.panel.addEventListener("click", (event) => {
      if (event.target.closest?.('[aria-haspopup="dialog"]')) this.setOpen(false);
    });
    document.addEventListener("click", (event) => {
      if (this.isOpen && !this.bar.contains(event.target)) this.setOpen(false);
    });
    // Wide again (a phone turned, a window widened): the bar is the bar, nothing is open.
    this.narrow.addEventListener("change", () => this.setOpen(false));
    const observer = new MutationObserver(() => this.render());
    for (const el of [this.counts.live, ...this.counts.attention]) {
      observer.observe(el, { attributes: true, attributeFilter: ["hidden"], childList: true, characterData: true, subtree: true });
    }
    onLocaleChange(() => this.render());
    this.setOpen(false);
  }

  get isOpen() {
    return this.bar.dataset.menu === "open";
  }

  setOpen(open) {
    this.bar.dataset.menu = open ? "open" : "closed";
    this.toggle.setAttribute("aria-expanded", String(open));
    if (open) (this.panel.querySelector('.tab[aria-current="page"]') || this.panel.querySelector("button, select"))?.focus();
  }

  /** The view of `tab` is on screen: the bar names it, and a choice in the panel closes it. */
  shown(tab) {
    this.tab = tab;
    if (this.isOpen) this.setOpen(false);
    this.render();
  }

  render() {
    const key = this.tab?.querySelector("[data-i18n]")?.dataset.i18n;
    this.viewName.textContent = key ? t(key) : "";
    const live = shownCount(this.counts.live);
    this.liveCount.hidden = live === 0;
    this.liveCount.textContent = String(live);
    const attention = this.counts.attention.reduce((sum, el) => sum + shownCount(el), 0);
    this.badge.hidden = attention === 0;
    this.badge.textContent = String(attention);
    this.toggle.setAttribute("aria-label", attention ? t("menu.label_count", { count: attention }) : t("menu.label"));
  }
}
