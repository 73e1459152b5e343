/**
 * The OpenAPI 3.1 document of the admin API (GET /openapi.json): every route, its parameters,
 * bodies and responses, with JSON Schemas (2020-12, as OpenAPI 3.1 uses) that mirror the
 * valibot schemas of schemas.ts. Each authenticated operation names the ACL command it runs in
 * `x-acl-command`; the user needs permission for that command. Pure data, no errors.
 */
import { AKI_VERSION } from "../server.ts";

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (schema: Json): Json => ({ "application/json": { schema } });
const resp = (description: string, schema: Json = ref("Error")): Json => ({ description, content: jsonContent(schema) });

const COMMON_ERRORS: Json = {
  "400": resp("Invalid input (issues list), or the ACL engine refused the command (its error text)", ref("BadRequest")),
  "401": {
    description: "Missing or wrong credentials (wrong ones are logged in ACL LOG, reason auth)",
    headers: { "WWW-Authenticate": { schema: { type: "string", const: 'Basic realm="aki", charset="UTF-8"' } } },
    content: jsonContent(ref("Error")),
  },
  "403": resp("The user may not run the mapped ACL command (NOPERM, logged in ACL LOG), or a cross-origin browser request"),
  "408": resp("The request body did not arrive within admin-request-timeout (the connection is closed)"),
  "413": resp("Request body over 64 KB"),
  "415": resp("A request body whose Content-Type is not JSON (no Content-Type is read as JSON)"),
  "421": resp("Host header not served (DNS rebinding protection; see --admin-host)"),
  "429": {
    description: "Wrong credentials from a throttled address or for a throttled username (failed-AUTH throttling; answered after the delay)",
    headers: { "Retry-After": { schema: { type: "string" } } },
    content: jsonContent(ref("Error")),
  },
  "503": {
    description: "More admin requests in flight than admin-max-inflight",
    headers: { "Retry-After": { schema: { type: "string" } } },
    content: jsonContent(ref("Error")),
  },
};

function query(name: string, description: string): Json {
  return { name, in: "query", required: false, description, schema: { type: "string" } };
}

function op(summary: string, command: string | null, extra: Json = {}, responses: Json = {}): Json {
  const o: Json = { summary, ...extra };
  if (command !== null) {
    o["x-acl-command"] = command;
    o.security = [{ basic: [] }];
    o.responses = { ...responses, ...COMMON_ERRORS };
  } else {
    o.security = [];
    o.responses = { ...responses, "421": COMMON_ERRORS["421"], "503": COMMON_ERRORS["503"] };
  }
  return o;
}

const nameParam = (what: string): Json => ({
  name: "name",
  in: "path",
  required: true,
  description: what,
  schema: { type: "string", minLength: 1, maxLength: 4096 },
});

const body = (schema: Json, required = true): Json => ({ requestBody: { required, content: jsonContent(schema) } });

const SCHEMAS: Json = {
  Error: {
    type: "object",
    required: ["error"],
    properties: { error: { type: "string", description: "Redis's error text for engine errors, else a short sentence" } },
  },
  BadRequest: {
    type: "object",
    required: ["error"],
    properties: {
      error: { type: "string" },
      issues: {
        type: "array",
        description: "Present for invalid input; never contains submitted values",
        items: {
          type: "object",
          required: ["path", "message"],
          properties: { path: { type: "string", examples: ["body.rules[2]"] }, message: { type: "string" } },
        },
      },
    },
  },
  Health: {
    type: "object",
    required: ["status", "version", "runtime", "uptime"],
    properties: {
      status: { type: "string", const: "ok" },
      version: { type: "string" },
      runtime: { type: "string", enum: ["node", "deno", "bun", "unknown"] },
      uptime: { type: "integer", description: "seconds since start" },
    },
  },
  SelectorDetail: {
    type: "object",
    required: ["commands", "keys", "channels"],
    properties: { commands: { type: "string" }, keys: { type: "string" }, channels: { type: "string" } },
  },
  User: {
    type: "object",
    required: ["name", "rules", "flags", "passwords", "commands", "keys", "channels", "selectors"],
    properties: {
      name: { type: "string" },
      rules: { type: "string", description: "The user's exact ACL LIST line: user <name> <rules>" },
      flags: { type: "array", items: { type: "string" }, examples: [["on", "sanitize-payload"]] },
      passwords: {
        type: "array",
        description: "SHA-256 hashes of the passwords (lowercase hex), never cleartext",
        items: { type: "string", pattern: "^[0-9a-f]{64}$" },
      },
      commands: { type: "string", examples: ["+@all"] },
      keys: { type: "string", examples: ["~*"] },
      channels: { type: "string", examples: ["&*"] },
      selectors: { type: "array", items: ref("SelectorDetail") },
    },
  },
  PutUser: {
    type: "object",
    additionalProperties: false,
    required: ["rules"],
    properties: {
      rules: {
        type: "array",
        maxItems: 4096,
        items: { type: "string", maxLength: 16384 },
        description: "ACL SETUSER rules, applied all-or-nothing",
        examples: [["on", ">secret", "~app:*", "+@read"]],
      },
    },
  },
  LogEntry: {
    type: "object",
    required: [
      "count", "reason", "context", "object", "username", "age-seconds", "client-info", "entry-id",
      "timestamp-created", "timestamp-last-updated",
    ],
    properties: {
      count: { type: "integer" },
      reason: { type: "string", enum: ["command", "key", "channel", "auth"] },
      context: { type: "string", enum: ["toplevel", "multi", "lua", "module"] },
      object: { type: "string" },
      username: { type: "string", description: "As sent, decoded as UTF-8 (invalid bytes become U+FFFD)" },
      "age-seconds": { type: "number" },
      "client-info": { type: "string" },
      "entry-id": { type: "integer" },
      "timestamp-created": { type: "integer", description: "unix ms" },
      "timestamp-last-updated": { type: "integer", description: "unix ms" },
    },
  },
  DryRun: {
    type: "object",
    additionalProperties: false,
    required: ["username", "command"],
    properties: {
      username: { type: "string", minLength: 1, maxLength: 4096 },
      command: { type: "array", minItems: 1, maxItems: 4096, items: { type: "string", maxLength: 16384 }, examples: [["GET", "key"]] },
    },
  },
  DryRunExplain: {
    type: "object",
    additionalProperties: false,
    required: ["username", "explain"],
    description: "Either command (one command) or multi (a MULTI block, one command per item)",
    properties: {
      username: { type: "string", minLength: 1, maxLength: 4096 },
      explain: { type: "boolean" },
      command: { type: "array", minItems: 1, items: { type: "string" } },
      multi: { type: "array", minItems: 1, items: { type: "array", minItems: 1, items: { type: "string" } } },
    },
  },
  DryRunExplained: {
    type: "object",
    required: ["allowed", "message", "explanation"],
    properties: {
      allowed: { type: "boolean" },
      message: { type: "string" },
      explanation: { type: "object", additionalProperties: true, description: "decidedBy (root or selector n), rule tokens, keys with R/W access and the allowing pattern, channels" },
    },
  },
  AuditEvent: {
    type: "object",
    required: ["id", "time", "ts", "type"],
    additionalProperties: true,
    properties: {
      id: { type: "integer" },
      time: { type: "string", description: "ISO 8601" },
      ts: { type: "integer", description: "unix ms" },
      type: { type: "string", enum: ["auth", "acl", "config", "disconnect", "denied", "command", "http"] },
    },
  },
  DryRunResult: {
    type: "object",
    required: ["allowed", "message"],
    properties: {
      allowed: { type: "boolean" },
      message: { type: "string", description: "\"OK\", or ACL DRYRUN's denial sentence" },
    },
  },
  Genpass: {
    type: "object",
    additionalProperties: false,
    properties: { bits: { type: "integer", minimum: 1, maximum: 4096, default: 256 } },
  },
  Empty: { type: "object", additionalProperties: false, properties: {} },
  Ok: { type: "object", required: ["ok"], properties: { ok: { type: "boolean", const: true } } },
};

export function openApiDocument(): Json {
  return {
    openapi: "3.1.0",
    info: {
      title: "aki admin API",
      version: AKI_VERSION,
      description:
        "JSON over HTTP for aki's ACL. HTTP Basic authentication with an ACL user; each route runs one ACL subcommand " +
        "through the same dispatch as RESP (see x-acl-command), so permissions, ACL LOG entries and counters are the ones " +
        "RESP clients get.",
    },
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    components: {
      securitySchemes: { basic: { type: "http", scheme: "basic", description: "An ACL user's name and password" } },
      schemas: SCHEMAS,
    },
    paths: {
      "/": {
        get: op("The admin page (HTML, no outside assets)", null, {}, {
          "200": { description: "HTML page", content: { "text/html": { schema: { type: "string" } } } },
        }),
      },
      "/openapi.json": {
        get: op("This document", null, {}, { "200": { description: "OpenAPI 3.1 document", content: jsonContent({ type: "object" }) } }),
      },
      "/v1/health": {
        get: op("Liveness: status, version, runtime, uptime", null, {}, { "200": resp("Health", ref("Health")) }),
      },
      "/v1/acl/users": {
        get: op("Every user, sorted by name (ACL LIST)", "acl|list", {}, {
          "200": resp("Users", { type: "array", items: ref("User") }),
        }),
      },
      "/v1/acl/users/{name}": {
        get: op("One user (ACL GETUSER)", "acl|getuser", { parameters: [nameParam("Username")] }, {
          "200": resp("The user", ref("User")),
          "404": resp("No such user"),
        }),
        put: op("Create or modify a user (ACL SETUSER, atomic)", "acl|setuser", { parameters: [nameParam("Username")], ...body(ref("PutUser")) }, {
          "200": resp("The user after the change", ref("User")),
        }),
        delete: op("Delete a user (ACL DELUSER)", "acl|deluser", { parameters: [nameParam("Username")] }, {
          "200": resp("Deleted", { type: "object", required: ["deleted"], properties: { deleted: { type: "integer", const: 1 } } }),
          "404": resp("No such user"),
        }),
      },
      "/v1/acl/log": {
        get: op("ACL LOG entries, newest first", "acl|log", {
          parameters: [{
            name: "count",
            in: "query",
            required: false,
            description: "How many entries (default 10; with a filter, every match unless given)",
            schema: { type: "string", pattern: "^[0-9]{1,9}$" },
          },
          query("user", "Only entries of this username"),
          query("reason", "Only this reason: command, key, channel or auth"),
          query("context", "Only this context: toplevel, multi, lua or module"),
          query("since", "Only entries last seen at or after this time (unix ms or ISO 8601)"),
          query("until", "Only entries last seen at or before this time (unix ms or ISO 8601)")],
        }, { "200": resp("Entries (kept across restarts in <dbfile>.acllog)", { type: "array", items: ref("LogEntry") }) }),
        delete: op("Clear the ACL LOG (ACL LOG RESET)", "acl|log", {}, { "200": resp("Cleared", ref("Ok")) }),
      },
      "/v1/acl/dryrun": {
        post: op("Could a user run a command, or a MULTI block? (ACL DRYRUN; with explain: true, why)", "acl|dryrun", body({ oneOf: [ref("DryRun"), ref("DryRunExplain")] }), {
          "200": resp("The verdict; with explain, which part decided, the rule tokens, every key and channel with the pattern that allowed it", { oneOf: [ref("DryRunResult"), ref("DryRunExplained")] }),
        }),
      },
      "/v1/audit": {
        get: op("Recent audit events, oldest first (the newest audit-max-len are kept)", "acl|log", {
          parameters: [
            query("since", "Events at or after this time (unix ms or ISO 8601)"),
            query("after", "Events after this event id"),
            query("type", "auth, acl, config, disconnect, denied, command or http"),
            query("user", "Acting or authenticating user, or the target of an ACL change"),
            query("limit", "At most this many events"),
          ],
        }, { "200": resp("Events", { type: "array", items: ref("AuditEvent") }) }),
      },
      "/v1/audit/stream": {
        get: op("Audit events live, as Server-Sent Events (id: the event id; data: the event as JSON)", "acl|log", {
          parameters: [query("type", "Only this event type"), query("user", "Only events of this user"), query("after", "Replay from memory what followed this event id (or send Last-Event-ID)")],
        }, { "200": { description: "text/event-stream; a comment line every 5 s keeps it open; it ends when the user loses ACL LOG", content: { "text/event-stream": { schema: { type: "string" } } } } }),
      },
      "/v1/auth/throttle": {
        get: op("Failed-AUTH throttling: the settings and every address and username with failures in the window", "acl|log", {}, {
          "200": resp("Throttle state", { type: "object", additionalProperties: true }),
        }),
      },
      "/v1/acl/whoami": {
        get: op("The authenticated user (ACL WHOAMI)", "acl|whoami", {}, {
          "200": resp("Username", { type: "object", required: ["username"], properties: { username: { type: "string" } } }),
        }),
      },
      "/v1/acl/categories": {
        get: op("Command categories (ACL CAT)", "acl|cat", {}, { "200": resp("Categories", { type: "array", items: { type: "string" } }) }),
      },
      "/v1/acl/categories/{name}": {
        get: op("Commands in a category (ACL CAT name)", "acl|cat", { parameters: [nameParam("Category")] }, {
          "200": resp("Command names (subcommands as parent|sub)", { type: "array", items: { type: "string" } }),
          "404": resp("Unknown category (Redis's error text)"),
        }),
      },
      "/v1/acl/genpass": {
        post: op("A random password (ACL GENPASS)", "acl|genpass", body(ref("Genpass"), false), {
          "200": resp("Password", { type: "object", required: ["password"], properties: { password: { type: "string", pattern: "^[0-9a-f]+$" } } }),
        }),
      },
      "/v1/acl/save": {
        post: op("Write users to the aclfile (ACL SAVE)", "acl|save", body(ref("Empty"), false), {
          "200": resp("Saved", ref("Ok")),
          "500": resp("The file could not be written"),
        }),
      },
      "/v1/acl/load": {
        post: op("Reload users from the aclfile (ACL LOAD)", "acl|load", body(ref("Empty"), false), {
          "200": resp("Loaded", ref("Ok")),
        }),
      },
    },
  };
}
