/**
 * Hash commands (Redis 7.2 t_hash.c semantics): HSET HSETNX HGET HMGET HMSET HDEL HLEN HSTRLEN
 * HEXISTS HKEYS HVALS HGETALL HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN.
 *
 * A hash value is a Map<string, string> (field -> value, binary strings, insertion order).
 * Contract:
 * - WRONGTYPE against a key of another type, after the argument checks Redis does first
 *   (HSET's pair count, HINCRBY's increment...);
 * - a hash left empty by HDEL is deleted (events "hdel" then "del");
 * - HGETALL is a RESP3 map; HRANDFIELD WITHVALUES is an array of [field, value] pairs in RESP3
 *   and a flat array in RESP2; HRANDFIELD never journals (it is a read);
 * - HINCRBYFLOAT computes in 80-bit extended precision and formats with 17 decimals like
 *   Redis's long double code, and is journaled as HSET key field <result>;
 * - errors: "ERR hash value is not an integer", "ERR hash value is not a float",
 *   "ERR increment or decrement would overflow", "ERR value is NaN or Infinity",
 *   "ERR increment would produce NaN or Infinity", "ERR value is out of range" (HRANDFIELD
 *   WITHVALUES with a huge count), "ERR invalid cursor", "ERR syntax error".
 */
import { ErrorReply, MapReply, OK, type Reply } from "../resp/reply.ts";
import type { Handler } from "./table.ts";
import type { Client } from "../client.ts";
import { E_NOT_FLOAT, E_NOT_INT, E_OVERFLOW, E_SYNTAX, E_WRONGTYPE, is, parseInt64 } from "./util.ts";
import {
  LONG_MAX,
  invalidatePool,
  lookupRead,
  parseCursor,
  poolOf,
  randInt,
  randomDistinct,
  randomKey,
  rangeArg,
  scanCollection,
} from "./sets.ts";

// ---- 80-bit long double emulation ----------------------------------------------------------

/**
 * An x87 extended-precision value: (-1)^neg * m * 2^e with a 64-bit significand m
 * (m = 0 for zero), or an infinity. Used to reproduce Redis's long double arithmetic exactly
 * (strtold parsing, one rounded addition, "%.17Lf" formatting).
 */
export interface LongDouble {
  neg: boolean;
  m: bigint;
  e: number;
  inf?: boolean;
}

const TWO64 = 1n << 64n;
const ZERO: LongDouble = { neg: false, m: 0n, e: 0 };

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** Round a non-negative integer times 2^e to a 64-bit significand (ties to even). */
function roundLD(neg: boolean, num: bigint, e: number, sticky: boolean): LongDouble {
  if (num === 0n) return { neg, m: 0n, e: 0 };
  const bl = bitLength(num);
  let m = num;
  if (bl > 64) {
    const shift = bl - 64;
    const bs = BigInt(shift);
    m = num >> bs;
    const rem = num & ((1n << bs) - 1n);
    const half = 1n << (bs - 1n);
    if (rem > half || (rem === half && (sticky || (m & 1n) === 1n))) m++;
    if (m === TWO64) {
      m >>= 1n;
      e++;
    }
    e += shift;
  }
  // Largest finite long double is just under 2^16384.
  if (e + bitLength(m) > 16384) return { neg, m: 0n, e: 0, inf: true };
  return { neg, m, e };
}

/** strtold as Redis's string2ld uses it: null when invalid, out of range or NaN. */
export function parseLongDouble(s: string): LongDouble | null {
  if (s.length === 0 || s.length >= 5120) return null;
  let i = 0;
  let neg = false;
  if (s[0] === "+" || s[0] === "-") {
    neg = s[0] === "-";
    i = 1;
  }
  const body = s.slice(i);
  const lower = body.toLowerCase();
  if (lower === "inf" || lower === "infinity") return { neg, m: 0n, e: 0, inf: true };
  let hex = /^0x([0-9a-f]*)(?:\.([0-9a-f]*))?(?:p([+-]?[0-9]+))?$/i.exec(body);
  if (hex !== null && hex[1] === "" && (hex[2] === undefined || hex[2] === "")) hex = null;
  if (hex !== null) {
    const frac = hex[2] ?? "";
    const digits = BigInt("0x" + (hex[1] + frac || "0"));
    const pexp = hex[3] === undefined ? 0 : Number(hex[3]);
    if (!Number.isFinite(pexp) || Math.abs(pexp) > 100000) return digits === 0n ? { ...ZERO, neg } : null;
    const r = roundLD(neg, digits, pexp - 4 * frac.length, false);
    if (r.inf) return null;
    if (r.m !== 0n && r.e + 64 < -16445) return null;
    return r;
  }
  const dec = /^([0-9]*)(?:\.([0-9]*))?(?:e([+-]?[0-9]+))?$/i.exec(body);
  if (dec === null || (dec[1] === "" && (dec[2] ?? "") === "")) return null;
  const frac = dec[2] ?? "";
  const digitsStr = (dec[1] + frac).replace(/^0+/, "");
  if (digitsStr === "") return { neg, m: 0n, e: 0 };
  let exp10 = (dec[3] === undefined ? 0 : Number(dec[3])) - frac.length;
  // Magnitude check before building huge numbers: 10^4933 overflows, below 10^-4951 underflows.
  const mag = digitsStr.length + exp10;
  if (mag > 4934) return null;
  if (mag < -4952) return null;
  const D = BigInt(digitsStr);
  let r: LongDouble;
  if (exp10 >= 0) {
    r = roundLD(neg, D * 10n ** BigInt(exp10), 0, false);
  } else {
    exp10 = -exp10;
    const P = 10n ** BigInt(exp10);
    const s = Math.max(0, 66 + bitLength(P) - bitLength(D));
    const scaled = D << BigInt(s);
    const q = scaled / P;
    const rem = scaled % P;
    r = roundLD(neg, q, -s, rem !== 0n);
  }
  if (r.inf) return null;
  if (r.e + 64 < -16445) return null;
  return r;
}

/** a + b rounded to long double precision (no NaN: callers reject infinities first). */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble {
  if (a.inf || b.inf) {
    if (a.inf && b.inf && a.neg !== b.neg) return { neg: false, m: 0n, e: 0, inf: true };
    return a.inf ? a : b;
  }
  if (a.m === 0n) return b.m === 0n ? { neg: a.neg && b.neg, m: 0n, e: 0 } : b;
  if (b.m === 0n) return a;
  const emin = Math.min(a.e, b.e);
  const A = a.m << BigInt(a.e - emin);
  const B = b.m << BigInt(b.e - emin);
  const S = (a.neg ? -A : A) + (b.neg ? -B : B);
  if (S === 0n) return { neg: false, m: 0n, e: 0 };
  return roundLD(S < 0n, S < 0n ? -S : S, emin, false);
}

/** Redis's ld2string(..., LD_STR_HUMAN): "%.17Lf", trailing zeros and dot removed, "-0" -> "0". */
export function formatLongDouble(v: LongDouble): string {
  if (v.inf) return v.neg ? "-inf" : "inf";
  const SCALE = 10n ** 17n;
  let N: bigint;
  if (v.e >= 0) {
    N = (v.m << BigInt(v.e)) * SCALE;
  } else {
    const num = v.m * SCALE;
    const sh = BigInt(-v.e);
    N = num >> sh;
    const rem = num & ((1n << sh) - 1n);
    const half = 1n << (sh - 1n);
    if (rem > half || (rem === half && (N & 1n) === 1n)) N++;
  }
  const digits = N.toString().padStart(18, "0");
  const intPart = digits.slice(0, -17);
  const frac = digits.slice(-17).replace(/0+$/, "");
  const out = (v.neg ? "-" : "") + intPart + (frac === "" ? "" : "." + frac);
  return out === "-0" ? "0" : out;
}

// ---- helpers -------------------------------------------------------------------------------

type HashLookup = Map<string, string> | undefined | ErrorReply;

function readHash(c: Client, key: string): HashLookup {
  const v = lookupRead(c, key);
  if (v === undefined) return undefined;
  if (!(v instanceof Map)) return E_WRONGTYPE;
  return v;
}

function writeHash(c: Client, key: string): HashLookup {
  const v = c.db.get(key);
  if (v === undefined) return undefined;
  if (!(v instanceof Map)) return E_WRONGTYPE;
  return v;
}

/** hashTypeLookupWriteOrCreate: the hash, created (and stored) when missing. */
function writeOrCreate(c: Client, key: string): Map<string, string> | ErrorReply {
  const h = writeHash(c, key);
  if (h instanceof ErrorReply) return h;
  if (h !== undefined) return h;
  const created = new Map<string, string>();
  c.db.set(key, created);
  return created;
}

function smallHash(c: Client, h: Map<string, string>): boolean {
  if (h.size > c.server.config.num("hash-max-listpack-entries")) return false;
  const max = c.server.config.num("hash-max-listpack-value");
  for (const [f, v] of h) if (f.length > max || v.length > max) return false;
  return true;
}

const I64_MIN = -9223372036854775808n;
const I64_MAX = 9223372036854775807n;

function intReply(n: bigint): number | bigint {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

// ---- commands ------------------------------------------------------------------------------

function hsetGeneric(c: Client, argv: string[], hmset: boolean): Reply {
  if (argv.length % 2 === 1) {
    return new ErrorReply(`ERR wrong number of arguments for '${hmset ? "hmset" : "hset"}' command`);
  }
  const key = argv[1];
  const h = writeOrCreate(c, key);
  if (h instanceof ErrorReply) return h;
  let created = 0;
  for (let i = 2; i < argv.length; i += 2) {
    if (!h.has(argv[i])) created++;
    h.set(argv[i], argv[i + 1]);
  }
  invalidatePool(h);
  c.db.touchWrite(key);
  c.server.notify("h", "hset", key, c.dbIndex);
  c.server.dirty += (argv.length - 2) / 2;
  return hmset ? OK : created;
}

function hsetnx(c: Client, argv: string[]): Reply {
  const [, key, field, value] = argv;
  const existing = writeHash(c, key);
  if (existing instanceof ErrorReply) return existing;
  if (existing !== undefined && existing.has(field)) return 0;
  const h = writeOrCreate(c, key) as Map<string, string>;
  h.set(field, value);
  invalidatePool(h);
  c.db.touchWrite(key);
  c.server.notify("h", "hset", key, c.dbIndex);
  c.server.dirty++;
  return 1;
}

function hget(c: Client, argv: string[]): Reply {
  const h = readHash(c, argv[1]);
  if (h === undefined) return null;
  if (h instanceof ErrorReply) return h;
  return h.get(argv[2]) ?? null;
}

function hmget(c: Client, argv: string[]): Reply {
  const h = readHash(c, argv[1]);
  if (h instanceof ErrorReply) return h;
  const out: Reply[] = [];
  for (let i = 2; i < argv.length; i++) out.push(h === undefined ? null : (h.get(argv[i]) ?? null));
  return out;
}

function hdel(c: Client, argv: string[]): Reply {
  const key = argv[1];
  const h = writeHash(c, key);
  if (h === undefined) return 0;
  if (h instanceof ErrorReply) return h;
  let deleted = 0;
  let removed = false;
  for (let i = 2; i < argv.length; i++) {
    if (h.delete(argv[i])) {
      deleted++;
      if (h.size === 0) {
        c.db.delete(key);
        removed = true;
        break;
      }
    }
  }
  if (deleted > 0) {
    invalidatePool(h);
    if (!removed) c.db.touchWrite(key);
    c.server.notify("h", "hdel", key, c.dbIndex);
    if (removed) c.server.notify("g", "del", key, c.dbIndex);
    c.server.dirty += deleted;
  }
  return deleted;
}

function hlen(c: Client, argv: string[]): Reply {
  const h = readHash(c, argv[1]);
  if (h === undefined) return 0;
  if (h instanceof ErrorReply) return h;
  return h.size;
}

function hstrlen(c: Client, argv: string[]): Reply {
  const h = readHash(c, argv[1]);
  if (h === undefined) return 0;
  if (h instanceof ErrorReply) return h;
  return h.get(argv[2])?.length ?? 0;
}

function hexists(c: Client, argv: string[]): Reply {
  const h = readHash(c, argv[1]);
  if (h === undefined) return 0;
  if (h instanceof ErrorReply) return h;
  return h.has(argv[2]) ? 1 : 0;
}

function hgetallGeneric(c: Client, argv: string[], what: "keys" | "vals" | "all"): Reply {
  const h = readHash(c, argv[1]);
  if (h instanceof ErrorReply) return h;
  if (what === "all") {
    const pairs: Reply[] = [];
    if (h !== undefined) for (const [f, v] of h) pairs.push(f, v);
    return new MapReply(pairs);
  }
  if (h === undefined) return [];
  return what === "keys" ? [...h.keys()] : [...h.values()];
}

function hincrby(c: Client, argv: string[]): Reply {
  const [, key, field, incrArg] = argv;
  const inc = parseInt64(incrArg);
  if (inc === null) return E_NOT_INT;
  const h = writeOrCreate(c, key);
  if (h instanceof ErrorReply) return h;
  let value = 0n;
  const cur = h.get(field);
  if (cur !== undefined) {
    const p = parseInt64(cur);
    if (p === null) return new ErrorReply("ERR hash value is not an integer");
    value = BigInt(p);
  }
  const incr = BigInt(inc);
  const next = value + incr;
  if (next > I64_MAX || next < I64_MIN) return E_OVERFLOW;
  h.set(field, next.toString());
  if (cur === undefined) invalidatePool(h);
  c.db.touchWrite(key);
  c.server.notify("h", "hincrby", key, c.dbIndex);
  c.server.dirty++;
  return intReply(next);
}

function hincrbyfloat(c: Client, argv: string[]): Reply {
  const [, key, field, incrArg] = argv;
  const incr = parseLongDouble(incrArg);
  if (incr === null) return E_NOT_FLOAT;
  if (incr.inf) return new ErrorReply("ERR value is NaN or Infinity");
  const h = writeOrCreate(c, key);
  if (h instanceof ErrorReply) return h;
  let value: LongDouble = ZERO;
  const cur = h.get(field);
  if (cur !== undefined) {
    const p = parseLongDouble(cur);
    if (p === null) return new ErrorReply("ERR hash value is not a float");
    value = p;
  }
  const sum = addLongDouble(value, incr);
  if (sum.inf) return new ErrorReply("ERR increment would produce NaN or Infinity");
  const text = formatLongDouble(sum);
  h.set(field, text);
  if (cur === undefined) invalidatePool(h);
  c.db.touchWrite(key);
  c.server.notify("h", "hincrbyfloat", key, c.dbIndex);
  c.server.dirty++;
  c.propagate = [["HSET", key, field, text]];
  return text;
}

function hrandfield(c: Client, argv: string[]): Reply {
  const key = argv[1];
  if (argv.length === 2) {
    const h = readHash(c, key);
    if (h === undefined) return null;
    if (h instanceof ErrorReply) return h;
    return randomKey(h);
  }
  const l = rangeArg(argv[2], -LONG_MAX, LONG_MAX, null);
  if (l instanceof ErrorReply) return l;
  let withValues = false;
  if (argv.length > 4 || (argv.length === 4 && !is(argv[3], "withvalues"))) return E_SYNTAX;
  if (argv.length === 4) {
    withValues = true;
    if (l < -LONG_MAX / 2n || l > LONG_MAX / 2n) return new ErrorReply("ERR value is out of range");
  }
  const h = readHash(c, key);
  if (h === undefined) return [];
  if (h instanceof ErrorReply) return h;
  if (l === 0n) return [];
  const resp3 = c.proto === 3;
  const emit = (fields: Iterable<string>): Reply[] => {
    const out: Reply[] = [];
    for (const f of fields) {
      if (!withValues) out.push(f);
      else if (resp3) out.push([f, h.get(f) ?? ""]);
      else out.push(f, h.get(f) ?? "");
    }
    return out;
  };
  if (l < 0n) {
    const n = Number(-l);
    const arr = poolOf(h);
    const picks: string[] = new Array(n);
    for (let i = 0; i < n; i++) picks[i] = arr[randInt(arr.length)];
    return emit(picks);
  }
  const count = Number(l);
  if (count >= h.size) return emit(h.keys());
  return emit(randomDistinct(h, count));
}

function hscan(c: Client, argv: string[]): Reply {
  const cursor = parseCursor(argv[2]);
  if (cursor === null) return new ErrorReply("ERR invalid cursor");
  const h = readHash(c, argv[1]);
  if (h === undefined) return ["0", []];
  if (h instanceof ErrorReply) return h;
  return scanCollection(c, argv, h, cursor, smallHash(c, h), () => h.keys());
}

export const handlers: Record<string, Handler> = {
  hset: (c, argv) => hsetGeneric(c, argv, false),
  hmset: (c, argv) => hsetGeneric(c, argv, true),
  hsetnx,
  hget,
  hmget,
  hdel,
  hlen,
  hstrlen,
  hexists,
  hkeys: (c, argv) => hgetallGeneric(c, argv, "keys"),
  hvals: (c, argv) => hgetallGeneric(c, argv, "vals"),
  hgetall: (c, argv) => hgetallGeneric(c, argv, "all"),
  hincrby,
  hincrbyfloat,
  hrandfield,
  hscan,
};
