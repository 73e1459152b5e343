/**
 * The shape of the command table: the spine every other part reads.
 *
 * A {@link CommandSpec} is pure data about a Redis 7.2 command (or a subcommand, named
 * "parent|sub"): arity, flags, explicit ACL categories, key specs, channel specs. Dispatch,
 * the ACL engine, COMMAND and ACL CAT all read it; nothing keeps a second list. Handlers are
 * attached separately (see registry.ts) so the data stays a plain literal.
 *
 * Conventions (all as Redis 7.2 reports them through COMMAND INFO / COMMAND DOCS):
 * - `name` is lowercase; a subcommand's name is "parent|sub" (e.g. "config|get").
 * - `arity` counts the command name itself; negative means "at least -arity".
 *   A subcommand's arity counts the parent name too (CONFIG GET has arity -3).
 * - `flags` are Redis's lowercase command flags ("write", "readonly", "denyoom", "admin",
 *   "pubsub", "noscript", "blocking", "loading", "stale", "skip_monitor", "skip_slowlog",
 *   "fast", "no_auth", "may_replicate", "sentinel", "only_sentinel", "no_mandatory_keys",
 *   "protected", "allow_busy", "module", "no_async_loading", "no_multi", "touches_arbitrary_keys").
 *   "movablekeys" is never stored: it is derived from the key specs.
 * - `categories` are the explicit ACL categories without '@' (e.g. ["string"]); the ones Redis
 *   derives from flags (write, read, admin, dangerous, pubsub, fast, slow, blocking) are added
 *   by table.ts, never written here.
 */

/** Key spec flags: one of RO/RW/OW/RM, then the ACCESS/UPDATE/INSERT/DELETE family, then extras. */
export type KeySpecFlag =
  | "RO" | "RW" | "OW" | "RM"
  | "ACCESS" | "UPDATE" | "INSERT" | "DELETE"
  | "NOT_KEY" | "INCOMPLETE" | "VARIABLE_FLAGS";

/** Where the search for keys starts. */
export type BeginSearch =
  | { index: number }
  | { keyword: string; startfrom: number }
  | { unknown: true };

/** How keys are found from the begin position. */
export type FindKeys =
  | { range: { lastkey: number; step: number; limit: number } }
  | { keynum: { keynumidx: number; firstkey: number; step: number } }
  | { unknown: true };

export interface KeySpec {
  flags: KeySpecFlag[];
  begin: BeginSearch;
  find: FindKeys;
  notes?: string;
}

/**
 * Channel spec (aki's own; Redis hard-codes these in getChannelsFromCommand).
 * Arguments from `first` to the end (step 1), or just `first` when `single` is set, are
 * channels (or patterns, when `pattern`), used for `action`.
 */
export interface ChannelSpec {
  first: number;
  single?: boolean;
  pattern?: boolean;
  action: "publish" | "subscribe" | "unsubscribe";
}

export interface CommandSpec {
  name: string;
  arity: number;
  flags: string[];
  categories: string[];
  keySpecs: KeySpec[];
  channels?: ChannelSpec[];
  /** COMMAND DOCS facts: group ("string", "generic", "server", ...) and the version it appeared in. */
  group: string;
  since: string;
  /** Optional complexity line for COMMAND DOCS. */
  complexity?: string;
  subcommands?: CommandSpec[];
}
