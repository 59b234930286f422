// The organisers' console: apply the challenge file, then per phase its inputs, label sets,
// submissions, re-scoring, publishing and exports; the teams to approve; the webhook; the audit
// trail. Every action calls the same endpoint a script would, with the session cookie.

import { clear, currentUser, el, loadChallenge, phasePicker, say, showWho, signInForm, challengeChooser } from "./common.js";
import { applyForm, auditSection, phaseSection, teamsSection, webhookSection } from "./console.js";

const page = document.getElementById("page");
let phaseId = null;

function isOrganiser(user) {
  return user && (user.role === "organiser" || user.role === "admin");
}

function tabs(challenge) {
  const phases = challenge.tasks.flatMap((t) => t.phases.map((p) => ({ ...p, task: t, title: `${t.title} · ${p.title}` })));
  const phaseArea = el("div", { id: "phase-area" });
  const picker = el("div", { class: "row" });
  const draw = () => {
    const phase = phases.find((p) => p.id === phaseId);
    clear(picker).append(el("span", { class: "muted" }, "Phase"), phasePicker(phases, phaseId, (p) => { phaseId = p.id; draw(); }));
    phaseSection(phaseArea, { challenge, phase, task: phase.task });
  };
  const parts = [
    el("section", { class: "card", id: "phase-console", "aria-labelledby": "phase-console-title" }, el("h2", { id: "phase-console-title" }, "Phases: inputs, labels, submissions, results"), picker, phaseArea),
    teamsSection(challenge),
    webhookSection(challenge),
    auditSection(),
  ];
  if (phases.length) {
    phaseId = phases.some((p) => p.id === phaseId) ? phaseId : phases[0].id;
    draw();
  } else {
    say(phaseArea, "This challenge has no phase yet: add one to the challenge file.", "muted");
  }
  return parts;
}

async function start() {
  const user = await currentUser();
  showWho(user, () => start());
  if (!user) {
    clear(page).append(signInForm(() => start()));
    return;
  }
  if (!isOrganiser(user)) {
    say(page, "This page is for organisers. Your team's page is under “My team”.", "error");
    return;
  }
  let loaded;
  try {
    loaded = await loadChallenge();
  } catch (err) {
    say(page, err.message, "error");
    return;
  }
  const onApplied = (challenge) => {
    const url = `${location.pathname}?challenge=${encodeURIComponent(challenge.slug)}`;
    history.replaceState(null, "", url);
    start();
  };
  clear(page);
  const challenge = loaded && loaded.challenge;
  if (challenge) {
    page.append(el("p", { class: "muted", id: "console-challenge" }, "Challenge: ", el("a", { href: `/challenge.html?challenge=${encodeURIComponent(challenge.slug)}` }, challenge.title), ` (${challenge.slug})`));
  }
  page.append(applyForm(onApplied, challenge));
  if (!loaded) {
    page.append(el("p", { class: "muted" }, "No challenge yet: apply a challenge file to create one."));
    return;
  }
  if (!challenge) {
    page.append(challengeChooser(loaded.list));
    return;
  }
  if (loaded.list.length > 1) page.append(challengeChooser(loaded.list));
  page.append(...tabs(challenge));
}

start();
