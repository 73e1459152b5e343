/**
 * Redis-compatible glob matching, bounded in time and stack for any pattern and string.
 *
 * Syntax and results are those of Redis 7.2's stringmatchlen (with the CVE-2024-31228 fix):
 * `*` any run, `?` any one byte, `[abc]`, `[^abc]`, `[a-z]` (a reversed range matches too),
 * `\x` a literal x (also inside brackets, where it is compared case-sensitively even with
 * nocase). An unterminated `[` runs to the end of the pattern; a trailing `\` is a literal.
 * Strings are binary strings (one char per byte). Quirks kept on purpose:
 * - the empty string matches only the empty pattern (`*` does not match ""; callers that treat
 *   a lone `*` as "everything", like KEYS and SCAN, special-case it as Redis does);
 * - a pattern with more than 1000 `*` runs before its last non-`*` element never matches
 *   (Redis's recursion cap, which answers "no match" there).
 *
 * How it stays bounded: the pattern is compiled once (cached) into single-byte elements
 * (literal, any, class as a 256-entry table) split by `*` runs into segments. Every element
 * consumes exactly one byte, so a match is: the first segment at the start, the last at the
 * end, and the others placed leftmost in order in between (greedy placement is optimal).
 * Short segments are searched directly, literal ones with indexOf, long ones with a
 * bit-parallel (shift-and) scan: O(pattern + string * longest segment / 32) time, constant
 * stack. No error cases: every pattern is valid.
 */

const ANY = -1;
/** Element codes: >= 0 a literal byte (lowercased when nocase), ANY, or <= -2 a class (-2 - index). */
interface Compiled {
  elems: Int32Array;
  classes: Uint8Array[];
  nocase: boolean;
  /** Segments as [start, end) element ranges; segs.length = star runs + 1. */
  segStart: number[];
  segEnd: number[];
  /** Literal text of a segment made only of literals (case-sensitive), else null. */
  segLit: (string | null)[];
  /** Shift-and tables of long segments, built on first use. */
  segTable: (Int32Array | null)[];
  /** More than 1000 star runs before the last element: never matches (Redis's cap). */
  capped: boolean;
  empty: boolean;
  size: number;
}

const SHORT = 32;
const NESTING_CAP = 1000;

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** Parse a `[...]` class starting after `[` at i; returns the table and the index after it. */
function parseClass(pat: string, i: number, nocase: boolean): [Uint8Array, number] {
  const t = new Uint8Array(256);
  const n = pat.length;
  let not = false;
  if (i < n && pat.charCodeAt(i) === 94 /* ^ */) {
    not = true;
    i++;
  }
  for (;;) {
    if (i >= n) break; // unterminated: the end closes it
    const x = pat.charCodeAt(i);
    if (x === 92 /* \ */ && i + 1 < n) {
      t[pat.charCodeAt(i + 1) & 255] = 1; // escaped: exact byte, even with nocase
      i += 2;
      continue;
    }
    if (x === 93 /* ] */) {
      i++;
      break;
    }
    if (i + 2 < n && pat.charCodeAt(i + 1) === 45 /* - */) {
      let start = x & 255;
      let end = pat.charCodeAt(i + 2) & 255;
      if (start > end) [start, end] = [end, start];
      if (nocase) {
        start = lower(start);
        end = lower(end);
        for (let c = 0; c < 256; c++) {
          const l = lower(c);
          if (l >= start && l <= end) t[c] = 1;
        }
      } else {
        for (let c = start; c <= end; c++) t[c] = 1;
      }
      i += 3;
      continue;
    }
    const b = x & 255;
    t[b] = 1;
    if (nocase) {
      const l = lower(b);
      t[l] = 1;
      if (l >= 97 && l <= 122) t[l - 32] = 1;
    }
    i++;
  }
  if (not) for (let c = 0; c < 256; c++) t[c] ^= 1;
  return [t, i];
}

function compile(pat: string, nocase: boolean): Compiled {
  const n = pat.length;
  const elems: number[] = [];
  const classes: Uint8Array[] = [];
  const segStart: number[] = [0];
  const segEnd: number[] = [];
  let i = 0;
  while (i < n) {
    const pc = pat.charCodeAt(i);
    if (pc === 42 /* * */) {
      while (i < n && pat.charCodeAt(i) === 42) i++;
      segEnd.push(elems.length);
      segStart.push(elems.length);
      continue;
    }
    if (pc === 63 /* ? */) {
      elems.push(ANY);
      i++;
    } else if (pc === 91 /* [ */) {
      const [t, next] = parseClass(pat, i + 1, nocase);
      elems.push(-2 - classes.length);
      classes.push(t);
      i = next;
    } else {
      let lit = pc & 255;
      if (pc === 92 /* \ */ && i + 1 < n) {
        lit = pat.charCodeAt(i + 1) & 255;
        i++;
      }
      elems.push(nocase ? lower(lit) : lit);
      i++;
    }
  }
  segEnd.push(elems.length);
  const e = Int32Array.from(elems);
  const segLit: (string | null)[] = [];
  for (let s = 0; s < segStart.length; s++) {
    let lit: string | null = nocase ? null : "";
    for (let k = segStart[s]; k < segEnd[s] && lit !== null; k++) lit = e[k] >= 0 ? lit + String.fromCharCode(e[k]) : null;
    segLit.push(lit);
  }
  // Star runs that are followed by an element (a trailing run costs Redis no recursion).
  const stars = segStart.length - 1;
  const trailing = stars > 0 && segStart[stars] === e.length ? 1 : 0;
  return {
    elems: e,
    classes,
    nocase,
    segStart,
    segEnd,
    segLit,
    segTable: segStart.map(() => null),
    capped: stars - trailing > NESTING_CAP,
    empty: n === 0,
    size: n + classes.length * 256 + 64,
  };
}

// A small cache: ACL patterns and a KEYS/SCAN pattern are matched many times. One map per
// case mode, keyed by the pattern itself: a long-lived pattern string (an ACL rule's) keeps
// its hash, so a lookup costs no string building or hashing.
const cacheCase = new Map<string, Compiled>();
const cacheNocase = new Map<string, Compiled>();
let cacheSize = 0;
const CACHE_MAX = 8 * 1024 * 1024;

function compiled(pat: string, nocase: boolean): Compiled {
  const cache = nocase ? cacheNocase : cacheCase;
  let c = cache.get(pat);
  if (c !== undefined) return c;
  c = compile(pat, nocase);
  if (c.size <= CACHE_MAX / 4) {
    while (cacheSize + c.size > CACHE_MAX && cacheCase.size + cacheNocase.size > 0) {
      const from = cache.size > 0 ? cache : cache === cacheCase ? cacheNocase : cacheCase;
      const [k, v] = from.entries().next().value as [string, Compiled];
      from.delete(k);
      cacheSize -= v.size;
    }
    cache.set(pat, c);
    cacheSize += c.size;
  }
  return c;
}

/** Does element code e accept byte b? */
function accepts(p: Compiled, e: number, b: number): boolean {
  if (e >= 0) return (p.nocase ? lower(b) : b) === e;
  if (e === ANY) return true;
  return p.classes[-2 - e][b] === 1;
}

/** Does segment s match str at position at (the caller checked it fits)? */
function matchAt(p: Compiled, s: number, str: string, at: number): boolean {
  const e = p.elems;
  for (let k = p.segStart[s], j = at; k < p.segEnd[s]; k++, j++) {
    if (!accepts(p, e[k], str.charCodeAt(j) & 255)) return false;
  }
  return true;
}

/** Shift-and tables of segment s: for each byte, the bitmask of elements accepting it. */
function table(p: Compiled, s: number): Int32Array {
  let t = p.segTable[s];
  if (t !== null) return t;
  const start = p.segStart[s];
  const m = p.segEnd[s] - start;
  const words = (m + 31) >>> 5;
  t = new Int32Array(256 * words);
  for (let k = 0; k < m; k++) {
    const e = p.elems[start + k];
    const w = k >>> 5;
    const bit = 1 << (k & 31);
    for (let b = 0; b < 256; b++) if (accepts(p, e, b)) t[b * words + w] |= bit;
  }
  p.segTable[s] = t;
  return t;
}

/** Leftmost position >= from where segment s matches and ends by `to`, or -1. */
function find(p: Compiled, s: number, str: string, from: number, to: number): number {
  const m = p.segEnd[s] - p.segStart[s];
  if (m === 0) return from;
  if (to - from < m) return -1;
  const lit = p.segLit[s];
  if (lit !== null) {
    const at = str.indexOf(lit, from);
    return at >= 0 && at + m <= to ? at : -1;
  }
  if (m <= SHORT) {
    for (let i = from; i + m <= to; i++) if (matchAt(p, s, str, i)) return i;
    return -1;
  }
  // Bit-parallel scan: bit k of state = elements 0..k match ending at the current byte.
  const t = table(p, s);
  const words = (m + 31) >>> 5;
  const state = new Int32Array(words);
  const lastWord = (m - 1) >>> 5;
  const lastBit = 1 << ((m - 1) & 31);
  for (let j = from; j < to; j++) {
    const row = (str.charCodeAt(j) & 255) * words;
    let carry = 1;
    for (let w = 0; w < words; w++) {
      const v = state[w];
      state[w] = ((v << 1) | carry) & t[row + w];
      carry = v >>> 31;
    }
    if ((state[lastWord] & lastBit) !== 0) return j - m + 1;
  }
  return -1;
}

/** Does `str` match glob `pat` (Redis's stringmatchlen)? */
export function globMatch(pat: string, str: string, nocase = false): boolean {
  if (str.length === 0) return pat.length === 0;
  return matchCompiled(compiled(pat, nocase), str);
}

/**
 * globMatch(pat, ·) as a function, compiled once (for a pattern matched over and over, like an
 * ACL key pattern: no cache lookup per match).
 */
export function globMatcher(pat: string, nocase = false): (str: string) => boolean {
  const p = compile(pat, nocase);
  // A huge compiled form is not kept alive (globMatch compiles such patterns per use too).
  if (p.size > CACHE_MAX / 4) return (str) => globMatch(pat, str, nocase);
  const emptyPat = pat.length === 0;
  return (str) => (str.length === 0 ? emptyPat : matchCompiled(p, str));
}

/** globMatch for a non-empty `str` and the compiled pattern. */
function matchCompiled(p: Compiled, str: string): boolean {
  const n = str.length;
  if (p.empty || p.capped) return false;
  const segs = p.segStart.length;
  const firstLen = p.segEnd[0] - p.segStart[0];
  if (segs === 1) return firstLen === n && matchAt(p, 0, str, 0);
  const last = segs - 1;
  const lastLen = p.segEnd[last] - p.segStart[last];
  if (firstLen + lastLen > n) return false;
  if (!matchAt(p, 0, str, 0) || !matchAt(p, last, str, n - lastLen)) return false;
  let pos = firstLen;
  const end = n - lastLen;
  for (let s = 1; s < last; s++) {
    const at = find(p, s, str, pos, end);
    if (at < 0) return false;
    pos = at + p.segEnd[s] - p.segStart[s];
  }
  return true;
}
