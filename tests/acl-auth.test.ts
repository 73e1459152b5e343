/**
 * Authentication and live enforcement through real sockets: AUTH (one and two arguments),
 * HELLO AUTH, NOAUTH and its place in the check order, the unauthenticated protocol limits,
 * requirepass (flag and CONFIG SET), a disabled default user, protected mode, the ACL LOG
 * (fields, grouping, limits, RESP2/RESP3) and INFO counters, rule changes reaching live
 * sessions, DELUSER and channel-shrink disconnections, MULTI/EXEC denials and the EXEC
 * re-check, and ioredis / node-redis connecting as an ACL user.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { networkInterfaces } from "node:os";
import Redis from "ioredis";
import { createClient } from "redis";
import { startServer, RawClient, bulk, bulks, arr, int, err, OK, NIL, type AkiServer } from "./harness.ts";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const WRONGPASS = err("WRONGPASS invalid username-password pair or user is disabled.");
const NOAUTH = err("NOAUTH Authentication required.");
const HELLO_NOAUTH = err(
  "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
);

type V = string | number | null | V[] | { map: V[] } | { set: V[] } | { double: string } | { error: string } | { simple: string };

/** Parse one RESP2/RESP3 reply (raw text) into plain values. */
function parse(raw: string): V {
  let i = 0;
  const line = () => {
    const e = raw.indexOf("\r\n", i);
    const s = raw.slice(i, e);
    i = e + 2;
    return s;
  };
  const one = (): V => {
    const t = raw[i++];
    const l = line();
    switch (t) {
      case "+": return { simple: l };
      case "-": return { error: l };
      case ":": return Number(l);
      case ",": return { double: l };
      case "_": return null;
      case "$": {
        const n = Number(l);
        if (n < 0) return null;
        const s = raw.slice(i, i + n);
        i += n + 2;
        return s;
      }
      case "*": case "~": case "%": {
        const n = Number(l) * (t === "%" ? 2 : 1);
        if (n < 0) return null;
        const a: V[] = [];
        for (let k = 0; k < n; k++) a.push(one());
        return t === "%" ? { map: a } : t === "~" ? { set: a } : a;
      }
      default: throw new Error("bad reply " + JSON.stringify(raw));
    }
  };
  return one();
}

/** ACL LOG (RESP2) as records. */
async function aclLog(c: RawClient, ...args: string[]): Promise<Record<string, V>[]> {
  const r = parse(await c.call("ACL", "LOG", ...args)) as V[][];
  return r.map((flat) => {
    const o: Record<string, V> = {};
    for (let k = 0; k < flat.length; k += 2) o[flat[k] as string] = flat[k + 1];
    return o;
  });
}

async function info(c: RawClient, field: string): Promise<number> {
  const r = parse(await c.call("INFO", "stats")) as string;
  const m = new RegExp(`^${field}:(\\d+)`, "m").exec(r);
  assert.ok(m, field);
  return Number(m![1]);
}

async function authed(port: number, user: string, pass: string): Promise<RawClient> {
  const x = await RawClient.connect(port);
  assert.equal(await x.call("AUTH", user, pass), OK);
  return x;
}

describe("AUTH and HELLO", () => {
  let srv: AkiServer;
  let c: RawClient;
  before(async () => {
    srv = await startServer();
    c = await RawClient.connect(srv.port);
    assert.equal(await c.call("ACL", "SETUSER", "alice", "on", ">alicepw", "~app:*", "+get", "+set", "+client", "+acl|whoami"), OK);
  });
  after(async () => {
    c.close();
    await srv.stop();
  });

  test("AUTH forms and errors", async () => {
    assert.equal(
      await c.call("AUTH", "x"),
      err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"),
    );
    assert.equal(await c.call("AUTH", "a", "b", "c"), err("ERR syntax error"));
    assert.equal(await c.call("AUTH"), err("ERR wrong number of arguments for 'auth' command"));
    const a = await RawClient.connect(srv.port);
    assert.equal(await a.call("AUTH", "alice", "wrong"), WRONGPASS);
    assert.equal(await a.call("AUTH", "nosuch", "alicepw"), WRONGPASS);
    assert.equal(await a.call("ACL", "WHOAMI"), bulk("default"));
    assert.equal(await a.call("AUTH", "alice", "alicepw"), OK);
    assert.equal(await a.call("ACL", "WHOAMI"), bulk("alice"));
    assert.match(await a.call("CLIENT", "INFO"), / user=alice /);
    assert.equal(await a.call("ACL", "LIST"), err("NOPERM User alice has no permissions to run the 'acl|list' command"));
    assert.equal(await a.call("GET", "other"), err("NOPERM No permissions to access a key"));
    assert.equal(await a.call("DEL", "app:1"), err("NOPERM User alice has no permissions to run the 'del' command"));
    // A failed AUTH keeps the current user.
    assert.equal(await a.call("AUTH", "alice", "bad"), WRONGPASS);
    assert.equal(await a.call("ACL", "WHOAMI"), bulk("alice"));
    // AUTH default <anything> works while default is nopass; RESET logs out.
    assert.equal(await a.call("AUTH", "default", "whatever"), OK);
    assert.equal(await a.call("ACL", "WHOAMI"), bulk("default"));
    assert.equal(await a.call("AUTH", "alice", "alicepw"), OK);
    assert.equal(await a.call("RESET"), "+RESET\r\n");
    assert.equal(await a.call("ACL", "WHOAMI"), bulk("default"));
    a.close();
  });

  test("disabled users and nopass users", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "np", "on", "nopass", "+acl|whoami"), OK);
    const a = await RawClient.connect(srv.port);
    assert.equal(await a.call("AUTH", "np", "anything at all"), OK);
    assert.equal(await a.call("ACL", "WHOAMI"), bulk("np"));
    assert.equal(await c.call("ACL", "SETUSER", "np", "off"), OK);
    // `off` keeps existing sessions working but refuses new logins.
    assert.equal(await a.call("ACL", "WHOAMI"), bulk("np"));
    const b = await RawClient.connect(srv.port);
    assert.equal(await b.call("AUTH", "np", "x"), WRONGPASS);
    assert.equal(await c.call("ACL", "SETUSER", "np", "on"), OK);
    assert.equal(await b.call("AUTH", "np", "x"), OK);
    a.close();
    b.close();
  });

  test("HELLO AUTH and SETNAME", async () => {
    const a = await RawClient.connect(srv.port);
    assert.equal(await a.call("HELLO", "3", "AUTH", "alice", "nope", "SETNAME", "n1"), WRONGPASS);
    assert.equal(await a.call("CLIENT", "GETNAME"), NIL);
    const r = await a.call("HELLO", "3", "AUTH", "alice", "alicepw", "SETNAME", "n2");
    assert.match(r, /^%7\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n/);
    assert.equal(await a.call("ACL", "WHOAMI"), bulk("alice"));
    assert.equal(await a.call("CLIENT", "GETNAME"), bulk("n2"));
    // The last AUTH of a chain wins.
    assert.equal(await c.call("ACL", "SETUSER", "u2", "on", ">p2", "+acl|whoami"), OK);
    assert.match(await a.call("HELLO", "2", "AUTH", "alice", "bad", "AUTH", "u2", "p2"), /^\*14\r\n/);
    assert.equal(await a.call("ACL", "WHOAMI"), bulk("u2"));
    assert.equal(await a.call("HELLO", "2", "AUTH", "u2", "p2", "AUTH", "alice", "bad"), WRONGPASS);
    assert.equal(await a.call("ACL", "WHOAMI"), bulk("u2"));
    a.close();
  });

  test("a disabled default user: new connections must authenticate", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "default", "off"), OK);
    try {
      const a = await RawClient.connect(srv.port);
      assert.equal(await a.call("PING"), NOAUTH);
      assert.equal(await a.call("HELLO", "3"), HELLO_NOAUTH);
      assert.equal(await a.call("AUTH", "default", "x"), WRONGPASS);
      assert.equal(await a.call("AUTH", "alice", "alicepw"), OK);
      assert.equal(await a.call("ACL", "WHOAMI"), bulk("alice"));
      a.close();
      // The admin connection, authenticated before, keeps working.
      assert.equal(await c.call("PING"), "+PONG\r\n");
    } finally {
      assert.equal(await c.call("ACL", "SETUSER", "default", "on"), OK);
    }
  });

  test("the default user without commands: HELLO still authenticates other users", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "secure", ">supass", "on", "+@all"), OK);
    const a = await RawClient.connect(srv.port);
    assert.equal(await c.call("ACL", "SETUSER", "default", "-@all"), OK);
    try {
      assert.equal(await a.call("PING"), err("NOPERM User default has no permissions to run the 'ping' command"));
      assert.match(await a.call("HELLO", "2", "AUTH", "secure", "supass"), /^\*14\r\n/);
      assert.equal(await a.call("PING"), "+PONG\r\n");
    } finally {
      assert.equal(await a.call("ACL", "SETUSER", "default", "+@all"), OK);
    }
    a.close();
  });
});

describe("requirepass", () => {
  let srv: AkiServer;
  let adm: RawClient;
  before(async () => {
    srv = await startServer(["--requirepass", "s3cret"]);
    adm = await RawClient.connect(srv.port);
    assert.equal(await adm.call("AUTH", "s3cret"), OK);
  });
  after(async () => {
    adm.close();
    await srv.stop();
  });

  test("NOAUTH comes after unknown-command and arity errors", async () => {
    const a = await RawClient.connect(srv.port);
    assert.equal(await a.call("PING"), NOAUTH);
    assert.equal(await a.call("NOSUCH", "x"), err("ERR unknown command 'NOSUCH', with args beginning with: 'x' "));
    assert.equal(await a.call("GET"), err("ERR wrong number of arguments for 'get' command"));
    assert.equal(await a.call("CONFIG", "NOSUCH"), err("ERR unknown subcommand 'NOSUCH'. Try CONFIG HELP."));
    assert.equal(await a.call("GET", "k"), NOAUTH);
    assert.equal(await a.call("ACL", "WHOAMI"), NOAUTH);
    assert.equal(await a.call("HELLO", "3"), HELLO_NOAUTH);
    assert.equal(await a.call("HELLO", "3", "AUTH", "default", "wrong"), WRONGPASS);
    assert.equal(await a.call("AUTH", "wrong"), WRONGPASS);
    assert.equal(await a.call("AUTH", "s3cret"), OK);
    assert.equal(await a.call("PING"), "+PONG\r\n");
    a.close();
    const b = await RawClient.connect(srv.port);
    assert.match(await b.call("HELLO", "3", "AUTH", "default", "s3cret"), /^%7\r\n/);
    assert.equal(await b.call("PING"), "+PONG\r\n");
    b.close();
  });

  test("unauthenticated protocol limits", async () => {
    const a = await RawClient.connect(srv.port);
    a.write("*11\r\n");
    assert.equal(await a.read(), err("ERR Protocol error: unauthenticated multibulk length"));
    assert.equal(await a.waitClosed(), true);
    const b = await RawClient.connect(srv.port);
    b.write("*1\r\n$20000\r\n");
    assert.equal(await b.read(), err("ERR Protocol error: unauthenticated bulk length"));
    assert.equal(await b.waitClosed(), true);
    // Ten arguments and a 16384-byte bulk are fine before AUTH; once authenticated, anything.
    const d = await RawClient.connect(srv.port);
    assert.equal(await d.call("GET", "1", "2", "3", "4", "5", "6", "7", "8", "9"), err("ERR wrong number of arguments for 'get' command"));
    assert.equal(await d.call("AUTH", "x".repeat(16384)), WRONGPASS);
    assert.equal(await d.call("AUTH", "s3cret"), OK);
    assert.equal(await d.call("ECHO", "y".repeat(20000)), bulk("y".repeat(20000)));
    assert.equal(await d.call("ACL", "DRYRUN", "default", "mget", "a", "b", "c", "d", "e", "f", "g", "h"), OK);
    d.close();
  });

  test("the default user carries the password; CONFIG SET requirepass changes it", async () => {
    assert.equal(await adm.call("ACL", "LIST"), bulks(`user default on sanitize-payload #${sha("s3cret")} ~* &* +@all`));
    assert.equal(await adm.call("CONFIG", "GET", "requirepass"), bulks("requirepass", "s3cret"));
    assert.equal(await adm.call("CONFIG", "SET", "requirepass", "n3w"), OK);
    assert.equal(await adm.call("ACL", "LIST"), bulks(`user default on sanitize-payload #${sha("n3w")} ~* &* +@all`));
    // Already authenticated connections stay authenticated.
    assert.equal(await adm.call("PING"), "+PONG\r\n");
    const a = await RawClient.connect(srv.port);
    assert.equal(await a.call("PING"), NOAUTH);
    assert.equal(await a.call("AUTH", "s3cret"), WRONGPASS);
    assert.equal(await a.call("AUTH", "n3w"), OK);
    a.close();
    assert.equal(await adm.call("CONFIG", "SET", "requirepass", ""), OK);
    assert.equal(await adm.call("ACL", "LIST"), bulks("user default on nopass sanitize-payload ~* &* +@all"));
    const b = await RawClient.connect(srv.port);
    assert.equal(await b.call("PING"), "+PONG\r\n");
    b.close();
    assert.equal(await adm.call("CONFIG", "SET", "requirepass", "s3cret"), OK);
    const d = await RawClient.connect(srv.port);
    assert.equal(await d.call("PING"), NOAUTH);
    d.close();
  });

  test("ACL SETUSER default >pw works like requirepass", async () => {
    assert.equal(await adm.call("ACL", "SETUSER", "default", ">other"), OK);
    const a = await RawClient.connect(srv.port);
    assert.equal(await a.call("AUTH", "other"), OK);
    assert.equal(await a.call("AUTH", "s3cret"), OK);
    a.close();
    assert.equal(await adm.call("ACL", "SETUSER", "default", "<other"), OK);
  });
});

describe("ACL LOG and INFO counters", () => {
  let srv: AkiServer;
  let c: RawClient;
  let alice: RawClient;
  before(async () => {
    srv = await startServer();
    c = await RawClient.connect(srv.port);
    assert.equal(await c.call("ACL", "SETUSER", "alice", "on", ">pw", "~app:*", "+get", "+set", "+multi", "+exec", "+publish", "&news"), OK);
    alice = await authed(srv.port, "alice", "pw");
  });
  after(async () => {
    c.close();
    alice.close();
    await srv.stop();
  });

  test("failed AUTH and HELLO are logged with the verb as typed", async () => {
    assert.equal(await c.call("ACL", "LOG", "RESET"), OK);
    const auth0 = await info(c, "acl_access_denied_auth");
    const a = await RawClient.connect(srv.port);
    assert.equal(await a.call("AUTH", "nosuch", "pw"), WRONGPASS);
    let [e] = await aclLog(c);
    assert.equal(e.count, 1);
    assert.equal(e.reason, "auth");
    assert.equal(e.context, "toplevel");
    assert.equal(e.object, "AUTH");
    assert.equal(e.username, "nosuch");
    assert.match(e["client-info"] as string, /^id=\d+ addr=127\.0\.0\.1:\d+ .* cmd=auth user=default redir=-1 resp=2 lib-name= lib-ver=$/);
    assert.equal(await a.call("auth", "alice", "bad"), WRONGPASS);
    [e] = await aclLog(c);
    assert.equal(e.object, "auth");
    assert.equal(e.username, "alice");
    assert.equal(await a.call("hello", "3", "AUTH", "alice", "bad"), WRONGPASS);
    [e] = await aclLog(c);
    assert.equal(e.object, "hello");
    assert.equal(await a.call("HELLO", "2", "AUTH", "x", "y"), WRONGPASS);
    [e] = await aclLog(c);
    assert.equal(e.object, "HELLO");
    assert.equal(await info(c, "acl_access_denied_auth"), auth0 + 4);
    a.close();
  });

  test("entries: exact field order, grouping, entry ids", async () => {
    assert.equal(await c.call("ACL", "LOG", "RESET"), OK);
    assert.equal(await c.call("ACL", "LOG"), "*0\r\n");
    const cmd0 = await info(c, "acl_access_denied_cmd");
    const key0 = await info(c, "acl_access_denied_key");
    const chan0 = await info(c, "acl_access_denied_channel");
    assert.equal(await alice.call("GET", "secret"), err("NOPERM No permissions to access a key"));
    const raw = await c.call("ACL", "LOG");
    assert.match(
      raw,
      /^\*1\r\n\*20\r\n\$5\r\ncount\r\n:1\r\n\$6\r\nreason\r\n\$3\r\nkey\r\n\$7\r\ncontext\r\n\$8\r\ntoplevel\r\n\$6\r\nobject\r\n\$6\r\nsecret\r\n\$8\r\nusername\r\n\$5\r\nalice\r\n\$11\r\nage-seconds\r\n\$\d+\r\n[0-9.e+-]+\r\n\$11\r\nclient-info\r\n\$\d+\r\nid=\d+ [^\r]* cmd=get user=alice [^\r]*\r\n\$8\r\nentry-id\r\n:(\d+)\r\n\$17\r\ntimestamp-created\r\n:\d{13}\r\n\$22\r\ntimestamp-last-updated\r\n:\d{13}\r\n$/,
    );
    const [first] = await aclLog(c);
    await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 3; i++) assert.equal(await alice.call("GET", "secret"), err("NOPERM No permissions to access a key"));
    let [e] = await aclLog(c);
    assert.equal(e.count, 4);
    assert.equal(e["entry-id"], first["entry-id"]);
    assert.equal(e["timestamp-created"], first["timestamp-created"]);
    assert.ok((e["timestamp-last-updated"] as number) > (first["timestamp-last-updated"] as number));
    assert.equal(await alice.call("DEL", "app:x"), err("NOPERM User alice has no permissions to run the 'del' command"));
    assert.equal(await alice.call("PUBLISH", "sports", "m"), err("NOPERM No permissions to access a channel"));
    const log = await aclLog(c);
    assert.deepEqual(log.map((x) => [x.reason, x.object, x.count]), [["channel", "sports", 1], ["command", "del", 1], ["key", "secret", 4]]);
    assert.equal(log[0]["entry-id"], (first["entry-id"] as number) + 2);
    assert.equal(log[1]["entry-id"], (first["entry-id"] as number) + 1);
    // A repeat of an older entry moves it to the head.
    assert.equal(await alice.call("GET", "secret"), err("NOPERM No permissions to access a key"));
    [e] = await aclLog(c);
    assert.deepEqual([e.object, e.count], ["secret", 5]);
    assert.equal(await info(c, "acl_access_denied_cmd"), cmd0 + 1);
    assert.equal(await info(c, "acl_access_denied_key"), key0 + 5);
    assert.equal(await info(c, "acl_access_denied_channel"), chan0 + 1);
    // Subcommand denials name the full command.
    assert.equal(await alice.call("CONFIG", "SET", "x", "y"), err("NOPERM User alice has no permissions to run the 'config|set' command"));
    [e] = await aclLog(c);
    assert.equal(e.object, "config|set");
  });

  test("LOG count, RESET, RESP3 shape", async () => {
    assert.equal((await aclLog(c, "1")).length, 1);
    assert.equal((await aclLog(c, "2")).length, 2);
    assert.equal(await c.call("ACL", "LOG", "-5"), "*0\r\n");
    assert.equal(await c.call("ACL", "LOG", "0"), "*0\r\n");
    assert.equal(await c.call("ACL", "LOG", "x"), err("ERR value is not an integer or out of range"));
    const c3 = await RawClient.connect(srv.port);
    await c3.call("HELLO", "3");
    assert.match(
      await c3.call("ACL", "LOG", "1"),
      /^\*1\r\n%10\r\n\$5\r\ncount\r\n:\d+\r\n\$6\r\nreason\r\n\$\d+\r\n[a-z]+\r\n\$7\r\ncontext\r\n\$8\r\ntoplevel\r\n\$6\r\nobject\r\n\$\d+\r\n[^\r]+\r\n\$8\r\nusername\r\n\$5\r\nalice\r\n\$11\r\nage-seconds\r\n,[0-9.e+-]+\r\n\$11\r\nclient-info\r\n/,
    );
    c3.close();
    assert.equal(await c.call("ACL", "LOG", "reset"), OK);
    assert.equal(await c.call("ACL", "LOG"), "*0\r\n");
  });

  test("denials inside MULTI: context multi, EXECABORT; the EXEC re-check", async () => {
    assert.equal(await c.call("ACL", "LOG", "RESET"), OK);
    assert.equal(await alice.call("MULTI"), OK);
    assert.equal(await alice.call("GET", "nope"), err("NOPERM No permissions to access a key"));
    assert.equal(await alice.call("SET", "app:1", "v"), "+QUEUED\r\n");
    assert.equal(await alice.call("EXEC"), err("EXECABORT Transaction discarded because of previous errors."));
    let [e] = await aclLog(c);
    assert.deepEqual([e.reason, e.context, e.object], ["key", "multi", "nope"]);
    // Rules changed between MULTI and EXEC.
    assert.equal(await alice.call("MULTI"), OK);
    assert.equal(await alice.call("SET", "app:1", "v1"), "+QUEUED\r\n");
    assert.equal(await alice.call("GET", "app:1"), "+QUEUED\r\n");
    assert.equal(await alice.call("SET", "app:2", "v2"), "+QUEUED\r\n");
    assert.equal(await c.call("ACL", "SETUSER", "alice", "-get", "resetkeys", "~app:1"), OK);
    const pre = "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: ";
    assert.equal(
      await alice.call("EXEC"),
      arr(OK, err(pre + "no permission to execute the command or subcommand"), err(pre + "no permission to touch the specified keys")),
    );
    const log = await aclLog(c);
    assert.deepEqual(log.slice(0, 2).map((x) => [x.reason, x.context, x.object]), [["key", "multi", "app:2"], ["command", "multi", "get"]]);
    assert.match(log[0]["client-info"] as string, / cmd=exec /);
    assert.equal(await c.call("ACL", "SETUSER", "alice", "+get", "~app:*"), OK);
  });

  test("acllog-max-len", async () => {
    assert.equal(await c.call("ACL", "LOG", "RESET"), OK);
    assert.equal(await c.call("CONFIG", "SET", "acllog-max-len", "3"), OK);
    for (let i = 0; i < 6; i++) await alice.call("GET", `k${i}`);
    assert.deepEqual((await aclLog(c, "100")).map((x) => x.object), ["k5", "k4", "k3"]);
    // Lowering the limit does not drop entries until the next event, as in Redis.
    assert.equal(await c.call("CONFIG", "SET", "acllog-max-len", "0"), OK);
    assert.equal((await aclLog(c)).length, 3);
    const before = await info(c, "acl_access_denied_key");
    await alice.call("GET", "k9");
    assert.equal((await aclLog(c)).length, 0);
    assert.equal(await info(c, "acl_access_denied_key"), before + 1);
    assert.equal(await c.call("CONFIG", "SET", "acllog-max-len", "128"), OK);
  });
});

describe("live sessions", () => {
  let srv: AkiServer;
  let c: RawClient;
  before(async () => {
    srv = await startServer();
    c = await RawClient.connect(srv.port);
  });
  after(async () => {
    c.close();
    await srv.stop();
  });

  test("rule changes apply at the next command", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "live", "on", ">pw", "~*", "+get", "+set"), OK);
    const a = await authed(srv.port, "live", "pw");
    assert.equal(await a.call("SET", "k", "v"), OK);
    assert.equal(await c.call("ACL", "SETUSER", "live", "-set"), OK);
    assert.equal(await a.call("SET", "k", "v"), err("NOPERM User live has no permissions to run the 'set' command"));
    assert.equal(await a.call("GET", "k"), bulk("v"));
    assert.equal(await c.call("ACL", "SETUSER", "live", "resetkeys", "~x*"), OK);
    assert.equal(await a.call("GET", "k"), err("NOPERM No permissions to access a key"));
    assert.equal(await c.call("ACL", "SETUSER", "live", "(+set ~k)"), OK);
    assert.equal(await a.call("SET", "k", "v2"), OK);
    assert.equal(await a.call("SET", "x1", "v2"), err("NOPERM No permissions to access a key"));
    a.close();
  });

  test("a blocked command is checked again when it is served", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "blk", "reset", "on", "nopass", "+@all", "allkeys"), OK);
    const a = await authed(srv.port, "blk", "x");
    a.write("*3\r\n$5\r\nBLPOP\r\n$5\r\nlist1\r\n$1\r\n0\r\n");
    for (let i = 0; i < 50 && !/blocked_clients:1/.test(await c.call("INFO", "clients")); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await c.call("ACL", "SETUSER", "blk", "resetkeys"), OK);
    assert.equal(await c.call("LPUSH", "list1", "foo"), int(1));
    assert.equal(await a.read(), err("NOPERM No permissions to access a key"));
    assert.equal(await a.call("PING"), "+PONG\r\n");
    assert.match(await c.call("INFO", "commandstats"), /cmdstat_blpop:calls=0,usec=\d+,usec_per_call=0\.00,rejected_calls=1,failed_calls=0/);
    assert.equal(await c.call("LLEN", "list1"), int(1));
    a.close();
  });

  test("DELUSER disconnects the user's sessions, the caller after its reply", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "gone", "on", ">pw", "+acl", "+ping"), OK);
    const idle = await authed(srv.port, "gone", "pw");
    const caller = await authed(srv.port, "gone", "pw");
    const other = await RawClient.connect(srv.port);
    assert.equal(await caller.call("ACL", "DELUSER", "gone"), int(1));
    assert.equal(await caller.waitClosed(), true);
    assert.equal(await idle.waitClosed(), true);
    assert.equal(await other.call("PING"), "+PONG\r\n");
    assert.equal(await c.call("ACL", "DELUSER", "gone"), int(0));
    assert.doesNotMatch(await c.call("CLIENT", "LIST"), /user=gone/);
    other.close();
  });

  test("shrinking channel rights disconnects only subscribers that lost access", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "sub", "on", ">pw", "+@all", "resetchannels", "&news.*", "&orders"), OK);
    const s1 = await authed(srv.port, "sub", "pw");
    const s2 = await authed(srv.port, "sub", "pw");
    const s3 = await authed(srv.port, "sub", "pw");
    assert.equal(await s1.call("SUBSCRIBE", "news.1"), arr(bulk("subscribe"), bulk("news.1"), int(1)));
    assert.equal(await s2.call("SUBSCRIBE", "orders"), arr(bulk("subscribe"), bulk("orders"), int(1)));
    assert.equal(await s3.call("PSUBSCRIBE", "news.*"), arr(bulk("psubscribe"), bulk("news.*"), int(1)));
    assert.equal(await s1.call("SUBSCRIBE", "sports"), err("NOPERM No permissions to access a channel"));
    // A superset keeps everyone.
    assert.equal(await c.call("ACL", "SETUSER", "sub", "&more"), OK);
    assert.equal(await c.call("PUBLISH", "orders", "m1"), int(1));
    assert.equal(await s2.read(), arr(bulk("message"), bulk("orders"), bulk("m1")));
    // Replace news.* by news.1: s1 (channel news.1 still matches) stays, s3 (pattern news.* no longer literal) goes.
    assert.equal(await c.call("ACL", "SETUSER", "sub", "resetchannels", "&news.1", "&orders"), OK);
    assert.equal(await s3.waitClosed(), true);
    assert.equal(await s1.waitClosed(300), false);
    assert.equal(await s2.waitClosed(300), false);
    assert.equal(await c.call("ACL", "SETUSER", "sub", "resetchannels", "&news.1"), OK);
    assert.equal(await s2.waitClosed(), true);
    assert.equal(await c.call("PUBLISH", "news.1", "m2"), int(1));
    assert.equal(await s1.read(), arr(bulk("message"), bulk("news.1"), bulk("m2")));
    // Gaining allchannels never disconnects.
    assert.equal(await c.call("ACL", "SETUSER", "sub", "allchannels"), OK);
    assert.equal(await s1.waitClosed(300), false);
    s1.close();
  });

  test("a RESP3 subscriber revoking its own channel gets OK, then is disconnected", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "psuser", "on", ">pw", "+@all", "resetchannels", "&foo:1"), OK);
    const a = await RawClient.connect(srv.port);
    assert.match(await a.call("HELLO", "3", "AUTH", "psuser", "pw"), /^%7/);
    assert.equal(await a.call("SUBSCRIBE", "foo:1"), ">3\r\n" + bulk("subscribe") + bulk("foo:1") + int(1));
    assert.equal(await a.call("ACL", "SETUSER", "psuser", "resetchannels"), OK);
    assert.equal(await a.waitClosed(), true);
  });
});

describe("protected mode", () => {
  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === "IPv4" && !i.internal)?.address;
  let srv: AkiServer;
  before(async () => {
    srv = await startServer(external ? ["--bind", external, "--bind", "127.0.0.1"] : [], { waitFor: "listening on 127.0.0.1" });
  });
  after(async () => {
    await srv.stop();
  });

  test("non-loopback clients are refused while the default user has no password", async () => {
    const local = await RawClient.connect(srv.port);
    assert.equal(await local.call("PING"), "+PONG\r\n");
    assert.equal(await local.call("CONFIG", "GET", "protected-mode"), bulks("protected-mode", "yes"));
    if (external) {
      const far = await RawClient.connect(srv.port, external);
      far.write("*1\r\n$4\r\nPING\r\n");
      assert.equal(
        await far.read(),
        err(
          "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.",
        ),
      );
      assert.equal(await far.waitClosed(), true);
      // With a password, outside clients connect (and must authenticate).
      assert.equal(await local.call("CONFIG", "SET", "requirepass", "pw"), OK);
      const far2 = await RawClient.connect(srv.port, external);
      assert.equal(await far2.call("PING"), NOAUTH);
      assert.equal(await far2.call("AUTH", "pw"), OK);
      assert.equal(await far2.call("CONFIG", "SET", "requirepass", ""), OK);
      far2.close();
      // protected-mode no lets them in without a password.
      assert.equal(await local.call("CONFIG", "SET", "protected-mode", "no"), OK);
      const far3 = await RawClient.connect(srv.port, external);
      assert.equal(await far3.call("PING"), "+PONG\r\n");
      far3.close();
    }
    local.close();
  });
});

describe("real clients as an ACL user", () => {
  let srv: AkiServer;
  before(async () => {
    srv = await startServer();
    const c = await RawClient.connect(srv.port);
    assert.equal(await c.call("ACL", "SETUSER", "app", "on", ">apppw", "~app:*", "+@all", "-@dangerous"), OK);
    c.close();
  });
  after(async () => {
    await srv.stop();
  });

  test("ioredis with username and password", async () => {
    const r = new Redis({ port: srv.port, host: "127.0.0.1", username: "app", password: "apppw", lazyConnect: true, enableReadyCheck: false });
    await r.connect();
    assert.equal(await r.call("ACL", "WHOAMI"), "app");
    assert.equal(await r.set("app:k", "v"), "OK");
    assert.equal(await r.get("app:k"), "v");
    await assert.rejects(r.get("other"), /NOPERM No permissions to access a key/);
    await assert.rejects(r.flushall(), /NOPERM User app has no permissions to run the 'flushall' command/);
    await r.quit();
    const bad = new Redis({ port: srv.port, host: "127.0.0.1", username: "app", password: "nope", lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    const errors: string[] = [];
    bad.on("error", (e: Error) => errors.push(e.message));
    await assert.rejects(bad.connect());
    assert.ok(errors.some((m) => m.startsWith("WRONGPASS invalid username-password pair or user is disabled.")), errors.join("; "));
    bad.disconnect();
  });

  test("node-redis with username and password (RESP2 and RESP3)", async () => {
    for (const RESP of [2, 3] as const) {
      const c = createClient({ socket: { port: srv.port, host: "127.0.0.1" }, username: "app", password: "apppw", RESP });
      await c.connect();
      assert.equal(await c.sendCommand(["ACL", "WHOAMI"]), "app");
      await c.set("app:n", String(RESP));
      assert.equal(await c.get("app:n"), String(RESP));
      await assert.rejects(c.get("zzz"), /NOPERM/);
      await c.quit();
    }
    const bad = createClient({ socket: { port: srv.port, host: "127.0.0.1", reconnectStrategy: false }, username: "app", password: "nope" });
    bad.on("error", () => {});
    await assert.rejects(bad.connect(), /WRONGPASS/);
  });
});
