/**
 * The HTTP admin API, black-box: one aki with --admin-port (and --requirepass, --aclfile), driven
 * with fetch() (and node:http where a test needs its own Host header or a chunked body), and
 * cross-checked over RESP: auth (401 + WWW-Authenticate, counted and logged), per-route ACL
 * permission (403, logged), 400/404/405/413/421, JSON shapes, ACL DRYRUN agreement over a
 * matrix of users and commands, and changes visible from RESP and back.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, freePort, RawClient, currentRuntime, OK, bulk, type AkiServer } from "./harness.ts";

const ADMIN_PW = "adm1n-pw";

interface Res {
  status: number;
  headers: Headers;
  text: string;
  // deno-lint-ignore no-explicit-any
  json: any;
}

function basic(user: string | Buffer, pass: string | Buffer): string {
  const u = typeof user === "string" ? Buffer.from(user) : user;
  const p = typeof pass === "string" ? Buffer.from(pass) : pass;
  return "Basic " + Buffer.concat([u, Buffer.from(":"), p]).toString("base64");
}

/** RESP bulk / simple / error reply -> its text. */
function respText(raw: string): string {
  if (raw.startsWith("$")) return raw.slice(raw.indexOf("\r\n") + 2, -2);
  return raw.slice(1, -2);
}

describe("admin API", () => {
  let srv: AkiServer;
  let adminPort: number;
  let base: string;
  let r: RawClient;
  let dir: string;
  let aclPath: string;

  async function req(
    method: string,
    path: string,
    opts: { auth?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ): Promise<Res> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const auth = opts.auth === undefined ? basic("default", ADMIN_PW) : opts.auth;
    if (auth !== null) headers.Authorization = auth;
    let body: string | undefined;
    if (opts.raw !== undefined) {
      body = opts.raw;
      // fetch would label a string body text/plain, which the API refuses (415).
      if (!Object.keys(headers).some((k) => k.toLowerCase() === "content-type")) headers["Content-Type"] = "application/json";
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["Content-Type"] = "application/json";
    }
    const res = await fetch(base + path, { method, headers, body });
    const text = await res.text();
    let json: unknown = undefined;
    if (text !== "" && (res.headers.get("content-type") ?? "").includes("application/json")) json = JSON.parse(text);
    return { status: res.status, headers: res.headers, text, json };
  }

  /** A request through node:http, for a Host header of our own or a chunked body. */
  function rawHttp(method: string, path: string, headers: Record<string, string>, chunks: Buffer[] = []): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
    return new Promise((resolve, reject) => {
      const rq = http.request({ host: "127.0.0.1", port: adminPort, method, path, headers, agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on("error", reject);
      });
      rq.on("error", (e) => reject(e));
      for (const ch of chunks) rq.write(ch);
      rq.end();
    });
  }

  async function stat(name: string): Promise<number> {
    const info = respText(await r.call("INFO", "stats"));
    const m = new RegExp(`^${name}:(\\d+)`, "m").exec(info);
    assert.ok(m, `INFO has ${name}`);
    return Number(m[1]);
  }

  async function setUser(name: string, ...rules: string[]): Promise<void> {
    assert.equal(await r.call("ACL", "SETUSER", name, "reset", ...rules), OK);
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "aki-admin-"));
    aclPath = join(dir, "users.acl");
    writeFileSync(aclPath, `user default on #${sha256hex(ADMIN_PW)} ~* &* +@all\n`);
    adminPort = await freePort();
    // This suite makes many deliberate wrong sign-ins from loopback; AUTH throttling (tested
    // in security-throttle.test.ts) would delay the correct ones that follow.
    srv = await startServer(["--admin-port", String(adminPort), "--aclfile", aclPath, "--auth-max-failures", "0"], { waitFor: "admin API listening on" });
    base = `http://127.0.0.1:${adminPort}`;
    r = await RawClient.connect(srv.port);
    assert.equal(await r.call("AUTH", ADMIN_PW), OK);
  });
  after(async () => {
    r?.close();
    await srv?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("one startup line names the admin address", () => {
    assert.match(srv.output(), new RegExp(`admin API listening on http://127\\.0\\.0\\.1:${adminPort}\\b`));
  });

  test("GET /v1/health needs no auth: status, version, runtime, uptime", async () => {
    const res = await req("GET", "/v1/health", { auth: null });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.json).sort(), ["runtime", "status", "uptime", "version"]);
    assert.equal(res.json.status, "ok");
    assert.equal(res.json.runtime, currentRuntime());
    assert.match(res.json.version, /^\d+\.\d+\.\d+/);
    assert.equal(typeof res.json.uptime, "number");
    assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
  });

  // Every authenticated route with a request that passes validation and the command it maps to.
  const ROUTES: { method: string; path: string; body?: unknown; cmd: string }[] = [
    { method: "GET", path: "/v1/acl/users", cmd: "acl|list" },
    { method: "GET", path: "/v1/acl/users/default", cmd: "acl|getuser" },
    { method: "PUT", path: "/v1/acl/users/route-probe", body: { rules: [] }, cmd: "acl|setuser" },
    { method: "DELETE", path: "/v1/acl/users/route-probe-missing", cmd: "acl|deluser" },
    { method: "GET", path: "/v1/acl/log?count=1", cmd: "acl|log" },
    { method: "DELETE", path: "/v1/acl/log", cmd: "acl|log" },
    { method: "POST", path: "/v1/acl/dryrun", body: { username: "default", command: ["get", "k"] }, cmd: "acl|dryrun" },
    { method: "GET", path: "/v1/acl/whoami", cmd: "acl|whoami" },
    { method: "GET", path: "/v1/acl/categories", cmd: "acl|cat" },
    { method: "GET", path: "/v1/acl/categories/read", cmd: "acl|cat" },
    { method: "POST", path: "/v1/acl/genpass", body: { bits: 8 }, cmd: "acl|genpass" },
    { method: "POST", path: "/v1/acl/save", cmd: "acl|save" },
    { method: "POST", path: "/v1/acl/load", cmd: "acl|load" },
  ];

  test("every ACL route needs credentials: 401 with WWW-Authenticate, not counted", async () => {
    const before = await stat("acl_access_denied_auth");
    for (const rt of ROUTES) {
      for (const auth of [null, "Bearer abc", "Basic"]) {
        const res = await req(rt.method, rt.path, { auth, body: rt.body });
        assert.equal(res.status, 401, `${rt.method} ${rt.path} with ${auth}`);
        assert.match(res.headers.get("www-authenticate") ?? "", /^Basic realm="aki"/);
        assert.equal(typeof res.json.error, "string");
      }
    }
    assert.equal(await stat("acl_access_denied_auth"), before);
  });

  test("wrong credentials: 401, counted in acl_access_denied_auth, logged with reason auth", async () => {
    await setUser("carol", "on", ">carol-pw", "+@all");
    const before = await stat("acl_access_denied_auth");
    const cases: [string, string][] = [["carol", "wrong"], ["nobody-here", "x"], ["default", "nope"], ["carol", ""]];
    for (const [u, p] of cases) {
      const res = await req("GET", "/v1/acl/whoami", { auth: basic(u, p) });
      assert.equal(res.status, 401);
      assert.match(res.headers.get("www-authenticate") ?? "", /^Basic realm="aki"/);
      assert.equal(res.json.error, "WRONGPASS invalid username-password pair or user is disabled.");
    }
    assert.equal(await stat("acl_access_denied_auth"), before + cases.length);
    const log = await req("GET", "/v1/acl/log?count=20");
    const e = log.json.find((x: Record<string, unknown>) => x.username === "nobody-here");
    assert.ok(e, "entry for the failed user");
    assert.equal(e.reason, "auth");
    assert.equal(e.object, "AUTH");
    assert.equal(e.context, "toplevel");
    assert.match(e["client-info"], /addr=127\.0\.0\.1:\d+ /);
    // Over RESP too.
    const resp = await r.call("ACL", "LOG", "20");
    assert.ok(resp.includes("nobody-here"));
    // A disabled user cannot sign in even with its password.
    await setUser("dora", "off", ">dora-pw", "+@all");
    assert.equal((await req("GET", "/v1/acl/whoami", { auth: basic("dora", "dora-pw") })).status, 401);
    // The right password works, and the request runs as that user.
    const ok = await req("GET", "/v1/acl/whoami", { auth: basic("carol", "carol-pw") });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json, { username: "carol" });
  });

  test("each route is allowed exactly when the user may run its ACL command; denials are 403 and logged", async () => {
    for (const allowed of new Set(ROUTES.map((x) => x.cmd))) {
      const name = "only-" + allowed.replace("|", "-");
      await setUser(name, "on", ">pw", "+" + allowed);
      const auth = basic(name, "pw");
      for (const rt of ROUTES) {
        if (rt.cmd === "acl|load") continue; // ACL LOAD would reset the users under test
        const res = await req(rt.method, rt.path, { auth, body: rt.body });
        if (rt.cmd === allowed) {
          assert.notEqual(res.status, 403, `${name}: ${rt.method} ${rt.path} -> ${res.text}`);
          assert.notEqual(res.status, 401);
        } else {
          assert.equal(res.status, 403, `${name}: ${rt.method} ${rt.path}`);
          assert.equal(res.json.error, `NOPERM User ${name} has no permissions to run the '${rt.cmd}' command`);
        }
      }
    }
    // The denial lands in ACL LOG like a RESP denial, and in acl_access_denied_cmd.
    const before = await stat("acl_access_denied_cmd");
    assert.equal((await req("GET", "/v1/acl/users", { auth: basic("only-acl-whoami", "pw") })).status, 403);
    assert.equal(await stat("acl_access_denied_cmd"), before + 1);
    const log = await req("GET", "/v1/acl/log?count=1");
    assert.equal(log.json[0].reason, "command");
    assert.equal(log.json[0].object, "acl|list");
    assert.equal(log.json[0].username, "only-acl-whoami");
    assert.equal(log.json[0].context, "toplevel");
    // ACL LOAD's own permission.
    await setUser("loader", "on", ">pw", "+acl|save");
    assert.equal((await req("POST", "/v1/acl/load", { auth: basic("loader", "pw") })).status, 403);
  });

  test("GET /v1/acl/users: every user with the exact ACL LIST line, hashes only", async () => {
    await setUser("eve", "on", ">eve-secret", ">eve-other", "~app:*", "%R~ro:*", "&news", "+@read", "-keys", "(+set ~w:*)");
    const res = await req("GET", "/v1/acl/users");
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(res.json));
    const lines = (await r.call("ACL", "LIST")).split("\r\n").filter((l) => l.startsWith("user "));
    assert.deepEqual(res.json.map((u: { rules: string }) => u.rules), lines);
    const users = respText(await r.call("ACL", "USERS"));
    for (const u of res.json) {
      assert.deepEqual(Object.keys(u), ["name", "rules", "flags", "passwords", "commands", "keys", "channels", "selectors"]);
      assert.ok(users.includes(u.name));
    }
    const eve = res.json.find((u: { name: string }) => u.name === "eve");
    assert.deepEqual(eve.flags, ["on", "sanitize-payload"]);
    assert.deepEqual(eve.passwords, [sha256hex("eve-secret"), sha256hex("eve-other")]);
    assert.equal(eve.keys, "~app:* %R~ro:*");
    assert.equal(eve.channels, "&news");
    assert.equal(eve.commands, "-@all +@read -keys");
    assert.deepEqual(eve.selectors, [{ commands: "-@all +set", keys: "~w:*", channels: "" }]);
    assert.ok(!res.text.includes("eve-secret"), "never cleartext");
  });

  test("GET /v1/acl/users/:name: one user, 404 when missing, names in UTF-8", async () => {
    const res = await req("GET", "/v1/acl/users/eve");
    assert.equal(res.status, 200);
    assert.equal(res.json.name, "eve");
    assert.ok(res.json.rules.startsWith("user eve on "));
    const missing = await req("GET", "/v1/acl/users/no-such-user");
    assert.equal(missing.status, 404);
    assert.equal(typeof missing.json.error, "string");
    // A UTF-8 username created over RESP.
    await setUser("jürgen", "on", "nopass", "+ping");
    const j = await req("GET", "/v1/acl/users/" + encodeURIComponent("jürgen"));
    assert.equal(j.status, 200);
    assert.equal(j.json.name, "jürgen");
    assert.equal(j.json.rules, "user jürgen on nopass sanitize-payload resetchannels -@all +ping");
  });

  test("PUT /v1/acl/users/:name creates and edits; usable from RESP at once", async () => {
    const res = await req("PUT", "/v1/acl/users/frank", { body: { rules: ["on", ">frank-pw", "~f:*", "+get", "+set"] } });
    assert.equal(res.status, 200);
    assert.equal(res.json.name, "frank");
    assert.equal(res.json.rules, `user frank on sanitize-payload #${sha256hex("frank-pw")} ~f:* resetchannels -@all +get +set`);
    assert.ok(!res.text.includes("frank-pw"));
    const c = await RawClient.connect(srv.port);
    try {
      assert.equal(await c.call("AUTH", "frank", "frank-pw"), OK);
      assert.equal(await c.call("SET", "f:1", "v"), OK);
      assert.equal(await c.call("GET", "f:1"), bulk("v"));
      assert.equal(await c.call("GET", "other"), "-NOPERM No permissions to access a key\r\n");
      // Edit: the live connection sees the change at its next command.
      const e = await req("PUT", "/v1/acl/users/frank", { body: { rules: ["-set"] } });
      assert.equal(e.status, 200);
      assert.equal(e.json.commands, "-@all +get -set");
      assert.equal(await c.call("SET", "f:1", "w"), "-NOPERM User frank has no permissions to run the 'set' command\r\n");
    } finally {
      c.close();
    }
    // A user created with a UTF-8 name over HTTP is the UTF-8 bytes over RESP.
    const u = await req("PUT", "/v1/acl/users/" + encodeURIComponent("zoë"), { body: { rules: ["on", ">pässwörd", "+ping"] } });
    assert.equal(u.status, 200);
    assert.equal(u.json.name, "zoë");
    const c2 = await RawClient.connect(srv.port);
    try {
      assert.equal(await c2.call(Buffer.from("AUTH"), Buffer.from("zoë"), Buffer.from("pässwörd")), OK);
      assert.equal(await c2.call("ACL", "WHOAMI"), "-NOPERM User zo\xc3\xab has no permissions to run the 'acl|whoami' command\r\n");
    } finally {
      c2.close();
    }
  });

  test("PUT is atomic: a bad rule is 400 with Redis's error text and changes nothing", async () => {
    const before = await r.call("ACL", "GETUSER", "frank");
    const res = await req("PUT", "/v1/acl/users/frank", { body: { rules: ["+set", ">new-pw", "bogus-rule"] } });
    assert.equal(res.status, 400);
    assert.equal(res.json.error, "ERR Error in ACL SETUSER modifier 'bogus-rule': Syntax error");
    assert.equal(await r.call("ACL", "GETUSER", "frank"), before);
    // Same text as RESP.
    assert.equal(await r.call("ACL", "SETUSER", "frank", "bogus-rule"), "-ERR Error in ACL SETUSER modifier 'bogus-rule': Syntax error\r\n");
    const sp = await req("PUT", "/v1/acl/users/" + encodeURIComponent("has space"), { body: { rules: [] } });
    assert.equal(sp.status, 400);
    assert.equal(sp.json.error, "ERR Usernames can't contain spaces or null characters");
    const sel = await req("PUT", "/v1/acl/users/frank", { body: { rules: ["(+get"] } });
    assert.equal(sel.status, 400);
    assert.equal(sel.json.error, (await r.call("ACL", "SETUSER", "frank", "(+get")).slice(1, -2));
  });

  test("a user created over RESP signs in over HTTP; DELETE removes it for RESP", async () => {
    await setUser("gina", "on", ">gina-pw", "+acl|whoami", "+acl|deluser");
    const who = await req("GET", "/v1/acl/whoami", { auth: basic("gina", "gina-pw") });
    assert.deepEqual(who.json, { username: "gina" });
    const c = await RawClient.connect(srv.port);
    assert.equal(await c.call("AUTH", "gina", "gina-pw"), OK);
    const del = await req("DELETE", "/v1/acl/users/gina");
    assert.equal(del.status, 200);
    assert.deepEqual(del.json, { deleted: 1 });
    assert.ok(!(await r.call("ACL", "USERS")).includes("gina"));
    assert.equal(await c.waitClosed(), true, "DELUSER closes the user's connections");
    c.close();
    assert.equal((await req("DELETE", "/v1/acl/users/gina")).status, 404);
    const d = await req("DELETE", "/v1/acl/users/default");
    assert.equal(d.status, 400);
    assert.equal(d.json.error, "ERR The 'default' user cannot be removed");
    assert.equal((await req("GET", "/v1/acl/whoami", { auth: basic("gina", "gina-pw") })).status, 401);
  });

  test("GET /v1/acl/log: Redis's ten fields, count, DELETE resets", async () => {
    assert.equal((await req("DELETE", "/v1/acl/log")).status, 200);
    assert.deepEqual((await req("GET", "/v1/acl/log")).json, []);
    for (let i = 0; i < 12; i++) await req("GET", "/v1/acl/whoami", { auth: basic("ghost" + i, "x") });
    const def = await req("GET", "/v1/acl/log");
    assert.equal(def.json.length, 10);
    const all = await req("GET", "/v1/acl/log?count=100");
    assert.equal(all.json.length, 12);
    const two = await req("GET", "/v1/acl/log?count=2");
    assert.equal(two.json.length, 2);
    assert.equal((await req("GET", "/v1/acl/log?count=0")).json.length, 0);
    const e = two.json[0];
    assert.deepEqual(Object.keys(e), [
      "count", "reason", "context", "object", "username", "age-seconds", "client-info", "entry-id",
      "timestamp-created", "timestamp-last-updated",
    ]);
    assert.equal(e.username, "ghost11");
    assert.equal(e.count, 1);
    assert.equal(typeof e["age-seconds"], "number");
    assert.equal(typeof e["entry-id"], "number");
    assert.ok(Math.abs(e["timestamp-created"] - Date.now()) < 60000);
    // Same entries as RESP.
    const resp = await r.call("ACL", "LOG", "2");
    assert.ok(resp.includes("ghost11") && resp.includes("ghost10"));
    assert.equal((await req("DELETE", "/v1/acl/log")).status, 200);
    assert.equal(await r.call("ACL", "LOG"), "*0\r\n");
  });

  test("attacker-chosen usernames in ACL LOG keep the JSON valid", async () => {
    await req("DELETE", "/v1/acl/log");
    const nasty = Buffer.from([0xff, 0xfe, 0x22, 0x5c, 0x0a, 0x00, 0x3c, 0x2f, 0x73, 0x3e, 0xe2, 0x80, 0xa8, 0xc3]);
    const c = await RawClient.connect(srv.port);
    assert.match(await c.call(Buffer.from("AUTH"), nasty, Buffer.from("pw")), /^-WRONGPASS/);
    c.close();
    await req("GET", "/v1/acl/whoami", { auth: basic(Buffer.from([0xc3, 0x28, 0x22, 0x7d]), "x") });
    const res = await req("GET", "/v1/acl/log");
    assert.equal(res.status, 200);
    assert.equal(res.json.length, 2); // parsed: valid JSON
    for (const e of res.json) assert.equal(typeof e.username, "string");
    assert.ok(res.json[1].username.includes('"\\\n\u0000'));
  });

  test("POST /v1/acl/dryrun agrees with ACL DRYRUN over a matrix of users and commands", async () => {
    await setUser("m-read", "on", "nopass", "~app:*", "+@read");
    await setUser("m-keys", "on", "nopass", "%R~r:*", "%W~w:*", "+get", "+set", "+copy");
    await setUser("m-chan", "on", "nopass", "resetchannels", "&news.*", "+publish", "+subscribe", "+psubscribe");
    await setUser("m-sel", "on", "nopass", "+get", "~a:*", "(+set ~b:*)", "(+del ~*)");
    await setUser("m-none", "on", "nopass");
    await setUser("m-all", "on", "nopass", "allkeys", "allchannels", "+@all", "-flushall", "-config|set");
    await setUser("m-off", "off", "+@all", "~*");
    const users = ["default", "m-read", "m-keys", "m-chan", "m-sel", "m-none", "m-all", "m-off"];
    const commands: string[][] = [
      ["get", "app:1"], ["GET", "other"], ["set", "app:1", "v"], ["set", "w:1", "v"], ["get", "r:1"], ["get", "w:1"],
      ["copy", "r:1", "w:2"], ["copy", "w:1", "r:2"], ["set", "b:1", "x"], ["get", "b:1"], ["del", "a:1", "zz"],
      ["publish", "news.today", "hi"], ["publish", "sports", "hi"], ["subscribe", "news.x", "news.y"],
      ["psubscribe", "news.*"], ["psubscribe", "*"], ["flushall"], ["config", "set", "maxmemory", "1"],
      ["config", "get", "maxmemory"], ["acl", "whoami"], ["client", "list"], ["keys", "*"], ["ping"],
      ["mget", "app:1", "app:2"], ["hgetall", "app:h"],
      // errors must agree too
      ["nosuchcommand", "x"], ["get"], ["config", "nosuchsub"],
    ];
    for (const u of [...users, "no-such-user"]) {
      for (const cmd of commands) {
        const raw = await r.call("ACL", "DRYRUN", u, ...cmd);
        const res = await req("POST", "/v1/acl/dryrun", { body: { username: u, command: cmd } });
        const what = `${u}: ${cmd.join(" ")}`;
        if (raw === OK) {
          assert.equal(res.status, 200, what);
          assert.deepEqual(res.json, { allowed: true, message: "OK" }, what);
        } else if (raw.startsWith("$")) {
          assert.equal(res.status, 200, what);
          assert.deepEqual(res.json, { allowed: false, message: respText(raw) }, what);
        } else {
          assert.equal(res.status, 400, what);
          assert.equal(res.json.error, respText(raw), what);
        }
      }
    }
  });

  test("GET /v1/acl/whoami, /categories, /categories/:name", async () => {
    assert.deepEqual((await req("GET", "/v1/acl/whoami")).json, { username: "default" });
    const cats = await req("GET", "/v1/acl/categories");
    assert.equal(cats.status, 200);
    assert.equal(cats.json.length, 21);
    assert.equal(await r.call("ACL", "CAT"), `*${cats.json.length}\r\n` + cats.json.map((x: string) => bulk(x)).join(""));
    const read = await req("GET", "/v1/acl/categories/read");
    assert.equal(read.status, 200);
    assert.ok(read.json.includes("get") && read.json.includes("hgetall"));
    assert.equal(await r.call("ACL", "CAT", "read"), `*${read.json.length}\r\n` + read.json.map((x: string) => bulk(x)).join(""));
    const bad = await req("GET", "/v1/acl/categories/nope");
    assert.equal(bad.status, 404);
    assert.equal(bad.json.error, "ERR Unknown category 'nope'");
  });

  test("POST /v1/acl/genpass", async () => {
    const a = await req("POST", "/v1/acl/genpass");
    assert.equal(a.status, 200);
    assert.match(a.json.password, /^[0-9a-f]{64}$/);
    const b = await req("POST", "/v1/acl/genpass", { body: {} });
    assert.match(b.json.password, /^[0-9a-f]{64}$/);
    assert.notEqual(a.json.password, b.json.password);
    assert.match((await req("POST", "/v1/acl/genpass", { body: { bits: 5 } })).json.password, /^[0-9a-f]{2}$/);
    assert.match((await req("POST", "/v1/acl/genpass", { body: { bits: 4096 } })).json.password, /^[0-9a-f]{1024}$/);
    for (const bits of [0, 4097, 1.5, "8", -1]) {
      const res = await req("POST", "/v1/acl/genpass", { body: { bits } });
      assert.equal(res.status, 400, String(bits));
      assert.equal(res.json.issues[0].path, "body.bits");
    }
  });

  test("POST /v1/acl/save and /v1/acl/load go through the aclfile", async () => {
    await setUser("saved-user", "on", ">saved-pw", "+ping");
    const s = await req("POST", "/v1/acl/save");
    assert.equal(s.status, 200);
    assert.deepEqual(s.json, { ok: true });
    const text = readFileSync(aclPath, "latin1");
    assert.match(text, /^user saved-user on /m);
    // Edit the file, load it over HTTP, see it over RESP.
    writeFileSync(aclPath, text + "user loaded-user on nopass +ping\n");
    const l = await req("POST", "/v1/acl/load", { body: {} });
    assert.equal(l.status, 200);
    assert.ok((await r.call("ACL", "USERS")).includes("loaded-user"));
    // A bad file: 400 with Redis's text, nothing changes.
    writeFileSync(aclPath, "user broken on bogus\n");
    const bad = await req("POST", "/v1/acl/load");
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /^ERR .*users\.acl:1: Syntax error/);
    assert.ok((await r.call("ACL", "USERS")).includes("loaded-user"));
    writeFileSync(aclPath, text);
    // save/load take no body but an empty object.
    const extra = await req("POST", "/v1/acl/save", { body: { x: 1 } });
    assert.equal(extra.status, 400);
  });

  test("400: bodies, params and queries are validated; submitted values are never echoed", async () => {
    const secret = "Sup3r-S3cret-" + Math.random().toString(36).slice(2);
    const cases: [string, string, { body?: unknown; raw?: string }, string][] = [
      ["PUT", "/v1/acl/users/x1", { body: { rules: ">" + secret } }, "body.rules"],
      ["PUT", "/v1/acl/users/x1", { body: { rules: ["on", 5, ">" + secret] } }, "body.rules[1]"],
      ["PUT", "/v1/acl/users/x1", { body: { rules: [], [secret]: ">" + secret } }, "body"],
      ["PUT", "/v1/acl/users/x1", { body: [">" + secret] }, "body"],
      ["PUT", "/v1/acl/users/x1", {}, "body"],
      ["PUT", "/v1/acl/users/x1", { raw: `{"rules": [">${secret}"` }, "body"],
      ["PUT", "/v1/acl/users/x1", { raw: "\xff\xfe" }, "body"],
      ["POST", "/v1/acl/dryrun", { body: { username: "default", command: [] } }, "body.command"],
      ["POST", "/v1/acl/dryrun", { body: { username: "", command: ["get", secret] } }, "body.username"],
      ["POST", "/v1/acl/dryrun", { body: { username: secret } }, "body.command"],
      ["POST", "/v1/acl/dryrun", { body: { username: 7, command: ["get"] } }, "body.username"],
      ["POST", "/v1/acl/genpass", { body: { bits: secret } }, "body.bits"],
      ["GET", `/v1/acl/log?count=${secret}`, {}, "query.count"],
      ["GET", "/v1/acl/log?count=-1", {}, "query.count"],
      ["GET", `/v1/acl/users?${secret}=1`, {}, "query"],
    ];
    for (const [method, path, opts, where] of cases) {
      const res = await req(method, path, opts);
      const what = `${method} ${path} ${JSON.stringify(opts)}`;
      assert.equal(res.status, 400, what);
      assert.equal(typeof res.json.error, "string", what);
      assert.ok(Array.isArray(res.json.issues) && res.json.issues.length > 0, what);
      for (const i of res.json.issues) {
        assert.deepEqual(Object.keys(i).sort(), ["message", "path"], what);
        assert.equal(typeof i.message, "string");
      }
      assert.ok(res.json.issues.some((i: { path: string }) => i.path === where), `${what}: ${res.text}`);
      assert.ok(!res.text.includes(secret), `${what} echoed: ${res.text}`);
    }
    assert.ok(!(await r.call("ACL", "USERS")).includes("x1"), "nothing was created");
  });

  test("404: unknown routes are JSON; 405 for another method on a known path", async () => {
    for (const p of ["/nope", "/v1", "/v1/acl", "/v1/acl/users/a/b", "/v2/health"]) {
      const res = await req("GET", p);
      assert.equal(res.status, 404, p);
      assert.deepEqual(res.json, { error: "not found" });
    }
    const m = await req("PATCH", "/v1/acl/users/default");
    assert.equal(m.status, 405);
    assert.equal(m.json.error, "method not allowed");
    assert.match(m.headers.get("allow") ?? "", /GET/);
    const h = await req("HEAD", "/v1/health", { auth: null });
    assert.equal(h.status, 200);
  });

  test("413: bodies over 64 KB, by Content-Length or chunked", async () => {
    const big = JSON.stringify({ rules: ["x".repeat(70000)] });
    const res = await req("PUT", "/v1/acl/users/big", { raw: big, headers: { "Content-Type": "application/json" } });
    assert.equal(res.status, 413);
    assert.equal(typeof res.json.error, "string");
    const chunks: Buffer[] = [];
    for (let i = 0; i < 10; i++) chunks.push(Buffer.alloc(8000, 0x20));
    const ch = await rawHttp("PUT", "/v1/acl/users/big", {
      Host: `127.0.0.1:${adminPort}`,
      Authorization: basic("default", ADMIN_PW),
      "Transfer-Encoding": "chunked",
      "Content-Type": "application/json",
    }, chunks);
    assert.equal(ch.status, 413);
    assert.equal(typeof JSON.parse(ch.body).error, "string");
    // Exactly 64 KB is accepted (padding after the JSON is whitespace).
    const body = JSON.stringify({ rules: ["on", "+ping"] });
    const exact = await req("PUT", "/v1/acl/users/big", { raw: body + " ".repeat(65536 - body.length) });
    assert.equal(exact.status, 200);
    // A chunked body under the limit works.
    const small = await rawHttp("PUT", "/v1/acl/users/big2", {
      Host: `127.0.0.1:${adminPort}`,
      Authorization: basic("default", ADMIN_PW),
      "Transfer-Encoding": "chunked",
    }, [Buffer.from('{"rules": '), Buffer.from('["on"]}')]);
    assert.equal(small.status, 200, small.body);
    assert.ok((await r.call("ACL", "USERS")).includes("big2"));
  });

  test("421: a Host outside localhost / 127.0.0.1 / [::1] / --admin-host names", async () => {
    const get = (host: string) => rawHttp("GET", "/v1/health", { Host: host });
    for (const h of [`127.0.0.1:${adminPort}`, `localhost:${adminPort}`, "localhost", `[::1]:${adminPort}`, `LOCALHOST:${adminPort}`]) {
      assert.equal((await get(h)).status, 200, h);
    }
    for (const h of [`evil.example:${adminPort}`, "evil.example", `127.0.0.1.evil.example:${adminPort}`, `localhost.evil:${adminPort}`, "10.0.0.1", "[::2]"]) {
      const res = await get(h);
      assert.equal(res.status, 421, h);
      assert.equal(typeof JSON.parse(res.body).error, "string");
    }
    // Authenticated routes too, before any auth.
    const u = await rawHttp("GET", "/v1/acl/users", { Host: "rebind.example", Authorization: basic("default", ADMIN_PW) });
    assert.equal(u.status, 421);
    // --admin-host adds names.
    assert.equal(await r.call("CONFIG", "SET", "admin-host", "aki.example other.example"), OK);
    try {
      assert.equal((await get(`aki.example:${adminPort}`)).status, 200);
      assert.equal((await get("other.example")).status, 200);
      assert.equal((await get("third.example")).status, 421);
    } finally {
      assert.equal(await r.call("CONFIG", "SET", "admin-host", ""), OK);
    }
    assert.equal((await get("aki.example")).status, 421);
  });

  test("no CORS headers, ever; cross-site browser requests are refused", async () => {
    const origin = "http://evil.example";
    const pre = await req("OPTIONS", "/v1/acl/users", {
      auth: null,
      headers: { Origin: origin, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization" },
    });
    const x = await req("PUT", "/v1/acl/users/csrf", { body: { rules: ["on", "nopass", "+@all"] }, headers: { Origin: origin } });
    assert.equal(x.status, 403);
    assert.ok(!(await r.call("ACL", "USERS")).includes("csrf"));
    const same = await req("GET", "/v1/acl/whoami", { headers: { Origin: base } });
    assert.equal(same.status, 200);
    for (const res of [pre, x, same, await req("GET", "/v1/health", { headers: { Origin: base } }), await req("GET", "/")]) {
      for (const k of res.headers.keys()) assert.ok(!k.toLowerCase().startsWith("access-control-"), k);
    }
  });

  test("HTTP requests never show up as connections", async () => {
    for (let i = 0; i < 5; i++) await req("GET", "/v1/acl/whoami");
    const list = respText(await r.call("CLIENT", "LIST"));
    assert.equal(list.trim().split("\n").length, 1, list);
  });

  test("GET /openapi.json: OpenAPI 3.1 with every route and its schemas", async () => {
    const res = await req("GET", "/openapi.json", { auth: null });
    assert.equal(res.status, 200);
    const doc = res.json;
    assert.equal(doc.openapi, "3.1.0");
    const paths = doc.paths as Record<string, Record<string, unknown>>;
    const routes = [
      ...ROUTES.map((x) => [x.method, x.path.split("?")[0]]),
      ["GET", "/v1/health"], ["GET", "/openapi.json"], ["GET", "/"],
      // the security features' routes (src/admin/security.ts)
      ["GET", "/v1/audit"], ["GET", "/v1/audit/stream"], ["GET", "/v1/auth/throttle"],
    ];
    for (const [method, path] of routes) {
      const p = path.replace("/users/route-probe-missing", "/users/{name}").replace("/users/route-probe", "/users/{name}")
        .replace("/users/default", "/users/{name}").replace("/categories/read", "/categories/{name}");
      assert.ok(paths[p]?.[method.toLowerCase()], `${method} ${p} documented`);
    }
    // Every $ref resolves.
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    assert.ok(refs.length > 10);
    for (const ref of refs) {
      const name = /#\/components\/schemas\/([^"]+)/.exec(ref)![1];
      assert.ok(doc.components.schemas[name], ref);
    }
    for (const s of ["User", "LogEntry", "DryRun", "DryRunResult", "DryRunExplain", "DryRunExplained", "AuditEvent", "PutUser", "Error", "BadRequest"]) assert.ok(doc.components.schemas[s], s);
    const logParams = (paths["/v1/acl/log"].get as { parameters: { name: string }[] }).parameters.map((p) => p.name);
    assert.deepEqual(logParams, ["count", "user", "reason", "context", "since", "until"]);
    assert.deepEqual(doc.components.schemas.LogEntry.required.length, 10);
  });

  test("GET / serves the page with a strict CSP", async () => {
    const res = await req("GET", "/", { auth: null });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    assert.match(res.text, /<title>aki admin<\/title>/);
    assert.ok(!/(src|href)="https?:/.test(res.text), "no outside assets");
  });
});

function sha256hex(s: string): string {
  return createHash("sha256").update(Buffer.from(s)).digest("hex");
}
