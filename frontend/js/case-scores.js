// The organisers' per-case table of one submission: Dice and the lesion counts at IoU > 0.5,
// each column named for what it counts and explained in a legend under the table
// (the counting rules are docs/evaluation.md, "Counts per case").
import { el, fmt } from "./common.js";

/** Column heading, the value from a stored case result, and the legend's explanation. */
const COLUMNS = [
  ["Case", (s) => s.case, null],
  ["Centre", (s) => s.centre, null],
  ["Paradigm", (s) => s.paradigm, "which label set the outputs were scored against"],
  ["Status", (s) => s.status, "ok; missing or invalid outputs are scored as an empty prediction"],
  ["Dice", (s) => fmt(s.dice), "voxel overlap of the whole prediction with the whole label, 2|P∩L| / (|P| + |L|); 1 when both are empty"],
  ["Reference lesions", (s) => count(s.result.tp_50, s.result.fn_50), "lesions (3-D connected components) in the label"],
  ["Detected (IoU > 0.5)", (s) => count(s.result.tp_50), "reference lesions (or merged groups) matched by a predicted lesion whose intersection over union with it is above 0.5"],
  ["Missed", (s) => count(s.result.fn_50), "reference lesions not detected: reference lesions − detected (a prediction merging k lesions detects one and misses k − 1)"],
  ["False positives", (s) => count(s.result.fp_50), "predicted lesions that detect nothing at IoU > 0.5 (a lesion split into m predictions counts m − 1 here)"],
];

function count(...values) {
  return values.every((v) => Number.isInteger(v)) ? String(values.reduce((a, b) => a + b, 0)) : "–";
}

/** The table and its legend for `data` (GET /submissions/{id}/case-scores). */
export function caseScoresTable(data) {
  const text = new Set(["Case", "Centre", "Paradigm", "Status"]);
  return [
    el("div", { class: "table-wrap" },
      el("table", { id: "case-scores", "aria-describedby": "case-scores-legend" },
        el("caption", {}, `Per-case scores of submission ${data.submission_id} (${data.team.name}), scorer ${data.scorer_version || "–"}`),
        el("thead", {}, el("tr", {}, COLUMNS.map(([h]) => el("th", { scope: "col", class: text.has(h) ? "text" : null }, h)))),
        el("tbody", {}, data.scores.map((s) => el("tr", { dataset: { case: s.case, paradigm: s.paradigm } },
          COLUMNS.map(([h, value]) => el("td", { class: text.has(h) ? "text" : null }, value(s)))))),
      )),
    el("dl", { id: "case-scores-legend", class: "legend" },
      COLUMNS.filter(([, , why]) => why).flatMap(([h, , why]) => [el("dt", {}, h), el("dd", {}, why)])),
  ];
}
