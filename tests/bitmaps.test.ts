/**
 * Bitmap commands through real sockets, byte for byte against Redis 7.2's replies: SETBIT /
 * GETBIT (growth, TTL kept, errors), BITCOUNT and BITPOS over byte and bit ranges (with the
 * -1 rules), BITOP AND/OR/XOR/NOT (destination removed when empty), BITFIELD GET/SET/INCRBY
 * with signed and unsigned fields up to i64/u63, #N offsets, OVERFLOW WRAP/SAT/FAIL, and
 * BITFIELD_RO; WRONGTYPE, "setbit" events only on a change, binary values, megabyte-sized
 * bitmaps, and ioredis / node-redis calls.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import Redis from "ioredis";
import { createClient } from "redis";
import { startServer, RawClient, bulk, arr, int, err, OK, NIL, type AkiServer } from "./harness.ts";

const WRONGTYPE = err("WRONGTYPE Operation against a key holding the wrong kind of value");
const E_OFFSET = err("ERR bit offset is not an integer or out of range");
const E_BFTYPE = err("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.");
const bin = (...bytes: number[]): Buffer => Buffer.from(bytes);
/** Bulk reply of raw bytes. */
const bulkBytes = (...bytes: number[]): string => `$${bytes.length}\r\n${String.fromCharCode(...bytes)}\r\n`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("bitmaps", () => {
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

  test("SETBIT / GETBIT", async () => {
    await c.call("DEL", "b");
    assert.equal(await c.call("SETBIT", "b", "7", "1"), int(0));
    assert.equal(await c.call("SETBIT", "b", "7", "1"), int(1));
    assert.equal(await c.call("SETBIT", "b", "7", "0"), int(1));
    assert.equal(await c.call("SETBIT", "b", "0", "1"), int(0));
    assert.equal(await c.call("GET", "b"), bulkBytes(0x80));
    assert.equal(await c.call("SETBIT", "b", "17", "1"), int(0));
    assert.equal(await c.call("GET", "b"), bulkBytes(0x80, 0, 0x40));
    assert.equal(await c.call("GETBIT", "b", "17"), int(1));
    assert.equal(await c.call("GETBIT", "b", "16"), int(0));
    assert.equal(await c.call("GETBIT", "b", "1000000"), int(0));
    assert.equal(await c.call("GETBIT", "nokey", "3"), int(0));
    assert.equal(await c.call("SETBIT", "b", "-1", "1"), E_OFFSET);
    assert.equal(await c.call("SETBIT", "b", "4294967296", "1"), E_OFFSET);
    assert.equal(await c.call("SETBIT", "b", "x", "2"), E_OFFSET);
    assert.equal(await c.call("SETBIT", "b", "1", "2"), err("ERR bit is not an integer or out of range"));
    assert.equal(await c.call("SETBIT", "b", "1", "01"), err("ERR bit is not an integer or out of range"));
    assert.equal(await c.call("GETBIT", "b", "x"), E_OFFSET);
    // SETBIT keeps a TTL (it edits the string in place).
    await c.call("EXPIRE", "b", "100");
    await c.call("SETBIT", "b", "3", "1");
    assert.equal(await c.call("TTL", "b"), int(100));
    await c.call("HSET", "h", "f", "v");
    assert.equal(await c.call("SETBIT", "h", "0", "1"), WRONGTYPE);
    assert.equal(await c.call("GETBIT", "h", "0"), WRONGTYPE);
  });

  test("BITCOUNT with byte and bit ranges", async () => {
    await c.call("SET", "fb", "foobar");
    assert.equal(await c.call("BITCOUNT", "fb"), int(26));
    assert.equal(await c.call("BITCOUNT", "fb", "1", "1"), int(6));
    assert.equal(await c.call("BITCOUNT", "fb", "0", "-1", "BYTE"), int(26));
    assert.equal(await c.call("BITCOUNT", "fb", "5", "30", "BIT"), int(17));
    assert.equal(await c.call("BITCOUNT", "fb", "-1", "-1", "BIT"), int(0));
    assert.equal(await c.call("BITCOUNT", "fb", "-2", "-1"), int(7));
    assert.equal(await c.call("BITCOUNT", "fb", "-1", "-5"), int(0));
    assert.equal(await c.call("BITCOUNT", "fb", "-100", "100"), int(26));
    assert.equal(await c.call("BITCOUNT", "fb", "2", "1"), int(0));
    assert.equal(await c.call("BITCOUNT", "fb", "0"), err("ERR syntax error"));
    assert.equal(await c.call("BITCOUNT", "fb", "0", "1", "2"), err("ERR syntax error"));
    assert.equal(await c.call("BITCOUNT", "fb", "x", "1"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("BITCOUNT", "nokey"), int(0));
    // Redis 7.2 answers 0 for a missing key before looking at the range.
    assert.equal(await c.call("BITCOUNT", "nokey", "0", "-1", "foo"), int(0));
    await c.call("SET", "empty", "");
    assert.equal(await c.call("BITCOUNT", "empty", "0", "-1"), int(0));
    assert.equal(await c.call("BITCOUNT", "h", "0", "1"), WRONGTYPE);
  });

  test("BITPOS and its -1 rules", async () => {
    await c.call("SET", "ff", bin(0xff, 0xff, 0xff));
    await c.call("SET", "g", bin(0x00, 0x00, 0x01, 0x00));
    await c.call("SET", "fb", "foobar");
    assert.equal(await c.call("BITPOS", "ff", "0"), int(24)); // no end given: the bit after the string
    assert.equal(await c.call("BITPOS", "ff", "0", "1"), int(24));
    assert.equal(await c.call("BITPOS", "ff", "0", "0", "-1"), int(-1)); // explicit end: -1
    assert.equal(await c.call("BITPOS", "ff", "0", "10", "30", "BIT"), int(-1));
    assert.equal(await c.call("BITPOS", "ff", "0", "5"), int(-1)); // empty range
    assert.equal(await c.call("BITPOS", "ff", "1", "2"), int(16));
    assert.equal(await c.call("BITPOS", "g", "1"), int(23));
    assert.equal(await c.call("BITPOS", "g", "1", "3"), int(-1));
    assert.equal(await c.call("BITPOS", "g", "1", "10", "22", "BIT"), int(-1));
    assert.equal(await c.call("BITPOS", "g", "1", "10", "23", "BIT"), int(23));
    assert.equal(await c.call("BITPOS", "g", "0", "-2", "-1"), int(16));
    assert.equal(await c.call("BITPOS", "fb", "1", "2", "-1", "BIT"), int(2));
    assert.equal(await c.call("BITPOS", "fb", "0", "0", "-1", "BIT"), int(0));
    assert.equal(await c.call("BITPOS", "nokey", "1"), int(-1));
    assert.equal(await c.call("BITPOS", "nokey", "0"), int(0));
    assert.equal(await c.call("BITPOS", "nokey", "1", "0", "0", "foo"), int(-1));
    await c.call("SET", "empty", "");
    assert.equal(await c.call("BITPOS", "empty", "0"), int(-1));
    assert.equal(await c.call("BITPOS", "fb", "2"), err("ERR The bit argument must be 1 or 0."));
    assert.equal(await c.call("BITPOS", "fb", "x"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("BITPOS", "fb", "1", "0", "1", "foo"), err("ERR syntax error"));
    assert.equal(await c.call("BITPOS", "fb", "1", "x"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("BITPOS", "h", "1"), WRONGTYPE);
  });

  test("BITOP", async () => {
    await c.call("SET", "k1", "foobar");
    await c.call("SET", "k2", "abcdef");
    await c.call("SET", "k3", bin(0xff));
    assert.equal(await c.call("BITOP", "AND", "dest", "k1", "k2"), int(6));
    assert.equal(await c.call("GET", "dest"), bulk("`bc`ab"));
    assert.equal(await c.call("BITOP", "or", "dest", "k1", "k2"), int(6));
    assert.equal(await c.call("GET", "dest"), bulk("goofev"));
    assert.equal(await c.call("BITOP", "XOR", "dest", "k1", "k3"), int(6));
    assert.equal(await c.call("GET", "dest"), bulkBytes(0x99, ..."oobar".split("").map((ch) => ch.charCodeAt(0))));
    assert.equal(await c.call("BITOP", "AND", "dest", "k1", "k3"), int(6));
    assert.equal(await c.call("GET", "dest"), bulkBytes(0x66, 0, 0, 0, 0, 0));
    assert.equal(await c.call("BITOP", "NOT", "dest", "k3"), int(1));
    assert.equal(await c.call("GET", "dest"), bulkBytes(0));
    assert.equal(await c.call("BITOP", "AND", "dest", "k1", "nokey"), int(6));
    assert.equal(await c.call("GET", "dest"), bulkBytes(0, 0, 0, 0, 0, 0));
    await c.call("EXPIRE", "dest", "100");
    assert.equal(await c.call("BITOP", "OR", "dest", "k1"), int(6));
    assert.equal(await c.call("TTL", "dest"), int(-1));
    assert.equal(await c.call("BITOP", "AND", "dest", "nokey1", "nokey2"), int(0));
    assert.equal(await c.call("EXISTS", "dest"), int(0));
    assert.equal(await c.call("BITOP", "NOT", "dest", "k1", "k2"), err("ERR BITOP NOT must be called with a single source key."));
    assert.equal(await c.call("BITOP", "FOO", "dest", "k1"), err("ERR syntax error"));
    assert.equal(await c.call("BITOP", "OR", "dest", "k1", "h"), WRONGTYPE);
  });

  test("BITFIELD GET / SET / INCRBY with overflow control", async () => {
    await c.call("DEL", "bf");
    assert.equal(
      await c.call("BITFIELD", "bf", "SET", "i8", "#1", "-100", "GET", "u8", "8", "INCRBY", "i8", "#1", "-100", "OVERFLOW", "SAT", "INCRBY", "i8", "#1", "-100", "OVERFLOW", "FAIL", "INCRBY", "i8", "#1", "-100", "GET", "i8", "8"),
      arr(int(0), int(156), int(56), int(-44), NIL, int(-44)),
    );
    assert.equal(
      await c.call("BITFIELD", "bf", "SET", "u8", "0", "-1", "OVERFLOW", "FAIL", "SET", "u8", "0", "-1", "SET", "u8", "0", "255", "SET", "u2", "100", "4"),
      arr(int(0), NIL, int(255), NIL),
    );
    assert.equal(
      await c.call("BITFIELD", "bf", "INCRBY", "i64", "0", "9223372036854775807", "INCRBY", "i64", "0", "9223372036854775807", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "9223372036854775807"),
      arr(":9210987137879506943\r\n", int(-12384898975268866), ":9210987137879506941\r\n"),
    );
    assert.equal(
      await c.call("BITFIELD", "bf", "INCRBY", "u63", "0", "9223372036854775807", "INCRBY", "u63", "0", "1", "OVERFLOW", "SAT", "INCRBY", "u63", "0", "-9223372036854775808"),
      arr(":4605493568939753469\r\n", ":4605493568939753470\r\n", int(0)),
    );
    assert.equal(
      await c.call("BITFIELD", "bf", "SET", "i5", "3", "100", "SET", "u5", "3", "100", "SET", "i5", "3", "-17", "GET", "i5", "3", "OVERFLOW", "SAT", "SET", "i5", "3", "-17", "GET", "i5", "3", "SET", "u5", "3", "-1", "GET", "u5", "3"),
      arr(int(0), int(4), int(4), int(15), int(15), int(-16), int(16), int(31)),
    );
    assert.equal(
      await c.call("BITFIELD", "bf", "OVERFLOW", "WRAP", "INCRBY", "u4", "0", "17", "INCRBY", "u4", "0", "-20", "INCRBY", "i4", "0", "9", "INCRBY", "i4", "0", "-20"),
      arr(int(2), int(14), int(7), int(3)),
    );
    assert.equal(await c.call("STRLEN", "bf"), int(13));
    // Reads past the end are zero; a GET-only call on a missing key creates nothing.
    assert.equal(await c.call("BITFIELD", "bf", "GET", "i8", "4294967288"), arr(int(0)));
    assert.equal(await c.call("BITFIELD", "nokey", "GET", "i8", "0"), arr(int(0)));
    assert.equal(await c.call("BITFIELD", "nokey"), arr());
    assert.equal(await c.call("EXISTS", "nokey"), int(0));
    // A write that fails still grows (creates) the string, as in Redis.
    assert.equal(await c.call("BITFIELD", "nk", "OVERFLOW", "FAIL", "SET", "u2", "0", "4"), arr(NIL));
    assert.equal(await c.call("GET", "nk"), bulkBytes(0));
    await c.call("SET", "str", "foobar");
    assert.equal(await c.call("BITFIELD", "str", "GET", "i8", "0", "SET", "i16", "8", "-1", "GET", "u16", "8"), arr(int(102), int(28527), int(65535)));
    assert.equal(await c3.call("BITFIELD_RO", "str", "GET", "u8", "0", "GET", "i3", "5"), arr(int(102), int(-2)));
  });

  test("BITFIELD errors and BITFIELD_RO", async () => {
    assert.equal(await c.call("BITFIELD", "bf", "GET", "I8", "0"), E_BFTYPE);
    assert.equal(await c.call("BITFIELD", "bf", "GET", "u64", "0"), E_BFTYPE);
    assert.equal(await c.call("BITFIELD", "bf", "GET", "i65", "0"), E_BFTYPE);
    assert.equal(await c.call("BITFIELD", "bf", "GET", "i0", "0"), E_BFTYPE);
    assert.equal(await c.call("BITFIELD", "bf", "GET", "x8", "0"), E_BFTYPE);
    assert.equal(await c.call("BITFIELD", "bf", "GET", "i8", "-1"), E_OFFSET);
    assert.equal(await c.call("BITFIELD", "bf", "GET", "i8", "#-1"), E_OFFSET);
    assert.equal(await c.call("BITFIELD", "bf", "GET", "i8", "#536870912"), E_OFFSET);
    assert.equal(await c.call("BITFIELD", "bf", "GET", "i8", "#536870911"), arr(int(0)));
    assert.equal(await c.call("BITFIELD", "bf", "OVERFLOW", "foo"), err("ERR Invalid OVERFLOW type specified"));
    assert.equal(await c.call("BITFIELD", "bf", "FOO"), err("ERR syntax error"));
    assert.equal(await c.call("BITFIELD", "bf", "GET", "i8"), err("ERR syntax error"));
    assert.equal(await c.call("BITFIELD", "bf", "SET", "i8", "0", "x"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("BITFIELD_RO", "bf", "SET", "i8", "0", "1"), err("ERR BITFIELD_RO only supports the GET subcommand"));
    assert.equal(await c.call("BITFIELD_RO", "bf", "GET", "i8", "0", "INCRBY", "i8", "0", "1"), err("ERR BITFIELD_RO only supports the GET subcommand"));
    assert.equal(await c.call("BITFIELD_RO", "bf", "GET", "u8", "8", "OVERFLOW", "SAT"), arr(int(0)));
    assert.equal(await c.call("BITFIELD", "h", "GET", "i8", "0"), WRONGTYPE);
    assert.equal(await c.call("BITFIELD", "h", "SET", "i8", "0", "1"), WRONGTYPE);
  });

  test("binary values and a megabyte bitmap", async () => {
    await c.call("DEL", "big");
    assert.equal(await c.call("SETBIT", "big", "8000000", "1"), int(0));
    assert.equal(await c.call("STRLEN", "big"), int(1000001));
    for (let i = 0; i < 100; i++) await c.call("SETBIT", "big", String(i * 80000 + 3), "1");
    assert.equal(await c.call("BITCOUNT", "big"), int(101));
    assert.equal(await c.call("BITCOUNT", "big", "10000", "-1"), int(100));
    assert.equal(await c.call("BITPOS", "big", "1"), int(3));
    assert.equal(await c.call("BITPOS", "big", "1", "999991"), int(8000000));
    assert.equal(await c.call("BITPOS", "big", "0", "0", "-1"), int(0));
    await c.call("SET", "bin", bin(0x00, 0xff, 0x80, 0x01));
    assert.equal(await c.call("BITCOUNT", "bin"), int(10));
    assert.equal(await c.call("BITPOS", "bin", "1"), int(8));
    assert.equal(await c.call("GETBIT", "bin", "31"), int(1));
    assert.equal(await c.call("BITOP", "NOT", "nbin", "bin"), int(4));
    assert.equal(await c.call("GET", "nbin"), bulkBytes(0xff, 0x00, 0x7f, 0xfe));
  });

  test("keyspace notifications: setbit only when something changed", async () => {
    const sub = await RawClient.connect(srv.port);
    try {
      await c.call("CONFIG", "SET", "notify-keyspace-events", "KEA");
      await c.call("DEL", "ev", "evd");
      await sub.call("PSUBSCRIBE", "__keyevent@0__:*");
      for (const cmd of [
        ["SETBIT", "ev", "1", "1"],
        ["SETBIT", "ev", "1", "1"], // unchanged: no event
        ["BITFIELD", "ev", "SET", "u8", "0", "1"],
        ["BITFIELD", "ev", "SET", "u8", "0", "1"], // unchanged
        ["BITFIELD", "ev", "OVERFLOW", "FAIL", "SET", "u2", "0", "4"], // failed
        ["BITOP", "NOT", "evd", "ev"],
        ["BITOP", "AND", "evd", "nokey"],
      ]) await c.call(...cmd);
      for (const [event, key] of [["setbit", "ev"], ["setbit", "ev"], ["set", "evd"], ["del", "evd"]]) {
        assert.equal(await sub.read(), arr(bulk("pmessage"), bulk("__keyevent@0__:*"), bulk(`__keyevent@0__:${event}`), bulk(key)));
      }
      await sleep(50);
      assert.equal(sub.pending(), "");
    } finally {
      await c.call("CONFIG", "SET", "notify-keyspace-events", "");
      sub.close();
    }
  });

  test("ioredis and node-redis", async () => {
    const io = new Redis({ port: srv.port, lazyConnect: true });
    await io.connect();
    const nr = createClient({ socket: { port: srv.port } });
    await nr.connect();
    try {
      await io.del("cli:b");
      assert.equal(await io.setbit("cli:b", 5, 1), 0);
      assert.equal(await io.getbit("cli:b", 5), 1);
      assert.equal(await io.bitcount("cli:b"), 1);
      assert.deepEqual(await io.bitfield("cli:b", "INCRBY", "u8", "8", "300"), [44]);
      assert.equal(await nr.bitCount("cli:b"), 4);
      assert.equal(await nr.bitPos("cli:b", 1), 5);
      assert.equal(await nr.bitOp("NOT", "cli:nb", "cli:b"), 2);
      assert.deepEqual(await nr.bitField("cli:b", [{ operation: "GET", encoding: "u8", offset: 8 }]), [44]);
      assert.equal(await nr.getBit("cli:nb", 5), 0);
      assert.equal(await io.set("cli:s", "x"), "OK");
    } finally {
      io.disconnect();
      await nr.quit();
    }
  });
});

void OK;
