/**
 * The one choke point every command passes through, RESP or admin API, in Redis 7.2's order
 * (server.c processCommand):
 *
 * 1. "post" / "host:" (an HTTP request sent to the RESP port): close at once, silently, dropping
 *    replies not yet sent.
 * 2. Lookup: "ERR unknown command '<name>', with args beginning with: '<a>' ..." (names and args
 *    cut to 128 bytes), or for a container "ERR unknown subcommand '<sub>'. Try <CMD> HELP.".
 * 3. Arity: "ERR wrong number of arguments for '<full name>' command".
 * 4. Auth gate: "NOAUTH Authentication required." unless the command is no-auth.
 * 5. Inside MULTI, a no-multi command: "ERR Command not allowed inside a transaction".
 * 6. ACL check (the ACL engine writes the ACL LOG entry and the NOPERM text).
 * 7. Disk error: writes (and PING, and EXEC of a transaction with writes: EXECABORT) are refused
 *    with "MISCONF ..." while the journal is failing.
 * 8. RESP2 subscribed mode: only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET.
 * 9. MULTI: anything but EXEC/DISCARD/MULTI/WATCH/QUIT/RESET is queued ("QUEUED").
 * 10. call(): run the handler, count stats, journal the write if the data changed.
 * Every rejection at steps 2-8 inside MULTI flags the transaction (EXEC answers EXECABORT).
 */
import { BLOCKED, COMMANDS, type Command } from "./commands/table.ts";
import { ErrorReply, NO_REPLY, QUEUED, type Reply } from "./resp/reply.ts";
import type { Client } from "./client.ts";
import { discardTransaction } from "./commands/transactions.ts";

/** Inside MULTI with a write queued (EXEC is then a write for the disk-error check). */
function queuesWrite(c: Client): boolean {
  if (c.multi === null) return false;
  for (const q of c.multi) if (q.cmd.write) return true;
  return false;
}

/** Redis's "%.128s": at most n bytes, and nothing from the first NUL on. */
function cut(s: string, n = 128): string {
  const z = s.indexOf("\0");
  if (z >= 0 && z < n) n = z;
  return s.length > n ? s.slice(0, n) : s;
}

/**
 * Command names as clients type them -> base command: every name in lower and upper case,
 * plus other spellings seen (bounded, so random names cannot grow it), which saves the
 * lower-casing and the second lookup on every command.
 */
const BY_TYPED_NAME = new Map<string, Command>();
/** Lower-case client-facing names -> command: the table's names after rename-command. */
const BY_NAME = new Map<string, Command>(COMMANDS);
function indexTypedNames(): void {
  BY_TYPED_NAME.clear();
  for (const [n, cmd] of BY_NAME) {
    BY_TYPED_NAME.set(n, cmd);
    BY_TYPED_NAME.set(n.toUpperCase(), cmd);
  }
}
indexTypedNames();
let TYPED_NAME_CAP = BY_TYPED_NAME.size + 1024;

/**
 * `rename-command NAME NEWNAME` (config file only, before clients connect), as Redis 7.2:
 * clients reach the command only as NEWNAME; an empty NEWNAME removes it from the protocol.
 * ACL rules, COMMAND's metadata, the admin API's mapped commands and error texts keep the
 * original name (Redis keeps the command's declared name too). Returns Redis's error text:
 * "No such command in rename-command" when NAME is not a command (or was renamed away),
 * "Target command name already exists" when NEWNAME is taken.
 */
export function renameCommand(name: string, newName: string): string | null {
  const from = name.toLowerCase();
  const cmd = BY_NAME.get(from);
  if (cmd === undefined) return "No such command in rename-command";
  const to = newName.toLowerCase();
  if (to !== "" && to !== from && BY_NAME.has(to)) return "Target command name already exists";
  BY_NAME.delete(from);
  if (to !== "") BY_NAME.set(to, cmd);
  indexTypedNames();
  TYPED_NAME_CAP = BY_TYPED_NAME.size + 1024;
  return null;
}

/** Find the command for argv, or the error reply Redis gives. */
export function lookup(argv: string[]): Command | ErrorReply {
  const name = argv[0];
  let base = BY_TYPED_NAME.get(name);
  if (base === undefined) {
    base = BY_NAME.get(name.toLowerCase());
    if (base !== undefined && BY_TYPED_NAME.size < TYPED_NAME_CAP) BY_TYPED_NAME.set(name, base);
  }
  if (base === undefined) {
    let args = "";
    for (let i = 1; i < argv.length && args.length < 128; i++) args += `'${cut(argv[i], 128 - args.length)}' `;
    return new ErrorReply(`ERR unknown command '${cut(name)}', with args beginning with: ${args}`);
  }
  if (base.subcommands === null || argv.length < 2) return base;
  const sub = base.subcommands.get(argv[1].toLowerCase());
  if (sub === undefined) {
    return new ErrorReply(`ERR unknown subcommand '${cut(argv[1])}'. Try ${base.name.toUpperCase()} HELP.`);
  }
  return sub;
}

export function arityOk(cmd: Command, argc: number): boolean {
  return cmd.arity > 0 ? argc === cmd.arity : argc >= -cmd.arity;
}

const MULTI_IMMEDIATE = new Set(["exec", "discard", "multi", "watch", "quit", "reset"]);
const SUBSCRIBE_OK = new Set(["subscribe", "ssubscribe", "unsubscribe", "sunsubscribe", "psubscribe", "punsubscribe", "ping", "quit", "reset"]);

function reject(c: Client, cmd: Command | null, e: ErrorReply): ErrorReply {
  if (c.multi !== null) c.multiError = true;
  if (cmd) cmd.rejected++;
  c.server.countError(e.message);
  return e;
}

let lastSecurityWarning = -Infinity;

/** Run argv for client c through every check; returns the reply (or BLOCKED). */
export function dispatch(c: Client, argv: string[]): Reply | typeof BLOCKED {
  const server = c.server;
  const found = lookup(argv);
  if (found instanceof ErrorReply) {
    const n = argv[0].toLowerCase();
    if (n === "post" || n === "host:") {
      // Logged at most once a minute (as Redis), so the attack cannot flood the log.
      const now = Date.now();
      if (now - lastSecurityWarning >= 60000) {
        lastSecurityWarning = now;
        server.log("warning", "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis instance. Connection aborted.");
      }
      // As Redis (freeClientAsync): replies still queued for this client are dropped too.
      c.destroy();
      return NO_REPLY;
    }
    return reject(c, null, found);
  }
  const cmd = found;
  c.lastCommand = cmd.name;
  if (!arityOk(cmd, argv.length)) {
    return reject(c, cmd, new ErrorReply(`ERR wrong number of arguments for '${cmd.name}' command`));
  }
  if (!cmd.noAuth && server.acl.authRequired(c)) {
    return reject(c, cmd, new ErrorReply("NOAUTH Authentication required."));
  }
  if (c.multi !== null && cmd.noMulti) {
    return reject(c, cmd, new ErrorReply("ERR Command not allowed inside a transaction"));
  }
  const denied = server.acl.checkCommand(c, cmd, argv, c.multi !== null ? "multi" : "toplevel");
  if (denied !== null) return reject(c, cmd, denied);
  if (server.persistFailed() && (cmd.write || cmd.name === "ping" || (cmd.name === "exec" && queuesWrite(c)))) {
    if (cmd.name !== "exec") return reject(c, cmd, new ErrorReply(server.misconfError()));
    // Redis aborts the transaction: EXECABORT naming the disk error.
    discardTransaction(c);
    return reject(c, cmd, new ErrorReply(`EXECABORT Transaction discarded because of: ${server.misconfError()}`));
  }
  if (c.proto === 2 && c.inSubscribeMode && !SUBSCRIBE_OK.has(cmd.parent ? cmd.parent.name : cmd.name)) {
    return reject(
      c,
      cmd,
      new ErrorReply(`ERR Can't execute '${cmd.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`),
    );
  }
  if (c.multi !== null && !MULTI_IMMEDIATE.has(cmd.name)) {
    c.multi.push({ cmd, argv });
    return QUEUED;
  }
  return call(c, cmd, argv);
}

const TIMED_EXACT = 1024;
const TIMED_EVERY = 16;

/**
 * Run a command that passed the checks: the handler, stats, and the journal.
 * A write is journaled when it changed the data (server.dirty moved), as the handler's
 * deterministic rewrite (c.propagate) when it set one, else as argv.
 */
export function call(c: Client, cmd: Command, argv: string[]): Reply | typeof BLOCKED {
  const server = c.server;
  const dirty = server.dirty;
  c.propagate = null;
  c.current = cmd;
  // INFO commandstats time: every call of the first TIMED_EXACT, then one call in
  // TIMED_EVERY, counted TIMED_EVERY times (reading the clock costs 40-80 ns, as much as a
  // simple command's handler).
  const calls = cmd.calls;
  const timed = calls < TIMED_EXACT || (calls & (TIMED_EVERY - 1)) === 0;
  const t0 = timed ? performance.now() : 0;
  let r: Reply | typeof BLOCKED;
  try {
    r = cmd.handler(c, argv);
  } catch (e) {
    server.log("warning", `command ${cmd.name} failed: ${(e as Error).stack ?? e}`);
    r = new ErrorReply("ERR internal error");
  }
  if (timed) cmd.usec += (performance.now() - t0) * (calls < TIMED_EXACT ? 1000 : 1000 * TIMED_EVERY);
  if (r === BLOCKED) return r;
  cmd.calls++;
  if (r instanceof ErrorReply) {
    cmd.failed++;
    server.countError(r.message);
  }
  if (server.dirty !== dirty && (cmd.write || c.propagate !== null)) {
    if (c.propagate !== null) server.journal(c, c.propagate);
    else server.journalCommand(c, argv);
  }
  return r;
}
