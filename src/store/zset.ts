/**
 * The sorted set value: a Map from member to score plus an ordered index (a skip list whose
 * links carry span counts), giving O(log n) insert, delete, rank lookup and rank/score/lex
 * range starts.
 *
 * Contract:
 * - Order is by score, then by member bytes (binary-string `<`). -0 and 0 compare equal.
 * - Scores are never NaN (callers check before inserting).
 * - Ranks are 0-based and ascending; range methods take already normalised, in-range indexes.
 * - Lex ranges compare members only, walking the score order, as Redis does (meaningful when
 *   all scores are equal).
 * - `entries()` iterates [member, score] in ascending order (used by compaction and SORT).
 * Nothing here throws on well-formed input; the commands validate arguments and types.
 */

const MAX_LEVEL = 32;
/** Up to this size Redis keeps a sorted set as a listpack, whose lex walks are linear. */
const SMALL = 128;

class Node {
  next: (Node | null)[];
  span: number[];
  prev: Node | null = null;
  constructor(public member: string, public score: number, level: number) {
    this.next = new Array<Node | null>(level).fill(null);
    this.span = new Array<number>(level).fill(0);
  }
}

/** A score interval; `minex` / `maxex` make the ends exclusive. */
export interface ScoreRange {
  min: number;
  max: number;
  minex: boolean;
  maxex: boolean;
}

/** One end of a lex interval: `inf` -1 is "-", 1 is "+", 0 a value (inclusive unless `ex`). */
export interface LexBound {
  v: string;
  ex: boolean;
  inf: -1 | 0 | 1;
}

export interface LexRange {
  min: LexBound;
  max: LexBound;
}

function lessThan(n: Node, score: number, member: string): boolean {
  return n.score < score || (n.score === score && n.member < member);
}

function gteMin(score: number, r: ScoreRange): boolean {
  return r.minex ? score > r.min : score >= r.min;
}
function lteMax(score: number, r: ScoreRange): boolean {
  return r.maxex ? score < r.max : score <= r.max;
}
function lexGteMin(m: string, b: LexBound): boolean {
  if (b.inf !== 0) return b.inf < 0;
  return b.ex ? m > b.v : m >= b.v;
}
function lexLteMax(m: string, b: LexBound): boolean {
  if (b.inf !== 0) return b.inf > 0;
  return b.ex ? m < b.v : m <= b.v;
}

/** True when no score can be inside the range. */
export function scoreRangeEmpty(r: ScoreRange): boolean {
  return r.min > r.max || (r.min === r.max && (r.minex || r.maxex));
}

function cmpLexBound(a: LexBound, b: LexBound): number {
  if (a.inf === b.inf && a.inf !== 0) return 0;
  if (a.inf === -1 || b.inf === 1) return -1;
  if (a.inf === 1 || b.inf === -1) return 1;
  return a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
}

/** True when no member can be inside the range. */
export function lexRangeEmpty(r: LexRange): boolean {
  const c = cmpLexBound(r.min, r.max);
  return c > 0 || (c === 0 && (r.min.ex || r.max.ex));
}

function randomLevel(): number {
  let l = 1;
  while (l < MAX_LEVEL && Math.random() < 0.25) l++;
  return l;
}

/** The ordered index: a skip list with spans (rank = sum of spans on the search path). */
class SkipList {
  head = new Node("", 0, MAX_LEVEL);
  tail: Node | null = null;
  level = 1;
  length = 0;

  insert(member: string, score: number): Node {
    const update: Node[] = new Array(MAX_LEVEL);
    const rank: number[] = new Array(MAX_LEVEL);
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      rank[i] = i === this.level - 1 ? 0 : rank[i + 1];
      let nx = x.next[i];
      while (nx !== null && lessThan(nx, score, member)) {
        rank[i] += x.span[i];
        x = nx;
        nx = x.next[i];
      }
      update[i] = x;
    }
    const lvl = randomLevel();
    if (lvl > this.level) {
      for (let i = this.level; i < lvl; i++) {
        rank[i] = 0;
        update[i] = this.head;
        this.head.span[i] = this.length;
      }
      this.level = lvl;
    }
    const node = new Node(member, score, lvl);
    for (let i = 0; i < lvl; i++) {
      const u = update[i];
      node.next[i] = u.next[i];
      u.next[i] = node;
      node.span[i] = u.span[i] - (rank[0] - rank[i]);
      u.span[i] = rank[0] - rank[i] + 1;
    }
    for (let i = lvl; i < this.level; i++) update[i].span[i]++;
    node.prev = update[0] === this.head ? null : update[0];
    if (node.next[0] !== null) node.next[0].prev = node;
    else this.tail = node;
    this.length++;
    return node;
  }

  /** Remove the node for (member, score); false when absent. */
  delete(member: string, score: number): boolean {
    const update: Node[] = new Array(MAX_LEVEL);
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      let nx = x.next[i];
      while (nx !== null && lessThan(nx, score, member)) {
        x = nx;
        nx = x.next[i];
      }
      update[i] = x;
    }
    const node = x.next[0];
    if (node === null || node.score !== score || node.member !== member) return false;
    this.unlink(node, update);
    return true;
  }

  private unlink(node: Node, update: Node[]): void {
    for (let i = 0; i < this.level; i++) {
      const u = update[i];
      if (u.next[i] === node) {
        u.span[i] += node.span[i] - 1;
        u.next[i] = node.next[i];
      } else {
        u.span[i] -= 1;
      }
    }
    if (node.next[0] !== null) node.next[0].prev = node.prev;
    else this.tail = node.prev;
    while (this.level > 1 && this.head.next[this.level - 1] === null) this.level--;
    this.length--;
  }

  /** 1-based rank of (member, score), 0 when absent. */
  rank(member: string, score: number): number {
    let r = 0;
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      let nx = x.next[i];
      while (nx !== null && (lessThan(nx, score, member) || (nx.score === score && nx.member === member))) {
        r += x.span[i];
        x = nx;
        nx = x.next[i];
      }
      if (x !== this.head && x.member === member && x.score === score) return r;
    }
    return 0;
  }

  /** The node at 1-based rank, or null. */
  byRank(rank: number): Node | null {
    if (rank < 1 || rank > this.length) return null;
    let t = 0;
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      let nx = x.next[i];
      while (nx !== null && t + x.span[i] <= rank) {
        t += x.span[i];
        x = nx;
        nx = x.next[i];
      }
      if (t === rank) return x;
    }
    return null;
  }

  /**
   * The last node (with its 1-based rank) for which `before(node)` holds, where `before` is
   * monotone (true for a prefix of the order). Rank 0 / head when none.
   */
  lastWhere(before: (n: Node) => boolean): { node: Node; rank: number } {
    let r = 0;
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      let nx = x.next[i];
      while (nx !== null && before(nx)) {
        r += x.span[i];
        x = nx;
        nx = x.next[i];
      }
    }
    return { node: x, rank: r };
  }
}

export class ZSet {
  readonly type = "zset";
  readonly dict = new Map<string, number>();
  private sl = new SkipList();

  get size(): number {
    return this.dict.size;
  }

  score(member: string): number | undefined {
    return this.dict.get(member);
  }

  has(member: string): boolean {
    return this.dict.has(member);
  }

  /** Insert or update; returns true when the member was new. */
  set(member: string, score: number): boolean {
    score += 0; // -0 is stored as 0, as Redis's compact encoding does
    const old = this.dict.get(member);
    if (old === undefined) {
      this.dict.set(member, score);
      this.sl.insert(member, score);
      return true;
    }
    if (old !== score) {
      this.sl.delete(member, old);
      this.sl.insert(member, score);
      this.dict.set(member, score);
    }
    return false;
  }

  delete(member: string): boolean {
    const old = this.dict.get(member);
    if (old === undefined) return false;
    this.dict.delete(member);
    this.sl.delete(member, old);
    return true;
  }

  /** 0-based ascending rank, or undefined when absent. */
  rank(member: string): number | undefined {
    const s = this.dict.get(member);
    if (s === undefined) return undefined;
    return this.sl.rank(member, s) - 1;
  }

  /** Entry at a 0-based ascending rank. */
  at(rank: number): [string, number] | undefined {
    const n = this.sl.byRank(rank + 1);
    return n === null ? undefined : [n.member, n.score];
  }

  *entries(): IterableIterator<[string, number]> {
    for (let x = this.sl.head.next[0]; x !== null; x = x.next[0]) yield [x.member, x.score];
  }

  *members(): IterableIterator<string> {
    for (let x = this.sl.head.next[0]; x !== null; x = x.next[0]) yield x.member;
  }

  clone(): ZSet {
    const z = new ZSet();
    for (let x = this.sl.head.next[0]; x !== null; x = x.next[0]) {
      z.dict.set(x.member, x.score);
      z.sl.insert(x.member, x.score);
    }
    return z;
  }

  /** Entries with ascending ranks start..end (inclusive, valid, start <= end); `rev` counts from the top. */
  range(start: number, end: number, rev: boolean): [string, number][] {
    const out: [string, number][] = [];
    const n = this.size;
    let x = this.sl.byRank(rev ? n - start : start + 1);
    for (let i = start; i <= end && x !== null; i++) {
      out.push([x.member, x.score]);
      x = rev ? x.prev : x.next[0];
    }
    return out;
  }

  /** The members of {@link range}, without their scores. */
  rangeMembers(start: number, end: number, rev: boolean): string[] {
    const out: string[] = [];
    const n = this.size;
    let x = this.sl.byRank(rev ? n - start : start + 1);
    for (let i = start; i <= end && x !== null; i++) {
      out.push(x.member);
      x = rev ? x.prev : x.next[0];
    }
    return out;
  }

  /** [first rank, last rank] (1-based, inclusive) of the score range; first > last when empty. */
  private scoreRanks(r: ScoreRange): [number, number] {
    if (scoreRangeEmpty(r) || this.size === 0) return [1, 0];
    const lo = this.sl.lastWhere((n) => !gteMin(n.score, r)).rank + 1;
    const hi = this.sl.lastWhere((n) => lteMax(n.score, r)).rank;
    return [lo, hi];
  }

  /**
   * Lex ranges follow Redis's walk exactly, which matters when scores differ (the order is
   * then not a lex order): the first node at or past `min` (a linear scan for small sets, as
   * Redis's listpack does; a skip-list descent for large ones, as its skip list does) must
   * also be within `max`, and the walk goes on while nodes stay within `max`.
   */
  private lexInRange(r: LexRange): boolean {
    if (lexRangeEmpty(r) || this.sl.length === 0) return false;
    return lexGteMin(this.sl.tail!.member, r.min) && lexLteMax(this.sl.head.next[0]!.member, r.max);
  }

  private firstInLex(r: LexRange): Node | null {
    if (!this.lexInRange(r)) return null;
    let x: Node | null;
    if (this.sl.length <= SMALL) {
      x = this.sl.head.next[0];
      while (x !== null && !lexGteMin(x.member, r.min)) x = x.next[0];
    } else x = this.sl.lastWhere((n) => !lexGteMin(n.member, r.min)).node.next[0];
    return x !== null && lexLteMax(x.member, r.max) ? x : null;
  }

  private lastInLex(r: LexRange): Node | null {
    if (!this.lexInRange(r)) return null;
    let x: Node | null;
    if (this.sl.length <= SMALL) {
      x = this.sl.tail;
      while (x !== null && !lexLteMax(x.member, r.max)) x = x.prev;
    } else {
      const found = this.sl.lastWhere((n) => lexLteMax(n.member, r.max)).node;
      x = found === this.sl.head ? null : found;
    }
    return x !== null && lexGteMin(x.member, r.min) ? x : null;
  }

  countScore(r: ScoreRange): number {
    const [lo, hi] = this.scoreRanks(r);
    return hi >= lo ? hi - lo + 1 : 0;
  }

  countLex(r: LexRange): number {
    const first = this.firstInLex(r);
    if (first === null) return 0;
    if (this.sl.length > SMALL) {
      const last = this.lastInLex(r);
      const lo = this.sl.rank(first.member, first.score);
      return last === null ? this.sl.length - lo + 1 : this.sl.rank(last.member, last.score) - lo + 1;
    }
    let n = 0;
    for (let x: Node | null = first; x !== null && lexLteMax(x.member, r.max); x = x.next[0]) n++;
    return n;
  }

  /** Entries within 1-based ranks lo..hi, skipping `offset`, at most `limit` (< 0: all). */
  private walk(lo: number, hi: number, rev: boolean, offset: number, limit: number): [string, number][] {
    const out: [string, number][] = [];
    if (hi < lo || offset < 0) return out;
    const total = hi - lo + 1;
    if (offset >= total) return out;
    let count = total - offset;
    if (limit >= 0 && limit < count) count = limit;
    let x = this.sl.byRank(rev ? hi - offset : lo + offset);
    for (let i = 0; i < count && x !== null; i++) {
      out.push([x.member, x.score]);
      x = rev ? x.prev : x.next[0];
    }
    return out;
  }

  rangeByScore(r: ScoreRange, rev: boolean, offset = 0, limit = -1): [string, number][] {
    const [lo, hi] = this.scoreRanks(r);
    return this.walk(lo, hi, rev, offset, limit);
  }

  rangeByLex(r: LexRange, rev: boolean, offset = 0, limit = -1): [string, number][] {
    const out: [string, number][] = [];
    if (offset < 0) return out;
    let x = rev ? this.lastInLex(r) : this.firstInLex(r);
    for (let i = 0; i < offset && x !== null; i++) x = rev ? x.prev : x.next[0];
    while (x !== null && limit !== 0) {
      if (rev ? !lexGteMin(x.member, r.min) : !lexLteMax(x.member, r.max)) break;
      out.push([x.member, x.score]);
      if (limit > 0) limit--;
      x = rev ? x.prev : x.next[0];
    }
    return out;
  }

  /** Remove ascending ranks start..end (0-based, inclusive); returns how many. */
  deleteRangeByRank(start: number, end: number): number {
    if (end < start) return 0;
    const items = this.range(start, end, false);
    for (const [m] of items) this.delete(m);
    return items.length;
  }

  deleteRangeByScore(r: ScoreRange): number {
    const items = this.rangeByScore(r, false);
    for (const [m] of items) this.delete(m);
    return items.length;
  }

  deleteRangeByLex(r: LexRange): number {
    const items = this.rangeByLex(r, false);
    for (const [m] of items) this.delete(m);
    return items.length;
  }

  /** Remove and return up to `count` lowest (or highest, `max`) entries, in pop order. */
  pop(count: number, max: boolean): [string, number][] {
    const out: [string, number][] = [];
    while (out.length < count && this.size > 0) {
      const x = max ? this.sl.tail! : this.sl.head.next[0]!;
      out.push([x.member, x.score]);
      this.delete(x.member);
    }
    return out;
  }
}
