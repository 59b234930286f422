// Shared helpers: the API client, the signed-in token, DOM building and formatting.
// Everything is built with DOM calls, never innerHTML, so team names cannot inject markup.

export const API = "/api/v1";
const TOKEN_KEY = "podium-token";

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Call the API; resolves to the JSON body, rejects with an ApiError carrying its message. */
export async function api(path, { method = "GET", body = undefined } = {}) {
  const headers = { Accept: "application/json" };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
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
    if (response.status === 401) setToken(null);
    throw new ApiError(response.status, (data && data.message) || response.statusText);
  }
  return data;
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

/** Challenges and the chosen one's tasks and phases (?challenge=slug, else the first). */
export async function loadChallenge() {
  const list = await api("/challenges");
  if (!list.length) return null;
  const wanted = new URLSearchParams(location.search).get("challenge");
  const slug = list.some((c) => c.slug === wanted) ? wanted : list[0].slug;
  const challenge = await api(`/challenges/${encodeURIComponent(slug)}`);
  return { list, challenge };
}

/** The page's challenge, or null after saying in `area` why there is none. */
export async function bootChallenge(area) {
  try {
    const loaded = await loadChallenge();
    if (!loaded) {
      say(area, "No challenge is set up yet.", "muted");
      return null;
    }
    return loaded.challenge;
  } catch (err) {
    say(area, err.message, "error");
    return null;
  }
}

/** The sign-in form; calls onSignedIn(user) after a successful login. */
export function signInForm(onSignedIn) {
  const message = el("p", { role: "status", "aria-live": "polite" });
  const email = el("input", { type: "email", name: "email", id: "signin-email", required: true, autocomplete: "username" });
  const password = el("input", {
    type: "password",
    name: "password",
    id: "signin-password",
    required: true,
    autocomplete: "current-password",
  });
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
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(message, "Signing in…");
    try {
      const issued = await api("/auth/login", {
        method: "POST",
        body: { email: email.value, password: password.value },
      });
      setToken(issued.token);
      const user = await api("/auth/me");
      say(message, "");
      onSignedIn(user);
    } catch (err) {
      say(message, err.message, "error");
    }
  });
  return form;
}

/** The signed-in user, or null (a stale token is dropped). */
export async function currentUser() {
  if (!getToken()) return null;
  try {
    return await api("/auth/me");
  } catch {
    setToken(null);
    return null;
  }
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
