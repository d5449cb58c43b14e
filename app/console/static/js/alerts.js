// Getting the agent's attention when the console is not in front of them: a desktop notification
// while the tab is hidden, and an optional ring made with WebAudio (no sound file to ship).
// Browsers allow both only after a user gesture, so each starts from a button click.

import { t } from "./i18n.js";

const SOUND_KEY = "ringcard.sound";
const ALERTS_KEY = "ringcard.alerts";
const RING_EVERY_MS = 3000;
// A ring that nobody stops (the agent walked away) goes quiet after this; the pop stays.
const RING_AT_MOST_MS = 60000;

function stored(key) {
  try {
    return localStorage.getItem(key) === "on";
  } catch {
    return false;
  }
}

function store(key, on) {
  try {
    localStorage.setItem(key, on ? "on" : "off");
  } catch {
    // private mode without storage: the choice lasts for this page only
  }
}

export class DesktopAlerts {
  constructor(button, { onMessage, onClick }) {
    this.button = button;
    this.onMessage = onMessage;
    this.onClick = onClick;
    this.shown = new Map();
    this.supported = "Notification" in window;
    this.enabled = this.supported && stored(ALERTS_KEY) && Notification.permission === "granted";
    button.hidden = !this.supported;
    button.addEventListener("click", () => this.toggle());
    this.render();
  }

  async toggle() {
    if (this.enabled) {
      this.enabled = false;
    } else if (Notification.permission === "granted") {
      this.enabled = true;
    } else if (Notification.permission === "denied") {
      this.onMessage(t("alerts.blocked"));
    } else {
      const answer = await Notification.requestPermission();
      this.enabled = answer === "granted";
      if (!this.enabled) this.onMessage(t("alerts.refused"));
    }
    store(ALERTS_KEY, this.enabled);
    this.render();
  }

  render() {
    this.button.setAttribute("aria-pressed", String(this.enabled));
    this.button.title = this.enabled ? t("alerts.on") : t("alerts.off");
  }

  /** Notify about a new pop if the agent cannot see the console. */
  ringing(id, title, body) {
    if (!this.enabled || document.visibilityState !== "hidden") return;
    try {
      const note = new Notification(title, { body, tag: `ringcard-${id}`, renotify: true });
      note.addEventListener("click", () => {
        window.focus();
        note.close();
        this.onClick(id);
      });
      this.shown.set(id, note);
    } catch {
      // Some platforms only allow notifications from a service worker; the pop is still there.
    }
  }

  /** The call stopped ringing: its notification would only mislead. */
  settled(id) {
    this.shown.get(id)?.close();
    this.shown.delete(id);
  }
}

export class RingSound {
  constructor(button) {
    this.button = button;
    this.on = stored(SOUND_KEY);
    this.context = null;
    this.loop = null;
    this.startedAt = 0;
    this.supported = "AudioContext" in window || "webkitAudioContext" in window;
    button.hidden = !this.supported;
    button.addEventListener("click", () => this.toggle());
    // A choice remembered from an earlier visit needs one gesture on this page to be audible.
    const unlock = () => {
      if (this.on) this.audio();
      document.removeEventListener("pointerdown", unlock);
      document.removeEventListener("keydown", unlock);
    };
    document.addEventListener("pointerdown", unlock);
    document.addEventListener("keydown", unlock);
    this.render();
  }

  audio() {
    if (!this.context) {
      const Context = window.AudioContext || window.webkitAudioContext;
      this.context = new Context();
    }
    if (this.context.state === "suspended") this.context.resume();
    return this.context;
  }

  toggle() {
    this.on = !this.on;
    store(SOUND_KEY, this.on);
    if (this.on) this.chime(); // the agent hears what they switched on
    else this.stop();
    this.render();
  }

  render() {
    this.button.setAttribute("aria-pressed", String(this.on));
    this.button.title = this.on ? t("sound.on") : t("sound.off");
  }

  /** Ring while any call rings; `ringing` is how many do. */
  update(ringing) {
    if (ringing > 0 && this.on && this.loop === null) {
      this.startedAt = Date.now();
      this.chime();
      this.loop = setInterval(() => {
        if (Date.now() - this.startedAt > RING_AT_MOST_MS) this.stop();
        else this.chime();
      }, RING_EVERY_MS);
    } else if (ringing === 0 || !this.on) {
      this.stop();
    }
  }

  stop() {
    clearInterval(this.loop);
    this.loop = null;
  }

  chime() {
    const context = this.audio();
    const now = context.currentTime;
    // Two short two-note bursts, like a desk phone: recognisable, not shrill.
    for (const [offset, frequencies] of [
      [0, [659.25, 830.61]],
      [0.45, [659.25, 830.61]],
    ]) {
      const gain = context.createGain();
      gain.connect(context.destination);
      gain.gain.setValueAtTime(0.0001, now + offset);
      gain.gain.exponentialRampToValueAtTime(0.18, now + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.35);
      for (const frequency of frequencies) {
        const osc = context.createOscillator();
        osc.type = "sine";
        osc.frequency.value = frequency;
        osc.connect(gain);
        osc.start(now + offset);
        osc.stop(now + offset + 0.4);
      }
    }
  }
}
