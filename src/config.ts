/**
 * The configuration directive table, read by CONFIG GET/SET, the redis.conf-style file
 * parser and the command line (every directive is also a `--name value` flag).
 *
 * Each directive has a name (and aliases), a type, a Redis-7.2 default, whether CONFIG SET may
 * change it, and a validator. Errors use Redis 7.2's texts:
 * - bool: "argument must be 'yes' or 'no'"
 * - integer: "argument couldn't be parsed into an integer", "argument must be between A and B inclusive"
 * - memory: "argument must be a memory value"
 * - enum: "argument(s) must be one of the following: a, b, c"
 * CONFIG SET wraps them as "ERR CONFIG SET failed (possibly related to argument 'name') - <reason>";
 * the file parser reports "<file>:<line>: <reason>".
 * Directives aki does not act on yet are accepted and kept (listed in the README) so
 * existing Redis configuration files load.
 */

export type ConfigValue = string | number | boolean;

export interface Directive {
  name: string;
  alias?: string;
  type: "bool" | "int" | "memory" | "string" | "enum" | "special";
  default: ConfigValue;
  mutable: boolean;
  /** Does aki act on it? false = accepted for compatibility only. */
  used: boolean;
  min?: number;
  max?: number;
  values?: string[];
  /** For "special": parse/validate a raw string into the stored value, throwing Error(reason). */
  parse?: (raw: string) => ConfigValue;
  /** For "special": render the stored value for CONFIG GET. */
  render?: (v: ConfigValue) => string;
  /** A security-relevant directive (audited, and hidden from CONFIG GET when sensitive). */
  sensitive?: boolean;
}

const GB = 1024 * 1024 * 1024;
const MB = 1024 * 1024;
const LLMAX = Number.MAX_SAFE_INTEGER;

/** Parse "1gb", "100mb", "10k", "1024" the way Redis's memtoull does. Returns NaN on error. */
export function parseMemory(raw: string): number {
  const m = /^(-?[0-9]+)(b|k|kb|m|mb|g|gb)?$/i.exec(raw);
  if (!m) return NaN;
  const n = Number(m[1]);
  const u = (m[2] ?? "b").toLowerCase();
  const mul: Record<string, number> = { b: 1, k: 1000, kb: 1024, m: 1000 * 1000, mb: MB, g: 1000 * 1000 * 1000, gb: GB };
  return n * mul[u];
}

/** client-output-buffer-limit: per class hard, soft (bytes) and soft seconds. */
export interface OutputLimits {
  normal: [number, number, number];
  replica: [number, number, number];
  pubsub: [number, number, number];
}

function parseOutputLimits(raw: string, base: OutputLimits): OutputLimits {
  const parts = raw.trim().split(/\s+/).filter((x) => x !== "");
  if (parts.length % 4 !== 0 || parts.length === 0) throw new Error("Wrong number of arguments in buffer limit configuration.");
  const out: OutputLimits = { normal: [...base.normal], replica: [...base.replica], pubsub: [...base.pubsub] };
  for (let i = 0; i < parts.length; i += 4) {
    let cls = parts[i].toLowerCase();
    if (cls === "slave") cls = "replica";
    if (cls !== "normal" && cls !== "replica" && cls !== "pubsub") throw new Error("Invalid client class specified in buffer limit configuration.");
    const hard = parseMemory(parts[i + 1]);
    const soft = parseMemory(parts[i + 2]);
    const secs = Number(parts[i + 3]);
    if (!(hard >= 0) || !(soft >= 0) || !Number.isInteger(secs) || secs < 0 || !/^[0-9]+$/.test(parts[i + 3])) {
      throw new Error("Error in hard, soft or soft_seconds setting in buffer limit configuration.");
    }
    out[cls as keyof OutputLimits] = [hard, soft, secs];
  }
  return out;
}

export function renderOutputLimits(l: OutputLimits): string {
  return `normal ${l.normal.join(" ")} slave ${l.replica.join(" ")} pubsub ${l.pubsub.join(" ")}`;
}

/**
 * aki departs from Redis's `normal 0 0 0`: a client that stops reading may hold at most 256 MB
 * of replies (hard limit), so one never-reading client cannot grow the server without bound.
 */
const DEFAULT_LIMITS: OutputLimits = { normal: [256 * MB, 0, 0], replica: [256 * MB, 64 * MB, 60], pubsub: [32 * MB, 8 * MB, 60] };

function d(name: string, type: Directive["type"], def: ConfigValue, extra: Partial<Directive> = {}): Directive {
  return { name, type, default: def, mutable: true, used: true, ...extra };
}
/** Accepted for compatibility, not acted on. */
function compat(name: string, type: Directive["type"], def: ConfigValue, extra: Partial<Directive> = {}): Directive {
  return { name, type, default: def, mutable: true, used: false, ...extra };
}

export const DIRECTIVES: Directive[] = [
  // Network
  d("port", "int", 6379, { min: 0, max: 65535, mutable: false }),
  d("bind", "string", "127.0.0.1", { mutable: false }),
  d("unixsocket", "string", "", { mutable: false }),
  d("unixsocketperm", "special", 0, {
    mutable: false,
    parse: (raw) => {
      if (!/^[0-7]+$/.test(raw)) throw new Error("Invalid socket file permissions");
      return parseInt(raw, 8);
    },
    render: (v) => (Number(v) === 0 ? "0" : Number(v).toString(8)),
  }),
  d("protected-mode", "bool", true),
  d("tcp-backlog", "int", 511, { mutable: false, used: false, min: 0, max: 65535 }),
  d("tcp-keepalive", "int", 300, { min: 0, max: 2147483647, used: false }),
  d("timeout", "int", 0, { min: 0, max: 2147483647 }),
  d("maxclients", "int", 10000, { min: 1, max: 2147483647 }),
  // aki's own: seconds a connection may stay unauthenticated while a password is required
  // (0 = forever, as Redis). Slow or idle unauthenticated connections are closed after it.
  d("auth-timeout", "int", 10, { min: 0, max: 2147483647 }),
  // Limits
  d("proto-max-bulk-len", "memory", 512 * MB, { min: 1024 * 1024, max: LLMAX }),
  // 256 MB, not Redis's 1 GB: the most one client's unparsed input may hold (a bigger command
  // closes the connection, as Redis does at its limit).
  d("client-query-buffer-limit", "memory", 256 * MB, { min: 1024 * 1024, max: LLMAX }),
  d("client-output-buffer-limit", "special", renderOutputLimits(DEFAULT_LIMITS), {
    parse: (raw) => renderOutputLimits(parseOutputLimits(raw, DEFAULT_LIMITS)),
  }),
  d("databases", "int", 16, { min: 1, max: 2147483647, mutable: false }),
  d("hz", "int", 10, { min: 0, max: 2147483647 }),
  // Security
  d("requirepass", "string", "", { sensitive: true }),
  d("aclfile", "string", "", { mutable: false }),
  d("acllog-max-len", "int", 128, { min: 0, max: LLMAX }),
  d("acl-pubsub-default", "enum", "resetchannels", { values: ["allchannels", "resetchannels"] }),
  // aki's security features beyond Redis (src/security/): failed-AUTH throttling (0 = off;
  // window in seconds, delay in milliseconds), the audit stream, the ACL LOG kept with the data
  // file, opt-in session revocation. auditfile is fixed at startup (a path the server writes).
  d("auth-max-failures", "int", 10, { min: 0, max: 2147483647 }),
  d("auth-failure-window", "int", 60, { min: 1, max: 2147483647 }),
  d("auth-max-delay", "int", 5000, { min: 0, max: 2147483647 }),
  d("auth-throttle-loopback", "bool", true),
  d("auditfile", "string", "", { mutable: false }),
  d("audit-max-size", "memory", 64 * MB, { min: 1024, max: LLMAX }),
  d("audit-max-len", "int", 1000, { min: 0, max: 1000000 }),
  d("audit-commands", "bool", false),
  d("acllog-persist", "bool", true),
  d("acl-revoke-sessions", "bool", false),
  d("enable-debug-command", "enum", "no", { values: ["no", "yes", "local"], mutable: false, used: false }),
  d("enable-protected-configs", "enum", "no", { values: ["no", "yes", "local"], mutable: false, used: false }),
  d("enable-module-command", "enum", "no", { values: ["no", "yes", "local"], mutable: false, used: false }),
  // Persistence (aki's single file)
  d("dir", "string", "", { mutable: false }),
  d("dbfile", "string", "data.aki", { mutable: false }),
  d("appendonly", "bool", true, { used: false }),
  d("appendfsync", "enum", "everysec", { values: ["always", "everysec", "no"] }),
  d("appendfilename", "string", "appendonly.aof", { mutable: false, used: false }),
  d("appenddirname", "string", "appendonlydir", { mutable: false, used: false }),
  d("auto-aof-rewrite-percentage", "int", 100, { min: 0, max: 2147483647 }),
  d("auto-aof-rewrite-min-size", "memory", 64 * MB, { min: 0, max: LLMAX }),
  compat("save", "string", "3600 1 300 100 60 10000"),
  compat("dbfilename", "string", "dump.rdb"),
  compat("rdbcompression", "bool", true),
  compat("rdbchecksum", "bool", true, { mutable: false }),
  compat("stop-writes-on-bgsave-error", "bool", true),
  compat("aof-use-rdb-preamble", "bool", true),
  compat("aof-load-truncated", "bool", true),
  compat("aof-timestamp-enabled", "bool", false),
  compat("no-appendfsync-on-rewrite", "bool", false),
  compat("aof-rewrite-incremental-fsync", "bool", true),
  compat("rdb-save-incremental-fsync", "bool", true),
  compat("rdb-del-sync-files", "bool", false),
  // Keyspace
  d("notify-keyspace-events", "special", "", {
    parse: (raw) => {
      if (!/^[KEg$lshzxetmdnA]*$/.test(raw)) throw new Error("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
      return raw;
    },
  }),
  compat("maxmemory", "memory", 0, { min: 0, max: LLMAX }),
  compat("maxmemory-policy", "enum", "noeviction", {
    values: ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"],
  }),
  compat("maxmemory-samples", "int", 5, { min: 1, max: 64 }),
  compat("maxmemory-eviction-tenacity", "int", 10, { min: 0, max: 100 }),
  compat("lazyfree-lazy-eviction", "bool", false),
  compat("lazyfree-lazy-expire", "bool", false),
  compat("lazyfree-lazy-server-del", "bool", false),
  compat("lazyfree-lazy-user-del", "bool", false),
  compat("lazyfree-lazy-user-flush", "bool", false),
  compat("replica-lazy-flush", "bool", false),
  compat("activerehashing", "bool", true),
  compat("active-expire-effort", "int", 1, { min: 1, max: 10 }),
  compat("hash-max-listpack-entries", "int", 128, { alias: "hash-max-ziplist-entries", min: 0, max: LLMAX }),
  compat("hash-max-listpack-value", "int", 64, { alias: "hash-max-ziplist-value", min: 0, max: LLMAX }),
  compat("list-max-listpack-size", "int", -2, { alias: "list-max-ziplist-size", min: -5, max: 2147483647 }),
  compat("list-compress-depth", "int", 0, { min: 0, max: 2147483647 }),
  compat("set-max-intset-entries", "int", 512, { min: 0, max: LLMAX }),
  compat("set-max-listpack-entries", "int", 128, { min: 0, max: LLMAX }),
  compat("set-max-listpack-value", "int", 64, { min: 0, max: LLMAX }),
  compat("zset-max-listpack-entries", "int", 128, { alias: "zset-max-ziplist-entries", min: 0, max: LLMAX }),
  compat("zset-max-listpack-value", "int", 64, { alias: "zset-max-ziplist-value", min: 0, max: LLMAX }),
  compat("hll-sparse-max-bytes", "memory", 3000, { min: 0, max: LLMAX }),
  compat("stream-node-max-bytes", "memory", 4096, { min: 0, max: LLMAX }),
  compat("stream-node-max-entries", "int", 100, { min: 0, max: LLMAX }),
  compat("lfu-log-factor", "int", 10, { min: 0, max: 2147483647 }),
  compat("lfu-decay-time", "int", 1, { min: 0, max: 2147483647 }),
  // Logging and process
  d("loglevel", "enum", "notice", { values: ["debug", "verbose", "notice", "warning", "nothing"] }),
  compat("logfile", "string", "", { mutable: false }),
  compat("daemonize", "bool", false, { mutable: false }),
  compat("supervised", "enum", "no", { values: ["upstart", "systemd", "auto", "no"], mutable: false }),
  compat("pidfile", "string", "", { mutable: false }),
  compat("syslog-enabled", "bool", false, { mutable: false }),
  compat("syslog-ident", "string", "redis", { mutable: false }),
  compat("syslog-facility", "string", "local0", { mutable: false }),
  compat("always-show-logo", "bool", false, { mutable: false }),
  compat("set-proc-title", "bool", true, { mutable: false }),
  compat("proc-title-template", "string", "{title} {listen-addr} {server-mode}"),
  compat("crash-log-enabled", "bool", true),
  compat("crash-memcheck-enabled", "bool", true),
  compat("io-threads", "int", 1, { min: 1, max: 128, mutable: false }),
  compat("io-threads-do-reads", "bool", false, { mutable: false }),
  compat("latency-monitor-threshold", "int", 0, { min: 0, max: LLMAX }),
  compat("latency-tracking", "bool", true),
  compat("latency-tracking-info-percentiles", "string", "50 99 99.9"),
  compat("slowlog-log-slower-than", "int", 10000, { min: -1, max: LLMAX }),
  compat("slowlog-max-len", "int", 128, { min: 0, max: LLMAX }),
  compat("busy-reply-threshold", "int", 5000, { alias: "lua-time-limit", min: 0, max: LLMAX }),
  compat("dynamic-hz", "bool", true),
  compat("jemalloc-bg-thread", "bool", true),
  compat("activedefrag", "bool", false),
  compat("lua-replicate-commands", "bool", true),
  compat("tracking-table-max-keys", "int", 1000000, { min: 0, max: LLMAX }),
  compat("oom-score-adj", "enum", "no", { values: ["no", "yes", "relative", "absolute"] }),
  compat("oom-score-adj-values", "string", "0 200 800"),
  compat("disable-thp", "bool", true, { mutable: false }),
  compat("shutdown-timeout", "int", 10, { min: 0, max: 2147483647 }),
  compat("shutdown-on-sigint", "string", "default"),
  compat("shutdown-on-sigterm", "string", "default"),
  compat("locale-collate", "string", ""),
  // Replication and cluster (aki is standalone)
  compat("replicaof", "string", "", { alias: "slaveof", mutable: false }),
  compat("masterauth", "string", "", { sensitive: true }),
  compat("masteruser", "string", ""),
  compat("replica-read-only", "bool", true, { alias: "slave-read-only" }),
  compat("replica-serve-stale-data", "bool", true, { alias: "slave-serve-stale-data" }),
  compat("repl-diskless-sync", "bool", true),
  compat("repl-diskless-sync-delay", "int", 5, { min: 0, max: 2147483647 }),
  compat("repl-diskless-sync-max-replicas", "int", 0, { min: 0, max: 2147483647 }),
  compat("repl-diskless-load", "enum", "disabled", { values: ["disabled", "on-empty-db", "swapdb"] }),
  compat("repl-backlog-size", "memory", MB, { min: 1, max: LLMAX }),
  compat("repl-backlog-ttl", "int", 3600, { min: 0, max: 2147483647 }),
  compat("repl-timeout", "int", 60, { min: 1, max: 2147483647 }),
  compat("repl-ping-replica-period", "int", 10, { alias: "repl-ping-slave-period", min: 1, max: 2147483647 }),
  compat("repl-disable-tcp-nodelay", "bool", false),
  compat("replica-priority", "int", 100, { alias: "slave-priority", min: 0, max: 2147483647 }),
  compat("min-replicas-to-write", "int", 0, { alias: "min-slaves-to-write", min: 0, max: 2147483647 }),
  compat("min-replicas-max-lag", "int", 10, { alias: "min-slaves-max-lag", min: 0, max: 2147483647 }),
  compat("cluster-enabled", "bool", false, { mutable: false }),
  compat("cluster-config-file", "string", "nodes.conf", { mutable: false }),
  compat("cluster-node-timeout", "int", 15000, { min: 0, max: LLMAX }),
  // TLS (transports/tls.ts). tls-port is fixed at startup, like port; the files and options
  // may change with CONFIG SET (new connections get them). Replication/cluster ones are compat.
  d("tls-port", "int", 0, { min: 0, max: 65535, mutable: false }),
  d("tls-cert-file", "string", ""),
  d("tls-key-file", "string", ""),
  d("tls-key-file-pass", "string", "", { sensitive: true }),
  compat("tls-client-cert-file", "string", ""),
  compat("tls-client-key-file", "string", ""),
  compat("tls-client-key-file-pass", "string", "", { sensitive: true }),
  compat("tls-dh-params-file", "string", ""),
  d("tls-ca-cert-file", "string", ""),
  d("tls-ca-cert-dir", "string", ""),
  d("tls-auth-clients", "enum", "yes", { values: ["no", "yes", "optional"] }),
  d("tls-auth-clients-user", "special", "off", {
    parse: (raw) => {
      const v = raw.toLowerCase();
      if (v === "off") return "off";
      if (v === "cn") return "CN";
      throw new Error("argument(s) must be one of the following: off, CN");
    },
  }),
  compat("tls-replication", "bool", false),
  compat("tls-cluster", "bool", false),
  d("tls-protocols", "special", "", {
    parse: (raw) => {
      for (const w of raw.split(/\s+/).filter(Boolean)) {
        if (!["tlsv1", "tlsv1.1", "tlsv1.2", "tlsv1.3"].includes(w.toLowerCase())) throw new Error("Invalid tls-protocols specified");
      }
      return raw;
    },
  }),
  d("tls-ciphers", "string", ""),
  d("tls-ciphersuites", "string", ""),
  d("tls-prefer-server-ciphers", "bool", false),
  compat("tls-session-caching", "bool", true),
  compat("tls-session-cache-size", "int", 20480, { min: 0, max: 2147483647 }),
  compat("tls-session-cache-timeout", "int", 300, { min: 0, max: 2147483647 }),
  // aki's own
  d("admin-port", "int", 0, { min: 0, max: 65535, mutable: false }),
  d("admin-bind", "string", "127.0.0.1", { mutable: false }),
  d("admin-host", "string", ""),
  d("admin-tls", "bool", false, { mutable: false }),
  // Admin HTTP server limits (transports/*: node:http headersTimeout / requestTimeout, Bun.serve
  // idleTimeout) and the cap on admin requests in flight (src/admin/app.ts answers 503 beyond it).
  d("admin-headers-timeout", "int", 10000, { min: 1000, max: 600000, mutable: false }),
  d("admin-request-timeout", "int", 30000, { min: 1000, max: 3600000, mutable: false }),
  d("admin-max-inflight", "int", 32, { min: 1, max: 100000 }),
];

const BY_NAME = new Map<string, Directive>();
for (const dir of DIRECTIVES) {
  BY_NAME.set(dir.name, dir);
  if (dir.alias) BY_NAME.set(dir.alias, dir);
}

export function findDirective(name: string): Directive | undefined {
  return BY_NAME.get(name.toLowerCase());
}

/** Validate and convert a raw string for a directive; throws Error(reason) with Redis's text. */
export function parseValue(dir: Directive, raw: string): ConfigValue {
  switch (dir.type) {
    case "bool": {
      const v = raw.toLowerCase();
      if (v === "yes") return true;
      if (v === "no") return false;
      throw new Error("argument must be 'yes' or 'no'");
    }
    case "int": {
      if (!/^-?[0-9]+$/.test(raw)) throw new Error("argument couldn't be parsed into an integer");
      const n = Number(raw);
      if ((dir.min !== undefined && n < dir.min) || (dir.max !== undefined && n > dir.max)) {
        throw new Error(`argument must be between ${dir.min} and ${dir.max} inclusive`);
      }
      return n;
    }
    case "memory": {
      const n = parseMemory(raw);
      if (Number.isNaN(n)) throw new Error("argument must be a memory value");
      if ((dir.min !== undefined && n < dir.min) || (dir.max !== undefined && n > dir.max)) {
        throw new Error(`argument must be between ${dir.min} and ${dir.max} inclusive`);
      }
      return n;
    }
    case "enum": {
      const v = raw.toLowerCase();
      if (!dir.values!.includes(v)) throw new Error(`argument(s) must be one of the following: ${dir.values!.join(", ")}`);
      return v;
    }
    case "special":
      return dir.parse!(raw);
    default:
      return raw;
  }
}

export function renderValue(dir: Directive, v: ConfigValue): string {
  if (dir.render) return dir.render(v);
  if (typeof v === "boolean") return v ? "yes" : "no";
  return String(v);
}

/** Every directive name, each followed by its alias if it has one, with its directive. */
const NAMES: readonly [string, Directive][] = DIRECTIVES.flatMap((dir): [string, Directive][] =>
  dir.alias ? [[dir.name, dir], [dir.alias, dir]] : [[dir.name, dir]]
);

/** Live configuration values, by canonical directive name. */
export class Config {
  private values = new Map<string, ConfigValue>();
  /** Increases on every change (also when a failed CONFIG SET restores old values): lets hot paths cache values. */
  version = 0;
  /** Called after a successful change (name, new value). */
  onChange: (name: string, value: ConfigValue) => void = () => {};
  /** `user` lines from a config file, applied by the ACL engine at startup. */
  userLines: { file: string; line: number; text: string }[] = [];
  /** The file the config was read from (for CONFIG REWRITE). */
  file = "";
  /**
   * Run once after every value of one CONFIG SET is in place, with their canonical names (for
   * settings that must be checked together, e.g. a TLS certificate and its key). Throwing
   * Error(reason) fails the CONFIG SET and restores the old values.
   */
  readonly appliers: ((names: string[]) => void)[] = [];

  constructor() {
    for (const dir of DIRECTIVES) this.values.set(dir.name, dir.default);
  }

  get(name: string): ConfigValue {
    const v = this.values.get(name);
    if (v === undefined) throw new Error(`unknown directive ${name}`);
    return v;
  }
  num(name: string): number {
    return Number(this.get(name));
  }
  str(name: string): string {
    return String(this.get(name));
  }
  bool(name: string): boolean {
    return this.get(name) === true;
  }

  /** Set from a trusted source (startup, internal). Validates; throws Error(reason). */
  setRaw(name: string, raw: string): void {
    const dir = findDirective(name);
    if (!dir) throw new Error(`Bad directive or wrong number of arguments`);
    this.values.set(dir.name, parseValue(dir, raw));
    this.version++;
    this.onChange(dir.name, this.values.get(dir.name)!);
  }

  /**
   * CONFIG SET name value [name value ...]: all or nothing. Returns null on success or the
   * error message (without "ERR ").
   */
  setMany(pairs: [string, string][]): string | null {
    const parsed: [Directive, ConfigValue][] = [];
    const seen = new Set<string>();
    for (const [name, raw] of pairs) {
      const dir = findDirective(name);
      if (!dir) return `Unknown option or number of arguments for CONFIG SET - '${name}'`;
      if (seen.has(dir.name)) return `CONFIG SET failed (possibly related to argument '${name}') - duplicate parameter`;
      seen.add(dir.name);
      if (!dir.mutable) return `CONFIG SET failed (possibly related to argument '${name}') - can't set immutable config`;
      try {
        parsed.push([dir, parseValue(dir, raw)]);
      } catch (e) {
        return `CONFIG SET failed (possibly related to argument '${name}') - ${(e as Error).message}`;
      }
    }
    const old = parsed.map(([dir]) => [dir, this.values.get(dir.name)!] as const);
    try {
      for (const [dir, v] of parsed) {
        this.values.set(dir.name, v);
        this.version++;
        this.onChange(dir.name, v);
      }
      for (const apply of this.appliers) apply(parsed.map(([dir]) => dir.name));
    } catch (e) {
      for (const [dir, v] of old) this.values.set(dir.name, v);
      this.version++;
      return `CONFIG SET failed (possibly related to argument '${pairs[0][0]}') - ${(e as Error).message}`;
    }
    return null;
  }

  /** [name, value] for every directive and alias, in CONFIG GET's order. */
  entries(): [string, string][] {
    return this.matching(() => true);
  }

  /**
   * CONFIG GET: [name, value] for every directive or alias whose name `match` accepts, in
   * {@link entries}' order; only those values are rendered (redis-benchmark asks for two
   * names at the start of every run).
   */
  matching(match: (name: string) => boolean): [string, string][] {
    const out: [string, string][] = [];
    for (const [name, dir] of NAMES) if (match(name)) out.push([name, renderValue(dir, this.values.get(dir.name)!)]);
    return out;
  }

  outputLimits(): OutputLimits {
    return parseOutputLimits(this.str("client-output-buffer-limit"), DEFAULT_LIMITS);
  }
}

/**
 * Split a config file into directive lines: "name arg arg" with Redis's quoting rules, '#'
 * comments and blank lines skipped. Returns entries with 1-based line numbers.
 * Throws Error("<file>:<line>: <reason>") on unbalanced quotes.
 */
export function parseConfigText(text: string, file: string, split: (line: string) => string[] | null): { line: number; args: string[]; text: string }[] {
  const out: { line: number; args: string[]; text: string }[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, "");
    const t = raw.trim();
    if (t === "" || t.startsWith("#")) continue;
    const args = split(t);
    if (args === null) throw new Error(`${file}:${i + 1}: Unbalanced quotes in configuration line`);
    if (args.length === 0) continue;
    out.push({ line: i + 1, args, text: t });
  }
  return out;
}
