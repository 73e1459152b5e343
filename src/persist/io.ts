/**
 * Low-level file I/O for the data file: the injectable sync calls the store writes through
 * (so tests can simulate ENOSPC/EFBIG/EIO), full-length positional writes, directory fsync,
 * and strerror-style descriptions of I/O errors that read the same on Node, Deno and Bun.
 */
import * as fs from "node:fs";
import { Buffer } from "node:buffer";

/** The write-side calls FilePersistence makes; each throws a Node-style error (with `code`). */
export interface FileIo {
  /** Positional write; returns bytes written (may be short). */
  writeSync(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  fdatasyncSync(fd: number): void;
  ftruncateSync(fd: number, length: number): void;
}

/** The real thing: node:fs. */
export const nodeFileIo: FileIo = {
  writeSync: (fd, buf, offset, length, position) => fs.writeSync(fd, buf, offset, length, position),
  fdatasyncSync: (fd) => fs.fdatasyncSync(fd),
  ftruncateSync: (fd, length) => fs.ftruncateSync(fd, length),
};

/** Runs of small buffers are joined into writes of at most this many bytes. */
const COALESCE_BYTES = 1 << 20;

const STRERROR: Record<string, string> = {
  ENOSPC: "No space left on device",
  EFBIG: "File too large",
  EIO: "Input/output error",
  EDQUOT: "Disk quota exceeded",
  EROFS: "Read-only file system",
  EBADF: "Bad file descriptor",
  EACCES: "Permission denied",
  EPERM: "Operation not permitted",
  ENOENT: "No such file or directory",
  EISDIR: "Is a directory",
  ENOTDIR: "Not a directory",
  EEXIST: "File exists",
  EMFILE: "Too many open files",
  ENFILE: "Too many open files in system",
  ENAMETOOLONG: "File name too long",
  ELOOP: "Too many levels of symbolic links",
  EINVAL: "Invalid argument",
};

/**
 * errno values that are the same on Linux, macOS and the BSDs, for errors that carry only an
 * "(os error N)" message and no code (Deno's writeSync reports EFBIG/ENOSPC that way).
 */
const ERRNO: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  5: "EIO",
  9: "EBADF",
  13: "EACCES",
  17: "EEXIST",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  27: "EFBIG",
  28: "ENOSPC",
  30: "EROFS",
};

const OS_ERROR = /\s*\(os error (\d+)\)$/;

/**
 * The error's code ("ENOSPC"): its `code` property, else one derived from an "(os error N)"
 * message suffix; "" when neither is there.
 */
export function errorCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string") return code;
  const m = e instanceof Error ? OS_ERROR.exec(e.message) : null;
  return m ? (ERRNO[Number(m[1])] ?? "") : "";
}

/**
 * A one-line description of an I/O error, as strerror(3) words it ("No space left on device")
 * when its code is known, else its message without a runtime's "(os error N)" suffix.
 * Runtimes word messages differently; this reads the same on all three.
 */
export function describeIoError(e: unknown): string {
  const known = STRERROR[errorCode(e)];
  if (known) return known;
  if (e instanceof Error) return e.message.replace(OS_ERROR, "");
  return String(e);
}

/**
 * Write all of buf at file offset `position`, looping over short writes.
 * Throws the underlying error; a write that makes no progress throws an EIO-coded Error.
 */
export function writeFully(io: FileIo, fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = io.writeSync(fd, buf, done, buf.length - done, position + done);
    if (!(n > 0)) throw Object.assign(new Error("write made no progress"), { code: "EIO" });
    done += n;
  }
}

/**
 * Write the buffers back to back starting at `position`, joining runs of small ones so a batch
 * of many records costs few syscalls. Returns the end offset. Throws the first I/O error
 * (bytes before the failure may be on disk: the caller truncates).
 */
export function writeBuffers(io: FileIo, fd: number, bufs: readonly Buffer[], position: number): number {
  let i = 0;
  while (i < bufs.length) {
    let j = i + 1;
    let bytes = bufs[i].length;
    while (j < bufs.length && bytes + bufs[j].length <= COALESCE_BYTES) bytes += bufs[j++].length;
    writeFully(io, fd, j - i === 1 ? bufs[i] : Buffer.concat(bufs.slice(i, j), bytes), position);
    position += bytes;
    i = j;
  }
  return position;
}

/**
 * fsync a directory so a rename or create inside it is durable. Best effort: platforms and
 * filesystems that cannot open or fsync a directory make this a no-op (never throws).
 */
export function fsyncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Not supported here; the rename itself still happened.
  } finally {
    if (fd !== null) {
      try {
        fs.closeSync(fd);
      } catch {
        // ignore
      }
    }
  }
}

/** fdatasync off the event loop (for large files). Rejects with the underlying error. */
export function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * Read exactly `length` bytes at `position` into a new Buffer.
 * Throws an Error with code "EOF" when the file ends first, or the underlying read error.
 */
export function readExactly(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  readInto(fd, buf, 0, length, position);
  return buf;
}

/** Fill buf[offset, offset+length) from file offset `position`; errors as {@link readExactly}. */
export function readInto(fd: number, buf: Uint8Array, offset: number, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, offset + done, length - done, position + done);
    if (n <= 0) {
      throw Object.assign(new Error(`unexpected end of file at offset ${position + done}`), { code: "EOF" });
    }
    done += n;
  }
}
