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
import { emptyAllowedMemo } from "./acl/acl.ts";
import { dispatch, call, lookup } from "./dispatch.ts";
import type { JournalEntry } from "./persist/types.ts";

export interface Peer {
  /** Queue bytes for sending, in order. Never throws. */
  write(data: Uint8Array): void;
  /**
   * Optional: queue a binary string (one char per byte) for sending, in order with write().
   * Transports that can send a string without a Buffer made for it first (node:net) provide it.
   */
  writeLatin1?(data: string): void;
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
  /** TLS connections only: the CN of the client certificate the server verified (null: none). */
  readonly tls?: { readonly peerCN: string | null };
  /** Stop / restart reading (used while blocked or paused). Optional. */
  pause?(): void;
  resume?(): void;
}

/** Unauthenticated clients: query buffer and pending output caps (Redis 7.4 / CVE-2025-21605). */
const UNAUTH_QUERY_LIMIT = 1024 * 1024;
const UNAUTH_OUTPUT_LIMIT = 1024;
/**
 * Replies of one input batch are handed to the transport early once they pass this size, and
 * the output limits are checked then: a pipeline of big replies to a client that does not read
 * stops at its limit instead of building the whole output first (Redis checks on every reply).
 */
const EARLY_FLUSH = 128 * 1024;

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
  /** The last command the ACL check allowed (acl.ts AllowedMemo). */
  aclAllowed = emptyAllowedMemo();
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
  /** Output batches waiting for the journal, in order (see flush()); null when none. */
  private held: HeldBatch[] | null = null;
  /** Offsets in `out` where the replies of journaled writes start (see markDurable()). */
  private durableMarks: number[] | null = null;
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
    if (this.held) for (const h of this.held) n += h.data.length;
    return n;
  }

  /** Transport entry point: bytes arrived. */
  feed(chunk: Uint8Array, borrowed = false): void {
    if (this.closing) return;
    this.lastInteraction = Date.now();
    this.server.stats.netInputBytes += chunk.length;
    this.parser.push(chunk, borrowed);
    const qlimit = this.server.queryBufferLimit;
    // Unauthenticated clients get at most 1 MB (as Redis 7.4), whatever the limit says.
    if (this.parser.buffered > (qlimit > UNAUTH_QUERY_LIMIT && this.server.acl.authRequired(this) ? UNAUTH_QUERY_LIMIT : qlimit)) {
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
    if (this.out.length >= EARLY_FLUSH && !this.isClosed) {
      this.flush();
      this.checkOutputLimits();
    }
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
    try {
      this.out += encode(r, this.proto);
    } catch (e) {
      // A reply too big for the runtime to hold as one string (V8 caps strings near 512 MB):
      // the client cannot be answered, so it is closed as if it overran its output limit.
      if (!(e instanceof RangeError)) throw e;
      this.overLimit("reply too large to build");
    }
  }

  /** Queue a reply even under CLIENT REPLY OFF (protocol errors, pushes). */
  writeReply(r: Reply): void {
    this.out += encode(r, this.proto);
  }

  /**
   * The command running now journaled a write (server.appendJournal): its reply, which starts
   * at the current end of `out`, must not leave before the record is written (and fsynced
   * under appendfsync always). Nothing to hold when the reply is suppressed (CLIENT REPLY).
   */
  markDurable(): void {
    if (this.replyMode !== "on" || this.skipNext) return;
    if (this.durableMarks === null) this.durableMarks = [];
    this.durableMarks.push(this.out.length);
  }

  /**
   * Send queued replies: one write per batch. A batch holding replies of journaled writes waits
   * for the journal (server.whenDurable(): the group commit of this turn), and every batch after
   * it waits its turn, so replies keep their order. If the journal write failed, the replies of
   * those writes become the MISCONF error; the other replies of the batch (reads) go out as is.
   */
  flush(): void {
    if (this.isClosed) return;
    if (this.out === "") {
      if (this.closing && this.held === null) this.peer.close();
      return;
    }
    const data = this.out;
    this.out = "";
    const marks = this.durableMarks;
    if (marks !== null) {
      this.durableMarks = null;
      const batch: HeldBatch = { data, marks, settled: false, error: null };
      if (this.held === null) this.held = [];
      this.held.push(batch);
      this.server.whenDurable().then(
        () => this.settle(batch, null),
        (e: Error) => this.settle(batch, e),
      );
      return;
    }
    if (this.held !== null) {
      this.held.push({ data, marks: null, settled: true, error: null });
      return;
    }
    this.send(data);
  }

  /** A held batch's journal write finished: send every settled batch at the head of the line. */
  private settle(batch: HeldBatch, e: Error | null): void {
    batch.settled = true;
    if (e !== null) {
      batch.error = e.message.startsWith("MISCONF ") ? e.message : `MISCONF Errors writing to the AOF file: ${e.message}`;
    }
    const held = this.held;
    if (held === null || this.isClosed) return;
    let n = 0;
    let data = "";
    while (n < held.length && held[n].settled) {
      const b = held[n++];
      data += b.error !== null && b.marks !== null ? replaceReplies(b.data, b.marks, b.error) : b.data;
    }
    if (n === 0) return;
    this.held = n === held.length ? null : held.slice(n);
    this.send(data);
  }

  private send(data: string): void {
    if (this.isClosed) return;
    const peer = this.peer;
    if (peer.writeLatin1 !== undefined) peer.writeLatin1(data);
    else peer.write(Buffer.from(data, "latin1"));
    this.server.stats.netOutputBytes += data.length;
    this.checkOutputLimits();
    if (this.closing && this.held === null) this.peer.close();
  }

  /** Enforce client-output-buffer-limit for this client's class. */
  checkOutputLimits(): void {
    if (this.isClosed) return;
    const pending = this.outputBuffered;
    if (pending === 0) {
      this.softLimitSince = 0;
      return;
    }
    const limits = this.server.outputLimits;
    const [hard, soft, secs] = this.inSubscribeMode ? limits.pubsub : limits.normal;
    const now = Date.now();
    // A client that has not authenticated may not pile up more than 1 KB (CVE-2025-21605).
    let over = (hard > 0 && pending >= hard) || (pending > UNAUTH_OUTPUT_LIMIT && this.server.acl.authRequired(this));
    if (!over && soft > 0 && pending >= soft) {
      if (this.softLimitSince === 0) this.softLimitSince = now;
      else if (now - this.softLimitSince >= secs * 1000) over = true;
    } else if (!over) this.softLimitSince = 0;
    if (over) this.overLimit("");
  }

  /** Close this client for overcoming its output buffer limit (logged and counted). */
  private overLimit(why: string): void {
    if (this.isClosed) return;
    this.server.log("warning", `Client id=${this.id} addr=${this.addr} closed for overcoming of output buffer limits${why ? ` (${why})` : ""}.`);
    this.server.stats.clientOutputBufferLimitDisconnections++;
    this.out = "";
    this.held = null;
    this.destroy();
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

/** An output batch waiting for the journal (Client.flush). */
interface HeldBatch {
  data: string;
  /** Offsets in data where replies of journaled writes start; null for a batch of reads. */
  marks: number[] | null;
  settled: boolean;
  /** The MISCONF text replacing the marked replies when the journal write failed. */
  error: string | null;
}

/**
 * data with the complete RESP reply starting at each mark replaced by the error `error`.
 * A mark that does not start a parsable reply (never expected) drops the rest of the batch
 * after the error, so a failed write can never be answered as if it succeeded.
 */
function replaceReplies(data: string, marks: number[], error: string): string {
  const err = "-" + error.replace(/[\r\n]/g, " ") + "\r\n";
  let out = "";
  let pos = 0;
  for (const m of marks) {
    if (m < pos) continue;
    if (m >= data.length) break;
    const end = replyEnd(data, m);
    out += data.slice(pos, m) + err;
    if (end < 0) return out;
    pos = end;
  }
  return out + data.slice(pos);
}

/** Offset just past the complete RESP2/RESP3 value starting at `start` in s, or -1. */
function replyEnd(s: string, start: number): number {
  let pos = start;
  let pending = 1;
  while (pending > 0) {
    if (pos >= s.length) return -1;
    const nl = s.indexOf("\r\n", pos);
    if (nl < 0) return -1;
    const type = s[pos];
    const n = Number(s.slice(pos + 1, nl));
    pos = nl + 2;
    pending--;
    switch (type) {
      case "+": case "-": case ":": case ",": case "#": case "_": case "(":
        break;
      case "$": case "=": case "!":
        if (!Number.isInteger(n)) return -1;
        if (n >= 0) pos += n + 2;
        break;
      case "*": case "~": case ">":
        if (!Number.isInteger(n)) return -1;
        if (n > 0) pending += n;
        break;
      case "%": case "|":
        if (!Number.isInteger(n)) return -1;
        // An attribute (|) precedes the value it annotates.
        pending += 2 * n + (type === "|" ? 1 : 0);
        break;
      default:
        return -1;
    }
  }
  return pos > s.length ? -1 : pos;
}
