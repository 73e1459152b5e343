/**
 * Hardening, group D: resource exhaustion (reliability catalogue D1-D12). Connection storms and
 * churn, maxclients under a low open-file limit, the auth deadline against slowloris, output
 * limits for never-reading clients and slow subscribers (checked while a pipeline runs, so it
 * stops at the limit), the query buffer limit, trickled multibulks, a short combined attack, a
 * short soak (the long one is scripts/soak.mjs) and event-loop stalls of big commands.
 * Sizes are scaled down from the catalogue so the file runs in well under a minute on 2 cores;
 * each test says how. Timing bounds are loose: they catch hangs, not slowness.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { spawnSync } from "node:child_process";
import { readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import net from "node:net";
import { currentRuntime, startServer, RawClient, resp, bulk, err, int, OK, ROOT, type AkiServer } from "./harness.ts";
import { authed, exchange, fixtureServer, FIXTURE_USERS, type FixtureServer, infoField, pingMs, rawSocket, rss, sleep, AUTH } from "./hardening-helpers.ts";

const MB = 1024 * 1024;
const MAXCLIENTS_ERR = "-ERR max number of clients reached\r\n";

/** Open file descriptors of a process (Linux /proc), or NaN where unavailable. */
function fds(pid: number | undefined): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

/** Poll until cond() holds or ms pass; returns whether it held. */
async function until(cond: () => boolean | Promise<boolean>, ms: number, step = 50): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > deadline) return false;
    await sleep(step);
  }
}

/** A raw socket that sent `hello` and got `expect` back (e.g. AUTH -> +OK). */
function greeted(port: number, hello: string, expect = OK, ms = 10000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: "127.0.0.1" }, () => s.write(hello));
    let got = "";
    const t = setTimeout(() => reject(new Error(`no ${JSON.stringify(expect)} in ${ms} ms (got ${JSON.stringify(got)})`)), ms);
    const onData = (d: Buffer) => {
      got += d.toString("latin1");
      if (got.length >= expect.length) {
        clearTimeout(t);
        s.off("data", onData);
        if (got.startsWith(expect)) resolve(s);
        else reject(new Error(`got ${JSON.stringify(got)}`));
      }
    };
    s.on("data", onData);
    s.on("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/** Many sockets at once, `batch` connecting concurrently. */
async function openMany(n: number, batch: number, open: () => Promise<net.Socket>): Promise<net.Socket[]> {
  const out: net.Socket[] = [];
  for (let i = 0; i < n; i += batch) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - i) }, open))));
  }
  for (const s of out) s.on("error", () => {});
  return out;
}

/** Resolves true when the server closed s within ms. */
function closedWithin(s: net.Socket, ms: number): Promise<boolean> {
  if (s.destroyed || s.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    const done = () => {
      clearTimeout(t);
      resolve(true);
    };
    s.once("close", done);
    s.once("end", done);
  });
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** cmdstat_<name> calls from INFO commandstats (0 when never called). */
async function calls(c: RawClient, name: string): Promise<number> {
  const r = await c.call("INFO", "commandstats");
  const m = new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(r);
  return m ? Number(m[1]) : 0;
}

describe("hardening D: resource exhaustion", () => {
  let srv: AkiServer;
  let c: RawClient;
  let fx: FixtureServer["fx"];
  const pid = () => srv.proc.pid;
  fixtureServer((f) => ({ srv, c, fx } = f));

  /** Wait until only the control client is connected (earlier tests' sockets are gone). */
  const settle = async () => {
    const ok = await until(async () => Number(await infoField(c, "connected_clients")) === 1, 5000, 100);
    assert.ok(ok, `connected_clients stays at ${await infoField(c, "connected_clients")}`);
  };

  // Scaled: 1000 idle connections (catalogue: 5000).
  test("D1 idle connection storm: 1000 idle clients, PING stays fast, memory and fds come back", async () => {
    await settle();
    const fd0 = fds(pid());
    const rss0 = rss(pid());
    const socks = await openMany(1000, 100, () => greeted(srv.port, AUTH));
    try {
      assert.equal(await infoField(c, "connected_clients"), "1001");
      const lat: number[] = [];
      for (let i = 0; i < 20; i++) lat.push(await pingMs(c));
      assert.ok(percentile(lat, 95) < 250, `PING p95 ${percentile(lat, 95).toFixed(1)} ms with 1000 idle clients`);
      const per = (rss(pid()) - rss0) / 1000;
      // Catalogue target < 30 KB; the runtimes' socket objects and GC timing make this noisy, so
      // 64 KB is the bound (a leak per connection of a read buffer or more would pass it).
      if (!Number.isNaN(per)) assert.ok(per < 64 * 1024, `${Math.round(per)} bytes of RSS per idle connection`);
    } finally {
      for (const s of socks) s.destroy();
    }
    await settle();
    if (!Number.isNaN(fd0)) assert.ok(await until(() => fds(pid()) <= fd0 + 2, 3000), `fds ${fds(pid())}, baseline ${fd0}`);
  });

  // Scaled: 3000 connect / AUTH / PING / QUIT cycles, 50 at a time (catalogue: redis-benchmark -k 0, 200000).
  test("D2 connection churn: no errors, fds back to baseline, no EMFILE", async () => {
    await settle();
    const fd0 = fds(pid());
    const received0 = Number(await infoField(c, "total_connections_received"));
    let failures = 0;
    let done = 0;
    const one = () =>
      new Promise<void>((resolve) => {
        const s = net.connect({ port: srv.port, host: "127.0.0.1" }, () => s.write(AUTH + "PING\r\nQUIT\r\n"));
        let got = "";
        s.on("data", (d: Buffer) => (got += d.toString("latin1")));
        s.on("error", () => {});
        s.on("close", () => {
          if (got !== OK + "+PONG\r\n" + OK) failures++;
          done++;
          resolve();
        });
      });
    const worker = async (n: number) => {
      for (let i = 0; i < n; i++) await one();
    };
    await Promise.all(Array.from({ length: 50 }, () => worker(60)));
    assert.equal(done, 3000);
    assert.equal(failures, 0);
    assert.equal(Number(await infoField(c, "total_connections_received")) - received0, 3000);
    await settle();
    if (!Number.isNaN(fd0)) assert.ok(await until(() => fds(pid()) <= fd0 + 2, 3000), `fds ${fds(pid())}, baseline ${fd0}`);
    assert.doesNotMatch(srv.output(), /EMFILE|Too many open files/);
  });

  // Scaled: the open-file limit is 256 so maxclients (asked: 1000) is lowered to what it leaves
  // room for (about 200 clients; the catalogue's 1000 + 500 needs no low ulimit on this box).
  test("D3 storm over maxclients under a low ulimit: exact rejections, files still writable", async () => {
    const dir = fx.dir;
    const acl = join(dir, "d3.acl");
    writeFileSync(acl, "user default on >defpw ~* &* +@all\nuser admin on >adminpw ~* &* +@all\n");
    const dbfile = join(dir, "d3.aki");
    const s3 = await startServer(["--aclfile", acl, "--dbfile", dbfile, "--appendfsync", "always", "--maxclients", "1000", "--auth-max-failures", "0"], {
      wrap: ["sh", "-c", 'ulimit -n 256 && exec "$@"', "sh"],
    });
    const held: net.Socket[] = [];
    try {
      const ctl = await authed(s3.port);
      const max = Number((/maxclients\r\n\$\d+\r\n(\d+)/.exec(await ctl.call("CONFIG", "GET", "maxclients")) ?? [])[1]);
      assert.ok(max > 100 && max <= 256 - 32, `maxclients lowered to ${max}`);
      assert.match(s3.output(), new RegExp(`maxclients lowered from 1000 to ${max}`));
      assert.equal(
        await ctl.call("CONFIG", "SET", "maxclients", String(max + 1)),
        err(`ERR CONFIG SET failed (possibly related to argument 'maxclients') - The operating system is not able to handle the specified number of clients, try with ${max}`),
      );
      // Fill every slot (the control client holds one), then 60 more, one after the other.
      held.push(...(await openMany(max - 1, 50, () => greeted(s3.port, AUTH))));
      assert.equal(await infoField(ctl, "connected_clients"), String(max));
      const rejected0 = Number(await infoField(ctl, "rejected_connections"));
      for (let i = 0; i < 60; i++) assert.deepEqual(await exchange(s3.port, "", 2000), { reply: MAXCLIENTS_ERR, closed: true });
      assert.equal(Number(await infoField(ctl, "rejected_connections")) - rejected0, 60);
      assert.doesNotMatch(s3.output(), /EMFILE|Too many open files/);
      // A burst of 100 at once: every one is refused with the error, none hangs unaccepted. (Refused
      // sockets hold a descriptor until their error is written, so a burst can briefly run out of
      // descriptors under Deno: accept then retries instead of giving up.)
      const burst = await Promise.all(Array.from({ length: 100 }, () => exchange(s3.port, "", 3000)));
      assert.equal(burst.filter((r) => r.reply === MAXCLIENTS_ERR && r.closed).length, 100);
      // While full, the descriptors kept in reserve serve the files.
      const size0 = statSync(dbfile).size;
      assert.equal(await ctl.call("SET", "while-full", "x".repeat(1000)), OK);
      assert.ok(statSync(dbfile).size > size0 + 1000, "the write reached the data file");
      assert.equal(await ctl.call("ACL", "SETUSER", "d3user", "on", ">pw", "+get"), OK);
      assert.equal(await ctl.call("ACL", "SAVE"), OK);
      assert.equal(await ctl.call("SAVE"), OK);
      assert.equal(await ctl.call("GET", "while-full"), bulk("x".repeat(1000)));
      // Slots come back when clients leave.
      for (const s of held.splice(0, 10)) s.destroy();
      assert.ok(await until(async () => Number(await infoField(ctl, "connected_clients")) === max - 10, 3000));
      const fresh = await authed(s3.port);
      assert.equal(await fresh.call("PING"), "+PONG\r\n");
      fresh.close();
      ctl.close();
    } finally {
      for (const s of held) s.destroy();
      await s3.stop();
    }
  });

  // Scaled: 200 connections, a 2 s deadline (default 10 s), one byte every 300 ms (catalogue:
  // 1000 connections, one byte every 5 s).
  test("D4 RESP slowloris: unauthenticated connections are closed at the auth deadline", async () => {
    await settle();
    assert.equal(await c.call("CONFIG", "GET", "auth-timeout"), `*2\r\n${bulk("auth-timeout")}${bulk("10")}`);
    const closed0 = Number(await infoField(c, "aki_auth_timeout_disconnections"));
    assert.equal(await c.call("CONFIG", "SET", "auth-timeout", "2"), OK);
    const loris: net.Socket[] = [];
    let drip: ReturnType<typeof setInterval> | null = null;
    try {
      loris.push(...(await openMany(200, 50, () => rawSocket(srv.port))));
      loris.forEach((s, i) => i % 2 === 0 && s.write("AU"));
      drip = setInterval(() => loris.forEach((s, i) => i % 2 === 0 && !s.destroyed && s.write("T")), 300);
      // One that authenticates late but in time stays; an authenticated one idle past it stays.
      const late = await RawClient.connect(srv.port);
      const idle = await authed(srv.port, "app");
      await sleep(1000);
      assert.equal(await late.call("AUTH", "ro", "ropw"), OK);
      const t0 = Date.now();
      const lat: number[] = [];
      while (Date.now() - t0 < 1500) {
        lat.push(await pingMs(c));
        await sleep(20);
      }
      assert.ok(percentile(lat, 99) < 250, `PING p99 ${percentile(lat, 99).toFixed(1)} ms during the slowloris`);
      const closed = await Promise.all(loris.map((s) => closedWithin(s, 5000)));
      assert.equal(closed.filter(Boolean).length, 200, "every slowloris connection was closed");
      assert.equal(Number(await infoField(c, "aki_auth_timeout_disconnections")) - closed0, 200);
      assert.equal(await late.call("GET", "x"), "$-1\r\n");
      assert.equal(await idle.call("GET", "app:x"), "$-1\r\n");
      late.close();
      idle.close();
      // No password required (default user nopass): nobody is unauthenticated, nothing is closed.
      assert.equal(await c.call("CONFIG", "SET", "auth-timeout", "1"), OK);
      assert.equal(await c.call("ACL", "SETUSER", "default", "nopass"), OK);
      const open = await RawClient.connect(srv.port);
      await sleep(1500);
      assert.equal(await open.call("PING"), "+PONG\r\n");
      open.close();
    } finally {
      if (drip) clearInterval(drip);
      for (const s of loris) s.destroy();
      assert.equal(await c.call("ACL", "SETUSER", "default", "resetpass", ">defpw"), OK);
      assert.equal(await c.call("CONFIG", "SET", "auth-timeout", "10"), OK);
    }
  });

  const kills = async () => Number(await infoField(c, "client_output_buffer_limit_disconnections"));

  /**
   * A paused socket never sees the server's FIN behind the data it has not read, so a kill is
   * seen in the server's counter first; then the socket reads again and must reach its end.
   */
  const killedWhilePaused = async (s: net.Socket, kills0: number, ms: number): Promise<boolean> => {
    const killed = await until(async () => (await kills()) > kills0, ms, 50);
    s.on("data", () => {});
    s.resume();
    return killed && (await closedWithin(s, 5000));
  };

  /** A never-reading authenticated client sending `bytes`; resolves with whether it was closed and the peak RSS seen. */
  const neverReader = async (bytes: string, ms: number) => {
    const kills0 = await kills();
    const s = await rawSocket(srv.port);
    s.on("error", () => {});
    s.pause();
    s.write(AUTH + bytes);
    let peak = rss(pid());
    const sampler = setInterval(() => (peak = Math.max(peak, rss(pid()))), 25);
    const closed = await killedWhilePaused(s, kills0, ms);
    clearInterval(sampler);
    s.destroy();
    return { closed, peak };
  };

  // Scaled: a 32 MB hard limit for the explicit case; the default (256 MB) is exercised too.
  test("D5 authenticated never-reader: closed at the normal-class limit, the pipeline stops there", async () => {
    assert.equal(
      await c.call("CONFIG", "GET", "client-output-buffer-limit"),
      `*2\r\n${bulk("client-output-buffer-limit")}${bulk("normal 268435456 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")}`,
    );
    assert.equal(await c.call("SET", "big", "x".repeat(MB)), OK);
    const kills0 = Number(await infoField(c, "client_output_buffer_limit_disconnections"));
    const gets0 = await calls(c, "get");
    const rss0 = rss(pid());
    try {
      assert.equal(await c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 32mb 0 0"), OK);
      const r = await neverReader("GET big\r\n".repeat(2000), 10000);
      assert.ok(r.closed, "closed at 32 MB of pending replies");
      if (!Number.isNaN(rss0)) assert.ok(r.peak - rss0 < 32 * MB + 160 * MB, `RSS peak +${Math.round((r.peak - rss0) / MB)} MB`);
      const ran = (await calls(c, "get")) - gets0;
      assert.ok(ran < 400, `${ran} of 2000 GETs ran: the pipeline stopped at the limit`);
      assert.equal(Number(await infoField(c, "client_output_buffer_limit_disconnections")) - kills0, 1);
      assert.match(srv.output(), /closed for overcoming of output buffer limits/);
    } finally {
      assert.equal(await c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 256mb 0 0"), OK);
    }
    // Under the defaults the same client is closed too (at 256 MB), where Redis's would grow.
    const r = await neverReader("GET big\r\n".repeat(2000), 20000);
    assert.ok(r.closed, "closed at the default 256 MB");
    assert.equal(Number(await infoField(c, "client_output_buffer_limit_disconnections")) - kills0, 2);
    assert.equal(await c.call("DEL", "big"), int(1));
    assert.equal(await c.call("PING"), "+PONG\r\n");
  });

  test("D6 slow subscriber: closed at the pubsub hard limit and after the soft limit's time", async () => {
    const kills0 = Number(await infoField(c, "client_output_buffer_limit_disconnections"));
    const msg = "m".repeat(100 * 1024);
    const subscriber = async () => {
      const s = await greeted(srv.port, AUTH + "SUBSCRIBE ch\r\n", OK + "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
      s.on("error", () => {});
      s.pause();
      return s;
    };
    const pub = await authed(srv.port);
    try {
      // Hard: 100000 bytes (Redis's own test value).
      assert.equal(await c.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 100000 0 0"), OK);
      let sub = await subscriber();
      let k0 = await kills();
      const lat: number[] = [];
      for (let i = 0; i < 400; i++) {
        const t0 = performance.now();
        const r = await pub.call("PUBLISH", "ch", msg);
        lat.push(performance.now() - t0);
        assert.match(r, /^:[01]\r\n$/);
        if (r === int(0)) break;
      }
      assert.ok(await killedWhilePaused(sub, k0, 3000), "the slow subscriber was closed at the hard limit");
      assert.ok(Math.max(...lat) < 1000, `slowest PUBLISH ${Math.max(...lat).toFixed(1)} ms`);
      assert.ok(percentile(lat, 50) < 50, `median PUBLISH ${percentile(lat, 50).toFixed(1)} ms`);
      assert.equal(Number(await infoField(c, "client_output_buffer_limit_disconnections")) - kills0, 1);
      // Soft: over 100000 bytes for 1 s.
      assert.equal(await c.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 100000 1"), OK);
      sub = await subscriber();
      k0 = await kills();
      const t0 = Date.now();
      let overSince = 0;
      while (Date.now() - t0 < 15000) {
        const r = await pub.call("PUBLISH", "ch", msg);
        if (r === int(0)) break;
        if (overSince === 0 && (await pub.call("CLIENT", "LIST")).match(/omem=(\d+)/g)?.some((m) => Number(m.slice(5)) >= 100000)) overSince = Date.now();
        await sleep(20);
      }
      assert.ok(await killedWhilePaused(sub, k0, 3000), "closed after a second over the soft limit");
      assert.ok(overSince > 0 && Date.now() - overSince >= 900, "not before the soft limit's second");
      assert.equal(Number(await infoField(c, "client_output_buffer_limit_disconnections")) - kills0, 2);
    } finally {
      pub.close();
      assert.equal(await c.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60"), OK);
    }
  });

  // Scaled: 100k keys of 64 bytes (a 7 MB KEYS reply; catalogue: 1M keys).
  test("D7 huge replies stop at the limit: KEYS * with a small normal limit", async () => {
    const N = 100000;
    for (let i = 0; i < N; i += 5000) {
      const argv = ["MSET"];
      for (let j = i; j < i + 5000; j++) argv.push(`d7:${String(j).padStart(60, "0")}`, "v");
      assert.equal(await c.call(...argv), OK);
    }
    const kills0 = Number(await infoField(c, "client_output_buffer_limit_disconnections"));
    const keys0 = await calls(c, "keys");
    const rss0 = rss(pid());
    try {
      assert.equal(await c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0"), OK);
      // A reading client: the single 7 MB reply overruns 1 MB and the client is closed
      // (Redis "Obuf limit, KEYS stopped mid-run").
      const reader = await authed(srv.port);
      reader.write(resp("KEYS", "*"));
      assert.ok(await reader.waitClosed(5000), "closed");
      assert.ok(reader.pending().length < 7 * MB, "never got the whole reply");
      // A never-reader pipelining 100 of them (700 MB of replies): stops after a few.
      const r = await neverReader("KEYS *\r\n".repeat(100), 10000);
      assert.ok(r.closed);
      const ran = (await calls(c, "keys")) - keys0;
      assert.ok(ran < 20, `${ran} of 101 KEYS ran`);
      if (!Number.isNaN(rss0)) assert.ok(r.peak - rss0 < 200 * MB, `RSS peak +${Math.round((r.peak - rss0) / MB)} MB`);
      assert.equal(Number(await infoField(c, "client_output_buffer_limit_disconnections")) - kills0, 2);
    } finally {
      assert.equal(await c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 256mb 0 0"), OK);
    }
    // With the default limits the same KEYS is answered in full.
    const full = await authed(srv.port);
    full.write(resp("KEYS", "d7:*"));
    assert.match(await full.read(20000), new RegExp(`^\\*${N}\\r\\n`));
    full.close();
  });

  test("D8 query buffer limit: closed without a reply; default 256 MB", async () => {
    // Unauthenticated clients are held to 1 MB whatever the limit (tests/hardening-b-acl.test.ts B3).
    assert.equal(await c.call("CONFIG", "GET", "client-query-buffer-limit"), `*2\r\n${bulk("client-query-buffer-limit")}${bulk("268435456")}`);
    const kills0 = Number(await infoField(c, "client_query_buffer_limit_disconnections"));
    try {
      assert.equal(await c.call("CONFIG", "SET", "client-query-buffer-limit", "1mb"), OK);
      const big = await authed(srv.port);
      big.write(resp("SET", "d8", Buffer.alloc(2 * MB, 120)));
      assert.ok(await big.waitClosed(5000), "closed");
      assert.equal(big.pending(), "", "no reply");
      assert.equal(Number(await infoField(c, "client_query_buffer_limit_disconnections")) - kills0, 1);
      assert.match(srv.output(), /Closing client that reached max query buffer length/);
      assert.equal(await c.call("EXISTS", "d8"), int(0));
      // Just under the limit is fine.
      const ok = await authed(srv.port);
      assert.equal(await ok.call("SET", "d8", Buffer.alloc(900 * 1024, 120)), OK);
      ok.close();
    } finally {
      assert.equal(await c.call("CONFIG", "SET", "client-query-buffer-limit", "256mb"), OK);
    }
    assert.equal(await c.call("DEL", "d8"), int(1));
  });

  // Scaled: 5 rounds 200 ms apart (catalogue: once a second). A4 covers one declared count.
  test("D9 trickled huge multibulks: memory follows the bytes sent, freed on close", async () => {
    await settle();
    const rss0 = rss(pid());
    const socks = await openMany(100, 50, () => greeted(srv.port, AUTH));
    try {
      for (const s of socks) s.write("*1048576\r\n");
      for (let round = 0; round < 5; round++) {
        await sleep(200);
        for (const s of socks) s.write("$1\r\na\r\n");
      }
      await sleep(200);
      const list = await c.call("CLIENT", "LIST");
      const qbufs = [...list.matchAll(/qbuf=(\d+)/g)].map((m) => Number(m[1]));
      assert.equal(qbufs.length, 101);
      assert.ok(Math.max(...qbufs) < 4096, `largest qbuf ${Math.max(...qbufs)}`);
      const grew = rss(pid()) - rss0;
      if (!Number.isNaN(grew)) assert.ok(grew < 64 * MB, `RSS grew ${Math.round(grew / MB)} MB for 100 x 1M declared arguments`);
    } finally {
      for (const s of socks) s.destroy();
    }
    await settle();
    assert.equal(await c.call("PING"), "+PONG\r\n");
  });

  // Scaled: 6 s (catalogue: 5 minutes pinned to one CPU). D4 + D5 + D6 + a C2-style glob
  // pattern, restarted as they are closed, while a control client pings.
  test("D10 combined attack: the server stays up, responsive and bounded", async () => {
    await settle();
    const fd0 = fds(pid());
    const rss0 = rss(pid());
    await c.call("CONFIG", "SET", "auth-timeout", "1", "client-output-buffer-limit", "normal 8mb 0 0 pubsub 1mb 0 0");
    await c.call("SET", "d10big", "x".repeat(256 * 1024));
    await c.call("MSET", "a".repeat(40), "1", "a".repeat(39) + "b", "2");
    const stop = Date.now() + 6000;
    const attackers: Promise<void>[] = [];
    const loop = (fn: () => Promise<void>) =>
      attackers.push((async () => {
        while (Date.now() < stop) await fn().catch(() => {});
      })());
    // Slowloris, 20 at a time.
    for (let i = 0; i < 20; i++) {
      loop(async () => {
        const s = await rawSocket(srv.port);
        s.on("error", () => {});
        s.write("AU");
        await closedWithin(s, 3000);
        s.destroy();
      });
    }
    // Never-readers.
    for (let i = 0; i < 3; i++) {
      loop(async () => {
        const s = await rawSocket(srv.port);
        s.on("error", () => {});
        s.pause();
        s.write(AUTH + "GET d10big\r\n".repeat(500));
        await closedWithin(s, 3000);
        s.destroy();
      });
    }
    // Slow subscriber and its publisher.
    loop(async () => {
      const s = await greeted(srv.port, AUTH + "SUBSCRIBE d10\r\n", OK);
      s.pause();
      await closedWithin(s, 3000);
      s.destroy();
    });
    const pub = await authed(srv.port);
    loop(async () => {
      await pub.call("PUBLISH", "d10", "p".repeat(64 * 1024));
    });
    // Glob DoS attempts (C2): exponential patterns against long keys.
    const glob = await authed(srv.port);
    loop(async () => {
      await glob.call("KEYS", "a*".repeat(20) + "c");
    });
    let peak = rss0;
    const lat: number[] = [];
    while (Date.now() < stop) {
      lat.push(await pingMs(c));
      peak = Math.max(peak, rss(pid()));
      await sleep(25);
    }
    await Promise.all(attackers);
    pub.close();
    glob.close();
    try {
      assert.equal(srv.proc.exitCode, null, "still running");
      assert.ok(percentile(lat, 99) < 1000, `control PING p99 ${percentile(lat, 99).toFixed(1)} ms (${lat.length} samples)`);
      if (!Number.isNaN(rss0)) assert.ok(peak - rss0 < 400 * MB, `RSS peak +${Math.round((peak - rss0) / MB)} MB`);
      await settle();
      if (!Number.isNaN(fd0)) assert.ok(await until(() => fds(pid()) <= fd0 + 2, 3000), `fds ${fds(pid())}, baseline ${fd0}`);
    } finally {
      await c.call("CONFIG", "SET", "auth-timeout", "10", "client-output-buffer-limit", "normal 256mb 0 0 pubsub 32mb 8mb 60");
      await c.call("DEL", "d10big");
    }
  });

  // Scaled: 8 s of scripts/soak.mjs on a server of its own under this runtime, sampling every
  // second (the real soak runs 10+ minutes with 50 clients, sampling every 10 s).
  test("D11 soak (short): mixed users, denials, AUTH failures and pub/sub; fds flat, no errors", () => {
    const r = spawnSync(
      "node",
      [join(ROOT, "scripts/soak.mjs"), "--runtime", currentRuntime(), "--seconds", "8", "--sample", "1", "--clients", "20", "--warmup", "2",
        // A few seconds cannot tell heap growth before the first full GC from a leak: the RSS
        // trend gets a wide margin here; errors, descriptors and liveness are judged as in the long run.
        "--rss-allow", "160"],
      { encoding: "utf8", timeout: 60000 },
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /verdict: ok/);
    assert.match(r.stdout, /unexpected errors: 0/);
  });

  // Scaled: 100k keys (D7's), 10k users, a 1M-member set, 128 ACL LOG entries of 16 KB.
  // Budget: a control PING waits at most 2 s behind any of them (the loop is single-threaded:
  // the wait is the command's run time; about 250 ms per 1M keys for KEYS here).
  test("D12 event-loop stalls: big commands delay a control PING within budget", async () => {
    // The control connection is the default user's: ACL LOAD disconnects every client of a
    // non-default user (Redis 7.2), the runner of the commands and `c` included.
    const ctl = await authed(srv.port, "default", "defpw");
    let other = await authed(srv.port);
    const stall = async (what: string, ...argv: string[]) => {
      other.write(resp(...argv));
      await sleep(5);
      const t0 = performance.now();
      assert.equal(await ctl.call("PING"), "+PONG\r\n");
      const ms = performance.now() - t0;
      const reply = await other.read(30000);
      assert.ok(ms < 2000, `${what}: PING waited ${ms.toFixed(0)} ms`);
      return reply;
    };
    try {
      assert.match(await stall("KEYS over 100k keys", "KEYS", "d7:*"), /^\*100000\r\n/);
      // A 1M-member set deleted at once.
      for (let i = 0; i < 1000000; i += 50000) {
        const argv = ["SADD", "d12set"];
        for (let j = i; j < i + 50000; j++) argv.push(String(j));
        await ctl.call(...argv);
      }
      assert.equal(await stall("DEL of a 1M-member set", "DEL", "d12set"), int(1));
      // 128 ACL LOG entries with 16 KB usernames.
      const failing = await RawClient.connect(srv.port);
      for (let i = 0; i < 128; i++) assert.match(await failing.call("AUTH", `${i}`.padEnd(16384, "u"), "bad"), /^-WRONGPASS/);
      failing.close();
      assert.match(await stall("ACL LOG of 128 big entries", "ACL", "LOG", "200"), /^\*128\r\n/);
      assert.equal(await stall("FLUSHALL of 100k keys", "FLUSHALL"), OK);
      // 10k users through ACL LOAD (last: it closes `other`).
      const lines = [...FIXTURE_USERS];
      for (let i = 0; i < 10000; i++) lines.push(`user u${i} on >pw${i} ~k${i}:* +get +set`);
      writeFileSync(fx.file, lines.join("\n") + "\n");
      assert.equal(await stall("ACL LOAD of 10k users", "ACL", "LOAD"), OK);
      assert.equal(await ctl.call("ACL", "DRYRUN", "u9999", "GET", "k9999:a"), OK);
    } finally {
      other.close();
      writeFileSync(fx.file, FIXTURE_USERS.join("\n") + "\n");
      assert.equal(await ctl.call("ACL", "LOAD"), OK);
      ctl.close();
      c.close();
      c = await authed(srv.port);
    }
  });
});

