/**
 * Test harness: start aki as a child process under the runtime named by AKI_RUNTIME
 * ("node", "deno" or "bun"; default: the runtime running the tests), and talk to it through
 * real sockets.
 *
 * - startServer(args, opts) -> { port, stop(), kill(), ... }: a fresh server on a free port with
 *   `--dbfile :memory:` unless args name a dbfile (or opts.noMemoryDb); resolves once it
 *   printed its listening line.
 * - RawClient: exact bytes in, one complete RESP reply out as its raw text, so tests compare
 *   replies byte for byte (`await c.call("GET", "k")` -> "$1\r\nv\r\n").
 */
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { Buffer } from "node:buffer";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { existsSync } from "node:fs";

/** The repository root: the nearest folder above this file with a package.json (tests also run bundled from dist/tests). */
export const ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();

export function currentRuntime(): "node" | "deno" | "bun" {
  const env = process.env.AKI_RUNTIME;
  if (env === "node" || env === "deno" || env === "bun") return env;
  if ("Bun" in globalThis) return "bun";
  if ("Deno" in globalThis) return "deno";
  return "node";
}

/** The command line that runs aki under a runtime. */
export function akiCommand(runtime = currentRuntime()): string[] {
  const bin = join(ROOT, "node_modules", ".bin");
  if (runtime === "bun") return [join(bin, "bun"), join(ROOT, "src/main.ts")];
  if (runtime === "deno") return [join(bin, "deno"), "run", "-A", "--quiet", join(ROOT, "src/main.ts")];
  return [process.execPath.includes("node") ? process.execPath : "node", join(ROOT, "dist/aki.mjs")];
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export interface AkiServer {
  port: number;
  proc: ChildProcess;
  /** The server's own pid (from its log lines; differs from proc.pid under a wrapper such as strace). */
  pid: number;
  /** Everything the server printed so far. */
  output(): string;
  /** Signal the server (SIGTERM by default; SIGKILL after killAfterMs) and wait for the spawned process to end. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** stop("SIGKILL"). */
  kill(): Promise<number | null>;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | null>;
}

export interface StartOptions {
  /** Pass no --port (the args carry their own, or none). */
  noPort?: boolean;
  /** Wait for this text in the output instead of "listening on". */
  waitFor?: string;
  cwd?: string;
  /** Expect the process to exit (startup errors): resolve when it does. */
  expectExit?: boolean;
  /** Run the server through this command prefix (e.g. ["prlimit", "--nofile=256"]). */
  wrap?: string[];
  /** Environment variables added to this process's for the server. */
  env?: Record<string, string>;
  /** Add no `--dbfile :memory:` when args name no dbfile (the server's default data file). */
  noMemoryDb?: boolean;
  /** How long the server may take to start (default 20000 ms). */
  startTimeoutMs?: number;
  /** How long stop() waits before SIGKILL (default 5000 ms). */
  killAfterMs?: number;
  /** How the output is decoded (default utf8). */
  outputEncoding?: BufferEncoding;
}

export async function startServer(args: string[] = [], opts: StartOptions = {}): Promise<AkiServer> {
  const port = opts.noPort ? 0 : await freePort();
  const full = [...args];
  if (!opts.noPort && !args.includes("--port")) full.push("--port", String(port));
  if (!opts.noMemoryDb && !args.includes("--dbfile")) full.push("--dbfile", ":memory:");
  const [cmd, ...pre] = [...(opts.wrap ?? []), ...akiCommand()];
  const child = spawn(cmd, [...pre, "server", ...full], {
    cwd: opts.cwd ?? ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
  });
  let out = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const want = opts.waitFor ?? "listening on";
  const startMs = opts.startTimeoutMs ?? 20000;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in ${startMs / 1000}s; output:\n${out}`)), startMs);
    const onData = (d: Buffer) => {
      out += d.toString(opts.outputEncoding ?? "utf8");
      if (!opts.expectExit && out.includes(want)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    exited.then((code) => {
      clearTimeout(timer);
      if (opts.expectExit) resolve();
      else reject(new Error(`server exited with ${code} before starting; output:\n${out}`));
    });
  });
  const actualPort = opts.noPort ? Number(/listening on [^ ]*:(\d+)/.exec(out)?.[1] ?? 0) : port;
  const pid = Number(/^(\d+):M /m.exec(out)?.[1] ?? child.pid);
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
    const t = setTimeout(() => child.kill("SIGKILL"), opts.killAfterMs ?? 5000);
    const code = await exited;
    clearTimeout(t);
    return code;
  };
  return { port: actualPort, proc: child, pid, output: () => out, exited, stop, kill: () => stop("SIGKILL") };
}

/** Encode argv as a RESP multibulk request. */
export function resp(...argv: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${argv.length}\r\n`)];
  for (const a of argv) {
    const b = typeof a === "string" ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

/** Length of one complete RESP reply at the start of buf, or -1 when incomplete. */
export function replyLength(buf: Buffer, start = 0): number {
  if (start >= buf.length) return -1;
  const nl = buf.indexOf("\r\n", start);
  if (nl < 0) return -1;
  const type = String.fromCharCode(buf[start]);
  const head = buf.toString("latin1", start + 1, nl);
  const after = nl + 2;
  switch (type) {
    case "+": case "-": case ":": case ",": case "#": case "_": case "(":
      return after - start;
    case "$": case "=": case "!": {
      const n = Number(head);
      if (n < 0) return after - start;
      if (buf.length < after + n + 2) return -1;
      return after + n + 2 - start;
    }
    case "*": case "~": case ">": case "%": case "|": {
      let n = Number(head);
      if (n < 0) return after - start;
      if (type === "%" || type === "|") n *= 2;
      let pos = after;
      for (let i = 0; i < n; i++) {
        const l = replyLength(buf, pos);
        if (l < 0) return -1;
        pos += l;
      }
      return pos - start;
    }
    default:
      throw new Error(`bad reply type ${JSON.stringify(type)} in ${JSON.stringify(buf.toString("latin1"))}`);
  }
}

/**
 * A socket whose incoming bytes collect in a buffer; take(parse) waits until parse finds a whole
 * unit at the start of the buffer (looking again on data, on close and every pollMs).
 */
export class BufferedSocket<S extends net.Socket = net.Socket> {
  protected buf: Buffer = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  closed = false;

  protected constructor(readonly sock: S) {
    sock.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    sock.on("close", () => {
      this.closed = true;
      this.wake?.();
    });
    sock.on("error", () => {});
  }

  /** parse returns the unit and the bytes after it, or null while incomplete. */
  protected async take<T>(
    parse: (buf: Buffer) => { value: T; rest: Buffer } | null,
    o: { ms: number; pollMs: number; closedMsg: string; timeoutMsg: string },
  ): Promise<T> {
    const deadline = Date.now() + o.ms;
    for (;;) {
      const t = parse(this.buf);
      if (t) {
        this.buf = t.rest;
        return t.value;
      }
      if (this.closed) throw new Error(o.closedMsg);
      if (Date.now() > deadline) throw new Error(o.timeoutMsg);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, o.pollMs);
      });
      this.wake = null;
    }
  }

  close(): void {
    this.sock.destroy();
  }
}

export class RawClient {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(readonly sock: net.Socket) {
    sock.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    this.closedPromise = new Promise((resolve) => {
      sock.on("close", () => {
        this.closed = true;
        this.wake();
        resolve();
      });
    });
    sock.on("error", () => {});
  }

  static connect(port: number, host = "127.0.0.1"): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => resolve(new RawClient(s)));
      s.once("error", reject);
    });
  }

  static connectUnix(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ path }, () => resolve(new RawClient(s)));
      s.once("error", reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private waitData(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  write(data: string | Buffer): void {
    this.sock.write(typeof data === "string" ? Buffer.from(data, "latin1") : data);
  }

  /** Read one complete reply (raw text). Rejects on timeout or close. */
  async read(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = replyLength(this.buf);
      if (n >= 0) {
        const r = this.buf.toString("latin1", 0, n);
        this.buf = this.buf.subarray(n);
        return r;
      }
      if (this.closed) throw new Error(`connection closed; pending ${JSON.stringify(this.buf.toString("latin1"))}`);
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.waitData(left))) {
        throw new Error(`no reply in ${timeoutMs}ms; pending ${JSON.stringify(this.buf.toString("latin1"))}`);
      }
    }
  }

  /** Send a command and read its reply. */
  async call(...argv: (string | Buffer)[]): Promise<string> {
    this.write(resp(...argv));
    return await this.read();
  }

  /** Bytes received and not yet read as replies. */
  pending(): string {
    return this.buf.toString("latin1");
  }

  /** Wait until the server closes the connection (true) or the time runs out (false). */
  async waitClosed(ms = 3000): Promise<boolean> {
    if (this.closed) return true;
    return await Promise.race([this.closedPromise.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Bulk string reply text. */
export const bulk = (s: string): string => `$${Buffer.byteLength(s, "latin1")}\r\n${s}\r\n`;
export const err = (s: string): string => `-${s}\r\n`;
export const int = (n: number): string => `:${n}\r\n`;
export const OK = "+OK\r\n";
export const NIL = "$-1\r\n";
/** Array reply text of already-encoded elements. */
export const arr = (...items: string[]): string => `*${items.length}\r\n${items.join("")}`;
export const bulks = (...items: string[]): string => arr(...items.map(bulk));
