// The account page: sign in, sign up (confirmed by an e-mailed link, #verify=…), reset a
// forgotten password (#reset=…), and, signed in, the named API tokens for scripts.

import { api, clear, currentUser, el, fmtDate, say, showWho, signInForm } from "./common.js";

const page = document.getElementById("page");

function nextPage() {
  const next = new URLSearchParams(location.search).get("next");
  // Only a path on this site: never an address elsewhere.
  return next && next.startsWith("/") && !next.startsWith("//") ? next : null;
}

function field(id, label, attrs) {
  return [el("label", { for: id }, label), el("input", { id, name: id, required: true, ...attrs })];
}

function signUpForm() {
  const message = el("p", { role: "status", "aria-live": "polite", id: "signup-message" });
  const form = el(
    "form",
    { class: "card", id: "signup", "aria-labelledby": "signup-title" },
    el("h2", { id: "signup-title" }, "Sign up"),
    ...field("signup-name", "Your name (shown to your team)", { type: "text", autocomplete: "name", maxlength: "200" }),
    ...field("signup-email", "E-mail address", { type: "email", autocomplete: "email" }),
    ...field("signup-password", "Password (at least 10 characters)", { type: "password", autocomplete: "new-password", minlength: "10" }),
    el("p", {}, el("button", { class: "action", type: "submit" }, "Sign up")),
    message,
    el("p", { class: "muted" }, "We e-mail you a link; your account exists once you follow it."),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(message, "Sending…");
    try {
      const out = await api("/auth/register", {
        method: "POST",
        body: { display_name: form.elements["signup-name"].value, email: form.elements["signup-email"].value, password: form.elements["signup-password"].value },
      });
      say(message, out.message, "ok");
      form.reset();
    } catch (err) {
      say(message, err.message, "error");
    }
  });
  return form;
}

function forgotForm() {
  const message = el("p", { role: "status", "aria-live": "polite", id: "forgot-message" });
  const form = el(
    "form",
    { class: "card", id: "forgot", "aria-labelledby": "forgot-title" },
    el("h2", { id: "forgot-title" }, "Forgot your password?"),
    ...field("forgot-email", "E-mail address", { type: "email", autocomplete: "email" }),
    el("p", {}, el("button", { class: "action secondary", type: "submit" }, "E-mail me a link")),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const out = await api("/auth/password-reset", { method: "POST", body: { email: form.elements["forgot-email"].value } });
      say(message, out.message, "ok");
    } catch (err) {
      say(message, err.message, "error");
    }
  });
  return form;
}

function resetForm(token) {
  const message = el("p", { role: "status", "aria-live": "polite", id: "reset-message" });
  const form = el(
    "form",
    { class: "card", id: "reset", "aria-labelledby": "reset-title" },
    el("h2", { id: "reset-title" }, "Choose a new password"),
    ...field("reset-password", "New password (at least 10 characters)", { type: "password", autocomplete: "new-password", minlength: "10" }),
    el("p", {}, el("button", { class: "action", type: "submit" }, "Set the new password")),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const out = await api("/auth/password-reset/confirm", { method: "POST", body: { token, password: form.elements["reset-password"].value } });
      say(message, `${out.message}.`, "ok");
      form.querySelector("button").disabled = true;
    } catch (err) {
      say(message, err.message, "error");
    }
  });
  return form;
}

function tokensSection() {
  const list = el("div", { id: "tokens-list" });
  const shown = el("div", { id: "new-token", "aria-live": "polite" });
  const message = el("p", { role: "status", "aria-live": "polite", id: "tokens-message" });
  async function refresh() {
    let tokens;
    try {
      tokens = await api("/auth/tokens");
    } catch (err) {
      say(message, err.message, "error");
      return;
    }
    clear(list).append(
      tokens.length
        ? el(
            "div",
            { class: "table-wrap" },
            el(
              "table",
              { id: "tokens" },
              el("thead", {}, el("tr", {}, ["Name", "Starts with", "Created", "State", ""].map((h) => el("th", { scope: "col", class: "text" }, h)))),
              el(
                "tbody",
                {},
                tokens.map((t) =>
                  el(
                    "tr",
                    { dataset: { token: String(t.id) } },
                    el("td", { class: "text" }, t.name),
                    el("td", { class: "text" }, el("code", {}, `${t.prefix}…`)),
                    el("td", { class: "text" }, fmtDate(t.created_at)),
                    el("td", { class: "text" }, t.revoked_at ? `revoked ${fmtDate(t.revoked_at)}` : t.expires_at ? `expires ${fmtDate(t.expires_at)}` : "active"),
                    el(
                      "td",
                      { class: "text" },
                      t.revoked_at
                        ? ""
                        : el("button", { type: "button", class: "action secondary", "aria-label": `Revoke ${t.name}`, onclick: async () => {
                            try {
                              await api(`/auth/tokens/${t.id}`, { method: "DELETE" });
                              say(message, `Token ${t.name} is revoked: scripts using it now get 401.`, "ok");
                              refresh();
                            } catch (err) {
                              say(message, err.message, "error");
                            }
                          } }, "Revoke"),
                    ),
                  ),
                ),
              ),
            ),
          )
        : el("p", { class: "muted" }, "No API token yet."),
    );
  }
  const form = el(
    "form",
    { class: "row", id: "token-form" },
    el("label", { for: "token-name" }, "Name"),
    el("input", { id: "token-name", type: "text", required: true, maxlength: "200", placeholder: "e.g. laptop, CI upload" }),
    el("button", { class: "action", type: "submit" }, "Create a token"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const made = await api("/auth/tokens", { method: "POST", body: { name: form.elements["token-name"].value } });
      clear(shown).append(
        el(
          "div",
          { class: "notice" },
          el("p", {}, el("strong", {}, `Token “${made.name}”: copy it now, it is shown only this once.`)),
          el("p", {}, el("code", { id: "token-value" }, made.token)),
          el("p", { class: "muted" }, "Use it as ", el("code", {}, "Authorization: Bearer <token>"), ", e.g. ", el("code", {}, "PODIUM_TOKEN=… python3 examples/submit.py model.tar.gz --phase ID"), "."),
        ),
      );
      form.reset();
      refresh();
    } catch (err) {
      say(message, err.message, "error");
    }
  });
  refresh();
  return el(
    "section",
    { class: "card", "aria-labelledby": "tokens-title", id: "api-tokens" },
    el("h2", { id: "tokens-title" }, "API tokens for scripts"),
    el("p", { class: "muted" }, "A named token lets a script or CI upload and read your team's submissions. Revoke one you no longer use."),
    form,
    shown,
    message,
    list,
  );
}

function signedIn(user) {
  showWho(user, () => start());
  const next = nextPage();
  clear(page).append(
    el("p", { id: "signed-in" }, `Signed in as ${user.display_name} (${user.email}).`, next ? [" ", el("a", { href: next }, "Continue where you were")] : null),
    el("p", {}, el("a", { href: "/" }, "Challenges"), " · ", el("a", { href: "/team.html" }, "My team")),
    tokensSection(),
  );
}

function signedOut(notice = null) {
  showWho(null);
  clear(page).append(
    notice,
    signInForm((user) => {
      const next = nextPage();
      if (next) location.assign(next);
      else signedIn(user);
    }),
    signUpForm(),
    forgotForm(),
  );
  const anchor = location.hash.slice(1);
  if (anchor === "signup" || anchor === "forgot") document.getElementById(anchor)?.scrollIntoView();
}

async function start() {
  const params = new URLSearchParams(location.hash.slice(1));
  const verify = params.get("verify");
  const reset = params.get("reset");
  if (verify || reset) history.replaceState(null, "", location.pathname + location.search); // keep the token out of the address bar
  if (verify) {
    try {
      const user = await api("/auth/verify", { method: "POST", body: { token: verify } });
      signedIn(user);
      page.prepend(el("p", { class: "ok", id: "verified", role: "status" }, "Your address is confirmed: your account is ready and you are signed in."));
    } catch (err) {
      signedOut(el("p", { class: "error", id: "link-error", role: "alert" }, err.message));
    }
    return;
  }
  if (reset) {
    showWho(null);
    clear(page).append(resetForm(reset), forgotForm());
    return;
  }
  const user = await currentUser();
  if (user) signedIn(user);
  else signedOut();
}

start();
// A link from an e-mail opened in this tab changes only the #fragment: act on it.
window.addEventListener("hashchange", () => {
  if (/^#(verify|reset)=/.test(location.hash)) start();
});
