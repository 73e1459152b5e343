/**
 * Bitmap commands on string values (Redis 7.2 semantics): SETBIT GETBIT BITCOUNT BITPOS BITOP
 * BITFIELD BITFIELD_RO.
 *
 * Strings are binary strings (one char per byte); bit 0 is the most significant bit of
 * byte 0. A missing key reads as an endless run of zero bits; writes grow the string with
 * zero bytes (up to proto-max-bulk-len bytes) and keep the key's TTL.
 * Errors: "ERR bit offset is not an integer or out of range", "ERR bit is not an integer or
 * out of range", "ERR The bit argument must be 1 or 0.", "ERR BITOP NOT must be called with
 * a single source key.", "ERR Invalid bitfield type. Use something like i16 u8. Note that u64
 * is not supported but i64 is.", "ERR Invalid OVERFLOW type specified",
 * "ERR BITFIELD_RO only supports the GET subcommand", "ERR syntax error", WRONGTYPE, and
 * "ERR value is not an integer or out of range" for integer arguments.
 * As in Redis 7.2, BITCOUNT / BITPOS look the key up before parsing their range (a missing
 * key answers 0 / the -1-or-0 rule whatever follows).
 * Keyspace events: "setbit" (SETBIT / BITFIELD writes that grew the string or changed bits;
 * an unchanged SETBIT is not a write), "set" (BITOP), generic "del" (BITOP with an empty
 * result removing the target).
 */
import { Buffer } from "node:buffer";
import { ErrorReply, type Reply } from "../resp/reply.ts";
import type { Handler } from "./table.ts";
import type { Client } from "../client.ts";
import { E_NOT_INT, E_SYNTAX, E_WRONGTYPE, is, parseInt64 } from "./util.ts";

const E_OFFSET = new ErrorReply("ERR bit offset is not an integer or out of range");
const E_BIT = new ErrorReply("ERR bit is not an integer or out of range");
const E_BFTYPE = new ErrorReply("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.");

const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1];

function readStr(c: Client, key: string): string | undefined | ErrorReply {
  const v = c.db.get(key);
  if (v === undefined) {
    c.server.stats.keyspaceMisses++;
    return undefined;
  }
  c.server.stats.keyspaceHits++;
  return typeof v === "string" ? v : E_WRONGTYPE;
}

function writeStr(c: Client, key: string): string | undefined | ErrorReply {
  const v = c.db.get(key);
  if (v === undefined) return undefined;
  return typeof v === "string" ? v : E_WRONGTYPE;
}

/**
 * A bit offset argument (Redis getBitOffsetFromArgument): "#N" means N * bits when `bits` is
 * given (BITFIELD); the byte it falls in must be below proto-max-bulk-len.
 */
function bitOffset(c: Client, s: string, bits = 0): number | null {
  const hash = bits > 0 && s.length > 0 && s[0] === "#";
  const n = parseInt64(hash ? s.slice(1) : s);
  if (n === null || typeof n === "bigint") return null;
  const off = hash ? n * bits : n;
  if (off < 0 || Math.floor(off / 8) >= c.server.config.num("proto-max-bulk-len")) return null;
  return off;
}

/** A C long long argument as a number (bigints clamped: only comparisons follow). */
function llArg(s: string): number | null {
  const n = parseInt64(s);
  if (n === null) return null;
  if (typeof n === "bigint") return n > 0n ? Number.MAX_SAFE_INTEGER : -Number.MAX_SAFE_INTEGER;
  return n;
}

function setbit(c: Client, argv: string[]): Reply {
  const key = argv[1];
  const off = bitOffset(c, argv[2]);
  if (off === null) return E_OFFSET;
  if (argv[3] !== "0" && argv[3] !== "1") return E_BIT;
  const on = argv[3] === "1";
  const cur = writeStr(c, key);
  if (cur instanceof ErrorReply) return cur;
  let s = cur ?? "";
  const byte = Math.floor(off / 8);
  const mask = 1 << (7 - (off % 8));
  const grown = cur === undefined || byte >= s.length;
  if (byte >= s.length) s += "\0".repeat(byte - s.length + 1);
  const old = s.charCodeAt(byte);
  const nb = on ? old | mask : old & ~mask & 0xff;
  // Like Redis, an unchanged bit in an existing, long enough string is not a write.
  if (grown || nb !== old) {
    if (nb !== old) s = s.slice(0, byte) + String.fromCharCode(nb) + s.slice(byte + 1);
    c.db.set(key, s, true);
    c.server.notify("$", "setbit", key, c.dbIndex);
    c.server.dirty++;
  }
  return old & mask ? 1 : 0;
}

function getbit(c: Client, argv: string[]): Reply {
  const off = bitOffset(c, argv[2]);
  if (off === null) return E_OFFSET;
  const s = readStr(c, argv[1]);
  if (s instanceof ErrorReply) return s;
  if (s === undefined) return 0;
  const byte = Math.floor(off / 8);
  if (byte >= s.length) return 0;
  return (s.charCodeAt(byte) >> (7 - (off % 8))) & 1;
}

/** Clamp a start/end pair over `total` units as BITCOUNT/BITPOS do; null when empty. */
function clampRange(start: number, end: number, total: number): [number, number] | null {
  if (start < 0) start += total;
  if (end < 0) end += total;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= total) end = total - 1;
  return start > end ? null : [start, end];
}

function bitAt(s: string, i: number): number {
  return (s.charCodeAt(i >>> 3) >> (7 - (i & 7))) & 1;
}

/** Set bits in the inclusive bit range [from, to] of s. */
function countBits(s: string, from: number, to: number): number {
  let n = 0;
  let i = from;
  while (i <= to && (i & 7) !== 0) n += bitAt(s, i++);
  while (i + 7 <= to) {
    n += POPCOUNT[s.charCodeAt(i >>> 3)];
    i += 8;
  }
  while (i <= to) n += bitAt(s, i++);
  return n;
}

function bitcount(c: Client, argv: string[]): Reply {
  // Redis 7.2 looks the key up before parsing the range (a missing key answers 0 whatever follows).
  const s = readStr(c, argv[1]);
  if (s instanceof ErrorReply) return s;
  if (s === undefined) return 0;
  if (argv.length === 4 || argv.length === 5) {
    const start = llArg(argv[2]);
    if (start === null) return E_NOT_INT;
    const end = llArg(argv[3]);
    if (end === null) return E_NOT_INT;
    let isBit = false;
    if (argv.length === 5) {
      if (is(argv[4], "bit")) isBit = true;
      else if (!is(argv[4], "byte")) return E_SYNTAX;
    }
    if (start < 0 && end < 0 && start > end) return 0;
    const range = clampRange(start, end, isBit ? s.length * 8 : s.length);
    if (range === null) return 0;
    const [from, to] = isBit ? range : [range[0] * 8, range[1] * 8 + 7];
    return countBits(s, from, to);
  }
  if (argv.length !== 2) return E_SYNTAX;
  if (s.length === 0) return 0;
  return countBits(s, 0, s.length * 8 - 1);
}

function bitpos(c: Client, argv: string[]): Reply {
  const bit = llArg(argv[2]);
  if (bit === null) return E_NOT_INT;
  if (bit !== 0 && bit !== 1) return new ErrorReply("ERR The bit argument must be 1 or 0.");
  // As in Redis 7.2, a missing key answers before the range is parsed.
  const s = readStr(c, argv[1]);
  if (s instanceof ErrorReply) return s;
  if (s === undefined) return bit ? -1 : 0;
  let from: number;
  let to: number;
  let endGiven = false;
  if (argv.length >= 4 && argv.length <= 6) {
    const start = llArg(argv[3]);
    if (start === null) return E_NOT_INT;
    let isBit = false;
    if (argv.length === 6) {
      if (is(argv[5], "bit")) isBit = true;
      else if (!is(argv[5], "byte")) return E_SYNTAX;
    }
    let end: number;
    if (argv.length >= 5) {
      const e = llArg(argv[4]);
      if (e === null) return E_NOT_INT;
      end = e;
      endGiven = true;
    } else end = isBit ? s.length * 8 + 7 : s.length - 1;
    const r = clampRange(start, end, isBit ? s.length * 8 : s.length);
    if (r === null) return -1;
    [from, to] = isBit ? r : [r[0] * 8, r[1] * 8 + 7];
  } else if (argv.length === 3) {
    if (s.length === 0) return -1;
    from = 0;
    to = s.length * 8 - 1;
  } else return E_SYNTAX;
  let i = from;
  while (i <= to && (i & 7) !== 0) {
    if (bitAt(s, i) === bit) return i;
    i++;
  }
  const skip = bit ? 0 : 0xff;
  while (i + 7 <= to && s.charCodeAt(i >>> 3) === skip) i += 8;
  for (; i <= to; i++) if (bitAt(s, i) === bit) return i;
  if (bit === 1 || endGiven) return -1;
  return to + 1;
}

function bitop(c: Client, argv: string[]): Reply {
  const op = argv[1].toLowerCase();
  if (op !== "and" && op !== "or" && op !== "xor" && op !== "not") return E_SYNTAX;
  const dst = argv[2];
  const keys = argv.slice(3);
  if (op === "not" && keys.length !== 1) return new ErrorReply("ERR BITOP NOT must be called with a single source key.");
  const srcs: string[] = [];
  let maxlen = 0;
  for (const k of keys) {
    const v = readStr(c, k);
    if (v instanceof ErrorReply) return v;
    const s = v ?? "";
    srcs.push(s);
    if (s.length > maxlen) maxlen = s.length;
  }
  if (maxlen === 0) {
    if (c.db.delete(dst)) {
      c.server.notify("g", "del", dst, c.dbIndex);
      c.server.dirty++;
    }
    return 0;
  }
  const out = new Uint8Array(maxlen);
  if (op === "not") {
    const s = srcs[0];
    for (let i = 0; i < maxlen; i++) out[i] = ~s.charCodeAt(i) & 0xff;
  } else {
    for (let i = 0; i < maxlen; i++) {
      let acc = i < srcs[0].length ? srcs[0].charCodeAt(i) : 0;
      for (let k = 1; k < srcs.length; k++) {
        const b = i < srcs[k].length ? srcs[k].charCodeAt(i) : 0;
        if (op === "and") acc &= b;
        else if (op === "or") acc |= b;
        else acc ^= b;
      }
      out[i] = acc;
    }
  }
  c.db.set(dst, Buffer.from(out).toString("latin1"));
  c.server.notify("$", "set", dst, c.dbIndex);
  c.server.dirty++;
  return maxlen;
}

// ---- BITFIELD ----------------------------------------------------------------------------------

type Overflow = "wrap" | "sat" | "fail";

interface BfOp {
  op: "get" | "set" | "incrby";
  signed: boolean;
  bits: number;
  offset: number;
  value: bigint;
  overflow: Overflow;
}

function bfType(s: string): { signed: boolean; bits: number } | null {
  if (s.length < 2) return null;
  const signed = s[0] === "i";
  if (!signed && s[0] !== "u") return null;
  const n = parseInt64(s.slice(1));
  if (n === null || typeof n === "bigint" || n < 1 || n > (signed ? 64 : 63)) return null;
  return { signed, bits: n };
}

function getBits(buf: Uint8Array, offset: number, bits: number): bigint {
  let v = 0n;
  for (let j = 0; j < bits; j++) {
    const o = offset + j;
    const byte = Math.floor(o / 8);
    const b = byte < buf.length ? (buf[byte] >> (7 - (o % 8))) & 1 : 0;
    v = (v << 1n) | BigInt(b);
  }
  return v;
}

function setBits(buf: Uint8Array, offset: number, bits: number, value: bigint): void {
  const u = BigInt.asUintN(bits, value);
  for (let j = 0; j < bits; j++) {
    const o = offset + j;
    const byte = Math.floor(o / 8);
    const mask = 1 << (7 - (o % 8));
    if ((u >> BigInt(bits - 1 - j)) & 1n) buf[byte] |= mask;
    else buf[byte] &= ~mask & 0xff;
  }
}

function intReply(v: bigint): Reply {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

/** value + incr checked against the field's range: [result, overflowed]. */
function fieldAdd(value: bigint, incr: bigint, signed: boolean, bits: number, ow: Overflow): [bigint, boolean] {
  const sum = value + incr;
  if (signed) {
    const max = (1n << BigInt(bits - 1)) - 1n;
    const min = -max - 1n;
    if (sum > max) return [ow === "sat" ? max : BigInt.asIntN(bits, sum), true];
    if (sum < min) return [ow === "sat" ? min : BigInt.asIntN(bits, sum), true];
    return [sum, false];
  }
  const max = (1n << BigInt(bits)) - 1n;
  if (sum > max) return [ow === "sat" ? max : BigInt.asUintN(bits, sum), true];
  if (sum < 0n) return [ow === "sat" ? 0n : BigInt.asUintN(bits, sum), true];
  return [sum, false];
}

function bitfield(c: Client, argv: string[], ro: boolean): Reply {
  const key = argv[1];
  const ops: BfOp[] = [];
  let overflow: Overflow = "wrap";
  let readonly = true;
  let highest = -1;
  for (let j = 2; j < argv.length; j++) {
    const rem = argv.length - j - 1;
    const sub = argv[j].toLowerCase();
    let op: BfOp["op"];
    if (sub === "get" && rem >= 2) op = "get";
    else if (sub === "set" && rem >= 3) op = "set";
    else if (sub === "incrby" && rem >= 3) op = "incrby";
    else if (sub === "overflow" && rem >= 1) {
      const t = argv[j + 1].toLowerCase();
      j++;
      if (t !== "wrap" && t !== "sat" && t !== "fail") return new ErrorReply("ERR Invalid OVERFLOW type specified");
      overflow = t;
      continue;
    } else return E_SYNTAX;
    const type = bfType(argv[j + 1]);
    if (type === null) return E_BFTYPE;
    const offset = bitOffset(c, argv[j + 2], type.bits);
    if (offset === null) return E_OFFSET;
    let value = 0n;
    if (op !== "get") {
      readonly = false;
      if (offset + type.bits - 1 > highest) highest = offset + type.bits - 1;
      const v = parseInt64(argv[j + 3]);
      if (v === null) return E_NOT_INT;
      value = BigInt(v);
    }
    ops.push({ op, signed: type.signed, bits: type.bits, offset, value, overflow });
    j += op === "get" ? 2 : 3;
  }
  let buf: Uint8Array;
  let grown = false;
  if (readonly) {
    const s = readStr(c, key);
    if (s instanceof ErrorReply) return s;
    buf = Buffer.from(s ?? "", "latin1");
  } else {
    if (ro) return new ErrorReply("ERR BITFIELD_RO only supports the GET subcommand");
    const s = writeStr(c, key);
    if (s instanceof ErrorReply) return s;
    const need = Math.floor(highest / 8) + 1;
    const cur = s ?? "";
    grown = s === undefined || need > cur.length;
    buf = new Uint8Array(Math.max(need, cur.length));
    for (let i = 0; i < cur.length; i++) buf[i] = cur.charCodeAt(i);
  }
  const out: Reply[] = [];
  let changes = 0;
  for (const o of ops) {
    const raw = getBits(buf, o.offset, o.bits);
    const old = o.signed ? BigInt.asIntN(o.bits, raw) : raw;
    if (o.op === "get") {
      out.push(intReply(old));
      continue;
    }
    let next: bigint;
    let over: boolean;
    if (o.op === "incrby") [next, over] = fieldAdd(old, o.value, o.signed, o.bits, o.overflow);
    else {
      const v = o.signed ? o.value : BigInt.asUintN(64, o.value);
      [next, over] = fieldAdd(v, 0n, o.signed, o.bits, o.overflow);
    }
    if (over && o.overflow === "fail") {
      out.push(null);
      continue;
    }
    setBits(buf, o.offset, o.bits, next);
    out.push(intReply(o.op === "incrby" ? next : old));
    // As in Redis, a write counts as a change when the string grew or the field changed.
    if (grown || next !== old) changes++;
  }
  if (changes > 0 || grown) {
    // A string grown by writes that all failed (OVERFLOW FAIL) still exists, as in Redis;
    // it is journaled but not notified.
    c.db.set(key, Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString("latin1"), true);
    if (changes > 0) c.server.notify("$", "setbit", key, c.dbIndex);
    c.server.dirty += Math.max(changes, 1);
  }
  return out;
}

export const handlers: Record<string, Handler> = {
  setbit,
  getbit,
  bitcount,
  bitpos,
  bitop,
  bitfield: (c, argv) => bitfield(c, argv, false),
  bitfield_ro: (c, argv) => bitfield(c, argv, true),
};
