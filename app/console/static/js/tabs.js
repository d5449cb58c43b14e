// The views under the top bar (Live, Call log, Integrations, Team, Insights): one shown at a time, its tab
// marked as the current page. On a small screen the tabs live in the top bar's menu (menu.js),
// which closes when a view is chosen and names the view shown.

import { byId } from "./dom.js";
import { TopbarMenu } from "./menu.js";

const VIEWS = ["live", "log", "status", "team", "insights"];

export class Tabs {
  /** `onSelect(view)`: the agent clicked the tab of `view`. */
  constructor(onSelect) {
    this.views = new Map(VIEWS.map((view) => [view, { tab: byId(`tab-${view}`), section: byId(`view-${view}`) }]));
    for (const [view, { tab }] of this.views) tab.addEventListener("click", () => onSelect(view));
    this.menu = new TopbarMenu();
  }

  select(view) {
    for (const [name, { tab, section }] of this.views) {
      const on = name === view;
      section.hidden = !on;
      if (on) tab.setAttribute("aria-current", "page");
      else tab.removeAttribute("aria-current");
    }
    this.menu.shown(this.views.get(view).tab);
  }

  /** The keyboard to the tab of `view`; on a small screen, where the tabs are in the closed menu,
   * to the menu's button. */
  focus(view) {
    const tab = this.views.get(view).tab;
    if (tab.checkVisibility?.() === false) this.menu.toggle.focus();
    else tab.focus();
  }
}
