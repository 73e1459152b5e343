/**
 * Argument parsing shared by command handlers, with Redis 7.2's exact error replies.
 * Each parser returns the value, or an ErrorReply the handler returns as is.
 */
import { ErrorReply } from "../resp/reply.ts";

export const E_SYNTAX = new ErrorReply("ERR syntax error");
export const E_NOT_INT = new ErrorReply("ERR value is not an integer or out of range");
export const E_NOT_FLOAT = new ErrorReply("ERR value is not a valid float");
export const E_WRONGTYPE = new ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value");
export const E_NO_KEY = new ErrorReply("ERR no such key");
export const E_INDEX_RANGE = new ErrorReply("ERR index out of range");
export const E_DB_RANGE = new ErrorReply("ERR DB index is out of range");
export const E_OVERFLOW = new ErrorReply("ERR increment or decrement would overflow");

const INT_RE = /^-?(0|[1-9][0-9]{0,18})$/;
const I64_MAX = 9223372036854775807n;
const I64_MIN = -9223372036854775808n;

/**
 * Parse a signed 64-bit integer as Redis's string2ll does (no spaces, no '+', no leading
 * zeros). Returns a number when it is exactly representable (|n| <= 2^53), a bigint otherwise,
 * or null when invalid or out of range.
 */
export function parseInt64(s: string): number | bigint | null {
  const len = s.length;
  if (len > 0 && len < 16) {
    // Hot path (INCR, counts, scores): up to 15 characters is always a safe integer, so
    // accumulate digits directly; the same rules as INT_RE, without a regular expression.
    let i = 0;
    let neg = false;
    if (s.charCodeAt(0) === 45 /* - */) {
      if (len === 1) return null;
      neg = true;
      i = 1;
    }
    const first = s.charCodeAt(i);
    if (first === 48 /* 0 */) return len === i + 1 && !neg ? 0 : null; // "0" only: no "-0", no leading zeros
    let n = 0;
    for (; i < len; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return null;
      n = n * 10 + d;
    }
    return neg ? -n : n;
  }
  // 16 to 20 characters (shorter ones returned above).
  if (len === 0 || len > 20 || !INT_RE.test(s)) return null;
  const b = BigInt(s);
  if (b > I64_MAX || b < I64_MIN) return null;
  if (b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(b);
  return b;
}

/** An integer argument that must fit in a JS safe integer (counts, indexes, timeouts). */
export function intArg(s: string): number | ErrorReply {
  const n = parseInt64(s);
  if (n === null) return E_NOT_INT;
  if (typeof n === "bigint") return n > 0n ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
  return n;
}

/**
 * Parse a float as Redis's string2ld/strtod does for commands: "inf", "-inf", "+inf" allowed,
 * no spaces, no NaN. Returns null when invalid.
 */
export function parseFloatArg(s: string): number | null {
  if (s.length === 0 || s.length > 5000) return null;
  const l = s.toLowerCase();
  if (l === "inf" || l === "+inf" || l === "infinity" || l === "+infinity") return Infinity;
  if (l === "-inf" || l === "-infinity") return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return null;
  const n = Number(s);
  if (Number.isNaN(n)) return null;
  return n;
}

/** Case-insensitive equality against a lowercase constant. */
export function is(arg: string, lower: string): boolean {
  return arg.length === lower.length && arg.toLowerCase() === lower;
}
