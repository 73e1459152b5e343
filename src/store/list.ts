/**
 * The list value: a double-ended queue of binary strings on a growable ring buffer.
 *
 * Contract:
 * - push/pop at either end in amortised O(1) (no shifting of the other elements);
 * - `get(i)` / `set(i, v)` in O(1) for 0 <= i < length (callers normalise negative indexes);
 * - `range(start, stop)` copies an inclusive, already-clamped index range;
 * - middle edits (`insertAt`, `removeWhere`, `trim`) cost O(n), as they do in Redis;
 * - `toArray()` head-to-tail copy (used by compaction), `clone()` an independent copy.
 * Methods never throw for valid (in-range) arguments; out-of-range indexes are a caller bug
 * and read as undefined. An empty List is never stored in the keyspace (the commands delete
 * the key when the last element goes).
 */

const MIN_CAP = 8;

export class List {
  readonly type = "list";
  /** Ring storage; capacity is always a power of two. */
  private buf: (string | undefined)[];
  private head = 0;
  private len = 0;
  private mask: number;

  constructor(items?: Iterable<string>) {
    this.buf = new Array(MIN_CAP);
    this.mask = MIN_CAP - 1;
    if (items) for (const x of items) this.pushTail(x);
  }

  static from(items: readonly string[]): List {
    const l = new List();
    let cap = MIN_CAP;
    while (cap < items.length) cap *= 2;
    l.buf = new Array(cap);
    l.mask = cap - 1;
    for (let i = 0; i < items.length; i++) l.buf[i] = items[i];
    l.len = items.length;
    return l;
  }

  get length(): number {
    return this.len;
  }

  private grow(): void {
    const old = this.buf;
    const cap = old.length * 2;
    const next: (string | undefined)[] = new Array(cap);
    for (let i = 0; i < this.len; i++) next[i] = old[(this.head + i) & this.mask];
    this.buf = next;
    this.head = 0;
    this.mask = cap - 1;
  }

  /** Shrink the ring when it is mostly empty, so memory follows the length. */
  private maybeShrink(): void {
    const cap = this.buf.length;
    if (cap > MIN_CAP && this.len * 4 < cap) {
      let n = cap;
      while (n > MIN_CAP && this.len * 2 < n) n /= 2;
      const next: (string | undefined)[] = new Array(n);
      for (let i = 0; i < this.len; i++) next[i] = this.buf[(this.head + i) & this.mask];
      this.buf = next;
      this.head = 0;
      this.mask = n - 1;
    }
  }

  pushHead(v: string): void {
    if (this.len === this.buf.length) this.grow();
    this.head = (this.head - 1) & this.mask;
    this.buf[this.head] = v;
    this.len++;
  }

  pushTail(v: string): void {
    if (this.len === this.buf.length) this.grow();
    this.buf[(this.head + this.len) & this.mask] = v;
    this.len++;
  }

  popHead(): string | undefined {
    if (this.len === 0) return undefined;
    const v = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.len--;
    this.maybeShrink();
    return v;
  }

  popTail(): string | undefined {
    if (this.len === 0) return undefined;
    const i = (this.head + this.len - 1) & this.mask;
    const v = this.buf[i];
    this.buf[i] = undefined;
    this.len--;
    this.maybeShrink();
    return v;
  }

  /** Element at 0-based index from the head (undefined when out of range). */
  get(i: number): string | undefined {
    if (i < 0 || i >= this.len) return undefined;
    return this.buf[(this.head + i) & this.mask];
  }

  set(i: number, v: string): void {
    if (i < 0 || i >= this.len) return;
    this.buf[(this.head + i) & this.mask] = v;
  }

  /** Elements start..stop inclusive (both within 0..length-1, start <= stop). */
  range(start: number, stop: number): string[] {
    const out: string[] = new Array(stop - start + 1);
    for (let i = start, j = 0; i <= stop; i++, j++) out[j] = this.buf[(this.head + i) & this.mask] as string;
    return out;
  }

  toArray(): string[] {
    return this.len === 0 ? [] : this.range(0, this.len - 1);
  }

  clone(): List {
    return List.from(this.toArray());
  }

  *[Symbol.iterator](): IterableIterator<string> {
    for (let i = 0; i < this.len; i++) yield this.buf[(this.head + i) & this.mask] as string;
  }

  /** Index of the first element equal to v, or -1. */
  indexOf(v: string): number {
    for (let i = 0; i < this.len; i++) if (this.buf[(this.head + i) & this.mask] === v) return i;
    return -1;
  }

  /** Insert v so that it ends up at index i (0 <= i <= length). Moves the shorter side. */
  insertAt(i: number, v: string): void {
    if (i <= 0) return this.pushHead(v);
    if (i >= this.len) return this.pushTail(v);
    if (this.len === this.buf.length) this.grow();
    const m = this.mask;
    if (i < this.len / 2) {
      // Shift elements 0..i-1 one slot towards the head.
      this.head = (this.head - 1) & m;
      for (let k = 0; k < i; k++) this.buf[(this.head + k) & m] = this.buf[(this.head + k + 1) & m];
    } else {
      for (let k = this.len; k > i; k--) this.buf[(this.head + k) & m] = this.buf[(this.head + k - 1) & m];
    }
    this.buf[(this.head + i) & m] = v;
    this.len++;
  }

  /**
   * Remove elements equal to v: up to `limit` of them (0 = all), scanning from the head, or
   * from the tail when `fromTail`. Returns how many were removed.
   */
  removeWhere(v: string, limit: number, fromTail: boolean): number {
    const arr = this.toArray();
    let removed = 0;
    const keep = new Array<boolean>(arr.length).fill(true);
    if (fromTail) {
      for (let i = arr.length - 1; i >= 0 && (limit === 0 || removed < limit); i--) {
        if (arr[i] === v) {
          keep[i] = false;
          removed++;
        }
      }
    } else {
      for (let i = 0; i < arr.length && (limit === 0 || removed < limit); i++) {
        if (arr[i] === v) {
          keep[i] = false;
          removed++;
        }
      }
    }
    if (removed > 0) this.replace(arr.filter((_, i) => keep[i]));
    return removed;
  }

  /** Keep only elements start..stop inclusive (clamped by the caller); empty when start > stop. */
  trim(start: number, stop: number): void {
    if (start > stop || start >= this.len) {
      this.replace([]);
      return;
    }
    // Pop from the ends: cheap when trimming little, and O(n) at worst.
    const dropTail = this.len - 1 - stop;
    for (let k = 0; k < dropTail; k++) this.popTailRaw();
    for (let k = 0; k < start; k++) this.popHeadRaw();
    this.maybeShrink();
  }

  private popHeadRaw(): void {
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.len--;
  }

  private popTailRaw(): void {
    this.buf[(this.head + this.len - 1) & this.mask] = undefined;
    this.len--;
  }

  private replace(items: string[]): void {
    const l = List.from(items);
    this.buf = l.buf;
    this.head = 0;
    this.len = l.len;
    this.mask = l.mask;
  }
}
