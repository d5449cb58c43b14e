// The demo's "Simulate a call" dialog: rings the console through a signed webhook, exactly as the
// phone provider would (POST /api/v1/demo/simulate-call). Its button shows only in demo mode.

import { byId, h } from "./dom.js";

// How a simulated call plays out: the server answers it after `answer_after_s` and hangs up
// `hang_up_after_s` later, or after that long unanswered.
const SIMULATED_OUTCOMES = {
  answer: { answer_after_s: 5, hang_up_after_s: 30 },
  missed: { hang_up_after_s: 20 },
};

/**
 * Wire the dialog. `demo()`: the demo's config (its `callers`, {label: number}) or null;
 * `onRang()`: the call was sent.
 */
export function setupSimulate(api, demo, onRang) {
  const simulate = byId("simulate");
  const dialog = byId("simulate-dialog");
  const input = byId("simulate-from");
  const error = byId("simulate-error");
  const form = byId("simulate-form");
  const ring = async (from) => {
    error.hidden = true;
    const outcome = SIMULATED_OUTCOMES[form.elements.outcome?.value] || SIMULATED_OUTCOMES.answer;
    try {
      await api.simulateCall(from, outcome);
      dialog.close();
      onRang();
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    }
  };
  simulate.addEventListener("click", () => {
    // The demo store's sample callers, as the server lists them ({label: number}).
    const examples = Object.entries(demo()?.callers || {}).map(([label, from]) => ({ label, from }));
    byId("simulate-presets").replaceChildren(
      ...examples.map((example) =>
        h(
          "button",
          { type: "button", class: "btn btn-tool preset", onclick: () => ring(example.from) },
          h("span", { class: "preset-label" }, example.label),
          h("span", { class: "preset-number", dir: "ltr" }, example.from),
        ),
      ),
    );
    input.value = input.value || examples[0]?.from || "";
    error.hidden = true;
    dialog.showModal();
  });
  byId("simulate-cancel").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.value.trim()) ring(input.value.trim());
  });
}
