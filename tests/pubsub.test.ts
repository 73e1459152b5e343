/**
 * Pub/sub through real sockets: SUBSCRIBE family confirmations (RESP2 arrays, RESP3 pushes),
 * message delivery for channels, patterns and shard channels, the RESP2 subscribed-mode
 * restriction, PUBSUB introspection, keyspace notifications, the pubsub output buffer limit,
 * and ioredis / node-redis subscribers.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import Redis from "ioredis";
import { createClient } from "redis";
import { startServer, RawClient, bulk, arr, int, err, OK, NIL, type AkiServer } from "./harness.ts";

const push = (...items: string[]): string => `>${items.length}\r\n${items.join("")}`;
const NULL3 = "_\r\n";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SUBMODE_ERR = (cmd: string) =>
  err(`ERR Can't execute '${cmd}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`);

async function resp3(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  const hello = await c.call("HELLO", "3");
  assert.ok(hello.startsWith("%7\r\n"), hello);
  return c;
}

/** Assert nothing more arrives on c within ms. */
async function silent(c: RawClient, ms = 100): Promise<void> {
  await sleep(ms);
  assert.equal(c.pending(), "");
}

function infoField(info: string, name: string): number {
  const m = new RegExp(`^${name}:(\\d+)`, "m").exec(info);
  assert.ok(m, `no ${name} in INFO`);
  return Number(m[1]);
}

/** Bulk-string payload of a reply ("$n\r\n...\r\n"). */
function bulkText(r: string): string {
  assert.ok(r.startsWith("$"), r);
  return r.slice(r.indexOf("\r\n") + 2, -2);
}

describe("pub/sub", () => {
  let srv: AkiServer;
  let pub: RawClient;
  before(async () => {
    srv = await startServer();
    pub = await RawClient.connect(srv.port);
  });
  after(async () => {
    pub.close();
    await srv.stop();
  });

  test("SUBSCRIBE / UNSUBSCRIBE confirmations in RESP2, one array per channel", async () => {
    const s = await RawClient.connect(srv.port);
    assert.equal(await s.call("SUBSCRIBE", "a", "b"), arr(bulk("subscribe"), bulk("a"), int(1)));
    assert.equal(await s.read(), arr(bulk("subscribe"), bulk("b"), int(2)));
    // Subscribing again keeps the count.
    assert.equal(await s.call("SUBSCRIBE", "a"), arr(bulk("subscribe"), bulk("a"), int(2)));
    assert.equal(await s.call("PSUBSCRIBE", "n*"), arr(bulk("psubscribe"), bulk("n*"), int(3)));
    assert.equal(await s.call("UNSUBSCRIBE", "b", "zz"), arr(bulk("unsubscribe"), bulk("b"), int(2)));
    assert.equal(await s.read(), arr(bulk("unsubscribe"), bulk("zz"), int(2)));
    assert.equal(await s.call("UNSUBSCRIBE"), arr(bulk("unsubscribe"), bulk("a"), int(1)));
    assert.equal(await s.call("UNSUBSCRIBE"), arr(bulk("unsubscribe"), NIL, int(1)));
    assert.equal(await s.call("PUNSUBSCRIBE"), arr(bulk("punsubscribe"), bulk("n*"), int(0)));
    assert.equal(await s.call("PUNSUBSCRIBE"), arr(bulk("punsubscribe"), NIL, int(0)));
    assert.equal(await s.call("SUNSUBSCRIBE"), arr(bulk("sunsubscribe"), NIL, int(0)));
    // Out of subscribed mode: ordinary commands work again.
    assert.equal(await s.call("ECHO", "x"), bulk("x"));
    await silent(s);
    s.close();
  });

  test("unsubscribe without subscriptions: [unsubscribe, nil, 0]", async () => {
    const s = await RawClient.connect(srv.port);
    assert.equal(await s.call("UNSUBSCRIBE"), "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
    const s3 = await resp3(srv.port);
    assert.equal(await s3.call("UNSUBSCRIBE"), ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n");
    assert.equal(await s3.call("PUNSUBSCRIBE"), push(bulk("punsubscribe"), NULL3, int(0)));
    assert.equal(await s3.call("SUNSUBSCRIBE"), push(bulk("sunsubscribe"), NULL3, int(0)));
    s.close();
    s3.close();
  });

  test("RESP2 subscribed mode allows only the subscribe family, PING, QUIT, RESET", async () => {
    const s = await RawClient.connect(srv.port);
    await s.call("SUBSCRIBE", "ch");
    assert.equal(await s.call("PING"), arr(bulk("pong"), bulk("")));
    assert.equal(await s.call("PING", "hey"), arr(bulk("pong"), bulk("hey")));
    assert.equal(await s.call("ECHO", "x"), SUBMODE_ERR("echo"));
    assert.equal(await s.call("CLIENT", "ID"), SUBMODE_ERR("client|id"));
    assert.equal(await s.call("MULTI"), SUBMODE_ERR("multi"));
    assert.equal(await s.call("PUBLISH", "ch", "x"), SUBMODE_ERR("publish"));
    assert.equal(await s.call("SSUBSCRIBE", "sh"), arr(bulk("ssubscribe"), bulk("sh"), int(1)));
    // RESET leaves subscribed mode without confirmations.
    assert.equal(await s.call("RESET"), "+RESET\r\n");
    assert.equal(await s.call("PING"), "+PONG\r\n");
    assert.equal(await pub.call("PUBSUB", "NUMSUB", "ch"), arr(bulk("ch"), int(0)));
    assert.equal(await pub.call("PUBSUB", "SHARDNUMSUB", "sh"), arr(bulk("sh"), int(0)));
    await silent(s);
    s.close();
  });

  test("PUBLISH delivers to channel subscribers then pattern subscribers", async () => {
    const s1 = await RawClient.connect(srv.port);
    const s2 = await RawClient.connect(srv.port);
    await s1.call("SUBSCRIBE", "news.tech");
    await s2.call("PSUBSCRIBE", "news.*");
    assert.equal(await pub.call("PUBLISH", "news.tech", "hello"), int(2));
    assert.equal(await s1.read(), arr(bulk("message"), bulk("news.tech"), bulk("hello")));
    assert.equal(await s2.read(), arr(bulk("pmessage"), bulk("news.*"), bulk("news.tech"), bulk("hello")));
    assert.equal(await pub.call("PUBLISH", "news.art", "x"), int(1));
    assert.equal(await s2.read(), arr(bulk("pmessage"), bulk("news.*"), bulk("news.art"), bulk("x")));
    assert.equal(await pub.call("PUBLISH", "other", "x"), int(0));
    await silent(s1);
    await silent(s2, 0);
    s1.close();
    s2.close();
  });

  test("one client on a channel and two matching patterns gets three messages", async () => {
    const s = await RawClient.connect(srv.port);
    await s.call("SUBSCRIBE", "a.b");
    await s.call("PSUBSCRIBE", "a.*", "?.b");
    await s.read();
    assert.equal(await pub.call("PUBLISH", "a.b", "m"), int(3));
    const got = [await s.read(), await s.read(), await s.read()];
    assert.equal(got[0], arr(bulk("message"), bulk("a.b"), bulk("m")));
    assert.deepEqual(
      got.slice(1).sort(),
      [
        arr(bulk("pmessage"), bulk("?.b"), bulk("a.b"), bulk("m")),
        arr(bulk("pmessage"), bulk("a.*"), bulk("a.b"), bulk("m")),
      ].sort(),
    );
    s.close();
  });

  test("pattern syntax: ?, [set], [^set], ranges and escapes", async () => {
    const s = await RawClient.connect(srv.port);
    await s.call("PSUBSCRIBE", "h[ae]llo", "x[^0-9]", "lit\\*");
    await s.read();
    await s.read();
    assert.equal(await pub.call("PUBLISH", "hallo", "1"), int(1));
    assert.equal(await pub.call("PUBLISH", "hillo", "1"), int(0));
    assert.equal(await pub.call("PUBLISH", "xa", "1"), int(1));
    assert.equal(await pub.call("PUBLISH", "x5", "1"), int(0));
    assert.equal(await pub.call("PUBLISH", "lit*", "1"), int(1));
    assert.equal(await pub.call("PUBLISH", "litx", "1"), int(0));
    assert.equal(await s.read(), arr(bulk("pmessage"), bulk("h[ae]llo"), bulk("hallo"), bulk("1")));
    assert.equal(await s.read(), arr(bulk("pmessage"), bulk("x[^0-9]"), bulk("xa"), bulk("1")));
    assert.equal(await s.read(), arr(bulk("pmessage"), bulk("lit\\*"), bulk("lit*"), bulk("1")));
    s.close();
  });

  test("binary channels and messages pass through byte for byte", async () => {
    const s = await RawClient.connect(srv.port);
    const ch = Buffer.from([0, 0xff, 0x0d, 0x0a, 0x80]);
    const msg = Buffer.from([0xc3, 0x28, 0, 0x0a]);
    await s.call("SUBSCRIBE", ch);
    assert.equal(await pub.call("PUBLISH", ch, msg), int(1));
    const r = await s.read();
    assert.equal(r, arr(bulk("message"), bulk(ch.toString("latin1")), bulk(msg.toString("latin1"))));
    s.close();
  });

  test("RESP3: confirmations and messages are pushes, any command may run", async () => {
    const s = await resp3(srv.port);
    assert.equal(await s.call("SUBSCRIBE", "r3"), push(bulk("subscribe"), bulk("r3"), int(1)));
    assert.equal(await s.call("PSUBSCRIBE", "r*"), push(bulk("psubscribe"), bulk("r*"), int(2)));
    assert.equal(await s.call("SSUBSCRIBE", "s3"), push(bulk("ssubscribe"), bulk("s3"), int(1)));
    assert.equal(await s.call("PING"), "+PONG\r\n");
    assert.equal(await s.call("ECHO", "e"), bulk("e"));
    assert.equal(await pub.call("PUBLISH", "r3", "v"), int(2));
    assert.equal(await s.read(), push(bulk("message"), bulk("r3"), bulk("v")));
    assert.equal(await s.read(), push(bulk("pmessage"), bulk("r*"), bulk("r3"), bulk("v")));
    assert.equal(await pub.call("SPUBLISH", "s3", "w"), int(1));
    assert.equal(await s.read(), push(bulk("smessage"), bulk("s3"), bulk("w")));
    assert.equal(await s.call("UNSUBSCRIBE", "r3"), push(bulk("unsubscribe"), bulk("r3"), int(1)));
    assert.equal(await s.call("PUNSUBSCRIBE", "r*"), push(bulk("punsubscribe"), bulk("r*"), int(0)));
    assert.equal(await s.call("SUNSUBSCRIBE", "s3"), push(bulk("sunsubscribe"), bulk("s3"), int(0)));
    await silent(s);
    s.close();
  });

  test("RESP3: a message to the publishing client itself follows the PUBLISH reply", async () => {
    const s = await resp3(srv.port);
    await s.call("SUBSCRIBE", "self");
    assert.equal(await s.call("PUBLISH", "self", "me"), int(1));
    assert.equal(await s.read(), push(bulk("message"), bulk("self"), bulk("me")));
    // Inside MULTI the push comes after the whole EXEC reply.
    assert.equal(await s.call("MULTI"), OK);
    assert.equal(await s.call("PUBLISH", "self", "t1"), "+QUEUED\r\n");
    assert.equal(await s.call("PING"), "+QUEUED\r\n");
    assert.equal(await s.call("EXEC"), arr(int(1), "+PONG\r\n"));
    assert.equal(await s.read(), push(bulk("message"), bulk("self"), bulk("t1")));
    await silent(s);
    s.close();
  });

  test("shard channels: SSUBSCRIBE / SPUBLISH / SUNSUBSCRIBE, counted apart, no patterns", async () => {
    const s = await RawClient.connect(srv.port);
    const p = await RawClient.connect(srv.port);
    await p.call("PSUBSCRIBE", "*");
    assert.equal(await s.call("SUBSCRIBE", "c1"), arr(bulk("subscribe"), bulk("c1"), int(1)));
    assert.equal(await s.call("SSUBSCRIBE", "sh1", "sh2"), arr(bulk("ssubscribe"), bulk("sh1"), int(1)));
    assert.equal(await s.read(), arr(bulk("ssubscribe"), bulk("sh2"), int(2)));
    assert.equal(await pub.call("SPUBLISH", "sh1", "x"), int(1));
    assert.equal(await s.read(), arr(bulk("smessage"), bulk("sh1"), bulk("x")));
    assert.equal(await pub.call("SPUBLISH", "c1", "x"), int(0));
    assert.equal(await pub.call("PUBSUB", "SHARDCHANNELS"), arr(bulk("sh1"), bulk("sh2")));
    assert.equal(await pub.call("PUBSUB", "SHARDCHANNELS", "*2"), arr(bulk("sh2")));
    assert.equal(await pub.call("PUBSUB", "SHARDNUMSUB", "sh1", "c1"), arr(bulk("sh1"), int(1), bulk("c1"), int(0)));
    assert.equal(await s.call("SUNSUBSCRIBE", "sh1"), arr(bulk("sunsubscribe"), bulk("sh1"), int(1)));
    assert.equal(await s.call("SUNSUBSCRIBE"), arr(bulk("sunsubscribe"), bulk("sh2"), int(0)));
    // Still subscribed to c1: still in subscribed mode.
    assert.equal(await s.call("ECHO", "x"), SUBMODE_ERR("echo"));
    await silent(p);
    s.close();
    p.close();
  });

  test("PUBSUB CHANNELS / NUMSUB / NUMPAT / HELP and INFO counters", async () => {
    const s1 = await RawClient.connect(srv.port);
    const s2 = await RawClient.connect(srv.port);
    await s1.call("SUBSCRIBE", "pc.one");
    await s1.call("SUBSCRIBE", "pc.two");
    await s2.call("SUBSCRIBE", "pc.one");
    await s1.call("PSUBSCRIBE", "pc.*");
    await s2.call("PSUBSCRIBE", "pc.*");
    await s2.call("PSUBSCRIBE", "zz*");
    const chans = await pub.call("PUBSUB", "CHANNELS", "pc.*");
    assert.ok(chans === arr(bulk("pc.one"), bulk("pc.two")) || chans === arr(bulk("pc.two"), bulk("pc.one")), chans);
    assert.equal(await pub.call("PUBSUB", "CHANNELS", "pc.o*"), arr(bulk("pc.one")));
    assert.equal(await pub.call("PUBSUB", "CHANNELS", "nomatch"), "*0\r\n");
    assert.equal(await pub.call("pubsub", "numsub", "pc.one", "pc.two", "pc.none"), arr(bulk("pc.one"), int(2), bulk("pc.two"), int(1), bulk("pc.none"), int(0)));
    assert.equal(await pub.call("PUBSUB", "NUMSUB"), "*0\r\n");
    assert.equal(await pub.call("PUBSUB", "NUMPAT"), int(2));
    const info = await pub.call("INFO", "stats");
    assert.equal(infoField(bulkText(info), "pubsub_channels"), 2);
    assert.equal(infoField(bulkText(info), "pubsub_patterns"), 2);
    assert.equal(
      await pub.call("PUBSUB", "channels", "a", "b"),
      err("ERR unknown subcommand or wrong number of arguments for 'channels'. Try PUBSUB HELP."),
    );
    assert.equal(
      await pub.call("PUBSUB", "SHARDCHANNELS", "a", "b"),
      err("ERR unknown subcommand or wrong number of arguments for 'SHARDCHANNELS'. Try PUBSUB HELP."),
    );
    assert.equal(await pub.call("PUBSUB", "NOPE"), err("ERR unknown subcommand 'NOPE'. Try PUBSUB HELP."));
    assert.equal(await pub.call("PUBSUB", "NUMPAT", "x"), err("ERR wrong number of arguments for 'pubsub|numpat' command"));
    assert.equal(await pub.call("PUBLISH", "x"), err("ERR wrong number of arguments for 'publish' command"));
    assert.equal(await pub.call("SUBSCRIBE"), err("ERR wrong number of arguments for 'subscribe' command"));
    const help = await pub.call("PUBSUB", "HELP");
    assert.ok(help.startsWith("*14\r\n+PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+CHANNELS [<pattern>]\r\n"), help);
    assert.ok(help.endsWith("+HELP\r\n+    Prints this help.\r\n"), help);
    // Disconnected subscribers are forgotten.
    s1.close();
    s2.close();
    for (let i = 0; i < 50; i++) {
      if ((await pub.call("PUBSUB", "NUMPAT")) === int(0)) break;
      await sleep(20);
    }
    assert.equal(await pub.call("PUBSUB", "NUMPAT"), int(0));
    assert.equal(await pub.call("PUBSUB", "CHANNELS", "pc.*"), "*0\r\n");
    assert.equal(await pub.call("PUBSUB", "NUMSUB", "pc.one"), arr(bulk("pc.one"), int(0)));
  });

  test("CLIENT REPLY OFF does not silence confirmations and messages", async () => {
    const s = await RawClient.connect(srv.port);
    s.write("*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n");
    assert.equal(await s.call("SUBSCRIBE", "quiet"), arr(bulk("subscribe"), bulk("quiet"), int(1)));
    assert.equal(await pub.call("PUBLISH", "quiet", "m"), int(1));
    assert.equal(await s.read(), arr(bulk("message"), bulk("quiet"), bulk("m")));
    s.close();
  });

  test("SUBSCRIBE inside MULTI answers inside the EXEC array; SSUBSCRIBE is refused there", async () => {
    const s = await RawClient.connect(srv.port);
    assert.equal(await s.call("MULTI"), OK);
    assert.equal(await s.call("SSUBSCRIBE", "sx"), "+QUEUED\r\n");
    assert.equal(await s.call("SUBSCRIBE", "mx"), "+QUEUED\r\n");
    assert.equal(
      await s.call("EXEC"),
      arr(err("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client"), arr(bulk("subscribe"), bulk("mx"), int(1))),
    );
    assert.equal(await pub.call("PUBLISH", "mx", "in"), int(1));
    assert.equal(await s.read(), arr(bulk("message"), bulk("mx"), bulk("in")));
    s.close();
  });

  test("ioredis: pattern and channel subscriptions", async () => {
    const sub = new Redis({ port: srv.port, lazyConnect: true });
    const p = new Redis({ port: srv.port, lazyConnect: true });
    await sub.connect();
    await p.connect();
    try {
      const got: string[] = [];
      sub.on("message", (ch: string, m: string) => got.push(`message ${ch} ${m}`));
      sub.on("pmessage", (pat: string, ch: string, m: string) => got.push(`pmessage ${pat} ${ch} ${m}`));
      assert.equal(await sub.subscribe("io.a", "io.b"), 2);
      assert.equal(await sub.psubscribe("io.*"), 3);
      assert.equal(await p.publish("io.a", "1"), 2);
      assert.equal(await p.publish("io.zzz", "2"), 1);
      for (let i = 0; i < 100 && got.length < 3; i++) await sleep(10);
      assert.deepEqual(got, ["message io.a 1", "pmessage io.* io.a 1", "pmessage io.* io.zzz 2"]);
      assert.deepEqual(await p.pubsub("NUMSUB", "io.a"), ["io.a", 1]);
      assert.equal(await sub.unsubscribe("io.a", "io.b"), 1);
      assert.equal(await sub.punsubscribe("io.*"), 0);
      assert.equal(await sub.ping(), "PONG");
    } finally {
      sub.disconnect();
      p.disconnect();
    }
  });

  test("node-redis (RESP2 and RESP3): subscribe and pSubscribe", async () => {
    for (const RESP of [2, 3] as const) {
      const sub = createClient({ socket: { port: srv.port, host: "127.0.0.1" }, RESP });
      const p = createClient({ socket: { port: srv.port, host: "127.0.0.1" }, RESP });
      sub.on("error", () => {});
      p.on("error", () => {});
      await sub.connect();
      await p.connect();
      try {
        const got: string[] = [];
        await sub.subscribe("nr.x", (m: string, ch: string) => got.push(`${ch}:${m}`));
        await sub.pSubscribe("nr.*", (m: string, ch: string) => got.push(`p ${ch}:${m}`));
        assert.equal(await p.publish("nr.x", "hi"), 2);
        assert.equal(await p.publish("nr.y", "yo"), 1);
        for (let i = 0; i < 100 && got.length < 3; i++) await sleep(10);
        assert.deepEqual(got.sort(), ["nr.x:hi", "p nr.x:hi", "p nr.y:yo"]);
        assert.deepEqual(await p.pubSubNumPat(), 1);
        await sub.unsubscribe();
        await sub.pUnsubscribe();
      } finally {
        await sub.quit().catch(() => {});
        await p.quit().catch(() => {});
      }
    }
  });
});

describe("keyspace notifications", () => {
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

  const ks = (key: string, ev: string) => arr(bulk("pmessage"), bulk("__key*__:*"), bulk(`__keyspace@0__:${key}`), bulk(ev));
  const ke = (key: string, ev: string) => arr(bulk("pmessage"), bulk("__key*__:*"), bulk(`__keyevent@0__:${ev}`), bulk(key));

  test("off by default", async () => {
    const s = await RawClient.connect(srv.port);
    await s.call("PSUBSCRIBE", "*");
    assert.equal(await c.call("SET", "quiet", "1"), OK);
    await silent(s);
    s.close();
  });

  test("KEA: SET / DEL / EXPIRE deliver keyspace and keyevent messages; expiry delivers expired", async () => {
    assert.equal(await c.call("CONFIG", "SET", "notify-keyspace-events", "KEA"), OK);
    const s = await RawClient.connect(srv.port);
    await s.call("PSUBSCRIBE", "__key*__:*");
    assert.equal(await c.call("SET", "foo", "bar"), OK);
    assert.equal(await s.read(), ks("foo", "set"));
    assert.equal(await s.read(), ke("foo", "set"));
    assert.equal(await c.call("EXPIRE", "foo", "100"), int(1));
    assert.equal(await s.read(), ks("foo", "expire"));
    assert.equal(await s.read(), ke("foo", "expire"));
    assert.equal(await c.call("DEL", "foo"), int(1));
    assert.equal(await s.read(), ks("foo", "del"));
    assert.equal(await s.read(), ke("foo", "del"));
    // Expiry (active or lazy) sends "expired".
    assert.equal(await c.call("SET", "eph", "v", "PX", "30"), OK);
    assert.equal(await s.read(), ks("eph", "set"));
    assert.equal(await s.read(), ke("eph", "set"));
    assert.equal(await s.read(), ks("eph", "expire"));
    assert.equal(await s.read(), ke("eph", "expire"));
    assert.equal(await s.read(2000), ks("eph", "expired"));
    assert.equal(await s.read(), ke("eph", "expired"));
    // Lazy expiry on access.
    assert.equal(await c.call("SET", "eph2", "v", "PX", "1"), OK);
    for (let i = 0; i < 4; i++) await s.read(); // set, expire
    await sleep(5);
    const g = await c.call("GET", "eph2");
    if (g === NIL) {
      assert.equal(await s.read(2000), ks("eph2", "expired"));
      assert.equal(await s.read(), ke("eph2", "expired"));
    }
    await silent(s);
    s.close();
  });

  test("the db index is in the channel name", async () => {
    const s = await RawClient.connect(srv.port);
    await s.call("SUBSCRIBE", "__keyevent@3__:set");
    const o = await RawClient.connect(srv.port);
    assert.equal(await o.call("SELECT", "3"), OK);
    assert.equal(await o.call("SET", "k3", "v"), OK);
    assert.equal(await s.read(), arr(bulk("message"), bulk("__keyevent@3__:set"), bulk("k3")));
    o.close();
    s.close();
  });

  test("class filters: E$ sends string events only, Kg generic keyspace only, En new keys", async () => {
    const s = await RawClient.connect(srv.port);
    await s.call("PSUBSCRIBE", "__key*__:*");
    assert.equal(await c.call("CONFIG", "SET", "notify-keyspace-events", "E$"), OK);
    assert.equal(await c.call("SET", "f1", "v"), OK);
    assert.equal(await c.call("DEL", "f1"), int(1));
    assert.equal(await s.read(), ke("f1", "set"));
    await silent(s);
    assert.equal(await c.call("CONFIG", "SET", "notify-keyspace-events", "Kg"), OK);
    assert.equal(await c.call("SET", "f2", "v"), OK);
    assert.equal(await c.call("DEL", "f2"), int(1));
    assert.equal(await s.read(), ks("f2", "del"));
    await silent(s);
    // K or E alone selects no class: nothing is sent.
    assert.equal(await c.call("CONFIG", "SET", "notify-keyspace-events", "KE"), OK);
    assert.equal(await c.call("SET", "f3", "v"), OK);
    await silent(s);
    // n (new key) is not part of A.
    assert.equal(await c.call("CONFIG", "SET", "notify-keyspace-events", "En"), OK);
    assert.equal(await c.call("SET", "f4", "v"), OK);
    assert.equal(await c.call("SET", "f4", "w"), OK);
    assert.equal(await s.read(), ke("f4", "new"));
    await silent(s);
    assert.equal(await c.call("CONFIG", "SET", "notify-keyspace-events", ""), OK);
    assert.equal(await c.call("SET", "f5", "v"), OK);
    await silent(s);
    s.close();
  });

  test("RESP3: a client's own keyspace events follow its command's reply", async () => {
    assert.equal(await c.call("CONFIG", "SET", "notify-keyspace-events", "E$"), OK);
    const s = await resp3(srv.port);
    await s.call("SUBSCRIBE", "__keyevent@0__:set");
    assert.equal(await s.call("SET", "own", "1"), OK);
    assert.equal(await s.read(), push(bulk("message"), bulk("__keyevent@0__:set"), bulk("own")));
    assert.equal(await c.call("CONFIG", "SET", "notify-keyspace-events", ""), OK);
    s.close();
  });
});

describe("pubsub output buffer limit", () => {
  let srv: AkiServer;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv.stop();
  });

  test("a subscriber that does not read is disconnected; the server keeps serving", async () => {
    const p = await RawClient.connect(srv.port);
    assert.equal(await p.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 512kb 60"), OK);
    const before = infoField(bulkText(await p.call("INFO", "stats")), "client_output_buffer_limit_disconnections");
    const s = await RawClient.connect(srv.port);
    assert.equal(await s.call("SUBSCRIBE", "flood"), arr(bulk("subscribe"), bulk("flood"), int(1)));
    s.sock.pause(); // never read again: the kernel buffers fill, then the server's queue
    const msg = "x".repeat(64 * 1024);
    let cut = false;
    let sent = 0;
    // Kernel socket buffers absorb a few MB first; keep going (up to 64 MB) until the cut.
    for (let i = 0; i < 1024 && !cut; i++) {
      const r = await p.call("PUBLISH", "flood", msg);
      assert.ok(r === int(1) || r === int(0), r);
      sent += msg.length;
      if (r === int(0)) cut = true;
    }
    assert.ok(cut, `subscriber still connected after ${sent} bytes`);
    assert.ok(sent >= 1024 * 1024);
    const after = infoField(bulkText(await p.call("INFO", "stats")), "client_output_buffer_limit_disconnections");
    assert.equal(after, before + 1);
    assert.equal(await p.call("PUBSUB", "NUMSUB", "flood"), arr(bulk("flood"), int(0)));
    assert.equal(await p.call("PING"), "+PONG\r\n");
    s.sock.resume();
    assert.ok(await s.waitClosed(10000), "subscriber socket was not closed");
    p.close();
  });
});
