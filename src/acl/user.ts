/**
 * ACL users and selectors: the data model of Redis 7.2's access control.
 *
 * A {@link User} has flags (on/off, nopass, sanitize-payload / skip-sanitize-payload), a list
 * of password hashes (SHA-256, lowercase hex) and a list of {@link Selector}s, the first being
 * the root selector (the rules written outside parentheses). A selector holds:
 * - the allowed-command bitmap, indexed by Command.id, plus the "future commands" bit that only
 *   `+@all` / `allcommands` sets and `-@all` / `nocommands` clears;
 * - allowed first-args per command id (the deprecated `+select|0` form);
 * - key patterns with read/write permissions (`~`, `%R~`, `%W~`, `%RW~`), or the allkeys flag;
 * - channel patterns, or the allchannels flag;
 * - the remembered command rules (Redis's `command_rules`), from which ACL LIST / GETUSER
 *   regenerate the commands part: `+@all` or `-@all`, then these rules in order.
 *
 * Users are edited in place (live connections hold a reference and see changes at their next
 * command); ACL SETUSER stages changes on a copy and copies it back only when every rule applied.
 * Nothing here throws; rule parsing and errors live in rules.ts.
 */
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import { ALL_COMMANDS } from "../commands/table.ts";

/** Key permissions of a key pattern. */
export const PERM_READ = 1;
export const PERM_WRITE = 2;
export const PERM_ALL = 3;

export interface KeyPattern {
  readonly pattern: string;
  /** PERM_READ | PERM_WRITE. */
  flags: number;
}

export class Selector {
  readonly root: boolean;
  allKeys = false;
  allChannels = false;
  /** Redis's SELECTOR_FLAG_ALLCOMMANDS: set by +@all, cleared when any command bit is cleared. */
  allCommands = false;
  /** The reserved "future commands" bit: set by +@all, cleared by -@all. */
  future = false;
  /** Allowed commands, by Command.id (1 = allowed). */
  bits: Uint8Array;
  /** Allowed first arguments of otherwise blocked commands, by Command.id. */
  firstArgs: Map<number, string[]> | null = null;
  /** Key patterns. Never changed in place: a change assigns a new array (check.ts indexes it by identity). */
  patterns: readonly KeyPattern[] = [];
  /** The permission check's index of `patterns` (built on first use, check.ts); valid while keyIndexOf === patterns. */
  keyIndexOf: readonly KeyPattern[] | null = null;
  keyIndex: unknown[] = [];
  channels: string[] = [];
  /** Remembered command rules, lowercase, each with its sign ("+get", "-@admin", "+select|0"). */
  rules: string[] = [];

  constructor(root: boolean, allChannelsByDefault: boolean) {
    this.root = root;
    this.allChannels = allChannelsByDefault;
    this.bits = new Uint8Array(ALL_COMMANDS.length);
  }

  clone(): Selector {
    const s = new Selector(this.root, this.allChannels);
    s.allKeys = this.allKeys;
    s.allCommands = this.allCommands;
    s.future = this.future;
    s.bits.set(this.bits);
    if (this.firstArgs !== null) {
      s.firstArgs = new Map();
      for (const [id, list] of this.firstArgs) s.firstArgs.set(id, [...list]);
    }
    s.patterns = this.patterns.map((p) => ({ pattern: p.pattern, flags: p.flags }));
    s.channels = [...this.channels];
    s.rules = [...this.rules];
    return s;
  }
}

export class User {
  name: string;
  /** on (true) / off (false). New users start off. */
  enabled = false;
  nopass = false;
  /** skip-sanitize-payload (true) / sanitize-payload (false, the default). */
  skipSanitize = false;
  /** SHA-256 hex hashes, in insertion order, no duplicates. */
  passwords: string[] = [];
  /** selectors[0] is the root selector. */
  selectors: Selector[];
  /**
   * Bumped by every change of this user's rules (applyUserRule, copyFrom, refresh): a
   * connection's remembered verdict (acl.ts AllowedMemo) is void once it moves.
   */
  gen = 0;
  /**
   * Root selector allows every command, key and channel: the permission check can stop at once.
   * Kept up to date by {@link User.refresh}.
   */
  unrestricted = false;

  constructor(name: string, allChannelsByDefault: boolean) {
    this.name = name;
    this.selectors = [new Selector(true, allChannelsByDefault)];
  }

  get root(): Selector {
    return this.selectors[0];
  }

  /** A staging copy with the same rules (and name). */
  clone(): User {
    const u = new User(this.name, false);
    u.copyFrom(this);
    return u;
  }

  /** Take every rule of `src` (Redis's ACLCopyUser): the name stays. */
  copyFrom(src: User): void {
    this.gen++;
    this.enabled = src.enabled;
    this.nopass = src.nopass;
    this.skipSanitize = src.skipSanitize;
    this.passwords = [...src.passwords];
    this.selectors = src.selectors.map((s) => s.clone());
    this.refresh();
  }

  /** Recompute derived state after a change. */
  refresh(): void {
    this.gen++;
    const r = this.selectors[0];
    this.unrestricted = r.allCommands && r.allKeys && r.allChannels;
  }
}

/** SHA-256 of the password bytes (binary string), as 64 lowercase hex characters. */
export function hashPassword(password: string): string {
  return createHash("sha256").update(Buffer.from(password, "latin1")).digest("hex");
}

/** A valid stored hash: exactly 64 characters of 0-9 a-f. */
export function isValidHash(h: string): boolean {
  return /^[0-9a-f]{64}$/.test(h);
}

/** Redis's ACLStringHasSpaces: any isspace() character or NUL. */
export function hasSpaces(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 0 || (c >= 9 && c <= 13)) return true;
  }
  return false;
}
