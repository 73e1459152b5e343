#!/usr/bin/env node
// Seeded RESP fuzzer (plain Node ESM, no dependencies).
//
//   npm run fuzz -- --seconds 60 --seed 1 [--runtime bun|deno|node]
//   node scripts/fuzz.mjs --port 6379 [--pid PID] [--user U] --password P [--cases N]
//
// Without --port it starts aki itself under --runtime (default bun; node runs dist/aki.mjs,
// built with `npm run build` first when missing) with an in-memory store and an aclfile whose
// default user needs a password, so authenticated and unauthenticated paths are both fuzzed.
// With --port it targets a running server; the control connection authenticates with
// --user/--password (default user when --user is absent) and must be allowed ACL SETUSER to
// create the restricted "fuzz" user the cases run as (otherwise cases run as the control user,
// and admin commands are never generated).
//
// Each case is one connection: an optional AUTH / HELLO prefix, then grammar-aware frames
// (multibulk and inline encodings of random commands taken from COMMAND, with random keys,
// numbers, glob patterns and ACL rules) mutated at the byte level (truncations, huge or
// malformed lengths, nested garbage, flipped and inserted bytes, duplicated frames) or raw
// random bytes. The PRNG (mulberry32) is seeded by --seed, so the same seed gives the same
// cases. A control connection must answer PING within 5 s throughout, the server must not
// exit, and its RSS (sampled every second from /proc/PID/status) must not keep growing: the
// run fails when the median RSS of the last quarter is both more than 1.5x the first quarter's
// and more than 100 MB above it. Prints one summary line; exit 1 on failure.
import net from "node:net";
import { existsSync } from "node:fs";
import { Conn, enc, median, parseOptions, prng, rssOf, startAki, usageFor } from "./lib.mjs";

const usage = usageFor("fuzz", "usage: node scripts/fuzz.mjs [--seconds N] [--seed S] [--runtime bun|deno|node] [--cases N] [--concurrency N]\n" +
  "                          [--port P [--pid PID] [--user U] [--password P]] [--verbose]");

function parseArgs(argv) {
  const o = parseOptions(argv, { seconds: 60, seed: 1, runtime: "bun", port: 0, pid: 0, user: "", password: "", cases: 0, concurrency: 32, verbose: false }, {
    "--seconds": (o, v) => (o.seconds = Number(v)),
    "--seed": (o, v) => (o.seed = Number(v)),
    "--runtime": (o, v) => (o.runtime = v),
    "--port": (o, v) => (o.port = Number(v)),
    "--pid": (o, v) => (o.pid = Number(v)),
    "--user": (o, v) => (o.user = v),
    "--password": (o, v) => (o.password = v),
    "--cases": (o, v) => (o.cases = Number(v)),
    "--concurrency": (o, v) => (o.concurrency = Number(v)),
    "--verbose": (o) => (o.verbose = true),
  }, usage);
  if (!Number.isFinite(o.seed) || !Number.isFinite(o.seconds)) usage("bad number");
  return o;
}

const opts = parseArgs(process.argv.slice(2));

// ---- PRNG ------------------------------------------------------------------------------------

const rnd = prng(opts.seed);
const int = (n) => Math.floor(rnd() * n);
const pick = (arr) => arr[int(arr.length)];
const chance = (p) => rnd() < p;

// ---- RESP helpers ----------------------------------------------------------------------------

function parseValue(buf, pos) {
  const nl = buf.indexOf("\r\n", pos);
  const t = String.fromCharCode(buf[pos]);
  const head = buf.toString("latin1", pos + 1, nl);
  let p = nl + 2;
  if (t === "$") {
    const n = Number(head);
    if (n < 0) return [null, p];
    return [buf.toString("latin1", p, p + n), p + n + 2];
  }
  if (t === "*" || t === "~" || t === ">") {
    const n = Number(head);
    const out = [];
    for (let i = 0; i < n; i++) {
      const [v, q] = parseValue(buf, p);
      out.push(v);
      p = q;
    }
    return [out, p];
  }
  if (t === "%") {
    const n = Number(head);
    const out = [];
    for (let i = 0; i < 2 * n; i++) {
      const [v, q] = parseValue(buf, p);
      out.push(v);
      p = q;
    }
    return [out, p];
  }
  if (t === ":") return [Number(head), p];
  return [head, p];
}

// ---- the server --------------------------------------------------------------------------------

/** The server this run started (null with --port). */
let server = null;

const FIXTURE = [
  "user default on >defpw ~* &* +@all",
  "user admin on >adminpw ~* &* +@all",
  "user app on >apppw ~app:* +@read +@write",
  "user ro on >ropw ~* +@read",
];

function rssBytes() {
  if (!opts.pid) return NaN;
  return rssOf(opts.pid);
}

function alive() {
  if (server) return server.alive();
  if (!opts.pid) return true;
  return existsSync(`/proc/${opts.pid}`);
}

// ---- case generation ---------------------------------------------------------------------------

const FUZZ_USER = "fuzz";
const FUZZ_PASS = "fuzzpw";
const FUZZ_RULES = ["reset", "on", `>${FUZZ_PASS}`, "~*", "&*", "+@all", "-@admin", "-@dangerous", "+keys", "+sort", "+sort_ro",
  "+acl|setuser", "+acl|deluser", "+acl|getuser", "+acl|dryrun", "+acl|list", "+acl|users", "+acl|log", "+acl|whoami", "+acl|cat",
  "+client|id", "+client|info", "+client|setname", "+client|getname", "+client|reply", "+client|no-evict", "+client|no-touch",
  "-flushall", "-flushdb", "-swapdb", "-migrate", "-restore", "-select"];
// Names the generated ACL SETUSER / DELUSER may use (never default, admin or fuzz).
const ACL_NAMES = ["f0", "f1", "f2", "f3", "f4", "u", "v", "w", "sel", "x y", "n\x00ul", ""];

let commands = []; // { name, arity, subs: [{ name, arity }] }
const NEVER = new Set(["shutdown", "debug", "monitor", "sync", "psync", "replicaof", "slaveof", "failover", "save", "bgsave",
  "bgrewriteaof", "flushall", "flushdb", "config", "acl", "client", "quit", "module", "script", "function", "cluster",
  "select", "swapdb", "move", "migrate", "restore", "wait", "waitaof", "latency", "memory", "slowlog", "lastsave", "reset"]);

function loadCommands(reply) {
  const [list] = parseValue(reply, 0);
  for (const c of list) {
    if (!Array.isArray(c)) continue;
    const name = String(c[0]).toLowerCase();
    const subs = Array.isArray(c[9]) ? c[9].filter(Array.isArray).map((s) => ({ name: String(s[0]).toLowerCase().split("|")[1] ?? "", arity: s[1] })) : [];
    commands.push({ name, arity: c[1], subs });
  }
  commands.sort((a, b) => (a.name < b.name ? -1 : 1));
}

const KEYS = ["k", "k1", "k2", "app:1", "app:2", "list", "set", "zset", "hash", "str", "{t}a", "{t}b", "", "a\r\nb", "\x00", "zz"];
const TOKENS = ["EX", "PX", "EXAT", "PXAT", "NX", "XX", "GT", "LT", "CH", "INCR", "GET", "KEEPTTL", "WITHSCORES", "WITHSCORE", "LIMIT",
  "COUNT", "MATCH", "TYPE", "STORE", "BY", "ASC", "DESC", "ALPHA", "LEFT", "RIGHT", "BEFORE", "AFTER", "REV", "BYSCORE", "BYLEX",
  "AGGREGATE", "SUM", "MIN", "MAX", "WEIGHTS", "RANK", "MAXLEN", "IDLE", "LEN", "IDX", "MINMATCHLEN", "WITHMATCHLEN", "FIELDS",
  "ENCODING", "FREQ", "IDLETIME", "REFCOUNT", "OVERFLOW", "WRAP", "SAT", "FAIL", "u8", "i16", "#1", "BIT", "BYTE", "AND", "OR",
  "XOR", "NOT", "NOVALUES", "REPLACE", "DB", "ABSTTL", "PERSIST", "FLUSH", "SYNC", "ASYNC", "WITHVALUES", "REPLY", "ON", "OFF", "SKIP"];
const NUMBERS = ["0", "1", "2", "3", "-1", "-2", "10", "100", "1000", "-100", "0.5", "1.5", "-0", "+1", "1e3", "inf", "-inf", "+inf",
  "nan", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "18446744073709551616", "99999999999999999999999",
  "0x10", " 1", "1 ", "", "(1", "[a", "-", "+", "1.7976931348623157e308", "4.9e-324", "01"];
const GLOBS = ["*", "k*", "*1", "?", "[a-z]*", "[^a]", "\\*", "[", "[^", "[a-", "[z-a]", "[]]", "\\", "[\\]]", "?*", "**",
  "a*".repeat(30) + "b", "*?".repeat(1200), "*[" + "abcdefgh".repeat(200) + "]x", "*" + "a".repeat(200) + "b"];
const ACL_RULES = ["on", "off", ">pw", "<pw", "#" + "a".repeat(64), "#abc", "nopass", "resetpass", "~*", "~k*", "%R~*", "%W~app:*",
  "%RW~x", "%~foo", "%X~foo", "%", "&*", "&ch*", "allkeys", "allchannels", "resetkeys", "resetchannels", "+@all", "-@all", "+get",
  "-set", "+@read", "+@nosuch", "+nosuchcmd", "+client|id", "-config|get", "+config|nosuch", "(+get ~k*)", "(", ")", "(~x",
  "clearselectors", "reset", "sanitize-payload", "skip-sanitize-payload", "~" + "*?".repeat(600), "&" + "a*".repeat(40) + "b",
  "+select|0", "-@dangerous", ">" + "p".repeat(2000)];

function randomBytes(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = int(256);
  return b;
}

function randomArg() {
  const r = rnd();
  if (r < 0.25) return pick(KEYS);
  if (r < 0.45) return pick(NUMBERS);
  if (r < 0.6) return pick(TOKENS);
  if (r < 0.68) return pick(GLOBS);
  if (r < 0.75) return pick(ACL_RULES);
  if (r < 0.9) return "v" + int(1000);
  if (r < 0.97) return randomBytes(int(40)).toString("latin1");
  return "x".repeat(int(70000));
}

function randomCommand() {
  const r = rnd();
  if (r < 0.12) {
    // ACL rule parsing, patterns and dry runs.
    const sub = pick(["SETUSER", "SETUSER", "SETUSER", "DRYRUN", "GETUSER", "DELUSER", "LIST", "LOG", "WHOAMI", "CAT", "USERS"]);
    if (sub === "SETUSER") {
      const argv = ["ACL", "SETUSER", pick(ACL_NAMES)];
      for (let i = int(6); i > 0; i--) argv.push(pick(ACL_RULES));
      return argv;
    }
    if (sub === "DRYRUN") return ["ACL", "DRYRUN", pick([...ACL_NAMES, "app", "ro"]), ...(chance(0.5) ? randomCommand() : [pick(["get", "set", "keys"]), pick(KEYS)])];
    if (sub === "GETUSER" || sub === "DELUSER") return ["ACL", sub, pick(ACL_NAMES)];
    if (sub === "LOG") return ["ACL", "LOG", ...(chance(0.3) ? [pick(["RESET", "2", "-1", "x"])] : [])];
    return ["ACL", sub];
  }
  if (r < 0.2) {
    // Glob entry points.
    const g = pick(GLOBS);
    return pick([["KEYS", g], ["SCAN", "0", "MATCH", g, "COUNT", "100"], ["PSUBSCRIBE", g], ["PUBLISH", "a".repeat(int(3000)), "m"],
      ["HSCAN", "hash", "0", "MATCH", g], ["SSCAN", "set", "0", "MATCH", g], ["ZSCAN", "zset", "0", "MATCH", g], ["PUBSUB", "CHANNELS", g]]);
  }
  if (commands.length === 0) return ["PING"];
  let c = pick(commands);
  for (let tries = 0; NEVER.has(c.name) && tries < 10; tries++) c = pick(commands);
  if (NEVER.has(c.name)) return ["PING"];
  const argv = [chance(0.5) ? c.name.toUpperCase() : c.name];
  let arity = c.arity;
  if (c.subs.length > 0) {
    const s = pick(c.subs);
    argv.push(s.name);
    arity = s.arity;
  }
  const min = Math.abs(arity);
  let n = arity > 0 ? arity : min + int(5);
  if (chance(0.1)) n += pick([-1, 1, 2]);
  while (argv.length < n) argv.push(randomArg());
  return argv;
}

function inline(argv) {
  return Buffer.from(argv.map((a) => (chance(0.8) && !/[\s"'\\]/.test(a) && a !== "" ? a : JSON.stringify(a))).join(" ") + (chance(0.8) ? "\r\n" : "\n"), "latin1");
}

function mutate(frame) {
  const b = Buffer.from(frame);
  const r = rnd();
  if (r < 0.2) return b.subarray(0, int(b.length + 1)); // truncation
  if (r < 0.35) {
    // flip / overwrite bytes
    for (let i = 1 + int(4); i > 0 && b.length; i--) b[int(b.length)] = pick([0, 10, 13, 36, 42, 45, int(256)]);
    return b;
  }
  if (r < 0.5) {
    // rewrite a length header
    const s = b.toString("latin1");
    const heads = [...s.matchAll(/[*$](-?\d+)\r\n/g)];
    if (heads.length === 0) return b;
    const h = pick(heads);
    const repl = pick(["-1", "-10", "0", "2147483647", "2147483648", "536870912", "536870913", "99999999999", "abc", "", "+5", "1.5",
      "1".repeat(70000), String(Number(h[1]) + 1), String(Math.max(0, Number(h[1]) - 1)), "16385", "11"]);
    return Buffer.from(s.slice(0, h.index + 1) + repl + s.slice(h.index + 1 + h[1].length), "latin1");
  }
  if (r < 0.6) {
    // nested garbage: arrays where bulks belong, RESP3 types as requests
    return Buffer.concat([Buffer.from(pick(["*2\r\n*1\r\n$1\r\na\r\n$1\r\nb\r\n", "*1\r\n:1\r\n", "%1\r\n$1\r\na\r\n$1\r\nb\r\n", "*1\r\n*", "$3\r\nGET\r\n", "*3\r\n$3\r\nSET\r\n+k\r\n-v\r\n", ">1\r\n$4\r\nPING\r\n", "_\r\n", "#t\r\n"]), "latin1"), b]);
  }
  if (r < 0.7) {
    // insert random bytes
    const at = int(b.length + 1);
    return Buffer.concat([b.subarray(0, at), randomBytes(1 + int(16)), b.subarray(at)]);
  }
  if (r < 0.8) return Buffer.concat([b, b, b.subarray(0, int(b.length))]); // duplicate, the last copy cut
  if (r < 0.9) return Buffer.concat([b.subarray(0, int(b.length)), Buffer.from(pick(["\x00", "*\x00", "$\x00"]), "latin1"), Buffer.alloc(int(70000), "A")]);
  // a huge declared bulk, partly sent
  return Buffer.concat([Buffer.from(`*2\r\n$3\r\nSET\r\n$${pick(["536870912", "100000000", "16385", "1048577"])}\r\n`), Buffer.alloc(int(20000), "z")]);
}

function makeCase() {
  const parts = [];
  const r = rnd();
  if (r < 0.7) parts.push(enc(["AUTH", FUZZ_USER, FUZZ_PASS]));
  else if (r < 0.75) parts.push(enc(["HELLO", "3", "AUTH", FUZZ_USER, FUZZ_PASS]));
  else if (r < 0.78) parts.push(Buffer.from(`AUTH ${FUZZ_USER} ${FUZZ_PASS}\r\n`));
  else if (r < 0.8) parts.push(enc(["AUTH", FUZZ_USER, "wrong"]));
  // else: unauthenticated
  if (chance(0.08)) {
    parts.push(randomBytes(int(2000)));
    return Buffer.concat(parts);
  }
  const frames = 1 + int(4);
  for (let i = 0; i < frames; i++) {
    const argv = randomCommand();
    let f = chance(0.85) ? enc(argv) : inline(argv);
    if (chance(0.45)) f = mutate(f);
    parts.push(f);
  }
  if (chance(0.3)) parts.push(enc(["PING"]));
  return Buffer.concat(parts);
}

// ---- running cases -----------------------------------------------------------------------------

const stats = { cases: 0, connections: 0, errors: 0, protocolErrors: 0, closedByServer: 0, connectFailures: 0, bytesSent: 0 };

/** Run one case on its own connection: send, read until the server is quiet or closes. */
function runCase(data) {
  return new Promise((resolve) => {
    stats.connections++;
    const s = net.connect({ port: opts.port, host: "127.0.0.1" });
    let got = "";
    let settled = false;
    let quiet;
    const finish = (closedByServer) => {
      if (settled) return;
      settled = true;
      clearTimeout(quiet);
      clearTimeout(hard);
      if (closedByServer) stats.closedByServer++;
      if (/(^|\r\n)-/.test(got)) stats.errors++;
      if (got.includes("-ERR Protocol error")) stats.protocolErrors++;
      s.destroy();
      resolve();
    };
    const hard = setTimeout(() => finish(false), 1500);
    const arm = () => {
      clearTimeout(quiet);
      quiet = setTimeout(() => finish(false), 50);
    };
    s.on("connect", () => {
      // Send in a few pieces, so partial frames are parsed across reads.
      const cuts = chance(0.3) ? [int(data.length + 1)] : [];
      let prev = 0;
      for (const at of [...cuts, data.length]) {
        s.write(data.subarray(prev, at));
        prev = at;
      }
      stats.bytesSent += data.length;
      arm();
    });
    s.on("data", (d) => {
      if (got.length < 65536) got += d.toString("latin1", 0, Math.min(d.length, 65536));
      arm();
    });
    s.on("error", (e) => {
      if (e.code === "ECONNREFUSED") stats.connectFailures++;
    });
    s.on("close", () => finish(true));
  });
}

// ---- main --------------------------------------------------------------------------------------

const mb = (b) => (Number.isNaN(b) ? "n/a" : (b / 1048576).toFixed(1) + "MB");

async function main() {
  if (!opts.port) {
    server = await startAki({ runtime: opts.runtime, tmpPrefix: "aki-fuzz-", aclLines: FIXTURE });
    opts.port = server.port;
    opts.pid = server.pid;
    opts.user = "";
    opts.password = "defpw";
  }
  let failure = null;
  const control = await Conn.open(opts.port, 5000);
  const authArgs = opts.user ? ["AUTH", opts.user, opts.password] : opts.password ? ["AUTH", opts.password] : null;
  if (authArgs) {
    const r = await control.call(authArgs);
    if (r !== "+OK\r\n") throw new Error(`control AUTH failed: ${r.trim()}`);
  }
  loadCommands(Buffer.from(await control.call(["COMMAND"], 20000), "latin1"));
  // The restricted user the cases run as; if we may not create it, cases use our credentials.
  const setupFuzzUser = async () => (await control.call(["ACL", "SETUSER", FUZZ_USER, ...FUZZ_RULES])) === "+OK\r\n";
  if (!(await setupFuzzUser())) {
    console.error("fuzz: cannot create the fuzz user; cases run with the control credentials");
  }
  const samples = [];
  let controlMax = 0;
  const t0 = Date.now();
  const deadline = t0 + opts.seconds * 1000;
  const done = () => (opts.cases > 0 ? stats.cases >= opts.cases : Date.now() >= deadline);

  // Control: PING within 5 s, always; RSS once a second; housekeeping keeps data bounded.
  let controlBusy = false;
  const sampler = setInterval(() => {
    samples.push(rssBytes());
  }, 1000);
  const watchdog = setInterval(async () => {
    if (failure || controlBusy) return;
    if (!alive()) {
      failure = "crash: the server process exited";
      return;
    }
    controlBusy = true;
    const p0 = Date.now();
    try {
      const r = await control.call(["PING"], 5000);
      if (r !== "+PONG\r\n") failure = `control PING answered ${JSON.stringify(r)}`;
    } catch (e) {
      failure = alive() ? `hang: control PING: ${e.message}` : "crash: the server process exited";
    }
    controlMax = Math.max(controlMax, Date.now() - p0);
    controlBusy = false;
  }, 250);

  samples.push(rssBytes());
  let sinceHousekeeping = 0;
  while (!done() && !failure) {
    const batch = [];
    for (let i = 0; i < opts.concurrency; i++) {
      const data = makeCase();
      stats.cases++;
      batch.push(runCase(data));
      if (opts.cases > 0 && stats.cases >= opts.cases) break;
    }
    await Promise.all(batch);
    sinceHousekeeping += batch.length;
    if (sinceHousekeeping >= 400 && !failure) {
      sinceHousekeeping = 0;
      while (controlBusy) await new Promise((r) => setTimeout(r, 5));
      controlBusy = true;
      try {
        // Keep the data and the user list bounded, and the fuzz user usable.
        for (let db = 0; db < 16; db++) await control.call(["SELECT", String(db)]).then(() => control.call(["FLUSHDB"]));
        await control.call(["SELECT", "0"]);
        const [users] = parseValue(Buffer.from(await control.call(["ACL", "USERS"]), "latin1"), 0);
        const extra = users.filter((u) => !["default", "admin", "app", "ro", FUZZ_USER].includes(u));
        if (extra.length) await control.call(["ACL", "DELUSER", ...extra]);
        await setupFuzzUser();
        await control.call(["ACL", "LOG", "RESET"]);
      } catch (e) {
        if (!failure) failure = alive() ? `hang: control housekeeping: ${e.message}` : "crash: the server process exited";
      }
      controlBusy = false;
    }
    if (stats.connectFailures > 0 && !alive()) failure = "crash: the server process exited";
  }
  clearInterval(watchdog);
  clearInterval(sampler);
  // One last check.
  if (!failure) {
    try {
      const p0 = Date.now();
      const r = await control.call(["PING"], 5000);
      controlMax = Math.max(controlMax, Date.now() - p0);
      if (r !== "+PONG\r\n") failure = `control PING answered ${JSON.stringify(r)}`;
    } catch (e) {
      failure = alive() ? `hang: control PING: ${e.message}` : "crash: the server process exited";
    }
  }
  samples.push(rssBytes());
  const valid = samples.filter((x) => !Number.isNaN(x));
  if (!failure && valid.length >= 8) {
    const q = Math.floor(valid.length / 4);
    const first = median(valid.slice(0, q));
    const last = median(valid.slice(valid.length - q));
    if (last > first * 1.5 && last - first > 100 * 1048576) failure = `memory keeps growing: median RSS ${mb(first)} -> ${mb(last)}`;
  }
  control.close();
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  const runtime = server ? opts.runtime : "external";
  console.log(
    `fuzz: seed=${opts.seed} runtime=${runtime} seconds=${seconds} cases=${stats.cases} connections=${stats.connections} ` +
      `errors=${stats.errors} protocol-errors=${stats.protocolErrors} closed-by-server=${stats.closedByServer} ` +
      `rss-start=${mb(valid[0])} rss-end=${mb(valid[valid.length - 1])} rss-max=${mb(Math.max(...valid))} control-max=${controlMax}ms ` +
      `verdict: ${failure ? "FAIL (" + failure + ")" : "ok"}`,
  );
  if (opts.verbose) console.log(`rss samples (MB): ${valid.map((x) => Math.round(x / 1048576)).join(" ")}`);
  if (failure && server && opts.verbose) console.log(server.log().slice(-4000));
  return failure ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  console.log(`fuzz: error: ${e.message}\nverdict: FAIL`);
  code = 1;
} finally {
  if (server) await server.stop();
}
process.exit(code);
