// The board's organiser panels: centre-to-centre comparisons, reference entries and the
// teams' write-ups, each mountable into any element of an organiser page.

import { metricName } from "./boardtable.js";
import { api, clear, el, fmt, fmtBytes, fmtDate, say } from "./common.js";

function table(id, head, rows) {
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      { id },
      el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col", class: "text" }, h)))),
      el("tbody", {}, rows),
    ),
  );
}

function pValue(p) {
  return p < 0.001 ? "< 0.001" : p.toFixed(3);
}

/** Mann–Whitney U between centres on every metric, Benjamini–Hochberg-adjusted. */
export async function centreComparisons(container, phaseId) {
  say(container, "Loading centre comparisons…", "muted");
  let data;
  try {
    data = await api(`/phases/${phaseId}/centre-comparisons`);
  } catch (err) {
    say(container, err.message, "error");
    return;
  }
  clear(container).append(el("h3", {}, "Centre-to-centre comparisons"), el("p", { class: "board-meta" }, `${data.teams} teams; ${data.note}. Significant: adjusted p < ${data.fdr}.`));
  if (!data.comparisons.length) return;
  container.append(
    table(
      "centre-comparisons",
      ["Paradigm", "Metric", "Centres", "Medians", "U", "p", "p (BH-adjusted)", "Differs?"],
      data.comparisons.map((c) =>
        el(
          "tr",
          { "data-metric": c.metric },
          el("td", { class: "text" }, c.paradigm),
          el("td", { class: "text" }, metricName(c.metric)),
          el("td", { class: "text" }, `${c.centre_a} vs ${c.centre_b} (${c.n_a} / ${c.n_b})`),
          el("td", { class: "text" }, `${fmt(c.median_a)} / ${fmt(c.median_b)}`),
          el("td", {}, fmt(c.u)),
          el("td", {}, pValue(c.p)),
          el("td", {}, pValue(c.p_adjusted)),
          el("td", { class: "text" }, c.significant ? "yes" : "no"),
        ),
      ),
    ),
  );
}

/** The phase's reference entries with their scoring state and a remove button. */
export async function referencesPanel(container, phaseId) {
  let refs;
  try {
    refs = await api(`/phases/${phaseId}/references`);
  } catch (err) {
    say(container, err.message, "error");
    return;
  }
  const message = el("p", { role: "status", "aria-live": "polite" });
  clear(container).append(
    el("h3", {}, "Reference entries"),
    el("p", { class: "board-meta" }, "Baselines, off-the-shelf models and human readers, scored like submissions. Add one with POST /api/v1/phases/{id}/references/container or …/predictions (name, kind, link as query parameters; the tarball or archive as the body)."),
    message,
  );
  if (!refs.length) {
    container.append(el("p", { class: "muted" }, "No reference entry."));
    return;
  }
  container.append(
    table(
      "references",
      ["Name", "Kind", "Source", "Status", "Message", ""],
      refs.map((r) =>
        el(
          "tr",
          { "data-reference": String(r.id) },
          el("td", { class: "text" }, r.link ? el("a", { href: r.link, rel: "noopener noreferrer" }, r.name) : r.name),
          el("td", { class: "text" }, r.kind),
          el("td", { class: "text" }, r.source),
          el("td", { class: "text" }, el("span", { class: `status ${r.status}` }, r.status)),
          el("td", { class: "text" }, r.message || "–"),
          el(
            "td",
            { class: "text" },
            el(
              "button",
              {
                type: "button",
                class: "action secondary",
                onclick: async () => {
                  try {
                    say(message, (await api(`/references/${r.id}`, { method: "DELETE" })).message, "ok");
                    referencesPanel(container, phaseId);
                  } catch (err) {
                    say(message, err.message, "error");
                  }
                },
              },
              "Remove",
            ),
          ),
        ),
      ),
    ),
  );
}

/** Every team's write-up: method, link and PDF. */
export async function writeupsPanel(container, phaseId) {
  let list;
  try {
    list = await api(`/phases/${phaseId}/writeups`);
  } catch (err) {
    say(container, err.message, "error");
    return;
  }
  const required = list.some((w) => w.required);
  clear(container).append(
    el("h3", {}, "Write-ups"),
    el("p", { class: "board-meta" }, required ? "This phase requires a write-up (PDF) before a team may submit." : "Write-ups are optional in this phase."),
    table(
      "writeups",
      ["Team", "Method", "PDF", "Uploaded"],
      list.map((w) =>
        el(
          "tr",
          { "data-team": w.team },
          el("td", { class: "text" }, w.team),
          el("td", { class: "text" }, w.method_link ? el("a", { href: w.method_link, rel: "noopener noreferrer" }, w.method_name || w.method_link) : w.method_name || "–"),
          el("td", { class: "text" }, w.pdf_url ? el("a", { href: w.pdf_url, class: "writeup-link" }, `PDF (${fmtBytes(w.pdf_size)})`) : "none"),
          el("td", { class: "text" }, fmtDate(w.pdf_uploaded_at)),
        ),
      ),
    ),
  );
}

/** All three panels, each in its own section of `container`. */
export function organiserPanels(container, phaseId) {
  const sections = ["centre-comparisons-area", "references-area", "writeups-area"].map((id) => el("section", { id, class: "card" }));
  container.append(...sections);
  centreComparisons(sections[0], phaseId);
  referencesPanel(sections[1], phaseId);
  writeupsPanel(sections[2], phaseId);
}
