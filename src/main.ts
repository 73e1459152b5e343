/**
 * The composition root and CLI: `aki server [config-file] [--directive value ...]`,
 * `aki check FILE [--fix]`, `aki --version`, `aki --help`.
 *
 * Order at startup: config file, then command-line flags (every directive is a flag, as with
 * redis-server) -> the data file is replayed -> ACL users load (aclfile or `user` lines,
 * all-or-nothing) -> listeners open, one line each. SIGINT/SIGTERM close listeners and clients
 * and flush the journal. Any startup error prints one clear line and exits with status 1.
 *
 * This is the only module in src/ that imports transports/.
 */
import { parseArgs } from "node:util";
import { appendFileSync, fstatSync, readFileSync, writeFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { Config, DIRECTIVES, parseConfigText } from "./config.ts";
import { Server, AKI_VERSION, REDIS_VERSION } from "./server.ts";
import { renameCommand } from "./dispatch.ts";
import { splitArgs } from "./resp/parser.ts";
import { FilePersistence } from "./persist/file.ts";
import { checkFile } from "./persist/check.ts";
import { type FileIo, nodeFileIo } from "./persist/io.ts";
import type { Listener, Transport } from "../transports/types.ts";
import { TlsService } from "../transports/tls.ts";
import * as proc from "../transports/process.ts";
import { acquireDbfileLock } from "../transports/lock.ts";

const HELP = `aki ${AKI_VERSION}: a Redis ${REDIS_VERSION}-compatible server with Redis's ACL model

Usage:
  aki server [config-file] [--directive value ...]   start the server
  aki check FILE [--fix]                             verify a data file (--fix truncates a torn tail)
  aki --version | --help

Common flags (every redis.conf directive is also a flag):
  --port N              RESP port (default 6379; 0 = no TCP)
  --bind ADDR [...]     addresses to listen on (default 127.0.0.1)
  --unixsocket PATH     also listen on a unix socket (--unixsocketperm 700)
  --dbfile PATH         data file (default data.aki in --dir; ":memory:" keeps no file)
  --dir DIR             working directory for the data file (default: current directory)
  --appendfsync always|everysec|no
  --requirepass PASS    password of the default user
  --aclfile PATH        ACL users file (loaded at startup, ACL LOAD / ACL SAVE)
  --auditfile PATH      security audit events as JSON lines (mode 0600, rotated at --audit-max-size)
  --admin-port N        HTTP admin API port (0 = off, the default); --admin-bind ADDR
  --config FILE         read a redis.conf-style file
  --tls-port N          RESP over TLS (--tls-cert-file, --tls-key-file, --tls-ca-cert-file,
                        --tls-auth-clients no|optional|yes; --port 0 serves TLS only)
  --admin-tls yes       serve the admin API over HTTPS with the TLS certificate
  --transport node      use node:net even under Deno or Bun
`;

function detectRuntime(): "node" | "deno" | "bun" {
  if ("Bun" in globalThis) return "bun";
  if ("Deno" in globalThis) return "deno";
  return "node";
}

async function loadTransport(name: string): Promise<Transport> {
  if (name === "bun") return (await import("../transports/bun.ts")).transport;
  if (name === "deno") return (await import("../transports/deno.ts")).transport;
  return (await import("../transports/node.ts")).transport;
}

/**
 * Test hooks of the crash tests (tests/hardening-e-crash.test.ts), inert unless set:
 * - AKI_TEST_FSYNC_LOG=FILE: after every fdatasync of the data file (or of a compaction temp
 *   file) append "<file size> <inode> <unix ms>" to FILE: the length a power loss cannot cut
 *   the file below.
 * - AKI_TEST_CRASH_AT_WRITE=N: the N-th write to the data file (or a compaction temp file)
 *   writes only the first half of its bytes, then the process dies by SIGKILL.
 * Returns the file calls to use (node:fs when neither is set).
 */
function testHookIo(): FileIo {
  const syncLog = proc.env("AKI_TEST_FSYNC_LOG");
  const crashAt = Number(proc.env("AKI_TEST_CRASH_AT_WRITE") ?? 0);
  if (!syncLog && !(crashAt > 0)) return nodeFileIo;
  let writes = 0;
  return {
    writeSync(fd, buf, offset, length, position) {
      if (crashAt > 0 && ++writes === crashAt) {
        const half = Math.floor(length / 2);
        if (half > 0) nodeFileIo.writeSync(fd, buf, offset, half, position);
        proc.killSelf();
      }
      return nodeFileIo.writeSync(fd, buf, offset, length, position);
    },
    fdatasyncSync(fd) {
      nodeFileIo.fdatasyncSync(fd);
      if (syncLog) {
        const st = fstatSync(fd);
        appendFileSync(syncLog, `${st.size} ${st.ino} ${Date.now()}\n`);
      }
    },
    ftruncateSync: (fd, length) => nodeFileIo.ftruncateSync(fd, length),
  };
}

/** The data file's lock, kept referenced for the life of the process (released by exit). */
let dbfileLock: unknown = null;

function fail(msg: string): never {
  proc.stderr(msg);
  return proc.exit(1);
}

/** Read a redis.conf-style file into config; `user` lines are kept for the ACL engine. */
function applyConfigFile(config: Config, file: string): void {
  let text: string;
  try {
    text = readFileSync(file, "latin1");
  } catch (e) {
    fail(`Fatal error, can't open config file '${file}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  config.file = resolve(file);
  let lines;
  try {
    lines = parseConfigText(text, file, splitArgs);
  } catch (e) {
    fail(`*** FATAL CONFIG FILE ERROR *** ${(e as Error).message}`);
  }
  for (const { line, args, text: raw } of lines) {
    const name = args[0].toLowerCase();
    if (name === "user") {
      config.userLines.push({ file, line, text: raw });
      continue;
    }
    if (name === "include") {
      applyConfigFile(config, args[1]);
      continue;
    }
    if (name === "rename-command") {
      const error = args.length === 3 ? renameCommand(args[1], args[2]) : "wrong number of arguments";
      if (error !== null) fail(`*** FATAL CONFIG FILE ERROR *** ${file}:${line}: >>> '${raw}': ${error}`);
      continue;
    }
    if (name === "loadmodule") {
      fail(`*** FATAL CONFIG FILE ERROR *** ${file}:${line}: '${name}' is not supported by aki`);
    }
    try {
      config.setRaw(name, args.slice(1).join(" "));
    } catch (e) {
      fail(`*** FATAL CONFIG FILE ERROR *** ${file}:${line}: >>> '${raw}': ${(e as Error).message}`);
    }
  }
}

/**
 * Listen on every address of a `bind` value, as Redis 7.2 reads it: `*` is every IPv4
 * address, `::*` every IPv6 address, and a leading `-` marks an address as optional. An
 * address that does not exist here (EADDRNOTAVAIL, or no IPv6: EAFNOSUPPORT) is skipped with a
 * warning, as Redis skips it; any other failure stops startup. IPv6 wildcards are bound first:
 * where the system makes "::" dual-stack, the IPv4 wildcard then reports EADDRINUSE and is
 * skipped, since "::" already serves IPv4.
 */
async function listenOnBind(server: Server, bind: string, port: number, listen: (host: string) => Promise<Listener>): Promise<Listener[]> {
  const hosts = bind.split(/\s+/).filter(Boolean).map((a) => {
    const optional = a.startsWith("-");
    const h = optional ? a.slice(1) : a;
    return { shown: h, host: h === "*" ? "0.0.0.0" : h === "::*" ? "::" : h };
  });
  hosts.sort((a, b) => (a.host === "::" ? 0 : 1) - (b.host === "::" ? 0 : 1));
  const out: Listener[] = [];
  for (const { shown, host } of hosts) {
    try {
      out.push(await listen(host));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "";
      const msg = (e as Error).message;
      const dualStack = host === "0.0.0.0" && out.some((l) => l.address.startsWith("[::]")) &&
        (code === "EADDRINUSE" || /EADDRINUSE|in use|Failed to listen/i.test(msg));
      if (dualStack) {
        server.log("notice", `${shown}:${port} is served by the dual-stack [::]:${port} listener`);
        continue;
      }
      const skip = code === "EADDRNOTAVAIL" || code === "EAFNOSUPPORT" || /EADDRNOTAVAIL|EAFNOSUPPORT|not available|Cannot assign requested address|Address family not supported/i.test(msg);
      server.log("warning", `Warning: Could not create server TCP listening socket ${shown}:${port}: ${msg}`);
      if (!skip) throw e;
    }
  }
  if (out.length === 0 && hosts.length > 0) throw new Error(`no address of bind '${bind}' could be used`);
  return out;
}

async function serverMain(args: string[]): Promise<void> {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {
    config: { type: "string" },
    transport: { type: "string" },
    help: { type: "boolean" },
  };
  for (const d of DIRECTIVES) {
    options[d.name] = { type: "string", multiple: true };
    if (d.alias) options[d.alias] = { type: "string", multiple: true };
  }
  options["user"] = { type: "string", multiple: true };
  // As redis-server reads its command line, a word after a flag's value that starts with one
  // '-' (such as the optional address in `--bind 127.0.0.1 -::1`) belongs to that value.
  const joined: string[] = [];
  for (const a of args) {
    const n = joined.length;
    if (/^-[^-]/.test(a) && n >= 2 && joined[n - 2].startsWith("--") && !joined[n - 2].includes("=") && !joined[n - 1].startsWith("-")) {
      joined[n - 1] += " " + a;
    } else joined.push(a);
  }
  args = joined;
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    fail(`aki server: ${(e as Error).message}\nRun 'aki --help' for the flags.`);
  }
  if (parsed.values.help) {
    proc.stdout(HELP);
    return;
  }
  const config = new Config();
  const configFile = (parsed.values.config as string | undefined) ?? parsed.positionals[0];
  if (parsed.positionals.length > 1) fail(`aki server: unexpected argument '${parsed.positionals[1]}'`);
  if (configFile) applyConfigFile(config, configFile);
  for (const [name, value] of Object.entries(parsed.values)) {
    if (name === "config" || name === "transport" || name === "help") continue;
    if (name === "user") {
      for (const v of value as string[]) config.userLines.push({ file: "command line", line: 0, text: `user ${v}` });
      continue;
    }
    // A directive with several values (--bind a b) arrives as several flags or one joined string.
    const v = (value as string[]).join(" ");
    try {
      config.setRaw(name, v);
    } catch (e) {
      fail(`aki server: --${name} ${v}: ${(e as Error).message}`);
    }
  }

  const runtime = detectRuntime();
  const transportName = (parsed.values.transport as string | undefined) ?? runtime;
  if (!["node", "deno", "bun"].includes(transportName)) fail(`aki server: unknown transport '${transportName}' (node, deno or bun)`);
  if (transportName !== "node" && transportName !== runtime) fail(`aki server: the ${transportName} transport needs the ${transportName} runtime`);
  const transport = await loadTransport(transportName);

  // Redis keeps 32 descriptors free for files beyond maxclients; the runtime's own descriptors
  // (open now) come on top. Without this, clients could take the last descriptor and ACL SAVE,
  // the data file or accept itself would fail with EMFILE.
  const clientFdCap = proc.openFileLimit() - proc.openFileCount() - 32;
  if (clientFdCap < 1) fail(`aki: the open-file limit (ulimit -n ${proc.openFileLimit()}) is too low to serve any client; raise it`);
  const server = new Server({
    clientFdCap,
    config,
    runtime,
    pid: proc.pid,
    usage: proc.usage,
    os: proc.osName,
    executable: proc.execPath(),
    exit: (code) => proc.exit(code),
    writeFile: (p, t) => writeFileSync(p, t, "latin1"),
    readFile: (p) => readFileSync(p, "latin1"),
    logger: (l) => proc.stdout(l),
  });

  // The data file.
  const dbfile = config.str("dbfile");
  if (dbfile !== ":memory:") {
    const dir = config.str("dir") || proc.cwd();
    const path = isAbsolute(dbfile) ? dbfile : join(dir, dbfile);
    server.dbfile = path;
    // One server per data file, taken before the file is even opened: a second server must not
    // truncate a tail or remove a compaction temp file under a live one. A kernel object, so
    // kill -9 releases it (transports/lock.ts).
    let lock: Awaited<ReturnType<typeof acquireDbfileLock>>;
    try {
      lock = await acquireDbfileLock(path);
    } catch (e) {
      fail(`aki: cannot lock data file ${path}: ${(e as Error).message}`);
    }
    if (lock === "busy") {
      fail(`aki: data file ${path} is in use by another aki server (it holds the file's lock); stop that server or choose another --dbfile`);
    }
    if (lock !== "unsupported") dbfileLock = lock; // held until the process ends
    if (lock === "unsupported") server.log("warning", `No single-writer lock on ${path}: this platform has no abstract unix sockets`);
    proc.ignoreFileSizeSignal();
    const store = new FilePersistence(path, config.str("appendfsync") as "always" | "everysec" | "no", testHookIo());
    const t0 = performance.now();
    try {
      // Replays with lazy expiry off; keys whose time passed go at the first active expiry.
      server.load(store, (line) => server.log("warning", line));
    } catch (e) {
      const msg = (e as Error).message;
      fail(`aki: cannot load data file: ${msg.startsWith(path) ? msg : `${path}: ${msg}`}`);
    }
    const st = store.stats();
    let keys = 0;
    for (const db of server.keyspace.dbs) keys += db.size;
    server.log(
      "notice",
      `Data file ${path} loaded: ${st.records} records, ${st.fileSize} bytes, ${keys} keys in ${((performance.now() - t0) / 1000).toFixed(3)} seconds`,
    );
  }

  // ACL users.
  const aclError = server.acl.loadAtStartup?.();
  if (aclError) fail(`aki: ${aclError}`);
  // Security features: the ACL LOG kept with the data file, the audit file.
  const securityError = server.security.start();
  if (securityError) fail(`aki: ${securityError}`);

  // Listeners.
  const listeners: Listener[] = [];
  const port = config.num("port");
  const where = `store ${server.dbfile}, ${server.acl.users.size} user${server.acl.users.size === 1 ? "" : "s"}, ${transport.name} transport on ${runtime}`;
  try {
    if (port !== 0) {
      for (const l of await listenOnBind(server, config.str("bind"), port, (h) => transport.listenTcp(server, h, port))) {
        listeners.push(l);
        server.log("notice", `aki ${AKI_VERSION} listening on ${l.address} (${where})`);
      }
    }
    const unix = config.str("unixsocket");
    if (unix) {
      const l = await transport.listenUnix(server, unix, config.num("unixsocketperm"));
      listeners.push(l);
      server.log("notice", `aki ${AKI_VERSION} listening on unix socket ${l.address} (${where})`);
    }
    // TLS (transports/tls.ts): certificate problems stop startup naming the file and the problem.
    const tlsPort = config.num("tls-port");
    let tlsService: TlsService | null = null;
    if (tlsPort !== 0 || config.bool("admin-tls")) {
      try {
        tlsService = new TlsService(server, transport, () => loadTransport("node"));
      } catch (e) {
        fail(`aki: TLS: ${(e as Error).message}`);
      }
    }
    if (tlsService && tlsPort !== 0) {
      const service = tlsService;
      let how = "";
      const bound = await listenOnBind(server, config.str("bind"), tlsPort, async (h) => {
        const r = await service.listen(h, tlsPort);
        how = r.how;
        return r.listener;
      });
      for (const l of bound) {
        listeners.push(l);
        server.log("notice", `aki ${AKI_VERSION} listening on ${l.address} with TLS (${where}; ${how})`);
      }
    }
    const adminPort = config.num("admin-port");
    if (adminPort !== 0) {
      const { createAdminApp } = await import("./admin/app.ts");
      const app = createAdminApp(server);
      const httpLimits = { headersTimeoutMs: config.num("admin-headers-timeout"), requestTimeoutMs: config.num("admin-request-timeout") };
      const l = tlsService && config.bool("admin-tls")
        ? await tlsService.serveHttp(app.fetch, config.str("admin-bind"), adminPort, httpLimits)
        : await transport.serveHttp(app.fetch, config.str("admin-bind"), adminPort, undefined, httpLimits);
      listeners.push(l);
      server.log("notice", `aki admin API listening on ${tlsService && config.bool("admin-tls") ? "https" : "http"}://${l.address}`);
    }
  } catch (e) {
    fail(`aki: could not listen: ${(e as Error).message}`);
  }
  if (listeners.length === 0) fail("aki: nothing to listen on (--port 0, no --tls-port and no --unixsocket)");
  server.onShutdown = async () => {
    await Promise.all(listeners.map((l) => l.close().catch(() => {})));
  };
  server.startCron();

  let stopping = false;
  proc.onSignals(["SIGINT", "SIGTERM"], (sig) => {
    if (stopping) return;
    stopping = true;
    server.log("warning", `Received ${sig}, shutting down`);
    void server.shutdown().then(() => {
      server.log("warning", "aki is now ready to exit, bye bye...");
      proc.exit(0);
    });
  });
}

/**
 * `aki check FILE [--fix]`. Checking alone only reads, so it may look at a file a server is
 * using. --fix may truncate the file, so it first takes the file's single-writer lock, as a
 * server does: while a server holds it, --fix refuses (exit 1) and leaves the file alone.
 */
async function checkMain(args: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { fix: { type: "boolean" } }, allowPositionals: true, strict: true });
  } catch (e) {
    fail(`aki check: ${(e as Error).message}`);
  }
  const file = parsed.positionals[0];
  if (!file) fail("usage: aki check FILE [--fix]");
  const fix = !!parsed.values.fix;
  let lock: Awaited<ReturnType<typeof acquireDbfileLock>> | null = null;
  if (fix) {
    try {
      lock = await acquireDbfileLock(file);
    } catch (e) {
      fail(`aki check: cannot lock data file ${file}: ${(e as Error).message}`);
    }
    if (lock === "busy") {
      fail(`aki check: data file ${file} is in use by an aki server (it holds the file's lock); stop the server before --fix`);
    }
  }
  const r = checkFile(file, fix);
  if (lock !== null && lock !== "unsupported") lock.release();
  proc.stdout(r.message);
  proc.exit(r.ok ? 0 : 1);
}

export async function main(args: string[]): Promise<void> {
  const [cmd, ...rest] = args;
  if (cmd === "--version" || cmd === "-v" || cmd === "version") {
    proc.stdout(`aki ${AKI_VERSION} (redis ${REDIS_VERSION} compatible)`);
    return;
  }
  if (cmd === undefined || cmd === "--help" || cmd === "-h" || cmd === "help") {
    proc.stdout(HELP);
    return;
  }
  if (cmd === "server") return serverMain(rest);
  if (cmd === "check") return checkMain(rest);
  fail(`aki: unknown command '${cmd}'\nRun 'aki --help' for usage.`);
}

await main(proc.argv());
