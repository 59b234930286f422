// A leaderboard table with sortable columns, its notes, CSV link and stability plot.

import { blobPlot } from "./blobplot.js";
import { API, clear, el, fmt, fmtRank } from "./common.js";

const DIRECTION_WORDS = { higher: "higher is better", lower: "lower is better", lower_abs: "closer to 0 is better" };

function short(metric) {
  return metric.replace(/^lesion_/, "").replaceAll("_", " ");
}

/** The sortable columns of a board: key, header, how to read a row's sort value, cell. */
function columnsOf(board) {
  const centres = board.centre === null ? Object.keys(board.rows[0]?.centre_scores ?? {}) : [];
  const cols = [
    { key: "position", label: "#", text: false, value: (r) => r.position, cell: (r) => String(r.position) },
    {
      key: "team",
      label: "Team",
      text: true,
      value: (r) => r.team.toLowerCase(),
      cell: (r) => [r.team, r.affiliated ? el("span", { class: "badge affiliated", title: "Organiser-affiliated: not ranked publicly" }, "organisers") : null],
    },
    {
      key: "score",
      label: "Score",
      title: `${board.score_label} (lower is better)`,
      value: (r) => r.score,
      cell: (r) => r.score.toFixed(3),
    },
    {
      key: "stability",
      label: "Bootstrap rank",
      title: "Median position across bootstrap samples, its 95% interval and the share of samples in first place",
      value: (r) => (r.stability ? r.stability.median : Infinity),
      cell: (r) =>
        r.stability
          ? `${r.stability.median} [${r.stability.interval[0]}–${r.stability.interval[1]}] · ${(r.stability.share_first * 100).toFixed(0)}% 1st`
          : "–",
    },
    ...centres.map((c) => ({
      key: `centre:${c}`,
      label: `Centre ${c}`,
      title: `Centre ${c} score: mean rank over its metrics (lower is better)`,
      value: (r) => r.centre_scores[c],
      cell: (r) => r.centre_scores[c].toFixed(3),
    })),
    ...board.columns.map((c) => ({
      key: c.key,
      label: board.columns.some((o) => o.paradigm !== c.paradigm) ? `${c.paradigm}: ${short(c.metric)}` : short(c.metric),
      title: `${c.metric} (${DIRECTION_WORDS[c.direction]}); the badge is the team's rank on it`,
      value: (r) => r.cells[c.key].rank,
      cell: (r) => {
        const cell = r.cells[c.key];
        return [fmt(cell.value), el("span", { class: `rank${cell.rank === 1 ? " r1" : ""}`, "aria-label": `rank ${fmtRank(cell.rank)}` }, fmtRank(cell.rank))];
      },
    })),
  ];
  return cols;
}

/**
 * Render a board into `container`.
 * @param {HTMLElement} container
 * @param {object} board the API's Board
 * @param {{csvQuery?: string}} options
 */
export function renderBoard(container, board, options = {}) {
  clear(container);
  if (board.hidden) {
    container.append(
      el(
        "div",
        { class: "notice hidden-state", role: "status", id: "hidden-notice" },
        el("strong", {}, "Scores hidden. "),
        board.hidden_note || "This leaderboard is not public yet.",
      ),
    );
    return;
  }
  if (!board.public) {
    container.append(el("div", { class: "notice", role: "note" }, "Organisers only: ", board.hidden_note || "not public yet", "."));
  }
  if (!board.rows.length) {
    container.append(el("p", { class: "muted", id: "empty-board" }, board.notes.join("; ") || "No ranked submissions yet."));
    return;
  }
  const cols = columnsOf(board);
  let sort = { key: "position", dir: 1 };
  const table = el("table", { id: "board" });
  const caption = el(
    "caption",
    {},
    `${board.phase.task_title} · ${board.phase.title} · ${board.paradigm ?? "final ranking"} · ${board.centre ? `centre ${board.centre}` : "all centres"} — ${board.rows.length} teams. Click a column to sort; metric columns sort by rank.`,
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
          { scope: "col", class: c.text ? "text" : null, "aria-sort": state, title: c.title ?? null, "data-key": c.key },
          el(
            "button",
            {
              type: "button",
              class: "sort",
              onclick: () => {
                sort = { key: c.key, dir: sort.key === c.key ? -sort.dir : 1 };
                draw();
              },
            },
            c.label,
          ),
        ),
      );
    }
    const col = cols.find((c) => c.key === sort.key);
    const rows = [...board.rows].sort((a, b) => {
      const va = col.value(a);
      const vb = col.value(b);
      if (va < vb) return -sort.dir;
      if (va > vb) return sort.dir;
      return a.position - b.position || a.team.localeCompare(b.team);
    });
    clear(tbody);
    for (const r of rows) {
      tbody.append(
        el(
          "tr",
          { "data-team": r.team, class: r.affiliated ? "affiliated" : null },
          cols.map((c) =>
            c.key === "team" ? el("th", { scope: "row", class: "text" }, c.cell(r)) : el("td", { class: c.text ? "text" : null }, c.cell(r)),
          ),
        ),
      );
    }
  }
  draw();
  container.append(el("div", { class: "table-wrap" }, table));
  const links = el("p", { class: "row" });
  const query = options.csvQuery ?? "";
  links.append(el("a", { href: `${API}/phases/${board.phase.id}/leaderboard.csv${query}`, download: true, id: "csv-link" }, "Download CSV"));
  if (board.stability) {
    const st = board.stability;
    const tau = st.kendall_tau_mean === null ? "undefined" : st.kendall_tau_mean.toFixed(3);
    links.append(el("span", { class: "muted" }, `Stability: ${st.samples} bootstrap samples stratified by centre (seed ${st.seed}); mean Kendall's τ against this ranking ${tau}.`));
  }
  container.append(links);
  for (const note of board.notes) container.append(el("p", { class: "muted" }, note));
  if (board.stability && board.rows.length > 1) {
    container.append(
      el(
        "figure",
        { class: "blobplot", id: "stability-plot" },
        el("figcaption", {}, "Ranking stability: the area of each blob is the share of bootstrap samples in which the team took that rank; the black line spans the 95% interval, the dot is the median, the red ring the rank on this board."),
        el("div", { class: "table-wrap" }, blobPlot(board.rows, board.stability)),
      ),
    );
  }
}
