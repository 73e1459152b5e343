/**
 * Server commands: INFO, CONFIG *, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME, LASTSAVE, SAVE,
 * BGSAVE, BGREWRITEAOF, SHUTDOWN, FUNCTION FLUSH, DEBUG (refused like Redis's default).
 */
import { ErrorReply, MapReply, OK, Simple, Verbatim, type Reply } from "../resp/reply.ts";
import type { Handler } from "./table.ts";
import type { Client } from "../client.ts";
import { E_DB_RANGE, E_SYNTAX, is, parseInt64 } from "./util.ts";
import { globMatch } from "../acl/glob.ts";
import { AKI_VERSION, REDIS_VERSION, type Server } from "../server.ts";
import { ALL_COMMANDS } from "./table.ts";

function human(n: number): string {
  if (n < 1024) return `${n}B`;
  const units = ["K", "M", "G", "T"];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(2)}${units[i]}`;
}

function flushArgs(argv: string[]): ErrorReply | null {
  if (argv.length > 2) return E_SYNTAX;
  if (argv.length === 2 && !is(argv[1], "async") && !is(argv[1], "sync")) return E_SYNTAX;
  return null;
}

function section(title: string, fields: [string, string | number][]): string {
  return `# ${title}\r\n` + fields.map(([k, v]) => `${k}:${v}\r\n`).join("");
}

const DEFAULT_SECTIONS = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "errorstats", "cluster", "keyspace"];
const ALL_SECTIONS = [...DEFAULT_SECTIONS.slice(0, 8), "commandstats", "errorstats", "cluster", "keyspace"];

/** Build INFO text for the requested sections (Redis's names and field names). */
export function infoText(s: Server, args: string[]): string {
  let wanted: string[];
  const lower = args.map((a) => a.toLowerCase());
  if (lower.length === 0 || lower.includes("default")) wanted = DEFAULT_SECTIONS;
  else if (lower.includes("all") || lower.includes("everything")) wanted = ALL_SECTIONS;
  else wanted = lower;
  const now = Date.now();
  const up = Math.floor((now - s.startTime) / 1000);
  const u = s.usage();
  const ps = s.persist?.stats();
  const parts: string[] = [];
  for (const name of wanted) {
    switch (name) {
      case "server":
        parts.push(section("Server", [
          ["redis_version", REDIS_VERSION], ["redis_git_sha1", "00000000"], ["redis_git_dirty", 0],
          ["redis_build_id", "0"], ["redis_mode", "standalone"], ["os", s.os], ["arch_bits", 64],
          ["monotonic_clock", "POSIX clock_gettime"], ["multiplexing_api", "epoll"], ["atomicvar_api", "c11-builtin"],
          ["gcc_version", "0.0.0"], ["process_id", s.pid], ["process_supervised", "no"], ["run_id", s.runId],
          ["tcp_port", s.config.num("port")], ["server_time_usec", now * 1000], ["uptime_in_seconds", up],
          ["uptime_in_days", Math.floor(up / 86400)], ["hz", s.config.num("hz")], ["configured_hz", s.config.num("hz")],
          ["lru_clock", Math.floor(now / 1000) & 0xffffff], ["executable", s.executable], ["config_file", s.config.file],
          ["io_threads_active", 0], ["aki_version", AKI_VERSION], ["aki_runtime", s.runtime],
        ]));
        break;
      case "clients": {
        let maxIn = 0;
        let maxOut = 0;
        for (const c of s.clients.values()) {
          maxIn = Math.max(maxIn, c.queryBuffered);
          maxOut = Math.max(maxOut, c.outputBuffered);
        }
        parts.push(section("Clients", [
          ["connected_clients", s.clients.size], ["cluster_connections", 0], ["maxclients", s.config.num("maxclients")],
          ["client_recent_max_input_buffer", maxIn], ["client_recent_max_output_buffer", maxOut],
          ["blocked_clients", s.blockedClients], ["tracking_clients", 0],
          ["clients_in_timeout_table", s.blockedClients], ["total_blocking_keys", s.blockingKeys], ["total_blocking_keys_on_nokey", 0],
        ]));
        break;
      }
      case "memory":
        parts.push(section("Memory", [
          ["used_memory", u.heap], ["used_memory_human", human(u.heap)], ["used_memory_rss", u.rss],
          ["used_memory_rss_human", human(u.rss)], ["used_memory_peak", s.peakMemory(u.heap)], ["used_memory_peak_human", human(s.peakMemory(u.heap))],
          ["used_memory_startup", 0], ["used_memory_dataset", u.heap], ["total_system_memory", u.total], ["total_system_memory_human", human(u.total)],
          ["maxmemory", s.config.num("maxmemory")], ["maxmemory_human", human(s.config.num("maxmemory"))],
          ["maxmemory_policy", s.config.str("maxmemory-policy")], ["mem_fragmentation_ratio", u.heap > 0 ? (u.rss / u.heap).toFixed(2) : "0.00"],
          ["mem_allocator", s.runtime], ["lazyfree_pending_objects", 0],
        ]));
        break;
      case "persistence":
        parts.push(section("Persistence", [
          ["loading", 0], ["async_loading", 0], ["current_cow_peak", 0], ["current_cow_size", 0], ["current_fork_perc", "0.00"],
          ["current_save_keys_processed", 0], ["current_save_keys_total", 0], ["rdb_changes_since_last_save", s.dirty - s.dirtyAtSave],
          ["rdb_bgsave_in_progress", s.compactionInProgress ? 1 : 0], ["rdb_last_save_time", s.lastSave], ["rdb_last_bgsave_status", ps?.lastRewriteOk === false ? "err" : "ok"],
          ["rdb_last_bgsave_time_sec", s.lastCompactSeconds], ["rdb_current_bgsave_time_sec", s.compactSeconds], ["rdb_saves", s.saves],
          ["aof_enabled", ps?.enabled ? 1 : 0], ["aof_rewrite_in_progress", s.compactionInProgress ? 1 : 0],
          ["aof_rewrite_scheduled", 0], ["aof_last_rewrite_time_sec", s.lastCompactSeconds], ["aof_current_rewrite_time_sec", s.compactSeconds],
          ["aof_last_bgrewrite_status", ps?.lastRewriteOk === false ? "err" : "ok"], ["aof_rewrites", s.saves],
          ["aof_last_write_status", ps?.lastWriteOk === false ? "err" : "ok"], ["aof_last_cow_size", 0],
          ["aof_current_size", ps?.fileSize ?? 0], ["aof_base_size", ps?.baseSize ?? 0],
          ["aki_dbfile", s.dbfile], ["aki_appendfsync", s.config.str("appendfsync")],
          ["aki_last_compaction_pause_ms", s.lastCompactPauseMs.toFixed(3)], ["aki_fsyncs", ps?.fsyncs ?? 0],
        ]));
        break;
      case "stats":
        parts.push(section("Stats", [
          ["total_connections_received", s.stats.connectionsReceived], ["total_commands_processed", s.stats.commandsProcessed],
          ["instantaneous_ops_per_sec", s.opsPerSec()], ["total_net_input_bytes", s.stats.netInputBytes], ["total_net_output_bytes", s.stats.netOutputBytes],
          ["total_net_repl_input_bytes", 0], ["total_net_repl_output_bytes", 0],
          ["instantaneous_input_kbps", "0.00"], ["instantaneous_output_kbps", "0.00"],
          ["rejected_connections", s.stats.rejectedConnections], ["sync_full", 0], ["sync_partial_ok", 0], ["sync_partial_err", 0],
          ["expired_keys", s.stats.expiredKeys], ["expired_stale_perc", "0.00"], ["expired_time_cap_reached_count", 0],
          ["evicted_keys", 0], ["evicted_clients", 0], ["total_eviction_exceeded_time", 0],
          ["keyspace_hits", s.stats.keyspaceHits], ["keyspace_misses", s.stats.keyspaceMisses],
          ["pubsub_channels", s.pubsub.channels.size], ["pubsub_patterns", s.pubsub.patterns.size], ["pubsubshard_channels", s.pubsub.shardChannels.size],
          ["latest_fork_usec", 0], ["total_forks", 0], ["migrate_cached_sockets", 0],
          ["total_active_defrag_time", 0], ["tracking_total_keys", 0], ["tracking_total_items", 0], ["tracking_total_prefixes", 0],
          ["unexpected_error_replies", 0], ["total_error_replies", s.stats.totalErrorReplies], ["dump_payload_sanitizations", 0],
          ["total_reads_processed", s.stats.commandsProcessed], ["total_writes_processed", s.stats.commandsProcessed],
          ["io_threaded_reads_processed", 0], ["io_threaded_writes_processed", 0],
          ["client_query_buffer_limit_disconnections", s.stats.clientQueryBufferLimitDisconnections],
          ["client_output_buffer_limit_disconnections", s.stats.clientOutputBufferLimitDisconnections],
          ["aki_auth_timeout_disconnections", s.stats.authTimeoutDisconnections],
          ["reply_buffer_shrinks", 0], ["reply_buffer_expands", 0],
          ["acl_access_denied_auth", s.stats.aclAccessDeniedAuth], ["acl_access_denied_cmd", s.stats.aclAccessDeniedCmd],
          ["acl_access_denied_key", s.stats.aclAccessDeniedKey], ["acl_access_denied_channel", s.stats.aclAccessDeniedChannel],
          ...s.extraStats(),
        ]));
        break;
      case "replication":
        parts.push(section("Replication", [
          ["role", "master"], ["connected_slaves", 0], ["master_failover_state", "no-failover"], ["master_replid", s.runId],
          ["master_replid2", "0000000000000000000000000000000000000000"], ["master_repl_offset", 0], ["second_repl_offset", -1],
          ["repl_backlog_active", 0], ["repl_backlog_size", 1048576], ["repl_backlog_first_byte_offset", 0], ["repl_backlog_histlen", 0],
        ]));
        break;
      case "cpu":
        parts.push(section("CPU", [
          ["used_cpu_sys", u.cpuSys.toFixed(6)], ["used_cpu_user", u.cpuUser.toFixed(6)],
          ["used_cpu_sys_children", "0.000000"], ["used_cpu_user_children", "0.000000"],
          ["used_cpu_sys_main_thread", u.cpuSys.toFixed(6)], ["used_cpu_user_main_thread", u.cpuUser.toFixed(6)],
        ]));
        break;
      case "modules":
        parts.push("# Modules\r\n");
        break;
      case "commandstats": {
        const rows: [string, string][] = [];
        for (const cmd of ALL_COMMANDS) {
          if (cmd.calls === 0 && cmd.rejected === 0 && cmd.failed === 0) continue;
          const per = cmd.calls > 0 ? (cmd.usec / cmd.calls).toFixed(2) : "0.00";
          rows.push([`cmdstat_${cmd.name}`, `calls=${cmd.calls},usec=${Math.round(cmd.usec)},usec_per_call=${per},rejected_calls=${cmd.rejected},failed_calls=${cmd.failed}`]);
        }
        parts.push(section("Commandstats", rows));
        break;
      }
      case "errorstats":
        parts.push(section("Errorstats", [...s.stats.errors].map(([k, v]) => [`errorstat_${k}`, `count=${v}`])));
        break;
      case "cluster":
        parts.push(section("Cluster", [["cluster_enabled", 0]]));
        break;
      case "keyspace": {
        const rows: [string, string][] = [];
        for (const db of s.keyspace.dbs) {
          if (db.size === 0) continue;
          rows.push([`db${db.index}`, `keys=${db.size},expires=${db.expires.size},avg_ttl=0`]);
        }
        parts.push(section("Keyspace", rows));
        break;
      }
    }
  }
  return parts.join("\r\n");
}

/** CONFIG GET: every directive (and alias) matching any of the patterns, once each. */
function configGet(c: Client, argv: string[]): Reply {
  const seen = new Set<string>();
  const pairs: Reply[] = [];
  for (let i = 2; i < argv.length; i++) {
    // As Redis: a name without glob characters is looked up (case-insensitively); a pattern is
    // matched with nocase, where an escaped class member still compares exactly.
    const pat = argv[i];
    const exact = /[[*?]/.test(pat) ? null : pat.toLowerCase();
    const found = c.server.config.matching((name) => !seen.has(name) && (exact !== null ? name === exact : globMatch(pat, name, true)));
    for (const [name, value] of found) {
      seen.add(name);
      pairs.push(name, value);
    }
  }
  return new MapReply(pairs);
}

function configSet(c: Client, argv: string[]): Reply {
  if ((argv.length - 2) % 2 !== 0) return new ErrorReply("ERR wrong number of arguments for 'config|set' command");
  const pairs: [string, string][] = [];
  for (let i = 2; i < argv.length; i += 2) pairs.push([argv[i], argv[i + 1]]);
  const e = c.server.config.setMany(pairs);
  return e === null ? OK : new ErrorReply("ERR " + e);
}

function shutdown(c: Client, argv: string[]): Reply {
  let save: boolean | null = null;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i].toLowerCase();
    if (a === "nosave") save = false;
    else if (a === "save") save = true;
    else if (a === "now" || a === "force") continue;
    else if (a === "abort") return new ErrorReply("ERR No shutdown in progress.");
    else return E_SYNTAX;
  }
  const s = c.server;
  s.log("warning", "User requested shutdown...");
  void (async () => {
    if (save === true) await s.compactionDone().then(() => s.compact()).catch(() => {});
    await s.shutdown();
    s.log("warning", "aki is now ready to exit, bye bye...");
    s.exit(0);
  })();
  c.closeAfterReply();
  return null;
}

export const handlers: Record<string, Handler> = {
  info: (c, argv) => new Verbatim("txt", infoText(c.server, argv.slice(1))),
  dbsize: (c) => c.db.size,
  flushdb(c, argv) {
    const e = flushArgs(argv);
    if (e) return e;
    c.server.dirty += c.db.size + 1;
    c.db.clear();
    return OK;
  },
  flushall(c, argv) {
    const e = flushArgs(argv);
    if (e) return e;
    for (const db of c.server.keyspace.dbs) {
      c.server.dirty += db.size;
      db.clear();
    }
    c.server.dirty++;
    return OK;
  },
  swapdb(c, argv) {
    const a = parseInt64(argv[1]);
    const b = parseInt64(argv[2]);
    if (a === null) return new ErrorReply("ERR invalid first DB index");
    if (b === null) return new ErrorReply("ERR invalid second DB index");
    const n = c.server.keyspace.dbs.length;
    if (a < 0 || a >= n || b < 0 || b >= n) return E_DB_RANGE;
    c.server.keyspace.swap(Number(a), Number(b));
    c.server.dirty++;
    return OK;
  },
  time() {
    const t = performance.timeOrigin + performance.now();
    const sec = Math.floor(t / 1000);
    const usec = Math.floor((t - sec * 1000) * 1000);
    return [String(sec), String(usec)];
  },
  lastsave: (c) => c.server.lastSave,
  // SAVE, BGSAVE and BGREWRITEAOF all compact the data file (snapshot + tail, see server.compact).
  save(c, argv) {
    const s = c.server;
    if (s.compactionInProgress) return new ErrorReply("ERR Background save already in progress");
    if (s.persist === null) {
      s.lastSave = Math.floor(Date.now() / 1000);
      s.dirtyAtSave = s.dirty;
      s.saves++;
      return OK;
    }
    // The reply waits for the new file: the client is blocked (on no key) until then.
    const r = c.block(argv, [], 0, OK);
    const cmd = c.current;
    const finish = (reply: Reply) => {
      const b = c.blocked;
      if (b === null || b.cmd !== cmd || b.argv !== argv) return;
      b.onTimeout = reply;
      s.unblock(c, true);
    };
    s.compact().then(() => finish(OK), () => finish(new ErrorReply("ERR")));
    return r;
  },
  bgsave(c, argv) {
    if (argv.length > 2 || (argv.length === 2 && !is(argv[1], "schedule"))) return E_SYNTAX;
    const s = c.server;
    if (s.compactionInProgress) {
      if (argv.length === 2) {
        s.compactionDone().then(() => s.compact()).catch(() => {}); // failures are logged
        return new Simple("Background saving scheduled");
      }
      return new ErrorReply("ERR Background save already in progress");
    }
    s.compact().catch(() => {});
    return new Simple("Background saving started");
  },
  bgrewriteaof(c) {
    if (c.server.compactionInProgress) return new ErrorReply("ERR Background append only file rewriting already in progress");
    c.server.compact().catch(() => {});
    return new Simple("Background append only file rewriting started");
  },
  shutdown,
  "config|get": configGet,
  "config|set": configSet,
  "config|resetstat"(c) {
    c.server.resetStats();
    return OK;
  },
  "config|rewrite"(c) {
    const e = c.server.rewriteConfig();
    return e === null ? OK : new ErrorReply("ERR " + e);
  },
  "config|help": () =>
    [
      "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "GET <pattern>",
      "    Return parameters matching the glob-like <pattern> and their values.",
      "SET <directive> <value>",
      "    Set the configuration <directive> to <value>.",
      "RESETSTAT",
      "    Reset statistics reported by the INFO command.",
      "REWRITE",
      "    Rewrite the configuration file.",
      "HELP",
      "    Print this help.",
    ].map((l) => new Simple(l)),
  "function|flush"(_c, argv) {
    if (argv.length > 3) return E_SYNTAX;
    if (argv.length === 3 && !is(argv[2], "async") && !is(argv[2], "sync")) return new ErrorReply("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
    return OK;
  },
  "function|list": () => [],
  "function|stats": () => new MapReply(["running_script", null, "engines", new MapReply([])]),
  debug: () =>
    new ErrorReply(
      'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.',
    ),
};
