/**
 * The admin API routes of aki's security features (src/security/), as a hono sub-app that
 * src/admin/app.ts mounts with `app.route("/", securityRoutes(server, helpers))` BEFORE its own
 * ACL routes, reusing its sign-in (HTTP Basic through the ACL engine) and its "run the mapped
 * command through dispatch" permission model:
 *
 * - `GET /v1/audit?since=&after=&type=&user=&limit=`: recent audit events, oldest first.
 *   `since` is unix ms or an ISO 8601 time, `after` an event id, `type` one of auth, acl,
 *   config, disconnect, denied, command, http (one per admin API request); `user` matches the acting / authenticating user or the
 *   target of an ACL change. Needs the permission of `ACL LOG` (it runs `ACL LOG 0`).
 * - `GET /v1/audit/stream?type=&user=`: the same events live as Server-Sent Events (`id:` the
 *   event id, `data:` the event as JSON; a `Last-Event-ID` header or `after=` replays what was
 *   missed from memory; a comment line every 5 s keeps the connection open). Same permission,
 *   re-checked before every event: the stream ends when the user is removed, disabled, or loses
 *   ACL LOG.
 * - `GET /v1/auth/throttle`: the throttling settings and every address and username with
 *   failures in the window (`throttled` when at the limit). Permission of `ACL LOG`.
 * - `POST /v1/acl/dryrun` with `"explain": true` (any body carrying `explain` is handled here,
 *   others fall through to app.ts): `{username, explain, command: [..]}` or
 *   `{username, explain, multi: [[..], ..]}`. Runs `ACL DRYRUN` (so its permission and its
 *   errors: 400 with Redis's text) and answers `{allowed, message, explanation}` (explain.ts).
 * - `GET /v1/acl/log?user=&reason=&context=&since=&until=&count=`: the ACL LOG filtered (any of
 *   those parameters besides count makes this route answer; plain `?count=` falls through to
 *   app.ts). Same entry objects as ACL LOG; every match unless `count` is given.
 * Validation failures are 400 `{error: "invalid request", issues: [{path, message}]}` that
 * never echo the submitted value. Binary strings go out as UTF-8.
 */
import { Hono, type Context } from "hono";
import type { Server } from "../server.ts";
import type { Client } from "../client.ts";
import { latin1ToUtf8, toJSON, utf8ToLatin1, type Reply } from "../resp/reply.ts";
import { COMMANDS } from "../commands/table.ts";
import { ACL_OK } from "../acl/check.ts";
import type { User } from "../acl/user.ts";
import { explainCommand, explainMulti, resolveCommand } from "../security/explain.ts";
import { matches, type AuditEvent, type AuditQuery } from "../security/audit.ts";

export interface SecurityHelpers {
  /** Sign the request in: the virtual client, or the response to send (401 / 403 / 429 / 503). */
  signIn(c: Context): Promise<Client | Response>;
  /** Run argv through dispatch as the client; an error reply is thrown as an object with `res` (403 NOPERM, else 400). */
  run(client: Client, argv: string[]): Reply;
  /** The JSON body (undefined when empty) or a 400 response. */
  jsonBody(c: Context): { ok: true; value: unknown } | { ok: false; res: Response };
}

const AUDIT_TYPES = ["auth", "acl", "config", "disconnect", "denied", "command", "http"];
const REASONS = ["command", "key", "channel", "auth"];
const CONTEXTS = ["toplevel", "multi", "lua", "module"];
const KEEPALIVE_MS = 5000;

function json(status: number, body: unknown, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json; charset=utf-8", ...extra } });
}

class Invalid {
  constructor(readonly res: Response) {}
}

function invalid(path: string, message: string): Invalid {
  return new Invalid(json(400, { error: "invalid request", issues: [{ path, message }] }));
}

/** Every string in a JSON-ready value decoded from a binary string to UTF-8. */
function utf8Deep(v: unknown): unknown {
  if (typeof v === "string") return latin1ToUtf8(v);
  if (Array.isArray(v)) return v.map(utf8Deep);
  if (v !== null && typeof v === "object") {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = utf8Deep(x);
    return o;
  }
  return v;
}

/** Query parameters: only `allowed` names, each at most once. */
function query(c: Context, allowed: string[]): Record<string, string> {
  const url = new URL(c.req.url);
  const out: Record<string, string> = {};
  for (const [k, v] of url.searchParams) {
    if (!allowed.includes(k)) throw invalid("query", "unknown parameter");
    if (k in out) throw invalid(`query.${k}`, "given more than once");
    out[k] = v;
  }
  return out;
}

function timeParam(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  if (/^[0-9]{1,15}$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (!/^[0-9]{4}-/.test(v) || Number.isNaN(t)) throw invalid(`query.${name}`, "must be unix milliseconds or an ISO 8601 time");
  return t;
}

function intParam(name: string, v: string | undefined, max: number): number | undefined {
  if (v === undefined || v === "") return undefined;
  if (!/^[0-9]{1,9}$/.test(v) || Number(v) > max) throw invalid(`query.${name}`, `must be an integer from 0 to ${max}`);
  return Number(v);
}

function enumParam(name: string, v: string | undefined, values: string[]): string | undefined {
  if (v === undefined || v === "") return undefined;
  if (!values.includes(v)) throw invalid(`query.${name}`, `must be one of: ${values.join(", ")}`);
  return v;
}

function auditQuery(q: Record<string, string>, lastEventId: string | null): AuditQuery {
  const after = intParam("after", q.after ?? (lastEventId !== null && /^[0-9]{1,15}$/.test(lastEventId.trim()) ? lastEventId.trim() : undefined), Number.MAX_SAFE_INTEGER);
  return {
    since: timeParam("since", q.since),
    after,
    type: enumParam("type", q.type, AUDIT_TYPES),
    user: q.user === undefined || q.user === "" ? undefined : q.user,
    limit: intParam("limit", q.limit, 1000000),
  };
}

const sse = (e: AuditEvent) => `id: ${e.id}\ndata: ${JSON.stringify(e)}\n\n`;

export function securityRoutes(server: Server, helpers: SecurityHelpers): Hono {
  const app = new Hono();
  const sec = server.security;

  /** Sign in, then run `handle`; errors of run() / validation become their responses. */
  const authed = async (c: Context, handle: (client: Client) => Response | Promise<Response>): Promise<Response> => {
    const client = await helpers.signIn(c);
    if (client instanceof Response) return client;
    try {
      return await handle(client);
    } catch (e) {
      if (e instanceof Invalid) return e.res;
      const res = (e as { res?: unknown } | null)?.res;
      if (res instanceof Response) return res;
      throw e;
    } finally {
      client.closed();
    }
  };
  /** The permission check of the read routes: the user must be allowed ACL LOG. */
  const mayReadLog = (client: Client) => helpers.run(client, ["ACL", "LOG", "0"]);

  app.get("/v1/audit", (c) =>
    authed(c, (client) => {
      const q = auditQuery(query(c, ["since", "after", "type", "user", "limit"]), null);
      mayReadLog(client);
      return json(200, sec.audit.query(q));
    }));

  app.get("/v1/audit/stream", (c) =>
    authed(c, (client) => {
      const q = auditQuery(query(c, ["type", "user", "after"]), c.req.header("last-event-id") ?? null);
      mayReadLog(client);
      const user: User = client.user;
      const aclLog = COMMANDS.get("acl")!.subcommands!.get("log")!;
      const stillAllowed = () =>
        server.acl.users.get(user.name) === user && user.enabled && server.acl.check(user, aclLog, ["ACL", "LOG", "0"]).code === ACL_OK;
      const filter: AuditQuery = { type: q.type, user: q.user };
      const enc = new TextEncoder();
      let stop = () => {};
      const stream = new ReadableStream<Uint8Array>({
        start(ctrl) {
          const send = (text: string): boolean => {
            try {
              ctrl.enqueue(enc.encode(text));
              return true;
            } catch {
              stop();
              return false;
            }
          };
          let text = ": aki audit stream\n\n";
          if (q.after !== undefined) for (const e of sec.audit.query({ ...filter, after: q.after })) text += sse(e);
          send(text);
          const unsubscribe = sec.audit.subscribe((e) => {
            if (!stillAllowed()) {
              stop();
              try {
                ctrl.close();
              } catch { /* already closed */ }
              return;
            }
            if (matches(e, filter)) send(sse(e));
          });
          const timer = setInterval(() => send(": keepalive\n\n"), KEEPALIVE_MS);
          (timer as { unref?: () => void }).unref?.();
          stop = () => {
            unsubscribe();
            clearInterval(timer);
          };
        },
        cancel() {
          stop();
        },
      });
      return new Response(stream, {
        status: 200,
        headers: { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store", "X-Accel-Buffering": "no" },
      });
    }));

  app.get("/v1/auth/throttle", (c) =>
    authed(c, (client) => {
      query(c, []);
      mayReadLog(client);
      const cfg = server.config;
      const l = sec.throttle.list();
      const entry = (key: string) => (e: (typeof l.addresses)[number]) => ({
        [key]: latin1ToUtf8(e.name),
        failures: e.failures,
        throttled: e.throttled,
        nextDelayMs: e.nextDelayMs,
        lastFailure: new Date(e.lastFailure).toISOString(),
        until: e.throttled ? new Date(e.until).toISOString() : null,
      });
      return json(200, {
        enabled: cfg.num("auth-max-failures") > 0,
        maxFailures: cfg.num("auth-max-failures"),
        windowSeconds: cfg.num("auth-failure-window"),
        maxDelayMs: cfg.num("auth-max-delay"),
        throttleLoopback: cfg.bool("auth-throttle-loopback"),
        throttledAttempts: sec.throttle.throttledAttempts,
        addresses: l.addresses.map(entry("address")),
        users: l.users.map(entry("user")),
      });
    }));

  app.post("/v1/acl/dryrun", async (c, next) => {
    const b = helpers.jsonBody(c);
    if (b.ok && (b.value === null || typeof b.value !== "object" || !("explain" in (b.value as object)))) {
      await next(); // a plain DRYRUN: app.ts answers it
      return;
    }
    if (!b.ok) return b.res;
    return authed(c, (client) => {
      const body = b.value as Record<string, unknown>;
      for (const k of Object.keys(body)) if (!["username", "explain", "command", "multi"].includes(k)) throw invalid("body", "unknown property");
      if (typeof body.username !== "string" || body.username === "") throw invalid("body.username", "must be a non-empty string");
      if (typeof body.explain !== "boolean") throw invalid("body.explain", "must be a boolean");
      const argvOf = (v: unknown, path: string): string[] => {
        if (!Array.isArray(v) || v.length === 0 || v.length > 4096) throw invalid(path, "must be an array of 1 to 4096 strings");
        return v.map((x, i) => {
          if (typeof x !== "string" || x.length > 16384) throw invalid(`${path}[${i}]`, "must be a string of at most 16384 characters");
          return utf8ToLatin1(x);
        });
      };
      if ((body.command === undefined) === (body.multi === undefined)) throw invalid("body", "give exactly one of command and multi");
      const username = utf8ToLatin1(body.username);
      const commands: string[][] = [];
      if (body.command !== undefined) commands.push(argvOf(body.command, "body.command"));
      else {
        if (!Array.isArray(body.multi) || body.multi.length > 1024) throw invalid("body.multi", "must be an array of at most 1024 commands");
        body.multi.forEach((m, i) => commands.push(argvOf(m, `body.multi[${i}]`)));
      }
      // Permission and Redis's errors (unknown user, command, arity) come from ACL DRYRUN itself.
      const verdicts = (commands.length > 0 ? commands : [["MULTI"]]).map((argv) => helpers.run(client, ["ACL", "DRYRUN", username, ...argv]));
      const u = server.acl.users.get(username);
      if (u === undefined) return json(400, { error: latin1ToUtf8(`ERR User '${username}' not found`) });
      if (body.multi === undefined) {
        const cmd = resolveCommand(commands[0]);
        if (typeof cmd === "string") return json(400, { error: latin1ToUtf8(cmd) });
        const r = verdicts[0];
        const allowed = toJSON(r) === "OK";
        const out: Record<string, unknown> = { allowed, message: toJSON(r) };
        if (body.explain) out.explanation = utf8Deep(explainCommand(u, cmd, commands[0]));
        return json(200, out);
      }
      const m = explainMulti(u, commands);
      if (typeof m === "string") return json(400, { error: latin1ToUtf8(m) });
      const out: Record<string, unknown> = {
        allowed: m.allowed,
        message: m.allowed ? "OK" : latin1ToUtf8(m.steps.find((s) => !s.allowed)!.error ?? m.steps.find((s) => !s.allowed)!.message),
      };
      if (body.explain) out.explanation = utf8Deep(m);
      return json(200, out);
    });
  });

  app.get("/v1/acl/log", async (c, next) => {
    const params = [...new URL(c.req.url).searchParams.keys()];
    if (params.every((k) => k === "count")) {
      await next(); // plain ACL LOG [count]: app.ts answers it
      return;
    }
    return authed(c, (client) => {
      const q = query(c, ["user", "reason", "context", "since", "until", "count"]);
      const reason = enumParam("reason", q.reason, REASONS);
      const context = enumParam("context", q.context, CONTEXTS);
      const since = timeParam("since", q.since);
      const until = timeParam("until", q.until);
      const count = intParam("count", q.count, 1000000000);
      mayReadLog(client);
      const log = server.acl.log;
      const all = toJSON(log.reply(log.entries.length)) as Record<string, unknown>[];
      let out = all.filter((e) => {
        if (q.user !== undefined && q.user !== "" && e.username !== q.user) return false;
        if (reason !== undefined && e.reason !== reason) return false;
        if (context !== undefined && e.context !== context) return false;
        const t = e["timestamp-last-updated"] as number;
        if (since !== undefined && t < since) return false;
        if (until !== undefined && t > until) return false;
        return true;
      });
      if (count !== undefined) out = out.slice(0, count);
      return json(200, out);
    });
  });

  // Another method on this module's own paths: 405.
  for (const path of ["/v1/audit", "/v1/audit/stream", "/v1/auth/throttle"]) {
    app.all(path, () => json(405, { error: "method not allowed" }, { Allow: "GET, HEAD" }));
  }
  return app;
}
