/**
 * Finding the keys and channels of a command from its specs, as Redis 7.2's
 * getKeysFromCommandWithSpecs does: key specs first; commands whose specs are incomplete or
 * whose flags depend on the arguments (SET with GET, BITFIELD, SORT) use their own finder.
 *
 * A {@link KeyRef} carries the argument index and what the command does with the key:
 * `read` (ACCESS: the value is returned or used) and `write` (UPDATE/INSERT/DELETE). A key
 * with neither (EXISTS, TYPE...) needs either permission.
 * When the argument count does not fit the spec (a syntax error the command will report),
 * no keys are returned, as Redis does.
 */
import type { KeySpec, KeySpecFlag } from "./spec.ts";
import type { Command } from "./table.ts";

export interface KeyRef {
  pos: number;
  read: boolean;
  write: boolean;
  /** The spec's flags, for COMMAND GETKEYSANDFLAGS. */
  flags: KeySpecFlag[];
}

export interface ChannelRef {
  pos: number;
  pattern: boolean;
  action: "publish" | "subscribe" | "unsubscribe";
}

function ref(pos: number, flags: KeySpecFlag[]): KeyRef {
  return {
    pos,
    read: flags.includes("ACCESS"),
    write: flags.includes("UPDATE") || flags.includes("INSERT") || flags.includes("DELETE"),
    flags,
  };
}

/** Keys by key specs; null when the arguments do not fit a spec (or a spec is incomplete). */
function bySpecs(specs: KeySpec[], argv: string[]): KeyRef[] | null {
  const argc = argv.length;
  const out: KeyRef[] = [];
  for (const spec of specs) {
    if (spec.flags.includes("NOT_KEY")) continue;
    let first: number;
    const b = spec.begin;
    if ("index" in b) first = b.index;
    else if ("keyword" in b) {
      first = 0;
      const kw = b.keyword.toLowerCase();
      if (b.startfrom >= 0) {
        for (let i = b.startfrom; i < argc; i++) if (argv[i].toLowerCase() === kw) { first = i + 1; break; }
      } else {
        for (let i = argc + b.startfrom; i > 0; i--) if (argv[i].toLowerCase() === kw) { first = i + 1; break; }
      }
      if (first === 0) continue;
    } else return null;
    const f = spec.find;
    let last: number;
    let step: number;
    if ("range" in f) {
      const r = f.range;
      if (r.lastkey >= 0) last = first + r.lastkey;
      else if (!r.limit) last = argc + r.lastkey;
      else last = first + (Math.floor((argc - first) / r.limit) + r.lastkey);
      step = r.step;
    } else if ("keynum" in f) {
      const k = f.keynum;
      const idx = first + k.keynumidx;
      if (idx >= argc) return null;
      const s = argv[idx];
      if (!/^-?[0-9]+$/.test(s)) return null;
      const numkeys = Number(s);
      if (numkeys < 0 || numkeys > argc) return null;
      first += k.firstkey;
      last = first + (numkeys - 1) * k.step;
      step = k.step;
    } else return null;
    if (spec.flags.includes("INCOMPLETE")) return null;
    for (let i = first; i <= last; i += step) {
      if (i >= argc || i < first) return null;
      out.push(ref(i, spec.flags));
    }
  }
  return out;
}

const OW_UPDATE: KeySpecFlag[] = ["OW", "UPDATE"];
const RW_ACCESS_UPDATE: KeySpecFlag[] = ["RW", "ACCESS", "UPDATE"];
const RO_ACCESS: KeySpecFlag[] = ["RO", "ACCESS"];
const SET_PLAIN: readonly KeyRef[] = [ref(1, OW_UPDATE)];
const SET_GET: readonly KeyRef[] = [ref(1, RW_ACCESS_UPDATE)];

/**
 * Results of {@link bySpecs} for specs whose keys depend on the argument count only (every
 * spec begins at an index and finds a range) are kept by command and argument count (below
 * ARGC_CACHED): the ACL check of every command needs them, and building them anew costs more
 * than the check itself.
 */
const ARGC_CACHED = 64;

function argcOnly(specs: KeySpec[]): boolean {
  return specs.every((s) => "index" in s.begin && "range" in s.find && !s.flags.includes("INCOMPLETE"));
}

/** Commands whose key flags depend on their arguments, or whose specs are incomplete. */
const FINDERS: Record<string, (argv: string[]) => readonly KeyRef[]> = {
  set(argv) {
    for (let i = 3; i < argv.length; i++) if (argv[i].toLowerCase() === "get") return SET_GET;
    return SET_PLAIN;
  },
  bitfield(argv) {
    for (let i = 2; i < argv.length; i++) {
      const a = argv[i].toLowerCase();
      if (a === "set" || a === "incrby") return [ref(1, RW_ACCESS_UPDATE)];
    }
    return [ref(1, RO_ACCESS)];
  },
  sort(argv) {
    const out = [ref(1, RO_ACCESS)];
    for (let i = 2; i < argv.length; i++) {
      const a = argv[i].toLowerCase();
      if (a === "limit") i += 2;
      else if (a === "get" || a === "by") i++;
      else if (a === "store" && i + 1 < argv.length) {
        out.push(ref(i + 1, OW_UPDATE));
        i++;
      }
    }
    return out;
  },
  sort_ro(argv) {
    return argv.length > 1 ? [ref(1, RO_ACCESS)] : [];
  },
};

const NO_KEYS: readonly KeyRef[] = [];

/** Per command (by id): its finder, or the memo of its argument-count-only specs (null: neither). */
const perCommand: ({ finder: ((argv: string[]) => readonly KeyRef[]) | null; memo: (readonly KeyRef[] | null)[] | null } | undefined)[] = [];

/** The keys a command touches, in argument order of the specs. The result is shared: read only. */
export function getKeys(cmd: Command, argv: string[]): readonly KeyRef[] {
  const specs = cmd.keySpecs;
  if (specs.length === 0) return NO_KEYS;
  let how = perCommand[cmd.id];
  if (how === undefined) {
    const finder = Object.hasOwn(FINDERS, cmd.name) ? FINDERS[cmd.name] : null;
    how = perCommand[cmd.id] = { finder, memo: finder === null && argcOnly(specs) ? [] : null };
  }
  if (how.finder !== null) return how.finder(argv);
  const argc = argv.length;
  const memo = how.memo;
  if (memo !== null && argc < ARGC_CACHED) {
    let r = memo[argc];
    if (r === undefined) r = memo[argc] = bySpecs(specs, argv);
    return r ?? NO_KEYS;
  }
  return bySpecs(specs, argv) ?? NO_KEYS;
}

/** The channels (or patterns) a command names. */
export function getChannels(cmd: Command, argv: string[]): ChannelRef[] {
  const out: ChannelRef[] = [];
  for (const c of cmd.channels) {
    const end = c.single ? Math.min(c.first + 1, argv.length) : argv.length;
    for (let i = c.first; i < end; i++) out.push({ pos: i, pattern: !!c.pattern, action: c.action });
  }
  return out;
}
