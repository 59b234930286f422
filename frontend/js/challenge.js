// A challenge's page: description, tasks and phases (windows in the reader's local time and
// UTC), limits, the run contract, the public sample cases, the rules, and the leaderboard.

import { api, bootChallenge, clear, currentUser, el, fmtLocalAndUtc, say, showWho } from "./common.js";
import { runContract } from "./contract.js";

const VISIBILITY = {
  live: "shown to everyone as results come in",
  hidden_until_close: "hidden until the organisers publish it after the phase closes",
  published: "published",
};
const SELECTION = {
  latest: "your latest succeeded submission",
  best: "your best submission",
  selected: "the submission you select on your team's page",
};

function phaseState(phase) {
  const now = Date.now();
  if (now < Date.parse(phase.opens_at)) return "not open yet";
  if (now >= Date.parse(phase.closes_at)) return "closed";
  return "open";
}

function phasesTable(task) {
  const head = ["Phase", "Kind", "Opens", "Closes", "Now", "Submissions per team", "Time limit", "Memory", "GPU", "Leaderboard"];
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      { class: "phases", dataset: { task: task.slug } },
      el("caption", {}, `${task.title}: phases (times in your time zone, UTC in brackets)`),
      el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col", class: "text" }, h)))),
      el(
        "tbody",
        {},
        task.phases.map((p) =>
          el(
            "tr",
            { dataset: { phase: String(p.id) } },
            el("th", { scope: "row", class: "text" }, p.title),
            el("td", { class: "text" }, p.kind === "final" ? "final test (pre-flight on the sample cases first)" : "validation"),
            el("td", { class: "text window" }, fmtLocalAndUtc(p.opens_at)),
            el("td", { class: "text window" }, fmtLocalAndUtc(p.closes_at)),
            el("td", { class: "text" }, phaseState(p)),
            el("td", {}, String(p.submission_limit)),
            el("td", {}, `${Math.round(p.time_limit_s / 60)} min for all cases`),
            el("td", {}, `${(p.memory_limit_mb / 1024).toFixed(p.memory_limit_mb % 1024 ? 1 : 0)} GiB`),
            el("td", {}, p.gpu ? "one GPU" : "none"),
            el("td", { class: "text" }, `${VISIBILITY[p.leaderboard_visibility]}; ranks ${SELECTION[p.ranking_selection]}`),
          ),
        ),
      ),
    ),
  );
}

function contract(task) {
  return el(
    "section",
    { "aria-labelledby": `contract-${task.slug}` },
    el("h3", { id: `contract-${task.slug}` }, `What your container gets and writes (${task.title})`),
    el(
      "ul",
      {},
      el("li", {}, `Input: one ${task.input_phase} CT volume per case in /input, read-only; nothing else is there (names below, per phase).`),
      el("li", {}, "Output: ", el("code", {}, "/output/<case_id>.nii.gz"), " per input, a label map with lesion = 1 on the input's grid (copy the input's header)."),
      el("li", {}, `Scored against: ${task.paradigms.join(", ")} label${task.paradigms.length > 1 ? "s (each from the same outputs)" : "s"}; metrics: ${Object.entries(task.metric_sets).map(([p, m]) => `${p}: ${m.length}`).join("; ") || "the task's defaults"}.`),
      el("li", {}, "No network, a read-only file system (write to /output and /tmp only); exit 0 when every case is written."),
    ),
    ...task.phases.filter((p) => p.container).map((p) => runContract(p, { id: `run-contract-${p.id}`, title: `How ${p.title} runs your container`, heading: "h4" })),
    el("p", { class: "muted" }, "The whole guide, with a complete example and how to test locally: docs/participants.md."),
  );
}

async function samples(task) {
  const box = el("div", { class: "samples", dataset: { task: task.slug } }, el("p", { class: "muted" }, "Loading sample cases…"));
  (async () => {
    const lists = await Promise.all(task.phases.map((p) => api(`/phases/${p.id}/sample-cases`).catch(() => [])));
    const seen = new Map();
    lists.flat().forEach((c) => { if (!seen.has(c.case_key)) seen.set(c.case_key, c); });
    clear(box);
    if (!seen.size) {
      box.append(el("p", { class: "muted" }, "No public sample case yet."));
      return;
    }
    box.append(
      el(
        "ul",
        {},
        [...seen.values()].map((c) =>
          el(
            "li",
            {},
            el("strong", {}, c.case_key), ": ",
            c.input_url ? el("a", { href: c.input_url, download: "" }, "input") : "input not uploaded yet",
            ...Object.entries(c.label_urls).flatMap(([paradigm, url]) => [" · ", el("a", { href: url, download: "" }, `${paradigm} label`)]),
          ),
        ),
      ),
    );
  })();
  return el(
    "section",
    { "aria-labelledby": `samples-${task.slug}` },
    el("h3", { id: `samples-${task.slug}` }, `Public sample cases (${task.title}): inputs and labels, to test locally`),
    box,
  );
}

function rules(challenge) {
  return el(
    "section",
    { "aria-labelledby": "rules-title", id: "rules" },
    el("h2", { id: "rules-title" }, "Rules"),
    el(
      "ul",
      {},
      el("li", {}, "A person belongs to one team per challenge. Members join with the team's invitation code; they can leave until the team's first submission, after which only an organiser can change members."),
      challenge.requires_team_approval ? el("li", {}, "An organiser approves each team before it can submit.") : null,
      el("li", {}, "Each phase gives every team a number of submissions (above). A slot used by a run that failed on our side, a failed pre-flight or a cancelled submission is given back."),
      el("li", {}, "Container logs are shown for validation phases, and for a failed pre-flight (on the public sample cases) in any phase; never for a final phase's hidden cases."),
      el("li", {}, "Organiser-affiliated teams are ranked on the organisers' board only."),
      el("li", {}, "Ranking: per centre and metric, ranks averaged (the leaderboard explains its columns)."),
    ),
  );
}

async function main() {
  const page = document.getElementById("page");
  currentUser().then((user) => showWho(user));
  const challenge = await bootChallenge(page);
  if (!challenge) return;
  document.title = `${challenge.title} · Podium`;
  document.getElementById("challenge-title").textContent = challenge.title;
  const team = `/team.html?challenge=${encodeURIComponent(challenge.slug)}`;
  clear(page);
  // (Element.append writes a null as the text "null": only what exists goes in.)
  if (challenge.description) page.append(el("p", { id: "challenge-description" }, challenge.description));
  page.append(
    el(
      "p",
      { class: "row" },
      el("a", { class: "action-link", href: team, id: "take-part" }, "Take part: create or join a team, submit"),
      challenge.requires_team_approval ? el("span", { class: "muted" }, "Teams are approved by an organiser before they can submit.") : null,
    ),
    el("h2", {}, "Tasks and phases"),
    ...challenge.tasks.map((t) => el("section", { class: "task", "aria-label": t.title }, el("h3", {}, t.title), phasesTable(t))),
    el("h2", {}, "The run contract and the sample cases"),
  );
  for (const task of challenge.tasks) page.append(contract(task), await samples(task));
  page.append(rules(challenge));
  embedLeaderboard();
}

/** The leaderboard component, mounted into #leaderboard: the one call into frontend/js/leaderboard.js
 *  (it reads ?challenge= and renders into the section's #tasks, #controls and #board-area). */
function embedLeaderboard() {
  const section = document.getElementById("leaderboard");
  section.hidden = false;
  import("./leaderboard.js").catch((err) => say(document.getElementById("board-area"), err.message, "error"));
}

main();
