// The team's write-up for a phase: its method's name and link on the board, and the PDF
// (required before submitting where the phase says so).

import { api, el, fmtBytes, say, uploadFile } from "./common.js";

/** A form to name the method and upload the write-up PDF; it shows what is stored. */
export function writeupForm(phaseId) {
  const form = el("form", { class: "card", id: "writeup", "aria-labelledby": "writeup-title" });
  const state = el("p", { id: "writeup-state", class: "muted" }, "Loading…");
  const name = el("input", { type: "text", id: "method-name", maxlength: "200", required: true });
  const link = el("input", { type: "text", id: "method-link", maxlength: "1000", placeholder: "https://…", inputmode: "url" });
  const pdf = el("input", { type: "file", id: "writeup-pdf", accept: "application/pdf,.pdf" });
  const message = el("p", { role: "status", "aria-live": "polite", id: "writeup-message" });
  form.append(
    el("h2", { id: "writeup-title" }, "Method and write-up"),
    state,
    el("label", { for: "method-name" }, "Method name (shown on the board)"),
    name,
    el("label", { for: "method-link" }, "Link to code or paper (optional)"),
    link,
    el("label", { for: "writeup-pdf" }, "Write-up (PDF)"),
    pdf,
    el("p", {}, el("button", { class: "action", type: "submit" }, "Save")),
    message,
  );
  function show(w) {
    name.value = w.method_name;
    link.value = w.method_link;
    const stored = w.pdf_url ? `PDF stored (${fmtBytes(w.pdf_size)}).` : "No PDF yet.";
    const rule = w.required ? ` This phase requires a write-up before you submit (PDF, up to ${w.max_mb} MiB).` : ` Optional in this phase (PDF, up to ${w.max_mb} MiB).`;
    say(state, stored + rule, w.required && !w.pdf_url ? "error" : "muted");
  }
  api(`/phases/${phaseId}/writeup`).then(show, (err) => say(state, err.message, "error"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      let w = await api(`/phases/${phaseId}/writeup/method`, { method: "PUT", body: { name: name.value, link: link.value } });
      if (pdf.files.length) {
        w = await uploadFile(`/phases/${phaseId}/writeup.pdf`, pdf.files[0], { method: "PUT" });
      }
      show(w);
      say(message, "Saved.", "ok");
    } catch (err) {
      say(message, err.message, "error");
    }
  });
  return form;
}
