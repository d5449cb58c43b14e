// The call log's search box: what a typed query matches in a call, applied in the browser to the
// calls the server returned, so typing never waits on the network.

const digits = (value) => String(value || "").replace(/\D+/g, "");

export function matchesSearch(call, query) {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  const qDigits = digits(q);
  // The provider's call id (a CallSid pasted from Twilio's console, a PBX's numeric callId), as is.
  if (String(call.provider_call_id || "").toLowerCase().includes(q)) return true;
  // A number typed any way ("601 234", "+48601…") matches on its digits; anything else on words.
  if (qDigits.length >= 3 && qDigits.length === q.replace(/[\s()+\-./]/g, "").length) {
    return [call.from, call.from_raw, call.from_display].some((n) => digits(n).includes(qDigits));
  }
  return [call.customer_name, call.from_display, call.from_raw, call.note, call.answered_by]
    .filter(Boolean)
    .some((text) => String(text).toLowerCase().includes(q));
}
