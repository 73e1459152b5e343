/**
 * Reply values and their RESP2 / RESP3 encoding.
 *
 * Handlers return a {@link Reply}; the session encodes it for the connection's protocol.
 * - `string`: a bulk string (binary string, one char per byte);
 * - `number` / `bigint`: an integer (a non-integral number is a bug: use {@link Double});
 * - `null`: the null bulk (`$-1` in RESP2, `_` in RESP3);
 * - an array of replies: an array;
 * - the classes below for simple strings, errors, maps, sets, doubles, booleans, verbatim
 *   strings, push messages, and the null array (`*-1` / `_`).
 * RESP2 has no map, set, double, boolean, verbatim or push: they degrade as Redis does (flat
 * array, array, bulk string, integer 1/0, bulk string, array).
 */

export class Simple {
  /** The RESP encoding, made on first use (the shared OK / PONG / QUEUED replies are sent over and over). */
  wire: string | null = null;
  constructor(readonly value: string) {}
}
/** An error reply; `message` includes the code, e.g. "ERR syntax error" or "WRONGPASS ...". */
export class ErrorReply {
  constructor(readonly message: string) {}
}
/** A map as flat key/value pairs. */
export class MapReply {
  constructor(readonly pairs: Reply[]) {}
}
export class SetReply {
  constructor(readonly items: Reply[]) {}
}
export class Double {
  constructor(readonly value: number) {}
}
export class Bool {
  constructor(readonly value: boolean) {}
}
export class Verbatim {
  constructor(readonly format: string, readonly text: string) {}
}
export class Push {
  constructor(readonly items: Reply[]) {}
}
/**
 * An integer reply whose decimal text is already made: INCR and friends store that same text
 * as the key's value, and formatting a number costs as much as the rest of the command on
 * JavaScriptCore, so it is done once.
 */
export class IntText {
  constructor(readonly text: string) {}
}
/** Already-encoded bytes (binary string), written as is whatever the protocol. */
export class Raw {
  constructor(readonly bytes: string) {}
}
class NullArrayReply {}
export const NULL_ARRAY = new NullArrayReply();
/** A handler that already wrote its replies (pub/sub confirmations) or must send none. Encodes to nothing. */
export const NO_REPLY = new Raw("");

export type Reply =
  | string
  | number
  | bigint
  | IntText
  | null
  | Reply[]
  | Simple
  | ErrorReply
  | MapReply
  | SetReply
  | Double
  | Bool
  | Verbatim
  | Push
  | Raw
  | NullArrayReply;

export const OK = new Simple("OK");
export const QUEUED = new Simple("QUEUED");
export const PONG = new Simple("PONG");

export function err(message: string): ErrorReply {
  return new ErrorReply(message);
}

/**
 * Format a double the way Redis 7.2 does in replies: shortest round-trip digits, "inf",
 * "-inf", "nan"; exponent with sign and at least two digits (1e+21, 1.5e-07) like printf.
 */
export function formatDouble(d: number): string {
  if (d === Infinity) return "inf";
  if (d === -Infinity) return "-inf";
  if (Number.isNaN(d)) return "nan";
  if (Object.is(d, -0)) return "-0";
  const s = String(d);
  const e = s.indexOf("e");
  if (e < 0) return s;
  // JS "1e+21" / "1.5e-7"; Redis (fpconv) "1e+21" / "1.5e-07".
  const mant = s.slice(0, e);
  const sign = s[e + 1];
  const exp = s.slice(e + 2);
  return mant + "e" + sign + (exp.length < 2 ? "0" + exp : exp);
}

function encodeError(msg: string): string {
  // Errors are one line: newlines would break the protocol.
  const clean = msg.indexOf("\r") >= 0 || msg.indexOf("\n") >= 0 ? msg.replace(/[\r\n]/g, " ") : msg;
  return "-" + clean + "\r\n";
}

/**
 * "$<n>\r\n" and "*<n>\r\n" for small n, made once: formatting the length is a number to
 * string conversion per bulk string (per member of an LRANGE or ZRANGE reply), which on
 * JavaScriptCore allocates.
 */
const HEADERS = 1024;
const BULK_HEADER: string[] = [];
const ARRAY_HEADER: string[] = [];
for (let n = 0; n < HEADERS; n++) {
  BULK_HEADER.push("$" + n + "\r\n");
  ARRAY_HEADER.push("*" + n + "\r\n");
}

/** Append the encoding of `r` for protocol `proto` (2 or 3) and return the new string. */
export function encode(r: Reply, proto: number): string {
  if (typeof r === "string") {
    const n = r.length;
    return (n < HEADERS ? BULK_HEADER[n] : "$" + n + "\r\n") + r + "\r\n";
  }
  if (typeof r === "number") return ":" + r + "\r\n";
  if (r === null) return proto === 3 ? "_\r\n" : "$-1\r\n";
  if (r instanceof IntText) return ":" + r.text + "\r\n";
  if (r instanceof Simple) return r.wire ?? (r.wire = "+" + r.value + "\r\n");
  if (Array.isArray(r)) {
    let s = r.length < HEADERS ? ARRAY_HEADER[r.length] : "*" + r.length + "\r\n";
    for (let i = 0; i < r.length; i++) s += encode(r[i], proto);
    return s;
  }
  if (r instanceof ErrorReply) return encodeError(r.message);
  if (typeof r === "bigint") return ":" + r.toString() + "\r\n";
  if (r instanceof MapReply) {
    const p = r.pairs;
    let s = proto === 3 ? "%" + p.length / 2 + "\r\n" : "*" + p.length + "\r\n";
    for (let i = 0; i < p.length; i++) s += encode(p[i], proto);
    return s;
  }
  if (r instanceof SetReply) {
    let s = (proto === 3 ? "~" : "*") + r.items.length + "\r\n";
    for (let i = 0; i < r.items.length; i++) s += encode(r.items[i], proto);
    return s;
  }
  if (r instanceof Double) {
    const f = formatDouble(r.value);
    return proto === 3 ? "," + f + "\r\n" : "$" + f.length + "\r\n" + f + "\r\n";
  }
  if (r instanceof Bool) return proto === 3 ? (r.value ? "#t\r\n" : "#f\r\n") : r.value ? ":1\r\n" : ":0\r\n";
  if (r instanceof Verbatim) {
    if (proto === 3) return "=" + (r.text.length + 4) + "\r\n" + r.format + ":" + r.text + "\r\n";
    return "$" + r.text.length + "\r\n" + r.text + "\r\n";
  }
  if (r instanceof Push) {
    let s = (proto === 3 ? ">" : "*") + r.items.length + "\r\n";
    for (let i = 0; i < r.items.length; i++) s += encode(r.items[i], proto);
    return s;
  }
  if (r instanceof Raw) return r.bytes;
  if (r === NULL_ARRAY) return proto === 3 ? "_\r\n" : "*-1\r\n";
  throw new Error("unknown reply value");
}

/**
 * Turn a reply into plain JSON-able data (for the admin API and tests): bulk strings decode
 * as UTF-8, maps become objects (keys as strings), errors become { error }.
 */
export function toJSON(r: Reply): unknown {
  if (typeof r === "string") return latin1ToUtf8(r);
  if (typeof r === "number" || r === null) return r;
  if (typeof r === "bigint") return Number(r);
  if (r instanceof IntText) return Number(r.text);
  if (Array.isArray(r)) return r.map(toJSON);
  if (r instanceof Simple) return r.value;
  if (r instanceof ErrorReply) return { error: r.message };
  if (r instanceof MapReply) {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < r.pairs.length; i += 2) o[String(toJSON(r.pairs[i]))] = toJSON(r.pairs[i + 1]);
    return o;
  }
  if (r instanceof SetReply || r instanceof Push) return r.items.map(toJSON);
  if (r instanceof Double) return r.value;
  if (r instanceof Bool) return r.value;
  if (r instanceof Verbatim) return latin1ToUtf8(r.text);
  return null;
}

const decoder = new TextDecoder("utf-8");
/** Decode a binary string's bytes as UTF-8 (invalid sequences become U+FFFD). */
export function latin1ToUtf8(s: string): string {
  // Fast path: pure ASCII.
  let ascii = true;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) { ascii = false; break; }
  if (ascii) return s;
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return decoder.decode(b);
}

const encoder = new TextEncoder();
/** Encode a JS (UTF-16) string as UTF-8 bytes held in a binary string. */
export function utf8ToLatin1(s: string): string {
  let ascii = true;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) { ascii = false; break; }
  if (ascii) return s;
  const b = encoder.encode(s);
  let out = "";
  for (let i = 0; i < b.length; i++) out += String.fromCharCode(b[i]);
  return out;
}
