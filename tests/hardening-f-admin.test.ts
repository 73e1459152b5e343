/**
 * Hardening, group F: the HTTP admin API (reliability catalogue F1-F18), black-box against one
 * aki started with --admin-port, short slow-client limits (--admin-headers-timeout 2000,
 * --admin-request-timeout 3000) and --admin-max-inflight 16 so the timeout and cap cases run in
 * seconds. Raw sockets are used wherever fetch would normalise what is sent (paths, framing,
 * Host, trickled bytes).
 *
 * Already covered elsewhere, and only extended here:
 * - F2 every route without credentials -> 401 + WWW-Authenticate, wrong credentials counted and
 *   logged, per-route 403: tests/admin.test.ts "every ACL route needs credentials", "wrong
 *   credentials: 401 ...", "each route is allowed exactly when ...". Here: malformed Basic and
 *   Bearer values, identical bodies for a wrong password and an unknown user, `ro` -> 403.
 * - F5 Host allowlist: admin.test.ts "421: a Host outside ...". Here: with valid credentials.
 * - F6 no CORS: admin.test.ts "no CORS headers, ever ...". Here: the catalogue's exact preflight.
 * - F7 413 by Content-Length and chunked: admin.test.ts "413: bodies over 64 KB ...". Here: 10 MB
 *   bodies, the handler-did-not-run probe, and CL + TE -> 400.
 * - F8 validation 400 and no echo: admin.test.ts "400: bodies, params and queries ...".
 * - F9 DRYRUN parity over a fixed matrix: admin.test.ts "POST /v1/acl/dryrun agrees ...". Here:
 *   seeded random users and commands.
 * - F16 throttling of RESP AUTH: tests/security-throttle.test.ts. Here: over HTTP.
 * - F18 auth events: tests/security-audit.test.ts. Here: the per-request `http` event.
 * Scaled down for CI (2 shared cores, three runtimes): F13 50 slow connections (catalogue: 500),
 * F15 a 3 s flood of 12 concurrent clients (catalogue: wrk -c200 for 60 s), F16 60 attempts
 * (catalogue: 10k), F17 10k users and 128 log entries of 16 KB usernames as in the catalogue.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import os from "node:os";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import { BufferedSocket, startServer, freePort, currentRuntime, RawClient, resp, OK, type AkiServer } from "./harness.ts";
import { aclFixture, authed, parseReply, pingMs, prng, rss, sleep } from "./hardening-helpers.ts";

const JSON_CT = "application/json; charset=utf-8";

function basic(user: string | Buffer, pass: string | Buffer): string {
  const u = typeof user === "string" ? Buffer.from(user) : user;
  const p = typeof pass === "string" ? Buffer.from(pass) : pass;
  return "Basic " + Buffer.concat([u, Buffer.from(":"), p]).toString("base64");
}
const ADMIN = basic("admin", "adminpw");

interface Res {
  status: number;
  headers: Headers;
  text: string;
  // deno-lint-ignore no-explicit-any
  json: any;
  ms: number;
}

/** One parsed raw HTTP/1.1 response. */
interface RawRes {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function parseHead(head: string): { status: number; headers: Record<string, string> } {
  const lines = head.split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers };
}

/** Split complete responses off the front of buf (Content-Length or chunked bodies). */
function takeResponse(buf: Buffer, headOnly = false): { res: RawRes; rest: Buffer } | null {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const { status, headers } = parseHead(buf.toString("latin1", 0, end));
  let at = end + 4;
  if (headOnly || status === 204 || status === 304) return { res: { status, headers, body: "" }, rest: buf.subarray(at) };
  if (headers["transfer-encoding"]?.toLowerCase().includes("chunked")) {
    const parts: Buffer[] = [];
    for (;;) {
      const nl = buf.indexOf("\r\n", at);
      if (nl < 0) return null;
      const n = parseInt(buf.toString("latin1", at, nl), 16);
      if (buf.length < nl + 2 + n + 2) return null;
      if (n === 0) return { res: { status, headers, body: Buffer.concat(parts).toString("utf8") }, rest: buf.subarray(nl + 4) };
      parts.push(buf.subarray(nl + 2, nl + 2 + n));
      at = nl + 2 + n + 2;
    }
  }
  const len = Number(headers["content-length"] ?? 0);
  if (buf.length < at + len) return null;
  return { res: { status, headers, body: buf.toString("utf8", at, at + len) }, rest: buf.subarray(at + len) };
}

/** A kept-alive raw HTTP connection: requests go one after another over the same socket. */
class KeepAlive extends BufferedSocket {
  private constructor(sock: net.Socket) {
    super(sock);
  }
  static open(port: number): Promise<KeepAlive> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: "127.0.0.1" }, () => resolve(new KeepAlive(s)));
      s.once("error", reject);
    });
  }
  async request(method: string, path: string, headers: Record<string, string> = {}, body = ""): Promise<RawRes> {
    const h = { Host: "127.0.0.1", Connection: "keep-alive", ...headers } as Record<string, string>;
    if (body !== "") h["Content-Length"] = String(Buffer.byteLength(body));
    const text = `${method} ${path} HTTP/1.1\r\n` + Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n" + body;
    this.sock.write(text);
    return await this.take(
      (buf) => {
        const t = takeResponse(buf, method === "HEAD");
        return t && { value: t.res, rest: t.rest };
      },
      { ms: 5000, pollMs: 200, closedMsg: "connection closed before a response", timeoutMsg: "no response in 5 s" },
    );
  }
}

/** Send raw bytes on a fresh connection; the first response (if any) and whether the server closed. */
function rawHttp(port: number, data: string | Buffer, waitMs = 1500, headOnly = false): Promise<{ res: RawRes | null; closed: boolean; raw: string }> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: "127.0.0.1" }, () => s.write(data));
    let buf = Buffer.alloc(0);
    let res: RawRes | null = null;
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.removeAllListeners("close");
      s.destroy();
      resolve({ res, closed, raw: buf.toString("latin1") });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (res === null) {
        res = takeResponse(buf, headOnly)?.res ?? null;
        // A complete response: give the server 150 ms to close (Connection: close), then stop.
        if (res !== null) setTimeout(() => finish(false), 150);
      }
    });
    s.on("error", () => {});
    s.on("close", () => finish(true));
  });
}

const sha256hex = (s: string) => createHash("sha256").update(Buffer.from(s)).digest("hex");

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

describe("hardening F: admin HTTP API", () => {
  let srv: AkiServer;
  let hp: number; // admin port
  let base: string;
  let r: RawClient;
  let fx: ReturnType<typeof aclFixture>;

  async function req(method: string, path: string, opts: { auth?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Res> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const auth = opts.auth === undefined ? ADMIN : opts.auth;
    if (auth !== null) headers.Authorization = auth;
    let body: string | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["Content-Type"] ??= "application/json";
    }
    const t0 = performance.now();
    const res = await fetch(base + path, { method, headers, body });
    const text = await res.text();
    const ms = performance.now() - t0;
    let json: unknown = undefined;
    if ((res.headers.get("content-type") ?? "").includes("application/json") && text !== "") json = JSON.parse(text);
    return { status: res.status, headers: res.headers, text, json, ms };
  }

  /** A raw request line + headers (Host 127.0.0.1 unless given) on a fresh connection. */
  const raw = (method: string, path: string, headers: Record<string, string> = {}, body = "", waitMs = 1500) => {
    const h: Record<string, string> = { Host: `127.0.0.1:${hp}`, Connection: "close", ...headers };
    if (body !== "" && h["Content-Length"] === undefined && h["Transfer-Encoding"] === undefined) h["Content-Length"] = String(Buffer.byteLength(body));
    return rawHttp(hp, `${method} ${path} HTTP/1.1\r\n` + Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n" + body, waitMs, method === "HEAD");
  };

  before(async () => {
    fx = aclFixture();
    hp = await freePort();
    srv = await startServer([
      "--aclfile", fx.file, "--admin-port", String(hp), "--auth-max-failures", "0",
      "--admin-headers-timeout", "2000", "--admin-request-timeout", "3000", "--admin-max-inflight", "16",
    ], { waitFor: "admin API listening on" });
    base = `http://127.0.0.1:${hp}`;
    r = await authed(srv.port);
  });
  after(async () => {
    r?.close();
    await srv?.stop();
    fx?.cleanup();
  });

  test("F1 the admin API binds to loopback only by default", async () => {
    assert.match(srv.output(), new RegExp(`admin API listening on http://127\\.0\\.0\\.1:${hp}\\b`));
    const others: string[] = [];
    for (const list of Object.values(os.networkInterfaces())) {
      for (const a of list ?? []) {
        if (a.internal || a.address.startsWith("fe80:") || a.address.startsWith("127.") || a.address === "::1") continue;
        others.push(a.address);
      }
    }
    if (others.length === 0) {
      console.log("# F1: skipped the reachability probe: this machine has no non-loopback address");
      return;
    }
    for (const addr of others) {
      const outcome = await new Promise<string>((resolve) => {
        const s = net.connect({ port: hp, host: addr });
        const timer = setTimeout(() => {
          s.destroy();
          resolve("timeout");
        }, 2000);
        s.once("connect", () => {
          clearTimeout(timer);
          s.destroy();
          resolve("connected");
        });
        s.once("error", (e: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          resolve(e.code ?? "error");
        });
      });
      assert.notEqual(outcome, "connected", `the admin port answers on ${addr}`);
    }
  });

  test("F2 malformed credentials, uniform 401, 403 without permission", async () => {
    for (const auth of ["Basic !!!", "Basic", "Bearer", "Bearer a b c", "Digest x=1", "basic " + "A".repeat(5000)]) {
      const res = await raw("GET", "/v1/acl/users", { Authorization: auth });
      assert.ok(res.res, auth);
      assert.ok([400, 401].includes(res.res!.status), `${auth} -> ${res.res!.status}`);
      assert.equal(typeof JSON.parse(res.res!.body).error, "string");
      if (res.res!.status === 401) assert.match(res.res!.headers["www-authenticate"] ?? "", /^Basic realm="aki"/);
    }
    const wrong = await req("GET", "/v1/acl/users", { auth: basic("admin", "not-the-password") });
    const unknown = await req("GET", "/v1/acl/users", { auth: basic("no-such-user-f2", "whatever") });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.equal(wrong.text, unknown.text, "a wrong password and an unknown user look the same");
    assert.equal(wrong.headers.get("www-authenticate"), unknown.headers.get("www-authenticate"));
    const ro = await req("GET", "/v1/acl/users", { auth: basic("ro", "ropw") });
    assert.equal(ro.status, 403);
    assert.match(ro.json.error, /^NOPERM /);
  });

  test("F3 ACL changes take effect on the next request of a kept-alive connection", async () => {
    assert.equal(await r.call("ACL", "SETUSER", "admin2", "on", ">a2pw", "~*", "+@all"), OK);
    const ka = await KeepAlive.open(hp);
    try {
      const who = (auth: string) => ka.request("GET", "/v1/acl/whoami", { Authorization: auth });
      const ok = await who(basic("admin2", "a2pw"));
      assert.equal(ok.status, 200);
      assert.deepEqual(JSON.parse(ok.body), { username: "admin2" });
      assert.equal(await r.call("ACL", "SETUSER", "admin2", "off"), OK);
      assert.equal((await who(basic("admin2", "a2pw"))).status, 401, "off");
      assert.equal(await r.call("ACL", "SETUSER", "admin2", "on"), OK);
      assert.equal((await who(basic("admin2", "a2pw"))).status, 200, "on again");
      assert.equal(await r.call("ACL", "SETUSER", "admin2", "<a2pw", ">a2-new"), OK);
      assert.equal((await who(basic("admin2", "a2pw"))).status, 401, "old password");
      assert.equal((await who(basic("admin2", "a2-new"))).status, 200, "new password");
      assert.equal(await r.call("ACL", "SETUSER", "admin2", "-@all", "+acl|whoami"), OK);
      assert.equal((await ka.request("GET", "/v1/acl/users", { Authorization: basic("admin2", "a2-new") })).status, 403, "permission removed");
      assert.equal(await r.call("ACL", "DELUSER", "admin2"), ":1\r\n");
      assert.equal((await who(basic("admin2", "a2-new"))).status, 401, "deleted");
      assert.equal(ka.closed, false, "all of it over one connection");
    } finally {
      ka.close();
    }
  });

  test("F4 failed HTTP sign-ins: one ACL LOG entry, counted, identifiable, no password", async () => {
    assert.equal(await r.call("ACL", "LOG", "RESET"), OK);
    const guess = "Gu3ss-" + Math.random().toString(36).slice(2);
    for (let i = 0; i < 5; i++) assert.equal((await req("GET", "/v1/acl/whoami", { auth: basic("admin", guess) })).status, 401);
    const log = await req("GET", "/v1/acl/log?count=50");
    assert.equal(log.status, 200);
    assert.equal(log.json.length, 1, log.text);
    const e = log.json[0];
    assert.equal(e.count, 5);
    assert.equal(e.reason, "auth");
    assert.equal(e.username, "admin");
    assert.equal(e.context, "toplevel");
    assert.equal(e.object, "AUTH");
    assert.match(e["client-info"], /\bname=aki-admin-http\b/, "the HTTP API is named in client-info");
    assert.match(e["client-info"], /\baddr=127\.0\.0\.1:\d+/);
    assert.ok(!log.text.includes(guess), "no password in the log");
    assert.ok(!(await r.call("ACL", "LOG")).includes(guess));
  });

  test("F5 Host allowlist with valid credentials", async () => {
    assert.equal((await raw("GET", "/v1/acl/users", { Host: `evil.example:${hp}`, Authorization: ADMIN })).res?.status, 421);
    for (const h of [`localhost:${hp}`, `127.0.0.1:${hp}`, `[::1]:${hp}`]) {
      const res = await raw("GET", "/v1/acl/users", { Host: h, Authorization: ADMIN });
      assert.equal(res.res?.status, 200, h);
    }
  });

  test("F6 no CORS: preflight and GET with a foreign Origin", async () => {
    const pre = await raw("OPTIONS", "/v1/acl/users", { Origin: "https://evil.example", "Access-Control-Request-Method": "GET", Authorization: ADMIN });
    const get = await raw("GET", "/v1/acl/users", { Origin: "https://evil.example", Authorization: ADMIN });
    for (const x of [pre, get]) {
      assert.ok(x.res);
      assert.notEqual(x.res!.status, 200);
      for (const k of Object.keys(x.res!.headers)) assert.ok(!k.startsWith("access-control-"), k);
    }
  });

  test("F7 10 MB bodies are 413 without running the handler; CL + TE is 400", async () => {
    // Content-Length: answered from the headers alone (no body byte is sent).
    const cl = await raw("PUT", "/v1/acl/users/f7-cl", { Authorization: ADMIN, "Content-Type": "application/json", "Content-Length": String(10 * 1024 * 1024) }, "", 3000);
    assert.equal(cl.res?.status, 413, cl.raw.slice(0, 300));
    assert.equal(typeof JSON.parse(cl.res!.body).error, "string");
    // Chunked: a valid JSON start that would create the user, then padding up to 10 MB.
    const res = await new Promise<RawRes | null>((resolve) => {
      const s = net.connect({ port: hp, host: "127.0.0.1" });
      let buf = Buffer.alloc(0);
      let done = false;
      const finish = (x: RawRes | null) => {
        if (done) return;
        done = true;
        s.destroy();
        resolve(x);
      };
      s.on("error", () => finish(takeResponse(buf)?.res ?? null));
      s.on("close", () => finish(takeResponse(buf)?.res ?? null));
      s.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const t = takeResponse(buf);
        if (t) finish(t.res);
      });
      s.on("connect", async () => {
        s.write(`PUT /v1/acl/users/f7-probe HTTP/1.1\r\nHost: 127.0.0.1:${hp}\r\nAuthorization: ${ADMIN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
        const first = '{"rules": ["on", "nopass", "+@all"], "pad": "';
        s.write(`${first.length.toString(16)}\r\n${first}\r\n`);
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        const framed = Buffer.concat([Buffer.from(chunk.length.toString(16) + "\r\n"), chunk, Buffer.from("\r\n")]);
        for (let sent = 0; sent < 10 * 1024 * 1024 && !done; sent += chunk.length) {
          if (!s.write(framed)) await new Promise<void>((ok) => {
            s.once("drain", ok);
            setTimeout(ok, 500);
          });
        }
        if (!done) s.write('1\r\n"\r\n1\r\n}\r\n0\r\n\r\n');
        setTimeout(() => finish(takeResponse(buf)?.res ?? null), 5000);
      });
    });
    // The server answers 413 and closes while the client is still sending: the client may see a
    // reset before it could read the response, so the server's own record (the audit event) is
    // what proves the 413.
    assert.ok(res === null || res.status === 413, String(res?.status));
    assert.equal(await r.call("ACL", "GETUSER", "f7-probe"), "$-1\r\n", "the handler did not run");
    const audit = await req("GET", "/v1/audit?type=http");
    const ev = audit.json.filter((e: { path: string }) => e.path === "/v1/acl/users/f7-probe");
    assert.deepEqual(ev.map((e: { status: number }) => e.status), [413]);
    // Both framings: refused by the runtime's HTTP parser (or by aki), never routed.
    const body = '{"rules":["on","nopass","+@all"]}';
    for (const order of [0, 1]) {
      const h: Record<string, string> = order === 0
        ? { "Content-Length": "3", "Transfer-Encoding": "chunked" }
        : { "Transfer-Encoding": "chunked", "Content-Length": "3" };
      const x = await raw("PUT", "/v1/acl/users/f7-smuggle", { Authorization: ADMIN, "Content-Type": "application/json", ...h }, `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
      assert.equal(x.res?.status, 400, x.raw.slice(0, 200));
      assert.equal(x.closed, true, "closed after the 400");
    }
    assert.equal(await r.call("ACL", "GETUSER", "f7-smuggle"), "$-1\r\n");
  });

  test("F8 hostile bodies are 4xx JSON, never 500; RSS stays flat", async () => {
    const rss0 = rss(srv.proc.pid);
    const dry = (raw: string, headers: Record<string, string> = { "Content-Type": "application/json" }) =>
      req("POST", "/v1/acl/dryrun", { raw, headers });
    const nest = (n: number) => "[".repeat(n) + "]".repeat(n);
    const cases: [string, Promise<Res>, number[]][] = [
      ["not JSON", dry("{not json"), [400]],
      ["text/plain", dry('{"username":"admin","command":["get","k"]}', { "Content-Type": "text/plain" }), [415]],
      ["form", dry('{"username":"admin","command":["get","k"]}', { "Content-Type": "application/x-www-form-urlencoded" }), [415]],
      ["{}", dry("{}"), [400]],
      ['{"user":1}', dry('{"user":1}'), [400]],
      ["args not strings", dry('{"username":"admin","command":["get",1,{"a":[]}]}'), [400]],
      ["args not an array", dry('{"username":"admin","command":"get k"}'), [400]],
      ["100k args", dry(JSON.stringify({ username: "admin", command: Array(100000).fill("a") })), [413]],
      ["20k args (under 64 KB)", dry(JSON.stringify({ username: "admin", command: Array(20000).fill("") })), [400]],
      ["10^6-deep nesting", dry(nest(1000000)), [413]],
      ["30k-deep nesting (under 64 KB)", dry(`{"username":"admin","command":${nest(30000)}}`), [400]],
      ["deep nesting as the body", dry(nest(30000)), [400]],
      ["extra fields", dry('{"username":"admin","command":["get","k"],"extra":1}'), [400]],
      ["8 KB username", dry(JSON.stringify({ username: "u".repeat(8192), command: ["get", "k"] })), [400]],
      ["null", dry("null"), [400]],
      ["a number", dry("1e999999"), [400]],
      ["invalid UTF-8", dry("\"\udc00\""), [400]],
    ];
    for (const [what, p, want] of cases) {
      const res = await p;
      assert.ok(want.includes(res.status), `${what}: ${res.status} ${res.text.slice(0, 200)}`);
      assert.equal(res.headers.get("content-type"), JSON_CT, what);
      assert.equal(typeof res.json.error, "string", what);
      assert.ok(!/\bat .*\.(ts|js|mjs):\d+/.test(res.text), `${what}: a stack trace`);
    }
    // An 8 KB username in the Authorization header: refused, never a 500.
    const longUser = await raw("GET", "/v1/acl/whoami", { Authorization: basic("u".repeat(8192), "x") });
    assert.ok(longUser.res && longUser.res.status >= 400 && longUser.res.status < 500, String(longUser.res?.status));
    // The server still answers, and its memory did not run away.
    assert.equal((await req("GET", "/v1/acl/whoami")).status, 200);
    const grew = rss(srv.proc.pid) - rss0;
    if (!Number.isNaN(grew)) assert.ok(grew < 100 * 1024 * 1024, `RSS grew ${grew} bytes`);
  });

  test("F9 HTTP dryrun equals RESP ACL DRYRUN over seeded cases; the keyspace is untouched", async () => {
    const rnd = prng(0xf9);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
    // A small keyspace and its checksum.
    for (let i = 0; i < 20; i++) assert.equal(await r.call("SET", `app:${i}`, `v${i}`), OK);
    const checksum = async () => {
      const keys = (parseReply(await r.call("KEYS", "*")) as string[]).sort();
      const vals = keys.length ? (parseReply(await r.call("MGET", ...keys)) as unknown[]) : [];
      return createHash("sha256").update(JSON.stringify([keys, vals])).digest("hex");
    };
    const sum0 = await checksum();
    const rules = ["+@read", "+@write", "-@dangerous", "+get", "+set", "-set", "+del", "+publish", "+subscribe", "~app:*", "~*", "%R~r:*",
      "%W~w:*", "&news*", "allchannels", "resetchannels", "+config|get", "+client", "-client|kill", "+@keyspace", "(+get ~sel:*)", "nopass", "+acl|whoami"];
    const users: string[] = [];
    for (let i = 0; i < 12; i++) {
      const name = `f9u${i}`;
      const n = 1 + Math.floor(rnd() * 5);
      const rs = Array.from({ length: n }, () => pick(rules));
      const reply = await r.call("ACL", "SETUSER", name, "reset", "on", ...rs);
      if (reply === OK) users.push(name);
    }
    users.push("admin", "ro", "app", "missing-user");
    const cmds: (() => string[])[] = [
      () => ["get", pick(["app:1", "r:1", "w:1", "sel:1", "x"])],
      () => ["set", pick(["app:1", "r:1", "w:1", "sel:1"]), "v"],
      () => ["del", pick(["app:1", "x"]), pick(["w:1", "sel:2"])],
      () => ["mget", "app:1", pick(["r:1", "x"])],
      () => ["publish", pick(["news.a", "other"]), "m"],
      () => ["subscribe", pick(["news.a", "x"])],
      () => ["copy", pick(["r:1", "w:1"]), pick(["w:2", "r:2"])],
      () => ["config", pick(["get", "set"]), "maxmemory", "1"],
      () => ["client", pick(["list", "kill", "id"])],
      () => [pick(["flushall", "keys", "ping", "acl", "nosuchcmd"]), "*"],
      () => ["get"],
    ];
    // 1000 cases as in the catalogue: each is one RESP call and one HTTP request (a few seconds).
    const N = 1000;
    for (let i = 0; i < N; i++) {
      const u = pick(users);
      const cmd = pick(cmds)();
      const viaResp = await r.call("ACL", "DRYRUN", u, ...cmd);
      const res = await req("POST", "/v1/acl/dryrun", { body: { username: u, command: cmd } });
      const what = `case ${i}: ${u}: ${cmd.join(" ")}`;
      const v = parseReply(viaResp);
      if (viaResp === OK) assert.deepEqual([res.status, res.json], [200, { allowed: true, message: "OK" }], what);
      else if (typeof v === "string") assert.deepEqual([res.status, res.json], [200, { allowed: false, message: v }], what);
      else assert.deepEqual([res.status, res.json.error], [400, (v as { error: string }).error], what);
    }
    assert.equal(await checksum(), sum0, "DRYRUN changed the keyspace");
  });

  test("F10 no secrets in responses, logs or errors", async () => {
    const pw = "F10-cleartext-" + Math.random().toString(36).slice(2);
    assert.equal(await r.call("ACL", "SETUSER", "f10", "on", `>${pw}`, "+@all", "~*"), OK);
    const auth = basic("f10", pw);
    const wrongPw = "F10-wrong-" + Math.random().toString(36).slice(2);
    const wrongAuth = basic("f10", wrongPw);
    const bodies: string[] = [];
    const keep = (x: Res) => {
      bodies.push(x.text);
      return x;
    };
    keep(await req("GET", "/v1/acl/users", { auth }));
    keep(await req("GET", "/v1/acl/users/f10", { auth }));
    keep(await req("GET", "/v1/acl/whoami", { auth: wrongAuth }));
    keep(await req("PUT", "/v1/acl/users/f10-bad", { body: { rules: [`>${pw}`, "bogus-rule"] } }));
    keep(await req("PUT", "/v1/acl/users/f10-bad", { body: { rules: `>${pw}` } }));
    keep(await req("GET", "/v1/acl/nope", { auth: wrongAuth }));
    keep(await req("GET", "/v1/acl/log?count=100"));
    keep(await req("POST", "/v1/acl/dryrun", { body: { username: "f10", command: ["auth", "f10", pw] } }));
    // The audit stream: rule lines as ACL LIST writes them (hashes), never cleartext.
    const audit = (await req("GET", "/v1/audit")).text;
    const secrets = [pw, wrongPw, wrongAuth.slice(6), auth.slice(6), Buffer.from(pw).toString("base64")];
    for (const b of [...bodies, audit]) for (const s of secrets) assert.ok(!b.includes(s), `a secret in ${b.slice(0, 120)}`);
    // Decision: /v1/acl/users and /v1/acl/users/:name show SHA-256 hashes, as ACL LIST / GETUSER do
    // for the same permission; no other response carries them.
    const hash = sha256hex(pw);
    assert.ok(bodies[0].includes(hash) && bodies[1].includes(hash));
    for (const b of bodies.slice(2)) assert.ok(!b.includes(hash), `the hash in ${b.slice(0, 120)}`);
    assert.ok(!srv.output().includes(pw) && !srv.output().includes(wrongPw), "server output");
  });

  test("F11 every response, errors included: JSON, nosniff, no-store, no X-Powered-By", async () => {
    const list: [string, RawRes | null][] = [
      ["200", (await raw("GET", "/v1/acl/whoami", { Authorization: ADMIN })).res],
      ["200 health", (await raw("GET", "/v1/health")).res],
      ["HEAD", (await raw("HEAD", "/v1/acl/whoami", { Authorization: ADMIN })).res],
      ["400", (await raw("PUT", "/v1/acl/users/x", { Authorization: ADMIN, "Content-Type": "application/json" }, "{bad")).res],
      ["401", (await raw("GET", "/v1/acl/users")).res],
      ["401 wrong", (await raw("GET", "/v1/acl/users", { Authorization: basic("admin", "no") })).res],
      ["403", (await raw("GET", "/v1/acl/users", { Authorization: basic("ro", "ropw") })).res],
      ["403 origin", (await raw("GET", "/v1/acl/users", { Authorization: ADMIN, Origin: "http://evil.example" })).res],
      ["404", (await raw("GET", "/nope")).res],
      ["405", (await raw("PATCH", "/v1/acl/users")).res],
      ["413", (await raw("PUT", "/v1/acl/users/x", { Authorization: ADMIN, "Content-Length": "99999999" })).res],
      ["415", (await raw("PUT", "/v1/acl/users/x", { Authorization: ADMIN, "Content-Type": "text/plain" }, "{}")).res],
      ["421", (await raw("GET", "/v1/acl/users", { Host: "evil.example" })).res],
      ["openapi", (await raw("GET", "/openapi.json")).res],
    ];
    for (const [what, res] of list) {
      assert.ok(res, what);
      assert.equal(res!.headers["content-type"], JSON_CT, what);
      assert.equal(res!.headers["x-content-type-options"], "nosniff", what);
      assert.equal(res!.headers["cache-control"], "no-store", what);
      assert.equal(res!.headers["x-powered-by"], undefined, what);
      assert.equal(res!.headers["server"]?.match(/express|hono/i), undefined, what);
    }
    // The page is HTML but hardened the same way.
    const page = (await raw("GET", "/")).res!;
    assert.match(page.headers["content-type"], /^text\/html/);
    assert.equal(page.headers["x-content-type-options"], "nosniff");
    assert.equal(page.headers["cache-control"], "no-store");
  });

  test("F12 routing tricks never answer 200 without credentials", async () => {
    const paths = [
      "/v1/acl/../acl/users", "//v1/acl/users", "/V1/ACL/USERS", "/v1/acl/users/", "/v1/acl/%75sers", "/v1/acl/users%2f",
      "/v1/acl/users%2F..%2Fwhoami", "/./v1/acl/users", "/v1/acl/./users", "/v1/acl/users;x", "/v1/acl/users?x=1", "/v1/acl/users#frag",
      "/v1/acl/users/%2e%2e/whoami", "/v1/./acl/log", "/v1//acl/log", "/v1/acl/log/", "/v1/audit/", "/v1/audit/stream/", "/%2fv1/acl/users",
      "http://127.0.0.1/v1/acl/users", "*", "/v1/acl/users\\..\\whoami", "/v1/acl/dryrun/", "/v1/acl/whoami%00",
    ];
    for (const p of paths) {
      for (const m of ["GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE"]) {
        const x = await raw(m, p, {}, "", 1000);
        const s = x.res?.status ?? 0;
        assert.ok(s < 200 || s >= 300, `${m} ${p} -> ${s}`);
      }
    }
    const unknown = await req("GET", "/v1/nothing-here", { auth: null });
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.json, { error: "not found" });
    const wrongMethod = await req("PATCH", "/v1/acl/whoami", { auth: null });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.json.error, "method not allowed");
  });

  test("F13 slowloris: trickled headers are cut at the headers timeout; others are served fast", async () => {
    // 50 connections (catalogue: 500) each sending one header byte every 300 ms; the server's
    // headers timeout is 2 s here (default 10 s).
    const N = 50;
    const socks: { s: net.Socket; closedAt: number }[] = [];
    const t0 = Date.now();
    const line = `GET /v1/acl/users HTTP/1.1\r\nHost: 127.0.0.1:${hp}\r\nX-Slow: ` + "a".repeat(1000);
    for (let i = 0; i < N; i++) {
      const s = net.connect({ port: hp, host: "127.0.0.1" });
      const rec = { s, closedAt: 0 };
      s.on("error", () => {});
      s.on("close", () => (rec.closedAt = Date.now()));
      let at = 0;
      const timer = setInterval(() => {
        if (s.destroyed || at >= line.length) return clearInterval(timer);
        s.write(line[at++]);
      }, 300);
      s.on("close", () => clearInterval(timer));
      socks.push(rec);
    }
    await sleep(500);
    // During the attack: a legitimate request and RESP PINGs are answered fast.
    const legit: number[] = [];
    const pings: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await req("GET", "/v1/acl/whoami");
      assert.equal(res.status, 200);
      legit.push(res.ms);
      for (let j = 0; j < 5; j++) pings.push(await pingMs(r));
      await sleep(50);
    }
    assert.ok(quantile(legit, 0.5) < 250, `admin requests during the attack: ${legit.map(Math.round)}`);
    assert.ok(Math.max(...pings) < 500, `PINGs during the attack: ${pings.map(Math.round)}`);
    // Every slow connection is closed soon after the 2 s headers timeout. Bun: uWebSockets closes
    // a connection whose headers are not complete after its own fixed ~10 s, whatever
    // idleTimeout says (Bun.serve has no header timeout option), so the wait is longer there.
    const limit = currentRuntime() === "bun" ? 10000 : 2000;
    const deadline = t0 + limit + 5000;
    while (socks.some((x) => x.closedAt === 0) && Date.now() < deadline) await sleep(100);
    const open = socks.filter((x) => x.closedAt === 0).length;
    for (const x of socks) x.s.destroy();
    assert.equal(open, 0, `${open} of ${N} slow connections still open after ${Date.now() - t0} ms`);
    const last = Math.max(...socks.map((x) => x.closedAt)) - t0;
    assert.ok(last >= limit - 500, `closed too early (${last} ms): the timeout is ${limit} ms`);
  });

  test("F14 slow bodies are cut at the request timeout; requests in flight are capped (503)", async () => {
    // One body byte every 300 ms of a declared 1000: closed at the 3 s request timeout (408 from
    // aki itself on every runtime; node:http's own requestTimeout may answer first).
    const t0 = Date.now();
    const slow = await new Promise<{ closedAfter: number; reply: string }>((resolve) => {
      const s = net.connect({ port: hp, host: "127.0.0.1" }, () => {
        s.write(`POST /v1/acl/dryrun HTTP/1.1\r\nHost: 127.0.0.1:${hp}\r\nAuthorization: ${ADMIN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`);
      });
      let reply = "";
      const timer = setInterval(() => !s.destroyed && s.write(" "), 300);
      const give = setTimeout(() => s.destroy(), 15000);
      s.on("data", (d: Buffer) => (reply += d.toString("latin1")));
      s.on("error", () => {});
      s.on("close", () => {
        clearInterval(timer);
        clearTimeout(give);
        resolve({ closedAfter: Date.now() - t0, reply });
      });
    });
    assert.ok(slow.closedAfter < 8000, `a slow body kept its connection ${slow.closedAfter} ms`);
    assert.ok(slow.closedAfter >= 1500, `closed after ${slow.closedAfter} ms`);
    assert.ok(!slow.reply.startsWith("HTTP/1.1 200"), slow.reply.slice(0, 100));

    // The cap: 16 requests stuck reading their bodies fill it; the 17th is 503 + Retry-After.
    const stuck: net.Socket[] = [];
    for (let i = 0; i < 16; i++) {
      const s = net.connect({ port: hp, host: "127.0.0.1" });
      s.on("error", () => {});
      s.write(`PUT /v1/acl/users/f14-${i} HTTP/1.1\r\nHost: 127.0.0.1:${hp}\r\nAuthorization: ${ADMIN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`);
      stuck.push(s);
    }
    await sleep(400);
    const over = await req("GET", "/v1/acl/whoami");
    assert.equal(over.status, 503, over.text);
    assert.equal(over.headers.get("retry-after"), "1");
    assert.equal(over.headers.get("content-type"), JSON_CT);
    assert.equal(typeof over.json.error, "string");
    assert.ok(over.ms < 1000, "answered at once");
    // RESP is not affected.
    assert.ok((await pingMs(r)) < 500);
    // Gone clients free their slots (no leak): soon the API answers again.
    for (const s of stuck) s.destroy();
    let ok = 0;
    const until = Date.now() + 8000;
    while (Date.now() < until) {
      if ((await req("GET", "/v1/acl/whoami")).status === 200) {
        ok++;
        break;
      }
      await sleep(200);
    }
    assert.equal(ok, 1, "slots were freed after the clients left");
    for (let i = 0; i < 16; i++) assert.equal(await r.call("ACL", "GETUSER", `f14-${i}`), "$-1\r\n");
  });

  test("F15 an admin flood does not starve RESP", async () => {
    const sample = async (n: number) => {
      const xs: number[] = [];
      for (let i = 0; i < n; i++) xs.push(await pingMs(r));
      return xs;
    };
    const idle = await sample(200);
    // 12 concurrent clients (under the in-flight cap) hammering /v1/acl/log for 3 s, from a
    // separate node process so this process only measures PINGs.
    const script = `
      const url = process.env.URL, auth = process.env.AUTH, until = Date.now() + 3300;
      const statuses = {}; let done = 0;
      await Promise.all(Array.from({ length: 12 }, async () => {
        while (Date.now() < until) {
          try {
            const res = await fetch(url, { headers: { Authorization: auth } });
            await res.arrayBuffer();
            statuses[res.status] = (statuses[res.status] ?? 0) + 1;
            done++;
          } catch (e) { const k = "error " + (e.cause?.code ?? e.message); statuses[k] = (statuses[k] ?? 0) + 1; }
        }
      }));
      console.log(JSON.stringify({ done, statuses }));`;
    const child = spawn("node", ["--input-type=module", "-e", script], {
      env: { ...process.env, URL: base + "/v1/acl/log?count=20", AUTH: ADMIN },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    await sleep(300);
    const during: number[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 2500) {
      during.push(await pingMs(r));
      await sleep(5);
    }
    await exited;
    const { done, statuses } = JSON.parse(out) as { done: number; statuses: Record<string, number> };
    const p99a = quantile(idle, 0.99);
    const p99b = quantile(during, 0.99);
    console.log(`# F15: ${done} admin requests; PING p99 ${p99a.toFixed(2)} ms alone, ${p99b.toFixed(2)} ms under the flood`);
    assert.ok(done > 50, `the flood ran (${done} requests)`);
    assert.deepEqual(Object.keys(statuses), ["200"], `flood statuses ${JSON.stringify(statuses)}`);
    // One event loop serves both and each admin request is short, so a PING waits at most behind
    // a few of them. The bound is loose for 2 shared cores running the server, the flood and
    // this process: p99 under the flood < 20x the idle p99 + 150 ms (the catalogue's 2x holds on
    // an idle machine; the measured values are printed above).
    assert.ok(p99b < 20 * p99a + 150, `PING p99 ${p99b} ms under the flood vs ${p99a} ms`);
  });

  test("F16 brute force over HTTP: throttled with 429 + Retry-After; the right password still signs in", async () => {
    assert.equal(await r.call("ACL", "LOG", "RESET"), OK);
    assert.equal(await r.call("CONFIG", "SET", "auth-max-failures", "5", "auth-max-delay", "300", "auth-failure-window", "60"), OK);
    try {
      const statuses: number[] = [];
      let throttledMs = 0;
      // 30 wrong attempts in a row (catalogue: 10k) from one address for one user.
      for (let i = 0; i < 30; i++) {
        const res = await req("GET", "/v1/acl/whoami", { auth: basic("admin", "wrong-" + i) });
        statuses.push(res.status);
        if (res.status === 429) {
          throttledMs = Math.max(throttledMs, res.ms);
          assert.match(res.headers.get("retry-after") ?? "", /^[1-9]\d*$/);
          assert.equal(typeof res.json.error, "string");
        }
      }
      assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
      assert.ok(statuses.slice(5).every((s) => s === 429), JSON.stringify(statuses));
      assert.ok(throttledMs >= 250, `throttled answers are delayed (${throttledMs} ms)`);
      // During a parallel attack from the same address, the right password signs in (held for the
      // delay, then checked): no lockout of the real user.
      let stop = false;
      const attack = Array.from({ length: 6 }, async (_, k) => {
        let i = 0;
        // (A kept-alive socket the server just closed can fail a request: that is not the test.)
        while (!stop) await req("GET", "/v1/acl/whoami", { auth: basic("admin", `par-${k}-${i++}`) }).catch(() => {});
      });
      await sleep(200);
      const t0 = performance.now();
      const good = await raw("GET", "/v1/acl/whoami", { Authorization: ADMIN }, "", 5000);
      const goodMs = performance.now() - t0;
      stop = true;
      await Promise.all(attack);
      assert.equal(good.res?.status, 200, `closed ${good.closed} after ${goodMs} ms: ${good.raw.slice(0, 300)}`);
      assert.deepEqual(JSON.parse(good.res!.body), { username: "admin" });
      assert.ok(goodMs < 2000, `the right password took ${goodMs} ms`);
      // The address shows as throttled; the failures are one ACL LOG entry.
      const th = await req("GET", "/v1/auth/throttle");
      assert.ok(th.json.addresses.some((a: { address: string; throttled: boolean }) => a.address === "127.0.0.1" && a.throttled), th.text);
      const log = await req("GET", "/v1/acl/log?count=100");
      const entries = log.json.filter((e: { username: string; reason: string }) => e.username === "admin" && e.reason === "auth");
      assert.equal(entries.length, 1, log.text.slice(0, 500));
      assert.ok(entries[0].count >= 31, `count ${entries[0].count}`);
    } finally {
      assert.equal(await r.call("CONFIG", "SET", "auth-max-failures", "0"), OK);
    }
    assert.equal((await req("GET", "/v1/acl/whoami")).status, 200);
  });

  test("F17 10k users and 128 log entries of 16 KB binary usernames: valid JSON, bounded, fast", async () => {
    const N = 10000;
    const batch = 500;
    for (let i = 0; i < N; i += batch) {
      let out = Buffer.alloc(0);
      const parts: Buffer[] = [];
      for (let j = i; j < i + batch; j++) parts.push(resp("ACL", "SETUSER", `bulk${j}`, "on", `>pw${j}`, "~k:*", "+get"));
      out = Buffer.concat(parts);
      r.write(out);
      for (let j = 0; j < batch; j++) assert.equal(await r.read(), OK);
    }
    try {
      const t0 = performance.now();
      const res = await req("GET", "/v1/acl/users");
      const ms = performance.now() - t0;
      assert.equal(res.status, 200);
      assert.ok(res.json.length >= N);
      const size = Buffer.byteLength(res.text);
      console.log(`# F17: /v1/acl/users with ${res.json.length} users: ${size} bytes in ${ms.toFixed(0)} ms`);
      assert.ok(size < res.json.length * 1024, `${size} bytes`);
      assert.ok(ms < 5000, `${ms} ms`);
    } finally {
      for (let i = 0; i < N; i += batch) {
        const names = Array.from({ length: batch }, (_, k) => `bulk${i + k}`);
        assert.equal(await r.call("ACL", "DELUSER", ...names), `:${batch}\r\n`);
      }
    }
    // 128 failed AUTHs with distinct 16 KB binary usernames (invalid UTF-8 among them).
    assert.equal(await r.call("ACL", "LOG", "RESET"), OK);
    const rnd = prng(17);
    const c = await RawClient.connect(srv.port);
    try {
      const parts: Buffer[] = [];
      for (let i = 0; i < 128; i++) {
        const name = Buffer.alloc(16 * 1024);
        for (let k = 0; k < name.length; k++) name[k] = Math.floor(rnd() * 256);
        name.writeUInt32BE(i, 0);
        parts.push(resp("AUTH", name, "x"));
      }
      c.write(Buffer.concat(parts));
      for (let i = 0; i < 128; i++) assert.match(await c.read(), /^-WRONGPASS/);
    } finally {
      c.close();
    }
    const t0 = performance.now();
    const res = await req("GET", "/v1/acl/log?count=1000");
    const ms = performance.now() - t0;
    assert.equal(res.status, 200);
    assert.equal(res.json.length, 128, "acllog-max-len bounds the entries");
    for (const e of res.json) {
      assert.equal(typeof e.username, "string");
      // The documented rule: bytes that are not UTF-8 become U+FFFD; the JSON stays valid.
      assert.ok(e.username.length > 0 && e.username.length <= 16 * 1024);
    }
    assert.ok(res.json.some((e: { username: string }) => e.username.includes("\ufffd")));
    const size = Buffer.byteLength(res.text);
    console.log(`# F17: ACL LOG of 128 x 16 KB usernames: ${size} bytes in ${ms.toFixed(0)} ms`);
    // Bounded: 128 entries, each username at most 16 KB of bytes, at most 6 JSON bytes per byte.
    assert.ok(size < 128 * (16 * 1024 * 6 + 2048), `${size} bytes`);
    assert.ok(ms < 5000, `${ms} ms`);
    assert.equal(await r.call("ACL", "LOG", "RESET"), OK);
  });

  test("F18 one audit event per admin request: time, user, address, route, status; no secrets", async () => {
    const secret = "F18-secret-" + Math.random().toString(36).slice(2);
    const marker = "f18-" + Math.random().toString(36).slice(2, 8);
    const calls: [string, string, string | null, unknown, number][] = [
      ["GET", `/v1/acl/users/${marker}-missing`, ADMIN, undefined, 404],
      ["PUT", `/v1/acl/users/${marker}`, ADMIN, { rules: ["on", `>${secret}`, "+ping"] }, 200],
      ["GET", `/v1/acl/users/${marker}`, null, undefined, 401],
      ["GET", `/v1/acl/users/${marker}`, basic("admin", secret), undefined, 401],
      ["GET", `/v1/acl/users/${marker}`, basic("ro", "ropw"), undefined, 403],
      ["DELETE", `/v1/acl/users/${marker}`, ADMIN, undefined, 200],
    ];
    for (const [m, p, auth, body, want] of calls) assert.equal((await req(m, p, { auth, body })).status, want, `${m} ${p}`);
    const res = await req("GET", "/v1/audit?type=http");
    assert.equal(res.status, 200);
    const ev = res.json.filter((e: { path: string }) => e.path.startsWith(`/v1/acl/users/${marker}`));
    assert.equal(ev.length, calls.length, JSON.stringify(ev));
    const users = [ "admin", "admin", null, "admin", "ro", "admin"];
    ev.forEach((e: Record<string, unknown>, i: number) => {
      const [m, p, , , status] = calls[i];
      assert.equal(e.type, "http");
      assert.equal(e.method, m);
      assert.equal(e.path, p);
      assert.equal(e.status, status);
      assert.equal(e.user, users[i]);
      assert.match(String(e.addr), /^127\.0\.0\.1:\d+$/);
      assert.ok(Math.abs(Date.parse(String(e.time)) - Date.now()) < 60000);
      assert.equal(typeof e.ms, "number");
    });
    // Failed sign-ins are also auth events (tests/security-audit.test.ts), and nothing carries a
    // body or a header.
    const all = (await req("GET", "/v1/audit")).text;
    assert.ok(!all.includes(secret), "no body or password");
    assert.ok(!all.includes(ADMIN.slice(6)) && !/authorization/i.test(all), "no Authorization header");
  });
});
