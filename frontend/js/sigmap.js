// Significance map (challengeR style): a filled square where the entry of the row has
// significantly better per-case scores than the entry of the column (one-sided Wilcoxon
// signed-rank test on the same cases, Holm-adjusted over every pair).

import { el } from "./common.js";

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== null) node.textContent = text;
  return node;
}

/**
 * @param {{paradigm: string, metric: string, alpha: number, cases: number, entries: string[],
 *   p_adjusted: (number|null)[][], significant: boolean[][]}} map
 * @param {string} label the metric's name for people
 * @param {string} id unique id prefix
 * @returns {HTMLElement} a figure with the SVG and a text list of the same findings
 */
export function significanceFigure(map, label, id) {
  const n = map.entries.length;
  const cell = n > 30 ? 12 : n > 15 ? 18 : 26;
  const longest = Math.max(...map.entries.map((e) => e.length), 4);
  const left = Math.min(220, 16 + longest * 6.5);
  // Column names are slanted at 60°: room above for the longest one.
  const top = Math.min(200, 20 + longest * 6);
  const width = left + cell * n + 20;
  const height = top + cell * n + 20;
  const root = svg("svg", {
    class: "sigmap",
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-labelledby": `${id}-title ${id}-desc`,
  });
  root.append(svg("title", { id: `${id}-title` }, `Significance map of ${label}`));
  const findings = map.entries.map((name, i) => {
    const beaten = map.entries.filter((_, j) => map.significant[i][j]);
    return `${name}: ${beaten.length ? `better than ${beaten.join(", ")}` : "better than none"}`;
  });
  root.append(svg("desc", { id: `${id}-desc` }, findings.join("; ")));
  map.entries.forEach((name, i) => {
    const y = top + i * cell;
    root.append(svg("text", { x: left - 6, y: y + cell * 0.7, "text-anchor": "end" }, name));
    const x = left + i * cell + cell * 0.6;
    root.append(svg("text", { x, y: top - 6, transform: `rotate(-60 ${x} ${top - 6})`, "text-anchor": "start" }, name));
    map.entries.forEach((other, j) => {
      const kind = i === j ? "self" : map.significant[i][j] ? "better" : "not";
      const rect = svg("rect", { class: kind, x: left + j * cell + 1, y: y + 1, width: cell - 2, height: cell - 2, "data-row": name, "data-col": other });
      if (i !== j) {
        const p = map.p_adjusted[i][j];
        rect.append(svg("title", {}, `${name} vs ${other}: adjusted p = ${p === null ? "–" : p < 0.001 ? "< 0.001" : p.toFixed(3)}${kind === "better" ? " (significantly better)" : ""}`));
      }
      root.append(rect);
    });
  });
  return el(
    "figure",
    { class: "sigmap", id, "data-paradigm": map.paradigm },
    el(
      "figcaption",
      {},
      `Significance map (${map.paradigm}, ${label}, ${map.cases} cases). A filled square: the row's entry has significantly better per-case ${label} than the column's (one-sided Wilcoxon signed-rank test, Holm-adjusted over all pairs, p < ${map.alpha}). An empty square is no evidence either way, not a tie.`,
    ),
    el("div", { class: "table-wrap" }, root),
    el("details", {}, el("summary", {}, "The same as text"), el("ul", {}, findings.map((f) => el("li", {}, f)))),
  );
}
