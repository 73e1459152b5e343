/**
 * The HTTP admin API (hono): JSON routes over the ACL command, the same on Node, Deno, Bun and
 * the native binary (transports/ only hand `app.fetch` to their HTTP server).
 *
 * One model with RESP: every authenticated request gets a short-lived virtual Client
 * (server.connect with a Peer whose remoteAddress is the HTTP peer, or 127.0.0.1), which signs
 * in through the ACL engine (`acl.authenticate(.., "AUTH")`) and then runs the route's ACL
 * subcommand through `server.execute`, the RESP dispatch. So:
 * - no or non-Basic credentials: 401 (not counted: nothing was attempted); wrong credentials:
 *   401, counted in acl_access_denied_auth and logged in ACL LOG (reason auth). Every 401 carries
 *   `WWW-Authenticate: Basic realm="aki"`.
 * - the user may not run the mapped command: 403 `{error: "NOPERM ..."}`, logged like RESP.
 * - the engine refuses the command (bad rule, unknown category...): 400 (404 where noted) with
 *   Redis's error text in `error`.
 * The client is removed before the response is sent; it never shows in CLIENT LIST.
 *
 * Before routing: more than `admin-max-inflight` requests in flight is 503 + Retry-After; both
 * Content-Length and Transfer-Encoding is 400 (the runtimes' parsers already refuse it); a Host
 * header outside localhost / 127.0.0.1 / [::1] / `admin-host` names is 421 (DNS rebinding); a
 * browser request whose Origin is another site is 403 (CSRF); a body over 64 KB is 413
 * (Content-Length or counted while streaming, before any handler runs); a body not complete
 * within `admin-request-timeout` of the headers is 408 and the connection closed; a non-empty body whose
 * Content-Type is not JSON is 415 (none is read as JSON).
 * Throttled sign-ins (src/security/throttle.ts) are held for the throttle's delay, then a right
 * password signs in and a wrong one is 429 + Retry-After (see signIn).
 * Every request ends with one audit event of type `http`: user (signed-in or attempted, null
 * without credentials), addr (peer ip:port), method, path (no query), status, ms; never a body
 * or a header. Slow clients are closed by the transport (admin-headers-timeout,
 * admin-request-timeout). Input is validated by
 * schemas.ts (400 `{error, issues}`, never echoing submitted values). Unknown routes: JSON 404;
 * a known path with another method: JSON 405. No CORS headers are ever sent. Binary strings go
 * out as UTF-8 (latin1ToUtf8) and JSON strings come in as UTF-8 bytes (utf8ToLatin1).
 */
import { Buffer } from "node:buffer";
import { Hono, type Context } from "hono";
import type { Server } from "../server.ts";
import { AKI_VERSION } from "../server.ts";
import type { Client, Peer } from "../client.ts";
import { ErrorReply, MapReply, Simple, latin1ToUtf8, toJSON, utf8ToLatin1, type Reply } from "../resp/reply.ts";
import { handlers as aclHandlers } from "../commands/acl.ts";
import { describeUser } from "../acl/rules.ts";
import { WRONGPASS } from "../acl/acl.ts";
import * as S from "./schemas.ts";
import { openApiDocument } from "./openapi.ts";
import { PAGE_CSP, PAGE_HTML } from "./page.ts";
import { securityRoutes } from "./security.ts";

/** Largest accepted request body, in bytes. */
export const MAX_BODY = 64 * 1024;

type Env = { Variables: { body: Uint8Array } };
type Ctx = Context<Env>;

/** Content types accepted for a request body (a body without Content-Type is read as JSON too). */
const JSON_TYPE = /^\s*application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

const JSON_HEADERS: Record<string, string> = {
  "Content-Type": "application/json; charset=utf-8",
};

function json(status: number, body: unknown, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...extra } });
}

/** Headers every response gets (and CORS headers never). */
function harden(res: Response): Response {
  const h = res.headers;
  h.set("X-Content-Type-Options", "nosniff");
  h.set("Cache-Control", "no-store");
  h.set("Referrer-Policy", "no-referrer");
  if (!h.has("Content-Security-Policy")) h.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  h.set("X-Frame-Options", "DENY");
  for (const k of [...h.keys()]) if (k.toLowerCase().startsWith("access-control-")) h.delete(k);
  return res;
}

// ---- Host / Origin ------------------------------------------------------------------------------

/** The hostname part of a Host header value ("[::1]:8080" -> "[::1]", "a.b:1" -> "a.b"), lowercased. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    return end < 0 ? h : h.slice(0, end + 1);
  }
  const colon = h.indexOf(":");
  return colon < 0 ? h : h.slice(0, colon);
}

function allowedHosts(server: Server): Set<string> {
  const set = new Set(["localhost", "127.0.0.1", "[::1]"]);
  for (const n of server.config.str("admin-host").split(/[\s,]+/)) {
    if (n === "") continue;
    const l = n.toLowerCase();
    set.add(l.includes(":") && !l.startsWith("[") ? `[${l}]` : l);
  }
  return set;
}

// ---- body ---------------------------------------------------------------------------------------

/**
 * The request body; null when it is over the limit (Content-Length or streamed); "timeout" when
 * it is not complete by `deadline` (unix ms: a slow body, whatever the runtime's own timers do);
 * "aborted" when the client went away.
 */
async function readBody(req: Request, limit: number, deadline: number): Promise<Uint8Array | null | "timeout" | "aborted"> {
  const len = req.headers.get("content-length");
  if (len !== null && /^\d+$/.test(len.trim()) && Number(len) > limit) return null;
  if (req.body === null) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), Math.max(0, deadline - Date.now()))));
    let step: ReadableStreamReadResult<Uint8Array> | "timeout";
    try {
      step = await Promise.race([reader.read(), late]);
    } catch {
      return "aborted";
    } finally {
      clearTimeout(timer);
    }
    if (step === "timeout") {
      reader.cancel().catch(() => {});
      return "timeout";
    }
    const { done, value } = step;
    if (done) break;
    total += value.length;
    if (total > limit) {
      reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const ch of chunks) {
    out.set(ch, at);
    at += ch.length;
  }
  return out;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The JSON body (undefined when empty) or a 400 response. */
function jsonBody(c: Ctx): { ok: true; value: unknown } | { ok: false; res: Response } {
  const bytes = c.get("body");
  if (bytes === undefined || bytes.length === 0) return { ok: true, value: undefined };
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, res: json(400, { error: "invalid request", issues: [{ path: "body", message: "not valid UTF-8" }] }) };
  }
  if (text.trim() === "") return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    // The parser's message quotes the input: never pass it on.
    return { ok: false, res: json(400, { error: "invalid request", issues: [{ path: "body", message: "not valid JSON" }] }) };
  }
}

// ---- sessions -----------------------------------------------------------------------------------

/** The HTTP peer's address, from whatever the runtime's server passed as the second fetch argument. */
function remoteOf(env: unknown, req: Request): { address: string; port: number } {
  // deno-lint-ignore no-explicit-any
  const e = env as any;
  try {
    if (e && typeof e.requestIP === "function") {
      const a = e.requestIP(req); // Bun.serve's server
      if (a && typeof a.address === "string") return { address: a.address, port: Number(a.port) || 0 };
    }
    if (e && e.remoteAddr && typeof e.remoteAddr.hostname === "string") {
      return { address: e.remoteAddr.hostname, port: Number(e.remoteAddr.port) || 0 }; // Deno.serve's info
    }
    const s = e?.incoming?.socket; // @hono/node-server
    if (s && typeof s.remoteAddress === "string") return { address: s.remoteAddress, port: Number(s.remotePort) || 0 };
  } catch { /* fall back */ }
  return { address: "127.0.0.1", port: 0 };
}

function virtualPeer(remote: { address: string; port: number }, url: URL): { peer: Peer; written: () => string } {
  let out = "";
  const peer: Peer = {
    write: (b) => {
      out += Buffer.from(b).toString("latin1");
    },
    close() {},
    destroy() {},
    pendingBytes: 0,
    remoteAddress: remote.address,
    remotePort: remote.port,
    localAddress: "127.0.0.1",
    localPort: Number(url.port) || 80,
    unix: false,
  };
  return { peer, written: () => out };
}

const UNAUTHORIZED = { "WWW-Authenticate": 'Basic realm="aki", charset="UTF-8"' };

/** Basic credentials as binary strings (the bytes as sent), or null when absent or not Basic. */
function basicCredentials(req: Request): { user: string; pass: string } | null {
  const h = req.headers.get("authorization");
  if (h === null) return null;
  const m = /^\s*basic\s+([A-Za-z0-9+/=_-]*)\s*$/i.exec(h);
  if (m === null) return null;
  const raw = Buffer.from(m[1], "base64").toString("latin1");
  const colon = raw.indexOf(":");
  return colon < 0 ? { user: raw, pass: "" } : { user: raw.slice(0, colon), pass: raw.slice(colon + 1) };
}

/** Who each request acted as (the audit event's `user`): the signed-in or attempted username. */
const actingUser = new WeakMap<Request, string>();

/**
 * Sign the request in as an ACL user: the client, or the response to send (401 / 403 / 429 /
 * 503). Failed-AUTH throttling: when the address or the username is throttled, the request is
 * held for the throttle's delay (a timer: the event loop keeps serving), then the password
 * decides: a right one signs in (no lockout of the real user), a wrong one is 429 with
 * Retry-After. Either way the attempt was slowed down, and a failure counts and is logged.
 */
async function signIn(server: Server, c: Ctx): Promise<Client | Response> {
  const cred = basicCredentials(c.req.raw);
  if (cred === null) return json(401, { error: "authentication required" }, UNAUTHORIZED);
  actingUser.set(c.req.raw, cred.user);
  const connect = (): Client | Response => {
    const { peer, written } = virtualPeer(remoteOf(c.env, c.req.raw), new URL(c.req.url));
    const client = server.connect(peer);
    if (client === null) {
      const text = written().replace(/^-/, "").replace(/\r\n$/, "");
      return json(text.startsWith("ERR max number of clients") ? 503 : 403, { error: latin1ToUtf8(text) });
    }
    client.name = "aki-admin-http";
    return client;
  };
  let client = connect();
  if (client instanceof Response) return client;
  const held = server.security ? server.security.beforeAuth(client, cred.user) : -1;
  if (held > 0) {
    // No client exists while the request waits (it would show in CLIENT LIST).
    client.closed();
    await new Promise((r) => setTimeout(r, held));
    client = connect();
    if (client instanceof Response) return client;
  }
  const denied = server.acl.authenticate(client, cred.user, cred.pass, "AUTH", held >= 0 ? held : undefined);
  if (denied !== null) {
    client.closed();
    if (held >= 0) {
      const retry = String(Math.max(1, Math.ceil(held / 1000)));
      return json(429, { error: "too many failed sign-ins: " + WRONGPASS }, { ...UNAUTHORIZED, "Retry-After": retry });
    }
    return json(401, { error: WRONGPASS }, UNAUTHORIZED);
  }
  return client;
}

/** How a command's error maps to a status (NOPERM is always 403). */
type ErrorStatus = (e: ErrorReply) => number;
const badRequest: ErrorStatus = () => 400;

class CommandFailed {
  constructor(readonly res: Response) {}
}

/** Run argv as the signed-in client; an error reply becomes a thrown CommandFailed. */
function run(server: Server, client: Client, argv: string[], status: ErrorStatus = badRequest): Reply {
  const r = server.execute(client, argv);
  if (r instanceof ErrorReply) {
    const code = r.message.startsWith("NOPERM") ? 403 : status(r);
    throw new CommandFailed(json(code, { error: latin1ToUtf8(r.message) }));
  }
  return r;
}

/** A user as the API shows it: GETUSER's fields after name and the exact ACL LIST line. */
function userObject(server: Server, client: Client, name: string): Record<string, unknown> | null {
  const u = server.acl.users.get(name);
  if (u === undefined) return null;
  const details = aclHandlers["acl|getuser"](client, ["ACL", "GETUSER", name]);
  const fields = details instanceof MapReply ? (toJSON(details) as Record<string, unknown>) : {};
  return { name: latin1ToUtf8(name), rules: latin1ToUtf8(`user ${u.name} ${describeUser(u)}`), ...fields };
}

// ---- the app ------------------------------------------------------------------------------------

interface RouteSpec {
  auth: boolean;
  query?: S.Schema;
  handle: (c: Ctx, client: Client | null) => Response | Promise<Response>;
}

export function createAdminApp(server: Server): Hono<Env> {
  const app = new Hono<Env>();
  const methodsByPath = new Map<string, string[]>();

  // Outermost: hardening headers on everything, JSON 500 on a bug.
  app.use("*", async (c, next) => {
    await next();
    c.res = harden(c.res);
  });
  app.onError((e) => {
    if (e instanceof CommandFailed) return harden(e.res);
    server.log("warning", `admin API: ${(e as Error).stack ?? e}`);
    return harden(json(500, { error: "internal error" }));
  });
  app.notFound(() => json(404, { error: "not found" }));

  // The cap on requests in flight (slow bodies, held sign-ins) and one audit event per request.
  let inflight = 0;
  app.use("*", async (c, next) => {
    const t0 = Date.now();
    if (inflight >= server.config.num("admin-max-inflight")) {
      c.res = json(503, { error: "too many admin requests in flight; retry later" }, { "Retry-After": "1" });
    } else {
      inflight++;
      try {
        await next();
      } finally {
        inflight--;
      }
    }
    const remote = remoteOf(c.env, c.req.raw);
    const user = actingUser.get(c.req.raw);
    const path = new URL(c.req.url).pathname;
    server.security?.audit.emit("http", {
      user: user === undefined ? null : latin1ToUtf8(user),
      addr: remote.address.includes(":") ? `[${remote.address}]:${remote.port}` : `${remote.address}:${remote.port}`,
      method: c.req.method,
      path: path.length > 256 ? path.slice(0, 256) + "..." : path,
      status: c.res.status,
      ms: Date.now() - t0,
    });
  });

  // Request smuggling, DNS rebinding, cross-site requests, body size, time and type.
  app.use("*", async (c, next) => {
    const started = Date.now();
    if (c.req.header("content-length") !== undefined && c.req.header("transfer-encoding") !== undefined) {
      return json(400, { error: "both Content-Length and Transfer-Encoding" }, { Connection: "close" });
    }
    const host = c.req.header("host");
    if (host === undefined || !allowedHosts(server).has(hostName(host))) {
      return json(421, { error: "misdirected request: this Host is not served (see --admin-host)" });
    }
    const origin = c.req.header("origin");
    if (origin !== undefined) {
      let same = false;
      try {
        same = new URL(origin).host.toLowerCase() === host.trim().toLowerCase();
      } catch { /* "null" and garbage are cross-site */ }
      if (!same) return json(403, { error: "cross-origin requests are refused" });
    }
    if (c.req.header("sec-fetch-site") === "cross-site") return json(403, { error: "cross-origin requests are refused" });
    const body = await readBody(c.req.raw, MAX_BODY, started + server.config.num("admin-request-timeout"));
    if (body === null) return json(413, { error: `request body over ${MAX_BODY} bytes` }, { Connection: "close" });
    if (body === "timeout") return json(408, { error: "the request body did not arrive in time" }, { Connection: "close" });
    if (body === "aborted") return json(400, { error: "the request body was cut off" }, { Connection: "close" });
    const type = c.req.header("content-type");
    if (body.length > 0 && type !== undefined && !JSON_TYPE.test(type)) {
      return json(415, { error: "request bodies must be JSON (Content-Type: application/json)" });
    }
    c.set("body", body);
    await next();
  });

  const route = (method: "GET" | "PUT" | "POST" | "DELETE", path: string, spec: RouteSpec) => {
    const list = methodsByPath.get(path) ?? [];
    list.push(method);
    methodsByPath.set(path, list);
    app.on(method, path, async (c) => {
      const q = S.validate(spec.query ?? S.NoQuery, c.req.query(), "query");
      if (!spec.auth) {
        if (!q.ok) return json(400, q.problem);
        return spec.handle(c, null);
      }
      const client = await signIn(server, c);
      if (client instanceof Response) return client;
      try {
        if (!q.ok) return json(400, q.problem);
        return await spec.handle(c, client);
      } catch (e) {
        if (e instanceof CommandFailed) return e.res;
        throw e;
      } finally {
        client.closed();
      }
    });
  };

  /** Validated path params, converted to binary strings. */
  const params = <T extends S.Schema>(c: Ctx, schema: T) => {
    const r = S.validate(schema, c.req.param(), "params");
    if (!r.ok) throw new CommandFailed(json(400, r.problem));
    return r.value;
  };
  const body = <T extends S.Schema>(c: Ctx, schema: T) => {
    const b = jsonBody(c);
    if (!b.ok) throw new CommandFailed(b.res);
    const r = S.validate(schema, b.value, "body");
    if (!r.ok) throw new CommandFailed(json(400, r.problem));
    return r.value;
  };

  // ---- routes without authentication ----

  route("GET", "/v1/health", {
    auth: false,
    handle: () =>
      json(200, {
        status: "ok",
        version: AKI_VERSION,
        runtime: server.runtime,
        uptime: Math.floor((Date.now() - server.startTime) / 1000),
      }),
  });
  route("GET", "/openapi.json", { auth: false, handle: () => json(200, openApiDocument()) });
  route("GET", "/", {
    auth: false,
    handle: () =>
      new Response(PAGE_HTML, {
        status: 200,
        headers: { "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": PAGE_CSP },
      }),
  });

  // ---- security features (security.ts): before the ACL routes, as it extends DRYRUN and ACL LOG ----

  app.route("/", securityRoutes(server, {
    signIn: (c) => signIn(server, c as unknown as Ctx),
    run: (client, argv) => run(server, client, argv),
    jsonBody: (c) => jsonBody(c as Ctx),
  }));

  // ---- ACL routes ----

  route("GET", "/v1/acl/users", {
    auth: true,
    handle: (_c, client) => {
      const lines = run(server, client!, ["ACL", "LIST"]) as string[];
      const users: unknown[] = [];
      for (const line of lines) {
        const name = line.slice(5, line.indexOf(" ", 5) < 0 ? line.length : line.indexOf(" ", 5));
        const u = userObject(server, client!, name);
        if (u !== null) users.push({ ...u, rules: latin1ToUtf8(line) });
      }
      return json(200, users);
    },
  });

  route("GET", "/v1/acl/users/:name", {
    auth: true,
    handle: (c, client) => {
      const name = utf8ToLatin1(params(c, S.UserParams).name);
      const r = run(server, client!, ["ACL", "GETUSER", name]);
      const u = r === null ? null : userObject(server, client!, name);
      if (u === null) return json(404, { error: "no such user" });
      return json(200, u);
    },
  });

  route("PUT", "/v1/acl/users/:name", {
    auth: true,
    handle: (c, client) => {
      const name = utf8ToLatin1(params(c, S.UserParams).name);
      const { rules } = body(c, S.PutUserBody);
      run(server, client!, ["ACL", "SETUSER", name, ...rules.map(utf8ToLatin1)]);
      return json(200, userObject(server, client!, name));
    },
  });

  route("DELETE", "/v1/acl/users/:name", {
    auth: true,
    handle: (c, client) => {
      const name = utf8ToLatin1(params(c, S.UserParams).name);
      const n = run(server, client!, ["ACL", "DELUSER", name]);
      if (n === 0) return json(404, { error: "no such user" });
      return json(200, { deleted: n });
    },
  });

  route("GET", "/v1/acl/log", {
    auth: true,
    query: S.LogQuery,
    handle: (c, client) => {
      const q = S.validate(S.LogQuery, c.req.query(), "query");
      const count = q.ok && q.value.count !== undefined ? q.value.count : 10;
      return json(200, toJSON(run(server, client!, ["ACL", "LOG", String(count)])));
    },
  });

  route("DELETE", "/v1/acl/log", {
    auth: true,
    handle: (_c, client) => {
      run(server, client!, ["ACL", "LOG", "RESET"]);
      return json(200, { ok: true });
    },
  });

  route("POST", "/v1/acl/dryrun", {
    auth: true,
    handle: (c, client) => {
      const b = body(c, S.DryRunBody);
      const r = run(server, client!, ["ACL", "DRYRUN", utf8ToLatin1(b.username), ...b.command.map(utf8ToLatin1)]);
      const allowed = r instanceof Simple && r.value === "OK";
      return json(200, { allowed, message: allowed ? "OK" : toJSON(r) });
    },
  });

  route("GET", "/v1/acl/whoami", {
    auth: true,
    handle: (_c, client) => json(200, { username: toJSON(run(server, client!, ["ACL", "WHOAMI"])) }),
  });

  route("GET", "/v1/acl/categories", {
    auth: true,
    handle: (_c, client) => json(200, toJSON(run(server, client!, ["ACL", "CAT"]))),
  });

  route("GET", "/v1/acl/categories/:name", {
    auth: true,
    handle: (c, client) => {
      const name = utf8ToLatin1(params(c, S.CategoryParams).name);
      const r = run(server, client!, ["ACL", "CAT", name], (e) => (e.message.startsWith("ERR Unknown category") ? 404 : 400));
      return json(200, toJSON(r));
    },
  });

  route("POST", "/v1/acl/genpass", {
    auth: true,
    handle: (c, client) => {
      const b = body(c, S.GenpassBody);
      const argv = ["ACL", "GENPASS"];
      if (b?.bits !== undefined) argv.push(String(b.bits));
      return json(200, { password: toJSON(run(server, client!, argv)) });
    },
  });

  const fileStatus = (e: ErrorReply) => (e.message.includes("error trying to save") ? 500 : 400);
  route("POST", "/v1/acl/save", {
    auth: true,
    handle: (c, client) => {
      body(c, S.EmptyBody);
      run(server, client!, ["ACL", "SAVE"], fileStatus);
      return json(200, { ok: true });
    },
  });

  route("POST", "/v1/acl/load", {
    auth: true,
    handle: (c, client) => {
      body(c, S.EmptyBody);
      run(server, client!, ["ACL", "LOAD"], fileStatus);
      return json(200, { ok: true });
    },
  });

  // A known path with another method: 405 naming the allowed ones.
  for (const [path, methods] of methodsByPath) {
    const allow = [...methods, ...(methods.includes("GET") ? ["HEAD"] : [])].join(", ");
    app.all(path, () => json(405, { error: "method not allowed" }, { Allow: allow }));
  }
  return app;
}
