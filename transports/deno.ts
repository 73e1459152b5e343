/**
 * Deno transport: Deno.listen / Deno.listenTls for RESP (TCP, TLS and unix), Deno.serve for the
 * admin app (HTTP or HTTPS). Each connection runs a read loop into one reused buffer (the
 * parser copies what it keeps) and a write queue: Deno's conn.write may write part of a chunk,
 * so the rest is retried.
 * TLS: Deno.listenTls takes only a certificate and key (rustls, TLS 1.2 and 1.3); the server
 * sees a connection after conn.handshake() succeeded. It cannot ask for client certificates or
 * restrict protocol versions, so with tls-auth-clients optional/yes or tls-protocols set the
 * caller uses the node:tls adapter instead (tlsUnsupported).
 */
import type { Server } from "../src/server.ts";
import type { Peer } from "../src/client.ts";
import { formatAddress, type FetchHandler, type Listener, type TlsConfig, type Transport } from "./types.ts";
import { placeUnixSocket } from "./unix.ts";

// deno-lint-ignore no-explicit-any
const D = (globalThis as any).Deno;
const HANDSHAKE_TIMEOUT_MS = 30000;

interface DenoConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
  setNoDelay?(v: boolean): void;
  handshake?(): Promise<unknown>;
  remoteAddr: { hostname?: string; port?: number; path?: string };
  localAddr: { hostname?: string; port?: number; path?: string };
}

function handle(server: Server, conn: DenoConn, unixPath: string | null, tls = false): void {
  try {
    conn.setNoDelay?.(true);
  } catch { /* unix sockets */ }
  const queue: Uint8Array[] = [];
  let pending = 0;
  let writing = false;
  let closed = false;
  let closeWhenDrained = false;
  const shut = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch { /* already closed */ }
  };
  const pump = async () => {
    writing = true;
    try {
      while (queue.length > 0 && !closed) {
        let chunk = queue[0];
        while (chunk.length > 0) {
          const n = await conn.write(chunk);
          chunk = chunk.subarray(n);
          pending -= n;
        }
        queue.shift();
      }
    } catch {
      shut();
    }
    writing = false;
    if (closeWhenDrained) shut();
  };
  const peer: Peer = {
    write(b) {
      if (closed) return;
      queue.push(b);
      pending += b.length;
      if (!writing) void pump();
    },
    close() {
      closeWhenDrained = true;
      if (!writing) shut();
    },
    destroy: shut,
    get pendingBytes() {
      return pending;
    },
    remoteAddress: unixPath ?? conn.remoteAddr.hostname ?? "",
    remotePort: conn.remoteAddr.port ?? 0,
    localAddress: unixPath ?? conn.localAddr.hostname ?? "",
    localPort: conn.localAddr.port ?? 0,
    unix: unixPath !== null,
    tls: tls ? { peerCN: null } : undefined,
  };
  const c = server.connect(peer);
  if (!c) return;
  void (async () => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        c.feed(buf.subarray(0, n), true);
        if (closed) break;
      }
    } catch { /* reset by peer */ }
    c.closed();
    if (!closeWhenDrained || !writing) shut();
  })();
}

function acceptLoop(server: Server, listener: AsyncIterable<DenoConn>, unixPath: string | null): void {
  void (async () => {
    try {
      for await (const conn of listener) handle(server, conn, unixPath);
    } catch { /* listener closed */ }
  })();
}

/** TLS: the server sees a connection only once its handshake succeeded. */
function acceptTlsLoop(server: Server, listener: AsyncIterable<DenoConn>): void {
  void (async () => {
    try {
      for await (const conn of listener) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("handshake timed out")), HANDSHAKE_TIMEOUT_MS);
        });
        Promise.race([conn.handshake!(), timeout]).finally(() => clearTimeout(timer)).then(
          () => handle(server, conn, null, true),
          (e: Error) => {
            server.log("verbose", `Error accepting a TLS client connection from ${conn.remoteAddr.hostname}: ${e.message}`);
            try {
              conn.close();
            } catch { /* already closed */ }
          },
        );
      }
    } catch { /* listener closed */ }
  })();
}

export const transport: Transport = {
  name: "deno",
  listenTcp(server: Server, host: string, port: number): Promise<Listener> {
    const l = D.listen({ hostname: host, port, transport: "tcp" });
    acceptLoop(server, l, null);
    const bound = l.addr.port as number;
    return Promise.resolve({ address: formatAddress(host, bound), port: bound, close: async () => l.close() });
  },
  async listenUnix(server: Server, path: string, perm: number): Promise<Listener> {
    let l: { close(): void } | null = null;
    await placeUnixSocket(path, perm, (tmp) => {
      const listener = D.listen({ path: tmp, transport: "unix" });
      acceptLoop(server, listener, path);
      l = listener;
      return Promise.resolve();
    });
    return { address: path, port: 0, close: async () => l!.close() };
  },
  listenTls(server: Server, host: string, port: number, t: TlsConfig): Promise<Listener> {
    const l = D.listenTls({ hostname: host, port, transport: "tcp", cert: t.cert, key: t.key });
    acceptTlsLoop(server, l);
    const bound = l.addr.port as number;
    return Promise.resolve({ address: formatAddress(host, bound), port: bound, close: async () => l.close() });
  },
  tlsUnsupported(t: TlsConfig): string | null {
    if (t.authClients !== "no") return `Deno.listenTls cannot ask for client certificates (tls-auth-clients ${t.authClients})`;
    if (t.protocolsSet) return "Deno.listenTls has no TLS protocol version options (tls-protocols)";
    return null;
  },
  serveHttp(fetch: FetchHandler, host: string, port: number, t?: TlsConfig): Promise<Listener> {
    return new Promise((resolve) => {
      const srv = D.serve({
        hostname: host,
        port,
        ...(t ? { cert: t.cert, key: t.key } : {}),
        onListen: (addr: { port: number }) => {
          resolve({ address: formatAddress(host, addr.port), port: addr.port, close: () => srv.shutdown() });
        },
      }, fetch);
    });
  },
};
