#!/usr/bin/env node
// `npm test`: the one suite (tests/*.test.ts and src/**/*.test.ts, node:test + node:assert),
// run under Bun, Deno and Node in turn; each run starts aki under that same runtime
// (AKI_RUNTIME). Node 20 cannot load .ts, so for Node the server and the tests are bundled
// first (scripts/build.mjs). Prints each runner's own summary, then one closing line:
// "tests: N passed, N failed". Usage: node scripts/test-all.mjs [bun|deno|node ...] [-- files]
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, dirname, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (n) => join(root, "node_modules", ".bin", n);
const args = process.argv.slice(2);
const dash = args.indexOf("--");
const runtimes = (dash >= 0 ? args.slice(0, dash) : args).filter((a) => ["bun", "deno", "node"].includes(a));
const only = dash >= 0 ? args.slice(dash + 1) : [];
const order = runtimes.length ? runtimes : ["bun", "deno", "node"];

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith(".test.ts")) out.push(relative(root, p));
  }
  return out.sort();
}
let files = [...findTests(join(root, "tests")), ...findTests(join(root, "src"))];
if (only.length) files = files.filter((f) => only.some((o) => f.includes(o)));

const RUNNER_LIMIT_MS = Number(process.env.AKI_RUNNER_LIMIT_MS ?? 12 * 60 * 1000);
let passed = 0;
let failed = 0;
let broken = false;

function run(runtime, cmd, argv, parse) {
  console.log(`\n=== ${runtime}: ${[cmd, ...argv].map((a) => relative(root, a) || a).join(" ")}`);
  const r = spawnSync(cmd, argv, {
    cwd: root,
    env: { ...process.env, AKI_RUNTIME: runtime, NO_COLOR: "1", FORCE_COLOR: "0" },
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    // A hung test must not hang CI: each runner gets RUNNER_LIMIT_MS, then is killed and
    // counted as broken.
    timeout: RUNNER_LIMIT_MS,
    killSignal: "SIGKILL",
  });
  if (r.error?.code === "ETIMEDOUT") {
    console.log(`!!! ${runtime}: killed after ${RUNNER_LIMIT_MS / 1000}s without finishing`);
  }
  // deno colours its output even with NO_COLOR in some versions: strip escapes before reading.
  const text = ((r.stdout ?? "") + (r.stderr ?? "")).replace(/\x1b\[[0-9;]*m/g, "");
  process.stdout.write(text);
  const counts = parse(text);
  if (!counts) {
    console.log(`!!! ${runtime}: could not read the runner's summary (exit ${r.status})`);
    broken = true;
    return;
  }
  console.log(`=== ${runtime}: ${counts.pass} passed, ${counts.fail} failed`);
  passed += counts.pass;
  failed += counts.fail;
  if (r.status !== 0 && counts.fail === 0) broken = true;
}

for (const rt of order) {
  if (rt === "bun") {
    run("bun", bin("bun"), ["test", "--timeout", "60000", ...files.map((f) => "./" + f)], (t) => {
      const p = /^\s*(\d+) pass/m.exec(t);
      const f = /^\s*(\d+) fail/m.exec(t);
      return p ? { pass: Number(p[1]), fail: f ? Number(f[1]) : 0 } : null;
    });
  } else if (rt === "deno") {
    run("deno", bin("deno"), ["test", "-A", "--no-check", ...files], (t) => {
      // Deno counts describe() blocks as tests and test() inside them as steps: count the steps.
      const m = /(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?/.exec(t);
      if (!m) return null;
      const pass = m[2] !== undefined ? Number(m[2]) : Number(m[1]);
      const fail = m[4] !== undefined ? Number(m[4]) : Number(m[3]);
      return { pass, fail };
    });
  } else {
    for (const mode of ["--node", "--tests"]) {
      const b = spawnSync(process.execPath, [join(root, "scripts/build.mjs"), mode], { cwd: root, stdio: "inherit" });
      if (b.status !== 0) {
        console.log(`!!! node: build ${mode} failed`);
        broken = true;
      }
    }
    const built = files.map((f) => join("dist/tests", f.split("/").pop().replace(/\.ts$/, ".mjs")));
    run("node", process.execPath, ["--test", "--test-concurrency=1", "--test-timeout=120000", ...built], (t) => {
      const p = /^# pass (\d+)/m.exec(t);
      const f = /^# fail (\d+)/m.exec(t);
      return p ? { pass: Number(p[1]), fail: f ? Number(f[1]) : 0 } : null;
    });
  }
}

console.log(`\ntests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || broken ? 1 : 0);
