/**
 * Pub/sub commands: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH SSUBSCRIBE
 * SUNSUBSCRIBE SPUBLISH and PUBSUB CHANNELS / NUMSUB / NUMPAT / SHARDCHANNELS / SHARDNUMSUB / HELP.
 *
 * Reply shapes (Redis 7.2):
 * - Every (un)subscribe confirms each name with its own 3-element message
 *   [kind, name, count]: an array in RESP2, a push (">") in RESP3. They are written straight
 *   to the connection (like pushes they are sent even under CLIENT REPLY OFF), and the handler
 *   returns an empty reply. Inside EXEC they become that command's slot in the EXEC array, as
 *   Redis does (so several channels there give more replies than the array counts, like Redis).
 * - UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE without arguments drop every subscription of
 *   their family; with none to drop they still answer [kind, nil, count].
 * - count = channels + patterns for the classic family, shard channels for the S family.
 * - PUBLISH / SPUBLISH answer the number of receivers; they change no data (not journaled).
 * - PUBSUB NUMSUB / SHARDNUMSUB answer a flat [name, count, ...] array in both protocols.
 * Errors: "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client" inside EXEC (SUBSCRIBE
 * and PSUBSCRIBE are allowed there for compatibility); PUBSUB CHANNELS / SHARDCHANNELS with
 * more than one pattern: "ERR unknown subcommand or wrong number of arguments for '<sub>'.
 * Try PUBSUB HELP.". The RESP2 subscribed-mode restriction lives in dispatch.
 */
import { encode, ErrorReply, Push, Raw, Simple, type Reply } from "../resp/reply.ts";
import type { Handler } from "./table.ts";
import type { Client } from "../client.ts";
import type { SubKind } from "../pubsub.ts";

/**
 * What a handler returns after writing its confirmations itself. A fresh Raw (not the shared
 * NO_REPLY) so that CLIENT REPLY SKIP is used up by this command, as in Redis.
 */
const WRITTEN = new Raw("");

function confirmation(c: Client, kind: string, name: string | null, count: number): string {
  return encode(new Push([kind, name, count]), c.proto);
}

/** Send the confirmations: inline in EXEC's array, else straight to the connection. */
function emit(c: Client, bytes: string): Reply {
  if (c.inExec) return new Raw(bytes);
  c.writeReply(new Raw(bytes));
  return WRITTEN;
}

type Family = { kind: SubKind; sub: string; unsub: string; shard: boolean };
const CLASSIC: Family = { kind: "channels", sub: "subscribe", unsub: "unsubscribe", shard: false };
const PATTERN: Family = { kind: "patterns", sub: "psubscribe", unsub: "punsubscribe", shard: false };
const SHARD: Family = { kind: "shardChannels", sub: "ssubscribe", unsub: "sunsubscribe", shard: true };

function count(c: Client, f: Family): number {
  return f.shard ? c.server.pubsub.shardCount(c) : c.server.pubsub.subscriptionCount(c);
}

function subscribe(c: Client, argv: string[], f: Family): Reply {
  const ps = c.server.pubsub;
  let out = "";
  for (let i = 1; i < argv.length; i++) {
    ps.subscribe(f.kind, c, argv[i]);
    out += confirmation(c, f.sub, argv[i], count(c, f));
  }
  return emit(c, out);
}

function unsubscribe(c: Client, argv: string[], f: Family): Reply {
  const ps = c.server.pubsub;
  let out = "";
  if (argv.length === 1) {
    const names = [...c[f.kind]];
    for (const name of names) {
      ps.unsubscribe(f.kind, c, name);
      out += confirmation(c, f.unsub, name, count(c, f));
    }
    if (names.length === 0) out += confirmation(c, f.unsub, null, count(c, f));
  } else {
    for (let i = 1; i < argv.length; i++) {
      ps.unsubscribe(f.kind, c, argv[i]);
      out += confirmation(c, f.unsub, argv[i], count(c, f));
    }
  }
  return emit(c, out);
}

function subcommandSyntax(argv: string[]): ErrorReply {
  return new ErrorReply(
    `ERR unknown subcommand or wrong number of arguments for '${argv[1].slice(0, 128)}'. Try ${argv[0].toUpperCase()} HELP.`,
  );
}

const PUBSUB_HELP = [
  "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "CHANNELS [<pattern>]",
  "    Return the currently active channels matching a <pattern> (default: '*').",
  "NUMPAT",
  "    Return number of subscriptions to patterns.",
  "NUMSUB [<channel> ...]",
  "    Return the number of subscribers for the specified channels, excluding",
  "    pattern subscriptions(default: no channels).",
  "SHARDCHANNELS [<pattern>]",
  "    Return the currently active shard level channels matching a <pattern> (default: '*').",
  "SHARDNUMSUB [<shardchannel> ...]",
  "    Return the number of subscribers for the specified shard level channel(s)",
  "HELP",
  "    Prints this help.",
];

function numsub(c: Client, argv: string[], kind: "channels" | "shardChannels"): Reply {
  const out: Reply[] = [];
  for (let i = 2; i < argv.length; i++) out.push(argv[i], c.server.pubsub.numSub(kind, argv[i]));
  return out;
}

export const handlers: Record<string, Handler> = {
  subscribe: (c, argv) => subscribe(c, argv, CLASSIC),
  psubscribe: (c, argv) => subscribe(c, argv, PATTERN),
  ssubscribe(c, argv) {
    // EXEC runs its commands as a client that must not block; Redis exempts only the
    // classic SUBSCRIBE family from that rule.
    if (c.inExec) return new ErrorReply("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
    return subscribe(c, argv, SHARD);
  },
  unsubscribe: (c, argv) => unsubscribe(c, argv, CLASSIC),
  punsubscribe: (c, argv) => unsubscribe(c, argv, PATTERN),
  sunsubscribe: (c, argv) => unsubscribe(c, argv, SHARD),
  publish: (c, argv) => c.server.pubsub.publish(argv[1], argv[2]),
  spublish: (c, argv) => c.server.pubsub.spublish(argv[1], argv[2]),
  "pubsub|help": () => PUBSUB_HELP.map((l) => new Simple(l)),
  "pubsub|channels"(c, argv) {
    if (argv.length > 3) return subcommandSyntax(argv);
    return c.server.pubsub.list("channels", argv.length === 3 ? argv[2] : null);
  },
  "pubsub|shardchannels"(c, argv) {
    if (argv.length > 3) return subcommandSyntax(argv);
    return c.server.pubsub.list("shardChannels", argv.length === 3 ? argv[2] : null);
  },
  "pubsub|numsub": (c, argv) => numsub(c, argv, "channels"),
  "pubsub|shardnumsub": (c, argv) => numsub(c, argv, "shardChannels"),
  "pubsub|numpat": (c) => c.server.pubsub.patterns.size,
};
