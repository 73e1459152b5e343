/**
 * Hardening, group A: bad input on the RESP port (reliability catalogue A1-A18). Exact Redis 7.2
 * replies and connection fate (answered then closed, or kept open) for malformed multibulk and
 * inline requests, the 64 KB line caps, NUL bytes, HTTP sent to the RESP port, declared sizes
 * that are never sent (no memory follows them), fragmentation at any byte, long pipelines with
 * errors, binary safety and maxclients. A16 runs the seeded fuzzer (scripts/fuzz.mjs) briefly.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import net from "node:net";
import { RawClient, resp, replyLength, bulk, err, int, OK, ROOT, type AkiServer } from "./harness.ts";
import { authed, exchange, fixtureServer, infoField, pingMs, prng, rawSocket, rss, sleep, AUTH } from "./hardening-helpers.ts";

const PROTO = (m: string) => `-ERR Protocol error: ${m}\r\n`;

describe("hardening A: protocol bad input", () => {
  let srv: AkiServer;
  let c: RawClient;
  // The fuzz (A16) fails AUTH many times from loopback: no throttling here, so later tests
  // are not answered by the failed-AUTH throttle (tests/security-throttle.test.ts covers it).
  fixtureServer((f) => ({ srv, c } = f));

  /** Authenticated raw exchange. */
  const ax = (bytes: string, waitMs = 400) => exchange(srv.port, AUTH + bytes, waitMs);

  test("A1 empty line is ignored", async () => {
    assert.deepEqual(await ax("\r\nPING\r\n"), { reply: OK + "+PONG\r\n", closed: false });
  });

  test("A2 multibulk count <= 0 is ignored", async () => {
    assert.deepEqual(await ax("*-10\r\n*0\r\n*-1\r\nPING\r\n"), { reply: OK + "+PONG\r\n", closed: false });
  });

  test("A3 invalid multibulk length: reply, then close", async () => {
    for (const bad of ["*3000000000\r\n", "*abc\r\n", "*\r\n", "*+5\r\n", "*2147483648\r\n", "*01\r\n", "* 1\r\n"]) {
      assert.deepEqual(await ax(bad), { reply: OK + PROTO("invalid multibulk length"), closed: true }, JSON.stringify(bad));
    }
  });

  test("A4 a huge declared count allocates nothing and waits", async () => {
    const before = rss(srv.proc.pid);
    const socks: net.Socket[] = [];
    for (let i = 0; i < 20; i++) {
      const s = await rawSocket(srv.port);
      s.on("error", () => {});
      s.write(AUTH + "*2147483647\r\n$1\r\na\r\n");
      socks.push(s);
    }
    await sleep(300);
    for (const s of socks) assert.equal(s.destroyed, false, "the connection waits for the arguments");
    assert.ok(await pingMs(c) < 1000);
    const grew = rss(srv.proc.pid) - before;
    if (!Number.isNaN(grew)) assert.ok(grew < 20 * 1024 * 1024, `RSS grew ${grew} bytes for 20 declared counts`);
    const list = await c.call("CLIENT", "LIST");
    for (const m of list.matchAll(/qbuf=(\d+)/g)) assert.ok(Number(m[1]) < 4096, "qbuf follows received bytes");
    for (const s of socks) s.destroy();
  });

  test("A5 expected '$'", async () => {
    for (const bad of ["*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", "*1\r\nfoo\r\n"]) {
      assert.deepEqual(await ax(bad), { reply: OK + PROTO("expected '$', got 'f'"), closed: true });
    }
  });

  test("A6 invalid bulk length; proto-max-bulk-len is the boundary", async () => {
    for (const bad of ["$-10", "$blabla", "$", "$2000000000", "$536870913", "$-0", "$04", "$ 4", "$4 "]) {
      assert.deepEqual(await ax(`*1\r\n${bad}\r\n`), { reply: OK + PROTO("invalid bulk length"), closed: true }, bad);
    }
    assert.deepEqual(await ax("*1\r\n$536870912\r\n"), { reply: OK, closed: false });
    // CONFIG SET moves the boundary (minimum 1 MB).
    assert.equal(await c.call("CONFIG", "SET", "proto-max-bulk-len", "1mb"), OK);
    try {
      assert.deepEqual(await ax("*1\r\n$1048577\r\n"), { reply: OK + PROTO("invalid bulk length"), closed: true });
      assert.deepEqual(await ax("*1\r\n$1048576\r\n"), { reply: OK, closed: false });
    } finally {
      assert.equal(await c.call("CONFIG", "SET", "proto-max-bulk-len", "512mb"), OK);
    }
  });

  test("A7 declared-size amplification: 20 x 512 MB declared, nothing allocated", async () => {
    const before = rss(srv.proc.pid);
    const socks: net.Socket[] = [];
    for (let i = 0; i < 20; i++) {
      const s = await rawSocket(srv.port);
      s.on("error", () => {});
      s.write(AUTH + "*1\r\n$536870912\r\n" + "x".repeat(1000));
      socks.push(s);
    }
    await sleep(300);
    assert.ok(await pingMs(c) < 1000, "the server keeps answering");
    const grew = rss(srv.proc.pid) - before;
    if (!Number.isNaN(grew)) assert.ok(grew < 50 * 1024 * 1024, `RSS grew ${grew} bytes`);
    for (const s of socks) assert.equal(s.destroyed, false);
    for (const s of socks) s.destroy();
  });

  test("A8 64 KB line caps", async () => {
    const digits = "1".repeat(70000);
    assert.deepEqual(await ax("*" + digits), { reply: OK + PROTO("too big mbulk count string"), closed: true });
    assert.deepEqual(await ax("*1\r\n$" + digits), { reply: OK + PROTO("too big bulk count string"), closed: true });
    assert.deepEqual(await ax("A".repeat(70000)), { reply: OK + PROTO("too big inline request"), closed: true });
    // Up to the cap, a long inline line is still a command.
    assert.deepEqual(await ax("ECHO " + "b".repeat(60000) + "\r\n"), { reply: OK + bulk("b".repeat(60000)), closed: false });
  });

  test("A9 unbalanced quotes close the connection before the next command runs", async () => {
    for (const bad of ['set """test-key""" test-value\r\nping\r\n', 'set "abc\r\nping\r\n', "set 'a\r\nping\r\n", 'set "a"b c\r\nping\r\n']) {
      assert.deepEqual(await ax(bad), { reply: OK + PROTO("unbalanced quotes in request"), closed: true }, bad);
    }
    // Escapes inside quotes are fine, as in redis-cli.
    assert.deepEqual(await ax('ECHO "a\\x41\\n"\r\n'), { reply: OK + bulk("aA\n"), closed: false });
    assert.deepEqual(await ax('"\\x4"\r\n'), { reply: OK + "-ERR unknown command 'x4', with args beginning with: \r\n", closed: false });
  });

  test("A10 NUL desync: a protocol error within 64 KB plus one read chunk", async () => {
    for (const start of ["\x00", "*\x00", "$\x00"]) {
      for (const filler of ["payload", "A".repeat(1023) + "\n"]) {
        const s = await rawSocket(srv.port);
        let got = "";
        s.on("data", (d: Buffer) => (got += d.toString("latin1")));
        s.on("error", () => {});
        const closed = new Promise<void>((r) => s.on("close", () => r()));
        s.write(AUTH + start);
        let sent = 0;
        let done = false;
        void closed.then(() => (done = true));
        while (!done && sent < 256 * 1024) {
          const chunk = filler.repeat(Math.ceil(1024 / filler.length));
          await new Promise<void>((r) => s.write(chunk, () => r()));
          sent += chunk.length;
          await sleep(1);
        }
        await Promise.race([closed, sleep(2000)]);
        assert.ok(done, `closed (${JSON.stringify(start)} + ${JSON.stringify(filler.slice(0, 8))})`);
        // The client counts what it wrote, the server what it read: allow one 64 KB read chunk
        // (Node's) in flight on top of the 64 KB cap.
        assert.ok(sent <= 128 * 1024 + 8 * 1024, `closed after ${sent} bytes`);
        assert.match(got, /^\+OK\r\n(-ERR unknown command [^\r\n]*\r\n)*-ERR Protocol error: too big (inline request|mbulk count string)\r\n$/);
      }
    }
  });

  test("A11 HTTP on the RESP port: dropped silently, nothing runs, logged once", async () => {
    const post = await exchange(srv.port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\nSET pwned 1\r\n");
    assert.deepEqual(post, { reply: "", closed: true });
    const get = await exchange(srv.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\nSET pwned 1\r\n");
    assert.deepEqual(get, { reply: "", closed: true });
    // Replies queued in the same batch are dropped with the connection (as Redis).
    assert.deepEqual(await exchange(srv.port, AUTH + "PING\r\nPOST / HTTP/1.1\r\n"), { reply: "", closed: true });
    assert.equal(await c.call("EXISTS", "pwned"), int(0));
    const warnings = srv.output().split("\n").filter((l) => l.includes("SECURITY ATTACK"));
    assert.equal(warnings.length, 1, "at most one warning a minute");
  });

  test("A12 the two bytes after a bulk are not checked (Redis-compatible leniency)", async () => {
    assert.deepEqual(await ax("*1\r\n$4\r\nPINGxx"), { reply: OK + "+PONG\r\n", closed: false });
    // The next well-formed command is parsed from the right place.
    assert.deepEqual(await ax("*1\r\n$4\r\nPINGxx*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n"), { reply: OK + "+PONG\r\n" + bulk("hi"), closed: false });
  });

  test("A13 fragmentation at any byte gives the same replies", async () => {
    const rand = prng(13);
    const build = (prefix: string, big: boolean) => {
      const sizes = prng(1313);
      const parts: Buffer[] = [];
      for (let i = 0; i < 200; i++) {
        const size = big && i % 20 === 0 ? 100 * 1024 : Math.floor(sizes() * 50);
        const v = Buffer.alloc(size, 97 + (i % 26));
        const k = `${prefix}:${i % 7}`;
        const op = i % 5;
        if (op === 0) parts.push(resp("SET", k, v));
        else if (op === 1) parts.push(resp("APPEND", k, v));
        else if (op === 2) parts.push(resp("STRLEN", k));
        else if (op === 3) parts.push(resp("GETRANGE", k, "0", "20"));
        else parts.push(resp("ECHO", v));
      }
      return Buffer.concat(parts);
    };
    const run = async (data: Buffer, splits: (n: number) => number[]) => {
      const s = await rawSocket(srv.port);
      s.setNoDelay(true);
      let got = Buffer.alloc(0);
      s.on("data", (d: Buffer) => (got = Buffer.concat([got, d])));
      await new Promise<void>((r) => s.write(AUTH, () => r()));
      let prev = 0;
      for (const at of [...splits(data.length), data.length]) {
        if (at <= prev) continue;
        await new Promise<void>((r) => s.write(data.subarray(prev, at), () => r()));
        prev = at;
      }
      // 200 replies plus +OK.
      const deadline = Date.now() + 10000;
      for (;;) {
        let pos = 0;
        let n = 0;
        for (;;) {
          const l = replyLength(got, pos);
          if (l < 0) break;
          pos += l;
          n++;
        }
        if (n >= 201 || Date.now() > deadline) break;
        await sleep(10);
      }
      s.destroy();
      return got.toString("latin1");
    };
    for (const big of [false, true]) {
      const ref = await run(build(`f${big}a`, big), () => []);
      if (!big) {
        const each = await run(build(`f${big}b`, big), (n) => Array.from({ length: n }, (_, i) => i + 1));
        assert.equal(each, ref, "one byte per write");
      }
      const random = await run(build(`f${big}c`, big), (n) => Array.from({ length: 1000 }, () => Math.floor(rand() * n)).sort((a, b) => a - b));
      assert.equal(random, ref, "1000 random split points");
    }
  });

  test("A14 a long pipeline with errors keeps every reply in order", async () => {
    const p = await authed(srv.port);
    const parts: Buffer[] = [];
    const want: string[] = [];
    for (let i = 0; i < 10000; i++) {
      parts.push(resp("PING"));
      want.push("+PONG\r\n");
      if (i % 100 === 99) {
        parts.push(resp("FOOBAR", String(i)));
        want.push(err(`ERR unknown command 'FOOBAR', with args beginning with: '${i}' `));
        parts.push(resp("GET"));
        want.push(err("ERR wrong number of arguments for 'get' command"));
      }
    }
    p.write(Buffer.concat(parts));
    for (let i = 0; i < want.length; i++) {
      const r = await p.read(10000);
      if (r !== want[i]) assert.equal(r, want[i], `reply ${i}`);
    }
    assert.equal(want.length, 10200);
    assert.equal(await p.call("PING"), "+PONG\r\n");
    p.close();
  });

  test("A15 unknown and long command names; arity", async () => {
    assert.equal(await c.call("FOOBAR", "a"), err("ERR unknown command 'FOOBAR', with args beginning with: 'a' "));
    const r = await c.call("X".repeat(100 * 1024), "a".repeat(300));
    assert.ok(r.length < 1024, `reply of ${r.length} bytes`);
    assert.equal(r, err(`ERR unknown command '${"X".repeat(128)}', with args beginning with: '${"a".repeat(128)}' `));
    assert.equal(await c.call("PING", "a", "b", "c"), err("ERR wrong number of arguments for 'ping' command"));
    // Names are cut at a NUL byte as Redis's %s does; CR/LF never break the reply.
    assert.equal(await c.call("PI\x00G"), err("ERR unknown command 'PI', with args beginning with: "));
    assert.equal(await c.call("A\r\nB", "x\r\ny"), err("ERR unknown command 'A  B', with args beginning with: 'x  y' "));
    assert.equal(await c.call("PING"), "+PONG\r\n");
  });

  test("A16 seeded fuzz: the server survives and keeps answering", () => {
    const r = spawnSync("node", [join(ROOT, "scripts/fuzz.mjs"), "--port", String(srv.port), "--pid", String(srv.proc.pid), "--cases", "1500", "--seed", "16", "--password", "defpw"], {
      encoding: "utf8",
      timeout: 120000,
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /verdict: ok/);
  });

  test("A17 binary safety", async () => {
    let all = "";
    for (let i = 0; i < 256; i++) all += String.fromCharCode(i);
    assert.equal(await c.call("SET", Buffer.from(all, "latin1"), Buffer.from(all + all, "latin1")), OK);
    assert.equal(await c.call("GET", Buffer.from(all, "latin1")), bulk(all + all));
    assert.equal(await c.call("SET", "k\r\nx", "v\r\n"), OK);
    assert.equal(await c.call("GET", "k\r\nx"), bulk("v\r\n"));
    assert.equal(await c.call("ACL", "SETUSER", "nul", "on", ">abc\x00def", "+@all", "~*"), OK);
    const u = await RawClient.connect(srv.port);
    assert.equal(await u.call("AUTH", "nul", "abc"), err("WRONGPASS invalid username-password pair or user is disabled."));
    assert.equal(await u.call("AUTH", "nul", "abc\x00de"), err("WRONGPASS invalid username-password pair or user is disabled."));
    assert.equal(await u.call("AUTH", "nul", "abc\x00def"), OK);
    u.close();
    assert.equal(await c.call("ACL", "DELUSER", "nul"), int(1));
  });

  test("A18 maxclients: extra connections get the error and are closed", async () => {
    const connected = Number(await infoField(c, "connected_clients"));
    const rejected0 = Number(await infoField(c, "rejected_connections"));
    assert.equal(await c.call("CONFIG", "SET", "maxclients", String(connected + 19)), OK);
    const held: RawClient[] = [];
    try {
      for (let i = 0; i < 19; i++) held.push(await RawClient.connect(srv.port));
      await sleep(100);
      for (let i = 0; i < 5; i++) {
        assert.deepEqual(await exchange(srv.port, ""), { reply: "-ERR max number of clients reached\r\n", closed: true });
      }
      for (const h of held.splice(0, 10)) h.close();
      await sleep(200);
      for (let i = 0; i < 10; i++) held.push(await RawClient.connect(srv.port));
      assert.equal(await held[held.length - 1].call("AUTH", "admin", "adminpw"), OK);
      assert.equal(Number(await infoField(c, "rejected_connections")) - rejected0, 5);
    } finally {
      for (const h of held) h.close();
      assert.equal(await c.call("CONFIG", "SET", "maxclients", "10000"), OK);
    }
  });
});
