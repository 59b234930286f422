// Lesion-size strata: per-lesion F1 of each entry by reference lesion volume.

import { el } from "./common.js";

function range(s) {
  const n = (x) => x.toLocaleString("en");
  if (s.low === 0) return `< ${n(s.high)} mm³`;
  if (s.high === null) return `≥ ${n(s.low)} mm³`;
  return `${n(s.low)}–${n(s.high)} mm³`;
}

/**
 * One table per paradigm: rows are the board's entries, columns the volume ranges.
 * @returns {HTMLElement|null} null when no entry has strata
 */
export function strataSection(board) {
  const paradigms = [...new Set(board.rows.flatMap((r) => Object.keys(r.strata ?? {})))];
  if (!paradigms.length) return null;
  const section = el(
    "section",
    { class: "strata", id: "strata", "aria-labelledby": "strata-title" },
    el("h3", { id: "strata-title" }, "Lesion-size strata"),
    el(
      "p",
      { class: "board-meta" },
      "Per-lesion F1 = 2·TP / (2·TP + FP + FN) at IoU > 0.5, by the reference lesion's volume (a false positive by its own volume). Small lesions are the hardest: a low F1 there with a good Dice means the method finds the large lesions only. “–”: no lesion of that size.",
    ),
  );
  for (const p of paradigms) {
    const ranges = board.rows.find((r) => r.strata?.[p])?.strata[p] ?? [];
    section.append(
      el(
        "div",
        { class: "table-wrap" },
        el(
          "table",
          { class: "strata", "data-paradigm": p },
          el("caption", {}, `${p}: per-lesion F1 by lesion volume`),
          el("thead", {}, el("tr", {}, el("th", { scope: "col", class: "text" }, "Entry"), ranges.map((s) => el("th", { scope: "col" }, range(s))))),
          el(
            "tbody",
            {},
            board.rows.map((r) =>
              el(
                "tr",
                { "data-team": r.team },
                el("th", { scope: "row", class: "text" }, r.team),
                (r.strata?.[p] ?? ranges.map(() => null)).map((s) =>
                  el(
                    "td",
                    {},
                    s === null ? "–" : s.f1 === null ? "–" : s.f1.toFixed(2),
                    s === null ? null : el("small", {}, ` (TP ${s.tp} · FN ${s.fn} · FP ${s.fp})`),
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
    );
  }
  return section;
}
