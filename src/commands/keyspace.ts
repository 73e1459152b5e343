/**
 * Generic keyspace commands: DEL UNLINK EXISTS TYPE EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL
 * EXPIRETIME PEXPIRETIME PERSIST KEYS SCAN RENAME RENAMENX RANDOMKEY COPY MOVE TOUCH and
 * OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT|HELP, with Redis 7.2's replies and errors:
 * - EXPIRE family: "ERR Unsupported option <opt>", "ERR NX and XX, GT or LT options at the
 *   same time are not compatible", "ERR GT and LT options at the same time are not
 *   compatible" (options are checked before the time), "ERR value is not an integer or out of
 *   range", "ERR invalid expire time in '<cmd>' command" on overflow. A time in the past
 *   deletes the key (event "del", journaled as DEL); otherwise journaled as PEXPIREAT key ms.
 * - SCAN: "ERR invalid cursor", COUNT < 1 -> "ERR syntax error"; an unknown TYPE matches
 *   nothing. Every key present for the whole iteration is returned (live cursors, see
 *   ScanCursors in src/store/keyspace.ts). KEYS and SCAN skip expired keys.
 * - RENAME / RENAMENX: "ERR no such key"; the TTL moves with the value; same name -> OK / 0.
 * - COPY / MOVE: "ERR DB index is out of range", "ERR source and destination objects are the
 *   same"; collections are deep-copied; the TTL is kept.
 * - OBJECT: nil for a missing key; FREQ needs an LFU maxmemory-policy, IDLETIME a non-LFU one
 *   (idle time is not tracked: 0). Encodings follow Redis's default thresholds from the config.
 * Keyspace events: del, expire, persist, rename_from / rename_to, copy_to, move_from / move_to.
 */
import { ErrorReply, OK, Simple, type Reply } from "../resp/reply.ts";
import type { Handler } from "./table.ts";
import type { Client } from "../client.ts";
import { typeOf, type Db, type Value } from "../store/keyspace.ts";
import { E_DB_RANGE, E_NOT_INT, E_NO_KEY, E_SYNTAX, parseInt64 } from "./util.ts";
import { globMatch } from "../acl/glob.ts";
import { copyRaw, clearRaw, isIntString, stringEncoding } from "./strings.ts";

const I64_MAX = 9223372036854775807n;
const I64_MIN = -9223372036854775808n;
const U64_MAX = 18446744073709551615n;
const E_SAME_OBJECT = new ErrorReply("ERR source and destination objects are the same");

function lookupRead(c: Client, key: string): Value | undefined {
  const v = c.db.get(key);
  if (v === undefined) c.server.stats.keyspaceMisses++;
  else c.server.stats.keyspaceHits++;
  return v;
}

function now(c: Client): number {
  return c.server.keyspace.clock();
}

/** A key is logically expired (without removing it). */
function isExpired(db: Db, key: string, t: number): boolean {
  if (db.expires.size === 0) return false;
  const at = db.expires.get(key);
  return at !== undefined && at <= t;
}

function delGeneric(c: Client, argv: string[]): Reply {
  let n = 0;
  for (let j = 1; j < argv.length; j++) {
    const k = argv[j];
    if (c.db.get(k) === undefined) continue;
    c.db.delete(k);
    clearRaw(c.db, k);
    c.server.notify("g", "del", k, c.dbIndex);
    n++;
  }
  c.server.dirty += n;
  return n;
}

// ---- expiry ----------------------------------------------------------------------------------

function expireGeneric(c: Client, argv: string[], name: string, base: number, seconds: boolean): Reply {
  const key = argv[1];
  let nx = false;
  let xx = false;
  let gt = false;
  let lt = false;
  for (let j = 3; j < argv.length; j++) {
    const o = argv[j].toLowerCase();
    if (o === "nx") nx = true;
    else if (o === "xx") xx = true;
    else if (o === "gt") gt = true;
    else if (o === "lt") lt = true;
    else return new ErrorReply(`ERR Unsupported option ${argv[j]}`);
  }
  if (nx && (xx || gt || lt)) return new ErrorReply("ERR NX and XX, GT or LT options at the same time are not compatible");
  if (gt && lt) return new ErrorReply("ERR GT and LT options at the same time are not compatible");
  const n = parseInt64(argv[2]);
  if (n === null) return E_NOT_INT;
  let when = BigInt(n);
  const bad = () => new ErrorReply(`ERR invalid expire time in '${name}' command`);
  if (seconds) {
    if (when > I64_MAX / 1000n || when < I64_MIN / 1000n) return bad();
    when *= 1000n;
  }
  if (when > I64_MAX - BigInt(base)) return bad();
  when += BigInt(base);
  if (c.db.get(key) === undefined) return 0;
  const cur = c.db.ttl(key);
  if (nx && cur !== undefined) return 0;
  if (xx && cur === undefined) return 0;
  if (gt && (cur === undefined || when <= cur)) return 0;
  if (lt && cur !== undefined && when >= cur) return 0;
  const at = Number(when);
  if (c.server.alreadyExpired(at)) {
    c.db.delete(key);
    clearRaw(c.db, key);
    c.server.dirty++;
    c.propagate = [[c.server.config.bool("lazyfree-lazy-expire") ? "UNLINK" : "DEL", key]];
    c.server.notify("g", "del", key, c.dbIndex);
    return 1;
  }
  c.db.setExpire(key, at);
  c.propagate = [["PEXPIREAT", key, when.toString()]];
  c.server.notify("g", "expire", key, c.dbIndex);
  c.server.dirty++;
  return 1;
}

function ttlGeneric(c: Client, key: string, ms: boolean, abs: boolean): Reply {
  if (lookupRead(c, key) === undefined) return -2;
  const at = c.db.ttl(key);
  if (at === undefined) return -1;
  let t = abs ? at : at - now(c);
  if (t < 0) t = 0;
  return ms ? t : Math.floor((t + 500) / 1000);
}

// ---- SCAN / KEYS -----------------------------------------------------------------------------

/** Redis parses cursors with strtoul: optional sign, digits, no spaces; "" is 0. */
function parseCursor(s: string): string | null {
  if (s === "") return "0";
  if (!/^[+-]?[0-9]+$/.test(s)) return null;
  let v = BigInt(s);
  if (v > U64_MAX || v < -U64_MAX) return null;
  if (v < 0n) v += U64_MAX + 1n;
  return v.toString();
}

function scan(c: Client, argv: string[]): Reply {
  const cursor = parseCursor(argv[1]);
  if (cursor === null) return new ErrorReply("ERR invalid cursor");
  let count = 10;
  let pattern: string | null = null;
  let type: string | null = null;
  for (let i = 2; i < argv.length; ) {
    const opt = argv[i].toLowerCase();
    const left = argv.length - i;
    if (opt === "count" && left >= 2) {
      const n = parseInt64(argv[i + 1]);
      if (n === null) return E_NOT_INT;
      if (n < 1) return E_SYNTAX;
      count = Number(n);
      i += 2;
    } else if (opt === "match" && left >= 2) {
      pattern = argv[i + 1] === "*" ? null : argv[i + 1];
      i += 2;
    } else if (opt === "type" && left >= 2) {
      type = argv[i + 1].toLowerCase();
      i += 2;
    } else return E_SYNTAX;
  }
  const db = c.db;
  const data = db.data;
  const { items, next } = c.server.scanCursors.scan(data, () => data.keys(), cursor, Math.min(count, 1 << 30));
  const out: string[] = [];
  for (const k of items) {
    if (pattern !== null && !globMatch(pattern, k)) continue;
    if (type !== null) {
      const v = data.get(k);
      if (v === undefined || typeOf(v) !== type) continue;
    }
    if (db.get(k) === undefined) continue; // removes it when expired
    out.push(k);
  }
  return [next, out];
}

function keys(c: Client, argv: string[]): Reply {
  const pat = argv[1];
  const all = pat === "*";
  const t = now(c);
  const out: string[] = [];
  for (const k of c.db.data.keys()) {
    if (!all && !globMatch(pat, k)) continue;
    if (isExpired(c.db, k, t)) continue;
    out.push(k);
  }
  return out;
}

// ---- RENAME / COPY / MOVE --------------------------------------------------------------------

function rename(c: Client, argv: string[], nx: boolean): Reply {
  const src = argv[1];
  const dst = argv[2];
  const v = c.db.get(src);
  if (v === undefined) return E_NO_KEY;
  if (src === dst) return nx ? 0 : OK;
  const at = c.db.ttl(src);
  if (c.db.get(dst) !== undefined) {
    if (nx) return 0;
    c.db.delete(dst);
  }
  c.db.set(dst, v);
  if (at !== undefined) c.db.setExpire(dst, at);
  if (typeof v === "string") copyRaw(c.db, src, c.db, dst);
  c.db.delete(src);
  clearRaw(c.db, src);
  c.server.notify("g", "rename_from", src, c.dbIndex);
  c.server.notify("g", "rename_to", dst, c.dbIndex);
  c.server.dirty++;
  return nx ? 1 : OK;
}

/** An independent copy of a value (strings are immutable and shared). */
export function cloneValue(v: Value): Value {
  if (typeof v === "string") return v;
  if (v instanceof Map) return new Map(v);
  if (v instanceof Set) return new Set(v);
  const o = v as unknown as { clone?: () => Value };
  if (typeof o.clone === "function") return o.clone();
  throw new Error(`cannot copy a ${v.type}`);
}

/** Redis's getIntFromObjectOrReply + selectDb for a DB argument. */
function dbArg(c: Client, s: string): Db | ErrorReply {
  const n = parseInt64(s);
  if (n === null || n > 2147483647 || n < -2147483648) return E_NOT_INT;
  const dbs = c.server.keyspace.dbs;
  if (n < 0 || n >= dbs.length) return E_DB_RANGE;
  return dbs[Number(n)];
}

function copy(c: Client, argv: string[]): Reply {
  let dst = c.db;
  let replace = false;
  for (let j = 3; j < argv.length; j++) {
    const opt = argv[j].toLowerCase();
    if (opt === "replace") replace = true;
    else if (opt === "db" && j + 1 < argv.length) {
      const d = dbArg(c, argv[++j]);
      if (d instanceof ErrorReply) return d;
      dst = d;
    } else return E_SYNTAX;
  }
  const key = argv[1];
  const newkey = argv[2];
  if (dst === c.db && key === newkey) return E_SAME_OBJECT;
  const v = lookupRead(c, key);
  if (v === undefined) return 0;
  const at = c.db.ttl(key);
  if (dst.get(newkey) !== undefined) {
    if (!replace) return 0;
    dst.delete(newkey);
  }
  dst.set(newkey, cloneValue(v));
  if (at !== undefined) dst.setExpire(newkey, at);
  if (typeof v === "string") copyRaw(c.db, key, dst, newkey);
  c.server.notify("g", "copy_to", newkey, dst.index);
  c.server.dirty++;
  return 1;
}

function move(c: Client, argv: string[]): Reply {
  const key = argv[1];
  const dst = dbArg(c, argv[2]);
  if (dst instanceof ErrorReply) return dst;
  const src = c.db;
  if (dst === src) return E_SAME_OBJECT;
  const v = src.get(key);
  if (v === undefined) return 0;
  const at = src.ttl(key);
  if (dst.get(key) !== undefined) return 0;
  dst.set(key, v);
  if (at !== undefined) dst.setExpire(key, at);
  if (typeof v === "string") copyRaw(src, key, dst, key);
  src.delete(key);
  clearRaw(src, key);
  c.server.notify("g", "move_from", key, src.index);
  c.server.notify("g", "move_to", key, dst.index);
  c.server.dirty++;
  return 1;
}

// ---- OBJECT ----------------------------------------------------------------------------------

/** Bytes a listpack entry takes for s (encoding + data + back-length), as Redis lays it out. */
function listpackEntrySize(s: string): number {
  let len: number;
  const n = s.length <= 20 ? parseInt64(s) : null;
  if (n !== null) {
    if (n >= 0 && n <= 127) len = 1;
    else if (n >= -4096 && n <= 4095) len = 2;
    else if (n >= -32768 && n <= 32767) len = 3;
    else if (n >= -8388608 && n <= 8388607) len = 4;
    else if (n >= -2147483648 && n <= 2147483647) len = 5;
    else len = 9;
  } else if (s.length < 64) len = 1 + s.length;
  else if (s.length < 4096) len = 2 + s.length;
  else len = 5 + s.length;
  const back = len <= 127 ? 1 : len < 16383 ? 2 : len < 2097151 ? 3 : len < 268435455 ? 4 : 5;
  return len + back;
}

function listEncoding(c: Client, v: Value): string {
  const fill = c.server.config.num("list-max-listpack-size");
  const l = v as unknown as { length?: number; toArray(): string[] };
  if (fill >= 0) {
    const len = l.length ?? l.toArray().length;
    if (len > fill) return "quicklist";
  }
  const limit = fill >= 0 ? 8192 : [4096, 8192, 16384, 32768, 65536][Math.min(-fill, 5) - 1];
  if (l.length !== undefined && l.length * 2 + 7 > limit) return "quicklist";
  let bytes = 7;
  for (const s of l.toArray()) {
    bytes += listpackEntrySize(s);
    if (bytes > limit) return "quicklist";
  }
  return "listpack";
}

function encodingOf(c: Client, key: string, v: Value): string {
  const cfg = c.server.config;
  if (typeof v === "string") return stringEncoding(c.db, key, v);
  if (v instanceof Map) {
    const maxLen = cfg.num("hash-max-listpack-value");
    if (v.size > cfg.num("hash-max-listpack-entries")) return "hashtable";
    for (const [f, x] of v) if (f.length > maxLen || x.length > maxLen) return "hashtable";
    return "listpack";
  }
  if (v instanceof Set) {
    let ints = v.size <= cfg.num("set-max-intset-entries");
    if (ints) {
      for (const m of v) {
        if (!isIntString(m)) {
          ints = false;
          break;
        }
      }
    }
    if (ints) return "intset";
    if (v.size > cfg.num("set-max-listpack-entries")) return "hashtable";
    const maxLen = cfg.num("set-max-listpack-value");
    for (const m of v) if (m.length > maxLen) return "hashtable";
    return "listpack";
  }
  if (v.type === "list") return listEncoding(c, v);
  const z = v as unknown as { size?: number; entries(): Iterable<[string, number]> };
  const maxEntries = cfg.num("zset-max-listpack-entries");
  if (z.size !== undefined && z.size > maxEntries) return "skiplist";
  const maxLen = cfg.num("zset-max-listpack-value");
  let n = 0;
  for (const [m] of z.entries()) {
    if (++n > maxEntries || m.length > maxLen) return "skiplist";
  }
  return "listpack";
}

const OBJECT_HELP = [
  "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "ENCODING <key>",
  "    Return the kind of internal representation used in order to store the value",
  "    associated with a <key>.",
  "FREQ <key>",
  "    Return the access frequency index of the <key>. The returned integer is",
  "    proportional to the logarithm of the recent access frequency of the key.",
  "IDLETIME <key>",
  "    Return the idle time of the <key>, that is the approximated number of",
  "    seconds elapsed since the last access to the key.",
  "REFCOUNT <key>",
  "    Return the number of references of the value associated with the specified",
  "    <key>.",
  "HELP",
  "    Print this help.",
];

function lfuPolicy(c: Client): boolean {
  return c.server.config.str("maxmemory-policy").includes("lfu");
}

// ---- handlers --------------------------------------------------------------------------------

export const handlers: Record<string, Handler> = {
  del: delGeneric,
  unlink: delGeneric,

  exists(c, argv) {
    let n = 0;
    for (let j = 1; j < argv.length; j++) if (lookupRead(c, argv[j]) !== undefined) n++;
    return n;
  },

  type(c, argv) {
    const v = lookupRead(c, argv[1]);
    return new Simple(v === undefined ? "none" : typeOf(v));
  },

  expire: (c, argv) => expireGeneric(c, argv, "expire", now(c), true),
  pexpire: (c, argv) => expireGeneric(c, argv, "pexpire", now(c), false),
  expireat: (c, argv) => expireGeneric(c, argv, "expireat", 0, true),
  pexpireat: (c, argv) => expireGeneric(c, argv, "pexpireat", 0, false),

  ttl: (c, argv) => ttlGeneric(c, argv[1], false, false),
  pttl: (c, argv) => ttlGeneric(c, argv[1], true, false),
  expiretime: (c, argv) => ttlGeneric(c, argv[1], false, true),
  pexpiretime: (c, argv) => ttlGeneric(c, argv[1], true, true),

  persist(c, argv) {
    const key = argv[1];
    if (c.db.get(key) === undefined) return 0;
    if (!c.db.persist(key)) return 0;
    c.server.notify("g", "persist", key, c.dbIndex);
    c.server.dirty++;
    return 1;
  },

  keys,
  scan,

  rename: (c, argv) => rename(c, argv, false),
  renamenx: (c, argv) => rename(c, argv, true),

  randomkey(c) {
    return c.db.randomKey();
  },

  copy,
  move,

  touch(c, argv) {
    let n = 0;
    for (let j = 1; j < argv.length; j++) if (lookupRead(c, argv[j]) !== undefined) n++;
    return n;
  },

  "object|encoding"(c, argv) {
    const v = lookupRead(c, argv[2]);
    if (v === undefined) return null;
    return encodingOf(c, argv[2], v);
  },

  "object|refcount"(c, argv) {
    const v = lookupRead(c, argv[2]);
    if (v === undefined) return null;
    if (typeof v === "string" && stringEncoding(c.db, argv[2], v) === "int") {
      const n = parseInt64(v)!;
      const policy = c.server.config.str("maxmemory-policy");
      const shared = c.server.config.num("maxmemory") === 0 || !(policy.includes("lru") || policy.includes("lfu"));
      if (shared && n >= 0 && n < 10000) return 2147483647;
    }
    return 1;
  },

  "object|idletime"(c, argv) {
    const v = lookupRead(c, argv[2]);
    if (v === undefined) return null;
    if (lfuPolicy(c)) {
      return new ErrorReply(
        "ERR An LRU maxmemory policy is not selected, access time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
      );
    }
    return 0;
  },

  "object|freq"(c, argv) {
    const v = lookupRead(c, argv[2]);
    if (v === undefined) return null;
    if (!lfuPolicy(c)) {
      return new ErrorReply(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
      );
    }
    return 5; // LFU_INIT_VAL: access frequency is not tracked
  },

  "object|help": () => OBJECT_HELP.map((l) => new Simple(l)),
};
