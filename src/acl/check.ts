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
import { globMatch } from "./glob.ts";
import { PERM_READ, PERM_WRITE, type Selector, type User } from "./user.ts";

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

function keyAllowed(s: Selector, key: string, ref: KeyRef): boolean {
  const need = (ref.read ? PERM_READ : 0) | (ref.write ? PERM_WRITE : 0);
  for (const p of s.patterns) {
    if ((p.flags & need) !== need) continue;
    if (globMatch(p.pattern, key)) return true;
  }
  return false;
}

/** Lazily computed key references, shared by all selectors of one check. */
class KeyCache {
  keys: KeyRef[] | null = null;
  constructor(readonly cmd: Command, readonly argv: string[]) {}
  get(): KeyRef[] {
    if (this.keys === null) this.keys = getKeys(this.cmd, this.argv);
    return this.keys;
  }
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

function selectorCheck(s: Selector, cmd: Command, argv: string[], cache: KeyCache): CheckResult {
  if (!selectorAllowsCommand(s, cmd, argv)) return { code: DENIED_CMD, pos: 0 };
  if (!s.allKeys && cmd.keySpecs.length > 0) {
    for (const ref of cache.get()) {
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

/** Check a user against a command and its arguments. */
export function checkUser(u: User, cmd: Command, argv: string[]): CheckResult {
  if (u.unrestricted) return OK_RESULT;
  const cache = new KeyCache(cmd, argv);
  let code = DENIED_CMD;
  let pos = 0;
  for (const s of u.selectors) {
    const r = selectorCheck(s, cmd, argv, cache);
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
  const cache = new KeyCache(cmd, argv);
  for (const s of u.selectors) {
    if (selectorCheck(s, cmd, argv, cache).code === ACL_OK && unrestrictedKeys(s, PERM_READ)) return true;
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
