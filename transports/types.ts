/**
 * The contract every transport adapter implements (transports/node.ts, deno.ts, bun.ts export
 * exactly these names): RESP over TCP, TLS and unix sockets, and the admin app over HTTP(S).
 * An adapter maps its runtime's sockets onto the core's Peer and does nothing else.
 *
 * TLS: `listenTls` hands a connection to the server only after its handshake succeeded and
 * the client-certificate rule of {@link TlsConfig.authClients} holds (see tlsVerdict in
 * transports/tls.ts); anything else (plaintext on the TLS port, a missing or untrusted client
 * certificate) is closed without reaching the server. `tlsUnsupported` says when the runtime's
 * own TLS cannot honour a configuration; the caller then uses the node:tls adapter instead.
 */
import type { Server } from "../src/server.ts";

export interface Listener {
  /** "127.0.0.1:6379", "[::1]:6379" or a unix socket path. */
  readonly address: string;
  /** The bound TCP port (0 for unix sockets). */
  readonly port: number;
  close(): Promise<void>;
}

export type TlsVersion = "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";

/** Checked, in-memory TLS settings (built from the tls-* directives by transports/tls.ts). */
export interface TlsConfig {
  /** PEM certificate chain. */
  cert: string;
  /** PEM private key, already decrypted (tls-key-file-pass is applied when loading). */
  key: string;
  /** PEM bundle of trusted CAs for client certificates ("" = none). */
  ca: string;
  /** no: no client certificate asked; optional: asked, and verified when sent; yes: required. */
  authClients: "no" | "optional" | "yes";
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  /** tls-protocols was set (anything but the default TLSv1.2 + TLSv1.3 range). */
  protocolsSet: boolean;
  /** OpenSSL cipher list for TLS <= 1.2 ("" = the runtime's default). */
  ciphers: string;
  /** TLS 1.3 cipher suites ("" = the runtime's default). */
  ciphersuites: string;
  preferServerCiphers: boolean;
}

export type FetchHandler = (req: Request) => Response | Promise<Response>;

export interface Transport {
  readonly name: "node" | "deno" | "bun";
  listenTcp(server: Server, host: string, port: number): Promise<Listener>;
  /** Listen on a unix socket whose permissions are `perm` before any client can connect. */
  listenUnix(server: Server, path: string, perm: number): Promise<Listener>;
  /** RESP over TLS. Handshake failures are logged at verbose level and the socket is closed. */
  listenTls(server: Server, host: string, port: number, tls: TlsConfig): Promise<Listener>;
  /** Why this runtime's own TLS cannot serve `tls` as configured (null: it can). */
  tlsUnsupported(tls: TlsConfig): string | null;
  /**
   * The admin app; over HTTPS with tls's certificate and key when tls is given. `limits` bound
   * slow clients (slowloris): a connection whose request headers are not complete within
   * headersTimeoutMs, or whose whole request (headers and body) is not within requestTimeoutMs,
   * is closed (defaults {@link DEFAULT_HTTP_LIMITS}).
   */
  serveHttp(fetch: FetchHandler, host: string, port: number, tls?: TlsConfig, limits?: HttpLimits): Promise<Listener>;
}

/** Slow-client limits of the admin HTTP server (the admin-headers-timeout / admin-request-timeout directives). */
export interface HttpLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = { headersTimeoutMs: 10000, requestTimeoutMs: 30000 };

export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
