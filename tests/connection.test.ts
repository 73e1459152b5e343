/**
 * Connection and server commands through raw sockets: PING ECHO SELECT HELLO QUIT RESET,
 * CLIENT *, INFO, CONFIG, DBSIZE, FLUSHDB/FLUSHALL, SWAPDB, TIME, LASTSAVE, COMMAND *.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, RawClient, bulk, bulks, arr, int, err, OK, NIL, type AkiServer } from "./harness.ts";

describe("connection commands", () => {
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

  test("PING and ECHO", async () => {
    assert.equal(await c.call("PING"), "+PONG\r\n");
    assert.equal(await c.call("PING", "hi"), bulk("hi"));
    assert.equal(await c.call("PING", "a", "b"), err("ERR wrong number of arguments for 'ping' command"));
    assert.equal(await c.call("ECHO", "x y"), bulk("x y"));
  });

  test("SELECT", async () => {
    assert.equal(await c.call("SELECT", "15"), OK);
    assert.equal(await c.call("SELECT", "16"), err("ERR DB index is out of range"));
    assert.equal(await c.call("SELECT", "-1"), err("ERR DB index is out of range"));
    assert.equal(await c.call("SELECT", "x"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("SELECT", "0"), OK);
  });

  test("HELLO 3 switches to RESP3 and reports the server", async () => {
    const d = await RawClient.connect(srv.port);
    const r = await d.call("HELLO", "3");
    assert.match(r, /^%7\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n\$7\r\nversion\r\n\$\d+\r\n7\.2\.\d+-aki-[^\r]+\r\n\$5\r\nproto\r\n:3\r\n\$2\r\nid\r\n:\d+\r\n\$4\r\nmode\r\n\$10\r\nstandalone\r\n\$4\r\nrole\r\n\$6\r\nmaster\r\n\$7\r\nmodules\r\n\*0\r\n$/);
    assert.equal(await d.call("GETNAMEX"), err("ERR unknown command 'GETNAMEX', with args beginning with: "));
    assert.equal(await d.call("CLIENT", "GETNAME"), "_\r\n");
    const r2 = await d.call("HELLO", "2");
    assert.match(r2, /^\*14\r\n/);
    assert.equal(await d.call("HELLO", "4"), err("NOPROTO unsupported protocol version"));
    assert.equal(await d.call("HELLO", "x"), err("ERR Protocol version is not an integer or out of range"));
    assert.equal(await d.call("HELLO", "3", "FOO"), err("ERR Syntax error in HELLO option 'FOO'"));
    const r3 = await d.call("HELLO", "3", "SETNAME", "myconn");
    assert.match(r3, /^%7/);
    assert.equal(await d.call("CLIENT", "GETNAME"), bulk("myconn"));
    d.close();
  });

  test("QUIT answers OK and closes", async () => {
    const d = await RawClient.connect(srv.port);
    assert.equal(await d.call("QUIT"), OK);
    assert.equal(await d.waitClosed(), true);
  });

  test("RESET returns the connection to its initial state", async () => {
    const d = await RawClient.connect(srv.port);
    await d.call("HELLO", "3");
    await d.call("SELECT", "3");
    await d.call("CLIENT", "SETNAME", "n1");
    assert.equal(await d.call("RESET"), "+RESET\r\n");
    assert.equal(await d.call("CLIENT", "GETNAME"), NIL);
    const info = await d.call("CLIENT", "INFO");
    assert.match(info, / db=0 /);
    assert.match(info, / resp=2 /);
    d.close();
  });

  test("CLIENT ID / SETNAME / GETNAME / LIST / INFO / KILL", async () => {
    const d = await RawClient.connect(srv.port);
    const id = Number((await d.call("CLIENT", "ID")).slice(1, -2));
    assert.ok(id > 0);
    assert.equal(await d.call("CLIENT", "SETNAME", "bad name"), err("ERR Client names cannot contain spaces, newlines or special characters."));
    assert.equal(await d.call("CLIENT", "SETNAME", "worker-1"), OK);
    const list = await c.call("CLIENT", "LIST");
    assert.match(list, new RegExp(`id=${id} addr=127\\.0\\.0\\.1:\\d+ laddr=127\\.0\\.0\\.1:${srv.port} fd=\\d+ name=worker-1 age=\\d+ idle=\\d+ flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 `));
    assert.match(list, / user=default redir=-1 resp=2 lib-name= lib-ver=\n/);
    assert.equal(await d.call("CLIENT", "SETINFO", "LIB-NAME", "mylib"), OK);
    assert.equal(await d.call("CLIENT", "SETINFO", "LIB-VER", "1.2"), OK);
    assert.match(await d.call("CLIENT", "INFO"), /lib-name=mylib lib-ver=1\.2\n/);
    assert.equal(await c.call("CLIENT", "KILL", "ID", String(id)), int(1));
    assert.equal(await d.waitClosed(), true);
    assert.equal(await c.call("CLIENT", "KILL", "1.2.3.4:5"), err("ERR No such client"));
    assert.equal(await c.call("CLIENT", "KILL", "ID", "0"), err("ERR client-id should be greater than 0"));
  });

  test("CLIENT REPLY OFF / SKIP / ON", async () => {
    const d = await RawClient.connect(srv.port);
    d.write("*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n*2\r\n$4\r\nECHO\r\n$1\r\na\r\n*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$2\r\nON\r\n");
    assert.equal(await d.read(), OK);
    d.write("*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$4\r\nSKIP\r\n*2\r\n$4\r\nECHO\r\n$1\r\nb\r\n*2\r\n$4\r\nECHO\r\n$1\r\nc\r\n");
    assert.equal(await d.read(), bulk("c"));
    d.close();
  });

  test("CLIENT PAUSE holds commands until the pause ends", async () => {
    const d = await RawClient.connect(srv.port);
    assert.equal(await c.call("CLIENT", "PAUSE", "300", "WRITE"), OK);
    const t0 = Date.now();
    assert.equal(await d.call("ECHO", "reads run"), bulk("reads run"));
    assert.ok(Date.now() - t0 < 200);
    assert.equal(await d.call("FLUSHDB"), OK);
    assert.ok(Date.now() - t0 >= 250, "a write waited for the pause to end");
    assert.equal(await c.call("CLIENT", "PAUSE", "5000"), OK);
    d.write("*1\r\n$4\r\nPING\r\n");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(d.pending(), "");
    assert.equal(await c.call("CLIENT", "UNPAUSE"), OK);
    assert.equal(await d.read(), "+PONG\r\n");
    d.close();
  });
});

describe("server commands", () => {
  let srv: AkiServer;
  let c: RawClient;
  before(async () => {
    srv = await startServer(["--maxclients", "50"]);
    c = await RawClient.connect(srv.port);
  });
  after(async () => {
    c.close();
    await srv.stop();
  });

  test("INFO has Redis's sections and fields", async () => {
    const info = await c.call("INFO");
    for (const s of ["# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "# CPU", "# Modules", "# Errorstats", "# Cluster", "# Keyspace"]) {
      assert.ok(info.includes(s + "\r\n"), `INFO lacks ${s}`);
    }
    assert.match(info, /redis_version:7\.2\.\d+\r\n/);
    assert.match(info, /redis_mode:standalone\r\n/);
    assert.match(info, /connected_clients:\d+\r\n/);
    assert.match(info, /maxclients:50\r\n/);
    assert.match(info, /role:master\r\n/);
    assert.match(info, /acl_access_denied_auth:0\r\n/);
    assert.ok(!info.includes("# Commandstats"));
    const one = await c.call("INFO", "clients");
    assert.ok(one.includes("# Clients") && !one.includes("# Server"));
    await c.call("ECHO", "x");
    const all = await c.call("INFO", "commandstats");
    assert.match(all, /cmdstat_echo:calls=\d+,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=0,failed_calls=0\r\n/);
    await c.call("GET");
    assert.match(await c.call("INFO", "errorstats"), /errorstat_ERR:count=\d+\r\n/);
  });

  test("CONFIG GET with glob patterns and several arguments", async () => {
    assert.equal(await c.call("CONFIG", "GET", "maxclients"), bulks("maxclients", "50"));
    const r = await c.call("CONFIG", "GET", "maxclients", "timeout", "max*");
    assert.ok(r.startsWith("*"));
    assert.ok(r.includes(bulk("timeout") + bulk("0")));
    assert.equal(await c.call("CONFIG", "GET", "nosuchthing"), "*0\r\n");
    assert.equal(await c.call("CONFIG", "GET", "client-output-buffer-limit"), bulks("client-output-buffer-limit", "normal 268435456 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")); // aki's default normal limit (Redis: 0)
  });

  test("CONFIG SET: several pairs, atomic, Redis's errors", async () => {
    assert.equal(await c.call("CONFIG", "SET", "timeout", "100", "hz", "20"), OK);
    assert.equal(await c.call("CONFIG", "GET", "timeout"), bulks("timeout", "100"));
    assert.equal(await c.call("CONFIG", "SET", "timeout", "5", "maxclients", "abc"), err("ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer"));
    assert.equal(await c.call("CONFIG", "GET", "timeout"), bulks("timeout", "100"), "nothing changed");
    assert.equal(await c.call("CONFIG", "SET", "nosuch", "1"), err("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"));
    assert.equal(await c.call("CONFIG", "SET", "port", "1"), err("ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config"));
    assert.equal(await c.call("CONFIG", "SET", "protected-mode", "maybe"), err("ERR CONFIG SET failed (possibly related to argument 'protected-mode') - argument must be 'yes' or 'no'"));
    assert.equal(await c.call("CONFIG", "SET", "timeout"), err("ERR wrong number of arguments for 'config|set' command"));
    assert.equal(await c.call("CONFIG", "SET", "timeout", "1", "hz"), err("ERR wrong number of arguments for 'config|set' command"));
    assert.equal(await c.call("CONFIG", "SET", "timeout", "0"), OK);
    assert.equal(await c.call("CONFIG", "SET", "maxmemory-policy", "bogus"), err("ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"));
    assert.equal(await c.call("CONFIG", "REWRITE"), err("ERR The server is running without a config file"));
    assert.equal(await c.call("CONFIG", "RESETSTAT"), OK);
  });

  test("DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME, LASTSAVE", async () => {
    assert.equal(await c.call("FLUSHALL"), OK);
    assert.equal(await c.call("DBSIZE"), int(0));
    assert.equal(await c.call("FLUSHDB", "ASYNC"), OK);
    assert.equal(await c.call("FLUSHDB", "BOGUS"), err("ERR syntax error"));
    assert.equal(await c.call("SWAPDB", "0", "1"), OK);
    assert.equal(await c.call("SWAPDB", "0", "99"), err("ERR DB index is out of range"));
    assert.equal(await c.call("SWAPDB", "x", "1"), err("ERR invalid first DB index"));
    const t = await c.call("TIME");
    const m = /^\*2\r\n\$\d+\r\n(\d+)\r\n\$\d+\r\n(\d+)\r\n$/.exec(t);
    assert.ok(m, t);
    assert.ok(Math.abs(Number(m![1]) - Date.now() / 1000) < 5);
    assert.match(await c.call("LASTSAVE"), /^:\d+\r\n$/);
    assert.equal(await c.call("FUNCTION", "FLUSH"), OK);
  });

  test("COMMAND COUNT / INFO / LIST / GETKEYS / GETKEYSANDFLAGS / DOCS", async () => {
    const count = Number((await c.call("COMMAND", "COUNT")).slice(1, -2));
    assert.ok(count >= 230, `count ${count}`);
    assert.equal(
      await c.call("COMMAND", "INFO", "get"),
      "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n" +
        "*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+ACCESS\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n" +
        "$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n",
    );
    assert.equal(await c.call("COMMAND", "INFO", "nosuch"), "*1\r\n$-1\r\n");
    assert.equal(await c.call("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"), bulks("a", "b"));
    assert.equal(await c.call("COMMAND", "GETKEYS", "ZUNIONSTORE", "dst", "2", "k1", "k2"), bulks("dst", "k1", "k2"));
    assert.equal(await c.call("COMMAND", "GETKEYS", "ECHO", "a"), err("ERR The command has no key arguments"));
    assert.equal(await c.call("COMMAND", "GETKEYS", "NOSUCH", "a"), err("ERR Invalid command specified"));
    assert.equal(await c.call("COMMAND", "GETKEYS", "SET", "a"), err("ERR Invalid number of arguments specified for command"));
    assert.equal(await c.call("COMMAND", "GETKEYS", "PING"), err("ERR wrong number of arguments for 'command|getkeys' command"));
    assert.equal(
      await c.call("COMMAND", "GETKEYSANDFLAGS", "LMOVE", "a", "b", "LEFT", "RIGHT"),
      arr(arr(bulk("a"), "*3\r\n+RW\r\n+ACCESS\r\n+DELETE\r\n"), arr(bulk("b"), "*2\r\n+RW\r\n+INSERT\r\n")),
    );
    const list = await c.call("COMMAND", "LIST", "FILTERBY", "ACLCAT", "hyperloglog");
    assert.ok(list.includes(bulk("pfadd")) && list.includes(bulk("pfcount")));
    assert.ok((await c.call("COMMAND", "LIST")).includes(bulk("config|get")));
    const docs = await c.call("COMMAND", "DOCS", "get");
    assert.ok(docs.includes(bulk("since") + bulk("1.0.0")) && docs.includes(bulk("group") + bulk("string")));
  });

  test("maxclients refuses extra connections with Redis's error", async () => {
    await c.call("CONFIG", "SET", "maxclients", "3");
    const a = await RawClient.connect(srv.port);
    const b = await RawClient.connect(srv.port);
    assert.equal(await a.call("PING"), "+PONG\r\n");
    assert.equal(await b.call("PING"), "+PONG\r\n");
    const extra = await RawClient.connect(srv.port);
    assert.equal(await extra.read(), err("ERR max number of clients reached"));
    assert.equal(await extra.waitClosed(), true);
    a.close();
    b.close();
    await new Promise((r) => setTimeout(r, 100));
    await c.call("CONFIG", "SET", "maxclients", "50");
    assert.match(await c.call("INFO", "stats"), /rejected_connections:[1-9]/);
  });

  test("timeout closes idle clients", async () => {
    await c.call("CONFIG", "SET", "timeout", "1");
    const idle = await RawClient.connect(srv.port);
    await idle.call("PING");
    // Keep the control connection busy so only the idle one times out.
    const keepAlive = setInterval(() => c.write("*1\r\n$4\r\nPING\r\n"), 200);
    const closed = await idle.waitClosed(4000);
    clearInterval(keepAlive);
    assert.equal(closed, true);
    while (c.pending() !== "") await c.read();
    await c.call("CONFIG", "SET", "timeout", "0");
  });

  test("client-output-buffer-limit normal disconnects a client that does not read", async () => {
    await c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 256kb 0 0");
    const slow = await RawClient.connect(srv.port);
    slow.sock.pause();
    const big = "x".repeat(64 * 1024);
    const parts: string[] = [];
    for (let i = 0; i < 400; i++) parts.push(`*2\r\n$4\r\nECHO\r\n$${big.length}\r\n${big}\r\n`);
    slow.write(parts.join(""));
    await new Promise((r) => setTimeout(r, 1500));
    slow.sock.resume();
    assert.equal(await slow.waitClosed(5000), true);
    await c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 256mb 0 0");
    assert.match(await c.call("INFO", "stats"), /client_output_buffer_limit_disconnections:[1-9]/);
    assert.equal(await c.call("PING"), "+PONG\r\n");
  });
});
