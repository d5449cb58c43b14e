// A handful of line icons, drawn as SVG nodes (no icon font, no network, same on every PC).

const SVG = "http://www.w3.org/2000/svg";

const PATHS = {
  phone: ["M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2"],
  phoneOff: [
    "M3 21 21 3",
    "M5.3 13.7A16 16 0 0 1 3 6a2 2 0 0 1 2-2h4l2 5-2.5 1.5",
    "M10.3 17.4A16 16 0 0 0 18 21a2 2 0 0 0 2-2v-4l-5-2-1.5 2.5",
  ],
  close: ["M18 6 6 18", "M6 6l12 12"],
  alert: ["M12 9v4", "M12 17h.01", "M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z"],
  question: ["M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z", "M9.1 9a3 3 0 0 1 5.8 1c0 2-3 3-3 3", "M12 17h.01"],
  eyeOff: [
    "M3 3l18 18",
    "M10.6 10.6a2 2 0 0 0 2.8 2.8",
    "M9.9 5.1A9.7 9.7 0 0 1 12 5c7 0 10 7 10 7a13 13 0 0 1-1.7 2.7",
    "M6.6 6.6A13 13 0 0 0 2 12s3 7 10 7a9.7 9.7 0 0 0 5.4-1.6",
  ],
  headset: [
    "M3 14v-2a9 9 0 0 1 18 0v2",
    "M21 19a2 2 0 0 1-2 2h-1a2 2 0 0 1-2-2v-3a2 2 0 0 1 2-2h3z",
    "M3 19a2 2 0 0 0 2 2h1a2 2 0 0 0 2-2v-3a2 2 0 0 0-2-2H3z",
  ],
  users: [
    "M16 21v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2",
    "M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8z",
    "M22 21v-2a4 4 0 0 0-3-3.9",
    "M16 3.1a4 4 0 0 1 0 7.8",
  ],
  bulb: ["M9 18h6", "M10 22h4", "M12 2a7 7 0 0 0-4 12.7V17h8v-2.3A7 7 0 0 0 12 2z"],
  external: ["M18 13v6a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h6", "M15 3h6v6", "M10 14 21 3"],
  truck: [
    "M1 3h15v13H1z",
    "M16 8h4l3 3v5h-7z",
    "M5.5 21a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5z",
    "M18.5 21a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5z",
  ],
  check: ["M20 6 9 17l-5-5"],
  copy: ["M9 9h11v11H9z", "M5 15H4V4h11v1"],
  chevron: ["M9 6l6 6-6 6"],
  back: ["M19 12H5", "M12 19l-7-7 7-7"],
};

export function icon(name, className = "icon") {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", className);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  for (const d of PATHS[name] || []) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    svg.appendChild(path);
  }
  return svg;
}
