// The three views under the top bar (Live, Call log, Integrations): one shown at a time, its tab
// marked as the current page.

import { byId } from "./dom.js";

const VIEWS = ["live", "log", "status", "team"];

export class Tabs {
  /** `onSelect(view)`: the agent clicked the tab of `view`. */
  constructor(onSelect) {
    this.views = new Map(VIEWS.map((view) => [view, { tab: byId(`tab-${view}`), section: byId(`view-${view}`) }]));
    for (const [view, { tab }] of this.views) tab.addEventListener("click", () => onSelect(view));
  }

  select(view) {
    for (const [name, { tab, section }] of this.views) {
      const on = name === view;
      section.hidden = !on;
      if (on) tab.setAttribute("aria-current", "page");
      else tab.removeAttribute("aria-current");
    }
  }

  focus(view) {
    this.views.get(view).tab.focus();
  }
}
