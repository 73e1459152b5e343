/**
 * The server: owns the configuration, the keyspace, the ACL engine, connected clients,
 * pub/sub, blocked clients and the journal. Transports call `connect(peer)`; the admin API
 * calls `execute(client, argv)`.
 *
 * Everything here runs on the event loop, synchronously per command; the only waits are the
 * journal's commit (appendfsync always) and timers (blocking timeouts, the cron).
 */
import { randomBytes } from "node:crypto";
import { Client, type Peer } from "./client.ts";
import { Config, type OutputLimits } from "./config.ts";
import { Keyspace, ScanCursors } from "./store/keyspace.ts";
import { Acl } from "./acl/acl.ts";
import { Security } from "./security/index.ts";
import { PubSub } from "./pubsub.ts";
import { ErrorReply, NULL_ARRAY, type Reply } from "./resp/reply.ts";
import { ALL_COMMANDS, BLOCKED } from "./commands/table.ts";
import { DIRECTIVES, renderValue } from "./config.ts";
import { dispatch } from "./dispatch.ts";
import type { JournalEntry, JournalRecord, Persistence } from "./persist/types.ts";
import "./commands/index.ts";

export const AKI_VERSION = "0.1.0";
/** What HELLO and INFO report as redis_version. */
export const REDIS_VERSION = "7.2.4";
export const VERSION_STRING = `7.2.4-aki-${AKI_VERSION}`;

export type LogLevel = "debug" | "verbose" | "notice" | "warning";

export interface ServerOptions {
  config?: Config;
  /** Where log lines go (default: console.log). */
  logger?: (line: string) => void;
  /** The runtime's name for INFO / health ("node", "deno", "bun"). */
  runtime?: string;
  /** Process id for INFO. */
  pid?: number;
  /** Exit the process (SHUTDOWN). */
  exit?: (code: number) => void;
  /** Process resource use for INFO memory / cpu (bytes, seconds). */
  usage?: () => Usage;
  /** "Linux 6.1.0 x86_64" for INFO. */
  os?: string;
  /** Path of the running program for INFO. */
  executable?: string;
  /** Write a file (CONFIG REWRITE); injected so src/ stays runtime-neutral. */
  writeFile?: (path: string, text: string) => void;
  readFile?: (path: string) => string;
  /**
   * The most clients the process's open-file limit leaves room for, after a reserve for files
   * (ACL SAVE, the data file, compaction, the audit file); Infinity when unknown. maxclients is
   * lowered to it at startup and CONFIG SET cannot raise it past it (Redis does the same).
   */
  clientFdCap?: number;
}

export interface Usage {
  rss: number;
  heap: number;
  total: number;
  cpuUser: number;
  cpuSys: number;
}

export class Stats {
  connectionsReceived = 0;
  commandsProcessed = 0;
  netInputBytes = 0;
  netOutputBytes = 0;
  rejectedConnections = 0;
  expiredKeys = 0;
  keyspaceHits = 0;
  keyspaceMisses = 0;
  pubsubMessages = 0;
  protocolErrors = 0;
  totalErrorReplies = 0;
  clientQueryBufferLimitDisconnections = 0;
  clientOutputBufferLimitDisconnections = 0;
  /** Connections closed by auth-timeout (aki's own). */
  authTimeoutDisconnections = 0;
  aclAccessDeniedAuth = 0;
  aclAccessDeniedCmd = 0;
  aclAccessDeniedKey = 0;
  aclAccessDeniedChannel = 0;
  errors = new Map<string, number>();
}

export class Server {
  readonly config: Config;
  readonly keyspace: Keyspace;
  readonly acl: Acl;
  /** aki's security features beyond Redis: AUTH throttling, audit, lasting ACL LOG (src/security). */
  readonly security: Security;
  readonly pubsub = new PubSub();
  /** Live SCAN / HSCAN / SSCAN / ZSCAN cursors. */
  readonly scanCursors = new ScanCursors();
  readonly clients = new Map<number, Client>();
  readonly stats = new Stats();
  readonly startTime = Date.now();
  readonly runId = randomBytes(20).toString("hex");
  readonly runtime: string;
  readonly pid: number;
  persist: Persistence | null = null;
  /** The data file path, or ":memory:". */
  dbfile = ":memory:";
  dirtyAtSave = 0;
  saves = 0;
  readonly usage: () => Usage;
  readonly os: string;
  readonly executable: string;
  private peak = 0;
  private opsSamples: number[] = [];
  private opsLast = 0;
  private writeFile?: (path: string, text: string) => void;
  private readFile?: (path: string) => string;
  /** Extra INFO stats lines contributed by other parts (AUTH throttling...). */
  extraStats: () => [string, string | number][] = () => [];
  /** Increases on every data change (Redis's server.dirty). */
  dirty = 0;
  lastSave = Math.floor(Date.now() / 1000);
  outputLimits: OutputLimits;
  /** See ServerOptions.clientFdCap. */
  readonly fdClientCap: number;
  private nextClientId = 1;
  private logger: (line: string) => void;
  exit: (code: number) => void;
  /** Listeners to close on shutdown (set by main). */
  onShutdown: (() => Promise<void>) | null = null;

  /** WATCH: "db\0key" -> clients watching it. */
  private watchers = new Map<string, Set<Client>>();
  /** Blocked clients per "db\0key", FIFO. */
  private blockedOn = new Map<string, Client[]>();
  private readyKeys = new Set<string>();
  private cronTimer: ReturnType<typeof setInterval> | null = null;
  /** An internal, always-authenticated client for replay and in-process calls. */
  readonly internal: Client;

  constructor(opts: ServerOptions = {}) {
    this.config = opts.config ?? new Config();
    this.logger = opts.logger ?? ((l) => console.log(l));
    this.runtime = opts.runtime ?? "unknown";
    this.pid = opts.pid ?? 0;
    this.exit = opts.exit ?? (() => {});
    this.usage = opts.usage ?? (() => ({ rss: 0, heap: 0, total: 0, cpuUser: 0, cpuSys: 0 }));
    this.os = opts.os ?? "unknown";
    this.executable = opts.executable ?? "";
    this.writeFile = opts.writeFile;
    this.readFile = opts.readFile;
    this.outputLimits = this.config.outputLimits();
    this.fdClientCap = opts.clientFdCap ?? Infinity;
    if (this.config.num("maxclients") > this.fdClientCap) {
      this.log(
        "warning",
        `maxclients lowered from ${this.config.num("maxclients")} to ${this.fdClientCap}: the open-file limit (ulimit -n) leaves no room for more ` +
          `once descriptors for files are kept free. Raise 'ulimit -n' to allow more clients.`,
      );
      this.config.setRaw("maxclients", String(this.fdClientCap));
    }
    this.config.appliers.push((names) => {
      if (names.includes("maxclients") && this.config.num("maxclients") > this.fdClientCap) {
        throw new Error(`The operating system is not able to handle the specified number of clients, try with ${this.fdClientCap}`);
      }
    });
    this.keyspace = new Keyspace(this.config.num("databases"), {
      modified: (db, key) => this.keyModified(db, key),
      expired: (db, key) => {
        this.stats.expiredKeys++;
        this.notify("x", "expired", key, db);
        this.journalExpired(db, key);
      },
      added: (db, key) => this.notify("n", "new", key, db),
      loading: () => this.loading,
    });
    this.acl = new Acl(this);
    this.security = new Security(this);
    this.config.onChange = (name, value) => this.configChanged(name, value);
    this.internal = new Client(this, nullPeer(), 0);
    this.internal.authenticated = true;
  }

  log(level: LogLevel, msg: string): void {
    const order = ["debug", "verbose", "notice", "warning"];
    const min = this.config.str("loglevel");
    if (min === "nothing" || order.indexOf(level) < order.indexOf(min)) return;
    const d = new Date();
    const ts = `${String(d.getDate()).padStart(2, "0")} ${d.toLocaleString("en", { month: "short" })} ${d.getFullYear()} ${d.toTimeString().slice(0, 8)}.${String(d.getMilliseconds()).padStart(3, "0")}`;
    const mark = level === "warning" ? "#" : level === "notice" ? "*" : level === "verbose" ? "-" : ".";
    this.logger(`${this.pid}:M ${ts} ${mark} ${msg}`);
  }

  /** A new connection. Returns the client, or null when it was refused (maxclients, protected mode). */
  connect(peer: Peer): Client | null {
    this.stats.connectionsReceived++;
    const c = new Client(this, peer, this.nextClientId++);
    if (this.clients.size >= this.config.num("maxclients")) {
      this.stats.rejectedConnections++;
      this.security.connectionRefused(c, "maxclients");
      c.writeReply(new ErrorReply("ERR max number of clients reached"));
      c.closeAfterReply();
      c.flush();
      peer.close();
      return null;
    }
    const denied = this.acl.refuseConnection(c);
    if (denied !== null) {
      this.stats.rejectedConnections++;
      this.security.connectionRefused(c, "protected-mode");
      c.writeReply(new ErrorReply(denied));
      c.closeAfterReply();
      c.flush();
      peer.close();
      return null;
    }
    this.acl.onConnect(c);
    this.clients.set(c.id, c);
    return c;
  }

  /** Run argv as client c through the full dispatch (admin API, tests). */
  execute(c: Client, argv: string[]): Reply {
    const r = dispatch(c, argv);
    this.afterCommand();
    if (r === BLOCKED) return null;
    return r;
  }

  removeClient(c: Client): void {
    if (!this.clients.delete(c.id)) return;
    this.security.clientRemoved(c);
    this.pubsub.removeClient(c);
    this.unwatchAll(c);
    if (c.blocked) this.unblock(c, false, true);
  }

  /** Called after every top-level command: serve clients blocked on keys that became ready. */
  afterCommand(): void {
    this.stats.commandsProcessed++;
    if (this.readyKeys.size > 0) this.serveReadyKeys();
  }

  // ---- keyspace hooks ---------------------------------------------------------------------

  private keyModified(db: number, key: string): void {
    if (this.watchers.size === 0 && this.blockedOn.size === 0) return;
    const id = db + "\0" + key;
    if (this.watchers.size !== 0) {
      const w = this.watchers.get(id);
      if (w) {
        for (const c of w) {
          const e = c.watched.get(id);
          if (e !== undefined && e.expired) {
            // WATCHed while already expired (logically absent): its deletion is no change.
            const d = this.keyspace.dbs[db];
            if (!d.data.has(key)) {
              e.expired = false;
              continue;
            }
            const at = d.expires.get(key);
            if (at !== undefined && at <= this.keyspace.clock()) continue;
          }
          c.dirtyCas = true;
        }
      }
    }
    if (this.blockedOn.size !== 0 && this.blockedOn.has(id)) this.readyKeys.add(id);
  }

  watch(c: Client, key: string): void {
    const id = c.dbIndex + "\0" + key;
    if (c.watched.has(id)) return;
    const at = c.db.expires.get(key);
    const expired = at !== undefined && at <= this.keyspace.clock() && c.db.data.has(key);
    c.watched.set(id, { db: c.dbIndex, key, expired });
    let set = this.watchers.get(id);
    if (!set) this.watchers.set(id, (set = new Set()));
    set.add(c);
  }

  unwatchAll(c: Client): void {
    for (const id of c.watched.keys()) {
      const set = this.watchers.get(id);
      if (set) {
        set.delete(c);
        if (set.size === 0) this.watchers.delete(id);
      }
    }
    c.watched.clear();
    c.dirtyCas = false;
  }

  /** Settings read for every command, cached until the configuration changes (config.version). */
  private hotVersion = -1;
  private hotNotify = "";
  private hotQueryLimit = 0;

  private refreshHot(): void {
    this.hotVersion = this.config.version;
    this.hotNotify = this.config.str("notify-keyspace-events");
    this.hotQueryLimit = this.config.num("client-query-buffer-limit");
  }

  /** client-query-buffer-limit. */
  get queryBufferLimit(): number {
    if (this.hotVersion !== this.config.version) this.refreshHot();
    return this.hotQueryLimit;
  }

  /** Keyspace notification (notify-keyspace-events). `cls` is the event class letter. */
  notify(cls: string, event: string, key: string, db: number): void {
    if (this.hotVersion !== this.config.version) this.refreshHot();
    const flags = this.hotNotify;
    if (flags === "") return;
    const all = flags.includes("A") && "g$lshzxetd".includes(cls);
    if (!all && !flags.includes(cls)) return;
    if (flags.includes("K")) this.pubsub.publish(`__keyspace@${db}__:${key}`, event);
    if (flags.includes("E")) this.pubsub.publish(`__keyevent@${db}__:${event}`, key);
  }

  // ---- blocking ---------------------------------------------------------------------------

  blockClient(c: Client): void {
    const b = c.blocked!;
    for (const k of b.keys) {
      const id = b.db + "\0" + k;
      let list = this.blockedOn.get(id);
      if (!list) this.blockedOn.set(id, (list = []));
      list.push(c);
    }
  }

  /**
   * Unblock a client: on timeout send its timeout reply; on disconnect just forget it.
   * Then resume processing its pending input.
   */
  unblock(c: Client, timedOut: boolean, gone = false): void {
    const b = c.blocked;
    if (!b) return;
    this.unblockQuiet(c);
    if (gone) return;
    if (timedOut) c.reply(b.onTimeout);
    c.processInput();
    c.flush();
  }

  private serveReadyKeys(): void {
    // Serving one client may make more keys ready (BLMOVE pushes); loop until quiet.
    for (let rounds = 0; this.readyKeys.size > 0 && rounds < 1000; rounds++) {
      const ready = [...this.readyKeys];
      this.readyKeys.clear();
      for (const id of ready) {
        const list = this.blockedOn.get(id);
        if (!list) continue;
        for (const c of [...list]) {
          const b = c.blocked;
          if (!b) continue;
          const saved = c.db;
          c.db = this.keyspace.dbs[b.db];
          // Re-processed as a new command: rules may have changed while it waited (ACL re-check).
          const denied = this.acl.checkCommand(c, b.cmd, b.argv, "toplevel");
          if (denied !== null) {
            b.cmd.rejected++;
            this.countError(denied.message);
          }
          const r = denied ?? c.call(b.cmd, b.argv);
          c.db = saved;
          if (r === BLOCKED) continue; // still nothing: keeps its place and timer
          this.unblockQuiet(c);
          c.reply(r);
          this.stats.commandsProcessed++;
          c.processInput();
          c.flush();
        }
      }
    }
  }

  /** Remove a block registration without replying or resuming. */
  private unblockQuiet(c: Client): void {
    const b = c.blocked;
    if (!b) return;
    if (b.timer) clearTimeout(b.timer);
    for (const k of b.keys) {
      const id = b.db + "\0" + k;
      const list = this.blockedOn.get(id);
      if (!list) continue;
      const i = list.indexOf(c);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.blockedOn.delete(id);
    }
    c.blocked = null;
  }

  get blockedClients(): number {
    let n = 0;
    for (const c of this.clients.values()) if (c.blocked) n++;
    return n;
  }

  // ---- CLIENT PAUSE ------------------------------------------------------------------------

  /** Paused until (ms) and for which commands; null when not paused. */
  paused: { until: number; mode: "all" | "write"; timer: ReturnType<typeof setTimeout> } | null = null;
  private pausedClients = new Set<Client>();

  pause(ms: number, mode: "all" | "write"): void {
    const until = Date.now() + ms;
    if (this.paused) {
      clearTimeout(this.paused.timer);
      // A new pause never shortens nor weakens one in force.
      if (this.paused.until > until) {
        this.paused.timer = setTimeout(() => this.unpause(), this.paused.until - Date.now());
        if (this.paused.mode === "all") return;
      }
    }
    const timer = setTimeout(() => this.unpause(), ms);
    this.paused = { until: Math.max(until, this.paused?.until ?? 0), mode: this.paused?.mode === "all" ? "all" : mode, timer };
  }

  /** Should this command wait (CLIENT PAUSE)? */
  mustPause(c: Client, write: boolean): boolean {
    if (this.paused === null || c === this.internal) return false;
    if (this.paused.mode === "write" && !write) return false;
    this.pausedClients.add(c);
    return true;
  }

  unpause(): void {
    if (this.paused) clearTimeout(this.paused.timer);
    this.paused = null;
    const waiting = [...this.pausedClients];
    this.pausedClients.clear();
    for (const c of waiting) {
      if (c.gone) continue;
      c.resumeAfterPause();
    }
  }

  // ---- journal ----------------------------------------------------------------------------
  //
  // Every applied write reaches the store as one record (a MULTI/EXEC as one group record),
  // in the order it was applied; deletions by expiry (lazy or active) are journaled as DEL so
  // a restart never brings an expired key back and later writes replay against the same state.
  // The store writes at the end of the event-loop turn (one write, and with appendfsync always
  // one fsync, for every client: group commit). Clients hold the replies of their writes until
  // that write is done (Client.flush / whenDurable); a failed write turns them into MISCONF
  // errors, and dispatch refuses writes while the store is failing.

  /** True while the data file is replayed at startup: no lazy expiry, past expire times are kept. */
  loading = false;
  /** DEL entries for keys removed by expiry, not journaled yet (see journalExpired). */
  private expiredJournal: JournalEntry[] = [];
  private expiredFlushQueued = false;
  /** A commit() of the store is queued for this turn (everysec / no: nobody waits on it). */
  private commitQueued = false;

  /**
   * Redis's checkAlreadyExpired: is the absolute expire time `at` (ms) already past, so that a
   * command setting it deletes the key instead? Never while loading (the key keeps the TTL and
   * active expiry removes it after the load, journaling the deletion).
   */
  alreadyExpired(at: number): boolean {
    return !this.loading && at <= this.keyspace.clock();
  }

  /** Replay the store into the keyspace and keep it as this server's journal (startup). */
  load(store: Persistence, log: (line: string) => void): void {
    this.loading = true;
    let n = 0;
    try {
      store.open((rec) => {
        n++;
        try {
          this.replay(rec);
        } catch (e) {
          throw new Error(`record ${n}: ${(e as Error).message}`);
        }
      }, log);
    } finally {
      this.loading = false;
    }
    this.persist = store;
    this.dirtyAtSave = this.dirty; // what was loaded is saved
  }

  /** Record an applied write (called by dispatch.call). */
  journal(c: Client, argvs: string[][]): void {
    if (this.persist === null || c === this.internal) return;
    const entries: JournalEntry[] = this.expiredJournal.length !== 0 ? this.takeExpired() : [];
    const db = c.dbIndex;
    for (const argv of argvs) entries.push({ db, argv });
    if (c.execJournal !== null) {
      for (const e of entries) c.execJournal.push(e);
      return;
    }
    this.appendJournal(c, entries);
  }

  /** {@link journal} for one command (the common case: no expired keys queued, no MULTI). */
  journalCommand(c: Client, argv: string[]): void {
    if (this.persist === null || c === this.internal) return;
    if (this.expiredJournal.length !== 0 || c.execJournal !== null) this.journal(c, [argv]);
    else this.appendJournal(c, [{ db: c.dbIndex, argv }]);
  }

  /** Append a record for client c (null: no client waits on it) and make sure it gets written. */
  appendJournal(c: Client | null, rec: JournalRecord): void {
    if (this.persist === null || rec.length === 0) return;
    if (this.expiredJournal.length !== 0) rec = [...this.takeExpired(), ...rec];
    this.persist.append(rec);
    if (c !== null && c !== this.internal) c.markDurable();
    this.scheduleCommit();
  }

  /** Keyspace hook: a key was removed by expiry. Its DEL precedes the next journaled write. */
  private journalExpired(db: number, key: string): void {
    if (this.persist === null || this.loading) return;
    this.expiredJournal.push({ db, argv: ["DEL", key] });
    if (this.expiredFlushQueued) return;
    this.expiredFlushQueued = true;
    queueMicrotask(() => {
      this.expiredFlushQueued = false;
      if (this.expiredJournal.length !== 0) this.appendJournal(null, this.takeExpired());
    });
  }

  private takeExpired(): JournalEntry[] {
    const e = this.expiredJournal;
    this.expiredJournal = [];
    return e;
  }

  /** Queue one commit for this turn (the store coalesces every commit of a turn into one write). */
  private scheduleCommit(): void {
    if (this.commitQueued || this.persist === null) return;
    this.commitQueued = true;
    this.persist.commit().then(
      () => {
        this.commitQueued = false;
      },
      (e: Error) => {
        this.commitQueued = false;
        this.log("warning", `Error writing to the data file: ${e.message}`);
      },
    );
  }

  /**
   * Resolves when everything journaled so far is written (and fsynced under appendfsync
   * always); rejects with the MISCONF error when that write failed.
   */
  whenDurable(): Promise<void> {
    if (this.persist === null) return Promise.resolve();
    return this.persist.commit();
  }

  persistFailed(): boolean {
    return this.persist !== null && this.persist.failed;
  }

  misconfError(): string {
    const e = this.persist?.stats().lastError ?? "unknown error";
    return `MISCONF Errors writing to the AOF file: ${e}`;
  }

  // ---- stats ------------------------------------------------------------------------------

  countError(message: string): void {
    this.stats.totalErrorReplies++;
    const sp = message.indexOf(" ");
    const code = sp > 0 ? message.slice(0, sp) : message;
    this.stats.errors.set(code, (this.stats.errors.get(code) ?? 0) + 1);
  }

  peakMemory(now: number): number {
    if (now > this.peak) this.peak = now;
    return this.peak;
  }

  opsPerSec(): number {
    if (this.opsSamples.length === 0) return 0;
    return Math.round(this.opsSamples.reduce((a, b) => a + b, 0) / this.opsSamples.length);
  }

  get blockingKeys(): number {
    return this.blockedOn.size;
  }

  resetStats(): void {
    const fresh = new Stats();
    Object.assign(this.stats, fresh);
    for (const cmd of ALL_COMMANDS) {
      cmd.calls = 0;
      cmd.usec = 0;
      cmd.rejected = 0;
      cmd.failed = 0;
    }
    this.acl.resetStats?.();
  }

  /**
   * CONFIG REWRITE: rewrite the config file, keeping its lines and comments, replacing the
   * values of directives that differ from the defaults and appending the rest. Returns null or
   * the error message.
   */
  rewriteConfig(): string | null {
    const file = this.config.file;
    if (!file) return "The server is running without a config file";
    if (!this.writeFile || !this.readFile) return "Rewriting config file: not supported";
    let text = "";
    try {
      text = this.readFile(file);
    } catch {
      text = "";
    }
    const entries = new Map(this.config.entries());
    const changed = new Map<string, string>();
    for (const dir of DIRECTIVES) {
      const v = entries.get(dir.name)!;
      if (v !== renderValue(dir, dir.default)) changed.set(dir.name, v);
    }
    const lines = text.split("\n");
    const done = new Set<string>();
    const out: string[] = [];
    for (const line of lines) {
      const name = line.trim().split(/\s+/)[0]?.toLowerCase() ?? "";
      if (name === "user") continue; // users are rewritten from the ACL engine below
      if (changed.has(name)) {
        if (!done.has(name)) out.push(`${name} ${quoteConf(changed.get(name)!)}`);
        done.add(name);
      } else out.push(line);
    }
    for (const [name, v] of changed) if (!done.has(name)) out.push(`${name} ${quoteConf(v)}`);
    out.push(...this.acl.configRewriteLines());
    try {
      this.writeFile(file, out.join("\n").replace(/\n*$/, "\n"));
    } catch (e) {
      return `Rewriting config file: ${(e as Error).message}`;
    }
    return null;
  }

  // ---- config -----------------------------------------------------------------------------

  private configChanged(name: string, _value: unknown): void {
    if (name === "client-output-buffer-limit") this.outputLimits = this.config.outputLimits();
    else if (name === "proto-max-bulk-len") {
      for (const c of this.clients.values()) c.parser.maxBulkLen = this.config.num("proto-max-bulk-len");
    } else if (name === "appendfsync") this.persist?.setPolicy(this.config.str("appendfsync") as "always" | "everysec" | "no");
    this.acl.configChanged?.(name);
  }

  // ---- cron -------------------------------------------------------------------------------

  /** Start the periodic tasks: active expiry, idle timeouts, output soft limits, auto compaction. */
  startCron(): void {
    if (this.cronTimer) return;
    this.cronTimer = setInterval(() => this.cron(), 100);
    (this.cronTimer as { unref?: () => void }).unref?.();
  }

  private compacting = false;

  cron(): void {
    const processed = this.stats.commandsProcessed;
    this.opsSamples.push((processed - this.opsLast) * 10);
    if (this.opsSamples.length > 16) this.opsSamples.shift();
    this.opsLast = processed;
    for (const db of this.keyspace.dbs) if (db.expires.size > 0) db.activeExpire(200);
    const timeout = this.config.num("timeout");
    const authTimeout = this.config.num("auth-timeout") * 1000;
    const now = Date.now();
    for (const c of this.clients.values()) {
      // aki's auth deadline: a connection still unauthenticated after auth-timeout seconds
      // (slowloris, a forgotten AUTH) is closed; its slot and descriptor come back.
      if (authTimeout > 0 && !c.authenticated && now - c.createdAt > authTimeout && this.acl.authRequired(c)) {
        this.log("verbose", `Closing client that did not authenticate in time: id=${c.id} addr=${c.addr}`);
        this.stats.authTimeoutDisconnections++;
        this.security.closing(c, "auth-timeout");
        c.destroy();
        continue;
      }
      if (timeout > 0 && !c.blocked && !c.inSubscribeMode && now - c.lastInteraction > timeout * 1000) {
        this.log("verbose", `Closing idle client id=${c.id}`);
        this.security.closing(c, "idle-timeout");
        c.destroy();
        continue;
      }
      if (c.softLimitSince !== 0) c.checkOutputLimits();
    }
    if (this.persist && !this.compacting && this.persist.shouldCompact(this.config.num("auto-aof-rewrite-percentage"), this.config.num("auto-aof-rewrite-min-size"))) {
      this.compact().catch(() => {}); // logged by compact()
    }
  }

  /** Unix seconds when the last compaction started, -1 when none runs; its duration in seconds. */
  private compactStarted = -1;
  lastCompactSeconds = -1;
  /** Milliseconds the last compaction's snapshot held the event loop (the pause clients saw). */
  lastCompactPauseMs = 0;

  /**
   * Rewrite the data file as a snapshot plus tail (BGREWRITEAOF, SAVE, BGSAVE, automatic).
   * Resolves when the new file is in place (at once with no data file); rejects with
   * "ERR Background append only file rewriting already in progress" while one runs, or with
   * the failure (the old file is kept, and it is logged).
   */
  async compact(): Promise<void> {
    if (!this.persist) return;
    if (this.compacting) throw new Error("ERR Background append only file rewriting already in progress");
    this.compacting = true;
    this.compactStarted = Date.now();
    let done = () => {};
    this.compactDone = new Promise<void>((resolve) => (done = resolve));
    // The snapshot is captured now, synchronously (cheap: keys and value references, with
    // copy-on-write for collections); records appended from here on form the tail.
    let snap: ReturnType<typeof openSnapshot> | null = null;
    try {
      snap = openSnapshot(this);
      const dirtyAtStart = this.dirty;
      this.lastCompactPauseMs = snap.pauseMs;
      this.log("notice", `Compaction started: ${snap.keys} keys captured in ${snap.pauseMs.toFixed(1)} ms`);
      const records = snap.records;
      await this.persist.compact(() => records);
      this.lastSave = Math.floor(Date.now() / 1000);
      this.dirtyAtSave = dirtyAtStart;
      this.saves++;
      this.lastCompactSeconds = Math.round((Date.now() - this.compactStarted) / 1000);
      this.log("notice", `Compaction finished: ${this.persist.stats().fileSize} bytes`);
    } catch (e) {
      this.log("warning", `Compaction failed: ${(e as Error).message}`);
      throw e;
    } finally {
      snap?.close();
      this.compacting = false;
      this.compactStarted = -1;
      this.compactDone = null;
      done();
    }
  }

  private compactDone: Promise<void> | null = null;

  /** Resolves (never rejects) when the running compaction has ended; at once when none runs. */
  compactionDone(): Promise<void> {
    return this.compactDone ?? Promise.resolve();
  }

  get compactionInProgress(): boolean {
    return this.compacting;
  }

  /** Seconds the running compaction has taken so far, -1 when none runs. */
  get compactSeconds(): number {
    return this.compactStarted < 0 ? -1 : Math.round((Date.now() - this.compactStarted) / 1000);
  }

  /**
   * Replay a journal record into the keyspace (startup). Throws, so that the server refuses to
   * start rather than lose data, for a db index beyond `databases` or a command this build
   * does not know (Redis: "Unknown command ... reading the append only file").
   */
  replay(rec: JournalRecord): void {
    const c = this.internal;
    try {
      for (const e of rec) {
        const db = this.keyspace.dbs[e.db];
        if (db === undefined) {
          throw new Error(`a record for db ${e.db}, but 'databases' is ${this.keyspace.dbs.length}`);
        }
        c.db = db;
        const found = e.argv.length > 0 ? lookupForReplay(e.argv) : null;
        if (found === null) throw new Error(`unknown command '${e.argv[0] ?? ""}' in a record`);
        c.call(found, e.argv);
      }
    } finally {
      c.db = this.keyspace.dbs[0];
    }
  }

  /** Close clients and listeners, flush the journal. */
  async shutdown(): Promise<void> {
    if (this.cronTimer) clearInterval(this.cronTimer);
    this.cronTimer = null;
    for (const c of [...this.clients.values()]) c.destroy();
    if (this.onShutdown) await this.onShutdown();
    this.security.close();
    if (this.persist) {
      try {
        await this.persist.commit();
      } catch { /* logged */ }
      try {
        this.persist.close();
      } catch (e) {
        this.log("warning", `Error closing the data file: ${(e as Error).message}`);
      }
    }
  }
}

import { lookup } from "./dispatch.ts";
import { openSnapshot } from "./store/snapshot.ts";
function lookupForReplay(argv: string[]) {
  const r = lookup(argv);
  return r instanceof ErrorReply ? null : r;
}

function quoteConf(v: string): string {
  return v === "" || /[\s"']/.test(v) ? JSON.stringify(v) : v;
}

function nullPeer(): Peer {
  return {
    write() {},
    close() {},
    destroy() {},
    pendingBytes: 0,
    remoteAddress: "127.0.0.1",
    remotePort: 0,
    localAddress: "127.0.0.1",
    localPort: 0,
    unix: false,
  };
}

export { NULL_ARRAY };
