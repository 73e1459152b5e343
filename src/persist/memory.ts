/**
 * MemoryPersistence: the store for `--dbfile :memory:` (nothing survives the process) and the
 * reference implementation the conformance tests hold FilePersistence to.
 *
 * It keeps its records across close()/open() within one process, so a closed instance can be
 * reopened to replay them (this is how tests imitate a restart). Writes never fail: `failed`
 * is always false and commit() always resolves while open. fileSize/baseSize report the size
 * the same records would occupy in a data file, so shouldCompact() behaves as it does there.
 * stats().enabled is false: nothing reaches a disk.
 */
import { setImmediate } from "node:timers";
import { HEADER_SIZE, recordSize } from "./format.ts";
import { FSYNC_POLICIES, type FsyncPolicy, type JournalRecord, type Persistence, type PersistStats } from "./types.ts";

/** Compaction consumes the snapshot in slices of this many records per event-loop turn. */
const SLICE_RECORDS = 4096;

interface Rewrite {
  buffer: JournalRecord[];
  bufferBytes: number;
  aborted: boolean;
}

function copyRecord(rec: JournalRecord): JournalRecord {
  return rec.map((e) => ({ db: e.db, argv: e.argv.slice() }));
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class MemoryPersistence implements Persistence {
  private records: JournalRecord[] = [];
  private size = HEADER_SIZE;
  private baseSize = HEADER_SIZE;
  private opened = false;
  private policy: FsyncPolicy;
  private rewrite: Rewrite | null = null;
  private lastRewriteOk = true;
  private lastSaveTime = 0;

  /** @param policy recorded only (there is nothing to fsync); throws a TypeError when unknown */
  constructor(policy: FsyncPolicy = "everysec") {
    this.policy = checkPolicy(policy);
  }

  get failed(): boolean {
    return false;
  }

  /** Replays the records kept so far (none for a new instance); throws when already open. */
  open(apply: (rec: JournalRecord) => void, _log: (line: string) => void): void {
    if (this.opened) throw new Error(":memory: store is already open");
    for (const rec of this.records) apply(copyRecord(rec));
    this.opened = true;
    this.baseSize = this.size;
    this.lastSaveTime = Math.floor(Date.now() / 1000);
  }

  append(rec: JournalRecord): void {
    if (!this.opened) throw new Error(":memory: store is not open");
    if (rec.length === 0) return;
    const bytes = recordSize(rec);
    const copy = copyRecord(rec);
    this.records.push(copy);
    this.size += bytes;
    const rw = this.rewrite;
    if (rw) {
      rw.buffer.push(copy);
      rw.bufferBytes += bytes;
    }
  }

  commit(): Promise<void> {
    if (!this.opened) return Promise.reject(new Error(":memory: store is not open"));
    return Promise.resolve();
  }

  setPolicy(p: FsyncPolicy): void {
    this.policy = checkPolicy(p);
  }

  /** Current policy (informational). */
  getPolicy(): FsyncPolicy {
    return this.policy;
  }

  async compact(snapshot: () => Iterable<JournalRecord>): Promise<void> {
    if (!this.opened) throw new Error(":memory: store is not open");
    if (this.rewrite) throw new Error("ERR Background append only file rewriting already in progress");
    const rw: Rewrite = { buffer: [], bufferBytes: 0, aborted: false };
    this.rewrite = rw;
    try {
      const fresh: JournalRecord[] = [];
      let size = HEADER_SIZE;
      let inSlice = 0;
      for (const rec of snapshot()) {
        if (rec.length === 0) continue;
        size += recordSize(rec);
        fresh.push(copyRecord(rec));
        if (++inSlice >= SLICE_RECORDS) {
          inSlice = 0;
          await nextTurn();
          if (rw.aborted) throw new Error(":memory: compaction aborted: the store was closed");
        }
      }
      await nextTurn();
      if (rw.aborted) throw new Error(":memory: compaction aborted: the store was closed");
      for (const rec of rw.buffer) fresh.push(rec);
      this.records = fresh;
      this.size = size + rw.bufferBytes;
      this.baseSize = this.size;
      this.lastRewriteOk = true;
      this.lastSaveTime = Math.floor(Date.now() / 1000);
    } catch (e) {
      this.lastRewriteOk = false;
      throw e;
    } finally {
      if (this.rewrite === rw) this.rewrite = null;
    }
  }

  shouldCompact(percentage: number, minSize: number): boolean {
    if (!(percentage > 0) || this.rewrite !== null || !this.opened) return false;
    if (this.size < minSize) return false;
    return ((this.size - this.baseSize) * 100) / this.baseSize >= percentage;
  }

  stats(): PersistStats {
    return {
      enabled: false,
      fileSize: this.size,
      baseSize: this.baseSize,
      lastWriteOk: true,
      lastError: null,
      rewriteInProgress: this.rewrite !== null,
      lastRewriteOk: this.lastRewriteOk,
      lastSaveTime: this.lastSaveTime,
      records: this.records.length,
    };
  }

  /** Marks the store closed (records are kept for a later open()); aborts a running compaction. */
  close(): void {
    if (!this.opened) return;
    this.opened = false;
    if (this.rewrite) this.rewrite.aborted = true;
  }
}

function checkPolicy(p: FsyncPolicy): FsyncPolicy {
  if (!FSYNC_POLICIES.includes(p)) throw new TypeError(`invalid fsync policy '${String(p)}'`);
  return p;
}
