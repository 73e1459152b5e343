/**
 * Bun transport: Bun.listen for RESP (TCP, TLS and unix), Bun.serve for the admin app (HTTP or
 * HTTPS). Bun's socket.write is unbuffered and returns how many bytes it took; the rest waits
 * in a queue (a list of chunks, never re-concatenated) that drain() flushes.
 * TLS uses Bun.listen's own tls options (cert, key, ca, requestCert, rejectUnauthorized,
 * ciphers); the client is created in the handshake handler, after tlsVerdict accepted it.
 * Bun.listen has no protocol-version or cipher-order options, so with tls-protocols or
 * tls-prefer-server-ciphers set the caller uses the node:tls adapter (tlsUnsupported).
 */
import type { Server } from "../src/server.ts";
import type { Client, Peer } from "../src/client.ts";
import { DEFAULT_HTTP_LIMITS, type FetchHandler, formatAddress, type HttpLimits, type Listener, type TlsConfig, type Transport } from "./types.ts";
import { placeUnixSocket } from "./unix.ts";
import { subjectCN, tlsVerdict } from "./tls.ts";
import { setKeyCache, setShortDecode } from "../src/resp/parser.ts";

// JavaScriptCore: decode every argument with the runtime's decoder, and reuse the strings of
// repeated keys (see setShortDecode, setKeyCache).
setShortDecode(0);
setKeyCache(true);

// deno-lint-ignore no-explicit-any
const B = (globalThis as any).Bun;
const HANDSHAKE_TIMEOUT_MS = 30000;

interface BunSocket {
  write(data: Uint8Array): number;
  end(): void;
  terminate?(): void;
  setNoDelay?(v: boolean): void;
  remoteAddress: string;
  remotePort?: number;
  localPort?: number;
  localAddress?: string;
  authorized?: boolean;
  getPeerCertificate?(): { subject?: unknown; raw?: unknown } | null | undefined;
  data: State;
}

interface State {
  client: Client | null;
  queue: Uint8Array[];
  pending: number;
  closeWhenDrained: boolean;
  closed: boolean;
  /** TLS: drops a connection whose handshake does not finish. */
  handshakeTimer?: ReturnType<typeof setTimeout>;
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

function handlers(server: Server, unixPath: string | null, tls: TlsConfig | null = null) {
  const start = (s: BunSocket, peerTls?: { peerCN: string | null }) => {
    s.data ??= { client: null, queue: [], pending: 0, closeWhenDrained: false, closed: false };
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
      tls: peerTls,
    };
    st.client = server.connect(peer);
  };
  return {
    open(s: BunSocket) {
      if (tls) {
        // Wait for the handshake (handshake() below) before the server sees the connection;
        // one that has not finished it in HANDSHAKE_TIMEOUT_MS is dropped.
        s.data = { client: null, queue: [], pending: 0, closeWhenDrained: false, closed: false };
        const st = s.data;
        st.handshakeTimer = setTimeout(() => {
          if (!st.closed) {
            st.closed = true;
            server.log("verbose", `Error accepting a TLS client connection from ${s.remoteAddress}: handshake timed out`);
            if (s.terminate) s.terminate();
            else s.end();
          }
        }, HANDSHAKE_TIMEOUT_MS);
        return;
      }
      start(s);
    },
    /** TLS: the handshake finished; apply tls-auth-clients, then hand the connection over. */
    handshake(s: BunSocket, success: boolean, error: { code?: string; message?: string } | null) {
      if (!tls) return;
      clearTimeout(s.data.handshakeTimer);
      const cert = tls.authClients === "no" ? null : s.getPeerCertificate?.();
      const present = !!cert && (!!cert.raw || cert.subject !== undefined);
      const v = tlsVerdict(tls, { certPresent: present, authorized: s.authorized === true, cn: present ? subjectCN(cert!.subject) : null });
      if (!success || "refuse" in v) {
        const why = !success || !("refuse" in v) ? error?.code ?? error?.message ?? "handshake failed" : v.refuse;
        server.log("verbose", `Error accepting a TLS client connection from ${s.remoteAddress}: ${why}`);
        s.data.closed = true;
        if (s.terminate) s.terminate();
        else s.end();
        return;
      }
      start(s, v);
    },
    data(s: BunSocket, d: Uint8Array) {
      s.data.client?.feed(d, true);
    },
    drain(s: BunSocket) {
      flushQueue(s);
      s.data.client?.checkOutputLimits();
    },
    close(s: BunSocket) {
      clearTimeout(s.data.handshakeTimer);
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
  listenTls(server: Server, host: string, port: number, t: TlsConfig): Promise<Listener> {
    const l = B.listen({
      hostname: host,
      port,
      tls: {
        cert: t.cert,
        key: t.key,
        ca: t.ca || undefined,
        requestCert: t.authClients !== "no",
        rejectUnauthorized: t.authClients === "yes",
        ciphers: t.ciphers || undefined,
      },
      socket: handlers(server, null, t),
    });
    // stop(false): stop accepting, keep the connections (a CONFIG SET swap must not drop them).
    return Promise.resolve({ address: formatAddress(host, l.port), port: l.port, close: async () => l.stop(false) });
  },
  tlsUnsupported(t: TlsConfig): string | null {
    if (t.protocolsSet) return "Bun.listen has no TLS protocol version options (tls-protocols)";
    if (t.preferServerCiphers) return "Bun.listen has no cipher order option (tls-prefer-server-ciphers)";
    return null;
  },
  serveHttp(fetch: FetchHandler, host: string, port: number, t?: TlsConfig, limits: HttpLimits = DEFAULT_HTTP_LIMITS): Promise<Listener> {
    const tls = t ? { cert: t.cert, key: t.key } : undefined;
    // Slowloris: Bun.serve (uWebSockets) closes a connection whose headers are not complete after
    // its own fixed ~10 s, and has one configurable timer, idleTimeout (whole seconds, at most
    // 255), checked in ticks of about 4 s: below 10 s it can cut a request whose handler is still
    // running (a held sign-in), so it is at least 10. Slow bodies are cut by the app itself
    // (admin-request-timeout, 408). Long-lived responses (the audit Server-Sent Events stream)
    // are exempted per request.
    const idleTimeout = Math.max(10, Math.min(255, Math.ceil(limits.headersTimeoutMs / 1000)));
    // deno-lint-ignore no-explicit-any
    const handler = async (req: Request, s: any) => {
      const res = await (fetch as (r: Request, env: unknown) => Response | Promise<Response>)(req, s);
      if ((res.headers.get("content-type") ?? "").startsWith("text/event-stream") && typeof s?.timeout === "function") s.timeout(req, 0);
      return res;
    };
    const srv = B.serve({ hostname: host, port, fetch: handler, tls, idleTimeout });
    return Promise.resolve({ address: formatAddress(host, srv.port), port: srv.port, close: async () => srv.stop(true) });
  },
};
