// The Insights page's charts, drawn here rather than by a charting library.
//
// Why our own: the page needs three simple shapes (bars per day, horizontal bars with counts, a
// weekday × hour grid, the last in heatmap.js), and each must read right to left in Hebrew, write
// its numbers and dates through Intl in the console's language, and stay legible on a 390 px
// phone. A library would add ~200 kB to a console that has no build step and no other
// dependency, bring its own locale and RTL handling (most mirror axes only partly, and draw text
// on a canvas that screen readers cannot read) and its strings would go past our catalogues.
// What we draw is plain DOM: the bars are an SVG of rectangles only (scaled freely, as no text is
// in it), every word and number around them is HTML laid out with logical properties, so RTL
// mirrors it, and each bar carries a <title> and the chart a text table for screen readers.

import { h } from "./dom.js";
import { formatLocale, number, t } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  for (const child of children) if (child) el.append(child);
  return el;
}

function titled(el, text) {
  el.append(svg("title", {}, document.createTextNode(text)));
  return el;
}

// "2026-11-26" is a day, not an instant: written in UTC so no time zone moves it to the 25th.
const dayFormats = new Map();
export function day(iso, options = { day: "numeric", month: "short" }) {
  const tag = formatLocale();
  const cacheKey = `${tag}|${JSON.stringify(options)}`;
  let format = dayFormats.get(cacheKey);
  if (!format) {
    format = new Intl.DateTimeFormat(tag, { ...options, timeZone: "UTC" });
    dayFormats.set(cacheKey, format);
  }
  return format.format(new Date(`${iso}T00:00:00Z`));
}

/** "26 Nov – 2 Dec 2026" in the console's language. */
export function dayRange(from, to) {
  const format = new Intl.DateTimeFormat(formatLocale(), { dateStyle: "medium", timeZone: "UTC" });
  return format.formatRange(new Date(`${from}T00:00:00Z`), new Date(`${to}T00:00:00Z`));
}

/** A round top for the axis: 1, 2, 5 × 10ⁿ at or above `max`. */
export function niceMax(max) {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

const HEIGHT = 100; // the SVG's own units; it is stretched to the box CSS gives it

/**
 * Answered (below) and missed (on top) per day, oldest first, time running with the reading
 * direction (right to left in Hebrew). `days`: [{date, offered, answered, missed}].
 */
export function dayBars(days, rtl) {
  const top = niceMax(Math.max(0, ...days.map((d) => d.answered + d.missed)));
  const slot = 10;
  const width = Math.max(1, days.length) * slot;
  const bars = svg("svg", {
    class: "daybars-plot",
    viewBox: `0 0 ${width} ${HEIGHT}`,
    preserveAspectRatio: "none",
    "aria-hidden": "true",
    focusable: "false",
  });
  for (const fraction of [0.5, 1]) {
    const y = HEIGHT - fraction * HEIGHT;
    bars.append(svg("line", { x1: 0, x2: width, y1: y, y2: y, class: "daybars-grid", "vector-effect": "non-scaling-stroke" }));
  }
  days.forEach((d, i) => {
    const at = rtl ? days.length - 1 - i : i;
    const x = at * slot + slot * 0.15;
    const w = slot * 0.7;
    const answered = (d.answered / top) * HEIGHT;
    const missed = (d.missed / top) * HEIGHT;
    const text = t("insights.day_bar", { date: day(d.date, { dateStyle: "medium" }), answered: d.answered, missed: d.missed });
    const group = titled(svg("g", { class: "daybars-day", "data-date": d.date }), text);
    group.append(svg("rect", { x, width: w, y: HEIGHT - answered, height: answered, class: "bar-answered" }));
    group.append(svg("rect", { x, width: w, y: HEIGHT - answered - missed, height: missed, class: "bar-missed" }));
    bars.append(group);
  });
  // Labels under the bars: about seven on a desk, every second of those on a phone (CSS hides
  // the minor ones); the last day's only where it does not crowd the one before.
  const every = Math.max(1, Math.ceil(days.length / 7));
  const last = days.length - 1;
  const labels = h(
    "div",
    { class: "daybars-labels", "aria-hidden": "true" },
    days.map((d, i) => {
      const shown = i % every === 0 || (i === last && last % every >= every / 2);
      const minor = i % (2 * every) !== 0 && i !== last;
      return h("span", { class: minor ? "daybars-minor" : "" }, shown ? day(d.date) : "");
    }),
  );
  // Through the CSSOM: the console's CSP refuses style="" attributes.
  labels.style.gridTemplateColumns = `repeat(${Math.max(1, days.length)}, 1fr)`;
  const table = h(
    "table",
    { class: "visually-hidden" },
    h("caption", {}, t("insights.by_day")),
    h(
      "tr",
      {},
      h("th", { scope: "col" }, t("insights.col.day")),
      h("th", { scope: "col" }, t("insights.kpi.answered")),
      h("th", { scope: "col" }, t("insights.kpi.missed")),
    ),
    days.map((d) => h("tr", {}, h("th", { scope: "row" }, day(d.date, { dateStyle: "medium" })), h("td", {}, number(d.answered)), h("td", {}, number(d.missed)))),
  );
  return h(
    "div",
    { class: "daybars" },
    h(
      "div",
      { class: "daybars-area" },
      h("div", { class: "daybars-axis", "aria-hidden": "true" }, h("span", {}, number(top)), h("span", {}, number(top / 2)), h("span", {}, number(0))),
      h("div", { class: "daybars-box" }, bars),
    ),
    labels,
    h(
      "p",
      { class: "legend", "aria-hidden": "true" },
      h("span", { class: "legend-swatch bar-answered" }),
      t("insights.kpi.answered"),
      h("span", { class: "legend-swatch bar-missed" }),
      t("insights.kpi.missed"),
    ),
    table,
  );
}

function fill(fraction) {
  const bar = h("span", { class: "hbar-fill" });
  bar.style.inlineSize = `${(fraction * 100).toFixed(1)}%`; // the CSSOM: CSP refuses style=""
  return bar;
}

/**
 * Horizontal bars with their counts: [{label, calls, previous?}], the longest first. Plain HTML
 * (a list), so the bars start at the reading side in either direction.
 */
export function hbars(rows, { className = "" } = {}) {
  const top = Math.max(1, ...rows.map((row) => row.calls));
  return h(
    "ol",
    { class: ["hbars", className] },
    rows.map((row) =>
      h(
        "li",
        { class: "hbar", dataset: { code: row.code ?? "", calls: row.calls } },
        h("span", { class: "hbar-label", dir: "auto" }, row.label),
        h(
          "span",
          { class: "hbar-track", "aria-hidden": "true" },
          fill(row.calls / top),
        ),
        h("span", { class: "hbar-count" }, number(row.calls)),
        row.previous === undefined || row.previous === null
          ? null
          : h("span", { class: "hbar-previous muted" }, t("insights.previous_count", { count: row.previous })),
      ),
    ),
  );
}
