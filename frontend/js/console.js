// Sections of the organisers' console (organiser.js puts them on the page).

import { mountBoard } from "./board.js";
import { organiserPanels } from "./boardorg.js";
import { caseScoresTable } from "./case-scores.js";
import { API, api, clear, el, fmtBytes, fmtDate, say, uploadFile } from "./common.js";

function status(id) {
  return el("p", { role: "status", "aria-live": "polite", id });
}

function errorWithKeys(node, err) {
  // Validation errors of the challenge file come with one entry per key (detail).
  clear(node);
  node.className = "error";
  node.append(err.message);
  if (Array.isArray(err.detail) && err.detail.length) {
    node.append(el("ul", { id: "apply-errors" }, err.detail.map((d) => el("li", {}, el("code", {}, d.key), `: ${d.message}`))));
  }
}

function fileUpload({ id, label, accept, path, describe, onDone }) {
  const file = el("input", { type: "file", id, accept, required: true });
  const bar = el("progress", { id: `${id}-progress`, max: "100", value: "0", "aria-label": `${label}: upload progress` });
  const message = status(`${id}-message`);
  const form = el("form", { class: "row upload", id: `${id}-form` }, el("label", { for: id }, label), file, el("button", { class: "action", type: "submit" }, "Upload"), bar, message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!file.files.length) return;
    say(message, "Uploading…");
    try {
      const out = await uploadFile(path(), file.files[0], { onProgress: (a, b) => { bar.value = Math.round((100 * a) / b); } });
      say(message, describe(out), "ok");
      onDone();
    } catch (err) {
      say(message, err.message, "error");
    }
  });
  return form;
}

export function applyForm(onApplied, challenge) {
  const message = status("apply-message");
  const file = el("input", { type: "file", id: "challenge-file", accept: ".yaml,.yml,application/yaml,text/yaml", required: true });
  const form = el(
    "form",
    { class: "card", id: "apply", "aria-labelledby": "apply-title" },
    el("h2", { id: "apply-title" }, challenge ? "Update the challenge file" : "Apply a challenge file"),
    el("p", { class: "muted" }, "The YAML of docs/organisers.md. Applying it again updates the challenge in place; each change is in the audit trail. Inputs and labels are uploaded below as archives."),
    el("label", { for: "challenge-file" }, "Challenge file (YAML)"),
    file,
    el("p", {}, el("button", { class: "action", type: "submit" }, "Apply")),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!file.files.length) return;
    say(message, "Applying…");
    try {
      const applied = await api("/challenges", { method: "PUT", raw: await file.files[0].text(), contentType: "application/yaml" });
      say(message, `Applied: ${applied.title} (${applied.tasks.length} task(s)).`, "ok");
      onApplied(applied);
    } catch (err) {
      errorWithKeys(message, err);
    }
  });
  return form;
}

async function casesTable(target, phase) {
  try {
    const cases = await api(`/phases/${phase.id}/cases`);
    const withInput = cases.filter((c) => c.input_sha256).length;
    clear(target).append(
      el("p", { id: "inputs-state" }, `${withInput} of ${cases.length} case(s) have an input (${cases.filter((c) => c.is_sample).length} public sample case(s)).`),
      el("details", {}, el("summary", {}, "Cases"), el("ul", {}, cases.map((c) => el("li", {}, `${c.case_key}${c.is_sample ? " (sample)" : ""}: ${c.input_sha256 ? `sha256 ${c.input_sha256.slice(0, 12)}…` : "no input yet"}`)))),
    );
  } catch (err) {
    say(target, err.message, "error");
  }
}

async function labelsTable(target, task) {
  try {
    const sets = await api(`/tasks/${task.id}/label-sets`);
    clear(target).append(
      sets.length
        ? el("ul", { id: "label-versions" }, sets.map((s) => el("li", { dataset: { paradigm: s.paradigm, version: String(s.version) } }, `${s.paradigm} v${s.version}${s.active ? " (active)" : ""}: ${s.file_count} file(s), ${fmtBytes(s.size_bytes)}, ${fmtDate(s.created_at)}`)))
        : el("p", { class: "muted" }, "No label set yet."),
    );
  } catch (err) {
    say(target, err.message, "error");
  }
}

function submissionsList(target, phase, teams) {
  const state = el("select", { id: "filter-status" }, el("option", { value: "" }, "any status"), ["queued", "running", "succeeded", "failed", "failed_preflight", "error", "cancelled"].map((s) => el("option", { value: s }, s.replace("_", " "))));
  const team = el("select", { id: "filter-team" }, el("option", { value: "" }, "any team"), teams.map((t) => el("option", { value: String(t.id) }, t.name)));
  const list = el("div", { id: "console-submissions" });
  const scores = el("div", { id: "case-scores-area" });
  async function load() {
    const q = new URLSearchParams();
    if (state.value) q.set("status", state.value);
    if (team.value) q.set("team_id", team.value);
    try {
      const rows = await api(`/phases/${phase.id}/console/submissions?${q}`);
      clear(list).append(
        rows.length
          ? el("div", { class: "table-wrap" }, el("table", { id: "all-submissions" },
              el("thead", {}, el("tr", {}, ["#", "Team", "Submitted", "Status", "Failure", "Message", "Log", ""].map((h) => el("th", { scope: "col", class: "text" }, h)))),
              el("tbody", {}, rows.map((s) => el("tr", { dataset: { submission: String(s.id) } },
                el("td", { class: "text" }, String(s.id)), el("td", { class: "text" }, s.team), el("td", { class: "text" }, fmtDate(s.created_at)),
                el("td", { class: "text" }, el("span", { class: `status ${s.status}` }, s.status)), el("td", { class: "text" }, s.failure_class || "–"),
                el("td", { class: "text message" }, s.message || "–"),
                el("td", { class: "text" }, s.log_tail ? el("details", {}, el("summary", {}, "log"), el("pre", { class: "log" }, s.log_tail)) : "–"),
                el("td", { class: "text" }, s.status === "succeeded" ? el("button", { type: "button", class: "action secondary", onclick: () => showScores(scores, s.id) }, "Per-case scores") : ""),
              ))),
            ))
          : el("p", { class: "muted" }, "No submission matches."),
      );
    } catch (err) {
      say(list, err.message, "error");
    }
  }
  state.addEventListener("change", load);
  team.addEventListener("change", load);
  load();
  clear(target).append(el("div", { class: "row" }, el("label", { class: "inline", for: "filter-status" }, "Status", state), el("label", { class: "inline", for: "filter-team" }, "Team", team)), list, scores);
}

async function showScores(target, id) {
  try {
    const data = await api(`/submissions/${id}/case-scores`);
    clear(target).append(el("h4", {}, `Per-case scores of submission ${id} (${data.team.name})`), ...caseScoresTable(data));
  } catch (err) {
    say(target, err.message, "error");
  }
}

/** One phase: inputs, labels, re-score, publish, exports, the organisers' board, submissions. */
export async function phaseSection(area, { phase, task }) {
  const cases = el("div", { id: "cases" });
  const labels = el("div", { id: "labels" });
  const actions = status("phase-action-message");
  const boardArea = el("div", { id: "board-area" });
  const panels = el("div", { id: "board-panels" });
  const subs = el("div", { id: "submissions-area" });
  const publish = el("button", { type: "button", class: "action", id: "publish", disabled: true }, "Publish the leaderboard");
  const publishWhy = el("span", { class: "muted", id: "publish-reason" });
  const rescore = el("button", { type: "button", class: "action secondary", id: "rescore-phase" }, "Re-score the phase");
  const exportsList = el("p", { id: "exports" },
    el("a", { href: `${API}/phases/${phase.id}/leaderboard.csv?view=organisers`, id: "export-board", download: "" }, "Leaderboard CSV (all teams)"), " · ",
    el("a", { href: `${API}/phases/${phase.id}/leaderboard.csv`, id: "export-public", download: "" }, "Leaderboard CSV (public view)"), " · ",
    el("a", { href: `${API}/phases/${phase.id}/case-scores.csv`, id: "export-cases", download: "" }, "Per-case scores CSV"));
  clear(area).append(
    el("h3", {}, "Test inputs"),
    fileUpload({ id: "inputs", label: "Inputs archive (.tar.gz or .zip, one <case key>.nii.gz per case)", accept: ".tar.gz,.tgz,.zip,.tar", path: () => `/phases/${phase.id}/inputs`, describe: (o) => `${o.cases_updated.length} of ${o.cases_total} case input(s) updated (archive sha256 ${o.archive_sha256.slice(0, 12)}…).`, onDone: () => casesTable(cases, phase) }),
    cases,
    el("h3", {}, `Label sets of ${task.title}`),
    ...task.paradigms.map((p) => fileUpload({ id: `labels-${p}`, label: `${p} labels archive`, accept: ".tar.gz,.tgz,.zip,.tar", path: () => `/tasks/${task.id}/label-sets/${encodeURIComponent(p)}`, describe: (o) => `${o.paradigm} v${o.version} ${o.created ? "created and active" : "was stored before: reactivated"} (${o.file_count} file(s)).`, onDone: () => labelsTable(labels, task) })),
    labels,
    el("h3", {}, "Results"),
    el("div", { class: "row" }, rescore, publish, publishWhy),
    actions,
    exportsList,
    boardArea,
    panels,
    el("h3", {}, "Submissions"),
    subs,
  );
  casesTable(cases, phase);
  labelsTable(labels, task);
  // Reference entries, write-ups and centre comparisons (the board's organiser panels).
  organiserPanels(panels, phase.id);
  const act = async (path, after) => {
    try {
      const out = await api(path, { method: "POST" });
      say(actions, out.message, "ok");
      after();
    } catch (err) {
      say(actions, err.message, "error");
    }
  };
  rescore.addEventListener("click", () => act(`/phases/${phase.id}/rescore`, () => {}));
  publish.addEventListener("click", () => act(`/phases/${phase.id}/leaderboard/publish`, () => phaseState()));
  async function phaseState() {
    try {
      const s = await api(`/phases/${phase.id}/console`);
      publish.disabled = s.published || Boolean(s.publish_refusal);
      publishWhy.textContent = s.published ? "Published: everyone sees this board." : s.publish_refusal ? `Not yet: ${s.publish_refusal}.` : "The phase is closed: publishing makes the board public.";
      await mountBoard(boardArea, { phase: phase.id, view: "organisers" });
    } catch (err) {
      say(boardArea, err.message, "error");
    }
  }
  phaseState();
  const teams = await api(`/phases/${phase.id}/teams`).then((t) => t.teams).catch(() => []);
  submissionsList(subs, phase, teams);
}

export function teamsSection(challenge) {
  const list = el("div", { id: "teams-list" });
  const message = status("teams-message");
  async function load() {
    let teams;
    try {
      teams = await api(`/challenges/${encodeURIComponent(challenge.slug)}/teams`);
    } catch (err) {
      say(list, err.message, "error");
      return;
    }
    const update = async (team, body, words) => {
      try {
        await api(`/teams/${team.id}`, { method: "PATCH", body });
        say(message, `${team.name}: ${words}.`, "ok");
        load();
      } catch (err) {
        say(message, err.message, "error");
      }
    };
    clear(list).append(
      teams.length
        ? el("div", { class: "table-wrap" }, el("table", { id: "teams" },
            el("thead", {}, el("tr", {}, ["Team", "Members", "State", "Organiser-affiliated", "Decide"].map((h) => el("th", { scope: "col", class: "text" }, h)))),
            el("tbody", {}, teams.map((t) => {
              const reason = el("input", { type: "text", id: `decline-${t.id}`, "aria-label": `Why ${t.name} is declined`, placeholder: "reason (shown to the team)", maxlength: "500" });
              return el("tr", { dataset: { team: t.name } },
                el("td", { class: "text" }, t.name),
                el("td", { class: "text" }, t.members.map((m) => m.display_name).join(", ")),
                el("td", { class: "text" }, t.approved ? "approved" : t.review_note ? `declined: ${t.review_note}` : "waiting for approval"),
                el("td", { class: "text" }, el("input", { type: "checkbox", "aria-label": `${t.name} is organiser-affiliated`, checked: t.organiser_affiliated, onchange: (e) => update(t, { organiser_affiliated: e.target.checked }, e.target.checked ? "marked organiser-affiliated" : "no longer organiser-affiliated") })),
                el("td", { class: "text" },
                  t.approved ? "" : el("button", { type: "button", class: "action", onclick: () => update(t, { approved: true }, "approved") }, "Approve"), " ",
                  reason, " ",
                  el("button", { type: "button", class: "action secondary", onclick: () => update(t, { approved: false, note: reason.value }, "declined") }, t.approved ? "Withdraw approval" : "Decline")));
            })),
          ))
        : el("p", { class: "muted" }, "No team yet."),
    );
  }
  load();
  return el("section", { class: "card", id: "teams-section", "aria-labelledby": "teams-title" }, el("h2", { id: "teams-title" }, "Teams"), el("p", { class: "muted" }, challenge.requires_team_approval ? "This challenge approves each team before it may submit; you are e-mailed when one asks." : "Teams are approved when created."), message, list);
}

export function webhookSection(challenge) {
  const slug = encodeURIComponent(challenge.slug);
  const url = el("input", { type: "url", id: "webhook-url", placeholder: "https://example.org/podium-events", size: "50" });
  const info = el("div", { id: "webhook-info" });
  const message = status("webhook-message");
  const show = (hook) => {
    url.value = hook.url || "";
    clear(info).append(hook.url ? el("p", {}, "Signing secret (HMAC-SHA256 of ", el("code", {}, "<t>.<body>"), " in X-Podium-Signature): ", el("code", {}, hook.secret), hook.last_status ? ` · last delivery: ${hook.last_status} (${fmtDate(hook.last_at)})` : "") : el("p", { class: "muted" }, "No webhook."));
  };
  api(`/challenges/${slug}/webhook`).then(show).catch((err) => say(message, err.message, "error"));
  const form = el("form", { class: "row", id: "webhook-form" }, el("label", { for: "webhook-url" }, "Webhook URL"), url, el("button", { class: "action secondary", type: "submit" }, "Save"),
    el("button", { type: "button", class: "action secondary", onclick: async () => { try { await api(`/challenges/${slug}/webhook`, { method: "DELETE" }); show({}); say(message, "Removed.", "ok"); } catch (err) { say(message, err.message, "error"); } } }, "Remove"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      show(await api(`/challenges/${slug}/webhook`, { method: "PUT", body: { url: url.value } }));
      say(message, "Saved: submissions ending and teams asking for approval are POSTed there.", "ok");
    } catch (err) {
      say(message, err.message, "error");
    }
  });
  return el("section", { class: "card", id: "webhook", "aria-labelledby": "webhook-title" }, el("h2", { id: "webhook-title" }, "Webhook (optional)"), form, info, message);
}

export function auditSection() {
  const action = el("input", { type: "text", id: "audit-action", placeholder: "e.g. leaderboard.publish" });
  const target = el("select", { id: "audit-target" }, el("option", { value: "" }, "any"), ["challenge", "phase", "task", "team", "submission", "user"].map((t) => el("option", { value: t }, t)));
  const list = el("div", { id: "audit-list" });
  async function load() {
    const q = new URLSearchParams({ limit: "200" });
    if (action.value.trim()) q.set("action", action.value.trim());
    if (target.value) q.set("target_type", target.value);
    try {
      const events = await api(`/audit?${q}`);
      clear(list).append(events.length
        ? el("div", { class: "table-wrap" }, el("table", { id: "audit" },
            el("thead", {}, el("tr", {}, ["When", "Who", "Action", "Target", "Before", "After"].map((h) => el("th", { scope: "col", class: "text" }, h)))),
            el("tbody", {}, events.map((e) => el("tr", { dataset: { action: e.action } }, el("td", { class: "text" }, fmtDate(e.at)), el("td", { class: "text" }, e.actor_id === null ? "the server's shell" : `user ${e.actor_id}`), el("td", { class: "text" }, e.action), el("td", { class: "text" }, `${e.target_type} ${e.target_id}`), el("td", { class: "text json" }, e.before ? JSON.stringify(e.before).slice(0, 200) : "–"), el("td", { class: "text json" }, e.after ? JSON.stringify(e.after).slice(0, 200) : "–"))))))
        : el("p", { class: "muted" }, "No event matches."));
    } catch (err) {
      say(list, err.message, "error");
    }
  }
  const form = el("form", { class: "row", id: "audit-filters" }, el("label", { class: "inline", for: "audit-action" }, "Action", action), el("label", { class: "inline", for: "audit-target" }, "Target", target), el("button", { class: "action secondary", type: "submit" }, "Show"));
  form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  load();
  return el("section", { class: "card", id: "audit-section", "aria-labelledby": "audit-title" }, el("h2", { id: "audit-title" }, "Audit trail"), form, list);
}
