/**
 * Sorted sets through real sockets, byte for byte against Redis 7.2's replies: ZADD options
 * and their errors, ZINCRBY, scores and ranks (ZRANK ... WITHSCORE), the ZRANGE family (rank,
 * BYSCORE, BYLEX, REV, LIMIT, WITHSCORES in RESP2 flat and RESP3 pair shapes), ZRANGESTORE,
 * counts and range removals, pops (ZPOPMIN/ZPOPMAX, ZMPOP, the blocking BZPOPMIN / BZPOPMAX /
 * BZMPOP woken by another client or timing out), ZRANDMEMBER, ZUNION / ZINTER / ZDIFF (and
 * STORE), ZINTERCARD, ZSCAN, WRONGTYPE, keyspace events, the journal (ZINCRBY and blocking
 * pops replayed deterministically), 100,000-member sets (order and ranks), the ZSet index
 * against a naive model, and ioredis / node-redis calls.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import Redis from "ioredis";
import { createClient } from "redis";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startServer, RawClient, bulk, bulks, arr, int, err, OK, NIL, type AkiServer } from "./harness.ts";
import { ZSet } from "../src/store/zset.ts";

const WRONGTYPE = err("WRONGTYPE Operation against a key holding the wrong kind of value");
const NULL3 = "_\r\n";
const NULL_ARR2 = "*-1\r\n";
/** RESP3 double. */
const d3 = (s: string): string => `,${s}\r\n`;
/** WITHSCORES reply: RESP2 flat [m, s, ...]. */
const flat = (...ms: string[]): string => bulks(...ms);
/** WITHSCORES reply: RESP3 [[m, s], ...] from alternating member/score strings. */
function pairs3(...ms: string[]): string {
  const items: string[] = [];
  for (let i = 0; i < ms.length; i += 2) items.push(arr(bulk(ms[i]), d3(ms[i + 1])));
  return arr(...items);
}

/** Bulk strings of a raw reply, in order (nesting ignored). */
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("sorted sets", () => {
  let srv: AkiServer;
  let c: RawClient;
  let c3: RawClient;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aki-zsets-"));
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

  test("ZADD: options, counts and errors", async () => {
    await c.call("DEL", "z");
    assert.equal(await c.call("ZADD", "z", "1", "a", "2", "b", "3", "c"), int(3));
    assert.equal(await c.call("ZADD", "z", "1", "a", "5", "b"), int(0));
    assert.equal(await c.call("ZADD", "z", "CH", "1", "a", "6", "b", "7", "d"), int(2));
    assert.equal(await c.call("ZADD", "z", "NX", "100", "a", "4", "e"), int(1));
    assert.equal(await c.call("ZADD", "z", "XX", "CH", "10", "a", "10", "nosuch"), int(1));
    assert.equal(await c.call("ZADD", "z", "GT", "CH", "5", "a", "20", "b"), int(1));
    assert.equal(await c.call("ZADD", "z", "LT", "CH", "5", "a", "30", "b"), int(1));
    assert.equal(await c.call("ZSCORE", "z", "a"), bulk("5"));
    assert.equal(await c.call("ZSCORE", "z", "b"), bulk("20"));
    assert.equal(await c.call("ZSCORE", "z", "nosuch"), NIL);
    assert.equal(await c.call("ZADD", "z", "nx", "xx", "1", "a"), err("ERR XX and NX options at the same time are not compatible"));
    assert.equal(await c.call("ZADD", "z", "gt", "lt", "1", "a"), err("ERR GT, LT, and/or NX options at the same time are not compatible"));
    assert.equal(await c.call("ZADD", "z", "nx", "gt", "1", "a"), err("ERR GT, LT, and/or NX options at the same time are not compatible"));
    assert.equal(await c.call("ZADD", "z", "incr", "1", "a", "2", "b"), err("ERR INCR option supports a single increment-element pair"));
    assert.equal(await c.call("ZADD", "z", "xx", "nx", "1", "a", "2"), err("ERR syntax error"));
    assert.equal(await c.call("ZADD", "z", "1"), err("ERR wrong number of arguments for 'zadd' command"));
    assert.equal(await c.call("ZADD", "z", "abc", "a"), err("ERR value is not a valid float"));
    assert.equal(await c.call("ZADD", "z", "nan", "a"), err("ERR value is not a valid float"));
    assert.equal(await c.call("ZADD", "z", " 1", "a"), err("ERR value is not a valid float"));
    assert.equal(await c.call("ZADD", "z", "1e400", "a"), err("ERR value is not a valid float"));
    assert.equal(await c.call("ZADD", "z", "1", "a", "x", "b"), err("ERR value is not a valid float"));
    // Nothing was applied by the failed command.
    assert.equal(await c.call("ZSCORE", "z", "a"), bulk("5"));
    assert.equal(await c.call("ZADD", "z", "0x10", "hex", "+inf", "i", "-INF", "j", ".5", "k", "1e2", "l"), int(5));
    assert.equal(await c.call("ZMSCORE", "z", "hex", "i", "j", "k", "l"), bulks("16", "inf", "-inf", "0.5", "100"));
    // XX on a missing key creates nothing.
    assert.equal(await c.call("ZADD", "znew", "XX", "1", "a"), int(0));
    assert.equal(await c.call("EXISTS", "znew"), int(0));
  });

  test("ZINCRBY and ZADD INCR", async () => {
    await c.call("DEL", "zi");
    assert.equal(await c.call("ZINCRBY", "zi", "2.5", "m"), bulk("2.5"));
    assert.equal(await c.call("ZINCRBY", "zi", "0.1", "m"), bulk("2.6"));
    assert.equal(await c3.call("ZINCRBY", "zi", "1", "m"), d3("3.6"));
    assert.equal(await c.call("ZADD", "zi", "INCR", "1", "m"), bulk("4.6"));
    assert.equal(await c.call("ZADD", "zi", "INCR", "NX", "1", "m"), NIL);
    assert.equal(await c3.call("ZADD", "zi", "INCR", "XX", "1", "nosuch"), NULL3);
    assert.equal(await c.call("ZADD", "zi", "INCR", "GT", "-1", "m"), NIL);
    assert.equal(await c.call("ZADD", "zi", "INCR", "+inf", "m"), bulk("inf"));
    assert.equal(await c.call("ZADD", "zi", "INCR", "-inf", "m"), err("ERR resulting score is not a number (NaN)"));
    assert.equal(await c.call("ZINCRBY", "zi", "-inf", "m"), err("ERR resulting score is not a number (NaN)"));
    assert.equal(await c.call("ZINCRBY", "zi", "x", "m"), err("ERR value is not a valid float"));
    assert.equal(await c.call("ZINCRBY", "zi", "nx", "m"), err("ERR syntax error"));
    assert.equal(await c.call("ZSCORE", "zi", "m"), bulk("inf"));
  });

  test("ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK (RESP2 and RESP3)", async () => {
    await c.call("DEL", "zr");
    await c.call("ZADD", "zr", "1", "a", "2", "b", "3", "c", "1.5", "d");
    assert.equal(await c.call("ZCARD", "zr"), int(4));
    assert.equal(await c.call("ZCARD", "nokey"), int(0));
    assert.equal(await c3.call("ZSCORE", "zr", "d"), d3("1.5"));
    assert.equal(await c3.call("ZSCORE", "zr", "x"), NULL3);
    assert.equal(await c.call("ZMSCORE", "zr", "a", "x", "d"), arr(bulk("1"), NIL, bulk("1.5")));
    assert.equal(await c3.call("ZMSCORE", "zr", "a", "x"), arr(d3("1"), NULL3));
    assert.equal(await c.call("ZMSCORE", "nokey", "a", "b"), arr(NIL, NIL));
    assert.equal(await c.call("ZRANK", "zr", "b"), int(2));
    assert.equal(await c.call("ZREVRANK", "zr", "b"), int(1));
    assert.equal(await c.call("ZRANK", "zr", "x"), NIL);
    assert.equal(await c.call("ZRANK", "zr", "d", "WITHSCORE"), arr(int(1), bulk("1.5")));
    assert.equal(await c3.call("ZREVRANK", "zr", "d", "withscore"), arr(int(2), d3("1.5")));
    assert.equal(await c.call("ZRANK", "zr", "x", "WITHSCORE"), NULL_ARR2);
    assert.equal(await c3.call("ZRANK", "nokey", "x", "WITHSCORE"), NULL3);
    assert.equal(await c.call("ZRANK", "zr", "a", "WITHSCORES"), err("ERR syntax error"));
    assert.equal(await c.call("ZRANK", "zr", "a", "WITHSCORE", "x"), err("ERR syntax error"));
  });

  test("ZRANGE by rank, REV, WITHSCORES; ZREVRANGE", async () => {
    await c.call("DEL", "zg");
    await c.call("ZADD", "zg", "1", "a", "2", "b", "3", "c", "4", "d", "2", "bb");
    assert.equal(await c.call("ZRANGE", "zg", "0", "-1"), bulks("a", "b", "bb", "c", "d"));
    assert.equal(await c.call("ZRANGE", "zg", "1", "2", "WITHSCORES"), flat("b", "2", "bb", "2"));
    assert.equal(await c3.call("ZRANGE", "zg", "1", "2", "WITHSCORES"), pairs3("b", "2", "bb", "2"));
    assert.equal(await c.call("ZRANGE", "zg", "0", "1", "REV"), bulks("d", "c"));
    assert.equal(await c.call("ZREVRANGE", "zg", "0", "1", "WITHSCORES"), flat("d", "4", "c", "3"));
    assert.equal(await c.call("ZRANGE", "zg", "-2", "-1"), bulks("c", "d"));
    assert.equal(await c.call("ZRANGE", "zg", "-100", "0"), bulks("a"));
    assert.equal(await c.call("ZRANGE", "zg", "3", "1"), arr());
    assert.equal(await c.call("ZRANGE", "zg", "10", "20"), arr());
    assert.equal(await c.call("ZRANGE", "zg", "3", "100"), bulks("c", "d"));
    assert.equal(await c.call("ZRANGE", "nokey", "0", "-1"), arr());
    assert.equal(await c.call("ZRANGE", "zg", "x", "1"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("ZRANGE", "zg", "0", "-1", "REV", "REV"), err("ERR syntax error"));
    assert.equal(await c.call("ZRANGE", "zg", "0", "1", "foo"), err("ERR syntax error"));
    assert.equal(
      await c.call("ZRANGE", "zg", "0", "1", "LIMIT", "1", "1"),
      err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"),
    );
    // A LIMIT whose count is -1 is as good as none (Redis checks the count only).
    assert.equal(await c.call("ZRANGE", "zg", "0", "0", "LIMIT", "1", "-1"), bulks("a"));
    assert.equal(await c.call("ZRANGE", "zg", "0", "1", "LIMIT", "x", "1"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("ZREVRANGE", "zg", "0", "1", "BYSCORE"), err("ERR syntax error"));
  });

  test("ZRANGE BYSCORE / ZRANGEBYSCORE / ZREVRANGEBYSCORE", async () => {
    await c.call("DEL", "zs");
    await c.call("ZADD", "zs", "-inf", "ninf", "1", "a", "2", "b", "3", "c", "4", "d", "+inf", "pinf");
    assert.equal(await c.call("ZRANGE", "zs", "(1", "3", "BYSCORE"), bulks("b", "c"));
    assert.equal(await c.call("ZRANGE", "zs", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"), bulks("a", "b"));
    assert.equal(await c.call("ZRANGE", "zs", "+inf", "(1", "BYSCORE", "REV", "LIMIT", "1", "2", "WITHSCORES"), flat("d", "4", "c", "3"));
    assert.equal(await c3.call("ZRANGE", "zs", "+inf", "(1", "BYSCORE", "REV", "LIMIT", "1", "2", "WITHSCORES"), pairs3("d", "4", "c", "3"));
    assert.equal(await c.call("ZRANGEBYSCORE", "zs", "-inf", "+inf", "WITHSCORES", "LIMIT", "0", "1"), flat("ninf", "-inf"));
    assert.equal(await c.call("ZRANGEBYSCORE", "zs", "(-inf", "(inf"), bulks("a", "b", "c", "d"));
    assert.equal(await c.call("ZRANGEBYSCORE", "zs", "2", "2"), bulks("b"));
    assert.equal(await c.call("ZRANGEBYSCORE", "zs", "(2", "2"), arr());
    assert.equal(await c.call("ZRANGEBYSCORE", "zs", "3", "1"), arr());
    assert.equal(await c.call("ZRANGEBYSCORE", "zs", "-inf", "+inf", "LIMIT", "-1", "2"), arr());
    assert.equal(await c.call("ZRANGEBYSCORE", "zs", "-inf", "+inf", "LIMIT", "4", "-1"), bulks("d", "pinf"));
    assert.equal(await c.call("ZRANGEBYSCORE", "zs", "1", "2", "LIMIT", "0", "0"), arr());
    assert.equal(await c.call("ZREVRANGEBYSCORE", "zs", "3", "1"), bulks("c", "b", "a"));
    assert.equal(await c.call("ZREVRANGEBYSCORE", "zs", "1", "3"), arr());
    assert.equal(await c.call("ZRANGE", "zs", "x", "y", "BYSCORE"), err("ERR min or max is not a float"));
    assert.equal(await c.call("ZRANGEBYSCORE", "zs", "nan", "1"), err("ERR min or max is not a float"));
    assert.equal(await c.call("ZRANGEBYSCORE", "zs", "0", "10", "REV"), err("ERR syntax error"));
    assert.equal(await c.call("ZRANGEBYSCORE", "zs", "0", "10", "LIMIT", "1"), err("ERR syntax error"));
    assert.equal(await c.call("ZRANGE", "zs", "0", "1", "BYSCORE", "BYLEX"), err("ERR syntax error"));
  });

  test("ZRANGE BYLEX / ZRANGEBYLEX / ZREVRANGEBYLEX / ZLEXCOUNT", async () => {
    await c.call("DEL", "zl");
    await c.call("ZADD", "zl", "0", "alpha", "0", "bravo", "0", "charlie", "0", "delta", "0", "echo");
    assert.equal(await c.call("ZRANGEBYLEX", "zl", "[bravo", "[delta"), bulks("bravo", "charlie", "delta"));
    assert.equal(await c.call("ZRANGEBYLEX", "zl", "(bravo", "(delta"), bulks("charlie"));
    assert.equal(await c.call("ZRANGEBYLEX", "zl", "-", "+", "LIMIT", "1", "2"), bulks("bravo", "charlie"));
    assert.equal(await c.call("ZRANGEBYLEX", "zl", "+", "-"), arr());
    assert.equal(await c.call("ZREVRANGEBYLEX", "zl", "[delta", "(alpha"), bulks("delta", "charlie", "bravo"));
    assert.equal(await c.call("ZRANGE", "zl", "+", "-", "BYLEX", "REV", "LIMIT", "0", "2"), bulks("echo", "delta"));
    assert.equal(await c.call("ZLEXCOUNT", "zl", "-", "+"), int(5));
    assert.equal(await c.call("ZLEXCOUNT", "zl", "[b", "(d"), int(2));
    assert.equal(await c.call("ZLEXCOUNT", "nokey", "-", "+"), int(0));
    assert.equal(await c.call("ZRANGEBYLEX", "zl", "a", "b"), err("ERR min or max not valid string range item"));
    assert.equal(await c.call("ZRANGEBYLEX", "zl", "[a", "+b"), err("ERR min or max not valid string range item"));
    assert.equal(await c.call("ZLEXCOUNT", "zl", "", "+"), err("ERR min or max not valid string range item"));
    assert.equal(
      await c.call("ZRANGE", "zl", "-", "+", "BYLEX", "WITHSCORES"),
      err("ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
    );
    assert.equal(
      await c.call("ZRANGEBYLEX", "zl", "-", "+", "WITHSCORES"),
      err("ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
    );
  });

  test("ZRANGESTORE", async () => {
    await c.call("DEL", "src", "dst");
    await c.call("ZADD", "src", "1", "a", "2", "b", "3", "c");
    assert.equal(await c.call("ZRANGESTORE", "dst", "src", "0", "1"), int(2));
    assert.equal(await c.call("ZRANGE", "dst", "0", "-1", "WITHSCORES"), flat("a", "1", "b", "2"));
    assert.equal(await c.call("ZRANGESTORE", "dst", "src", "3", "(1", "BYSCORE", "REV", "LIMIT", "0", "1"), int(1));
    assert.equal(await c.call("ZRANGE", "dst", "0", "-1"), bulks("c"));
    assert.equal(await c.call("ZRANGESTORE", "dst", "src", "5", "1"), int(0));
    assert.equal(await c.call("EXISTS", "dst"), int(0));
    assert.equal(await c.call("ZRANGESTORE", "dst", "src", "0", "-1", "WITHSCORES"), err("ERR syntax error"));
    await c.call("SET", "str", "x");
    assert.equal(await c.call("ZRANGESTORE", "dst", "str", "0", "-1"), WRONGTYPE);
    assert.equal(await c.call("ZRANGESTORE", "str", "nokey", "0", "-1"), int(0));
    assert.equal(await c.call("EXISTS", "str"), int(0));
  });

  test("ZCOUNT and range removals", async () => {
    await c.call("DEL", "zc");
    await c.call("ZADD", "zc", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e");
    assert.equal(await c.call("ZCOUNT", "zc", "-inf", "+inf"), int(5));
    assert.equal(await c.call("ZCOUNT", "zc", "(1", "3"), int(2));
    assert.equal(await c.call("ZCOUNT", "zc", "(1", "(1"), int(0));
    assert.equal(await c.call("ZCOUNT", "zc", "", "(3"), int(2));
    assert.equal(await c.call("ZCOUNT", "zc", "x", "1"), err("ERR min or max is not a float"));
    assert.equal(await c.call("ZREMRANGEBYRANK", "zc", "1", "2"), int(2));
    assert.equal(await c.call("ZRANGE", "zc", "0", "-1"), bulks("a", "d", "e"));
    assert.equal(await c.call("ZREMRANGEBYRANK", "zc", "5", "10"), int(0));
    assert.equal(await c.call("ZREMRANGEBYRANK", "zc", "x", "1"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("ZREMRANGEBYSCORE", "zc", "(1", "4"), int(1));
    assert.equal(await c.call("ZREMRANGEBYSCORE", "zc", "x", "1"), err("ERR min or max is not a float"));
    assert.equal(await c.call("ZREMRANGEBYSCORE", "zc", "-inf", "+inf"), int(2));
    assert.equal(await c.call("EXISTS", "zc"), int(0));
    await c.call("ZADD", "zc", "0", "a", "0", "b", "0", "c");
    assert.equal(await c.call("ZREMRANGEBYLEX", "zc", "[a", "(c"), int(2));
    assert.equal(await c.call("ZREMRANGEBYLEX", "zc", "x", "y"), err("ERR min or max not valid string range item"));
    assert.equal(await c.call("ZREMRANGEBYLEX", "zc", "-", "+"), int(1));
    assert.equal(await c.call("EXISTS", "zc"), int(0));
    assert.equal(await c.call("ZREMRANGEBYRANK", "nokey", "0", "-1"), int(0));
    assert.equal(await c.call("ZREM", "nokey", "a"), int(0));
    await c.call("ZADD", "zc", "1", "a", "2", "b");
    assert.equal(await c.call("ZREM", "zc", "a", "nosuch", "a"), int(1));
    assert.equal(await c.call("ZREM", "zc", "b"), int(1));
    assert.equal(await c.call("EXISTS", "zc"), int(0));
  });

  test("ZPOPMIN / ZPOPMAX shapes and errors", async () => {
    await c.call("DEL", "zp");
    await c.call("ZADD", "zp", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e");
    assert.equal(await c.call("ZPOPMIN", "zp"), flat("a", "1"));
    assert.equal(await c3.call("ZPOPMAX", "zp"), arr(bulk("e"), d3("5")));
    assert.equal(await c.call("ZPOPMIN", "zp", "2"), flat("b", "2", "c", "3"));
    assert.equal(await c3.call("ZPOPMIN", "zp", "1"), pairs3("d", "4"));
    assert.equal(await c.call("ZPOPMAX", "zp", "0"), arr());
    assert.equal(await c.call("ZPOPMAX", "zp", "-1"), err("ERR value is out of range, must be positive"));
    assert.equal(await c.call("ZPOPMAX", "zp", "x"), err("ERR value is out of range, must be positive"));
    assert.equal(await c.call("ZPOPMAX", "zp", "1", "2"), err("ERR syntax error"));
    assert.equal(await c.call("EXISTS", "zp"), int(0));
    assert.equal(await c.call("ZPOPMIN", "zp"), arr());
    assert.equal(await c3.call("ZPOPMIN", "zp", "3"), arr());
  });

  test("ZMPOP", async () => {
    await c.call("DEL", "zm");
    await c.call("ZADD", "zm", "1", "a", "2", "b", "3", "c");
    assert.equal(await c.call("ZMPOP", "2", "nokey", "zm", "MIN"), arr(bulk("zm"), arr(bulks("a", "1"))));
    assert.equal(await c3.call("ZMPOP", "1", "zm", "MAX", "COUNT", "10"), arr(bulk("zm"), pairs3("c", "3", "b", "2")));
    assert.equal(await c.call("ZMPOP", "1", "zm", "MIN"), NULL_ARR2);
    assert.equal(await c3.call("ZMPOP", "1", "zm", "MIN"), NULL3);
    assert.equal(await c.call("ZMPOP", "0", "zm", "MIN"), err("ERR numkeys should be greater than 0"));
    assert.equal(await c.call("ZMPOP", "x", "zm", "MIN"), err("ERR numkeys should be greater than 0"));
    assert.equal(await c.call("ZMPOP", "2", "zm", "MIN"), err("ERR syntax error"));
    assert.equal(await c.call("ZMPOP", "1", "zm", "FOO"), err("ERR syntax error"));
    assert.equal(await c.call("ZMPOP", "1", "zm", "MIN", "COUNT", "0"), err("ERR count should be greater than 0"));
    assert.equal(await c.call("ZMPOP", "1", "zm", "MIN", "COUNT", "1", "COUNT", "1"), err("ERR syntax error"));
    await c.call("SET", "str", "x");
    assert.equal(await c.call("ZMPOP", "2", "nokey", "str", "MIN"), WRONGTYPE);
  });

  test("BZPOPMIN woken by another client; timeouts and errors", async () => {
    await c.call("DEL", "bz", "bz2");
    const w = await RawClient.connect(srv.port);
    try {
      w.write("*4\r\n$8\r\nBZPOPMIN\r\n$3\r\nbz2\r\n$2\r\nbz\r\n$1\r\n0\r\n");
      await sleep(100);
      assert.equal(w.pending(), "");
      assert.equal(await c.call("ZADD", "bz", "2", "b", "1", "a"), int(2));
      assert.equal(await w.read(), arr(bulk("bz"), bulk("a"), bulk("1")));
      // RESP3 reply shape and BZPOPMAX.
      await w.call("HELLO", "3");
      w.write("*3\r\n$8\r\nBZPOPMAX\r\n$3\r\nbz2\r\n$1\r\n0\r\n");
      await sleep(50);
      await c.call("ZADD", "bz2", "7", "x");
      assert.equal(await w.read(), arr(bulk("bz2"), bulk("x"), d3("7")));
      // Served at once when data is there; the last element deletes the key.
      assert.equal(await c.call("BZPOPMAX", "bz", "0"), arr(bulk("bz"), bulk("b"), bulk("2")));
      assert.equal(await c.call("EXISTS", "bz"), int(0));
      // Timeouts.
      assert.equal(await c.call("BZPOPMIN", "bz", "0.05"), NULL_ARR2);
      assert.equal(await c3.call("BZPOPMIN", "bz", "0.05"), NULL3);
      assert.equal(await c.call("BZPOPMIN", "bz", "x"), err("ERR timeout is not a float or out of range"));
      assert.equal(await c.call("BZPOPMIN", "bz", "-1"), err("ERR timeout is negative"));
      await c.call("SET", "str", "x");
      assert.equal(await c.call("BZPOPMIN", "nokey", "str", "0"), WRONGTYPE);
      // Inside MULTI a blocking pop answers at once.
      assert.equal(await c.call("MULTI"), OK);
      assert.equal(await c.call("BZPOPMIN", "bz", "0"), "+QUEUED\r\n");
      assert.equal(await c.call("EXEC"), arr(NULL_ARR2));
    } finally {
      w.close();
    }
  });

  test("BZMPOP woken by another client", async () => {
    await c.call("DEL", "bm");
    const w = await RawClient.connect(srv.port);
    try {
      w.write("*7\r\n$6\r\nBZMPOP\r\n$1\r\n0\r\n$1\r\n1\r\n$2\r\nbm\r\n$3\r\nMAX\r\n$5\r\nCOUNT\r\n$1\r\n2\r\n");
      await sleep(100);
      assert.equal(w.pending(), "");
      await c.call("ZADD", "bm", "1", "a", "2", "b", "3", "c");
      assert.equal(await w.read(), arr(bulk("bm"), arr(bulks("c", "3"), bulks("b", "2"))));
      assert.equal(await c.call("ZRANGE", "bm", "0", "-1"), bulks("a"));
      assert.equal(await c.call("BZMPOP", "0.05", "1", "nokey", "MIN"), NULL_ARR2);
      assert.equal(await c.call("BZMPOP", "x", "1", "bm", "MIN"), err("ERR timeout is not a float or out of range"));
      assert.equal(await c.call("BZMPOP", "x", "0", "bm", "MIN"), err("ERR numkeys should be greater than 0"));
    } finally {
      w.close();
    }
  });

  test("ZRANDMEMBER", async () => {
    await c.call("DEL", "zq");
    await c.call("ZADD", "zq", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e");
    const one = parseBulks(await c.call("ZRANDMEMBER", "zq"));
    assert.equal(one.length, 1);
    assert.ok(["a", "b", "c", "d", "e"].includes(one[0]));
    const three = parseBulks(await c.call("ZRANDMEMBER", "zq", "3"));
    assert.equal(new Set(three).size, 3);
    const all = parseBulks(await c.call("ZRANDMEMBER", "zq", "10"));
    assert.deepEqual([...all].sort(), ["a", "b", "c", "d", "e"]);
    const many = parseBulks(await c.call("ZRANDMEMBER", "zq", "-20"));
    assert.equal(many.length, 20);
    for (const m of many) assert.ok(["a", "b", "c", "d", "e"].includes(m));
    const ws = parseBulks(await c.call("ZRANDMEMBER", "zq", "2", "WITHSCORES"));
    assert.equal(ws.length, 4);
    assert.equal(ws[1], String(ws[0].charCodeAt(0) - 96));
    const r3 = await c3.call("ZRANDMEMBER", "zq", "-1", "WITHSCORES");
    assert.match(r3, /^\*1\r\n\*2\r\n\$1\r\n([a-e])\r\n,[1-5]\r\n$/);
    assert.equal(await c.call("ZRANDMEMBER", "zq", "0"), arr());
    assert.equal(await c.call("ZRANDMEMBER", "nokey"), NIL);
    assert.equal(await c3.call("ZRANDMEMBER", "nokey"), NULL3);
    assert.equal(await c.call("ZRANDMEMBER", "nokey", "5"), arr());
    assert.equal(await c.call("ZRANDMEMBER", "zq", "x"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("ZRANDMEMBER", "zq", "1", "foo"), err("ERR syntax error"));
    assert.equal(
      await c.call("ZRANDMEMBER", "zq", "-9223372036854775808"),
      err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
    );
    assert.equal(await c.call("ZRANDMEMBER", "zq", "-9223372036854775807", "WITHSCORES"), err("ERR value is out of range"));
  });

  test("ZUNION / ZINTER / ZDIFF and their STORE variants", async () => {
    await c.call("DEL", "z1", "z2", "s1", "d");
    await c.call("ZADD", "z1", "1", "a", "2", "b", "3", "c");
    await c.call("ZADD", "z2", "10", "b", "20", "c", "30", "d");
    await c.call("SADD", "s1", "a", "x", "c");
    assert.equal(await c.call("ZUNION", "2", "z1", "z2"), bulks("a", "b", "c", "d"));
    assert.equal(await c.call("ZUNION", "3", "z1", "z2", "s1", "WITHSCORES"), flat("x", "1", "a", "2", "b", "12", "c", "24", "d", "30"));
    assert.equal(
      await c.call("ZUNION", "3", "z1", "z2", "s1", "WEIGHTS", "1", "2", "3", "AGGREGATE", "MIN", "WITHSCORES"),
      flat("a", "1", "b", "2", "c", "3", "x", "3", "d", "60"),
    );
    assert.equal(await c3.call("ZINTER", "2", "z1", "z2", "WITHSCORES"), pairs3("b", "12", "c", "23"));
    assert.equal(await c.call("ZINTER", "2", "z1", "z2", "AGGREGATE", "MAX", "WITHSCORES"), flat("b", "10", "c", "20"));
    assert.equal(await c.call("ZINTER", "2", "z1", "s1", "WITHSCORES"), flat("a", "2", "c", "4"));
    assert.equal(await c.call("ZINTER", "2", "z1", "nokey"), arr());
    assert.equal(await c.call("ZDIFF", "2", "z1", "z2", "WITHSCORES"), flat("a", "1"));
    assert.equal(await c.call("ZDIFF", "3", "z2", "z1", "s1"), bulks("d"));
    assert.equal(await c.call("ZUNIONSTORE", "d", "2", "z1", "z2", "WEIGHTS", "2", "0.5"), int(4));
    assert.equal(await c.call("ZRANGE", "d", "0", "-1", "WITHSCORES"), flat("a", "2", "b", "9", "d", "15", "c", "16"));
    assert.equal(await c.call("ZINTERSTORE", "d", "2", "z1", "z2"), int(2));
    assert.equal(await c.call("ZDIFFSTORE", "d", "2", "z1", "z2"), int(1));
    assert.equal(await c.call("ZRANGE", "d", "0", "-1"), bulks("a"));
    assert.equal(await c.call("ZINTERSTORE", "d", "2", "z1", "nokey"), int(0));
    assert.equal(await c.call("EXISTS", "d"), int(0));
    // inf * 0 is NaN, which counts as 0; +inf + -inf also gives 0.
    await c.call("ZADD", "inf1", "inf", "a", "-inf", "b");
    await c.call("ZADD", "inf2", "-inf", "a", "inf", "b");
    assert.equal(await c.call("ZUNION", "2", "inf1", "inf2", "WITHSCORES"), flat("a", "0", "b", "0"));
    assert.equal(await c.call("ZUNION", "1", "inf1", "WEIGHTS", "0", "WITHSCORES"), flat("a", "0", "b", "0"));
    // Errors, in Redis's order.
    assert.equal(await c.call("ZUNIONSTORE", "d", "0", "z1"), err("ERR at least 1 input key is needed for 'zunionstore' command"));
    assert.equal(await c.call("ZUNION", "0", "z1"), err("ERR at least 1 input key is needed for 'zunion' command"));
    assert.equal(await c.call("ZINTER", "-1", "z1"), err("ERR at least 1 input key is needed for 'zinter' command"));
    assert.equal(await c.call("ZDIFF", "x", "z1"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("ZUNION", "2", "z1"), err("ERR syntax error"));
    assert.equal(await c.call("ZUNION", "1", "z1", "WEIGHTS", "x"), err("ERR weight value is not a float"));
    assert.equal(await c.call("ZUNION", "1", "z1", "AGGREGATE", "foo"), err("ERR syntax error"));
    assert.equal(await c.call("ZDIFF", "1", "z1", "WEIGHTS", "2"), err("ERR syntax error"));
    assert.equal(await c.call("ZUNIONSTORE", "d", "1", "z1", "WITHSCORES"), err("ERR syntax error"));
    await c.call("SET", "str", "x");
    assert.equal(await c.call("ZUNION", "2", "str", "z1", "WEIGHTS", "x"), WRONGTYPE);
  });

  test("ZINTERCARD", async () => {
    await c.call("DEL", "i1", "i2");
    await c.call("ZADD", "i1", "1", "a", "2", "b", "3", "c");
    await c.call("SADD", "i2", "a", "b", "x");
    assert.equal(await c.call("ZINTERCARD", "2", "i1", "i2"), int(2));
    assert.equal(await c.call("ZINTERCARD", "2", "i1", "i2", "LIMIT", "1"), int(1));
    assert.equal(await c.call("ZINTERCARD", "2", "i1", "i2", "LIMIT", "0"), int(2));
    assert.equal(await c.call("ZINTERCARD", "2", "i1", "nokey"), int(0));
    assert.equal(await c.call("ZINTERCARD", "0", "i1"), err("ERR at least 1 input key is needed for 'zintercard' command"));
    assert.equal(await c.call("ZINTERCARD", "3", "i1"), err("ERR syntax error"));
    assert.equal(await c.call("ZINTERCARD", "1", "i1", "LIMIT", "-1"), err("ERR LIMIT can't be negative"));
    assert.equal(await c.call("ZINTERCARD", "1", "i1", "FOO"), err("ERR syntax error"));
    await c.call("SET", "str", "x");
    assert.equal(await c.call("ZINTERCARD", "2", "i1", "str", "LIMIT", "-1"), WRONGTYPE);
  });

  test("ZSCAN: small sets at once, large sets by cursor", async () => {
    await c.call("DEL", "zsc", "zbig");
    await c.call("ZADD", "zsc", "1", "a", "2.5", "b", "3", "ab");
    assert.equal(await c.call("ZSCAN", "zsc", "0"), arr(bulk("0"), bulks("a", "1", "b", "2.5", "ab", "3")));
    assert.equal(await c.call("ZSCAN", "zsc", "0", "MATCH", "a*"), arr(bulk("0"), bulks("a", "1", "ab", "3")));
    assert.equal(await c.call("ZSCAN", "nokey", "0"), arr(bulk("0"), arr()));
    assert.equal(await c.call("ZSCAN", "zsc", "x"), err("ERR invalid cursor"));
    assert.equal(await c.call("ZSCAN", "zsc", "0", "COUNT", "0"), err("ERR syntax error"));
    assert.equal(await c.call("ZSCAN", "zsc", "0", "COUNT", "x"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("ZSCAN", "zsc", "0", "FOO"), err("ERR syntax error"));
    const args: string[] = [];
    for (let i = 0; i < 1000; i++) args.push(String(i), "m" + i);
    await c.call("ZADD", "zbig", ...args);
    const seen = new Map<string, string>();
    let cursor = "0";
    let rounds = 0;
    do {
      const r = parseBulks(await c.call("ZSCAN", "zbig", cursor, "COUNT", "50"));
      cursor = r[0];
      for (let i = 1; i < r.length; i += 2) seen.set(r[i], r[i + 1]);
      rounds++;
    } while (cursor !== "0" && rounds < 1000);
    assert.equal(cursor, "0");
    assert.ok(rounds > 1);
    assert.equal(seen.size, 1000);
    for (let i = 0; i < 1000; i++) assert.equal(seen.get("m" + i), String(i));
    // Scores: shortest form in a small set, "%.17g" in a large one, as Redis 7.2's encodings answer.
    await c.call("ZADD", "zsc", "1.1", "frac");
    assert.equal(await c.call("ZSCAN", "zsc", "0", "MATCH", "frac"), arr(bulk("0"), bulks("frac", "1.1")));
    await c.call("ZADD", "zbig", "1.1", "frac");
    const found: string[] = [];
    cursor = "0";
    do {
      const r = parseBulks(await c.call("ZSCAN", "zbig", cursor, "MATCH", "frac", "COUNT", "300"));
      cursor = r[0];
      found.push(...r.slice(1));
    } while (cursor !== "0");
    assert.deepEqual(found, ["frac", "1.1000000000000001"]);
  });

  test("WRONGTYPE on every sorted set command", async () => {
    await c.call("SET", "str", "x");
    for (const cmd of [
      ["ZADD", "str", "1", "a"], ["ZINCRBY", "str", "1", "a"], ["ZREM", "str", "a"], ["ZCARD", "str"],
      ["ZSCORE", "str", "a"], ["ZMSCORE", "str", "a"], ["ZRANK", "str", "a"], ["ZCOUNT", "str", "0", "1"],
      ["ZLEXCOUNT", "str", "-", "+"], ["ZRANGE", "str", "0", "-1"], ["ZRANGEBYSCORE", "str", "0", "1"],
      ["ZREMRANGEBYRANK", "str", "0", "1"], ["ZPOPMIN", "str"], ["ZPOPMIN", "str", "0"], ["BZPOPMIN", "str", "0"],
      ["ZRANDMEMBER", "str"], ["ZSCAN", "str", "0"], ["ZUNION", "1", "str"], ["ZINTERCARD", "1", "str"],
    ]) {
      assert.equal(await c.call(...cmd), WRONGTYPE, cmd.join(" "));
    }
    // Argument errors come before the type check.
    assert.equal(await c.call("ZCOUNT", "str", "x", "1"), err("ERR min or max is not a float"));
    assert.equal(await c.call("ZREMRANGEBYRANK", "str", "x", "1"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("ZSCAN", "str", "x"), err("ERR invalid cursor"));
  });

  test("keyspace notifications", async () => {
    const sub = await RawClient.connect(srv.port);
    try {
      await c.call("CONFIG", "SET", "notify-keyspace-events", "KEA");
      await c.call("DEL", "ev", "ev2", "evd");
      await sub.call("PSUBSCRIBE", "__keyevent@0__:*");
      const cmds = [
        ["ZADD", "ev", "1", "a", "2", "b", "3", "c", "4", "d"],
        ["ZADD", "ev", "1", "a"], // no change: no event
        ["ZINCRBY", "ev", "1", "a"],
        ["ZREM", "ev", "a"],
        ["ZREMRANGEBYRANK", "ev", "0", "0"],
        ["ZREMRANGEBYSCORE", "ev", "3", "3"],
        ["ZADD", "ev2", "0", "x", "0", "y"],
        ["ZREMRANGEBYLEX", "ev2", "[x", "[x"],
        ["ZPOPMIN", "ev2"],
        ["ZUNIONSTORE", "evd", "1", "ev"],
        ["ZPOPMAX", "ev"],
      ];
      for (const cmd of cmds) await c.call(...cmd);
      const want = [
        ["zadd", "ev"], ["zincr", "ev"], ["zrem", "ev"], ["zremrangebyrank", "ev"], ["zremrangebyscore", "ev"],
        ["zadd", "ev2"], ["zremrangebylex", "ev2"], ["zpopmin", "ev2"], ["del", "ev2"], ["zunionstore", "evd"],
        ["zpopmax", "ev"], ["del", "ev"],
      ];
      for (const [event, key] of want) {
        const m = await sub.read();
        assert.equal(m, arr(bulk("pmessage"), bulk("__keyevent@0__:*"), bulk(`__keyevent@0__:${event}`), bulk(key)));
      }
      await sleep(50);
      assert.equal(sub.pending(), "");
    } finally {
      await c.call("CONFIG", "SET", "notify-keyspace-events", "");
      sub.close();
    }
  });

  test("100,000 members: order, ranks, ranges and removals", async () => {
    await c.call("DEL", "big");
    const N = 100000;
    // Scores repeat (i % 1000), so ties are broken by member bytes.
    const members: [string, number][] = [];
    for (let i = 0; i < N; i++) members.push(["m" + ((i * 7919) % N), i % 1000]);
    for (let i = 0; i < N; i += 10000) {
      const args: string[] = [];
      for (const [m, s] of members.slice(i, i + 10000)) args.push(String(s), m);
      assert.equal(await c.call("ZADD", "big", ...args), int(10000));
    }
    assert.equal(await c.call("ZCARD", "big"), int(N));
    const expected = [...members].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const all = parseBulks(await c.call("ZRANGE", "big", "0", "-1"));
    assert.equal(all.length, N);
    assert.deepEqual(all, expected.map((e) => e[0]));
    const rev = parseBulks(await c.call("ZRANGE", "big", "0", "-1", "REV"));
    assert.deepEqual(rev, expected.map((e) => e[0]).reverse());
    for (const r of [0, 1, 999, 50000, 77777, N - 1]) {
      const [m, s] = expected[r];
      assert.equal(await c.call("ZRANK", "big", m), int(r), `rank of ${m}`);
      assert.equal(await c.call("ZREVRANK", "big", m), int(N - 1 - r));
      assert.equal(await c.call("ZRANGE", "big", String(r), String(r), "WITHSCORES"), flat(m, String(s)));
    }
    assert.equal(await c.call("ZCOUNT", "big", "10", "(20"), int(1000));
    assert.equal(await c.call("ZRANGEBYSCORE", "big", "500", "500", "LIMIT", "50", "2"), bulks(expected[50050][0], expected[50051][0]));
    // Remove every third member and check ranks again.
    const removed = new Set<string>();
    for (let i = 0; i < N; i += 3) removed.add(expected[i][0]);
    const gone = [...removed];
    for (let i = 0; i < gone.length; i += 10000) {
      assert.equal(await c.call("ZREM", "big", ...gone.slice(i, i + 10000)), int(Math.min(10000, gone.length - i)));
    }
    const left = expected.filter((e) => !removed.has(e[0]));
    assert.equal(await c.call("ZCARD", "big"), int(left.length));
    for (const r of [0, 12345, left.length - 1]) assert.equal(await c.call("ZRANK", "big", left[r][0]), int(r));
    assert.deepEqual(parseBulks(await c.call("ZRANGE", "big", "-5", "-1")), left.slice(-5).map((e) => e[0]));
    assert.equal(await c.call("ZREMRANGEBYRANK", "big", "0", "9999"), int(10000));
    assert.equal(await c.call("ZRANGE", "big", "0", "0"), bulks(left[10000][0]));
    assert.equal(await c.call("DEL", "big"), int(1));
  });

  test("the journal replays ZINCRBY, ZADD INCR and blocking pops deterministically", async () => {
    await c.call("DEL", "jz", "jb");
    await c.call("ZADD", "jz", "1", "a", "2", "b", "3", "c", "4", "d");
    await c.call("ZINCRBY", "jz", "0.1", "b");
    await c.call("ZADD", "jz", "INCR", "0.2", "b");
    await c.call("ZPOPMAX", "jz");
    await c.call("BZPOPMIN", "jz", "0");
    await c.call("ZMPOP", "1", "jz", "MAX", "COUNT", "1");
    const w = await RawClient.connect(srv.port);
    w.write("*3\r\n$8\r\nBZPOPMAX\r\n$2\r\njb\r\n$1\r\n0\r\n");
    await sleep(50);
    await c.call("ZADD", "jb", "1", "x", "2", "y");
    assert.equal(await w.read(), arr(bulk("jb"), bulk("y"), bulk("2")));
    w.close();
    const before = [await c.call("ZRANGE", "jz", "0", "-1", "WITHSCORES"), await c.call("ZRANGE", "jb", "0", "-1", "WITHSCORES")];
    assert.equal(before[0], flat("b", String(2 + 0.1 + 0.2)));
    await srv.stop();
    srv = await startServer(["--dbfile", dbfile]);
    c.close();
    c3.close();
    c = await RawClient.connect(srv.port);
    c3 = await RawClient.connect(srv.port);
    await c3.call("HELLO", "3");
    assert.deepEqual([await c.call("ZRANGE", "jz", "0", "-1", "WITHSCORES"), await c.call("ZRANGE", "jb", "0", "-1", "WITHSCORES")], before);
  });

  test("ioredis and node-redis", async () => {
    const io = new Redis({ port: srv.port, lazyConnect: true });
    await io.connect();
    const nr = createClient({ socket: { port: srv.port } });
    await nr.connect();
    try {
      await io.del("cli:z", "cli:u");
      assert.equal(await io.zadd("cli:z", 1, "a", 2, "b", 3, "c"), 3);
      assert.deepEqual(await io.zrange("cli:z", "0", "-1", "WITHSCORES"), ["a", "1", "b", "2", "c", "3"]);
      assert.equal(await io.zincrby("cli:z", 1.5, "a"), "2.5");
      assert.equal(await io.zscore("cli:z", "a"), "2.5");
      assert.deepEqual(await io.zrangebyscore("cli:z", "(2", "+inf"), ["a", "c"]);
      assert.deepEqual(await io.zpopmin("cli:z"), ["b", "2"]);
      assert.equal(await nr.zAdd("cli:u", [{ score: 5, value: "x" }, { score: 1, value: "y" }]), 2);
      assert.deepEqual(await nr.zRangeWithScores("cli:u", 0, -1), [{ value: "y", score: 1 }, { value: "x", score: 5 }]);
      assert.equal(await nr.zCard("cli:u"), 2);
      assert.equal(await nr.zRank("cli:u", "x"), 1);
      assert.equal(await nr.zScore("cli:u", "x"), 5);
      assert.deepEqual(await nr.zUnion(["cli:z", "cli:u"]), ["y", "a", "c", "x"]);
      assert.deepEqual(await nr.zPopMax("cli:u"), { value: "x", score: 5 });
    } finally {
      io.disconnect();
      await nr.quit();
    }
  });
});

describe("ZSet index against a naive model", () => {
  test("random inserts, updates, deletes: order, ranks and ranges", () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const z = new ZSet();
    const model = new Map<string, number>();
    const sortedModel = () => [...model].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (let step = 0; step < 20000; step++) {
      const m = "k" + Math.floor(rnd() * 3000);
      const r = rnd();
      if (r < 0.6) {
        const s = Math.floor(rnd() * 100) / 4;
        assert.equal(z.set(m, s), !model.has(m));
        model.set(m, s);
      } else {
        assert.equal(z.delete(m), model.delete(m));
      }
      if (step % 2000 === 1999) {
        const want = sortedModel();
        assert.deepEqual([...z.entries()], want);
        assert.equal(z.size, want.length);
        for (let i = 0; i < want.length; i += 97) {
          assert.equal(z.rank(want[i][0]), i);
          assert.deepEqual(z.at(i), want[i]);
        }
        assert.deepEqual(z.range(5, 20, false), want.slice(5, 21));
        assert.deepEqual(z.range(0, 9, true), want.slice(-10).reverse());
        const inRange = want.filter((e) => e[1] > 5 && e[1] <= 10);
        assert.equal(z.countScore({ min: 5, max: 10, minex: true, maxex: false }), inRange.length);
        assert.deepEqual(z.rangeByScore({ min: 5, max: 10, minex: true, maxex: false }, false, 3, 7), inRange.slice(3, 10));
        assert.deepEqual(z.rangeByScore({ min: 5, max: 10, minex: true, maxex: false }, true, 2, 4), inRange.reverse().slice(2, 6));
        const c = z.clone();
        assert.deepEqual([...c.entries()], want);
      }
    }
    const popped = z.pop(5, true);
    const want = sortedModel();
    assert.deepEqual(popped, want.slice(-5).reverse());
  });
});
