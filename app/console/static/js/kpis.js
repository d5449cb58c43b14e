// The KPI tiles of the Insights page (GET /api/v1/stats, docs/kpis.md): each the period's value
// and its trend against the period of equal length just before, as an arrow and a percentage.
//
// Which way is good is a property of the KPI, not of the arrow: fewer missed calls and a shorter
// wait are good news, so a falling ASA is drawn green. Offered calls are neither (more calls is
// demand, not service), so their trend is drawn grey. Counts and times trend by their relative
// change ("+12 %"); rates by percentage points ("+3.5 pp"), since "+10 %" of a 20 % missed rate
// would read as ten points more.

import { h } from "./dom.js";
import { formatLocale, number, t, unit } from "./i18n.js";

const UP = "up"; // higher is better
const DOWN = "down"; // lower is better
const NEUTRAL = "neutral"; // neither

// key in `kpis`, how it is written, which way is good. The labels and hints are literal t() calls
// below (the catalogue test reads them), in the same order.
const KPIS = [
  { key: "offered", kind: "count", good: NEUTRAL },
  { key: "answered", kind: "count", good: UP },
  { key: "missed", kind: "count", good: DOWN },
  { key: "service_level", kind: "rate", good: UP },
  { key: "asa_s", kind: "seconds", good: DOWN },
  { key: "aht_s", kind: "seconds", good: DOWN },
  { key: "missed_rate", kind: "rate", good: DOWN },
  { key: "callback_rate", kind: "rate", good: UP },
  { key: "repeat_rate_7d", kind: "rate", good: DOWN },
];

function names() {
  return {
    offered: t("insights.kpi.offered"),
    answered: t("insights.kpi.answered"),
    missed: t("insights.kpi.missed"),
    service_level: t("insights.kpi.service_level"),
    asa_s: t("insights.kpi.asa_s"),
    aht_s: t("insights.kpi.aht_s"),
    missed_rate: t("insights.kpi.missed_rate"),
    callback_rate: t("insights.kpi.callback_rate"),
    repeat_rate_7d: t("insights.kpi.repeat_rate_7d"),
  };
}

function hints(thresholds, kpis) {
  return {
    offered: t("insights.hint.offered"),
    answered: t("insights.hint.answered"),
    missed: t("insights.hint.missed", { count: kpis?.short_abandoned ?? 0, seconds: number(thresholds?.short_abandon_s ?? 5) }),
    service_level: t("insights.hint.service_level", { seconds: number(thresholds?.service_level_s ?? 20) }),
    asa_s: t("insights.hint.asa_s"),
    aht_s: t("insights.hint.aht_s"),
    missed_rate: t("insights.hint.missed_rate"),
    callback_rate: t("insights.hint.callback_rate"),
    repeat_rate_7d: t("insights.hint.repeat_rate_7d"),
  };
}

export function percent(value, digits = 1) {
  return number(value, { style: "percent", maximumFractionDigits: digits });
}

/** A time in seconds the way the language writes a duration: "42 s", "3 min 5 s", "3 Min., 5 Sek.". */
export function seconds(value) {
  const whole = Math.round(value);
  if (whole < 60) return unit(Math.round(value * 10) / 10, "second");
  const parts = { hours: Math.floor(whole / 3600), minutes: Math.floor((whole % 3600) / 60), seconds: whole % 60 };
  if (typeof Intl.DurationFormat === "function") {
    return new Intl.DurationFormat(formatLocale(), { style: "narrow" }).format(parts);
  }
  const shown = [["hours", "hour"], ["minutes", "minute"], ["seconds", "second"]].filter(([name]) => parts[name]);
  return shown.map(([name, u]) => unit(parts[name], u)).join(" ");
}

function shown(kind, value) {
  if (value === null || value === undefined) return t("insights.no_value");
  if (kind === "rate") return percent(value);
  if (kind === "seconds") return seconds(value);
  return number(value);
}

/** {direction: up|down|flat|none, text, good: true|false|null} of `now` against `before`. */
export function trend(kind, now, before, good) {
  if (now === null || now === undefined || before === null || before === undefined) {
    return { direction: "none", text: t("insights.trend.none"), good: null };
  }
  let change;
  let text;
  if (kind === "rate") {
    change = now - before;
    const points = number(change * 100, { maximumFractionDigits: 1, signDisplay: "exceptZero" });
    text = t("insights.trend.points", { value: points });
  } else {
    if (before === 0) {
      return now === 0
        ? { direction: "flat", text: t("insights.trend.same"), good: null }
        : { direction: "none", text: t("insights.trend.none"), good: null };
    }
    change = (now - before) / before;
    text = number(change, { style: "percent", maximumFractionDigits: 0, signDisplay: "exceptZero" });
  }
  if (Math.abs(change) < 0.0005) return { direction: "flat", text: t("insights.trend.same"), good: null };
  const direction = change > 0 ? "up" : "down";
  return { direction, text, good: good === NEUTRAL ? null : direction === good };
}

const ARROWS = { up: "▲", down: "▼", flat: "▬", none: "" };

function tile(spec, name, hint, now, before) {
  const change = trend(spec.kind, now, before, spec.good);
  const verdict =
    change.good === true ? t("insights.trend.better") : change.good === false ? t("insights.trend.worse") : "";
  const goodWay = { up: t("insights.good.up"), down: t("insights.good.down"), neutral: t("insights.good.neutral") };
  return h(
    "li",
    { class: "kpi", dataset: { kpi: spec.key } },
    h("p", { class: "kpi-name" }, name),
    h("p", { class: "kpi-value", dataset: { value: now ?? "" } }, shown(spec.kind, now)),
    h(
      "p",
      {
        class: ["kpi-trend", change.good === true ? "kpi-good" : change.good === false ? "kpi-bad" : ""],
        dataset: { direction: change.direction },
      },
      ARROWS[change.direction] ? h("span", { class: "kpi-arrow", "aria-hidden": "true" }, ARROWS[change.direction]) : null,
      h("span", { dir: "ltr", class: "kpi-change" }, change.text),
      verdict ? h("span", { class: "visually-hidden" }, ` (${verdict})`) : null,
      before !== null && before !== undefined && change.direction !== "none"
        ? h("span", { class: "kpi-before" }, ` ${t("insights.trend.before", { value: shown(spec.kind, before) })}`)
        : null,
    ),
    h("p", { class: "kpi-hint" }, hint, " ", h("span", { class: "kpi-goodway" }, goodWay[spec.good])),
  );
}

/** The tiles of `stats.kpis` against `stats.previous`, as one list. */
export function kpiTiles(stats) {
  const label = names();
  const hint = hints(stats.thresholds, stats.kpis);
  return h(
    "ul",
    { class: "kpis" },
    KPIS.map((spec) => tile(spec, label[spec.key], hint[spec.key], stats.kpis?.[spec.key], stats.previous?.[spec.key])),
  );
}
