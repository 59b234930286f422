// The organisers' page: every team (affiliated ones marked), the unpublished board,
// the publish button, any submission's per-case scores and the re-score button.

import { mountBoard } from "./board.js";
import { organiserPanels } from "./boardorg.js";
import { api, clear, currentUser, el, fmt, fmtDate, bootChallenge, phasePicker, say, setToken, signInForm } from "./common.js";

const page = document.getElementById("page");
let challenge = null;
let phaseId = null;

function isOrganiser(user) {
  return user && (user.role === "organiser" || user.role === "admin");
}

function whoami(user) {
  const who = clear(document.getElementById("who"));
  if (!user) return;
  who.append(
    `Signed in as ${user.display_name} (${user.role}) `,
    el("button", { type: "button", class: "action secondary", onclick: () => { setToken(null); start(); } }, "Sign out"),
  );
}

async function showScores(target, submissionId) {
  say(target, "Loading per-case scores…", "muted");
  let data;
  try {
    data = await api(`/submissions/${submissionId}/case-scores`);
  } catch (err) {
    say(target, err.message, "error");
    return;
  }
  clear(target);
  if (!data.scores.length) {
    say(target, `Submission ${submissionId} has no stored scores.`, "muted");
    return;
  }
  const head = ["Case", "Centre", "Paradigm", "Status", "Dice", "TP>0.5", "FP>0.5", "FN>0.5", "Lesions"];
  target.append(
    el("h3", {}, `Per-case scores of submission ${submissionId} (${data.team.name}; evaluation ${data.evaluation_id}, scorer ${data.scorer_version}, ${data.mode} mode)`),
    el(
      "div",
      { class: "table-wrap" },
      el(
        "table",
        { id: "case-scores" },
        el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col", class: "text" }, h)))),
        el(
          "tbody",
          {},
          data.scores.map((s) =>
            el(
              "tr",
              {},
              el("td", { class: "text" }, s.case),
              el("td", { class: "text" }, s.centre),
              el("td", { class: "text" }, s.paradigm),
              el("td", { class: "text" }, s.status),
              el("td", {}, fmt(s.dice)),
              el("td", {}, String(s.result.tp_50 ?? "–")),
              el("td", {}, String(s.result.fp_50 ?? "–")),
              el("td", {}, String(s.result.fn_50 ?? "–")),
              el("td", {}, String(s.result.lesion_count ?? "–")),
            ),
          ),
        ),
      ),
    ),
  );
}

async function showTeam(target, team) {
  say(target, "Loading…", "muted");
  let history;
  try {
    history = await api(`/phases/${phaseId}/history?team_id=${team.id}`);
  } catch (err) {
    say(target, err.message, "error");
    return;
  }
  clear(target);
  const scores = el("div", { id: "scores-area", "aria-live": "polite" });
  const message = el("p", { role: "status", "aria-live": "polite" });
  const rows = history.submissions.map((s) =>
    el(
      "tr",
      { "data-submission": String(s.id) },
      el("td", { class: "text" }, String(s.id)),
      el("td", { class: "text" }, fmtDate(s.created_at)),
      el("td", { class: "text" }, el("span", { class: `status ${s.status}` }, s.status)),
      el("td", { class: "text" }, s.failure_class ?? "–"),
      el("td", { class: "text" }, s.message || "–"),
      el("td", { class: "text" }, s.counted ? "✓ ranked" : ""),
      el(
        "td",
        { class: "text" },
        el("button", { type: "button", class: "action secondary", onclick: () => showScores(scores, s.id) }, "Per-case scores"),
        " ",
        el(
          "button",
          {
            type: "button",
            class: "action secondary",
            onclick: async () => {
              try {
                const out = await api(`/submissions/${s.id}/rescore`, { method: "POST" });
                say(message, out.message, "ok");
                showTeam(target, team);
              } catch (err) {
                say(message, err.message, "error");
              }
            },
          },
          "Re-score",
        ),
      ),
    ),
  );
  target.append(
    el("h3", {}, `${team.name}${team.affiliated ? " (organiser-affiliated)" : ""}: quota ${history.quota.used}/${history.quota.limit} used`),
    message,
    history.submissions.length
      ? el(
          "div",
          { class: "table-wrap" },
          el(
            "table",
            { id: "team-submissions" },
            el("thead", {}, el("tr", {}, ["#", "Submitted", "Status", "Failure class", "Message", "Counts", "Actions"].map((h) => el("th", { scope: "col", class: "text" }, h)))),
            el("tbody", {}, rows),
          ),
        )
      : el("p", { class: "muted" }, "No submission."),
    scores,
  );
}

async function showPhase() {
  const area = clear(document.getElementById("phase-area"));
  const boardArea = el("div", { id: "board-area" });
  const publishMessage = el("p", { role: "status", "aria-live": "polite", id: "publish-message" });
  const teamArea = el("div", { id: "team-area", "aria-live": "polite" });
  let board;
  let teams;
  try {
    [board, teams] = await Promise.all([api(`/phases/${phaseId}/leaderboard?view=organisers`), api(`/phases/${phaseId}/teams`)]);
  } catch (err) {
    say(area, err.message, "error");
    return;
  }
  const publish = el(
    "button",
    {
      type: "button",
      class: "action",
      id: "publish",
      disabled: board.public,
      onclick: async () => {
        try {
          const out = await api(`/phases/${phaseId}/leaderboard/publish`, { method: "POST" });
          say(publishMessage, out.message, "ok");
          showPhase();
        } catch (err) {
          say(publishMessage, err.message, "error");
        }
      },
    },
    board.public ? "Leaderboard is public" : "Publish leaderboard",
  );
  const teamSelect = el(
    "select",
    { id: "team-select", onchange: (e) => { const t = teams.teams.find((x) => String(x.id) === e.target.value); if (t) showTeam(teamArea, t); } },
    el("option", { value: "" }, "Choose a team…"),
    teams.teams.map((t) => el("option", { value: String(t.id) }, `${t.name}${t.affiliated ? " (organisers)" : ""}`)),
  );
  area.append(
    el("div", { class: "row" }, publish, el("span", { class: "muted" }, board.public ? "Everyone sees this board." : board.hidden_note ?? "")),
    publishMessage,
    el("h2", {}, "Organisers' view (all teams; affiliated teams marked and ranked)"),
    boardArea,
    el("h2", {}, "Teams"),
    el("label", { class: "inline", for: "team-select" }, "Team", teamSelect),
    teamArea,
  );
  mountBoard(boardArea, { phase: phaseId, view: "organisers" });
  organiserPanels(area, phaseId);
}

function showPhases() {
  clear(page);
  const phases = challenge.tasks.flatMap((t) => t.phases.map((p) => ({ ...p, title: `${t.title} · ${p.title}` })));
  if (!phases.length) {
    say(page, "This challenge has no phase yet.", "muted");
    return;
  }
  phaseId = phaseId ?? phases[0].id;
  page.append(
    el("div", { class: "row" }, el("span", { class: "muted" }, "Phase"), phasePicker(phases, phaseId, (p) => { phaseId = p.id; showPhases(); })),
    el("div", { id: "phase-area", "aria-live": "polite" }),
  );
  showPhase();
}

async function start() {
  const user = await currentUser();
  whoami(user);
  if (!user) {
    clear(page).append(signInForm((u) => start(u)));
    return;
  }
  if (!isOrganiser(user)) {
    say(page, "This page is for organisers. Your team's page is under “My team”.", "error");
    return;
  }
  showPhases();
}

(async () => {
  challenge = await bootChallenge(page);
  if (challenge) start();
})();
