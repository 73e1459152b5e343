#!/usr/bin/env node
// TLS throughput (not a test): aki over TLS against aki over plain TCP, and against redis-server
// started with TLS, with redis-benchmark (--tls). One line per server and test:
//
//   bench-tls bun   SET -P1: plain 61234 rps | tls 48123 rps (0.79 of plain) | redis tls 52345 rps (aki/redis 0.92)
//
// A throwaway CA and server certificate are made with openssl in a temporary directory. Each
// aki serves the plain port and the TLS port at once (same process, same data); redis-server
// does the same. Servers are pinned to core 0 and redis-benchmark to core 1 when taskset and
// two cores exist. Medians of --reps runs.
//
// Options:
//   --quick                 few requests, one repetition (proves the script works)
//   --runtimes bun,deno,node,native   (default bun,deno,node)
//   --tests set,get,ping    (default set,get)
//   --pipelines 1,16        (default 1,16)
//   --auth                  also a client-certificate run (tls-auth-clients yes): under Deno
//                           this is the node:tls adapter instead of Deno.listenTls
//   -n N                    requests per run (default 100000; --quick 3000)
//   --reps N                (default 3; --quick 1)
//   --clients N             (default 50)
//   --no-build              use dist/ as it is
// Needs openssl, redis-server and redis-benchmark on PATH (Debian: openssl redis-server redis-tools).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, cpus } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./lib.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (n) => join(root, "node_modules", ".bin", n);

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const opt = (name, def) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : def;
};
const list = (name, def) => opt(name, def).split(",").map((s) => s.trim()).filter(Boolean);

const QUICK = flag("--quick");
const RUNTIMES = list("--runtimes", "bun,deno,node");
const TESTS = list("--tests", "set,get");
const PIPELINES = list("--pipelines", "1,16").map(Number);
const N = Number(opt("-n", QUICK ? "3000" : "100000"));
const REPS = Number(opt("--reps", QUICK ? "1" : "3"));
const CLIENTS = Number(opt("--clients", "50"));
const AUTH = flag("--auth");

function die(msg) {
  console.error(`bench-tls: ${msg}`);
  process.exit(2);
}
const have = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
for (const c of ["openssl", "redis-server", "redis-benchmark"]) if (!have(c)) die(`${c} is not on PATH`);
for (const r of RUNTIMES) if (!["bun", "deno", "node", "native"].includes(r)) die(`unknown runtime '${r}'`);
const PIN = have("taskset") && cpus().length >= 2;
const serverPin = PIN ? ["taskset", "-c", "0"] : [];
const clientPin = PIN ? ["taskset", "-c", "1"] : [];

if (!flag("--no-build")) {
  const modes = [];
  if (RUNTIMES.includes("node")) modes.push("--node");
  if (RUNTIMES.includes("native")) modes.push("--compile");
  for (const m of modes) {
    const r = spawnSync(process.execPath, [join(root, "scripts/build.mjs"), m], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
    if (r.status !== 0) die(`build ${m} failed`);
  }
}

// ---- certificates ----------------------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), "aki-bench-tls-"));
const p = (n) => join(work, n);
function openssl(args) {
  const r = spawnSync("openssl", args, { cwd: work, encoding: "utf8" });
  if (r.status !== 0) die(`openssl ${args.join(" ")}: ${r.stderr}`);
}
const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
writeFileSync(p("server.ext"), "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n");
writeFileSync(p("client.ext"), "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
openssl(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=bench CA"]);
for (const [name, ext] of [["server", "server.ext"], ["client", "client.ext"]]) {
  openssl(["req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`]);
  openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "1", "-extfile", ext]);
}

// ---- servers ---------------------------------------------------------------------------------

const live = new Set();
function akiCommand(runtime) {
  if (runtime === "bun") return [bin("bun"), join(root, "src/main.ts")];
  if (runtime === "deno") return [bin("deno"), "run", "-A", "--quiet", join(root, "src/main.ts")];
  if (runtime === "node") return [process.execPath, join(root, "dist/aki.mjs")];
  return [join(root, "dist/aki")];
}
function start(cmd, ready) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0], cmd.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    live.add(child);
    let out = "";
    const t = setTimeout(() => reject(new Error(`did not start: ${cmd.join(" ")}\n${out}`)), 20000);
    const on = (d) => {
      out += d;
      if (ready(out)) {
        clearTimeout(t);
        resolve({ child, output: () => out });
      }
    };
    child.stdout.on("data", on);
    child.stderr.on("data", on);
    child.once("exit", (code) => {
      live.delete(child);
      clearTimeout(t);
      reject(new Error(`exited ${code}: ${cmd.join(" ")}\n${out}`));
    });
  });
}
async function stop(s) {
  s.child.removeAllListeners("exit");
  s.child.kill("SIGTERM");
  await new Promise((r) => s.child.once("exit", r));
  live.delete(s.child);
}
process.on("exit", () => {
  for (const c of live) c.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

const tlsFlags = (auth) => [
  "--tls-cert-file", p("server.crt"), "--tls-key-file", p("server.key"), "--tls-ca-cert-file", p("ca.crt"),
  "--tls-auth-clients", auth ? "yes" : "no",
];

// ---- benchmark -------------------------------------------------------------------------------

const LABEL = { set: "SET", get: "GET", ping: "PING_MBULK" };
function bench(port, tls, auth, test, pipeline) {
  const args = ["-h", "127.0.0.1", "-p", String(port), "-n", String(N), "-c", String(CLIENTS), "-P", String(pipeline), "-t", test, "--csv"];
  if (tls) args.push("--tls", "--cacert", p("ca.crt"));
  if (tls && auth) args.push("--cert", p("client.crt"), "--key", p("client.key"));
  const r = spawnSync(clientPin[0] ?? "redis-benchmark", [...clientPin.slice(1), ...(clientPin.length ? ["redis-benchmark"] : []), ...args], { encoding: "utf8", timeout: 600000 });
  const line = r.stdout.split("\n").find((l) => l.startsWith(`"${LABEL[test]}"`));
  if (!line) die(`redis-benchmark failed: ${r.stderr || r.stdout}`);
  return Number(JSON.parse(`[${line}]`)[1]);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function measure(port, tls, auth, test, pipeline) {
  const xs = [];
  for (let i = 0; i < REPS; i++) xs.push(bench(port, tls, auth, test, pipeline));
  return median(xs);
}
const fmt = (n) => String(Math.round(n)).padStart(7);

async function redisTls(auth) {
  const port = await freePort();
  const tport = await freePort();
  const s = await start([...serverPin, "redis-server", "--port", String(port), "--tls-port", String(tport), "--save", "", "--appendonly", "no", ...tlsFlags(auth)], (o) => o.includes("Ready to accept"));
  return { s, port, tport };
}

const results = [];
for (const auth of AUTH ? [false, true] : [false]) {
  const ref = await redisTls(auth);
  const refRps = {};
  for (const test of TESTS) for (const P of PIPELINES) refRps[`${test}/${P}`] = measure(ref.tport, true, auth, test, P);
  await stop(ref.s);
  for (const runtime of RUNTIMES) {
    const port = await freePort();
    const tport = await freePort();
    const s = await start(
      [...serverPin, ...akiCommand(runtime), "server", "--port", String(port), "--tls-port", String(tport), "--dbfile", ":memory:", ...tlsFlags(auth)],
      (o) => o.includes("with TLS"),
    );
    const how = /with TLS \([^;]*; (.*)\)\s*$/m.exec(s.output())?.[1] ?? "?";
    for (const test of TESTS) {
      for (const P of PIPELINES) {
        const plain = measure(port, false, auth, test, P);
        const tls = measure(tport, true, auth, test, P);
        const redis = refRps[`${test}/${P}`];
        const line = `bench-tls ${runtime.padEnd(6)} ${auth ? "client-cert " : ""}${LABEL[test]} -P${P}: plain ${fmt(plain)} rps | tls ${fmt(tls)} rps (${(tls / plain).toFixed(2)} of plain) | redis tls ${fmt(redis)} rps (aki/redis ${(tls / redis).toFixed(2)}) [${how}]`;
        console.log(line);
        results.push({ runtime, auth, test, pipeline: P, plain, tls, redisTls: redis, how });
      }
    }
    await stop(s);
  }
}
console.log(`bench-tls: ${results.length} lines, n=${N} c=${CLIENTS} reps=${REPS}${PIN ? ", pinned" : ""}`);
