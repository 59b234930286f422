// The public leaderboard: a tab per task; within a task its phases, the final ranking and
// each paradigm, overall and per-centre views. State lives in the URL hash so views can be shared.

import { renderBoard } from "./board.js";
import { api, clear, el, bootChallenge, phasePicker, say } from "./common.js";

const state = { task: null, phase: null, paradigm: null, centre: null };
let challenge = null;
let request = 0;

function readHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  for (const key of Object.keys(state)) state[key] = h.get(key);
}

function writeHash() {
  const h = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) if (v) h.set(k, v);
  history.replaceState(null, "", `${location.pathname}${location.search}#${h}`);
}

function currentTask() {
  return challenge.tasks.find((t) => t.slug === state.task) ?? challenge.tasks[0];
}

function currentPhase(task) {
  return task.phases.find((p) => String(p.id) === state.phase) ?? task.phases[0];
}

function tablist(label, items, selected, onPick, cls = "") {
  const list = el("div", { role: "tablist", "aria-label": label, class: cls });
  for (const item of items) {
    const on = item.value === selected;
    list.append(
      el(
        "button",
        {
          role: "tab",
          type: "button",
          "aria-selected": String(on),
          tabindex: on ? "0" : "-1",
          dataset: { value: item.value ?? "" },
          onclick: () => onPick(item.value),
        },
        item.label,
      ),
    );
  }
  // Arrow keys move between tabs (WAI-ARIA tabs pattern).
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

async function show() {
  const task = currentTask();
  const phase = currentPhase(task);
  state.task = task.slug;
  state.phase = phase ? String(phase.id) : null;
  writeHash();
  const tasks = document.getElementById("tasks");
  clear(tasks).append(
    tablist(
      "Tasks",
      challenge.tasks.map((t) => ({ value: t.slug, label: t.title })),
      task.slug,
      (value) => {
        Object.assign(state, { task: value, phase: null, paradigm: null, centre: null });
        show();
      },
    ),
  );
  const controls = clear(document.getElementById("controls"));
  const area = document.getElementById("board-area");
  if (!phase) {
    say(area, "This task has no phase yet.", "muted");
    return;
  }
  controls.append(
    el(
      "div",
      { class: "row" },
      el("span", { class: "muted" }, "Phase"),
      phasePicker(task.phases, phase.id, (p) => {
        Object.assign(state, { phase: String(p.id), centre: null });
        show();
      }),
    ),
  );
  if (task.paradigms.length > 1) {
    const items = [{ value: null, label: "Final ranking" }, ...task.paradigms.map((p) => ({ value: p, label: `Paradigm: ${p}` }))];
    controls.append(
      tablist("Ranking", items, state.paradigm, (value) => {
        state.paradigm = value;
        show();
      }, "sub"),
    );
  }
  const mine = ++request;
  const params = new URLSearchParams();
  if (state.paradigm) params.set("paradigm", state.paradigm);
  if (state.centre) params.set("centre", state.centre);
  const query = params.toString() ? `?${params}` : "";
  let board;
  try {
    board = await api(`/phases/${phase.id}/leaderboard${query}`);
  } catch (err) {
    if (mine === request) say(area, err.message, "error");
    return;
  }
  if (mine !== request) return; // a newer choice is loading
  if (board.phase.centres.length > 1 && !board.hidden) {
    const centres = [{ value: null, label: "Overall" }, ...board.phase.centres.map((c) => ({ value: c, label: `Centre ${c}` }))];
    controls.append(
      tablist("Centre", centres, state.centre, (value) => {
        state.centre = value;
        show();
      }, "sub"),
    );
  }
  renderBoard(area, board, { csvQuery: query });
}

async function main() {
  readHash();
  const area = document.getElementById("board-area");
  challenge = await bootChallenge(area);
  if (!challenge) return;
  document.getElementById("title").textContent = `${challenge.title} · Leaderboard`;
  document.title = `${challenge.title} · Leaderboard`;
  document.getElementById("description").textContent = challenge.description;
  if (!challenge.tasks.length) {
    say(area, "This challenge has no task yet.", "muted");
    return;
  }
  await show();
}

main();
