// Which store a card is about, and the caller as the other stores know them (docs/stores.md).
// Cards name their store only once the deployment has more than one (`card.store` is null
// before), so a single shop's console looks as it always did.
import { chip, section } from "./cardparts.js";
import { h, userText } from "./dom.js";
import * as f from "./format.js";
import { t } from "./i18n.js";

const COLOUR = /^#[0-9a-f]{6}$/;

/** A dot in the store's colour, set through the CSSOM (the console's CSP refuses style=""). */
function dot(store) {
  const node = h("span", { class: "store-dot", "aria-hidden": "true" });
  if (COLOUR.test(store?.colour || "")) node.style.backgroundColor = store.colour;
  return node;
}

/** The store's name with its colour, as a chip beside the caller or in a row of the log. */
export function storeChip(store) {
  const node = chip("", "chip-store");
  node.append(dot(store), userText("span", store.name));
  node.title = t("store.label", { name: store.name });
  return node;
}

/** "Also a customer of …": one compact line per other store, with the caller's tier there. */
export function otherStores(card) {
  const others = Array.isArray(card?.also_customer_of) ? card.also_customer_of : [];
  if (!others.length) return null;
  return section(
    t("store.also_title"),
    h(
      "ul",
      { class: "also-list" },
      others.map((o) =>
        h(
          "li",
          { class: "also-item" },
          storeChip(o.store),
          " ",
          userText("bdi", o.name),
          o.loyalty_tier ? [" ", chip(f.tier(o.loyalty_tier), `tier tier-${o.loyalty_tier}`)] : null,
          h("span", { class: "muted" }, " · ", t("store.orders", { count: o.orders_count })),
        ),
      ),
    ),
  );
}

/**
 * A "Store" select (hidden while the deployment has one store): which store's calls to show.
 * `stores` comes from GET /api/v1/agents/me (each {id, name, colour}); `onChange` redraws.
 */
export class StoreFilter {
  constructor(select, onChange) {
    this.select = select;
    this.byId = new Map();
    select.addEventListener("change", () => onChange(this.value));
  }

  get value() {
    return this.select.value || null;
  }

  set(stores) {
    this.byId = new Map((stores || []).map((s) => [s.id, s]));
    const chosen = this.select.value;
    this.select.replaceChildren(
      new Option(t("store.all"), ""),
      ...[...this.byId.values()].map((s) => new Option(s.name, s.id)),
    );
    this.select.value = this.byId.has(chosen) ? chosen : "";
    // The label before the select goes with it.
    for (const node of [this.select, this.select.previousElementSibling]) if (node) node.hidden = this.byId.size < 2;
  }

  /** Whether `call` is of the chosen store (every call while none is chosen). */
  matches(call) {
    return !this.value || call.store_id === this.value;
  }

  /** The call's store as a chip, once there is more than one store to tell apart. */
  chipFor(call) {
    const store = this.byId.size > 1 ? this.byId.get(call.store_id) : null;
    return store ? storeChip(store) : null;
  }

  relocalise() {
    if (this.select.options.length) this.select.options[0].text = t("store.all");
  }
}
