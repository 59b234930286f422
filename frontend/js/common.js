// Shared helpers: the API client (session cookie + CSRF header), DOM building and formatting.
// Everything is built with DOM calls, never innerHTML, so team names cannot inject markup.

export const API = "/api/v1";
const CSRF_COOKIE = "podium_csrf";

/** The CSRF value the server set beside the HttpOnly session cookie ("" when signed out). */
export function csrfToken() {
  const found = document.cookie.split("; ").find((c) => c.startsWith(`${CSRF_COOKIE}=`));
  return found ? decodeURIComponent(found.slice(CSRF_COOKIE.length + 1)) : "";
}

/** Headers every state-changing request from a page carries (the session is the cookie). */
export function csrfHeaders() {
  const token = csrfToken();
  return token ? { "X-CSRF-Token": token } : {};
}

export class ApiError extends Error {
  constructor(status, message, detail = null) {
    super(message);
    this.status = status;
    this.detail = detail;
  }
}

/** Call the API; resolves to the JSON body, rejects with an ApiError carrying its message.
 *  `raw` sends a body as it is (a YAML file) with `contentType`. */
export async function api(path, { method = "GET", body = undefined, raw = undefined, contentType = undefined } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") Object.assign(headers, csrfHeaders());
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (raw !== undefined) headers["Content-Type"] = contentType || "application/octet-stream";
  const response = await fetch(API + path, {
    method,
    headers,
    credentials: "same-origin",
    body: raw !== undefined ? raw : body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { message: text };
    }
  }
  if (!response.ok) {
    throw new ApiError(response.status, (data && data.message) || response.statusText, data && data.detail);
  }
  return data;
}

/** Upload a file as the raw body with a progress callback (XMLHttpRequest upload events).
 *  Resolves to the JSON answer; rejects with an ApiError in the server's words. */
export function uploadFile(path, file, { method = "POST", onProgress = () => {} } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, API + path);
    xhr.withCredentials = true;
    for (const [k, v] of Object.entries(csrfHeaders())) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    });
    xhr.addEventListener("load", () => {
      let data = {};
      try {
        data = JSON.parse(xhr.responseText || "{}");
      } catch {
        data = { message: xhr.statusText };
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data.message || `upload failed (${xhr.status})`, data.detail));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "The upload was interrupted; check your connection and try again.")));
    xhr.send(file);
  });
}

/** el("td", {class: "x", onclick: f}, "text", child) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

/** A metric value for a table cell: 3 significant decimals, big penalties as integers. */
export function fmt(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value !== "number") return String(value);
  if (Math.abs(value) >= 1000) return value.toFixed(0);
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(3);
}

export function fmtRank(rank) {
  return Number.isInteger(rank) ? String(rank) : rank.toFixed(1);
}

export function fmtDate(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return d.toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

export function fmtBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** A message line under a form: role=status so screen readers announce it. */
export function say(node, text, kind = "") {
  clear(node);
  node.className = kind;
  node.append(text);
}

/** The page's challenge: ?challenge=slug, or the only one there is; null (with the list)
 *  when several exist and none is named, so the page asks instead of picking one. */
export async function loadChallenge() {
  const list = await api("/challenges");
  if (!list.length) return null;
  const wanted = new URLSearchParams(location.search).get("challenge");
  const slug = list.some((c) => c.slug === wanted) ? wanted : list.length === 1 ? list[0].slug : null;
  if (!slug) return { list, challenge: null };
  const challenge = await api(`/challenges/${encodeURIComponent(slug)}`);
  return { list, challenge };
}

/** A list of links to pick a challenge for this page. */
export function challengeChooser(list) {
  return el(
    "nav",
    { class: "card", "aria-labelledby": "choose-title", id: "choose-challenge" },
    el("h2", { id: "choose-title" }, "Choose a challenge"),
    el("ul", {}, list.map((c) => el("li", {}, el("a", { href: `${location.pathname}?challenge=${encodeURIComponent(c.slug)}` }, c.title)))),
  );
}

/** The page's challenge, or null after saying in `area` why there is none (or asking which). */
export async function bootChallenge(area) {
  try {
    const loaded = await loadChallenge();
    if (!loaded) {
      say(area, "No challenge is set up yet.", "muted");
      return null;
    }
    if (!loaded.challenge) {
      clear(area).append(challengeChooser(loaded.list));
      return null;
    }
    return loaded.challenge;
  } catch (err) {
    say(area, err.message, "error");
    return null;
  }
}

/** Sign this browser in (HttpOnly session cookie); resolves to the user. */
export async function signIn(email, password) {
  return api("/auth/session", { method: "POST", body: { email, password } });
}

/** Sign out: the session token is revoked and the cookies cleared. */
export async function signOut() {
  await api("/auth/session", { method: "DELETE" });
}

/** The sign-in form; calls onSignedIn(user) after a successful sign-in. */
export function signInForm(onSignedIn) {
  const message = el("p", { role: "status", "aria-live": "polite", id: "signin-message" });
  const email = el("input", { type: "email", name: "email", id: "signin-email", required: true, autocomplete: "username" });
  const password = el("input", {
    type: "password",
    name: "password",
    id: "signin-password",
    required: true,
    autocomplete: "current-password",
  });
  const back = encodeURIComponent(location.pathname + location.search);
  const form = el(
    "form",
    { class: "card", id: "signin", "aria-labelledby": "signin-title" },
    el("h2", { id: "signin-title" }, "Sign in"),
    el("label", { for: "signin-email" }, "E-mail address"),
    email,
    el("label", { for: "signin-password" }, "Password"),
    password,
    el("p", {}, el("button", { class: "action", type: "submit" }, "Sign in")),
    message,
    el(
      "p",
      { class: "muted" },
      "No account yet? ",
      el("a", { href: `/account.html?next=${back}#signup` }, "Sign up"),
      " · ",
      el("a", { href: "/account.html#forgot" }, "Forgot your password?"),
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(message, "Signing in…");
    try {
      const user = await signIn(email.value, password.value);
      say(message, "");
      onSignedIn(user);
    } catch (err) {
      say(message, err.message, "error");
    }
  });
  return form;
}

/** The signed-in user, or null. */
export async function currentUser() {
  try {
    return await api("/auth/me");
  } catch {
    return null;
  }
}

/** "Signed in as … · Sign out" in the header's #who, or a sign-in link. */
export function showWho(user, onSignedOut) {
  const who = document.getElementById("who");
  if (!who) return;
  clear(who);
  if (!user) {
    who.append(el("a", { href: `/account.html?next=${encodeURIComponent(location.pathname + location.search)}` }, "Sign in"));
    return;
  }
  who.append(
    el("a", { href: "/account.html", id: "who-name" }, user.display_name),
    user.role !== "participant" ? ` (${user.role}) ` : " ",
    el(
      "button",
      {
        type: "button",
        class: "action secondary",
        id: "signout",
        onclick: async () => {
          await signOut().catch(() => {});
          if (onSignedOut) onSignedOut();
          else location.reload();
        },
      },
      "Sign out",
    ),
  );
}

/** A date in the reader's local time and in UTC, e.g. "2 Aug 2026, 02:00 (2026-08-01 00:00 UTC)". */
export function fmtLocalAndUtc(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  const local = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  return `${local} (${fmtDate(iso)})`;
}

/** A phase picker: one button per phase of the task. */
export function phasePicker(phases, selectedId, onPick) {
  const group = el("div", { class: "segmented", role: "group", "aria-label": "Phase" });
  for (const phase of phases) {
    group.append(
      el(
        "button",
        {
          type: "button",
          "aria-pressed": String(phase.id === selectedId),
          dataset: { phase: String(phase.id) },
          onclick: () => onPick(phase),
        },
        phase.title,
      ),
    );
  }
  return group;
}
