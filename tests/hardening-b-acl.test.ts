/**
 * Hardening, group B: bad input to AUTH and the ACL engine (reliability catalogue B1-B20).
 * Pre-auth gating and the unauthenticated size limits (CVE-2021-32675, CVE-2025-21605), uniform
 * WRONGPASS without a timing oracle, failed AUTH in pipelines and MULTI, odd passwords,
 * malformed SETUSER rules and ACL files (all-or-nothing, never a crash: CVE-2024-31227,
 * CVE-2024-51741, valkey#4214), users removed or changed under live connections, ACL LOG
 * bounds, no secret in any output, hashes only and 0600 files, protected mode, an aclfile
 * without a default user, DRYRUN agreeing with real execution (CVE-2023-41053 class), MSETNX
 * duplicates (CVE-2023-28425) and numkeys arity (redis#14847).
 *
 * AUTH throttling (auth-max-failures) is turned off for this file, whose cases fail AUTH on
 * purpose hundreds of times from loopback; B3/B4 turn it back on to show the limits hold with it.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import net from "node:net";
import { join } from "node:path";
import { startServer, RawClient, resp, bulk, bulks, err, int, OK, type AkiServer } from "./harness.ts";
import { aclFixture, authed, exchange, infoField, pairs, parseReply, prng, rawSocket, rss, sleep, FIXTURE_USERS, WRONGPASS } from "./hardening-helpers.ts";

const sha = (s: string | Buffer) => createHash("sha256").update(typeof s === "string" ? Buffer.from(s, "latin1") : s).digest("hex");
const WARN = "WARNING: ACL errors detected, no change to the previously active ACL rules was performed";
const NOAUTH = err("NOAUTH Authentication required.");

/** The server's log reaches us through a pipe, after the reply: wait (up to 3 s) for a line. */
async function logged(seen: () => boolean): Promise<void> {
  for (let i = 0; i < 60 && !seen(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(seen(), "the expected log line was not written");
}

/** A non-loopback IPv4 address of this machine, if any (for protected mode). */
function externalAddress(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return null;
}

describe("hardening B: ACL and AUTH bad input", () => {
  let srv: AkiServer;
  let c: RawClient;
  let fx: ReturnType<typeof aclFixture>;
  let dbfile: string;
  const ext = externalAddress();
  before(async () => {
    fx = aclFixture();
    dbfile = join(fx.dir, "data.aki");
    const bind = ext ? `127.0.0.1 ${ext}` : "127.0.0.1";
    srv = await startServer(["--aclfile", fx.file, "--dbfile", dbfile, "--bind", bind, "--auth-max-failures", "0"]);
    c = await authed(srv.port);
  });
  after(async () => {
    c.close();
    await srv.stop();
    fx.cleanup();
  });

  const restoreFixture = async () => {
    writeFileSync(fx.file, FIXTURE_USERS.join("\n") + "\n");
    assert.equal(await c.call("ACL", "LOAD"), OK);
    // ACL LOAD closes every client of a non-default user, this one included (after its reply).
    c.close();
    c = await authed(srv.port);
  };

  test("B1 before AUTH only AUTH, HELLO AUTH, QUIT and RESET run", async () => {
    const u = await RawClient.connect(srv.port);
    assert.equal(await u.call("GET", "k"), NOAUTH);
    assert.equal(await u.call("PING"), NOAUTH);
    assert.equal(await u.call("ACL", "WHOAMI"), NOAUTH);
    assert.equal(
      await u.call("HELLO", "3"),
      err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"),
    );
    // Decision: as Redis, an unknown command or a wrong arity is reported before the auth gate.
    assert.equal(await u.call("FOOBAR"), err("ERR unknown command 'FOOBAR', with args beginning with: "));
    assert.equal(await u.call("GET"), err("ERR wrong number of arguments for 'get' command"));
    assert.equal(await u.call("RESET"), "+RESET\r\n");
    assert.match(await u.call("HELLO", "3", "AUTH", "ro", "ropw"), /^%7\r\n/);
    // ro has +@read only (ACL WHOAMI is not @read): the NOPERM text names the user.
    assert.equal(await u.call("SET", "k", "v"), err("NOPERM User ro has no permissions to run the 'set' command"));
    assert.equal(await u.call("RESET"), "+RESET\r\n");
    assert.equal(await u.call("GET", "k"), NOAUTH, "RESET logs out");
    assert.equal(await u.call("AUTH", "defpw"), OK);
    assert.equal(await u.call("ACL", "WHOAMI"), bulk("default"));
    u.close();
    assert.deepEqual(await exchange(srv.port, "QUIT\r\nPING\r\n"), { reply: OK, closed: true });
  });

  test("B2 unauthenticated size limits (CVE-2021-32675)", async () => {
    assert.deepEqual(await exchange(srv.port, "*11\r\n"), { reply: "-ERR Protocol error: unauthenticated multibulk length\r\n", closed: true });
    assert.deepEqual(await exchange(srv.port, "*10\r\n"), { reply: "", closed: false });
    assert.deepEqual(await exchange(srv.port, "*1\r\n$16385\r\n"), { reply: "-ERR Protocol error: unauthenticated bulk length\r\n", closed: true });
    assert.deepEqual(await exchange(srv.port, resp("AUTH", "x".repeat(16384))), { reply: WRONGPASS, closed: false });
    // The limits follow authentication, both ways.
    const bigOk = resp("ECHO", "y".repeat(20000)).toString("latin1");
    assert.deepEqual(await exchange(srv.port, "AUTH defpw\r\n" + bigOk), { reply: OK + bulk("y".repeat(20000)), closed: false });
    assert.deepEqual(await exchange(srv.port, "AUTH defpw\r\nRESET\r\n*11\r\n"), {
      reply: OK + "+RESET\r\n-ERR Protocol error: unauthenticated multibulk length\r\n",
      closed: true,
    });
  });

  /** Write `total` bytes of `unit` without ever reading; resolves how many were accepted before the close. */
  /**
   * Send `total` bytes of `unit` without reading, then wait up to `waitMs` for the server to
   * cut the connection off. `closed` is true when the socket closed or the server counted an
   * output-limit disconnection: a paused socket that already sent everything does not see
   * the server's close until it reads, and the kernel's buffers absorb megabytes of input and
   * output first, so the server may need a few seconds (a failed AUTH costs ~11 µs on Node).
   */
  async function neverReader(unit: string, total: number, waitMs = 5000): Promise<{ closed: boolean; sent: number }> {
    const kills = Number(await infoField(c, "client_output_buffer_limit_disconnections"));
    const s = await rawSocket(srv.port);
    s.pause();
    s.on("error", () => {});
    let closed = false;
    s.on("close", () => (closed = true));
    const chunk = Buffer.from(unit.repeat(Math.ceil(65536 / unit.length)), "latin1");
    let sent = 0;
    const deadline = Date.now() + 20000;
    while (sent < total && !closed && Date.now() < deadline) {
      const ok = s.write(chunk);
      sent += chunk.length;
      if (!ok) await Promise.race([new Promise((r) => s.once("drain", r)), sleep(200)]);
    }
    const waitUntil = Date.now() + waitMs;
    while (!closed && Date.now() < waitUntil) {
      if (Number(await infoField(c, "client_output_buffer_limit_disconnections")) > kills) closed = true;
      else await sleep(50);
    }
    s.destroy();
    return { closed, sent };
  }

  test("B3 unauthenticated input: 5 MB of failing AUTH is cut off", async () => {
    try {
      for (const failures of ["0", "10"]) {
        assert.equal(await c.call("CONFIG", "SET", "auth-max-failures", failures), OK);
        const before = rss(srv.proc.pid);
        const r = await neverReader("AUTH x y\r\n", 5 * 1024 * 1024, failures === "0" ? 20000 : 5000);
        // Without throttling the output limit for unauthenticated clients cuts it off. With
        // it, the delayed WRONGPASS holds the connection's input (order is kept), so the
        // sender may instead be left stalled, its bytes in the kernel, not in aki: either way
        // memory stays flat and the server keeps serving.
        if (failures === "0") assert.ok(r.closed, "disconnected (auth-max-failures 0)");
        const grew = rss(srv.proc.pid) - before;
        if (!Number.isNaN(grew)) assert.ok(grew < 64 * 1024 * 1024, `RSS grew ${grew} bytes`);
        assert.equal(await c.call("PING"), "+PONG\r\n");
      }
    } finally {
      assert.equal(await c.call("CONFIG", "SET", "auth-max-failures", "0"), OK);
    }
  });

  test("B4 unauthenticated never-reader (CVE-2025-21605) is closed", async () => {
    const kills = Number(await infoField(c, "client_output_buffer_limit_disconnections"));
    const r = await neverReader("PING\r\n", 8 * 1024 * 1024);
    assert.ok(r.closed, "closed once its pending output passed 1 KB");
    assert.ok(Number(await infoField(c, "client_output_buffer_limit_disconnections")) > kills);
    assert.match(srv.output(), /closed for overcoming of output buffer limits/);
    // An authenticated never-reader under the default (unlimited) normal class is not closed for 1 KB.
    const s = await rawSocket(srv.port);
    s.pause();
    s.on("error", () => {});
    s.write("AUTH admin adminpw\r\n" + "PING\r\n".repeat(20000));
    await sleep(500);
    assert.equal(s.destroyed, false);
    s.destroy();
  });

  test("B5 one WRONGPASS for every failure; a failed AUTH keeps the current user", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "offu", "off", ">pw"), OK);
    assert.equal(await c.call("ACL", "SETUSER", "rp", "on", "resetpass"), OK);
    const u = await RawClient.connect(srv.port);
    for (const [user, pass] of [["app", "wrong"], ["nosuch", "x"], ["offu", "pw"], ["rp", ""], ["rp", "x"]]) {
      assert.equal(await u.call("AUTH", user, pass), WRONGPASS, `${user}/${pass}`);
    }
    assert.equal(await u.call("AUTH", "wrongdefault"), WRONGPASS);
    u.close();
    assert.equal(await c.call("AUTH", "admin", "wrong"), WRONGPASS);
    assert.equal(await c.call("ACL", "WHOAMI"), bulk("admin"));
    assert.equal(await c.call("ACL", "DELUSER", "offu", "rp"), int(2));
  });

  test("B6 no timing oracle between unknown users, wrong passwords and password prefixes", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "timing", "on", ">correct-horse-battery-staple", "+@all"), OK);
    const u = await RawClient.connect(srv.port);
    const kinds: [string, string][] = [["nosuchuser", "x"], ["timing", "wrong"], ["timing", "correct-horse-battery-stapl"], ["timing", "zzzzzzzzzzzzzzzzzzzzzzzzzzz"]];
    const times: number[][] = kinds.map(() => []);
    for (let i = 0; i < 300; i++) {
      for (let k = 0; k < kinds.length; k++) {
        const t0 = performance.now();
        assert.equal(await u.call("AUTH", ...kinds[k]), WRONGPASS);
        times[k].push(performance.now() - t0);
      }
    }
    u.close();
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const m = times.map(med);
    // Loopback round trips are ~50-200 µs; a lookup shortcut or an early-exit compare of a
    // 27-byte prefix would not show at that scale, so this bounds gross differences only.
    const spread = Math.max(...m) - Math.min(...m);
    assert.ok(spread < Math.max(0.2, Math.min(...m)), `medians ${m.map((x) => x.toFixed(3)).join(", ")} ms`);
    assert.equal(await c.call("ACL", "DELUSER", "timing"), int(1));
  });

  test("B7 failed AUTH in a pipeline and in MULTI keeps the replies aligned", async () => {
    assert.deepEqual(await exchange(srv.port, "AUTH admin adminpw\r\nPING\r\nAUTH default wrong\r\nPING\r\n"), {
      reply: OK + "+PONG\r\n" + WRONGPASS + "+PONG\r\n",
      closed: false,
    });
    const u = await authed(srv.port);
    assert.equal(await u.call("MULTI"), OK);
    assert.equal(await u.call("AUTH", "x", "y"), "+QUEUED\r\n");
    assert.equal(await u.call("EXEC"), "*1\r\n" + WRONGPASS);
    assert.equal(await u.call("ACL", "WHOAMI"), bulk("admin"));
    u.close();
  });

  test("B8 odd passwords round-trip; AUTH syntax", async () => {
    const big = "p".repeat(16 * 1024);
    const odd = ["a\x00b", "cr\r\nlf", "\xff\xfe\x80 non-utf8", big];
    assert.equal(await c.call("ACL", "SETUSER", "odd", "on", "+@all", "~*", ...odd.map((p) => Buffer.from(">" + p, "latin1"))), OK);
    const info = pairs(parseReply(await c.call("ACL", "GETUSER", "odd")));
    assert.deepEqual([...(info.passwords as string[])].sort(), odd.map((p) => sha(p)).sort());
    for (const p of odd) {
      const u = await RawClient.connect(srv.port);
      assert.equal(await u.call("AUTH", "odd", Buffer.from(p, "latin1")), OK, JSON.stringify(p.slice(0, 20)));
      u.close();
    }
    assert.equal(await c.call("ACL", "SETUSER", "odd", "<" + big), OK);
    const u = await RawClient.connect(srv.port);
    assert.equal(await u.call("AUTH", "odd", big), WRONGPASS);
    assert.equal(await u.call("AUTH", "a", "b", "c"), err("ERR syntax error"));
    assert.equal(await u.call("AUTH"), err("ERR wrong number of arguments for 'auth' command"));
    u.close();
    assert.equal(await c.call("ACL", "DELUSER", "odd"), int(1));
  });

  test("B9 malformed SETUSER rules are refused whole; %RW without keys means no key access", async () => {
    const before = await c.call("ACL", "LIST");
    const cases: [string[], string][] = [
      [["u", "%~foo"], "ERR Error in ACL SETUSER modifier '%~foo': Syntax error"],
      [["u", "%X~foo"], "ERR Error in ACL SETUSER modifier '%X~foo': Syntax error"],
      [["u", "#abc"], "ERR Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"],
      [["a b"], "ERR Usernames can't contain spaces or null characters"],
      [["a\x00b"], "ERR Usernames can't contain spaces or null characters"],
      [["u", "(+get"], "ERR Unmatched parenthesis in acl selector starting at '(+get'."],
      [["u", "+nosuchcmd"], "ERR Error in ACL SETUSER modifier '+nosuchcmd': Unknown command or category name in ACL"],
      [["u", "+@nosuchcat"], "ERR Error in ACL SETUSER modifier '+@nosuchcat': Unknown command or category name in ACL"],
      [["app", "-get", "badrule"], "ERR Error in ACL SETUSER modifier 'badrule': Syntax error"],
    ];
    for (const [args, e] of cases) assert.equal(await c.call("ACL", "SETUSER", ...args), err(e), args.join(" "));
    assert.equal(await c.call("ACL", "LIST"), before, "nothing changed");
    // A 1 MB key pattern is accepted and harmless.
    assert.equal(await c.call("ACL", "SETUSER", "bigpat", "on", "nopass", "+get", "~" + "k".repeat(1024 * 1024)), OK);
    const bp = await RawClient.connect(srv.port);
    assert.equal(await bp.call("AUTH", "bigpat", "x"), OK);
    assert.equal(await bp.call("GET", "k"), err("NOPERM No permissions to access a key"));
    bp.close();
    // CVE-2024-51741: a selector with %RW but no pattern.
    assert.equal(await c.call("ACL", "SETUSER", "u", "on", "nopass", "%RW", "+@all"), OK);
    const u = await RawClient.connect(srv.port);
    assert.equal(await u.call("AUTH", "u", "x"), OK);
    assert.equal(await u.call("SET", "x", "5"), err("NOPERM No permissions to access a key"));
    assert.equal(await u.call("PING"), "+PONG\r\n");
    u.close();
    assert.equal(await c.call("ACL", "DELUSER", "u", "bigpat"), int(2));
  });

  test("B10 ACL LOAD of a broken file is all-or-nothing and never crashes", async () => {
    const base = FIXTURE_USERS.join("\n") + "\n";
    const users = await c.call("ACL", "USERS");
    const fails = async (text: string | Buffer, message: RegExp) => {
      writeFileSync(fx.file, text);
      const r = await c.call("ACL", "LOAD");
      assert.match(r, message, JSON.stringify(String(text).slice(0, 60)));
      assert.equal(await c.call("ACL", "USERS"), users);
    };
    const at = (line: number, what: string) => new RegExp(`^-ERR ${fx.file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:${line}${what}. ${WARN}\\r\\n$`);
    await fails(base + "user x on +nosuchcommand\n", at(5, ": Error in applying operation '\\+nosuchcommand': Unknown command or category name in ACL"));
    await fails(base + "user app on\n", new RegExp(`^-ERR WARNING: Duplicate user 'app' found on line 5. ${WARN}\\r\\n$`));
    await fails(base + "user sel on (+get\n", new RegExp(`^-ERR .*users\\.acl:5: Unmatched parenthesis in selector definition\\.${WARN}\\r\\n$`));
    await fails(base + "user n\x00ul on\n", at(5, ": NUL bytes are not allowed"));
    await fails("user\n", at(1, " should start with user keyword followed by the username"));
    // A missing file and a directory: an error, nothing changes.
    rmSync(fx.file);
    assert.match(await c.call("ACL", "LOAD"), /^-ERR Error loading ACLs, opening file '.*users\.acl': No such file or directory\r\n$/);
    assert.equal(await c.call("ACL", "USERS"), users);
    mkdirSync(fx.file);
    assert.match(await c.call("ACL", "LOAD"), /^-ERR /);
    assert.equal(await c.call("ACL", "USERS"), users);
    rmSync(fx.file, { recursive: true });
    // Accepted: CRLF line ends, a 1 MB line, non-UTF-8 bytes, '#' comments (aki's documented choice).
    writeFileSync(fx.file, base.replace(/\n/g, "\r\n"));
    assert.equal(await c.call("ACL", "LOAD"), OK);
    c.close();
    c = await authed(srv.port);
    writeFileSync(fx.file, Buffer.from(`# users\n${base}user big on ~${"a".repeat(1 << 20)}\nuser caf\xe9 on >p\xff\n`, "latin1"));
    assert.equal(await c.call("ACL", "LOAD"), OK);
    c.close();
    c = await authed(srv.port);
    assert.equal(await c.call("ACL", "USERS"), bulks("admin", "app", "big", "caf\xe9", "default", "ro"));
    // An empty file loads (Redis semantics: default becomes on nopass ~* &* +@all) and says so.
    writeFileSync(fx.file, "");
    assert.equal(await c.call("ACL", "LOAD"), OK);
    await logged(() => /defines no 'default' user/.test(srv.output()));
    const open = await RawClient.connect(srv.port);
    assert.equal(await open.call("ACL", "WHOAMI"), bulk("default"));
    writeFileSync(fx.file, base);
    assert.equal(await open.call("ACL", "LOAD"), OK);
    open.close();
    c = await authed(srv.port);
    assert.equal(await c.call("ACL", "USERS"), bulks("admin", "app", "default", "ro"));
  });

  test("B11 ACL LOAD removing a live user closes its connections (the caller after its reply)", async () => {
    const withAlice = FIXTURE_USERS.join("\n") + "\nuser alice on >alicepw ~* +@all\n";
    writeFileSync(fx.file, withAlice);
    assert.equal(await c.call("ACL", "LOAD"), OK);
    c = await authed(srv.port);
    const alice = await authed(srv.port, "alice", "alicepw");
    writeFileSync(fx.file, FIXTURE_USERS.join("\n") + "\n");
    const admin = await RawClient.connect(srv.port);
    assert.equal(await admin.call("AUTH", "defpw"), OK); // default survives ACL LOAD
    assert.equal(await admin.call("ACL", "LOAD"), OK);
    assert.ok(await alice.waitClosed(), "(a) alice closed by someone else's ACL LOAD");
    writeFileSync(fx.file, withAlice);
    assert.equal(await admin.call("ACL", "LOAD"), OK);
    const self = await authed(srv.port, "alice", "alicepw");
    writeFileSync(fx.file, FIXTURE_USERS.join("\n") + "\n");
    assert.equal(await self.call("ACL", "LOAD"), OK, "(b) alice gets her reply");
    assert.ok(await self.waitClosed(), "then is closed");
    assert.equal(await admin.call("PING"), "+PONG\r\n");
    admin.close();
    c.close();
    c = await authed(srv.port);
  });

  test("B12 permission changes reach live connections", async () => {
    const app = await authed(srv.port, "app", "apppw");
    assert.equal(await app.call("GET", "app:1"), "$-1\r\n");
    assert.equal(await c.call("ACL", "SETUSER", "app", "-get"), OK);
    assert.equal(await app.call("GET", "app:1"), err("NOPERM User app has no permissions to run the 'get' command"));
    assert.equal(await c.call("ACL", "SETUSER", "app", "off"), OK);
    assert.equal(await app.call("SET", "app:1", "v"), OK, "an authenticated connection keeps working");
    const again = await RawClient.connect(srv.port);
    assert.equal(await again.call("AUTH", "app", "apppw"), WRONGPASS);
    again.close();
    assert.equal(await c.call("ACL", "DELUSER", "app"), int(1));
    assert.ok(await app.waitClosed(), "DELUSER closes its connections");
    // Subscribers lose their connection when their channel is revoked.
    assert.equal(await c.call("ACL", "SETUSER", "sub", "on", ">subpw", "+@all", "&news"), OK);
    const sub = await authed(srv.port, "sub", "subpw");
    assert.match(await sub.call("SUBSCRIBE", "news"), /^\*3\r\n\$9\r\nsubscribe\r\n/);
    assert.equal(await c.call("ACL", "SETUSER", "sub", "resetchannels"), OK);
    assert.ok(await sub.waitClosed());
    assert.equal(await c.call("ACL", "DELUSER", "sub"), int(1));
    await restoreFixture();
  });

  test("B13 ACL LOG: contents, merging, bounds, hostile usernames", async () => {
    assert.equal(await c.call("ACL", "LOG", "RESET"), OK);
    const u = await RawClient.connect(srv.port);
    assert.equal(await u.call("AUTH", "mallory", "pw"), WRONGPASS);
    let log = parseReply(await c.call("ACL", "LOG")) as unknown[];
    let e = pairs(log[0]);
    assert.deepEqual([e.count, e.reason, e.context, e.object, e.username], [1, "auth", "toplevel", "AUTH", "mallory"]);
    assert.ok(!String(e["client-info"]).includes("pw "), "no password");
    for (let i = 0; i < 10; i++) await u.call("AUTH", "mallory", "pw" + i);
    log = parseReply(await c.call("ACL", "LOG")) as unknown[];
    assert.equal(log.length, 1);
    assert.equal(pairs(log[0]).count, 11);
    // key / command / channel denials
    const ro = await authed(srv.port, "ro", "ropw");
    assert.match(await ro.call("SET", "k", "v"), /^-NOPERM/);
    const app = await authed(srv.port, "app", "apppw");
    assert.match(await app.call("GET", "zz"), /^-NOPERM/);
    // PUBLISH is @pubsub, not @read/@write: allow the command so the channel check is reached.
    assert.equal(await c.call("ACL", "SETUSER", "app", "+publish"), OK);
    assert.equal(await app.call("PUBLISH", "chan", "m"), err("NOPERM No permissions to access a channel"));
    assert.equal(await c.call("ACL", "SETUSER", "app", "-publish"), OK);
    log = parseReply(await c.call("ACL", "LOG", "3")) as unknown[];
    assert.deepEqual(log.map((x) => [pairs(x).reason, pairs(x).object, pairs(x).username]), [
      ["channel", "chan", "app"],
      ["key", "zz", "app"],
      ["command", "set", "ro"],
    ]);
    assert.equal((parseReply(await c.call("ACL", "LOG", "2")) as unknown[]).length, 2);
    // 300 distinct failures: acllog-max-len entries are kept.
    // From an authenticated connection (a failed AUTH keeps its user): an unauthenticated one
    // may be cut off by the output limit for unauthenticated clients (B4) before 300 replies.
    const v = await authed(srv.port);
    for (let i = 0; i < 300; i++) v.write(resp("AUTH", "user" + i, "x"));
    for (let i = 0; i < 300; i++) await v.read();
    v.close();
    assert.equal((parseReply(await c.call("ACL", "LOG")) as unknown[]).length, 10, "ACL LOG shows 10 by default");
    assert.equal((parseReply(await c.call("ACL", "LOG", "1000")) as unknown[]).length, 128);
    assert.equal(await c.call("ACL", "LOG", "RESET"), OK);
    assert.equal(await c.call("ACL", "LOG"), "*0\r\n");
    // Attacker-controlled usernames are stored and returned intact.
    const names = ["n".repeat(16384), "a\r\nb", "nul\x00byte", "\xff\xfe\xc3("];
    for (const n of names) assert.equal(await u.call("AUTH", Buffer.from(n, "latin1"), "x"), WRONGPASS);
    log = parseReply(await c.call("ACL", "LOG")) as unknown[];
    assert.deepEqual(log.map((x) => pairs(x).username).reverse(), names);
    assert.equal(await c.call("ACL", "LOG", "RESET"), OK);
    for (const x of [u, ro, app]) x.close();
  });

  test("B14 no secret appears in replies, logs, ACL LOG or CLIENT LIST", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "sec", "on", ">S3CR3T", "+@all", "~*"), OK);
    const u = await RawClient.connect(srv.port);
    assert.equal(await u.call("AUTH", "sec", "WR0NG"), WRONGPASS);
    assert.match(await u.call("HELLO", "3", "AUTH", "sec", "S3CR3T"), /^%7/);
    assert.equal(await u.call("ACL", "SETUSER", "sec", ">N3W"), "+OK\r\n");
    const seen = [
      await c.call("ACL", "LOG"),
      await c.call("CLIENT", "LIST"),
      await c.call("ACL", "LIST"),
      await c.call("ACL", "GETUSER", "sec"),
      await c.call("SLOWLOG", "GET", "128"),
      await c.call("INFO", "everything"),
      srv.output(),
    ].join("\n");
    for (const secret of ["S3CR3T", "WR0NG", "N3W"]) assert.ok(!seen.includes(secret), `${secret} leaked`);
    u.close();
    assert.equal(await c.call("ACL", "DELUSER", "sec"), int(1));
  });

  test("B15 passwords are stored as SHA-256 only; the files are 0600", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "v", "on", "#34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6", "~*", "+@all"), OK);
    assert.equal(await c.call("ACL", "SETUSER", "w", "on", ">cleartext-pw"), OK);
    const u = await RawClient.connect(srv.port);
    assert.equal(await u.call("AUTH", "v", "passwd4"), OK);
    u.close();
    assert.equal(await c.call("ACL", "SAVE"), OK);
    const saved = readFileSync(fx.file, "latin1");
    const shown = (await c.call("ACL", "LIST")) + (await c.call("ACL", "GETUSER", "w")) + saved;
    assert.ok(!shown.includes("cleartext-pw"));
    assert.ok(shown.includes(sha("cleartext-pw")));
    assert.equal(statSync(fx.file).mode & 0o777, 0o600, "aclfile mode");
    assert.equal(await c.call("SET", "durable", "1"), OK);
    assert.equal(statSync(dbfile).mode & 0o777, 0o600, "dbfile mode");
    assert.equal(await c.call("ACL", "DELUSER", "v", "w"), int(2));
    assert.equal(await c.call("ACL", "SAVE"), OK);
  });

  test("B16 protected mode refuses non-loopback clients while default has no password", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "default", "nopass"), OK);
    try {
      // Loopback is always accepted.
      assert.deepEqual(await exchange(srv.port, "PING\r\n"), { reply: "+PONG\r\n", closed: false });
      if (ext !== null) {
        const r = await new Promise<{ reply: string; closed: boolean }>((resolve) => {
          const s = net.connect({ port: srv.port, host: ext }, () => s.write("PING\r\n"));
          let reply = "";
          s.on("data", (d: Buffer) => (reply += d.toString("latin1")));
          s.on("error", () => {});
          s.on("close", () => resolve({ reply, closed: true }));
          setTimeout(() => {
            s.destroy();
            resolve({ reply, closed: false });
          }, 2000);
        });
        assert.ok(r.closed);
        assert.match(r.reply, /^-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user\./);
      }
    } finally {
      assert.equal(await c.call("ACL", "SETUSER", "default", "resetpass", ">defpw"), OK);
    }
  });

  test("B17 an aclfile without a default user: Redis semantics, with a warning", async () => {
    writeFileSync(fx.file, FIXTURE_USERS.filter((l) => !l.startsWith("user default")).join("\n") + "\n");
    const marks = srv.output().split("defines no 'default' user").length;
    assert.equal(await c.call("ACL", "LOAD"), OK);
    c = await authed(srv.port);
    assert.match(await c.call("ACL", "GETUSER", "default"), /nopass/);
    await logged(() => srv.output().split("defines no 'default' user").length === marks + 1);
    await restoreFixture();
    assert.doesNotMatch(await c.call("ACL", "GETUSER", "default"), /nopass/);
  });

  test("B18 ACL DRYRUN agrees with real permission checks; no key-extraction bypass", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "sel", "on", ">selpw", "+get", "+multi", "+discard", "~r:*", "(%W~w:* +set +del +lpush +sort +copy)"), OK);
    // MULTI shows the permission decision without running anything (DISCARD follows).
    for (const name of ["app", "ro"]) assert.equal(await c.call("ACL", "SETUSER", name, "+multi", "+discard"), OK);
    const users = ["app", "ro", "sel"];
    const clients = new Map<string, RawClient>();
    for (const name of users) clients.set(name, await authed(srv.port, name, name + "pw"));
    const cmds = parseReply(await c.call("COMMAND")) as unknown[][];
    const skip = /^(acl|auth|hello|client|config|debug|monitor|shutdown|multi|exec|discard|watch|unwatch|quit|reset|subscribe|psubscribe|ssubscribe|unsubscribe|punsubscribe|sunsubscribe|select|swapdb|sync|psync|replicaof|slaveof|failover|save|bgsave|bgrewriteaof|module|script|function|eval|evalsha|eval_ro|evalsha_ro|fcall|fcall_ro|cluster|wait|waitaof|latency|memory|object|slowlog|pubsub|command|info|lastsave|dbsize|time|role|echo|ping|readonly|readwrite|asking)$/;
    const keysPool = ["app:1", "zz", "r:1", "w:1", "app:2"];
    const rand = prng(18);
    const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)];
    const fill = ["0", "1", "10", "v", "LIMIT", "STORE", "COUNT", "MATCH"];
    let compared = 0;
    for (const entry of cmds) {
      const name = String(entry[0]);
      if (skip.test(name) || Number(entry[3]) === 0) continue; // keyless or excluded
      const arity = Number(entry[1]);
      for (let round = 0; round < 3; round++) {
        const n = arity > 0 ? arity : -arity + Math.floor(rand() * 3);
        const argv = [name];
        while (argv.length < n) argv.push(rand() < 0.6 ? pick(keysPool) : pick(fill));
        for (const user of users) {
          const dry = await c.call("ACL", "DRYRUN", user, ...argv);
          const cl = clients.get(user)!;
          assert.equal(await cl.call("MULTI"), OK);
          const real = await cl.call(...argv);
          await cl.call("DISCARD");
          // Checks that come before the ACL (arity, commands refused inside MULTI) say nothing.
          if (real !== "+QUEUED\r\n" && !real.startsWith("-NOPERM")) continue;
          if (real === "+QUEUED\r\n") assert.equal(dry, OK, `${user} ${argv.join(" ")}: allowed, but DRYRUN says ${dry}`);
          else assert.match(dry, /^\$\d+\r\nUser \S+ has no permissions to /, `${user} ${argv.join(" ")}: denied (${real.trim()}), but DRYRUN says ${dry}`);
          compared++;
        }
      }
    }
    assert.ok(compared > 300, `${compared} comparisons`);
    // Forbidden keys in any position, last-wins duplicates included.
    const app = clients.get("app")!;
    for (const argv of [
      ["SORT", "app:1", "STORE", "app:2", "STORE", "zz"],
      ["SORT", "app:1", "STORE", "zz", "STORE", "app:2"],
      ["MSET", "app:1", "v", "zz", "v"],
      ["RENAME", "app:1", "zz"],
      ["COPY", "zz", "app:1"],
      ["LMOVE", "app:1", "zz", "LEFT", "RIGHT"],
      ["ZUNIONSTORE", "app:1", "2", "app:2", "zz"],
      ["SINTERCARD", "2", "app:1", "zz"],
    ]) {
      assert.match(await c.call("ACL", "DRYRUN", "app", ...argv), /^\$\d+\r\nUser app has no permissions to access the 'zz' key\r\n$/, argv.join(" "));
      assert.equal(await app.call(...argv), err("NOPERM No permissions to access a key"), argv.join(" "));
    }
    assert.equal(await c.call("ACL", "DRYRUN", "nouser", "get", "x"), err("ERR User 'nouser' not found"));
    assert.equal(await c.call("ACL", "DRYRUN", "app", "nocmd", "x"), err("ERR Command 'nocmd' not found"));
    assert.equal(await c.call("ACL", "DRYRUN", "app", "get"), err("ERR wrong number of arguments for 'get' command"));
    assert.equal(await c.call("ACL", "DRYRUN", "ro", "set", "zz", "1"), bulk("User ro has no permissions to run the 'set' command"));
    // DRYRUN never touches the keyspace.
    const size = await c.call("DBSIZE");
    const keys = await c.call("KEYS", "*");
    for (const argv of [["SET", "dry", "1"], ["DEL", "durable"], ["FLUSHALL"], ["LPUSH", "dry", "x"]]) await c.call("ACL", "DRYRUN", "admin", ...argv);
    assert.equal(await c.call("DBSIZE"), size);
    assert.equal(await c.call("KEYS", "*"), keys);
    for (const cl of clients.values()) cl.close();
    assert.equal(await c.call("ACL", "DELUSER", "sel"), int(1));
    await restoreFixture();
  });

  test("B19 MSETNX with a duplicate key (CVE-2023-28425)", async () => {
    await c.call("DEL", "mk");
    assert.equal(await c.call("MSETNX", "mk", "1", "mk", "2"), int(1));
    assert.equal(await c.call("GET", "mk"), bulk("2"));
    assert.equal(await c.call("MSETNX", "mk", "1", "mk", "2"), int(0));
  });

  test("B20 numkeys commands with a wrong count, as a restricted user", async () => {
    const app = await authed(srv.port, "app", "apppw");
    const size = await c.call("DBSIZE");
    assert.equal(await app.call("ZUNIONSTORE", "app:d", "5", "app:a"), err("ERR syntax error"));
    assert.equal(await app.call("SINTERCARD", "9", "app:a"), err("ERR Number of keys can't be greater than number of args"));
    assert.equal(await app.call("LMPOP", "3", "app:a", "LEFT"), err("ERR syntax error"));
    assert.equal(await app.call("ZUNIONSTORE", "app:d", "0", "app:a"), err("ERR at least 1 input key is needed for 'zunionstore' command"));
    assert.match(await app.call("ZINTERCARD", "99999999999", "app:a"), /^-ERR /);
    assert.match(await app.call("LMPOP", "-1", "app:a", "LEFT"), /^-ERR /);
    assert.equal(await c.call("DBSIZE"), size, "nothing was executed");
    assert.equal(await app.call("PING"), err("NOPERM User app has no permissions to run the 'ping' command"));
    app.close();
  });
});
