/**
 * Bun transport: Bun.listen for RESP (TCP and unix), Bun.serve for the admin app.
 * Bun's socket.write is unbuffered and returns how many bytes it took; the rest waits in a
 * queue (a list of chunks, never re-concatenated) that drain() flushes.
 */
import type { Server } from "../src/server.ts";
import type { Client, Peer } from "../src/client.ts";
import { formatAddress, type FetchHandler, type Listener, type Transport } from "./types.ts";
import { placeUnixSocket } from "./unix.ts";

// deno-lint-ignore no-explicit-any
const B = (globalThis as any).Bun;

interface BunSocket {
  write(data: Uint8Array): number;
  end(): void;
  terminate?(): void;
  setNoDelay?(v: boolean): void;
  remoteAddress: string;
  remotePort?: number;
  localPort?: number;
  localAddress?: string;
  data: State;
}

interface State {
  client: Client | null;
  queue: Uint8Array[];
  pending: number;
  closeWhenDrained: boolean;
  closed: boolean;
}

function flushQueue(s: BunSocket): void {
  const st = s.data;
  while (st.queue.length > 0) {
    const chunk = st.queue[0];
    const n = s.write(chunk);
    if (n < 0) return;
    st.pending -= n;
    if (n < chunk.length) {
      st.queue[0] = chunk.subarray(n);
      return;
    }
    st.queue.shift();
  }
  if (st.closeWhenDrained) s.end();
}

function handlers(server: Server, unixPath: string | null) {
  return {
    open(s: BunSocket) {
      s.data = { client: null, queue: [], pending: 0, closeWhenDrained: false, closed: false };
      try {
        s.setNoDelay?.(true);
      } catch { /* unix */ }
      const st = s.data;
      const peer: Peer = {
        write(b) {
          if (st.closed) return;
          if (st.queue.length === 0) {
            const n = s.write(b);
            if (n === b.length) return;
            b = b.subarray(Math.max(n, 0));
          }
          st.queue.push(b);
          st.pending += b.length;
        },
        close() {
          st.closeWhenDrained = true;
          if (st.queue.length === 0) s.end();
        },
        destroy() {
          st.closed = true;
          if (s.terminate) s.terminate();
          else s.end();
        },
        get pendingBytes() {
          return st.pending;
        },
        remoteAddress: unixPath ?? s.remoteAddress ?? "",
        remotePort: s.remotePort ?? 0,
        localAddress: unixPath ?? s.localAddress ?? "127.0.0.1",
        localPort: s.localPort ?? 0,
        unix: unixPath !== null,
      };
      st.client = server.connect(peer);
    },
    data(s: BunSocket, d: Uint8Array) {
      s.data.client?.feed(d, true);
    },
    drain(s: BunSocket) {
      flushQueue(s);
      s.data.client?.checkOutputLimits();
    },
    close(s: BunSocket) {
      s.data.closed = true;
      s.data.client?.closed();
    },
    error(s: BunSocket) {
      s.data.closed = true;
      s.data.client?.closed();
    },
  };
}

export const transport: Transport = {
  name: "bun",
  listenTcp(server: Server, host: string, port: number): Promise<Listener> {
    const l = B.listen({ hostname: host, port, socket: handlers(server, null) });
    return Promise.resolve({ address: formatAddress(host, l.port), port: l.port, close: async () => l.stop(true) });
  },
  async listenUnix(server: Server, path: string, perm: number): Promise<Listener> {
    let l: { stop(force?: boolean): void } | null = null;
    await placeUnixSocket(path, perm, (tmp) => {
      l = B.listen({ unix: tmp, socket: handlers(server, path) });
      return Promise.resolve();
    });
    return { address: path, port: 0, close: async () => l!.stop(true) };
  },
  serveHttp(fetch: FetchHandler, host: string, port: number): Promise<Listener> {
    const srv = B.serve({ hostname: host, port, fetch });
    return Promise.resolve({ address: formatAddress(host, srv.port), port: srv.port, close: async () => srv.stop(true) });
  },
};
