/**
 * The keyspace: numbered databases of binary-string keys, with lazy and active expiry.
 *
 * Values are held in the representation each type's commands use:
 * - string: a binary string (one char per byte);
 * - hash: Map<string, string>;  set: Set<string>;
 * - list and zset: objects with a `type` field of "list" / "zset" (see their modules).
 * Expiry times are absolute Unix milliseconds in a per-db map beside the data.
 *
 * Every change to a key goes through {@link Db.set}, {@link Db.delete} or {@link Db.touchWrite},
 * which call the keyspace's `onModified` hook (WATCH invalidation, blocked clients) so no
 * command has to remember it.
 */

export interface TypedValue {
  readonly type: "list" | "zset";
}
export type Value = string | Map<string, string> | Set<string> | TypedValue;
export type TypeName = "string" | "hash" | "set" | "list" | "zset";

export function typeOf(v: Value): TypeName {
  if (typeof v === "string") return "string";
  if (v instanceof Map) return "hash";
  if (v instanceof Set) return "set";
  return v.type;
}

export interface KeyspaceHooks {
  /** A key was written, deleted or expired in db `db`. */
  modified(db: number, key: string): void;
  /** A key was removed by expiry (lazy or active). */
  expired(db: number, key: string): void;
  /** A key that did not exist was created (the "new" keyspace event). */
  added?(db: number, key: string): void;
  /** True while the data file loads: lazy expiry is off (Redis's keyIsExpired while loading). */
  loading?(): boolean;
}

/**
 * Compaction's copy-on-write guard (see src/store/snapshot.ts): `access` runs before get()
 * hands out a collection value and before set() stores one (so a snapshot can copy it before
 * it is mutated in place); `touched` runs on touchWrite with the key's value (a mutation that
 * skipped both).
 */
export interface CowHook {
  access(v: Value): void;
  touched(v: Value | undefined): void;
}

export class Db {
  data = new Map<string, Value>();
  expires = new Map<string, number>();
  /** Live iterator over `expires` for the active expiry cycle. */
  private expireIter: Iterator<[string, number]> | null = null;
  /** Set while a compaction snapshot is open (snapshot.ts); null otherwise. */
  cow: CowHook | null = null;

  constructor(public index: number, private hooks: KeyspaceHooks, private clock: () => number) {}

  /** Look a key up, removing it first if its time has passed. */
  get(key: string): Value | undefined {
    const v = this.data.get(key);
    if (v === undefined) return undefined;
    if (this.expires.size !== 0) {
      const at = this.expires.get(key);
      if (at !== undefined && at <= this.clock() && !this.hooks.loading?.()) {
        this.expireNow(key);
        return undefined;
      }
    }
    if (this.cow !== null && typeof v !== "string") this.cow.access(v);
    return v;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Store a value. Keeps an existing TTL only when keepTtl is set (SET KEEPTTL, in-place updates). */
  set(key: string, value: Value, keepTtl = false): void {
    if (this.cow !== null && typeof value !== "string") this.cow.access(value);
    const before = this.data.size;
    this.data.set(key, value);
    if (this.data.size !== before && this.hooks.added) this.hooks.added(this.index, key);
    if (!keepTtl && this.expires.size !== 0) this.expires.delete(key);
    this.hooks.modified(this.index, key);
  }

  /** Signal an in-place change of a key's value (a list push, a hash field...). */
  touchWrite(key: string): void {
    if (this.cow !== null) this.cow.touched(this.data.get(key));
    this.hooks.modified(this.index, key);
  }

  delete(key: string): boolean {
    if (!this.data.delete(key)) return false;
    if (this.expires.size !== 0) this.expires.delete(key);
    this.hooks.modified(this.index, key);
    return true;
  }

  /** Expiry time in ms, or undefined for none. Assumes the key exists. */
  ttl(key: string): number | undefined {
    return this.expires.get(key);
  }

  setExpire(key: string, at: number): void {
    this.expires.set(key, at);
    this.hooks.modified(this.index, key);
  }

  persist(key: string): boolean {
    const had = this.expires.delete(key);
    if (had) this.hooks.modified(this.index, key);
    return had;
  }

  get size(): number {
    return this.data.size;
  }

  clear(): void {
    const keys = [...this.data.keys()];
    this.data = new Map();
    this.expires = new Map();
    this.expireIter = null;
    for (const k of keys) this.hooks.modified(this.index, k);
  }

  private expireNow(key: string): void {
    this.data.delete(key);
    this.expires.delete(key);
    this.hooks.modified(this.index, key);
    this.hooks.expired(this.index, key);
  }

  /**
   * Active expiry: look at up to `budget` keys with a TTL (round robin over the expires map)
   * and remove the ones whose time has passed. Returns how many expired.
   */
  activeExpire(budget: number): number {
    if (this.expires.size === 0) return 0;
    const now = this.clock();
    let n = 0;
    for (let i = 0; i < budget; i++) {
      if (this.expireIter === null) this.expireIter = this.expires.entries();
      const r = this.expireIter.next();
      if (r.done) {
        this.expireIter = null;
        break;
      }
      const [k, at] = r.value;
      if (at <= now) {
        this.expireNow(k);
        n++;
      }
    }
    return n;
  }

  /** A random existing (unexpired) key, or null. */
  randomKey(): string | null {
    for (let tries = 0; tries < 100 && this.data.size > 0; tries++) {
      const idx = Math.floor(Math.random() * this.data.size);
      // Iterating to a random position is O(n); sample from the start for big maps.
      let i = 0;
      for (const k of this.data.keys()) {
        if (i++ === idx) {
          if (this.get(k) !== undefined) return k;
          break;
        }
      }
    }
    return null;
  }
}

export class Keyspace {
  dbs: Db[];
  constructor(count: number, public hooks: KeyspaceHooks, public clock: () => number = Date.now) {
    this.dbs = [];
    for (let i = 0; i < count; i++) this.dbs.push(new Db(i, hooks, clock));
  }

  /** Swap two databases' contents (SWAPDB). Both sides count as modified for every key. */
  swap(a: number, b: number): void {
    const da = this.dbs[a];
    const db = this.dbs[b];
    const touched = new Set([...da.data.keys(), ...db.data.keys()]);
    [da.data, db.data] = [db.data, da.data];
    [da.expires, db.expires] = [db.expires, da.expires];
    for (const k of touched) {
      this.hooks.modified(a, k);
      this.hooks.modified(b, k);
    }
  }
}

/**
 * SCAN cursors over a live Map/Set, with Redis's guarantee that an element present for the
 * whole scan is returned: a cursor names a live iterator (JS Map and Set iterators see
 * deletions and later insertions correctly). Cursors are `position * 4096 + tag`; when a
 * cursor is not cached any more it falls back to skipping `position` elements.
 */
export class ScanCursors {
  private live = new Map<string, { it: Iterator<unknown>; pos: number; owner: object }>();
  private seq = 1;
  constructor(private max = 4096) {}

  /**
   * Walk `count` elements of `owner` from `cursor`. `iterate` creates a fresh iterator
   * (keys for a Map, values for a Set). Returns the elements seen and the next cursor ("0" at the end).
   */
  scan<T>(owner: object, iterate: () => Iterator<T>, cursor: string, count: number): { items: T[]; next: string } {
    let entry = cursor === "0" ? undefined : this.live.get(cursor);
    if (entry !== undefined && entry.owner !== owner) entry = undefined;
    if (entry !== undefined) this.live.delete(cursor);
    let it: Iterator<T>;
    let pos: number;
    if (entry) {
      it = entry.it as Iterator<T>;
      pos = entry.pos;
    } else {
      it = iterate();
      pos = 0;
      const skip = cursor === "0" ? 0 : Math.floor(Number(cursor) / 4096);
      for (let i = 0; i < skip; i++) {
        if (it.next().done) return { items: [], next: "0" };
        pos++;
      }
    }
    const items: T[] = [];
    while (items.length < count) {
      const r = it.next();
      if (r.done) return { items, next: "0" };
      items.push(r.value);
      pos++;
    }
    const tag = this.seq++ % 4096;
    const next = String(pos * 4096 + tag);
    this.live.set(next, { it, pos, owner });
    if (this.live.size > this.max) {
      const oldest = this.live.keys().next().value as string;
      this.live.delete(oldest);
    }
    return { items, next };
  }
}
