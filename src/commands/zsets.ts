/**
 * Sorted set commands (Redis 7.2 semantics): ZADD ZINCRBY ZREM ZCARD ZSCORE ZMSCORE ZRANK
 * ZREVRANK ZCOUNT ZLEXCOUNT, the ZRANGE family (ZRANGE ZRANGESTORE ZREVRANGE
 * Z[REV]RANGEBYSCORE Z[REV]RANGEBYLEX), ZREMRANGEBY{RANK,SCORE,LEX}, ZPOPMIN/ZPOPMAX,
 * BZPOPMIN/BZPOPMAX, ZMPOP/BZMPOP, ZRANDMEMBER, ZUNION/ZINTER/ZDIFF[STORE], ZINTERCARD, ZSCAN.
 *
 * Replies: scores are `Double`s (RESP2 bulk strings, RESP3 doubles); WITHSCORES replies are
 * flat [m, s, m, s] in RESP2 and [[m, s], ...] in RESP3, as Redis 7.2 answers.
 * Errors, in Redis's order of checks: option parsing ("ERR syntax error", the ZADD option
 * conflicts, "ERR value is not a valid float", "ERR min or max is not a float",
 * "ERR min or max not valid string range item", "ERR value is not an integer or out of range"),
 * then the key type (WRONGTYPE), then "ERR resulting score is not a number (NaN)".
 * Journal: ZADD INCR / ZINCRBY are journaled as ZADD key <resulting score> member; blocking
 * pops and ZMPOP as ZPOPMIN/ZPOPMAX key [count]. Empty sorted sets are deleted.
 * Keyspace events (class 'z'): zadd zincr zrem zremrangebyrank zremrangebyscore
 * zremrangebylex zpopmin zpopmax zrangestore zunionstore zinterstore zdiffstore, plus the
 * generic "del" when a key is emptied or a store target is removed.
 */
import { Double, ErrorReply, NULL_ARRAY, formatDouble, type Reply } from "../resp/reply.ts";
import { BLOCKED, type Handler } from "./table.ts";
import type { Client } from "../client.ts";
import type { Value } from "../store/keyspace.ts";
import { ZSet, type LexBound, type LexRange, type ScoreRange } from "../store/zset.ts";
import { E_NOT_INT, E_SYNTAX, E_WRONGTYPE, is, parseInt64 } from "./util.ts";
import { globMatch } from "../acl/glob.ts";
import { ScanCursors } from "../store/keyspace.ts";

const E_NOT_FLOAT = new ErrorReply("ERR value is not a valid float");
const E_NAN = new ErrorReply("ERR resulting score is not a number (NaN)");
const E_MINMAX_FLOAT = new ErrorReply("ERR min or max is not a float");
const E_MINMAX_LEX = new ErrorReply("ERR min or max not valid string range item");
const E_POSITIVE = new ErrorReply("ERR value is out of range, must be positive");

// ---- number parsing (C strtod semantics) -------------------------------------------------

const DEC_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEX_RE = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/;
const INF_RE = /^([+-]?)(?:inf|infinity)$/i;
const NAN_RE = /^[+-]?nan(?:\([0-9A-Za-z_]*\))?$/i;

function isSpace(ch: number): boolean {
  return ch === 32 || (ch >= 9 && ch <= 13);
}

/**
 * C strtod over a whole string (leading white space allowed, as strtod does). Returns null
 * when it does not all parse; `erange` as glibc sets ERANGE (overflow, underflow to zero or
 * a subnormal result); `under0` when a non-zero number underflowed to zero.
 */
export function cStrtod(s: string): { v: number; overflow: boolean; under0: boolean; subnormal: boolean; spaced: boolean } | null {
  let i = 0;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  const body = i === 0 ? s : s.slice(i);
  const spaced = i > 0;
  if (body.length === 0) return null;
  let v: number;
  let nonzero = false;
  let literalInf = false;
  if (DEC_RE.test(body)) {
    v = Number(body);
    nonzero = /[1-9]/.test(body.replace(/[eE].*$/, ""));
  } else if (INF_RE.test(body)) {
    v = body[0] === "-" ? -Infinity : Infinity;
    literalInf = true;
  } else if (NAN_RE.test(body)) {
    v = NaN;
  } else {
    const m = HEX_RE.exec(body);
    if (m === null) return null;
    const int = m[2];
    const frac = m[3] ?? "";
    if (int.length + frac.length === 0) return null;
    let mant = 0;
    for (const ch of int + frac) mant = mant * 16 + parseInt(ch, 16);
    const exp = (m[4] ? Number(m[4]) : 0) - 4 * frac.length;
    v = mant * Math.pow(2, exp);
    if (!Number.isFinite(v) && mant !== 0 && exp < 0) v = (mant * Math.pow(2, exp + 64)) / Math.pow(2, 64);
    if (m[1] === "-") v = -v;
    nonzero = mant !== 0;
  }
  const overflow = !literalInf && !Number.isNaN(v) && !Number.isFinite(v);
  const under0 = nonzero && v === 0;
  const subnormal = v !== 0 && Number.isFinite(v) && Math.abs(v) < 2.2250738585072014e-308;
  return { v, overflow, under0, subnormal, spaced };
}

/** Redis's getDoubleFromObject (string2d): no spaces, no NaN, no overflow / underflow to 0. */
export function parseScore(s: string): number | null {
  // Fast path: a plain integer of at most 15 digits (an optional sign) is exact as a double,
  // and Number() reads it as strtod does.
  const n = s.length;
  if (n !== 0 && n <= 15) {
    const c0 = s.charCodeAt(0);
    let i = c0 === 45 /* - */ || c0 === 43 /* + */ ? 1 : 0;
    if (i < n) {
      while (i < n) {
        const c = s.charCodeAt(i);
        if (c < 48 || c > 57) break;
        i++;
      }
      if (i === n) return Number(s);
    }
  }
  const r = cStrtod(s);
  if (r === null || r.spaced || r.overflow || r.under0 || Number.isNaN(r.v)) return null;
  return r.v;
}

/** strtod as zslParseRange uses it: "" is 0, leading spaces allowed, NaN refused. */
function parseRangeNum(s: string): number | null {
  if (s.length === 0) return 0;
  const r = cStrtod(s);
  if (r === null || Number.isNaN(r.v)) return null;
  return r.v;
}

function parseScoreRange(minArg: string, maxArg: string): ScoreRange | null {
  const one = (a: string): [number, boolean] | null => {
    const ex = a.length > 0 && a[0] === "(";
    const v = parseRangeNum(ex ? a.slice(1) : a);
    return v === null ? null : [v, ex];
  };
  const lo = one(minArg);
  const hi = one(maxArg);
  if (lo === null || hi === null) return null;
  return { min: lo[0], minex: lo[1], max: hi[0], maxex: hi[1] };
}

function parseLexBound(a: string): LexBound | null {
  if (a.length === 0) return null;
  const ch = a[0];
  if (ch === "+") return a.length === 1 ? { v: "", ex: true, inf: 1 } : null;
  if (ch === "-") return a.length === 1 ? { v: "", ex: true, inf: -1 } : null;
  if (ch === "(") return { v: a.slice(1), ex: true, inf: 0 };
  if (ch === "[") return { v: a.slice(1), ex: false, inf: 0 };
  return null;
}

function parseLexRange(minArg: string, maxArg: string): LexRange | null {
  const min = parseLexBound(minArg);
  const max = parseLexBound(maxArg);
  if (min === null || max === null) return null;
  return { min, max };
}

/** A C long argument (getLongFromObjectOrReply); bigints past 2^53 are clamped, which keeps every comparison right. */
function longArg(s: string): number | null {
  const n = parseInt64(s);
  if (n === null) return null;
  if (typeof n === "bigint") return n > 0n ? Number.MAX_SAFE_INTEGER : -Number.MAX_SAFE_INTEGER;
  return n;
}

/** Blocking timeout in ms (0 = forever) or Redis's error. */
export function parseTimeout(s: string): number | ErrorReply {
  const r = cStrtod(s);
  if (r === null || r.spaced || r.overflow || Number.isNaN(r.v)) {
    return new ErrorReply("ERR timeout is not a float or out of range");
  }
  const ms = r.v * 1000;
  if (ms > 9223372036854775807) return new ErrorReply("ERR timeout is out of range");
  const t = Math.ceil(ms);
  if (t < 0) return new ErrorReply("ERR timeout is negative");
  // Past what a timer can hold (about 24.8 days) the wait is as good as forever.
  return t > 2147483647 ? 0 : t === 0 ? 0 : t;
}

// ---- lookups and replies -------------------------------------------------------------------

function isZ(v: Value | undefined): v is ZSet {
  return v instanceof ZSet;
}

/** Read lookup (counts keyspace hits / misses): the zset, undefined, or WRONGTYPE. */
function readZ(c: Client, key: string): ZSet | undefined | ErrorReply {
  const v = c.db.get(key);
  if (v === undefined) {
    c.server.stats.keyspaceMisses++;
    return undefined;
  }
  c.server.stats.keyspaceHits++;
  return isZ(v) ? v : E_WRONGTYPE;
}

function writeZ(c: Client, key: string): ZSet | undefined | ErrorReply {
  const v = c.db.get(key);
  if (v === undefined) return undefined;
  return isZ(v) ? v : E_WRONGTYPE;
}

function scoresReply(c: Client, items: [string, number][], withScores: boolean): Reply {
  if (!withScores) return items.map((x) => x[0]);
  if (c.proto === 3) return items.map(([m, s]) => [m, new Double(s)]);
  const out: Reply[] = [];
  for (const [m, s] of items) out.push(m, new Double(s));
  return out;
}

function pairsReply(items: [string, number][]): Reply {
  return items.map(([m, s]) => [m, new Double(s)]);
}

/** After removing elements in place: delete the key when emptied, else signal the change. */
function afterRemove(c: Client, key: string, z: ZSet, event: string): void {
  if (z.size === 0) c.db.delete(key);
  else c.db.touchWrite(key);
  c.server.notify("z", event, key, c.dbIndex);
  if (z.size === 0) c.server.notify("g", "del", key, c.dbIndex);
}

// ---- ZADD / ZINCRBY ------------------------------------------------------------------------

function zadd(c: Client, argv: string[], incrCmd: boolean): Reply {
  const key = argv[1];
  let nx = false, xx = false, gt = false, lt = false, ch = false, incr = incrCmd;
  let i = 2;
  for (; i < argv.length; i++) {
    const o = argv[i].toLowerCase();
    if (o === "nx") nx = true;
    else if (o === "xx") xx = true;
    else if (o === "ch") ch = true;
    else if (o === "incr") incr = true;
    else if (o === "gt") gt = true;
    else if (o === "lt") lt = true;
    else break;
  }
  const rest = argv.length - i;
  if (rest === 0 || rest % 2 !== 0) return E_SYNTAX;
  const n = rest / 2;
  if (nx && xx) return new ErrorReply("ERR XX and NX options at the same time are not compatible");
  if ((gt && nx) || (lt && nx) || (gt && lt)) {
    return new ErrorReply("ERR GT, LT, and/or NX options at the same time are not compatible");
  }
  if (incr && n > 1) return new ErrorReply("ERR INCR option supports a single increment-element pair");
  const scores: number[] = [];
  for (let j = 0; j < n; j++) {
    const s = parseScore(argv[i + 2 * j]);
    if (s === null) return E_NOT_FLOAT;
    scores.push(s);
  }
  const found = writeZ(c, key);
  if (found instanceof ErrorReply) return found;
  let z = found;
  let added = 0, updated = 0, processed = 0;
  let score = 0;
  let created = false;
  if (z === undefined && !xx) {
    z = new ZSet();
    created = true;
  }
  let error: ErrorReply | null = null;
  if (z !== undefined) {
    for (let j = 0; j < n; j++) {
      const member = argv[i + 2 * j + 1];
      let s = scores[j];
      const cur = z.score(member);
      if (cur !== undefined) {
        if (nx) continue;
        if (incr) {
          s = cur + s;
          if (Number.isNaN(s)) {
            error = E_NAN;
            break;
          }
        }
        if ((lt && s >= cur) || (gt && s <= cur)) continue;
        processed++;
        score = s;
        if (s !== cur) {
          z.set(member, s + 0);
          updated++;
        }
      } else {
        if (xx) continue;
        z.set(member, s + 0);
        added++;
        processed++;
        score = s;
      }
    }
  }
  if (added + updated > 0) {
    c.server.dirty += added + updated;
    if (created) c.db.set(key, z!);
    else c.db.touchWrite(key);
    if (incr) c.propagate = [["ZADD", key, formatDouble(score + 0), argv[i + 1]]];
    c.server.notify("z", incr ? "zincr" : "zadd", key, c.dbIndex);
  }
  if (error) return error;
  if (incr) return processed > 0 ? new Double(score) : null;
  return ch ? added + updated : added;
}

// ---- simple reads ----------------------------------------------------------------------------

function zrank(c: Client, argv: string[], rev: boolean): Reply {
  let withScore = false;
  if (argv.length > 4) return E_SYNTAX;
  if (argv.length === 4) {
    if (!is(argv[3], "withscore")) return E_SYNTAX;
    withScore = true;
  }
  const z = readZ(c, argv[1]);
  if (z instanceof ErrorReply) return z;
  const none = withScore ? NULL_ARRAY : null;
  if (z === undefined) return none;
  const r = z.rank(argv[2]);
  if (r === undefined) return none;
  const rank = rev ? z.size - 1 - r : r;
  return withScore ? [rank, new Double(z.score(argv[2])!)] : rank;
}

// ---- ZRANGE family ---------------------------------------------------------------------------

type RangeType = "auto" | "rank" | "score" | "lex";

interface RangeOpts {
  /** argv index of the source key. */
  keyIdx: number;
  store: string | null;
  type: RangeType;
  rev: boolean | null;
}

function zrangeGeneric(c: Client, argv: string[], o: RangeOpts): Reply {
  const key = argv[o.keyIdx];
  let minIdx = o.keyIdx + 1;
  let maxIdx = o.keyIdx + 2;
  let type = o.type;
  let rev = o.rev;
  let withScores = false;
  let offset = 0;
  let limit = -1;
  for (let j = o.keyIdx + 3; j < argv.length; j++) {
    const left = argv.length - j - 1;
    const a = argv[j];
    if (o.store === null && is(a, "withscores")) withScores = true;
    else if (is(a, "limit") && left >= 2) {
      const off = longArg(argv[j + 1]);
      const lim = off === null ? null : longArg(argv[j + 2]);
      if (off === null || lim === null) return E_NOT_INT;
      offset = off;
      limit = lim;
      j += 2;
    } else if (rev === null && is(a, "rev")) rev = true;
    else if (type === "auto" && is(a, "bylex")) type = "lex";
    else if (type === "auto" && is(a, "byscore")) type = "score";
    else return E_SYNTAX;
  }
  if (rev === null) rev = false;
  if (type === "auto") type = "rank";
  if (limit !== -1 && type === "rank") {
    return new ErrorReply("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
  }
  if (withScores && type === "lex") {
    return new ErrorReply("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
  }
  if (rev && type !== "rank") [minIdx, maxIdx] = [maxIdx, minIdx];
  let start = 0, end = 0;
  let sr: ScoreRange | null = null;
  let lr: LexRange | null = null;
  if (type === "rank") {
    const s = longArg(argv[minIdx]);
    const e = s === null ? null : longArg(argv[maxIdx]);
    if (s === null || e === null) return E_NOT_INT;
    start = s;
    end = e;
  } else if (type === "score") {
    sr = parseScoreRange(argv[minIdx], argv[maxIdx]);
    if (sr === null) return E_MINMAX_FLOAT;
  } else {
    lr = parseLexRange(argv[minIdx], argv[maxIdx]);
    if (lr === null) return E_MINMAX_LEX;
  }
  const z = readZ(c, key);
  if (z instanceof ErrorReply) return z;
  let items: [string, number][] = [];
  if (z !== undefined) {
    if (type === "rank") {
      const len = z.size;
      if (start < 0) start += len;
      if (end < 0) end += len;
      if (start < 0) start = 0;
      if (!(start > end || start >= len)) {
        if (end >= len) end = len - 1;
        // The common reply, members only: no [member, score] pair per element.
        if (!withScores && o.store === null) return z.rangeMembers(start, end, rev);
        items = z.range(start, end, rev);
      }
    } else if (type === "score") items = z.rangeByScore(sr!, rev, offset, limit);
    else items = z.rangeByLex(lr!, rev, offset, limit);
  }
  if (o.store !== null) return storeResult(c, o.store, items, "zrangestore");
  return scoresReply(c, items, withScores);
}

/** Store a computed sorted set at dst (or delete dst when empty) and reply its size. */
function storeResult(c: Client, dst: string, items: Iterable<[string, number]>, event: string): Reply {
  const z = new ZSet();
  for (const [m, s] of items) z.set(m, s);
  if (z.size > 0) {
    c.db.set(dst, z);
    c.server.notify("z", event, dst, c.dbIndex);
    c.server.dirty++;
    return z.size;
  }
  if (c.db.delete(dst)) {
    c.server.notify("g", "del", dst, c.dbIndex);
    c.server.dirty++;
  }
  return 0;
}

// ---- removals by range -----------------------------------------------------------------------

function zremrange(c: Client, argv: string[], kind: "rank" | "score" | "lex"): Reply {
  const key = argv[1];
  let start = 0, end = 0;
  let sr: ScoreRange | null = null;
  let lr: LexRange | null = null;
  if (kind === "rank") {
    const s = longArg(argv[2]);
    const e = s === null ? null : longArg(argv[3]);
    if (s === null || e === null) return E_NOT_INT;
    start = s;
    end = e;
  } else if (kind === "score") {
    sr = parseScoreRange(argv[2], argv[3]);
    if (sr === null) return E_MINMAX_FLOAT;
  } else {
    lr = parseLexRange(argv[2], argv[3]);
    if (lr === null) return E_MINMAX_LEX;
  }
  const z = writeZ(c, key);
  if (z instanceof ErrorReply) return z;
  if (z === undefined) return 0;
  let removed = 0;
  if (kind === "rank") {
    const len = z.size;
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    if (start > end || start >= len) return 0;
    if (end >= len) end = len - 1;
    removed = z.deleteRangeByRank(start, end);
  } else if (kind === "score") removed = z.deleteRangeByScore(sr!);
  else removed = z.deleteRangeByLex(lr!);
  if (removed > 0) {
    afterRemove(c, key, z, "zremrangeby" + kind);
    c.server.dirty += removed;
  }
  return removed;
}

// ---- pops ------------------------------------------------------------------------------------

/**
 * Pop from the first non-empty sorted set among keys. Returns null when every key is
 * missing (callers choose the reply), the error for a key of another type, or the key and
 * the popped entries.
 */
function popFirst(c: Client, keys: string[], count: number, max: boolean): { key: string; items: [string, number][] } | ErrorReply | null {
  for (const key of keys) {
    const z = writeZ(c, key);
    if (z instanceof ErrorReply) return z;
    if (z === undefined || z.size === 0) continue;
    const items = z.pop(count, max);
    afterRemove(c, key, z, max ? "zpopmax" : "zpopmin");
    c.server.dirty += items.length;
    return { key, items };
  }
  return null;
}

function zpop(c: Client, argv: string[], max: boolean): Reply {
  if (argv.length > 3) return E_SYNTAX;
  let count = -1;
  if (argv.length === 3) {
    const n = longArg(argv[2]);
    if (n === null || n < 0) return E_POSITIVE;
    count = n;
  }
  const v = writeZ(c, argv[1]);
  if (v instanceof ErrorReply) return v;
  if (count === 0) return [];
  const r = popFirst(c, [argv[1]], count === -1 ? 1 : count, max);
  if (r instanceof ErrorReply) return r;
  if (r === null) return [];
  if (count === -1 || c.proto === 2) {
    const out: Reply[] = [];
    for (const [m, s] of r.items) out.push(m, new Double(s));
    return out;
  }
  return pairsReply(r.items);
}

function bzpop(c: Client, argv: string[], max: boolean): Reply | typeof BLOCKED {
  const timeout = parseTimeout(argv[argv.length - 1]);
  if (timeout instanceof ErrorReply) return timeout;
  const keys = argv.slice(1, -1);
  const r = popFirst(c, keys, 1, max);
  if (r instanceof ErrorReply) return r;
  if (r !== null) {
    c.propagate = [[max ? "ZPOPMAX" : "ZPOPMIN", r.key]];
    const [m, s] = r.items[0];
    return [r.key, m, new Double(s)];
  }
  return c.block(argv, keys, timeout, NULL_ARRAY);
}

function zmpopGeneric(c: Client, argv: string[], numIdx: number, blocking: boolean): Reply | typeof BLOCKED {
  const nk = longArg(argv[numIdx]);
  if (nk === null || nk < 1) return new ErrorReply("ERR numkeys should be greater than 0");
  const whereIdx = numIdx + nk + 1;
  if (whereIdx >= argv.length) return E_SYNTAX;
  let max: boolean;
  if (is(argv[whereIdx], "min")) max = false;
  else if (is(argv[whereIdx], "max")) max = true;
  else return E_SYNTAX;
  let count = -1;
  for (let j = whereIdx + 1; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    if (count === -1 && is(argv[j], "count") && more > 0) {
      j++;
      const n = longArg(argv[j]);
      if (n === null || n < 1) return new ErrorReply("ERR count should be greater than 0");
      count = n;
    } else return E_SYNTAX;
  }
  if (count === -1) count = 1;
  let timeout = 0;
  if (blocking) {
    const t = parseTimeout(argv[1]);
    if (t instanceof ErrorReply) return t;
    timeout = t;
  }
  const keys = argv.slice(numIdx + 1, numIdx + 1 + nk);
  const r = popFirst(c, keys, count, max);
  if (r instanceof ErrorReply) return r;
  if (r !== null) {
    c.propagate = [[max ? "ZPOPMAX" : "ZPOPMIN", r.key, String(count)]];
    return [r.key, pairsReply(r.items)];
  }
  if (!blocking) return NULL_ARRAY;
  return c.block(argv, keys, timeout, NULL_ARRAY);
}

// ---- ZRANDMEMBER -----------------------------------------------------------------------------

function zrandmember(c: Client, argv: string[]): Reply {
  if (argv.length === 2) {
    const z = readZ(c, argv[1]);
    if (z instanceof ErrorReply) return z;
    if (z === undefined) return null;
    return z.at(Math.floor(Math.random() * z.size))![0];
  }
  const n = parseInt64(argv[2]);
  if (n === null) return E_NOT_INT;
  if (n < -9223372036854775807n) {
    return new ErrorReply("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
  }
  let withScores = false;
  if (argv.length > 4 || (argv.length === 4 && !is(argv[3], "withscores"))) return E_SYNTAX;
  if (argv.length === 4) {
    withScores = true;
    if (n < -4611686018427387903n || n > 4611686018427387903n) return new ErrorReply("ERR value is out of range");
  }
  const z = readZ(c, argv[1]);
  if (z instanceof ErrorReply) return z;
  if (z === undefined) return [];
  let count = Number(n);
  if (count === 0) return [];
  const size = z.size;
  let items: [string, number][];
  if (count < 0) {
    count = -count;
    items = new Array(count);
    for (let i = 0; i < count; i++) items[i] = z.at(Math.floor(Math.random() * size))!;
  } else if (count >= size) {
    items = [...z.entries()];
  } else if (count * 3 > size) {
    // Shuffle all ranks, keep the first `count`.
    const ranks = Array.from({ length: size }, (_, i) => i);
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(Math.random() * (size - i));
      [ranks[i], ranks[j]] = [ranks[j], ranks[i]];
    }
    const all = [...z.entries()];
    items = ranks.slice(0, count).map((r) => all[r]);
  } else {
    const picked = new Set<number>();
    items = [];
    while (picked.size < count) {
      const r = Math.floor(Math.random() * size);
      if (picked.has(r)) continue;
      picked.add(r);
      items.push(z.at(r)!);
    }
  }
  return scoresReply(c, items, withScores);
}

// ---- ZUNION / ZINTER / ZDIFF -----------------------------------------------------------------

type SrcValue = ZSet | Set<string> | undefined;
type SetOp = "union" | "inter" | "diff";

function srcSize(v: SrcValue): number {
  return v === undefined ? 0 : v.size;
}
function* srcEntries(v: SrcValue): IterableIterator<[string, number]> {
  if (v === undefined) return;
  if (v instanceof ZSet) yield* v.entries();
  else for (const m of v) yield [m, 1];
}
function srcScore(v: SrcValue, m: string): number | undefined {
  if (v === undefined) return undefined;
  if (v instanceof ZSet) return v.score(m);
  return v.has(m) ? 1 : undefined;
}

function aggregate(a: number, b: number, how: string): number {
  if (how === "sum") {
    const r = a + b;
    return Number.isNaN(r) ? 0 : r;
  }
  if (how === "min") return b < a ? b : a;
  return b > a ? b : a;
}

function weighted(s: number, w: number): number {
  const r = s * w;
  return Number.isNaN(r) ? 0 : r;
}

/** Compute the set operation; `limit` > 0 stops an intersection early (ZINTERCARD). */
function computeSetOp(srcs: SrcValue[], weights: number[], how: string, op: SetOp, limit = 0): Map<string, number> {
  const acc = new Map<string, number>();
  if (op === "union") {
    // Smallest input first, as Redis orders them (this decides ties such as 0 vs -0).
    const order = srcs.map((_, i) => i).sort((a, b) => srcSize(srcs[a]) - srcSize(srcs[b]));
    for (const i of order) {
      for (const [m, s] of srcEntries(srcs[i])) {
        const v = weighted(s, weights[i]);
        const cur = acc.get(m);
        acc.set(m, cur === undefined ? v : aggregate(cur, v, how));
      }
    }
  } else if (op === "inter") {
    const order = srcs.map((_, i) => i).sort((a, b) => srcSize(srcs[a]) - srcSize(srcs[b]));
    if (srcSize(srcs[order[0]]) === 0) return acc;
    for (const [m, s] of srcEntries(srcs[order[0]])) {
      let v = weighted(s, weights[order[0]]);
      let all = true;
      for (let k = 1; k < order.length; k++) {
        const o = srcScore(srcs[order[k]], m);
        if (o === undefined) {
          all = false;
          break;
        }
        // Unlike the first input's, these products are not cleared of NaN (inf * 0), as in Redis.
        v = aggregate(v, o * weights[order[k]], how);
      }
      if (all) {
        acc.set(m, v);
        if (limit > 0 && acc.size >= limit) break;
      }
    }
  } else {
    for (const [m, s] of srcEntries(srcs[0])) {
      let found = false;
      for (let k = 1; k < srcs.length && !found; k++) found = srcScore(srcs[k], m) !== undefined;
      if (!found) acc.set(m, s);
    }
  }
  return acc;
}

function sortedEntries(acc: Map<string, number>): [string, number][] {
  const items = [...acc];
  items.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return items;
}

/** Look up source keys: zsets and sets are accepted, anything else is WRONGTYPE. */
function readSources(c: Client, keys: string[]): SrcValue[] | ErrorReply {
  const out: SrcValue[] = [];
  for (const k of keys) {
    const v = c.db.get(k);
    if (v === undefined) {
      c.server.stats.keyspaceMisses++;
      out.push(undefined);
      continue;
    }
    c.server.stats.keyspaceHits++;
    if (!(v instanceof ZSet) && !(v instanceof Set)) return E_WRONGTYPE;
    out.push(v);
  }
  return out;
}

function setOpGeneric(c: Client, argv: string[], op: SetOp, store: boolean): Reply {
  const numIdx = store ? 2 : 1;
  const dst = store ? argv[1] : null;
  const n = longArg(argv[numIdx]);
  if (n === null) return E_NOT_INT;
  const name = c.current?.name ?? argv[0].toLowerCase();
  if (n < 1) return new ErrorReply(`ERR at least 1 input key is needed for '${name}' command`);
  if (n > argv.length - (numIdx + 1)) return E_SYNTAX;
  const keys = argv.slice(numIdx + 1, numIdx + 1 + n);
  const srcs = readSources(c, keys);
  if (srcs instanceof ErrorReply) return srcs;
  const weights = new Array<number>(n).fill(1);
  let how = "sum";
  let withScores = false;
  let j = numIdx + 1 + n;
  let remaining = argv.length - j;
  while (remaining > 0) {
    if (op !== "diff" && remaining >= n + 1 && is(argv[j], "weights")) {
      j++;
      remaining--;
      for (let i = 0; i < n; i++, j++, remaining--) {
        const w = parseScore(argv[j]);
        if (w === null) return new ErrorReply("ERR weight value is not a float");
        weights[i] = w;
      }
    } else if (op !== "diff" && remaining >= 2 && is(argv[j], "aggregate")) {
      const a = argv[j + 1].toLowerCase();
      if (a !== "sum" && a !== "min" && a !== "max") return E_SYNTAX;
      how = a;
      j += 2;
      remaining -= 2;
    } else if (remaining >= 1 && dst === null && is(argv[j], "withscores")) {
      withScores = true;
      j++;
      remaining--;
    } else return E_SYNTAX;
  }
  const acc = computeSetOp(srcs, weights, how, op);
  const items = sortedEntries(acc);
  if (dst !== null) return storeResult(c, dst, items, op === "union" ? "zunionstore" : op === "inter" ? "zinterstore" : "zdiffstore");
  return scoresReply(c, items, withScores);
}

function zintercard(c: Client, argv: string[]): Reply {
  const n = longArg(argv[1]);
  if (n === null) return E_NOT_INT;
  if (n < 1) return new ErrorReply("ERR at least 1 input key is needed for 'zintercard' command");
  if (n > argv.length - 2) return E_SYNTAX;
  const srcs = readSources(c, argv.slice(2, 2 + n));
  if (srcs instanceof ErrorReply) return srcs;
  let limit = 0;
  for (let j = 2 + n; j < argv.length; j++) {
    if (is(argv[j], "limit") && j + 1 < argv.length) {
      const l = longArg(argv[j + 1]);
      if (l === null || l < 0) return new ErrorReply("ERR LIMIT can't be negative");
      limit = l;
      j++;
    } else return E_SYNTAX;
  }
  return computeSetOp(srcs, new Array<number>(n).fill(1), "sum", "inter", limit).size;
}

// ---- ZSCAN ------------------------------------------------------------------------------------

const localCursors = new ScanCursors();

/** SCAN cursor as strtoul reads it: digits with an optional sign, within 64 bits. */
function validCursor(s: string): boolean {
  if (!/^[+-]?\d+$/.test(s)) return false;
  const digits = s.replace(/^[+-]/, "").replace(/^0+/, "");
  return digits.length < 20 || (digits.length === 20 && digits <= "18446744073709551615");
}

function zscan(c: Client, argv: string[]): Reply {
  const cursor = argv[2];
  if (!validCursor(cursor)) return new ErrorReply("ERR invalid cursor");
  let count = 10;
  let pattern: string | null = null;
  for (let j = 3; j < argv.length; j++) {
    const left = argv.length - 1 - j;
    if (is(argv[j], "count") && left >= 1) {
      const n = longArg(argv[j + 1]);
      if (n === null) return E_NOT_INT;
      if (n < 1) return E_SYNTAX;
      count = n;
      j++;
    } else if (is(argv[j], "match") && left >= 1) {
      pattern = argv[j + 1];
      j++;
    } else return E_SYNTAX;
  }
  const z = readZ(c, argv[1]);
  if (z instanceof ErrorReply) return z;
  if (z === undefined) return ["0", []];
  let members: string[];
  let next: string;
  if (z.size <= 128) {
    members = [...z.members()];
    next = "0";
  } else {
    const cursors = (c.server as { scanCursors?: ScanCursors }).scanCursors ?? localCursors;
    const r = cursors.scan(z, () => z.dict.keys(), /^[+-]?0+$/.test(cursor) ? "0" : cursor, count);
    members = r.items;
    next = r.next;
  }
  // Redis answers a compact (listpack) set's scores as stored (shortest form) and a skip-list
  // set's with "%.17Lg"; the size stands for the encoding here.
  const fmt = z.size <= 128 ? formatDouble : format17g;
  const out: Reply[] = [];
  for (const m of members) {
    if (pattern !== null && pattern !== "*" && !globMatch(pattern, m)) continue;
    const s = z.score(m);
    if (s === undefined) continue;
    out.push(m, fmt(s));
  }
  return [next, out];
}

/** printf("%.17g") of a double. */
export function format17g(x: number): string {
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (Number.isNaN(x)) return "nan";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const e = x.toExponential(16);
  const at = e.indexOf("e");
  const exp = Number(e.slice(at + 1));
  const trim = (t: string) => (t.includes(".") ? t.replace(/0+$/, "").replace(/\.$/, "") : t);
  if (exp < -4 || exp >= 17) {
    const digits = String(Math.abs(exp));
    return trim(e.slice(0, at)) + "e" + (exp < 0 ? "-" : "+") + (digits.length < 2 ? "0" + digits : digits);
  }
  return trim(x.toFixed(16 - exp));
}

// ---- handlers ---------------------------------------------------------------------------------

export const handlers: Record<string, Handler> = {
  zadd: (c, argv) => zadd(c, argv, false),
  zincrby: (c, argv) => zadd(c, argv, true),
  zrem(c, argv) {
    const key = argv[1];
    const z = writeZ(c, key);
    if (z instanceof ErrorReply) return z;
    if (z === undefined) return 0;
    let removed = 0;
    for (let i = 2; i < argv.length; i++) {
      if (z.delete(argv[i])) {
        removed++;
        if (z.size === 0) break;
      }
    }
    if (removed > 0) {
      afterRemove(c, key, z, "zrem");
      c.server.dirty += removed;
    }
    return removed;
  },
  zcard(c, argv) {
    const z = readZ(c, argv[1]);
    if (z instanceof ErrorReply) return z;
    return z === undefined ? 0 : z.size;
  },
  zscore(c, argv) {
    const z = readZ(c, argv[1]);
    if (z instanceof ErrorReply) return z;
    const s = z?.score(argv[2]);
    return s === undefined ? null : new Double(s);
  },
  zmscore(c, argv) {
    const z = readZ(c, argv[1]);
    if (z instanceof ErrorReply) return z;
    const out: Reply[] = [];
    for (let i = 2; i < argv.length; i++) {
      const s = z?.score(argv[i]);
      out.push(s === undefined ? null : new Double(s));
    }
    return out;
  },
  zrank: (c, argv) => zrank(c, argv, false),
  zrevrank: (c, argv) => zrank(c, argv, true),
  zcount(c, argv) {
    const r = parseScoreRange(argv[2], argv[3]);
    if (r === null) return E_MINMAX_FLOAT;
    const z = readZ(c, argv[1]);
    if (z instanceof ErrorReply) return z;
    return z === undefined ? 0 : z.countScore(r);
  },
  zlexcount(c, argv) {
    const r = parseLexRange(argv[2], argv[3]);
    if (r === null) return E_MINMAX_LEX;
    const z = readZ(c, argv[1]);
    if (z instanceof ErrorReply) return z;
    return z === undefined ? 0 : z.countLex(r);
  },
  zrange: (c, argv) => zrangeGeneric(c, argv, { keyIdx: 1, store: null, type: "auto", rev: null }),
  zrangestore: (c, argv) => zrangeGeneric(c, argv, { keyIdx: 2, store: argv[1], type: "auto", rev: null }),
  zrevrange: (c, argv) => zrangeGeneric(c, argv, { keyIdx: 1, store: null, type: "rank", rev: true }),
  zrangebyscore: (c, argv) => zrangeGeneric(c, argv, { keyIdx: 1, store: null, type: "score", rev: false }),
  zrevrangebyscore: (c, argv) => zrangeGeneric(c, argv, { keyIdx: 1, store: null, type: "score", rev: true }),
  zrangebylex: (c, argv) => zrangeGeneric(c, argv, { keyIdx: 1, store: null, type: "lex", rev: false }),
  zrevrangebylex: (c, argv) => zrangeGeneric(c, argv, { keyIdx: 1, store: null, type: "lex", rev: true }),
  zremrangebyrank: (c, argv) => zremrange(c, argv, "rank"),
  zremrangebyscore: (c, argv) => zremrange(c, argv, "score"),
  zremrangebylex: (c, argv) => zremrange(c, argv, "lex"),
  zpopmin: (c, argv) => zpop(c, argv, false),
  zpopmax: (c, argv) => zpop(c, argv, true),
  bzpopmin: (c, argv) => bzpop(c, argv, false),
  bzpopmax: (c, argv) => bzpop(c, argv, true),
  zmpop: (c, argv) => zmpopGeneric(c, argv, 1, false),
  bzmpop: (c, argv) => zmpopGeneric(c, argv, 2, true),
  zrandmember: zrandmember,
  zunion: (c, argv) => setOpGeneric(c, argv, "union", false),
  zinter: (c, argv) => setOpGeneric(c, argv, "inter", false),
  zdiff: (c, argv) => setOpGeneric(c, argv, "diff", false),
  zunionstore: (c, argv) => setOpGeneric(c, argv, "union", true),
  zinterstore: (c, argv) => setOpGeneric(c, argv, "inter", true),
  zdiffstore: (c, argv) => setOpGeneric(c, argv, "diff", true),
  zintercard: zintercard,
  zscan: zscan,
};
