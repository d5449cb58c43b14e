// Words and numbers as an agent reads them: money in the customer's currency, times relative to
// now, durations as a clock.

export const CALL_STATES = {
  ringing: "Ringing",
  answered: "In progress",
  completed: "Completed",
  missed: "Missed",
  busy: "Busy",
  failed: "Failed",
};
export const LIVE_STATES = new Set(["ringing", "answered"]);

// What each provider calls its own id of a call, as its console and its support name it.
const PROVIDER_CALL_IDS = {
  twilio: "Twilio CallSid",
  telnyx: "Telnyx call_control_id",
  cti: "PBX call id",
  pbx: "PBX call id",
};
export function providerCallIdLabel(provider) {
  return PROVIDER_CALL_IDS[provider] || "Provider's call id";
}

export const ORDER_STATUSES = {
  pending: "Pending",
  processing: "Processing",
  on_hold: "On hold",
  shipped: "Shipped",
  delivered: "Delivered",
  cancelled: "Cancelled",
  refunded: "Refunded",
  failed: "Failed",
};

export const CASE_KINDS = { complaint: "Complaint", return: "Return", exchange: "Exchange", inquiry: "Inquiry" };
export const CASE_STATUSES = { open: "Open", in_progress: "In progress" };

export const MATCHES = {
  exact: "Exact match",
  probable: "Probable match",
  ambiguous: "Several possible customers",
  unknown: "Unknown caller",
  withheld: "Withheld number",
  invalid: "Invalid number",
  unavailable: "Store data unavailable",
};

export const TIERS = { platinum: "Platinum", gold: "Gold", silver: "Silver", bronze: "Bronze", new: "New customer" };

// The outcome an agent picks after a call; stored as the value, shown as the label.
export const DISPOSITIONS = [
  ["", "No outcome"],
  ["resolved", "Resolved"],
  ["info_given", "Information given"],
  ["callback", "Call back"],
  ["escalated", "Escalated"],
  ["order_changed", "Order changed"],
  ["refund", "Refund or return"],
  ["wrong_number", "Wrong number"],
  ["other", "Other"],
];
export function dispositionLabel(value) {
  const found = DISPOSITIONS.find(([v]) => v === value);
  return found ? found[1] : value;
}

// Server time minus ours, learnt from live envelopes: "ringing for 0:12" must not jump when the
// agent's PC clock is a minute off.
let offsetMs = 0;
export function learnServerTime(at) {
  const t = Date.parse(at);
  if (Number.isFinite(t)) offsetMs = t - Date.now();
}
export function serverNow() {
  return Date.now() + offsetMs;
}

export function money(amount, currency) {
  const value = Number(amount);
  if (!Number.isFinite(value)) return `${amount} ${currency}`;
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency, currencyDisplay: "code" }).format(value);
  } catch {
    return `${amount} ${currency}`;
  }
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  const s = Math.max(0, Math.round(seconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

export function secondsSince(iso) {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? Math.max(0, (serverNow() - t) / 1000) : null;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const UNITS = [
  ["year", 365 * 86400],
  ["month", 30 * 86400],
  ["week", 7 * 86400],
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
];

export function ago(iso) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return "";
  const seconds = (t - serverNow()) / 1000;
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return "just now";
}

export function dateTime(iso) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return "";
  return new Date(t).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function date(iso) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return "";
  return new Date(t).toLocaleDateString(undefined, { dateStyle: "medium" });
}

export function time(iso) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return "";
  return new Date(t).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

export function isToday(iso) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return false;
  const d = new Date(t);
  const now = new Date();
  return d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
}

export function startOfToday() {
  const now = new Date();
  return new Date(now.getFullYear(), now.getMonth(), now.getDate());
}

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}
