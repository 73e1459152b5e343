/**
 * The ACL rule language (ACL SETUSER, ACL files, `user` config lines) and its rendering
 * (ACL LIST / GETUSER), as Redis 7.2 does it.
 *
 * - {@link applyUserRule} applies one rule token to a user, {@link applySelectorRule} one
 *   selector-level token; both return null or an {@link RuleErrno} whose text is
 *   {@link RULE_ERROR_TEXT}. Rules are case-insensitive keywords; `>pw` / `<pw` are binary.
 * - {@link mergeSelectorArgs} glues a selector written over several arguments back together;
 *   an opening parenthesis without its closing one is reported by index.
 * - {@link stageUser} is ACL SETUSER's all-or-nothing application: it works on a copy and
 *   returns it, or the exact error text ("Error in ACL SETUSER modifier '<rule>': <reason>",
 *   "Unmatched parenthesis in acl selector starting at '<arg>'.").
 * - {@link describeUser} renders the ACL LIST line body; the commands part is `+@all` or
 *   `-@all` followed by the remembered rules (Redis's ACLDescribeSelectorCommandRules), where
 *   re-applying a rule (or a whole command over its subcommands / first-args) removes the older
 *   spelling and appends the new one.
 * One deliberate difference: a first-arg rule containing whitespace (`+select|a b`) is refused
 * with "Syntax error" (Redis accepts it and then crashes rendering it).
 */
import { ALL_COMMANDS, CATEGORIES, COMMANDS, type Command } from "../commands/table.ts";
import { splitArgs } from "../resp/parser.ts";
import { PERM_ALL, PERM_READ, PERM_WRITE, Selector, User, hasSpaces, hashPassword, isValidHash, type KeyPattern } from "./user.ts";

export type RuleErrno = "ENOENT" | "EINVAL" | "EEXIST" | "EISDIR" | "ENODEV" | "EBADMSG" | "EALREADY" | "ECHILD";

export const RULE_ERROR_TEXT: Record<RuleErrno, string> = {
  ENOENT: "Unknown command or category name in ACL",
  EINVAL: "Syntax error",
  EEXIST:
    "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
  EISDIR:
    "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
  ENODEV: "The password you are trying to remove from the user does not exist",
  EBADMSG: "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
  EALREADY: "Duplicate user found. A user can only be defined once in config files",
  ECHILD: "Allowing first-arg of a subcommand is not supported",
};

/** Where the deprecation warning of first-arg rules goes (set by the ACL engine). */
export const ruleHooks = { warn: (_msg: string): void => {} };

/** Command lookup by full name as ACL rules do it: "get", "config|get"; case-insensitive, one level. */
export function lookupRuleCommand(name: string): Command | undefined {
  const parts = name.split("|");
  if (name === "" || parts.length > 2) return undefined;
  const base = COMMANDS.get(parts[0].toLowerCase());
  if (parts.length === 1 || base === undefined) return base;
  if (base.subcommands === null) return undefined;
  return base.subcommands.get(parts[1].toLowerCase());
}

function setBit(s: Selector, id: number, allow: boolean): void {
  s.bits[id] = allow ? 1 : 0;
  if (!allow) s.allCommands = false;
}

/** Allow/block a command; a container command carries its subcommands along. */
function changePerm(s: Selector, cmd: Command, allow: boolean): void {
  setBit(s, cmd.id, allow);
  if (s.firstArgs !== null) s.firstArgs.delete(cmd.id);
  if (cmd.subcommands !== null) for (const sub of cmd.subcommands.values()) setBit(s, sub.id, allow);
}

function setCategory(s: Selector, cat: string, allow: boolean): void {
  for (const cmd of COMMANDS.values()) {
    if (cmd.categories.has(cat)) changePerm(s, cmd, allow);
    if (cmd.subcommands !== null) {
      for (const sub of cmd.subcommands.values()) if (sub.categories.has(cat)) changePerm(s, sub, allow);
    }
  }
}

/** Remember a command rule: drop the older spelling of it (and of its subcommands), then append. */
function updateRules(s: Selector, rule: string, allow: boolean): void {
  const r = rule.toLowerCase();
  const sub = r + "|";
  s.rules = s.rules.filter((x) => {
    const body = x.slice(1);
    return !(body === r || body.startsWith(sub));
  });
  s.rules.push((allow ? "+" : "-") + r);
}

function addFirstArg(s: Selector, id: number, arg: string): void {
  if (s.firstArgs === null) s.firstArgs = new Map();
  let list = s.firstArgs.get(id);
  if (list === undefined) s.firstArgs.set(id, (list = []));
  const low = arg.toLowerCase();
  if (list.some((a) => a.toLowerCase() === low)) return;
  list.push(arg);
}

/** Apply one selector-level rule (keys, channels, commands). */
export function applySelectorRule(s: Selector, op: string): RuleErrno | null {
  const lower = op.toLowerCase();
  if (lower === "allkeys" || op === "~*") {
    s.allKeys = true;
    s.patterns = [];
  } else if (lower === "resetkeys") {
    s.allKeys = false;
    s.patterns = [];
  } else if (lower === "allchannels" || op === "&*") {
    s.allChannels = true;
    s.channels = [];
  } else if (lower === "resetchannels") {
    s.allChannels = false;
    s.channels = [];
  } else if (lower === "allcommands" || lower === "+@all") {
    s.bits.fill(1);
    s.allCommands = true;
    s.future = true;
    s.rules = [];
    s.firstArgs = null;
  } else if (lower === "nocommands" || lower === "-@all") {
    s.bits.fill(0);
    s.allCommands = false;
    s.future = false;
    s.rules = [];
    s.firstArgs = null;
  } else if (op[0] === "~" || op[0] === "%") {
    if (s.allKeys) return "EEXIST";
    let flags = 0;
    let offset = 1;
    if (op[0] === "%") {
      for (; offset < op.length; offset++) {
        const c = op[offset];
        const up = c.toUpperCase();
        if (up === "R" && !(flags & PERM_READ)) flags |= PERM_READ;
        else if (up === "W" && !(flags & PERM_WRITE)) flags |= PERM_WRITE;
        else if (c === "~" && flags) {
          offset++;
          break;
        } else return "EINVAL";
      }
      if (flags === 0) return "EINVAL";
    } else flags = PERM_ALL;
    const pat = op.slice(offset);
    if (hasSpaces(pat)) return "EINVAL";
    // A new array (and a new object for a changed pattern) rather than an edit in place: the
    // permission check indexes a selector's pattern list by its identity (check.ts).
    const existing = s.patterns.find((p) => p.pattern === pat);
    if (existing) s.patterns = s.patterns.map((p) => (p === existing ? { pattern: pat, flags: p.flags | flags } : p));
    else s.patterns = [...s.patterns, { pattern: pat, flags }];
    s.allKeys = false;
  } else if (op[0] === "&") {
    if (s.allChannels) return "EISDIR";
    const pat = op.slice(1);
    if (hasSpaces(pat)) return "EINVAL";
    if (!s.channels.includes(pat)) s.channels.push(pat);
    s.allChannels = false;
  } else if (op[0] === "+" && op[1] !== "@") {
    const bar = op.lastIndexOf("|");
    if (bar < 0) {
      const cmd = lookupRuleCommand(op.slice(1));
      if (cmd === undefined) return "ENOENT";
      changePerm(s, cmd, true);
      updateRules(s, cmd.name, true);
    } else {
      const cmd = lookupRuleCommand(op.slice(1, bar));
      const arg = op.slice(bar + 1);
      if (cmd === undefined) return "ENOENT";
      if (cmd.parent !== null) return "ECHILD";
      if (arg === "") return "EINVAL";
      if (cmd.subcommands !== null) {
        const sub = lookupRuleCommand(op.slice(1));
        if (sub === undefined) return "ENOENT";
        changePerm(s, sub, true);
      } else {
        if (hasSpaces(arg)) return "EINVAL";
        ruleHooks.warn(
          `Deprecation warning: Allowing a first arg of an otherwise blocked command is a misuse of ACL and may get disabled in the future (offender: ${op})`,
        );
        addFirstArg(s, cmd.id, arg);
      }
      updateRules(s, op.slice(1), true);
    }
  } else if (op[0] === "-" && op[1] !== "@") {
    const cmd = lookupRuleCommand(op.slice(1));
    if (cmd === undefined) return "ENOENT";
    changePerm(s, cmd, false);
    updateRules(s, cmd.name, false);
  } else if ((op[0] === "+" || op[0] === "-") && op[1] === "@") {
    const cat = op.slice(2).toLowerCase();
    if (!CATEGORIES.includes(cat)) return "ENOENT";
    const allow = op[0] === "+";
    updateRules(s, "@" + cat, allow);
    setCategory(s, cat, allow);
  } else {
    return "EINVAL";
  }
  return null;
}

/** Apply one user-level rule (flags, passwords, selectors, reset) or a root selector rule. */
export function applyUserRule(u: User, op: string, allChannelsByDefault: boolean): RuleErrno | null {
  u.gen++;
  if (op.length === 0) return null;
  const lower = op.toLowerCase();
  if (lower === "on") u.enabled = true;
  else if (lower === "off") u.enabled = false;
  else if (lower === "skip-sanitize-payload") u.skipSanitize = true;
  else if (lower === "sanitize-payload") u.skipSanitize = false;
  else if (lower === "nopass") {
    u.nopass = true;
    u.passwords = [];
  } else if (lower === "resetpass") {
    u.nopass = false;
    u.passwords = [];
  } else if (op[0] === ">" || op[0] === "#") {
    let h: string;
    if (op[0] === ">") h = hashPassword(op.slice(1));
    else {
      h = op.slice(1);
      if (!isValidHash(h)) return "EBADMSG";
    }
    if (!u.passwords.includes(h)) u.passwords.push(h);
    u.nopass = false;
  } else if (op[0] === "<" || op[0] === "!") {
    let h: string;
    if (op[0] === "<") h = hashPassword(op.slice(1));
    else {
      h = op.slice(1);
      if (!isValidHash(h)) return "EBADMSG";
    }
    const i = u.passwords.indexOf(h);
    if (i < 0) return "ENODEV";
    u.passwords.splice(i, 1);
  } else if (op[0] === "(" && op[op.length - 1] === ")") {
    const s = new Selector(false, allChannelsByDefault);
    const parts = splitArgs(op.slice(1, -1)) ?? [];
    for (const p of parts) {
      const e = applySelectorRule(s, p);
      if (e !== null) return e;
    }
    u.selectors.push(s);
  } else if (lower === "clearselectors") {
    u.selectors.length = 1;
  } else if (lower === "reset") {
    u.nopass = false;
    u.passwords = [];
    const r = u.root;
    applySelectorRule(r, "resetkeys");
    applySelectorRule(r, "resetchannels");
    if (allChannelsByDefault) applySelectorRule(r, "allchannels");
    u.enabled = false;
    u.skipSanitize = false;
    u.selectors.length = 1;
    applySelectorRule(r, "-@all");
  } else {
    const e = applySelectorRule(u.root, op);
    if (e !== null) return e;
  }
  return null;
}

/**
 * Rebuild selectors written across several arguments: "(+get" "~k)" -> "(+get ~k)".
 * Returns the merged list, or the index of the argument opening an unclosed selector.
 */
export function mergeSelectorArgs(args: string[]): { args: string[] } | { invalid: number } {
  const out: string[] = [];
  let open = -1;
  let cur = "";
  for (let j = 0; j < args.length; j++) {
    const op = args[j];
    if (open === -1 && op[0] === "(" && op[op.length - 1] !== ")") {
      cur = op;
      open = j;
      continue;
    }
    if (open !== -1) {
      cur += " " + op;
      if (op.length > 0 && op[op.length - 1] === ")") {
        open = -1;
        out.push(cur);
      }
      continue;
    }
    out.push(op);
  }
  if (open !== -1) return { invalid: open };
  return { args: out };
}

/**
 * ACL SETUSER's staging: apply `args` to a copy of `existing` (or to a new user named `name`).
 * Returns the staged user, or the error text (without "ERR ").
 */
export function stageUser(existing: User | null, name: string, args: string[], allChannelsByDefault: boolean): User | string {
  const merged = mergeSelectorArgs(args);
  if ("invalid" in merged) return `Unmatched parenthesis in acl selector starting at '${args[merged.invalid]}'.`;
  const temp = existing ? existing.clone() : new User(name, allChannelsByDefault);
  for (const op of merged.args) {
    const e = applyUserRule(temp, op, allChannelsByDefault);
    if (e !== null) return `Error in ACL SETUSER modifier '${op}': ${RULE_ERROR_TEXT[e]}`;
  }
  temp.refresh();
  return temp;
}

/** Apply trusted rules directly (default user creation, requirepass). */
export function applyTrusted(u: User, ops: string[], allChannelsByDefault: boolean): void {
  for (const op of ops) applyUserRule(u, op, allChannelsByDefault);
  u.refresh();
}

// ---- rendering ------------------------------------------------------------------------------

function patternString(p: KeyPattern): string {
  if (p.flags === PERM_ALL) return "~" + p.pattern;
  if (p.flags === PERM_READ) return "%R~" + p.pattern;
  return "%W~" + p.pattern;
}

/** The commands part: "+@all"/"-@all" then the remembered rules. */
export function describeCommands(s: Selector): string {
  const base = s.future ? "+@all" : "-@all";
  return s.rules.length === 0 ? base : base + " " + s.rules.join(" ");
}

/** GETUSER "keys": "~*", or the patterns separated by spaces, or "". */
export function describeKeys(s: Selector): string {
  if (s.allKeys) return "~*";
  return s.patterns.map(patternString).join(" ");
}

/** GETUSER "channels": "&*", or "&pat" separated by spaces, or "". */
export function describeChannels(s: Selector): string {
  if (s.allChannels) return "&*";
  return s.channels.map((c) => "&" + c).join(" ");
}

/** A selector as ACL LIST writes it (keys, channels, commands). */
export function describeSelector(s: Selector): string {
  let out = "";
  if (s.allKeys) out += "~* ";
  else for (const p of s.patterns) out += patternString(p) + " ";
  if (s.allChannels) out += "&* ";
  else {
    out += "resetchannels ";
    for (const c of s.channels) out += "&" + c + " ";
  }
  return out + describeCommands(s);
}

/** User flags in Redis's order. */
export function userFlags(u: User): string[] {
  const f = [u.enabled ? "on" : "off"];
  if (u.nopass) f.push("nopass");
  f.push(u.skipSanitize ? "skip-sanitize-payload" : "sanitize-payload");
  return f;
}

/** The ACL LIST line without "user <name> ". */
export function describeUser(u: User): string {
  let out = userFlags(u).join(" ") + " ";
  for (const h of u.passwords) out += "#" + h + " ";
  for (const s of u.selectors) {
    const d = describeSelector(s);
    out += s.root ? d : " (" + d + ")";
  }
  return out;
}

/** Every command id a selector allows (tests, admin API). */
export function allowedCommands(s: Selector): Command[] {
  return ALL_COMMANDS.filter((c) => s.bits[c.id] === 1);
}
