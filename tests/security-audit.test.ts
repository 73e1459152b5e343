/**
 * The audit stream (src/security/audit.ts) and its admin API routes (src/admin/security.ts):
 * one aki with --auditfile, --aclfile and --admin-port. Events are checked field by field
 * (AUTH / HELLO outcomes, ACL SETUSER / DELUSER / LOAD / SAVE with rule lines before and
 * after, CONFIG SET of security directives, connections closed by ACL changes and limits,
 * audit-commands), the file is 0600 JSON lines rotated to PATH.1, GET /v1/audit filters,
 * GET /v1/audit/stream pushes live events, GET /v1/auth/throttle lists throttled addresses
 * and users, and every cleartext password used here is searched for in the files, the API
 * responses and the server's output: it must appear nowhere.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, freePort, RawClient, OK, err, bulk, type AkiServer } from "./harness.ts";

const ADMIN_PW = "adm1n-Secret-pw";
const ALICE_PW1 = "al1ce-Secret-pw-1";
const ALICE_PW2 = "al1ce-Secret-pw-2";
const FRANK_PW = "fr4nk-Secret-pw";
const GUESS = "wr0ng-Secret-guess";
const NEW_REQUIREPASS = "n3w-Secret-requirepass";
const ARG_SECRET = "cmd-arg-Secret-value";
const SECRETS = [ADMIN_PW, ALICE_PW1, ALICE_PW2, FRANK_PW, GUESS, NEW_REQUIREPASS, ARG_SECRET];
const WRONGPASS = err("WRONGPASS invalid username-password pair or user is disabled.");

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function connectFrom(port: number, localAddress: string): Promise<RawClient> {
  const Ctor = RawClient as unknown as new (s: net.Socket) => RawClient;
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: "127.0.0.1", localAddress }, () => resolve(new Ctor(s)));
    s.once("error", reject);
  });
}

// deno-lint-ignore no-explicit-any
type Ev = Record<string, any>;

describe("audit stream", () => {
  let srv: AkiServer;
  let dir: string;
  let auditPath: string;
  let aclPath: string;
  let base: string;
  let adm: RawClient;
  let adminPw = ADMIN_PW;
  /** Every HTTP response body seen, searched for secrets at the end. */
  const seen: string[] = [];

  const auth = (u = "default", p = adminPw) => "Basic " + Buffer.from(`${u}:${p}`).toString("base64");
  async function get(path: string, user?: string, pass?: string): Promise<{ status: number; json: Ev | Ev[] | undefined; text: string }> {
    const res = await fetch(base + path, { headers: { Authorization: auth(user, pass) } });
    const text = await res.text();
    seen.push(text);
    return { status: res.status, text, json: text && (res.headers.get("content-type") ?? "").includes("json") ? JSON.parse(text) : undefined };
  }
  async function events(q = ""): Promise<Ev[]> {
    const r = await get("/v1/audit" + q);
    assert.equal(r.status, 200, r.text);
    return r.json as Ev[];
  }
  async function lastEvent(q = ""): Promise<Ev> {
    const all = await events(q);
    assert.ok(all.length > 0, `an event for ${q}`);
    return all[all.length - 1];
  }
  /** The newest AUTH / HELLO event over RESP (every HTTP request signs in too: those are skipped). */
  async function lastAuth(): Promise<Ev> {
    const all = (await events("?type=auth")).filter((e) => e.clientName !== "aki-admin-http");
    assert.ok(all.length > 0);
    return all[all.length - 1];
  }
  function fileEvents(path = auditPath): Ev[] {
    return readFileSync(path, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "aki-audit-"));
    auditPath = join(dir, "audit.jsonl");
    aclPath = join(dir, "users.acl");
    writeFileSync(aclPath, `user default on #${sha(ADMIN_PW)} ~* &* +@all\n`);
    const adminPort = await freePort();
    base = `http://127.0.0.1:${adminPort}`;
    srv = await startServer(
      ["--admin-port", String(adminPort), "--aclfile", aclPath, "--auditfile", auditPath, "--auth-max-failures", "3", "--auth-max-delay", "200"],
      { waitFor: "admin API listening on" },
    );
    adm = await RawClient.connect(srv.port);
    assert.equal(await adm.call("AUTH", ADMIN_PW), OK);
  });
  after(async () => {
    adm.close();
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the directives; the file is created with mode 0600", async () => {
    assert.equal(
      await adm.call("CONFIG", "GET", "audit*"),
      "*8\r\n" + ["auditfile", auditPath, "audit-max-size", "67108864", "audit-max-len", "1000", "audit-commands", "no"].map(bulk).join(""),
    );
    assert.equal(
      await adm.call("CONFIG", "SET", "auditfile", "/tmp/elsewhere"),
      err("ERR CONFIG SET failed (possibly related to argument 'auditfile') - can't set immutable config"),
    );
    await sleep(20);
    assert.equal(statSync(auditPath).mode & 0o777, 0o600);
  });

  test("AUTH and HELLO: successes and failures with user, address, client name and time", async () => {
    const a = await connectFrom(srv.port, "127.0.0.2");
    assert.equal(await a.call("CLIENT", "SETNAME", "x"), err("NOAUTH Authentication required."));
    assert.equal(await a.call("AUTH", "default", GUESS), WRONGPASS);
    let e = await lastAuth();
    assert.deepEqual(Object.keys(e).sort(), ["addr", "clientId", "clientName", "id", "outcome", "time", "ts", "type", "user", "verb"]);
    assert.equal(e.type, "auth");
    assert.equal(e.outcome, "failure");
    assert.equal(e.verb, "AUTH");
    assert.equal(e.user, "default");
    assert.match(e.addr, /^127\.0\.0\.2:\d+$/);
    assert.equal(e.clientName, "");
    assert.ok(Math.abs(e.ts - Date.now()) < 5000);
    assert.equal(new Date(e.time).getTime(), e.ts);
    const r = await a.call("HELLO", "3", "AUTH", "default", ADMIN_PW, "SETNAME", "worker-1");
    assert.match(r, /^%7\r\n/);
    e = await lastAuth();
    assert.equal(e.outcome, "success");
    assert.equal(e.verb, "HELLO");
    assert.equal(e.user, "default");
    assert.equal(typeof e.clientId, "number");
    // The name is the one the connection had when it authenticated (SETNAME applies after).
    assert.equal(e.clientName, "");
    assert.equal(await a.call("AUTH", "default", ADMIN_PW), "+OK\r\n");
    e = await lastAuth();
    assert.equal(e.clientName, "worker-1");
    assert.equal(e.verb, "AUTH");
    a.close();
  });

  test("throttled attempts: audit outcome and GET /v1/auth/throttle", async () => {
    const a = await connectFrom(srv.port, "127.0.0.3");
    for (let i = 0; i < 4; i++) assert.equal(await a.call("AUTH", "mallory", GUESS), WRONGPASS);
    const e = await lastEvent("?type=auth&user=mallory");
    assert.equal(e.outcome, "throttled");
    assert.equal(e.delayMs, 100);
    const t = await get("/v1/auth/throttle");
    assert.equal(t.status, 200);
    const body = t.json as Ev;
    assert.equal(body.enabled, true);
    assert.equal(body.maxFailures, 3);
    assert.equal(body.windowSeconds, 60);
    assert.equal(body.maxDelayMs, 200);
    assert.equal(body.throttleLoopback, true);
    assert.ok(body.throttledAttempts >= 1);
    const addr = body.addresses.find((x: Ev) => x.address === "127.0.0.3");
    assert.ok(addr, JSON.stringify(body));
    assert.equal(addr.failures, 4);
    assert.equal(addr.throttled, true);
    assert.equal(addr.nextDelayMs, 200);
    assert.ok(Date.parse(addr.until) > Date.now());
    const user = body.users.find((x: Ev) => x.user === "mallory");
    assert.equal(user.failures, 4);
    assert.equal(user.throttled, true);
    // INFO stats carries the counters.
    assert.match(await adm.call("INFO", "stats"), /aki_auth_throttled_addresses:1\r\naki_auth_throttled_users:1\r\n/);
    a.close();
  });

  test("ACL SETUSER / DELUSER: who, target, rule lines before and after, passwords as hashes", async () => {
    assert.equal(await adm.call("ACL", "SETUSER", "alice", "on", ">" + ALICE_PW1, "~app:*", "+get"), OK);
    let e = await lastEvent("?type=acl");
    assert.deepEqual(Object.keys(e).sort(), ["action", "addr", "after", "before", "clientId", "clientName", "id", "target", "time", "ts", "type", "user"]);
    assert.equal(e.action, "setuser");
    assert.equal(e.user, "default");
    assert.equal(e.target, "alice");
    assert.equal(e.before, null);
    assert.equal(e.after, `user alice on sanitize-payload #${sha(ALICE_PW1)} ~app:* resetchannels -@all +get`);
    assert.equal(await adm.call("ACL", "SETUSER", "alice", ">" + ALICE_PW2, "<" + ALICE_PW1), OK);
    e = await lastEvent("?type=acl");
    assert.equal(e.before, `user alice on sanitize-payload #${sha(ALICE_PW1)} ~app:* resetchannels -@all +get`);
    assert.equal(e.after, `user alice on sanitize-payload #${sha(ALICE_PW2)} ~app:* resetchannels -@all +get`);
    // A session of alice is closed by DELUSER: an acl event and a disconnect event.
    const s = await RawClient.connect(srv.port);
    assert.equal(await s.call("AUTH", "alice", ALICE_PW2), OK);
    assert.equal(await adm.call("ACL", "DELUSER", "alice"), ":1\r\n");
    assert.equal(await s.waitClosed(), true);
    await sleep(20);
    e = await lastEvent("?type=acl");
    assert.equal(e.action, "deluser");
    assert.equal(e.target, "alice");
    assert.equal(e.before, `user alice on sanitize-payload #${sha(ALICE_PW2)} ~app:* resetchannels -@all +get`);
    assert.equal(e.after, null);
    const d = await lastEvent("?type=disconnect");
    assert.equal(d.reason, "acl-deluser");
    assert.equal(d.user, "alice");
    assert.match(d.addr, /^127\.0\.0\.1:\d+$/);
    // user= matches the target of an ACL change.
    const mine = await events("?type=acl&user=alice");
    assert.deepEqual(mine.map((x) => x.action), ["setuser", "setuser", "deluser"]);
  });

  test("ACL SAVE and ACL LOAD", async () => {
    assert.equal(await adm.call("ACL", "SETUSER", "frank", "on", ">" + FRANK_PW, "+@read", "~*"), OK);
    assert.equal(await adm.call("ACL", "SAVE"), OK);
    let e = await lastEvent("?type=acl");
    assert.equal(e.action, "save");
    assert.equal(e.file, aclPath);
    assert.equal(e.outcome, "success");
    assert.equal(await adm.call("ACL", "SETUSER", "frank", "+@write"), OK);
    assert.equal(await adm.call("ACL", "SETUSER", "gina", "on", "nopass"), OK);
    assert.equal(await adm.call("ACL", "LOAD"), OK);
    e = await lastEvent("?type=acl");
    assert.equal(e.action, "load");
    assert.equal(e.user, "default");
    assert.deepEqual(e.changes, [
      {
        target: "frank",
        before: `user frank on sanitize-payload #${sha(FRANK_PW)} ~* resetchannels -@all +@read +@write`,
        after: `user frank on sanitize-payload #${sha(FRANK_PW)} ~* resetchannels -@all +@read`,
      },
      { target: "gina", before: "user gina on nopass sanitize-payload resetchannels -@all", after: null },
    ]);
  });

  test("CONFIG SET of security directives; sensitive values only as hashes", async () => {
    assert.equal(await adm.call("CONFIG", "SET", "auth-max-delay", "250"), OK);
    let e = await lastEvent("?type=config");
    assert.deepEqual(Object.keys(e).sort(), ["action", "addr", "after", "before", "clientId", "clientName", "id", "name", "time", "ts", "type", "user"]);
    assert.equal(e.name, "auth-max-delay");
    assert.equal(e.before, "200");
    assert.equal(e.after, "250");
    assert.equal(await adm.call("CONFIG", "SET", "requirepass", NEW_REQUIREPASS), OK);
    adminPw = NEW_REQUIREPASS;
    e = await lastEvent("?type=config");
    assert.equal(e.name, "requirepass");
    assert.equal(e.before, "");
    assert.equal(e.after, "#" + sha(NEW_REQUIREPASS));
    // Not a security directive: not audited.
    const n = (await events("?type=config")).length;
    assert.equal(await adm.call("CONFIG", "SET", "hz", "11"), OK);
    assert.equal((await events("?type=config")).length, n);
  });

  test("connections closed by limits: maxclients, the query buffer limit", async () => {
    assert.equal(await adm.call("CONFIG", "SET", "maxclients", "1"), OK);
    const refused = await RawClient.connect(srv.port);
    assert.equal(await refused.read(), err("ERR max number of clients reached"));
    assert.equal(await adm.call("CONFIG", "SET", "maxclients", "10000"), OK);
    let e = await lastEvent("?type=disconnect");
    assert.equal(e.reason, "maxclients");
    refused.close();
    assert.equal(await adm.call("CONFIG", "SET", "client-query-buffer-limit", "1mb"), OK);
    const big = await RawClient.connect(srv.port);
    assert.equal(await big.call("AUTH", NEW_REQUIREPASS), OK);
    big.write("*2\r\n$3\r\nSET\r\n$3000000\r\n");
    big.write(Buffer.alloc(1200000, 120));
    assert.equal(await big.waitClosed(), true);
    assert.equal(await adm.call("CONFIG", "SET", "client-query-buffer-limit", "1gb"), OK);
    e = await lastEvent("?type=disconnect");
    assert.equal(e.reason, "query-buffer-limit");
    assert.equal(e.user, "default");
  });

  test("audit-commands yes: every command, by name and argument count only", async () => {
    assert.equal(await adm.call("CONFIG", "SET", "audit-commands", "yes"), OK);
    assert.equal(await adm.call("SET", "k", ARG_SECRET), OK);
    assert.equal(await adm.call("GET", "k"), bulk(ARG_SECRET));
    assert.equal(await adm.call("CONFIG", "SET", "audit-commands", "no"), OK);
    const cmds = await events("?type=command");
    const names = cmds.map((x) => x.command);
    assert.deepEqual(names.slice(-3), ["set", "get", "config|set"]);
    const set = cmds[cmds.length - 3];
    assert.deepEqual(Object.keys(set).sort(), ["addr", "argc", "clientId", "clientName", "command", "db", "id", "time", "ts", "type", "user"]);
    assert.equal(set.argc, 3);
    assert.equal(set.db, 0);
    assert.equal(await adm.call("GET", "k"), bulk(ARG_SECRET));
    assert.equal((await events("?type=command")).length, cmds.length);
  });

  test("GET /v1/audit filters; 400 on bad input; 403 without ACL LOG permission", async () => {
    const all = await events();
    assert.ok(all.length > 10);
    for (let i = 1; i < all.length; i++) assert.ok(all[i].id > all[i - 1].id);
    const mid = all[Math.floor(all.length / 2)];
    // (Each request signs in, which adds its own auth event at the end, and ends with an http
    // event: later requests see more events than `all` did.)
    const last = all[all.length - 1].id;
    const later = (await events(`?after=${mid.id}`)).map((e) => e.id).filter((id) => id <= last);
    assert.deepEqual(later, all.filter((e) => e.id > mid.id).map((e) => e.id));
    assert.ok((await events(`?since=${mid.ts}`)).every((e) => e.ts >= mid.ts));
    assert.ok((await events(`?since=${encodeURIComponent(mid.time)}`)).every((e) => e.ts >= mid.ts));
    assert.equal((await events("?limit=2")).length, 2);
    for (const q of ["?type=nope", "?since=yesterday", "?limit=-1", "?other=1"]) {
      const r = await get("/v1/audit" + q);
      assert.equal(r.status, 400, q);
      assert.equal((r.json as Ev).error, "invalid request");
    }
    assert.equal(await adm.call("ACL", "SETUSER", "viewer", "on", ">viewer-pw", "+acl|whoami"), OK);
    for (const path of ["/v1/audit", "/v1/auth/throttle", "/v1/audit/stream"]) {
      const r = await get(path, "viewer", "viewer-pw");
      assert.equal(r.status, 403, path);
      assert.equal((r.json as Ev).error, "NOPERM User viewer has no permissions to run the 'acl|log' command");
    }
    assert.equal(await adm.call("ACL", "SETUSER", "viewer", "+acl|log"), OK);
    assert.equal((await get("/v1/audit", "viewer", "viewer-pw")).status, 200);
    assert.equal((await get("/v1/audit", "viewer", "wrong")).status, 401);
    const res = await fetch(base + "/v1/audit", { method: "POST", headers: { Authorization: auth() } });
    assert.equal(res.status, 405);
    await res.text();
  });

  test("GET /v1/audit/stream: live Server-Sent Events, filtered; Last-Event-ID replays", async () => {
    const ctl = new AbortController();
    const res = await fetch(base + "/v1/audit/stream?type=auth", { headers: { Authorization: auth() }, signal: ctl.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let text = "";
    const until = async (re: RegExp) => {
      const deadline = Date.now() + 5000;
      while (!re.test(text)) {
        assert.ok(Date.now() < deadline, `stream text so far: ${text}`);
        const { value, done } = await reader.read();
        if (done) break;
        text += dec.decode(value, { stream: true });
      }
    };
    await until(/^: aki audit stream\n\n/);
    const a = await RawClient.connect(srv.port);
    assert.equal(await a.call("SET", "x", "1"), err("NOAUTH Authentication required."));
    assert.equal(await a.call("AUTH", "streamer", GUESS), WRONGPASS);
    await until(/"user":"streamer"/);
    a.close();
    const m = /id: (\d+)\ndata: (\{.*"user":"streamer".*\})\n\n/.exec(text);
    assert.ok(m, text);
    const ev = JSON.parse(m[2]);
    assert.equal(ev.type, "auth");
    assert.equal(ev.outcome, "failure");
    assert.equal(ev.id, Number(m[1]));
    assert.ok(!text.includes('"type":"acl"'));
    seen.push(text);
    await reader.cancel();
    ctl.abort();
    // Reconnect with Last-Event-ID: what came after that id is replayed at once.
    const ctl2 = new AbortController();
    const res2 = await fetch(base + "/v1/audit/stream", { headers: { Authorization: auth(), "Last-Event-ID": String(ev.id - 1) }, signal: ctl2.signal });
    const r2 = res2.body!.getReader();
    let t2 = "";
    while (!t2.includes(`id: ${ev.id}\n`)) {
      const { value, done } = await r2.read();
      if (done) break;
      t2 += dec.decode(value, { stream: true });
    }
    assert.ok(t2.includes(`id: ${ev.id}\n`));
    seen.push(t2);
    await r2.cancel();
    ctl2.abort();
  });

  test("the file: JSON lines, the same events, rotated to PATH.1 at audit-max-size, both 0600", async () => {
    await sleep(20);
    const mem = await events("?limit=1000");
    // (The http event of the request that read `mem` comes after it.)
    const onDisk = fileEvents().filter((e) => e.id <= mem[mem.length - 1].id);
    assert.deepEqual(onDisk.slice(-5), mem.slice(-5));
    assert.equal(await adm.call("CONFIG", "SET", "audit-max-size", "4096"), OK);
    for (let i = 0; i < 40; i++) assert.equal(await adm.call("AUTH", NEW_REQUIREPASS), OK);
    await sleep(20);
    assert.ok(existsSync(auditPath + ".1"));
    assert.equal(statSync(auditPath + ".1").mode & 0o777, 0o600);
    assert.equal(statSync(auditPath).mode & 0o777, 0o600);
    assert.ok(statSync(auditPath).size <= 4096);
    const older = fileEvents(auditPath + ".1");
    const newer = fileEvents();
    assert.ok(older.length > 0 && newer.length > 0);
    assert.ok(older[older.length - 1].id < newer[0].id);
    assert.equal(await adm.call("CONFIG", "SET", "audit-max-size", "64mb"), OK);
  });

  test("no cleartext password anywhere: files, API responses, server output", async () => {
    await sleep(20);
    const everything = [
      readFileSync(auditPath, "utf8"),
      existsSync(auditPath + ".1") ? readFileSync(auditPath + ".1", "utf8") : "",
      (await get("/v1/audit?limit=1000000")).text,
      (await get("/v1/auth/throttle")).text,
      (await get("/v1/acl/log?reason=auth")).text,
      ...seen,
      srv.output(),
    ];
    for (const s of SECRETS) {
      for (const [i, t] of everything.entries()) assert.ok(!t.includes(s), `secret ${s} found in source ${i}`);
    }
    // The hashes are there, though.
    assert.ok(everything[0].includes(sha(ALICE_PW2)) || everything[1].includes(sha(ALICE_PW2)) || everything[2].includes(sha(ALICE_PW2)));
  });
});
