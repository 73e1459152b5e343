/**
 * ACL LOG that lasts (src/security/acllog-store.ts): the ACL LOG is kept next to the data file
 * as `<dbfile>.acllog` (JSON lines, mode 0600, rewritten atomically on change), read back
 * after a restart with the same fields and entry ids (new ids continue after them), emptied
 * by ACL LOG RESET, not written with `acllog-persist no`; and the admin API filters it by
 * user, reason, context and time (`GET /v1/acl/log?user=&reason=&context=&since=&until=`).
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, freePort, RawClient, OK, err, type AkiServer } from "./harness.ts";

const PW = "acllog-admin-pw";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// deno-lint-ignore no-explicit-any
type Entry = Record<string, any>;

describe("ACL LOG across restarts", () => {
  let dir: string;
  let logPath: string;
  let adminPort: number;
  let srv: AkiServer;
  let c: RawClient;

  const start = async () => {
    srv = await startServer(["--dir", dir, "--dbfile", "data.aki", "--admin-port", String(adminPort), "--requirepass", PW], { waitFor: "admin API listening on" });
    c = await RawClient.connect(srv.port);
    assert.equal(await c.call("AUTH", PW), OK);
  };
  const stop = async () => {
    c.close();
    await srv.stop();
    assert.match(srv.output(), /ready to exit/);
  };
  async function log(q = "?count=1000"): Promise<Entry[]> {
    const res = await fetch(`http://127.0.0.1:${adminPort}/v1/acl/log${q}`, { headers: { Authorization: "Basic " + Buffer.from(`default:${PW}`).toString("base64") } });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    return body as Entry[];
  }
  const stable = (e: Entry) => {
    const { ["age-seconds"]: _age, ...rest } = e;
    return rest;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "aki-acllog-"));
    logPath = join(dir, "data.aki.acllog");
    adminPort = await freePort();
    await start();
  });
  after(async () => {
    c.close();
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("entries are written next to the data file, mode 0600, one JSON object per line", async () => {
    assert.equal(await c.call("CONFIG", "GET", "acllog-persist"), "*2\r\n$14\r\nacllog-persist\r\n$3\r\nyes\r\n");
    assert.equal(await c.call("ACL", "SETUSER", "lim", "on", ">lim-pw", "~a*", "+get", "+multi", "+exec", "+discard", "resetchannels", "+publish"), OK);
    const u = await RawClient.connect(srv.port);
    assert.equal(await u.call("AUTH", "lim", "not-it"), err("WRONGPASS invalid username-password pair or user is disabled."));
    assert.equal(await u.call("AUTH", "lim", "lim-pw"), OK);
    assert.equal(await u.call("GET", "b"), err("NOPERM No permissions to access a key"));
    assert.equal(await u.call("SET", "a", "1"), err("NOPERM User lim has no permissions to run the 'set' command"));
    assert.equal(await u.call("PUBLISH", "ch", "m"), err("NOPERM No permissions to access a channel"));
    assert.equal(await u.call("MULTI"), OK);
    assert.equal(await u.call("GET", "zz"), err("NOPERM No permissions to access a key"));
    assert.equal(await u.call("DISCARD"), OK);
    u.close();
    await sleep(150);
    assert.ok(existsSync(logPath));
    assert.equal(statSync(logPath).mode & 0o777, 0o600);
    const lines = readFileSync(logPath, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const mem = await log();
    assert.equal(lines.length, 5);
    assert.deepEqual(lines.map((l) => l.object), ["zz", "ch", "set", "b", "AUTH"]);
    assert.deepEqual(lines, mem.map(stable));
    assert.deepEqual(Object.keys(lines[0]), ["count", "reason", "context", "object", "username", "client-info", "entry-id", "timestamp-created", "timestamp-last-updated"]);
  });

  test("the admin API filters by user, reason, context and time", async () => {
    const all = await log();
    assert.deepEqual((await log("?user=lim&reason=key")).map((e) => e.object), ["zz", "b"]);
    assert.deepEqual((await log("?context=multi")).map((e) => e.object), ["zz"]);
    assert.deepEqual((await log("?reason=auth")).map((e) => [e.object, e.username]), [["AUTH", "lim"]]);
    assert.deepEqual(await log("?user=nobody"), []);
    const t = all[2]["timestamp-last-updated"];
    assert.deepEqual((await log(`?since=${t}`)).map((e) => e.object), all.filter((e) => e["timestamp-last-updated"] >= t).map((e) => e.object));
    assert.deepEqual((await log(`?until=${t - 1}`)).map((e) => e.object), all.filter((e) => e["timestamp-last-updated"] < t).map((e) => e.object));
    assert.deepEqual((await log(`?since=${encodeURIComponent(new Date(t).toISOString())}&reason=channel`)).map((e) => e.object), ["ch"]);
    assert.equal((await log("?reason=key&count=1")).length, 1);
    const bad = await fetch(`http://127.0.0.1:${adminPort}/v1/acl/log?reason=nope`, { headers: { Authorization: "Basic " + Buffer.from(`default:${PW}`).toString("base64") } });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error, "invalid request");
    // Plain ?count= is the admin app's own route, unchanged.
    assert.equal((await log("?count=2")).length, 2);
  });

  test("after a restart the log reads back the same, and entry ids continue", async () => {
    const beforeRestart = (await log()).map(stable);
    await stop();
    await start();
    const back = await log();
    assert.deepEqual(back.map(stable), beforeRestart);
    for (const e of back) assert.ok(e["age-seconds"] >= 0);
    // RESP ACL LOG shows them too (RESP2: 10-field flat arrays).
    const raw = await c.call("ACL", "LOG", "1");
    assert.match(raw, /^\*1\r\n\*20\r\n\$5\r\ncount\r\n:1\r\n\$6\r\nreason\r\n\$3\r\nkey\r\n/);
    const maxId = Math.max(...back.map((e) => e["entry-id"]));
    assert.equal(await c.call("AUTH", "ghost", "x"), err("WRONGPASS invalid username-password pair or user is disabled."));
    const [newest] = await log();
    assert.equal(newest["entry-id"], maxId + 1);
    assert.equal(newest.username, "ghost");
  });

  test("ACL LOG RESET empties the file; acllog-persist no stops writing", async () => {
    assert.equal(await c.call("ACL", "LOG", "RESET"), OK);
    await sleep(150);
    assert.equal(readFileSync(logPath, "utf8"), "");
    assert.equal(await c.call("CONFIG", "SET", "acllog-persist", "no"), OK);
    assert.equal(await c.call("AUTH", "ghost2", "x"), err("WRONGPASS invalid username-password pair or user is disabled."));
    await sleep(150);
    assert.equal(readFileSync(logPath, "utf8"), "");
    assert.equal((await log()).length, 1);
    // Back on: the current log is written at once.
    assert.equal(await c.call("CONFIG", "SET", "acllog-persist", "yes"), OK);
    await sleep(150);
    assert.equal(readFileSync(logPath, "utf8").trim().split("\n").length, 1);
    await stop();
    await start();
    assert.deepEqual((await log()).map((e) => e.username), ["ghost2"]);
  });
});
