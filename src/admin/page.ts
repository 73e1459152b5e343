/**
 * The admin page served at GET /: one self-contained HTML document (inline CSS and script, no
 * build step, no outside assets) that signs in with an ACL user, lists users with their rules,
 * creates and edits a user's rules (PUT), deletes users, dry-runs a command and shows the ACL
 * LOG. Credentials stay in page memory and go out as an explicit Basic Authorization header
 * (fetch with credentials "omit", so the browser never caches them); everything from the
 * server is inserted as text, never as HTML. {@link PAGE_CSP} allows exactly this script and
 * style (by hash) and same-origin fetches.
 */
import { createHash } from "node:crypto";

const STYLE = `
:root { --fg: #1d2330; --muted: #5d6678; --line: #dde2ea; --bg: #f4f6f9; --card: #fff; --accent: #b3261e; --ok: #1b7f3b; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 16px; padding: 12px 24px; background: #20242c; color: #fff; }
header h1 { margin: 0; font-size: 18px; letter-spacing: .5px; }
header .who { margin-left: auto; color: #cfd5df; }
main { max-width: 1100px; margin: 0 auto; padding: 20px 24px 40px; display: grid; gap: 18px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px; }
section h2 { margin: 0 0 10px; font-size: 15px; }
form { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
input[type=text], input[type=password] { padding: 6px 8px; border: 1px solid #c4cbd6; border-radius: 5px; font: inherit; min-width: 160px; }
input.wide { flex: 1; min-width: 320px; font-family: ui-monospace, Menlo, Consolas, monospace; }
button { padding: 6px 12px; border: 1px solid #2d3440; border-radius: 5px; background: #2d3440; color: #fff; font: inherit; cursor: pointer; }
button.light { background: #fff; color: var(--fg); border-color: #c4cbd6; }
button.danger { background: #fff; color: var(--accent); border-color: #e4b4b1; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .4px; }
td.mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; overflow-wrap: anywhere; }
td.actions { white-space: nowrap; width: 1%; }
.hint { color: var(--muted); font-size: 12.5px; margin: 6px 0 0; }
.msg { margin-top: 8px; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; }
.msg.err { color: var(--accent); }
.msg.ok { color: var(--ok); }
.stack { display: grid; gap: 18px; }
.hidden { display: none; }
.row { display: flex; gap: 8px; align-items: center; margin-bottom: 8px; }
.row h2 { margin: 0; }
.row .spacer { flex: 1; }
`;

const SCRIPT = `
"use strict";
let auth = null;
const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, data) {
    super((data && data.error) || ("HTTP " + status));
    this.status = status;
  }
}

function basic(user, pass) {
  const bytes = new TextEncoder().encode(user + ":" + pass);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

async function api(method, path, body) {
  const headers = { Authorization: "Basic " + auth, Accept: "application/json" };
  const init = { method, headers, credentials: "omit", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** Split a command line into words: spaces separate, "..." and '...' quote (\\ escapes inside "..."). */
function words(line) {
  const out = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\\s/.test(line[i])) i++;
    if (i >= line.length) break;
    let w = "";
    while (i < line.length && !/\\s/.test(line[i])) {
      const ch = line[i];
      if (ch === '"' || ch === "'") {
        i++;
        while (i < line.length && line[i] !== ch) {
          if (ch === '"' && line[i] === "\\\\" && i + 1 < line.length) i++;
          w += line[i++];
        }
        i++;
      } else {
        w += ch;
        i++;
      }
    }
    out.push(w);
  }
  return out;
}

function show(id, text, ok) {
  const el = $(id);
  el.textContent = text;
  el.className = "msg " + (ok ? "ok" : "err");
}

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function rulesOf(u) {
  const prefix = "user " + u.name + " ";
  return u.rules.startsWith(prefix) ? u.rules.slice(prefix.length) : u.rules;
}

async function loadUsers() {
  const body = $("users-body");
  try {
    const users = await api("GET", "/v1/acl/users");
    body.textContent = "";
    for (const u of users) {
      const tr = document.createElement("tr");
      tr.dataset.user = u.name;
      cell(tr, u.name, "name");
      cell(tr, rulesOf(u), "mono rules");
      cell(tr, String(u.passwords.length));
      const td = cell(tr, "", "actions");
      const edit = document.createElement("button");
      edit.className = "light";
      edit.textContent = "Edit";
      edit.addEventListener("click", () => {
        $("edit-name").value = u.name;
        $("edit-rules").value = "reset " + rulesOf(u);
        $("edit-rules").focus();
      });
      td.appendChild(edit);
      const del = document.createElement("button");
      del.className = "danger";
      del.textContent = "Delete";
      del.addEventListener("click", async () => {
        if (!confirm("Delete user " + u.name + "?")) return;
        try {
          await api("DELETE", "/v1/acl/users/" + encodeURIComponent(u.name));
          show("users-msg", "Deleted " + u.name, true);
        } catch (e) {
          show("users-msg", e.message, false);
        }
        await refresh();
      });
      td.appendChild(document.createTextNode(" "));
      td.appendChild(del);
      body.appendChild(tr);
    }
    $("users-msg").textContent = "";
  } catch (e) {
    body.textContent = "";
    show("users-msg", e.message, false);
  }
}

async function loadLog() {
  const body = $("log-body");
  try {
    const entries = await api("GET", "/v1/acl/log?count=50");
    body.textContent = "";
    for (const e of entries) {
      const tr = document.createElement("tr");
      cell(tr, String(e["entry-id"]));
      cell(tr, e.reason);
      cell(tr, e.context);
      cell(tr, e.object, "mono");
      cell(tr, e.username, "mono");
      cell(tr, String(e.count));
      cell(tr, e["age-seconds"].toFixed(1) + " s");
      body.appendChild(tr);
    }
    if (entries.length === 0) {
      const tr = document.createElement("tr");
      const td = cell(tr, "No entries.");
      td.colSpan = 7;
      body.appendChild(tr);
    }
    $("log-msg").textContent = "";
  } catch (e) {
    body.textContent = "";
    show("log-msg", e.message, false);
  }
}

async function refresh() {
  await Promise.all([loadUsers(), loadLog()]);
}

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  auth = basic($("login-user").value, $("login-pass").value);
  try {
    const me = await api("GET", "/v1/acl/whoami");
    $("who").textContent = "Signed in as " + me.username;
    $("login-section").classList.add("hidden");
    $("app").classList.remove("hidden");
    $("login-pass").value = "";
    if (!$("dry-user").value) $("dry-user").value = me.username;
    await refresh();
  } catch (e) {
    auth = null;
    show("login-msg", e.status === 401 ? "Wrong username or password." : e.message, false);
  }
});

$("signout").addEventListener("click", () => {
  auth = null;
  $("who").textContent = "";
  $("app").classList.add("hidden");
  $("login-section").classList.remove("hidden");
});

$("edit").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const name = $("edit-name").value;
  try {
    await api("PUT", "/v1/acl/users/" + encodeURIComponent(name), { rules: words($("edit-rules").value) });
    show("edit-msg", "Saved " + name, true);
  } catch (e) {
    show("edit-msg", e.message, false);
  }
  await refresh();
});

$("dry").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    const r = await api("POST", "/v1/acl/dryrun", { username: $("dry-user").value, command: words($("dry-cmd").value) });
    show("dry-msg", (r.allowed ? "Allowed: " : "Denied: ") + r.message, r.allowed);
  } catch (e) {
    show("dry-msg", e.message, false);
  }
});

$("users-refresh").addEventListener("click", loadUsers);
$("log-refresh").addEventListener("click", loadLog);
$("log-reset").addEventListener("click", async () => {
  try {
    await api("DELETE", "/v1/acl/log");
  } catch (e) {
    show("log-msg", e.message, false);
    return;
  }
  await loadLog();
});
`;

const sha256 = (s: string) => "'sha256-" + createHash("sha256").update(s, "utf8").digest("base64") + "'";

/** The Content-Security-Policy sent with the page. */
export const PAGE_CSP =
  `default-src 'none'; script-src ${sha256(SCRIPT)}; style-src ${sha256(STYLE)}; connect-src 'self'; ` +
  `img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>aki admin</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header><h1>aki admin</h1><span class="who" id="who"></span></header>
<main>
<section id="login-section">
  <h2>Sign in with an ACL user</h2>
  <form id="login" autocomplete="off">
    <input type="text" id="login-user" placeholder="username" value="default" aria-label="username">
    <input type="password" id="login-pass" placeholder="password" aria-label="password">
    <button type="submit" id="login-btn">Sign in</button>
  </form>
  <div class="msg" id="login-msg"></div>
</section>
<div id="app" class="hidden stack">
<section>
  <div class="row"><h2>Users</h2><span class="spacer"></span>
    <button type="button" class="light" id="users-refresh">Refresh</button>
    <button type="button" class="light" id="signout">Sign out</button></div>
  <table id="users"><thead><tr><th>Name</th><th>Rules (ACL LIST)</th><th>Passwords</th><th></th></tr></thead>
  <tbody id="users-body"></tbody></table>
  <div class="msg" id="users-msg"></div>
</section>
<section>
  <h2>Create or edit a user</h2>
  <form id="edit" autocomplete="off">
    <input type="text" id="edit-name" placeholder="username" aria-label="username" required>
    <input type="text" id="edit-rules" class="wide" placeholder="on >password ~app:* +@read" aria-label="rules">
    <button type="submit" id="edit-save">Save</button>
  </form>
  <p class="hint">Rules as for ACL SETUSER, separated by spaces (quote a rule that contains spaces). They apply on top of the
  user's current rules; start with <code>reset</code> to replace them.</p>
  <div class="msg" id="edit-msg"></div>
</section>
<section>
  <h2>Dry run</h2>
  <form id="dry" autocomplete="off">
    <input type="text" id="dry-user" placeholder="username" aria-label="username">
    <input type="text" id="dry-cmd" class="wide" placeholder="GET app:1" aria-label="command">
    <button type="submit" id="dry-run">Check</button>
  </form>
  <div class="msg" id="dry-msg"></div>
</section>
<section>
  <div class="row"><h2>ACL LOG</h2><span class="spacer"></span>
    <button type="button" class="light" id="log-refresh">Refresh</button>
    <button type="button" class="danger" id="log-reset">Reset</button></div>
  <table id="log"><thead><tr><th>Id</th><th>Reason</th><th>Context</th><th>Object</th><th>Username</th><th>Count</th><th>Age</th></tr></thead>
  <tbody id="log-body"></tbody></table>
  <div class="msg" id="log-msg"></div>
</section>
</div>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
