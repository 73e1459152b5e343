/**
 * Every example of the user guides in /work/shared/seeds, run as written against aki (through
 * real sockets, redis-cli and real aki processes). Where a guide quotes the output of an older
 * server (Redis 6 / KeyDB: "this user has no permissions...", no "sanitize-payload", keys as
 * arrays in GETUSER), the test asserts what Redis 7.2 answers instead.
 *
 * seed 000: aki's security guide      seed 001: KeyDB "Using ACL" guide
 * seed 002: Redis 6.0 ACL intro        seed 003: Redis security overview (users.acl, hardening)
 * seed 004: Redis Enterprise ACL syntax (rules, selectors, pub/sub defaults)
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, RawClient, bulk, bulks, arr, int, err, OK, NIL, type AkiServer } from "./harness.ts";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const KEY_DENIED = err("NOPERM No permissions to access a key");
const NOAUTH = err("NOAUTH Authentication required.");

function cli(args: string[]): string {
  const r = spawnSync("redis-cli", args, { encoding: "utf8", timeout: 30000 });
  if (r.error) throw r.error;
  return (r.stdout ?? "").trim();
}

async function lineOf(c: RawClient, name: string): Promise<string> {
  const all = await c.call("ACL", "LIST");
  return all.split("\r\n").find((l) => l.startsWith(`user ${name} `)) ?? "";
}

describe("seed 000: aki security guide", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "aki-seed0-"));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test("aki server --dbfile data.aki --requirepass s3cret; AUTH s3cret; redis-cli -a s3cret", async () => {
    const s = await startServer(["--dbfile", "data.aki", "--requirepass", "s3cret"], { cwd: dir });
    try {
      const c = await RawClient.connect(s.port);
      assert.equal(await c.call("PING"), NOAUTH);
      assert.equal(await c.call("AUTH", "s3cret"), OK);
      assert.equal(await c.call("PING"), "+PONG\r\n");
      c.close();
      assert.equal(cli(["-p", String(s.port), "-a", "s3cret", "PING"]), "PONG");
      assert.match(cli(["-p", String(s.port), "PING"]), /NOAUTH Authentication required/);
      assert.ok(existsSync(join(dir, "data.aki")));
    } finally {
      await s.stop();
    }
  });

  test("CONFIG SET requirepass s3cret on a running server", async () => {
    const s = await startServer();
    try {
      const c = await RawClient.connect(s.port);
      assert.equal(await c.call("CONFIG", "SET", "requirepass", "s3cret"), OK);
      const d = await RawClient.connect(s.port);
      assert.equal(await d.call("GET", "x"), NOAUTH);
      assert.equal(await d.call("AUTH", "s3cret"), OK);
      assert.equal(await d.call("GET", "x"), NIL);
      c.close();
      d.close();
    } finally {
      await s.stop();
    }
  });

  test("ACL users: alice on app:*, the ACL commands, DRYRUN, LOG, channel defaults", async () => {
    const s = await startServer();
    try {
      const c = await RawClient.connect(s.port);
      const port = String(s.port);
      assert.equal(await c.call("ACL", "SETUSER", "alice", "on", ">alicepw", "~app:*", "+get", "+set"), OK);
      const url = `redis://alice:alicepw@127.0.0.1:${port}`;
      assert.equal(cli(["-u", url, "GET", "app:counter"]), "");
      assert.equal(cli(["-u", url, "DEL", "app:counter"]), "NOPERM User alice has no permissions to run the 'del' command");
      assert.equal(cli(["-u", url, "GET", "other:key"]), "NOPERM No permissions to access a key");
      assert.equal(
        await c.call("ACL", "LIST"),
        bulks(`user alice on sanitize-payload #${sha("alicepw")} ~app:* resetchannels -@all +get +set`, "user default on nopass sanitize-payload ~* &* +@all"),
      );
      assert.match(await c.call("ACL", "GETUSER", "alice"), /^\*12\r\n\$5\r\nflags\r\n/);
      assert.equal(await c.call("ACL", "WHOAMI"), bulk("default"));
      assert.match(await c.call("ACL", "CAT"), /^\*21\r\n/);
      assert.match(await c.call("ACL", "GENPASS"), /^\$64\r\n[0-9a-f]{64}\r\n$/);
      assert.equal(await c.call("ACL", "DRYRUN", "alice", "GET", "app:counter"), OK);
      assert.equal(await c.call("ACL", "DRYRUN", "alice", "DEL", "app:counter"), bulk("User alice has no permissions to run the 'del' command"));
      const log = await c.call("ACL", "LOG");
      assert.match(log, /^\*2\r\n/);
      assert.ok(log.includes(bulk("other:key")) && log.includes(bulk("del")));
      // Channel access defaults.
      assert.equal(await c.call("CONFIG", "SET", "acl-pubsub-default", "resetchannels"), OK);
      assert.equal(await c.call("ACL", "SETUSER", "alice", "on", ">alicepw", "~app:*", "+get", "+set", "&app:events"), OK);
      assert.equal(await lineOf(c, "alice"), `user alice on sanitize-payload #${sha("alicepw")} ~app:* resetchannels &app:events -@all +get +set`);
      assert.equal(await c.call("ACL", "DRYRUN", "alice", "PUBLISH", "app:events", "x"), bulk("User alice has no permissions to run the 'publish' command"));
      assert.equal(await c.call("ACL", "SETUSER", "alice", "+publish"), OK);
      assert.equal(await c.call("ACL", "DRYRUN", "alice", "PUBLISH", "app:events", "x"), OK);
      assert.equal(await c.call("ACL", "DRYRUN", "alice", "PUBLISH", "app:other", "x"), bulk("User alice has no permissions to access the 'app:other' channel"));
      assert.equal(await c.call("CONFIG", "SET", "acl-pubsub-default", "allchannels"), OK);
      assert.equal(await c.call("ACL", "SETUSER", "fresh"), OK);
      assert.equal(await lineOf(c, "fresh"), "user fresh off sanitize-payload &* -@all");
      assert.equal(await c.call("ACL", "DELUSER", "alice"), int(1));
      c.close();
    } finally {
      await s.stop();
    }
  });

  test("aki server --dbfile data.aki --aclfile users.acl; ACL SAVE rewrites it", async () => {
    const acl = join(dir, "users.acl");
    writeFileSync(acl, "user default on nopass ~* &* +@all\n");
    const s = await startServer(["--dbfile", "data.aki", "--aclfile", acl], { cwd: dir });
    try {
      const c = await RawClient.connect(s.port);
      assert.equal(await c.call("ACL", "SETUSER", "alice", "on", ">alicepw", "~app:*", "+get", "+set"), OK);
      assert.equal(await c.call("ACL", "SAVE"), OK);
      assert.equal(
        readFileSync(acl, "latin1"),
        `user alice on sanitize-payload #${sha("alicepw")} ~app:* resetchannels -@all +get +set\nuser default on nopass sanitize-payload ~* &* +@all\n`,
      );
      c.close();
    } finally {
      await s.stop();
    }
  });
});

describe("seeds 001 and 002: KeyDB / Redis 6 ACL guides", () => {
  let srv: AkiServer;
  let c: RawClient;
  let c3: RawClient;
  before(async () => {
    srv = await startServer();
    c = await RawClient.connect(srv.port);
    c3 = await RawClient.connect(srv.port);
    await c3.call("HELLO", "3");
  });
  after(async () => {
    c.close();
    c3.close();
    await srv.stop();
  });

  test("AUTH <username> <password> and AUTH <password>", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "someone", "on", ">pw", "+@all", "~*"), OK);
    const a = await RawClient.connect(srv.port);
    assert.equal(await a.call("AUTH", "someone", "pw"), OK);
    assert.equal(await a.call("AUTH", "pw"), err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"));
    a.close();
  });

  test("a fresh server's ACL LIST; ACL SETUSER alice", async () => {
    const fresh = await startServer();
    try {
      const f = await RawClient.connect(fresh.port);
      assert.equal(await f.call("ACL", "LIST"), bulks("user default on nopass sanitize-payload ~* &* +@all"));
      assert.equal(await f.call("ACL", "SETUSER", "alice"), OK);
      assert.equal(await f.call("ACL", "LIST"), bulks("user alice off sanitize-payload resetchannels -@all", "user default on nopass sanitize-payload ~* &* +@all"));
      f.close();
    } finally {
      await fresh.stop();
    }
  });

  test("alice on >p1pp0 ~cached:* +get", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "alice", "on", ">p1pp0", "~cached:*", "+get"), OK);
    const a = await RawClient.connect(srv.port);
    assert.equal(await a.call("AUTH", "alice", "p1pp0"), OK);
    assert.equal(await a.call("GET", "foo"), KEY_DENIED);
    assert.equal(await a.call("GET", "cached:1234"), NIL);
    assert.equal(await a.call("SET", "cached:1234", "zap"), err("NOPERM User alice has no permissions to run the 'set' command"));
    a.close();
    const h = sha("p1pp0");
    assert.equal(
      await c.call("ACL", "GETUSER", "alice"),
      arr(bulk("flags"), bulks("on", "sanitize-payload"), bulk("passwords"), bulks(h), bulk("commands"), bulk("-@all +get"), bulk("keys"), bulk("~cached:*"), bulk("channels"), bulk(""), bulk("selectors"), "*0\r\n"),
    );
    assert.match(await c3.call("ACL", "GETUSER", "alice"), /^%6\r\n\$5\r\nflags\r\n~2\r\n\$2\r\non\r\n/);
    assert.equal(await c.call("ACL", "SETUSER", "alice", "~objects:*", "~items:*", "~public:*"), OK);
    assert.equal(await lineOf(c, "alice"), `user alice on sanitize-payload #${h} ~cached:* ~objects:* ~items:* ~public:* resetchannels -@all +get`);
  });

  test("SETUSER applies incrementally", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "myuser", "+set"), OK);
    assert.equal(await c.call("ACL", "SETUSER", "myuser", "+get"), OK);
    assert.equal(await lineOf(c, "myuser"), "user myuser off sanitize-payload resetchannels -@all +set +get");
    assert.equal(await c.call("ACL", "SETUSER", "myuser", "-client", "+client|setname", "+client|getname"), OK);
    assert.equal(await lineOf(c, "myuser"), "user myuser off sanitize-payload resetchannels -@all +set +get -client +client|setname +client|getname");
    assert.equal(await c.call("ACL", "SETUSER", "keys", "~foo:*", "~bar:*", "resetkeys", "~objects:*"), OK);
    assert.equal(await lineOf(c, "keys"), "user keys off sanitize-payload ~objects:* resetchannels -@all");
  });

  test("categories: +@all -@dangerous, ACL CAT, ACL CAT geo / hash", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "antirez", "on", "+@all", "-@dangerous", ">42a979...", "~*"), OK);
    assert.equal(await lineOf(c, "antirez"), `user antirez on sanitize-payload #${sha("42a979...")} ~* resetchannels +@all -@dangerous`);
    assert.equal(
      await c.call("ACL", "CAT"),
      bulks("keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction", "scripting"),
    );
    const names = (r: string) => r.split("\r\n").filter((_, i) => i % 2 === 0 && i > 0).filter(Boolean).sort();
    assert.deepEqual(names(await c.call("ACL", "CAT", "geo")), ["geoadd", "geodist", "geohash", "geopos", "georadius", "georadius_ro", "georadiusbymember", "georadiusbymember_ro", "geosearch", "geosearchstore"]);
    assert.deepEqual(
      names(await c.call("ACL", "CAT", "hash")),
      ["hdel", "hexists", "hget", "hgetall", "hincrby", "hincrbyfloat", "hkeys", "hlen", "hmget", "hmset", "hrandfield", "hscan", "hset", "hsetnx", "hstrlen", "hvals"],
    );
  });

  test("subcommands and first-args: +debug|segfault, -DEBUG|SEGFAULT", async () => {
    // Redis 7.2 accepts the first-arg form for a command without subcommands (with a warning).
    assert.equal(await c.call("ACL", "SETUSER", "default", "+debug|segfault"), OK);
    assert.equal(await lineOf(c, "default"), "user default on nopass sanitize-payload ~* &* +@all +debug|segfault");
    assert.equal(await c.call("ACL", "SETUSER", "default", "-DEBUG|SEGFAULT"), err("ERR Error in ACL SETUSER modifier '-DEBUG|SEGFAULT': Unknown command or category name in ACL"));
    assert.equal(await c.call("ACL", "SETUSER", "default", "+@all"), OK);
    assert.equal(
      await c.call("ACL", "GETUSER", "default"),
      arr(bulk("flags"), bulks("on", "nopass", "sanitize-payload"), bulk("passwords"), "*0\r\n", bulk("commands"), bulk("+@all"), bulk("keys"), bulk("~*"), bulk("channels"), bulk("&*"), bulk("selectors"), "*0\r\n"),
    );
    assert.match(await c.call("ACL", "GENPASS"), /^\$64\r\n[0-9a-f]{64}\r\n$/);
  });

  test("Sentinel and replica users", async () => {
    assert.equal(
      await c.call("ACL", "SETUSER", "sentinel-user", "on", ">somepassword", "allchannels", "+multi", "+slaveof", "+ping", "+exec", "+subscribe", "+config|rewrite", "+role", "+publish", "+info", "+client|setname", "+client|kill", "+script|kill"),
      OK,
    );
    assert.equal(
      await lineOf(c, "sentinel-user"),
      `user sentinel-user on sanitize-payload #${sha("somepassword")} &* -@all +multi +slaveof +ping +exec +subscribe +config|rewrite +role +publish +info +client|setname +client|kill +script|kill`,
    );
    assert.equal(await c.call("ACL", "SETUSER", "replica-user", "on", ">somepassword", "+psync", "+replconf", "+ping"), OK);
    assert.equal(await lineOf(c, "replica-user"), `user replica-user on sanitize-payload #${sha("somepassword")} resetchannels -@all +psync +replconf +ping`);
  });

  test("user worker +@list +@connection ~jobs:* on >ffa9203c493aa99 (config and ACL file)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aki-seed1-"));
    try {
      const conf = join(dir, "keydb.conf");
      writeFileSync(conf, "user worker +@list +@connection ~jobs:* on >ffa9203c493aa99\n");
      const s = await startServer([conf]);
      const want = `user worker on sanitize-payload #${sha("ffa9203c493aa99")} ~jobs:* resetchannels -@all +@list +@connection`;
      try {
        const x = await RawClient.connect(s.port);
        assert.equal(await lineOf(x, "worker"), want);
        x.close();
      } finally {
        await s.stop();
      }
      const acl = join(dir, "users.acl");
      writeFileSync(acl, "user worker +@list +@connection ~jobs:* on >ffa9203c493aa99\n");
      const conf2 = join(dir, "with-aclfile.conf");
      writeFileSync(conf2, `aclfile ${acl}\n`);
      const s2 = await startServer([conf2]);
      try {
        const x = await RawClient.connect(s2.port);
        assert.equal(await lineOf(x, "worker"), want);
        assert.equal(await x.call("ACL", "LOAD"), OK);
        assert.equal(await x.call("ACL", "SAVE"), OK);
        assert.equal(await x.call("AUTH", "worker", "ffa9203c493aa99"), OK);
        assert.equal(await x.call("LPUSH", "jobs:1", "a"), int(1));
        assert.equal(await x.call("LPUSH", "other", "a"), KEY_DENIED);
        x.close();
      } finally {
        await s2.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("seed 003: Redis security overview", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "aki-seed3-"));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test("ACL SETUSER examples, GETUSER/LIST/USERS/WHOAMI/DELUSER, LOG", async () => {
    const s = await startServer();
    try {
      const c = await RawClient.connect(s.port);
      const rules: string[][] = [
        ["alice", "on", ">password123", "~*", "+@all"],
        ["readonly", "on", ">readpass", "~sensor:*", "+@read"],
        ["writer", "on", ">writepass", "~logs:*", "+@write"],
        ["limited", "on", ">limitpass", "~*", "+get", "+set", "+incr"],
        ["readonly", "on", ">readonlypass", "~*", "+@read", "-@write", "-@admin"],
        ["cache", "on", ">cachepass", "~cache:*", "+get", "+set", "+del", "+ttl", "+expire"],
        ["pubsub", "on", ">pubsubpass", "resetchannels", "&notifications:*", "+publish", "+subscribe", "+psubscribe"],
        ["split", "on", ">splitpass", "%R~read:*", "%W~write:*", "+@all"],
        ["myapp", "on", ">app_password", "~myapp:*", "+@read", "+@write", "-@dangerous", "-@admin"],
      ];
      for (const r of rules) assert.equal(await c.call("ACL", "SETUSER", ...r), OK, r.join(" "));
      // The second "readonly" example edits the first: passwords add up, ~* replaces ~sensor:*.
      assert.equal(await lineOf(c, "readonly"), `user readonly on sanitize-payload #${sha("readpass")} #${sha("readonlypass")} ~* resetchannels -@all +@read -@write -@admin`);
      // What each example promises.
      const dry = (u: string, ...a: string[]) => c.call("ACL", "DRYRUN", u, ...a);
      assert.equal(await dry("readonly", "GET", "x"), OK);
      assert.equal(await dry("cache", "EXPIRE", "cache:a", "10"), OK);
      assert.equal(await dry("cache", "GET", "other"), bulk("User cache has no permissions to access the 'other' key"));
      assert.equal(await dry("cache", "HGET", "cache:a", "f"), bulk("User cache has no permissions to run the 'hget' command"));
      assert.equal(await dry("pubsub", "PUBLISH", "notifications:x", "m"), OK);
      assert.equal(await dry("pubsub", "PSUBSCRIBE", "notifications:*"), OK);
      assert.equal(await dry("pubsub", "SUBSCRIBE", "other"), bulk("User pubsub has no permissions to access the 'other' channel"));
      assert.equal(await dry("pubsub", "GET", "k"), bulk("User pubsub has no permissions to run the 'get' command"));
      assert.equal(await dry("split", "GET", "read:1"), OK);
      assert.equal(await dry("split", "SET", "write:1", "v"), OK);
      assert.equal(await dry("split", "SET", "read:1", "v"), bulk("User split has no permissions to access the 'read:1' key"));
      assert.equal(await dry("split", "GET", "write:1"), bulk("User split has no permissions to access the 'write:1' key"));
      assert.equal(await dry("myapp", "FLUSHALL"), bulk("User myapp has no permissions to run the 'flushall' command"));
      assert.match(await c.call("ACL", "GETUSER", "alice"), /^\*12\r\n/);
      assert.match(await c.call("ACL", "LIST"), /^\*9\r\n/);
      assert.match(await c.call("ACL", "USERS"), /^\*9\r\n/);
      assert.equal(await c.call("ACL", "WHOAMI"), bulk("default"));
      // Deleting a user terminates its connections.
      const a = await RawClient.connect(s.port);
      assert.equal(await a.call("AUTH", "alice", "password123"), OK);
      assert.equal(await c.call("ACL", "DELUSER", "alice"), int(1));
      assert.equal(await a.waitClosed(), true);
      // ACL LOG, ACL LOG 10, ACL LOG RESET, acllog-max-len 128.
      const l = await RawClient.connect(s.port);
      assert.equal(await l.call("AUTH", "limited", "limitpass"), OK);
      assert.equal(await l.call("DEL", "k"), err("NOPERM User limited has no permissions to run the 'del' command"));
      assert.equal(await l.call("AUTH", "limited", "wrong"), err("WRONGPASS invalid username-password pair or user is disabled."));
      l.close();
      assert.match(await c.call("ACL", "LOG"), /^\*2\r\n/);
      assert.match(await c.call("ACL", "LOG", "10"), /^\*2\r\n/);
      assert.equal(await c.call("ACL", "LOG", "RESET"), OK);
      assert.equal(await c.call("CONFIG", "SET", "acllog-max-len", "128"), OK);
      // Hardening steps.
      assert.equal(await c.call("ACL", "SETUSER", "default", "-flushall", "-flushdb", "-config", "-shutdown"), OK);
      assert.equal(await c.call("FLUSHALL"), err("NOPERM User default has no permissions to run the 'flushall' command"));
      assert.equal(await c.call("CONFIG", "SET", "loglevel", "notice"), err("NOPERM User default has no permissions to run the 'config|set' command"));
      assert.equal(await c.call("ACL", "SETUSER", "default", "+config"), OK);
      assert.equal(await c.call("CONFIG", "SET", "loglevel", "notice"), OK);
      assert.equal(await c.call("CONFIG", "SET", "requirepass", "strong_password_here"), OK);
      assert.equal(await c.call("ACL", "SETUSER", "default", "on", ">strong_default_password", "~*", "+@all"), OK);
      const d = await RawClient.connect(s.port);
      assert.equal(await d.call("PING"), NOAUTH);
      assert.equal(await d.call("AUTH", "strong_default_password"), OK);
      assert.equal(await d.call("AUTH", "strong_password_here"), OK);
      d.close();
      c.close();
    } finally {
      await s.stop();
    }
  });

  test("the users.acl file of the guide, comment lines included, works as written", async () => {
    const users = [
      "user default on nopass ~* +@all",
      "",
      "user admin on >strong_admin_password ~* +@all",
      "",
      "user app on >app_password ~app:* +@read +@write -@dangerous",
      "",
      "user monitor on >monitor_password ~* +@read +ping +info",
      "",
      "user worker on >worker_password ~jobs:* ~results:* +@list +@string +get +set +del",
    ];
    const withComments = [
      "# Default user (required)", users[0], "", "# Admin user", users[2], "", "# Application user - limited permissions", users[4], "",
      "# Read-only monitoring user", users[6], "", "# Worker for background jobs", users[8], "",
    ].join("\n");
    const f = join(dir, "users.acl");
    writeFileSync(f, withComments);
    const s = await startServer(["--aclfile", f, "--requirepass", "also-set"]);
    try {
      const c = await RawClient.connect(s.port);
      assert.equal(await c.call("PING"), "+PONG\r\n", "requirepass is ignored when an aclfile is used");
      assert.equal(
        await c.call("ACL", "LIST"),
        bulks(
          `user admin on sanitize-payload #${sha("strong_admin_password")} ~* resetchannels +@all`,
          `user app on sanitize-payload #${sha("app_password")} ~app:* resetchannels -@all +@read +@write -@dangerous`,
          "user default on nopass sanitize-payload ~* resetchannels +@all",
          `user monitor on sanitize-payload #${sha("monitor_password")} ~* resetchannels -@all +@read +ping +info`,
          `user worker on sanitize-payload #${sha("worker_password")} ~jobs:* ~results:* resetchannels -@all +@list +@string +get +set +del`,
        ),
      );
      const w = await RawClient.connect(s.port);
      assert.equal(await w.call("AUTH", "worker", "worker_password"), OK);
      assert.equal(await w.call("RPUSH", "jobs:q", "j1"), int(1));
      assert.equal(await w.call("SET", "results:1", "r"), OK);
      assert.equal(await w.call("GET", "cache:1"), KEY_DENIED);
      w.close();
      c.close();
    } finally {
      await s.stop();
    }
  });

  test("protected mode, unix sockets and redis-cli -s", async () => {
    const sock = join(dir, "redis.sock");
    const s = await startServer(["--unixsocket", sock, "--unixsocketperm", "700", "--protected-mode", "yes"], { waitFor: "listening on unix socket" });
    try {
      assert.equal(cli(["-s", sock, "PING"]), "PONG");
      assert.equal(cli(["-s", sock, "CONFIG", "GET", "protected-mode"]), "protected-mode\nyes");
      assert.equal(cli(["-s", sock, "CONFIG", "SET", "protected-mode", "no"]), "OK");
    } finally {
      await s.stop();
    }
  });
});

describe("seed 004: Redis Enterprise ACL syntax", () => {
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

  test("command, category, key, channel and selector rules", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "e1", "+@read", "+SET"), OK);
    assert.equal(await lineOf(c, "e1"), "user e1 off sanitize-payload resetchannels -@all +@read +set");
    assert.equal(await c.call("ACL", "SETUSER", "e2", "+@read", "+FT.INFO", "+FT.SEARCH"), err("ERR Error in ACL SETUSER modifier '+FT.INFO': Unknown command or category name in ACL"));
    assert.equal(await c.call("ACL", "SETUSER", "e3", "~app1*", "%R~app2*"), OK);
    assert.equal(await lineOf(c, "e3"), "user e3 off sanitize-payload ~app1* %R~app2* resetchannels -@all");
    assert.equal(await c.call("ACL", "SETUSER", "e4", "resetchannels", "&channel1", "&channel2"), OK);
    assert.equal(await lineOf(c, "e4"), "user e4 off sanitize-payload resetchannels &channel1 &channel2 -@all");
    assert.equal(await c.call("ACL", "SETUSER", "e5", "on", "nopass", "+GET", "~key1", "(+SET ~key2)"), OK);
    assert.equal(await lineOf(c, "e5"), "user e5 on nopass sanitize-payload ~key1 resetchannels -@all +get (~key2 resetchannels -@all +set)");
    assert.equal(await c.call("ACL", "DRYRUN", "e5", "GET", "key1"), OK);
    assert.equal(await c.call("ACL", "DRYRUN", "e5", "SET", "key2", "v"), OK);
    assert.equal(await c.call("ACL", "DRYRUN", "e5", "SET", "key1", "v"), bulk("User e5 has no permissions to access the 'key1' key"));
    assert.equal(await c.call("ACL", "DRYRUN", "e5", "GET", "key2"), bulk("User e5 has no permissions to access the 'key2' key"));
    // Nested selectors are not valid.
    assert.equal(await c.call("ACL", "SETUSER", "e6", "+GET", "~key1", "(+SET", "(+SET", "~key2)", "~key3)"), err("ERR Error in ACL SETUSER modifier '(+SET (+SET ~key2)': Syntax error"));
    assert.equal(await c.call("ACL", "GETUSER", "e6"), NIL);
    assert.equal(await c.call("ACL", "SETUSER", "e5", "clearselectors"), OK);
    assert.equal(await lineOf(c, "e5"), "user e5 on nopass sanitize-payload ~key1 resetchannels -@all +get");
  });

  test("acl-pubsub-default: permissive and restrictive", async () => {
    assert.equal(await c.call("CONFIG", "SET", "acl-pubsub-default", "allchannels"), OK);
    assert.equal(await c.call("ACL", "SETUSER", "p1", "on", "nopass", "+publish"), OK);
    assert.equal(await c.call("ACL", "DRYRUN", "p1", "PUBLISH", "any", "m"), OK);
    assert.equal(await c.call("CONFIG", "SET", "acl-pubsub-default", "resetchannels"), OK);
    assert.equal(await c.call("ACL", "SETUSER", "p2", "on", "nopass", "+publish"), OK);
    assert.equal(await c.call("ACL", "DRYRUN", "p2", "PUBLISH", "any", "m"), bulk("User p2 has no permissions to access the 'any' channel"));
    assert.equal(await c.call("ACL", "DRYRUN", "p1", "PUBLISH", "any", "m"), OK, "existing users keep their channels");
    assert.equal(await c.call("CONFIG", "GET", "acl-pubsub-default"), bulks("acl-pubsub-default", "resetchannels"));
  });

  test("ACL command support list", async () => {
    for (const sub of [["CAT"], ["DRYRUN", "default", "PING"], ["GETUSER", "default"], ["HELP"], ["LIST"], ["USERS"], ["WHOAMI"], ["GENPASS"], ["LOG"], ["DELUSER", "nobody"], ["SETUSER", "x"]]) {
      const r = await c.call("ACL", ...sub);
      assert.ok(!r.startsWith("-"), `ACL ${sub.join(" ")}: ${r}`);
    }
  });
});
