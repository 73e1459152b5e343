#!/usr/bin/env node
// `npm run bench`: aki against redis-server, side by side, with redis-benchmark.
//
// Every server (redis-server and aki under Bun, Deno, Node and as the native binary) runs
// pinned to core 0, redis-benchmark to core 1 (taskset; unpinned when there is one core or no
// taskset). Each server first gets an unmeasured warm-up run of every test; then, for each
// test and pipeline depth, the servers take turns (the order rotates each repetition), and the
// table shows medians of the repetitions: requests/s, the aki/redis ratio, and each server's
// CPU time per request. CPU is read from /proc/PID around each run
// (the sum of the threads' run time in /proc/PID/task/*/schedstat, nanoseconds; /proc/PID/stat
// utime+stime when that is missing) and summed over the repetitions; the sys share comes from
// /proc/PID/stat. CPU per request stays meaningful when the single-threaded benchmark client,
// not the server, is the limit (as at -P 1 on loopback).
//
// Variants (--variants, default all):
//   base     aki --dbfile :memory:           vs redis-server --save '' --appendonly no
//   persist  aki --dbfile F --appendfsync everysec vs redis-server --appendonly yes --appendfsync everysec
//   acl      a restricted user (10 key patterns incl. %R~/%W~, a selector) vs the default user,
//            on each server: the ratio restricted/default, the median of back-to-back pairs,
//            with 5x -n requests a run when pipelined (a ratio that must resolve 3%)
//   d1024    SET/GET with 1 KB values
//   r1m      SET/GET/INCR over 1,000,000 distinct keys (-r 1000000), with persistence: the
//            default runs hammer one key per test, which aki's reuse of repeated keys favours
//   memory   RSS after loading 1,000,000 small keys, then a 100,000-field hash, a 100,000-member
//            set and a 100,000-member sorted set (redis-cli --pipe), against redis-server
//
// Options:
//   --quick                few requests, one repetition, small memory load (CI: proves the script works)
//   --runtimes bun,deno,node,native     (default all four)
//   --tests ping,set,get,incr,lpush,rpop,sadd,hset,zadd,mset,lrange,zrange   (ping = PING_MBULK;
//                          ping_inline, rpush, lpop, spop, zpopmin too; lrange = LRANGE_100)
//   --pipelines 1,16       -P values (default 1,16)
//   --variants base,persist,acl,d1024,r1m,memory
//   -n N                   requests per run (default 200000; --quick 5000)
//   --reps N               repetitions (default 3; --quick 1)
//   --clients N            -c (default 50)
//   --keys N               keys for the memory variant (default 1000000; --quick 20000)
//   --no-pin               do not pin
//   --no-build             use dist/aki.mjs and dist/aki as they are (default: rebuild both)
//   --json FILE            also write the raw results as JSON
// Needs redis-server, redis-cli and redis-benchmark on PATH (Debian: redis-server redis-tools).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, createWriteStream } from "node:fs";
import { tmpdir, cpus } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./lib.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (n) => join(root, "node_modules", ".bin", n);

// ---- options ---------------------------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const opt = (name, def) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : def;
};
const list = (name, def) => opt(name, def).split(",").map((s) => s.trim()).filter(Boolean);

const QUICK = flag("--quick");
const RUNTIMES = list("--runtimes", "bun,deno,node,native");
const TESTS = list("--tests", "ping,set,get,incr,lpush,rpop,sadd,hset,zadd,mset,lrange,zrange");
const PIPELINES = list("--pipelines", "1,16").map(Number);
const VARIANTS = list("--variants", "base,persist,acl,d1024,r1m,memory");
const N = Number(opt("-n", QUICK ? "5000" : "200000"));
const REPS = Number(opt("--reps", QUICK ? "1" : "3"));
const CLIENTS = Number(opt("--clients", "50"));
const MEM_KEYS = Number(opt("--keys", QUICK ? "20000" : "1000000"));
const MEM_ELEMS = QUICK ? 10000 : 100000;
const JSON_OUT = opt("--json", "");
const BUILD = !flag("--no-build");

for (const r of RUNTIMES) if (!["bun", "deno", "node", "native"].includes(r)) die(`unknown runtime '${r}'`);
for (const v of VARIANTS) if (!["base", "persist", "acl", "d1024", "r1m", "memory"].includes(v)) die(`unknown variant '${v}'`);

const TEST_LABEL = {
  ping: "PING_MBULK",
  ping_mbulk: "PING_MBULK",
  ping_inline: "PING_INLINE",
  set: "SET",
  get: "GET",
  incr: "INCR",
  lpush: "LPUSH",
  rpush: "RPUSH",
  lpop: "LPOP",
  rpop: "RPOP",
  sadd: "SADD",
  hset: "HSET",
  spop: "SPOP",
  zadd: "ZADD",
  zpopmin: "ZPOPMIN",
  mset: "MSET (10 keys)",
  lrange: "LRANGE_100 (first 100 elements)",
  zrange: "ZRANGE bench:z 0 99",
};
/**
 * Tests that are not one redis-benchmark -t name: the arguments to run, and a fill step run
 * before the measured part (its CPU is not counted). lrange_100 fills its list itself
 * (redis-benchmark's "LPUSH (needed to benchmark LRANGE)", counted in the CPU figure).
 */
const CUSTOM = {
  lrange: { args: ["-t", "lrange_100"] },
  zrange: {
    args: ["ZRANGE", "bench:z", "0", "99"],
    fill: ["-n", "2000", "-r", "1000000", "-c", "1", "ZADD", "bench:z", "__rand_int__", "m:__rand_int__"],
  },
};
for (const t of TESTS) if (!TEST_LABEL[t]) die(`unknown test '${t}'`);

function die(msg) {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

function have(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).status === 0;
}
for (const c of ["redis-server", "redis-cli", "redis-benchmark"]) if (!have(c)) die(`${c} is not on PATH (apt-get install redis-server redis-tools)`);
const PIN = !flag("--no-pin") && have("taskset") && cpus().length >= 2;
const serverPin = PIN ? ["taskset", "-c", "0"] : [];
const clientPin = PIN ? ["taskset", "-c", "1"] : [];

// ---- builds ----------------------------------------------------------------------------------

if (BUILD) {
  const need = [];
  if (RUNTIMES.includes("node")) need.push("--node");
  if (RUNTIMES.includes("native")) need.push("--compile");
  for (const m of need) {
    const r = spawnSync(process.execPath, [join(root, "scripts/build.mjs"), m], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
    if (r.status !== 0) die(`build ${m} failed`);
  }
}

// ---- servers ---------------------------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), "aki-bench-"));
const live = new Set();

function akiCommand(runtime) {
  if (runtime === "bun") return [bin("bun"), join(root, "src/main.ts")];
  if (runtime === "deno") return [bin("deno"), "run", "-A", "--quiet", join(root, "src/main.ts")];
  if (runtime === "node") return [process.execPath, join(root, "dist/aki.mjs")];
  return [join(root, "dist/aki")];
}


function cli(port, args, extra = []) {
  return spawnSync("redis-cli", ["-p", String(port), ...extra, ...args], { encoding: "utf8" });
}

/**
 * Start a server: kind "redis" or an aki runtime. opts.persist: journal to a file with fsync
 * every second. Returns { name, port, pid, stop() }.
 */
async function startServer(kind, opts = {}) {
  const port = await freePort();
  const dir = mkdtempSync(join(work, `${kind}-`));
  let cmd;
  if (kind === "redis") {
    cmd = ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir, "--daemonize", "no", "--logfile", join(dir, "log")];
    cmd.push(...(opts.persist ? ["--appendonly", "yes", "--appendfsync", "everysec"] : ["--appendonly", "no"]));
  } else {
    cmd = [...akiCommand(kind), "server", "--port", String(port), "--bind", "127.0.0.1", "--loglevel", "warning"];
    cmd.push(...(opts.persist ? ["--dbfile", join(dir, "bench.aki"), "--appendfsync", "everysec"] : ["--dbfile", ":memory:"]));
  }
  const full = opts.pin === false ? cmd : [...serverPin, ...cmd];
  const child = spawn(full[0], full.slice(1), { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  let errText = "";
  child.stderr.on("data", (d) => (errText += d));
  const srv = {
    name: kind,
    port,
    pid: child.pid,
    child,
    stop() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        child.once("exit", () => {
          clearTimeout(t);
          live.delete(srv);
          resolve();
        });
        child.kill("SIGTERM");
      });
    },
  };
  live.add(srv);
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) break;
    if ((cli(port, ["PING"]).stdout ?? "").includes("PONG")) return srv;
    await sleep(50);
  }
  await srv.stop();
  throw new Error(`${kind} did not start: ${errText.trim().slice(0, 500)}`);
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

async function stopAll() {
  await Promise.all([...live].map((s) => s.stop()));
}
process.on("SIGINT", () => {
  for (const s of live) s.child.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
  process.exit(130);
});

// ---- measurement -----------------------------------------------------------------------------

const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux

/** { total (µs, precise when schedstat exists), user, sys (µs, from stat) } */
function cpuOf(pid) {
  let user = 0;
  let sys = 0;
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    user = Number(f[11]) * TICK_US; // field 14
    sys = Number(f[12]) * TICK_US; // field 15
  } catch {
    return null;
  }
  let total = 0;
  let ok = true;
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      total += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, "utf8").split(" ")[0]) / 1000;
    }
  } catch {
    ok = false;
  }
  return { total: ok ? total : user + sys, user, sys };
}

/** One redis-benchmark run against srv: { rps, cpu: { total, user, sys } | null, n }. */
function runBench(srv, test, P, extra = [], n = N) {
  const custom = CUSTOM[test];
  if (custom?.fill) spawnSync("redis-benchmark", ["-p", String(srv.port), "-q", ...extra, ...custom.fill], { encoding: "utf8" });
  const before = cpuOf(srv.pid);
  const what = custom ? custom.args : ["-t", test];
  const args = [...clientPin, "redis-benchmark", "-p", String(srv.port), "-q", "-n", String(n), "-c", String(CLIENTS), "-P", String(P), ...extra, ...what];
  const r = spawnSync(args[0], args.slice(1), { encoding: "utf8", maxBuffer: 64 << 20 });
  const after = cpuOf(srv.pid);
  const label = TEST_LABEL[test];
  const text = (r.stdout ?? "").split("\r").join("\n");
  let rps = NaN;
  for (const line of text.split("\n")) {
    const m = /^(.+?): ([0-9.]+) requests per second/.exec(line.trim());
    if (m && m[1] === label) rps = Number(m[2]);
  }
  if (!Number.isFinite(rps) && text.includes(`${label}: inf requests per second`) && n < N * 64) {
    // Over before redis-benchmark's millisecond clock moved (tiny --quick runs on a fast
    // server): run again with more requests.
    return runBench(srv, test, P, extra, n * 4);
  }
  if (!Number.isFinite(rps)) {
    throw new Error(`redis-benchmark ${test} -P ${P} against ${srv.name} gave no figure: ${(r.stdout + r.stderr).slice(-400)}`);
  }
  const cpu = before && after ? { total: after.total - before.total, user: after.user - before.user, sys: after.sys - before.sys } : null;
  return { rps, cpu, n };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Aggregate runs: median rps, CPU µs per request summed over runs. */
function summarize(runs) {
  const rps = median(runs.map((r) => r.rps));
  const withCpu = runs.filter((r) => r.cpu);
  const n = withCpu.reduce((a, r) => a + r.n, 0);
  const cpu = n ? withCpu.reduce((a, r) => a + r.cpu.total, 0) / n : NaN;
  const sys = n ? withCpu.reduce((a, r) => a + r.cpu.sys, 0) / n : NaN;
  const statTotal = n ? withCpu.reduce((a, r) => a + r.cpu.user + r.cpu.sys, 0) / n : NaN;
  return { rps, cpu, sys, statTotal, runs: runs.map((r) => r.rps) };
}

/**
 * Run tests x pipelines on servers (name -> srv), alternating, REPS times.
 * Returns results[test][P][name] = summary.
 */
function matrix(servers, tests, pipelines, extraArgs = () => [], group = 1, nFor = () => N) {
  const names = Object.keys(servers);
  const raw = {};
  // Warm-up, not measured: a quarter run (at least 5000 requests) of each test at the deepest
  // pipeline on every server, so the first measured repetition does not pay for JIT
  // compilation and first heap growth (a long-running server is past both; redis-server is
  // unaffected). A warm-up that gives no figure (a run too short to time: "inf") is ignored.
  const warmP = Math.max(...pipelines);
  const warmN = Math.max(5000, Math.floor(nFor(warmP) / 4));
  for (const name of names) for (const t of tests) {
    try {
      runBench(servers[name], t, warmP, extraArgs(name), warmN);
    } catch {
      // the measured runs report real failures
    }
  }
  for (let rep = 0; rep < REPS; rep++) {
    // Rotate who goes first each repetition. With group > 1, names come in groups (a server as
    // two users) that stay together, in turn forwards and backwards.
    const groups = [];
    for (let i = 0; i < names.length; i += group) groups.push(names.slice(i, i + group));
    const order = groups.map((_, i) => groups[(i + rep) % groups.length]).flatMap((g) => (rep % 2 ? [...g].reverse() : g));
    for (const t of tests) {
      for (const P of pipelines) {
        for (const name of order) {
          const r = runBench(servers[name], t, P, extraArgs(name), nFor(P));
          ((raw[t] ??= {})[P] ??= {})[name] ??= [];
          raw[t][P][name].push(r);
          process.stderr.write(`  rep ${rep + 1}/${REPS} ${t.padEnd(6)} -P ${String(P).padEnd(2)} ${name.padEnd(12)} ${fmtRps(r.rps)}\n`);
        }
      }
    }
  }
  const out = {};
  for (const t of Object.keys(raw)) for (const P of Object.keys(raw[t])) for (const name of Object.keys(raw[t][P])) {
    ((out[t] ??= {})[P] ??= {})[name] = summarize(raw[t][P][name]);
  }
  return out;
}

// ---- formatting ------------------------------------------------------------------------------

function fmtRps(x) {
  if (!Number.isFinite(x)) return "-";
  if (x >= 1e6) return (x / 1e6).toFixed(2) + "M";
  return Math.round(x / 1000) + "k";
}
const fmtRatio = (x) => (Number.isFinite(x) ? x.toFixed(2) : "-");
const fmtUs = (x) => (Number.isFinite(x) ? x.toFixed(2) : "-");

function table(header, rows) {
  const lines = ["| " + header.join(" | ") + " |", "|" + header.map((_, i) => (i === 0 ? "---" : "---:")).join("|") + "|"];
  for (const r of rows) lines.push("| " + r.join(" | ") + " |");
  return lines.join("\n");
}

const report = [];
function emit(s = "") {
  console.log(s);
  report.push(s);
}

/** Ops/s with ratios against `refName`, and CPU µs/op, for a results matrix. */
function printMatrix(title, res, names, refName) {
  emit(`\n### ${title}\n`);
  const header = ["test", ...names.map((n) => (n === refName ? `${n} ops/s` : `${n} (x ${refName})`))];
  const rows = [];
  for (const t of Object.keys(res)) for (const P of Object.keys(res[t])) {
    const ref = res[t][P][refName]?.rps;
    rows.push([`${TEST_LABEL[t]} -P ${P}`, ...names.map((n) => {
      const s = res[t][P][n];
      if (!s) return "-";
      return n === refName ? fmtRps(s.rps) : `${fmtRps(s.rps)} (${fmtRatio(s.rps / ref)})`;
    })]);
  }
  emit(table(header, rows));
  emit(`\nServer CPU per request, µs (sys part in parentheses):\n`);
  const rows2 = [];
  for (const t of Object.keys(res)) for (const P of Object.keys(res[t])) {
    rows2.push([`${TEST_LABEL[t]} -P ${P}`, ...names.map((n) => {
      const s = res[t][P][n];
      return s ? `${fmtUs(s.cpu)} (${fmtUs(s.sys)})` : "-";
    })]);
  }
  emit(table(["test", ...names], rows2));
}

// ---- variants --------------------------------------------------------------------------------

const results = { meta: { quick: QUICK, n: N, reps: REPS, clients: CLIENTS, pinned: PIN, runtimes: RUNTIMES, date: new Date().toISOString() } };
const akiName = (r) => `aki-${r}`;

async function serverSet(opts) {
  const servers = { redis: await startServer("redis", opts) };
  for (const r of RUNTIMES) servers[akiName(r)] = await startServer(r, opts);
  return servers;
}

async function variantThroughput(key, title, opts, tests, pipelines, extra = []) {
  const servers = await serverSet(opts);
  try {
    const res = matrix(servers, tests, pipelines, () => extra);
    results[key] = res;
    printMatrix(title, res, Object.keys(servers), "redis");
  } finally {
    await stopAll();
  }
}

const ACL_RULES = [
  "on", ">benchpw", "+@all",
  ...Array.from({ length: 5 }, (_, i) => `~tenant${i}:*`),
  "%R~key:*", "%W~ke?:*", "~counter:*", "~my*", "%RW~element:*",
  "(+@read ~other:*)",
];

/**
 * Requests per run in the acl variant: five times -n with pipelining. Its figure is a ratio of
 * two near-equal rates that has to resolve 3%, and a 200,000-request run at -P 16 lasts about
 * 0.12 s here: 12 ticks of the 10 ms clock /proc counts CPU in, and short enough for one slow
 * spell of the machine to move it by 10%. (At -P 1 the same run already takes 2 s.)
 */
const aclN = (P) => (QUICK || P === 1 ? N : N * 5);

async function variantAcl() {
  const servers = await serverSet({});
  const tests = TESTS.filter((t) => t === "get" || t === "set");
  const useTests = tests.length ? tests : ["get", "set"];
  try {
    for (const srv of Object.values(servers)) {
      const r = cli(srv.port, ["ACL", "SETUSER", "bench", "reset", ...ACL_RULES]);
      if (!/OK/.test(r.stdout)) throw new Error(`ACL SETUSER on ${srv.name}: ${r.stdout}${r.stderr}`);
    }
    // Each server twice: as the default user and as the restricted user, alternating.
    const both = {};
    for (const [name, srv] of Object.entries(servers)) {
      both[name] = srv;
      both[name + "+acl"] = srv;
    }
    const res = matrix(both, useTests, PIPELINES, (name) => (name.endsWith("+acl") ? ["--user", "bench", "-a", "benchpw"] : []), 2, aclN);
    results.acl = res;
    emit(`\n### Restricted ACL user vs default user (ratio = restricted / default on the same server)\n`);
    emit(`Rules: ${ACL_RULES.join(" ")}\n`);
    emit(`Requests a run: ${aclN(1)} at -P 1, ${aclN(16)} with pipelining.\n`);
    emit(
      "Medians of ops/s; the ratio is the median of each repetition's restricted / default, two runs\n" +
        "made one after the other on the same server (in turn default first and restricted first), so a slow\n" +
        "spell of the machine, which moves both, cancels out.\n",
    );
    const names = Object.keys(servers);
    const rows = [];
    for (const t of Object.keys(res)) for (const P of Object.keys(res[t])) {
      rows.push([`${TEST_LABEL[t]} -P ${P}`, ...names.map((n) => {
        const d = res[t][P][n];
        const a = res[t][P][n + "+acl"];
        const paired = median(a.runs.map((x, i) => x / d.runs[i]).filter(Number.isFinite));
        a.pairedRatio = paired;
        return `${fmtRps(a.rps)} / ${fmtRps(d.rps)} (${fmtRatio(paired)})`;
      })]);
    }
    emit(table(["test", ...names], rows));
    emit(`\nServer CPU per request, µs, restricted / default:\n`);
    const rows2 = [];
    for (const t of Object.keys(res)) for (const P of Object.keys(res[t])) {
      rows2.push([`${TEST_LABEL[t]} -P ${P}`, ...names.map((n) => `${fmtUs(res[t][P][n + "+acl"].cpu)} / ${fmtUs(res[t][P][n].cpu)}`)]);
    }
    emit(table(["test", ...names], rows2));
  } finally {
    await stopAll();
  }
}

/** Write a RESP file of commands produced by gen(i) for i < count. */
function respFile(path, count, gen) {
  return new Promise((resolve, reject) => {
    const ws = createWriteStream(path);
    ws.on("error", reject);
    let i = 0;
    const pump = () => {
      while (i < count) {
        const argv = gen(i++);
        let s = `*${argv.length}\r\n`;
        for (const a of argv) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
        if (!ws.write(s)) return ws.once("drain", pump);
      }
      ws.end(resolve);
    };
    pump();
  });
}

function rssOf(pid) {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const get = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN) * 1024;
  return { rss: get("VmRSS"), hwm: get("VmHWM") };
}

async function variantMemory() {
  const pad = (i) => String(i).padStart(12, "0");
  const files = {
    keys: join(work, "keys.resp"),
    hash: join(work, "hash.resp"),
    set: join(work, "set.resp"),
    zset: join(work, "zset.resp"),
  };
  await respFile(files.keys, MEM_KEYS, (i) => ["SET", `key:${pad(i)}`, "xxx"]);
  await respFile(files.hash, MEM_ELEMS, (i) => ["HSET", "bighash", `field:${pad(i)}`, "xxx"]);
  await respFile(files.set, MEM_ELEMS, (i) => ["SADD", "bigset", `member:${pad(i)}`]);
  await respFile(files.zset, MEM_ELEMS, (i) => ["ZADD", "bigzset", String(i), `member:${pad(i)}`]);
  const steps = [["keys", `${MEM_KEYS.toLocaleString("en")} keys`], ["hash", `hash ${MEM_ELEMS.toLocaleString("en")}`], ["set", `set ${MEM_ELEMS.toLocaleString("en")}`], ["zset", `zset ${MEM_ELEMS.toLocaleString("en")}`]];
  const mem = {};
  for (const kind of ["redis", ...RUNTIMES]) {
    const srv = await startServer(kind, { pin: false });
    const name = kind === "redis" ? "redis" : akiName(kind);
    try {
      await sleep(300);
      const row = { start: rssOf(srv.pid).rss };
      for (const [step] of steps) {
        const t0 = Date.now();
        const r = spawnSync("sh", ["-c", `redis-cli -p ${srv.port} --pipe < '${files[step]}'`], { encoding: "utf8" });
        if (!/errors: 0/.test(r.stdout)) throw new Error(`loading ${step} into ${name}: ${r.stdout}${r.stderr}`);
        row[step + "_ms"] = Date.now() - t0;
        await sleep(QUICK ? 200 : 1500);
        row[step] = rssOf(srv.pid).rss;
      }
      row.hwm = rssOf(srv.pid).hwm;
      const dbsize = cli(srv.port, ["DBSIZE"]).stdout.trim();
      if (Number(dbsize) !== MEM_KEYS + 3) throw new Error(`${name}: DBSIZE ${dbsize}, expected ${MEM_KEYS + 3}`);
      if (kind === "redis") row.usedMemory = Number(/used_memory:(\d+)/.exec(cli(srv.port, ["INFO", "memory"]).stdout)?.[1]);
      mem[name] = row;
    } finally {
      await srv.stop();
    }
  }
  results.memory = mem;
  const MB = (b) => (b / 1048576).toFixed(1);
  const names = Object.keys(mem);
  emit(`\n### Memory (RSS, MB; redis-cli --pipe, ratio = aki / redis-server)\n`);
  const ref = mem.redis;
  const rows = [["at start", ...names.map((n) => MB(mem[n].start))]];
  let prev = "start";
  for (const [step, label] of steps) {
    rows.push([`after ${label}`, ...names.map((n) => (n === "redis" ? MB(mem[n][step]) : `${MB(mem[n][step])} (${fmtRatio(mem[n][step] / ref[step])})`))]);
    rows.push([`  delta ${label}`, ...names.map((n) => {
      const d = mem[n][step] - mem[n][prev];
      const rd = ref[step] - ref[prev];
      return n === "redis" ? MB(d) : `${MB(d)} (${fmtRatio(d / rd)})`;
    })]);
    prev = step;
  }
  rows.push(["peak (VmHWM)", ...names.map((n) => MB(mem[n].hwm))]);
  rows.push([`bytes/key (${MEM_KEYS.toLocaleString("en")} keys)`, ...names.map((n) => Math.round((mem[n].keys - mem[n].start) / MEM_KEYS))]);
  emit(table(["", ...names], rows));
  emit(`\nredis used_memory after everything: ${MB(ref.usedMemory)} MB`);
}

// ---- main ------------------------------------------------------------------------------------

emit(`## aki vs redis-server: redis-benchmark -c ${CLIENTS} -n ${N}, ${REPS} repetition(s), medians; ${PIN ? "servers on core 0, redis-benchmark on core 1" : "unpinned"}`);
emit(`redis: ${spawnSync("redis-server", ["--version"], { encoding: "utf8" }).stdout.trim()}`);
emit(`runtimes: ${RUNTIMES.join(", ")}; node ${process.version}, ${spawnSync(bin("bun"), ["--version"], { encoding: "utf8" }).stdout.trim() ? "bun " + spawnSync(bin("bun"), ["--version"], { encoding: "utf8" }).stdout.trim() : ""}, ${spawnSync(bin("deno"), ["--version"], { encoding: "utf8" }).stdout.split("\n")[0]}`);

try {
  if (VARIANTS.includes("base")) await variantThroughput("base", "Throughput, in memory (aki --dbfile :memory: vs redis --appendonly no)", {}, TESTS, PIPELINES);
  if (VARIANTS.includes("persist")) await variantThroughput("persist", "Throughput with persistence (aki --dbfile F --appendfsync everysec vs redis --appendonly yes --appendfsync everysec)", { persist: true }, TESTS, PIPELINES);
  if (VARIANTS.includes("acl")) await variantAcl();
  if (VARIANTS.includes("d1024")) {
    const tests = TESTS.filter((t) => t === "set" || t === "get");
    await variantThroughput("d1024", "1 KB values (-d 1024)", {}, tests.length ? tests : ["set", "get"], PIPELINES, ["-d", "1024"]);
  }
  if (VARIANTS.includes("r1m")) {
    const tests = TESTS.filter((t) => t === "set" || t === "get" || t === "incr");
    await variantThroughput("r1m", "Distinct keys (-r 1000000), with persistence", { persist: true }, tests.length ? tests : ["set", "get", "incr"], PIPELINES, ["-r", "1000000"]);
  }
  if (VARIANTS.includes("memory")) await variantMemory();
} catch (e) {
  console.error(`bench: ${e.stack ?? e}`);
  await stopAll();
  rmSync(work, { recursive: true, force: true });
  process.exit(1);
}
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(results, null, 2));
rmSync(work, { recursive: true, force: true });
