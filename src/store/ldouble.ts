/**
 * x87 80-bit "long double" arithmetic, emulated exactly with bigints, for the commands Redis
 * runs on long doubles (INCRBYFLOAT, HINCRBYFLOAT). A JS double cannot reproduce their
 * results: Redis parses both operands with strtold (64-bit significand), adds them, and prints
 * the sum with "%.17Lf" before trimming trailing zeros, so `10.5 + 0.1` answers "10.6".
 *
 * - {@link parseLongDouble}: strtold as Redis's string2ld uses it: decimal or hexadecimal
 *   (0x1.8p3) floats, "inf"/"infinity" with an optional sign; null for anything else (empty,
 *   leading space, trailing bytes, NaN, a value that overflows or underflows to zero).
 * - {@link addLongDouble}: the correctly rounded (ties to even) sum; Infinity / NaN results
 *   come back as the JS numbers Infinity, -Infinity or NaN.
 * - {@link formatLongDouble}: "%.17Lf" with trailing zeros (and a bare '.') removed and
 *   "-0" written "0", i.e. Redis's human-friendly long double format.
 * - {@link incrByFloatString}: the whole INCRBYFLOAT step on strings; returns the new string,
 *   or an error kind ("value" for an unparsable operand, "nan" for a NaN/Infinity result).
 */

/** A finite long double: (-1)^neg * m * 2^e, m < 2^64 (m = 0n for zero). */
export interface LongDouble {
  neg: boolean;
  m: bigint;
  e: number;
}

export type LD = LongDouble | number; // number only for +-Infinity and NaN

const PREC = 64;
/** Weight exponent of the lowest significand bit of the smallest subnormal. */
const EMIN = -16445;
/** Largest exponent of the leading bit. */
const EMAX = 16383;

function bitLength(n: bigint): number {
  if (n === 0n) return 0;
  // toString(16) is fast and exact for the sizes used here.
  const h = n.toString(16);
  const top = parseInt(h[0], 16);
  return (h.length - 1) * 4 + (32 - Math.clz32(top));
}

/**
 * Round q * 2^e (plus a sticky "something below q's last bit" flag) to the long double format.
 * Callers supply at least 66 significant bits whenever `sticky` may be set.
 */
function finish(neg: boolean, q: bigint, sticky: boolean, e: number): LD {
  if (q === 0n) return { neg, m: 0n, e: 0 };
  const bl = bitLength(q);
  const drop = Math.max(bl - PREC, EMIN - e);
  if (drop > 0) {
    const d = BigInt(drop);
    const half = 1n << (d - 1n);
    const rem = q & ((1n << d) - 1n);
    q >>= d;
    e += drop;
    if (rem > half || (rem === half && (sticky || (q & 1n) === 1n))) {
      q += 1n;
      if (q >> BigInt(PREC) !== 0n) {
        q >>= 1n;
        e++;
      }
    }
  }
  if (q === 0n) return { neg, m: 0n, e: 0 };
  if (bitLength(q) - 1 + e > EMAX) return neg ? -Infinity : Infinity;
  return { neg, m: q, e };
}

/** Round num/den (both > 0) to a long double. */
function fromRatio(neg: boolean, num: bigint, den: bigint): LD {
  const s = PREC + 2 - (bitLength(num) - bitLength(den));
  let q: bigint;
  let r: bigint;
  if (s >= 0) {
    const n = num << BigInt(s);
    q = n / den;
    r = n % den;
  } else {
    const d = den << BigInt(-s);
    q = num / d;
    r = num % d;
  }
  return finish(neg, q, r !== 0n, -s);
}

const DEC_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const HEX_RE = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/;
const INF_RE = /^([+-]?)(inf|infinity)$/i;

/** strtold as Redis's string2ld applies it; null when Redis would say "not a valid float". */
export function parseLongDouble(s: string): LD | null {
  const nul = s.indexOf("\0");
  if (nul >= 0) s = s.slice(0, nul); // strtold stops at the C string's end
  if (s.length === 0 || s.length >= 5 * 1024) return null;
  const inf = INF_RE.exec(s);
  if (inf) return inf[1] === "-" ? -Infinity : Infinity;
  let m = HEX_RE.exec(s);
  if (m && (m[2] !== "" || (m[3] ?? "") !== "")) {
    const neg = m[1] === "-";
    const frac = m[3] ?? "";
    const digits = (m[2] + frac).replace(/^0+/, "");
    if (digits === "") return { neg, m: 0n, e: 0 };
    let p = m[4] ? Number(m[4]) : 0;
    p -= 4 * frac.length;
    const mag = p + digits.length * 4;
    if (mag > EMAX + 8) return null; // overflow (ERANGE)
    if (mag < EMIN - 8) return null; // underflow to zero (ERANGE)
    const r = finish(neg, BigInt("0x" + digits), false, p);
    return typeof r === "number" || r.m === 0n ? null : r;
  }
  m = DEC_RE.exec(s);
  if (!m) return null;
  const ip = m[2];
  const fp = m[3] ?? "";
  if (ip === "" && fp === "") return null;
  const neg = m[1] === "-";
  let digits = (ip + fp).replace(/^0+/, "");
  if (digits === "") return { neg, m: 0n, e: 0 };
  let exp10 = (m[4] ? Number(m[4]) : 0) - fp.length;
  const trimmed = digits.replace(/0+$/, "");
  exp10 += digits.length - trimmed.length;
  digits = trimmed;
  const mag = exp10 + digits.length; // value < 10^mag
  if (mag > 4933 + 1) return null;
  if (mag < -4951 - 1) return null;
  const D = BigInt(digits);
  let r: LD;
  if (exp10 >= 0) r = fromRatio(neg, D * 10n ** BigInt(exp10), 1n);
  else r = fromRatio(neg, D, 10n ** BigInt(-exp10));
  if (typeof r === "number" || r.m === 0n) return null; // ERANGE: overflow, or underflow to zero
  return r;
}

export function addLongDouble(a: LD, b: LD): LD {
  if (typeof a === "number" || typeof b === "number") {
    const x = typeof a === "number" ? a : 0;
    const y = typeof b === "number" ? b : 0;
    return x + y;
  }
  if (a.m === 0n && b.m === 0n) return { neg: a.neg && b.neg, m: 0n, e: 0 };
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  const e = Math.min(a.e, b.e);
  const A = (a.m << BigInt(a.e - e)) * (a.neg ? -1n : 1n);
  const B = (b.m << BigInt(b.e - e)) * (b.neg ? -1n : 1n);
  const S = A + B;
  if (S === 0n) return { neg: false, m: 0n, e: 0 };
  return finish(S < 0n, S < 0n ? -S : S, false, e);
}

/** "%.17Lf" with trailing zeros trimmed, as Redis's ld2string(LD_STR_HUMAN). */
export function formatLongDouble(v: LD): string {
  if (typeof v === "number") return v > 0 ? "inf" : v < 0 ? "-inf" : "nan";
  let N: bigint;
  const scale = 10n ** 17n;
  if (v.e >= 0) N = (v.m << BigInt(v.e)) * scale;
  else {
    const sh = BigInt(-v.e);
    const num = v.m * scale;
    N = num >> sh;
    const rem = num & ((1n << sh) - 1n);
    const half = 1n << (sh - 1n);
    if (rem > half || (rem === half && (N & 1n) === 1n)) N += 1n;
  }
  const digits = N.toString().padStart(18, "0");
  let out = (v.neg ? "-" : "") + digits.slice(0, -17) + "." + digits.slice(-17);
  out = out.replace(/0+$/, "");
  if (out.endsWith(".")) out = out.slice(0, -1);
  if (out === "-0") out = "0";
  return out;
}

/** INCRBYFLOAT on strings: the new value, or which error Redis would answer. */
export function incrByFloatString(current: string | undefined, incr: string): string | { error: "value" | "nan" } {
  const a = current === undefined ? ({ neg: false, m: 0n, e: 0 } as LD) : parseLongDouble(current);
  const b = a === null ? null : parseLongDouble(incr);
  if (a === null || b === null) return { error: "value" };
  const r = addLongDouble(a, b);
  if (typeof r === "number") return { error: "nan" };
  return formatLongDouble(r);
}
