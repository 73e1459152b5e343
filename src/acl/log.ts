/**
 * ACL LOG: the in-memory security log of denied commands, keys, channels and failed AUTH/HELLO,
 * as Redis 7.2 keeps it.
 *
 * - Newest entry first. A new event whose reason, context, object and username equal those of
 *   one of the 10 newest entries, updated less than 60 s ago, bumps that entry's count, moves it
 *   to the head and refreshes its client-info and last-updated time; otherwise a new entry with
 *   the next entry-id is added and the log is trimmed to acllog-max-len (the trim happens on
 *   insertion only: lowering the setting does not drop entries at once, as in Redis).
 * - {@link AclLog.reply} renders entries as 10-field maps (RESP3 map / RESP2 flat array) in
 *   Redis's field order, age-seconds as a double.
 * - {@link AclLog.onChange} / {@link AclLog.restore} let src/security/acllog-store.ts keep the
 *   log across restarts.
 */
import { Double, MapReply, type Reply } from "../resp/reply.ts";

export type LogReason = "command" | "key" | "channel" | "auth";
export type LogContext = "toplevel" | "multi" | "lua" | "module";

export interface LogEntry {
  count: number;
  reason: LogReason;
  context: LogContext;
  object: string;
  username: string;
  /** Last update, unix ms. */
  ctime: number;
  cinfo: string;
  entryId: number;
  created: number;
}

const GROUPING_MS = 60000;

export class AclLog {
  entries: LogEntry[] = [];
  private nextId = 0;
  /** Called after every change (src/security/acllog-store.ts keeps the log across restarts). */
  onChange: (() => void) | null = null;

  /** Replace the entries (newest first) with ones read back at startup; ids continue after them. */
  restore(entries: LogEntry[]): void {
    this.entries = entries;
    for (const e of entries) if (e.entryId >= this.nextId) this.nextId = e.entryId + 1;
  }

  add(reason: LogReason, context: LogContext, object: string, username: string, cinfo: string, maxLen: number, now = Date.now()): void {
    const scan = Math.min(10, this.entries.length);
    for (let i = 0; i < scan; i++) {
      const e = this.entries[i];
      if (e.reason !== reason || e.context !== context) continue;
      if (Math.abs(e.ctime - now) > GROUPING_MS) continue;
      if (e.object !== object || e.username !== username) continue;
      this.entries.splice(i, 1);
      this.entries.unshift(e);
      e.cinfo = cinfo;
      e.ctime = now;
      e.count++;
      this.onChange?.();
      return;
    }
    this.entries.unshift({ count: 1, reason, context, object, username, ctime: now, cinfo, entryId: this.nextId++, created: now });
    if (this.entries.length > maxLen) this.entries.length = Math.max(0, maxLen);
    this.onChange?.();
  }

  reset(): void {
    this.entries = [];
    this.onChange?.();
  }

  /** ACL LOG [count]: the newest `count` entries. */
  reply(count: number, now = Date.now()): Reply {
    const n = Math.max(0, Math.min(count, this.entries.length));
    const out: Reply[] = [];
    for (let i = 0; i < n; i++) {
      const e = this.entries[i];
      out.push(
        new MapReply([
          "count", e.count,
          "reason", e.reason,
          "context", e.context,
          "object", e.object,
          "username", e.username,
          "age-seconds", new Double((now - e.ctime) / 1000),
          "client-info", e.cinfo,
          "entry-id", e.entryId,
          "timestamp-created", e.created,
          "timestamp-last-updated", e.ctime,
        ]),
      );
    }
    return out;
  }
}
