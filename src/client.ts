/**
 * One client connection: its state (user, protocol, db, MULTI queue, subscriptions, name...)
 * and the loop that turns received bytes into replies.
 *
 * Contract with transports (the {@link Peer}): the transport calls `feed(bytes)` for every read
 * and `closed()` once when the socket is gone; the client calls `peer.write(bytes)` at most
 * once per read batch (replies are batched), and `peer.close()` to end the connection after
 * what was written has been sent. `peer.pendingBytes` reports bytes accepted but not yet sent,
 * which the output buffer limits read.
 */
import { Buffer } from "node:buffer";
import { RequestParser, ProtocolError } from "./resp/parser.ts";
import { encode, ErrorReply, NO_REPLY, type Reply } from "./resp/reply.ts";
import { BLOCKED, type Command } from "./commands/table.ts";
import type { Server } from "./server.ts";
import type { Db } from "./store/keyspace.ts";
import type { User } from "./acl/user.ts";
import { dispatch, call, lookup } from "./dispatch.ts";
import type { JournalEntry } from "./persist/types.ts";

export interface Peer {
  /** Queue bytes for sending, in order. Never throws. */
  write(data: Uint8Array): void;
  /** Send what is queued, then close. */
  close(): void;
  /** Close at once, dropping anything queued. */
  destroy(): void;
  /** Bytes accepted by write() but not yet handed to the kernel. */
  readonly pendingBytes: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** A unix-socket connection. */
  readonly unix: boolean;
  /** Stop / restart reading (used while blocked or paused). Optional. */
  pause?(): void;
  resume?(): void;
}

export interface QueuedCommand {
  cmd: Command;
  argv: string[];
}

export interface BlockState {
  cmd: Command;
  argv: string[];
  /** db index and keys waited on. */
  db: number;
  keys: string[];
  timer: ReturnType<typeof setTimeout> | null;
  /** Reply to send on timeout. */
  onTimeout: Reply;
}

export class Client {
  readonly id: number;
  readonly parser = new RequestParser();
  proto = 2;
  db: Db;
  user: User;
  authenticated = false;
  name = "";
  libName = "";
  libVer = "";
  readonly createdAt = Date.now();
  lastInteraction = Date.now();
  lastCommand = "NULL";
  /** The command being run (set by dispatch's call()). */
  current: Command | null = null;
  /** Number of commands executed, for CLIENT LIST / INFO. */
  commands = 0;

  // Transactions
  multi: QueuedCommand[] | null = null;
  /** A queue-time error happened: EXEC answers EXECABORT. */
  multiError = false;
  /** A WATCHed key changed: EXEC answers a null array. */
  dirtyCas = false;
  /** WATCHed keys by "db\0key"; `expired`: the key was already expired when WATCHed (logically absent). */
  watched = new Map<string, { db: number; key: string; expired?: boolean }>();
  /** Running queued commands of EXEC (blocking commands answer as if timed out). */
  inExec = false;
  /** Inside EXEC: journal entries are collected into one group record. */
  execJournal: JournalEntry[] | null = null;
  /** A handler's deterministic rewrite of what to journal (SPOP -> SREM...). */
  propagate: string[][] | null = null;

  // Pub/sub
  channels = new Set<string>();
  patterns = new Set<string>();
  shardChannels = new Set<string>();

  // Blocking
  blocked: BlockState | null = null;

  // Reply control (CLIENT REPLY)
  replyMode: "on" | "off" | "skip" = "on";
  skipNext = false;
  noEvict = false;
  noTouch = false;

  /** Encoded replies waiting to be written. */
  private out = "";
  /** Writes waiting for the journal to be durable, in order. */
  private held: string[] | null = null;
  /** This client journaled a write since the last flush (appendfsync always holds the reply). */
  needsDurable = false;
  closing = false;
  private isClosed = false;
  /** Output buffer soft limit: when it was first exceeded (ms), 0 = not over. */
  softLimitSince = 0;
  /** Last kill reason for logs. */
  killedFor = "";

  constructor(readonly server: Server, readonly peer: Peer, id: number) {
    this.id = id;
    this.db = server.keyspace.dbs[0];
    this.user = server.acl.defaultUser;
    this.parser.maxBulkLen = server.config.num("proto-max-bulk-len");
  }

  get dbIndex(): number {
    return this.db.index;
  }

  /** The connection is gone (closed by either side). */
  get gone(): boolean {
    return this.isClosed;
  }

  get inSubscribeMode(): boolean {
    return this.channels.size + this.patterns.size + this.shardChannels.size > 0;
  }

  /** Bytes received but not yet parsed. */
  get queryBuffered(): number {
    return this.parser.buffered;
  }

  /** Bytes of replies produced but not yet sent. */
  get outputBuffered(): number {
    let n = this.out.length + this.peer.pendingBytes;
    if (this.held) for (const h of this.held) n += h.length;
    return n;
  }

  /** Transport entry point: bytes arrived. */
  feed(chunk: Uint8Array, borrowed = false): void {
    if (this.closing) return;
    this.lastInteraction = Date.now();
    this.server.stats.netInputBytes += chunk.length;
    this.parser.push(chunk, borrowed);
    if (this.parser.buffered > this.server.config.num("client-query-buffer-limit")) {
      this.server.log("warning", `Closing client that reached max query buffer length: id=${this.id} addr=${this.addr}`);
      this.server.stats.clientQueryBufferLimitDisconnections++;
      this.destroy();
      return;
    }
    this.processInput();
    this.parser.detach();
    this.flush();
  }

  /** While this client's own command runs: pushes for it, sent after the command's reply. */
  private deferredPushes: string | null = null;

  /** A command parsed but held back by CLIENT PAUSE. */
  private pausedArgv: string[] | null = null;

  /** Parse and run commands until input runs out, the client blocks or is paused, or it is closing. */
  processInput(): void {
    while (this.blocked === null && !this.closing && this.pausedArgv === null) {
      this.parser.unauthenticated = this.server.acl.authRequired(this);
      const r = this.parser.next();
      if (r === null) break;
      if (r instanceof ProtocolError) {
        this.server.stats.protocolErrors++;
        this.writeReply(new ErrorReply("ERR " + r.message));
        this.closeAfterReply();
        break;
      }
      if (this.server.paused !== null && this.server.mustPause(this, isWriteArgv(r))) {
        this.pausedArgv = r;
        break;
      }
      this.run(r);
    }
  }

  private run(argv: string[]): void {
    this.commands++;
    this.deferredPushes = "";
    const reply = dispatch(this, argv);
    const pushes = this.deferredPushes;
    this.deferredPushes = null;
    if (reply === BLOCKED) {
      this.out += pushes;
      return;
    }
    this.reply(reply);
    // Pushes for this client produced by its own command follow the reply (Redis 7.2).
    this.out += pushes;
    this.server.afterCommand();
  }

  /** CLIENT UNPAUSE / pause timeout: run the held command, then the rest of the input. */
  resumeAfterPause(): void {
    const argv = this.pausedArgv;
    this.pausedArgv = null;
    if (argv) this.run(argv);
    this.processInput();
    this.flush();
  }

  /** Queue a reply, honouring CLIENT REPLY OFF/SKIP. */
  reply(r: Reply): void {
    if (r === NO_REPLY) return;
    if (this.replyMode !== "on" || this.skipNext) {
      if (this.skipNext) this.skipNext = false;
      return;
    }
    this.out += encode(r, this.proto);
  }

  /** Queue a reply even under CLIENT REPLY OFF (protocol errors, pushes). */
  writeReply(r: Reply): void {
    this.out += encode(r, this.proto);
  }

  /** Send queued replies: one write per batch; held back while the journal syncs (appendfsync always). */
  flush(): void {
    if (this.isClosed) return;
    if (this.out === "") {
      if (this.closing && this.held === null) this.peer.close();
      return;
    }
    const data = this.out;
    this.out = "";
    if (this.needsDurable) {
      this.needsDurable = false;
      if (this.held === null) this.held = [];
      this.held.push(data);
      const batch = this.held;
      this.server.whenDurable().then(
        () => this.releaseHeld(batch, null),
        (e: Error) => this.releaseHeld(batch, e),
      );
      return;
    }
    if (this.held !== null) {
      this.held.push(data);
      return;
    }
    this.send(data);
  }

  private releaseHeld(batch: string[], e: Error | null): void {
    if (this.held !== batch) return;
    this.held = null;
    if (e) this.server.log("warning", `journal write failed: ${e.message}`);
    this.send(batch.join(""));
  }

  private send(data: string): void {
    if (this.isClosed) return;
    this.peer.write(Buffer.from(data, "latin1"));
    this.server.stats.netOutputBytes += data.length;
    this.checkOutputLimits();
    if (this.closing) this.peer.close();
  }

  /** Enforce client-output-buffer-limit for this client's class. */
  checkOutputLimits(): void {
    const pending = this.peer.pendingBytes;
    if (pending === 0) {
      this.softLimitSince = 0;
      return;
    }
    const limits = this.server.outputLimits;
    const [hard, soft, secs] = this.inSubscribeMode ? limits.pubsub : limits.normal;
    const now = Date.now();
    let over = hard > 0 && pending >= hard;
    if (!over && soft > 0 && pending >= soft) {
      if (this.softLimitSince === 0) this.softLimitSince = now;
      else if (now - this.softLimitSince >= secs * 1000) over = true;
    } else if (!over) this.softLimitSince = 0;
    if (over) {
      this.server.log("warning", `Client id=${this.id} addr=${this.addr} closed for overcoming of output buffer limits.`);
      this.server.stats.clientOutputBufferLimitDisconnections++;
      this.destroy();
    }
  }

  /** Send a push message (pub/sub, invalidation) now. */
  push(r: Reply): void {
    if (this.isClosed) return;
    if (this.deferredPushes !== null) {
      this.deferredPushes += encode(r, this.proto);
      return;
    }
    this.out += encode(r, this.proto);
    this.flush();
  }

  closeAfterReply(): void {
    this.closing = true;
  }

  /** Close now, dropping unsent output. */
  destroy(): void {
    if (this.isClosed) return;
    this.closing = true;
    this.peer.destroy();
    this.closed_();
  }

  /** Transport: the socket is gone. Safe to call more than once. */
  closed(): void {
    this.closed_();
  }

  private closed_(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.server.removeClient(this);
  }

  /**
   * Block the running command on keys: registers with the server and returns BLOCKED.
   * `timeoutMs` 0 = forever. When one of the keys changes, the command's handler runs again
   * (and may block again, keeping its place in line); when time runs out, `onTimeout` is sent.
   * Inside EXEC it does not block and returns `onTimeout` at once, as Redis does.
   */
  block(argv: string[], keys: string[], timeoutMs: number, onTimeout: Reply): Reply | typeof BLOCKED {
    const cmd = this.current!;
    if (this.blocked !== null) return BLOCKED; // a retry that still cannot be served keeps its place
    if (this.inExec) return onTimeout; // commands inside MULTI/EXEC never block
    this.blocked = { cmd, argv, db: this.dbIndex, keys, timer: null, onTimeout };
    if (timeoutMs > 0) {
      this.armBlockTimer(this.blocked, Date.now() + timeoutMs);
    }
    this.server.blockClient(this);
    return BLOCKED;
  }

  /** Timers cap at 2^31-1 ms: a longer block timeout re-arms until its deadline. */
  private armBlockTimer(b: BlockState, deadline: number): void {
    const left = deadline - Date.now();
    const MAX_TIMER = 2147483647;
    b.timer = setTimeout(() => {
      if (this.blocked !== b) return;
      if (left > MAX_TIMER) this.armBlockTimer(b, deadline);
      else this.server.unblock(this, true);
    }, Math.min(Math.max(left, 1), MAX_TIMER));
  }

  /** Run a command directly (used by EXEC and re-tries of blocked commands). */
  call(cmd: Command, argv: string[]): Reply | typeof BLOCKED {
    return call(this, cmd, argv);
  }

  get addr(): string {
    return this.peer.unix ? `${this.peer.localAddress}:0` : `${fmtHost(this.peer.remoteAddress)}:${this.peer.remotePort}`;
  }
  get laddr(): string {
    return this.peer.unix ? `${this.peer.localAddress}:0` : `${fmtHost(this.peer.localAddress)}:${this.peer.localPort}`;
  }

  /** Redis's CLIENT LIST line for this client (no trailing newline). */
  info(): string {
    const now = Date.now();
    let flags = "";
    if (this.multi) flags += "x";
    if (this.blocked) flags += "b";
    if (this.inSubscribeMode) flags += "P";
    if (this.dirtyCas) flags += "d";
    if (this.closing) flags += "c";
    if (this.noEvict) flags += "e";
    if (this.noTouch) flags += "T";
    if (this.peer.unix) flags += "U";
    if (flags === "") flags = "N";
    const events = this.outputBuffered > 0 ? "rw" : "r";
    return (
      `id=${this.id} addr=${this.addr} laddr=${this.laddr} fd=${8 + (this.id % 1000)} name=${this.name} ` +
      `age=${Math.floor((now - this.createdAt) / 1000)} idle=${Math.floor((now - this.lastInteraction) / 1000)} ` +
      `flags=${flags} db=${this.dbIndex} sub=${this.channels.size} psub=${this.patterns.size} ssub=${this.shardChannels.size} ` +
      `multi=${this.multi ? this.multi.length : -1} qbuf=${this.parser.buffered} qbuf-free=0 argv-mem=0 multi-mem=0 ` +
      `rbs=1024 rbp=0 obl=${this.out.length} oll=0 omem=${this.peer.pendingBytes} tot-mem=${this.parser.buffered + this.outputBuffered} ` +
      `events=${events} cmd=${this.lastCommand} user=${this.user.name} redir=-1 resp=${this.proto} lib-name=${this.libName} lib-ver=${this.libVer}`
    );
  }
}

/** Would this argv write? (Unknown commands are not writes.) */
function isWriteArgv(argv: string[]): boolean {
  const cmd = lookup(argv);
  return !(cmd instanceof ErrorReply) && (cmd.write || cmd.name === "exec" || cmd.name === "publish");
}

function fmtHost(h: string): string {
  if (h.startsWith("::ffff:")) return h.slice(7);
  return h.includes(":") ? `[${h}]`.replace(/^\[\[/, "[") : h;
}
