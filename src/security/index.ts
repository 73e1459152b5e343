/**
 * aki's security features beyond Redis, wired to the server: failed-AUTH throttling
 * (throttle.ts), the audit stream (audit.ts), the ACL LOG kept across restarts
 * (acllog-store.ts), opt-in session revocation, and the DRYRUN explanation (explain.ts, pure).
 *
 * The server owns one {@link Security} (`server.security`); the ACL engine, the server and
 * AUTH/HELLO call its hooks. With the features off (`auth-max-failures 0`, no `--auditfile`,
 * `audit-commands no`, `acllog-persist no`, `acl-revoke-sessions no`) every RESP reply is
 * Redis 7.2's, byte for byte; the in-memory audit ring is invisible to RESP.
 *
 * Contract of the hooks (all synchronous, none throws):
 * - {@link Security.beforeAuth} -> delay ms (>= 0) when the attempt is throttled, else -1;
 *   {@link Security.authSucceeded} / {@link Security.authFailed} record the outcome (counters,
 *   audit event, the credential the session used for revocation). No password is ever
 *   stored: the session keeps the SHA-256 the ACL engine stores anyway.
 * - {@link deliverAuthError}: AUTH / HELLO answer a throttled WRONGPASS only after its delay,
 *   by holding the client with the blocking machinery (a block on no keys with a timer): the
 *   event loop keeps serving everyone, and the client's pipelined commands wait behind it.
 *   Inside MULTI/EXEC the answer is immediate (EXEC never blocks).
 * - {@link Security.onCommand}: every checked command (dispatch, EXEC re-checks, retried
 *   blocked commands); remembers the client (who changed what) and, with `audit-commands
 *   yes`, emits a `command` event (name, argument count, db; never the arguments).
 * - {@link Security.credentialsValid}: with `acl-revoke-sessions yes`, would the credential
 *   this session authenticated with still authenticate its user now?
 */
import type { Server } from "../server.ts";
import type { Client } from "../client.ts";
import type { BLOCKED, Command } from "../commands/table.ts";
import type { User } from "../acl/user.ts";
import { hashPassword } from "../acl/user.ts";
import { isLoopback } from "../acl/acl.ts";
import { describeUser } from "../acl/rules.ts";
import { ErrorReply, latin1ToUtf8, type Reply } from "../resp/reply.ts";
import { findDirective, renderValue } from "../config.ts";
import { isAbsolute, join } from "node:path";
import { AuthThrottle, ThrottledError } from "./throttle.ts";
import { AuditLog } from "./audit.ts";
import { AclLogStore } from "./acllog-store.ts";

export { ThrottledError } from "./throttle.ts";

/** Directives whose CONFIG SET is audited (plus every tls-* and every sensitive one). */
const SECURITY_DIRECTIVES = new Set([
  "requirepass", "masterauth", "masteruser", "aclfile", "acllog-max-len", "acl-pubsub-default", "protected-mode",
  "enable-debug-command", "enable-protected-configs", "enable-module-command", "bind", "port", "unixsocket",
  "unixsocketperm", "maxclients", "timeout", "admin-port", "admin-bind", "admin-host", "admin-max-inflight",
  "auth-max-failures", "auth-failure-window", "auth-max-delay", "auth-throttle-loopback",
  "auditfile", "audit-max-size", "audit-commands", "audit-max-len", "acllog-persist", "acl-revoke-sessions",
]);

export function isSecurityDirective(name: string): boolean {
  return SECURITY_DIRECTIVES.has(name) || name.startsWith("tls-") || findDirective(name)?.sensitive === true;
}

/** A sensitive value as audit events show it: "" stays "", anything else "#<sha256>". */
function hidden(v: string): string {
  return v === "" ? "" : "#" + hashPassword(v);
}

/** How the session authenticated: the password's hash, null for nopass. */
interface Credential {
  user: User;
  hash: string | null;
}

export class Security {
  readonly throttle: AuthThrottle;
  readonly audit: AuditLog;
  aclLogStore: AclLogStore | null = null;
  /** The client whose command is being checked / run (who made a change). */
  current: Client | null = null;
  private auditCommands: boolean;
  private creds = new WeakMap<Client, Credential>();
  private closeReasons = new WeakMap<Client, { reason: string; user: string }>();
  private seenOutputKills = 0;
  private seenQueryKills = 0;
  private configSnapshot = new Map<string, string>();

  constructor(readonly server: Server) {
    const cfg = server.config;
    this.throttle = new AuthThrottle(() => ({
      maxFailures: cfg.num("auth-max-failures"),
      windowMs: cfg.num("auth-failure-window") * 1000,
      maxDelayMs: cfg.num("auth-max-delay"),
    }));
    this.audit = new AuditLog({
      maxLen: () => cfg.num("audit-max-len"),
      maxSize: () => cfg.num("audit-max-size"),
      log: (level, msg) => server.log(level, msg),
    });
    this.auditCommands = cfg.bool("audit-commands");
    for (const [name] of cfg.entries()) if (isSecurityDirective(name)) this.configSnapshot.set(name, this.rendered(name));
    const previous = server.extraStats;
    server.extraStats = () => {
      const t = this.throttle.throttledCounts();
      return [
        ...previous(),
        ["aki_auth_throttled_attempts", this.throttle.throttledAttempts],
        ["aki_auth_throttled_addresses", t.addresses],
        ["aki_auth_throttled_users", t.users],
        ["aki_audit_events_written", this.audit.written],
      ];
    };
  }

  /** Startup (after the data file and the ACL users): the persisted ACL LOG and the audit file. */
  start(): string | null {
    this.attachAclLogStore(true);
    const file = this.server.config.str("auditfile");
    if (file !== "") {
      const path = this.resolve(file);
      const e = this.audit.open(path);
      if (e !== null) return e;
      this.server.log("notice", `Audit events are written to ${path}`);
    }
    return null;
  }

  /** Flush the audit file and the ACL LOG file (shutdown). */
  close(): void {
    this.aclLogStore?.flush();
    this.audit.close();
  }

  private resolve(file: string): string {
    const dir = this.server.config.str("dir");
    return isAbsolute(file) || dir === "" ? file : join(dir, file);
  }

  private attachAclLogStore(load: boolean): void {
    const log = this.server.acl.log;
    if (!this.server.config.bool("acllog-persist") || this.server.dbfile === ":memory:") {
      this.aclLogStore?.flush();
      this.aclLogStore = null;
      log.onChange = null;
      return;
    }
    if (this.aclLogStore !== null) return;
    const store = new AclLogStore(this.server.dbfile + ".acllog", log, (m) => this.server.log("warning", m));
    if (load) store.load(this.server.config.num("acllog-max-len"));
    else store.changed();
    this.aclLogStore = store;
    log.onChange = () => store.changed();
  }

  // ---- who is acting ---------------------------------------------------------------------------

  private who(c: Client | null): Record<string, unknown> {
    if (c === null) return { user: null, addr: null, clientId: null, clientName: null };
    return { user: latin1ToUtf8(c.user.name), addr: c.addr, clientId: c.id, clientName: latin1ToUtf8(c.name) };
  }

  /** A command passed to the ACL check. */
  onCommand(c: Client, cmd: Command, argv: string[]): void {
    this.current = c;
    if (this.auditCommands && c !== this.server.internal) {
      this.audit.emit("command", { ...this.who(c), command: cmd.name, argc: argv.length, db: c.dbIndex });
    }
  }

  // ---- authentication ----------------------------------------------------------------------------

  private addrOf(c: Client): string {
    if (c.peer.unix) return "unix";
    const a = c.peer.remoteAddress;
    return a.startsWith("::ffff:") ? a.slice(7) : a;
  }

  private exempt(c: Client): boolean {
    if (this.server.config.bool("auth-throttle-loopback")) return false;
    return c.peer.unix || isLoopback(c.peer.remoteAddress);
  }

  /** Before the password is checked: the reply delay when throttled, else -1. */
  beforeAuth(c: Client, username: string): number {
    if (c === this.server.internal || this.exempt(c)) return -1;
    return this.throttle.check(this.addrOf(c), username);
  }

  authSucceeded(c: Client, u: User, password: string, verb: string): void {
    this.creds.set(c, { user: u, hash: u.nopass ? null : hashPassword(password) });
    this.audit.emit("auth", { ...this.who(c), outcome: "success", verb });
  }

  /** delayMs: -1 for an ordinary failure, else the throttled attempt's delay. */
  authFailed(c: Client, username: string, verb: string, delayMs: number): void {
    if (c !== this.server.internal && !this.exempt(c)) this.throttle.failure(this.addrOf(c), username);
    const fields: Record<string, unknown> = { ...this.who(c), user: latin1ToUtf8(username), outcome: delayMs >= 0 ? "throttled" : "failure", verb };
    if (delayMs >= 0) fields.delayMs = delayMs;
    this.audit.emit("auth", fields);
  }

  /** The connection is (back to) the default user without a password (new connection, RESET). */
  sessionReset(c: Client): void {
    this.creds.set(c, { user: c.user, hash: null });
  }

  // ---- revocation ---------------------------------------------------------------------------------

  get revokeEnabled(): boolean {
    return this.server.config.bool("acl-revoke-sessions");
  }

  /**
   * Would the credential this session used still authenticate u? A session that signed in
   * some other way (none recorded) only needs the user to be on.
   */
  credentialsValid(c: Client, u: User): boolean {
    if (!u.enabled) return false;
    const cred = this.creds.get(c);
    if (cred === undefined || cred.user !== u) return true;
    if (u.nopass) return true;
    return cred.hash !== null && u.passwords.includes(cred.hash);
  }

  // ---- ACL changes --------------------------------------------------------------------------------

  /** One user changed (setuser / deluser): rule lines as ACL LIST writes them (passwords hashed). */
  userChanged(c: Client | null, action: string, target: string, before: User | string | null, after: User | string | null): void {
    this.audit.emit("acl", { ...this.who(c ?? this.current), action, target: latin1ToUtf8(target), before: line(target, before), after: line(target, after) });
  }

  /** ACL LOAD: every user whose rules changed. */
  usersLoaded(c: Client | null, before: Map<string, string>, after: Map<string, string>, file: string): void {
    const changes: Record<string, unknown>[] = [];
    const names = new Set([...before.keys(), ...after.keys()]);
    for (const n of [...names].sort()) {
      const b = before.get(n) ?? null;
      const a = after.get(n) ?? null;
      if (a !== b) changes.push({ target: latin1ToUtf8(n), before: line(n, b), after: line(n, a) });
    }
    this.audit.emit("acl", { ...this.who(c ?? this.current), action: "load", file, changes });
  }

  usersSaved(file: string, ok: boolean): void {
    this.audit.emit("acl", { ...this.who(this.current), action: "save", file, outcome: ok ? "success" : "failure" });
  }

  /** An ACL denial (ACL LOG reasons command / key / channel; auth failures have their own events). */
  denied(c: Client, reason: string, context: string, object: string, username: string): void {
    if (reason === "auth") return;
    this.audit.emit("denied", { ...this.who(c), user: latin1ToUtf8(username), reason, context, object: latin1ToUtf8(object) });
  }

  // ---- configuration ------------------------------------------------------------------------------

  private rendered(name: string): string {
    const dir = findDirective(name);
    return dir === undefined ? "" : renderValue(dir, this.server.config.get(dir.name));
  }

  /** A directive changed (CONFIG SET, or startup / internal when no command runs). */
  configChanged(name: string): void {
    if (name === "audit-commands") this.auditCommands = this.server.config.bool("audit-commands");
    else if (name === "acllog-persist") this.attachAclLogStore(false);
    if (!isSecurityDirective(name)) return;
    const before = this.configSnapshot.get(name) ?? "";
    const after = this.rendered(name);
    this.configSnapshot.set(name, after);
    const c = this.current;
    if (c === null || c.current?.name !== "config|set") return;
    const sensitive = findDirective(name)?.sensitive === true;
    this.audit.emit("config", {
      ...this.who(c),
      action: "set",
      name,
      before: sensitive ? hidden(before) : latin1ToUtf8(before),
      after: sensitive ? hidden(after) : latin1ToUtf8(after),
    });
  }

  resetStats(): void {
    this.throttle.throttledAttempts = 0;
  }

  // ---- disconnections -----------------------------------------------------------------------------

  /** This client is about to be closed for `reason` (ACL change, limit). */
  closing(c: Client, reason: string): void {
    if (!this.closeReasons.has(c)) this.closeReasons.set(c, { reason, user: c.user.name });
  }

  /** A connection was refused before it became a client (maxclients, protected mode). */
  connectionRefused(c: Client, reason: string): void {
    this.audit.emit("disconnect", { ...this.who(c), reason });
  }

  /** A client left: emit the disconnect event when an ACL change or a limit closed it. */
  clientRemoved(c: Client): void {
    const st = this.server.stats;
    let why = this.closeReasons.get(c);
    if (st.clientOutputBufferLimitDisconnections > this.seenOutputKills) {
      this.seenOutputKills = st.clientOutputBufferLimitDisconnections;
      why ??= { reason: "output-buffer-limit", user: c.user.name };
    } else if (st.clientQueryBufferLimitDisconnections > this.seenQueryKills) {
      this.seenQueryKills = st.clientQueryBufferLimitDisconnections;
      why ??= { reason: "query-buffer-limit", user: c.user.name };
    }
    // CONFIG RESETSTAT zeroes the counters.
    if (st.clientOutputBufferLimitDisconnections < this.seenOutputKills) this.seenOutputKills = st.clientOutputBufferLimitDisconnections;
    if (st.clientQueryBufferLimitDisconnections < this.seenQueryKills) this.seenQueryKills = st.clientQueryBufferLimitDisconnections;
    if (why === undefined) return;
    this.closeReasons.delete(c);
    this.audit.emit("disconnect", { ...this.who(c), user: latin1ToUtf8(why.user), reason: why.reason });
  }
}

function line(name: string, v: User | string | null): string | null {
  if (v === null) return null;
  return latin1ToUtf8(typeof v === "string" ? v : `user ${name} ${describeUser(v)}`);
}

/**
 * AUTH / HELLO: the error to answer now, or (a throttled WRONGPASS) BLOCKED while the client
 * is held for the delay, after which the same WRONGPASS is sent.
 */
export function deliverAuthError(c: Client, argv: string[], e: ErrorReply): Reply | typeof BLOCKED {
  if (!(e instanceof ThrottledError) || e.delayMs <= 0 || c.inExec || c.gone) return e;
  c.server.countError(e.message);
  return c.block(argv, [], e.delayMs, new ErrorReply(e.message));
}
