#!/usr/bin/env node
// The durable store against Redis's AOF (not a test; prints a table):
//  1. SET throughput (redis-benchmark -t set -c 50) with appendfsync always / everysec / no,
//     aki with its data file vs redis-server --appendonly yes with the same policy;
//  2. a dataset of KEYS keys (default 1,000,000): file size as journaled and after compaction
//     (BGREWRITEAOF), against Redis's AOF (incr file, then after BGREWRITEAOF with its RDB
//     preamble); time to load each file at startup; aki's compaction pause (the synchronous
//     snapshot capture, INFO aki_last_compaction_pause_ms).
// Usage: node scripts/bench-persist.mjs [bun|deno|node] [-n REQUESTS] [--keys N]
// Needs redis-server, redis-cli and redis-benchmark on PATH; the node runtime runs dist/aki.mjs
// (`npm run build` first).
import { spawn, spawnSync } from "node:child_process";
import net from "node:net";
import fs from "node:fs";
import os from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const runtime = args.find((a) => ["bun", "deno", "node"].includes(a)) ?? "bun";
const N = args.includes("-n") ? args[args.indexOf("-n") + 1] : "100000";
const KEYS = args.includes("--keys") ? Number(args[args.indexOf("--keys") + 1]) : 1_000_000;
const work = fs.mkdtempSync(join(os.tmpdir(), "aki-bench-persist-"));

for (const tool of ["redis-server", "redis-cli", "redis-benchmark"]) {
  if (spawnSync(tool, ["--version"]).status !== 0) {
    console.error(`bench-persist: ${tool} not found on PATH`);
    process.exit(1);
  }
}

function akiCommand() {
  const bin = join(root, "node_modules", ".bin");
  if (runtime === "bun") return [join(bin, "bun"), join(root, "src/main.ts")];
  if (runtime === "deno") return [join(bin, "deno"), "run", "-A", "--quiet", join(root, "src/main.ts")];
  return [process.execPath, join(root, "dist/aki.mjs")];
}

const freePort = () =>
  new Promise((res) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Start a server and wait until it answers PING; returns { child, port, startMs, output() }. */
async function start(cmd, argv, port) {
  const t0 = performance.now();
  const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise((r) => child.once("exit", r));
  for (let i = 0; i < 6000; i++) {
    if (child.exitCode !== null) throw new Error(`${cmd} exited: ${out}`);
    if (await ping(port)) return { child, port, startMs: performance.now() - t0, output: () => out, exited };
    await sleep(5);
  }
  child.kill("SIGKILL");
  throw new Error(`${cmd} did not start: ${out}`);
}

function ping(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: "127.0.0.1" }, () => s.write("*1\r\n$4\r\nPING\r\n"));
    s.once("data", (d) => {
      s.destroy();
      resolve(d.toString().startsWith("+PONG"));
    });
    s.once("error", () => resolve(false));
  });
}

async function stop(srv) {
  srv.child.kill("SIGTERM");
  const t = setTimeout(() => srv.child.kill("SIGKILL"), 60000);
  await srv.exited;
  clearTimeout(t);
}

function cli(port, ...argv) {
  return spawnSync("redis-cli", ["-p", String(port), ...argv], { encoding: "utf8" }).stdout.trim();
}

function infoField(port, name) {
  const m = new RegExp(`^${name}:(.*)$`, "m").exec(cli(port, "INFO", "persistence").replace(/\r/g, ""));
  return m ? m[1].trim() : "";
}

async function waitRewrite(port) {
  await sleep(50);
  while (infoField(port, "aof_rewrite_in_progress") !== "0" || infoField(port, "aof_rewrite_scheduled") === "1") await sleep(50);
}

function setThroughput(port) {
  const r = spawnSync("redis-benchmark", ["-p", String(port), "-q", "-n", N, "-c", "50", "-r", "1000000", "-d", "16", "-t", "set"], {
    encoding: "utf8",
  });
  const m = /SET: ([0-9.]+) requests per second/.exec(r.stdout ?? "");
  return m ? Number(m[1]) : NaN;
}

const aki = (dir, policy, port, extra = []) =>
  start(akiCommand()[0], [...akiCommand().slice(1), "server", "--port", String(port), "--dir", dir, "--appendfsync", policy, ...extra], port);
const redis = (dir, policy, port) =>
  start("redis-server", ["--port", String(port), "--dir", dir, "--appendonly", "yes", "--appendfsync", policy, "--save", "", "--auto-aof-rewrite-percentage", "0"], port);

function dirSize(dir) {
  let n = 0;
  for (const f of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, f.name);
    n += f.isDirectory() ? dirSize(p) : fs.statSync(p).size;
  }
  return n;
}
function aofSize(dir) {
  const d = join(dir, "appendonlydir");
  return fs.existsSync(d) ? dirSize(d) : 0;
}

/** Send KEYS SETs (pipelined, 10,000 per batch) and wait for every reply. */
async function loadKeys(port) {
  const s = net.connect({ port, host: "127.0.0.1" });
  await new Promise((r) => s.once("connect", r));
  let got = 0;
  let want = 0;
  let wake = null;
  s.on("data", (d) => {
    got += d.length / 5; // "+OK\r\n"
    if (wake && got >= want) wake();
  });
  const BATCH = 10000;
  for (let i = 0; i < KEYS; i += BATCH) {
    let text = "";
    const end = Math.min(KEYS, i + BATCH);
    for (let k = i; k < end; k++) {
      const key = `key:${String(k).padStart(7, "0")}`;
      const val = `value-${String(k * 7919).padStart(10, "0")}`;
      text += `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${val.length}\r\n${val}\r\n`;
    }
    want = end;
    s.write(text);
    if (got < want) await new Promise((r) => (wake = r));
    wake = null;
  }
  s.destroy();
}

const fmt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a");
const mb = (b) => `${(b / 1048576).toFixed(1)} MB`;
const sec = (ms) => `${(ms / 1000).toFixed(2)} s`;

console.log(`bench-persist: aki on ${runtime} vs ${spawnSync("redis-server", ["--version"], { encoding: "utf8" }).stdout.trim().split(" ").slice(0, 3).join(" ")}; ${N} SETs x 3 policies, dataset of ${KEYS.toLocaleString("en-US")} keys`);

// 1. Throughput per policy.
const rows = [];
for (const policy of ["always", "everysec", "no"]) {
  const a = join(work, `aki-${policy}`);
  const r = join(work, `redis-${policy}`);
  fs.mkdirSync(a);
  fs.mkdirSync(r);
  let srv = await aki(a, policy, await freePort());
  const akiOps = setThroughput(srv.port);
  const akiFsyncs = Number(infoField(srv.port, "aki_fsyncs"));
  await stop(srv);
  srv = await redis(r, policy, await freePort());
  const redisOps = setThroughput(srv.port);
  await stop(srv);
  rows.push({ policy, akiOps, redisOps, akiFsyncs });
}
console.log("\nSET throughput (redis-benchmark -t set -c 50 -d 16, requests/s)");
console.log("appendfsync | aki          | redis-server | aki/redis | aki fsyncs");
for (const r of rows) {
  console.log(
    `${r.policy.padEnd(11)} | ${fmt(r.akiOps).padStart(12)} | ${fmt(r.redisOps).padStart(12)} | ${(r.akiOps / r.redisOps).toFixed(2).padStart(9)} | ${fmt(r.akiFsyncs)}`,
  );
}

// 2. The dataset: sizes, load times, compaction pause.
const ad = join(work, "aki-load");
const rd = join(work, "redis-load");
fs.mkdirSync(ad);
fs.mkdirSync(rd);
const akiFile = join(ad, "data.aki");

let srv = await aki(ad, "everysec", await freePort());
let t0 = performance.now();
await loadKeys(srv.port);
const akiLoadWrite = performance.now() - t0;
await stop(srv);
const akiJournalSize = fs.statSync(akiFile).size;
srv = await aki(ad, "everysec", await freePort());
const akiJournalStart = srv.startMs;
const akiJournalLog = /loaded: .* in ([0-9.]+) seconds/.exec(srv.output())?.[1];
cli(srv.port, "BGREWRITEAOF");
await waitRewrite(srv.port);
const pause = Number(infoField(srv.port, "aki_last_compaction_pause_ms"));
const rewriteSecs = infoField(srv.port, "aof_last_rewrite_time_sec");
await stop(srv);
const akiCompactSize = fs.statSync(akiFile).size;
srv = await aki(ad, "everysec", await freePort());
const akiCompactStart = srv.startMs;
const akiCompactLog = /loaded: .* in ([0-9.]+) seconds/.exec(srv.output())?.[1];
const akiKeys = cli(srv.port, "DBSIZE");
await stop(srv);

srv = await redis(rd, "everysec", await freePort());
t0 = performance.now();
await loadKeys(srv.port);
const redisLoadWrite = performance.now() - t0;
await stop(srv);
const redisAofSize = aofSize(rd);
srv = await redis(rd, "everysec", await freePort());
const redisAofStart = srv.startMs;
cli(srv.port, "BGREWRITEAOF");
await waitRewrite(srv.port);
await stop(srv);
const redisRewrittenSize = aofSize(rd);
srv = await redis(rd, "everysec", await freePort());
const redisRewrittenStart = srv.startMs;
const redisKeys = cli(srv.port, "DBSIZE");
await stop(srv);

console.log(`\nDataset of ${KEYS.toLocaleString("en-US")} keys (SET key:NNNNNNN value-NNNNNNNNNN), appendfsync everysec`);
console.log("                                   | aki             | redis-server");
console.log(`writing it (pipelined, 10k/batch)  | ${sec(akiLoadWrite).padEnd(15)} | ${sec(redisLoadWrite)}`);
console.log(`file as journaled / AOF            | ${mb(akiJournalSize).padEnd(15)} | ${mb(redisAofSize)}`);
console.log(`  start-up until PING (load)       | ${sec(akiJournalStart).padEnd(15)} | ${sec(redisAofStart)}`);
console.log(`  load time logged by aki          | ${(akiJournalLog ? akiJournalLog + " s" : "n/a").padEnd(15)} |`);
console.log(`after BGREWRITEAOF                 | ${mb(akiCompactSize).padEnd(15)} | ${mb(redisRewrittenSize)} (RDB preamble)`);
console.log(`  start-up until PING (load)       | ${sec(akiCompactStart).padEnd(15)} | ${sec(redisRewrittenStart)}`);
console.log(`  load time logged by aki          | ${(akiCompactLog ? akiCompactLog + " s" : "n/a").padEnd(15)} |`);
console.log(`compaction pause (snapshot capture)| ${(pause.toFixed(1) + " ms").padEnd(15)} | (fork)`);
console.log(`compaction duration                | ${(rewriteSecs + " s").padEnd(15)} |`);
console.log(`keys after reload                  | ${akiKeys.padEnd(15)} | ${redisKeys}`);

fs.rmSync(work, { recursive: true, force: true });
