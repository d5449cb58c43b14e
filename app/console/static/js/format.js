// Words and numbers as an agent reads them: the labels of the codes the server sends (call states,
// order statuses, tiers…) in the agent's language, and the Intl formats of js/intl.js.

import { label, t } from "./i18n.js";
import { ago as agoIn } from "./intl.js";

export {
  date,
  dateTime,
  duration,
  learnServerTime,
  list,
  money,
  number,
  relative,
  secondsSince,
  serverNow,
  time,
  unit,
} from "./intl.js";

export const LIVE_STATES = new Set(["ringing", "answered"]);

export const callState = (state) => label("call.state", state);
export const orderStatus = (status) => label("order.status", status);
export const platformStatus = (status) => label("order.platform", String(status || "").toLowerCase());
export const caseKind = (kind) => label("case.kind", kind);
export const caseStatus = (status) => label("case.status", status);
export const matchStatus = (status) => label("match.status", status);
export const tier = (name) => label("tier", name);

// What each provider calls its own id of a call, as its console and its support name it.
const PROVIDERS = new Set(["twilio", "telnyx", "cti", "pbx"]);
export function providerCallIdLabel(provider) {
  return label("provider.call_id", PROVIDERS.has(provider) ? provider : "unknown");
}

// The outcome an agent picks after a call; stored as the value, shown as its label.
export const DISPOSITIONS = ["", "resolved", "info_given", "callback", "escalated", "order_changed", "refund", "wrong_number", "other"];
export function dispositionLabel(value) {
  return value ? label("disposition", value) : t("disposition.none");
}

export function isToday(iso) {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return false;
  const d = new Date(ms);
  const now = new Date();
  return d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
}

export function startOfToday() {
  const now = new Date();
  return new Date(now.getFullYear(), now.getMonth(), now.getDate());
}

/** How long ago (or ahead) `iso` is: "3 days ago", "yesterday", our words for under a minute. */
export function ago(iso) {
  return agoIn(iso, t("time.just_now"));
}
