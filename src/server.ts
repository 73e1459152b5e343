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
  private commitPromise: Promise<void> | null = null;
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
    this.keyspace = new Keyspace(this.config.num("databases"), {
      modified: (db, key) => this.keyModified(db, key),
      expired: (db, key) => {
        this.stats.expiredKeys++;
        this.notify("x", "expired", key, db);
      },
      added: (db, key) => this.notify("n", "new", key, db),
    });
    this.acl = new Acl(this);
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
      c.writeReply(new ErrorReply("ERR max number of clients reached"));
      c.closeAfterReply();
      c.flush();
      peer.close();
      return null;
    }
    const denied = this.acl.refuseConnection(c);
    if (denied !== null) {
      this.stats.rejectedConnections++;
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

  /** Keyspace notification (notify-keyspace-events). `cls` is the event class letter. */
  notify(cls: string, event: string, key: string, db: number): void {
    const flags = this.config.str("notify-keyspace-events");
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

  /** Record an applied write (called by dispatch.call). */
  journal(c: Client, argvs: string[][]): void {
    this.dirty++;
    if (this.persist === null || c === this.internal) return;
    const entries: JournalEntry[] = argvs.map((argv) => ({ db: c.dbIndex, argv }));
    if (c.execJournal !== null) {
      c.execJournal.push(...entries);
      return;
    }
    this.appendJournal(c, entries);
  }

  appendJournal(c: Client, rec: JournalRecord): void {
    if (this.persist === null || rec.length === 0) return;
    this.persist.append(rec);
    if (this.config.str("appendfsync") === "always") c.needsDurable = true;
    this.scheduleCommit();
  }

  private scheduleCommit(): void {
    if (this.commitPromise !== null) return;
    this.commitPromise = new Promise<void>((resolve, reject) => {
      setTimeout(() => {
        this.commitPromise = null;
        this.persist!.commit().then(resolve, reject);
      }, 0);
    });
    this.commitPromise.catch((e: Error) => this.log("warning", `Error writing to the data file: ${e.message}`));
  }

  /** Resolves when everything journaled so far is durable per appendfsync. */
  whenDurable(): Promise<void> {
    if (this.persist === null) return Promise.resolve();
    if (this.commitPromise === null) this.scheduleCommit();
    return this.commitPromise!;
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
    const now = Date.now();
    for (const c of this.clients.values()) {
      if (timeout > 0 && !c.blocked && !c.inSubscribeMode && now - c.lastInteraction > timeout * 1000) {
        this.log("verbose", `Closing idle client id=${c.id}`);
        c.destroy();
        continue;
      }
      if (c.softLimitSince !== 0) c.checkOutputLimits();
    }
    if (this.persist && !this.compacting && this.persist.shouldCompact(this.config.num("auto-aof-rewrite-percentage"), this.config.num("auto-aof-rewrite-min-size"))) {
      void this.compact();
    }
  }

  /** Rewrite the data file as a snapshot plus tail (BGREWRITEAOF, SAVE, BGSAVE, automatic). */
  async compact(): Promise<void> {
    if (!this.persist || this.compacting) return;
    this.compacting = true;
    try {
      // Materialize the snapshot synchronously: records appended from here on form the tail,
      // so no write can be in both the snapshot and the tail.
      const records = [...snapshot(this)];
      await this.persist.compact(() => records);
      this.lastSave = Math.floor(Date.now() / 1000);
    } catch (e) {
      this.log("warning", `Compaction failed: ${(e as Error).message}`);
    } finally {
      this.compacting = false;
    }
  }

  get compactionInProgress(): boolean {
    return this.compacting;
  }

  /** Replay a journal record into the keyspace (startup). */
  replay(rec: JournalRecord): void {
    const c = this.internal;
    for (const e of rec) {
      c.db = this.keyspace.dbs[e.db] ?? this.keyspace.dbs[0];
      const found = lookupForReplay(e.argv);
      if (found) c.call(found, e.argv);
    }
    c.db = this.keyspace.dbs[0];
  }

  /** Close clients and listeners, flush the journal. */
  async shutdown(): Promise<void> {
    if (this.cronTimer) clearInterval(this.cronTimer);
    this.cronTimer = null;
    for (const c of [...this.clients.values()]) c.destroy();
    if (this.onShutdown) await this.onShutdown();
    if (this.persist) {
      try {
        await this.persist.commit();
      } catch { /* logged */ }
      this.persist.close();
    }
  }
}

import { lookup } from "./dispatch.ts";
import { snapshot } from "./store/snapshot.ts";
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
