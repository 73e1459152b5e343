/**
 * Connection commands: PING ECHO QUIT RESET SELECT AUTH HELLO and CLIENT *.
 * Authentication itself (password checks, ACL LOG, counters) is the ACL engine's:
 * AUTH and HELLO only parse their arguments and call acl.authenticate; a throttled failure
 * (src/security/throttle.ts) is answered after its delay through deliverAuthError.
 */
import { ErrorReply, MapReply, NO_REPLY, OK, PONG, Simple, Verbatim, type Reply } from "../resp/reply.ts";
import type { BLOCKED, Handler } from "./table.ts";
import type { Client } from "../client.ts";
import { E_DB_RANGE, E_NOT_INT, E_SYNTAX, intArg, is, parseInt64 } from "./util.ts";
import { VERSION_STRING } from "../server.ts";
import { deliverAuthError } from "../security/index.ts";

function validName(name: string): ErrorReply | null {
  for (let i = 0; i < name.length; i++) {
    const ch = name.charCodeAt(i);
    if (ch < 33 || ch > 126) return new ErrorReply("ERR Client names cannot contain spaces, newlines or special characters.");
  }
  return null;
}

/** Back to a fresh connection's state (RESET), keeping the connection. */
export function resetClient(c: Client): void {
  const s = c.server;
  c.multi = null;
  c.multiError = false;
  s.unwatchAll(c);
  s.pubsub.removeClient(c);
  c.db = s.keyspace.dbs[0];
  c.proto = 2;
  c.name = "";
  c.replyMode = "on";
  c.skipNext = false;
  c.noEvict = false;
  c.noTouch = false;
  s.acl.resetAuth(c);
}

function hello(c: Client, argv: string[]): Reply | typeof BLOCKED {
  let ver = 0;
  if (argv.length >= 2) {
    const v = parseInt64(argv[1]);
    if (v === null) return new ErrorReply("ERR Protocol version is not an integer or out of range");
    if (v < 2 || v > 3) return new ErrorReply("NOPROTO unsupported protocol version");
    ver = Number(v);
  }
  let user: string | null = null;
  let pass: string | null = null;
  let name: string | null = null;
  for (let j = 2; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    if (is(argv[j], "auth") && more >= 2) {
      user = argv[j + 1];
      pass = argv[j + 2];
      j += 2;
    } else if (is(argv[j], "setname") && more >= 1) {
      name = argv[j + 1];
      const bad = validName(name);
      if (bad) return bad;
      j++;
    } else {
      return new ErrorReply(`ERR Syntax error in HELLO option '${argv[j]}'`);
    }
  }
  if (user !== null && pass !== null) {
    const e = c.server.acl.authenticate(c, user, pass, "HELLO");
    if (e) return deliverAuthError(c, argv, e);
  }
  if (!c.authenticated) {
    return new ErrorReply(
      "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
    );
  }
  if (name !== null) c.name = name;
  if (ver) c.proto = ver;
  return new MapReply([
    "server", "redis",
    "version", VERSION_STRING,
    "proto", c.proto,
    "id", c.id,
    "mode", "standalone",
    "role", "master",
    "modules", [],
  ]);
}

function clientKill(c: Client, argv: string[]): Reply {
  const s = c.server;
  if (argv.length === 3) {
    // Old form: CLIENT KILL addr:port
    for (const o of s.clients.values()) {
      if (o.addr === argv[2]) {
        killClient(c, o);
        return OK;
      }
    }
    return new ErrorReply("ERR No such client");
  }
  let id: number | null = null;
  let type: string | null = null;
  let addr: string | null = null;
  let laddr: string | null = null;
  let user: string | null = null;
  let maxAge: number | null = null;
  let skipMe = true;
  if ((argv.length - 2) % 2 !== 0) return E_SYNTAX;
  for (let i = 2; i < argv.length; i += 2) {
    const opt = argv[i].toLowerCase();
    const val = argv[i + 1];
    if (opt === "id") {
      const n = parseInt64(val);
      if (n === null || n <= 0) return new ErrorReply("ERR client-id should be greater than 0");
      id = Number(n);
    } else if (opt === "type") {
      const t = val.toLowerCase();
      if (!["normal", "master", "replica", "slave", "pubsub"].includes(t)) return new ErrorReply(`ERR Unknown client type '${val}'`);
      type = t === "slave" ? "replica" : t;
    } else if (opt === "addr") addr = val;
    else if (opt === "laddr") laddr = val;
    else if (opt === "user") {
      if (!s.acl.users.has(val)) return new ErrorReply(`ERR No such user '${val}'`);
      user = val;
    } else if (opt === "skipme") {
      if (is(val, "yes")) skipMe = true;
      else if (is(val, "no")) skipMe = false;
      else return E_SYNTAX;
    } else if (opt === "maxage") {
      const n = parseInt64(val);
      if (n === null) return E_NOT_INT;
      maxAge = Number(n);
    } else return E_SYNTAX;
  }
  let killed = 0;
  const now = Date.now();
  for (const o of [...s.clients.values()]) {
    if (id !== null && o.id !== id) continue;
    if (addr !== null && o.addr !== addr) continue;
    if (laddr !== null && o.laddr !== laddr) continue;
    if (user !== null && o.user.name !== user) continue;
    if (type !== null && clientType(o) !== type) continue;
    if (maxAge !== null && (now - o.createdAt) / 1000 < maxAge) continue;
    if (o === c && skipMe) continue;
    killClient(c, o);
    killed++;
  }
  return killed;
}

function clientType(c: Client): string {
  return c.inSubscribeMode && c.proto === 2 ? "pubsub" : "normal";
}

function killClient(self: Client, o: Client): void {
  if (o === self) o.closeAfterReply();
  else o.destroy();
}

function clientList(c: Client, argv: string[]): Reply {
  const s = c.server;
  let list = [...s.clients.values()];
  for (let i = 2; i < argv.length; i++) {
    if (is(argv[i], "type") && i + 1 < argv.length) {
      const t = argv[++i].toLowerCase();
      if (!["normal", "master", "replica", "slave", "pubsub"].includes(t)) return new ErrorReply(`ERR Unknown client type '${argv[i]}'`);
      const want = t === "slave" ? "replica" : t;
      list = list.filter((o) => clientType(o) === want);
    } else if (is(argv[i], "id") && i + 1 < argv.length) {
      const ids = new Set<number>();
      for (i++; i < argv.length; i++) {
        const n = parseInt64(argv[i]);
        if (n === null || n <= 0) return new ErrorReply("ERR Invalid client ID");
        ids.add(Number(n));
      }
      list = list.filter((o) => ids.has(o.id));
    } else return E_SYNTAX;
  }
  return new Verb(list.map((o) => o.info() + "\n").join(""));
}

/** CLIENT LIST / INFO answer a verbatim string in RESP3, a bulk string in RESP2. */
class Verb {
  constructor(readonly text: string) {}
}
function verb(v: Verb): Reply {
  return new Verbatim("txt", v.text);
}

function onOff(arg: string): boolean | null {
  if (is(arg, "on")) return true;
  if (is(arg, "off")) return false;
  return null;
}

const CLIENT_HELP = [
  "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "CACHING (YES|NO)",
  "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
  "GETREDIR",
  "    Return the client ID we are redirecting to when tracking is enabled.",
  "GETNAME",
  "    Return the name of the current connection.",
  "ID",
  "    Return the ID of the current connection.",
  "INFO",
  "    Return information about the current client connection.",
  "KILL <ip:port>",
  "    Kill connection made from <ip:port>.",
  "KILL <option> <value> [<option> <value> [...]]",
  "    Kill connections. Options are:",
  "    * ADDR (<ip:port>|<unixsocket>:0)",
  "      Kill connections made from the specified address",
  "    * LADDR (<ip:port>|<unixsocket>:0)",
  "      Kill connections made to specified local address",
  "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
  "      Kill connections by type.",
  "    * USER <username>",
  "      Kill connections authenticated by <username>.",
  "    * SKIPME (YES|NO)",
  "      Skip killing current connection (default: yes).",
  "    * ID <client-id>",
  "      Kill connections by client id.",
  "    * MAXAGE <maxage>",
  "      Kill connections older than the specified age.",
  "LIST [options ...]",
  "    Return information about client connections. Options:",
  "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
  "      Return clients of specified type.",
  "UNPAUSE",
  "    Stop the current client pause, resuming traffic.",
  "PAUSE <timeout> [WRITE|ALL]",
  "    Suspend all, or just write, clients for <timeout> milliseconds.",
  "REPLY (ON|OFF|SKIP)",
  "    Control the replies sent to the current connection.",
  "SETNAME <name>",
  "    Assign the name <name> to the current connection.",
  "SETINFO <option> <value>",
  "    Set client meta attr. Options are:",
  "    * LIB-NAME: the client lib name.",
  "    * LIB-VER: the client lib version.",
  "UNBLOCK <clientid> [TIMEOUT|ERROR]",
  "    Unblock the specified blocked client.",
  "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
  "         [OPTIN] [OPTOUT] [NOLOOP]",
  "    Control server assisted client side caching.",
  "TRACKINGINFO",
  "    Report tracking status for the current connection.",
  "NO-EVICT (ON|OFF)",
  "    Protect current client connection from eviction.",
  "NO-TOUCH (ON|OFF)",
  "    Will not touch LRU/LFU stats when this mode is on.",
  "HELP",
  "    Print this help.",
];

export const handlers: Record<string, Handler> = {
  ping(c, argv) {
    if (argv.length > 2) return new ErrorReply("ERR wrong number of arguments for 'ping' command");
    if (c.proto === 2 && c.inSubscribeMode) return ["pong", argv.length === 2 ? argv[1] : ""];
    return argv.length === 2 ? argv[1] : PONG;
  },
  echo: (_c, argv) => argv[1],
  quit(c) {
    c.closeAfterReply();
    return OK;
  },
  reset(c) {
    resetClient(c);
    return new Simple("RESET");
  },
  select(c, argv) {
    const n = parseInt64(argv[1]);
    if (n === null) return E_NOT_INT;
    if (n < 0 || n >= c.server.keyspace.dbs.length) return E_DB_RANGE;
    c.db = c.server.keyspace.dbs[Number(n)];
    return OK;
  },
  auth(c, argv) {
    if (argv.length > 3) return E_SYNTAX;
    if (argv.length === 2) {
      if (c.server.acl.defaultUser.nopass) {
        return new ErrorReply("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
      }
      const e1 = c.server.acl.authenticate(c, "default", argv[1], "AUTH");
      return e1 === null ? OK : deliverAuthError(c, argv, e1);
    }
    const e = c.server.acl.authenticate(c, argv[1], argv[2], "AUTH");
    return e === null ? OK : deliverAuthError(c, argv, e);
  },
  hello,
  "client|id": (c) => c.id,
  "client|getname": (c) => (c.name === "" ? null : c.name),
  "client|setname"(c, argv) {
    const bad = validName(argv[2]);
    if (bad) return bad;
    c.name = argv[2];
    return OK;
  },
  "client|setinfo"(c, argv) {
    const attr = argv[2].toLowerCase();
    if (attr !== "lib-name" && attr !== "lib-ver") return new ErrorReply(`ERR Unrecognized option '${argv[2]}'`);
    const bad = validName(argv[3]);
    if (bad) return new ErrorReply(`ERR ${attr} cannot contain spaces, newlines or special characters.`);
    if (attr === "lib-name") c.libName = argv[3];
    else c.libVer = argv[3];
    return OK;
  },
  "client|list": (c, argv) => {
    const r = clientList(c, argv);
    return r instanceof Verb ? verb(r) : r;
  },
  "client|info": (c) => verb(new Verb(c.info() + "\n")),
  "client|kill": clientKill,
  "client|no-evict"(c, argv) {
    const v = onOff(argv[2]);
    if (v === null) return E_SYNTAX;
    c.noEvict = v;
    return OK;
  },
  "client|no-touch"(c, argv) {
    const v = onOff(argv[2]);
    if (v === null) return E_SYNTAX;
    c.noTouch = v;
    return OK;
  },
  "client|reply"(c, argv) {
    const m = argv[2].toLowerCase();
    if (m === "on") {
      c.replyMode = "on";
      c.skipNext = false;
      return OK;
    }
    // OFF and SKIP send no reply of their own; SKIP drops the next command's reply.
    if (m === "off") {
      c.replyMode = "off";
      return NO_REPLY;
    }
    if (m === "skip") {
      if (c.replyMode === "on") c.skipNext = true;
      return NO_REPLY;
    }
    return E_SYNTAX;
  },
  "client|pause"(c, argv) {
    const ms = parseInt64(argv[2]);
    if (ms === null || ms < 0) return new ErrorReply("ERR timeout is not an integer or out of range");
    let mode: "all" | "write" = "all";
    if (argv.length === 4) {
      if (is(argv[3], "write")) mode = "write";
      else if (!is(argv[3], "all")) return new ErrorReply("ERR CLIENT PAUSE mode must be WRITE or ALL");
    } else if (argv.length > 4) return E_SYNTAX;
    c.server.pause(Number(ms), mode);
    return OK;
  },
  "client|unpause"(c) {
    c.server.unpause();
    return OK;
  },
  "client|unblock"(c, argv) {
    const id = intArg(argv[2]);
    if (id instanceof ErrorReply) return id;
    let asError = false;
    if (argv.length === 4) {
      if (is(argv[3], "error")) asError = true;
      else if (!is(argv[3], "timeout")) return new ErrorReply("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
    }
    const o = c.server.clients.get(id);
    if (!o || !o.blocked) return 0;
    if (asError) {
      o.blocked.onTimeout = new ErrorReply("UNBLOCKED client unblocked via CLIENT UNBLOCK");
    }
    c.server.unblock(o, true);
    return 1;
  },
  "client|getredir": () => -1,
  "client|trackinginfo": () => new MapReply(["flags", ["off"], "redirect", -1, "prefixes", []]),
  "client|help": () => CLIENT_HELP.map((l) => new Simple(l)),
  "client|caching": () => new ErrorReply("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"),
};
