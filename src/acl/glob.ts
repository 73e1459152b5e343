/**
 * Redis-compatible glob matching, bounded in time and stack.
 *
 * Syntax as Redis's stringmatchlen: `*` any run, `?` any one byte, `[abc]`, `[^abc]`, `[a-z]`
 * (a reversed range matches too), `\x` a literal x (also inside brackets). An unterminated `[`
 * runs to the end of the pattern. Strings are binary strings (one char per byte).
 *
 * Unlike a naive recursive matcher, this one backtracks only to the most recent `*`, so it
 * runs in O(len(pattern) * len(string)) time and constant stack for any input: the
 * CVE-2022-36021 and CVE-2024-31228 style patterns answer at once.
 */

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/**
 * Match one pattern element (not `*`) at p against char c.
 * Returns the index after the element when it matches, or -(index after) - 1 when not.
 */
function matchOne(pat: string, p: number, c: number, nocase: boolean): number {
  const pc = pat.charCodeAt(p);
  if (pc === 63 /* ? */) return p + 1;
  if (pc === 91 /* [ */) {
    let i = p + 1;
    const not = pat.charCodeAt(i) === 94; /* ^ */
    if (not) i++;
    let match = false;
    const cc = nocase ? lower(c) : c;
    for (;;) {
      if (i >= pat.length) break; // unterminated: the end closes it
      const x = pat.charCodeAt(i);
      if (x === 92 /* \ */ && i + 1 < pat.length) {
        const y = pat.charCodeAt(i + 1);
        if ((nocase ? lower(y) : y) === cc) match = true;
        i += 2;
        continue;
      }
      if (x === 93 /* ] */) {
        i++;
        break;
      }
      if (i + 2 < pat.length && pat.charCodeAt(i + 1) === 45 /* - */) {
        let start = x;
        let end = pat.charCodeAt(i + 2);
        if (start > end) [start, end] = [end, start];
        if (nocase) {
          start = lower(start);
          end = lower(end);
        }
        if (cc >= start && cc <= end) match = true;
        i += 3;
        continue;
      }
      if ((nocase ? lower(x) : x) === cc) match = true;
      i++;
    }
    if (not) match = !match;
    return match ? i : -i - 1;
  }
  let lit = pc;
  let next = p + 1;
  if (pc === 92 /* \ */ && p + 1 < pat.length) {
    lit = pat.charCodeAt(p + 1);
    next = p + 2;
  }
  const ok = nocase ? lower(lit) === lower(c) : lit === c;
  return ok ? next : -next - 1;
}

/** Does `str` match glob `pat`? */
export function globMatch(pat: string, str: string, nocase = false): boolean {
  let p = 0;
  let s = 0;
  let starP = -1; // pattern index after the last '*'
  let starS = 0; // string index that '*' is currently absorbing up to
  const pl = pat.length;
  const sl = str.length;
  while (s < sl) {
    if (p < pl) {
      const pc = pat.charCodeAt(p);
      if (pc === 42 /* * */) {
        while (p < pl && pat.charCodeAt(p) === 42) p++;
        if (p === pl) return true;
        starP = p;
        starS = s;
        continue;
      }
      const r = matchOne(pat, p, str.charCodeAt(s), nocase);
      if (r >= 0) {
        p = r;
        s++;
        continue;
      }
    }
    if (starP >= 0) {
      starS++;
      s = starS;
      p = starP;
      continue;
    }
    return false;
  }
  while (p < pl && pat.charCodeAt(p) === 42) p++;
  return p === pl;
}
