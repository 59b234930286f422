// The leaderboard component. mountBoard(element, {challenge, task, phase}) fetches and draws a
// phase's board with its own paradigm and centre tabs into any element (it loads its own CSS);
// renderBoard(element, board) draws an already fetched board. Every number says in words what
// it is and which way is better; nothing needs a tooltip to be read.

import { blobPlot } from "./blobplot.js";
import { boardTable, METRICS, metricName } from "./boardtable.js";
import { API, api, clear, el, say } from "./common.js";
import { curvesSection } from "./curves.js";
import { significanceFigure } from "./sigmap.js";
import { strataSection } from "./strata.js";

const CSS = "/css/board.css";
const KIND_WORDS = { baseline: "baselines", human: "human readers", "off-the-shelf": "off-the-shelf models" };
let mounted = 0;

function ensureStyles() {
  if (document.querySelector(`link[href="${CSS}"]`)) return;
  document.head.append(el("link", { rel: "stylesheet", href: CSS }));
}

/** A WAI-ARIA tab list; arrow keys move between tabs. */
export function tablist(label, items, selected, onPick, cls = "") {
  const list = el("div", { role: "tablist", "aria-label": label, class: cls || null });
  for (const item of items) {
    const on = item.value === selected;
    list.append(
      el(
        "button",
        { role: "tab", type: "button", "aria-selected": String(on), tabindex: on ? "0" : "-1", dataset: { value: item.value ?? "" }, onclick: () => onPick(item.value) },
        item.label,
      ),
    );
  }
  list.addEventListener("keydown", (event) => {
    const tabs = [...list.querySelectorAll('[role="tab"]')];
    const i = tabs.indexOf(document.activeElement);
    if (i < 0 || !["ArrowLeft", "ArrowRight"].includes(event.key)) return;
    const next = tabs[(i + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
    next.focus();
    next.click();
  });
  return list;
}

function versionWords(versions) {
  const parts = Object.entries(versions ?? {}).map(([p, v]) => `${p} v${v}`);
  return parts.length ? parts.join(", ") : "no recorded label version";
}

function rulesWords(board) {
  const r = board.rules;
  if (!r) return null;
  const ties = r.ties === "average" ? "tied entries share the average of their ranks (1, 2.5, 2.5, 4)" : "tied entries share the best of their ranks (1, 2, 2, 4)";
  const how = r.aggregation === "rank_then_mean"
    ? "each case is ranked per metric and the ranks averaged over cases (challengeR's rank-then-mean)"
    : "each centre's dataset metrics are ranked";
  const refs = Object.entries(r.references).map(([k, v]) => `${KIND_WORDS[k] ?? k} ${v === "ranked" ? "ranked among the teams" : "shown beside the ranking"}`);
  const teams = r.teams === "all" ? "every team is ranked, the organisers' own included" : "organiser-affiliated teams are not ranked publicly";
  return `Ranking rules of this phase: ${how}; ${ties}; ${teams}; reference entries: ${refs.join(", ")}.`;
}

function readingGuide(board) {
  const metricCount = new Set(board.columns.map((c) => c.key)).size;
  const overall = board.centre === null && (board.phase.centres.length > 1);
  const hasDistances = board.columns.some((c) => METRICS[c.metric]?.distance && !METRICS[c.metric]?.interactive);
  const interactive = board.columns.some((c) => METRICS[c.metric]?.interactive);
  return el(
    "div",
    { class: "board-read", id: "board-reading", role: "note" },
    el("p", {}, el("strong", {}, "How to read this board. "),
      `Position comes from the Score, a mean rank: lower is better. ${overall ? "Overall, the Score is the mean of the centre scores; each centre score is the mean of the team's ranks on that centre's metrics." : `The Score is the mean of the team's ranks on the ${metricCount} metric columns.`} Each metric cell shows the team's value and, in the badge, its rank on that metric (1 = best). Under every column name it says which way is better.`),
    hasDistances
      ? el("p", { id: "penalty-note" }, "RVD is a ratio; ASSD, RMSD and MSD are in millimetres. Every missed or spurious lesion counts as 9001 in these four (the challenge's penalty), so values in the hundreds or thousands mean missed lesions, not huge distances. The paper prints them as natural logarithms: use the switch below for that view.")
      : null,
    interactive
      ? el("p", { id: "interactive-note" }, "This phase is interactive: every case was predicted with 0, 1, …, N clicks of each kind (lesion and background), each prediction scored as one mask. @AUC is the area under the case's curve over the click counts (one unit per click, so a Dice AUC of N is perfect from the first prediction on), @Final the value after the last click; both are averaged over the cases. ASD and MSD are in millimetres, 9001 where a prediction or the label is empty, so large AUCs mean empty predictions at some click counts. The plot under the table shows how each entry's mean Dice grows with the clicks.")
      : null,
    el("p", {}, "The 95% interval of each value (bootstrap over the test cases) appears when you point at or focus a cell, or for every cell with the switch below. Reference entries (baselines, off-the-shelf models, human readers) are marked; “not ranked” ones are shown for comparison and take no position."),
  );
}

function labelBanner(board) {
  const lv = board.label_versions;
  if (!lv) return null;
  const nodes = [];
  if (lv.rescoring) {
    const waiting = lv.waiting.map((w) => `${w.team} (${versionWords(w.label_versions)})`);
    nodes.push(
      el(
        "div",
        { class: "board-banner", id: "rescoring", role: "status" },
        el("strong", {}, "Re-scoring. "),
        `The active labels are ${versionWords(lv.active)}; this board shows results against ${versionWords(lv.ranked)} until every entry is re-scored.`,
        waiting.length ? ` Waiting for re-scoring (not ranked meanwhile): ${waiting.join(", ")}.` : "",
      ),
    );
  }
  nodes.push(el("p", { class: "board-meta", id: "label-versions" }, `Scored against labels: ${versionWords(lv.ranked)}.`));
  return nodes;
}

function stabilityWords(board) {
  const st = board.stability;
  if (!st) return null;
  let tau;
  if (st.kendall_tau_mean === null) {
    tau = "Kendall's τ is not defined here: every entry shares one position on this board, so there is no order to compare.";
  } else {
    const left = st.samples - st.kendall_tau_samples;
    tau = `Kendall's τ-b (ties allowed; 1 = the same order as this board, 0 = unrelated) between each resample's ranking and this one: mean ${st.kendall_tau_mean.toFixed(3)}, median ${st.kendall_tau_median.toFixed(3)} over ${st.kendall_tau_samples} samples${left ? ` (${left} left out: every entry tied in them, where τ-b is not defined)` : ""}.`;
  }
  return el(
    "p",
    { class: "board-meta", id: "stability-words" },
    `Stability: ${st.samples} bootstrap resamples of the test cases, stratified by centre (seed ${st.seed}); the metric intervals use the same resamples. “Rank spread” is each entry's median position and 95% range over them, and how often it came first (ties included). ${tau}`,
  );
}

function glossary(board) {
  const metrics = [...new Set(board.columns.map((c) => c.metric))];
  return el(
    "details",
    { class: "glossary" },
    el("summary", {}, "What each metric measures"),
    el("dl", { class: "glossary" }, metrics.flatMap((m) => [el("dt", {}, metricName(m)), el("dd", {}, METRICS[m]?.what ?? m)])),
  );
}

/**
 * Draw a fetched board into `container`.
 * @param {HTMLElement} container
 * @param {object} board the API's Board
 * @param {{csvQuery?: string}} options
 */
export function renderBoard(container, board, options = {}) {
  ensureStyles();
  clear(container);
  const root = el("div", { class: "podium-board" });
  container.append(root);
  if (board.hidden) {
    root.append(el("div", { class: "notice hidden-state", role: "status", id: "hidden-notice" }, el("strong", {}, "Scores hidden. "), board.hidden_note || "This leaderboard is not public yet."));
    return;
  }
  if (!board.public) root.append(el("div", { class: "notice", role: "note" }, "Organisers only: ", board.hidden_note || "not public yet", "."));
  const banner = labelBanner(board);
  if (banner) root.append(...banner);
  if (!board.rows.length) {
    root.append(el("p", { class: "muted", id: "empty-board" }, board.notes.join("; ") || "No ranked submissions yet."));
    return;
  }
  root.append(readingGuide(board));
  const rules = rulesWords(board);
  if (rules) root.append(el("p", { class: "board-meta", id: "board-rules" }, rules));
  const state = { log: false };
  const tableArea = el("div", { class: "board-table" });
  const draw = () => clear(tableArea).append(boardTable(board, state));
  const logSwitch = el("input", { type: "checkbox", id: `log-${++mounted}`, onchange: (e) => { state.log = e.target.checked; draw(); } });
  const ciSwitch = el("input", { type: "checkbox", id: `ci-${mounted}`, onchange: (e) => root.classList.toggle("show-ci", e.target.checked) });
  const tools = el(
    "div",
    { class: "board-tools" },
    el("a", { href: `${API}/phases/${board.phase.id}/leaderboard.csv${options.csvQuery ?? ""}`, download: true, id: "csv-link" }, "Download CSV (with intervals)"),
    el("label", { class: "inline", for: logSwitch.id }, logSwitch, "Distances as natural logs (the paper's display)"),
    el("label", { class: "inline", for: ciSwitch.id }, ciSwitch, "Show every 95% interval"),
  );
  if (!board.columns.some((c) => METRICS[c.metric]?.distance)) tools.querySelector(`label[for="${logSwitch.id}"]`).remove();
  root.append(tools, tableArea);
  draw();
  for (const note of board.notes) root.append(el("p", { class: "muted board-note" }, note));
  const words = stabilityWords(board);
  if (words) root.append(words);
  const ranked = board.rows.filter((r) => r.stability);
  if (board.stability && ranked.length > 1) {
    root.append(
      el(
        "figure",
        { class: "blobplot", id: "stability-plot" },
        el("figcaption", {}, "Ranking stability: one column per ranked entry; the area of each blob is the share of bootstrap resamples in which it took that rank; the black line spans its 95% range, the dot is the median, the red ring its position on this board."),
        el("div", { class: "table-wrap" }, blobPlot(ranked, board.stability)),
      ),
    );
  }
  board.significance.forEach((map, i) => {
    if (map.entries.length > 1) root.append(significanceFigure(map, metricName(map.metric), `sigmap-${mounted}-${i}`));
  });
  const curves = curvesSection(board);
  if (curves) root.append(curves);
  const strata = strataSection(board);
  if (strata) root.append(strata);
  root.append(glossary(board));
}

async function resolvePhase(options) {
  if (options.phase !== undefined && options.phase !== null && /^\d+$/.test(String(options.phase))) return Number(options.phase);
  if (!options.challenge) throw new Error("mountBoard needs a phase id, or a challenge (and task) to find one");
  const challenge = await api(`/challenges/${encodeURIComponent(options.challenge)}`);
  const task = challenge.tasks.find((t) => t.slug === options.task) ?? challenge.tasks[0];
  if (!task) throw new Error("This challenge has no task yet.");
  const phase = task.phases.find((p) => p.slug === options.phase) ?? task.phases[0];
  if (!phase) throw new Error("This task has no phase yet.");
  return phase.id;
}

/**
 * Mount a self-contained board into `element`: its paradigm and centre tabs, the table and
 * every figure. Choosing a tab reloads it and calls `onChange({paradigm, centre})`.
 * @param {HTMLElement} element
 * @param {{challenge?: string, task?: string, phase?: number|string, paradigm?: string|null,
 *   centre?: string|null, view?: "public"|"organisers", onChange?: Function}} options
 * @returns {Promise<{reload: Function, state: object}>}
 */
export async function mountBoard(element, options = {}) {
  ensureStyles();
  const state = { paradigm: options.paradigm ?? null, centre: options.centre ?? null };
  const controls = el("div", { class: "board-controls" });
  const area = el("div", { class: "board-area", "aria-live": "polite" }, el("p", { class: "muted" }, "Loading…"));
  clear(element).append(controls, area);
  let phaseId;
  try {
    phaseId = await resolvePhase(options);
  } catch (err) {
    say(area, err.message, "error");
    return { reload: async () => {}, state };
  }
  let request = 0;
  async function reload() {
    const mine = ++request;
    const params = new URLSearchParams();
    if (state.paradigm) params.set("paradigm", state.paradigm);
    if (state.centre) params.set("centre", state.centre);
    if (options.view && options.view !== "public") params.set("view", options.view);
    const query = params.toString() ? `?${params}` : "";
    let board;
    try {
      board = await api(`/phases/${phaseId}/leaderboard${query}`);
    } catch (err) {
      if (mine === request) say(area, err.message, "error");
      return;
    }
    if (mine !== request) return; // a newer choice is loading
    clear(controls);
    const pick = (key) => (value) => {
      state[key] = value;
      if (options.onChange) options.onChange({ ...state });
      reload();
    };
    if (board.phase.paradigms.length > 1) {
      const items = [{ value: null, label: "Final ranking" }, ...board.phase.paradigms.map((p) => ({ value: p, label: `Paradigm: ${p}` }))];
      controls.append(tablist("Ranking", items, state.paradigm, pick("paradigm"), "sub"));
    }
    if (board.phase.centres.length > 1 && !board.hidden) {
      const centres = [{ value: null, label: "Overall" }, ...board.phase.centres.map((c) => ({ value: c, label: `Centre ${c}` }))];
      controls.append(tablist("Centre", centres, state.centre, pick("centre"), "sub"));
    }
    renderBoard(area, board, { csvQuery: query });
  }
  await reload();
  return { reload, state };
}
