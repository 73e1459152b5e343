/**
 * List commands through real sockets, byte for byte against Redis 7.2's replies: pushes and
 * pops (count forms, RESP2 nil vs null array, RESP3 shapes), LRANGE/LINDEX/LSET/LINSERT/LREM/
 * LTRIM/LPOS, LMOVE/RPOPLPUSH/LMPOP, the blocking pops (woken by another client, timeouts,
 * FIFO service, woken by MULTI/EXEC, never blocking inside MULTI, BLMOVE chains), keyspace
 * events, WRONGTYPE, 100,000-element lists, the journal replaying blocking pops as their
 * non-blocking effect, and ioredis / node-redis including a blocking pop woken by another client.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import Redis from "ioredis";
import { createClient } from "redis";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startServer, RawClient, resp, bulk, bulks, arr, int, err, OK, NIL, type AkiServer } from "./harness.ts";

const WRONGTYPE = err("WRONGTYPE Operation against a key holding the wrong kind of value");
const NULL_ARRAY = "*-1\r\n";
const QUEUED = "+QUEUED\r\n";
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

describe("lists", () => {
  let srv: AkiServer;
  let c: RawClient;
  let c3: RawClient;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aki-lists-"));
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

  /** A fresh raw connection for blocking tests. */
  const conn = () => RawClient.connect(srv.port);

  test("LPUSH / RPUSH / LPUSHX / RPUSHX / LLEN / LRANGE", async () => {
    await c.call("DEL", "l1");
    assert.equal(await c.call("RPUSH", "l1", "a", "b"), int(2));
    assert.equal(await c.call("LPUSH", "l1", "x", "y"), int(4));
    assert.equal(await c.call("LRANGE", "l1", "0", "-1"), bulks("y", "x", "a", "b"));
    assert.equal(await c.call("LPUSHX", "nokey", "a"), int(0));
    assert.equal(await c.call("RPUSHX", "nokey", "a"), int(0));
    assert.equal(await c.call("EXISTS", "nokey"), int(0));
    assert.equal(await c.call("RPUSHX", "l1", "z"), int(5));
    assert.equal(await c.call("LPUSHX", "l1", "w"), int(6));
    assert.equal(await c.call("LLEN", "l1"), int(6));
    assert.equal(await c.call("LLEN", "nokey"), int(0));
    assert.equal(await c.call("LRANGE", "l1", "1", "2"), bulks("y", "x"));
    assert.equal(await c.call("LRANGE", "l1", "-2", "-1"), bulks("b", "z"));
    assert.equal(await c.call("LRANGE", "l1", "-100", "100"), bulks("w", "y", "x", "a", "b", "z"));
    assert.equal(await c.call("LRANGE", "l1", "4", "2"), "*0\r\n");
    assert.equal(await c.call("LRANGE", "l1", "10", "20"), "*0\r\n");
    assert.equal(await c.call("LRANGE", "nokey", "0", "-1"), "*0\r\n");
    assert.equal(await c.call("LRANGE", "l1", "x", "1"), err("ERR value is not an integer or out of range"));
  });

  test("LPOP / RPOP with and without count, RESP2 and RESP3", async () => {
    await c.call("DEL", "l2");
    await c.call("RPUSH", "l2", "a", "b", "c", "d", "e");
    assert.equal(await c.call("LPOP", "l2"), bulk("a"));
    assert.equal(await c.call("RPOP", "l2"), bulk("e"));
    assert.equal(await c.call("RPOP", "l2", "2"), bulks("d", "c"));
    assert.equal(await c.call("LPOP", "l2", "0"), "*0\r\n");
    assert.equal(await c.call("LPOP", "l2", "10"), bulks("b"));
    assert.equal(await c.call("EXISTS", "l2"), int(0));
    assert.equal(await c.call("LPOP", "l2"), NIL);
    assert.equal(await c.call("LPOP", "l2", "2"), NULL_ARRAY);
    assert.equal(await c.call("LPOP", "l2", "0"), NULL_ARRAY);
    assert.equal(await c3.call("LPOP", "l2"), "_\r\n");
    assert.equal(await c3.call("RPOP", "l2", "2"), "_\r\n");
    assert.equal(await c.call("LPOP", "l2", "-1"), err("ERR value is out of range, must be positive"));
    assert.equal(await c.call("LPOP", "l2", "abc"), err("ERR value is out of range, must be positive"));
    assert.equal(await c.call("LPOP", "l2", "1", "2"), err("ERR wrong number of arguments for 'lpop' command"));
  });

  test("LINDEX / LSET / LINSERT / LREM / LTRIM", async () => {
    await c.call("DEL", "l3");
    await c.call("RPUSH", "l3", "a", "b", "c");
    assert.equal(await c.call("LINDEX", "l3", "0"), bulk("a"));
    assert.equal(await c.call("LINDEX", "l3", "-1"), bulk("c"));
    assert.equal(await c.call("LINDEX", "l3", "3"), NIL);
    assert.equal(await c.call("LINDEX", "nokey", "abc"), NIL);
    assert.equal(await c.call("LINDEX", "l3", "abc"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("LSET", "l3", "1", "B"), OK);
    assert.equal(await c.call("LSET", "l3", "-1", "C"), OK);
    assert.equal(await c.call("LSET", "l3", "3", "x"), err("ERR index out of range"));
    assert.equal(await c.call("LSET", "nokey", "0", "x"), err("ERR no such key"));
    assert.equal(await c.call("LSET", "l3", "x", "x"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("LRANGE", "l3", "0", "-1"), bulks("a", "B", "C"));
    assert.equal(await c.call("LINSERT", "l3", "BEFORE", "B", "x"), int(4));
    assert.equal(await c.call("LINSERT", "l3", "after", "C", "y"), int(5));
    assert.equal(await c.call("LINSERT", "l3", "AFTER", "zz", "y"), int(-1));
    assert.equal(await c.call("LINSERT", "nokey", "AFTER", "zz", "y"), int(0));
    assert.equal(await c.call("LINSERT", "l3", "MIDDLE", "a", "y"), err("ERR syntax error"));
    assert.equal(await c.call("LRANGE", "l3", "0", "-1"), bulks("a", "x", "B", "C", "y"));
    await c.call("DEL", "l4");
    await c.call("RPUSH", "l4", "a", "b", "a", "c", "a", "b");
    assert.equal(await c.call("LREM", "l4", "-1", "a"), int(1));
    assert.equal(await c.call("LRANGE", "l4", "0", "-1"), bulks("a", "b", "a", "c", "b"));
    assert.equal(await c.call("LREM", "l4", "1", "b"), int(1));
    assert.equal(await c.call("LRANGE", "l4", "0", "-1"), bulks("a", "a", "c", "b"));
    assert.equal(await c.call("LREM", "l4", "0", "a"), int(2));
    assert.equal(await c.call("LREM", "l4", "0", "zz"), int(0));
    assert.equal(await c.call("LREM", "nokey", "0", "zz"), int(0));
    assert.equal(await c.call("LREM", "l4", "x", "a"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("LREM", "l4", "0", "c"), int(1));
    assert.equal(await c.call("LREM", "l4", "0", "b"), int(1));
    assert.equal(await c.call("EXISTS", "l4"), int(0));
    await c.call("RPUSH", "l5", "1", "2", "3", "4", "5");
    assert.equal(await c.call("LTRIM", "l5", "1", "-2"), OK);
    assert.equal(await c.call("LRANGE", "l5", "0", "-1"), bulks("2", "3", "4"));
    assert.equal(await c.call("LTRIM", "l5", "x", "1"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("LTRIM", "nokey", "0", "1"), OK);
    assert.equal(await c.call("LTRIM", "l5", "5", "1"), OK);
    assert.equal(await c.call("EXISTS", "l5"), int(0));
  });

  test("LPOS with RANK, COUNT, MAXLEN and its errors", async () => {
    await c.call("DEL", "lp");
    await c.call("RPUSH", "lp", "a", "b", "a", "c", "a");
    assert.equal(await c.call("LPOS", "lp", "a"), int(0));
    assert.equal(await c.call("LPOS", "lp", "a", "RANK", "2"), int(2));
    assert.equal(await c.call("LPOS", "lp", "a", "RANK", "-1"), int(4));
    assert.equal(await c.call("LPOS", "lp", "a", "COUNT", "0"), arr(int(0), int(2), int(4)));
    assert.equal(await c.call("LPOS", "lp", "a", "COUNT", "2", "RANK", "-1"), arr(int(4), int(2)));
    assert.equal(await c.call("LPOS", "lp", "a", "MAXLEN", "1", "COUNT", "0"), arr(int(0)));
    assert.equal(await c.call("LPOS", "lp", "a", "RANK", "2", "MAXLEN", "2"), NIL);
    assert.equal(await c.call("LPOS", "lp", "z"), NIL);
    assert.equal(await c3.call("LPOS", "lp", "z"), "_\r\n");
    assert.equal(await c.call("LPOS", "lp", "z", "COUNT", "1"), "*0\r\n");
    assert.equal(await c.call("LPOS", "nokey", "z", "COUNT", "1"), "*0\r\n");
    assert.equal(await c.call("LPOS", "nokey", "z"), NIL);
    assert.equal(
      await c.call("LPOS", "lp", "a", "RANK", "0"),
      err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"),
    );
    assert.equal(
      await c.call("LPOS", "lp", "a", "RANK", "-9223372036854775808"),
      err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
    );
    assert.equal(await c.call("LPOS", "lp", "a", "COUNT", "-1"), err("ERR COUNT can't be negative"));
    assert.equal(await c.call("LPOS", "lp", "a", "COUNT", "abc"), err("ERR COUNT can't be negative"));
    assert.equal(await c.call("LPOS", "lp", "a", "MAXLEN", "-1"), err("ERR MAXLEN can't be negative"));
    assert.equal(await c.call("LPOS", "lp", "a", "FOO"), err("ERR syntax error"));
    assert.equal(await c.call("LPOS", "lp", "a", "RANK"), err("ERR syntax error"));
  });

  test("LMOVE / RPOPLPUSH, including a rotation of one list", async () => {
    await c.call("DEL", "src", "dst");
    await c.call("RPUSH", "src", "1", "2", "3");
    assert.equal(await c.call("LMOVE", "src", "src", "LEFT", "RIGHT"), bulk("1"));
    assert.equal(await c.call("LRANGE", "src", "0", "-1"), bulks("2", "3", "1"));
    assert.equal(await c.call("RPOPLPUSH", "src", "dst"), bulk("1"));
    assert.equal(await c.call("LMOVE", "src", "dst", "right", "right"), bulk("3"));
    assert.equal(await c.call("LRANGE", "dst", "0", "-1"), bulks("1", "3"));
    assert.equal(await c.call("LMOVE", "src", "dst", "LEFT", "LEFT"), bulk("2"));
    assert.equal(await c.call("EXISTS", "src"), int(0));
    assert.equal(await c.call("LMOVE", "src", "dst", "LEFT", "LEFT"), NIL);
    assert.equal(await c.call("RPOPLPUSH", "src", "dst"), NIL);
    assert.equal(await c.call("LMOVE", "src", "dst", "LEFT", "MIDDLE"), err("ERR syntax error"));
    await c.call("SET", "str", "v");
    assert.equal(await c.call("LMOVE", "dst", "str", "LEFT", "LEFT"), WRONGTYPE);
    assert.equal(await c.call("LLEN", "dst"), int(3));
    assert.equal(await c.call("LMOVE", "str", "dst", "LEFT", "LEFT"), WRONGTYPE);
    // A single-element rotation keeps the key.
    await c.call("DEL", "one");
    await c.call("RPUSH", "one", "x");
    assert.equal(await c.call("RPOPLPUSH", "one", "one"), bulk("x"));
    assert.equal(await c.call("LRANGE", "one", "0", "-1"), bulks("x"));
  });

  test("LMPOP: first non-empty list, COUNT, errors", async () => {
    await c.call("DEL", "m1", "m2");
    await c.call("RPUSH", "m2", "a", "b", "c");
    assert.equal(await c.call("LMPOP", "2", "m1", "m2", "LEFT"), arr(bulk("m2"), bulks("a")));
    assert.equal(await c.call("LMPOP", "2", "m1", "m2", "RIGHT", "COUNT", "10"), arr(bulk("m2"), bulks("c", "b")));
    assert.equal(await c.call("EXISTS", "m2"), int(0));
    assert.equal(await c.call("LMPOP", "2", "m1", "m2", "LEFT"), NULL_ARRAY);
    assert.equal(await c3.call("LMPOP", "2", "m1", "m2", "LEFT"), "_\r\n");
    await c3.call("RPUSH", "m1", "z");
    assert.equal(await c3.call("LMPOP", "1", "m1", "LEFT"), arr(bulk("m1"), bulks("z")));
    assert.equal(await c.call("LMPOP", "0", "m1", "LEFT"), err("ERR numkeys should be greater than 0"));
    assert.equal(await c.call("LMPOP", "abc", "m1", "LEFT"), err("ERR numkeys should be greater than 0"));
    assert.equal(await c.call("LMPOP", "5", "m1", "LEFT"), err("ERR syntax error"));
    assert.equal(await c.call("LMPOP", "1", "m1", "MIDDLE"), err("ERR syntax error"));
    assert.equal(await c.call("LMPOP", "1", "m1", "LEFT", "COUNT", "0"), err("ERR count should be greater than 0"));
    assert.equal(await c.call("LMPOP", "1", "m1", "LEFT", "COUNT", "1", "COUNT", "2"), err("ERR syntax error"));
    await c.call("SET", "str", "v");
    assert.equal(await c.call("LMPOP", "2", "m1", "str", "LEFT"), WRONGTYPE);
  });

  test("blocking pops answer at once when data is there; argument errors", async () => {
    await c.call("DEL", "b1", "b2");
    await c.call("RPUSH", "b2", "x", "y");
    assert.equal(await c.call("BLPOP", "b1", "b2", "0"), bulks("b2", "x"));
    assert.equal(await c.call("BRPOP", "b1", "b2", "0"), bulks("b2", "y"));
    assert.equal(await c.call("BLPOP", "b1", "abc"), err("ERR timeout is not a float or out of range"));
    assert.equal(await c.call("BLPOP", "b1", "-1"), err("ERR timeout is negative"));
    assert.equal(await c.call("BLPOP", "b1", "inf"), err("ERR timeout is out of range"));
    assert.equal(await c.call("BLMOVE", "b1", "b2", "MID", "LEFT", "-1"), err("ERR syntax error"));
    assert.equal(await c.call("BLMOVE", "b1", "b2", "LEFT", "LEFT", "x"), err("ERR timeout is not a float or out of range"));
    assert.equal(await c.call("BLMPOP", "x", "1", "b1", "LEFT"), err("ERR timeout is not a float or out of range"));
    assert.equal(await c.call("BLMPOP", "0", "1", "b1", "LEFT", "COUNT", "-1"), err("ERR count should be greater than 0"));
    assert.equal(await c.call("BLMPOP", "-1", "1", "b1", "LEFT"), err("ERR timeout is negative"));
    assert.equal(await c.call("BLMPOP", "0", "0", "b1", "LEFT"), err("ERR numkeys should be greater than 0"));
    await c.call("SET", "str", "v");
    assert.equal(await c.call("BLPOP", "str", "0"), WRONGTYPE);
    assert.equal(await c.call("BLMOVE", "str", "b2", "LEFT", "LEFT", "0"), WRONGTYPE);
    assert.equal(await c.call("BLMPOP", "0", "1", "str", "LEFT"), WRONGTYPE);
  });

  test("BLPOP is woken by a push from another client", async () => {
    const w = await conn();
    try {
      await c.call("DEL", "wake1");
      w.write(resp("BLPOP", "wake1", "0"));
      await sleep(50);
      assert.equal(w.pending(), "");
      assert.equal(await c.call("RPUSH", "wake1", "hello", "world"), int(2));
      assert.equal(await w.read(), bulks("wake1", "hello"));
      assert.equal(await c.call("LRANGE", "wake1", "0", "-1"), bulks("world"));
      // The connection works normally afterwards.
      assert.equal(await w.call("PING"), "+PONG\r\n");
    } finally {
      w.close();
    }
  });

  test("timeouts: BLPOP 0.1 answers a null array; RESP3 null", async () => {
    const w = await conn();
    try {
      await c.call("DEL", "never");
      const t0 = Date.now();
      assert.equal(await w.call("BLPOP", "never", "0.1"), NULL_ARRAY);
      assert.ok(Date.now() - t0 >= 90);
      assert.equal(await w.call("BRPOPLPUSH", "never", "x", "0.05"), NULL_ARRAY);
      assert.equal(await w.call("BLMOVE", "never", "x", "LEFT", "RIGHT", "0.05"), NULL_ARRAY);
      assert.equal(await w.call("BLMPOP", "0.05", "1", "never", "LEFT"), NULL_ARRAY);
      await w.call("HELLO", "3");
      assert.equal(await w.call("BRPOP", "never", "0.05"), "_\r\n");
    } finally {
      w.close();
    }
  });

  test("a timeout beyond the 2^31 ms timer range still blocks (no early timeout)", async () => {
    const w = await conn();
    try {
      await c.call("DEL", "longwait");
      w.write(resp("BLPOP", "longwait", "3000000"));
      await sleep(100);
      assert.equal(w.pending(), "");
      await c.call("LPUSH", "longwait", "v");
      assert.equal(await w.read(), bulks("longwait", "v"));
    } finally {
      w.close();
    }
  });

  test("two blocked clients are served first come, first served", async () => {
    const w1 = await conn();
    const w2 = await conn();
    try {
      await c.call("DEL", "fifo");
      w1.write(resp("BLPOP", "fifo", "0"));
      await sleep(30);
      w2.write(resp("BRPOP", "fifo", "0"));
      await sleep(30);
      await c.call("RPUSH", "fifo", "1");
      assert.equal(await w1.read(), bulks("fifo", "1"));
      await sleep(30);
      assert.equal(w2.pending(), "");
      await c.call("RPUSH", "fifo", "2", "3");
      assert.equal(await w2.read(), bulks("fifo", "3"));
      assert.equal(await c.call("LRANGE", "fifo", "0", "-1"), bulks("2"));
      // Several elements at once serve several clients in order.
      await c.call("DEL", "fifo");
      w1.write(resp("BLPOP", "fifo", "0"));
      await sleep(30);
      w2.write(resp("BLPOP", "fifo", "0"));
      await sleep(30);
      await c.call("RPUSH", "fifo", "a", "b", "c");
      assert.equal(await w1.read(), bulks("fifo", "a"));
      assert.equal(await w2.read(), bulks("fifo", "b"));
      assert.equal(await c.call("LRANGE", "fifo", "0", "-1"), bulks("c"));
    } finally {
      w1.close();
      w2.close();
    }
  });

  test("a push inside MULTI/EXEC wakes a blocked client after EXEC", async () => {
    const w = await conn();
    try {
      await c.call("DEL", "mx");
      w.write(resp("BRPOP", "mx", "0"));
      await sleep(30);
      assert.equal(await c.call("MULTI"), OK);
      assert.equal(await c.call("LPUSH", "mx", "a"), QUEUED);
      assert.equal(await c.call("LPUSH", "mx", "b"), QUEUED);
      assert.equal(await c.call("EXEC"), arr(int(1), int(2)));
      assert.equal(await w.read(), bulks("mx", "a"));
      assert.equal(await c.call("LRANGE", "mx", "0", "-1"), bulks("b"));
      // Pushed and popped again inside the transaction: the waiter keeps waiting.
      await c.call("DEL", "mx");
      w.write(resp("BLPOP", "mx", "0.3"));
      await sleep(30);
      await c.call("MULTI");
      await c.call("RPUSH", "mx", "t");
      await c.call("LPOP", "mx");
      assert.equal(await c.call("EXEC"), arr(int(1), bulk("t")));
      assert.equal(await w.read(), NULL_ARRAY);
    } finally {
      w.close();
    }
  });

  test("blocking pops inside MULTI answer at once as on timeout", async () => {
    await c.call("DEL", "empty");
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("BLPOP", "empty", "0"), QUEUED);
    assert.equal(await c.call("BLMOVE", "empty", "x", "LEFT", "LEFT", "0"), QUEUED);
    assert.equal(await c.call("BRPOPLPUSH", "empty", "x", "0"), QUEUED);
    assert.equal(await c.call("BLMPOP", "0", "1", "empty", "LEFT"), QUEUED);
    assert.equal(await c.call("EXEC"), arr(NULL_ARRAY, NIL, NIL, NULL_ARRAY));
    assert.equal(await c3.call("MULTI"), OK);
    await c3.call("BLPOP", "empty", "0");
    assert.equal(await c3.call("EXEC"), "*1\r\n_\r\n");
  });

  test("BLMOVE / BRPOPLPUSH woken, and a chain to a client blocked on the destination", async () => {
    const w1 = await conn();
    const w2 = await conn();
    try {
      await c.call("DEL", "q1", "q2");
      w1.write(resp("BLMOVE", "q1", "q2", "LEFT", "RIGHT", "0"));
      await sleep(30);
      w2.write(resp("BLPOP", "q2", "0"));
      await sleep(30);
      await c.call("LPUSH", "q1", "item");
      assert.equal(await w1.read(), bulk("item"));
      assert.equal(await w2.read(), bulks("q2", "item"));
      assert.equal(await c.call("EXISTS", "q1", "q2"), int(0));
      w1.write(resp("BRPOPLPUSH", "q1", "q2", "0"));
      await sleep(30);
      await c.call("RPUSH", "q1", "u", "v");
      assert.equal(await w1.read(), bulk("v"));
      assert.equal(await c.call("LRANGE", "q2", "0", "-1"), bulks("v"));
    } finally {
      w1.close();
      w2.close();
    }
  });

  test("BLMPOP woken by a push; a non-list key does not wake it", async () => {
    const w = await conn();
    try {
      await c.call("DEL", "k1", "k2");
      w.write(resp("BLMPOP", "0", "2", "k1", "k2", "RIGHT", "COUNT", "2"));
      await sleep(30);
      await c.call("SET", "k2", "str");
      await sleep(30);
      assert.equal(w.pending(), "");
      await c.call("DEL", "k2");
      await c.call("RPUSH", "k2", "a", "b", "c");
      assert.equal(await w.read(), arr(bulk("k2"), bulks("c", "b")));
      assert.equal(await c.call("LRANGE", "k2", "0", "-1"), bulks("a"));
    } finally {
      w.close();
    }
  });

  test("keyspace events: pushes, pops, moves (push then pop), del when emptied", async () => {
    const sub = await RawClient.connect(srv.port);
    try {
      await c.call("DEL", "ev", "ev2");
      assert.equal(await c.call("CONFIG", "SET", "notify-keyspace-events", "KEA"), OK);
      await sub.call("PSUBSCRIBE", "__keyevent@0__:*");
      await c.call("RPUSH", "ev", "a", "b", "c");
      await c.call("LPUSH", "ev", "z");
      await c.call("LSET", "ev", "0", "y");
      await c.call("LINSERT", "ev", "BEFORE", "a", "q");
      await c.call("LREM", "ev", "1", "q");
      await c.call("LTRIM", "ev", "0", "-1");
      await c.call("LMOVE", "ev", "ev2", "LEFT", "RIGHT");
      await c.call("RPOP", "ev", "10");
      const want = [
        "rpush:ev", "lpush:ev", "lset:ev", "linsert:ev", "lrem:ev", "ltrim:ev",
        "rpush:ev2", "lpop:ev", "rpop:ev", "del:ev",
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

  test("WRONGTYPE on every list command", async () => {
    await c.call("SET", "str", "v");
    for (const cmd of [
      ["LPUSH", "str", "a"], ["RPUSH", "str", "a"], ["LPUSHX", "str", "a"], ["RPUSHX", "str", "a"],
      ["LPOP", "str"], ["RPOP", "str", "2"], ["LLEN", "str"], ["LRANGE", "str", "0", "1"],
      ["LINDEX", "str", "0"], ["LSET", "str", "0", "a"], ["LINSERT", "str", "BEFORE", "a", "b"],
      ["LREM", "str", "0", "a"], ["LTRIM", "str", "0", "1"], ["LPOS", "str", "a"],
      ["LMOVE", "str", "x", "LEFT", "LEFT"], ["RPOPLPUSH", "str", "x"], ["LMPOP", "1", "str", "LEFT"],
      ["BLPOP", "str", "0"], ["BRPOP", "str", "0"], ["BLMOVE", "str", "x", "LEFT", "LEFT", "0"],
      ["BRPOPLPUSH", "str", "x", "0"], ["BLMPOP", "0", "1", "str", "LEFT"],
    ]) {
      assert.equal(await c.call(...cmd), WRONGTYPE, cmd.join(" "));
    }
  });

  test("100,000 elements: order, indexes, pops from both ends", async () => {
    const n = 100000;
    await c.call("DEL", "big");
    for (let base = 0; base < n; base += 10000) {
      const args: string[] = [];
      for (let i = base; i < base + 10000; i++) args.push(String(i));
      assert.equal(await c.call("RPUSH", "big", ...args), int(base + 10000));
    }
    assert.equal(await c.call("LLEN", "big"), int(n));
    assert.equal(await c.call("LINDEX", "big", "0"), bulk("0"));
    assert.equal(await c.call("LINDEX", "big", "-1"), bulk(String(n - 1)));
    assert.equal(await c.call("LINDEX", "big", "54321"), bulk("54321"));
    const all = parseBulks(await c.call("LRANGE", "big", "0", "-1"));
    assert.equal(all.length, n);
    for (let i = 0; i < n; i++) if (all[i] !== String(i)) assert.fail(`index ${i}: ${all[i]}`);
    // Pipelined single pops from both ends.
    let pipe = "";
    for (let i = 0; i < 5000; i++) pipe += resp("LPOP", "big").toString("latin1") + resp("RPOP", "big").toString("latin1");
    c.write(pipe);
    for (let i = 0; i < 5000; i++) {
      assert.equal(await c.read(), bulk(String(i)));
      assert.equal(await c.read(), bulk(String(n - 1 - i)));
    }
    assert.equal(await c.call("LLEN", "big"), int(n - 10000));
    const head = parseBulks(await c.call("LPOP", "big", "40000"));
    assert.equal(head.length, 40000);
    assert.equal(head[0], "5000");
    assert.equal(head[39999], "44999");
    // Push at the head after popping: the ring wraps around.
    const front: string[] = [];
    for (let i = 0; i < 30000; i++) front.push("h" + i);
    assert.equal(await c.call("LPUSH", "big", ...front), int(n - 50000 + 30000));
    assert.equal(await c.call("LINDEX", "big", "0"), bulk("h29999"));
    assert.equal(await c.call("LINDEX", "big", "30000"), bulk("45000"));
    assert.equal(await c.call("LPOS", "big", "94999"), int(30000 + 49999));
    assert.equal(await c.call("LTRIM", "big", "29990", "30009"), OK);
    assert.equal(
      await c.call("LRANGE", "big", "0", "-1"),
      bulks(...Array.from({ length: 10 }, (_, i) => "h" + (9 - i)), ...Array.from({ length: 10 }, (_, i) => String(45000 + i))),
    );
    assert.equal(await c.call("DEL", "big"), int(1));
  });

  test("ioredis and node-redis, including a blocking pop woken by another client", async () => {
    const io = new Redis({ port: srv.port, lazyConnect: true });
    await io.connect();
    const ioBlock = new Redis({ port: srv.port, lazyConnect: true });
    await ioBlock.connect();
    const nr = createClient({ socket: { port: srv.port } });
    await nr.connect();
    const nrBlock = nr.duplicate();
    await nrBlock.connect();
    try {
      await io.del("cli:l", "cli:w", "cli:w2");
      assert.equal(await io.rpush("cli:l", "a", "b", "c"), 3);
      assert.deepEqual(await io.lrange("cli:l", 0, -1), ["a", "b", "c"]);
      assert.equal(await io.lpop("cli:l"), "a");
      assert.deepEqual(await nr.lRange("cli:l", 0, -1), ["b", "c"]);
      assert.equal(await nr.lPush("cli:l", "z"), 3);
      assert.equal(await nr.lPos("cli:l", "c"), 2);
      // ioredis BLPOP woken by a push from node-redis.
      const pending = ioBlock.blpop("cli:w", 5);
      await sleep(50);
      await nr.rPush("cli:w", "wake");
      assert.deepEqual(await pending, ["cli:w", "wake"]);
      // node-redis BRPOP woken by a push from ioredis.
      const pending2 = nrBlock.brPop("cli:w2", 5);
      await sleep(50);
      await io.lpush("cli:w2", "up");
      assert.deepEqual(await pending2, { key: "cli:w2", element: "up" });
      assert.equal(await ioBlock.blpop("cli:none", 0.05), null);
    } finally {
      io.disconnect();
      ioBlock.disconnect();
      await nr.quit();
      await nrBlock.quit();
    }
  });

  test("the journal replays blocking pops and moves as their non-blocking effect", async () => {
    const w = await conn();
    try {
      await c.call("DEL", "j1", "j2", "j3");
      w.write(resp("BLPOP", "j1", "0"));
      await sleep(30);
      await c.call("RPUSH", "j1", "a", "b", "c", "d", "e");
      assert.equal(await w.read(), bulks("j1", "a"));
      w.write(resp("BLMOVE", "j2", "j3", "LEFT", "LEFT", "0"));
      await sleep(30);
      await c.call("RPUSH", "j2", "m", "n");
      assert.equal(await w.read(), bulk("m"));
      assert.equal(await w.call("BLMPOP", "0", "1", "j1", "RIGHT", "COUNT", "2"), arr(bulk("j1"), bulks("e", "d")));
      assert.equal(await w.call("LMPOP", "1", "j1", "LEFT", "COUNT", "1"), arr(bulk("j1"), bulks("b")));
      assert.equal(await w.call("BRPOPLPUSH", "j2", "j3", "0"), bulk("n"));
    } finally {
      w.close();
    }
    const state = async () => [
      await c.call("LRANGE", "j1", "0", "-1"),
      await c.call("LRANGE", "j2", "0", "-1"),
      await c.call("LRANGE", "j3", "0", "-1"),
    ];
    const before = await state();
    assert.deepEqual(before, [bulks("c"), "*0\r\n", bulks("n", "m")]);
    c.close();
    c3.close();
    await srv.stop();
    srv = await startServer(["--dbfile", dbfile]);
    c = await RawClient.connect(srv.port);
    c3 = await RawClient.connect(srv.port);
    assert.deepEqual(await state(), before);
  });
});
