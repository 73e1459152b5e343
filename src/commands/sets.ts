/**
 * Set commands (Redis 7.2 t_set.c semantics): SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD
 * SPOP SRANDMEMBER SMOVE SINTER SINTERSTORE SINTERCARD SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN.
 *
 * A set value is a Set<string> of binary strings. Contract:
 * - every command against a key of another type answers WRONGTYPE (after the argument checks
 *   Redis does first, e.g. SPOP's count, SINTERCARD's numkeys/LIMIT);
 * - a set left empty is deleted (keyspace event "del"); the *STORE variants replace the
 *   destination (dropping its TTL) or delete it and answer 0 when the result is empty;
 * - replies that Redis sends as sets (SMEMBERS, SINTER, SUNION, SDIFF, SPOP with a count) are
 *   RESP3 sets; SRANDMEMBER with a count is always an array;
 * - element order: insertion order, except that a small all-integer set (what Redis keeps as
 *   an intset) lists its members in numeric order, as Redis does;
 * - SPOP is journaled as SREM of the popped members (or DEL when it empties the set);
 * - errors: "ERR value is out of range, must be positive" (SPOP count),
 *   "ERR numkeys should be greater than 0", "ERR Number of keys can't be greater than number of
 *   args", "ERR LIMIT can't be negative", "ERR invalid cursor", "ERR syntax error".
 *
 * Also exports helpers shared with hashes.ts / lists.ts: read lookups that count keyspace
 * hits/misses, uniform random picks over a Set/Map, and the HSCAN/SSCAN engine.
 */
import { ErrorReply, SetReply, type Reply } from "../resp/reply.ts";
import type { Handler } from "./table.ts";
import type { Client } from "../client.ts";
import type { Value } from "../store/keyspace.ts";
import { E_NOT_INT, E_SYNTAX, E_WRONGTYPE, is, parseInt64 } from "./util.ts";
import { globMatch } from "../acl/glob.ts";

// ---- shared helpers ------------------------------------------------------------------------

/** A lookup for reading: counts keyspace hits and misses as Redis's lookupKeyRead does. */
export function lookupRead(c: Client, key: string): Value | undefined {
  const v = c.db.get(key);
  if (v === undefined) c.server.stats.keyspaceMisses++;
  else c.server.stats.keyspaceHits++;
  return v;
}

/** Redis's LONG_MAX (64-bit), for range checks on integer arguments. */
export const LONG_MAX = 9223372036854775807n;

/**
 * Parse a signed 64-bit integer argument into a bigint (null when not an integer).
 * Used where the exact range matters (-LONG_MAX checks, huge counts).
 */
export function bigArg(s: string): bigint | null {
  const n = parseInt64(s);
  if (n === null) return null;
  return typeof n === "bigint" ? n : BigInt(n);
}

/** getRangeLongFromObjectOrReply: an integer in [min, max], with Redis's messages. */
export function rangeArg(s: string, min: bigint, max: bigint, msg: string | null): bigint | ErrorReply {
  const n = bigArg(s);
  if (n === null) return msg !== null ? new ErrorReply("ERR " + msg) : E_NOT_INT;
  if (n < min || n > max) {
    return new ErrorReply("ERR " + (msg ?? `value is out of range, value must between ${min} and ${max}`));
  }
  return n;
}

/** getPositiveLongFromObjectOrReply: 0..LONG_MAX, the message also used for non-integers. */
export function positiveArg(s: string, msg = "value is out of range, must be positive"): number | ErrorReply {
  const n = rangeArg(s, 0n, LONG_MAX, msg);
  if (n instanceof ErrorReply) return n;
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

/** Cached key arrays for uniform random picks over big Sets/Maps (invalidated on change). */
const pools = new WeakMap<object, string[]>();

/** Forget the random-pick cache of a collection (call after any in-place change). */
export function invalidatePool(coll: Set<string> | Map<string, string>): void {
  pools.delete(coll);
}

/** The collection's keys as an array usable for random indexing. */
export function poolOf(coll: Set<string> | Map<string, string>): string[] {
  let arr = pools.get(coll);
  if (arr === undefined || arr.length !== coll.size) {
    arr = [...coll.keys()];
    pools.set(coll, arr);
  }
  return arr;
}

export function randInt(n: number): number {
  return Math.floor(Math.random() * n);
}

/** One uniformly random key of a non-empty collection. */
export function randomKey(coll: Set<string> | Map<string, string>): string {
  const arr = poolOf(coll);
  return arr[randInt(arr.length)];
}

/** `count` distinct random keys (count < size), in random order. */
export function randomDistinct(coll: Set<string> | Map<string, string>, count: number): string[] {
  const arr = poolOf(coll);
  if (count * 3 > arr.length) {
    const copy = arr.slice();
    for (let i = 0; i < count; i++) {
      const j = i + randInt(copy.length - i);
      const t = copy[i];
      copy[i] = copy[j];
      copy[j] = t;
    }
    copy.length = count;
    return copy;
  }
  const seen = new Set<number>();
  const out: string[] = [];
  while (out.length < count) {
    const j = randInt(arr.length);
    if (seen.has(j)) continue;
    seen.add(j);
    out.push(arr[j]);
  }
  return out;
}

/** Remove and return a random member of a non-empty set, keeping the pick cache exact. */
function popRandom(set: Set<string>): string {
  const arr = poolOf(set);
  const i = randInt(arr.length);
  const m = arr[i];
  arr[i] = arr[arr.length - 1];
  arr.pop();
  set.delete(m);
  return m;
}

/** SCAN cursor as Redis's string2ull accepts it; the canonical decimal, or null. */
export function parseCursor(s: string): string | null {
  const m = /^\s*\+?([0-9]+)$/.exec(s);
  if (m === null) {
    if (s === "-0") return "0";
    return null;
  }
  const b = BigInt(m[1]);
  if (b > 18446744073709551615n) return null;
  return b.toString();
}

function canonicalInt(s: string): boolean {
  return parseInt64(s) !== null;
}

/**
 * HSCAN / SSCAN after the key was found: parse COUNT / MATCH, then walk. Small collections
 * (Redis's listpack / intset encodings) are returned whole with cursor 0, as Redis does.
 */
export function scanCollection(
  c: Client,
  argv: string[],
  coll: Set<string> | Map<string, string>,
  cursor: string,
  small: boolean,
  order: () => Iterable<string>,
): Reply {
  let count = 10;
  let pattern: string | null = null;
  for (let i = 3; i < argv.length; i++) {
    const left = argv.length - i;
    if (is(argv[i], "count") && left >= 2) {
      const n = parseInt64(argv[i + 1]);
      if (n === null) return E_NOT_INT;
      if (n < 1) return E_SYNTAX;
      count = typeof n === "bigint" ? Number.MAX_SAFE_INTEGER : n;
      i++;
    } else if (is(argv[i], "match") && left >= 2) {
      pattern = argv[i + 1];
      if (pattern === "*") pattern = null;
      i++;
    } else {
      return E_SYNTAX;
    }
  }
  let keys: string[];
  let next: string;
  if (small) {
    keys = [...order()];
    next = "0";
  } else {
    const r = c.server.scanCursors.scan(coll, () => coll.keys(), cursor, count);
    keys = r.items;
    next = r.next;
  }
  const out: Reply[] = [];
  const map = coll instanceof Map ? coll : null;
  for (const k of keys) {
    if (pattern !== null && !globMatch(pattern, k)) continue;
    out.push(k);
    if (map !== null) out.push(map.get(k) ?? "");
  }
  return [next, out];
}

// ---- set helpers ---------------------------------------------------------------------------

/** Would Redis keep this set as an intset (all canonical integers, small enough)? */
function intsetLike(c: Client, set: Set<string>): boolean {
  if (set.size > c.server.config.num("set-max-intset-entries")) return false;
  for (const m of set) if (!canonicalInt(m)) return false;
  return true;
}

function cmpInt(a: string, b: string): number {
  const x = parseInt64(a)!;
  const y = parseInt64(b)!;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Members in the order Redis would list them (numeric for intset-like sets). */
export function orderedMembers(c: Client, set: Set<string>): string[] {
  const arr = [...set];
  if (set.size > 1 && intsetLike(c, set)) arr.sort(cmpInt);
  return arr;
}

/**
 * Add members the way Redis 7.2's encodings order them: while a set holds only integers
 * (an intset) it is kept in numeric order; when a non-integer arrives, the integers so far
 * keep that order and later members follow in insertion order (intset -> listpack).
 * Adds members[from..]; returns how many were new.
 */
function addMembers(c: Client, set: Set<string>, members: readonly string[], from = 0): number {
  let intPhase: boolean | null = null; // computed lazily: only matters for a non-integer
  let added = 0;
  for (let i = from; i < members.length; i++) {
    const m = members[i];
    if (set.has(m)) continue;
    if (!canonicalInt(m)) {
      if (intPhase === null) intPhase = set.size <= c.server.config.num("set-max-intset-entries") && allInts(set);
      if (intPhase && set.size > 1) {
        const sorted = [...set].sort(cmpInt);
        set.clear();
        for (const x of sorted) set.add(x);
      }
      intPhase = false;
    }
    set.add(m);
    added++;
  }
  if (added > 0) invalidatePool(set);
  return added;
}

function allInts(set: Set<string>): boolean {
  for (const m of set) if (!canonicalInt(m)) return false;
  return true;
}

function smallSet(c: Client, set: Set<string>): boolean {
  if (intsetLike(c, set)) return true;
  if (set.size > c.server.config.num("set-max-listpack-entries")) return false;
  const max = c.server.config.num("set-max-listpack-value");
  for (const m of set) if (m.length > max) return false;
  return true;
}

type SetLookup = Set<string> | undefined | ErrorReply;

function readSet(c: Client, key: string): SetLookup {
  const v = lookupRead(c, key);
  if (v === undefined) return undefined;
  if (!(v instanceof Set)) return E_WRONGTYPE;
  return v;
}

function writeSet(c: Client, key: string): SetLookup {
  const v = c.db.get(key);
  if (v === undefined) return undefined;
  if (!(v instanceof Set)) return E_WRONGTYPE;
  return v;
}

/** After removing members from `key`: delete it (and notify) when it became empty. */
function dropIfEmpty(c: Client, key: string, set: Set<string>): void {
  if (set.size === 0) {
    c.db.delete(key);
    c.server.notify("g", "del", key, c.dbIndex);
  } else {
    c.db.touchWrite(key);
  }
}

/** Store a computed set into dst (or delete dst when empty), as the *STORE commands do. */
function storeResult(c: Client, dst: string, result: Set<string>, event: string): Reply {
  if (result.size > 0) {
    c.db.set(dst, result);
    c.server.notify("s", event, dst, c.dbIndex);
    c.server.dirty++;
    return result.size;
  }
  if (c.db.delete(dst)) {
    c.server.dirty++;
    c.server.notify("g", "del", dst, c.dbIndex);
  }
  return 0;
}

// ---- commands ------------------------------------------------------------------------------

function sadd(c: Client, argv: string[]): Reply {
  const key = argv[1];
  let set = writeSet(c, key);
  if (set instanceof ErrorReply) return set;
  const created = set === undefined;
  if (set === undefined) set = new Set();
  const added = addMembers(c, set, argv, 2);
  if (created) c.db.set(key, set);
  else if (added > 0) c.db.touchWrite(key);
  if (added > 0) {
    c.server.notify("s", "sadd", key, c.dbIndex);
    c.server.dirty += added;
  }
  return added;
}

function srem(c: Client, argv: string[]): Reply {
  const key = argv[1];
  const set = writeSet(c, key);
  if (set === undefined) return 0;
  if (set instanceof ErrorReply) return set;
  let removed = 0;
  for (let i = 2; i < argv.length; i++) {
    if (set.delete(argv[i])) {
      removed++;
      if (set.size === 0) break;
    }
  }
  if (removed > 0) {
    invalidatePool(set);
    c.server.notify("s", "srem", key, c.dbIndex);
    dropIfEmpty(c, key, set);
    c.server.dirty += removed;
  }
  return removed;
}

function smove(c: Client, argv: string[]): Reply {
  const [, src, dst, member] = argv;
  const sv = c.db.get(src);
  const dv = c.db.get(dst);
  if (sv === undefined) return 0;
  if (!(sv instanceof Set)) return E_WRONGTYPE;
  if (dv !== undefined && !(dv instanceof Set)) return E_WRONGTYPE;
  if (sv === dv) return sv.has(member) ? 1 : 0;
  if (!sv.delete(member)) return 0;
  invalidatePool(sv);
  c.server.notify("s", "srem", src, c.dbIndex);
  dropIfEmpty(c, src, sv);
  let dset = dv as Set<string> | undefined;
  if (dset === undefined) {
    dset = new Set();
    c.db.set(dst, dset);
  }
  c.server.dirty++;
  if (addMembers(c, dset, [member]) > 0) {
    c.server.dirty++;
    c.db.touchWrite(dst);
    c.server.notify("s", "sadd", dst, c.dbIndex);
  }
  return 1;
}

function smembers(c: Client, argv: string[]): Reply {
  const set = readSet(c, argv[1]);
  if (set === undefined) return new SetReply([]);
  if (set instanceof ErrorReply) return set;
  return new SetReply(orderedMembers(c, set));
}

function sismember(c: Client, argv: string[]): Reply {
  const set = readSet(c, argv[1]);
  if (set === undefined) return 0;
  if (set instanceof ErrorReply) return set;
  return set.has(argv[2]) ? 1 : 0;
}

function smismember(c: Client, argv: string[]): Reply {
  const set = readSet(c, argv[1]);
  if (set instanceof ErrorReply) return set;
  const out: Reply[] = [];
  for (let i = 2; i < argv.length; i++) out.push(set !== undefined && set.has(argv[i]) ? 1 : 0);
  return out;
}

function scard(c: Client, argv: string[]): Reply {
  const set = readSet(c, argv[1]);
  if (set === undefined) return 0;
  if (set instanceof ErrorReply) return set;
  return set.size;
}

function spop(c: Client, argv: string[]): Reply {
  const key = argv[1];
  if (argv.length > 3) return E_SYNTAX;
  if (argv.length === 3) return spopCount(c, key, argv[2]);
  const set = writeSet(c, key);
  if (set === undefined) return null;
  if (set instanceof ErrorReply) return set;
  const m = popRandom(set);
  c.server.notify("s", "spop", key, c.dbIndex);
  c.propagate = [["SREM", key, m]];
  dropIfEmpty(c, key, set);
  c.server.dirty++;
  return m;
}

function spopCount(c: Client, key: string, arg: string): Reply {
  const count = positiveArg(arg);
  if (count instanceof ErrorReply) return count;
  const set = writeSet(c, key);
  if (set === undefined) return new SetReply([]);
  if (set instanceof ErrorReply) return set;
  if (count === 0) return new SetReply([]);
  const size = set.size;
  c.server.notify("s", "spop", key, c.dbIndex);
  if (count >= size) {
    const all = orderedMembers(c, set);
    c.server.dirty += size;
    c.db.delete(key);
    c.server.notify("g", "del", key, c.dbIndex);
    c.propagate = [["DEL", key]];
    return new SetReply(all);
  }
  c.server.dirty += count;
  const popped: string[] = [];
  for (let i = 0; i < count; i++) popped.push(popRandom(set));
  const prop: string[][] = [];
  for (let i = 0; i < popped.length; i += 1024) prop.push(["SREM", key, ...popped.slice(i, i + 1024)]);
  c.propagate = prop;
  c.db.touchWrite(key);
  return new SetReply(popped);
}

function srandmember(c: Client, argv: string[]): Reply {
  const key = argv[1];
  if (argv.length > 3) return E_SYNTAX;
  if (argv.length === 2) {
    const set = readSet(c, key);
    if (set === undefined) return null;
    if (set instanceof ErrorReply) return set;
    return randomKey(set);
  }
  const l = rangeArg(argv[2], -LONG_MAX, LONG_MAX, null);
  if (l instanceof ErrorReply) return l;
  const set = readSet(c, key);
  if (set === undefined) return [];
  if (set instanceof ErrorReply) return set;
  if (l === 0n) return [];
  if (l < 0n) {
    const n = Number(-l);
    const arr = poolOf(set);
    const out: Reply[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = arr[randInt(arr.length)];
    return out;
  }
  const count = Number(l);
  if (count >= set.size) return orderedMembers(c, set);
  return randomDistinct(set, count);
}

/** Look up all keys for SINTER/SUNION/SDIFF; WRONGTYPE wins over missing keys. */
function gatherSets(c: Client, keys: string[]): (Set<string> | undefined)[] | ErrorReply {
  const out: (Set<string> | undefined)[] = [];
  for (const k of keys) {
    const s = readSet(c, k);
    if (s instanceof ErrorReply) return s;
    out.push(s);
  }
  return out;
}

/** Intersection; `limit` > 0 stops counting there (SINTERCARD). */
function intersect(c: Client, sets: Set<string>[], limit = 0): string[] {
  const sorted = sets.slice().sort((a, b) => a.size - b.size);
  const first = sorted[0];
  const out: string[] = [];
  for (const m of orderedMembers(c, first)) {
    let all = true;
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i] !== first && !sorted[i].has(m)) {
        all = false;
        break;
      }
    }
    if (all) {
      out.push(m);
      if (limit > 0 && out.length >= limit) break;
    }
  }
  return out;
}

function sinterGeneric(c: Client, keys: string[], dst: string | null): Reply {
  const sets = gatherSets(c, keys);
  if (sets instanceof ErrorReply) return sets;
  if (sets.some((s) => s === undefined)) {
    if (dst !== null) return storeResult(c, dst, new Set(), "sinterstore");
    return new SetReply([]);
  }
  const result = intersect(c, sets as Set<string>[]);
  if (dst !== null) {
    const out = new Set<string>();
    addMembers(c, out, result);
    return storeResult(c, dst, out, "sinterstore");
  }
  return new SetReply(result);
}

function sunionDiffGeneric(c: Client, keys: string[], dst: string | null, diff: boolean): Reply {
  const sets = gatherSets(c, keys);
  if (sets instanceof ErrorReply) return sets;
  const result = new Set<string>();
  if (!diff) {
    for (const s of sets) if (s !== undefined) addMembers(c, result, orderedMembers(c, s));
  } else if (sets[0] !== undefined) {
    const first = sets[0];
    const others = sets.slice(1).filter((s): s is Set<string> => s !== undefined);
    if (others.includes(first)) {
      // The first set minus itself: empty.
    } else {
      const kept: string[] = [];
      for (const m of orderedMembers(c, first)) {
        let keep = true;
        for (const o of others) {
          if (o.has(m)) {
            keep = false;
            break;
          }
        }
        if (keep) kept.push(m);
      }
      addMembers(c, result, kept);
    }
  }
  if (dst !== null) return storeResult(c, dst, result, diff ? "sdiffstore" : "sunionstore");
  return new SetReply(orderedMembers(c, result));
}

function sintercard(c: Client, argv: string[]): Reply {
  const nk = rangeArg(argv[1], 1n, LONG_MAX, "numkeys should be greater than 0");
  if (nk instanceof ErrorReply) return nk;
  if (nk > BigInt(argv.length - 2)) return new ErrorReply("ERR Number of keys can't be greater than number of args");
  const numkeys = Number(nk);
  let limit = 0;
  for (let j = 2 + numkeys; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    if (is(argv[j], "limit") && more > 0) {
      j++;
      const l = positiveArg(argv[j], "LIMIT can't be negative");
      if (l instanceof ErrorReply) return l;
      limit = l;
    } else {
      return E_SYNTAX;
    }
  }
  const sets = gatherSets(c, argv.slice(2, 2 + numkeys));
  if (sets instanceof ErrorReply) return sets;
  if (sets.some((s) => s === undefined)) return 0;
  const ss = sets as Set<string>[];
  // Count without building the members list.
  const sorted = ss.slice().sort((a, b) => a.size - b.size);
  let n = 0;
  for (const m of sorted[0]) {
    let all = true;
    for (let i = 1; i < sorted.length; i++) {
      if (!sorted[i].has(m)) {
        all = false;
        break;
      }
    }
    if (all) {
      n++;
      if (limit > 0 && n >= limit) break;
    }
  }
  return n;
}

function sscan(c: Client, argv: string[]): Reply {
  const cursor = parseCursor(argv[2]);
  if (cursor === null) return new ErrorReply("ERR invalid cursor");
  const set = readSet(c, argv[1]);
  if (set === undefined) return ["0", []];
  if (set instanceof ErrorReply) return set;
  const small = smallSet(c, set);
  return scanCollection(c, argv, set, cursor, small, () => orderedMembers(c, set));
}

export const handlers: Record<string, Handler> = {
  sadd,
  srem,
  smove,
  smembers,
  sismember,
  smismember,
  scard,
  spop,
  srandmember,
  sinter: (c, argv) => sinterGeneric(c, argv.slice(1), null),
  sinterstore: (c, argv) => sinterGeneric(c, argv.slice(2), argv[1]),
  sintercard,
  sunion: (c, argv) => sunionDiffGeneric(c, argv.slice(1), null, false),
  sunionstore: (c, argv) => sunionDiffGeneric(c, argv.slice(2), argv[1], false),
  sdiff: (c, argv) => sunionDiffGeneric(c, argv.slice(1), null, true),
  sdiffstore: (c, argv) => sunionDiffGeneric(c, argv.slice(2), argv[1], true),
  sscan,
};
