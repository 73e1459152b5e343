/**
 * node:net / node:tls / node:http(s) transport (also usable under Deno and Bun with
 * --transport node, and used there automatically for TLS listeners the runtime's own TLS cannot
 * serve). Reads are handed to the client as they come (Node gives each read its own Buffer);
 * writes go straight to socket.write, whose queue length is the peer's pendingBytes.
 * TLS: the server sees a connection only after its handshake and the tls-auth-clients rule
 * (tlsVerdict); failed handshakes (plaintext on the TLS port, no or a bad client certificate)
 * are logged at verbose level and the socket destroyed.
 */
import net from "node:net";
import tls from "node:tls";
import https from "node:https";
import { serve } from "@hono/node-server";
import type { Server } from "../src/server.ts";
import type { Peer } from "../src/client.ts";
import { DEFAULT_HTTP_LIMITS, formatAddress, type FetchHandler, type HttpLimits, type Listener, type TlsConfig, type Transport } from "./types.ts";
import { placeUnixSocket } from "./unix.ts";
import { nodeCipherString, subjectCN, tlsVerdict } from "./tls.ts";

/** node:tls server options for a TlsConfig. */
export function nodeTlsOptions(t: TlsConfig, forClients = true): tls.TlsOptions {
  return {
    cert: t.cert,
    key: t.key,
    ca: t.ca || undefined,
    requestCert: forClients && t.authClients !== "no",
    // "optional" is checked after the handshake (a certificate, when sent, must verify).
    rejectUnauthorized: forClients && t.authClients === "yes",
    minVersion: t.minVersion,
    maxVersion: t.maxVersion,
    ciphers: nodeCipherString(t),
    honorCipherOrder: t.preferServerCiphers,
    handshakeTimeout: 30000,
  };
}

function attach(server: Server, sock: net.Socket, unixPath: string | null, peerTls?: { peerCN: string | null }): void {
  sock.setNoDelay(true);
  const peer: Peer = {
    write: (b) => void sock.write(b),
    // A string goes to the socket as is (Node writes latin1 strings without a JS Buffer).
    writeLatin1: (s) => void sock.write(s, "latin1"),
    close: () => void sock.end(),
    destroy: () => void sock.destroy(),
    get pendingBytes() {
      return sock.writableLength;
    },
    remoteAddress: unixPath ?? sock.remoteAddress ?? "",
    remotePort: sock.remotePort ?? 0,
    localAddress: unixPath ?? sock.localAddress ?? "",
    localPort: sock.localPort ?? 0,
    unix: unixPath !== null,
    tls: peerTls,
  };
  sock.on("error", () => {});
  const c = server.connect(peer);
  if (!c) {
    // Refused (maxclients...): free the descriptor now, as Redis does, once the error reached the
    // kernel (the kernel still sends it, then FIN). A burst of refusals must not hold descriptors
    // until each peer answers our FIN: that is how a full server runs out of them.
    if (sock.writableLength === 0) sock.destroy();
    else sock.destroySoon();
    return;
  }
  sock.on("data", (d: Buffer) => c.feed(d));
  sock.on("close", () => c.closed());
  sock.on("drain", () => c.checkOutputLimits());
}

function listen(srv: net.Server, opts: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(opts, () => {
      srv.off("error", reject);
      resolve();
    });
  });
}

function closer(srv: { close(cb?: (e?: Error) => void): unknown }): () => Promise<void> {
  return () => new Promise((resolve) => srv.close(() => resolve()));
}

export const transport: Transport = {
  name: "node",
  async listenTcp(server: Server, host: string, port: number): Promise<Listener> {
    const srv = net.createServer({ noDelay: true }, (s) => attach(server, s, null));
    await listen(srv, { host, port, backlog: 511 });
    const bound = (srv.address() as net.AddressInfo).port;
    return { address: formatAddress(host, bound), port: bound, close: closer(srv) };
  },
  async listenUnix(server: Server, path: string, perm: number): Promise<Listener> {
    const srv = net.createServer((s) => attach(server, s, path));
    await placeUnixSocket(path, perm, (tmp) => listen(srv, { path: tmp }));
    return { address: path, port: 0, close: closer(srv) };
  },
  async listenTls(server: Server, host: string, port: number, t: TlsConfig): Promise<Listener> {
    const srv = tls.createServer(nodeTlsOptions(t), (s) => {
      const cert = t.authClients === "no" ? null : s.getPeerCertificate();
      const present = !!cert && (!!cert.raw || Object.keys(cert).length > 0);
      const v = tlsVerdict(t, { certPresent: present, authorized: s.authorized, cn: present ? subjectCN(cert!.subject) : null });
      if ("refuse" in v) {
        server.log("verbose", `Error accepting a TLS client connection from ${s.remoteAddress}:${s.remotePort}: ${v.refuse}`);
        s.destroy();
        return;
      }
      attach(server, s, null, v);
    });
    srv.on("connection", (s: net.Socket) => s.setNoDelay(true));
    srv.on("tlsClientError", (e: Error & { code?: string }, s: tls.TLSSocket) => {
      server.log("verbose", `Error accepting a TLS client connection from ${s?.remoteAddress ?? "?"}: ${e.code ?? e.message}`);
      s?.destroy();
    });
    await listen(srv, { host, port, backlog: 511 });
    const bound = (srv.address() as net.AddressInfo).port;
    return {
      address: formatAddress(host, bound),
      port: bound,
      // Stop accepting; accepted connections are the server's (a CONFIG SET swap keeps them).
      close: async () => void srv.close(),
    };
  },
  tlsUnsupported(): string | null {
    return null;
  },
  serveHttp(fetch: FetchHandler, host: string, port: number, t?: TlsConfig, limits: HttpLimits = DEFAULT_HTTP_LIMITS): Promise<Listener> {
    return new Promise((resolve, reject) => {
      // Slowloris: node:http closes a connection whose headers (headersTimeout) or whole request
      // (requestTimeout) take too long, answering 408; it looks every connectionsCheckingInterval.
      const timeouts = {
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs),
        connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
        keepAliveTimeout: 5000,
      };
      const secure = t
        ? { createServer: https.createServer, serverOptions: { ...nodeTlsOptions(t, false), ...timeouts } }
        : { serverOptions: timeouts };
      const srv = serve({ fetch, hostname: host, port, ...secure }, (info) => {
        resolve({ address: formatAddress(host, info.port), port: info.port, close: closer(srv) });
      });
      srv.once("error", reject);
    });
  },
};
