// The provider's own id of a call (Twilio CallSid, Telnyx call_control_id, the PBX's callId),
// small and monospace, with a button that copies it: what an operator pastes into the provider's
// console or a support ticket when a call went wrong.

import { h } from "./dom.js";
import { providerCallIdLabel } from "./format.js";
import { t } from "./i18n.js";
import { icon } from "./icons.js";

const COPIED_MS = 1500;

/** The id of `call` with its copy button, or null when the call has none. `say` announces. */
export function providerCallRef(call, say = () => {}) {
  const id = call?.provider_call_id;
  if (typeof id !== "string" || !id) return null;
  const label = providerCallIdLabel(call.provider);
  const text = h("code", { class: "call-ref-id", title: label, dir: "ltr", translate: "no" }, id);
  const button = h(
    "button",
    { type: "button", class: "btn btn-icon btn-copy", title: t("callref.copy", { label }), "aria-label": t("callref.copy", { label }) },
    icon("copy"),
  );
  let timer = null;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(id);
      button.classList.add("copied");
      button.replaceChildren(icon("check"));
      clearTimeout(timer);
      timer = setTimeout(() => {
        button.classList.remove("copied");
        button.replaceChildren(icon("copy"));
      }, COPIED_MS);
      say(t("callref.copied", { label }));
    } catch {
      // No clipboard here (a page served over plain http, or the browser refused): the id is
      // selected instead, for Ctrl+C.
      window.getSelection()?.selectAllChildren(text);
      say(t("callref.selected", { label }));
    }
  });
  return h("span", { class: "call-ref", dataset: { provider: call.provider || "" } }, text, button);
}
