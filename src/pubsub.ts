/**
 * Pub/sub registry: which clients listen on which channels, patterns and shard channels, and
 * delivery of messages as RESP2 arrays or RESP3 push messages.
 *
 * publish() returns the number of receivers (channel subscribers plus pattern matches), as
 * PUBLISH replies. Delivery goes through Client.push, so a subscriber that cannot keep up is
 * cut off by client-output-buffer-limit pubsub instead of growing memory.
 */
import { Push } from "./resp/reply.ts";
import { globMatch } from "./acl/glob.ts";
import type { Client } from "./client.ts";

export class PubSub {
  channels = new Map<string, Set<Client>>();
  patterns = new Map<string, Set<Client>>();
  shardChannels = new Map<string, Set<Client>>();

  subscribe(kind: "channels" | "patterns" | "shardChannels", c: Client, name: string): boolean {
    if (c[kind].has(name)) return false;
    c[kind].add(name);
    let set = this[kind].get(name);
    if (!set) this[kind].set(name, (set = new Set()));
    set.add(c);
    return true;
  }

  unsubscribe(kind: "channels" | "patterns" | "shardChannels", c: Client, name: string): boolean {
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
