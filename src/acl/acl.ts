/**
 * The ACL engine: users, authentication, permission checks, the ACL LOG and the ACL file,
 * with Redis 7.2's semantics and texts. This is the contract dispatch, AUTH/HELLO, EXEC,
 * CONFIG SET, main and the ACL command call.
 *
 * - Connections start as the default user, authenticated when it is `nopass` and `on`;
 *   {@link Acl.authRequired} is Redis's authRequired() (it looks at the default user, not at
 *   the connection's user).
 * - {@link Acl.authenticate}: SHA-256 of the password compared in constant time against every
 *   stored hash; an unknown, disabled or passwordless user costs the same hashing and
 *   comparing. Failure: "WRONGPASS invalid username-password pair or user is disabled.", an
 *   ACL LOG entry (reason auth, object = the verb as typed) and acl_access_denied_auth.
 * - {@link Acl.checkCommand} / {@link Acl.checkExec}: see check.ts; denials are logged (context
 *   toplevel / multi) and counted (acl_access_denied_cmd / key / channel) and answered
 *   "NOPERM User <u> has no permissions to run the '<cmd>' command",
 *   "NOPERM No permissions to access a key" / "... a channel", or at EXEC
 *   "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC
 *   call. This command is no longer allowed for the following reason: <reason>".
 * - Users are changed in place, so live connections see new rules at their next command.
 *   ACL SETUSER is all-or-nothing and disconnects the user's subscribers whose channels or
 *   patterns are no longer allowed; ACL DELUSER and ACL LOAD disconnect the clients of the
 *   users they remove (ACL LOAD, as in 7.2, every client of a non-default user), the caller
 *   after its reply.
 * - Protected mode: with `protected-mode yes` and a nopass default user, TCP clients from
 *   outside 127.0.0.0/8 and ::1 are refused with Redis's DENIED text.
 * - Startup: `user` config lines or the aclfile (not both), after requirepass (which the
 *   aclfile then overrides, as in Redis). Any error aborts startup with file:line.
 * - aki's security features (src/security, `server.security`) hook in here: failed-AUTH
 *   throttling (a throttled attempt answers a {@link ThrottledError} WRONGPASS whatever the
 *   password), audit events for AUTH/HELLO, ACL changes and denials, and with
 *   `acl-revoke-sessions yes` the closing of sessions whose credentials no longer work.
 */
import { Buffer } from "node:buffer";
import { randomBytes, timingSafeEqual } from "node:crypto";
import { isAbsolute, join } from "node:path";
import type { Client } from "../client.ts";
import type { Command } from "../commands/table.ts";
import type { Server } from "../server.ts";
import { ErrorReply } from "../resp/reply.ts";
import { splitArgs } from "../resp/parser.ts";
import { User, hasSpaces, hashPassword } from "./user.ts";
import { RULE_ERROR_TEXT, applyTrusted, applyUserRule, describeUser, mergeSelectorArgs, ruleHooks, stageUser } from "./rules.ts";
import { ACL_OK, DENIED_CMD, DENIED_KEY, channelAllowed, checkUser, denialText, execReason, fullKeyAccess, type CheckResult } from "./check.ts";
import { getKeys, type KeyRef } from "../commands/keys.ts";
import { AclLog, type LogContext, type LogReason } from "./log.ts";
import { aclFileText, loadAclFile, saveAclFile } from "./file.ts";
import { ThrottledError } from "../security/throttle.ts";

export { User } from "./user.ts";

export const WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled.";

export const PROTECTED_MODE_DENIED =
  "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. " +
  "In this mode connections are only accepted from the loopback interface. " +
  "If you want to connect from external computers to Redis you may adopt one of the following solutions: " +
  "1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface " +
  "by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible " +
  "from internet if you do so. Use CONFIG REWRITE to make this change permanent. " +
  "2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected " +
  "mode option to 'no', and then restarting the server. " +
  "3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. " +
  "4) Set up an authentication password for the default user. " +
  "NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.";

export const NO_ACLFILE =
  "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

const EXEC_CHANGED =
  "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: ";

/** Is a remote address on the loopback interface (127.0.0.0/8, ::1, IPv4-mapped 127.x)? */
export function isLoopback(addr: string): boolean {
  if (addr === "::1" || addr === "0:0:0:0:0:0:0:1") return true;
  const a = addr.startsWith("::ffff:") ? addr.slice(7) : addr;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

export class Acl {
  defaultUser: User;
  users: Map<string, User>;
  readonly log = new AclLog();
  /** argv[0] of the last AUTH/HELLO seen by the checks (ACL LOG names the verb as typed). */
  private authVerb: { c: Client; name: string } | null = null;
  private readonly dummyHash = Buffer.from(hashPassword(randomBytes(16).toString("latin1")), "latin1");

  constructor(readonly server: Server) {
    ruleHooks.warn = (m) => server.log("warning", m);
    this.defaultUser = this.newDefaultUser();
    this.users = new Map([["default", this.defaultUser]]);
  }

  /** acl-pubsub-default is allchannels? (new users and `reset` get &*). */
  get allChannelsByDefault(): boolean {
    return this.server.config.str("acl-pubsub-default") === "allchannels";
  }

  private newDefaultUser(): User {
    const u = new User("default", this.allChannelsByDefault);
    applyTrusted(u, ["+@all", "~*", "&*", "on", "nopass"], this.allChannelsByDefault);
    return u;
  }

  // ---- connections --------------------------------------------------------------------------

  /** Must this client authenticate before running commands? */
  authRequired(c: Client): boolean {
    if (c.authenticated) return false;
    const d = this.defaultUser;
    return !d.nopass || !d.enabled;
  }

  /** A new connection: starts as the default user, authenticated when default needs no password. */
  onConnect(c: Client): void {
    this.resetAuth(c);
    this.certificateLogin(c);
  }

  /**
   * `tls-auth-clients-user CN` (as in Valkey 9): a TLS client whose verified certificate's CN
   * names an existing, enabled user starts authenticated as that user; otherwise it stays the
   * default user (and a warning is logged).
   */
  private certificateLogin(c: Client): void {
    const cn = c.peer.tls?.peerCN;
    if (!cn || this.server.config.str("tls-auth-clients-user") !== "CN") return;
    const u = this.users.get(cn);
    if (u === undefined || !u.enabled) {
      this.server.log("verbose", `TLS client certificate CN '${cn}' is not an enabled ACL user; the client starts as the default user`);
      return;
    }
    c.user = u;
    c.authenticated = true;
  }

  /** Log the client out back to the default user (RESET, new connection). */
  resetAuth(c: Client): void {
    c.user = this.defaultUser;
    c.authenticated = this.defaultUser.nopass && this.defaultUser.enabled;
    this.server.security?.sessionReset(c);
  }

  /** null to accept, or the error text (protected mode) to send before closing. */
  refuseConnection(c: Client): string | null {
    if (!this.server.config.bool("protected-mode") || !this.defaultUser.nopass) return null;
    if (c.peer.unix || isLoopback(c.peer.remoteAddress)) return null;
    return PROTECTED_MODE_DENIED;
  }

  // ---- authentication -----------------------------------------------------------------------

  /** Constant-time credential check; the same work whatever the outcome. */
  checkCredentials(u: User | undefined, password: string): boolean {
    const h = Buffer.from(hashPassword(password), "latin1");
    let match = false;
    if (u === undefined || u.passwords.length === 0) {
      timingSafeEqual(h, this.dummyHash);
    } else {
      for (const p of u.passwords) if (timingSafeEqual(h, Buffer.from(p, "latin1"))) match = true;
    }
    if (u === undefined || !u.enabled) return false;
    return u.nopass || match;
  }

  /** AUTH / HELLO AUTH: null on success (client now that user), else the WRONGPASS reply. */
  authenticate(c: Client, username: string, password: string, verb: "AUTH" | "HELLO", heldMs?: number): ErrorReply | null {
    // Failed-AUTH throttling (src/security): a throttled attempt fails whatever the password.
    // heldMs (the admin HTTP API): the caller already asked beforeAuth and held the request for
    // that delay; the password then decides (a failure is still recorded as throttled).
    const sec = this.server.security;
    const delay = heldMs !== undefined ? heldMs : sec ? sec.beforeAuth(c, username) : -1;
    const u = this.users.get(username);
    if ((delay < 0 || heldMs !== undefined) && this.checkCredentials(u, password)) {
      c.user = u!;
      c.authenticated = true;
      sec?.authSucceeded(c, u!, password, verb);
      return null;
    }
    const typed = this.authVerb !== null && this.authVerb.c === c && this.authVerb.name.toUpperCase() === verb ? this.authVerb.name : verb;
    this.record(c, "auth", c.multi !== null || c.inExec ? "multi" : "toplevel", typed, username);
    sec?.authFailed(c, username, verb, delay);
    return delay < 0 ? new ErrorReply(WRONGPASS) : new ThrottledError(WRONGPASS, delay);
  }

  // ---- permission checks --------------------------------------------------------------------

  /** null when allowed; else the NOPERM reply (after logging to ACL LOG). */
  checkCommand(c: Client, cmd: Command, argv: string[], context: "toplevel" | "multi"): ErrorReply | null {
    if (cmd.noAuth) this.authVerb = { c, name: argv[0] };
    this.server.security?.onCommand(c, cmd, argv);
    const u = c.user;
    if (u.unrestricted) return null;
    const memo = c.aclAllowed;
    const keys = getKeys(cmd, argv);
    if (memo.user === u && memo.gen === u.gen && memo.cmd === cmd && memo.arg1 === argv[1] && memo.keys === keys) return null;
    const r = checkUser(u, cmd, argv, keys);
    if (r.code === ACL_OK) {
      rememberAllowed(memo, u, cmd, argv, keys);
      return null;
    }
    this.recordDenial(c, r, cmd, argv, context);
    return new ErrorReply("NOPERM " + denialText(r.code, u, cmd));
  }

  /**
   * EXEC re-check of a queued command: null when still allowed, else the error reply
   * ("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. ...").
   */
  checkExec(c: Client, cmd: Command, argv: string[]): ErrorReply | null {
    if (cmd.noAuth) this.authVerb = { c, name: argv[0] };
    this.server.security?.onCommand(c, cmd, argv);
    const u = c.user;
    if (u.unrestricted) return null;
    const r = checkUser(u, cmd, argv);
    if (r.code === ACL_OK) return null;
    this.recordDenial(c, r, cmd, argv, "multi");
    return new ErrorReply(EXEC_CHANGED + execReason(r.code));
  }

  /** Dry run for a user (ACL DRYRUN): the check result without logging. */
  check(u: User, cmd: Command, argv: string[]): CheckResult {
    return checkUser(u, cmd, argv);
  }

  /**
   * SORT BY / GET with a pattern: does the user have read access to every key? With cmd and
   * argv, as Redis: a selector must allow this command and grant ~* / %R~*.
   */
  hasFullKeyAccess(user: User, cmd?: Command, argv?: string[]): boolean {
    return fullKeyAccess(user, cmd, argv);
  }

  private recordDenial(c: Client, r: CheckResult, cmd: Command, argv: string[], context: LogContext): void {
    const reason: LogReason = r.code === DENIED_CMD ? "command" : r.code === DENIED_KEY ? "key" : "channel";
    const object = r.code === DENIED_CMD ? cmd.name : argv[r.pos];
    this.record(c, reason, context, object, c.user.name);
  }

  /** Count and log a denial (Redis's addACLLogEntry). */
  record(c: Client, reason: LogReason, context: LogContext, object: string, username: string): void {
    const s = this.server.stats;
    if (reason === "auth") s.aclAccessDeniedAuth++;
    else if (reason === "command") s.aclAccessDeniedCmd++;
    else if (reason === "key") s.aclAccessDeniedKey++;
    else s.aclAccessDeniedChannel++;
    this.log.add(reason, context, object, username, c.info(), this.server.config.num("acllog-max-len"));
    this.server.security?.denied(c, reason, context, object, username);
  }

  // ---- user management ----------------------------------------------------------------------

  /** ACL SETUSER: null on success, else the error reply. `c` is the caller (may be disconnected after its reply). */
  setUser(c: Client | null, name: string, rules: string[]): ErrorReply | null {
    if (hasSpaces(name)) return new ErrorReply("ERR Usernames can't contain spaces or null characters");
    const existing = this.users.get(name);
    const staged = stageUser(existing ?? null, name, rules, this.allChannelsByDefault);
    if (typeof staged === "string") return new ErrorReply("ERR " + staged);
    const before = existing ? `user ${name} ${describeUser(existing)}` : null;
    if (existing) {
      this.killPubsubIfNeeded(staged, existing, c);
      existing.copyFrom(staged);
    } else {
      this.users.set(name, staged);
    }
    this.server.security?.userChanged(c, "setuser", name, before, existing ?? staged);
    if (existing) this.revokeStale(existing, c);
    return null;
  }

  /** ACL DELUSER: the number deleted, or the error for `default`. */
  deleteUsers(c: Client | null, names: string[]): number | ErrorReply {
    for (const n of names) if (n === "default") return new ErrorReply("ERR The 'default' user cannot be removed");
    let deleted = 0;
    for (const n of names) {
      const u = this.users.get(n);
      if (u === undefined) continue;
      this.users.delete(n);
      this.server.security?.userChanged(c, "deluser", n, u, null);
      this.killClientsOf(new Set([u]), c, "acl-deluser");
      deleted++;
    }
    return deleted;
  }

  /** Users sorted by name (ACL LIST / USERS order). */
  sortedUsers(): User[] {
    return [...this.users.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** "user <name> <rules>" lines, sorted (ACL LIST, ACL SAVE, CONFIG REWRITE). */
  listLines(): string[] {
    return this.sortedUsers().map((u) => `user ${u.name} ${describeUser(u)}`);
  }

  /** The `user` lines CONFIG REWRITE should write: none when an aclfile is in use. */
  configRewriteLines(): string[] {
    return this.server.config.str("aclfile") === "" ? this.listLines() : [];
  }

  /**
   * Disconnect clients authenticated as one of `users`: they go back to the default user,
   * unauthenticated; the caller is closed after its reply, the others at once.
   */
  private killClientsOf(users: Set<User>, current: Client | null, reason = "acl-load"): void {
    for (const o of [...this.server.clients.values()]) {
      if (!users.has(o.user)) continue;
      this.server.security?.closing(o, reason);
      o.user = this.defaultUser;
      o.authenticated = false;
      if (o === current) o.closeAfterReply();
      else o.destroy();
    }
  }

  /** Redis's ACLKillPubsubClientsIfNeeded: drop subscribers of `original` that `updated` no longer allows. */
  private killPubsubIfNeeded(updated: User, original: User, current: Client | null): void {
    const ps = this.server.pubsub;
    if (ps.channels.size === 0 && ps.patterns.size === 0 && ps.shardChannels.size === 0) return;
    if (updated.selectors.some((s) => s.allChannels)) return;
    const upcoming: string[] = [];
    for (const s of updated.selectors) upcoming.push(...s.channels);
    let superset = true;
    for (const s of original.selectors) {
      if (s.allChannels || s.channels.some((ch) => !upcoming.includes(ch))) {
        superset = false;
        break;
      }
    }
    if (superset) return;
    for (const o of [...this.server.clients.values()]) {
      if (o.user !== original || !o.inSubscribeMode) continue;
      let kill = false;
      for (const p of o.patterns) if (!channelAllowed(upcoming, p, true)) kill = true;
      if (!kill) for (const ch of o.channels) if (!channelAllowed(upcoming, ch, false)) kill = true;
      if (!kill) for (const ch of o.shardChannels) if (!channelAllowed(upcoming, ch, false)) kill = true;
      if (!kill) continue;
      this.server.security?.closing(o, "acl-channels");
      if (o === current) o.closeAfterReply();
      else o.destroy();
    }
  }

  /**
   * `acl-revoke-sessions yes` (src/security): close u's sessions whose credentials would no
   * longer authenticate (user off, the password they used removed), as ACL DELUSER does.
   */
  private revokeStale(u: User, current: Client | null): void {
    const sec = this.server.security;
    if (!sec?.revokeEnabled) return;
    for (const o of [...this.server.clients.values()]) {
      if (o.user !== u || !o.authenticated || sec.credentialsValid(o, u)) continue;
      sec.closing(o, "acl-revoke");
      o.user = this.defaultUser;
      o.authenticated = false;
      if (o === current) o.closeAfterReply();
      else o.destroy();
    }
  }

  // ---- ACL file -----------------------------------------------------------------------------

  /** The configured aclfile ("" when none) and where it is on disk. */
  aclFile(): { name: string; path: string } {
    const name = this.server.config.str("aclfile");
    if (name === "" || isAbsolute(name)) return { name, path: name };
    const dir = this.server.config.str("dir");
    return { name, path: dir ? join(dir, name) : name };
  }

  /** ACL LOAD: null on success, else the error text (without "ERR "). */
  loadFromFile(current: Client | null): string | null {
    const { name, path } = this.aclFile();
    const r = loadAclFile(path, name, this.allChannelsByDefault);
    if ("error" in r) return r.error;
    const sec = this.server.security;
    const lines = () => new Map([...this.users].map(([n, u]) => [n, `user ${n} ${describeUser(u)}`]));
    const before = sec ? lines() : null;
    this.install(r.users, current);
    if (sec && before) sec.usersLoaded(current, before, lines(), path);
    this.revokeStale(this.defaultUser, current);
    return null;
  }

  /** Replace every user at once; the default user object is updated in place. */
  private install(users: Map<string, User>, current: Client | null): void {
    let fresh = users.get("default");
    if (fresh === undefined) {
      // Redis semantics (ACLCreateDefaultUser), but an operator should know the server is open.
      fresh = this.newDefaultUser();
      this.server.log("warning", "The ACL file defines no 'default' user: it was created as 'on nopass ~* &* +@all', so clients that do not authenticate get full access. Add a 'user default ...' line to restrict it.");
    }
    this.defaultUser.copyFrom(fresh);
    users.set("default", this.defaultUser);
    const old = new Set<User>();
    for (const u of this.users.values()) if (u !== this.defaultUser) old.add(u);
    this.users = users;
    if (old.size > 0) this.killClientsOf(old, current);
  }

  /** ACL SAVE: null on success, else the error reply (the cause goes to the server log). */
  saveToFile(): ErrorReply | null {
    const { path } = this.aclFile();
    const failed = saveAclFile(path, aclFileText(this.users), this.server.pid);
    this.server.security?.usersSaved(path, failed === null);
    if (failed === null) return null;
    this.server.log("warning", failed);
    return new ErrorReply("ERR There was an error trying to save the ACLs. Please check the server logs for more information");
  }

  // ---- configuration ------------------------------------------------------------------------

  /** requirepass: the default user's only password (or nopass when empty). */
  private applyRequirepass(): void {
    const pw = this.server.config.str("requirepass");
    applyTrusted(this.defaultUser, ["resetpass", pw === "" ? "nopass" : ">" + pw], this.allChannelsByDefault);
  }

  configChanged(name: string): void {
    if (name === "requirepass") this.applyRequirepass();
    this.server.security?.configChanged(name);
    if (name === "requirepass") this.revokeStale(this.defaultUser, this.server.security?.current ?? null);
    // acl-pubsub-default is read when users are created or reset; acllog-max-len when the log grows.
  }

  resetStats(): void {
    // The counters live in server.stats, which CONFIG RESETSTAT clears; the ACL LOG stays.
    this.server.security?.resetStats();
  }

  /**
   * Startup: requirepass, then `user` config lines or the aclfile (both is an error, as in
   * Redis). Returns an error message (naming file and line) or null.
   */
  loadAtStartup(): string | null {
    const cfg = this.server.config;
    const lines = cfg.userLines;
    const { name: aclfile } = this.aclFile();
    if (aclfile !== "" && lines.length > 0) {
      return "Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.";
    }
    if (cfg.str("requirepass") !== "") this.applyRequirepass();
    if (lines.length > 0) {
      const e = this.loadConfigUsers(lines);
      if (e !== null) return e;
    }
    if (aclfile !== "") {
      const e = this.loadFromFile(null);
      if (e !== null) return `Aborting Redis startup because of ACL errors: ${e}`;
    }
    for (const u of this.users.values()) {
      if (!u.enabled) {
        this.server.log("notice", `The user '${u.name}' is disabled (there is no 'on' modifier in the user description). Make sure this is not a configuration error.`);
      }
    }
    return null;
  }

  /** `user` directives: validated first (syntax, duplicates), then applied in order. */
  private loadConfigUsers(lines: { file: string; line: number; text: string }[]): string | null {
    const where = (l: { file: string; line: number }) => (l.line > 0 ? `${l.file}:${l.line}` : l.file);
    const parsed: { name: string; ops: string[]; at: string }[] = [];
    const seen = new Set<string>();
    for (const l of lines) {
      const at = where(l);
      const argv = splitArgs(l.text);
      if (argv === null) return `${at}: Unbalanced quotes in configuration line`;
      if (argv.length < 2 || argv[0].toLowerCase() !== "user") return `${at}: Bad directive or wrong number of arguments`;
      const name = argv[1];
      if (seen.has(name)) return `${at}: Error in user declaration '${name}': ${RULE_ERROR_TEXT.EALREADY}`;
      seen.add(name);
      const merged = mergeSelectorArgs(argv.slice(2));
      if ("invalid" in merged) return `${at}: Unmatched parenthesis in acl selector starting at '${argv[2 + merged.invalid]}'.`;
      const fake = new User(name, this.allChannelsByDefault);
      for (const op of merged.args) {
        const e = applyUserRule(fake, op, this.allChannelsByDefault);
        if (e !== null && e !== "ENOENT") return `${at}: Error in user declaration '${op}': ${RULE_ERROR_TEXT[e]}`;
      }
      parsed.push({ name, ops: merged.args, at });
    }
    for (const p of parsed) {
      if (hasSpaces(p.name)) return `${p.at}: Spaces not allowed in ACL usernames`;
      let u = this.users.get(p.name);
      if (u === undefined) {
        u = new User(p.name, this.allChannelsByDefault);
        this.users.set(p.name, u);
      } else {
        applyUserRule(u, "reset", this.allChannelsByDefault);
      }
      for (const op of p.ops) {
        const e = applyUserRule(u, op, this.allChannelsByDefault);
        if (e !== null) return `${p.at}: Error loading ACL rule '${op}' for the user named '${p.name}': ${RULE_ERROR_TEXT[e]}`;
      }
      u.refresh();
    }
    return null;
  }

  /** Every denial counter, for INFO (also on server.stats). */
  counters(): { auth: number; cmd: number; key: number; channel: number } {
    const s = this.server.stats;
    return { auth: s.aclAccessDeniedAuth, cmd: s.aclAccessDeniedCmd, key: s.aclAccessDeniedKey, channel: s.aclAccessDeniedChannel };
  }
}

/**
 * A connection's last allowed command, so the next one that is the same command on the same
 * first argument (a pipeline on one key) is allowed without the check. Kept only where the
 * verdict depends on nothing else: a command without subcommands or channels whose only key,
 * if any, is argument 1 (so argv[1] is both the key and the first argument that first-arg
 * rules look at), and for the key flags getKeys gave (the same shared array). Void when the
 * user's rules change (User.gen) or the connection becomes another user.
 */
export interface AllowedMemo {
  user: User | null;
  gen: number;
  cmd: Command | null;
  arg1: string | undefined;
  keys: readonly KeyRef[] | null;
}

export function emptyAllowedMemo(): AllowedMemo {
  return { user: null, gen: 0, cmd: null, arg1: undefined, keys: null };
}

function rememberAllowed(memo: AllowedMemo, u: User, cmd: Command, argv: string[], keys: readonly KeyRef[]): void {
  memo.user = null;
  if (cmd.parent !== null || cmd.channels.length !== 0) return;
  if (keys.length > 1 || (keys.length === 1 && keys[0].pos !== 1)) return;
  memo.user = u;
  memo.gen = u.gen;
  memo.cmd = cmd;
  memo.arg1 = argv[1];
  memo.keys = keys;
}
