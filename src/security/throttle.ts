/**
 * Failed-AUTH throttling: failure counters per client address and per username over a
 * sliding window.
 *
 * Contract:
 * - {@link AuthThrottle.check}(addr, user, now) before the password is looked at: when the
 *   failures recorded in the last `auth-failure-window` seconds for the address OR for the
 *   username reach `auth-max-failures`, the attempt is throttled: it is answered WRONGPASS
 *   whatever the password (the attacker learns nothing), after a delay of
 *   {@link BASE_DELAY_MS} doubled for every failure past the limit, capped at `auth-max-delay`
 *   milliseconds. The caller delays the reply (never the event loop).
 * - {@link AuthThrottle.failure} records a failed attempt (throttled ones too, so hammering keeps
 *   the delay at its cap); failures age out of the window, so a correct password works again
 *   once the window has passed without failures. Successes do not clear counters.
 * - `auth-max-failures 0` turns throttling off (check() always answers 0 and nothing is
 *   recorded). Loopback and unix-socket clients are throttled like the others unless
 *   `auth-throttle-loopback no`, which exempts them entirely (neither counted nor delayed).
 * - Memory is bounded: at most {@link MAX_TRACKED} addresses and as many usernames (the least
 *   recently failing are forgotten first), each keeping at most limit+32 timestamps.
 */
import { ErrorReply } from "../resp/reply.ts";

/** The first delay past the limit; each further failure doubles it. */
export const BASE_DELAY_MS = 100;
/** Most addresses (and, separately, usernames) tracked at once. */
export const MAX_TRACKED = 10000;

export interface ThrottleSettings {
  maxFailures: number;
  windowMs: number;
  maxDelayMs: number;
}

export interface ThrottleEntry {
  /** The address or username (binary string). */
  name: string;
  /** Failures within the window. */
  failures: number;
  /** At or past the limit: the next attempt is refused after `nextDelayMs`. */
  throttled: boolean;
  nextDelayMs: number;
  /** Unix ms of the newest failure. */
  lastFailure: number;
  /** Unix ms when the window lets the count fall below the limit again (0 when not throttled). */
  until: number;
}

/** A WRONGPASS answer that must be delivered only after `delayMs` (a throttled attempt). */
export class ThrottledError extends ErrorReply {
  constructor(message: string, readonly delayMs: number) {
    super(message);
  }
}

export class AuthThrottle {
  private addrs = new Map<string, number[]>();
  private users = new Map<string, number[]>();
  /** Attempts answered as throttled since start (or CONFIG RESETSTAT). */
  throttledAttempts = 0;

  constructor(private readonly settings: () => ThrottleSettings) {}

  get enabled(): boolean {
    return this.settings().maxFailures > 0;
  }

  /** The delay (ms) for an attempt now, or -1 when it is not throttled. */
  check(addr: string, user: string, now = Date.now()): number {
    const st = this.settings();
    if (st.maxFailures <= 0) return -1;
    const n = Math.max(this.count(this.addrs, addr, now, st), this.count(this.users, user, now, st));
    if (n < st.maxFailures) return -1;
    this.throttledAttempts++;
    return delayFor(n, st);
  }

  /** Record a failed attempt for the address and the username. */
  failure(addr: string, user: string, now = Date.now()): void {
    const st = this.settings();
    if (st.maxFailures <= 0) return;
    this.add(this.addrs, addr, now, st);
    this.add(this.users, user, now, st);
  }

  /** Every address and username with failures in the window, most failures first. */
  list(now = Date.now()): { addresses: ThrottleEntry[]; users: ThrottleEntry[] } {
    const st = this.settings();
    return { addresses: this.entries(this.addrs, now, st), users: this.entries(this.users, now, st) };
  }

  /** Addresses and usernames currently at or past the limit. */
  throttledCounts(now = Date.now()): { addresses: number; users: number } {
    const l = this.list(now);
    return { addresses: l.addresses.filter((e) => e.throttled).length, users: l.users.filter((e) => e.throttled).length };
  }

  clear(): void {
    this.addrs.clear();
    this.users.clear();
  }

  private count(map: Map<string, number[]>, name: string, now: number, st: ThrottleSettings): number {
    const list = map.get(name);
    if (list === undefined) return 0;
    prune(list, now - st.windowMs);
    if (list.length === 0) map.delete(name);
    return list.length;
  }

  private add(map: Map<string, number[]>, name: string, now: number, st: ThrottleSettings): void {
    let list = map.get(name);
    if (list === undefined) {
      if (map.size >= MAX_TRACKED) this.sweep(map, now, st);
      list = [];
    } else map.delete(name); // re-inserted below: Map order = least recently failing first
    prune(list, now - st.windowMs);
    list.push(now);
    const cap = st.maxFailures + 32;
    if (list.length > cap) list.splice(0, list.length - cap);
    map.set(name, list);
  }

  /** Drop expired entries; if still full, forget the least recently failing. */
  private sweep(map: Map<string, number[]>, now: number, st: ThrottleSettings): void {
    for (const [k, list] of map) {
      prune(list, now - st.windowMs);
      if (list.length === 0) map.delete(k);
    }
    while (map.size >= MAX_TRACKED) {
      const first = map.keys().next();
      if (first.done) break;
      map.delete(first.value);
    }
  }

  private entries(map: Map<string, number[]>, now: number, st: ThrottleSettings): ThrottleEntry[] {
    const out: ThrottleEntry[] = [];
    for (const [name, list] of [...map]) {
      prune(list, now - st.windowMs);
      if (list.length === 0) {
        map.delete(name);
        continue;
      }
      const n = list.length;
      const throttled = st.maxFailures > 0 && n >= st.maxFailures;
      // The count falls below the limit when the failure at index n - max ages out.
      const until = throttled ? list[n - st.maxFailures] + st.windowMs : 0;
      out.push({ name, failures: n, throttled, nextDelayMs: throttled ? delayFor(n, st) : 0, lastFailure: list[n - 1], until });
    }
    return out.sort((a, b) => b.failures - a.failures || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

function prune(list: number[], cutoff: number): void {
  let i = 0;
  while (i < list.length && list[i] <= cutoff) i++;
  if (i > 0) list.splice(0, i);
}

/** BASE_DELAY_MS doubled per failure past the limit, capped at maxDelayMs. */
function delayFor(failures: number, st: ThrottleSettings): number {
  const excess = Math.min(failures - st.maxFailures, 40);
  return Math.max(0, Math.min(st.maxDelayMs, BASE_DELAY_MS * 2 ** excess));
}
