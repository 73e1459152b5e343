/**
 * ACL LOG that lasts: the ACL LOG kept next to the data file as `<dbfile>.acllog`, one JSON
 * object per line (newest first, the same fields ACL LOG shows: count, reason, context,
 * object, username, client-info, entry-id, timestamp-created, timestamp-last-updated in unix
 * ms), mode 0600.
 *
 * Contract:
 * - {@link AclLogStore.load} at startup restores the entries (trimmed to acllog-max-len) and
 *   the entry-id sequence, so ids keep increasing across restarts. A missing file is an empty
 *   log; unreadable lines are skipped with one warning.
 * - Every change (new entry, bumped entry, ACL LOG RESET) schedules a rewrite, coalesced to at
 *   most one per {@link WRITE_DELAY_MS}; the rewrite is atomic (a temporary file renamed over
 *   the old one) and {@link AclLogStore.flush} writes at once (shutdown). Write errors are
 *   logged once per failure streak; the in-memory log is unaffected.
 * - Off with `acllog-persist no` or an in-memory data file (`--dbfile :memory:`).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { AclLog, LogEntry } from "../acl/log.ts";

export const WRITE_DELAY_MS = 50;

const REASONS = new Set(["command", "key", "channel", "auth"]);
const CONTEXTS = new Set(["toplevel", "multi", "lua", "module"]);

export class AclLogStore {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private dirty = false;
  private failing = false;

  constructor(
    readonly path: string,
    private readonly log: AclLog,
    private readonly warn: (msg: string) => void,
  ) {}

  /** Restore the entries from the file (at most maxLen). */
  load(maxLen: number): void {
    if (!existsSync(this.path)) return;
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (e) {
      this.warn(`Cannot read the ACL LOG file ${this.path}: ${(e as Error).message}`);
      return;
    }
    const entries: LogEntry[] = [];
    let bad = 0;
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      const e = parseEntry(line);
      if (e === null) bad++;
      else entries.push(e);
    }
    if (bad > 0) this.warn(`ACL LOG file ${this.path}: ${bad} unreadable line(s) skipped`);
    this.log.restore(entries.slice(0, Math.max(0, maxLen)));
  }

  /** The log changed: write soon. */
  changed(): void {
    this.dirty = true;
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, WRITE_DELAY_MS);
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Write now if anything changed. */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.dirty) return;
    this.dirty = false;
    const text = this.log.entries.map((e) => JSON.stringify(toRecord(e)) + "\n").join("");
    const tmp = `${this.path}.tmp`;
    try {
      writeFileSync(tmp, text, { mode: 0o600 });
      renameSync(tmp, this.path);
      this.failing = false;
    } catch (e) {
      if (!this.failing) this.warn(`Cannot write the ACL LOG file ${this.path}: ${(e as Error).message}`);
      this.failing = true;
    }
  }
}

function toRecord(e: LogEntry): Record<string, unknown> {
  return {
    count: e.count,
    reason: e.reason,
    context: e.context,
    object: e.object,
    username: e.username,
    "client-info": e.cinfo,
    "entry-id": e.entryId,
    "timestamp-created": e.created,
    "timestamp-last-updated": e.ctime,
  };
}

function parseEntry(line: string): LogEntry | null {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line);
  } catch {
    return null;
  }
  if (o === null || typeof o !== "object") return null;
  const num = (k: string) => (typeof o[k] === "number" && Number.isFinite(o[k]) ? (o[k] as number) : null);
  const str = (k: string) => (typeof o[k] === "string" ? (o[k] as string) : null);
  const count = num("count"), id = num("entry-id"), created = num("timestamp-created"), updated = num("timestamp-last-updated");
  const reason = str("reason"), context = str("context"), object = str("object"), username = str("username"), cinfo = str("client-info");
  if (count === null || id === null || created === null || updated === null) return null;
  if (reason === null || !REASONS.has(reason) || context === null || !CONTEXTS.has(context)) return null;
  if (object === null || username === null || cinfo === null) return null;
  // Binary strings only: the file is written from them (JSON keeps every char <= 0xFF).
  for (const s of [object, username, cinfo]) if (/[^\x00-\xff]/.test(s)) return null;
  return {
    count,
    reason: reason as LogEntry["reason"],
    context: context as LogEntry["context"],
    object,
    username,
    cinfo,
    entryId: id,
    created,
    ctime: updated,
  };
}
