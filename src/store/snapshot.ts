/**
 * A point-in-time view of the dataset as journal records, for compaction (the Persistence
 * contract requires one: records appended after the snapshot was taken reach the new file
 * through its tail, so the snapshot must not reflect them).
 *
 * openSnapshot() is the only synchronous part (the pause clients see): per database it copies
 * the keys and value references into two flat arrays and notes the TTLs, which is cheap. The
 * records are then built lazily while compaction consumes them, a slice per event-loop turn:
 * - strings are immutable, so the captured reference is the captured value;
 * - collections (hash, set, list, zset) are mutated in place, so they are copy-on-write:
 *   while the snapshot is open, every Db's `cow` hook runs when get() hands out (or set()
 *   stores) a collection not serialized yet, and freezes a copy of its elements first. Every
 *   command reaches a value through Db.get() before mutating it, so the copy is taken before
 *   the mutation. A mutation that skipped get() (touchWrite on a value never handed out)
 *   breaks the guarantee: the iterator then throws, and the compaction fails, keeping the old
 *   file.
 *
 * Records: SET / HSET / SADD / RPUSH / ZADD per key (collections in chunks of at most 1024
 * elements), then, per database, PEXPIREAT for every key with a TTL. Keys already expired when
 * the snapshot opened are left out. Call close() when done (idempotent): it removes the hooks
 * and drops the copies.
 */
import type { Server } from "../server.ts";
import type { JournalRecord } from "../persist/types.ts";
import { formatDouble } from "../resp/reply.ts";
import type { CowHook, Db, Value } from "./keyspace.ts";

const CHUNK = 1024;

interface ListLike { type: "list"; toArray(): string[] }
interface ZSetLike { type: "zset"; entries(): Iterable<[string, number]> }

/** A collection's elements as the arguments of the command that recreates it. */
interface Frozen {
  cmd: "HSET" | "SADD" | "RPUSH" | "ZADD";
  /** Flat arguments: field value ... / member ... / element ... / score member ... */
  args: string[];
  /** Arguments per element (2 for HSET and ZADD). */
  step: number;
}

function freeze(v: Value): Frozen {
  if (v instanceof Map) {
    const args: string[] = new Array(v.size * 2);
    let i = 0;
    for (const [f, val] of v) {
      args[i++] = f;
      args[i++] = val;
    }
    return { cmd: "HSET", args, step: 2 };
  }
  if (v instanceof Set) return { cmd: "SADD", args: Array.from(v), step: 1 };
  const t = v as unknown as ListLike | ZSetLike;
  if (t.type === "list") return { cmd: "RPUSH", args: t.toArray(), step: 1 };
  const args: string[] = [];
  for (const [m, s] of t.entries()) args.push(formatDouble(s), m);
  return { cmd: "ZADD", args, step: 2 };
}

function* frozenRecords(db: number, key: string, f: Frozen): Generator<JournalRecord> {
  const per = CHUNK * f.step;
  for (let i = 0; i < f.args.length; i += per) {
    const argv = [f.cmd, key];
    const end = Math.min(f.args.length, i + per);
    for (let j = i; j < end; j++) argv.push(f.args[j]);
    yield [{ db, argv }];
  }
}

interface DbCapture {
  db: number;
  keys: string[];
  vals: Value[];
  /** Keys whose time had passed when the snapshot opened (left out). */
  expired: Set<string>;
  /** The expires map as captured (entries with a passed time are skipped). */
  ttlKeys: string[];
  ttlAt: number[];
}

export interface Snapshot {
  /** The records; iterate once. Throws if a mutation bypassed the copy-on-write guard. */
  readonly records: Iterable<JournalRecord>;
  /** Keys captured (all databases, expired ones included). */
  readonly keys: number;
  /** Milliseconds openSnapshot() took (the pause). */
  readonly pauseMs: number;
  /** Remove the hooks and drop what is left (idempotent). */
  close(): void;
}

/** Capture the dataset now; see the module comment. */
export function openSnapshot(server: Server): Snapshot {
  const t0 = performance.now();
  const now = server.keyspace.clock();
  const dbs: Db[] = server.keyspace.dbs;
  const captures: DbCapture[] = [];
  /**
   * Collections that are safe to hand out: serialized already, or copied (frozen) at their
   * first get()/set() since the capture. Any other collection reached through get()/set() is
   * copied first. (Collections created after the capture are copied too, needlessly but
   * harmlessly: telling them apart would cost a set of every captured collection in the pause.)
   */
  const done = new Set<Value>();
  /** Frozen copies of collections handed out before being serialized. */
  const copies = new Map<Value, Frozen>();
  let broken = false;
  let total = 0;
  for (const db of dbs) {
    const n = db.data.size;
    if (n === 0) continue;
    // Bulk native copies (no per-entry allocation): the cheapest capture on every runtime.
    const keys = Array.from(db.data.keys());
    const vals = Array.from(db.data.values());
    const expired = new Set<string>();
    const ttlKeys = Array.from(db.expires.keys());
    const ttlAt = Array.from(db.expires.values());
    for (let i = 0; i < ttlAt.length; i++) if (ttlAt[i] <= now) expired.add(ttlKeys[i]);
    total += n;
    captures.push({ db: db.index, keys, vals, expired, ttlKeys, ttlAt });
  }
  const hook: CowHook = {
    access(v) {
      if (done.has(v)) return;
      done.add(v);
      copies.set(v, freeze(v));
    },
    touched(v) {
      if (v !== undefined && typeof v !== "string" && !done.has(v)) broken = true;
    },
  };
  let open = total > 0;
  if (open) for (const db of dbs) db.cow = hook;
  const close = () => {
    if (!open) return;
    open = false;
    for (const db of dbs) if (db.cow === hook) db.cow = null;
    done.clear();
    copies.clear();
  };
  const check = () => {
    if (broken) throw new Error("a collection was changed in place without Db.get() during compaction; snapshot discarded");
  };
  function* records(): Generator<JournalRecord> {
    for (const cap of captures) {
      const { db, keys, vals, expired } = cap;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i];
        if (expired.size !== 0 && expired.has(key)) continue;
        const v = vals[i];
        if (typeof v === "string") {
          yield [{ db, argv: ["SET", key, v] }];
          continue;
        }
        check();
        let f = copies.get(v);
        if (f !== undefined) copies.delete(v);
        else {
          f = freeze(v);
          done.add(v);
        }
        yield* frozenRecords(db, key, f);
      }
      for (let i = 0; i < cap.ttlKeys.length; i++) {
        if (cap.ttlAt[i] <= now) continue;
        yield [{ db, argv: ["PEXPIREAT", cap.ttlKeys[i], String(cap.ttlAt[i])] }];
      }
    }
    check();
    close();
  }
  return { records: records(), keys: total, pauseMs: performance.now() - t0, close };
}
