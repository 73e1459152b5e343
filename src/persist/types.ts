/**
 * The persistence contract: the server keeps its dataset in memory and hands every applied
 * write to a {@link Persistence}, which journals it and replays it at the next start.
 *
 * All strings here are binary strings: one char per byte, char codes 0..255 (latin1). A char
 * above 0xFF is a caller bug; implementations store only its low byte.
 */

/** One applied write, in deterministic form: the db it ran in and its argv (binary strings). */
export interface JournalEntry {
  /** Database index, an integer in 0..2^32-1. */
  db: number;
  /** The command and its arguments; may be empty strings, never null. */
  argv: string[];
}

/**
 * What append takes and replay gives back: one entry, or several applied atomically
 * (MULTI/EXEC), which are stored and replayed as one group record (all or nothing).
 */
export type JournalRecord = JournalEntry[];

/** When written records are forced to stable storage (Redis appendfsync). */
export type FsyncPolicy = "always" | "everysec" | "no";

/** The list of valid {@link FsyncPolicy} values, for config validation. */
export const FSYNC_POLICIES: readonly FsyncPolicy[] = ["always", "everysec", "no"];

/** A point-in-time view of the store, for INFO persistence and the admin API. */
export interface PersistStats {
  /** True when writes reach a file (false for the in-memory store). */
  enabled: boolean;
  /** Bytes of complete records written (header included); pending records not counted. */
  fileSize: number;
  /** fileSize right after the last open or compaction (auto-rewrite growth base). */
  baseSize: number;
  /** False after a failed write or fsync, until a later one succeeds. */
  lastWriteOk: boolean;
  /** Message of the failure while lastWriteOk is false; null once a write succeeds again. */
  lastError: string | null;
  /** True while compact() runs. */
  rewriteInProgress: boolean;
  /** Outcome of the last finished compaction (true if none ran yet). */
  lastRewriteOk: boolean;
  /** Unix seconds of the last open or successful compaction. */
  lastSaveTime: number;
  /** Records in the file (snapshot and journal records; a group counts once). */
  records: number;
  /** fsyncs of the data file so far (file store only): shows group commit at work. */
  fsyncs?: number;
}

export interface Persistence {
  /**
   * Replay the store: calls apply(record) for every snapshot and journal record, in file
   * order, then readies the store for appends. Errors:
   * - torn tail (an unfinished last record, see file.ts for the exact rule): the file is
   *   truncated to the end of the last good record and log(line) is called with a line naming
   *   the file and the offset; open succeeds;
   * - damage before the tail: throws an Error whose message names the file and byte offset;
   *   the file is left untouched (apply may already have run for the records before it, so
   *   the caller must discard what it built and refuse to start);
   * - a file that is not an aki data file, an unsupported format version, or an I/O error
   *   (permissions, a directory, ...): throws an Error naming the file;
   * - already open: throws.
   * A missing file is created (mode 0600) with a header. Exceptions thrown by apply propagate.
   */
  open(apply: (rec: JournalRecord) => void, log: (line: string) => void): void;
  /**
   * Queue a record for the next commit. Never throws for I/O: errors surface via commit()
   * and stats(). Cheap (encodes the record, no I/O). An empty record is ignored.
   * Throws (programming errors) when the store is not open or a db is not a u32.
   */
  append(rec: JournalRecord): void;
  /**
   * Make everything appended so far written (and fsynced when the policy is "always").
   * Coalesces: every commit() made before the shared flush runs, from any client, shares one
   * write (+ one fsync). Resolves when durable per policy; rejects with an Error whose message
   * starts "MISCONF Errors writing to the AOF file: " when the write or fsync failed. After a
   * failure no partial record stays in the file (it is truncated back to the last good
   * length), the records stay queued, and later commits (and a 1 s retry timer) retry them.
   * Rejects with an Error "<file>: store is not open" before open() or after close().
   */
  commit(): Promise<void>;
  /** True while writes must be refused: the last write/fsync failed and no retry succeeded. */
  readonly failed: boolean;
  /** Change the fsync policy; throws a TypeError for an unknown policy. */
  setPolicy(p: FsyncPolicy): void;
  /**
   * Compaction: replace the store with header + snapshot records + the records appended
   * while compaction ran, written to a temp file in the same directory (fsync, rename over
   * the old file, fsync the directory). snapshot() is called once, synchronously, when
   * compact() starts; its iterable is consumed in slices with the event loop running in
   * between, so it MUST describe the dataset as it was when snapshot() was called (a
   * point-in-time view): writes applied afterwards reach the new file through append(), and
   * an iterator that also reflects them would replay them twice.
   * Rejects when a compaction is already running ("ERR Background append only file
   * rewriting already in progress"), when the store is closed meanwhile, when snapshot()
   * throws, or on an I/O error; on rejection the old file is kept as it was and the temp file
   * is removed.
   */
  compact(snapshot: () => Iterable<JournalRecord>): Promise<void>;
  /**
   * Should an automatic compaction start? (auto-aof-rewrite-percentage / -min-size):
   * percentage > 0, no compaction running, fileSize >= minSize, and fileSize grew by at least
   * percentage% over baseSize.
   */
  shouldCompact(percentage: number, minSize: number): boolean;
  stats(): PersistStats;
  /**
   * Flush queued records, fsync, and close. Aborts a running compaction (its promise rejects).
   * Pending commit() promises settle. Throws if the final write or fsync failed (the file is
   * closed regardless). Closing a closed store does nothing.
   */
  close(): void;
}
