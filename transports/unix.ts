/**
 * Unix socket placement shared by the adapters: bind inside a private (0700) directory next to
 * the target, set the socket's mode, then rename it into place, so no client can connect
 * before the permissions hold.
 */
import { chmodSync, mkdtempSync, renameSync, rmSync, existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

export async function placeUnixSocket(path: string, perm: number, bind: (tmpPath: string) => Promise<void>): Promise<void> {
  if (existsSync(path)) {
    if (!statSync(path).isSocket()) throw new Error(`${path} exists and is not a socket`);
    rmSync(path);
  }
  const dir = mkdtempSync(join(dirname(path), ".aki-sock-"));
  chmodSync(dir, 0o700);
  const tmp = join(dir, "s");
  try {
    await bind(tmp);
    if (perm) chmodSync(tmp, perm);
    renameSync(tmp, path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
