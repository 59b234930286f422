// The board's table: every column says in words what it holds and which way is better;
// the header row and the position and team columns stay in view while the table scrolls.

import { clear, el, fmt, fmtDate, fmtRank } from "./common.js";

export const METRICS = {
  lesion_dice_per_case: { name: "Dice per case", what: "mean over cases of each case's Dice (0–1)" },
  lesion_dice_global: { name: "Global Dice", what: "Dice of all lesion voxels pooled over cases (0–1)" },
  lesion_precision: { name: "Precision", what: "detected lesions (IoU > 0.5) / predicted lesions" },
  lesion_recall: { name: "Recall", what: "detected lesions (IoU > 0.5) / reference lesions" },
  lesion_precision_greater_zero: { name: "Precision (any overlap)", what: "as Precision, a lesion counting as found at any overlap (IoU > 0)" },
  lesion_recall_greater_zero: { name: "Recall (any overlap)", what: "as Recall, at any overlap (IoU > 0)" },
  lesion_voe: { name: "VOE", what: "volumetric overlap error per lesion, 1 − Jaccard (0–1)" },
  lesion_rvd: { name: "RVD", unit: "ratio", what: "relative volume difference per lesion, |P − G| / G", distance: true },
  lesion_assd: { name: "ASSD", unit: "mm", what: "average symmetric surface distance per lesion", distance: true },
  lesion_rmsd: { name: "RMSD", unit: "mm", what: "root-mean-square surface distance per lesion", distance: true },
  lesion_msd: { name: "MSD", unit: "mm", what: "maximum surface distance (Hausdorff) per lesion", distance: true },
  // Interactive phases: per case, the area under the curve over 0…N clicks, or its last point.
  interactive_dsc_auc: { name: "DSC@AUC", what: "area under the case's Dice-vs-clicks curve (0 to N, one unit per click), mean over cases", interactive: true },
  interactive_asd_auc: { name: "ASD@AUC", unit: "mm·clicks", what: "area under the case's ASSD-vs-clicks curve of the whole mask, mean over cases", distance: true, interactive: true },
  interactive_msd_auc: { name: "MSD@AUC", unit: "mm·clicks", what: "area under the case's MSD (Hausdorff) -vs-clicks curve of the whole mask, mean over cases", distance: true, interactive: true },
  interactive_dsc_final: { name: "DSC@Final", what: "Dice of the whole mask after the last click (0–1), mean over cases", interactive: true },
  interactive_asd_final: { name: "ASD@Final", unit: "mm", what: "ASSD of the whole mask after the last click, mean over cases", distance: true, interactive: true },
  interactive_msd_final: { name: "MSD@Final", unit: "mm", what: "MSD (Hausdorff) of the whole mask after the last click, mean over cases", distance: true, interactive: true },
};

const BETTER = { higher: "↑ higher is better", lower: "↓ lower is better", lower_abs: "↓ closer to 0 is better" };
const KINDS = { baseline: "baseline", human: "human reader", "off-the-shelf": "off-the-shelf model" };

export function metricName(metric) {
  return METRICS[metric]?.name ?? metric.replace(/^lesion_/, "").replaceAll("_", " ");
}

/** A number as the table shows it: distances optionally as natural logs (the paper's display). */
export function shown(value, metric, { log = false } = {}) {
  if (value === null || value === undefined) return "–";
  if (log && METRICS[metric]?.distance) return value > 0 ? Math.log(value).toFixed(2) : "–";
  return fmt(value);
}

function sortKey(value, direction) {
  if (value === null || value === undefined) return Infinity;
  if (direction === "higher") return -value;
  if (direction === "lower_abs") return Math.abs(value);
  return value;
}

function teamCell(r) {
  const badges = [];
  if (r.reference) badges.push(el("span", { class: "badge reference" }, KINDS[r.kind] ?? r.kind));
  if (!r.ranked) badges.push(el("span", { class: "badge unranked" }, "not ranked"));
  if (r.affiliated) badges.push(el("span", { class: "badge affiliated" }, "organisers' team"));
  if (r.rerunning) badges.push(el("span", { class: "badge rerun" }, "re-running: previous result"));
  const method = [];
  if (r.method && r.method.name && r.method.name !== r.team) {
    method.push(r.method.link ? el("a", { href: r.method.link, rel: "noopener noreferrer" }, r.method.name) : r.method.name);
  } else if (r.method && r.method.link) {
    method.push(el("a", { href: r.method.link, rel: "noopener noreferrer" }, "about"));
  }
  if (r.method && r.method.writeup_url) {
    if (method.length) method.push(" · ");
    method.push(el("a", { href: r.method.writeup_url, class: "writeup-link" }, "write-up (PDF)"));
  }
  const parts = [el("span", { class: "team-name" }, r.team), ...badges];
  if (method.length) parts.push(el("span", { class: "method" }, ...method));
  if (r.reference && r.reference.description) parts.push(el("span", { class: "method" }, r.reference.description));
  return parts;
}

function columnsOf(board, opts) {
  const centres = board.centre === null ? [...new Set(board.rows.flatMap((r) => Object.keys(r.centre_scores)))] : [];
  const nMetrics = board.columns.length;
  const multi = new Set(board.columns.map((c) => c.paradigm)).size > 1;
  return [
    {
      key: "position", name: "#", hint: "position", sticky: "sticky-pos",
      value: (r) => r.position ?? Infinity,
      cell: (r) => (r.position === null ? "–" : String(r.position)),
    },
    {
      key: "team", name: "Team", hint: "method · write-up", sticky: "sticky-team", text: true,
      value: (r) => r.team.toLowerCase(),
      cell: (r) => teamCell(r),
    },
    {
      key: "score", name: "Score",
      hint: `mean rank over ${board.centre === null && centres.length > 1 ? "centres" : `${nMetrics} metrics`} · ↓ lower is better`,
      value: (r) => r.score ?? Infinity,
      cell: (r) => (r.score === null ? "not ranked" : r.score.toFixed(2)),
    },
    {
      key: "stability", name: "Rank spread", hint: "bootstrap: median [95% range] · how often 1st",
      value: (r) => (r.stability ? r.stability.median : Infinity),
      cell: (r) =>
        r.stability
          ? `${fmtRank(r.stability.median)} [${r.stability.interval[0]}–${r.stability.interval[1]}] · 1st in ${(r.stability.share_first * 100).toFixed(0)}%`
          : "–",
    },
    ...centres.map((c) => ({
      key: `centre:${c}`, name: `Centre ${c}`, hint: "mean rank · ↓ lower is better",
      value: (r) => r.centre_scores[c] ?? Infinity,
      cell: (r) => (r.centre_scores[c] === undefined ? "–" : r.centre_scores[c].toFixed(2)),
    })),
    ...board.columns.map((c) => {
      const info = METRICS[c.metric] ?? {};
      const unit = info.unit ? ` · ${opts.log && info.distance ? `ln ${info.unit}` : info.unit}` : "";
      return {
        key: c.key,
        name: multi ? `${c.paradigm}: ${metricName(c.metric)}` : metricName(c.metric),
        hint: `${BETTER[c.direction]}${unit}`,
        title: info.what ?? c.metric,
        value: (r) => sortKey(r.cells[c.key].value, c.direction),
        cell: (r) => {
          const cell = r.cells[c.key];
          const parts = [shown(cell.value, c.metric, opts)];
          if (cell.rank !== null) {
            parts.push(el("span", { class: `rank${cell.rank === 1 ? " r1" : ""}`, "aria-label": `rank ${fmtRank(cell.rank)}` }, fmtRank(cell.rank)));
          }
          if (cell.interval) {
            const [low, high] = cell.interval;
            parts.push(el("span", { class: "ci" }, `95% CI ${shown(low, c.metric, opts)}–${shown(high, c.metric, opts)}`));
          }
          return parts;
        },
        cellTitle: (r) => {
          const cell = r.cells[c.key];
          return cell.interval ? `95% bootstrap interval: ${shown(cell.interval[0], c.metric, opts)} to ${shown(cell.interval[1], c.metric, opts)}` : null;
        },
      };
    }),
    {
      key: "submitted", name: "Submitted", hint: "date (UTC)", text: true,
      value: (r) => r.submitted_at,
      cell: (r) => fmtDate(r.submitted_at),
    },
    {
      key: "entries", name: "Entries", hint: "submissions made",
      value: (r) => r.entries ?? -1,
      cell: (r) => (r.entries === null ? "–" : String(r.entries)),
    },
  ];
}

/**
 * The board table, sortable by any column; redraws itself in place.
 * @returns {HTMLElement} the scrolling frame holding table#board
 */
export function boardTable(board, opts = {}) {
  const cols = columnsOf(board, opts);
  let sort = { key: "position", dir: 1 };
  const table = el("table", { id: "board", class: "board" });
  const caption = el(
    "caption",
    {},
    `${board.phase.task_title} · ${board.phase.title} · ${board.paradigm ?? "final ranking"} · ${board.centre ? `centre ${board.centre}` : "all centres"}: ${board.rows.length} rows. Select a column name to sort by it.`,
  );
  const headRow = el("tr");
  const tbody = el("tbody");
  table.append(caption, el("thead", {}, headRow), tbody);
  function draw() {
    clear(headRow);
    for (const c of cols) {
      const state = sort.key === c.key ? (sort.dir === 1 ? "ascending" : "descending") : "none";
      headRow.append(
        el(
          "th",
          { scope: "col", class: [c.text ? "text" : "", c.sticky ?? ""].join(" ").trim() || null, "aria-sort": state, title: c.title ?? null, "data-key": c.key },
          el(
            "button",
            { type: "button", class: "sort", onclick: () => { sort = { key: c.key, dir: sort.key === c.key ? -sort.dir : 1 }; draw(); } },
            el("span", { class: "head-name" }, c.name),
          ),
          el("span", { class: "head-hint" }, c.hint),
        ),
      );
    }
    const col = cols.find((c) => c.key === sort.key);
    const rows = [...board.rows].sort((a, b) => {
      const va = col.value(a);
      const vb = col.value(b);
      if (va < vb) return -sort.dir;
      if (va > vb) return sort.dir;
      return (a.position ?? Infinity) - (b.position ?? Infinity) || a.team.localeCompare(b.team);
    });
    clear(tbody);
    for (const r of rows) {
      const cls = [r.reference ? "reference" : "", r.ranked ? "" : "unranked", r.affiliated ? "affiliated" : ""].join(" ").trim();
      tbody.append(
        el(
          "tr",
          { "data-team": r.team, "data-kind": r.kind, class: cls || null },
          cols.map((c) => {
            const attrs = { class: [c.text ? "text" : "", c.sticky ?? ""].join(" ").trim() || null, title: c.cellTitle ? c.cellTitle(r) : null };
            return c.key === "team" ? el("th", { scope: "row", ...attrs }, c.cell(r)) : el("td", attrs, c.cell(r));
          }),
        ),
      );
    }
  }
  draw();
  return el("div", { class: "board-scroll", tabindex: "0", role: "region", "aria-label": "Leaderboard table (scrolls sideways)" }, table);
}
