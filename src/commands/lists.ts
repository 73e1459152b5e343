/**
 * List commands (Redis 7.2 t_list.c semantics): LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE
 * LINDEX LSET LINSERT LREM LTRIM LPOS LMOVE RPOPLPUSH LMPOP and the blocking BLPOP BRPOP BLMOVE
 * BRPOPLPUSH BLMPOP.
 *
 * A list value is a {@link List} (src/store/list.ts). Contract:
 * - WRONGTYPE against a key of another type, after the argument checks Redis does first;
 * - a list left empty is deleted (keyspace event "del" after the pop/trim/rem event);
 * - LPOP/RPOP with a count answer an array (a null array for a missing key, an empty array
 *   for a count of 0), without a count a bulk or nil;
 * - moves (LMOVE, RPOPLPUSH) emit the push event on the destination, then the pop event on
 *   the source, as Redis does;
 * - blocking pops try the non-blocking operation and otherwise block (c.block); when a key
 *   they wait on changes they run again, staying blocked (keeping their FIFO place) while
 *   none of their keys holds a list. Inside MULTI/EXEC they answer at once as on timeout
 *   (null array; BLMOVE / BRPOPLPUSH a null bulk). A timeout answers a null array.
 *   They are journaled as their non-blocking effect (LPOP key / RPOP key / LMOVE ... /
 *   RPOPLPUSH ... / LPOP|RPOP key count); LMPOP likewise as LPOP|RPOP key count;
 * - errors: "ERR value is out of range, must be positive", "ERR no such key",
 *   "ERR index out of range", "ERR RANK can't be zero: ...", "ERR COUNT can't be negative",
 *   "ERR MAXLEN can't be negative", "ERR numkeys should be greater than 0",
 *   "ERR count should be greater than 0", "ERR timeout is not a float or out of range",
 *   "ERR timeout is negative", "ERR timeout is out of range", "ERR syntax error".
 */
import { ErrorReply, NULL_ARRAY, OK, type Reply } from "../resp/reply.ts";
import type { BLOCKED, Handler } from "./table.ts";
import type { Client } from "../client.ts";
import { typeOf, type Value } from "../store/keyspace.ts";
import { List } from "../store/list.ts";
import { E_INDEX_RANGE, E_NO_KEY, E_SYNTAX, E_WRONGTYPE, intArg, is } from "./util.ts";
import { LONG_MAX, lookupRead, positiveArg, rangeArg } from "./sets.ts";
import { parseLongDouble } from "./hashes.ts";

type Out = Reply | typeof BLOCKED;
type ListLookup = List | undefined | ErrorReply;

const HEAD = 0;
const TAIL = 1;
type Where = typeof HEAD | typeof TAIL;

function isList(v: Value | undefined): v is Value {
  return v !== undefined && typeOf(v) === "list";
}

function readList(c: Client, key: string): ListLookup {
  const v = lookupRead(c, key);
  if (v === undefined) return undefined;
  if (!isList(v)) return E_WRONGTYPE;
  return v as unknown as List;
}

function writeList(c: Client, key: string): ListLookup {
  const v = c.db.get(key);
  if (v === undefined) return undefined;
  if (!isList(v)) return E_WRONGTYPE;
  return v as unknown as List;
}

/** LEFT / RIGHT argument, or a syntax error. */
function whereArg(s: string): Where | ErrorReply {
  if (is(s, "left")) return HEAD;
  if (is(s, "right")) return TAIL;
  return E_SYNTAX;
}

function pop(l: List, where: Where): string {
  return (where === HEAD ? l.popHead() : l.popTail()) as string;
}

function push(l: List, v: string, where: Where): void {
  if (where === HEAD) l.pushHead(v);
  else l.pushTail(v);
}

/** Pop up to `count` elements from one end, in pop order. */
function popMany(l: List, where: Where, count: number): string[] {
  const n = Math.min(count, l.length);
  const out: string[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = pop(l, where);
  return out;
}

/** listElementsRemoved: pop event, delete when empty, dirty. */
function elementsRemoved(c: Client, key: string, where: Where, l: List, count: number): void {
  c.server.notify("l", where === HEAD ? "lpop" : "rpop", key, c.dbIndex);
  if (l.length === 0) {
    c.db.delete(key);
    c.server.notify("g", "del", key, c.dbIndex);
  } else {
    c.db.touchWrite(key);
  }
  c.server.dirty += count;
}

/**
 * Blocking timeout in seconds (fractions allowed) -> relative milliseconds, 0 = forever;
 * Redis 7.2's getTimeoutFromObjectOrReply checks and messages.
 */
function parseTimeout(s: string): number | ErrorReply {
  const ld = parseLongDouble(s);
  if (ld === null) return new ErrorReply("ERR timeout is not a float or out of range");
  let secs: number;
  if (ld.inf) secs = ld.neg ? -Infinity : Infinity;
  else secs = (ld.neg ? -1 : 1) * Number(ld.m) * 2 ** ld.e;
  const ms = secs * 1000;
  if (ms > 9223372036854775807) return new ErrorReply("ERR timeout is out of range");
  const t = Math.ceil(ms);
  if (t < 0) return new ErrorReply("ERR timeout is negative");
  if (t > 0 && t > 9223372036854775807 - Date.now()) return new ErrorReply("ERR timeout is out of range");
  return t === 0 ? 0 : t;
}

/** LRANGE/LTRIM index normalisation; null when the range is empty. */
function clampRange(start: number, end: number, len: number): [number, number] | null {
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (start > end || start >= len) return null;
  if (end >= len) end = len - 1;
  return [start, end];
}

// ---- push / pop ----------------------------------------------------------------------------

function pushGeneric(c: Client, argv: string[], where: Where, xx: boolean): Reply {
  const key = argv[1];
  let l = writeList(c, key);
  if (l instanceof ErrorReply) return l;
  if (l === undefined) {
    if (xx) return 0;
    l = new List();
    c.db.set(key, l);
  }
  for (let j = 2; j < argv.length; j++) push(l, argv[j], where);
  c.server.dirty += argv.length - 2;
  c.db.touchWrite(key);
  c.server.notify("l", where === HEAD ? "lpush" : "rpush", key, c.dbIndex);
  return l.length;
}

function popGeneric(c: Client, argv: string[], where: Where): Reply {
  const key = argv[1];
  if (argv.length > 3) return new ErrorReply(`ERR wrong number of arguments for '${where === HEAD ? "lpop" : "rpop"}' command`);
  const hasCount = argv.length === 3;
  let count = 0;
  if (hasCount) {
    const n = positiveArg(argv[2]);
    if (n instanceof ErrorReply) return n;
    count = n;
  }
  const l = writeList(c, key);
  if (l === undefined) return hasCount ? NULL_ARRAY : null;
  if (l instanceof ErrorReply) return l;
  if (hasCount && count === 0) return [];
  if (!hasCount) {
    const v = pop(l, where);
    elementsRemoved(c, key, where, l, 1);
    return v;
  }
  const out = popMany(l, where, count);
  elementsRemoved(c, key, where, l, out.length);
  return out;
}

// ---- reads ---------------------------------------------------------------------------------

function llen(c: Client, argv: string[]): Reply {
  const l = readList(c, argv[1]);
  if (l === undefined) return 0;
  if (l instanceof ErrorReply) return l;
  return l.length;
}

function lrange(c: Client, argv: string[]): Reply {
  const start = intArg(argv[2]);
  if (start instanceof ErrorReply) return start;
  const end = intArg(argv[3]);
  if (end instanceof ErrorReply) return end;
  const l = readList(c, argv[1]);
  if (l === undefined) return [];
  if (l instanceof ErrorReply) return l;
  const r = clampRange(start, end, l.length);
  return r === null ? [] : l.range(r[0], r[1]);
}

function lindex(c: Client, argv: string[]): Reply {
  const l = readList(c, argv[1]);
  if (l === undefined) return null;
  if (l instanceof ErrorReply) return l;
  let i = intArg(argv[2]);
  if (i instanceof ErrorReply) return i;
  if (i < 0) i = l.length + i;
  return l.get(i) ?? null;
}

function lpos(c: Client, argv: string[]): Reply {
  const ele = argv[2];
  let rank = 1;
  let count = -1;
  let maxlen = 0;
  for (let j = 3; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    if (is(argv[j], "rank") && more > 0) {
      j++;
      const r = rangeArg(argv[j], -LONG_MAX, LONG_MAX, null);
      if (r instanceof ErrorReply) return r;
      if (r === 0n) {
        return new ErrorReply(
          "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
        );
      }
      rank = r > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : r < -BigInt(Number.MAX_SAFE_INTEGER) ? -Number.MAX_SAFE_INTEGER : Number(r);
    } else if (is(argv[j], "count") && more > 0) {
      j++;
      const n = positiveArg(argv[j], "COUNT can't be negative");
      if (n instanceof ErrorReply) return n;
      count = n;
    } else if (is(argv[j], "maxlen") && more > 0) {
      j++;
      const n = positiveArg(argv[j], "MAXLEN can't be negative");
      if (n instanceof ErrorReply) return n;
      maxlen = n;
    } else {
      return E_SYNTAX;
    }
  }
  const fromTail = rank < 0;
  if (fromTail) rank = -rank;
  const l = readList(c, argv[1]);
  if (l === undefined) return count !== -1 ? [] : null;
  if (l instanceof ErrorReply) return l;
  const len = l.length;
  const out: number[] = [];
  let matches = 0;
  for (let index = 0; index < len && (maxlen === 0 || index < maxlen); index++) {
    const pos = fromTail ? len - index - 1 : index;
    if (l.get(pos) !== ele) continue;
    matches++;
    if (matches >= rank) {
      if (count === -1) return pos;
      out.push(pos);
      if (count !== 0 && matches - rank + 1 >= count) break;
    }
  }
  return count === -1 ? null : out;
}

// ---- in-place edits ------------------------------------------------------------------------

function lset(c: Client, argv: string[]): Reply {
  const key = argv[1];
  const l = writeList(c, key);
  if (l === undefined) return E_NO_KEY;
  if (l instanceof ErrorReply) return l;
  let i = intArg(argv[2]);
  if (i instanceof ErrorReply) return i;
  if (i < 0) i = l.length + i;
  if (i < 0 || i >= l.length) return E_INDEX_RANGE;
  l.set(i, argv[3]);
  c.db.touchWrite(key);
  c.server.notify("l", "lset", key, c.dbIndex);
  c.server.dirty++;
  return OK;
}

function linsert(c: Client, argv: string[]): Reply {
  const [, key, pos, pivot, ele] = argv;
  let after: boolean;
  if (is(pos, "after")) after = true;
  else if (is(pos, "before")) after = false;
  else return E_SYNTAX;
  const l = writeList(c, key);
  if (l === undefined) return 0;
  if (l instanceof ErrorReply) return l;
  const i = l.indexOf(pivot);
  if (i < 0) return -1;
  l.insertAt(after ? i + 1 : i, ele);
  c.db.touchWrite(key);
  c.server.notify("l", "linsert", key, c.dbIndex);
  c.server.dirty++;
  return l.length;
}

function lrem(c: Client, argv: string[]): Reply {
  const key = argv[1];
  const n = intArg(argv[2]);
  if (n instanceof ErrorReply) return n;
  const l = writeList(c, key);
  if (l === undefined) return 0;
  if (l instanceof ErrorReply) return l;
  const removed = l.removeWhere(argv[3], Math.abs(n), n < 0);
  if (removed > 0) {
    c.server.notify("l", "lrem", key, c.dbIndex);
    if (l.length === 0) {
      c.db.delete(key);
      c.server.notify("g", "del", key, c.dbIndex);
    } else {
      c.db.touchWrite(key);
    }
    c.server.dirty += removed;
  }
  return removed;
}

function ltrim(c: Client, argv: string[]): Reply {
  const key = argv[1];
  const start = intArg(argv[2]);
  if (start instanceof ErrorReply) return start;
  const end = intArg(argv[3]);
  if (end instanceof ErrorReply) return end;
  const l = writeList(c, key);
  if (l === undefined) return OK;
  if (l instanceof ErrorReply) return l;
  const len = l.length;
  const r = clampRange(start, end, len);
  let removed: number;
  if (r === null) {
    removed = len;
    l.trim(1, 0);
  } else {
    removed = len - (r[1] - r[0] + 1);
    l.trim(r[0], r[1]);
  }
  c.server.notify("l", "ltrim", key, c.dbIndex);
  if (l.length === 0) {
    c.db.delete(key);
    c.server.notify("g", "del", key, c.dbIndex);
  } else {
    c.db.touchWrite(key);
  }
  c.server.dirty += removed;
  return OK;
}

// ---- moves ---------------------------------------------------------------------------------

/** LMOVE core once the directions are parsed; null when the source is missing. */
function lmoveGeneric(c: Client, src: string, dst: string, from: Where, to: Where): Reply {
  const sl = writeList(c, src);
  if (sl === undefined) return null;
  if (sl instanceof ErrorReply) return sl;
  let dl = writeList(c, dst);
  if (dl instanceof ErrorReply) return dl;
  const value = pop(sl, from);
  if (dl === undefined) {
    dl = new List();
    c.db.set(dst, dl);
  }
  push(dl, value, to);
  c.db.touchWrite(dst);
  c.server.notify("l", to === HEAD ? "lpush" : "rpush", dst, c.dbIndex);
  c.server.notify("l", from === HEAD ? "lpop" : "rpop", src, c.dbIndex);
  if (sl.length === 0) {
    c.db.delete(src);
    c.server.notify("g", "del", src, c.dbIndex);
  } else {
    c.db.touchWrite(src);
  }
  c.server.dirty++;
  return value;
}

function lmove(c: Client, argv: string[]): Reply {
  const from = whereArg(argv[3]);
  if (from instanceof ErrorReply) return from;
  const to = whereArg(argv[4]);
  if (to instanceof ErrorReply) return to;
  return lmoveGeneric(c, argv[1], argv[2], from, to);
}

function blmoveGeneric(c: Client, argv: string[], src: string, dst: string, from: Where, to: Where, timeoutArg: string, journal: string[]): Out {
  const t = parseTimeout(timeoutArg);
  if (t instanceof ErrorReply) return t;
  const v = c.db.get(src);
  const retry = c.blocked !== null;
  if (v !== undefined && !isList(v)) {
    // A retry woken by a key that is not a list keeps waiting, as Redis only serves lists.
    if (retry) return c.block(argv, [src], t, NULL_ARRAY);
    return E_WRONGTYPE;
  }
  if (v === undefined) {
    if (c.inExec) return null;
    return c.block(argv, [src], t, NULL_ARRAY);
  }
  const r = lmoveGeneric(c, src, dst, from, to);
  if (!(r instanceof ErrorReply)) c.propagate = [journal];
  return r;
}

function blmove(c: Client, argv: string[]): Out {
  const from = whereArg(argv[3]);
  if (from instanceof ErrorReply) return from;
  const to = whereArg(argv[4]);
  if (to instanceof ErrorReply) return to;
  return blmoveGeneric(c, argv, argv[1], argv[2], from, to, argv[5], ["LMOVE", argv[1], argv[2], argv[3], argv[4]]);
}

function brpoplpush(c: Client, argv: string[]): Out {
  return blmoveGeneric(c, argv, argv[1], argv[2], TAIL, HEAD, argv[3], ["RPOPLPUSH", argv[1], argv[2]]);
}

// ---- multi-key pops ------------------------------------------------------------------------

/** Pop from the first non-empty list among keys: [key, value] or [key, [values]] (count form). */
function popFirst(c: Client, keys: string[], where: Where, count: number): Reply | undefined {
  for (const key of keys) {
    const l = writeList(c, key);
    if (l === undefined) continue;
    if (l instanceof ErrorReply) return l;
    if (l.length === 0) continue;
    const cmd = where === HEAD ? "LPOP" : "RPOP";
    if (count === -1) {
      const v = pop(l, where);
      elementsRemoved(c, key, where, l, 1);
      c.propagate = [[cmd, key]];
      return [key, v];
    }
    const out = popMany(l, where, count);
    elementsRemoved(c, key, where, l, out.length);
    c.propagate = [[cmd, key, String(out.length)]];
    return [key, out];
  }
  return undefined;
}

function anyList(c: Client, keys: string[]): boolean {
  for (const k of keys) if (isList(c.db.get(k))) return true;
  return false;
}

function bpop(c: Client, argv: string[], where: Where): Out {
  const keys = argv.slice(1, -1);
  const t = parseTimeout(argv[argv.length - 1]);
  if (t instanceof ErrorReply) return t;
  if (c.blocked !== null && !anyList(c, keys)) return c.block(argv, keys, t, NULL_ARRAY);
  const r = popFirst(c, keys, where, -1);
  if (r !== undefined) return r;
  return c.block(argv, keys, t, NULL_ARRAY);
}

function mpopGeneric(c: Client, argv: string[], numkeysIdx: number, block: boolean): Out {
  const nk = rangeArg(argv[numkeysIdx], 1n, LONG_MAX, "numkeys should be greater than 0");
  if (nk instanceof ErrorReply) return nk;
  const whereIdx = BigInt(numkeysIdx) + nk + 1n;
  if (whereIdx >= BigInt(argv.length)) return E_SYNTAX;
  const wi = Number(whereIdx);
  const where = whereArg(argv[wi]);
  if (where instanceof ErrorReply) return where;
  let count = -1;
  for (let j = wi + 1; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    if (count === -1 && is(argv[j], "count") && more > 0) {
      j++;
      const n = rangeArg(argv[j], 1n, LONG_MAX, "count should be greater than 0");
      if (n instanceof ErrorReply) return n;
      count = n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
    } else {
      return E_SYNTAX;
    }
  }
  if (count === -1) count = 1;
  const keys = argv.slice(numkeysIdx + 1, wi);
  if (!block) {
    const r = popFirst(c, keys, where, count);
    return r === undefined ? NULL_ARRAY : r;
  }
  const t = parseTimeout(argv[1]);
  if (t instanceof ErrorReply) return t;
  if (c.blocked !== null && !anyList(c, keys)) return c.block(argv, keys, t, NULL_ARRAY);
  const r = popFirst(c, keys, where, count);
  if (r !== undefined) return r;
  return c.block(argv, keys, t, NULL_ARRAY);
}

export const handlers: Record<string, Handler> = {
  lpush: (c, argv) => pushGeneric(c, argv, HEAD, false),
  rpush: (c, argv) => pushGeneric(c, argv, TAIL, false),
  lpushx: (c, argv) => pushGeneric(c, argv, HEAD, true),
  rpushx: (c, argv) => pushGeneric(c, argv, TAIL, true),
  lpop: (c, argv) => popGeneric(c, argv, HEAD),
  rpop: (c, argv) => popGeneric(c, argv, TAIL),
  llen,
  lrange,
  lindex,
  lset,
  linsert,
  lrem,
  ltrim,
  lpos,
  lmove,
  rpoplpush: (c, argv) => lmoveGeneric(c, argv[1], argv[2], TAIL, HEAD),
  lmpop: (c, argv) => mpopGeneric(c, argv, 1, false),
  blpop: (c, argv) => bpop(c, argv, HEAD),
  brpop: (c, argv) => bpop(c, argv, TAIL),
  blmove,
  brpoplpush,
  blmpop: (c, argv) => mpopGeneric(c, argv, 2, true),
};
