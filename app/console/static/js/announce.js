// What screen readers hear: a new pop interrupts (#announce-pop, assertive), everything else
// (saved notes, copied ids, messages) waits its turn (#announce, polite).

import { byId } from "./dom.js";

// Emptied first and filled a moment later, so that two messages with the same words are both
// read out.
function speak(el, text) {
  el.textContent = "";
  setTimeout(() => {
    el.textContent = text;
  }, 50);
}

export class Announcer {
  constructor() {
    this.popRegion = byId("announce-pop");
    this.region = byId("announce");
  }

  pop(text) {
    speak(this.popRegion, text);
  }

  say(text) {
    speak(this.region, text);
  }
}
