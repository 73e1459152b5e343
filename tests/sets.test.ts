/**
 * Set commands through real sockets, byte for byte against Redis 7.2's replies: SADD/SREM/
 * SMOVE, membership, SPOP / SRANDMEMBER (counts, repeats, shapes), SINTER / SUNION / SDIFF and
 * their STORE variants (destination deleted when empty), SINTERCARD, SSCAN, RESP3 set replies,
 * integer sets listed in numeric order, WRONGTYPE, keyspace events, 100,000-member sets, the
 * journal replaying SPOP as SREM / DEL, and ioredis / node-redis calls.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import Redis from "ioredis";
import { createClient } from "redis";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startServer, RawClient, bulk, bulks, arr, int, err, OK, NIL, type AkiServer } from "./harness.ts";

const WRONGTYPE = err("WRONGTYPE Operation against a key holding the wrong kind of value");
/** RESP3 set reply text of bulk strings. */
const set3 = (...items: string[]): string => `~${items.length}\r\n${items.map(bulk).join("")}`;

/** Parse a flat array of bulk strings (no nesting, any aggregate type) into strings. */
function parseBulks(raw: string): string[] {
  const out: string[] = [];
  const re = /\$(\d+)\r\n/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(raw)) !== null) {
    const start = m.index + m[0].length;
    out.push(raw.slice(start, start + Number(m[1])));
    re.lastIndex = start + Number(m[1]) + 2;
  }
  return out;
}

const sorted = (xs: string[]) => [...xs].sort();

describe("sets", () => {
  let srv: AkiServer;
  let c: RawClient;
  let c3: RawClient;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aki-sets-"));
  const dbfile = path.join(dir, "data.aki");
  before(async () => {
    srv = await startServer(["--dbfile", dbfile]);
    c = await RawClient.connect(srv.port);
    c3 = await RawClient.connect(srv.port);
    await c3.call("HELLO", "3");
  });
  after(async () => {
    c.close();
    c3.close();
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("SADD / SREM / SCARD / SISMEMBER / SMISMEMBER / SMEMBERS", async () => {
    await c.call("DEL", "s1");
    assert.equal(await c.call("SADD", "s1", "a", "b", "a"), int(2));
    assert.equal(await c.call("SADD", "s1", "b", "c"), int(1));
    assert.equal(await c.call("SCARD", "s1"), int(3));
    assert.equal(await c.call("SCARD", "nokey"), int(0));
    assert.equal(await c.call("SISMEMBER", "s1", "a"), int(1));
    assert.equal(await c.call("SISMEMBER", "s1", "z"), int(0));
    assert.equal(await c3.call("SISMEMBER", "s1", "a"), int(1));
    assert.equal(await c.call("SISMEMBER", "nokey", "a"), int(0));
    assert.equal(await c.call("SMISMEMBER", "s1", "a", "z", "c"), arr(int(1), int(0), int(1)));
    assert.equal(await c.call("SMISMEMBER", "nokey", "a"), arr(int(0)));
    assert.equal(await c.call("SMEMBERS", "s1"), bulks("a", "b", "c"));
    assert.equal(await c3.call("SMEMBERS", "s1"), set3("a", "b", "c"));
    assert.equal(await c.call("SMEMBERS", "nokey"), "*0\r\n");
    assert.equal(await c3.call("SMEMBERS", "nokey"), "~0\r\n");
    assert.equal(await c.call("SREM", "s1", "a", "z"), int(1));
    assert.equal(await c.call("SREM", "nokey", "a"), int(0));
    assert.equal(await c.call("SREM", "s1", "b", "c"), int(2));
    assert.equal(await c.call("EXISTS", "s1"), int(0));
  });

  test("integer sets list in numeric order; a string added keeps the integers' order first", async () => {
    await c.call("DEL", "ints", "mixed");
    await c.call("SADD", "ints", "5", "3", "-1", "10");
    assert.equal(await c.call("SMEMBERS", "ints"), bulks("-1", "3", "5", "10"));
    assert.equal(await c.call("SSCAN", "ints", "0"), arr(bulk("0"), bulks("-1", "3", "5", "10")));
    await c.call("SADD", "ints", "x", "7");
    assert.equal(await c.call("SMEMBERS", "ints"), bulks("-1", "3", "5", "10", "x", "7"));
    await c.call("SADD", "mixed", "b", "2", "1");
    assert.equal(await c.call("SMEMBERS", "mixed"), bulks("b", "2", "1"));
  });

  test("SMOVE", async () => {
    await c.call("DEL", "src", "dst");
    await c.call("SADD", "src", "a", "b");
    await c.call("SADD", "dst", "b");
    assert.equal(await c.call("SMOVE", "src", "dst", "a"), int(1));
    assert.equal(await c.call("SMOVE", "src", "dst", "a"), int(0));
    assert.equal(await c.call("SMOVE", "src", "dst", "b"), int(1));
    assert.equal(await c.call("EXISTS", "src"), int(0));
    assert.equal(await c.call("SMEMBERS", "dst"), bulks("b", "a"));
    assert.equal(await c.call("SMOVE", "dst", "dst", "a"), int(1));
    assert.equal(await c.call("SMOVE", "dst", "dst", "zz"), int(0));
    assert.equal(await c.call("SMOVE", "nokey", "dst", "a"), int(0));
    assert.equal(await c.call("SMOVE", "dst", "newset", "a"), int(1));
    assert.equal(await c.call("SMEMBERS", "newset"), bulks("a"));
    await c.call("SET", "str", "v");
    assert.equal(await c.call("SMOVE", "nokey", "str", "a"), int(0));
    assert.equal(await c.call("SMOVE", "str", "dst", "a"), WRONGTYPE);
    assert.equal(await c.call("SMOVE", "dst", "str", "b"), WRONGTYPE);
  });

  test("SPOP with and without count", async () => {
    await c.call("DEL", "sp");
    await c.call("SADD", "sp", "a", "b", "c", "d");
    const one = parseBulks(await c.call("SPOP", "sp"))[0];
    assert.ok(["a", "b", "c", "d"].includes(one));
    assert.equal(await c.call("SISMEMBER", "sp", one), int(0));
    const two = parseBulks(await c.call("SPOP", "sp", "2"));
    assert.equal(two.length, 2);
    assert.equal(await c.call("SCARD", "sp"), int(1));
    const rest = await c3.call("SPOP", "sp", "5");
    assert.match(rest, /^~1\r\n/);
    assert.equal(await c.call("EXISTS", "sp"), int(0));
    assert.deepEqual(sorted([one, ...two, ...parseBulks(rest)]), ["a", "b", "c", "d"]);
    assert.equal(await c.call("SPOP", "sp"), NIL);
    assert.equal(await c3.call("SPOP", "sp"), "_\r\n");
    assert.equal(await c.call("SPOP", "sp", "2"), "*0\r\n");
    assert.equal(await c3.call("SPOP", "sp", "2"), "~0\r\n");
    await c.call("SADD", "sp", "x");
    assert.equal(await c3.call("SPOP", "sp", "0"), "~0\r\n");
    assert.equal(await c.call("SPOP", "sp", "-1"), err("ERR value is out of range, must be positive"));
    assert.equal(await c.call("SPOP", "sp", "x"), err("ERR value is out of range, must be positive"));
    assert.equal(await c.call("SPOP", "sp", "1", "2"), err("ERR syntax error"));
  });

  test("SRANDMEMBER: single, distinct counts, negative counts with repeats, errors", async () => {
    await c.call("DEL", "sr");
    await c.call("SADD", "sr", "a", "b", "c");
    assert.ok([bulk("a"), bulk("b"), bulk("c")].includes(await c.call("SRANDMEMBER", "sr")));
    assert.equal(await c.call("SRANDMEMBER", "nokey"), NIL);
    assert.equal(await c.call("SRANDMEMBER", "nokey", "3"), "*0\r\n");
    assert.equal(await c.call("SRANDMEMBER", "sr", "0"), "*0\r\n");
    // Count >= size: the whole set, as an array even in RESP3.
    assert.equal(await c.call("SRANDMEMBER", "sr", "5"), bulks("a", "b", "c"));
    assert.equal(await c3.call("SRANDMEMBER", "sr", "3"), bulks("a", "b", "c"));
    const two = parseBulks(await c.call("SRANDMEMBER", "sr", "2"));
    assert.equal(new Set(two).size, 2);
    const many = parseBulks(await c.call("SRANDMEMBER", "sr", "-50"));
    assert.equal(many.length, 50);
    assert.deepEqual(sorted([...new Set(many)]), ["a", "b", "c"]);
    assert.equal(await c.call("SCARD", "sr"), int(3));
    assert.equal(
      await c.call("SRANDMEMBER", "sr", "-9223372036854775808"),
      err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
    );
    assert.equal(await c.call("SRANDMEMBER", "sr", "x"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("SRANDMEMBER", "sr", "1", "2"), err("ERR syntax error"));
  });

  test("SINTER / SUNION / SDIFF and their RESP3 set shape", async () => {
    await c.call("DEL", "x", "y", "z");
    await c.call("SADD", "x", "a", "b", "c", "d");
    await c.call("SADD", "y", "c", "d", "e");
    await c.call("SADD", "z", "d");
    assert.equal(await c.call("SINTER", "x", "y"), bulks("c", "d"));
    assert.equal(await c.call("SINTER", "x", "y", "z"), bulks("d"));
    assert.equal(await c.call("SINTER", "x", "nokey"), "*0\r\n");
    assert.equal(await c3.call("SINTER", "x", "y"), set3("c", "d"));
    assert.equal(await c3.call("SINTER", "x", "nokey"), "~0\r\n");
    assert.equal(await c.call("SUNION", "x", "y", "nokey"), bulks("a", "b", "c", "d", "e"));
    assert.equal(await c3.call("SUNION", "nokey"), "~0\r\n");
    assert.equal(await c.call("SDIFF", "x", "y"), bulks("a", "b"));
    assert.equal(await c.call("SDIFF", "x", "nokey", "z"), bulks("a", "b", "c"));
    assert.equal(await c.call("SDIFF", "nokey", "x"), "*0\r\n");
    assert.equal(await c.call("SDIFF", "x", "x"), "*0\r\n");
    assert.equal(await c3.call("SDIFF", "y", "x"), set3("e"));
    await c.call("SET", "str", "v");
    // WRONGTYPE wins even after a missing key.
    assert.equal(await c.call("SINTER", "nokey", "str"), WRONGTYPE);
    assert.equal(await c.call("SUNION", "x", "str"), WRONGTYPE);
    assert.equal(await c.call("SDIFF", "nokey", "str"), WRONGTYPE);
  });

  test("STORE variants replace the destination or delete it when the result is empty", async () => {
    await c.call("DEL", "x", "y", "d");
    await c.call("SADD", "x", "a", "b", "c");
    await c.call("SADD", "y", "b", "c", "e");
    await c.call("SET", "d", "old", "EX", "100");
    assert.equal(await c.call("SINTERSTORE", "d", "x", "y"), int(2));
    assert.equal(await c.call("TTL", "d"), int(-1));
    assert.equal(await c.call("SMEMBERS", "d"), bulks("b", "c"));
    assert.equal(await c.call("SUNIONSTORE", "d", "x", "y"), int(4));
    assert.equal(await c.call("SMEMBERS", "d"), bulks("a", "b", "c", "e"));
    assert.equal(await c.call("SDIFFSTORE", "d", "x", "y"), int(1));
    assert.equal(await c.call("SMEMBERS", "d"), bulks("a"));
    // The destination may be a source.
    assert.equal(await c.call("SUNIONSTORE", "x", "x", "y"), int(4));
    assert.equal(await c.call("SINTERSTORE", "d", "x", "nokey"), int(0));
    assert.equal(await c.call("EXISTS", "d"), int(0));
    await c.call("SADD", "d", "z");
    assert.equal(await c.call("SDIFFSTORE", "d", "x", "x"), int(0));
    assert.equal(await c.call("EXISTS", "d"), int(0));
    assert.equal(await c.call("SUNIONSTORE", "d", "nokey"), int(0));
    assert.equal(await c.call("SINTERSTORE", "d", "x", "str"), WRONGTYPE);
    // A non-set destination is simply replaced.
    assert.equal(await c.call("SUNIONSTORE", "str2", "x"), int(4));
    await c.call("SET", "str", "v");
    assert.equal(await c.call("SUNIONSTORE", "str", "y"), int(3));
    assert.equal(await c.call("TYPE", "str"), "+set\r\n");
    await c.call("SET", "str", "v");
  });

  test("SINTERCARD with LIMIT and its errors", async () => {
    await c.call("DEL", "x", "y");
    await c.call("SADD", "x", "a", "b", "c", "d");
    await c.call("SADD", "y", "b", "c", "d", "e");
    assert.equal(await c.call("SINTERCARD", "2", "x", "y"), int(3));
    assert.equal(await c.call("SINTERCARD", "2", "x", "y", "LIMIT", "2"), int(2));
    assert.equal(await c.call("SINTERCARD", "2", "x", "y", "LIMIT", "0"), int(3));
    assert.equal(await c.call("SINTERCARD", "1", "x"), int(4));
    assert.equal(await c.call("SINTERCARD", "2", "x", "nokey"), int(0));
    assert.equal(await c.call("SINTERCARD", "0", "x"), err("ERR numkeys should be greater than 0"));
    assert.equal(await c.call("SINTERCARD", "x", "x"), err("ERR numkeys should be greater than 0"));
    assert.equal(await c.call("SINTERCARD", "3", "x", "y"), err("ERR Number of keys can't be greater than number of args"));
    assert.equal(await c.call("SINTERCARD", "1", "x", "LIMIT", "-1"), err("ERR LIMIT can't be negative"));
    assert.equal(await c.call("SINTERCARD", "1", "x", "LIMIT", "x"), err("ERR LIMIT can't be negative"));
    assert.equal(await c.call("SINTERCARD", "1", "x", "LIMIT"), err("ERR syntax error"));
    assert.equal(await c.call("SINTERCARD", "1", "x", "FOO", "1"), err("ERR syntax error"));
    await c.call("SET", "str", "v");
    assert.equal(await c.call("SINTERCARD", "2", "nokey", "str"), WRONGTYPE);
  });

  test("SSCAN: small set whole, big set by cursor, MATCH, errors", async () => {
    await c.call("DEL", "ss");
    await c.call("SADD", "ss", "foo", "bar", "fab");
    assert.equal(await c.call("SSCAN", "ss", "0"), arr(bulk("0"), bulks("foo", "bar", "fab")));
    assert.equal(await c.call("SSCAN", "ss", "0", "MATCH", "f*", "COUNT", "1"), arr(bulk("0"), bulks("foo", "fab")));
    assert.equal(await c.call("SSCAN", "nokey", "0"), arr(bulk("0"), "*0\r\n"));
    assert.equal(await c.call("SSCAN", "ss", "-1"), err("ERR invalid cursor"));
    assert.equal(await c.call("SSCAN", "ss", "0", "COUNT", "0"), err("ERR syntax error"));
    assert.equal(await c.call("SSCAN", "str", "0"), WRONGTYPE);
    const members: string[] = [];
    for (let i = 0; i < 1000; i++) members.push("m" + i);
    await c.call("DEL", "sbig");
    await c.call("SADD", "sbig", ...members);
    const seen = new Set<string>();
    let cursor = "0";
    let rounds = 0;
    do {
      const items = parseBulks(await c.call("SSCAN", "sbig", cursor, "COUNT", "50"));
      cursor = items[0];
      for (const m of items.slice(1)) {
        assert.ok(!seen.has(m), "member seen twice");
        seen.add(m);
      }
      rounds++;
    } while (cursor !== "0" && rounds < 1000);
    assert.equal(seen.size, 1000);
    assert.ok(rounds > 1);
  });

  test("WRONGTYPE on every set command", async () => {
    await c.call("SET", "str", "v");
    for (const cmd of [
      ["SADD", "str", "a"], ["SREM", "str", "a"], ["SMEMBERS", "str"], ["SISMEMBER", "str", "a"],
      ["SMISMEMBER", "str", "a"], ["SCARD", "str"], ["SPOP", "str"], ["SPOP", "str", "1"],
      ["SRANDMEMBER", "str"], ["SRANDMEMBER", "str", "1"], ["SMOVE", "str", "x", "a"],
      ["SINTER", "str"], ["SINTERSTORE", "d", "str"], ["SINTERCARD", "1", "str"], ["SUNION", "str"],
      ["SUNIONSTORE", "d", "str"], ["SDIFF", "str"], ["SDIFFSTORE", "d", "str"], ["SSCAN", "str", "0"],
    ]) {
      assert.equal(await c.call(...cmd), WRONGTYPE, cmd.join(" "));
    }
  });

  test("keyspace events: sadd, srem, spop, smove (srem + sadd), stores, del", async () => {
    const sub = await RawClient.connect(srv.port);
    try {
      await c.call("DEL", "e1", "e2", "e3", "ed");
      assert.equal(await c.call("CONFIG", "SET", "notify-keyspace-events", "KEA"), OK);
      await sub.call("PSUBSCRIBE", "__keyevent@0__:*");
      await c.call("SADD", "e1", "a", "b", "c");
      await c.call("SREM", "e1", "a");
      await c.call("SMOVE", "e1", "e2", "b");
      await c.call("SINTERSTORE", "ed", "e1", "e1");
      await c.call("SUNIONSTORE", "ed", "e1", "e2");
      await c.call("SDIFFSTORE", "ed", "e1", "e1");
      await c.call("SPOP", "e1");
      const want = [
        "sadd:e1", "srem:e1", "srem:e1", "sadd:e2", "sinterstore:ed", "sunionstore:ed", "del:ed", "spop:e1", "del:e1",
      ];
      const got: string[] = [];
      for (let i = 0; i < want.length; i++) {
        const m = parseBulks(await sub.read());
        got.push(m[2].replace("__keyevent@0__:", "") + ":" + m[3]);
      }
      assert.deepEqual(got, want);
    } finally {
      await c.call("CONFIG", "SET", "notify-keyspace-events", "");
      sub.close();
    }
  });

  test("100,000 members: counts, membership, set algebra, popping everything", async () => {
    const n = 100000;
    await c.call("DEL", "ba", "bb", "bd");
    for (let base = 0; base < n; base += 10000) {
      const a: string[] = [];
      const b: string[] = [];
      for (let i = base; i < base + 10000; i++) {
        a.push("m" + i);
        if (i % 2 === 0) b.push("m" + i);
      }
      assert.equal(await c.call("SADD", "ba", ...a), int(10000));
      assert.equal(await c.call("SADD", "bb", ...b), int(5000));
    }
    assert.equal(await c.call("SCARD", "ba"), int(n));
    assert.equal(await c.call("SISMEMBER", "ba", "m99999"), int(1));
    assert.equal(await c.call("SINTERCARD", "2", "ba", "bb"), int(n / 2));
    assert.equal(await c.call("SDIFFSTORE", "bd", "ba", "bb"), int(n / 2));
    assert.equal(await c.call("SISMEMBER", "bd", "m1"), int(1));
    assert.equal(await c.call("SISMEMBER", "bd", "m2"), int(0));
    const members = parseBulks(await c.call("SMEMBERS", "ba"));
    assert.equal(members.length, n);
    assert.equal(new Set(members).size, n);
    const rnd = parseBulks(await c.call("SRANDMEMBER", "ba", "1000"));
    assert.equal(new Set(rnd).size, 1000);
    // Pop everything in chunks: every member exactly once.
    const popped = new Set<string>();
    for (let i = 0; i < 10; i++) {
      for (const m of parseBulks(await c.call("SPOP", "ba", "9999"))) popped.add(m);
    }
    assert.equal(await c.call("SCARD", "ba"), int(10));
    for (let i = 0; i < 10; i++) popped.add(parseBulks(await c.call("SPOP", "ba"))[0]);
    assert.equal(popped.size, n);
    assert.equal(await c.call("EXISTS", "ba"), int(0));
    await c.call("DEL", "bb", "bd");
  });

  test("ioredis and node-redis", async () => {
    const io = new Redis({ port: srv.port, lazyConnect: true });
    await io.connect();
    const nr = createClient({ socket: { port: srv.port } });
    await nr.connect();
    try {
      await io.del("cli:s", "cli:t");
      assert.equal(await io.sadd("cli:s", "a", "b", "c"), 3);
      assert.deepEqual(sorted(await io.smembers("cli:s")), ["a", "b", "c"]);
      assert.equal(await io.sismember("cli:s", "b"), 1);
      assert.equal(await nr.sAdd("cli:t", ["b", "c", "d"]), 3);
      assert.deepEqual(sorted(await nr.sInter(["cli:s", "cli:t"])), ["b", "c"]);
      assert.deepEqual(sorted(await nr.sUnion(["cli:s", "cli:t"])), ["a", "b", "c", "d"]);
      assert.equal(await nr.sCard("cli:s"), 3);
      assert.deepEqual((await nr.smIsMember("cli:s", ["a", "z"])).map(Number), [1, 0]);
      const popped = await io.spop("cli:s", 3);
      assert.deepEqual(sorted(popped as string[]), ["a", "b", "c"]);
      assert.equal(await io.exists("cli:s"), 0);
    } finally {
      io.disconnect();
      await nr.quit();
    }
  });

  test("the journal replays SPOP as SREM / DEL and restores the same sets", async () => {
    await c.call("DEL", "js", "jt", "jd");
    const m: string[] = [];
    for (let i = 0; i < 50; i++) m.push("v" + i);
    await c.call("SADD", "js", ...m);
    await c.call("SADD", "jt", "a", "b");
    await c.call("SPOP", "js");
    await c.call("SPOP", "js", "10");
    await c.call("SPOP", "jt", "5");
    await c.call("SMOVE", "js", "jd", "v49");
    await c.call("SUNIONSTORE", "jd", "jd", "js");
    const state = async () => [
      sorted(parseBulks(await c.call("SMEMBERS", "js"))),
      await c.call("EXISTS", "jt"),
      sorted(parseBulks(await c.call("SMEMBERS", "jd"))),
    ];
    const before = await state();
    c.close();
    c3.close();
    await srv.stop();
    srv = await startServer(["--dbfile", dbfile]);
    c = await RawClient.connect(srv.port);
    c3 = await RawClient.connect(srv.port);
    assert.deepEqual(await state(), before);
  });
});
