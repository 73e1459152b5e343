#!/usr/bin/env node
// The cost of ACL checks: redis-benchmark GET/SET -P 16 as the default user (no checks) and as
// a restricted user (10 key patterns, %R~/%W~ patterns, a selector), against aki and against
// redis-server, printing requests/s and the ACL/default ratio of each server.
// Usage: node scripts/bench-acl.mjs [bun|deno|node] [-n REQUESTS]   (needs redis-server,
// redis-cli and redis-benchmark on PATH; the node runtime needs `npm run build` first).
import { spawn, spawnSync } from "node:child_process";
import net from "node:net";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const runtime = args.find((a) => ["bun", "deno", "node"].includes(a)) ?? "bun";
const n = args.includes("-n") ? args[args.indexOf("-n") + 1] : "200000";

const freePort = () =>
  new Promise((res) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });

async function start(cmd, argv, port) {
  const child = spawn(cmd, argv, { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    if (spawnSync("redis-cli", ["-p", String(port), "PING"], { encoding: "utf8" }).stdout.includes("PONG")) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`${cmd} did not start`);
}

const RULES = [
  "on", ">benchpw", "+@all",
  ...Array.from({ length: 8 }, (_, i) => `~tenant${i}:*`),
  "%R~key:*", "%W~ke?:*", "%R~counter:*",
  "(+@read ~other:*)",
];

function bench(port, auth) {
  const extra = auth ? ["--user", "bench", "-a", "benchpw"] : [];
  const r = spawnSync("redis-benchmark", ["-p", String(port), "-q", "-n", n, "-c", "50", "-P", "16", "-t", "get,set", ...extra], { encoding: "utf8" });
  const out = {};
  for (const m of (r.stdout ?? "").matchAll(/^(GET|SET): ([0-9.]+) requests per second/gm)) out[m[1]] = Number(m[2]);
  return out;
}

async function measure(name, cmd, argv, port) {
  const child = await start(cmd, argv, port);
  try {
    const set = spawnSync("redis-cli", ["-p", String(port), "ACL", "SETUSER", "bench", ...RULES], { encoding: "utf8" });
    if (!set.stdout.includes("OK")) throw new Error(`SETUSER failed on ${name}: ${set.stdout}`);
    const plain = bench(port, false);
    const acl = bench(port, true);
    return { name, plain, acl };
  } finally {
    child.kill("SIGTERM");
  }
}

const akiPort = await freePort();
const akiCmd =
  runtime === "bun" ? [join(root, "node_modules/.bin/bun"), [join(root, "src/main.ts")]]
  : runtime === "deno" ? [join(root, "node_modules/.bin/deno"), ["run", "-A", "--quiet", join(root, "src/main.ts")]]
  : [process.execPath, [join(root, "dist/aki.mjs")]];
const results = [await measure(`aki (${runtime})`, akiCmd[0], [...akiCmd[1], "server", "--port", String(akiPort), "--dbfile", ":memory:"], akiPort)];
const redisPort = await freePort();
results.push(await measure("redis-server", "redis-server", ["--port", String(redisPort), "--save", "", "--appendonly", "no"], redisPort));

console.log(`requests/s, ${n} requests, 50 clients, pipeline 16`);
for (const r of results) {
  for (const t of ["GET", "SET"]) {
    const ratio = r.plain[t] ? (r.acl[t] / r.plain[t]).toFixed(3) : "n/a";
    console.log(`${r.name.padEnd(14)} ${t}  default ${String(r.plain[t] ?? "?").padStart(10)}  acl user ${String(r.acl[t] ?? "?").padStart(10)}  acl/default ${ratio}`);
  }
}
const [a, b] = results;
for (const t of ["GET", "SET"]) {
  if (a.acl[t] && b.acl[t]) console.log(`aki/redis as the ACL user, ${t}: ${(a.acl[t] / b.acl[t]).toFixed(3)}`);
}
