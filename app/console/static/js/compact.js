// Calm when many ring: beyond two ringing calls, the others are one line each ("Anna Nowak · Gold ·
// Probably about complaint C-88 · 0:42") instead of a full card, so a busy minute does not stack
// ten cards high. A line is a button that opens the full card under it and folds it again.
//
// Which two are full: the two the agent most likely takes next, the ones waiting longest (a queue
// answers oldest first). A card once shown full stays full while it rings: it never turns into a
// line under the agent's eyes because the console learned of another call. When a full one is
// answered or ends, the longest-waiting line becomes the next full card.

import { isLive, stateOf } from "./calls.js";
import { chip } from "./cardparts.js";
import { clear, h, userText } from "./dom.js";
import * as f from "./format.js";
import { t } from "./i18n.js";
import { icon } from "./icons.js";
import { reasonText } from "./wording.js";

export const FULL_RINGING = 2;

/** When the caller started waiting (ms): the provider's start, else when the console first saw it. */
export function waitingSince(entry) {
  return Date.parse(entry.call.started_at || "") || entry.firstSeen;
}

export function isRinging(entry) {
  return isLive(entry) && stateOf(entry) === "ringing";
}

/**
 * The ids of the ringing calls shown as full cards: those in `wasFull` that still ring (longest
 * waiting first, at most `limit`), then the longest waiting of the rest up to `limit`.
 */
export function fullRinging(entries, wasFull, limit = FULL_RINGING) {
  const ringing = entries.filter(isRinging).sort((a, b) => waitingSince(a) - waitingSince(b) || a.firstSeen - b.firstSeen);
  const full = new Set(ringing.filter((e) => wasFull.has(e.id)).slice(0, limit).map((e) => e.id));
  for (const entry of ringing) {
    if (full.size >= limit) break;
    full.add(entry.id);
  }
  return full;
}

/** Who is calling, in a few words: the customer's name, else the name the PBX sent, else the number. */
export function callerName(entry) {
  const card = entry.picked?.card || entry.card;
  if (card?.customer?.name) return card.customer.name;
  if (entry.call.customer_name) return entry.call.customer_name;
  if (card?.match?.status === "withheld") return t("headline.withheld");
  return card?.caller?.display || entry.call.from_display || entry.call.from_raw || t("call.a_caller");
}

let counter = 0;

/** One ringing call as a line. `onToggle(open)`: the agent opened or folded its card. */
export class CompactRow {
  constructor(entry, cardId, onToggle) {
    counter += 1;
    this.open = false;
    this.name = h("span", { class: "compact-name" });
    this.facts = h("span", { class: "compact-facts" });
    this.timer = h("span", { class: "timer compact-wait", "aria-hidden": "true" });
    this.button = h(
      "button",
      {
        type: "button",
        class: "compact-row",
        id: `compact-${counter}`,
        "aria-expanded": "false",
        "aria-controls": cardId,
        onclick: () => onToggle(!this.open),
      },
      icon("chevron", "icon fold-chevron"),
      h("span", { class: "state-dot", "aria-hidden": "true" }),
      h("span", { class: "visually-hidden compact-state" }),
      h("span", { class: "compact-who" }, this.name, this.facts),
      this.timer,
    );
    this.el = h("div", { class: "compact", dataset: { callId: entry.id } }, this.button);
    this.update(entry);
  }

  setOpen(open) {
    this.open = open;
    this.button.setAttribute("aria-expanded", String(open));
    this.el.dataset.open = String(open);
  }

  /** Drawn again from the entry (a card arrived, a pick, another language). */
  update(entry) {
    const card = entry.picked?.card || entry.card;
    this.button.querySelector(".compact-state").textContent = `${t("compact.ringing")}: `;
    clear(this.name).append(userText("bdi", callerName(entry)));
    const tier = card?.stats?.loyalty_tier;
    // Not a customer (unknown, withheld, shared by several): the line says which.
    const status = card && !card.customer ? card.match?.status : null;
    const reason = reasonText(card?.likely_reason);
    const cases = card?.open_cases?.length || 0;
    clear(this.facts).append(
      ...[
        status ? chip(f.matchStatus(status), `chip-${status}`) : null,
        tier ? chip(f.tier(tier), `tier tier-${tier}`) : null,
        // Without a reason, an open case is still worth the agent's eye.
        reason ? userText("span", reason, { class: "compact-reason" }) : null,
        !reason && cases ? chip(t("cases.title", { count: cases }), "chip-case") : null,
      ].filter(Boolean),
    );
    this.timer.dataset.since = entry.call.started_at || new Date(entry.firstSeen).toISOString();
    this.tick();
  }

  tick() {
    this.timer.textContent = f.duration(f.secondsSince(this.timer.dataset.since));
  }
}
