// Interactive phases: each entry's mean Dice after 0, 1, …, N clicks as an inline SVG line plot,
// with the same numbers in words (a sentence per entry) and in a table, so nothing depends on
// seeing colours: every line also has its own marker shape and is named at its end.

import { el } from "./common.js";

const NS = "http://www.w3.org/2000/svg";
// Okabe–Ito colours (distinguishable with colour-blindness), then greys.
const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#7f7f7f"];
const MARKERS = ["circle", "square", "triangle", "diamond"];

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== null) node.textContent = text;
  return node;
}

function marker(shape, x, y, colour) {
  const r = 3.5;
  if (shape === "circle") return svg("circle", { cx: x, cy: y, r, fill: colour });
  if (shape === "square") return svg("rect", { x: x - r, y: y - r, width: 2 * r, height: 2 * r, fill: colour });
  const points = shape === "triangle"
    ? [[x, y - r - 1], [x + r + 1, y + r], [x - r - 1, y + r]]
    : [[x, y - r - 1], [x + r + 1, y], [x, y + r + 1], [x - r - 1, y]];
  return svg("polygon", { points: points.map((p) => p.join(",")).join(" "), fill: colour });
}

function sentence(curve) {
  const first = curve.dice[0];
  const last = curve.dice[curve.dice.length - 1];
  const change = last - first;
  const how = Math.abs(change) < 0.0005 ? "unchanged" : `${change > 0 ? "+" : "−"}${Math.abs(change).toFixed(3)}`;
  return `${curve.team}: ${first.toFixed(3)} with no click, ${last.toFixed(3)} after ${curve.dice.length - 1} clicks (${how})${curve.ranked ? "" : ", not ranked"}.`;
}

/**
 * The plot of one paradigm's curves.
 * @param {{team: string, ranked: boolean, dice: number[]}[]} curves in board order
 * @param {string} id unique id prefix
 */
function plot(curves, id) {
  const n = Math.max(...curves.map((c) => c.dice.length)) - 1;
  const longest = Math.max(...curves.map((c) => c.team.length), 4);
  const [left, top, w, h] = [44, 12, 420, 220];
  const right = Math.min(220, 26 + longest * 6.5);
  const width = left + w + right;
  const height = top + h + 40;
  // The y axis spans the values shown (Dice lives in 0–1), padded, so small gains are visible.
  const values = curves.flatMap((c) => c.dice);
  const lo = Math.max(0, Math.floor((Math.min(...values) - 0.02) * 20) / 20);
  const hi = Math.min(1, Math.ceil((Math.max(...values) + 0.02) * 20) / 20);
  const x = (k) => left + (n ? (k / n) * w : w / 2);
  const y = (v) => top + h - ((v - lo) / (hi - lo || 1)) * h;
  const root = svg("svg", { class: "curves", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-labelledby": `${id}-title ${id}-desc` });
  root.append(svg("title", { id: `${id}-title` }, "Mean Dice by number of clicks"));
  root.append(svg("desc", { id: `${id}-desc` }, curves.map(sentence).join(" ")));
  root.append(svg("rect", { x: left, y: top, width: w, height: h, class: "frame" }));
  const ticks = 4;
  for (let i = 0; i <= ticks; i++) {
    const v = lo + ((hi - lo) * i) / ticks;
    root.append(svg("line", { x1: left, x2: left + w, y1: y(v), y2: y(v), class: "grid" }));
    root.append(svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, v.toFixed(2)));
  }
  for (let k = 0; k <= n; k++) {
    root.append(svg("text", { x: x(k), y: top + h + 16, "text-anchor": "middle" }, String(k)));
  }
  root.append(svg("text", { x: left + w / 2, y: top + h + 34, "text-anchor": "middle", class: "axis" }, "clicks of each kind (lesion and background)"));
  root.append(svg("text", { x: 12, y: top + h / 2, transform: `rotate(-90 12 ${top + h / 2})`, "text-anchor": "middle", class: "axis" }, "mean Dice"));
  // End labels top to bottom, at least a line apart, so equal end values stay readable.
  const ends = curves.map((c, i) => ({ i, at: y(c.dice[c.dice.length - 1]) })).sort((a, b) => a.at - b.at);
  ends.forEach((e, j) => { if (j > 0) e.at = Math.max(e.at, ends[j - 1].at + 13); });
  const labelY = Object.fromEntries(ends.map((e) => [e.i, e.at]));
  curves.forEach((c, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const shape = MARKERS[i % MARKERS.length];
    const line = svg("g", { class: c.ranked ? "curve" : "curve unranked", "data-team": c.team });
    line.append(svg("title", {}, sentence(c)));
    const points = c.dice.map((v, k) => `${x(k).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    const stroke = { points, fill: "none", stroke: colour, "stroke-width": 2 };
    if (!c.ranked) stroke["stroke-dasharray"] = "5 3";
    line.append(svg("polyline", stroke));
    c.dice.forEach((v, k) => line.append(marker(shape, x(k), y(v), colour)));
    // The name in the text colour (some line colours are too light for text), after its marker.
    line.append(marker(shape, left + w + 10, labelY[i], colour));
    line.append(svg("text", { x: left + w + 18, y: labelY[i] + 4, class: "end-label" }, c.team));
    root.append(line);
  });
  root.setAttribute("height", String(Math.max(height, (ends.at(-1)?.at ?? 0) + 12)));
  root.setAttribute("viewBox", `0 0 ${width} ${root.getAttribute("height")}`);
  return root;
}

function valuesTable(curves, paradigm) {
  const n = Math.max(...curves.map((c) => c.dice.length));
  return el(
    "table",
    { class: "curves", "data-paradigm": paradigm },
    el("caption", {}, `${paradigm}: mean Dice after k clicks of each kind`),
    el("thead", {}, el("tr", {}, el("th", { scope: "col", class: "text" }, "Entry"), Array.from({ length: n }, (_, k) => el("th", { scope: "col" }, `k = ${k}`)))),
    el("tbody", {}, curves.map((c) => el("tr", { "data-team": c.team }, el("th", { scope: "row", class: "text" }, c.team), c.dice.map((v) => el("td", {}, v.toFixed(3)))))),
  );
}

/**
 * The board's curve section, one figure per paradigm; null when the board has no curves.
 * @param {object} board the API's Board
 * @returns {HTMLElement|null}
 */
export function curvesSection(board) {
  const curves = board.curves ?? [];
  if (!curves.length) return null;
  const section = el(
    "section",
    { class: "curves", id: "curves", "aria-labelledby": "curves-title" },
    el("h3", { id: "curves-title" }, "Dice versus clicks"),
  );
  const paradigms = [...new Set(curves.map((c) => c.paradigm))];
  paradigms.forEach((p, i) => {
    const mine = curves.filter((c) => c.paradigm === p);
    const id = `curves-${p}-${i}`;
    section.append(
      el(
        "figure",
        { class: "curves", id, "data-paradigm": p },
        el(
          "figcaption",
          { id: `${id}-caption` },
          `Mean Dice over ${board.centre === null ? "all test cases" : `the cases of centre ${board.centre}`} after 0, 1, …, ${mine[0].dice.length - 1} clicks of each kind (${p} labels), one line per entry: higher is better, and a line that rises shows clicks being used. The area under a case's curve is its DSC@AUC, the last point its DSC@Final. Dashed lines: entries not ranked.`,
        ),
        el("div", { class: "table-wrap" }, plot(mine, id)),
        el("ul", { class: "curve-words" }, mine.map((c) => el("li", {}, sentence(c)))),
        el("details", {}, el("summary", {}, "Every value"), el("div", { class: "table-wrap" }, valuesTable(mine, p))),
      ),
    );
  });
  return section;
}
