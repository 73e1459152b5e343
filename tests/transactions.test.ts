/**
 * Transactions through real sockets: MULTI / EXEC / DISCARD / WATCH / UNWATCH with Redis 7.2's
 * exact replies (RESP2 and RESP3), queue-time vs runtime errors, WATCH races with a second
 * client, expiry, FLUSHDB / FLUSHALL / SWAPDB, blocking commands inside a transaction, waking
 * blocked clients after EXEC, and MULTI/EXEC pipelines through ioredis and node-redis.
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

const QUEUED = "+QUEUED\r\n";
const NULL_ARRAY = "*-1\r\n";
const EXECABORT = err("EXECABORT Transaction discarded because of previous errors.");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("transactions", () => {
  let srv: AkiServer;
  let c: RawClient;
  let o: RawClient;
  before(async () => {
    srv = await startServer();
    c = await RawClient.connect(srv.port);
    o = await RawClient.connect(srv.port);
  });
  after(async () => {
    c.close();
    o.close();
    await srv.stop();
  });

  test("MULTI / EXEC runs the queue and answers an array", async () => {
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("SET", "t1", "a"), QUEUED);
    assert.equal(await c.call("INCR", "t1ctr"), QUEUED);
    assert.equal(await c.call("GET", "t1"), QUEUED);
    assert.equal(await c.call("PING"), QUEUED);
    assert.equal(await c.call("EXEC"), arr(OK, int(1), bulk("a"), "+PONG\r\n"));
    assert.equal(await c.call("GET", "t1"), bulk("a"));
  });

  test("empty transaction answers an empty array", async () => {
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("EXEC"), "*0\r\n");
  });

  test("EXEC / DISCARD without MULTI, nested MULTI, WATCH inside MULTI", async () => {
    assert.equal(await c.call("EXEC"), err("ERR EXEC without MULTI"));
    assert.equal(await c.call("DISCARD"), err("ERR DISCARD without MULTI"));
    assert.equal(await c.call("MULTI"), OK);
    // Neither error aborts the transaction.
    assert.equal(await c.call("MULTI"), err("ERR MULTI calls can not be nested"));
    assert.equal(await c.call("WATCH", "x"), err("ERR WATCH inside MULTI is not allowed"));
    assert.equal(await c.call("SET", "t2", "v"), QUEUED);
    assert.equal(await c.call("EXEC"), arr(OK));
    assert.equal(await c.call("EXEC"), err("ERR EXEC without MULTI"));
  });

  test("DISCARD drops the queue", async () => {
    assert.equal(await c.call("SET", "t3", "old"), OK);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("SET", "t3", "new"), QUEUED);
    assert.equal(await c.call("DISCARD"), OK);
    assert.equal(await c.call("GET", "t3"), bulk("old"));
    assert.equal(await c.call("EXEC"), err("ERR EXEC without MULTI"));
  });

  test("queue-time errors (unknown command, arity) abort with EXECABORT", async () => {
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("SET", "t4", "v"), QUEUED);
    assert.equal(await c.call("NOSUCHCMD", "a"), err("ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' "));
    assert.equal(await c.call("EXEC"), EXECABORT);
    assert.equal(await c.call("GET", "t4"), NIL);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("GET"), err("ERR wrong number of arguments for 'get' command"));
    assert.equal(await c.call("SET", "t4", "v"), QUEUED);
    assert.equal(await c.call("EXEC"), EXECABORT);
    assert.equal(await c.call("GET", "t4"), NIL);
    // Commands not allowed in a transaction are queue-time errors too.
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("SET", "t4", "v"), QUEUED);
    assert.equal(await c.call("SAVE"), err("ERR Command not allowed inside a transaction"));
    assert.equal(await c.call("EXEC"), EXECABORT);
    assert.equal(await c.call("GET", "t4"), NIL);
  });

  test("runtime errors are elements of the EXEC array; the rest still runs", async () => {
    assert.equal(await c.call("SET", "t5s", "text"), OK);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("INCR", "t5s"), QUEUED);
    assert.equal(await c.call("LPUSH", "t5s", "x"), QUEUED);
    assert.equal(await c.call("SET", "t5b", "ok"), QUEUED);
    assert.equal(
      await c.call("EXEC"),
      arr(
        err("ERR value is not an integer or out of range"),
        err("WRONGTYPE Operation against a key holding the wrong kind of value"),
        OK,
      ),
    );
    assert.equal(await c.call("GET", "t5b"), bulk("ok"));
  });

  test("WATCH: a write by another client makes EXEC answer a null array", async () => {
    assert.equal(await c.call("SET", "w1", "1"), OK);
    assert.equal(await c.call("WATCH", "w1"), OK);
    assert.equal(await o.call("SET", "w1", "2"), OK);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("SET", "w1", "mine"), QUEUED);
    assert.equal(await c.call("EXEC"), NULL_ARRAY);
    assert.equal(await c.call("GET", "w1"), bulk("2"));
    // EXEC unwatched: the next transaction runs.
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("SET", "w1", "mine"), QUEUED);
    assert.equal(await c.call("EXEC"), arr(OK));
  });

  test("WATCH: an untouched key lets EXEC run; reads do not count as touches", async () => {
    assert.equal(await c.call("SET", "w2", "1"), OK);
    assert.equal(await c.call("WATCH", "w2", "w2missing"), OK);
    assert.equal(await o.call("GET", "w2"), bulk("1"));
    assert.equal(await o.call("SET", "unrelated", "x"), OK);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("INCR", "w2"), QUEUED);
    assert.equal(await c.call("EXEC"), arr(int(2)));
  });

  test("WATCH: the client's own write before MULTI also fails the transaction", async () => {
    assert.equal(await c.call("WATCH", "w3"), OK);
    assert.equal(await c.call("SET", "w3", "self"), OK);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("PING"), QUEUED);
    assert.equal(await c.call("EXEC"), NULL_ARRAY);
  });

  test("WATCH: a missing key created by another client, a key deleted by another client", async () => {
    assert.equal(await c.call("WATCH", "w4"), OK);
    assert.equal(await o.call("SET", "w4", "x"), OK);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("PING"), QUEUED);
    assert.equal(await c.call("EXEC"), NULL_ARRAY);
    assert.equal(await c.call("WATCH", "w4"), OK);
    assert.equal(await o.call("DEL", "w4"), int(1));
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("PING"), QUEUED);
    assert.equal(await c.call("EXEC"), NULL_ARRAY);
  });

  test("UNWATCH and DISCARD forget watched keys", async () => {
    assert.equal(await c.call("WATCH", "w5"), OK);
    assert.equal(await o.call("SET", "w5", "x"), OK);
    assert.equal(await c.call("UNWATCH"), OK);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("PING"), QUEUED);
    assert.equal(await c.call("EXEC"), arr("+PONG\r\n"));
    assert.equal(await c.call("WATCH", "w5"), OK);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("DISCARD"), OK);
    assert.equal(await o.call("SET", "w5", "y"), OK);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("PING"), QUEUED);
    assert.equal(await c.call("EXEC"), arr("+PONG\r\n"));
  });

  test("EXECABORT wins over a failed WATCH", async () => {
    assert.equal(await c.call("WATCH", "w6"), OK);
    assert.equal(await o.call("SET", "w6", "x"), OK);
    assert.equal(await c.call("MULTI"), OK);
    await c.call("NOSUCH");
    assert.equal(await c.call("EXEC"), EXECABORT);
    // ... and it also ended the watch.
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("EXEC"), "*0\r\n");
  });

  test("WATCH: a key that expires before EXEC fails the transaction", async () => {
    assert.equal(await c.call("SET", "w7", "v", "PX", "50"), OK);
    assert.equal(await c.call("WATCH", "w7"), OK);
    await sleep(120);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("PING"), QUEUED);
    assert.equal(await c.call("EXEC"), NULL_ARRAY);
    // Same when it expires through another client's access (lazy expiry).
    assert.equal(await c.call("SET", "w7", "v", "PX", "30"), OK);
    assert.equal(await c.call("WATCH", "w7"), OK);
    await sleep(60);
    assert.equal(await o.call("GET", "w7"), NIL);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("PING"), QUEUED);
    assert.equal(await c.call("EXEC"), NULL_ARRAY);
  });

  test("WATCH: a key with a TTL that has not expired does not fail the transaction", async () => {
    assert.equal(await c.call("SET", "w8", "v", "EX", "100"), OK);
    assert.equal(await c.call("WATCH", "w8"), OK);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("GET", "w8"), QUEUED);
    assert.equal(await c.call("EXEC"), arr(bulk("v")));
  });

  test("WATCH: FLUSHDB, FLUSHALL and SWAPDB touch watched keys that exist", async () => {
    assert.equal(await c.call("SET", "w9", "v"), OK);
    assert.equal(await c.call("WATCH", "w9"), OK);
    assert.equal(await o.call("FLUSHDB"), OK);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("PING"), QUEUED);
    assert.equal(await c.call("EXEC"), NULL_ARRAY);

    assert.equal(await c.call("SET", "w9", "v"), OK);
    assert.equal(await c.call("WATCH", "w9"), OK);
    assert.equal(await o.call("FLUSHALL"), OK);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("PING"), QUEUED);
    assert.equal(await c.call("EXEC"), NULL_ARRAY);

    // Flushing a db where the watched key does not exist changes nothing for it.
    assert.equal(await c.call("WATCH", "w9absent"), OK);
    assert.equal(await o.call("FLUSHDB"), OK);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("PING"), QUEUED);
    assert.equal(await c.call("EXEC"), arr("+PONG\r\n"));

    assert.equal(await o.call("SELECT", "1"), OK);
    assert.equal(await o.call("SET", "w9", "in1"), OK);
    assert.equal(await c.call("WATCH", "w9"), OK);
    assert.equal(await o.call("SWAPDB", "0", "1"), OK);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("GET", "w9"), QUEUED);
    assert.equal(await c.call("EXEC"), NULL_ARRAY);
    assert.equal(await o.call("SELECT", "0"), OK);
  });

  test("WATCH of a key already expired: its deletion by expiry is no change, re-creation is", async () => {
    assert.equal(await c.call("SET", "w10", "v", "PX", "1"), OK);
    await sleep(20);
    assert.equal(await c.call("WATCH", "w10"), OK);
    assert.equal(await o.call("GET", "w10"), NIL); // lazily deleted now
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("PING"), QUEUED);
    assert.equal(await c.call("EXEC"), arr("+PONG\r\n"));

    assert.equal(await c.call("SET", "w10", "v", "PX", "1"), OK);
    await sleep(20);
    assert.equal(await c.call("WATCH", "w10"), OK);
    assert.equal(await o.call("SET", "w10", "new"), OK);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("PING"), QUEUED);
    assert.equal(await c.call("EXEC"), NULL_ARRAY);
  });

  test("a WATCH after the client is already dirty is a no-op; MULTI state resets on RESET", async () => {
    assert.equal(await c.call("WATCH", "w11"), OK);
    assert.equal(await o.call("SET", "w11", "x"), OK);
    assert.equal(await c.call("WATCH", "w12"), OK);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("SET", "w11", "y"), QUEUED);
    assert.equal(await c.call("RESET"), "+RESET\r\n");
    assert.equal(await c.call("EXEC"), err("ERR EXEC without MULTI"));
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("SET", "w11", "z"), QUEUED);
    assert.equal(await c.call("EXEC"), arr(OK));
    assert.equal(await c.call("GET", "w11"), bulk("z"));
  });

  test("race: many clients INCR a counter with WATCH/MULTI/EXEC retries, no update lost", async () => {
    await c.call("SET", "race", "0");
    const clients = await Promise.all(Array.from({ length: 5 }, () => RawClient.connect(srv.port)));
    let aborted = 0;
    await Promise.all(
      clients.map(async (k) => {
        for (let i = 0; i < 20; i++) {
          for (;;) {
            assert.equal(await k.call("WATCH", "race"), OK);
            const v = Number(/\r\n(\d+)\r\n$/.exec(await k.call("GET", "race"))![1]);
            assert.equal(await k.call("MULTI"), OK);
            assert.equal(await k.call("SET", "race", String(v + 1)), QUEUED);
            const r = await k.call("EXEC");
            if (r === arr(OK)) break;
            assert.equal(r, NULL_ARRAY);
            aborted++;
          }
        }
      }),
    );
    assert.equal(await c.call("GET", "race"), bulk("100"));
    for (const k of clients) k.close();
    assert.ok(aborted >= 0);
  });

  test("blocking commands inside MULTI do not block", async () => {
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("BLPOP", "nolist", "0"), QUEUED);
    assert.equal(await c.call("BRPOP", "nolist", "1"), QUEUED);
    assert.equal(await c.call("EXEC"), arr(NULL_ARRAY, NULL_ARRAY));
  });

  test("EXEC wakes clients blocked on keys its commands touched", async () => {
    const a = await RawClient.connect(srv.port);
    await c.call("DEL", "bq");
    a.write("*3\r\n$5\r\nBLPOP\r\n$2\r\nbq\r\n$1\r\n0\r\n");
    await sleep(50);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("LPUSH", "bq", "one"), QUEUED);
    assert.equal(await c.call("LPUSH", "bq", "two"), QUEUED);
    assert.equal(await c.call("EXEC"), arr(int(1), int(2)));
    // The waiter is served after the whole transaction: it pops the head as of then.
    assert.equal(await a.read(), bulks("bq", "two"));
    assert.equal(await c.call("LRANGE", "bq", "0", "-1"), bulks("one"));
    a.close();
  });

  test("SELECT inside a transaction applies to what follows it", async () => {
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("SELECT", "2"), QUEUED);
    assert.equal(await c.call("SET", "indb2", "v"), QUEUED);
    assert.equal(await c.call("EXEC"), arr(OK, OK));
    assert.equal(await c.call("GET", "indb2"), bulk("v"));
    assert.equal(await c.call("SELECT", "0"), OK);
    assert.equal(await c.call("GET", "indb2"), NIL);
  });

  test("CLIENT INFO inside EXEC shows the multi flag; outside it does not", async () => {
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("CLIENT", "INFO"), QUEUED);
    const r = await c.call("EXEC");
    assert.match(r, /flags=x .* multi=1 /);
    assert.match(await c.call("CLIENT", "INFO"), /flags=N .* multi=-1 /);
  });

  test("RESP3: WATCH failure is a null (_), replies keep their RESP3 types", async () => {
    const r3 = await RawClient.connect(srv.port);
    assert.ok((await r3.call("HELLO", "3")).startsWith("%7"));
    assert.equal(await r3.call("WATCH", "r3w"), OK);
    assert.equal(await o.call("SET", "r3w", "x"), OK);
    assert.equal(await r3.call("MULTI"), OK);
    assert.equal(await r3.call("GET", "r3w"), QUEUED);
    assert.equal(await r3.call("EXEC"), "_\r\n");
    assert.equal(await r3.call("MULTI"), OK);
    assert.equal(await r3.call("GET", "nothere"), QUEUED);
    assert.equal(await r3.call("HSET", "r3h", "f", "v"), QUEUED);
    assert.equal(await r3.call("HGETALL", "r3h"), QUEUED);
    assert.equal(await r3.call("EXEC"), `*3\r\n_\r\n:1\r\n%1\r\n${bulk("f")}${bulk("v")}`);
    r3.close();
  });

  test("ioredis: MULTI/EXEC pipeline and WATCH failure", async () => {
    const r = new Redis({ port: srv.port, lazyConnect: true });
    const r2 = new Redis({ port: srv.port, lazyConnect: true });
    await r.connect();
    await r2.connect();
    try {
      const res = await r.multi().set("io1", "a").incr("io2").get("io1").exec();
      assert.deepEqual(res, [[null, "OK"], [null, 1], [null, "a"]]);
      const withErr = await r.multi().set("io3", "x").incr("io3").exec();
      assert.equal(withErr![0][1], "OK");
      assert.match(String(withErr![1][0]), /not an integer/);
      await r.watch("io1");
      await r2.set("io1", "changed");
      assert.equal(await r.multi().set("io1", "mine").exec(), null);
      assert.equal(await r.get("io1"), "changed");
    } finally {
      r.disconnect();
      r2.disconnect();
    }
  });

  test("node-redis: multi().exec() and WATCH failure (RESP2 and RESP3)", async () => {
    for (const RESP of [2, 3] as const) {
      const r = createClient({ socket: { port: srv.port, host: "127.0.0.1" }, RESP });
      const r2 = createClient({ socket: { port: srv.port, host: "127.0.0.1" }, RESP });
      r.on("error", () => {});
      r2.on("error", () => {});
      await r.connect();
      await r2.connect();
      try {
        const res = await r.multi().set("nr1", "a").incr("nr2").get("nr1").exec();
        assert.deepEqual(res, ["OK", 1, "a"]);
        await r.watch("nr1");
        await r2.set("nr1", "changed");
        await assert.rejects(() => r.multi().set("nr1", "mine").exec());
        assert.equal(await r.get("nr1"), "changed");
        await r.del(["nr1", "nr2"]);
      } finally {
        await r.quit().catch(() => {});
        await r2.quit().catch(() => {});
      }
    }
  });
});

describe("transactions and the journal", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aki-tx-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("EXEC's writes are one group record, replayed after a restart", async () => {
    const file = path.join(dir, "tx.aki");
    let srv = await startServer(["--dbfile", file, "--appendfsync", "always"]);
    let c = await RawClient.connect(srv.port);
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("SET", "ja", "1"), QUEUED);
    assert.equal(await c.call("GET", "ja"), QUEUED);
    assert.equal(await c.call("SELECT", "1"), QUEUED);
    assert.equal(await c.call("SET", "jb", "2"), QUEUED);
    assert.equal(await c.call("EXEC"), arr(OK, bulk("1"), OK, OK));
    // An aborted and a discarded transaction journal nothing.
    assert.equal(await c.call("MULTI"), OK);
    assert.equal(await c.call("SET", "jc", "3"), QUEUED);
    assert.equal(await c.call("DISCARD"), OK);
    c.close();
    await srv.stop();

    const p = new FilePersistence(file);
    const records: JournalRecord[] = [];
    p.open((r) => records.push(r), () => {});
    p.close();
    const groups = records.filter((r) => r.some((e) => e.argv[1] === "ja" || e.argv[1] === "jb"));
    assert.equal(groups.length, 1);
    assert.deepEqual(groups[0].map((e) => [e.db, e.argv]), [
      [0, ["SET", "ja", "1"]],
      [1, ["SET", "jb", "2"]],
    ]);
    assert.ok(!records.some((r) => r.some((e) => e.argv[1] === "jc")));

    srv = await startServer(["--dbfile", file]);
    c = await RawClient.connect(srv.port);
    assert.equal(await c.call("GET", "ja"), bulk("1"));
    assert.equal(await c.call("SELECT", "1"), OK);
    assert.equal(await c.call("GET", "jb"), bulk("2"));
    c.close();
    await srv.stop();
  });
});
