/**
 * String commands through real sockets, replies compared byte for byte (RESP2 and RESP3):
 * GET SET (all options and their errors) SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET
 * MSETNX INCR DECR INCRBY DECRBY INCRBYFLOAT APPEND STRLEN GETRANGE SUBSTR SETRANGE LCS,
 * TTL behaviour, keyspace notifications, what the journal records (absolute expire times,
 * INCRBYFLOAT as SET ... KEEPTTL) and replay after a restart, plus ioredis / node-redis use.
 * Expected replies were checked against a reference Redis server.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import Redis from "ioredis";
import { createClient } from "redis";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startServer, RawClient, bulk, bulks, arr, int, err, OK, NIL, type AkiServer } from "./harness.ts";
import { FilePersistence } from "../src/persist/file.ts";
import type { JournalRecord } from "../src/persist/types.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SYNTAX = err("ERR syntax error");
const NOT_INT = err("ERR value is not an integer or out of range");
const NOT_FLOAT = err("ERR value is not a valid float");
const WRONGTYPE = err("WRONGTYPE Operation against a key holding the wrong kind of value");
const OVERFLOW = err("ERR increment or decrement would overflow");
const TOO_BIG = err("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
const expireErr = (cmd: string) => err(`ERR invalid expire time in '${cmd}' command`);

/** The integer in an integer reply. */
function intOf(r: string): number {
  assert.match(r, /^:-?\d+\r\n$/);
  return Number(r.slice(1, -2));
}

describe("strings", () => {
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

  test("GET / SET basics, binary-safe values", async () => {
    assert.equal(await c.call("GET", "s:none"), NIL);
    assert.equal(await c3.call("GET", "s:none"), "_\r\n");
    assert.equal(await c.call("SET", "s:a", "hello"), OK);
    assert.equal(await c.call("GET", "s:a"), bulk("hello"));
    assert.equal(await c.call("SET", "s:empty", ""), OK);
    assert.equal(await c.call("GET", "s:empty"), "$0\r\n\r\n");
    const bin = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    assert.equal(await c.call("SET", "s:bin", bin), OK);
    assert.equal(await c.call("GET", "s:bin"), "$256\r\n" + bin.toString("latin1") + "\r\n");
    assert.equal(await c.call("STRLEN", "s:bin"), int(256));
    // SET overwrites a key of any type; GET on another type is WRONGTYPE.
    assert.equal(await c.call("HSET", "s:h", "f", "v"), int(1));
    assert.equal(await c.call("GET", "s:h"), WRONGTYPE);
    assert.equal(await c.call("SET", "s:h", "now a string"), OK);
    assert.equal(await c.call("GET", "s:h"), bulk("now a string"));
    assert.equal(await c.call("GET"), err("ERR wrong number of arguments for 'get' command"));
    assert.equal(await c.call("SET", "k"), err("ERR wrong number of arguments for 'set' command"));
  });

  test("SET NX / XX / GET", async () => {
    assert.equal(await c.call("SET", "s:nx", "1", "NX"), OK);
    assert.equal(await c.call("SET", "s:nx", "2", "NX"), NIL);
    assert.equal(await c3.call("SET", "s:nx", "2", "NX"), "_\r\n");
    assert.equal(await c.call("GET", "s:nx"), bulk("1"));
    assert.equal(await c.call("SET", "s:xx", "1", "XX"), NIL);
    assert.equal(await c.call("EXISTS", "s:xx"), int(0));
    assert.equal(await c.call("SET", "s:nx", "3", "xx"), OK);
    assert.equal(await c.call("SET", "s:nx", "4", "GET"), bulk("3"));
    assert.equal(await c.call("SET", "s:nx", "5", "NX", "GET"), bulk("4"));
    assert.equal(await c.call("GET", "s:nx"), bulk("4"));
    assert.equal(await c.call("SET", "s:get", "v", "GET"), NIL);
    assert.equal(await c.call("SET", "s:get2", "v", "XX", "GET"), NIL);
    assert.equal(await c.call("EXISTS", "s:get2"), int(0));
    assert.equal(await c.call("SET", "s:get", "w", "get", "get"), bulk("v"));
    // GET against another type: WRONGTYPE, and nothing is written.
    assert.equal(await c.call("SADD", "s:set", "m"), int(1));
    assert.equal(await c.call("SET", "s:set", "v", "GET"), WRONGTYPE);
    assert.equal(await c.call("TYPE", "s:set"), "+set\r\n");
  });

  test("SET option errors", async () => {
    for (const opts of [
      ["NX", "XX"],
      ["XX", "NX"],
      ["EX", "10", "PX", "100"],
      ["PX", "10", "EXAT", "100"],
      ["EXAT", "10", "PXAT", "100"],
      ["KEEPTTL", "EX", "10"],
      ["EX", "10", "KEEPTTL"],
      ["EX"],
      ["PERSIST"],
      ["foo"],
      ["NX", "foo"],
    ]) {
      assert.equal(await c.call("SET", "s:opt", "v", ...opts), SYNTAX, opts.join(" "));
    }
    assert.equal(await c.call("SET", "s:opt", "v", "EX", "x"), NOT_INT);
    assert.equal(await c.call("SET", "s:opt", "v", "EX", "0"), expireErr("set"));
    assert.equal(await c.call("SET", "s:opt", "v", "PX", "-1"), expireErr("set"));
    assert.equal(await c.call("SET", "s:opt", "v", "EXAT", "0"), expireErr("set"));
    assert.equal(await c.call("SET", "s:opt", "v", "PX", "9223372036854775807"), expireErr("set"));
    assert.equal(await c.call("SET", "s:opt", "v", "EX", "9223372036854776"), expireErr("set"));
    assert.equal(await c.call("SET", "s:opt", "v", "EX", "9223372036854775"), expireErr("set"));
    assert.equal(await c.call("SET", "s:opt", "v", "EX", "99999999999999999999"), NOT_INT);
    assert.equal(await c.call("EXISTS", "s:opt"), int(0));
    // A repeated option is accepted: the last value wins.
    assert.equal(await c.call("SET", "s:opt", "v", "EX", "10", "EX", "1000"), OK);
    assert.ok(intOf(await c.call("TTL", "s:opt")) > 900);
  });

  test("SET expire options and KEEPTTL", async () => {
    assert.equal(await c.call("SET", "s:ex", "v", "EX", "100"), OK);
    assert.equal(await c.call("TTL", "s:ex"), int(100));
    assert.equal(await c.call("SET", "s:ex", "v", "PX", "50000"), OK);
    assert.equal(await c.call("TTL", "s:ex"), int(50));
    assert.equal(await c.call("SET", "s:ex", "w", "KEEPTTL"), OK);
    assert.equal(await c.call("TTL", "s:ex"), int(50));
    assert.equal(await c.call("SET", "s:ex", "w"), OK);
    assert.equal(await c.call("TTL", "s:ex"), int(-1));
    const at = Math.floor(Date.now() / 1000) + 200;
    assert.equal(await c.call("SET", "s:ex", "v", "EXAT", String(at)), OK);
    assert.equal(await c.call("EXPIRETIME", "s:ex"), int(at));
    assert.equal(await c.call("SET", "s:ex", "v", "PXAT", String(at * 1000 + 123)), OK);
    assert.equal(await c.call("PEXPIRETIME", "s:ex"), int(at * 1000 + 123));
    // An absolute time in the past: the key is gone at once.
    assert.equal(await c.call("SET", "s:ex", "v", "EXAT", "1"), OK);
    assert.equal(await c.call("GET", "s:ex"), NIL);
    assert.equal(await c.call("SET", "s:px", "v", "PX", "100"), OK);
    assert.equal(await c.call("GET", "s:px"), bulk("v"));
    await sleep(250);
    assert.equal(await c.call("GET", "s:px"), NIL);
    assert.equal(await c.call("TTL", "s:px"), int(-2));
  });

  test("SETNX / SETEX / PSETEX", async () => {
    assert.equal(await c.call("SETNX", "s:snx", "a"), int(1));
    assert.equal(await c.call("SETNX", "s:snx", "b"), int(0));
    assert.equal(await c.call("GET", "s:snx"), bulk("a"));
    assert.equal(await c.call("SETEX", "s:sex", "100", "v"), OK);
    assert.equal(await c.call("TTL", "s:sex"), int(100));
    assert.equal(await c.call("SETEX", "s:sex", "0", "v"), expireErr("setex"));
    assert.equal(await c.call("SETEX", "s:sex", "x", "v"), NOT_INT);
    assert.equal(await c.call("PSETEX", "s:psex", "100000", "v"), OK);
    assert.equal(await c.call("TTL", "s:psex"), int(100));
    assert.equal(await c.call("PSETEX", "s:psex", "-5", "v"), expireErr("psetex"));
    assert.equal(await c.call("PSETEX", "s:short", "100", "v"), OK);
    await sleep(250);
    assert.equal(await c.call("EXISTS", "s:short"), int(0));
  });

  test("GETSET / GETDEL", async () => {
    assert.equal(await c.call("GETSET", "s:gs", "1"), NIL);
    assert.equal(await c.call("SET", "s:gs", "1", "EX", "100"), OK);
    assert.equal(await c.call("GETSET", "s:gs", "2"), bulk("1"));
    assert.equal(await c.call("TTL", "s:gs"), int(-1));
    assert.equal(await c.call("HSET", "s:gsh", "f", "v"), int(1));
    assert.equal(await c.call("GETSET", "s:gsh", "x"), WRONGTYPE);
    assert.equal(await c.call("GETDEL", "s:gs"), bulk("2"));
    assert.equal(await c.call("GETDEL", "s:gs"), NIL);
    assert.equal(await c.call("EXISTS", "s:gs"), int(0));
    assert.equal(await c.call("GETDEL", "s:gsh"), WRONGTYPE);
    assert.equal(await c.call("EXISTS", "s:gsh"), int(1));
  });

  test("GETEX", async () => {
    assert.equal(await c.call("SET", "s:gx", "v"), OK);
    assert.equal(await c.call("GETEX", "s:gx"), bulk("v"));
    assert.equal(await c.call("GETEX", "s:gx", "EX", "100"), bulk("v"));
    assert.equal(await c.call("TTL", "s:gx"), int(100));
    assert.equal(await c.call("GETEX", "s:gx", "PX", "50000"), bulk("v"));
    assert.equal(await c.call("TTL", "s:gx"), int(50));
    assert.equal(await c.call("GETEX", "s:gx", "PERSIST"), bulk("v"));
    assert.equal(await c.call("TTL", "s:gx"), int(-1));
    const at = Math.floor(Date.now() / 1000) + 300;
    assert.equal(await c.call("GETEX", "s:gx", "EXAT", String(at)), bulk("v"));
    assert.equal(await c.call("EXPIRETIME", "s:gx"), int(at));
    assert.equal(await c.call("GETEX", "s:gx", "PXAT", String(at * 1000 + 7)), bulk("v"));
    assert.equal(await c.call("PEXPIRETIME", "s:gx"), int(at * 1000 + 7));
    // Errors: options first, then the key, then the time.
    assert.equal(await c.call("GETEX", "s:gx", "EX", "10", "PERSIST"), SYNTAX);
    assert.equal(await c.call("GETEX", "s:gx", "PERSIST", "PX", "10"), SYNTAX);
    assert.equal(await c.call("GETEX", "s:gx", "NX"), SYNTAX);
    assert.equal(await c.call("GETEX", "s:gx", "KEEPTTL"), SYNTAX);
    assert.equal(await c.call("GETEX", "s:gx", "EX"), SYNTAX);
    assert.equal(await c.call("GETEX", "s:gx", "EX", "0"), expireErr("getex"));
    assert.equal(await c.call("GETEX", "s:gx", "EX", "abc"), NOT_INT);
    assert.equal(await c.call("GETEX", "s:nokey", "EX", "0"), NIL);
    assert.equal(await c.call("GETEX", "s:nokey", "EX", "0", "PX", "1"), SYNTAX);
    assert.equal(await c.call("SADD", "s:gxs", "a"), int(1));
    assert.equal(await c.call("GETEX", "s:gxs", "EX", "0"), WRONGTYPE);
    // A past absolute time deletes the key (after answering its value).
    assert.equal(await c.call("GETEX", "s:gx", "PXAT", "1"), bulk("v"));
    assert.equal(await c.call("EXISTS", "s:gx"), int(0));
    assert.equal(await c.call("SET", "s:gx", "v"), OK);
    assert.equal(await c.call("GETEX", "s:gx", "PX", "100"), bulk("v"));
    await sleep(250);
    assert.equal(await c.call("GETEX", "s:gx"), NIL);
  });

  test("MGET / MSET / MSETNX", async () => {
    assert.equal(await c.call("MSET", "s:m1", "a", "s:m2", "b", "s:m1", "c"), OK);
    assert.equal(await c.call("MGET", "s:m1", "s:m2", "s:m3"), arr(bulk("c"), bulk("b"), NIL));
    assert.equal(await c3.call("MGET", "s:m1", "s:m3"), arr(bulk("c"), "_\r\n"));
    assert.equal(await c.call("HSET", "s:mh", "f", "v"), int(1));
    assert.equal(await c.call("MGET", "s:mh", "s:m2"), arr(NIL, bulk("b")));
    assert.equal(await c.call("MSET", "s:m1", "a", "s:m2"), err("ERR wrong number of arguments for 'mset' command"));
    assert.equal(await c.call("MSET", "s:m1"), err("ERR wrong number of arguments for 'mset' command"));
    assert.equal(await c.call("MSETNX", "s:m4", "x", "s:m5"), err("ERR wrong number of arguments for 'msetnx' command"));
    assert.equal(await c.call("MSETNX", "s:m4", "x", "s:m1", "y"), int(0));
    assert.equal(await c.call("EXISTS", "s:m4"), int(0));
    assert.equal(await c.call("MSETNX", "s:m4", "x", "s:m5", "y", "s:m4", "z"), int(1));
    assert.equal(await c.call("MGET", "s:m4", "s:m5"), bulks("z", "y"));
    assert.equal(await c.call("SET", "s:mt", "v", "EX", "100"), OK);
    assert.equal(await c.call("MSET", "s:mt", "w"), OK);
    assert.equal(await c.call("TTL", "s:mt"), int(-1));
  });

  test("INCR / DECR / INCRBY / DECRBY", async () => {
    assert.equal(await c.call("INCR", "s:i"), int(1));
    assert.equal(await c.call("INCRBY", "s:i", "10"), int(11));
    assert.equal(await c.call("DECR", "s:i"), int(10));
    assert.equal(await c.call("DECRBY", "s:i", "-5"), int(15));
    assert.equal(await c.call("DECRBY", "s:i2", "3"), int(-3));
    assert.equal(await c.call("INCRBY", "s:i", "x"), NOT_INT);
    assert.equal(await c.call("INCRBY", "s:i", "+1"), NOT_INT);
    assert.equal(await c.call("INCRBY", "s:i", "1.0"), NOT_INT);
    assert.equal(await c.call("INCRBY", "s:i", ""), NOT_INT);
    for (const bad of ["1.5", " 1", "1 ", "01", "+1", "-0", "abc", "", "12345678901234567890"]) {
      assert.equal(await c.call("SET", "s:bad", bad), OK);
      assert.equal(await c.call("INCR", "s:bad"), NOT_INT, JSON.stringify(bad));
    }
    assert.equal(await c.call("HSET", "s:ih", "f", "v"), int(1));
    assert.equal(await c.call("INCR", "s:ih"), WRONGTYPE);
    // The bad increment is reported before the key's type.
    assert.equal(await c.call("INCRBY", "s:ih", "x"), NOT_INT);
    // The full signed 64-bit range.
    assert.equal(await c.call("SET", "s:big", "9223372036854775806"), OK);
    assert.equal(await c.call("INCR", "s:big"), ":9223372036854775807\r\n");
    assert.equal(await c.call("INCR", "s:big"), OVERFLOW);
    assert.equal(await c.call("GET", "s:big"), bulk("9223372036854775807"));
    assert.equal(await c.call("SET", "s:big", "-9223372036854775807"), OK);
    assert.equal(await c.call("DECR", "s:big"), ":-9223372036854775808\r\n");
    assert.equal(await c.call("DECR", "s:big"), OVERFLOW);
    assert.equal(await c.call("INCRBY", "s:big", "-1"), OVERFLOW);
    assert.equal(await c.call("DECRBY", "s:big", "-9223372036854775808"), err("ERR decrement would overflow"));
    assert.equal(await c.call("INCRBY", "s:big", "9223372036854775807"), int(-1));
    assert.equal(await c.call("SET", "s:big", "9007199254740993"), OK);
    assert.equal(await c.call("INCR", "s:big"), ":9007199254740994\r\n");
    assert.equal(await c.call("INCRBY", "s:big", "-9007199254740995"), int(-1));
    assert.equal(await c.call("INCRBY", "s:big", "9223372036854775808"), NOT_INT);
    // INCR keeps the TTL.
    assert.equal(await c.call("SET", "s:it", "5", "EX", "100"), OK);
    assert.equal(await c.call("INCR", "s:it"), int(6));
    assert.equal(await c.call("TTL", "s:it"), int(100));
  });

  test("INCRBYFLOAT: long double arithmetic and formatting", async () => {
    const cases: [string | null, string, string][] = [
      ["10.5", "0.1", "10.6"],
      ["5.0e3", "2.0e2", "5200"],
      [null, "3.0", "3"],
      ["0.1", "0.2", "0.3"],
      ["3", "-3", "0"],
      ["1", "-1.0000000000000000001", "0"],
      ["-5", "4.99999999999999999", "-0.00000000000000001"],
      ["0", "0x10p1", "32"],
      ["1", "+.5", "1.5"],
      ["1e10", "0", "10000000000"],
      ["0.000000000000000015", "0", "0.00000000000000002"],
      ["0", "1.5e-10", "0.00000000015"],
      [
        "1e300",
        "1",
        "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144",
      ],
    ];
    for (const [start, incr, want] of cases) {
      if (start === null) await c.call("DEL", "s:f");
      else assert.equal(await c.call("SET", "s:f", start), OK);
      assert.equal(await c.call("INCRBYFLOAT", "s:f", incr), bulk(want), `${start} + ${incr}`);
      assert.equal(await c.call("GET", "s:f"), bulk(want));
    }
    // RESP3 answers a bulk string too (not a double).
    await c3.call("DEL", "s:f3");
    assert.equal(await c3.call("INCRBYFLOAT", "s:f3", "1.5"), bulk("1.5"));
    assert.equal(await c.call("SET", "s:f", "1"), OK);
    for (const bad of ["abc", "", " 1", "1 ", "1e", ".", "nan", "1e5000", "1e-5000", "0x"]) {
      assert.equal(await c.call("INCRBYFLOAT", "s:f", bad), NOT_FLOAT, JSON.stringify(bad));
    }
    assert.equal(await c.call("INCRBYFLOAT", "s:f", "inf"), err("ERR increment would produce NaN or Infinity"));
    assert.equal(await c.call("INCRBYFLOAT", "s:f", "-Infinity"), err("ERR increment would produce NaN or Infinity"));
    assert.equal(await c.call("GET", "s:f"), bulk("1"));
    assert.equal(await c.call("SET", "s:f", "x1"), OK);
    assert.equal(await c.call("INCRBYFLOAT", "s:f", "1"), NOT_FLOAT);
    assert.equal(await c.call("HSET", "s:fh", "f", "v"), int(1));
    assert.equal(await c.call("INCRBYFLOAT", "s:fh", "1"), WRONGTYPE);
    assert.equal(await c.call("SET", "s:ft", "1.5", "EX", "100"), OK);
    assert.equal(await c.call("INCRBYFLOAT", "s:ft", "1"), bulk("2.5"));
    assert.equal(await c.call("TTL", "s:ft"), int(100));
    // A sequence of 0.1 steps never drifts.
    await c.call("DEL", "s:acc");
    for (let i = 1; i <= 30; i++) {
      const r = await c.call("INCRBYFLOAT", "s:acc", "0.1");
      const want = (i / 10).toFixed(1).replace(/\.0$/, "");
      assert.equal(r, bulk(want));
    }
  });

  test("APPEND / STRLEN", async () => {
    assert.equal(await c.call("APPEND", "s:ap", "abc"), int(3));
    assert.equal(await c.call("APPEND", "s:ap", "def"), int(6));
    assert.equal(await c.call("APPEND", "s:ap", ""), int(6));
    assert.equal(await c.call("GET", "s:ap"), bulk("abcdef"));
    assert.equal(await c.call("STRLEN", "s:ap"), int(6));
    assert.equal(await c.call("STRLEN", "s:nokey"), int(0));
    assert.equal(await c.call("SET", "s:apt", "x", "EX", "100"), OK);
    assert.equal(await c.call("APPEND", "s:apt", "y"), int(2));
    assert.equal(await c.call("TTL", "s:apt"), int(100));
    assert.equal(await c.call("HSET", "s:aph", "f", "v"), int(1));
    assert.equal(await c.call("APPEND", "s:aph", "x"), WRONGTYPE);
    assert.equal(await c.call("STRLEN", "s:aph"), WRONGTYPE);
  });

  test("GETRANGE / SUBSTR", async () => {
    assert.equal(await c.call("SET", "s:gr", "Hello World"), OK);
    const cases: [string, string, string][] = [
      ["0", "4", "Hello"],
      ["-5", "-1", "World"],
      ["-1", "-5", ""],
      ["5", "2", ""],
      ["0", "-1", "Hello World"],
      ["-100", "100", "Hello World"],
      ["100", "200", ""],
      ["3", "3", "l"],
      ["0", "9223372036854775807", "Hello World"],
      ["-9223372036854775808", "-1", "Hello World"],
      ["-1", "0", ""],
    ];
    for (const [s, e, want] of cases) {
      assert.equal(await c.call("GETRANGE", "s:gr", s, e), bulk(want), `${s}..${e}`);
      assert.equal(await c.call("SUBSTR", "s:gr", s, e), bulk(want));
    }
    assert.equal(await c.call("GETRANGE", "s:nokey", "0", "1"), bulk(""));
    assert.equal(await c.call("GETRANGE", "s:gr", "x", "1"), NOT_INT);
    assert.equal(await c.call("GETRANGE", "s:nokey", "0", "x"), NOT_INT);
    assert.equal(await c.call("SET", "s:grn", "12345"), OK);
    assert.equal(await c.call("GETRANGE", "s:grn", "1", "2"), bulk("23"));
    assert.equal(await c.call("SADD", "s:grs", "a"), int(1));
    assert.equal(await c.call("GETRANGE", "s:grs", "0", "1"), WRONGTYPE);
  });

  test("SETRANGE", async () => {
    assert.equal(await c.call("SETRANGE", "s:sr", "5", "hi"), int(7));
    assert.equal(await c.call("GET", "s:sr"), bulk("\0\0\0\0\0hi"));
    assert.equal(await c.call("SETRANGE", "s:sr", "0", "HEY"), int(7));
    assert.equal(await c.call("GET", "s:sr"), bulk("HEY\0\0hi"));
    assert.equal(await c.call("SETRANGE", "s:sr", "6", "XYZ"), int(9));
    assert.equal(await c.call("GET", "s:sr"), bulk("HEY\0\0hXYZ"));
    assert.equal(await c.call("SETRANGE", "s:sr", "1", ""), int(9));
    assert.equal(await c.call("SETRANGE", "s:srnone", "1", ""), int(0));
    assert.equal(await c.call("EXISTS", "s:srnone"), int(0));
    assert.equal(await c.call("SETRANGE", "s:sr", "-1", "x"), err("ERR offset is out of range"));
    assert.equal(await c.call("SETRANGE", "s:sr", "x", "x"), NOT_INT);
    assert.equal(await c.call("SETRANGE", "s:sr", "536870912", "x"), TOO_BIG);
    assert.equal(await c.call("SETRANGE", "s:sr", "536870911", ""), int(9));
    assert.equal(await c.call("SETRANGE", "s:srnone", "536870912", "x"), TOO_BIG);
    assert.equal(await c.call("SET", "s:srt", "abc", "EX", "100"), OK);
    assert.equal(await c.call("SETRANGE", "s:srt", "1", "X"), int(3));
    assert.equal(await c.call("TTL", "s:srt"), int(100));
    assert.equal(await c.call("HSET", "s:srh", "f", "v"), int(1));
    assert.equal(await c.call("SETRANGE", "s:srh", "0", "x"), WRONGTYPE);
    assert.equal(await c.call("SETRANGE", "s:srh", "-1", "x"), err("ERR offset is out of range"));
  });

  test("proto-max-bulk-len limits APPEND and SETRANGE", async () => {
    const d = await RawClient.connect(srv.port);
    try {
      assert.equal(await d.call("CONFIG", "SET", "proto-max-bulk-len", "1048576"), OK);
      const big = "x".repeat(1048576);
      assert.equal(await d.call("SET", "s:pm", big), OK);
      assert.equal(await d.call("APPEND", "s:pm", "y"), TOO_BIG);
      assert.equal(await d.call("APPEND", "s:pm", ""), int(1048576));
      assert.equal(await d.call("SETRANGE", "s:pm", "1048575", "yy"), TOO_BIG);
      assert.equal(await d.call("SETRANGE", "s:pm", "1048575", "y"), int(1048576));
      assert.equal(await d.call("STRLEN", "s:pm"), int(1048576));
    } finally {
      await d.call("CONFIG", "SET", "proto-max-bulk-len", "536870912");
      await d.call("DEL", "s:pm");
      d.close();
    }
  });

  test("LCS", async () => {
    assert.equal(await c.call("MSET", "s:l1", "ohmytext", "s:l2", "mynewtext"), OK);
    assert.equal(await c.call("LCS", "s:l1", "s:l2"), bulk("mytext"));
    assert.equal(await c.call("LCS", "s:l1", "s:l2", "LEN"), int(6));
    const range = (a: number, b: number) => arr(int(a), int(b));
    assert.equal(
      await c.call("LCS", "s:l1", "s:l2", "IDX"),
      arr(bulk("matches"), arr(arr(range(4, 7), range(5, 8)), arr(range(2, 3), range(0, 1))), bulk("len"), int(6)),
    );
    assert.equal(
      await c.call("LCS", "s:l1", "s:l2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"),
      arr(bulk("matches"), arr(arr(range(4, 7), range(5, 8), int(4))), bulk("len"), int(6)),
    );
    assert.equal(
      await c3.call("LCS", "s:l1", "s:l2", "IDX", "WITHMATCHLEN"),
      "%2\r\n" + bulk("matches") + arr(arr(range(4, 7), range(5, 8), int(4)), arr(range(2, 3), range(0, 1), int(2))) + bulk("len") + int(6),
    );
    assert.equal(await c.call("LCS", "s:l1", "s:l2", "IDX", "MINMATCHLEN", "-3"), await c.call("LCS", "s:l1", "s:l2", "IDX"));
    assert.equal(await c.call("LCS", "s:l1", "s:nokey"), bulk(""));
    assert.equal(await c.call("LCS", "s:nokey", "s:nokey2", "IDX", "WITHMATCHLEN"), arr(bulk("matches"), arr(), bulk("len"), int(0)));
    assert.equal(await c.call("MSET", "s:l3", "ABCBDAB", "s:l4", "BDCABA"), OK);
    assert.equal(await c.call("LCS", "s:l3", "s:l4"), bulk("BDAB"));
    assert.equal(
      await c.call("LCS", "s:l3", "s:l4", "IDX", "WITHMATCHLEN"),
      arr(bulk("matches"), arr(arr(range(5, 6), range(3, 4), int(2)), arr(range(3, 4), range(0, 1), int(2))), bulk("len"), int(4)),
    );
    assert.equal(await c.call("LCS", "s:l1", "s:l2", "IDX", "LEN"), err("ERR If you want both the length and indexes, please just use IDX."));
    assert.equal(await c.call("LCS", "s:l1", "s:l2", "FOO"), SYNTAX);
    assert.equal(await c.call("LCS", "s:l1", "s:l2", "MINMATCHLEN"), SYNTAX);
    assert.equal(await c.call("LCS", "s:l1", "s:l2", "MINMATCHLEN", "x"), NOT_INT);
    assert.equal(await c.call("HSET", "s:lh", "f", "v"), int(1));
    assert.equal(await c.call("LCS", "s:l1", "s:lh"), err("ERR The specified keys must contain string values"));
    // Larger inputs.
    const a = "ab".repeat(1000);
    const b = "ba".repeat(1000);
    assert.equal(await c.call("MSET", "s:la", a, "s:lb", b), OK);
    assert.equal(await c.call("LCS", "s:la", "s:lb", "LEN"), int(1999));
  });

  test("keyspace notifications", async () => {
    const sub = await RawClient.connect(srv.port);
    try {
      assert.equal(await c.call("CONFIG", "SET", "notify-keyspace-events", "KEA"), OK);
      await sub.call("PSUBSCRIBE", "__keyevent@0__:*");
      const steps: [string[], string[]][] = [
        [["SET", "n:a", "1"], ["set n:a"]],
        [["SET", "n:a", "1", "EX", "100"], ["set n:a", "expire n:a"]],
        [["SET", "n:a", "1", "NX"], []],
        [["SETNX", "n:a", "1"], []],
        [["SETEX", "n:b", "10", "v"], ["set n:b", "expire n:b"]],
        [["INCR", "n:a"], ["incrby n:a"]],
        [["DECRBY", "n:a", "2"], ["incrby n:a"]],
        [["INCRBYFLOAT", "n:a", "1.5"], ["incrbyfloat n:a"]],
        [["APPEND", "n:a", "x"], ["append n:a"]],
        [["SETRANGE", "n:a", "0", "y"], ["setrange n:a"]],
        [["SETRANGE", "n:a", "0", ""], []],
        [["GETEX", "n:a", "EX", "100"], ["expire n:a"]],
        [["GETEX", "n:a", "PERSIST"], ["persist n:a"]],
        [["GETEX", "n:a", "PERSIST"], []],
        [["GETSET", "n:a", "z"], ["set n:a"]],
        [["MSET", "n:c", "1", "n:d", "2"], ["set n:c", "set n:d"]],
        [["MSETNX", "n:c", "1", "n:x", "2"], []],
        [["GETDEL", "n:c"], ["del n:c"]],
        [["GETEX", "n:d", "PXAT", "1"], ["del n:d"]],
      ];
      const want: string[] = [];
      for (const [cmd, events] of steps) {
        await c.call(...cmd);
        want.push(...events);
      }
      await c.call("SET", "n:e", "v", "PX", "20");
      await sleep(150);
      await c.call("GET", "n:e");
      want.push("set n:e", "expire n:e", "expired n:e");
      const got: string[] = [];
      for (let i = 0; i < want.length; i++) {
        const m = await sub.read();
        const parts = m.split("\r\n");
        got.push(`${parts[6].slice("__keyevent@0__:".length)} ${parts[8]}`);
      }
      assert.deepEqual(got, want);
    } finally {
      await c.call("CONFIG", "SET", "notify-keyspace-events", "");
      sub.close();
    }
  });

  test("100,000 keys through MSET / MGET", async () => {
    const n = 100000;
    const keys = Array.from({ length: n }, (_, i) => `big:${i}`);
    // Built by hand: spreading 200,000 arguments would overflow some runtimes' stacks.
    const req = (argv: string[]) => `*${argv.length}\r\n` + argv.map((a) => `$${a.length}\r\n${a}\r\n`).join("");
    const msetArgs: string[] = ["MSET"];
    for (let i = 0; i < n; i++) msetArgs.push(keys[i], String(i));
    c.write(req(msetArgs));
    assert.equal(await c.read(), OK);
    c.write(req(["MGET", ...keys.slice(0, 0)].concat(keys)));
    const r = await c.read(20000);
    assert.equal(r, `*${n}\r\n` + keys.map((_, i) => bulk(String(i))).join(""));
    c.write(req(["DEL"].concat(keys)));
    assert.equal(await c.read(), int(n));
    assert.equal(await c.call("EXISTS", "big:0", "big:99999"), int(0));
  });

  test("ioredis and node-redis", async () => {
    const io = new Redis({ port: srv.port, lazyConnect: true });
    await io.connect();
    try {
      assert.equal(await io.set("cl:a", "1", "EX", 100), "OK");
      assert.equal(await io.incrby("cl:a", 5), 6);
      assert.equal(await io.incrbyfloat("cl:a", "0.1"), "6.1");
      assert.deepEqual(await io.mget("cl:a", "cl:none"), ["6.1", null]);
      assert.equal(await io.set("cl:a", "x", "NX"), null);
      assert.equal(await io.getex("cl:a", "PERSIST"), "6.1");
      assert.equal(await io.ttl("cl:a"), -1);
      assert.equal(await io.append("cl:a", "!"), 4);
      assert.equal(await io.getrange("cl:a", 0, 1), "6.");
    } finally {
      io.disconnect();
    }
    for (const RESP of [2, 3] as const) {
      const r = createClient({ socket: { port: srv.port, host: "127.0.0.1" }, RESP });
      r.on("error", () => {});
      await r.connect();
      try {
        assert.equal(await r.set("cl:b", "hello"), "OK");
        assert.equal(await r.get("cl:b"), "hello");
        assert.equal(Number(await r.incrByFloat("cl:f", 1.5)), 1.5);
        assert.equal(Number(await r.incrBy("cl:n", 5)), 5);
        assert.equal(await r.getDel("cl:b"), "hello");
        assert.equal(await r.get("cl:b"), null);
        await r.del(["cl:f", "cl:n"]);
      } finally {
        await r.quit().catch(() => {});
      }
    }
  });
});

describe("strings and the journal", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aki-str-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("relative expires are journaled as absolute times; replay restores the data", async () => {
    const file = path.join(dir, "s.aki");
    let srv = await startServer(["--dbfile", file, "--appendfsync", "always"]);
    let c = await RawClient.connect(srv.port);
    const t0 = Date.now();
    assert.equal(await c.call("SET", "j:a", "v", "EX", "100"), OK);
    assert.equal(await c.call("SET", "j:b", "v", "PX", "100000", "GET"), NIL);
    assert.equal(await c.call("SETEX", "j:c", "100", "v"), OK);
    assert.equal(await c.call("PSETEX", "j:d", "100000", "v"), OK);
    assert.equal(await c.call("SET", "j:e", "1.5", "PXAT", "99999999999999"), OK);
    assert.equal(await c.call("INCRBYFLOAT", "j:e", "0.1"), bulk("1.6"));
    assert.equal(await c.call("SET", "j:f", "v"), OK);
    assert.equal(await c.call("GETEX", "j:f", "EX", "100"), bulk("v"));
    assert.equal(await c.call("GETEX", "j:f"), bulk("v"));
    assert.equal(await c.call("SET", "j:g", "v", "EX", "100"), OK);
    assert.equal(await c.call("GETEX", "j:g", "PERSIST"), bulk("v"));
    assert.equal(await c.call("SET", "j:h", "v"), OK);
    assert.equal(await c.call("GETDEL", "j:h"), bulk("v"));
    assert.equal(await c.call("SET", "j:i", "old", "GET"), NIL);
    assert.equal(await c.call("INCR", "j:n"), int(1));
    const t1 = Date.now();
    c.close();
    await srv.stop();

    const p = new FilePersistence(file);
    const records: JournalRecord[] = [];
    p.open((r) => records.push(r), () => {});
    p.close();
    const argvs = records.flat().map((e) => e.argv);
    const inRange = (ms: string, delta: number) => Number(ms) >= t0 + delta && Number(ms) <= t1 + delta;
    const find = (key: string) => argvs.filter((a) => a[1] === key);
    for (const [key, delta] of [["j:a", 100000], ["j:b", 100000], ["j:c", 100000], ["j:d", 100000]] as const) {
      const [a] = find(key);
      assert.deepEqual(a.slice(0, 4), ["SET", key, "v", "PXAT"], key);
      assert.equal(a.length, 5);
      assert.ok(inRange(a[4], delta), `${key} ${a[4]}`);
    }
    assert.deepEqual(find("j:e"), [["SET", "j:e", "1.5", "PXAT", "99999999999999"], ["SET", "j:e", "1.6", "KEEPTTL"]]);
    const f = find("j:f");
    assert.equal(f.length, 2);
    assert.deepEqual(f[1].slice(0, 2), ["PEXPIREAT", "j:f"]);
    assert.ok(inRange(f[1][2], 100000));
    assert.deepEqual(find("j:g")[1], ["PERSIST", "j:g"]);
    assert.deepEqual(find("j:h"), [["SET", "j:h", "v"], ["DEL", "j:h"]]);
    assert.deepEqual(find("j:i"), [["SET", "j:i", "old"]]);
    assert.deepEqual(find("j:n"), [["INCR", "j:n"]]);

    srv = await startServer(["--dbfile", file]);
    c = await RawClient.connect(srv.port);
    try {
      for (const k of ["j:a", "j:b", "j:c", "j:d", "j:f"]) {
        const ttl = intOf(await c.call("TTL", k));
        assert.ok(ttl > 90 && ttl <= 100, `${k} ${ttl}`);
      }
      assert.equal(await c.call("GET", "j:e"), bulk("1.6"));
      assert.equal(await c.call("PEXPIRETIME", "j:e"), int(99999999999999));
      assert.equal(await c.call("TTL", "j:g"), int(-1));
      assert.equal(await c.call("EXISTS", "j:h"), int(0));
      assert.equal(await c.call("GET", "j:n"), bulk("1"));
    } finally {
      c.close();
      await srv.stop();
    }
  });
});
