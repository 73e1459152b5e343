/**
 * Generic keyspace commands through real sockets, replies compared byte for byte (RESP2 and
 * RESP3): DEL UNLINK EXISTS TYPE EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT (NX XX GT LT and their
 * errors) TTL PTTL EXPIRETIME PEXPIRETIME PERSIST KEYS SCAN RENAME RENAMENX RANDOMKEY COPY MOVE
 * TOUCH OBJECT; expiry timing, SCAN's guarantee under concurrent changes, keyspace
 * notifications, what the journal records (PEXPIREAT / DEL) and replay, ioredis / node-redis.
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
const NO_KEY = err("ERR no such key");
const SAME = err("ERR source and destination objects are the same");
const DB_RANGE = err("ERR DB index is out of range");
const expireErr = (cmd: string) => err(`ERR invalid expire time in '${cmd}' command`);

type Decoded = string | number | null | Decoded[];

/** Decode one RESP2/RESP3 reply text (bulk / simple strings as text, integers as numbers). */
function decode(raw: string): Decoded {
  let pos = 0;
  const line = () => {
    const e = raw.indexOf("\r\n", pos);
    const l = raw.slice(pos, e);
    pos = e + 2;
    return l;
  };
  const one = (): Decoded => {
    const l = line();
    const t = l[0];
    const rest = l.slice(1);
    if (t === "+" || t === "-") return rest;
    if (t === ":") return Number(rest);
    if (t === "_") return null;
    if (t === "$") {
      const n = Number(rest);
      if (n < 0) return null;
      const s = raw.slice(pos, pos + n);
      pos += n + 2;
      return s;
    }
    if (t === "*" || t === "~" || t === "%") {
      let n = Number(rest);
      if (n < 0) return null;
      if (t === "%") n *= 2;
      const out: Decoded[] = [];
      for (let i = 0; i < n; i++) out.push(one());
      return out;
    }
    throw new Error(`cannot decode ${JSON.stringify(raw)}`);
  };
  return one();
}

function intOf(r: string): number {
  assert.match(r, /^:-?\d+\r\n$/);
  return Number(r.slice(1, -2));
}

/** Sorted bulk strings of an array reply. */
function sortedKeys(r: string): string[] {
  return (decode(r) as string[]).slice().sort();
}

/** A full SCAN iteration: every key returned (with repeats), calling `between` after each call. */
async function scanAll(c: RawClient, args: string[] = [], between?: (round: number) => Promise<void>): Promise<string[]> {
  const out: string[] = [];
  let cursor = "0";
  let round = 0;
  do {
    const [next, keys] = decode(await c.call("SCAN", cursor, ...args)) as [string, string[]];
    out.push(...keys);
    cursor = next;
    if (between) await between(round++);
  } while (cursor !== "0");
  return out;
}

describe("keyspace", () => {
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

  test("DEL / UNLINK / EXISTS / TOUCH", async () => {
    assert.equal(await c.call("MSET", "d:a", "1", "d:b", "2", "d:c", "3"), OK);
    assert.equal(await c.call("EXISTS", "d:a", "d:a", "d:none", "d:b"), int(3));
    assert.equal(await c.call("TOUCH", "d:a", "d:a", "d:none"), int(2));
    assert.equal(await c.call("DEL", "d:a", "d:a", "d:none"), int(1));
    assert.equal(await c.call("UNLINK", "d:b", "d:c", "d:b"), int(2));
    assert.equal(await c.call("EXISTS", "d:a", "d:b", "d:c"), int(0));
    assert.equal(await c.call("DEL", "d:none"), int(0));
    assert.equal(await c.call("DEL"), err("ERR wrong number of arguments for 'del' command"));
    assert.equal(await c.call("EXISTS"), err("ERR wrong number of arguments for 'exists' command"));
    // An expired key does not count.
    assert.equal(await c.call("SET", "d:e", "v", "PX", "30"), OK);
    await sleep(100);
    assert.equal(await c.call("EXISTS", "d:e"), int(0));
    assert.equal(await c.call("DEL", "d:e"), int(0));
  });

  test("TYPE", async () => {
    assert.equal(await c.call("SET", "t:s", "v"), OK);
    assert.equal(await c.call("HSET", "t:h", "f", "v"), int(1));
    assert.equal(await c.call("SADD", "t:set", "m"), int(1));
    assert.equal(await c.call("RPUSH", "t:l", "a"), int(1));
    assert.equal(await c.call("TYPE", "t:s"), "+string\r\n");
    assert.equal(await c.call("TYPE", "t:h"), "+hash\r\n");
    assert.equal(await c.call("TYPE", "t:set"), "+set\r\n");
    assert.equal(await c.call("TYPE", "t:l"), "+list\r\n");
    assert.equal(await c.call("ZADD", "t:z", "1", "a"), int(1));
    assert.equal(await c.call("TYPE", "t:z"), "+zset\r\n");
    assert.equal(await c.call("TYPE", "t:none"), "+none\r\n");
    assert.equal(await c3.call("TYPE", "t:s"), "+string\r\n");
    assert.equal(await c.call("DEL", "t:s", "t:h", "t:set", "t:l", "t:z"), int(5));
  });

  test("EXPIRE family, TTL / PTTL / EXPIRETIME / PEXPIRETIME", async () => {
    assert.equal(await c.call("SET", "e:a", "v"), OK);
    assert.equal(await c.call("TTL", "e:a"), int(-1));
    assert.equal(await c.call("PTTL", "e:a"), int(-1));
    assert.equal(await c.call("EXPIRETIME", "e:a"), int(-1));
    assert.equal(await c.call("PEXPIRETIME", "e:a"), int(-1));
    assert.equal(await c.call("TTL", "e:none"), int(-2));
    assert.equal(await c.call("PTTL", "e:none"), int(-2));
    assert.equal(await c.call("EXPIRETIME", "e:none"), int(-2));
    assert.equal(await c.call("PEXPIRETIME", "e:none"), int(-2));
    assert.equal(await c.call("EXPIRE", "e:a", "100"), int(1));
    assert.equal(await c.call("TTL", "e:a"), int(100));
    const pttl = intOf(await c.call("PTTL", "e:a"));
    assert.ok(pttl > 99000 && pttl <= 100000);
    assert.equal(await c.call("PEXPIRE", "e:a", "50800"), int(1));
    assert.equal(await c.call("TTL", "e:a"), int(51)); // rounded to the nearest second
    assert.equal(await c.call("PEXPIRE", "e:a", "50400"), int(1));
    assert.equal(await c.call("TTL", "e:a"), int(50));
    const at = Math.floor(Date.now() / 1000) + 1000;
    assert.equal(await c.call("EXPIREAT", "e:a", String(at)), int(1));
    assert.equal(await c.call("EXPIRETIME", "e:a"), int(at));
    assert.equal(await c.call("PEXPIRETIME", "e:a"), int(at * 1000));
    assert.equal(await c.call("PEXPIREAT", "e:a", String(at * 1000 + 499)), int(1));
    assert.equal(await c.call("EXPIRETIME", "e:a"), int(at));
    assert.equal(await c.call("PEXPIREAT", "e:a", String(at * 1000 + 500)), int(1));
    assert.equal(await c.call("EXPIRETIME", "e:a"), int(at + 1));
    assert.equal(await c.call("EXPIRE", "e:none", "100"), int(0));
    assert.equal(await c.call("PEXPIREAT", "e:none", "1"), int(0));
    // PERSIST
    assert.equal(await c.call("PERSIST", "e:a"), int(1));
    assert.equal(await c.call("PERSIST", "e:a"), int(0));
    assert.equal(await c.call("PERSIST", "e:none"), int(0));
    assert.equal(await c.call("TTL", "e:a"), int(-1));
  });

  test("EXPIRE NX / XX / GT / LT", async () => {
    assert.equal(await c.call("SET", "o:a", "v"), OK);
    // No TTL: XX and GT fail, NX and LT succeed.
    assert.equal(await c.call("EXPIRE", "o:a", "100", "XX"), int(0));
    assert.equal(await c.call("EXPIRE", "o:a", "100", "GT"), int(0));
    assert.equal(await c.call("EXPIRE", "o:a", "100", "xx", "gt"), int(0));
    assert.equal(await c.call("TTL", "o:a"), int(-1));
    assert.equal(await c.call("EXPIRE", "o:a", "100", "NX"), int(1));
    assert.equal(await c.call("EXPIRE", "o:a", "200", "NX"), int(0));
    assert.equal(await c.call("TTL", "o:a"), int(100));
    assert.equal(await c.call("EXPIRE", "o:a", "200", "XX"), int(1));
    assert.equal(await c.call("TTL", "o:a"), int(200));
    assert.equal(await c.call("EXPIRE", "o:a", "100", "GT"), int(0));
    assert.equal(await c.call("EXPIRE", "o:a", "199", "GT"), int(0));
    assert.equal(await c.call("EXPIRE", "o:a", "300", "GT"), int(1));
    assert.equal(await c.call("EXPIRE", "o:a", "400", "LT"), int(0));
    assert.equal(await c.call("EXPIRE", "o:a", "50", "LT"), int(1));
    assert.equal(await c.call("EXPIRE", "o:a", "60", "XX", "GT"), int(1));
    assert.equal(await c.call("TTL", "o:a"), int(60));
    assert.equal(await c.call("SET", "o:b", "v"), OK);
    assert.equal(await c.call("EXPIRE", "o:b", "100", "LT"), int(1));
    assert.equal(await c.call("TTL", "o:b"), int(100));
    // Errors: options are checked before the time.
    assert.equal(await c.call("EXPIRE", "o:a", "50", "NX", "XX"), err("ERR NX and XX, GT or LT options at the same time are not compatible"));
    assert.equal(await c.call("EXPIRE", "o:a", "50", "NX", "GT"), err("ERR NX and XX, GT or LT options at the same time are not compatible"));
    assert.equal(await c.call("EXPIRE", "o:a", "50", "LT", "NX"), err("ERR NX and XX, GT or LT options at the same time are not compatible"));
    assert.equal(await c.call("EXPIRE", "o:a", "50", "GT", "LT"), err("ERR GT and LT options at the same time are not compatible"));
    assert.equal(await c.call("EXPIRE", "o:a", "50", "foo"), err("ERR Unsupported option foo"));
    assert.equal(await c.call("PEXPIRE", "o:a", "50", "nx", "Bar"), err("ERR Unsupported option Bar"));
    assert.equal(await c.call("EXPIRE", "o:a", "x", "foo"), err("ERR Unsupported option foo"));
    assert.equal(await c.call("EXPIRE", "o:a", "x"), NOT_INT);
    assert.equal(await c.call("EXPIRE", "o:a", "1.5"), NOT_INT);
    assert.equal(await c.call("EXPIRE", "o:a", ""), NOT_INT);
    assert.equal(await c.call("EXPIRE", "o:a", "9223372036854776"), expireErr("expire"));
    assert.equal(await c.call("EXPIRE", "o:a", "-9223372036854776"), expireErr("expire"));
    assert.equal(await c.call("EXPIRE", "o:none", "9223372036854776"), expireErr("expire"));
    assert.equal(await c.call("PEXPIRE", "o:a", "9223372036854775807"), expireErr("pexpire"));
    assert.equal(await c.call("EXPIREAT", "o:a", "9223372036854776"), expireErr("expireat"));
    assert.equal(await c.call("TTL", "o:a"), int(60));
    // Huge but valid times are accepted.
    assert.equal(await c.call("PEXPIREAT", "o:a", "9223372036854775807"), int(1));
    assert.equal(await c.call("EXPIRETIME", "o:a"), int(9223372036854776));
  });

  test("expire times in the past delete the key; keys expire on time", async () => {
    for (const [cmd, t] of [["EXPIRE", "-1"], ["EXPIRE", "0"], ["PEXPIRE", "-100"], ["EXPIREAT", "1"], ["PEXPIREAT", "0"]]) {
      assert.equal(await c.call("SET", "p:a", "v"), OK);
      assert.equal(await c.call(cmd, "p:a", t), int(1), `${cmd} ${t}`);
      assert.equal(await c.call("EXISTS", "p:a"), int(0));
    }
    assert.equal(await c.call("SET", "p:a", "v"), OK);
    assert.equal(await c.call("EXPIRE", "p:a", "0", "XX"), int(0));
    assert.equal(await c.call("EXISTS", "p:a"), int(1));
    assert.equal(await c.call("EXPIRE", "p:a", "-5", "LT"), int(1));
    assert.equal(await c.call("EXISTS", "p:a"), int(0));

    assert.equal(await c.call("SET", "p:b", "v"), OK);
    assert.equal(await c.call("PEXPIRE", "p:b", "100"), int(1));
    assert.equal(await c.call("GET", "p:b"), bulk("v"));
    await sleep(250);
    assert.equal(await c.call("GET", "p:b"), NIL);
    assert.equal(await c.call("TTL", "p:b"), int(-2));
    // Active expiry removes keys nobody reads.
    assert.equal(await c.call("SET", "p:c", "v", "PX", "50"), OK);
    await sleep(300);
    assert.equal(await c.call("KEYS", "p:*"), arr());
  });

  test("KEYS patterns", async () => {
    const names = ["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h?llo", "h[a]llo", "Hello", "x1", "x2", "x10"];
    for (const n of names) assert.equal(await c.call("SET", `k:${n}`, "v"), OK);
    const keys = async (p: string) => sortedKeys(await c.call("KEYS", `k:${p}`)).map((k) => k.slice(2));
    assert.deepEqual(await keys("*"), names.slice().sort());
    assert.deepEqual(await keys("h?llo"), ["h*llo", "h?llo", "hallo", "hello", "hxllo"]);
    assert.deepEqual(await keys("h*llo"), ["h*llo", "h?llo", "h[a]llo", "hallo", "heeeello", "hello", "hllo", "hxllo"]);
    assert.deepEqual(await keys("h[ae]llo"), ["hallo", "hello"]);
    assert.deepEqual(await keys("h[^e]llo"), ["h*llo", "h?llo", "hallo", "hxllo"]);
    assert.deepEqual(await keys("h[a-b]llo"), ["hallo"]);
    assert.deepEqual(await keys("h\\*llo"), ["h*llo"]);
    assert.deepEqual(await keys("h\\?llo"), ["h?llo"]);
    assert.deepEqual(await keys("h\\[a\\]llo"), ["h[a]llo"]);
    assert.deepEqual(await keys("x?"), ["x1", "x2"]);
    assert.deepEqual(await keys("nomatch*"), []);
    assert.deepEqual(await keys("Hello"), ["Hello"]);
    // Expired keys are not listed.
    assert.equal(await c.call("PEXPIRE", "k:x10", "20"), int(1));
    await sleep(60);
    assert.deepEqual(await keys("x*"), ["x1", "x2"]);
    const r3 = await c3.call("KEYS", "k:x?");
    assert.match(r3, /^\*2\r\n/);
    assert.equal(await c.call("DEL", ...names.map((n) => `k:${n}`)), int(names.length - 1));
  });

  test("SCAN options and errors", async () => {
    assert.equal(await c.call("SCAN", "x"), err("ERR invalid cursor"));
    assert.equal(await c.call("SCAN", " 1"), err("ERR invalid cursor"));
    assert.equal(await c.call("SCAN", "18446744073709551616"), err("ERR invalid cursor"));
    assert.equal(await c.call("SCAN", "0", "COUNT", "0"), SYNTAX);
    assert.equal(await c.call("SCAN", "0", "COUNT", "-1"), SYNTAX);
    assert.equal(await c.call("SCAN", "0", "COUNT", "x"), NOT_INT);
    assert.equal(await c.call("SCAN", "0", "MATCH"), SYNTAX);
    assert.equal(await c.call("SCAN", "0", "foo", "bar"), SYNTAX);
    assert.equal(await c.call("SCAN", "x", "COUNT", "0"), err("ERR invalid cursor"));
    assert.equal(await c.call("SCAN"), err("ERR wrong number of arguments for 'scan' command"));

    assert.equal(await c.call("MSET", "sc:a1", "1", "sc:a2", "2", "sc:b1", "3"), OK);
    assert.equal(await c.call("HSET", "sc:h", "f", "v"), int(1));
    assert.equal(await c.call("SADD", "sc:s", "m"), int(1));
    assert.equal(await c.call("RPUSH", "sc:l", "x"), int(1));
    assert.equal(await c.call("ZADD", "sc:z", "1", "x"), int(1));
    const all = async (...args: string[]) => (await scanAll(c, args)).sort();
    assert.deepEqual(await all("MATCH", "sc:*"), ["sc:a1", "sc:a2", "sc:b1", "sc:h", "sc:l", "sc:s", "sc:z"]);
    assert.deepEqual(await all("MATCH", "sc:*", "TYPE", "zset"), ["sc:z"]);
    assert.deepEqual(await all("MATCH", "sc:a*", "COUNT", "1"), ["sc:a1", "sc:a2"]);
    assert.deepEqual(await all("MATCH", "sc:*", "TYPE", "hash"), ["sc:h"]);
    assert.deepEqual(await all("MATCH", "sc:*", "TYPE", "SET"), ["sc:s"]);
    assert.deepEqual(await all("TYPE", "list", "MATCH", "sc:*"), ["sc:l"]);
    assert.deepEqual(await all("MATCH", "sc:*", "TYPE", "string"), ["sc:a1", "sc:a2", "sc:b1"]);
    assert.deepEqual(await all("MATCH", "sc:*", "TYPE", "nosuchtype"), []);
    // An empty cursor is cursor 0; "+0" too.
    assert.equal((decode(await c.call("SCAN", "", "MATCH", "sc:*", "COUNT", "1000")) as Decoded[])[0], "0");
    assert.equal((decode(await c.call("SCAN", "+0", "MATCH", "sc:*", "COUNT", "1000")) as Decoded[])[0], "0");
    // RESP3: the same two-element array.
    const r3 = decode(await c3.call("SCAN", "0", "MATCH", "sc:h", "COUNT", "1000")) as [string, string[]];
    assert.deepEqual(r3, ["0", ["sc:h"]]);
    assert.equal(await c3.call("SCAN", "0", "MATCH", "sc:h", "COUNT", "1000"), arr(bulk("0"), bulks("sc:h")));
    // Expired keys are skipped.
    assert.equal(await c.call("PEXPIRE", "sc:a1", "20"), int(1));
    await sleep(60);
    assert.deepEqual(await all("MATCH", "sc:a*"), ["sc:a2"]);
    assert.equal(await c.call("DEL", "sc:a2", "sc:b1", "sc:h", "sc:s", "sc:l", "sc:z"), int(6));
  });

  test("SCAN returns every key present for the whole iteration, under concurrent changes", async () => {
    const d = await RawClient.connect(srv.port);
    try {
      const stable: string[] = [];
      for (let i = 0; i < 2000; i++) stable.push(`g:stable:${i}`);
      const mset = ["MSET"];
      for (const k of stable) mset.push(k, "v");
      assert.equal(await d.call(...mset), OK);
      for (let i = 0; i < 500; i++) await d.call("SET", `g:temp:${i}`, "v");
      let added = 0;
      const seen = await scanAll(c, ["MATCH", "g:*", "COUNT", "37"], async (round) => {
        // Between calls another client removes some keys and adds new ones.
        for (let j = 0; j < 10; j++) {
          await d.call("DEL", `g:temp:${(round * 10 + j) % 500}`);
          await d.call("SET", `g:new:${added++}`, "v");
        }
      });
      const set = new Set(seen);
      for (const k of stable) assert.ok(set.has(k), `missing ${k}`);
      for (const k of seen) assert.match(k, /^g:/);
      // Nothing is reported twice when the keyspace only grows or shrinks.
      assert.equal(seen.length, set.size);
      const left = decode(await d.call("KEYS", "g:*")) as string[];
      d.write(`*${left.length + 1}\r\n$3\r\nDEL\r\n` + left.map((k) => `$${k.length}\r\n${k}\r\n`).join(""));
      assert.equal(await d.read(), int(left.length));
    } finally {
      d.close();
    }
  });

  test("SCAN over 100,000 keys", async () => {
    const n = 100000;
    const req = (argv: string[]) => `*${argv.length}\r\n` + argv.map((a) => `$${a.length}\r\n${a}\r\n`).join("");
    const mset = ["MSET"];
    for (let i = 0; i < n; i++) mset.push(`big:${i}`, "v");
    c.write(req(mset));
    assert.equal(await c.read(), OK);
    const seen = await scanAll(c, ["MATCH", "big:*", "COUNT", "1000"]);
    assert.equal(seen.length, n);
    assert.equal(new Set(seen).size, n);
    assert.equal((decode(await c.call("KEYS", "big:*")) as string[]).length, n);
    c.write(req(["DEL"].concat(seen)));
    assert.equal(await c.read(), int(n));
  });

  test("RENAME / RENAMENX", async () => {
    assert.equal(await c.call("SET", "r:a", "1", "EX", "100"), OK);
    assert.equal(await c.call("RENAME", "r:a", "r:b"), OK);
    assert.equal(await c.call("EXISTS", "r:a"), int(0));
    assert.equal(await c.call("GET", "r:b"), bulk("1"));
    assert.equal(await c.call("TTL", "r:b"), int(100));
    assert.equal(await c.call("SET", "r:c", "2"), OK);
    assert.equal(await c.call("RENAME", "r:c", "r:b"), OK);
    assert.equal(await c.call("GET", "r:b"), bulk("2"));
    assert.equal(await c.call("TTL", "r:b"), int(-1));
    assert.equal(await c.call("RENAME", "r:none", "r:x"), NO_KEY);
    assert.equal(await c.call("RENAME", "r:none", "r:none"), NO_KEY);
    assert.equal(await c.call("RENAMENX", "r:none", "r:x"), NO_KEY);
    assert.equal(await c.call("RENAME", "r:b", "r:b"), OK);
    assert.equal(await c.call("RENAMENX", "r:b", "r:b"), int(0));
    assert.equal(await c.call("SET", "r:d", "3"), OK);
    assert.equal(await c.call("RENAMENX", "r:b", "r:d"), int(0));
    assert.equal(await c.call("RENAMENX", "r:b", "r:e"), int(1));
    assert.equal(await c.call("MGET", "r:b", "r:d", "r:e"), arr(NIL, bulk("3"), bulk("2")));
    assert.equal(await c.call("HSET", "r:h", "f", "v"), int(1));
    assert.equal(await c.call("RENAME", "r:h", "r:e"), OK);
    assert.equal(await c.call("TYPE", "r:e"), "+hash\r\n");
    assert.equal(await c.call("DEL", "r:d", "r:e"), int(2));
  });

  test("RANDOMKEY", async () => {
    const d = await RawClient.connect(srv.port);
    try {
      assert.equal(await d.call("SELECT", "9"), OK);
      assert.equal(await d.call("RANDOMKEY"), NIL);
      assert.equal(await d.call("SET", "rk:only", "v"), OK);
      assert.equal(await d.call("RANDOMKEY"), bulk("rk:only"));
      assert.equal(await d.call("SET", "rk:two", "v"), OK);
      const seen = new Set<string>();
      for (let i = 0; i < 50; i++) seen.add(await d.call("RANDOMKEY"));
      assert.deepEqual([...seen].sort(), [bulk("rk:only"), bulk("rk:two")].sort());
      assert.equal(await d.call("FLUSHDB"), OK);
      assert.equal(await d.call("HELLO", "3").then(() => d.call("RANDOMKEY")), "_\r\n");
    } finally {
      d.close();
    }
  });

  test("COPY", async () => {
    assert.equal(await c.call("SET", "cp:a", "v", "EX", "100"), OK);
    assert.equal(await c.call("COPY", "cp:a", "cp:b"), int(1));
    assert.equal(await c.call("GET", "cp:b"), bulk("v"));
    assert.equal(await c.call("TTL", "cp:b"), int(100));
    assert.equal(await c.call("SET", "cp:a", "w"), OK);
    assert.equal(await c.call("COPY", "cp:a", "cp:b"), int(0));
    assert.equal(await c.call("COPY", "cp:a", "cp:b", "REPLACE"), int(1));
    assert.equal(await c.call("GET", "cp:b"), bulk("w"));
    assert.equal(await c.call("TTL", "cp:b"), int(-1));
    assert.equal(await c.call("COPY", "cp:none", "cp:c"), int(0));
    assert.equal(await c.call("COPY", "cp:a", "cp:a"), SAME);
    assert.equal(await c.call("COPY", "cp:a", "cp:a", "DB", "0"), SAME);
    assert.equal(await c.call("COPY", "cp:a", "cp:a", "DB", "16"), DB_RANGE);
    assert.equal(await c.call("COPY", "cp:a", "cp:a", "DB", "-1"), DB_RANGE);
    assert.equal(await c.call("COPY", "cp:a", "cp:a", "DB", "x"), NOT_INT);
    assert.equal(await c.call("COPY", "cp:a", "cp:a", "DB"), SYNTAX);
    assert.equal(await c.call("COPY", "cp:a", "cp:b", "foo"), SYNTAX);
    // To another database, keeping the TTL.
    assert.equal(await c.call("EXPIRE", "cp:a", "200"), int(1));
    assert.equal(await c.call("COPY", "cp:a", "cp:a", "DB", "1"), int(1));
    assert.equal(await c.call("COPY", "cp:a", "cp:a", "db", "1"), int(0));
    const d = await RawClient.connect(srv.port);
    try {
      assert.equal(await d.call("SELECT", "1"), OK);
      assert.equal(await d.call("GET", "cp:a"), bulk("w"));
      assert.equal(await d.call("TTL", "cp:a"), int(200));
      assert.equal(await d.call("DEL", "cp:a"), int(1));
    } finally {
      d.close();
    }
    // Collections are copied deeply.
    assert.equal(await c.call("HSET", "cp:h", "f", "v", "g", "w"), int(2));
    assert.equal(await c.call("COPY", "cp:h", "cp:h2"), int(1));
    assert.equal(await c.call("HSET", "cp:h2", "f", "changed"), int(0));
    assert.equal(await c.call("HGET", "cp:h", "f"), bulk("v"));
    assert.equal(await c.call("SADD", "cp:s", "1", "2"), int(2));
    assert.equal(await c.call("COPY", "cp:s", "cp:s2"), int(1));
    assert.equal(await c.call("SADD", "cp:s2", "3"), int(1));
    assert.equal(await c.call("SCARD", "cp:s"), int(2));
    assert.equal(await c.call("RPUSH", "cp:l", "a", "b"), int(2));
    assert.equal(await c.call("COPY", "cp:l", "cp:l2"), int(1));
    assert.equal(await c.call("RPUSH", "cp:l2", "c"), int(3));
    assert.equal(await c.call("LRANGE", "cp:l", "0", "-1"), bulks("a", "b"));
    assert.equal(await c.call("LRANGE", "cp:l2", "0", "-1"), bulks("a", "b", "c"));
    assert.equal(await c.call("ZADD", "cp:z", "1", "a", "2", "b"), int(2));
    assert.equal(await c.call("COPY", "cp:z", "cp:z2"), int(1));
    assert.equal(await c.call("ZADD", "cp:z2", "3", "c", "5", "a"), int(1));
    assert.equal(await c.call("ZRANGE", "cp:z", "0", "-1", "WITHSCORES"), bulks("a", "1", "b", "2"));
    assert.equal(await c.call("ZRANGE", "cp:z2", "0", "-1", "WITHSCORES"), bulks("b", "2", "c", "3", "a", "5"));
    assert.equal(await c.call("DEL", "cp:a", "cp:b", "cp:h", "cp:h2", "cp:s", "cp:s2", "cp:l", "cp:l2", "cp:z", "cp:z2"), int(10));
  });

  test("MOVE", async () => {
    const d = await RawClient.connect(srv.port);
    try {
      assert.equal(await d.call("SELECT", "2"), OK);
      assert.equal(await c.call("SET", "mv:a", "v", "EX", "100"), OK);
      assert.equal(await c.call("MOVE", "mv:a", "2"), int(1));
      assert.equal(await c.call("EXISTS", "mv:a"), int(0));
      assert.equal(await d.call("GET", "mv:a"), bulk("v"));
      assert.equal(await d.call("TTL", "mv:a"), int(100));
      assert.equal(await c.call("MOVE", "mv:a", "2"), int(0));
      assert.equal(await c.call("SET", "mv:a", "mine"), OK);
      assert.equal(await c.call("MOVE", "mv:a", "2"), int(0));
      assert.equal(await c.call("GET", "mv:a"), bulk("mine"));
      assert.equal(await c.call("MOVE", "mv:a", "0"), SAME);
      assert.equal(await c.call("MOVE", "mv:a", "16"), DB_RANGE);
      assert.equal(await c.call("MOVE", "mv:a", "-1"), DB_RANGE);
      assert.equal(await c.call("MOVE", "mv:a", "x"), NOT_INT);
      assert.equal(await c.call("MOVE", "mv:none", "3"), int(0));
      assert.equal(await d.call("DEL", "mv:a"), int(1));
      assert.equal(await c.call("DEL", "mv:a"), int(1));
    } finally {
      d.close();
    }
  });

  test("OBJECT ENCODING / REFCOUNT / IDLETIME / FREQ / HELP", async () => {
    const enc = async (k: string) => await c.call("OBJECT", "ENCODING", k);
    assert.equal(await enc("ob:none"), NIL);
    assert.equal(await c3.call("OBJECT", "ENCODING", "ob:none"), "_\r\n");
    const strings: [string, string][] = [
      ["12345", "int"],
      ["-9223372036854775808", "int"],
      ["9223372036854775808", "embstr"],
      ["0123", "embstr"],
      ["abc", "embstr"],
      ["a".repeat(44), "embstr"],
      ["a".repeat(45), "raw"],
    ];
    for (const [v, e] of strings) {
      assert.equal(await c.call("SET", "ob:s", v), OK);
      assert.equal(await enc("ob:s"), bulk(e), v);
    }
    // In-place changes leave a raw string; INCR makes it an integer again.
    assert.equal(await c.call("SET", "ob:s", "10"), OK);
    assert.equal(await c.call("APPEND", "ob:s", "0"), int(3));
    assert.equal(await enc("ob:s"), bulk("raw"));
    assert.equal(await c.call("INCR", "ob:s"), int(101));
    assert.equal(await enc("ob:s"), bulk("int"));
    assert.equal(await c.call("SETRANGE", "ob:s", "0", "9"), int(3));
    assert.equal(await enc("ob:s"), bulk("raw"));
    assert.equal(await c.call("RENAME", "ob:s", "ob:s2"), OK);
    assert.equal(await enc("ob:s2"), bulk("raw"));
    assert.equal(await c.call("SET", "ob:s2", "901"), OK);
    assert.equal(await enc("ob:s2"), bulk("int"));
    assert.equal(await c.call("INCRBYFLOAT", "ob:s2", "0.5"), bulk("901.5"));
    assert.equal(await enc("ob:s2"), bulk("embstr"));
    // Collections by size.
    assert.equal(await c.call("HSET", "ob:h", "f", "v"), int(1));
    assert.equal(await enc("ob:h"), bulk("listpack"));
    assert.equal(await c.call("HSET", "ob:h", "big", "x".repeat(65)), int(1));
    assert.equal(await enc("ob:h"), bulk("hashtable"));
    assert.equal(await c.call("SADD", "ob:is", "1", "2", "-3"), int(3));
    assert.equal(await enc("ob:is"), bulk("intset"));
    assert.equal(await c.call("SADD", "ob:ls", "a", "1"), int(2));
    assert.equal(await enc("ob:ls"), bulk("listpack"));
    const many = Array.from({ length: 200 }, (_, i) => `m${i}`);
    assert.equal(await c.call("SADD", "ob:hs", ...many), int(200));
    assert.equal(await enc("ob:hs"), bulk("hashtable"));
    assert.equal(await c.call("RPUSH", "ob:l", "a", "b"), int(2));
    assert.equal(await enc("ob:l"), bulk("listpack"));
    assert.equal(await c.call("RPUSH", "ob:l", "x".repeat(9000)), int(3));
    assert.equal(await enc("ob:l"), bulk("quicklist"));
    assert.equal(await c.call("ZADD", "ob:z", "1", "a"), int(1));
    assert.equal(await enc("ob:z"), bulk("listpack"));
    assert.equal(await c.call("ZADD", "ob:z", "2", "y".repeat(65)), int(1));
    assert.equal(await enc("ob:z"), bulk("skiplist"));
    // REFCOUNT: shared small integers.
    assert.equal(await c.call("SET", "ob:r", "100"), OK);
    assert.equal(await c.call("OBJECT", "REFCOUNT", "ob:r"), int(2147483647));
    assert.equal(await c.call("SET", "ob:r", "10000"), OK);
    assert.equal(await c.call("OBJECT", "REFCOUNT", "ob:r"), int(1));
    assert.equal(await c.call("OBJECT", "REFCOUNT", "ob:h"), int(1));
    assert.equal(await c.call("OBJECT", "REFCOUNT", "ob:none"), NIL);
    // IDLETIME / FREQ depend on the maxmemory policy.
    assert.equal(await c.call("OBJECT", "IDLETIME", "ob:r"), int(0));
    assert.equal(await c.call("OBJECT", "IDLETIME", "ob:none"), NIL);
    const noLfu = err(
      "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
    );
    assert.equal(await c.call("OBJECT", "FREQ", "ob:r"), noLfu);
    assert.equal(await c.call("OBJECT", "FREQ", "ob:none"), NIL);
    assert.equal(await c.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"), OK);
    try {
      assert.match(await c.call("OBJECT", "FREQ", "ob:r"), /^:\d+\r\n$/);
      assert.equal(
        await c.call("OBJECT", "IDLETIME", "ob:r"),
        err(
          "ERR An LRU maxmemory policy is not selected, access time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ),
      );
    } finally {
      assert.equal(await c.call("CONFIG", "SET", "maxmemory-policy", "noeviction"), OK);
    }
    // HELP and bad subcommands.
    const help = await c.call("OBJECT", "HELP");
    assert.match(help, /^\*15\r\n\+OBJECT <subcommand> \[<arg> \[value\] \[opt\] \.\.\.\]\. Subcommands are:\r\n\+ENCODING <key>\r\n/);
    assert.ok(help.endsWith("+HELP\r\n+    Print this help.\r\n"));
    assert.equal(await c3.call("OBJECT", "HELP"), help);
    assert.equal(await c.call("OBJECT", "FOO"), err("ERR unknown subcommand 'FOO'. Try OBJECT HELP."));
    assert.equal(await c.call("OBJECT", "ENCODING"), err("ERR wrong number of arguments for 'object|encoding' command"));
    assert.equal(await c.call("DEL", "ob:s2", "ob:h", "ob:is", "ob:ls", "ob:hs", "ob:l", "ob:r", "ob:z"), int(8));
  });

  test("keyspace notifications", async () => {
    const sub = await RawClient.connect(srv.port);
    try {
      assert.equal(await c.call("CONFIG", "SET", "notify-keyspace-events", "KEA"), OK);
      await sub.call("PSUBSCRIBE", "__keyevent@*__:*");
      const steps: [string[], string[]][] = [
        [["MSET", "ev:a", "1", "ev:b", "2"], ["0 set ev:a", "0 set ev:b"]],
        [["DEL", "ev:a", "ev:none"], ["0 del ev:a"]],
        [["UNLINK", "ev:b"], ["0 del ev:b"]],
        [["SET", "ev:c", "v"], ["0 set ev:c"]],
        [["EXPIRE", "ev:c", "100"], ["0 expire ev:c"]],
        [["PEXPIRE", "ev:c", "100000", "NX"], []],
        [["PERSIST", "ev:c"], ["0 persist ev:c"]],
        [["PERSIST", "ev:c"], []],
        [["RENAME", "ev:c", "ev:d"], ["0 rename_from ev:c", "0 rename_to ev:d"]],
        [["RENAMENX", "ev:d", "ev:e"], ["0 rename_from ev:d", "0 rename_to ev:e"]],
        [["COPY", "ev:e", "ev:f"], ["0 copy_to ev:f"]],
        [["COPY", "ev:e", "ev:f", "DB", "3"], ["3 copy_to ev:f"]],
        [["MOVE", "ev:f", "4"], ["0 move_from ev:f", "4 move_to ev:f"]],
        [["EXPIRE", "ev:e", "-1"], ["0 del ev:e"]],
      ];
      const want: string[] = [];
      for (const [cmd, events] of steps) {
        await c.call(...cmd);
        want.push(...events);
      }
      assert.equal(await c.call("SET", "ev:x", "v", "PX", "20"), OK);
      await sleep(150);
      assert.equal(await c.call("GET", "ev:x"), NIL);
      want.push("0 set ev:x", "0 expire ev:x", "0 expired ev:x");
      const got: string[] = [];
      for (let i = 0; i < want.length; i++) {
        const parts = (await sub.read()).split("\r\n");
        const m = /^__keyevent@(\d+)__:(.*)$/.exec(parts[6])!;
        got.push(`${m[1]} ${m[2]} ${parts[8]}`);
      }
      assert.deepEqual(got, want);
    } finally {
      await c.call("CONFIG", "SET", "notify-keyspace-events", "");
      sub.close();
      const d = await RawClient.connect(srv.port);
      await d.call("SELECT", "3");
      await d.call("FLUSHDB");
      await d.call("SELECT", "4");
      await d.call("FLUSHDB");
      d.close();
    }
  });

  test("ioredis and node-redis", async () => {
    const io = new Redis({ port: srv.port, lazyConnect: true });
    await io.connect();
    try {
      for (let i = 0; i < 50; i++) await io.set(`cl:${i}`, "v");
      const seen: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const s = io.scanStream({ match: "cl:*", count: 7 });
        s.on("data", (keys: string[]) => seen.push(...keys));
        s.on("end", resolve);
        s.on("error", reject);
      });
      assert.equal(new Set(seen).size, 50);
      assert.equal(await io.expire("cl:0", 100), 1);
      assert.equal(await io.ttl("cl:0"), 100);
      assert.equal(await io.persist("cl:0"), 1);
      assert.equal(await io.type("cl:0"), "string");
      assert.equal(await io.rename("cl:0", "cl:zero"), "OK");
      assert.equal(await io.exists("cl:zero", "cl:0"), 1);
      assert.deepEqual((await io.keys("cl:1?")).sort(), Array.from({ length: 10 }, (_, i) => `cl:1${i}`).sort());
    } finally {
      io.disconnect();
    }
    for (const RESP of [2, 3] as const) {
      const r = createClient({ socket: { port: srv.port, host: "127.0.0.1" }, RESP });
      r.on("error", () => {});
      await r.connect();
      try {
        const seen: string[] = [];
        for await (const batch of r.scanIterator({ MATCH: "cl:*", COUNT: 5 })) {
          if (Array.isArray(batch)) seen.push(...batch);
          else seen.push(batch as string);
        }
        assert.equal(new Set(seen).size, 50);
        assert.equal(await r.exists("cl:zero"), 1);
        assert.equal(await r.expire("cl:zero", 100), 1);
        assert.equal(await r.ttl("cl:zero"), 100);
        assert.equal(await r.type("cl:zero"), "string");
        assert.equal(await r.copy("cl:zero", "cl:copy"), 1);
        assert.equal(await r.del("cl:copy"), 1);
      } finally {
        await r.quit().catch(() => {});
      }
    }
    const keys = decode(await c.call("KEYS", "cl:*")) as string[];
    assert.equal(await c.call("DEL", ...keys), int(50));
  });
});

describe("keyspace and the journal", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aki-ks-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("expires are journaled as PEXPIREAT (or DEL); replay restores them", async () => {
    const file = path.join(dir, "k.aki");
    let srv = await startServer(["--dbfile", file, "--appendfsync", "always"]);
    let c = await RawClient.connect(srv.port);
    const t0 = Date.now();
    assert.equal(await c.call("MSET", "j:a", "1", "j:b", "2", "j:c", "3", "j:d", "4", "j:e", "5"), OK);
    assert.equal(await c.call("EXPIRE", "j:a", "100"), int(1));
    assert.equal(await c.call("PEXPIRE", "j:b", "200000", "NX"), int(1));
    assert.equal(await c.call("EXPIREAT", "j:c", "99999999999"), int(1));
    assert.equal(await c.call("EXPIRE", "j:d", "-1"), int(1));
    assert.equal(await c.call("EXPIRE", "j:e", "100", "XX"), int(0));
    assert.equal(await c.call("RENAME", "j:e", "j:f"), OK);
    assert.equal(await c.call("COPY", "j:f", "j:g", "DB", "2"), int(1));
    assert.equal(await c.call("MOVE", "j:f", "3"), int(1));
    const t1 = Date.now();
    c.close();
    await srv.stop();

    const p = new FilePersistence(file);
    const records: JournalRecord[] = [];
    p.open((r) => records.push(r), () => {});
    p.close();
    const argvs = records.flat().map((e) => e.argv);
    const pick = (cmd: string, key: string) => argvs.filter((a) => a[0] === cmd && a[1] === key);
    const [a] = pick("PEXPIREAT", "j:a");
    assert.equal(a.length, 3);
    assert.ok(Number(a[2]) >= t0 + 100000 && Number(a[2]) <= t1 + 100000);
    const [b] = pick("PEXPIREAT", "j:b");
    assert.equal(b.length, 3);
    assert.ok(Number(b[2]) >= t0 + 200000 && Number(b[2]) <= t1 + 200000);
    assert.deepEqual(pick("PEXPIREAT", "j:c"), [["PEXPIREAT", "j:c", "99999999999000"]]);
    assert.deepEqual(pick("DEL", "j:d"), [["DEL", "j:d"]]);
    assert.ok(!argvs.some((x) => x[1] === "j:e" && /expire/i.test(x[0])));
    assert.ok(!argvs.some((x) => /^expire$|^pexpire$|^expireat$/i.test(x[0])));

    srv = await startServer(["--dbfile", file]);
    c = await RawClient.connect(srv.port);
    try {
      const ttl = intOf(await c.call("TTL", "j:a"));
      assert.ok(ttl > 90 && ttl <= 100);
      assert.equal(await c.call("EXPIRETIME", "j:c"), int(99999999999));
      assert.equal(await c.call("EXISTS", "j:d", "j:e", "j:f"), int(0));
      assert.equal(await c.call("SELECT", "2"), OK);
      assert.equal(await c.call("GET", "j:g"), bulk("5"));
      assert.equal(await c.call("SELECT", "3"), OK);
      assert.equal(await c.call("GET", "j:f"), bulk("5"));
    } finally {
      c.close();
      await srv.stop();
    }
  });
});
