/**
 * The single-writer lock of a data file: one aki server per `--dbfile`.
 *
 * The lock is a kernel object, not a pid file: on Linux, a unix socket bound to a name in the
 * abstract namespace ("\0aki-dbfile-lock:" + sha256 of the file's resolved path). The kernel
 * refuses a second bind of the same name (EADDRINUSE) and drops the name when the process
 * ends, however it ends (kill -9 included), so a crash never leaves a stale lock behind.
 * node:net binds abstract names under Node, Deno and Bun alike, so servers on different
 * runtimes exclude each other too. The socket never accepts a connection: anything that
 * connects is closed at once.
 *
 * Scope: the name is derived from the path with symlinked directories resolved, so two
 * spellings of one path share a lock (hard links do not). The abstract namespace belongs to
 * the network namespace: servers in different network namespaces (containers) sharing a volume
 * do not see each other's lock. Other platforms have no abstract namespace: there the lock is
 * not taken (acquireDbfileLock returns "unsupported").
 */
import net from "node:net";
import os from "node:os";
import { createHash } from "node:crypto";
import { realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

export interface HeldLock {
  /** The abstract socket name, without the leading NUL (for messages). */
  readonly name: string;
  release(): void;
}

/** The file's path with symlinks resolved (its directory's when the file does not exist yet). */
export function canonicalPath(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    try {
      return join(realpathSync(dirname(abs)), basename(abs));
    } catch {
      return abs;
    }
  }
}

/** The abstract socket name of a data file's lock (without the leading NUL). */
export function lockName(path: string): string {
  return "aki-dbfile-lock:" + createHash("sha256").update(canonicalPath(path)).digest("hex");
}

/**
 * Take the lock of data file `path`: the held lock, "busy" when another live process holds
 * it, or "unsupported" on platforms without abstract unix sockets. Other errors reject.
 */
export function acquireDbfileLock(path: string): Promise<HeldLock | "busy" | "unsupported"> {
  if (os.platform() !== "linux") return Promise.resolve("unsupported");
  const name = lockName(path);
  return new Promise((resolvePromise, reject) => {
    const srv = net.createServer((sock) => sock.destroy());
    srv.once("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EADDRINUSE") resolvePromise("busy");
      else reject(e);
    });
    srv.listen("\0" + name, () => {
      (srv as { unref?: () => void }).unref?.();
      resolvePromise({
        name,
        release: () => {
          try {
            srv.close();
          } catch {
            // already closed
          }
        },
      });
    });
  });
}
