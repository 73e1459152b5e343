/**
 * The runtime command table, built once from the data in table-data.ts.
 *
 * - Categories: the explicit ones from the data plus those Redis 7.2 derives from flags
 *   (write -> write; readonly, unless in @scripting -> read; admin -> admin + dangerous;
 *   pubsub -> pubsub; fast -> fast, otherwise slow; blocking -> blocking).
 * - movablekeys is derived: a command whose keys cannot be found from fixed positions.
 * - Every command gets an id (its index) so the ACL engine can keep allowed-command bitsets.
 * - Commands aki does not run yet keep a handler that answers
 *   "ERR command '<name>' is not supported by aki yet", so ACL rules naming them still resolve.
 */
import type { CommandSpec, KeySpec, ChannelSpec } from "./spec.ts";
import { COMMAND_TABLE } from "./table-data.ts";
import type { Reply } from "../resp/reply.ts";
import { ErrorReply } from "../resp/reply.ts";
import type { Client } from "../client.ts";

/** A command handler: runs synchronously, returns the reply (or BLOCKED, see client.ts). */
export type Handler = (c: Client, argv: string[]) => Reply | typeof BLOCKED;
/** Returned by a blocking command that must wait: the client blocks and the handler re-runs when a key it waits on changes or it times out. */
export const BLOCKED: unique symbol = Symbol("blocked");

/** Redis 7.2's 21 ACL categories, in ACL CAT order. */
export const CATEGORIES = [
  "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog",
  "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection",
  "transaction", "scripting",
];

export interface Command {
  readonly spec: CommandSpec;
  /** Full lowercase name: "get", "config|get". */
  readonly name: string;
  readonly arity: number;
  readonly flags: ReadonlySet<string>;
  readonly categories: ReadonlySet<string>;
  readonly keySpecs: KeySpec[];
  readonly channels: ChannelSpec[];
  readonly parent: Command | null;
  readonly subcommands: Map<string, Command> | null;
  readonly id: number;
  readonly write: boolean;
  readonly readonly: boolean;
  readonly noAuth: boolean;
  readonly noMulti: boolean;
  readonly blocking: boolean;
  readonly fast: boolean;
  readonly movableKeys: boolean;
  /** COMMAND INFO's legacy first key, last key and step. */
  readonly legacy: [number, number, number];
  readonly denyOom: boolean;
  handler: Handler;
  implemented: boolean;
  /** Calls and stats for INFO commandstats. */
  calls: number;
  usec: number;
  rejected: number;
  failed: number;
}

export function implicitCategories(flags: readonly string[], explicit: readonly string[]): string[] {
  const out = new Set(explicit);
  const has = (f: string) => flags.includes(f);
  if (has("write")) out.add("write");
  if (has("readonly") && !explicit.includes("scripting")) out.add("read");
  if (has("admin")) {
    out.add("admin");
    out.add("dangerous");
  }
  if (has("pubsub")) out.add("pubsub");
  if (has("fast")) out.add("fast");
  if (has("blocking")) out.add("blocking");
  if (!has("fast")) out.add("slow");
  return CATEGORIES.filter((c) => out.has(c)).concat([...out].filter((c) => !CATEGORIES.includes(c)));
}

/**
 * Redis's legacy (first, last, step) key range and movablekeys flag, derived from the key
 * specs exactly as populateCommandLegacyRangeSpec does.
 */
function legacyRange(specs: KeySpec[]): { first: number; last: number; step: number; movable: boolean } {
  const none = { first: 0, last: 0, step: 0, movable: false };
  if (specs.length === 0) return none;
  const plain = (s: KeySpec) => "index" in s.begin && "range" in s.find;
  if (specs.length === 1 && plain(specs[0])) {
    const s = specs[0];
    const pos = (s.begin as { index: number }).index;
    const r = (s.find as { range: { lastkey: number; step: number } }).range;
    return { first: pos, last: r.lastkey < 0 ? r.lastkey : pos + r.lastkey, step: r.step, movable: s.flags.includes("INCOMPLETE") };
  }
  let first = Infinity;
  let last = 0;
  let prevLast = 0;
  let movable = false;
  const unsigned = (n: number) => (n < 0 ? 2 ** 32 + n : n);
  for (const s of specs) {
    if (!plain(s)) {
      movable = true;
      continue;
    }
    const pos = (s.begin as { index: number }).index;
    const r = (s.find as { range: { lastkey: number; step: number } }).range;
    if (r.step !== 1 || (prevLast && prevLast !== pos - 1)) {
      movable = true;
      continue;
    }
    if (s.flags.includes("INCOMPLETE")) movable = true;
    first = Math.min(first, pos);
    const abs = r.lastkey >= 0 ? r.lastkey + pos : r.lastkey;
    last = unsigned(abs) > unsigned(last) ? abs : last;
    prevLast = last;
  }
  if (first === Infinity) return { ...none, movable: true };
  return { first, last, step: 1, movable };
}

function notImplemented(c: Client, argv: string[]): Reply {
  void c;
  void argv;
  return new ErrorReply("ERR this command is not supported by aki yet");
}

/** All commands, top-level and subcommands, in id order. */
export const ALL_COMMANDS: Command[] = [];
/** Top-level commands by lowercase name. */
export const COMMANDS = new Map<string, Command>();

function build(spec: CommandSpec, parent: Command | null): Command {
  const lr = legacyRange(spec.keySpecs);
  const cmd: Command = {
    spec,
    name: spec.name,
    arity: spec.arity,
    flags: new Set(spec.flags),
    categories: new Set(implicitCategories(spec.flags, spec.categories)),
    keySpecs: spec.keySpecs,
    channels: spec.channels ?? [],
    parent,
    subcommands: null,
    id: ALL_COMMANDS.length,
    write: spec.flags.includes("write"),
    readonly: spec.flags.includes("readonly"),
    noAuth: spec.flags.includes("no_auth"),
    noMulti: spec.flags.includes("no_multi"),
    blocking: spec.flags.includes("blocking"),
    fast: spec.flags.includes("fast"),
    movableKeys: lr.movable,
    legacy: [lr.first, lr.last, lr.step],
    denyOom: spec.flags.includes("denyoom"),
    handler: notImplemented,
    implemented: false,
    calls: 0,
    usec: 0,
    rejected: 0,
    failed: 0,
  };
  ALL_COMMANDS.push(cmd);
  if (spec.subcommands && spec.subcommands.length > 0) {
    const subs = new Map<string, Command>();
    (cmd as { subcommands: Map<string, Command> | null }).subcommands = subs;
    for (const s of spec.subcommands) {
      const sub = build(s, cmd);
      subs.set(s.name.slice(s.name.indexOf("|") + 1), sub);
    }
  }
  return cmd;
}

for (const spec of COMMAND_TABLE) COMMANDS.set(spec.name, build(spec, null));

/** Look up by full name ("get", "config|get"), case-insensitively. */
export function commandByName(full: string): Command | undefined {
  const lower = full.toLowerCase();
  const bar = lower.indexOf("|");
  if (bar < 0) return COMMANDS.get(lower);
  return COMMANDS.get(lower.slice(0, bar))?.subcommands?.get(lower.slice(bar + 1));
}

/**
 * Attach handlers by full name. Throws on a name the table does not know, so a typo cannot
 * silently leave a command unimplemented.
 */
export function attachHandlers(handlers: Record<string, Handler>): void {
  for (const [name, h] of Object.entries(handlers)) {
    const cmd = commandByName(name);
    if (!cmd) throw new Error(`handler for unknown command '${name}'`);
    cmd.handler = h;
    cmd.implemented = true;
  }
}
