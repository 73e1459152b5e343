/**
 * FilePersistence: the durable single-file store (`--dbfile FILE`).
 *
 * ## File format (version 1; all integers little-endian)
 *
 *   header   8 bytes: "AKI1" (41 4B 49 31), u32 format version = 1
 *   record*  u32 N (payload length) | u32 crc32(payload) (IEEE, as zlib) | payload (N bytes)
 *   payload  u8 kind | varint entryCount (>= 1) | entryCount x entry
 *   entry    varint db | varint argc | argc x (varint len | len bytes)
 *   varint   unsigned LEB128, at most 5 bytes, value < 2^32
 *   kind     1 = journal record (one applied write, or a MULTI/EXEC group: replayed whole)
 *            2 = snapshot record (written by compaction; replayed the same way)
 *
 * A file holds: header, then (after a compaction) snapshot records, then journal records in
 * the order they were applied. Replay applies every record in file order. Compaction writes a
 * complete new file beside the old one and renames it over it, so no begin/end markers are
 * needed: a reader only ever sees the old generation or the new one. The temp file is
 * `FILE.compact.tmp`; open() deletes a stale one left by a crash (it is never loaded).
 *
 * ## Torn tail vs damage (open() and checkFile() apply the same rule)
 *
 * Records are read from offset 8. At the first record that is bad (fewer than 8 bytes left,
 * a declared length reaching past the end of the file, a length under 4, or a checksum
 * mismatch), starting at offset P:
 *   - it is a TORN TAIL (an append cut short by a crash; open() truncates the file to P and
 *     logs "FILE: torn record at offset P ...") when
 *       (a) fewer than 8 bytes remain after P, or
 *       (b) its declared end lies past the end of the file and no complete record (payload
 *           parses, checksum matches) starts anywhere after P (else the length field itself
 *           is damaged: a torn tail would silently drop the records behind it), or
 *       (c) it ends exactly at the end of the file (length < 4 or checksum mismatch), or
 *       (d) every byte from P to the end of the file is zero (space allocated, never written);
 *   - otherwise it is DAMAGE: a bad record lying wholly inside the file with more bytes after
 *     it. open() refuses to load ("FILE: damaged record at offset P ...") and changes nothing.
 * A record whose checksum matches but whose payload does not parse (unknown kind, bad counts,
 * trailing bytes) is always damage: a torn write cannot produce a matching checksum.
 * A file shorter than 8 bytes that is a prefix of the header (including an empty file), or
 * one of at most 8 bytes that are all zero, is a store whose creation was interrupted: it
 * opens as an empty store (header rewritten). Any
 * other header is refused ("not an aki data file", "unsupported format version").
 *
 * ## Writing
 *
 * append() encodes the record into memory. commit() joins a flush scheduled with setImmediate,
 * so every commit() of one event-loop turn shares one positional write (and, with "always",
 * one fdatasync) at the end of the last good record. A failed write or fsync truncates the
 * file back to that length, keeps the records queued, marks the store failed and rejects the
 * commits with "MISCONF Errors writing to the AOF file: <strerror>"; the next commit, or the
 * 1 s timer, retries (write + fdatasync) and clears the failure when it succeeds. "everysec"
 * fdatasyncs from that timer when bytes were written since the last sync; "no" never does
 * (close() still does). The timer is unref'd and cleared by close().
 */
import * as fs from "node:fs";
import * as nodePath from "node:path";
import { Buffer } from "node:buffer";
import { clearInterval, setImmediate, setInterval } from "node:timers";
import {
  checkHeader,
  encodeRecord,
  HEADER_SIZE,
  headerBytes,
  KIND_JOURNAL,
  KIND_SNAPSHOT,
  payloadSize,
  RECORD_HEADER_SIZE,
  scanRecords,
  writeRecord,
} from "./format.ts";
import {
  describeIoError,
  errorCode,
  fdatasyncAsync,
  type FileIo,
  fsyncDir,
  nodeFileIo,
  readExactly,
  writeBuffers,
  writeFully,
} from "./io.ts";
import { FSYNC_POLICIES, type FsyncPolicy, type JournalRecord, type Persistence, type PersistStats } from "./types.ts";

/** Suffix of the compaction temp file, created in the data file's directory. */
export const COMPACT_TEMP_SUFFIX = ".compact.tmp";
/** Compaction writes about this many bytes (or SLICE_RECORDS records) per event-loop turn. */
const SLICE_BYTES = 1 << 20;
const SLICE_RECORDS = 4096;
/** Period of the everysec fsync and of retries after a failed write. */
const TIMER_MS = 1000;
/**
 * The pending-record buffer starts at PENDING_INITIAL bytes and grows by doubling; after a
 * write it goes back to that size if it grew past PENDING_KEEP.
 */
const PENDING_INITIAL = 64 * 1024;
const PENDING_KEEP = 4 * 1024 * 1024;

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

/** State of a running compaction. */
interface Rewrite {
  /** Temp file descriptor, -1 once closed. */
  fd: number;
  /** Journal records appended since the compaction started, for the new file's tail. */
  buffer: Buffer[];
  bufferBytes: number;
  /** Set by close(): the compaction stops at its next step and removes its temp file. */
  aborted: boolean;
  /** An async fdatasync on fd is in flight (close() must leave fd to the compaction). */
  syncing: boolean;
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function checkPolicy(p: FsyncPolicy): void {
  if (!FSYNC_POLICIES.includes(p)) throw new TypeError(`invalid fsync policy '${String(p)}'`);
}

export class FilePersistence implements Persistence {
  /** The data file. */
  readonly path: string;
  /** The compaction temp file (same directory). */
  readonly tempPath: string;
  private policy: FsyncPolicy;
  private readonly io: FileIo;
  private fd: number | null = null;
  /** End of the last complete record on disk: where the next write goes. */
  private goodLength = 0;
  private recordCount = 0;
  /**
   * Records appended since the last write, encoded back to back in one reused buffer
   * (pending[0, pendingBytes)): no allocation per record, one write per commit.
   */
  private pending: Buffer = Buffer.allocUnsafe(PENDING_INITIAL);
  private pendingBytes = 0;
  private pendingRecords = 0;
  private waiters: Waiter[] = [];
  private flushScheduled = false;
  /** Bytes written since the last fdatasync. */
  private dirty = false;
  private failedState = false;
  private lastError: string | null = null;
  private rewrite: Rewrite | null = null;
  private lastRewriteOk = true;
  private baseSize = 0;
  private lastSaveTime = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** fdatasyncs of the data file (stats). */
  private fsyncs = 0;

  /**
   * @param path the data file (created with mode 0600 by open() when missing)
   * @param policy fsync policy (default "everysec"); throws a TypeError when unknown
   * @param io the write-side file calls (tests inject failures here); defaults to node:fs
   */
  constructor(path: string, policy: FsyncPolicy = "everysec", io: FileIo = nodeFileIo) {
    checkPolicy(policy);
    this.path = path;
    this.tempPath = path + COMPACT_TEMP_SUFFIX;
    this.policy = policy;
    this.io = io;
  }

  get failed(): boolean {
    return this.failedState;
  }

  /** See {@link Persistence.open}; the torn-tail rule is in this file's header. */
  open(apply: (rec: JournalRecord) => void, log: (line: string) => void): void {
    if (this.fd !== null) throw new Error(`${this.path}: store is already open`);
    this.removeStaleTemp(log);
    let fd: number;
    let created = false;
    try {
      fd = fs.openSync(this.path, "r+");
    } catch (e) {
      if (errorCode(e) !== "ENOENT") throw new Error(`${this.path}: cannot open: ${describeIoError(e)}`);
      try {
        fd = fs.openSync(this.path, "wx", 0o600);
        created = true;
      } catch (e2) {
        throw new Error(`${this.path}: cannot create: ${describeIoError(e2)}`);
      }
    }
    let length: number;
    let records = 0;
    try {
      const size = fs.fstatSync(fd).size;
      const head = size <= HEADER_SIZE ? readExactly(fd, 0, size) : null;
      if (head !== null && (size < HEADER_SIZE || checkHeader(head) === "partial")) {
        const verdict = checkHeader(head);
        if (verdict !== "partial") throw new Error(`${this.path}: ${verdict}`);
        if (size > 0) log(`${this.path}: torn header (${size} of ${HEADER_SIZE} bytes); starting an empty store`);
        this.writeHeader(fd);
        if (created) fsyncDir(nodePath.dirname(nodePath.resolve(this.path)));
        length = HEADER_SIZE;
      } else {
        const verdict = checkHeader(readExactly(fd, 0, HEADER_SIZE));
        if (verdict !== "ok") throw new Error(`${this.path}: ${verdict}`);
        const scan = this.scan(fd, size, apply);
        if (scan.state === "damaged") {
          throw new Error(
            `${this.path}: damaged record at offset ${scan.validLength} (${scan.reason}); ` +
              `${size - scan.validLength} bytes follow the last good record. Refusing to load: ` +
              `inspect with "aki check ${this.path}"`,
          );
        }
        if (scan.state === "torn") {
          log(
            `${this.path}: torn record at offset ${scan.validLength} (${scan.reason}); ` +
              `truncating the file from ${size} to ${scan.validLength} bytes`,
          );
          try {
            this.io.ftruncateSync(fd, scan.validLength);
            this.io.fdatasyncSync(fd);
          } catch (e) {
            throw new Error(`${this.path}: cannot truncate the torn tail: ${describeIoError(e)}`);
          }
        }
        length = scan.validLength;
        records = scan.records;
      }
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    this.fd = fd;
    this.goodLength = length;
    this.recordCount = records;
    this.baseSize = length;
    this.lastSaveTime = nowSeconds();
    this.clearPending();
    this.dirty = false;
    this.failedState = false;
    this.lastError = null;
    this.timer = setInterval(this.tick, TIMER_MS);
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Replay; read errors are reported with the file name, apply's errors pass through. */
  private scan(fd: number, size: number, apply: (rec: JournalRecord) => void) {
    let applying = false;
    try {
      return scanRecords(fd, size, HEADER_SIZE, (rec) => {
        applying = true;
        apply(rec);
        applying = false;
      });
    } catch (e) {
      if (applying) throw e;
      throw new Error(`${this.path}: read error: ${describeIoError(e)}`);
    }
  }

  private writeHeader(fd: number): void {
    try {
      this.io.ftruncateSync(fd, 0);
      writeFully(this.io, fd, headerBytes(), 0);
      this.io.fdatasyncSync(fd);
    } catch (e) {
      throw new Error(`${this.path}: cannot write the header: ${describeIoError(e)}`);
    }
  }

  private removeStaleTemp(log: (line: string) => void): void {
    try {
      fs.unlinkSync(this.tempPath);
      log(`${this.path}: removed ${this.tempPath} left by an interrupted compaction`);
    } catch (e) {
      if (errorCode(e) !== "ENOENT") log(`${this.path}: cannot remove ${this.tempPath}: ${describeIoError(e)}`);
    }
  }

  append(rec: JournalRecord): void {
    if (this.fd === null) throw new Error(`${this.path}: store is not open`);
    if (rec.length === 0) return;
    const size = payloadSize(rec);
    const at = this.pendingBytes;
    const end = at + RECORD_HEADER_SIZE + size;
    if (end > this.pending.length) {
      const grown = Buffer.allocUnsafe(Math.max(end, this.pending.length * 2));
      this.pending.copy(grown, 0, 0, at);
      this.pending = grown;
    }
    writeRecord(KIND_JOURNAL, rec, size, this.pending, at);
    this.pendingBytes = end;
    this.pendingRecords++;
    const rw = this.rewrite;
    if (rw) {
      rw.buffer.push(Buffer.from(this.pending.subarray(at, end)));
      rw.bufferBytes += end - at;
    }
  }

  /** Forget the pending records (written, or covered by a compacted file); a buffer that grew large is let go. */
  private clearPending(): void {
    this.pendingBytes = 0;
    this.pendingRecords = 0;
    if (this.pending.length > PENDING_KEEP) this.pending = Buffer.allocUnsafe(PENDING_INITIAL);
  }

  commit(): Promise<void> {
    if (this.fd === null) return Promise.reject(new Error(`${this.path}: store is not open`));
    if (this.pendingRecords === 0 && !this.failedState) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.runFlush);
      }
    });
  }

  /** The group commit: one flush for every waiter gathered since it was scheduled. */
  private runFlush = (): void => {
    this.flushScheduled = false;
    if (this.fd === null) return; // close() settled the waiters
    const waiters = this.waiters;
    this.waiters = [];
    const err = this.flush();
    for (const w of waiters) {
      if (err) w.reject(err);
      else w.resolve();
    }
  };

  /**
   * Write the queued records at goodLength (fdatasync with "always" or when retrying after
   * a failure). On error: truncate back to goodLength, keep the queue, mark failed, return
   * the MISCONF error. Returns null on success.
   */
  private flush(): Error | null {
    const fd = this.fd;
    if (fd === null) return null;
    if (this.pendingRecords === 0 && !this.failedState) return null;
    const sync = this.policy === "always" || this.failedState;
    const records = this.pendingRecords;
    const bytes = this.pendingBytes;
    try {
      if (bytes > 0) writeFully(this.io, fd, this.pending.subarray(0, bytes), this.goodLength);
      if (sync) {
        this.io.fdatasyncSync(fd);
        this.fsyncs++;
      }
    } catch (e) {
      try {
        this.io.ftruncateSync(fd, this.goodLength);
      } catch {
        // The next successful write overwrites the same bytes; a crash leaves a torn tail.
      }
      return this.fail(e);
    }
    this.clearPending();
    this.goodLength += bytes;
    this.recordCount += records;
    this.dirty = !sync && (this.dirty || bytes > 0);
    this.failedState = false;
    this.lastError = null;
    return null;
  }

  private fail(e: unknown): Error {
    this.failedState = true;
    this.lastError = describeIoError(e);
    return new Error(`MISCONF Errors writing to the AOF file: ${this.lastError}`);
  }

  /** Every second: retry after a failure, or fdatasync for "everysec". */
  private tick = (): void => {
    const fd = this.fd;
    if (fd === null) return;
    if (this.failedState) {
      this.flush();
      return;
    }
    if (this.policy === "everysec" && this.dirty) this.syncNow(fd);
  };

  private syncNow(fd: number): void {
    try {
      this.io.fdatasyncSync(fd);
      this.fsyncs++;
      this.dirty = false;
    } catch (e) {
      this.fail(e);
    }
  }

  /** The current fsync policy. */
  getPolicy(): FsyncPolicy {
    return this.policy;
  }

  setPolicy(p: FsyncPolicy): void {
    checkPolicy(p);
    this.policy = p;
    if (p === "always" && this.dirty && this.fd !== null) this.syncNow(this.fd);
  }

  async compact(snapshot: () => Iterable<JournalRecord>): Promise<void> {
    if (this.fd === null) throw new Error(`${this.path}: store is not open`);
    if (this.rewrite) throw new Error("ERR Background append only file rewriting already in progress");
    const rw: Rewrite = { fd: -1, buffer: [], bufferBytes: 0, aborted: false, syncing: false };
    this.rewrite = rw;
    try {
      const source = snapshot();
      rw.fd = this.openTemp();
      let pos = HEADER_SIZE;
      let records = 0;
      writeFully(this.io, rw.fd, headerBytes(), 0);
      let slice: Buffer[] = [];
      let sliceBytes = 0;
      for (const rec of source) {
        if (rec.length === 0) continue;
        const buf = encodeRecord(KIND_SNAPSHOT, rec);
        slice.push(buf);
        sliceBytes += buf.length;
        records++;
        if (sliceBytes >= SLICE_BYTES || slice.length >= SLICE_RECORDS) {
          pos = writeBuffers(this.io, rw.fd, slice, pos);
          slice = [];
          sliceBytes = 0;
          await nextTurn();
          this.checkAborted(rw);
        }
      }
      pos = writeBuffers(this.io, rw.fd, slice, pos);
      // Copy what was appended meanwhile, a slice per turn, until little is left.
      while (rw.bufferBytes >= SLICE_BYTES) {
        const taken = rw.buffer;
        rw.buffer = [];
        rw.bufferBytes = 0;
        pos = writeBuffers(this.io, rw.fd, taken, pos);
        records += taken.length;
        await nextTurn();
        this.checkAborted(rw);
      }
      // The long fsync runs off the event loop; the final one below covers only the rest.
      rw.syncing = true;
      await fdatasyncAsync(rw.fd);
      rw.syncing = false;
      this.checkAborted(rw);
      // Final step, synchronous: nothing can be appended until the switch is complete.
      pos = writeBuffers(this.io, rw.fd, rw.buffer, pos);
      records += rw.buffer.length;
      this.io.fdatasyncSync(rw.fd);
      fs.renameSync(this.tempPath, this.path);
      const oldFd = this.fd as number;
      this.fd = rw.fd;
      rw.fd = -1;
      try {
        fs.closeSync(oldFd);
      } catch {
        // Nothing left to lose: the old generation is no longer reachable.
      }
      fsyncDir(nodePath.dirname(nodePath.resolve(this.path)));
      // Every queued record is in the new file: either in the snapshot (appended before
      // compaction began) or in its tail (appended since), and the new file is fsynced.
      this.clearPending();
      this.goodLength = pos;
      this.baseSize = pos;
      this.recordCount = records;
      this.dirty = false;
      this.failedState = false;
      this.lastError = null;
      this.lastRewriteOk = true;
      this.lastSaveTime = nowSeconds();
    } catch (e) {
      this.lastRewriteOk = false;
      rw.syncing = false;
      this.discardTemp(rw);
      if (rw.aborted) throw new Error(`${this.path}: compaction aborted: the store was closed`);
      if (errorCode(e) !== "") throw new Error(`${this.path}: compaction failed: ${describeIoError(e)}`);
      throw e;
    } finally {
      if (this.rewrite === rw) this.rewrite = null;
    }
  }

  private openTemp(): number {
    const fd = fs.openSync(this.tempPath, "w", 0o600);
    try {
      fs.fchmodSync(fd, 0o600); // an existing temp file keeps its old mode otherwise
    } catch {
      // Not supported on this platform: the create mode above applies.
    }
    return fd;
  }

  private checkAborted(rw: Rewrite): void {
    if (rw.aborted) throw new Error("aborted");
  }

  /** Close and delete the temp file (idempotent; never throws). */
  private discardTemp(rw: Rewrite): void {
    if (rw.fd < 0 || rw.syncing) return;
    try {
      fs.closeSync(rw.fd);
    } catch {
      // ignore
    }
    rw.fd = -1;
    try {
      fs.unlinkSync(this.tempPath);
    } catch {
      // ignore
    }
  }

  shouldCompact(percentage: number, minSize: number): boolean {
    if (!(percentage > 0) || this.rewrite !== null || this.fd === null) return false;
    if (this.goodLength < minSize) return false;
    const base = this.baseSize > 0 ? this.baseSize : 1;
    return ((this.goodLength - base) * 100) / base >= percentage;
  }

  stats(): PersistStats {
    return {
      enabled: true,
      fileSize: this.goodLength,
      baseSize: this.baseSize,
      lastWriteOk: !this.failedState,
      lastError: this.lastError,
      rewriteInProgress: this.rewrite !== null,
      lastRewriteOk: this.lastRewriteOk,
      lastSaveTime: this.lastSaveTime,
      records: this.recordCount,
      fsyncs: this.fsyncs,
    };
  }

  close(): void {
    const fd = this.fd;
    if (fd === null) return;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const rw = this.rewrite;
    if (rw) {
      rw.aborted = true;
      this.discardTemp(rw);
    }
    let err = this.flush();
    if (!err && this.dirty) {
      this.syncNow(fd);
      if (this.failedState) err = new Error(`MISCONF Errors writing to the AOF file: ${this.lastError}`);
    }
    this.fd = null;
    try {
      fs.closeSync(fd);
    } catch {
      // The descriptor is gone either way.
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      if (err) w.reject(err);
      else w.resolve();
    }
    if (err) throw err;
  }
}
