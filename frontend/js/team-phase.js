// One phase on the team page: the team's submissions updated live (polling with back-off, no
// reload), each failure with what to change, the log tail when the API gives it, the team's own
// per-case scores and warnings, its position, the quota ledger, and the upload with progress.

import { api, clear, el, fmt, fmtBytes, fmtDate, say, uploadFile } from "./common.js";
import { runContract } from "./contract.js";
import { writeupForm } from "./writeupform.js";

// States in which a submission may still change; the page polls while one is in them.
const IN_PROGRESS = new Set(["received", "queued", "preflight", "running", "scoring"]);
const FIRST_DELAY_MS = 1500;
const MAX_DELAY_MS = 30000;
let advice = null;
let timer = null;
let generation = 0;

async function failureAdvice() {
  if (!advice) advice = await api("/failure-classes").catch(() => ({}));
  return advice;
}

function statusCell(s, table) {
  const words = s.status.replaceAll("_", " ");
  const hint = s.failure_class && table[s.failure_class];
  return el(
    "td",
    { class: "text" },
    el("span", { class: `status ${s.status}` }, words),
    IN_PROGRESS.has(s.status) ? el("span", { class: "muted" }, " …") : null,
    s.failure_class ? el("div", { class: "failure" }, el("code", {}, s.failure_class), hint ? `: ${hint.meaning}. ` : "", hint ? el("strong", {}, `What to change: ${hint.what_to_change}.`) : null) : null,
  );
}

function submissionsTable(history, table) {
  if (!history.submissions.length) return el("p", { class: "muted", id: "no-submissions" }, "No submission yet.");
  const head = ["#", "Submitted", "Status", "Message", "Runtime", "Size", "Counts", "Log"];
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      { id: "submissions" },
      el("caption", {}, `${history.team.name}: submissions to ${history.phase.title}, newest first (updates by itself)`),
      el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col", class: "text" }, h)))),
      el(
        "tbody",
        {},
        history.submissions.map((s) =>
          el(
            "tr",
            { dataset: { submission: String(s.id), status: s.status } },
            el("td", { class: "text" }, String(s.id)),
            el("td", { class: "text" }, fmtDate(s.created_at)),
            statusCell(s, table),
            el("td", { class: "text message" }, s.message || "–"),
            el("td", {}, s.runtime_s === null ? "–" : `${s.runtime_s.toFixed(0)} s`),
            el("td", {}, fmtBytes(s.size_bytes)),
            el("td", { class: "text" }, s.counted ? "✓ ranked" : ""),
            el("td", { class: "text" }, s.log_tail ? el("details", {}, el("summary", {}, "log"), el("pre", { class: "log" }, s.log_tail)) : "–"),
          ),
        ),
      ),
    ),
  );
}

function ledgerTable(history) {
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      { id: "ledger" },
      el("caption", {}, "Quota ledger: −1 when a slot is taken, +1 when it is given back"),
      el("thead", {}, el("tr", {}, ["When", "Submission", "Slot", "Change", "Reason"].map((h) => el("th", { scope: "col", class: "text" }, h)))),
      el("tbody", {}, history.ledger.map((e) => el("tr", {}, el("td", { class: "text" }, fmtDate(e.at)), el("td", { class: "text" }, String(e.submission_id)), el("td", { class: "text" }, String(e.slot)), el("td", { class: "text" }, e.change > 0 ? "+1" : "−1"), el("td", { class: "text" }, e.reason)))),
    ),
  );
}

/** The team's own per-case scores of its newest succeeded submission (validation phases). */
async function ownScores(target, history) {
  const latest = history.submissions.find((s) => s.status === "succeeded");
  if (!latest) {
    clear(target);
    return;
  }
  let data;
  try {
    data = await api(`/submissions/${latest.id}/my-scores`);
  } catch (err) {
    say(target, err.message, "muted");
    return;
  }
  const rows = data.scores.map((s) =>
    el(
      "tr",
      { dataset: { case: s.case, paradigm: s.paradigm } },
      el("td", { class: "text" }, s.case),
      el("td", { class: "text" }, s.centre),
      el("td", { class: "text" }, s.paradigm),
      el("td", {}, fmt(s.dice)),
      el("td", {}, String(s.result.tp_50 ?? "–")),
      el("td", {}, String(s.result.fp_50 ?? "–")),
      el("td", {}, String(s.result.fn_50 ?? "–")),
      el("td", { class: "text warnings" }, [...(s.result.errors || []), ...(s.result.warnings || [])].join("; ") || "–"),
    ),
  );
  clear(target).append(
    el("h3", {}, `Your scores per case: submission ${latest.id} (scorer ${data.scorer_version})`),
    el(
      "div",
      { class: "table-wrap" },
      el(
        "table",
        { id: "own-scores" },
        el("caption", {}, "Dice per case, lesions detected (TP), false (FP) and missed (FN) at overlap > 0.5, and what the scorer noticed in your outputs"),
        el("thead", {}, el("tr", {}, ["Case", "Centre", "Paradigm", "Dice", "TP", "FP", "FN", "Warnings about your output"].map((h) => el("th", { scope: "col", class: "text" }, h)))),
        el("tbody", {}, rows),
      ),
    ),
  );
}

/** The team's position on the leaderboard as the public sees it (or why it is not shown). */
async function position(target, history) {
  let board;
  try {
    board = await api(`/phases/${history.phase.id}/leaderboard`);
  } catch (err) {
    say(target, err.message, "muted");
    return;
  }
  if (board.hidden) {
    say(target, board.hidden_note || "The leaderboard is hidden for now.", "muted");
    return;
  }
  const row = board.rows.find((r) => r.team_id === history.team.id);
  say(target, row ? `Position ${row.position} of ${board.rows.length} on the leaderboard (score ${row.score.toFixed(3)}, mean rank; lower is better).` : "Not on the leaderboard yet: it ranks teams with a succeeded submission.", row ? "ok" : "muted");
}

function uploadForm(phaseId, onAccepted) {
  const file = el("input", { type: "file", id: "image-file", name: "image", accept: ".tar,.tar.gz,.tgz,application/x-tar,application/gzip", required: true });
  const bar = el("progress", { id: "upload-progress", max: "100", value: "0", "aria-label": "Upload progress" });
  const percent = el("span", { id: "upload-percent", class: "muted" });
  const message = el("p", { id: "upload-message", role: "status", "aria-live": "polite" });
  const button = el("button", { class: "action", type: "submit" }, "Upload");
  const form = el(
    "form",
    { class: "card", id: "upload", "aria-labelledby": "upload-title" },
    el("h2", { id: "upload-title" }, "Upload a container"),
    el("p", { class: "muted" }, "The output of ", el("code", {}, "docker save IMAGE:TAG | gzip"), ". Each accepted upload takes one slot of your team's quota for this phase."),
    el("label", { for: "image-file" }, "Image tarball"),
    file,
    el("div", { class: "row" }, button, bar, percent),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!file.files.length) return;
    button.disabled = true;
    bar.value = 0;
    say(message, "Uploading…");
    try {
      const body = await uploadFile(`/phases/${phaseId}/submissions`, file.files[0], {
        onProgress: (loaded, total) => {
          const p = Math.round((100 * loaded) / total);
          bar.value = p;
          percent.textContent = `${p}% of ${fmtBytes(total)}`;
        },
      });
      say(message, `Accepted as submission ${body.id}; it is queued for evaluation. This page follows it.`, "ok");
      onAccepted();
    } catch (err) {
      say(message, err.message, "error");
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/** Draw a phase into `area` and keep it current until another phase is drawn. */
export function showPhase(area, { phaseId, phase, canSubmit }) {
  const mine = ++generation;
  clearTimeout(timer);
  const head = el("div", { id: "summary" }, el("p", { class: "muted" }, "Loading…"));
  const lists = el("div", { id: "lists", "aria-live": "polite" });
  const place = el("p", { id: "position", role: "status" });
  const scores = el("div", { id: "scores-area" });
  const ledger = el("div", { id: "ledger-area" });
  clear(area).append(head, canSubmit ? uploadForm(phaseId, () => poll(true)) : el("p", { class: "notice" }, "Uploads open once an organiser approves the team."), place, lists, scores, ledger);
  if (phase?.container) area.insertBefore(runContract(phase), lists);
  if (canSubmit) area.insertBefore(writeupForm(phaseId), lists);
  let last = "";
  let delay = FIRST_DELAY_MS;

  async function poll(reset = false) {
    if (mine !== generation) return;
    clearTimeout(timer);
    if (reset) delay = FIRST_DELAY_MS;
    let history;
    try {
      history = await api(`/phases/${phaseId}/history`);
    } catch (err) {
      say(head, err.message, "error");
      timer = setTimeout(poll, (delay = Math.min(delay * 2, MAX_DELAY_MS)));
      return;
    }
    if (mine !== generation) return;
    const snapshot = JSON.stringify([history.submissions, history.quota]);
    if (snapshot !== last) {
      last = snapshot;
      delay = FIRST_DELAY_MS;
      const table = await failureAdvice();
      clear(head).append(
        el("h2", { id: "team-name" }, `${history.team.name} · ${history.phase.task_title} · ${history.phase.title}`),
        el("dl", { class: "quota", id: "quota" }, el("dt", {}, "Quota"), el("dd", {}, `${history.quota.limit} submissions`), el("dt", {}, "Used"), el("dd", {}, String(history.quota.used)), el("dt", {}, "Remaining"), el("dd", { id: "quota-remaining" }, String(history.quota.remaining))),
        history.logs_shown ? null : el("p", { class: "muted" }, "Final test phases show no container log of the hidden cases (a failed pre-flight's log is shown)."),
      );
      clear(lists).append(el("h3", {}, "Submissions"), submissionsTable(history, table));
      clear(ledger).append(el("h3", {}, "Quota ledger"), ledgerTable(history));
      position(place, history);
      if (history.phase.kind === "validation") ownScores(scores, history);
    } else {
      delay = Math.min(delay * 1.5, MAX_DELAY_MS);
    }
    if (history.submissions.some((s) => IN_PROGRESS.has(s.status))) timer = setTimeout(poll, document.hidden ? MAX_DELAY_MS : delay);
  }

  poll();
  document.addEventListener("visibilitychange", () => { if (!document.hidden && mine === generation) poll(true); });
}
