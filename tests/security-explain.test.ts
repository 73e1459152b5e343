/**
 * DRYRUN that explains (src/security/explain.ts) as a pure function over users built by the
 * ACL engine's own rule code, and its admin route `POST /v1/acl/dryrun` with `"explain": true`
 * (single commands and MULTI blocks), cross-checked with RESP's ACL DRYRUN, which stays
 * exactly Redis's.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { stageUser } from "../src/acl/rules.ts";
import type { User } from "../src/acl/user.ts";
import { explainCommand, explainMulti, resolveCommand, type Explanation } from "../src/security/explain.ts";
import { startServer, freePort, RawClient, OK, bulk, err, type AkiServer } from "./harness.ts";

function user(name: string, ...rules: string[]): User {
  const u = stageUser(null, name, rules, false);
  assert.ok(typeof u !== "string", String(u));
  return u as User;
}

function explain(u: User, ...argv: string[]): Explanation {
  const cmd = resolveCommand(argv);
  assert.ok(typeof cmd !== "string", String(cmd));
  return explainCommand(u, cmd as Exclude<typeof cmd, string>, argv);
}

describe("DRYRUN explain: the pure function", () => {
  test("root permissions: the deciding rule token and the key pattern", () => {
    const u = user("app", "on", "~app:*", "+@read", "-get", "+get", "+set");
    const e = explain(u, "GET", "app:1");
    assert.equal(e.allowed, true);
    assert.equal(e.decidedBy, "root");
    assert.equal(e.message, "OK");
    assert.equal(e.reason, null);
    assert.equal(e.selectors.length, 1);
    const root = e.selectors[0];
    assert.equal(root.selector, "root");
    assert.equal(root.rules, "~app:* resetchannels -@all +@read +get +set");
    assert.deepEqual(root.command, { allowed: true, rules: ["-@all", "+@read", "+get"], decidedBy: "+get" });
    assert.deepEqual(root.keys, [{ key: "app:1", pos: 1, access: "R", pattern: "~app:*", allowed: true }]);
    assert.deepEqual(root.channels, []);
    assert.equal(root.denied, null);

    const d = explain(u, "DEL", "app:1");
    assert.equal(d.allowed, false);
    assert.equal(d.reason, "command");
    assert.equal(d.message, "User app has no permissions to run the 'del' command");
    assert.deepEqual(d.selectors[0].command, { allowed: false, rules: ["-@all"], decidedBy: "-@all" });
    assert.deepEqual(d.selectors[0].denied, { reason: "command", object: "del" });

    const k = explain(u, "SET", "other", "v");
    assert.equal(k.reason, "key");
    assert.equal(k.message, "User app has no permissions to access the 'other' key");
    assert.deepEqual(k.selectors[0].keys, [{ key: "other", pos: 1, access: "W", pattern: null, allowed: false }]);

    const cat = explain(user("c", "on", "~*", "+@all", "-@dangerous"), "FLUSHALL");
    assert.deepEqual(cat.selectors[0].command, { allowed: false, rules: ["+@all", "-@dangerous"], decidedBy: "-@dangerous" });
    const sub = explain(user("s", "on", "+config|get"), "CONFIG", "GET", "port");
    assert.deepEqual(sub.selectors[0].command, { allowed: true, rules: ["-@all", "+config|get"], decidedBy: "+config|get" });
    const first = explain(user("f", "on", "+select|0"), "SELECT", "0");
    assert.equal(first.allowed, true);
    assert.deepEqual(first.selectors[0].command, { allowed: true, rules: ["-@all", "+select|0"], decidedBy: "first argument '0' allowed by +select|0" });
    const noauth = explain(user("n", "on"), "AUTH", "a", "b");
    assert.equal(noauth.allowed, true);
    assert.equal(noauth.selectors[0].command.decidedBy, "no-auth command (always allowed)");
  });

  test("selectors: the first that allows decides; otherwise the one Redis reports", () => {
    const u = user("sel", "on", "~app:*", "+get", "(~tmp:* +set)", "(%R~ro:* +@read)");
    const e = explain(u, "SET", "tmp:1", "v");
    assert.equal(e.allowed, true);
    assert.equal(e.decidedBy, "selector 1");
    assert.deepEqual(e.selectors.map((s) => s.selector), ["root", "selector 1", "selector 2"]);
    assert.deepEqual(e.selectors.map((s) => s.allowed), [false, true, false]);
    assert.deepEqual(e.selectors[0].denied, { reason: "command", object: "set" });
    assert.deepEqual(e.selectors[1].command, { allowed: true, rules: ["-@all", "+set"], decidedBy: "+set" });
    assert.deepEqual(e.selectors[1].keys, [{ key: "tmp:1", pos: 1, access: "W", pattern: "~tmp:*", allowed: true }]);
    assert.equal(e.selectors[1].rules, "~tmp:* resetchannels -@all +set");

    const r = explain(u, "GET", "ro:9");
    assert.equal(r.decidedBy, "selector 2");
    assert.deepEqual(r.selectors[2].keys, [{ key: "ro:9", pos: 1, access: "R", pattern: "%R~ro:*", allowed: true }]);

    // Every selector denies: the reported reason is the "largest" (a key beats a command).
    const d = explain(u, "SET", "app:1", "v");
    assert.equal(d.allowed, false);
    assert.equal(d.reason, "key");
    assert.equal(d.decidedBy, "selector 1");
    assert.equal(d.message, "User sel has no permissions to access the 'app:1' key");
  });

  test("read and write access per key", () => {
    const u = user("rw", "on", "+@all", "%R~r:*", "%W~w:*", "~rw:*");
    const copy = explain(u, "COPY", "r:1", "w:1");
    assert.equal(copy.allowed, true);
    assert.deepEqual(copy.selectors[0].keys, [
      { key: "r:1", pos: 1, access: "R", pattern: "%R~r:*", allowed: true },
      { key: "w:1", pos: 2, access: "W", pattern: "%W~w:*", allowed: true },
    ]);
    const back = explain(u, "COPY", "w:1", "r:1");
    assert.equal(back.allowed, false);
    assert.equal(back.message, "User rw has no permissions to access the 'w:1' key");
    assert.deepEqual(back.selectors[0].keys.map((k) => [k.access, k.pattern]), [["R", null], ["W", null]]);
    const move = explain(u, "LMOVE", "r:1", "rw:2", "LEFT", "RIGHT");
    assert.deepEqual(move.selectors[0].keys, [
      { key: "r:1", pos: 1, access: "RW", pattern: null, allowed: false },
      { key: "rw:2", pos: 2, access: "W", pattern: "~rw:*", allowed: true },
    ]);
    assert.deepEqual(explain(u, "EXISTS", "w:5").selectors[0].keys, [{ key: "w:5", pos: 1, access: "any", pattern: "%W~w:*", allowed: true }]);
    assert.equal(explain(user("all", "on", "+@all", "allkeys"), "GET", "x").selectors[0].keys[0].pattern, "~*");
  });

  test("channels: glob for channels, literal for PSUBSCRIBE patterns, UNSUBSCRIBE unchecked", () => {
    const u = user("ch", "on", "+@all", "resetchannels", "&news.*", "&alerts");
    const pub = explain(u, "PUBLISH", "news.eu", "hi");
    assert.equal(pub.allowed, true);
    assert.deepEqual(pub.selectors[0].channels, [{ channel: "news.eu", pos: 1, kind: "channel", checked: true, pattern: "&news.*", allowed: true }]);
    const sub = explain(u, "SUBSCRIBE", "alerts", "sports");
    assert.equal(sub.allowed, false);
    assert.equal(sub.reason, "channel");
    assert.equal(sub.message, "User ch has no permissions to access the 'sports' channel");
    assert.deepEqual(sub.selectors[0].channels.map((c) => c.pattern), ["&alerts", null]);
    const psub = explain(u, "PSUBSCRIBE", "news.*", "news.e*");
    assert.deepEqual(psub.selectors[0].channels.map((c) => [c.kind, c.pattern]), [["pattern", "&news.*"], ["pattern", null]]);
    const unsub = explain(u, "UNSUBSCRIBE", "whatever");
    assert.equal(unsub.allowed, true);
    assert.deepEqual(unsub.selectors[0].channels, [{ channel: "whatever", pos: 1, kind: "channel", checked: false, pattern: null, allowed: true }]);
    assert.equal(explain(user("a", "on", "+@all", "allchannels"), "PUBLISH", "x", "y").selectors[0].channels[0].pattern, "&*");
  });

  test("a MULTI block: MULTI, each command, EXEC; no-multi commands (SAVE) refused", () => {
    const u = user("tx", "on", "~*", "+multi", "+exec", "+get", "+set", "+watch");
    const ok = explainMulti(u, [["GET", "a"], ["SET", "a", "1"]]);
    assert.ok(typeof ok !== "string");
    if (typeof ok === "string") return;
    assert.equal(ok.allowed, true);
    assert.deepEqual(ok.steps.map((s) => s.command), ["multi", "get", "set", "exec"]);
    const no = explainMulti(user("tx2", "on", "~*", "+multi", "+get"), [["GET", "a"]]);
    assert.ok(typeof no !== "string");
    if (typeof no === "string") return;
    assert.equal(no.allowed, false);
    assert.equal(no.steps[2].message, "User tx2 has no permissions to run the 'exec' command");
    const w = explainMulti(u, [["SAVE"]]);
    assert.ok(typeof w !== "string");
    if (typeof w === "string") return;
    assert.equal(w.allowed, false);
    assert.equal(w.steps[1].error, "ERR Command not allowed inside a transaction");
    assert.equal(explainMulti(u, [["NOPE"]]), "ERR Command 'NOPE' not found");
    assert.equal(explainMulti(u, [["GET"]]), "ERR wrong number of arguments for 'get' command");
  });
});

describe("DRYRUN explain: the admin route", () => {
  let srv: AkiServer;
  let c: RawClient;
  let base: string;
  const PW = "expl-admin-pw";
  // deno-lint-ignore no-explicit-any
  async function post(body: unknown, user = "default", pass = PW): Promise<{ status: number; json: any }> {
    const res = await fetch(base + "/v1/acl/dryrun", {
      method: "POST",
      headers: { Authorization: "Basic " + Buffer.from(`${user}:${pass}`).toString("base64"), "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: await res.json() };
  }

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    srv = await startServer(["--admin-port", String(port), "--requirepass", PW], { waitFor: "admin API listening on" });
    c = await RawClient.connect(srv.port);
    assert.equal(await c.call("AUTH", PW), OK);
    assert.equal(await c.call("ACL", "SETUSER", "sel", "on", "~app:*", "+get", "(~tmp:* +set)", "resetchannels", "&news.*", "+publish"), OK);
    assert.equal(await c.call("ACL", "SETUSER", "limited", "on", ">lim-pw", "+acl|whoami"), OK);
  });
  after(async () => {
    c.close();
    await srv.stop();
  });

  test("RESP ACL DRYRUN is unchanged", async () => {
    assert.equal(await c.call("ACL", "DRYRUN", "sel", "SET", "tmp:1", "v"), OK);
    assert.equal(await c.call("ACL", "DRYRUN", "sel", "SET", "app:1", "v"), bulk("User sel has no permissions to access the 'app:1' key"));
    assert.equal(await c.call("ACL", "DRYRUN", "sel", "PUBLISH", "x", "m"), bulk("User sel has no permissions to access the 'x' channel"));
    assert.equal(await c.call("ACL", "DRYRUN", "nobody", "GET", "a"), err("ERR User 'nobody' not found"));
  });

  test("explain agrees with RESP and says which part decided", async () => {
    const cases = [["SET", "tmp:1", "v"], ["SET", "app:1", "v"], ["GET", "app:1"], ["PUBLISH", "news.x", "m"], ["PUBLISH", "x", "m"], ["DEL", "a"]];
    for (const cmd of cases) {
      const raw = await c.call("ACL", "DRYRUN", "sel", ...cmd);
      const r = await post({ username: "sel", explain: true, command: cmd });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      const text = raw === OK ? "OK" : raw.slice(raw.indexOf("\r\n") + 2, -2);
      assert.equal(r.json.message, text, cmd.join(" "));
      assert.equal(r.json.allowed, raw === OK);
      assert.equal(r.json.explanation.message, text);
    }
    const r = await post({ username: "sel", explain: true, command: ["SET", "tmp:1", "v"] });
    assert.equal(r.json.explanation.decidedBy, "selector 1");
    assert.deepEqual(r.json.explanation.selectors[1].keys, [{ key: "tmp:1", pos: 1, access: "W", pattern: "~tmp:*", allowed: true }]);
    // explain: false answers like the plain route, without the explanation.
    const plain = await post({ username: "sel", explain: false, command: ["GET", "app:1"] });
    assert.deepEqual(plain.json, { allowed: true, message: "OK" });
    // Without "explain" the admin app's own DRYRUN answers, unchanged.
    assert.deepEqual((await post({ username: "sel", command: ["GET", "app:1"] })).json, { allowed: true, message: "OK" });
  });

  test("a MULTI block over HTTP", async () => {
    const r = await post({ username: "sel", explain: true, multi: [["GET", "app:1"], ["SET", "tmp:1", "v"]] });
    assert.equal(r.status, 200);
    assert.equal(r.json.allowed, false);
    assert.equal(r.json.message, "User sel has no permissions to run the 'multi' command");
    assert.deepEqual(r.json.explanation.steps.map((s: { command: string; allowed: boolean }) => [s.command, s.allowed]), [
      ["multi", false], ["get", true], ["set", true], ["exec", false],
    ]);
    assert.equal(await c.call("ACL", "SETUSER", "sel", "+multi", "+exec"), OK);
    const ok = await post({ username: "sel", explain: true, multi: [["GET", "app:1"], ["SET", "tmp:1", "v"]] });
    assert.equal(ok.json.allowed, true);
    assert.equal(ok.json.message, "OK");
  });

  test("errors: Redis's texts as 400, validation, and the permission of ACL DRYRUN", async () => {
    assert.deepEqual(await post({ username: "nobody", explain: true, command: ["GET", "a"] }), { status: 400, json: { error: "ERR User 'nobody' not found" } });
    assert.deepEqual(await post({ username: "sel", explain: true, command: ["NOPE"] }), { status: 400, json: { error: "ERR Command 'NOPE' not found" } });
    assert.deepEqual(await post({ username: "sel", explain: true, command: ["GET"] }), { status: 400, json: { error: "ERR wrong number of arguments for 'get' command" } });
    for (const body of [{ username: "sel", explain: "yes", command: ["GET", "a"] }, { username: "sel", explain: true }, { username: "sel", explain: true, command: [] }, { username: "sel", explain: true, command: ["GET", "a"], extra: 1 }]) {
      const r = await post(body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.error, "invalid request");
    }
    const denied = await post({ username: "sel", explain: true, command: ["GET", "a"] }, "limited", "lim-pw");
    assert.equal(denied.status, 403);
    assert.equal(denied.json.error, "NOPERM User limited has no permissions to run the 'acl|dryrun' command");
  });
});
