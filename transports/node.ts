/**
 * node:net / node:http transport (also usable under Deno and Bun with --transport node).
 * Reads are handed to the client as they come (Node gives each read its own Buffer);
 * writes go straight to socket.write, whose queue length is the peer's pendingBytes.
 */
import net from "node:net";
import { serve } from "@hono/node-server";
import type { Server } from "../src/server.ts";
import type { Peer } from "../src/client.ts";
import { formatAddress, type FetchHandler, type Listener, type Transport } from "./types.ts";
import { placeUnixSocket } from "./unix.ts";

function attach(server: Server, sock: net.Socket, unixPath: string | null): void {
  sock.setNoDelay(true);
  const peer: Peer = {
    write: (b) => void sock.write(b),
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
  };
  sock.on("error", () => {});
  const c = server.connect(peer);
  if (!c) return;
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
  serveHttp(fetch: FetchHandler, host: string, port: number): Promise<Listener> {
    return new Promise((resolve, reject) => {
      const srv = serve({ fetch, hostname: host, port }, (info) => {
        resolve({ address: formatAddress(host, info.port), port: info.port, close: closer(srv) });
      });
      srv.once("error", reject);
    });
  },
};
