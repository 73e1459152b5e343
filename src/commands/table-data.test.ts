/**
 * Invariants of the generated command table (src/commands/table-data.ts). Pure data checks,
 * no server. Runs under `bun test` and `deno test`.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { CommandSpec, KeySpec } from "./spec.ts";
import { COMMAND_TABLE } from "./table-data.ts";

const KNOWN_FLAGS = new Set([
  "write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript", "blocking", "loading",
  "stale", "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth", "may_replicate", "sentinel",
  "only_sentinel", "no_mandatory_keys", "protected", "allow_busy", "no_async_loading", "no_multi",
  "touches_arbitrary_keys",
]);
const KEY_FLAGS = new Set([
  "RO", "RW", "OW", "RM", "ACCESS", "UPDATE", "INSERT", "DELETE", "NOT_KEY", "INCOMPLETE", "VARIABLE_FLAGS",
]);
const ACCESS_TYPES = ["RO", "RW", "OW", "RM"];
/** Explicit categories only: the flag-derived ones (write, read, fast, slow, ...) never appear,
 * except admin/dangerous which some commands carry explicitly without the admin flag. */
const EXPLICIT_CATEGORIES = new Set([
  "keyspace", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo", "stream",
  "connection", "transaction", "scripting", "admin", "dangerous",
]);
const GROUPS = new Set([
  "generic", "string", "list", "set", "sorted-set", "hash", "pubsub", "transactions", "connection",
  "server", "scripting", "hyperloglog", "cluster", "sentinel", "geo", "stream", "bitmap", "module",
]);

function all(): CommandSpec[] {
  const out: CommandSpec[] = [];
  for (const c of COMMAND_TABLE) {
    out.push(c);
    for (const s of c.subcommands ?? []) out.push(s);
  }
  return out;
}

function byName(name: string): CommandSpec {
  const found = all().find((c) => c.name === name);
  assert.ok(found, `command ${name} missing`);
  return found;
}

function specIsKeynum(s: KeySpec): boolean {
  return "keynum" in s.find;
}

describe("command table shape", () => {
  test("has at least 230 top-level commands and subcommands for the containers", () => {
    assert.ok(COMMAND_TABLE.length >= 230, `only ${COMMAND_TABLE.length} commands`);
    for (const c of ["acl", "client", "cluster", "command", "config", "function", "latency", "memory",
      "module", "object", "pubsub", "script", "slowlog", "xgroup", "xinfo"]) {
      assert.ok((byName(c).subcommands ?? []).length > 0, `${c} has no subcommands`);
    }
    assert.ok(all().length - COMMAND_TABLE.length >= 120);
  });

  test("names are lowercase, unique, and sorted", () => {
    const seen = new Set<string>();
    for (const c of all()) {
      assert.equal(c.name, c.name.toLowerCase(), c.name);
      assert.ok(!seen.has(c.name), `duplicate ${c.name}`);
      seen.add(c.name);
    }
    const sorted = (xs: string[]) => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const top = COMMAND_TABLE.map((c) => c.name);
    assert.deepEqual(top, sorted(top));
    for (const c of COMMAND_TABLE) {
      const subs = (c.subcommands ?? []).map((s) => s.name);
      assert.deepEqual(subs, sorted(subs), `${c.name} subcommands unsorted`);
    }
  });

  test("top-level names have no '|'; subcommands are parent|sub one level deep", () => {
    for (const c of COMMAND_TABLE) {
      assert.ok(!c.name.includes("|"), c.name);
      for (const s of c.subcommands ?? []) {
        const [parent, sub, ...rest] = s.name.split("|");
        assert.equal(parent, c.name, s.name);
        assert.ok(sub && sub.length > 0, s.name);
        assert.equal(rest.length, 0, s.name);
        assert.ok(!s.subcommands || s.subcommands.length === 0, `${s.name} is nested`);
      }
    }
  });

  test("arities are nonzero; subcommand arity magnitude is at least 2", () => {
    for (const c of all()) {
      assert.ok(Number.isInteger(c.arity) && c.arity !== 0, `${c.name} arity ${c.arity}`);
      if (c.name.includes("|")) assert.ok(Math.abs(c.arity) >= 2, `${c.name} arity ${c.arity}`);
    }
  });

  test("flags come from the known set, without duplicates or movablekeys", () => {
    for (const c of all()) {
      assert.equal(new Set(c.flags).size, c.flags.length, `${c.name} duplicate flags`);
      for (const f of c.flags) assert.ok(KNOWN_FLAGS.has(f), `${c.name}: unknown flag ${f}`);
      assert.ok(!c.flags.includes("movablekeys"), c.name);
      assert.ok(!(c.flags.includes("write") && c.flags.includes("readonly")), `${c.name} write+readonly`);
    }
  });

  test("categories are explicit ones only", () => {
    for (const c of all()) {
      assert.equal(new Set(c.categories).size, c.categories.length, `${c.name} duplicate categories`);
      for (const cat of c.categories) {
        assert.ok(EXPLICIT_CATEGORIES.has(cat), `${c.name}: category ${cat} is derived or unknown`);
      }
    }
  });

  test("group and since are filled in", () => {
    for (const c of all()) {
      assert.ok(GROUPS.has(c.group), `${c.name}: group ${c.group}`);
      assert.match(c.since, /^\d+\.\d+\.\d+$/, c.name);
    }
  });

  test("key specs are well formed", () => {
    for (const c of all()) {
      for (const s of c.keySpecs) {
        for (const f of s.flags) assert.ok(KEY_FLAGS.has(f), `${c.name}: key flag ${f}`);
        assert.equal(new Set(s.flags).size, s.flags.length, `${c.name} duplicate key flags`);
        const access = s.flags.filter((f) => ACCESS_TYPES.includes(f));
        if (s.flags.includes("NOT_KEY")) {
          assert.ok(access.length <= 1, `${c.name}: NOT_KEY spec with ${access}`);
        } else {
          assert.equal(access.length, 1, `${c.name}: key spec needs exactly one of RO/RW/OW/RM, has ${access}`);
        }
        const b = s.begin;
        if ("index" in b) assert.ok(Number.isInteger(b.index) && b.index > 0, `${c.name} begin index`);
        else if ("keyword" in b) {
          assert.ok(typeof b.keyword === "string" && b.keyword.length > 0, `${c.name} empty keyword`);
          assert.ok(Number.isInteger(b.startfrom) && b.startfrom !== 0, `${c.name} startfrom`);
        } else assert.equal(b.unknown, true, `${c.name} begin`);
        const f = s.find;
        if ("range" in f) {
          assert.ok(Number.isInteger(f.range.lastkey), c.name);
          assert.ok(f.range.step >= 1, `${c.name} range step`);
          assert.ok(f.range.limit >= 0, `${c.name} range limit`);
        } else if ("keynum" in f) {
          assert.ok(f.keynum.keynumidx >= 0 && f.keynum.firstkey >= 1 && f.keynum.step >= 1, c.name);
        } else assert.equal(f.unknown, true, `${c.name} find`);
        // Redis pairs an unknown begin search with an unknown find.
        if ("unknown" in b) assert.ok("unknown" in f, `${c.name}: unknown begin with known find`);
      }
    }
  });

  test("channel specs only on the pub/sub commands", () => {
    const expected: Record<string, { first: number; single?: boolean; pattern?: boolean; action: string }> = {
      publish: { first: 1, single: true, action: "publish" },
      spublish: { first: 1, single: true, action: "publish" },
      subscribe: { first: 1, action: "subscribe" },
      ssubscribe: { first: 1, action: "subscribe" },
      psubscribe: { first: 1, pattern: true, action: "subscribe" },
      unsubscribe: { first: 1, action: "unsubscribe" },
      sunsubscribe: { first: 1, action: "unsubscribe" },
      punsubscribe: { first: 1, pattern: true, action: "unsubscribe" },
    };
    for (const c of all()) {
      if (expected[c.name]) assert.deepEqual(c.channels, [expected[c.name]], c.name);
      else assert.equal(c.channels, undefined, `${c.name} has channels`);
    }
  });
});

describe("spot checks", () => {
  test("get / set", () => {
    const get = byName("get");
    assert.equal(get.arity, 2);
    assert.deepEqual(get.flags, ["readonly", "fast"]);
    assert.deepEqual(get.categories, ["string"]);
    assert.equal(get.group, "string");
    assert.deepEqual(get.keySpecs, [
      { flags: ["RO", "ACCESS"], begin: { index: 1 }, find: { range: { lastkey: 0, step: 1, limit: 0 } } },
    ]);
    const set = byName("set");
    assert.equal(set.arity, -3);
    assert.deepEqual(set.flags, ["write", "denyoom"]);
    assert.deepEqual(set.categories, ["string"]);
    assert.deepEqual(set.keySpecs[0].flags, ["RW", "ACCESS", "UPDATE", "VARIABLE_FLAGS"]);
  });

  test("containers and subcommands", () => {
    assert.equal(byName("config|get").arity, -3);
    assert.ok(byName("config|get").flags.includes("admin"));
    assert.equal(byName("config|set").arity, -4);
    assert.equal(byName("acl|setuser").arity, -3);
    assert.equal(byName("acl|cat").arity, -2);
    assert.equal(byName("acl").arity, -2);
    assert.deepEqual(byName("acl").flags, []);
    assert.equal(byName("client|kill").arity, -3);
    assert.equal(byName("object|encoding").arity, 3);
    assert.deepEqual(byName("object|encoding").keySpecs[0].begin, { index: 2 });
    assert.equal(byName("xinfo|stream").arity, -3);
    assert.equal(byName("command").arity, -1);
  });

  test("keynum and keyword specs", () => {
    const zu = byName("zunionstore");
    assert.equal(zu.keySpecs.length, 2);
    assert.deepEqual(zu.keySpecs[0].find, { range: { lastkey: 0, step: 1, limit: 0 } });
    assert.deepEqual(zu.keySpecs[1].begin, { index: 2 });
    assert.deepEqual(zu.keySpecs[1].find, { keynum: { keynumidx: 0, firstkey: 1, step: 1 } });
    assert.ok(specIsKeynum(byName("eval").keySpecs[0]));
    assert.deepEqual(byName("eval").keySpecs[0].begin, { index: 2 });
    const xread = byName("xread");
    assert.deepEqual(xread.keySpecs[0].begin, { keyword: "STREAMS", startfrom: 1 });
    assert.deepEqual(xread.keySpecs[0].find, { range: { lastkey: -1, step: 1, limit: 2 } });
    const migrate = byName("migrate");
    assert.deepEqual(migrate.keySpecs[1].begin, { keyword: "KEYS", startfrom: -2 });
    assert.ok(migrate.keySpecs[1].flags.includes("INCOMPLETE"));
    assert.deepEqual(byName("mset").keySpecs[0].find, { range: { lastkey: -1, step: 2, limit: 0 } });
  });

  test("sort has unknown BY/GET and STORE specs", () => {
    const sort = byName("sort");
    assert.equal(sort.keySpecs.length, 3);
    assert.deepEqual(sort.keySpecs[2], { flags: ["OW", "UPDATE"], begin: { unknown: true }, find: { unknown: true } });
    assert.deepEqual(sort.categories, ["set", "sortedset", "list", "dangerous"]);
    assert.equal(byName("sort_ro").keySpecs.length, 2);
  });

  test("explicit categories that look derived", () => {
    assert.deepEqual(byName("keys").categories, ["keyspace", "dangerous"]);
    assert.deepEqual(byName("flushall").categories, ["keyspace", "dangerous"]);
    assert.deepEqual(byName("lastsave").categories, ["admin", "dangerous"]);
    assert.deepEqual(byName("info").categories, ["dangerous"]);
    assert.deepEqual(byName("publish").categories, []);
    assert.deepEqual(byName("eval_ro").categories, ["scripting"]);
    assert.ok(byName("eval_ro").flags.includes("readonly"));
  });

  test("blocking commands", () => {
    for (const name of ["blpop", "brpop", "blmove", "blmpop", "brpoplpush", "bzpopmin", "bzpopmax", "bzmpop", "xread", "xreadgroup"]) {
      assert.ok(byName(name).flags.includes("blocking"), name);
    }
  });

  test("Redis 7.2 additions and changes", () => {
    const waitaof = byName("waitaof");
    assert.equal(waitaof.arity, 4);
    assert.deepEqual(waitaof.flags, ["noscript"]);
    assert.deepEqual(waitaof.categories, ["connection"]);
    assert.equal(waitaof.since, "7.2.0");
    assert.deepEqual(byName("wait").flags, []);
    const setinfo = byName("client|setinfo");
    assert.equal(setinfo.arity, 4);
    assert.deepEqual(setinfo.flags, ["noscript", "loading", "stale"]);
    assert.deepEqual(setinfo.categories, ["connection"]);
    assert.equal(byName("client|no-touch").arity, 3);
    assert.equal(byName("cluster|myshardid").arity, 2);
    assert.equal(byName("zrank").arity, -3);
    assert.equal(byName("zrevrank").arity, -3);
    assert.deepEqual(byName("cluster|shards").flags, ["loading", "stale"]);
  });
});
