/**
 * String commands: GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET MSETNX INCR DECR
 * INCRBY DECRBY INCRBYFLOAT APPEND STRLEN GETRANGE SUBSTR SETRANGE LCS, with Redis 7.2's
 * replies, errors and order of checks:
 * - "ERR syntax error" for bad or conflicting SET/GETEX options; "ERR invalid expire time in
 *   '<cmd>' command" for a non-positive or overflowing expire; "ERR value is not an integer or
 *   out of range" for a bad integer (checked before the key is looked at where Redis does);
 * - WRONGTYPE for a key of another type (SET ... GET included; plain SET overwrites any type);
 * - INCR family: full signed 64-bit range, "ERR increment or decrement would overflow",
 *   "ERR decrement would overflow" (DECRBY of -2^63);
 * - INCRBYFLOAT: long double arithmetic and formatting (src/store/ldouble.ts), "ERR value is
 *   not a valid float", "ERR increment would produce NaN or Infinity";
 * - SETRANGE / APPEND: "ERR offset is out of range" (negative offset) and "ERR string exceeds
 *   maximum allowed size (proto-max-bulk-len)";
 * - LCS: "ERR The specified keys must contain string values", "ERR If you want both the length
 *   and indexes, please just use IDX.", IDX answers a map (RESP3) / flat array (RESP2).
 *
 * Journal: relative expires are rewritten to absolute ones (SET key value PXAT ms), GETEX to
 * PEXPIREAT / PERSIST / DEL, GETDEL to DEL, INCRBYFLOAT to SET key result KEEPTTL.
 * Keyspace events: set, expire, del, persist, incrby, incrbyfloat, append, setrange.
 *
 * The module also tracks which string values Redis would hold "raw" although short (after
 * APPEND / SETRANGE), for OBJECT ENCODING: see {@link stringEncoding}.
 */
import { ErrorReply, IntText, MapReply, OK, type Reply } from "../resp/reply.ts";
import type { Handler } from "./table.ts";
import type { Client } from "../client.ts";
import type { Db, Value } from "../store/keyspace.ts";
import { E_NOT_INT, E_SYNTAX, E_WRONGTYPE, E_OVERFLOW, parseInt64 } from "./util.ts";
import { incrByFloatString } from "../store/ldouble.ts";

const I64_MAX = 9223372036854775807n;
const I64_MIN = -9223372036854775808n;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);

// ---- string encodings (OBJECT ENCODING) ------------------------------------------------------

/** Per database data map: key -> the value that was modified in place (so is "raw"). */
const rawMarks = new WeakMap<Map<string, Value>, Map<string, string>>();
/** No mark was ever made: clearRaw has nothing to look up (the common case, and a hot path). */
let anyRaw = false;

/** Remember that db[key] (now `value`) was modified in place: Redis holds it raw. */
export function markRaw(db: Db, key: string, value: string): void {
  anyRaw = true;
  let m = rawMarks.get(db.data);
  if (!m) rawMarks.set(db.data, (m = new Map()));
  m.set(key, value);
  if (m.size > 4096 && m.size % 1024 === 0) {
    // Forget marks of keys that were overwritten or deleted meanwhile.
    for (const [k, v] of m) if (db.data.get(k) !== v) m.delete(k);
  }
}

/** The key was overwritten by a fresh value. */
export function clearRaw(db: Db, key: string): void {
  if (!anyRaw) return;
  const m = rawMarks.get(db.data);
  if (m) m.delete(key);
}

/** Carry a raw mark along a RENAME / MOVE / COPY. */
export function copyRaw(from: Db, fromKey: string, to: Db, toKey: string): void {
  const m = rawMarks.get(from.data);
  const v = m?.get(fromKey);
  if (v !== undefined && from.data.get(fromKey) === v) markRaw(to, toKey, v);
  else clearRaw(to, toKey);
}

/** Would string2l accept s (and so Redis store it as an integer)? */
export function isIntString(s: string): boolean {
  return s.length <= 20 && parseInt64(s) !== null;
}

/** OBJECT ENCODING of a string value: "int", "embstr" (<= 44 bytes) or "raw". */
export function stringEncoding(db: Db, key: string, v: string): string {
  const m = rawMarks.get(db.data);
  if (m !== undefined && m.get(key) === v) return "raw";
  if (isIntString(v)) return "int";
  return v.length <= 44 ? "embstr" : "raw";
}

// ---- helpers ---------------------------------------------------------------------------------

/** A read lookup that Redis counts in keyspace_hits / keyspace_misses. */
function lookupRead(c: Client, key: string): Value | undefined {
  const v = c.db.get(key);
  if (v === undefined) c.server.stats.keyspaceMisses++;
  else c.server.stats.keyspaceHits++;
  return v;
}

function now(c: Client): number {
  return c.server.keyspace.clock();
}

function expireError(name: string): ErrorReply {
  return new ErrorReply(`ERR invalid expire time in '${name}' command`);
}

/** Redis's checkStringLength: would a string of size+append bytes be too long? */
function tooLong(c: Client, size: number, append: number): ErrorReply | null {
  if (c === c.server.internal) return null;
  if (size + append > c.server.config.num("proto-max-bulk-len")) {
    return new ErrorReply("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
  }
  return null;
}

function addInt64(a: number | bigint, b: number | bigint): number | bigint | null {
  if (typeof a === "number" && typeof b === "number") {
    const r = a + b;
    if (Number.isSafeInteger(r)) return r;
  }
  const r = BigInt(a) + BigInt(b);
  if (r > I64_MAX || r < I64_MIN) return null;
  return r <= SAFE_MAX && r >= SAFE_MIN ? Number(r) : r;
}

// ---- SET / GETEX option parsing --------------------------------------------------------------

const F_NX = 1;
const F_XX = 2;
const F_GET = 4;
const F_KEEPTTL = 8;
const F_PERSIST = 16;
const F_EX = 32;
const F_PX = 64;
const F_EXAT = 128;
const F_PXAT = 256;
const F_ANY_EXPIRE = F_EX | F_PX | F_EXAT | F_PXAT;

interface StrOpts {
  flags: number;
  expire: string | null;
}

/** Parse SET (forSet) or GETEX options from argv[start..]; Redis accepts repeats of an option. */
function parseStrOpts(argv: string[], start: number, forSet: boolean): StrOpts | ErrorReply {
  let flags = 0;
  let expire: string | null = null;
  for (let j = start; j < argv.length; j++) {
    const opt = argv[j].toLowerCase();
    const hasNext = j < argv.length - 1;
    if (opt === "nx" && forSet && !(flags & F_XX)) flags |= F_NX;
    else if (opt === "xx" && forSet && !(flags & F_NX)) flags |= F_XX;
    else if (opt === "get" && forSet) flags |= F_GET;
    else if (opt === "keepttl" && forSet && !(flags & (F_PERSIST | F_ANY_EXPIRE))) flags |= F_KEEPTTL;
    else if (opt === "persist" && !forSet && !(flags & (F_ANY_EXPIRE | F_KEEPTTL))) flags |= F_PERSIST;
    else if (
      (opt === "ex" || opt === "px" || opt === "exat" || opt === "pxat") &&
      hasNext &&
      !(flags & (F_KEEPTTL | F_PERSIST))
    ) {
      const f = opt === "ex" ? F_EX : opt === "px" ? F_PX : opt === "exat" ? F_EXAT : F_PXAT;
      if (flags & F_ANY_EXPIRE & ~f) return E_SYNTAX;
      flags |= f;
      expire = argv[++j];
    } else return E_SYNTAX;
  }
  return { flags, expire };
}

/** The absolute expire time in ms for an EX/PX/EXAT/PXAT argument, as Redis validates it. */
function expireAt(c: Client, arg: string, flags: number, name: string): number | ErrorReply {
  const n = parseInt64(arg);
  if (n === null) return E_NOT_INT;
  const seconds = (flags & (F_EX | F_EXAT)) !== 0;
  let v = BigInt(n);
  if (v <= 0n || (seconds && v > I64_MAX / 1000n)) return expireError(name);
  if (seconds) v *= 1000n;
  if (flags & (F_EX | F_PX)) v += BigInt(now(c));
  if (v > I64_MAX) return expireError(name);
  return Number(v);
}

/**
 * SET and the commands built on it (SETNX, SETEX, PSETEX): Redis's setGenericCommand.
 * `okReply` / `abortReply` replace OK / nil (SETNX answers 1 / 0).
 */
function setGeneric(
  c: Client,
  name: string,
  flags: number,
  key: string,
  value: string,
  expire: string | null,
  okReply: Reply,
  abortReply: Reply,
): Reply {
  let at = 0;
  if (expire !== null) {
    const r = expireAt(c, expire, flags, name);
    if (r instanceof ErrorReply) return r;
    at = r;
  }
  let old: Reply = null;
  let found: boolean;
  if (flags & F_GET) {
    const o = lookupRead(c, key);
    if (o !== undefined && typeof o !== "string") return E_WRONGTYPE;
    old = o === undefined ? null : o;
    found = o !== undefined;
  } else found = c.db.get(key) !== undefined;
  if (((flags & F_NX) && found) || ((flags & F_XX) && !found)) return flags & F_GET ? old : abortReply;
  c.db.set(key, value, (flags & F_KEEPTTL) !== 0);
  clearRaw(c.db, key);
  c.server.dirty++;
  c.server.notify("$", "set", key, c.dbIndex);
  if (expire !== null) {
    c.db.setExpire(key, at);
    c.propagate = [["SET", key, value, "PXAT", String(at)]];
    c.server.notify("g", "expire", key, c.dbIndex);
  } else if (flags & F_GET) {
    c.propagate = [["SET", key, value, ...(flags & F_NX ? ["NX"] : []), ...(flags & F_XX ? ["XX"] : []), ...(flags & F_KEEPTTL ? ["KEEPTTL"] : [])]];
  } else if (name !== "set") {
    c.propagate = [["SET", key, value]];
  }
  return flags & F_GET ? old : okReply;
}

/** GET's lookup: the string, null when missing, or WRONGTYPE. */
function getString(c: Client, key: string): string | null | ErrorReply {
  const v = lookupRead(c, key);
  if (v === undefined) return null;
  if (typeof v !== "string") return E_WRONGTYPE;
  return v;
}

function incrDecr(c: Client, key: string, by: number | bigint): Reply {
  const v = c.db.get(key);
  let cur: number | bigint = 0;
  if (v !== undefined) {
    if (typeof v !== "string") return E_WRONGTYPE;
    const n = parseInt64(v);
    if (n === null) return E_NOT_INT;
    cur = n;
  }
  const r = addInt64(cur, by);
  if (r === null) return E_OVERFLOW;
  const text = String(r);
  const db = c.db;
  db.set(key, text, true);
  clearRaw(db, key);
  c.server.dirty++;
  c.server.notify("$", "incrby", key, c.dbIndex);
  return new IntText(text);
}

function getrange(c: Client, argv: string[]): Reply {
  const s = parseInt64(argv[2]);
  if (s === null) return E_NOT_INT;
  const e = parseInt64(argv[3]);
  if (e === null) return E_NOT_INT;
  const v = lookupRead(c, argv[1]);
  if (v === undefined) return "";
  if (typeof v !== "string") return E_WRONGTYPE;
  let start = Number(s);
  let end = Number(e);
  const len = v.length;
  if (start < 0 && end < 0 && start > end) return "";
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) return "";
  return v.slice(start, end + 1);
}

// ---- LCS -------------------------------------------------------------------------------------

function lcs(c: Client, argv: string[]): Reply {
  const va = lookupRead(c, argv[1]);
  const vb = lookupRead(c, argv[2]);
  if ((va !== undefined && typeof va !== "string") || (vb !== undefined && typeof vb !== "string")) {
    return new ErrorReply("ERR The specified keys must contain string values");
  }
  const a = (va as string | undefined) ?? "";
  const b = (vb as string | undefined) ?? "";
  let getIdx = false;
  let getLen = false;
  let withLen = false;
  let minLen = 0;
  for (let j = 3; j < argv.length; j++) {
    const opt = argv[j].toLowerCase();
    const more = argv.length - 1 - j;
    if (opt === "idx") getIdx = true;
    else if (opt === "len") getLen = true;
    else if (opt === "withmatchlen") withLen = true;
    else if (opt === "minmatchlen" && more > 0) {
      const n = parseInt64(argv[++j]);
      if (n === null) return E_NOT_INT;
      minLen = n < 0 ? 0 : Number(n);
    } else return E_SYNTAX;
  }
  if (getIdx && getLen) return new ErrorReply("ERR If you want both the length and indexes, please just use IDX.");
  const alen = a.length;
  const blen = b.length;
  const cells = (alen + 1) * (blen + 1);
  if (cells * 4 > c.server.config.num("proto-max-bulk-len")) {
    return new ErrorReply("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
  }
  let dp: Uint32Array;
  try {
    dp = new Uint32Array(cells);
  } catch {
    return new ErrorReply("ERR Insufficient memory, failed allocating transient memory for LCS");
  }
  const W = blen + 1;
  const bc = new Uint8Array(blen);
  for (let j = 0; j < blen; j++) bc[j] = b.charCodeAt(j);
  for (let i = 1; i <= alen; i++) {
    const ch = a.charCodeAt(i - 1);
    const row = i * W;
    const prev = row - W;
    for (let j = 1; j <= blen; j++) {
      if (ch === bc[j - 1]) dp[row + j] = dp[prev + j - 1] + 1;
      else {
        const up = dp[prev + j];
        const left = dp[row + j - 1];
        dp[row + j] = up > left ? up : left;
      }
    }
  }
  const total = dp[alen * W + blen];
  if (getLen) return total;

  // Walk back from the end, collecting the common subsequence and its contiguous ranges
  // (from the last to the first, as Redis reports them).
  const out: string[] = new Array(total);
  let k = total;
  const matches: Reply[] = [];
  let open = false;
  let aStart = 0;
  let aEnd = 0;
  let bStart = 0;
  let bEnd = 0;
  let i = alen;
  let j = blen;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a.charCodeAt(i - 1) === bc[j - 1]) {
      out[--k] = a[i - 1];
      if (!open) {
        open = true;
        aStart = aEnd = i - 1;
        bStart = bEnd = j - 1;
      } else if (aStart === i && bStart === j) {
        aStart--;
        bStart--;
      } else emit = true;
      if (aStart === 0 || bStart === 0) emit = true;
      i--;
      j--;
    } else {
      if (dp[(i - 1) * W + j] > dp[i * W + j - 1]) i--;
      else j--;
      if (open) emit = true;
    }
    if (emit) {
      const len = aEnd - aStart + 1;
      if (getIdx && (minLen === 0 || len >= minLen)) {
        const m: Reply[] = [[aStart, aEnd], [bStart, bEnd]];
        if (withLen) m.push(len);
        matches.push(m);
      }
      open = false;
    }
  }
  if (getIdx) return new MapReply(["matches", matches, "len", total]);
  return out.join("");
}

// ---- handlers --------------------------------------------------------------------------------

export const handlers: Record<string, Handler> = {
  get(c, argv) {
    return getString(c, argv[1]);
  },

  set(c, argv) {
    const o = parseStrOpts(argv, 3, true);
    if (o instanceof ErrorReply) return o;
    return setGeneric(c, "set", o.flags, argv[1], argv[2], o.expire, OK, null);
  },

  setnx(c, argv) {
    return setGeneric(c, "setnx", F_NX, argv[1], argv[2], null, 1, 0);
  },

  setex(c, argv) {
    return setGeneric(c, "setex", F_EX, argv[1], argv[3], argv[2], OK, null);
  },

  psetex(c, argv) {
    return setGeneric(c, "psetex", F_PX, argv[1], argv[3], argv[2], OK, null);
  },

  getset(c, argv) {
    const old = getString(c, argv[1]);
    if (old instanceof ErrorReply) return old;
    c.db.set(argv[1], argv[2]);
    clearRaw(c.db, argv[1]);
    c.server.dirty++;
    c.server.notify("$", "set", argv[1], c.dbIndex);
    c.propagate = [["SET", argv[1], argv[2]]];
    return old;
  },

  getdel(c, argv) {
    const old = getString(c, argv[1]);
    if (old === null || old instanceof ErrorReply) return old;
    c.db.delete(argv[1]);
    clearRaw(c.db, argv[1]);
    c.server.dirty++;
    c.server.notify("g", "del", argv[1], c.dbIndex);
    c.propagate = [["DEL", argv[1]]];
    return old;
  },

  getex(c, argv) {
    const o = parseStrOpts(argv, 2, false);
    if (o instanceof ErrorReply) return o;
    const key = argv[1];
    const v = getString(c, key);
    if (v === null || v instanceof ErrorReply) return v;
    let at = 0;
    if (o.expire !== null) {
      const r = expireAt(c, o.expire, o.flags, "getex");
      if (r instanceof ErrorReply) return r;
      at = r;
    }
    if (o.flags & (F_EXAT | F_PXAT) && c.server.alreadyExpired(at)) {
      c.db.delete(key);
      clearRaw(c.db, key);
      c.propagate = [[c.server.config.bool("lazyfree-lazy-expire") ? "UNLINK" : "DEL", key]];
      c.server.notify("g", "del", key, c.dbIndex);
      c.server.dirty++;
    } else if (o.expire !== null) {
      c.db.setExpire(key, at);
      c.propagate = [["PEXPIREAT", key, String(at)]];
      c.server.notify("g", "expire", key, c.dbIndex);
      c.server.dirty++;
    } else if (o.flags & F_PERSIST) {
      if (c.db.persist(key)) {
        c.propagate = [["PERSIST", key]];
        c.server.notify("g", "persist", key, c.dbIndex);
        c.server.dirty++;
      }
    }
    return v;
  },

  mget(c, argv) {
    const out: Reply[] = [];
    for (let j = 1; j < argv.length; j++) {
      const v = lookupRead(c, argv[j]);
      out.push(typeof v === "string" ? v : null);
    }
    return out;
  },

  mset(c, argv) {
    if (argv.length % 2 === 0) return new ErrorReply("ERR wrong number of arguments for 'mset' command");
    for (let j = 1; j < argv.length; j += 2) {
      c.db.set(argv[j], argv[j + 1]);
      clearRaw(c.db, argv[j]);
      c.server.notify("$", "set", argv[j], c.dbIndex);
    }
    c.server.dirty += (argv.length - 1) / 2;
    return OK;
  },

  msetnx(c, argv) {
    if (argv.length % 2 === 0) return new ErrorReply("ERR wrong number of arguments for 'msetnx' command");
    for (let j = 1; j < argv.length; j += 2) if (c.db.get(argv[j]) !== undefined) return 0;
    for (let j = 1; j < argv.length; j += 2) {
      c.db.set(argv[j], argv[j + 1]);
      clearRaw(c.db, argv[j]);
      c.server.notify("$", "set", argv[j], c.dbIndex);
    }
    c.server.dirty += (argv.length - 1) / 2;
    return 1;
  },

  incr(c, argv) {
    return incrDecr(c, argv[1], 1);
  },

  decr(c, argv) {
    return incrDecr(c, argv[1], -1);
  },

  incrby(c, argv) {
    const n = parseInt64(argv[2]);
    if (n === null) return E_NOT_INT;
    return incrDecr(c, argv[1], n);
  },

  decrby(c, argv) {
    const n = parseInt64(argv[2]);
    if (n === null) return E_NOT_INT;
    if (n === I64_MIN) return new ErrorReply("ERR decrement would overflow");
    return incrDecr(c, argv[1], typeof n === "bigint" ? -n : -n);
  },

  incrbyfloat(c, argv) {
    const key = argv[1];
    const v = c.db.get(key);
    if (v !== undefined && typeof v !== "string") return E_WRONGTYPE;
    const r = incrByFloatString(v, argv[2]);
    if (typeof r !== "string") {
      return new ErrorReply(r.error === "value" ? "ERR value is not a valid float" : "ERR increment would produce NaN or Infinity");
    }
    c.db.set(key, r, true);
    clearRaw(c.db, key);
    c.server.dirty++;
    c.server.notify("$", "incrbyfloat", key, c.dbIndex);
    c.propagate = [["SET", key, r, "KEEPTTL"]];
    return r;
  },

  append(c, argv) {
    const key = argv[1];
    const add = argv[2];
    const v = c.db.get(key);
    let len: number;
    if (v === undefined) {
      c.db.set(key, add);
      clearRaw(c.db, key);
      len = add.length;
    } else {
      if (typeof v !== "string") return E_WRONGTYPE;
      const e = tooLong(c, v.length, add.length);
      if (e) return e;
      let nv: string;
      try {
        nv = v + add;
      } catch {
        return new ErrorReply("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
      }
      c.db.set(key, nv, true);
      markRaw(c.db, key, nv);
      len = nv.length;
    }
    c.server.notify("$", "append", key, c.dbIndex);
    c.server.dirty++;
    return len;
  },

  strlen(c, argv) {
    const v = lookupRead(c, argv[1]);
    if (v === undefined) return 0;
    if (typeof v !== "string") return E_WRONGTYPE;
    return v.length;
  },

  getrange,
  substr: getrange,

  setrange(c, argv) {
    const key = argv[1];
    const value = argv[3];
    const off = parseInt64(argv[2]);
    if (off === null) return E_NOT_INT;
    if (off < 0) return new ErrorReply("ERR offset is out of range");
    const offset = Number(off);
    const v = c.db.get(key);
    let cur: string;
    if (v === undefined) {
      if (value.length === 0) return 0;
      const e = tooLong(c, offset, value.length);
      if (e) return e;
      cur = "";
    } else {
      if (typeof v !== "string") return E_WRONGTYPE;
      if (value.length === 0) return v.length;
      const e = tooLong(c, offset, value.length);
      if (e) return e;
      cur = v;
    }
    let nv: string;
    try {
      if (offset > cur.length) nv = cur + "\0".repeat(offset - cur.length) + value;
      else nv = cur.slice(0, offset) + value + cur.slice(offset + value.length);
    } catch {
      return new ErrorReply("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    }
    c.db.set(key, nv, true);
    markRaw(c.db, key, nv);
    c.server.notify("$", "setrange", key, c.dbIndex);
    c.server.dirty++;
    return nv.length;
  },

  lcs,
};
