// The public leaderboard page: a tab per task and a phase switch; the board itself (its
// paradigm and centre tabs, table and figures) is the mountBoard component. The view is kept
// in the URL hash so it can be shared.

import { mountBoard, tablist } from "./board.js";
import { bootChallenge, clear, el, phasePicker, say } from "./common.js";

const state = { task: null, phase: null, paradigm: null, centre: null };
let challenge = null;

function readHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  for (const key of Object.keys(state)) state[key] = h.get(key);
}

function writeHash() {
  const h = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) if (v) h.set(k, v);
  history.replaceState(null, "", `${location.pathname}${location.search}#${h}`);
}

function show() {
  const task = challenge.tasks.find((t) => t.slug === state.task) ?? challenge.tasks[0];
  const phase = task.phases.find((p) => String(p.id) === state.phase) ?? task.phases[0];
  state.task = task.slug;
  state.phase = phase ? String(phase.id) : null;
  writeHash();
  clear(document.getElementById("tasks")).append(
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
        Object.assign(state, { phase: String(p.id), paradigm: null, centre: null });
        show();
      }),
    ),
  );
  mountBoard(area, {
    phase: phase.id,
    paradigm: state.paradigm,
    centre: state.centre,
    onChange: (chosen) => {
      Object.assign(state, chosen);
      writeHash();
    },
  });
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
  show();
}

main();
