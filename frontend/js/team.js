// The team page: sign in, pick a phase, see the team's submissions, quota and ledger,
// and upload a container with a progress bar (XMLHttpRequest upload events).

import { writeupForm } from "./writeupform.js";
import { API, api, clear, currentUser, el, fmtBytes, fmtDate, getToken, bootChallenge, phasePicker, say, setToken, signInForm } from "./common.js";

const page = document.getElementById("page");
let challenge = null;
let phaseId = null;

function whoami(user) {
  const who = clear(document.getElementById("who"));
  if (!user) return;
  who.append(
    `Signed in as ${user.display_name} `,
    el("button", { type: "button", class: "action secondary", id: "signout", onclick: () => { setToken(null); start(); } }, "Sign out"),
  );
}

function submissionsTable(history) {
  const head = ["#", "Submitted", "Status", "Failure class", "Message", "Runtime", "Size", "Counts"];
  if (history.logs_shown) head.push("Log tail");
  const table = el(
    "table",
    { id: "submissions" },
    el("caption", {}, `${history.team.name}: submissions to ${history.phase.title}, newest first`),
    el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col", class: "text" }, h)))),
  );
  const body = el("tbody");
  for (const s of history.submissions) {
    body.append(
      el(
        "tr",
        { "data-submission": String(s.id) },
        el("td", { class: "text" }, String(s.id)),
        el("td", { class: "text" }, fmtDate(s.created_at)),
        el("td", { class: "text" }, el("span", { class: `status ${s.status}` }, s.status.replace("_", " "))),
        el("td", { class: "text" }, s.failure_class ?? "–"),
        el("td", { class: "text" }, s.message || "–"),
        el("td", {}, s.runtime_s === null ? "–" : `${s.runtime_s.toFixed(0)} s`),
        el("td", {}, fmtBytes(s.size_bytes)),
        el("td", { class: "text" }, s.counted ? "✓ ranked" : ""),
        history.logs_shown
          ? el("td", { class: "text" }, s.log_tail ? el("details", {}, el("summary", {}, "log"), el("pre", { class: "log" }, s.log_tail)) : "–")
          : null,
      ),
    );
  }
  table.append(body);
  return history.submissions.length ? el("div", { class: "table-wrap" }, table) : el("p", { class: "muted", id: "no-submissions" }, "No submission yet.");
}

function ledgerTable(history) {
  const table = el(
    "table",
    { id: "ledger" },
    el("caption", {}, "Quota ledger: −1 when a slot is taken, +1 when it is refunded"),
    el("thead", {}, el("tr", {}, ["When", "Submission", "Slot", "Change", "Reason"].map((h) => el("th", { scope: "col", class: "text" }, h)))),
    el(
      "tbody",
      {},
      history.ledger.map((e) =>
        el("tr", {}, el("td", { class: "text" }, fmtDate(e.at)), el("td", { class: "text" }, String(e.submission_id)), el("td", { class: "text" }, String(e.slot)), el("td", { class: "text" }, e.change > 0 ? "+1" : "−1"), el("td", { class: "text" }, e.reason)),
      ),
    ),
  );
  return el("div", { class: "table-wrap" }, table);
}

function uploadForm(history, onDone) {
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
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!file.files.length) return;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${API}/phases/${history.phase.id}/submissions`);
    xhr.setRequestHeader("Authorization", `Bearer ${getToken()}`);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      const p = Math.round((100 * e.loaded) / e.total);
      bar.value = p;
      percent.textContent = `${p}% of ${fmtBytes(e.total)}`;
    });
    xhr.addEventListener("load", () => {
      button.disabled = false;
      let body = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = { message: xhr.statusText };
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        say(message, `Accepted as submission ${body.id}; it is queued for evaluation.`, "ok");
        onDone();
      } else {
        say(message, body.message || `upload failed (${xhr.status})`, "error");
      }
    });
    xhr.addEventListener("error", () => {
      button.disabled = false;
      say(message, "The upload was interrupted; check your connection and try again.", "error");
    });
    button.disabled = true;
    bar.value = 0;
    say(message, "Uploading…");
    xhr.send(file.files[0]);
  });
  return form;
}

function summary(history) {
  return [
    el("h2", { id: "team-name" }, `${history.team.name} · ${history.phase.task_title} · ${history.phase.title}`),
    el(
      "dl",
      { class: "quota", id: "quota" },
      el("dt", {}, "Quota"), el("dd", {}, `${history.quota.limit} submissions`),
      el("dt", {}, "Used"), el("dd", {}, String(history.quota.used)),
      el("dt", {}, "Remaining"), el("dd", { id: "quota-remaining" }, String(history.quota.remaining)),
    ),
    history.logs_shown ? null : el("p", { class: "muted" }, "Container logs are not shown for final test phases."),
  ].filter(Boolean);
}

/** Fetch the history and redraw the summary and the tables (the upload form stays). */
async function refresh(head, lists) {
  let history;
  try {
    history = await api(`/phases/${phaseId}/history`);
  } catch (err) {
    say(head, err.message, "error");
    clear(lists);
    return null;
  }
  clear(head).append(...summary(history));
  clear(lists).append(
    el("h3", {}, "Submissions"),
    submissionsTable(history),
    el("h3", {}, "Quota ledger"),
    ledgerTable(history),
  );
  return history;
}

async function showPhase() {
  const area = clear(document.getElementById("phase-area"));
  const head = el("div", { id: "summary" }, el("p", { class: "muted" }, "Loading…"));
  const lists = el("div", { id: "lists" });
  area.append(head, lists);
  const history = await refresh(head, lists);
  if (history) area.insertBefore(uploadForm(history, () => refresh(head, lists)), lists);
  if (history) area.insertBefore(writeupForm(phaseId), lists);
}

function showPhases() {
  clear(page);
  const phases = challenge.tasks.flatMap((t) => t.phases.map((p) => ({ ...p, title: `${t.title} · ${p.title}` })));
  if (!phases.length) {
    say(page, "No phase is open in this challenge yet.", "muted");
    return;
  }
  phaseId = phaseId ?? phases[0].id;
  page.append(
    el("div", { class: "row" }, el("span", { class: "muted" }, "Phase"), phasePicker(phases, phaseId, (p) => { phaseId = p.id; showPhases(); })),
    el("div", { id: "phase-area", "aria-live": "polite" }, el("p", { class: "muted" }, "Loading…")),
  );
  showPhase();
}

async function start() {
  const user = await currentUser();
  whoami(user);
  if (!user) {
    clear(page).append(signInForm((u) => { whoami(u); showPhases(); }));
    return;
  }
  showPhases();
}

(async () => {
  challenge = await bootChallenge(page);
  if (challenge) start();
})();
