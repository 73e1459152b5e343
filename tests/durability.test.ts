/**
 * The durable single-file store through the real server (aki as a child process under the
 * runtime being tested): the default data file, what is journaled and how, expiry across
 * restarts, compaction (SAVE / BGSAVE / BGREWRITEAOF / automatic) under concurrent writes,
 * group commit and reply order, kill -9 at random moments, torn tails, damage, `aki check`,
 * and disk errors (ENOSPC on a small tmpfs, EFBIG under `ulimit -f`).
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Buffer } from "node:buffer";
import { bulk, int, NIL, OK, RawClient, resp, startServer, type AkiServer } from "./harness.ts";
import { akiCheck, mountTmpfs, pipeline, readRecords, tempRoot, unmountTmpfs } from "./hardening-helpers.ts";
import { checkFile } from "../src/persist/check.ts";
import { Server } from "../src/server.ts";
import { openSnapshot } from "../src/store/snapshot.ts";
import { List } from "../src/store/list.ts";

const { root: ROOT, tempDir } = tempRoot("aki-durability-");

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface SpawnOpts {
  cwd?: string;
  /** Expect the process to exit on its own (startup errors). */
  expectExit?: boolean;
  /** Run through `bash -c 'ulimit -f N; exec ...'`. */
  ulimitBlocks?: number;
}

/** Start `aki server ARGS --port P` (no implicit --dbfile) and wait until it listens. */
function spawnAki(args: string[], opts: SpawnOpts = {}): Promise<AkiServer> {
  return startServer(args, {
    cwd: opts.cwd ?? ROOT,
    expectExit: opts.expectExit,
    wrap: opts.ulimitBlocks === undefined ? undefined : ["bash", "-c", `ulimit -f ${opts.ulimitBlocks}; exec "$@"`, "bash"],
    noMemoryDb: true,
    startTimeoutMs: 30000,
    killAfterMs: 8000,
    outputEncoding: "latin1",
  });
}

function infoField(info: string, name: string): string {
  const m = new RegExp(`^${name}:(.*)$`, "m").exec(info);
  return m ? m[1].trim() : "";
}

async function info(c: RawClient, section = "persistence"): Promise<string> {
  return (await c.call("INFO", section)).replace(/\r/g, "");
}

/** Decode a bulk reply ("$3\r\nabc\r\n" -> "abc", "$-1\r\n" -> null). */
function unbulk(r: string): string | null {
  if (r === NIL) return null;
  const nl = r.indexOf("\r\n");
  assert.equal(r[0], "$", `not a bulk reply: ${JSON.stringify(r.slice(0, 80))}`);
  return r.slice(nl + 2, r.length - 2);
}

/** A canonical text dump of every db (type, value, TTL or not), for before/after comparisons. */
async function dump(c: RawClient): Promise<string> {
  const lines: string[] = [];
  for (let db = 0; db < 16; db++) {
    await c.call("SELECT", String(db));
    const keysReply = await c.call("KEYS", "*");
    const keys = [...keysReply.matchAll(/\$\d+\r\n([^\r]*)\r\n/g)].map((m) => m[1]).sort();
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const types = await pipeline(c, chunk.map((k) => ["TYPE", k]));
      const reads = chunk.map((k, j) => {
        const t = types[j].slice(1, -2);
        if (t === "string") return ["GET", k];
        if (t === "hash") return ["HGETALL", k];
        if (t === "set") return ["SMEMBERS", k];
        if (t === "list") return ["LRANGE", k, "0", "-1"];
        if (t === "zset") return ["ZRANGE", k, "0", "-1", "WITHSCORES"];
        return ["TYPE", k];
      });
      const vals = await pipeline(c, reads);
      const ttls = await pipeline(c, chunk.map((k) => ["PTTL", k]));
      chunk.forEach((k, j) => {
        const t = types[j].slice(1, -2);
        let v = vals[j];
        // Unordered types: sort their elements so the dump is canonical.
        if (t === "set" || t === "hash") {
          const items = [...v.matchAll(/\$\d+\r\n([^\r]*)\r\n/g)].map((m) => m[1]);
          if (t === "hash") {
            const pairs: string[] = [];
            for (let p = 0; p < items.length; p += 2) pairs.push(items[p] + "=" + items[p + 1]);
            v = pairs.sort().join(",");
          } else v = items.sort().join(",");
        }
        lines.push(`${db} ${k} ${t} ${ttls[j] === ":-1\r\n" ? "persistent" : "volatile"} ${JSON.stringify(v)}`);
      });
    }
  }
  await c.call("SELECT", "0");
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------

describe("durable store: the data file", () => {
  test("no --dbfile keeps data in ./data.aki (mode 0600); --dir picks the folder; :memory: writes nothing", async () => {
    const cwd = tempDir();
    let s = await spawnAki([], { cwd });
    let c = await RawClient.connect(s.port);
    assert.equal(await c.call("SET", "k", "v"), OK);
    c.close();
    await s.stop();
    const file = path.join(cwd, "data.aki");
    assert.ok(fs.existsSync(file), "data.aki created in the working directory");
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    s = await spawnAki([], { cwd });
    c = await RawClient.connect(s.port);
    assert.equal(await c.call("GET", "k"), bulk("v"));
    assert.match(await info(c), /aki_dbfile:.*data\.aki/);
    c.close();
    await s.stop();

    const dir = tempDir();
    s = await spawnAki(["--dir", dir], { cwd });
    c = await RawClient.connect(s.port);
    assert.equal(await c.call("SET", "k", "in-dir"), OK);
    c.close();
    await s.stop();
    assert.ok(fs.existsSync(path.join(dir, "data.aki")));

    const named = path.join(tempDir(), "custom.db");
    s = await spawnAki(["--dbfile", named], { cwd });
    c = await RawClient.connect(s.port);
    assert.equal(await c.call("SET", "k", "named"), OK);
    c.close();
    await s.kill();
    s = await spawnAki(["--dbfile", named], { cwd });
    c = await RawClient.connect(s.port);
    assert.equal(await c.call("GET", "k"), bulk("named"));
    c.close();
    await s.stop();

    const empty = tempDir();
    s = await spawnAki(["--dbfile", ":memory:"], { cwd: empty });
    c = await RawClient.connect(s.port);
    assert.equal(await c.call("SET", "k", "v"), OK);
    assert.equal(infoField(await info(c), "aof_enabled"), "0");
    c.close();
    await s.stop();
    assert.deepEqual(fs.readdirSync(empty), []);
  });

  test("writes are journaled in deterministic form, reads never; every type survives a kill -9", async () => {
    const file = path.join(tempDir(), "forms.aki");
    let s = await spawnAki(["--dbfile", file, "--appendfsync", "always"]);
    const c = await RawClient.connect(s.port);
    const before = readRecords(file).length;
    await pipeline(c, [["GET", "x"], ["EXISTS", "x"], ["KEYS", "*"], ["DBSIZE"], ["PING"], ["SET", "r", "1", "NX", "XX"]]);
    assert.equal(readRecords(file).length, before, "reads (and no-op writes) journal nothing");
    const replies = await pipeline(c, [
      ["SET", "s", "v"],
      ["SET", "ttl", "v", "EX", "1000"],
      ["EXPIRE", "s", "500"],
      ["PERSIST", "s"],
      ["INCRBYFLOAT", "f", "0.1"],
      ["INCRBYFLOAT", "f", "0.2"],
      ["SADD", "set", "a", "b", "c", "d"],
      ["SPOP", "set"],
      ["RPUSH", "list", "1", "2", "3"],
      ["BLPOP", "list", "0"],
      ["HSET", "h", "f", "1", "g", "2"],
      ["HINCRBYFLOAT", "h", "f", "1.5"],
      ["ZADD", "z", "1", "a", "2", "b"],
      ["ZINCRBY", "z", "0.5", "a"],
      ["MULTI"],
      ["INCR", "m1"],
      ["INCR", "m2"],
      ["EXEC"],
      ["SELECT", "3"],
      ["SET", "in3", "x"],
      ["SWAPDB", "3", "4"],
      ["SELECT", "5"],
      ["SET", "gone", "x"],
      ["FLUSHDB"],
      ["SELECT", "0"],
      ["SET", "del", "x"],
      ["DEL", "del"],
    ]);
    for (const r of replies) assert.ok(!r.startsWith("-"), `unexpected error ${r}`);
    const want = await dump(c);
    const records = readRecords(file).slice(before);
    const names = records.flatMap((r) => r.rec.map((e) => e.argv[0].toUpperCase()));
    for (const banned of ["SPOP", "INCRBYFLOAT", "HINCRBYFLOAT", "EXPIRE", "BLPOP", "SELECT", "GET", "MULTI", "EXEC"]) {
      assert.ok(!names.includes(banned), `${banned} must not be journaled as is (${names.join(" ")})`);
    }
    for (const needed of ["SREM", "PEXPIREAT", "LPOP", "SWAPDB", "FLUSHDB", "PERSIST"]) {
      assert.ok(names.includes(needed), `${needed} expected in the journal (${names.join(" ")})`);
    }
    const group = records.find((r) => r.rec.length === 2 && r.rec[0].argv[0].toUpperCase() === "INCR");
    assert.ok(group, "MULTI/EXEC is one group record");
    assert.deepEqual(group!.rec.map((e) => e.argv[1]), ["m1", "m2"]);
    assert.ok(records.some((r) => r.rec[0].db === 3 && r.rec[0].argv[1] === "in3"), "SELECT's db travels with the record");
    c.close();
    await s.kill();
    s = await spawnAki(["--dbfile", file]);
    const c2 = await RawClient.connect(s.port);
    assert.equal(await dump(c2), want);
    c2.close();
    await s.stop();
  });
});

describe("durable store: expiry across restarts", () => {
  test("replay never expires keys: writes that followed an expiry replay the same way", async () => {
    const file = path.join(tempDir(), "expiry.aki");
    let s = await spawnAki(["--dbfile", file, "--appendfsync", "always"]);
    let c = await RawClient.connect(s.port);
    const soon = String(Date.now() + 300);
    assert.equal(await c.call("SET", "k", "old", "PXAT", soon), OK);
    assert.equal(await c.call("RPUSH", "l", "old"), int(1));
    assert.equal(await c.call("PEXPIREAT", "l", soon), int(1));
    assert.equal(await c.call("SET", "later", "v", "PX", "600"), OK);
    assert.equal(await c.call("SET", "keep", "v", "PX", "100000"), OK);
    await sleep(400);
    // Both keys expired: these writes see them absent.
    assert.equal(await c.call("SET", "k", "new", "NX"), OK);
    assert.equal(await c.call("RPUSH", "l", "new"), int(1));
    c.close();
    await s.kill();
    // "later" expires while the server is down: it must not come back, even for a moment.
    await sleep(300);
    s = await spawnAki(["--dbfile", file]);
    c = await RawClient.connect(s.port);
    assert.equal(await c.call("GET", "k"), bulk("new"));
    assert.equal(await c.call("LRANGE", "l", "0", "-1"), `*1\r\n${bulk("new")}`);
    assert.equal(await c.call("GET", "later"), NIL);
    assert.equal(await c.call("EXISTS", "later"), int(0));
    const pttl = Number((await c.call("PTTL", "keep")).slice(1, -2));
    assert.ok(pttl > 90000 && pttl <= 100000, `TTL kept as an absolute time (${pttl})`);
    // A past PEXPIREAT written now deletes at once (not loading).
    assert.equal(await c.call("SET", "p", "v"), OK);
    assert.equal(await c.call("PEXPIREAT", "p", "1"), int(1));
    assert.equal(await c.call("EXISTS", "p"), int(0));
    c.close();
    await s.kill();
    s = await spawnAki(["--dbfile", file]);
    c = await RawClient.connect(s.port);
    assert.equal(await c.call("EXISTS", "later", "p"), int(0));
    assert.equal(await c.call("GET", "k"), bulk("new"));
    c.close();
    await s.stop();
  });

  test("keys removed by active expiry are journaled and stay gone", async () => {
    const file = path.join(tempDir(), "active.aki");
    let s = await spawnAki(["--dbfile", file]);
    let c = await RawClient.connect(s.port);
    for (let i = 0; i < 20; i++) assert.equal(await c.call("SET", `e${i}`, "v", "PX", "50"), OK);
    await sleep(600); // the cron (every 100 ms) removes them
    assert.equal(await c.call("DBSIZE"), int(0));
    c.close();
    await s.stop();
    const dels = readRecords(file).flatMap((r) => r.rec).filter((e) => e.argv[0] === "DEL");
    assert.equal(dels.length, 20, "one DEL per expired key");
    s = await spawnAki(["--dbfile", file]);
    c = await RawClient.connect(s.port);
    assert.equal(await c.call("DBSIZE"), int(0));
    c.close();
    await s.stop();
  });
});

describe("durable store: compaction", () => {
  test("SAVE replies after the new file is in place; INFO and LASTSAVE report it", async () => {
    const file = path.join(tempDir(), "save.aki");
    const s = await spawnAki(["--dbfile", file]);
    const c = await RawClient.connect(s.port);
    for (let i = 0; i < 50; i++) await c.call("SET", "k", String(i));
    const i0 = await info(c);
    assert.equal(infoField(i0, "aof_enabled"), "1");
    assert.equal(infoField(i0, "aof_last_write_status"), "ok");
    assert.equal(infoField(i0, "rdb_changes_since_last_save"), "50");
    const sizeBefore = Number(infoField(i0, "aof_current_size"));
    assert.equal(await c.call("SAVE"), OK);
    const i1 = await info(c);
    assert.equal(infoField(i1, "aof_rewrite_in_progress"), "0");
    assert.equal(infoField(i1, "rdb_saves"), "1");
    assert.equal(infoField(i1, "aof_rewrites"), "1");
    assert.equal(infoField(i1, "rdb_changes_since_last_save"), "0");
    assert.equal(infoField(i1, "aof_last_bgrewrite_status"), "ok");
    const size = Number(infoField(i1, "aof_current_size"));
    assert.ok(size < sizeBefore, `compacted ${sizeBefore} -> ${size}`);
    assert.equal(fs.statSync(file).size, size);
    assert.equal(infoField(i1, "aof_base_size"), String(size));
    assert.equal(infoField(i1, "rdb_last_save_time"), (await c.call("LASTSAVE")).slice(1, -2));
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    // One batch: the compaction started by the first command is still running for the others.
    assert.deepEqual(await pipeline(c, [["BGSAVE"], ["BGREWRITEAOF"], ["BGSAVE"], ["SAVE"], ["BGSAVE", "SCHEDULE"]]), [
      "+Background saving started\r\n",
      "-ERR Background append only file rewriting already in progress\r\n",
      "-ERR Background save already in progress\r\n",
      "-ERR Background save already in progress\r\n",
      "+Background saving scheduled\r\n",
    ]);
    for (let i = 0; i < 100 && infoField(await info(c), "aof_rewrite_in_progress") !== "0"; i++) await sleep(20);
    assert.equal(await c.call("BGREWRITEAOF"), "+Background append only file rewriting started\r\n");
    for (let i = 0; i < 100 && infoField(await info(c), "aof_rewrite_in_progress") !== "0"; i++) await sleep(20);
    assert.equal(infoField(await info(c), "aof_rewrites"), "4");
    assert.equal(await c.call("GET", "k"), bulk("49"));
    c.close();
    await s.stop();
  });

  test("compaction while clients mutate collections: the restarted dataset is identical", async () => {
    const file = path.join(tempDir(), "cow.aki");
    let s = await spawnAki(["--dbfile", file, "--appendfsync", "always"]);
    let c = await RawClient.connect(s.port);
    const w = await RawClient.connect(s.port);
    const fill: string[][] = [];
    for (let i = 0; i < 40000; i++) fill.push(["SET", `s${i}`, `v${i}`]);
    for (let i = 0; i < 300; i++) {
      fill.push(["RPUSH", `l${i}`, "a", "b", "c"]);
      fill.push(["HSET", `h${i}`, "f", "1", "g", "2"]);
      fill.push(["SADD", `t${i}`, "x", "y"]);
      fill.push(["ZADD", `z${i}`, "1", "m", "2", "n"]);
    }
    fill.push(["RPUSH", "big", ...Array.from({ length: 3000 }, (_, i) => String(i))]);
    fill.push(["SET", "vol", "v", "PX", "1000000"]);
    for (let i = 0; i < fill.length; i += 5000) await pipeline(c, fill.slice(i, i + 5000));
    assert.equal(await c.call("BGREWRITEAOF"), "+Background append only file rewriting started\r\n");
    let rounds = 0;
    let during = 0;
    for (;;) {
      const inProgress = infoField(await info(w), "aof_rewrite_in_progress") === "1";
      const muts: string[][] = [];
      for (let j = 0; j < 20; j++) {
        const i = (rounds * 20 + j) % 300;
        muts.push(["RPUSH", `l${i}`, `r${rounds}`], ["HINCRBY", `h${i}`, "f", "1"], ["SADD", `t${i}`, `r${rounds}`]);
        muts.push(["ZINCRBY", `z${i}`, "1", "m"], ["LPOP", `l${(i + 7) % 300}`], ["INCR", `cnt${rounds % 50}`]);
      }
      muts.push(["RPUSH", "big", `r${rounds}`], ["RENAME", `l${rounds % 300}`, `moved${rounds}`], ["SET", `new${rounds}`, "n"]);
      for (const r of await pipeline(w, muts)) assert.ok(!r.startsWith("-"), r);
      rounds++;
      if (inProgress) during++;
      else if (rounds > 3) break;
      if (rounds > 2000) break;
    }
    assert.ok(during > 0, "some mutations ran while the compaction was in progress");
    assert.equal(infoField(await info(w), "aof_last_bgrewrite_status"), "ok");
    const want = await dump(c);
    c.close();
    w.close();
    await s.kill();
    s = await spawnAki(["--dbfile", file]);
    c = await RawClient.connect(s.port);
    const got = await dump(c);
    assert.equal(got.length, want.length);
    assert.ok(got === want, "dataset after restart equals the dataset before");
    assert.ok(Number(infoField(await info(c), "aki_last_compaction_pause_ms")) >= 0);
    c.close();
    await s.stop();
  });

  test("the snapshot is point-in-time: copy-on-write for collections, a bypass is detected", () => {
    const server = new Server({ logger: () => {} });
    const db = server.keyspace.dbs[0];
    db.set("s", "old");
    db.set("gone", "x");
    db.set("l", new List(["a", "b"]));
    db.set("h", new Map([["f", "1"]]));
    db.set("t", new Set(["m"]));
    db.set("ttl", "v");
    db.setExpire("ttl", Date.now() + 100000);
    db.set("dead", "v");
    db.setExpire("dead", Date.now() - 1);
    server.keyspace.dbs[2].set("other", "o");
    const ttlAt = db.expires.get("ttl");
    const snap = openSnapshot(server);
    // Everything below happens after the capture and must not show in the records.
    db.set("s", "new");
    db.delete("gone");
    (db.get("l") as List).pushTail("c");
    db.touchWrite("l");
    (db.get("h") as Map<string, string>).set("g", "2");
    db.touchWrite("h");
    db.set("fresh", new Set(["z"]));
    db.persist("ttl");
    server.keyspace.swap(0, 2);
    const argvs = [...snap.records].map((r) => `${r[0].db} ${r[0].argv.join(" ")}`);
    snap.close();
    assert.deepEqual(argvs.sort(), [
      "0 HSET h f 1",
      `0 PEXPIREAT ttl ${ttlAt}`,
      "0 RPUSH l a b",
      "0 SADD t m",
      "0 SET gone x",
      "0 SET s old",
      "0 SET ttl v",
      "2 SET other o",
    ].sort());
    assert.equal(db.cow, null, "close() removes the hooks");

    // A collection changed in place without get()/set() makes the snapshot fail.
    const d0 = server.keyspace.dbs[0];
    d0.set("victim", new Set(["a"]));
    const snap2 = openSnapshot(server);
    (d0.data.get("victim") as Set<string>).add("b");
    d0.touchWrite("victim");
    assert.throws(() => [...snap2.records], /without Db.get\(\) during compaction/);
    snap2.close();
  });

  test("automatic compaction (auto-aof-rewrite-percentage / -min-size)", async () => {
    const file = path.join(tempDir(), "auto.aki");
    const s = await spawnAki(["--dbfile", file, "--auto-aof-rewrite-percentage", "100", "--auto-aof-rewrite-min-size", "20000"]);
    const c = await RawClient.connect(s.port);
    const cmds: string[][] = [];
    for (let i = 0; i < 3000; i++) cmds.push(["SET", `k${i % 10}`, `value-${i}`]);
    await pipeline(c, cmds);
    let n = 0;
    for (let i = 0; i < 100 && n === 0; i++) {
      await sleep(50);
      n = Number(infoField(await info(c), "aof_rewrites"));
    }
    assert.ok(n >= 1, "an automatic compaction ran");
    for (let i = 0; i < 100 && infoField(await info(c), "aof_rewrite_in_progress") !== "0"; i++) await sleep(20);
    assert.ok(fs.statSync(file).size < 20000, `file compacted (${fs.statSync(file).size} bytes)`);
    assert.equal(await c.call("GET", "k9"), bulk("value-2999"));
    c.close();
    await s.stop();
  });
});

describe("durable store: group commit and reply order", () => {
  test("writes of one turn from many clients share one fsync; per-connection order holds", async () => {
    const file = path.join(tempDir(), "group.aki");
    const s = await spawnAki(["--dbfile", file, "--appendfsync", "always"]);
    const admin = await RawClient.connect(s.port);
    const clients = await Promise.all(Array.from({ length: 8 }, () => RawClient.connect(s.port)));
    // Pause writes so that the 8 clients' commands all resume in the same event-loop turn.
    assert.equal(await admin.call("CLIENT", "PAUSE", "10000", "WRITE"), OK);
    const f0 = Number(infoField(await info(admin), "aki_fsyncs"));
    // Wait until the server has read all 8 commands: total_net_input_bytes counts them (and
    // each INFO STATS request sent meanwhile).
    const netIn = async () => Number(infoField(await info(admin, "stats"), "total_net_input_bytes"));
    const infoReq = resp("INFO", "stats").length;
    const v0 = await netIn();
    const sets = clients.map((_, i) => resp("SET", `g${i}`, String(i)));
    clients.forEach((c, i) => c.write(sets[i]));
    const want = v0 + sets.reduce((n, b) => n + b.length, 0);
    let polls = 1;
    for (; polls < 500 && (await netIn()) < want + polls * infoReq; polls++) await sleep(10);
    assert.ok(polls < 500, "the paused writes reached the server");
    assert.equal(await admin.call("CLIENT", "UNPAUSE"), OK);
    for (const c of clients) assert.equal(await c.read(), OK);
    const f1 = Number(infoField(await info(admin), "aki_fsyncs"));
    assert.equal(f1 - f0, 1, "one fsync for the 8 writes of one turn");

    // Pipelines mixing writes and reads: every connection gets its replies in order.
    const results = await Promise.all(
      clients.map((c, i) => {
        const cmds: string[][] = [];
        for (let j = 1; j <= 50; j++) cmds.push(["INCR", `o${i}`], ["GET", `o${i}`], ["SET", `p${i}`, String(j)], ["GET", `p${i}`]);
        return pipeline(c, cmds);
      }),
    );
    results.forEach((replies) => {
      for (let j = 1; j <= 50; j++) {
        const k = (j - 1) * 4;
        assert.deepEqual(replies.slice(k, k + 4), [int(j), bulk(String(j)), OK, bulk(String(j))]);
      }
    });
    const f2 = Number(infoField(await info(admin), "aki_fsyncs"));
    assert.ok(f2 - f1 <= 8 * 100, `at most one fsync per write (${f2 - f1})`);
    for (const c of clients) c.close();
    admin.close();
    await s.stop();
  });
});

// ---------------------------------------------------------------------------------------------

describe("durable store: kill -9", () => {
  test("8 clients, appendfsync always, SIGKILL at random moments: every acknowledged write survives", async () => {
    const file = path.join(tempDir(), "crash.aki");
    const CYCLES = 20;
    const acked = new Map<string, string>();
    const counters = new Array<number>(8).fill(0);
    const txs = new Array<number>(8).fill(0);
    let ackedBeforeWritten = 0;
    let checkedInFile = 0;
    let totalAcks = 0;

    /** The record of an acknowledged write must already be in the file. */
    const inFile = (value: string): boolean => {
      const fd = fs.openSync(file, "r");
      try {
        const size = fs.fstatSync(fd).size;
        const from = Math.max(0, size - (1 << 20));
        const buf = Buffer.alloc(size - from);
        fs.readSync(fd, buf, 0, buf.length, from);
        return buf.includes(Buffer.from(value, "latin1"));
      } finally {
        fs.closeSync(fd);
      }
    };

    const verify = async (port: number, what: string) => {
      const c = await RawClient.connect(port);
      const keys = [...acked.keys()];
      for (let i = 0; i < keys.length; i += 1000) {
        const chunk = keys.slice(i, i + 1000);
        const r = await c.call("MGET", ...chunk);
        const vals = [...r.matchAll(/\$(-1|\d+)\r\n(?:([^\r]*)\r\n)?/g)].map((m) => (m[1] === "-1" ? null : m[2]));
        chunk.forEach((k, j) => assert.equal(vals[j], acked.get(k), `${what}: acknowledged SET ${k} lost`));
      }
      for (let i = 0; i < 8; i++) {
        const cnt = Number(unbulk(await c.call("GET", `cnt${i}`)) ?? 0);
        assert.ok(cnt >= counters[i], `${what}: INCR cnt${i} acknowledged ${counters[i]}, found ${cnt}`);
        counters[i] = cnt;
        const a = Number(unbulk(await c.call("GET", `ta${i}`)) ?? 0);
        const b = Number(unbulk(await c.call("GET", `tb${i}`)) ?? 0);
        assert.equal(a, b, `${what}: MULTI/EXEC of client ${i} applied partially (${a} vs ${b})`);
        assert.ok(a >= txs[i], `${what}: EXEC of client ${i} acknowledged ${txs[i]}, found ${a}`);
        txs[i] = a;
      }
      c.close();
    };

    const writer = async (port: number, i: number, cycle: number) => {
      let c: RawClient;
      try {
        c = await RawClient.connect(port);
      } catch {
        return;
      }
      try {
        for (let n = 0; ; n++) {
          const op = n % 3;
          if (op === 0) {
            const key = `k${i}:${cycle}:${n}`;
            const value = `v${i}.${cycle}.${n}.${Math.random().toString(36).slice(2, 8)}`;
            const r = await c.call("SET", key, value);
            assert.equal(r, OK);
            acked.set(key, value);
            totalAcks++;
            if (n % 4 === 0) {
              checkedInFile++;
              if (!inFile(value)) ackedBeforeWritten++;
            }
          } else if (op === 1) {
            const r = await c.call("INCR", `cnt${i}`);
            counters[i] = Math.max(counters[i], Number(r.slice(1, -2)));
            totalAcks++;
          } else {
            c.write(Buffer.concat([resp("MULTI"), resp("INCR", `ta${i}`), resp("INCR", `tb${i}`), resp("EXEC")]));
            for (let k = 0; k < 3; k++) await c.read();
            const r = await c.read();
            const m = /^\*2\r\n:(\d+)\r\n:(\d+)\r\n$/.exec(r);
            assert.ok(m, `EXEC reply ${JSON.stringify(r)}`);
            txs[i] = Math.max(txs[i], Number(m![1]));
            totalAcks++;
          }
        }
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        // The server was killed: the connection is gone.
      } finally {
        c.close();
      }
    };

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const s = await spawnAki(["--dbfile", file, "--appendfsync", "always"]);
      await verify(s.port, `cycle ${cycle}`);
      const writers = Array.from({ length: 8 }, (_, i) => writer(s.port, i, cycle));
      await sleep(20 + Math.random() * 180);
      await s.kill();
      const results = await Promise.allSettled(writers);
      for (const r of results) if (r.status === "rejected") throw r.reason;
    }
    const s = await spawnAki(["--dbfile", file]);
    await verify(s.port, "final");
    await s.stop();
    assert.ok(totalAcks > CYCLES * 8, `enough acknowledged writes (${totalAcks})`);
    assert.ok(checkedInFile > 0);
    assert.equal(ackedBeforeWritten, 0, `${ackedBeforeWritten} of ${checkedInFile} sampled writes were acknowledged before their record was in the file`);
    assert.equal(akiCheck(file).code, 0);
  });
});

describe("durable store: torn tails and damage", () => {
  let base: string;
  let last: { offset: number; length: number };
  const keys = ["a", "b", "c", "d"];

  before(async () => {
    base = path.join(tempDir(), "base.aki");
    const s = await spawnAki(["--dbfile", base, "--appendfsync", "always"]);
    const c = await RawClient.connect(s.port);
    for (const k of keys) assert.equal(await c.call("SET", k, `value-of-${k}`), OK);
    assert.equal(await c.call("SET", "last", "the-last-value"), OK);
    c.close();
    await s.stop();
    const recs = readRecords(base);
    assert.equal(recs.length, keys.length + 1);
    last = recs[recs.length - 1];
  });

  test("a tail cut inside the last record: the prefix loads, the cut is logged, a new write sticks", async () => {
    const L = last.length;
    // Record header is bytes 0..7 (length 0..3, crc 4..7), then the payload.
    const cuts = [...new Set([0, 1, 3, 4, 7, 8, 9, Math.floor((8 + L) / 2), L - 2, L - 1])].filter((d) => d >= 0 && d < L);
    for (const d of cuts) {
      const file = path.join(tempDir(), `torn-${d}.aki`);
      fs.copyFileSync(base, file);
      fs.truncateSync(file, last.offset + d);
      let s = await spawnAki(["--dbfile", file]);
      if (d > 0) assert.match(s.output(), new RegExp(`torn record at offset ${last.offset}`), `cut at +${d}`);
      let c = await RawClient.connect(s.port);
      for (const k of keys) assert.equal(await c.call("GET", k), bulk(`value-of-${k}`), `cut at +${d}`);
      assert.equal(await c.call("GET", "last"), NIL, `cut at +${d}`);
      assert.equal(await c.call("SET", "last", `new-${d}`), OK);
      c.close();
      await s.stop();
      assert.equal(akiCheck(file).code, 0);
      s = await spawnAki(["--dbfile", file]);
      c = await RawClient.connect(s.port);
      assert.equal(await c.call("GET", "last"), bulk(`new-${d}`), `cut at +${d}`);
      c.close();
      await s.stop();
    }
  });

  test("aki check reports a torn tail and --fix truncates it", () => {
    const file = path.join(tempDir(), "check-torn.aki");
    fs.copyFileSync(base, file);
    fs.truncateSync(file, last.offset + 5);
    let r = akiCheck(file);
    assert.equal(r.code, 1);
    assert.match(r.out, new RegExp(`torn tail at offset ${last.offset}`));
    assert.match(r.out, new RegExp(`${keys.length} good records`));
    r = akiCheck(file, true);
    assert.equal(r.code, 0, r.out);
    assert.equal(fs.statSync(file).size, last.offset);
    r = akiCheck(file);
    assert.equal(r.code, 0);
    assert.match(r.out, new RegExp(`OK: ${keys.length} records, ${last.offset} bytes`));
  });

  test("aki check --fix refuses while a server holds the file; a plain check may look", async () => {
    const file = path.join(tempDir(), "check-live.aki");
    fs.copyFileSync(base, file);
    const s = await spawnAki(["--dbfile", file]);
    try {
      const bytes = fs.readFileSync(file);
      let r = akiCheck(file, true);
      assert.equal(r.code, 1, r.out);
      assert.ok(r.out.includes(`aki check: data file ${file} is in use by an aki server`), r.out);
      assert.deepEqual(fs.readFileSync(file), bytes, "the file is left untouched");
      r = akiCheck(file);
      assert.equal(r.code, 0, r.out);
    } finally {
      await s.stop();
    }
    const r = akiCheck(file, true);
    assert.equal(r.code, 0, r.out);
  });

  test("damage before the tail: the server refuses to start naming file and offset; aki check agrees", async () => {
    const recs = readRecords(base);
    const victim = recs[1];
    const file = path.join(tempDir(), "damaged.aki");
    fs.copyFileSync(base, file);
    const fd = fs.openSync(file, "r+");
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, victim.offset + 10);
    b[0] ^= 0x40;
    fs.writeSync(fd, b, 0, 1, victim.offset + 10);
    fs.closeSync(fd);
    const bytes = fs.readFileSync(file);
    const s = await spawnAki(["--dbfile", file], { expectExit: true });
    const code = await s.exited;
    assert.notEqual(code, 0);
    assert.ok(s.output().includes(file), s.output());
    assert.match(s.output(), new RegExp(`damaged record at offset ${victim.offset}`));
    assert.deepEqual(fs.readFileSync(file), bytes, "the file is left untouched");
    let r = akiCheck(file);
    assert.equal(r.code, 1);
    assert.match(r.out, new RegExp(`damaged record at offset ${victim.offset}`));
    r = akiCheck(file, true);
    assert.equal(r.code, 1, "--fix never truncates damage");
    assert.deepEqual(fs.readFileSync(file), bytes);
  });
});

describe("durable store: records the server cannot replay", () => {
  test("a record for a db beyond 'databases' refuses to start, naming the file and record", async () => {
    const file = path.join(tempDir(), "dbs.aki");
    let s = await spawnAki(["--dbfile", file, "--databases", "32"]);
    const c = await RawClient.connect(s.port);
    assert.deepEqual(await pipeline(c, [["SELECT", "20"], ["SET", "a", "b"]]), [OK, OK]);
    c.close();
    await s.stop();
    s = await spawnAki(["--dbfile", file], { expectExit: true });
    assert.equal(await s.exited, 1);
    assert.ok(s.output().includes(`${file}: record 1: a record for db 20, but 'databases' is 16`), s.output());
  });
});

// ---------------------------------------------------------------------------------------------

describe("durable store: disk errors", () => {
  test("ENOSPC (256k tmpfs): MISCONF for every lost write, writes refused until a retry succeeds, reads go on", async (t) => {
    const mnt = tempDir();
    const why = mountTmpfs(mnt, "256k");
    if (why !== null) {
      t.skip(`${why}: ENOSPC test skipped`);
      return;
    }
    let s: AkiServer | null = null;
    try {
      const file = path.join(mnt, "data.aki");
      const filler = path.join(mnt, "filler");
      fs.writeFileSync(filler, Buffer.alloc(64 * 1024));
      s = await spawnAki(["--dbfile", file, "--appendfsync", "always"]);
      const c = await RawClient.connect(s.port);
      const acked = new Map<string, string>();
      const MISCONF = "-MISCONF Errors writing to the AOF file: No space left on device\r\n";
      let failedReply = "";
      for (let n = 0; n < 1000; n++) {
        const v = `${n}:` + "x".repeat(3000);
        const r = await c.call("SET", `k${n}`, v);
        if (r === OK) acked.set(`k${n}`, v);
        else {
          failedReply = r;
          break;
        }
      }
      assert.equal(failedReply, MISCONF);
      assert.ok(acked.size > 10);
      assert.equal(await c.call("SET", "other", "1"), MISCONF, "writes are refused while the store is failing");
      assert.equal(await c.call("PING"), MISCONF);
      assert.equal(await c.call("GET", "k0"), bulk(acked.get("k0")!), "reads go on");
      assert.equal(infoField(await info(c), "aof_last_write_status"), "err");
      const chk = checkFile(file, false);
      assert.ok(chk.ok, `no half record on disk: ${chk.message}`);
      assert.equal(chk.records, acked.size);

      // Space comes back: the retry (every second) succeeds and writes are accepted again.
      fs.unlinkSync(filler);
      let r = "";
      for (let i = 0; i < 50 && r !== OK; i++) {
        await sleep(100);
        r = await c.call("SET", "after", "1");
      }
      assert.equal(r, OK);
      assert.equal(infoField(await info(c), "aof_last_write_status"), "ok");
      acked.set("after", "1");

      // Fill the disk again, then a pipeline mixing writes and a read in one batch: the writes'
      // replies become MISCONF, the read's reply is kept.
      const fd = fs.openSync(filler, "w");
      try {
        for (;;) fs.writeSync(fd, Buffer.alloc(4096));
      } catch {
        // full
      } finally {
        fs.closeSync(fd);
      }
      const replies = await pipeline(c, [["SET", "p1", "y".repeat(5000)], ["GET", "k1"], ["SET", "p2", "z".repeat(5000)], ["GET", "after"]]);
      assert.deepEqual(replies, [MISCONF, bulk(acked.get("k1")!), MISCONF, bulk("1")]);
      assert.ok(checkFile(file, false).ok);
      c.close();
      await s.kill();
      fs.unlinkSync(filler);
      s = await spawnAki(["--dbfile", file]);
      const v = await RawClient.connect(s.port);
      for (const [k, val] of acked) assert.equal(await v.call("GET", k), bulk(val), `acknowledged ${k} lost`);
      v.close();
      await s.stop();
      s = null;
    } finally {
      if (s) await s.kill();
      unmountTmpfs(mnt);
    }
  });

  test("EFBIG (ulimit -f): MISCONF, no half record, every acknowledged write survives", async () => {
    const file = path.join(tempDir(), "efbig.aki");
    let s = await spawnAki(["--dbfile", file, "--appendfsync", "always"], { ulimitBlocks: 64 });
    const c = await RawClient.connect(s.port);
    const acked = new Map<string, string>();
    let failedReply = "";
    for (let n = 0; n < 1000; n++) {
      const v = `${n}:` + "x".repeat(3000);
      const r = await c.call("SET", `k${n}`, v);
      if (r === OK) acked.set(`k${n}`, v);
      else {
        failedReply = r;
        break;
      }
    }
    assert.equal(failedReply, "-MISCONF Errors writing to the AOF file: File too large\r\n");
    assert.ok(acked.size > 5);
    assert.equal(await c.call("INCR", "n"), "-MISCONF Errors writing to the AOF file: File too large\r\n");
    assert.equal(await c.call("GET", "k0"), bulk(acked.get("k0")!));
    assert.ok(fs.statSync(file).size <= 64 * 1024);
    const chk = checkFile(file, false);
    assert.ok(chk.ok, chk.message);
    assert.equal(chk.records, acked.size);
    c.close();
    await s.kill();
    s = await spawnAki(["--dbfile", file]);
    const v = await RawClient.connect(s.port);
    for (const [k, val] of acked) assert.equal(await v.call("GET", k), bulk(val), `acknowledged ${k} lost`);
    v.close();
    await s.stop();
  });
});
