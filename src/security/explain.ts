/**
 * ACL DRYRUN that explains: a pure function over the ACL engine's user and selector data
 * (src/acl/user.ts) that says why a command would be allowed or denied. The RESP command
 * ACL DRYRUN is untouched (it stays exactly Redis's); the admin API's `POST /v1/acl/dryrun`
 * with `"explain": true` wraps this module.
 *
 * Contract:
 * - {@link explainCommand}(user, argv) evaluates EVERY selector in order (root first, then
 *   "selector 1", "selector 2"...) with the same semantics as src/acl/check.ts, and reports for
 *   each: whether it allows the command, the rule tokens that decided the command itself
 *   (`+@all`/`-@all` base, then the remembered rules that touch this command, the last one
 *   deciding), every key the command names with the access it needs ("R", "W", "RW", or "any"
 *   for keys neither read nor written) and the pattern that grants it (`~*`, `%R~foo*`...) or
 *   null, and every channel likewise (`&*`, `&news.*`, or null; PSUBSCRIBE patterns must equal
 *   a channel rule literally; UNSUBSCRIBE channels are never checked).
 * - `decidedBy` is the first selector that allows the command ("root" / "selector n"), or, when
 *   all deny, the selector whose denial Redis reports (the "largest" reason, as check.ts), and
 *   `message` is exactly what ACL DRYRUN would answer ("OK" or its verbose sentence).
 * - {@link explainMulti} does the same for a whole MULTI block: MULTI, every command, EXEC; a
 *   command flagged no-multi is reported with Redis's "Command not allowed inside a transaction".
 * - {@link resolveCommand} finds the command like ACL DRYRUN does and returns Redis's error text
 *   for an unknown command or a wrong argument count.
 * The user's on/off flag is reported (`enabled`) but, as in Redis's ACL DRYRUN, not checked.
 * Nothing here throws, mutates the user, logs, or counts.
 */
import { COMMANDS, type Command } from "../commands/table.ts";
import { getChannels, getKeys } from "../commands/keys.ts";
import { globMatch } from "../acl/glob.ts";
import { ACL_OK, DENIED_CMD, DENIED_KEY, checkUser, selectorAllowsCommand, verboseDenialText } from "../acl/check.ts";
import { describeSelector } from "../acl/rules.ts";
import { PERM_ALL, PERM_READ, PERM_WRITE, type KeyPattern, type Selector, type User } from "../acl/user.ts";

export interface KeyExplanation {
  key: string;
  /** Argument index in argv. */
  pos: number;
  /** What the command does with the key: R, W, RW, or "any" (neither: any pattern matching the name grants it). */
  access: "R" | "W" | "RW" | "any";
  /** The rule token granting it ("~*" for allkeys), or null: denied. */
  pattern: string | null;
  allowed: boolean;
}

export interface ChannelExplanation {
  channel: string;
  pos: number;
  /** "pattern" for PSUBSCRIBE / PUNSUBSCRIBE arguments (matched literally). */
  kind: "channel" | "pattern";
  /** false for (P|S)UNSUBSCRIBE arguments, which Redis never checks. */
  checked: boolean;
  /** The rule token granting it ("&*" for allchannels), or null. */
  pattern: string | null;
  allowed: boolean;
}

export interface SelectorExplanation {
  /** "root" or "selector n" (1-based among the parenthesised selectors). */
  selector: string;
  /** The selector as ACL LIST writes it. */
  rules: string;
  allowed: boolean;
  command: {
    allowed: boolean;
    /** The rule tokens that touch this command, in the order they apply; the last one decides. */
    rules: string[];
    /** The deciding token, or a note ("no-auth command", "first argument 'x' allowed by +select|0"). */
    decidedBy: string;
  };
  keys: KeyExplanation[];
  channels: ChannelExplanation[];
  /** The first check this selector failed, in Redis's order (command, keys, channels); null if it allows. */
  denied: { reason: "command" | "key" | "channel"; object: string } | null;
}

export interface Explanation {
  user: string;
  enabled: boolean;
  /** Full command name ("get", "config|get"). */
  command: string;
  argv: string[];
  allowed: boolean;
  decidedBy: string | null;
  /** Denial reason as the ACL LOG names it, null when allowed. */
  reason: "command" | "key" | "channel" | null;
  /** Exactly what ACL DRYRUN answers: "OK" or the verbose denial sentence. */
  message: string;
  /** Set when the command cannot run at all in this position (no-multi inside MULTI). */
  error?: string;
  selectors: SelectorExplanation[];
}

export interface MultiExplanation {
  user: string;
  allowed: boolean;
  /** MULTI, each command, EXEC. */
  steps: Explanation[];
}

/** The command for a DRYRUN argv, or Redis's error text (unknown command, arity). */
export function resolveCommand(args: string[]): Command | string {
  if (args.length === 0) return "ERR wrong number of arguments for 'acl|dryrun' command";
  const base = COMMANDS.get(args[0].toLowerCase());
  const cmd = base !== undefined && base.subcommands !== null && args.length >= 2 ? base.subcommands.get(args[1].toLowerCase()) : base;
  if (cmd === undefined) return `ERR Command '${args[0]}' not found`;
  if ((cmd.arity > 0 && cmd.arity !== args.length) || args.length < -cmd.arity) {
    return `ERR wrong number of arguments for '${cmd.name}' command`;
  }
  return cmd;
}

function label(i: number): string {
  return i === 0 ? "root" : `selector ${i}`;
}

function patternToken(p: KeyPattern): string {
  if ((p.flags & PERM_ALL) === PERM_ALL) return "~" + p.pattern;
  return (p.flags & PERM_READ ? "%R~" : "%W~") + p.pattern;
}

/** Does a remembered command rule (without its sign) touch this command? */
function ruleTouches(body: string, cmd: Command, argv: string[]): boolean {
  if (body.startsWith("@")) {
    const cat = body.slice(1);
    return cat === "all" || cmd.categories.has(cat) || (cmd.parent !== null && cmd.parent.categories.has(cat));
  }
  if (body === cmd.name) return true;
  if (cmd.parent !== null && body === cmd.parent.name) return true;
  // First-arg rule of a command without subcommands: "select|0".
  const bar = body.indexOf("|");
  if (bar > 0 && cmd.parent === null && cmd.subcommands === null && body.slice(0, bar) === cmd.name) {
    return argv.length >= 2 && argv[1].toLowerCase() === body.slice(bar + 1).toLowerCase();
  }
  return false;
}

function explainCommandRules(s: Selector, cmd: Command, argv: string[]): SelectorExplanation["command"] {
  const allowed = selectorAllowsCommand(s, cmd, argv);
  if (cmd.noAuth) return { allowed: true, rules: [], decidedBy: "no-auth command (always allowed)" };
  const tokens = [s.future ? "+@all" : "-@all", ...s.rules];
  const rules = tokens.filter((t) => ruleTouches(t.slice(1), cmd, argv));
  const sign = allowed ? "+" : "-";
  let decidedBy = "";
  // The last touching token decides; when the bitmap says otherwise (an order the rules alone
  // cannot show), name the last token with the right sign.
  const last = rules[rules.length - 1];
  if (last !== undefined && last[0] === sign) decidedBy = last;
  else {
    for (let i = rules.length - 1; i >= 0; i--) if (rules[i][0] === sign) { decidedBy = rules[i]; break; }
  }
  if (decidedBy === "") decidedBy = allowed ? (s.allCommands ? "+@all" : "allowed") : "-@all (not granted by any rule)";
  if (allowed && !s.allCommands && s.bits[cmd.id] !== 1 && argv.length >= 2) {
    decidedBy = `first argument '${argv[cmd.parent !== null ? 2 : 1]}' allowed by ${decidedBy}`;
  }
  return { allowed, rules, decidedBy };
}

function explainSelector(s: Selector, i: number, cmd: Command, argv: string[]): SelectorExplanation {
  const command = explainCommandRules(s, cmd, argv);
  let denied: SelectorExplanation["denied"] = command.allowed ? null : { reason: "command", object: cmd.name };
  const keys: KeyExplanation[] = [];
  if (cmd.keySpecs.length > 0) {
    for (const ref of getKeys(cmd, argv)) {
      const key = argv[ref.pos];
      const need = (ref.read ? PERM_READ : 0) | (ref.write ? PERM_WRITE : 0);
      const access = need === PERM_ALL ? "RW" : need === PERM_READ ? "R" : need === PERM_WRITE ? "W" : "any";
      let pattern: string | null = null;
      if (s.allKeys) pattern = "~*";
      else {
        for (const p of s.patterns) {
          if ((p.flags & need) !== need) continue;
          if (globMatch(p.pattern, key)) {
            pattern = patternToken(p);
            break;
          }
        }
      }
      keys.push({ key, pos: ref.pos, access, pattern, allowed: pattern !== null });
      if (pattern === null && denied === null) denied = { reason: "key", object: key };
    }
  }
  const channels: ChannelExplanation[] = [];
  if (cmd.channels.length > 0) {
    for (const ch of getChannels(cmd, argv)) {
      const name = argv[ch.pos];
      const kind = ch.pattern ? "pattern" : "channel";
      if (ch.action === "unsubscribe") {
        channels.push({ channel: name, pos: ch.pos, kind, checked: false, pattern: null, allowed: true });
        continue;
      }
      let pattern: string | null = null;
      if (s.allChannels) pattern = "&*";
      else {
        for (const p of s.channels) {
          if (ch.pattern ? p === name : globMatch(p, name)) {
            pattern = "&" + p;
            break;
          }
        }
      }
      channels.push({ channel: name, pos: ch.pos, kind, checked: true, pattern, allowed: pattern !== null });
      if (pattern === null && denied === null) denied = { reason: "channel", object: name };
    }
  }
  return { selector: label(i), rules: describeSelector(s), allowed: denied === null, command, keys, channels, denied };
}

/** Explain one command (argv = command name and arguments) for a user. */
export function explainCommand(u: User, cmd: Command, argv: string[]): Explanation {
  const selectors = u.selectors.map((s, i) => explainSelector(s, i, cmd, argv));
  const r = checkUser(u, cmd, argv);
  const allowed = r.code === ACL_OK;
  let decidedBy: string | null = null;
  if (allowed) {
    const first = selectors.find((s) => s.allowed);
    decidedBy = first ? first.selector : "root";
  } else {
    // The selector whose denial is reported: the first one denying with that reason and object.
    const reason = r.code === DENIED_CMD ? "command" : r.code === DENIED_KEY ? "key" : "channel";
    const object = r.code === DENIED_CMD ? cmd.name : argv[r.pos];
    const which = selectors.find((s) => s.denied !== null && s.denied.reason === reason && s.denied.object === object);
    decidedBy = which ? which.selector : null;
  }
  return {
    user: u.name,
    enabled: u.enabled,
    command: cmd.name,
    argv,
    allowed,
    decidedBy,
    reason: allowed ? null : r.code === DENIED_CMD ? "command" : r.code === DENIED_KEY ? "key" : "channel",
    message: allowed ? "OK" : verboseDenialText(r.code, u, cmd, argv[r.pos]),
    selectors,
  };
}

/**
 * Explain a MULTI block: MULTI, each command, EXEC. Returns Redis's error text for the first
 * command that does not resolve (unknown, wrong arity).
 */
export function explainMulti(u: User, commands: string[][]): MultiExplanation | string {
  const steps: Explanation[] = [];
  const all = [["MULTI"], ...commands, ["EXEC"]];
  for (let i = 0; i < all.length; i++) {
    const cmd = resolveCommand(all[i]);
    if (typeof cmd === "string") return cmd;
    const e = explainCommand(u, cmd, all[i]);
    const inside = i > 0 && i < all.length - 1;
    if (inside && cmd.noMulti) {
      e.allowed = false;
      e.error = "ERR Command not allowed inside a transaction";
    }
    steps.push(e);
  }
  return { user: u.name, allowed: steps.every((s) => s.allowed), steps };
}
