#!/usr/bin/env node
// The kill -9 loop as a standalone hardening run: aki with `--appendfsync always` on one data
// file; each cycle restarts it, checks that every write acknowledged so far is present, lets
// 8 clients write (SET of unique keys, INCR, MULTI/INCR/INCR/EXEC) and SIGKILLs the server at a
// random moment. Sampled acknowledgements are also checked against the file itself: the record
// must already be there when the reply arrives. Exits 1 at the first violation.
// Usage: node scripts/crash-loop.mjs [bun|deno|node] [--cycles N | -n N (default 200)] [--policy always]
//        [--keep] (keep the work directory); the node runtime runs dist/aki.mjs (`npm run build`).
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { akiCommand, Conn, freePort, sleep } from "./lib.mjs";

const args = process.argv.slice(2);
const runtime = args.find((a) => ["bun", "deno", "node"].includes(a)) ?? "bun";
const cyclesFlag = ["--cycles", "-n"].find((f) => args.includes(f));
const CYCLES = cyclesFlag ? Number(args[args.indexOf(cyclesFlag) + 1]) : 200;
if (!(Number.isInteger(CYCLES) && CYCLES > 0)) {
  console.error("crash-loop: --cycles needs a positive integer");
  process.exit(2);
}
const policy = args.includes("--policy") ? args[args.indexOf("--policy") + 1] : "always";
const CLIENTS = 8;
const work = fs.mkdtempSync(join(os.tmpdir(), "aki-crash-loop-"));
const file = join(work, "crash.aki");

function fail(msg) {
  console.error(`crash-loop: FAILED: ${msg}\n(data file kept in ${work})`);
  process.exit(1);
}

async function startAki() {
  const port = await freePort();
  const [cmd, ...pre] = akiCommand(runtime);
  const child = spawn(cmd, [...pre, "server", "--port", String(port), "--dbfile", file, "--appendfsync", policy], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const exited = new Promise((r) => child.once("exit", r));
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`aki did not start: ${out}`)), 30000);
    const on = (d) => {
      out += d;
      if (out.includes("listening on")) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout.on("data", on);
    child.stderr.on("data", on);
    exited.then((code) => {
      clearTimeout(t);
      reject(new Error(`aki exited with ${code} while starting:\n${out}`));
    });
  });
  return { port, child, exited, output: () => out };
}

/** A RESP connection without a reply time limit (call/pipeline throw once it is closed). */
const connect = (port) => Conn.open(port, Infinity);

const acked = new Map();
const counters = new Array(CLIENTS).fill(0);
const txs = new Array(CLIENTS).fill(0);
let sampled = 0;
let totalAcks = 0;

function inFile(value) {
  const fd = fs.openSync(file, "r");
  try {
    const size = fs.fstatSync(fd).size;
    const from = Math.max(0, size - (1 << 20));
    const buf = Buffer.alloc(size - from);
    fs.readSync(fd, buf, 0, buf.length, from);
    return buf.includes(Buffer.from(value, "latin1"));
  } finally {
    fs.closeSync(fd);
  }
}

const intOf = (r) => (r === "$-1\r\n" ? 0 : Number(r.split("\r\n")[1]));

async function verify(port, what) {
  const c = await connect(port);
  const keys = [...acked.keys()];
  for (let i = 0; i < keys.length; i += 1000) {
    const chunk = keys.slice(i, i + 1000);
    const r = await c.call(["MGET", ...chunk]);
    const vals = [...r.matchAll(/\$(-1|\d+)\r\n(?:([^\r]*)\r\n)?/g)].map((m) => (m[1] === "-1" ? null : m[2]));
    chunk.forEach((k, j) => {
      if (vals[j] !== acked.get(k)) fail(`${what}: acknowledged SET ${k}=${acked.get(k)} found ${vals[j]}`);
    });
  }
  for (let i = 0; i < CLIENTS; i++) {
    const cnt = intOf(await c.call(["GET", `cnt${i}`]));
    if (cnt < counters[i]) fail(`${what}: INCR cnt${i} acknowledged ${counters[i]}, found ${cnt}`);
    counters[i] = cnt;
    const a = intOf(await c.call(["GET", `ta${i}`]));
    const b = intOf(await c.call(["GET", `tb${i}`]));
    if (a !== b) fail(`${what}: MULTI/EXEC of client ${i} applied partially (${a} vs ${b})`);
    if (a < txs[i]) fail(`${what}: EXEC of client ${i} acknowledged ${txs[i]}, found ${a}`);
    txs[i] = a;
  }
  c.close();
}

async function writer(port, i, cycle) {
  let c;
  try {
    c = await connect(port);
  } catch {
    return;
  }
  try {
    for (let n = 0; ; n++) {
      const op = n % 3;
      if (op === 0) {
        const key = `k${i}:${cycle}:${n}`;
        const value = `v${i}.${cycle}.${n}.${Math.random().toString(36).slice(2, 8)}`;
        const r = await c.call(["SET", key, value]);
        if (r !== "+OK\r\n") fail(`SET ${key}: ${JSON.stringify(r)}`);
        acked.set(key, value);
        totalAcks++;
        if (policy === "always" && n % 4 === 0) {
          sampled++;
          if (!inFile(value)) fail(`SET ${key} was acknowledged before its record was in the file`);
        }
      } else if (op === 1) {
        const r = await c.call(["INCR", `cnt${i}`]);
        counters[i] = Math.max(counters[i], Number(r.slice(1, -2)));
        totalAcks++;
      } else {
        const r = (await c.pipeline([["MULTI"], ["INCR", `ta${i}`], ["INCR", `tb${i}`], ["EXEC"]]))[3];
        const m = /^\*2\r\n:(\d+)\r\n:(\d+)\r\n$/.exec(r);
        if (!m) fail(`EXEC reply ${JSON.stringify(r)}`);
        txs[i] = Math.max(txs[i], Number(m[1]));
        totalAcks++;
      }
    }
  } catch {
    // killed
  } finally {
    c.close();
  }
}

console.log(`crash-loop: ${CYCLES} cycles, aki on ${runtime}, appendfsync ${policy}, ${CLIENTS} clients, file ${file}`);
const t0 = Date.now();
for (let cycle = 0; cycle < CYCLES; cycle++) {
  let srv;
  try {
    srv = await startAki();
  } catch (e) {
    fail(`cycle ${cycle}: ${e.message}`);
  }
  await verify(srv.port, `cycle ${cycle}`);
  const writers = Array.from({ length: CLIENTS }, (_, i) => writer(srv.port, i, cycle));
  await sleep(10 + Math.random() * 250);
  srv.child.kill("SIGKILL");
  await srv.exited;
  await Promise.all(writers);
  if ((cycle + 1) % 10 === 0 || cycle === CYCLES - 1) {
    console.log(`  cycle ${cycle + 1}/${CYCLES}: ${totalAcks} acknowledged writes, ${acked.size} keys, file ${fs.statSync(file).size} bytes`);
  }
}
const last = await startAki();
await verify(last.port, "final");
last.child.kill("SIGTERM");
await last.exited;
console.log(
  `crash-loop: OK: ${CYCLES} SIGKILLs, ${totalAcks} acknowledged writes all present, ${sampled} acknowledgements checked against the file, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
);
if (!args.includes("--keep")) fs.rmSync(work, { recursive: true, force: true });
