#!/usr/bin/env node
// Soak test (plain Node ESM, no dependencies; not run in CI, tests/hardening-d-resources.test.ts
// D11 runs it for a few seconds).
//
//   node scripts/soak.mjs [--minutes 10] [--runtime bun|deno|node] [--clients 50] [--sample 10]
//   node scripts/soak.mjs --port 6379 --pid PID --user admin --password PW [--seconds N]
//
// Without --port it starts aki itself under --runtime (default bun; node runs dist/aki.mjs,
// built with `npm run build` when missing) with an in-memory store and an aclfile. With --port
// it targets a running server whose --user/--password may run ACL commands (ACL SETUSER...);
// --pid lets it read the server's RSS and descriptors from /proc.
//
// Load: --clients connections (default 50) as three ACL users it creates (soak-rw, soak-ro and
// the admin user), pipelining 8 mixed commands at a time (SET/GET/INCR/DEL/HSET/LPUSH+LTRIM/
// EXPIRE/PUBLISH over a bounded keyspace: at most about 10 MB of data), with expected denials (soak-ro writing, soak-rw
// reading outside its keys), wrong-password AUTH attempts, reconnects, and two pattern subscribers
// on the channels published to. Every --sample seconds (default 10) the admin connection runs an
// ACL SETUSER/DELUSER cycle (plus ACL SAVE + ACL LOAD when the server has an aclfile, unless
// --no-acl-load; ACL LOAD disconnects the clients of non-default users, which reconnect) and one
// line is printed: RSS, descriptors, connected clients, ops/s, p99 latency, errors.
//
// Verdict (exit 1 on failure): after --warmup (default a fifth of the run, at least one sample)
// the RSS must not keep rising (the median of the last third of the samples more than
// max(--rss-allow MB (default 16), 10%) above the median of the first third), descriptors must stay flat (+10 at
// most), no reply may be other than expected, the control PING must answer within 5 s, and
// the server must stay up. The RSS curve is printed at the end.
import { Conn, fdsOf, median, parseOptions, prng, rssOf, startAki, usageFor } from "./lib.mjs";

const usage = usageFor("soak", "usage: node scripts/soak.mjs [--minutes N | --seconds N] [--runtime bun|deno|node] [--clients N] [--sample S] [--warmup S]\n" +
  "       node scripts/soak.mjs --port P [--pid PID] --user U --password P ...");

function parseArgs(argv) {
  const o = parseOptions(argv, { seconds: 600, runtime: "bun", port: 0, pid: 0, user: "", password: "", clients: 50, sample: 10, warmup: -1, seed: 1, aclLoad: true, rssAllow: 16 }, {
    "--minutes": (o, v) => (o.seconds = Number(v) * 60),
    "--seconds": (o, v) => (o.seconds = Number(v)),
    "--runtime": (o, v) => (o.runtime = v),
    "--port": (o, v) => (o.port = Number(v)),
    "--pid": (o, v) => (o.pid = Number(v)),
    "--user": (o, v) => (o.user = v),
    "--password": (o, v) => (o.password = v),
    "--clients": (o, v) => (o.clients = Number(v)),
    "--sample": (o, v) => (o.sample = Number(v)),
    "--warmup": (o, v) => (o.warmup = Number(v)),
    "--seed": (o, v) => (o.seed = Number(v)),
    "--no-acl-load": (o) => (o.aclLoad = false),
    "--rss-allow": (o, v) => (o.rssAllow = Number(v)),
  }, usage);
  for (const k of ["seconds", "clients", "sample"]) if (!(o[k] > 0)) usage(`--${k} must be positive`);
  if (o.warmup < 0) o.warmup = Math.max(o.sample, Math.round(o.seconds / 5));
  return o;
}

const opts = parseArgs(process.argv.slice(2));

/** The server this run started (null with --port). */
let server = null;

// ---- load ---------------------------------------------------------------------------------------

const USERS = {
  rw: ["soak-rw", "soakrwpw", "on", ">soakrwpw", "~soak:*", "&soak:*", "+@read", "+@write", "+@pubsub", "+@connection", "-@dangerous"],
  ro: ["soak-ro", "soakropw", "on", ">soakropw", "~soak:*", "&soak:*", "+@read", "+@connection"],
};

const stats = { ops: 0, expected: 0, unexpected: 0, lat: [], firstUnexpected: [], messages: 0, aclLoads: 0, dropsByLoad: 0 };
let running = true;

function unexpected(what) {
  stats.unexpected++;
  if (stats.firstUnexpected.length < 10) stats.firstUnexpected.push(what);
}

/** One reply checked against what this user may do. */
function check(kind, reply, mayDeny) {
  stats.ops++;
  if (reply.startsWith("-")) {
    if (mayDeny && reply.startsWith("-NOPERM")) stats.expected++;
    else unexpected(`${kind}: ${reply.trim().slice(0, 200)}`);
  } else if (mayDeny === "must") unexpected(`${kind}: allowed: ${reply.trim().slice(0, 100)}`);
}

async function worker(id) {
  const rnd = prng(opts.seed * 1000 + id);
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  while (running) {
    const role = id % 5 === 0 ? "admin" : id % 5 === 1 ? "ro" : "rw";
    let conn;
    const epoch = stats.aclLoads;
    try {
      conn = await Conn.open(opts.port);
    } catch (e) {
      unexpected(`connect: ${e.message}`);
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    try {
      // Now and then a wrong password first: WRONGPASS, and the connection stays usable.
      if (rnd() < 0.2) {
        const r = await conn.call(["AUTH", role === "admin" ? opts.user || "default" : USERS[role][0], "not-the-password"]);
        stats.ops++;
        if (r.startsWith("-WRONGPASS")) stats.expected++;
        else unexpected(`bad AUTH answered ${r.trim()}`);
      }
      const auth = role === "admin" ? (opts.user ? ["AUTH", opts.user, opts.password] : ["AUTH", opts.password]) : ["AUTH", USERS[role][0], USERS[role][1]];
      const a = await conn.call(auth);
      if (a !== "+OK\r\n") throw new Error(`AUTH as ${role}: ${a.trim()}`);
      const batches = 20 + Math.floor(rnd() * 200);
      for (let b = 0; b < batches && running; b++) {
        const cmds = [];
        const deny = [];
        for (let i = 0; i < 8; i++) {
          const k = `soak:${Math.floor(rnd() * 10000)}`;
          const x = rnd();
          if (role === "ro" && x < 0.1) {
            cmds.push(["SET", k, "no"]); // denied: soak-ro cannot write
            deny.push("must");
          } else if (role === "rw" && x < 0.05) {
            cmds.push(["GET", `other:${k}`]); // denied: outside ~soak:*
            deny.push("must");
          } else if (role === "ro") {
            cmds.push(pick([["GET", k], ["EXISTS", k], ["TTL", k], ["HGET", `soak:h${Math.floor(rnd() * 100)}`, `f${Math.floor(rnd() * 100)}`], ["LRANGE", "soak:list", "0", "9"]]));
            deny.push(false);
          } else {
            const v = "v".repeat(Math.floor(rnd() * 512));
            cmds.push(pick([["SET", k, v], ["GET", k], ["INCR", `soak:n${k.length % 64}`], ["DEL", k], ["HSET", `soak:h${Math.floor(rnd() * 100)}`, `f${Math.floor(rnd() * 100)}`, v],
              ["LPUSH", "soak:list", v], ["LTRIM", "soak:list", "0", "99"], ["EXPIRE", k, "30"], ["PUBLISH", `soak:ch${Math.floor(rnd() * 4)}`, v.slice(0, 64)]]));
            deny.push(false);
          }
        }
        const t0 = performance.now();
        const replies = await conn.pipeline(cmds);
        stats.lat.push(performance.now() - t0);
        replies.forEach((r, i) => check(`${role} ${cmds[i][0]}`, r, deny[i]));
      }
    } catch (e) {
      // ACL LOAD disconnects every client of a non-default user (Redis 7.2): expected then.
      if (conn.closed && stats.aclLoads !== epoch) stats.dropsByLoad++;
      else if (running) unexpected(`${role} connection: ${e.message}`);
    } finally {
      conn.close();
    }
  }
}

async function subscriber() {
  while (running) {
    let conn;
    const epoch = stats.aclLoads;
    try {
      conn = await Conn.open(opts.port);
      const a = await conn.call(["AUTH", USERS.rw[0], USERS.rw[1]]);
      if (a !== "+OK\r\n") throw new Error(a.trim());
      // A pattern subscription needs a literally matching channel rule (&soak:*).
      const r = await conn.call(["PSUBSCRIBE", "soak:*"]);
      if (!r.startsWith("*3\r\n$10\r\npsubscribe")) throw new Error(`PSUBSCRIBE: ${r.trim()}`);
      conn.onPush = () => stats.messages++;
      const until = Date.now() + 5000 + Math.random() * 10000;
      while (running && !conn.closed && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      if (conn.closed && running && stats.aclLoads === epoch) unexpected("subscriber closed by the server");
    } catch (e) {
      if (conn?.closed && stats.aclLoads !== epoch) stats.dropsByLoad++;
      else if (running) unexpected(`subscriber: ${e.message}`);
    } finally {
      conn?.close();
    }
  }
}

// ---- main ---------------------------------------------------------------------------------------

const mb = (n) => (n / 1048576).toFixed(1);

async function main() {
  if (!opts.port) {
    server = await startAki({
      runtime: opts.runtime,
      tmpPrefix: "aki-soak-",
      aclLines: ["user default on >defpw ~* &* +@all", "user admin on >adminpw ~* &* +@all"],
      extraArgs: ["--auth-max-failures", "0"],
    });
    opts.port = server.port;
    opts.pid = server.pid;
    opts.user = "admin";
    opts.password = "adminpw";
  }
  let admin = await Conn.open(opts.port);
  const a = await admin.call(opts.user ? ["AUTH", opts.user, opts.password] : ["AUTH", opts.password]);
  if (a !== "+OK\r\n") throw new Error(`admin AUTH: ${a.trim()}`);
  for (const u of Object.values(USERS)) {
    const r = await admin.call(["ACL", "SETUSER", u[0], "reset", ...u.slice(2)]);
    if (r !== "+OK\r\n") throw new Error(`ACL SETUSER ${u[0]}: ${r.trim()}`);
  }
  const aclfile = /\$\d+\r\n(.*)\r\n$/.exec(await admin.call(["CONFIG", "GET", "aclfile"]))?.[1] ?? "";
  console.log(`soak: ${opts.seconds} s, ${opts.clients} clients, sample every ${opts.sample} s, warmup ${opts.warmup} s, port ${opts.port}, pid ${opts.pid || "?"}`);
  const t0 = Date.now();
  const tasks = [];
  for (let i = 0; i < opts.clients - 2; i++) tasks.push(worker(i));
  tasks.push(subscriber(), subscriber());
  const samples = [];
  let maxPing = 0;
  let cycle = 0;
  let dead = false;
  let lastOps = 0;
  while (Date.now() - t0 < opts.seconds * 1000) {
    const next = t0 + (samples.length + 1) * opts.sample * 1000;
    // Control PINGs every 100 ms until the next sample.
    while (Date.now() < next && Date.now() - t0 < opts.seconds * 1000) {
      const p0 = performance.now();
      try {
        await admin.call(["PING"], 5000);
      } catch (e) {
        unexpected(`control PING: ${e.message}`);
        dead = true;
        break;
      }
      maxPing = Math.max(maxPing, performance.now() - p0);
      await new Promise((r) => setTimeout(r, 100));
    }
    if (dead || (server && server.child.exitCode !== null)) {
      dead = true;
      break;
    }
    // The ACL cycle: SETUSER + DELUSER on the control connection; SAVE + LOAD (which
    // disconnects every client of a non-default user, this one too) on a connection of its own.
    try {
      const name = `soak-tmp-${cycle++ % 8}`;
      const replies = await admin.pipeline([["ACL", "SETUSER", name, "on", ">tmp", "~soak:*", "+get"], ["ACL", "DELUSER", name]]);
      if (aclfile && opts.aclLoad) {
        const l = await Conn.open(opts.port);
        replies.push(await l.call(opts.user ? ["AUTH", opts.user, opts.password] : ["AUTH", opts.password]), await l.call(["ACL", "SAVE"]));
        stats.aclLoads++;
        replies.push(await l.call(["ACL", "LOAD"]));
        l.close();
      }
      for (const r of replies) if (r.startsWith("-")) unexpected(`ACL cycle: ${r.trim()}`);
    } catch (e) {
      unexpected(`ACL cycle: ${e.message}`);
    }
    if (admin.closed || (aclfile && opts.aclLoad)) {
      admin.close();
      admin = await Conn.open(opts.port);
      await admin.call(opts.user ? ["AUTH", opts.user, opts.password] : ["AUTH", opts.password]);
    }
    const info = await admin.call(["INFO", "clients"]).catch(() => "");
    const lat = stats.lat;
    stats.lat = [];
    lat.sort((x, y) => x - y);
    const s = {
      t: Math.round((Date.now() - t0) / 1000),
      rss: rssOf(opts.pid),
      fds: fdsOf(opts.pid),
      clients: Number(/connected_clients:(\d+)/.exec(info)?.[1] ?? NaN),
      ops: Math.round((stats.ops - lastOps) / opts.sample),
      p99: lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))] : NaN,
    };
    lastOps = stats.ops;
    samples.push(s);
    console.log(`t=${s.t}s rss=${mb(s.rss)}MB fds=${s.fds} clients=${s.clients} ops/s=${s.ops} p99=${s.p99.toFixed(1)}ms expected-denials=${stats.expected} unexpected=${stats.unexpected} messages=${stats.messages}`);
  }
  running = false;
  await Promise.race([Promise.all(tasks), new Promise((r) => setTimeout(r, 10000))]);
  for (const u of Object.values(USERS)) await admin.call(["ACL", "DELUSER", u[0]]).catch(() => {});
  admin.close();

  // Verdict.
  const problems = [];
  if (dead) problems.push("the server stopped answering or exited");
  if (stats.unexpected > 0) problems.push(`${stats.unexpected} unexpected replies or failures: ${stats.firstUnexpected.join(" | ")}`);
  if (maxPing > 5000) problems.push(`control PING took ${maxPing.toFixed(0)} ms`);
  const after = samples.filter((s) => s.t >= opts.warmup);
  if (after.length >= 3 && opts.pid) {
    const third = Math.max(1, Math.floor(after.length / 3));
    const first = median(after.slice(0, third).map((s) => s.rss));
    const last = median(after.slice(-third).map((s) => s.rss));
    const allowed = Math.max(opts.rssAllow * 1048576, first * 0.1);
    console.log(`rss after warmup: first third median ${mb(first)} MB, last third median ${mb(last)} MB (allowed rise ${mb(allowed)} MB)`);
    if (last - first > allowed) problems.push(`RSS keeps rising after warmup: ${mb(first)} -> ${mb(last)} MB`);
    const fdsFirst = after[0].fds;
    const fdsMax = Math.max(...after.map((s) => s.fds));
    if (fdsMax > fdsFirst + 10 + opts.clients) problems.push(`descriptors grew: ${fdsFirst} -> ${fdsMax}`);
  } else if (opts.pid) {
    console.log(`(only ${after.length} samples after warmup: RSS trend not judged)`);
  }
  console.log("rss curve (MB): " + samples.map((s) => `${s.t}s:${mb(s.rss)}`).join(" "));
  console.log(`ops: ${stats.ops}, expected denials/WRONGPASS: ${stats.expected}, pub/sub messages: ${stats.messages}, ACL LOADs: ${stats.aclLoads} (sessions they ended: ${stats.dropsByLoad}), slowest control PING ${maxPing.toFixed(1)} ms`);
  console.log(`unexpected errors: ${stats.unexpected}`);
  console.log(problems.length ? `verdict: FAIL\n  ${problems.join("\n  ")}` : "verdict: ok");
  return problems.length ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  console.error(`soak: ${e.stack ?? e}`);
  code = 1;
} finally {
  if (server) await server.stop();
}
process.exit(code);
