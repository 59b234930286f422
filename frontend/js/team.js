// The team page: sign in, create a team or join one by its invitation code, see members and
// why the team waits (approval), leave before the first submission; then each phase's
// submissions, live (team-phase.js).

import { ApiError, api, bootChallenge, clear, currentUser, el, phasePicker, say, showWho, signInForm } from "./common.js";
import { showPhase } from "./team-phase.js";

const page = document.getElementById("page");
let challenge = null;
let phaseId = null;

function teamForms() {
  const slug = encodeURIComponent(challenge.slug);
  const createMessage = el("p", { role: "status", "aria-live": "polite", id: "create-message" });
  const joinMessage = el("p", { role: "status", "aria-live": "polite", id: "join-message" });
  const create = el(
    "form",
    { class: "card", id: "create-team", "aria-labelledby": "create-title" },
    el("h2", { id: "create-title" }, "Create a team"),
    el("label", { for: "team-name" }, "Team name"),
    el("input", { id: "team-name", type: "text", required: true, maxlength: "200" }),
    el("p", {}, el("button", { class: "action", type: "submit" }, "Create")),
    createMessage,
    el("p", { class: "muted" }, "You become its captain; the others join with the invitation code shown to members."),
  );
  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api(`/challenges/${slug}/teams`, { method: "POST", body: { name: create.elements["team-name"].value } });
      start();
    } catch (err) {
      say(createMessage, err.message, "error");
    }
  });
  const join = el(
    "form",
    { class: "card", id: "join-team", "aria-labelledby": "join-title" },
    el("h2", { id: "join-title" }, "Join a team"),
    el("label", { for: "invite-code" }, "Invitation code (ask a member of the team)"),
    el("input", { id: "invite-code", type: "text", required: true, maxlength: "64", autocomplete: "off" }),
    el("p", {}, el("button", { class: "action", type: "submit" }, "Join")),
    joinMessage,
  );
  join.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api(`/challenges/${slug}/teams/join`, { method: "POST", body: { invite_code: join.elements["invite-code"].value.trim() } });
      start();
    } catch (err) {
      say(joinMessage, err.message, "error");
    }
  });
  return [el("p", {}, `You are not in a team of ${challenge.title} yet.`), create, join];
}

function teamCard(team, user) {
  const message = el("p", { role: "status", "aria-live": "polite", id: "team-message" });
  const leave = team.can_leave
    ? el("button", {
        type: "button",
        class: "action secondary",
        id: "leave-team",
        onclick: async () => {
          if (!confirm(`Leave team ${team.name}?`)) return;
          try {
            await api(`/teams/${team.id}/members/${user.id}`, { method: "DELETE" });
            start();
          } catch (err) {
            say(message, err.message, "error");
          }
        },
      }, "Leave the team")
    : null;
  return el(
    "section",
    { class: "card", id: "team", "aria-labelledby": "team-title" },
    el("h2", { id: "team-title" }, team.name, team.organiser_affiliated ? el("span", { class: "badge affiliated" }, "organisers") : null),
    team.waiting ? el("p", { class: "notice", id: "team-waiting", role: "status" }, el("strong", {}, "Waiting for approval: "), team.waiting) : el("p", { class: "ok", id: "team-approved" }, "Approved: the team can submit."),
    el("p", {}, "Members: ", el("span", { id: "members" }, team.members.map((m) => m.display_name + (m.id === team.captain_id ? " (captain)" : "")).join(", "))),
    team.invite_code ? el("p", {}, "Invitation code: ", el("code", { id: "invite-code-value" }, team.invite_code), el("span", { class: "muted" }, " (give it to the people who should join)")) : null,
    team.has_submitted ? el("p", { class: "muted" }, "The team has submitted: only an organiser can change its members now.") : null,
    leave,
    message,
  );
}

function showPhases(team) {
  const phases = challenge.tasks.flatMap((t) => t.phases.map((p) => ({ ...p, title: `${t.title} · ${p.title}` })));
  if (!phases.length) {
    page.append(el("p", { class: "muted" }, "No phase in this challenge yet."));
    return;
  }
  phaseId = phases.some((p) => p.id === phaseId) ? phaseId : phases[0].id;
  const area = el("div", { id: "phase-area" });
  const picker = el("div", { class: "row" }, el("span", { class: "muted" }, "Phase"));
  const draw = () => {
    clear(picker).append(el("span", { class: "muted" }, "Phase"), phasePicker(phases, phaseId, (p) => { phaseId = p.id; draw(); }));
    showPhase(area, { phaseId, phase: phases.find((p) => p.id === phaseId), team, canSubmit: !team.waiting });
  };
  page.append(picker, area);
  draw();
}

async function start() {
  const user = await currentUser();
  showWho(user, () => start());
  if (!user) {
    clear(page).append(signInForm(() => start()));
    return;
  }
  let team = null;
  try {
    team = await api(`/challenges/${encodeURIComponent(challenge.slug)}/teams/mine`);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) {
      say(page, err.message, "error");
      return;
    }
  }
  clear(page).append(el("p", { class: "muted" }, "Challenge: ", el("a", { href: `/challenge.html?challenge=${encodeURIComponent(challenge.slug)}` }, challenge.title)));
  if (!team) {
    page.append(...teamForms());
    return;
  }
  page.append(teamCard(team, user));
  showPhases(team);
  document.getElementById("pushed-images")?.setAttribute("data-team", String(team.id));
}

(async () => {
  challenge = await bootChallenge(page);
  if (challenge) start();
  else currentUser().then((u) => showWho(u));
})();
