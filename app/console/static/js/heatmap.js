// The busiest hours: a weekday × hour grid of offered calls, darker where more rang. A table (not
// a picture): a screen reader walks it row by row and hears "Tuesday, 10:00: 4 calls", and a
// table lays itself out right to left in Hebrew, hour 0 at the right.
//
// The API sends Monday first (by_hour[0] is Monday, in the store's time zone). English, Polish
// and German calendars start the week on Monday and show it so; Hebrew starts it on Sunday, so
// for he the Sunday row (by_hour[6]) comes first. Weekday names come from Intl, never from us.

import { h } from "./dom.js";
import { currentLocale, formatLocale, number, t } from "./i18n.js";

const SUNDAY_FIRST = new Set(["he"]);

/** The rows in the order the language's week runs: [{index into by_hour, name, short, narrow}]. */
export function weekdays() {
  const tag = formatLocale();
  const long = new Intl.DateTimeFormat(tag, { weekday: "long", timeZone: "UTC" });
  const short = new Intl.DateTimeFormat(tag, { weekday: "short", timeZone: "UTC" });
  const narrow = new Intl.DateTimeFormat(tag, { weekday: "narrow", timeZone: "UTC" });
  // 2024-01-01 was a Monday.
  const days = [0, 1, 2, 3, 4, 5, 6].map((index) => {
    const date = new Date(Date.UTC(2024, 0, 1 + index));
    return { index, name: long.format(date), short: short.format(date), narrow: narrow.format(date) };
  });
  return SUNDAY_FIRST.has(currentLocale()) ? [days[6], ...days.slice(0, 6)] : days;
}

function hourText(hour) {
  return number(hour, { minimumIntegerDigits: 2 });
}

// Five steps of the accent colour; a cell with calls is never the colour of an empty one.
function level(count, max) {
  if (!count) return 0;
  return Math.min(5, Math.max(1, Math.ceil((count / max) * 5)));
}

/** `byHour`: 7 lists (Monday first) of 24 {offered, answered, missed}. */
export function heatmap(byHour) {
  const max = Math.max(1, ...byHour.flat().map((cell) => cell.offered));
  const hours = [...Array(24).keys()];
  const head = h(
    "tr",
    {},
    h("td", { class: "heat-corner" }),
    hours.map((hour) =>
      h("th", { scope: "col", class: ["heat-hour", hour % 3 ? "heat-hour-minor" : ""], title: `${hourText(hour)}:00` }, h("span", {}, hourText(hour))),
    ),
  );
  const rows = weekdays().map(({ index, name, short, narrow }) =>
    h(
      "tr",
      { dataset: { weekday: index } },
      h(
        "th",
        { scope: "row", class: "heat-day", title: name },
        h("span", { class: "heat-day-short", "aria-hidden": "true" }, short),
        h("span", { class: "heat-day-narrow", "aria-hidden": "true" }, narrow),
        h("span", { class: "visually-hidden" }, name),
      ),
      hours.map((hour) => {
        const cell = byHour[index]?.[hour] ?? { offered: 0, answered: 0, missed: 0 };
        const text = t("insights.heat_cell", {
          day: name,
          hour: `${hourText(hour)}:00`,
          count: cell.offered,
          answered: cell.answered,
          missed: cell.missed,
        });
        return h(
          "td",
          {
            class: `heat heat-${level(cell.offered, max)}`,
            title: text,
            dataset: { weekday: index, hour, offered: cell.offered, answered: cell.answered, missed: cell.missed },
          },
          h("span", { class: "heat-count", "aria-hidden": "true" }, cell.offered ? number(cell.offered) : ""),
          h("span", { class: "visually-hidden" }, text),
        );
      }),
    ),
  );
  return h(
    "div",
    { class: "heatmap-wrap" },
    h("table", { class: "heatmap" }, h("caption", { class: "visually-hidden" }, t("insights.busiest")), h("thead", {}, head), h("tbody", {}, rows)),
    h(
      "p",
      { class: "legend heat-legend", "aria-hidden": "true" },
      t("insights.heat_fewer"),
      [1, 2, 3, 4, 5].map((step) => h("span", { class: `legend-swatch heat-${step}` })),
      t("insights.heat_more"),
    ),
  );
}
