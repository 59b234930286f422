// The team page's "Submit a pushed image" card: where to push (the registry and the
// team's prefix), the docker login / push lines, the team's pushed repositories and
// tags, and one button per tag that submits it to the chosen phase. Standalone: it
// renders into #pushed-images once someone is signed in, and stays hidden when this
// Podium has no registry.

import { api, clear, csrfToken, el, fmtDate, loadChallenge, say } from "./common.js";

const box = document.getElementById("pushed-images");
let rendered = false;

function commands(info, namespace) {
  const example = `${namespace.prefix}my-model:v1`;
  return el(
    "pre",
    { class: "log", tabindex: "0", "aria-label": "Commands to push an image" },
    `docker login ${info.address} -u ${info.username}\n`,
    "# password: a Podium API token (Account → tokens), not your account password\n",
    `docker tag my-model:v1 ${example}\n`,
    `docker push ${example}\n`,
    "# or in one go, push and submit:\n",
    `podium-submit my-model:v1 --phase PHASE_ID --wait`,
  );
}

function tagRows(images, phaseSelect, message, onSubmitted) {
  const body = el("tbody");
  for (const repository of images.repositories) {
    for (const tag of repository.tags) {
      const submit = el(
        "button",
        { type: "button", class: "action", "aria-label": `Submit ${repository.repository}:${tag.tag}` },
        "Submit",
      );
      submit.addEventListener("click", async () => {
        submit.disabled = true;
        say(message, `Checking ${tag.reference} and pinning its digest…`, "muted");
        try {
          const submission = await api(`/phases/${phaseSelect.value}/submissions`, {
            method: "POST",
            body: { image: tag.reference },
          });
          say(
            message,
            `Submission ${submission.id} is ${submission.status}: ${tag.reference} pinned as ` +
              `${submission.manifest_digest}. Later pushes to the tag do not change it. ` +
              "Reload the page to follow it in the submissions table.",
            "ok",
          );
          onSubmitted(submission);
        } catch (err) {
          say(message, err.message, "error");
        } finally {
          submit.disabled = false;
        }
      });
      body.append(
        el(
          "tr",
          {},
          el("td", {}, el("code", {}, repository.repository)),
          el("td", {}, el("code", {}, tag.tag)),
          el("td", {}, tag.pushed_at ? fmtDate(tag.pushed_at) : "–"),
          el("td", {}, tag.digest ? el("code", { title: tag.digest }, tag.digest.slice(0, 19) + "…") : "–"),
          el("td", {}, submit),
        ),
      );
    }
  }
  return body;
}

async function render() {
  rendered = true;
  let info;
  try {
    info = await api("/registry");
  } catch {
    rendered = false;
    return;
  }
  if (!info.enabled) return;
  const loaded = await loadChallenge();
  if (!loaded) return;
  const challenge = loaded.challenge;
  const namespace = info.namespaces.find((n) => n.challenge === challenge.slug);
  clear(box);
  box.hidden = false;
  box.append(el("h2", { id: "pushed-title" }, "Submit a pushed image"));
  if (!namespace) {
    box.append(el("p", { class: "muted" }, `Join or create a team in ${challenge.title} to push images.`));
    return;
  }
  box.append(
    el(
      "p",
      {},
      "Push your image to Podium's registry under your team's prefix ",
      el("code", {}, namespace.prefix),
      ", then submit one of its tags below. Podium pins the tag's digest when you submit, so ",
      "later pushes never change a submission. Only the layers that changed are sent on each push.",
    ),
    commands(info, namespace),
  );
  if (!namespace.push) {
    box.append(el("p", { class: "error" }, `Your team cannot push yet: ${namespace.note}.`));
  }
  const phases = challenge.tasks.flatMap((t) => t.phases.map((p) => ({ id: p.id, title: `${t.title} · ${p.title}` })));
  const phaseSelect = el(
    "select",
    { id: "pushed-phase" },
    ...phases.map((p) => el("option", { value: String(p.id) }, p.title)),
  );
  const message = el("p", { id: "pushed-message", role: "status", "aria-live": "polite" });
  const listing = el("div", { id: "pushed-list" });
  const refresh = el("button", { type: "button", class: "action secondary" }, "Refresh the list");
  box.append(
    el("div", { class: "row" }, el("label", { for: "pushed-phase" }, "Submit to phase"), phaseSelect, refresh),
    listing,
    message,
  );
  async function list() {
    clear(listing).append(el("p", { class: "muted" }, "Loading your pushed images…"));
    let images;
    try {
      images = await api(`/registry/repositories?challenge=${encodeURIComponent(challenge.slug)}`);
    } catch (err) {
      say(listing, err.message, "error");
      return;
    }
    clear(listing);
    if (!images.repositories.some((r) => r.tags.length)) {
      listing.append(el("p", { class: "muted" }, "Nothing pushed yet: push an image with the commands above."));
      return;
    }
    listing.append(
      el(
        "div",
        { class: "table-wrap" },
        el(
          "table",
          { id: "pushed-table" },
          el("caption", {}, "Your team's pushed images, newest push first"),
          el(
            "thead",
            {},
            el("tr", {}, ...["Repository", "Tag", "Pushed", "Digest", ""].map((h) => el("th", { scope: "col" }, h))),
          ),
          tagRows(images, phaseSelect, message, () => {}),
        ),
      ),
    );
  }
  refresh.addEventListener("click", list);
  await list();
}

function maybeRender() {
  // A session exists once the CSRF cookie set beside it does (the session cookie is HttpOnly).
  if (!rendered && csrfToken()) render();
}

if (box) {
  // The team page signs people in itself: render as soon as a session appears.
  new MutationObserver(maybeRender).observe(document.getElementById("content") || document.body, {
    childList: true,
    subtree: true,
  });
  maybeRender();
}
