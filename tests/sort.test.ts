/**
 * SORT and SORT_RO through real sockets, byte for byte against Redis 7.2's replies: numeric
 * and ALPHA sorts of lists, sets and sorted sets, ASC/DESC, LIMIT clamping, BY patterns
 * (string keys and hash fields, missing weights, "nosort"), GET patterns ("#", "key->field",
 * missing values as nil), STORE (a list; the destination deleted when empty; "sortstore"
 * event), the conversion error, WRONGTYPE, syntax errors, the ACL refusal of BY/GET patterns
 * for users with restricted key access, the journal of SORT ... STORE, a 100,000-element sort,
 * and ioredis / node-redis calls.
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
const E_CONV = err("ERR One or more scores can't be converted into double");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

describe("SORT", () => {
  let srv: AkiServer;
  let c: RawClient;
  let c3: RawClient;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aki-sort-"));
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

  test("numeric and ALPHA sorts of a list, ASC/DESC, LIMIT", async () => {
    await c.call("DEL", "l");
    await c.call("RPUSH", "l", "3", "1", "2", "10", "-5", "1.5");
    assert.equal(await c.call("SORT", "l"), bulks("-5", "1", "1.5", "2", "3", "10"));
    assert.equal(await c.call("SORT", "l", "DESC"), bulks("10", "3", "2", "1.5", "1", "-5"));
    assert.equal(await c.call("SORT", "l", "ALPHA"), bulks("-5", "1", "1.5", "10", "2", "3"));
    assert.equal(await c.call("SORT", "l", "ALPHA", "DESC"), bulks("3", "2", "10", "1.5", "1", "-5"));
    assert.equal(await c.call("SORT", "l", "LIMIT", "1", "2"), bulks("1", "1.5"));
    assert.equal(await c.call("SORT", "l", "LIMIT", "-1", "2"), bulks("-5", "1"));
    assert.equal(await c.call("SORT", "l", "LIMIT", "4", "-1"), bulks("3", "10"));
    assert.equal(await c.call("SORT", "l", "LIMIT", "6", "10"), arr());
    assert.equal(await c.call("SORT", "l", "LIMIT", "0", "0"), arr());
    assert.equal(await c.call("SORT", "l", "ASC", "DESC", "ASC"), bulks("-5", "1", "1.5", "2", "3", "10"));
    assert.equal(await c3.call("SORT_RO", "l", "LIMIT", "0", "2"), bulks("-5", "1"));
    assert.equal(await c.call("SORT", "nokey"), arr());
    // Numeric ties fall back to byte order; C-style numbers are accepted.
    await c.call("RPUSH", "t", "b", "a", "c", "b");
    assert.equal(await c.call("SORT", "t", "ALPHA"), bulks("a", "b", "b", "c"));
    await c.call("RPUSH", "num", "0x10", "1e5", "inf", "-inf", "", " 7", "07");
    assert.equal(await c.call("SORT", "num"), bulks("-inf", "", " 7", "07", "0x10", "1e5", "inf"));
  });

  test("BY nosort keeps list and sorted set order", async () => {
    assert.equal(await c.call("SORT", "l", "BY", "nosort"), bulks("3", "1", "2", "10", "-5", "1.5"));
    assert.equal(await c.call("SORT", "l", "BY", "nosort", "DESC"), bulks("1.5", "-5", "10", "2", "1", "3"));
    assert.equal(await c.call("SORT", "l", "BY", "nosort", "LIMIT", "1", "2"), bulks("1", "2"));
    assert.equal(await c.call("SORT", "l", "BY", "nosort", "DESC", "LIMIT", "1", "2"), bulks("-5", "10"));
    assert.equal(await c.call("SORT", "l", "BY", "nosort", "LIMIT", "10", "10"), arr());
    await c.call("DEL", "z");
    await c.call("ZADD", "z", "3", "a", "1", "b", "2", "c");
    assert.equal(await c.call("SORT", "z", "BY", "nosort"), bulks("b", "c", "a"));
    assert.equal(await c.call("SORT", "z", "BY", "nosort", "DESC"), bulks("a", "c", "b"));
    assert.equal(await c.call("SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "1"), bulks("c"));
    assert.equal(await c.call("SORT", "z", "ALPHA"), bulks("a", "b", "c"));
    assert.equal(await c.call("SORT", "z"), E_CONV);
  });

  test("sets: numeric, ALPHA, and STORE of BY nosort sorts ALPHA", async () => {
    await c.call("DEL", "s", "dst");
    await c.call("SADD", "s", "5", "3", "1", "4", "2");
    assert.equal(await c.call("SORT", "s"), bulks("1", "2", "3", "4", "5"));
    assert.equal(await c.call("SORT", "s", "DESC", "LIMIT", "0", "2"), bulks("5", "4"));
    await c.call("SADD", "s2", "b", "c", "a");
    assert.equal(await c.call("SORT", "s2", "BY", "nosort", "STORE", "dst"), int(3));
    assert.equal(await c.call("LRANGE", "dst", "0", "-1"), bulks("a", "b", "c"));
    assert.equal(await c.call("SORT", "s2", "BY", "nosort", "DESC", "STORE", "dst"), int(3));
    assert.equal(await c.call("LRANGE", "dst", "0", "-1"), bulks("c", "b", "a"));
  });

  test("BY and GET patterns, hash fields, missing values", async () => {
    await c.call("MSET", "w_3", "30", "w_1", "10", "w_2", "-20", "w_10", "5", "w_-5", "100");
    assert.equal(await c.call("SORT", "l", "BY", "w_*"), bulks("2", "1.5", "10", "1", "3", "-5"));
    assert.equal(await c.call("SORT", "l", "BY", "w_*", "DESC"), bulks("-5", "3", "1", "10", "1.5", "2"));
    assert.equal(await c.call("SORT", "l", "BY", "w_*", "LIMIT", "1", "3"), bulks("1.5", "10", "1"));
    assert.equal(
      await c.call("SORT", "l", "BY", "w_*", "GET", "#", "GET", "w_*", "GET", "nosuch_*"),
      arr(bulk("2"), bulk("-20"), NIL, bulk("1.5"), NIL, NIL, bulk("10"), bulk("5"), NIL, bulk("1"), bulk("10"), NIL, bulk("3"), bulk("30"), NIL, bulk("-5"), bulk("100"), NIL),
    );
    assert.equal(await c3.call("SORT", "l", "BY", "w_*", "LIMIT", "0", "2", "GET", "nosuch_*"), arr("_\r\n", "_\r\n"));
    assert.equal(await c.call("SORT", "l", "LIMIT", "0", "2", "GET", "fixed"), arr(NIL, NIL));
    await c.call("HSET", "h_1", "f", "c");
    await c.call("HSET", "h_2", "f", "a");
    await c.call("HSET", "h_3", "f", "b");
    assert.equal(await c.call("SORT", "l", "BY", "h_*->f", "ALPHA", "LIMIT", "0", "3", "GET", "#", "GET", "h_*->f"), arr(bulk("10"), NIL, bulk("-5"), NIL, bulk("1.5"), NIL));
    assert.equal(await c.call("SORT", "l", "BY", "h_*->f", "ALPHA", "DESC", "LIMIT", "0", "3", "GET", "#"), bulks("1", "3", "2"));
    assert.equal(await c.call("SORT", "l", "GET", "h_*->nofield", "LIMIT", "0", "1"), arr(NIL));
    assert.equal(await c.call("SORT", "l", "GET", "w_*->f", "LIMIT", "0", "1"), arr(NIL));
    // "key->" with nothing after the arrow is a plain key name.
    await c.call("SET", "x_1->", "plain");
    assert.equal(await c.call("SORT", "l", "GET", "x_*->", "LIMIT", "1", "1"), bulks("plain"));
    // Missing BY weights count as 0; non-numeric weights fail.
    assert.equal(await c.call("SORT", "t", "BY", "nosuch_*"), bulks("a", "b", "b", "c"));
    await c.call("SET", "bad_3", "x");
    assert.equal(await c.call("SORT", "l", "BY", "bad_*"), E_CONV);
  });

  test("STORE", async () => {
    await c.call("DEL", "dst");
    assert.equal(await c.call("SORT", "l", "STORE", "dst"), int(6));
    assert.equal(await c.call("TYPE", "dst"), "+list\r\n");
    assert.equal(await c.call("LRANGE", "dst", "0", "-1"), bulks("-5", "1", "1.5", "2", "3", "10"));
    assert.equal(await c.call("SORT", "l", "BY", "w_*", "LIMIT", "0", "2", "GET", "#", "GET", "nosuch_*", "STORE", "dst"), int(4));
    assert.equal(await c.call("LRANGE", "dst", "0", "-1"), bulks("2", "", "1.5", ""));
    await c.call("EXPIRE", "dst", "100");
    assert.equal(await c.call("SORT", "l", "LIMIT", "0", "1", "STORE", "dst"), int(1));
    assert.equal(await c.call("TTL", "dst"), int(-1));
    assert.equal(await c.call("SORT", "nokey", "STORE", "dst"), int(0));
    assert.equal(await c.call("EXISTS", "dst"), int(0));
    await c.call("RPUSH", "bad", "a", "1");
    await c.call("SET", "dst", "keep");
    assert.equal(await c.call("SORT", "bad", "STORE", "dst"), E_CONV);
    assert.equal(await c.call("GET", "dst"), bulk("keep"));
    assert.equal(await c.call("SORT_RO", "l", "STORE", "dst"), err("ERR syntax error"));
  });

  test("errors and WRONGTYPE", async () => {
    await c.call("SET", "str", "x");
    assert.equal(await c.call("SORT", "str"), WRONGTYPE);
    await c.call("HSET", "hh", "a", "b");
    assert.equal(await c.call("SORT", "hh"), WRONGTYPE);
    assert.equal(await c.call("SORT", "str", "LIMIT", "x", "1"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("SORT", "l", "LIMIT", "1"), err("ERR syntax error"));
    assert.equal(await c.call("SORT", "l", "FOO"), err("ERR syntax error"));
    assert.equal(await c.call("SORT", "l", "STORE"), err("ERR syntax error"));
    assert.equal(await c.call("SORT", "l", "BY"), err("ERR syntax error"));
    assert.equal(await c.call("SORT_RO", "str"), WRONGTYPE);
  });

  test("BY / GET patterns are refused to users with restricted key access", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "sorter", "on", "nopass", "+@all", "~l*", "~w_*"), OK);
    const u = await RawClient.connect(srv.port);
    try {
      assert.equal(await u.call("AUTH", "sorter", "x"), OK);
      assert.equal(await u.call("SORT", "l", "BY", "w_*"), err("ERR BY option of SORT denied due to insufficient ACL permissions."));
      assert.equal(await u.call("SORT", "l", "GET", "#"), err("ERR GET option of SORT denied due to insufficient ACL permissions."));
      assert.equal(await u.call("SORT_RO", "l", "GET", "w_*"), err("ERR GET option of SORT denied due to insufficient ACL permissions."));
      assert.equal(await u.call("SORT", "l", "BY", "nosort", "LIMIT", "0", "2"), bulks("3", "1"));
      assert.equal(await u.call("SORT", "l", "LIMIT", "0", "1"), bulks("-5"));
      assert.equal(await c.call("ACL", "SETUSER", "sorter", "allkeys"), OK);
      assert.equal(await u.call("SORT", "l", "BY", "w_*", "LIMIT", "0", "1", "GET", "#"), bulks("2"));
    } finally {
      u.close();
      await c.call("ACL", "DELUSER", "sorter");
    }
  });

  test("keyspace notification: sortstore", async () => {
    const sub = await RawClient.connect(srv.port);
    try {
      await c.call("CONFIG", "SET", "notify-keyspace-events", "KEA");
      await c.call("DEL", "evs");
      await sub.call("PSUBSCRIBE", "__keyevent@0__:*");
      await c.call("SORT", "l", "STORE", "evs");
      await c.call("SORT", "nokey", "STORE", "evs");
      await c.call("SORT", "nokey", "STORE", "evs");
      for (const [event, key] of [["sortstore", "evs"], ["del", "evs"]]) {
        assert.equal(await sub.read(), arr(bulk("pmessage"), bulk("__keyevent@0__:*"), bulk(`__keyevent@0__:${event}`), bulk(key)));
      }
      await sleep(50);
      assert.equal(sub.pending(), "");
    } finally {
      await c.call("CONFIG", "SET", "notify-keyspace-events", "");
      sub.close();
    }
  });

  test("100,000 elements", async () => {
    await c.call("DEL", "bigl", "bigs");
    const N = 100000;
    const vals: number[] = [];
    for (let i = 0; i < N; i++) vals.push(((i * 7919) % N) - 50000);
    for (let i = 0; i < N; i += 10000) {
      await c.call("RPUSH", "bigl", ...vals.slice(i, i + 10000).map(String));
      await c.call("SADD", "bigs", ...vals.slice(i, i + 10000).map((v) => "m" + v));
    }
    const asc = [...vals].sort((a, b) => a - b).map(String);
    assert.deepEqual(parseBulks(await c.call("SORT", "bigl")), asc);
    assert.deepEqual(parseBulks(await c.call("SORT", "bigl", "DESC", "LIMIT", "100", "5")), [...asc].reverse().slice(100, 105));
    const alpha = vals.map((v) => "m" + v).sort();
    assert.equal(await c.call("SORT", "bigs", "ALPHA", "STORE", "bigd"), int(N));
    assert.deepEqual(parseBulks(await c.call("LRANGE", "bigd", "0", "-1")), alpha);
    await c.call("DEL", "bigl", "bigs", "bigd");
  });

  test("the journal replays SORT ... STORE (sets as DEL + RPUSH)", async () => {
    await c.call("DEL", "js", "jd1", "jd2");
    await c.call("SADD", "js", "c", "a", "b");
    assert.equal(await c.call("SORT", "js", "BY", "nosort", "STORE", "jd1"), int(3));
    assert.equal(await c.call("SORT", "l", "DESC", "STORE", "jd2"), int(6));
    const before = [await c.call("LRANGE", "jd1", "0", "-1"), await c.call("LRANGE", "jd2", "0", "-1")];
    await srv.stop();
    srv = await startServer(["--dbfile", dbfile]);
    c.close();
    c3.close();
    c = await RawClient.connect(srv.port);
    c3 = await RawClient.connect(srv.port);
    await c3.call("HELLO", "3");
    assert.deepEqual([await c.call("LRANGE", "jd1", "0", "-1"), await c.call("LRANGE", "jd2", "0", "-1")], before);
    assert.equal(before[0], bulks("a", "b", "c"));
  });

  test("ioredis and node-redis", async () => {
    const io = new Redis({ port: srv.port, lazyConnect: true });
    await io.connect();
    const nr = createClient({ socket: { port: srv.port } });
    await nr.connect();
    try {
      await io.del("cli:l");
      await io.rpush("cli:l", "3", "1", "2");
      assert.deepEqual(await io.sort("cli:l"), ["1", "2", "3"]);
      assert.deepEqual(await io.sort("cli:l", "LIMIT", 0, 2, "DESC"), ["3", "2"]);
      assert.equal(await io.sort("cli:l", "STORE", "cli:d"), 3);
      assert.deepEqual(await nr.sort("cli:l", { DIRECTION: "DESC" }), ["3", "2", "1"]);
      assert.deepEqual(await nr.sortRo("cli:l", { LIMIT: { offset: 1, count: 1 } }), ["2"]);
      assert.equal(await nr.sortStore("cli:l", "cli:d2", { ALPHA: true }), 3);
      assert.deepEqual(await nr.lRange("cli:d2", 0, -1), ["1", "2", "3"]);
    } finally {
      io.disconnect();
      await nr.quit();
    }
  });
});
