/**
 * The dataset as journal records, for compaction: one record per key that recreates it
 * (SET / HSET / SADD / RPUSH / ZADD), followed by PEXPIREAT when it has a TTL. Large
 * collections are split into several records of at most 1024 elements each.
 */
import type { Server } from "../server.ts";
import type { JournalRecord } from "../persist/types.ts";
import { formatDouble } from "../resp/reply.ts";
import type { Value } from "./keyspace.ts";

const CHUNK = 1024;

interface ListLike { type: "list"; toArray(): string[] }
interface ZSetLike { type: "zset"; entries(): Iterable<[string, number]> }

function* valueRecords(db: number, key: string, v: Value): Generator<JournalRecord> {
  if (typeof v === "string") {
    yield [{ db, argv: ["SET", key, v] }];
    return;
  }
  let cmd: string;
  let items: string[][] = [];
  if (v instanceof Map) {
    cmd = "HSET";
    for (const [f, val] of v) items.push([f, val]);
  } else if (v instanceof Set) {
    cmd = "SADD";
    for (const m of v) items.push([m]);
  } else if (v.type === "list") {
    cmd = "RPUSH";
    items = (v as unknown as ListLike).toArray().map((x) => [x]);
  } else {
    cmd = "ZADD";
    for (const [m, s] of (v as unknown as ZSetLike).entries()) items.push([formatDouble(s), m]);
  }
  for (let i = 0; i < items.length; i += CHUNK) {
    const argv = [cmd, key];
    for (const it of items.slice(i, i + CHUNK)) argv.push(...it);
    yield [{ db, argv }];
  }
}

export function* snapshot(server: Server): Generator<JournalRecord> {
  for (const db of server.keyspace.dbs) {
    const now = Date.now();
    for (const [key, v] of db.data) {
      const at = db.expires.get(key);
      if (at !== undefined && at <= now) continue;
      yield* valueRecords(db.index, key, v);
      if (at !== undefined) yield [{ db: db.index, argv: ["PEXPIREAT", key, String(at)] }];
    }
  }
}
