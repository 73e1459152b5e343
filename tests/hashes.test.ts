/**
 * Hash commands through real sockets, byte for byte against Redis 7.2's replies: HSET family,
 * reads, HDEL emptying a key, HINCRBY / HINCRBYFLOAT (long double formatting, errors),
 * HRANDFIELD shapes (RESP2 flat / RESP3 pairs), HSCAN (small hashes whole, big hashes by
 * cursor), WRONGTYPE everywhere, keyspace events, a 100,000-field hash, and ioredis /
 * node-redis calls.
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
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Parse a flat RESP2 array of bulk strings (no nesting) into strings. */
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

describe("hashes", () => {
  let srv: AkiServer;
  let c: RawClient;
  let c3: RawClient;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aki-hashes-"));
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

  test("HSET / HGET / HMSET / HSETNX / HMGET", async () => {
    assert.equal(await c.call("HSET", "h1", "f1", "v1", "f2", "v2"), int(2));
    assert.equal(await c.call("HSET", "h1", "f1", "x", "f3", "v3"), int(1));
    assert.equal(await c.call("HGET", "h1", "f1"), bulk("x"));
    assert.equal(await c.call("HGET", "h1", "nope"), NIL);
    assert.equal(await c.call("HGET", "nokey", "f"), NIL);
    assert.equal(await c3.call("HGET", "nokey", "f"), "_\r\n");
    assert.equal(await c.call("HMSET", "h1", "f4", "v4"), OK);
    assert.equal(await c.call("HSETNX", "h1", "f4", "zz"), int(0));
    assert.equal(await c.call("HSETNX", "h1", "f5", "v5"), int(1));
    assert.equal(await c.call("HSETNX", "newh", "a", "b"), int(1));
    assert.equal(await c.call("HMGET", "h1", "f1", "nope", "f5"), arr(bulk("x"), NIL, bulk("v5")));
    assert.equal(await c.call("HMGET", "nokey", "a", "b"), arr(NIL, NIL));
    assert.equal(await c.call("HSET", "h1", "odd"), err("ERR wrong number of arguments for 'hset' command"));
    assert.equal(await c.call("HSET", "h1", "a", "b", "c"), err("ERR wrong number of arguments for 'hset' command"));
    assert.equal(await c.call("HMSET", "h1", "a", "b", "c"), err("ERR wrong number of arguments for 'hmset' command"));
    // Binary-safe fields and values.
    const bin = Buffer.from([0, 255, 13, 10, 128]);
    assert.equal(await c.call("HSET", "hb", bin, bin), int(1));
    assert.equal(await c.call("HGET", "hb", bin), `$5\r\n${bin.toString("latin1")}\r\n`);
    assert.equal(await c.call("HSTRLEN", "hb", bin), int(5));
  });

  test("HLEN / HSTRLEN / HEXISTS / HKEYS / HVALS / HGETALL in RESP2 and RESP3", async () => {
    await c.call("DEL", "h2");
    await c.call("HSET", "h2", "a", "1", "b", "22", "c", "333");
    assert.equal(await c.call("HLEN", "h2"), int(3));
    assert.equal(await c.call("HLEN", "nokey"), int(0));
    assert.equal(await c.call("HSTRLEN", "h2", "c"), int(3));
    assert.equal(await c.call("HSTRLEN", "h2", "zz"), int(0));
    assert.equal(await c.call("HSTRLEN", "nokey", "zz"), int(0));
    assert.equal(await c.call("HEXISTS", "h2", "a"), int(1));
    assert.equal(await c.call("HEXISTS", "h2", "z"), int(0));
    assert.equal(await c.call("HKEYS", "h2"), bulks("a", "b", "c"));
    assert.equal(await c.call("HVALS", "h2"), bulks("1", "22", "333"));
    assert.equal(await c.call("HGETALL", "h2"), bulks("a", "1", "b", "22", "c", "333"));
    assert.equal(await c3.call("HGETALL", "h2"), `%3\r\n${bulk("a")}${bulk("1")}${bulk("b")}${bulk("22")}${bulk("c")}${bulk("333")}`);
    assert.equal(await c3.call("HKEYS", "h2"), bulks("a", "b", "c"));
    assert.equal(await c.call("HGETALL", "nokey"), "*0\r\n");
    assert.equal(await c3.call("HGETALL", "nokey"), "%0\r\n");
    assert.equal(await c.call("HKEYS", "nokey"), "*0\r\n");
    assert.equal(await c3.call("HVALS", "nokey"), "*0\r\n");
  });

  test("HDEL removes fields and the key when it empties", async () => {
    await c.call("HSET", "h3", "a", "1", "b", "2");
    assert.equal(await c.call("HDEL", "h3", "a", "zz", "a"), int(1));
    assert.equal(await c.call("EXISTS", "h3"), int(1));
    assert.equal(await c.call("HDEL", "h3", "b", "c"), int(1));
    assert.equal(await c.call("EXISTS", "h3"), int(0));
    assert.equal(await c.call("HDEL", "h3", "b"), int(0));
  });

  test("HINCRBY: results, overflow and errors in Redis's order", async () => {
    await c.call("SET", "str", "v");
    assert.equal(await c.call("HINCRBY", "hi", "n", "5"), int(5));
    assert.equal(await c.call("HINCRBY", "hi", "n", "-7"), int(-2));
    assert.equal(await c.call("HGET", "hi", "n"), bulk("-2"));
    assert.equal(await c.call("HSET", "hi", "big", "9223372036854775807"), int(1));
    assert.equal(await c.call("HINCRBY", "hi", "big", "1"), err("ERR increment or decrement would overflow"));
    assert.equal(await c.call("HINCRBY", "hi", "big", "-1"), ":9223372036854775806\r\n");
    assert.equal(await c.call("HGET", "hi", "big"), bulk("9223372036854775806"));
    assert.equal(await c.call("HINCRBY", "hi", "n", "x"), err("ERR value is not an integer or out of range"));
    await c.call("HSET", "hi", "s", "abc", "f", "1.5");
    assert.equal(await c.call("HINCRBY", "hi", "s", "1"), err("ERR hash value is not an integer"));
    assert.equal(await c.call("HINCRBY", "hi", "f", "1"), err("ERR hash value is not an integer"));
    await c.call("SET", "str", "v");
    // The increment is checked before the type.
    assert.equal(await c.call("HINCRBY", "str", "f", "x"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("HINCRBY", "str", "f", "1"), WRONGTYPE);
  });

  test("HINCRBYFLOAT formats like Redis's long double and checks its errors", async () => {
    await c.call("DEL", "hf");
    assert.equal(await c.call("HINCRBYFLOAT", "hf", "a", "10.5"), bulk("10.5"));
    assert.equal(await c.call("HINCRBYFLOAT", "hf", "a", "0.1"), bulk("10.6"));
    assert.equal(await c.call("HSET", "hf", "b", "5.0e3"), int(1));
    assert.equal(await c.call("HINCRBYFLOAT", "hf", "b", "2.0e2"), bulk("5200"));
    await c.call("HSET", "hf", "c", "100.1");
    assert.equal(await c.call("HINCRBYFLOAT", "hf", "c", "0.2"), bulk("100.3"));
    // 80-bit precision shows through at 17 decimals, exactly as Redis prints it.
    assert.equal(await c.call("HINCRBYFLOAT", "hf", "c", "1e3"), bulk("1100.30000000000000004"));
    assert.equal(await c.call("HINCRBYFLOAT", "hf", "d", "123456789.123456789"), bulk("123456789.12345678899873747"));
    assert.equal(await c.call("HINCRBYFLOAT", "hf", "e", "5e-20"), bulk("0"));
    assert.equal(await c.call("HINCRBYFLOAT", "hf", "g", "0x10"), bulk("16"));
    assert.equal(await c.call("HINCRBYFLOAT", "hf", "g", "-16"), bulk("0"));
    assert.equal(await c.call("HINCRBYFLOAT", "hf", "a", "abc"), err("ERR value is not a valid float"));
    assert.equal(await c.call("HINCRBYFLOAT", "hf", "a", "inf"), err("ERR value is NaN or Infinity"));
    assert.equal(await c.call("HINCRBYFLOAT", "hf", "a", " 1"), err("ERR value is not a valid float"));
    await c.call("HSET", "hf", "s", "abc", "i", "inf");
    assert.equal(await c.call("HINCRBYFLOAT", "hf", "s", "1"), err("ERR hash value is not a float"));
    assert.equal(await c.call("HINCRBYFLOAT", "hf", "i", "1"), err("ERR increment would produce NaN or Infinity"));
    assert.equal(await c.call("HINCRBYFLOAT", "str", "a", "1"), WRONGTYPE);
  });

  test("HRANDFIELD: single, counts, WITHVALUES shapes, errors", async () => {
    await c.call("SET", "str", "v");
    await c.call("DEL", "hr");
    await c.call("HSET", "hr", "a", "1", "b", "2", "c", "3");
    const one = await c.call("HRANDFIELD", "hr");
    assert.ok([bulk("a"), bulk("b"), bulk("c")].includes(one));
    assert.equal(await c.call("HRANDFIELD", "nokey"), NIL);
    assert.equal(await c3.call("HRANDFIELD", "nokey"), "_\r\n");
    assert.equal(await c.call("HRANDFIELD", "nokey", "3"), "*0\r\n");
    assert.equal(await c.call("HRANDFIELD", "hr", "0"), "*0\r\n");
    // Count >= size: every field once, in the hash's order.
    assert.equal(await c.call("HRANDFIELD", "hr", "10"), bulks("a", "b", "c"));
    assert.equal(await c.call("HRANDFIELD", "hr", "10", "WITHVALUES"), bulks("a", "1", "b", "2", "c", "3"));
    assert.equal(
      await c3.call("HRANDFIELD", "hr", "10", "withvalues"),
      arr(bulks("a", "1"), bulks("b", "2"), bulks("c", "3")),
    );
    // Distinct picks.
    const two = parseBulks(await c.call("HRANDFIELD", "hr", "2"));
    assert.equal(two.length, 2);
    assert.notEqual(two[0], two[1]);
    // Negative count: repeats allowed, exactly |count| answers.
    const many = parseBulks(await c.call("HRANDFIELD", "hr", "-20"));
    assert.equal(many.length, 20);
    for (const f of many) assert.ok(["a", "b", "c"].includes(f));
    const pairs = await c3.call("HRANDFIELD", "hr", "-2", "WITHVALUES");
    assert.match(pairs, /^\*2\r\n\*2\r\n\$1\r\n([abc])\r\n\$1\r\n[123]\r\n\*2\r\n/);
    const flat = parseBulks(await c.call("HRANDFIELD", "hr", "-3", "WITHVALUES"));
    assert.equal(flat.length, 6);
    for (let i = 0; i < 6; i += 2) assert.equal(flat[i + 1], { a: "1", b: "2", c: "3" }[flat[i]]);
    assert.equal(await c.call("HRANDFIELD", "hr", "1", "WITHVALUE"), err("ERR syntax error"));
    assert.equal(await c.call("HRANDFIELD", "hr", "1", "WITHVALUES", "x"), err("ERR syntax error"));
    assert.equal(await c.call("HRANDFIELD", "hr", "x"), err("ERR value is not an integer or out of range"));
    assert.equal(
      await c.call("HRANDFIELD", "hr", "-9223372036854775808"),
      err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
    );
    assert.equal(await c.call("HRANDFIELD", "hr", "-5000000000000000000", "WITHVALUES"), err("ERR value is out of range"));
    assert.equal(await c.call("HRANDFIELD", "str"), WRONGTYPE);
    assert.equal(await c.call("HRANDFIELD", "str", "2"), WRONGTYPE);
  });

  test("HSCAN: small hash whole, MATCH, errors", async () => {
    await c.call("DEL", "hs");
    await c.call("HSET", "hs", "foo", "1", "bar", "2", "fab", "3");
    assert.equal(await c.call("HSCAN", "hs", "0"), arr(bulk("0"), bulks("foo", "1", "bar", "2", "fab", "3")));
    assert.equal(await c.call("HSCAN", "hs", "0", "MATCH", "f*"), arr(bulk("0"), bulks("foo", "1", "fab", "3")));
    assert.equal(await c.call("HSCAN", "nokey", "0"), arr(bulk("0"), "*0\r\n"));
    assert.equal(await c.call("HSCAN", "nokey", "0", "COUNT", "0"), arr(bulk("0"), "*0\r\n"));
    assert.equal(await c.call("HSCAN", "hs", "x"), err("ERR invalid cursor"));
    assert.equal(await c.call("HSCAN", "hs", "0", "COUNT", "0"), err("ERR syntax error"));
    assert.equal(await c.call("HSCAN", "hs", "0", "COUNT", "x"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("HSCAN", "hs", "0", "TYPE", "string"), err("ERR syntax error"));
    assert.equal(await c.call("HSCAN", "hs", "0", "MATCH"), err("ERR syntax error"));
    assert.equal(await c.call("HSCAN", "str", "0"), WRONGTYPE);
  });

  test("HSCAN walks a big hash by cursor and sees every field once", async () => {
    const args: string[] = [];
    for (let i = 0; i < 1000; i++) args.push("f" + i, "v" + i);
    await c.call("DEL", "hbig");
    assert.equal(await c.call("HSET", "hbig", ...args), int(1000));
    const seen = new Map<string, string>();
    let cursor = "0";
    let rounds = 0;
    do {
      const raw = await c.call("HSCAN", "hbig", cursor, "COUNT", "100");
      const items = parseBulks(raw);
      cursor = items[0];
      for (let i = 1; i < items.length; i += 2) {
        assert.ok(!seen.has(items[i]), "field seen twice");
        seen.set(items[i], items[i + 1]);
      }
      rounds++;
    } while (cursor !== "0" && rounds < 1000);
    assert.equal(seen.size, 1000);
    assert.equal(seen.get("f999"), "v999");
    assert.ok(rounds > 1);
  });

  test("WRONGTYPE on every hash command", async () => {
    await c.call("SET", "str", "v");
    for (const cmd of [
      ["HSET", "str", "a", "b"], ["HSETNX", "str", "a", "b"], ["HGET", "str", "a"], ["HMGET", "str", "a"],
      ["HMSET", "str", "a", "b"], ["HDEL", "str", "a"], ["HLEN", "str"], ["HSTRLEN", "str", "a"],
      ["HEXISTS", "str", "a"], ["HKEYS", "str"], ["HVALS", "str"], ["HGETALL", "str"],
      ["HINCRBY", "str", "a", "1"], ["HINCRBYFLOAT", "str", "a", "1"], ["HRANDFIELD", "str"], ["HSCAN", "str", "0"],
    ]) {
      assert.equal(await c.call(...cmd), WRONGTYPE, cmd.join(" "));
    }
    await c.call("RPUSH", "alist", "x");
    assert.equal(await c.call("HGET", "alist", "x"), WRONGTYPE);
  });

  test("keyspace events: hset, hdel + del, hincrby, hincrbyfloat", async () => {
    const sub = await RawClient.connect(srv.port);
    try {
      assert.equal(await c.call("CONFIG", "SET", "notify-keyspace-events", "KEA"), OK);
      await sub.call("PSUBSCRIBE", "__keyevent@0__:*");
      await c.call("DEL", "hn");
      await c.call("HSET", "hn", "a", "1");
      await c.call("HINCRBY", "hn", "a", "1");
      await c.call("HINCRBYFLOAT", "hn", "a", "1.5");
      await c.call("HDEL", "hn", "a");
      const events: string[] = [];
      for (let i = 0; i < 5; i++) {
        const m = parseBulks(await sub.read());
        events.push(m[2].replace("__keyevent@0__:", "") + ":" + m[3]);
      }
      assert.deepEqual(events, ["hset:hn", "hincrby:hn", "hincrbyfloat:hn", "hdel:hn", "del:hn"]);
    } finally {
      await c.call("CONFIG", "SET", "notify-keyspace-events", "");
      sub.close();
    }
  });

  test("100,000 fields: HSET, HLEN, HGETALL, HDEL", async () => {
    const n = 100000;
    await c.call("DEL", "huge");
    for (let base = 0; base < n; base += 10000) {
      const args: string[] = [];
      for (let i = base; i < base + 10000; i++) args.push("field:" + i, String(i));
      assert.equal(await c.call("HSET", "huge", ...args), int(10000));
    }
    assert.equal(await c.call("HLEN", "huge"), int(n));
    assert.equal(await c.call("HGET", "huge", "field:77777"), bulk("77777"));
    const all = parseBulks(await c.call("HGETALL", "huge"));
    assert.equal(all.length, 2 * n);
    assert.equal(all[0], "field:0");
    assert.equal(all[2 * n - 1], String(n - 1));
    const picks = parseBulks(await c.call("HRANDFIELD", "huge", "500"));
    assert.equal(new Set(picks).size, 500);
    assert.equal(await c.call("HDEL", "huge", "field:0", "field:99999"), int(2));
    assert.equal(await c.call("HLEN", "huge"), int(n - 2));
    assert.equal(await c.call("DEL", "huge"), int(1));
  });

  test("ioredis and node-redis", async () => {
    const io = new Redis({ port: srv.port, lazyConnect: true });
    await io.connect();
    const nr = createClient({ socket: { port: srv.port } });
    await nr.connect();
    try {
      await io.del("cli:h");
      assert.equal(await io.hset("cli:h", { a: "1", b: "2" }), 2);
      assert.deepEqual(await io.hgetall("cli:h"), { a: "1", b: "2" });
      assert.equal(await io.hincrbyfloat("cli:h", "a", "0.5"), "1.5");
      assert.deepEqual(await io.hmget("cli:h", "a", "zz"), ["1.5", null]);
      assert.equal(await nr.hSet("cli:h", "c", "3"), 1);
      assert.deepEqual(await nr.hGetAll("cli:h"), { a: "1.5", b: "2", c: "3" });
      assert.equal(await nr.hIncrBy("cli:h", "c", 10), 13);
      assert.deepEqual(await nr.hKeys("cli:h"), ["a", "b", "c"]);
      assert.equal(await nr.hLen("cli:h"), 3);
      assert.equal(Number(await nr.hExists("cli:h", "b")), 1);
    } finally {
      io.disconnect();
      await nr.quit();
    }
    await sleep(10);
  });

  test("the journal replays to the same hashes (HINCRBYFLOAT as HSET)", async () => {
    await c.call("DEL", "jh");
    await c.call("HSET", "jh", "a", "100.1", "b", "1");
    await c.call("HINCRBYFLOAT", "jh", "a", "1e3");
    await c.call("HINCRBY", "jh", "b", "41");
    await c.call("HSETNX", "jh", "c", "x");
    await c.call("HDEL", "jh", "c");
    const before = await c.call("HGETALL", "jh");
    assert.equal(before, bulks("a", "1100.09999999999999998", "b", "42"));
    c.close();
    c3.close();
    await srv.stop();
    srv = await startServer(["--dbfile", dbfile]);
    c = await RawClient.connect(srv.port);
    c3 = await RawClient.connect(srv.port);
    assert.equal(await c.call("HGETALL", "jh"), before);
  });
});
