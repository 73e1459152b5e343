/**
 * Process facilities (arguments, exit, signals, resource use) through node:process, which
 * Node, Deno and Bun all provide. Kept here so src/ never touches the process.
 */
import process from "node:process";
import os from "node:os";
import { readdirSync, readFileSync } from "node:fs";
import type { Usage } from "../src/server.ts";

export const argv = (): string[] => process.argv.slice(2);
/** Exit now. Deno's process.exit after a handled SIGTERM reports death by that signal, so Deno uses Deno.exit. */
export const exit = (code: number): never => ((globalThis as { Deno?: { exit(c: number): never } }).Deno?.exit(code) ?? process.exit(code));
export const pid = process.pid;
export const cwd = (): string => process.cwd();
export const execPath = (): string => process.execPath;
/** An environment variable (undefined when unset). */
export const env = (name: string): string | undefined => process.env[name];
/** Die at once by SIGKILL, as a crash would (test hooks: no cleanup of any kind runs). */
export const killSelf = (): void => {
  process.kill(process.pid, "SIGKILL");
};
export const osName = `${os.type()} ${os.release()} ${os.arch()}`;

// deno-lint-ignore no-explicit-any
const D = (globalThis as any).Deno;

/** Run fn on each of the signals. Deno's node:process does not deliver signals, so it gets its own API. */
export function onSignals(signals: string[], fn: (sig: string) => void): void {
  for (const s of signals) {
    try {
      if (D?.addSignalListener) D.addSignalListener(s, () => fn(s));
      else process.on(s as NodeJS.Signals, () => fn(s));
    } catch { /* not supported on this runtime */ }
  }
}

/** Ignore SIGXFSZ so exceeding `ulimit -f` surfaces as EFBIG on write instead of killing us. */
export function ignoreFileSizeSignal(): void {
  onSignals(["SIGXFSZ"], () => {});
}

/** The soft limit on open files (ulimit -n) from /proc/self/limits; Infinity where unknown or unlimited. */
export function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "latin1"));
    const n = m ? Number(m[1]) : NaN;
    return Number.isFinite(n) && n > 0 ? n : Infinity;
  } catch {
    return Infinity;
  }
}

/** File descriptors open now (/proc/self/fd); 0 where unknown. */
export function openFileCount(): number {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return 0;
  }
}

export function usage(): Usage {
  const m = process.memoryUsage();
  const c = process.cpuUsage();
  return { rss: m.rss, heap: m.heapUsed, total: os.totalmem(), cpuUser: c.user / 1e6, cpuSys: c.system / 1e6 };
}

export function stdout(line: string): void {
  process.stdout.write(line + "\n");
}
export function stderr(line: string): void {
  process.stderr.write(line + "\n");
}
