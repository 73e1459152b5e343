#!/usr/bin/env node
// Generates src/commands/table-data.ts from a running redis-server's COMMAND INFO and
// COMMAND DOCS (only group and since are taken from the docs; no prose is copied), then applies the
// Redis 7.2 deltas listed in DELTAS below (the reference server may be 7.0.x).
//
// Usage: node scripts/gen-command-table.mjs [host] [port] [out-file]
//   defaults: 127.0.0.1 6379 src/commands/table-data.ts (relative to the repo root)
//
// Plain Node ESM, no dependencies: it speaks RESP2 over node:net itself.
import net from "node:net";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const host = process.argv[2] ?? "127.0.0.1";
const port = Number(process.argv[3] ?? 6379);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outFile = path.resolve(root, process.argv[4] ?? "src/commands/table-data.ts");

// ---------------------------------------------------------------------------------------------
// Minimal RESP2 client

class RespError extends Error {}

/** Parses one RESP value from buf at pos; returns [value, nextPos] or null if incomplete. */
function parse(buf, pos) {
  if (pos >= buf.length) return null;
  const eol = buf.indexOf("\r\n", pos);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[pos]);
  const line = buf.toString("utf8", pos + 1, eol);
  let next = eol + 2;
  switch (type) {
    case "+":
      return [line, next];
    case "-":
      return [new RespError(line), next];
    case ":":
      return [Number(line), next];
    case "$": {
      const len = Number(line);
      if (len < 0) return [null, next];
      if (buf.length < next + len + 2) return null;
      return [buf.toString("utf8", next, next + len), next + len + 2];
    }
    case "*": {
      const n = Number(line);
      if (n < 0) return [null, next];
      const arr = [];
      for (let i = 0; i < n; i++) {
        const r = parse(buf, next);
        if (!r) return null;
        arr.push(r[0]);
        next = r[1];
      }
      return [arr, next];
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}

function encode(args) {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return s;
}

/** Sends each command in order and resolves with the replies. */
function query(commands) {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ host, port });
    let buf = Buffer.alloc(0);
    const replies = [];
    sock.on("connect", () => sock.write(commands.map(encode).join("")));
    sock.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      let pos = 0;
      for (;;) {
        const r = parse(buf, pos);
        if (!r) break;
        replies.push(r[0]);
        pos = r[1];
      }
      buf = buf.subarray(pos);
      if (replies.length === commands.length) {
        sock.end();
        resolve(replies);
      }
    });
    sock.on("error", reject);
  });
}

/** A flat RESP2 map [k1, v1, k2, v2, ...] as a JS object. */
function toMap(arr) {
  const o = {};
  for (let i = 0; i + 1 < arr.length; i += 2) o[arr[i]] = arr[i + 1];
  return o;
}

// ---------------------------------------------------------------------------------------------
// Conversion

/** Categories Redis adds from flags (setImplicitACLCategories), given the explicit ones. */
function implicitCategories(flags, explicit) {
  const out = new Set(explicit);
  const has = (f) => flags.includes(f);
  if (has("write")) out.add("write");
  if (has("readonly") && !out.has("scripting")) out.add("read");
  if (has("admin")) {
    out.add("admin");
    out.add("dangerous");
  }
  if (has("pubsub")) out.add("pubsub");
  if (has("fast")) out.add("fast");
  if (has("blocking")) out.add("blocking");
  if (!out.has("fast")) out.add("slow");
  return out;
}

/** The categories COMMAND INFO reports minus the ones implied by the flags. */
function explicitCategories(flags, all) {
  const has = (f) => flags.includes(f);
  const drop = new Set();
  if (has("write")) drop.add("write");
  if (has("readonly") && !all.includes("scripting")) drop.add("read");
  if (has("admin")) {
    drop.add("admin");
    drop.add("dangerous");
  }
  if (has("pubsub")) drop.add("pubsub");
  if (has("fast")) drop.add("fast");
  if (has("blocking")) drop.add("blocking");
  if (!all.includes("fast")) drop.add("slow");
  return all.filter((c) => !drop.has(c));
}

function convertKeySpec(raw) {
  const m = toMap(raw);
  const flags = m.flags.map((f) => f.toUpperCase());
  const bs = toMap(m.begin_search);
  const bsSpec = toMap(bs.spec ?? []);
  let begin;
  if (bs.type === "index") begin = { index: bsSpec.index };
  else if (bs.type === "keyword") begin = { keyword: bsSpec.keyword, startfrom: bsSpec.startfrom };
  else if (bs.type === "unknown") begin = { unknown: true };
  else throw new Error(`unknown begin_search type ${bs.type}`);
  const fk = toMap(m.find_keys);
  const fkSpec = toMap(fk.spec ?? []);
  let find;
  if (fk.type === "range") find = { range: { lastkey: fkSpec.lastkey, step: fkSpec.keystep, limit: fkSpec.limit } };
  else if (fk.type === "keynum") find = { keynum: { keynumidx: fkSpec.keynumidx, firstkey: fkSpec.firstkey, step: fkSpec.keystep } };
  else if (fk.type === "unknown") find = { unknown: true };
  else throw new Error(`unknown find_keys type ${fk.type}`);
  // Notes are dropped on purpose.
  return { flags, begin, find };
}

const mismatches = [];

function convert(info, docs) {
  const [name, arity, rawFlags, , , , rawCats, , rawSpecs, rawSubs] = info;
  const flags = rawFlags.map((f) => f.toLowerCase()).filter((f) => f !== "movablekeys");
  const all = rawCats.map((c) => c.replace(/^@/, ""));
  const categories = explicitCategories(flags, all);
  const derived = implicitCategories(flags, categories);
  if (derived.size !== new Set(all).size || all.some((c) => !derived.has(c))) {
    mismatches.push(`${name}: server [${all.join(" ")}] derived [${[...derived].join(" ")}]`);
  }
  const doc = docs ? toMap(docs) : {};
  const spec = {
    name: name.toLowerCase(),
    arity,
    flags,
    categories,
    keySpecs: (rawSpecs ?? []).map(convertKeySpec),
    group: doc.group ?? "",
    since: doc.since ?? "",
  };
  if (rawSubs && rawSubs.length > 0) {
    const subDocs = doc.subcommands ? toMap(doc.subcommands) : {};
    spec.subcommands = rawSubs.map((s) => convert(s, subDocs[s[0]]));
  }
  return spec;
}

// ---------------------------------------------------------------------------------------------
// Redis 7.2 deltas (relative to 7.0.x), checked against Redis 7.2's generated command
// definitions. Only what COMMAND INFO / COMMAND DOCS expose is listed: flags Redis hides from
// COMMAND INFO (may_replicate, sentinel, only_sentinel, protected, touches_arbitrary_keys) are
// not part of the generated table. Running this against a 7.2 server is harmless: additions
// already present are overwritten with the same data and patches are idempotent.

const DELTAS = {
  /** Commands / subcommands that 7.2 added. `parent` set means a subcommand. */
  add: [
    {
      name: "waitaof", arity: 4, flags: ["noscript"], categories: ["connection"], keySpecs: [],
      group: "generic", since: "7.2.0",
    },
    {
      parent: "client",
      name: "client|no-touch", arity: 3, flags: ["noscript", "loading", "stale"], categories: ["connection"],
      keySpecs: [], group: "connection", since: "7.2.0",
    },
    {
      parent: "client",
      name: "client|setinfo", arity: 4, flags: ["noscript", "loading", "stale"], categories: ["connection"],
      keySpecs: [], group: "connection", since: "7.2.0",
    },
    {
      parent: "cluster",
      name: "cluster|myshardid", arity: 2, flags: ["stale"], categories: [], keySpecs: [],
      group: "cluster", since: "7.2.0",
    },
  ],
  /** Field changes on existing commands, by full name. */
  patch: {
    // WITHSCORE option added in 7.2.0.
    zrank: { arity: -3 },
    zrevrank: { arity: -3 },
    // 7.2 dropped NOSCRIPT from WAIT (it no longer blocks inside scripts; WAITAOF keeps it).
    wait: { flags: [] },
    // 7.2 allows CLUSTER SHARDS / CLUSTER SLOTS while loading.
    "cluster|shards": { flags: ["loading", "stale"] },
    "cluster|slots": { flags: ["loading", "stale"] },
  },
};

function applyDeltas(table) {
  const byName = new Map();
  const index = (spec) => {
    byName.set(spec.name, spec);
    for (const s of spec.subcommands ?? []) index(s);
  };
  table.forEach(index);
  for (const add of DELTAS.add) {
    const { parent, ...spec } = add;
    if (byName.has(spec.name)) {
      console.error(`note: ${spec.name} already present on the reference server; keeping the 7.2 definition`);
      const existing = byName.get(spec.name);
      Object.assign(existing, spec);
      continue;
    }
    if (parent) {
      const p = byName.get(parent);
      if (!p) throw new Error(`delta parent ${parent} missing`);
      (p.subcommands ??= []).push(spec);
    } else {
      table.push(spec);
    }
    byName.set(spec.name, spec);
  }
  for (const [name, patch] of Object.entries(DELTAS.patch)) {
    const spec = byName.get(name);
    if (!spec) throw new Error(`delta target ${name} missing`);
    Object.assign(spec, patch);
  }
}

// ---------------------------------------------------------------------------------------------
// Channel specs (aki's own)

const CHANNELS = {
  publish: [{ first: 1, single: true, action: "publish" }],
  spublish: [{ first: 1, single: true, action: "publish" }],
  subscribe: [{ first: 1, action: "subscribe" }],
  ssubscribe: [{ first: 1, action: "subscribe" }],
  psubscribe: [{ first: 1, pattern: true, action: "subscribe" }],
  unsubscribe: [{ first: 1, action: "unsubscribe" }],
  sunsubscribe: [{ first: 1, action: "unsubscribe" }],
  punsubscribe: [{ first: 1, pattern: true, action: "unsubscribe" }],
};

// ---------------------------------------------------------------------------------------------
// Output

const byNameSort = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function sortTable(list) {
  list.sort(byNameSort);
  for (const s of list) if (s.subcommands) sortTable(s.subcommands);
}

/** Compact JS literal: unquoted keys, double-quoted strings. */
function lit(v) {
  if (Array.isArray(v)) return `[${v.map(lit).join(", ")}]`;
  if (v && typeof v === "object") {
    const parts = Object.entries(v).map(([k, x]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${lit(x)}`);
    return parts.length ? `{ ${parts.join(", ")} }` : "{}";
  }
  return JSON.stringify(v);
}

function emit(spec, indent) {
  const order = ["name", "arity", "flags", "categories", "keySpecs", "channels", "group", "since", "complexity"];
  const fields = [];
  for (const k of order) if (spec[k] !== undefined) fields.push(`${k}: ${lit(spec[k])}`);
  if (!spec.subcommands) return `${indent}{ ${fields.join(", ")} },`;
  const subs = spec.subcommands.map((s) => emit(s, indent + "  ")).join("\n");
  return `${indent}{ ${fields.join(", ")}, subcommands: [\n${subs}\n${indent}] },`;
}

const [infoReply, docsReply, serverInfo] = await query([["COMMAND", "INFO"], ["COMMAND", "DOCS"], ["INFO", "server"]]);
if (infoReply instanceof RespError) throw infoReply;
if (docsReply instanceof RespError) throw docsReply;
const version = /redis_version:(\S+)/.exec(serverInfo)?.[1] ?? "unknown";
const docs = toMap(docsReply);
const table = infoReply.filter((e) => e !== null).map((e) => convert(e, docs[e[0]]));

if (mismatches.length) {
  console.error("category derivation mismatches:\n  " + mismatches.join("\n  "));
  process.exit(1);
}

applyDeltas(table);
for (const spec of table) if (CHANNELS[spec.name]) spec.channels = CHANNELS[spec.name];
sortTable(table);

const header = `// Generated by scripts/gen-command-table.mjs from redis-server ${version}'s COMMAND INFO / COMMAND DOCS
// with the Redis 7.2 deltas applied. Do not edit by hand: change the generator and re-run it.
import type { CommandSpec } from "./spec.ts";

export const COMMAND_TABLE: CommandSpec[] = [
`;
const body = table.map((s) => emit(s, "  ")).join("\n");
fs.writeFileSync(outFile, header + body + "\n];\n");

let subs = 0;
for (const s of table) subs += s.subcommands?.length ?? 0;
console.log(`wrote ${path.relative(root, outFile)}: ${table.length} commands, ${subs} subcommands (reference server ${version})`);
