/**
 * Deno transport: Deno.listen / Deno.listenTls for RESP (TCP, TLS and unix); the admin app (HTTP
 * or HTTPS) goes through the node:http adapter, whose slow-client timeouts Deno.serve lacks. Each connection runs a read loop into one reused buffer (the
 * parser copies what it keeps) and a write queue: Deno's conn.write may write part of a chunk,
 * so the rest is retried.
 * TLS: Deno.listenTls takes only a certificate and key (rustls, TLS 1.2 and 1.3); the server
 * sees a connection after conn.handshake() succeeded. It cannot ask for client certificates or
 * restrict protocol versions, so with tls-auth-clients optional/yes or tls-protocols set the
 * caller uses the node:tls adapter instead (tlsUnsupported).
 */
import type { Server } from "../src/server.ts";
import type { Peer } from "../src/client.ts";
import { formatAddress, type FetchHandler, type HttpLimits, type Listener, type TlsConfig, type Transport } from "./types.ts";
import { placeUnixSocket } from "./unix.ts";

// deno-lint-ignore no-explicit-any
const D = (globalThis as any).Deno;
const HANDSHAKE_TIMEOUT_MS = 30000;
/** Per-connection read buffer bounds (see handle()). */
const READ_MIN = 4 * 1024;
const READ_MAX = 64 * 1024;

const encoder = new TextEncoder();
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * A binary string's bytes. Deno's node:buffer converts latin1 in JavaScript, slower than its
 * native TextEncoder, whose UTF-8 is the same bytes for ASCII (most replies); other strings
 * are copied char by char (still faster there than Buffer.from(s, "latin1")).
 */
function latin1Bytes(s: string): Uint8Array {
  if (!NON_ASCII.test(s)) return encoder.encode(s);
  const n = s.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = s.charCodeAt(i);
  return out;
}

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
    writeLatin1(s) {
      peer.write(latin1Bytes(s));
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
    // The read buffer starts small and doubles (to 64 KB) while reads fill it, so an idle
    // connection holds 4 KB, not 64 KB; it shrinks back after a run of small reads.
    let buf = new Uint8Array(READ_MIN);
    let small = 0;
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        c.feed(buf.subarray(0, n), true);
        if (closed) break;
        if (n === buf.length && buf.length < READ_MAX) {
          buf = new Uint8Array(buf.length * 2);
          small = 0;
        } else if (buf.length > READ_MIN && n <= READ_MIN && ++small >= 16) {
          buf = new Uint8Array(READ_MIN);
          small = 0;
        }
      }
    } catch { /* reset by peer */ }
    c.closed();
    if (!closeWhenDrained || !writing) shut();
  })();
}

interface DenoListener {
  accept(): Promise<DenoConn>;
}

/**
 * Accept connections until the listener is closed. A failed accept (EMFILE when descriptors run
 * out) is logged at most once a minute and retried after a pause: it must not end the loop,
 * or the server would stop accepting for good.
 */
function acceptEach(server: Server, listener: DenoListener, onConn: (conn: DenoConn) => void): void {
  let lastLog = 0;
  void (async () => {
    for (;;) {
      let conn: DenoConn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (e instanceof D.errors.BadResource || e instanceof D.errors.Interrupted) return; // closed
        if (Date.now() - lastLog > 60000) {
          lastLog = Date.now();
          server.log("warning", `Accepting a connection failed: ${(e as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      onConn(conn);
    }
  })();
}

function acceptLoop(server: Server, listener: DenoListener, unixPath: string | null): void {
  acceptEach(server, listener, (conn) => handle(server, conn, unixPath));
}

/** TLS: the server sees a connection only once its handshake succeeded. */
function acceptTlsLoop(server: Server, listener: DenoListener): void {
  acceptEach(server, listener, (conn) => {
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
  });
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
  async serveHttp(fetch: FetchHandler, host: string, port: number, t?: TlsConfig, limits?: HttpLimits): Promise<Listener> {
    // Deno.serve has no header or request timeouts (a slowloris client keeps its connection
    // forever), while Deno's node:http enforces headersTimeout / requestTimeout: the admin API
    // is served through the node:http adapter (@hono/node-server), over HTTPS with node:https.
    const node = await import("./node.ts");
    return await node.transport.serveHttp(fetch, host, port, t, limits);
  },

};
