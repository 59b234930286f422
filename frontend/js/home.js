// The home page: every challenge, each linking to its own page. Nothing is chosen for the
// reader: a second challenge never takes the place of the first.

import { api, clear, currentUser, el, say, showWho } from "./common.js";

async function main() {
  const page = document.getElementById("page");
  currentUser().then((user) => showWho(user));
  let list;
  try {
    list = await api("/challenges");
  } catch (err) {
    say(page, err.message, "error");
    return;
  }
  if (!list.length) {
    say(page, "No challenge is set up yet. Organisers apply a challenge file on the Organisers page.", "muted");
    return;
  }
  const details = await Promise.all(list.map((c) => api(`/challenges/${encodeURIComponent(c.slug)}`).catch(() => null)));
  clear(page).append(
    el(
      "ul",
      { class: "challenges", id: "challenges" },
      list.map((c, i) => {
        const full = details[i];
        const phases = full ? full.tasks.flatMap((t) => t.phases) : [];
        const now = Date.now();
        const open = phases.filter((p) => Date.parse(p.opens_at) <= now && now < Date.parse(p.closes_at));
        return el(
          "li",
          { class: "card", dataset: { challenge: c.slug } },
          el("h2", {}, el("a", { href: `/challenge.html?challenge=${encodeURIComponent(c.slug)}` }, c.title)),
          full && full.description ? el("p", {}, full.description) : null,
          el(
            "p",
            { class: "muted" },
            full ? `${full.tasks.length} task(s), ${phases.length} phase(s); ${open.length ? `${open.length} open for submissions now` : "none open now"}.` : "",
          ),
        );
      }),
    ),
  );
}

main();
