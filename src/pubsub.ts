/**
 * Pub/sub registry: which clients listen on which channels, patterns and shard channels, and
 * delivery of messages as RESP2 arrays or RESP3 push messages.
 *
 * Contract:
 * - subscribe()/unsubscribe() keep the client's own sets and the server-wide maps in step
 *   and return whether anything changed; a channel with no subscriber left is forgotten, so
 *   PUBSUB CHANNELS / NUMPAT and INFO's pubsub_channels / pubsub_patterns count live ones only.
 * - publish() returns the number of receivers (channel subscribers plus, for every matching
 *   pattern, that pattern's subscribers), as PUBLISH replies; spublish() counts shard
 *   subscribers only (shard pub/sub ignores patterns).
 * - Delivery goes through Client.push, so a subscriber that cannot keep up is cut off by
 *   client-output-buffer-limit pubsub instead of growing memory, and a message for the client
 *   whose command is running is sent after that command's reply (Redis 7.2).
 * - subscriptionCount()/shardCount() are the counts Redis puts in (un)subscribe confirmations:
 *   channels + patterns for the classic family, shard channels for the S family.
 * Nothing here fails: unknown names are simply not subscribed.
 */
import { Push } from "./resp/reply.ts";
import { globMatch } from "./acl/glob.ts";
import type { Client } from "./client.ts";

export type SubKind = "channels" | "patterns" | "shardChannels";

export class PubSub {
  channels = new Map<string, Set<Client>>();
  patterns = new Map<string, Set<Client>>();
  shardChannels = new Map<string, Set<Client>>();

  subscribe(kind: SubKind, c: Client, name: string): boolean {
    if (c[kind].has(name)) return false;
    c[kind].add(name);
    let set = this[kind].get(name);
    if (!set) this[kind].set(name, (set = new Set()));
    set.add(c);
    return true;
  }

  unsubscribe(kind: SubKind, c: Client, name: string): boolean {
    if (!c[kind].delete(name)) return false;
    const set = this[kind].get(name);
    if (set) {
      set.delete(c);
      if (set.size === 0) this[kind].delete(name);
    }
    return true;
  }

  /** Remove every subscription of a client (disconnect, RESET). */
  removeClient(c: Client): void {
    for (const ch of [...c.channels]) this.unsubscribe("channels", c, ch);
    for (const p of [...c.patterns]) this.unsubscribe("patterns", c, p);
    for (const s of [...c.shardChannels]) this.unsubscribe("shardChannels", c, s);
  }

  /** Count in SUBSCRIBE / PSUBSCRIBE / UNSUBSCRIBE / PUNSUBSCRIBE confirmations. */
  subscriptionCount(c: Client): number {
    return c.channels.size + c.patterns.size;
  }

  /** Count in SSUBSCRIBE / SUNSUBSCRIBE confirmations. */
  shardCount(c: Client): number {
    return c.shardChannels.size;
  }

  /** Active channels (or shard channels) matching an optional glob pattern (PUBSUB CHANNELS). */
  list(kind: "channels" | "shardChannels", pattern: string | null): string[] {
    const out: string[] = [];
    for (const name of this[kind].keys()) {
      if (pattern === null || globMatch(pattern, name)) out.push(name);
    }
    return out;
  }

  /** Subscribers of one channel, patterns not counted (PUBSUB NUMSUB / SHARDNUMSUB). */
  numSub(kind: "channels" | "shardChannels", name: string): number {
    return this[kind].get(name)?.size ?? 0;
  }

  publish(channel: string, message: string): number {
    let n = 0;
    const subs = this.channels.get(channel);
    if (subs) {
      for (const c of [...subs]) {
        c.push(new Push(["message", channel, message]));
        n++;
      }
    }
    if (this.patterns.size > 0) {
      for (const [pat, clients] of [...this.patterns]) {
        if (!globMatch(pat, channel)) continue;
        for (const c of [...clients]) {
          c.push(new Push(["pmessage", pat, channel, message]));
          n++;
        }
      }
    }
    return n;
  }

  spublish(channel: string, message: string): number {
    let n = 0;
    const subs = this.shardChannels.get(channel);
    if (subs) {
      for (const c of [...subs]) {
        c.push(new Push(["smessage", channel, message]));
        n++;
      }
    }
    return n;
  }
}
