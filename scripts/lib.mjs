// Shared pieces of the hardening scripts (fuzz.mjs, soak.mjs, crash-loop.mjs); plain Node ESM,
// no dependencies. (tests/ have their own TypeScript copies in tests/harness.ts and
// tests/hardening-helpers.ts: the scripts cannot import .ts under Node.)
import net from "node:net";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export const RUNTIMES = ["bun", "deno", "node"];

// ---- command line -------------------------------------------------------------------------------

/** A usage function for a script: prints `name: msg` (when given) and the usage text, exits 2. */
export function usageFor(name, text) {
  return (msg) => {
    if (msg) console.error(`${name}: ${msg}`);
    console.error(text);
    process.exit(2);
  };
}

/**
 * Parse argv into a copy of defaults. spec maps each option to a setter: `(o, value) => ...` for
 * an option that takes a value, `(o) => ...` for a flag. --help/-h, unknown options and missing
 * values go to usage; a `runtime` option must name bun, deno or node.
 */
export function parseOptions(argv, defaults, spec, usage) {
  const o = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const set = Object.hasOwn(spec, a) ? spec[a] : null;
    if (set && set.length >= 2) {
      if (i + 1 >= argv.length) usage(`missing value for ${a}`);
      set(o, argv[++i]);
    } else if (set) set(o);
    else if (a === "--help" || a === "-h") usage();
    else usage(`unknown option ${a}`);
  }
  if ("runtime" in o && !RUNTIMES.includes(o.runtime)) usage(`unknown runtime ${o.runtime}`);
  return o;
}

// ---- small things -------------------------------------------------------------------------------

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Deterministic PRNG (mulberry32): a function returning floats in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function median(xs) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Resident set size of a process in bytes (Linux /proc), or NaN where unavailable. */
export function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Open descriptors of a process (Linux /proc), or NaN. */
export function fdsOf(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

// ---- RESP ---------------------------------------------------------------------------------------

/** Encode argv (strings taken as latin1 bytes, or Buffers) as a RESP multibulk request. */
export function enc(argv) {
  const parts = [Buffer.from(`*${argv.length}\r\n`)];
  for (const a of argv) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a), "latin1");
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

/** Length of one complete RESP2/RESP3 value at buf[pos], -1 if incomplete, -2 if not RESP. */
export function replyLen(buf, pos) {
  if (pos >= buf.length) return -1;
  const nl = buf.indexOf("\r\n", pos);
  if (nl < 0) return -1;
  const t = String.fromCharCode(buf[pos]);
  const n = Number(buf.toString("latin1", pos + 1, nl));
  let p = nl + 2;
  switch (t) {
    case "+": case "-": case ":": case ",": case "#": case "_": case "(":
      return p - pos;
    case "$": case "=": case "!":
      if (n < 0) return p - pos;
      return buf.length >= p + n + 2 ? p + n + 2 - pos : -1;
    case "*": case "~": case ">": case "%": case "|": {
      if (n < 0) return p - pos;
      const count = t === "%" || t === "|" ? n * 2 : n;
      for (let i = 0; i < count; i++) {
        const l = replyLen(buf, p);
        if (l < 0) return l;
        p += l;
      }
      return p - pos;
    }
    default:
      return -2;
  }
}

/**
 * A connection that reads whole replies as latin1 text. read/call/pipeline wait defaultMs
 * (per reply; Infinity: no limit) unless told otherwise, and throw once the connection is
 * closed. With onPush set, every complete reply goes there instead.
 */
export class Conn {
  constructor(sock, defaultMs = 10000) {
    this.sock = sock;
    this.defaultMs = defaultMs;
    this.buf = Buffer.alloc(0);
    this.waiters = [];
    this.closed = false;
    this.onPush = null;
    sock.on("data", (d) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      if (this.onPush) {
        for (;;) {
          const l = replyLen(this.buf, 0);
          if (l < 0) break;
          this.onPush(this.buf.toString("latin1", 0, l));
          this.buf = this.buf.subarray(l);
        }
      }
      this.wake();
    });
    sock.on("close", () => {
      this.closed = true;
      this.wake();
    });
    sock.on("error", () => {});
  }
  static open(port, defaultMs) {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: "127.0.0.1" }, () => resolve(new Conn(s, defaultMs)));
      s.once("error", reject);
    });
  }
  wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  async read(ms = this.defaultMs) {
    const deadline = Date.now() + ms;
    for (;;) {
      const l = replyLen(this.buf, 0);
      if (l >= 0) {
        const out = this.buf.toString("latin1", 0, l);
        this.buf = this.buf.subarray(l);
        return out;
      }
      if (this.closed) throw new Error("connection closed");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${ms} ms`);
      await new Promise((r) => {
        const t = left === Infinity ? undefined : setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
  /** Send several commands at once, read their replies. */
  async pipeline(cmds, ms) {
    this.sock.write(Buffer.concat(cmds.map(enc)));
    const out = [];
    for (let i = 0; i < cmds.length; i++) out.push(await this.read(ms));
    return out;
  }
  async call(argv, ms) {
    return (await this.pipeline([argv], ms))[0];
  }
  close() {
    this.sock.destroy();
  }
}

// ---- the server ---------------------------------------------------------------------------------

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** The command line that runs aki under a runtime; with build, node's dist/aki.mjs is built when missing. */
export function akiCommand(runtime, { build = false } = {}) {
  const bin = join(root, "node_modules", ".bin");
  if (runtime === "bun") return [join(bin, "bun"), join(root, "src/main.ts")];
  if (runtime === "deno") return [join(bin, "deno"), "run", "-A", "--quiet", join(root, "src/main.ts")];
  if (build && !existsSync(join(root, "dist/aki.mjs"))) {
    const b = spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
    if (b.status !== 0) throw new Error("npm run build failed");
  }
  return [process.execPath, join(root, "dist/aki.mjs")];
}

/**
 * Start aki under runtime in a new temporary directory (prefix tmpPrefix) with an in-memory store,
 * an aclfile of aclLines and extraArgs; ready once its port accepts connections (30 s at most).
 * Returns { port, pid, child, exited, tmp, log(), alive(), stop() }; stop() ends the server
 * (SIGTERM, SIGKILL after 5 s) and removes the directory. A failed start cleans up and throws.
 */
export async function startAki({ runtime, tmpPrefix, aclLines, extraArgs = [] }) {
  const [exe, ...pre] = akiCommand(runtime, { build: true });
  const tmp = mkdtempSync(join(tmpdir(), tmpPrefix));
  const acl = join(tmp, "users.acl");
  writeFileSync(acl, aclLines.join("\n") + "\n");
  let child = null;
  let exited = Promise.resolve(null);
  let serverLog = "";
  const alive = () => child !== null && child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (alive()) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    const port = await freePort();
    child = spawn(exe, [...pre, "server", "--port", String(port), "--dbfile", ":memory:", "--aclfile", acl, "--loglevel", "warning", ...extraArgs], {
      cwd: tmp,
      stdio: ["ignore", "pipe", "pipe"],
    });
    exited = new Promise((resolve) => child.once("exit", (code, sig) => resolve(sig ?? code)));
    const onData = (d) => {
      serverLog += d.toString();
      if (serverLog.length > 1 << 20) serverLog = serverLog.slice(-(1 << 19));
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    // Readiness: the port accepts connections.
    const deadline = Date.now() + 30000;
    for (;;) {
      if (!alive()) throw new Error(`aki exited at startup:\n${serverLog}`);
      try {
        (await Conn.open(port)).close();
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`aki did not start in 30 s:\n${serverLog}`);
        await sleep(100);
      }
    }
    return { port, pid: child.pid, child, exited, tmp, log: () => serverLog, alive, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
