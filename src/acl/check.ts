/**
 * Permission checks, as Redis 7.2's ACLCheckAllUserCommandPerm.
 *
 * A command is allowed when ONE selector (the root or any parenthesised one) allows the command
 * itself and every key and channel it names; grants are never combined across selectors.
 * Within a selector:
 * - command: the command's bit, else an allowed first argument (argv[1], or argv[2] for a
 *   subcommand); no-auth commands (AUTH, HELLO) always pass;
 * - keys (via getKeys): a key read by the command (ACCESS) needs R, one it changes
 *   (INSERT/UPDATE/DELETE) needs W, both need one pattern granting both; a key that is neither
 *   read nor written matches any pattern;
 * - channels (via getChannels, PUBLISH/SUBSCRIBE kinds only): a channel glob-matches the
 *   selector's channel patterns; a PSUBSCRIBE pattern must equal one of them literally.
 * When every selector denies, the reason reported is the "largest" one: command < key <
 * channel, ties broken by the highest argument index (a command denial wins only when no
 * selector got past the command check).
 */
import type { Command } from "../commands/table.ts";
import { getChannels, getKeys, type KeyRef } from "../commands/keys.ts";
import { globMatch, globMatcher } from "./glob.ts";
import { PERM_READ, PERM_WRITE, type KeyPattern, type Selector, type User } from "./user.ts";

export const ACL_OK = 0;
export const DENIED_CMD = 1;
export const DENIED_KEY = 2;
export const DENIED_AUTH = 3;
export const DENIED_CHANNEL = 4;

export interface CheckResult {
  /** ACL_OK or a DENIED_* code. */
  code: number;
  /** Argument index of the key or channel denied (0 for a command denial). */
  pos: number;
}

const OK_RESULT: CheckResult = { code: ACL_OK, pos: 0 };

/** Does a channel (or a PSUBSCRIBE pattern, literally) fit a list of channel patterns? */
export function channelAllowed(list: readonly string[], channel: string, isPattern: boolean): boolean {
  for (const p of list) {
    if (isPattern ? p === channel : globMatch(p, channel)) return true;
  }
  return false;
}

/**
 * One pattern of a selector's key index, as plain data the check tests inline (no closure
 * call per pattern): the two shapes ACL rules mostly use, a literal ("~cache") and a literal
 * prefix ("~app:*"), are a comparison; anything else is a compiled glob. Same answers as
 * globMatch (which matches the empty key only with the empty pattern).
 */
const T_LITERAL = 0;
const T_PREFIX = 1;
const T_GLOB = 2;

interface KeyTest {
  kind: number;
  /** The literal, or the prefix without its "*". */
  text: string;
  glob: ((key: string) => boolean) | null;
}

const GLOB_CHAR = /[*?[\\]/;

function keyTest(pattern: string): KeyTest {
  if (!GLOB_CHAR.test(pattern)) return { kind: T_LITERAL, text: pattern, glob: null };
  const prefix = pattern.slice(0, -1);
  if (pattern.endsWith("*") && !GLOB_CHAR.test(prefix)) return { kind: T_PREFIX, text: prefix, glob: null };
  return { kind: T_GLOB, text: pattern, glob: globMatcher(pattern) };
}

function passes(t: KeyTest, key: string): boolean {
  const kind = t.kind;
  if (kind === T_PREFIX) {
    const prefix = t.text;
    const n = prefix.length;
    if (n === 0) return key.length !== 0;
    if (key.length < n) return false;
    for (let i = 0; i < n; i++) if (key.charCodeAt(i) !== prefix.charCodeAt(i)) return false;
    return true;
  }
  if (kind === T_LITERAL) return key === t.text;
  return (t.glob as (key: string) => boolean)(key);
}

/**
 * A selector's patterns that grant one permission need, by their first byte: a key is tried
 * only against the patterns that can match its first byte, plus those starting with a glob
 * character (or empty). Same answer as trying every pattern (any match allows).
 */
interface KeyIndex {
  byFirst: (KeyTest[] | undefined)[];
  other: KeyTest[];
  /**
   * The last key these patterns allowed: a key repeated by the next command (a hot key, a
   * pipeline on one key) is allowed again without matching. Valid as long as the index is
   * (the index is rebuilt when the patterns change).
   */
  lastAllowed: string | null;
}

function buildKeyIndex(patterns: readonly KeyPattern[], need: number): KeyIndex {
  const idx: KeyIndex = { byFirst: [], other: [], lastAllowed: null };
  for (const p of patterns) {
    if ((p.flags & need) !== need) continue;
    const test = keyTest(p.pattern);
    const c = p.pattern.length === 0 ? -1 : p.pattern.charCodeAt(0);
    if (c < 0 || c === 42 /* * */ || c === 63 /* ? */ || c === 91 /* [ */ || c === 92 /* \ */ || c > 255) idx.other.push(test);
    else (idx.byFirst[c] ??= []).push(test);
  }
  return idx;
}

function keyAllowed(s: Selector, key: string, ref: KeyRef): boolean {
  const need = (ref.read ? PERM_READ : 0) | (ref.write ? PERM_WRITE : 0);
  if (s.keyIndexOf !== s.patterns) {
    s.keyIndexOf = s.patterns;
    s.keyIndex = [];
  }
  let idx = s.keyIndex[need] as KeyIndex | undefined;
  if (idx === undefined) s.keyIndex[need] = idx = buildKeyIndex(s.patterns, need);
  if (key === idx.lastAllowed) return true;
  if (key.length !== 0) {
    const list = idx.byFirst[key.charCodeAt(0)];
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        if (passes(list[i], key)) {
          idx.lastAllowed = key;
          return true;
        }
      }
    }
  }
  const other = idx.other;
  for (let i = 0; i < other.length; i++) {
    if (passes(other[i], key)) {
      idx.lastAllowed = key;
      return true;
    }
  }
  return false;
}

/** Does the selector allow running cmd at all (ignoring keys and channels)? */
export function selectorAllowsCommand(s: Selector, cmd: Command, argv: string[]): boolean {
  if (s.allCommands || cmd.noAuth || s.bits[cmd.id] === 1) return true;
  if (argv.length < 2 || s.firstArgs === null) return false;
  const list = s.firstArgs.get(cmd.id);
  if (list === undefined) return false;
  const idx = cmd.parent !== null ? 2 : 1;
  if (idx >= argv.length) return false;
  const arg = argv[idx].toLowerCase();
  for (const a of list) if (a.toLowerCase() === arg) return true;
  return false;
}

/** `keys`: getKeys(cmd, argv), shared by all selectors of one check (getKeys memoizes the common shapes). */
function selectorCheck(s: Selector, cmd: Command, argv: string[], keys: readonly KeyRef[]): CheckResult {
  if (!selectorAllowsCommand(s, cmd, argv)) return { code: DENIED_CMD, pos: 0 };
  if (!s.allKeys && cmd.keySpecs.length > 0) {
    for (let i = 0; i < keys.length; i++) {
      const ref = keys[i];
      if (!keyAllowed(s, argv[ref.pos], ref)) return { code: DENIED_KEY, pos: ref.pos };
    }
  }
  if (!s.allChannels && cmd.channels.length > 0) {
    for (const ch of getChannels(cmd, argv)) {
      if (ch.action === "unsubscribe") continue;
      if (!channelAllowed(s.channels, argv[ch.pos], ch.pattern)) return { code: DENIED_CHANNEL, pos: ch.pos };
    }
  }
  return OK_RESULT;
}

/** Check a user against a command and its arguments (`keys`: getKeys(cmd, argv), when the caller has it). */
export function checkUser(u: User, cmd: Command, argv: string[], keys: readonly KeyRef[] = getKeys(cmd, argv)): CheckResult {
  if (u.unrestricted) return OK_RESULT;
  let code = DENIED_CMD;
  let pos = 0;
  const selectors = u.selectors;
  for (let i = 0; i < selectors.length; i++) {
    const r = selectorCheck(selectors[i], cmd, argv, keys);
    if (r.code === ACL_OK) return OK_RESULT;
    if (r.code > code || (r.code === code && r.pos > pos)) {
      code = r.code;
      pos = r.pos;
    }
  }
  return { code, pos };
}

/** Redis's ACLSelectorHasUnrestrictedKeyAccess for the given need (PERM_READ / PERM_WRITE bits). */
function unrestrictedKeys(s: Selector, need: number): boolean {
  if (s.allKeys) return true;
  for (const p of s.patterns) if ((p.flags & need) === need && p.pattern === "*") return true;
  return false;
}

/**
 * SORT BY / GET: may the user run this command with read access to every key (some selector
 * allows the command and its keys, and grants ~* or %R~*)? Without a command, any selector
 * granting read access to all keys counts.
 */
export function fullKeyAccess(u: User, cmd?: Command, argv?: string[]): boolean {
  if (u.unrestricted) return true;
  if (cmd === undefined || argv === undefined) return u.selectors.some((s) => unrestrictedKeys(s, PERM_READ));
  const keys = getKeys(cmd, argv);
  for (const s of u.selectors) {
    if (selectorCheck(s, cmd, argv, keys).code === ACL_OK && unrestrictedKeys(s, PERM_READ)) return true;
  }
  return false;
}

/** Non-verbose NOPERM text (what a denied command gets), without the "NOPERM " code. */
export function denialText(code: number, u: User, cmd: Command): string {
  if (code === DENIED_CMD) return `User ${u.name} has no permissions to run the '${cmd.name}' command`;
  if (code === DENIED_KEY) return "No permissions to access a key";
  return "No permissions to access a channel";
}

/** Verbose text (ACL DRYRUN). */
export function verboseDenialText(code: number, u: User, cmd: Command, value: string): string {
  if (code === DENIED_CMD) return `User ${u.name} has no permissions to run the '${cmd.name}' command`;
  if (code === DENIED_KEY) return `User ${u.name} has no permissions to access the '${value}' key`;
  return `User ${u.name} has no permissions to access the '${value}' channel`;
}

/** The reason EXEC gives when a queued command is no longer allowed. */
export function execReason(code: number): string {
  if (code === DENIED_CMD) return "no permission to execute the command or subcommand";
  if (code === DENIED_KEY) return "no permission to touch the specified keys";
  if (code === DENIED_CHANNEL) return "no permission to access one of the channels used as arguments";
  return "no permission";
}
