/**
 * The audit stream: security events kept in memory (the newest `audit-max-len`), written as
 * JSON lines to `--auditfile PATH` when set, and pushed to live subscribers (the admin API's
 * Server-Sent Events stream).
 *
 * Contract:
 * - {@link AuditLog.emit}(type, fields) stamps an event with a increasing `id`, `time` (ISO
 *   8601) and `ts` (unix ms); fields must already be JSON-ready text (callers convert binary
 *   strings with latin1ToUtf8) and must never hold a cleartext password: callers pass rule
 *   lines as ACL LIST renders them (passwords as #<sha256>) and sensitive values hashed.
 * - The file is opened in append mode with mode 0600 (an existing file is chmod-ed to 0600).
 *   Lines are written at the end of the current task (one write for every event of a turn).
 *   When a write would take the file past `audit-max-size`, PATH is renamed to PATH.1
 *   (replacing the previous PATH.1) and a fresh PATH is started. A failing write is logged
 *   once per failure streak and never breaks the server; events stay in memory.
 * - {@link AuditLog.query} filters the in-memory events by time (`since`, ms), id (`after`),
 *   type, and user (the acting or authenticating user, the target user of an ACL change).
 */
import { Buffer } from "node:buffer";
import { chmodSync, closeSync, fstatSync, openSync, renameSync, writeSync } from "node:fs";

export interface AuditEvent {
  id: number;
  time: string;
  ts: number;
  type: string;
  [field: string]: unknown;
}

export interface AuditQuery {
  since?: number;
  after?: number;
  type?: string;
  user?: string;
  limit?: number;
}

export interface AuditOptions {
  /** Events kept in memory. */
  maxLen: () => number;
  /** Rotation size of the file, bytes. */
  maxSize: () => number;
  log: (level: "warning" | "notice", msg: string) => void;
}

export class AuditLog {
  private ring: AuditEvent[] = [];
  private nextId = 1;
  private listeners = new Set<(e: AuditEvent) => void>();
  private path = "";
  private fd: number | null = null;
  private size = 0;
  private pending = "";
  private flushQueued = false;
  private failing = false;
  /** Events written to the file since start. */
  written = 0;

  constructor(private readonly opts: AuditOptions) {}

  /** The audit file in use ("" when none). */
  get file(): string {
    return this.path;
  }

  /** Start writing to `path` (mode 0600, append). Returns an error message or null. */
  open(path: string): string | null {
    this.close();
    try {
      this.fd = openSync(path, "a", 0o600);
      chmodSync(path, 0o600);
      this.size = fstatSync(this.fd).size;
      this.path = path;
      return null;
    } catch (e) {
      this.fd = null;
      return `cannot open audit file ${path}: ${(e as Error).message}`;
    }
  }

  /** Flush and close the file. */
  close(): void {
    this.flush();
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch { /* already gone */ }
    }
    this.fd = null;
    this.path = "";
  }

  emit(type: string, fields: Record<string, unknown>): AuditEvent {
    const ts = Date.now();
    const e: AuditEvent = { id: this.nextId++, time: new Date(ts).toISOString(), ts, type, ...fields };
    const max = this.opts.maxLen();
    this.ring.push(e);
    if (this.ring.length > max) this.ring.splice(0, this.ring.length - Math.max(0, max));
    if (this.fd !== null) {
      this.pending += JSON.stringify(e) + "\n";
      if (!this.flushQueued) {
        this.flushQueued = true;
        queueMicrotask(() => this.flush());
      }
    }
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch { /* a subscriber's problem is its own */ }
    }
    return e;
  }

  /** Write pending lines now (rotating first when the file would pass audit-max-size). */
  flush(): void {
    this.flushQueued = false;
    if (this.fd === null || this.pending === "") return;
    const text = this.pending;
    this.pending = "";
    try {
      const bytes = Buffer.byteLength(text, "utf8");
      if (this.size > 0 && this.size + bytes > this.opts.maxSize()) this.rotate();
      writeSync(this.fd!, text);
      this.size += bytes;
      this.written += text.split("\n").length - 1;
      this.failing = false;
    } catch (e) {
      if (!this.failing) this.opts.log("warning", `Error writing the audit file ${this.path}: ${(e as Error).message}`);
      this.failing = true;
    }
  }

  private rotate(): void {
    closeSync(this.fd!);
    this.fd = null;
    renameSync(this.path, this.path + ".1");
    this.fd = openSync(this.path, "a", 0o600);
    chmodSync(this.path, 0o600);
    this.size = 0;
    this.opts.log("notice", `Audit file rotated: ${this.path}.1`);
  }

  /** Receive every new event; returns the unsubscribe function. */
  subscribe(fn: (e: AuditEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /** Events in memory, oldest first, filtered. */
  query(q: AuditQuery = {}): AuditEvent[] {
    let out = this.ring.filter((e) => matches(e, q));
    if (q.limit !== undefined && out.length > q.limit) out = out.slice(out.length - q.limit);
    return out;
  }

  clear(): void {
    this.ring = [];
  }
}

/** Does an event pass the filters? */
export function matches(e: AuditEvent, q: AuditQuery): boolean {
  if (q.since !== undefined && e.ts < q.since) return false;
  if (q.after !== undefined && e.id <= q.after) return false;
  if (q.type !== undefined && q.type !== "" && e.type !== q.type) return false;
  if (q.user !== undefined && q.user !== "") {
    const changes = Array.isArray(e.changes) ? (e.changes as { target?: unknown }[]) : [];
    if (e.user !== q.user && e.target !== q.user && !changes.some((c) => c.target === q.user)) return false;
  }
  return true;
}

