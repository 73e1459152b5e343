/**
 * The contract every transport adapter implements (transports/node.ts, deno.ts, bun.ts export
 * exactly these names): RESP over TCP and unix sockets, and the admin app over HTTP.
 * An adapter maps its runtime's sockets onto the core's Peer and does nothing else.
 */
import type { Server } from "../src/server.ts";

export interface Listener {
  /** "127.0.0.1:6379", "[::1]:6379" or a unix socket path. */
  readonly address: string;
  /** The bound TCP port (0 for unix sockets). */
  readonly port: number;
  close(): Promise<void>;
}

export type FetchHandler = (req: Request) => Response | Promise<Response>;

export interface Transport {
  readonly name: "node" | "deno" | "bun";
  listenTcp(server: Server, host: string, port: number): Promise<Listener>;
  /** Listen on a unix socket whose permissions are `perm` before any client can connect. */
  listenUnix(server: Server, path: string, perm: number): Promise<Listener>;
  serveHttp(fetch: FetchHandler, host: string, port: number): Promise<Listener>;
}

export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
