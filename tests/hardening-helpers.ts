/**
 * Shared pieces of the hardening tests (tests/hardening-*.test.ts): the ACL fixture of
 * the reliability catalogue (default needs a password, so unauthenticated paths are exercised),
 * raw byte exchanges that report whether the server closed the socket, and the server's RSS.
 */
import { after, before } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { Buffer } from "node:buffer";
import { spawnSync } from "node:child_process";
import { closeSync, fstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { akiCommand, RawClient, resp, startServer, type AkiServer } from "./harness.ts";
import { HEADER_SIZE, scanRecords } from "../src/persist/format.ts";
import type { JournalRecord } from "../src/persist/types.ts";

export const FIXTURE_USERS = [
  "user default on >defpw ~* &* +@all",
  "user admin on >adminpw ~* &* +@all",
  "user app on >apppw ~app:* +@read +@write",
  "user ro on >ropw ~* +@read",
];

export const AUTH = "AUTH admin adminpw\r\n";
export const WRONGPASS = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";

/** A temporary directory holding users.acl with the fixture users. */
export function aclFixture(lines = FIXTURE_USERS): { dir: string; file: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "aki-hard-"));
  const file = join(dir, "users.acl");
  writeFileSync(file, lines.join("\n") + "\n");
  return { dir, file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What fixtureServer hands over: the server, an admin connection and the ACL fixture. */
export interface FixtureServer {
  srv: AkiServer;
  c: RawClient;
  fx: ReturnType<typeof aclFixture>;
}

/**
 * Register before/after hooks (in the calling describe block) for a server on the fixture users
 * without failed-AUTH throttling (tests that fail AUTH many times from loopback must not make
 * later tests meet the throttle) and an admin connection; use() receives them once started.
 */
export function fixtureServer(use: (f: FixtureServer) => void): void {
  let f: FixtureServer;
  before(async () => {
    const fx = aclFixture();
    const srv = await startServer(["--aclfile", fx.file, "--auth-max-failures", "0"]);
    f = { srv, c: await authed(srv.port), fx };
    use(f);
  });
  after(async () => {
    f.c.close();
    await f.srv.stop();
    f.fx.cleanup();
  });
}

/** A temporary directory removed after the file's tests (root), and fresh numbered subdirectories of it. */
/**
 * Mount a tmpfs of `size` (e.g. "256k") on the empty directory dir. Returns null when it is
 * mounted, or why it could not be (not root, no mount): the caller skips with that reason.
 * Unmount with `unmountTmpfs(dir)` in a finally.
 */
export function mountTmpfs(dir: string, size: string): string | null {
  const m = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { encoding: "latin1" });
  return m.status === 0 ? null : `cannot mount a tmpfs here (${(m.stderr || m.error?.message || "").trim()})`;
}

export function unmountTmpfs(dir: string): void {
  spawnSync("umount", [dir]);
}

export function tempRoot(prefix: string): { root: string; tempDir(): string } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(root, { recursive: true, force: true }));
  let seq = 0;
  const tempDir = () => {
    const d = join(root, `d${seq++}`);
    mkdirSync(d);
    return d;
  };
  return { root, tempDir };
}

/** `aki check FILE [--fix]`: exit code and output. */
export function akiCheck(file: string, fix = false): { code: number | null; out: string } {
  const [cmd, ...pre] = akiCommand();
  const r = spawnSync(cmd, [...pre, "check", file, ...(fix ? ["--fix"] : [])], { encoding: "latin1" });
  return { code: r.status, out: (r.stdout ?? "") + (r.stderr ?? "") };
}

/** Every record of a data file, with its start offset and length (the file must scan clean). */
export function readRecords(file: string): { rec: JournalRecord; offset: number; length: number }[] {
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    const out: { rec: JournalRecord; offset: number; length: number }[] = [];
    let pos = HEADER_SIZE;
    const res = scanRecords(fd, size, HEADER_SIZE, (rec) => {
      const head = Buffer.alloc(4);
      readSync(fd, head, 0, 4, pos);
      const length = 8 + head.readUInt32LE(0);
      out.push({ rec, offset: pos, length });
      pos += length;
    });
    assert.equal(res.state, "clean", `${file}: ${res.reason}`);
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Send many commands at once and read all the replies (20 s each at most). */
export async function pipeline(c: RawClient, cmds: string[][]): Promise<string[]> {
  c.write(Buffer.concat(cmds.map((a) => resp(...a))));
  const out: string[] = [];
  for (let i = 0; i < cmds.length; i++) out.push(await c.read(20000));
  return out;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Send bytes on a fresh connection and collect what comes back until the server closes the
 * socket or `waitMs` of silence passed. `closed` says whether the server closed it.
 */
export function exchange(port: number, data: string | Buffer, waitMs = 400): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: "127.0.0.1" }, () => s.write(typeof data === "string" ? Buffer.from(data, "latin1") : data));
    let reply = "";
    let timer: ReturnType<typeof setTimeout>;
    const done = (closed: boolean) => {
      clearTimeout(timer);
      s.removeAllListeners("close");
      s.destroy();
      resolve({ reply, closed });
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => done(false), waitMs);
    };
    arm();
    s.on("data", (d: Buffer) => {
      reply += d.toString("latin1");
      arm();
    });
    s.on("error", () => {});
    s.on("close", () => done(true));
  });
}

/** A raw connection, authenticated as user (admin by default). */
export async function authed(port: number, user = "admin", pass = user + "pw"): Promise<RawClient> {
  const c = await RawClient.connect(port);
  const r = await c.call("AUTH", user, pass);
  if (r !== "+OK\r\n") throw new Error(`AUTH ${user} failed: ${r}`);
  return c;
}

/** Resident set size of a process in bytes (Linux /proc), or NaN where unavailable. */
export function rss(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** One field of INFO (as text), e.g. infoField(c, "rejected_connections"). */
export async function infoField(c: RawClient, field: string): Promise<string> {
  const r = await c.call("INFO", "everything");
  const m = new RegExp(`^${field}:(.*)\\r$`, "m").exec(r);
  if (!m) throw new Error(`INFO has no ${field}`);
  return m[1];
}

/** Milliseconds a PING takes on c. */
export async function pingMs(c: RawClient): Promise<number> {
  const t0 = performance.now();
  const r = await c.call("PING");
  if (r !== "+PONG\r\n") throw new Error(`PING answered ${r}`);
  return performance.now() - t0;
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Open a raw socket and keep it (no reading helper): for storms and never-readers. */
export function rawSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: "127.0.0.1" }, () => resolve(s));
    s.once("error", reject);
  });
}

/** Decode one raw RESP2/RESP3 reply into JS values (errors as { error }, maps as flat arrays). */
export function parseReply(raw: string): unknown {
  let pos = 0;
  const value = (): unknown => {
    const nl = raw.indexOf("\r\n", pos);
    const t = raw[pos];
    const head = raw.slice(pos + 1, nl);
    pos = nl + 2;
    switch (t) {
      case "+": return head;
      case "-": return { error: head };
      case ":": return Number(head);
      case "_": return null;
      case "$": case "=": case "!": {
        const n = Number(head);
        if (n < 0) return null;
        const s = raw.slice(pos, pos + n);
        pos += n + 2;
        return s;
      }
      case "*": case "~": case ">": case "%": {
        const n = Number(head);
        if (n < 0) return null;
        const out: unknown[] = [];
        for (let i = 0; i < (t === "%" ? 2 * n : n); i++) out.push(value());
        return out;
      }
      default:
        return head;
    }
  };
  return value();
}

/** A flat [k1, v1, k2, v2...] array as an object. */
export function pairs(a: unknown): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const arr = a as unknown[];
  for (let i = 0; i + 1 < arr.length; i += 2) o[String(arr[i])] = arr[i + 1];
  return o;
}
