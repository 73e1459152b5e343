/**
 * COMMAND and its subcommands, read straight from the command table:
 * COMMAND, COMMAND COUNT / INFO / DOCS / LIST / GETKEYS / GETKEYSANDFLAGS / HELP.
 */
import { ErrorReply, MapReply, SetReply, Simple, type Reply } from "../resp/reply.ts";
import { ALL_COMMANDS, COMMANDS, type Command, type Handler } from "./table.ts";
import type { KeySpec } from "./spec.ts";
import { getKeys } from "./keys.ts";
import { lookup, arityOk } from "../dispatch.ts";
import { globMatch } from "../acl/glob.ts";
import { is } from "./util.ts";

function keySpecReply(s: KeySpec): Reply {
  const b = s.begin;
  const begin =
    "index" in b
      ? new MapReply(["type", "index", "spec", new MapReply(["index", b.index])])
      : "keyword" in b
        ? new MapReply(["type", "keyword", "spec", new MapReply(["keyword", b.keyword, "startfrom", b.startfrom])])
        : new MapReply(["type", "unknown", "spec", new MapReply([])]);
  const f = s.find;
  const find =
    "range" in f
      ? new MapReply(["type", "range", "spec", new MapReply(["lastkey", f.range.lastkey, "keystep", f.range.step, "limit", f.range.limit])])
      : "keynum" in f
        ? new MapReply(["type", "keynum", "spec", new MapReply(["keynumidx", f.keynum.keynumidx, "firstkey", f.keynum.firstkey, "keystep", f.keynum.step])])
        : new MapReply(["type", "unknown", "spec", new MapReply([])]);
  const pairs: Reply[] = [];
  if (s.notes) pairs.push("notes", s.notes);
  pairs.push("flags", new SetReply(s.flags.map((x) => new Simple(x))), "begin_search", begin, "find_keys", find);
  return new MapReply(pairs);
}

/** One command's COMMAND INFO entry. */
export function commandInfo(cmd: Command): Reply {
  const flags = [...cmd.flags];
  if (cmd.movableKeys) flags.push("movablekeys");
  return [
    cmd.name,
    cmd.arity,
    new SetReply(flags.map((f) => new Simple(f))),
    cmd.legacy[0],
    cmd.legacy[1],
    cmd.legacy[2],
    new SetReply([...cmd.categories].map((c) => new Simple("@" + c))),
    new SetReply([]),
    cmd.keySpecs.map(keySpecReply),
    cmd.subcommands ? [...cmd.subcommands.values()].map(commandInfo) : [],
  ];
}

function commandDocs(cmd: Command): Reply {
  const pairs: Reply[] = ["since", cmd.spec.since, "group", cmd.spec.group];
  if (cmd.spec.complexity) pairs.push("complexity", cmd.spec.complexity);
  if (cmd.subcommands) {
    const subs: Reply[] = [];
    for (const s of cmd.subcommands.values()) subs.push(s.name, commandDocs(s));
    pairs.push("subcommands", new MapReply(subs));
  }
  return new MapReply(pairs);
}

function byFullName(name: string): Command | undefined {
  const lower = name.toLowerCase();
  const bar = lower.indexOf("|");
  if (bar < 0) return COMMANDS.get(lower);
  return COMMANDS.get(lower.slice(0, bar))?.subcommands?.get(lower.slice(bar + 1));
}

function getkeysCommon(argv: string[], withFlags: boolean): Reply {
  const target = argv.slice(2);
  const found = lookup(target);
  if (found instanceof ErrorReply) return new ErrorReply("ERR Invalid command specified");
  if (!arityOk(found, target.length)) return new ErrorReply("ERR Invalid number of arguments specified for command");
  const keys = getKeys(found, target);
  if (keys.length === 0) return new ErrorReply("ERR The command has no key arguments");
  if (!withFlags) return keys.map((k) => target[k.pos]);
  return keys.map((k) => [target[k.pos], new SetReply(k.flags.map((f) => new Simple(f)))]);
}

const HELP = [
  "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "(no subcommand)",
  "    Return details about all Redis commands.",
  "COUNT",
  "    Return the total number of commands in this Redis server.",
  "LIST",
  "    Return a list of all commands in this Redis server.",
  "INFO [<command-name> ...]",
  "    Return details about multiple Redis commands.",
  "    If no command names are given, documentation details for all",
  "    commands are returned.",
  "DOCS [<command-name> ...]",
  "    Return documentation details about multiple Redis commands.",
  "    If no command names are given, documentation details for all",
  "    commands are returned.",
  "GETKEYS <full-command>",
  "    Return the keys from a full Redis command.",
  "GETKEYSANDFLAGS <full-command>",
  "    Return the keys and the access flags from a full Redis command.",
  "HELP",
  "    Print this help.",
];

export const handlers: Record<string, Handler> = {
  command: () => [...COMMANDS.values()].map(commandInfo),
  "command|count": () => COMMANDS.size,
  "command|info"(_c, argv) {
    if (argv.length === 2) return [...COMMANDS.values()].map(commandInfo);
    return argv.slice(2).map((n) => {
      const cmd = byFullName(n);
      return cmd ? commandInfo(cmd) : null;
    });
  },
  "command|docs"(_c, argv) {
    const pairs: Reply[] = [];
    const list = argv.length === 2 ? [...COMMANDS.values()] : argv.slice(2).map(byFullName).filter((x): x is Command => !!x);
    for (const cmd of list) pairs.push(cmd.name, commandDocs(cmd));
    return new MapReply(pairs);
  },
  "command|list"(_c, argv) {
    let names = ALL_COMMANDS.map((c) => c.name);
    if (argv.length === 5 && is(argv[2], "filterby")) {
      const kind = argv[3].toLowerCase();
      const v = argv[4];
      if (kind === "module") names = [];
      else if (kind === "aclcat") names = ALL_COMMANDS.filter((c) => c.categories.has(v.toLowerCase())).map((c) => c.name);
      else if (kind === "pattern") names = names.filter((n) => globMatch(v, n, true));
      else return new ErrorReply("ERR syntax error");
    } else if (argv.length !== 2) return new ErrorReply("ERR syntax error");
    return names;
  },
  "command|getkeys": (_c, argv) => getkeysCommon(argv, false),
  "command|getkeysandflags": (_c, argv) => getkeysCommon(argv, true),
  "command|help": () => HELP.map((l) => new Simple(l)),
};
