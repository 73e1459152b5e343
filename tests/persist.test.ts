/**
 * The durable single-file store and its in-memory twin: one conformance suite run against
 * both, then the file-only guarantees (format, modes, torn tails at every byte, damage,
 * the checker, atomic compaction, disk errors, group commit and fsync policies).
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Buffer } from "node:buffer";
import { setImmediate } from "node:timers";
import { MemoryPersistence } from "../src/persist/memory.ts";
import { COMPACT_TEMP_SUFFIX, FilePersistence } from "../src/persist/file.ts";
import { checkFile } from "../src/persist/check.ts";
import { crc32 } from "../src/persist/crc32.ts";
import { encodeRecord, HEADER_SIZE, KIND_JOURNAL, recordSize } from "../src/persist/format.ts";
import { describeIoError, errorCode, type FileIo, nodeFileIo } from "../src/persist/io.ts";
import type { FsyncPolicy, JournalRecord, Persistence } from "../src/persist/types.ts";

const ALL_BYTES = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));

/** Every test directory lives under one root, removed when the suite ends. */
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), "aki-persist-"));
after(() => fs.rmSync(ROOT, { recursive: true, force: true }));

function tempDir(): string {
  return fs.mkdtempSync(path.join(ROOT, "t-"));
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Open a store, collecting what it replays and logs. */
function openStore(p: Persistence): { records: JournalRecord[]; logs: string[] } {
  const records: JournalRecord[] = [];
  const logs: string[] = [];
  p.open((r) => records.push(r), (l) => logs.push(l));
  return { records, logs };
}

function set(key: string, value: string, db = 0): JournalRecord {
  return [{ db, argv: ["SET", key, value] }];
}

/** A store implementation under test, and how to "restart" it. */
interface Target {
  /** A new, empty, not yet opened store. */
  fresh(policy?: FsyncPolicy): Persistence;
  /** Close p and return a not yet opened store over the same data (what a restart sees). */
  restart(p: Persistence): Persistence;
}

const memoryTarget: Target = {
  fresh: (policy) => new MemoryPersistence(policy),
  restart: (p) => {
    p.close();
    return p;
  },
};

const fileTarget: Target = {
  fresh: (policy) => new FilePersistence(path.join(tempDir(), "data.aki"), policy),
  restart: (p) => {
    p.close();
    return new FilePersistence((p as FilePersistence).path);
  },
};

function conformance(name: string, target: Target): void {
  describe(`Persistence conformance: ${name}`, () => {
    test("a new store replays nothing and reports an empty store", () => {
      const p = target.fresh();
      const { records, logs } = openStore(p);
      assert.deepEqual(records, []);
      assert.deepEqual(logs, []);
      const s = p.stats();
      assert.equal(s.records, 0);
      assert.equal(s.fileSize, HEADER_SIZE);
      assert.equal(s.baseSize, HEADER_SIZE);
      assert.equal(s.lastWriteOk, true);
      assert.equal(s.lastError, null);
      assert.equal(s.rewriteInProgress, false);
      assert.equal(p.failed, false);
      p.close();
    });

    test("records round-trip with every byte value, empty arguments and any db", async () => {
      let p = target.fresh();
      openStore(p);
      const written: JournalRecord[] = [
        set("k", ALL_BYTES),
        [{ db: 0, argv: ["SET", "", ""] }],
        [{ db: 15, argv: ["RPUSH", "list", "a", "", "\x00\r\n\xff"] }],
        [{ db: 0xffffffff, argv: ["DEL", ALL_BYTES] }],
        [{ db: 2, argv: [] }],
        set("big", "x".repeat(200_000) + ALL_BYTES, 1),
      ];
      for (const r of written) p.append(r);
      await p.commit();
      assert.equal(p.stats().records, written.length);
      p = target.restart(p);
      const { records, logs } = openStore(p);
      assert.deepEqual(records, written);
      assert.deepEqual(logs, []);
      p.close();
    });

    test("a MULTI/EXEC group replays as one record holding all its entries", async () => {
      let p = target.fresh();
      openStore(p);
      const group: JournalRecord = [
        { db: 0, argv: ["INCR", "a"] },
        { db: 3, argv: ["SELECT", "3"] },
        { db: 3, argv: ["LPUSH", "q", "1", "2"] },
      ];
      p.append(set("before", "1"));
      p.append(group);
      p.append(set("after", "2"));
      await p.commit();
      p = target.restart(p);
      const { records } = openStore(p);
      assert.deepEqual(records, [set("before", "1"), group, set("after", "2")]);
      assert.equal(p.stats().records, 3);
      p.close();
    });

    test("many concurrent commits all resolve and every record survives once", async () => {
      let p = target.fresh("always");
      openStore(p);
      const commits: Promise<void>[] = [];
      const written: JournalRecord[] = [];
      for (let i = 0; i < 50; i++) {
        const r = set(`k${i}`, String(i));
        written.push(r);
        p.append(r);
        commits.push(p.commit());
        if (i % 10 === 9) await nextTurn();
      }
      await Promise.all(commits);
      await p.commit(); // nothing pending: resolves at once
      p = target.restart(p);
      assert.deepEqual(openStore(p).records, written);
      p.close();
    });

    test("records far larger than the write buffer, between small ones, keep order across commits", async () => {
      // The file store encodes pending records into one reused buffer (64 KB, grown on
      // demand, let go after a write past 4 MB): sizes around and across those points.
      let p = target.fresh("everysec");
      openStore(p);
      const written: JournalRecord[] = [];
      const sizes = [10, 70_000, 5, 65_530, 1, 5_000_000, 3, 200_000];
      for (let round = 0; round < 3; round++) {
        for (const n of sizes) {
          const r = set(`k${round}:${n}`, ALL_BYTES.repeat(Math.ceil(n / 256)).slice(0, n));
          written.push(r);
          p.append(r);
        }
        await p.commit();
        const small = set(`after:${round}`, "x");
        written.push(small);
        p.append(small);
        await p.commit();
      }
      p = target.restart(p);
      const { records } = openStore(p);
      assert.equal(records.length, written.length);
      for (let i = 0; i < written.length; i++) {
        assert.equal(records[i][0].argv[1], written[i][0].argv[1]);
        assert.ok(records[i][0].argv[2] === written[i][0].argv[2], `value of record ${i} intact`);
      }
      p.close();
    });

    test("appended records are kept even without an explicit commit before close", () => {
      let p = target.fresh("no");
      openStore(p);
      p.append(set("a", "1"));
      p = target.restart(p);
      assert.deepEqual(openStore(p).records, [set("a", "1")]);
      p.close();
    });

    test("an empty record is ignored", async () => {
      let p = target.fresh();
      openStore(p);
      p.append([]);
      await p.commit();
      assert.equal(p.stats().records, 0);
      p = target.restart(p);
      assert.deepEqual(openStore(p).records, []);
      p.close();
    });

    test("misuse: append before open throws, commit before open rejects, open twice throws", async () => {
      const p = target.fresh();
      assert.throws(() => p.append(set("a", "1")), /not open/);
      await assert.rejects(p.commit(), /not open/);
      openStore(p);
      assert.throws(() => openStore(p), /already open/);
      assert.throws(() => p.append([{ db: -1, argv: ["SET", "a", "1"] }]), TypeError);
      assert.throws(() => p.append([{ db: 1.5, argv: ["SET", "a", "1"] }]), TypeError);
      p.close();
      p.close(); // closing twice is harmless
      await assert.rejects(p.commit(), /not open/);
    });

    test("every fsync policy keeps the records; switching policy mid-stream too", async () => {
      let p = target.fresh("no");
      openStore(p);
      const written: JournalRecord[] = [];
      for (const policy of ["no", "everysec", "always", "no", "always"] as FsyncPolicy[]) {
        p.setPolicy(policy);
        const r = set(policy, policy);
        written.push(r);
        p.append(r);
        await p.commit();
      }
      assert.throws(() => p.setPolicy("sometimes" as FsyncPolicy), TypeError);
      p = target.restart(p);
      assert.deepEqual(openStore(p).records, written);
      p.close();
      assert.throws(() => target.fresh("never" as FsyncPolicy), TypeError);
    });

    test("stats: size grows by each record's encoded size; base is the size at open", async () => {
      let p = target.fresh();
      openStore(p);
      const r = set("key", "value");
      p.append(r);
      await p.commit();
      assert.equal(p.stats().fileSize, HEADER_SIZE + recordSize(r));
      assert.equal(p.stats().baseSize, HEADER_SIZE);
      p = target.restart(p);
      openStore(p);
      assert.equal(p.stats().baseSize, HEADER_SIZE + recordSize(r));
      assert.ok(p.stats().lastSaveTime >= Math.floor(Date.now() / 1000) - 5);
      p.close();
    });

    test("shouldCompact follows auto-aof-rewrite-percentage and -min-size", async () => {
      const p = target.fresh();
      openStore(p);
      const base = p.stats().fileSize;
      assert.equal(p.shouldCompact(100, 0), false, "no growth yet");
      const r = set("k", "v".repeat(100));
      while (p.stats().fileSize < base * 3) p.append(r), await p.commit();
      const size = p.stats().fileSize;
      assert.equal(p.shouldCompact(100, 0), true);
      assert.equal(p.shouldCompact(0, 0), false, "percentage 0 disables");
      assert.equal(p.shouldCompact(100, size + 1), false, "below min size");
      assert.equal(p.shouldCompact(100, size), true, "min size is inclusive");
      const growth = ((size - base) * 100) / base;
      assert.equal(p.shouldCompact(Math.floor(growth), 0), true);
      assert.equal(p.shouldCompact(Math.floor(growth) + 1, 0), false);
      await p.compact(() => [r]);
      assert.equal(p.shouldCompact(100, 0), false, "base moves to the compacted size");
      p.close();
    });

    test("compaction keeps the snapshot and every record appended while it ran, in order", async () => {
      let p = target.fresh("always");
      openStore(p);
      for (let i = 0; i < 100; i++) p.append(set("old", String(i)));
      await p.commit();
      const snapshot: JournalRecord[] = [];
      for (let i = 0; i < 10_000; i++) snapshot.push(set(`key:${i}`, `v${i}`.padEnd(300, ALL_BYTES), i % 16));
      snapshot.push([]); // ignored
      const during: JournalRecord[] = [];
      const done = p.compact(() => snapshot);
      assert.equal(p.stats().rewriteInProgress, true);
      await assert.rejects(p.compact(() => []), /already in progress/);
      const commits: Promise<void>[] = [];
      while (p.stats().rewriteInProgress) {
        const r = set(`during:${during.length}`, ALL_BYTES);
        during.push(r);
        p.append(r);
        commits.push(p.commit());
        await nextTurn();
      }
      await done;
      await Promise.all(commits);
      assert.ok(during.length >= 2, `records were appended during compaction (${during.length})`);
      const after = set("after", "1");
      p.append(after);
      await p.commit();
      const s = p.stats();
      assert.equal(s.rewriteInProgress, false);
      assert.equal(s.lastRewriteOk, true);
      assert.equal(s.records, 10_000 + during.length + 1);
      p = target.restart(p);
      const { records, logs } = openStore(p);
      assert.deepEqual(logs, []);
      assert.deepEqual(records, [...snapshot.slice(0, -1), ...during, after]);
      p.close();
    });

    test("a snapshot that throws fails the compaction and leaves the store as it was", async () => {
      let p = target.fresh();
      openStore(p);
      p.append(set("a", "1"));
      await p.commit();
      function* broken(): Iterable<JournalRecord> {
        yield set("x", "y");
        throw new Error("snapshot exploded");
      }
      await assert.rejects(p.compact(broken), /snapshot exploded/);
      assert.equal(p.stats().lastRewriteOk, false);
      assert.equal(p.stats().rewriteInProgress, false);
      p.append(set("b", "2"));
      await p.commit();
      p = target.restart(p);
      assert.deepEqual(openStore(p).records, [set("a", "1"), set("b", "2")]);
      p.close();
    });

    test("close aborts a running compaction; the data is intact after a restart", async () => {
      let p = target.fresh();
      openStore(p);
      p.append(set("a", "1"));
      await p.commit();
      const big = Array.from({ length: 20_000 }, (_, i) => set(`k${i}`, "v".repeat(200)));
      const done = p.compact(() => big);
      await nextTurn();
      p.append(set("b", "2"));
      p.close();
      await assert.rejects(done, /aborted/);
      p = target.restart(p);
      assert.deepEqual(openStore(p).records, [set("a", "1"), set("b", "2")]);
      p.close();
    });
  });
}

conformance("MemoryPersistence", memoryTarget);
conformance("FilePersistence", fileTarget);

/** Write-side calls that fail on demand, counting what reaches the disk. */
class FaultyIo implements FileIo {
  /** Bytes that may still be written before writes fail with `code` (null: unlimited). */
  space: number | null = null;
  code = "ENOSPC";
  failSync = false;
  writes = 0;
  syncs = 0;
  writeSync(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
    this.writes++;
    if (this.space !== null) {
      if (this.space <= 0) throw Object.assign(new Error(`${this.code}: simulated, write`), { code: this.code });
      length = Math.min(length, this.space);
      this.space -= length;
    }
    return nodeFileIo.writeSync(fd, buf, offset, length, position);
  }
  fdatasyncSync(fd: number): void {
    this.syncs++;
    if (this.failSync) throw Object.assign(new Error("EIO: simulated, fdatasync"), { code: "EIO" });
    nodeFileIo.fdatasyncSync(fd);
  }
  ftruncateSync(fd: number, length: number): void {
    nodeFileIo.ftruncateSync(fd, length);
  }
  reset(): void {
    this.writes = 0;
    this.syncs = 0;
  }
}

/** A data file holding `records`, written through FilePersistence; returns its path. */
async function makeFile(records: JournalRecord[], dir = tempDir()): Promise<string> {
  const file = path.join(dir, "data.aki");
  const p = new FilePersistence(file, "always");
  openStore(p);
  for (const r of records) p.append(r);
  await p.commit();
  p.close();
  return file;
}

/** Offsets where each record of a file made by makeFile(records) starts. */
function recordOffsets(records: JournalRecord[]): number[] {
  const offsets: number[] = [];
  let pos = HEADER_SIZE;
  for (const r of records) {
    offsets.push(pos);
    pos += recordSize(r);
  }
  return offsets;
}

function reopen(file: string): { p: FilePersistence; records: JournalRecord[]; logs: string[] } {
  const p = new FilePersistence(file, "always");
  return { p, ...openStore(p) };
}

describe("FilePersistence: file format and creation", () => {
  test("crc32 matches the IEEE check values", () => {
    assert.equal(crc32(Buffer.from("123456789", "latin1")), 0xcbf43926);
    assert.equal(crc32(Buffer.alloc(0)), 0);
    assert.equal(crc32(Buffer.from("The quick brown fox jumps over the lazy dog", "latin1")), 0x414fa339);
    const b = Buffer.from(ALL_BYTES.repeat(3), "latin1");
    assert.equal(crc32(b, 100, b.length, crc32(b, 0, 100)), crc32(b));
  });

  test("a missing file is created with mode 0600 and the AKI1 version-1 header", () => {
    const file = path.join(tempDir(), "data.aki");
    const p = new FilePersistence(file);
    openStore(p);
    p.close();
    const bytes = fs.readFileSync(file);
    assert.equal(bytes.length, HEADER_SIZE);
    assert.equal(bytes.subarray(0, 4).toString("latin1"), "AKI1");
    assert.equal(bytes.readUInt32LE(4), 1);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  test("records are laid out as [u32 length][u32 crc32][payload]", async () => {
    const r = set("k", "v");
    const file = await makeFile([r]);
    const bytes = fs.readFileSync(file);
    const enc = encodeRecord(KIND_JOURNAL, r);
    assert.deepEqual(bytes.subarray(HEADER_SIZE), enc);
    const len = bytes.readUInt32LE(HEADER_SIZE);
    assert.equal(len, bytes.length - HEADER_SIZE - 8);
    assert.equal(bytes.readUInt32LE(HEADER_SIZE + 4), crc32(bytes, HEADER_SIZE + 8));
    assert.equal(bytes[HEADER_SIZE + 8], KIND_JOURNAL);
  });

  test("a zero-length file opens as an empty store and gets its header", () => {
    const file = path.join(tempDir(), "data.aki");
    fs.writeFileSync(file, "");
    const { p, records, logs } = reopen(file);
    p.close();
    assert.deepEqual(records, []);
    assert.deepEqual(logs, []);
    assert.equal(fs.readFileSync(file).length, HEADER_SIZE);
  });

  test("a torn header (a prefix of it) is completed, with a log line", () => {
    const file = path.join(tempDir(), "data.aki");
    fs.writeFileSync(file, "AKI");
    const { p, records, logs } = reopen(file);
    p.close();
    assert.deepEqual(records, []);
    assert.equal(logs.length, 1);
    assert.match(logs[0], /torn header/);
    assert.ok(logs[0].includes(file));
    assert.equal(fs.readFileSync(file).subarray(0, 4).toString("latin1"), "AKI1");
  });

  test("a file that is not an aki data file is refused and left untouched", () => {
    const file = path.join(tempDir(), "data.aki");
    const junk = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
    fs.writeFileSync(file, junk);
    assert.throws(() => reopen(file), (e: Error) => e.message.includes(file) && /not an aki data file.*offset 0/.test(e.message));
    assert.equal(fs.readFileSync(file, "latin1"), junk);
    fs.writeFileSync(file, "xy");
    assert.throws(() => reopen(file), /not an aki data file/);
  });

  test("an unsupported format version is refused", () => {
    const file = path.join(tempDir(), "data.aki");
    const header = Buffer.from("AKI1\x02\x00\x00\x00", "latin1");
    fs.writeFileSync(file, header);
    assert.throws(
      () => reopen(file),
      (e: Error) => e.message.includes(file) && /unsupported format version 2 at offset 4/.test(e.message),
    );
  });

  test("a directory or unreadable path is refused with the file name", () => {
    const dir = tempDir();
    assert.throws(() => reopen(dir), (e: Error) => e.message.includes(dir) && /cannot open/.test(e.message));
    const missingDir = path.join(dir, "nope", "data.aki");
    assert.throws(() => reopen(missingDir), (e: Error) => e.message.includes(missingDir) && /cannot create/.test(e.message));
  });
});

describe("FilePersistence: torn tails and damage", () => {
  const A = set("a", "1");
  const B: JournalRecord = [{ db: 1, argv: ["HSET", "h", "f", ALL_BYTES] }];
  const C: JournalRecord = [{ db: 3, argv: ["SET", "c", ALL_BYTES] }, { db: 3, argv: ["EXPIRE", "c", "100"] }];
  const D = set("d", "after the cut");

  test("a torn last record is cut at every byte offset; appending after it works", async () => {
    const source = await makeFile([A, B, C]);
    const full = fs.readFileSync(source);
    const boundary = recordOffsets([A, B, C])[2];
    const dir = tempDir();
    const file = path.join(dir, "data.aki");
    for (let cut = boundary; cut < full.length; cut++) {
      fs.writeFileSync(file, full.subarray(0, cut));
      const check = checkFile(file, false);
      assert.equal(check.validLength, boundary, `check at ${cut}`);
      assert.equal(check.ok, cut === boundary, `check ok at ${cut}`);
      assert.equal(check.records, 2);
      const { p, records, logs } = reopen(file);
      assert.deepEqual(records, [A, B], `replay at ${cut}`);
      if (cut === boundary) assert.deepEqual(logs, []);
      else {
        assert.equal(logs.length, 1, `one log line at ${cut}`);
        assert.ok(logs[0].includes(file) && logs[0].includes(`offset ${boundary}`), logs[0]);
      }
      assert.equal(fs.statSync(file).size, boundary, `truncated at ${cut}`);
      p.append(D);
      await p.commit();
      p.close();
      const again = reopen(file);
      assert.deepEqual(again.records, [A, B, D], `after append at ${cut}`);
      assert.deepEqual(again.logs, []);
      again.p.close();
    }
  });

  test("a zero-filled tail (allocated, never written) is a torn tail", async () => {
    const file = await makeFile([A, B]);
    const size = fs.statSync(file).size;
    fs.appendFileSync(file, Buffer.alloc(4096));
    const { p, records, logs } = reopen(file);
    p.close();
    assert.deepEqual(records, [A, B]);
    assert.match(logs[0], new RegExp(`offset ${size}.*zero bytes`));
    assert.equal(fs.statSync(file).size, size);
  });

  test("a last record with a bad checksum is a torn tail", async () => {
    const file = await makeFile([A, B, C]);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] ^= 0x40;
    fs.writeFileSync(file, bytes);
    const { p, records, logs } = reopen(file);
    p.close();
    assert.deepEqual(records, [A, B]);
    assert.match(logs[0], /checksum mismatch/);
  });

  test("a bad record with more bytes after it is damage: refused with file and offset", async () => {
    const file = await makeFile([A, B, C]);
    const offB = recordOffsets([A, B, C])[1];
    const original = fs.readFileSync(file);
    const cases: Array<[string, (b: Buffer) => void, RegExp]> = [
      ["payload bit flip", (b) => (b[offB + 20] ^= 0x01), /checksum mismatch/],
      ["checksum bit flip", (b) => (b[offB + 5] ^= 0x80), /checksum mismatch/],
      ["length shrunk", (b) => b.writeUInt32LE(5, offB), /checksum mismatch/],
      ["length zeroed", (b) => b.writeUInt32LE(0, offB), /invalid record length 0/],
    ];
    for (const [name, damage, reason] of cases) {
      const bytes = Buffer.from(original);
      damage(bytes);
      fs.writeFileSync(file, bytes);
      assert.throws(
        () => reopen(file),
        (e: Error) => e.message.includes(file) && e.message.includes(`offset ${offB}`) && reason.test(e.message),
        name,
      );
      assert.deepEqual(fs.readFileSync(file), bytes, `${name}: file untouched`);
      const check = checkFile(file, false);
      assert.equal(check.ok, false, name);
      assert.equal(check.validLength, offB, name);
      assert.equal(check.records, 1, name);
      assert.ok(check.message.includes(`offset ${offB}`), check.message);
      const fixed = checkFile(file, true);
      assert.equal(fixed.ok, false, `${name}: --fix does not repair damage`);
      assert.deepEqual(fs.readFileSync(file), bytes, `${name}: --fix leaves damage alone`);
    }
  });

  test("a record whose checksum matches but whose payload does not parse is damage, even last", async () => {
    const file = await makeFile([A]);
    const payload = Buffer.from([9, 1, 0, 0]); // unknown kind 9
    const rec = Buffer.alloc(8 + payload.length);
    rec.writeUInt32LE(payload.length, 0);
    rec.writeUInt32LE(crc32(payload), 4);
    payload.copy(rec, 8);
    const size = fs.statSync(file).size;
    fs.appendFileSync(file, rec);
    assert.throws(
      () => reopen(file),
      (e: Error) => e.message.includes(`offset ${size}`) && /unknown record kind 9/.test(e.message),
    );
    assert.equal(checkFile(file, true).ok, false);
    assert.equal(fs.statSync(file).size, size + rec.length);
  });

  test("a length reaching past the end is a torn tail unless a complete record follows (rule b)", async () => {
    const file = await makeFile([A, B, C]);
    const [, offB, offC] = recordOffsets([A, B, C]);
    const good = fs.readFileSync(file);
    // B's length damaged while C is intact behind it: damage, not a tail to cut.
    let bytes = Buffer.from(good);
    bytes.writeUInt32LE(bytes.length, offB);
    fs.writeFileSync(file, bytes);
    assert.throws(
      () => reopen(file),
      (e: Error) => e.message.includes(`damaged record at offset ${offB}`) && e.message.includes(`complete record starts at offset ${offC}`),
    );
    assert.deepEqual(fs.readFileSync(file), bytes);
    // The same length with nothing whole after it (C cut too): a torn tail.
    bytes = Buffer.from(good.subarray(0, offC + 5));
    bytes.writeUInt32LE(bytes.length, offB);
    fs.writeFileSync(file, bytes);
    const { p, records, logs } = reopen(file);
    p.close();
    assert.deepEqual(records, [A]);
    assert.match(logs[0], /cut short/);
    assert.equal(fs.statSync(file).size, offB);
  });
});

describe("checkFile", () => {
  test("a clean file: ok, valid length is the file length, records counted", async () => {
    const file = await makeFile([set("a", "1"), set("b", "2"), [{ db: 0, argv: ["MULTI-ish"] }, { db: 0, argv: ["x"] }]]);
    const r = checkFile(file, false);
    assert.equal(r.ok, true);
    assert.equal(r.records, 3);
    assert.equal(r.validLength, fs.statSync(file).size);
    assert.equal(r.fileLength, r.validLength);
    assert.ok(r.message.includes(file));
  });

  test("a torn tail: reported without --fix, truncated with it", async () => {
    const file = await makeFile([set("a", "1"), set("b", "2")]);
    const good = fs.statSync(file).size;
    fs.appendFileSync(file, encodeRecord(KIND_JOURNAL, set("c", "3")).subarray(0, 11));
    const r = checkFile(file, false);
    assert.deepEqual([r.ok, r.validLength, r.fileLength, r.records], [false, good, good + 11, 2]);
    assert.ok(r.message.includes(`offset ${good}`), r.message);
    assert.equal(fs.statSync(file).size, good + 11, "reporting changes nothing");
    const f = checkFile(file, true);
    assert.deepEqual([f.ok, f.validLength, f.fileLength, f.records], [true, good, good + 11, 2]);
    assert.equal(fs.statSync(file).size, good);
    assert.equal(checkFile(file, false).ok, true);
  });

  test("empty, torn-header, missing and foreign files", () => {
    const dir = tempDir();
    const file = path.join(dir, "data.aki");
    fs.writeFileSync(file, "");
    assert.equal(checkFile(file, false).ok, true);
    fs.writeFileSync(file, "AK");
    assert.equal(checkFile(file, false).ok, false);
    const fixed = checkFile(file, true);
    assert.equal(fixed.ok, true);
    assert.equal(fs.statSync(file).size, 0);
    const missing = checkFile(path.join(dir, "missing.aki"), false);
    assert.equal(missing.ok, false);
    assert.match(missing.message, /cannot open/);
    fs.writeFileSync(file, "hello world, not a store");
    const foreign = checkFile(file, true);
    assert.equal(foreign.ok, false);
    assert.match(foreign.message, /not an aki data file/);
    assert.equal(fs.readFileSync(file, "latin1"), "hello world, not a store");
  });
});

describe("FilePersistence: compaction", () => {
  test("compaction replaces the file atomically: mode 0600, no temp file left, old data gone", async () => {
    const dir = tempDir();
    const file = path.join(dir, "data.aki");
    const p = new FilePersistence(file, "always");
    openStore(p);
    for (let i = 0; i < 1000; i++) p.append(set("counter", String(i)));
    await p.commit();
    const before = fs.statSync(file).size;
    await p.compact(() => [set("counter", "999")]);
    assert.deepEqual(fs.readdirSync(dir), ["data.aki"]);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const after = fs.statSync(file).size;
    assert.equal(after, HEADER_SIZE + recordSize(set("counter", "999")));
    assert.ok(after < before);
    assert.equal(p.stats().fileSize, after);
    assert.equal(p.stats().baseSize, after);
    p.append(set("next", "1"));
    await p.commit();
    p.close();
    const check = checkFile(file, false);
    assert.equal(check.ok, true);
    assert.equal(check.records, 2);
    const again = reopen(file);
    assert.deepEqual(again.records, [set("counter", "999"), set("next", "1")]);
    again.p.close();
  });

  test("a stale temp file from an interrupted compaction is removed at open, never loaded", async () => {
    const file = await makeFile([set("a", "1")]);
    fs.writeFileSync(
      file + COMPACT_TEMP_SUFFIX,
      Buffer.concat([Buffer.from("AKI1\x01\x00\x00\x00", "latin1"), encodeRecord(KIND_JOURNAL, set("ghost", "1"))]),
    );
    const { p, records, logs } = reopen(file);
    p.close();
    assert.deepEqual(records, [set("a", "1")]);
    assert.equal(fs.existsSync(file + COMPACT_TEMP_SUFFIX), false);
    assert.ok(logs.some((l) => l.includes(COMPACT_TEMP_SUFFIX)));
  });

  test("a disk error during compaction rejects it, removes the temp file and keeps the old file", async () => {
    const dir = tempDir();
    const file = path.join(dir, "data.aki");
    const io = new FaultyIo();
    const p = new FilePersistence(file, "always", io);
    openStore(p);
    p.append(set("a", "1"));
    await p.commit();
    const before = fs.readFileSync(file);
    io.space = 100;
    await assert.rejects(
      p.compact(() => Array.from({ length: 100 }, (_, i) => set(`k${i}`, "v"))),
      (e: Error) => e.message.includes(file) && /compaction failed: No space left on device/.test(e.message),
    );
    assert.deepEqual(fs.readdirSync(dir), ["data.aki"]);
    assert.deepEqual(fs.readFileSync(file), before);
    assert.equal(p.stats().lastRewriteOk, false);
    io.space = null;
    p.append(set("b", "2"));
    await p.commit();
    p.close();
    assert.deepEqual(reopen(file).records, [set("a", "1"), set("b", "2")]);
  });
});

describe("FilePersistence: disk errors", () => {
  test("I/O errors read the same on every runtime: strerror text from a code or an os error number", () => {
    assert.equal(
      describeIoError(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" })),
      "No space left on device",
    );
    // Deno reports some write errors with only an "(os error N)" message.
    assert.equal(errorCode(new Error("File too large (os error 27)")), "EFBIG");
    assert.equal(describeIoError(new Error("File too large (os error 27)")), "File too large");
    assert.equal(describeIoError(new Error("Something odd (os error 9999)")), "Something odd");
    assert.equal(errorCode(new Error("plain")), "");
  });

  for (const [code, text] of [["ENOSPC", "No space left on device"], ["EFBIG", "File too large"]]) {
    test(`a partial write failing with ${code} is truncated away, rejected with MISCONF, and retried`, async () => {
      const file = path.join(tempDir(), "data.aki");
      const io = new FaultyIo();
      io.code = code;
      const p = new FilePersistence(file, "always", io);
      openStore(p);
      p.append(set("a", "1"));
      await p.commit();
      const good = fs.statSync(file).size;
      io.space = 10; // the next write gets 10 bytes in, then fails
      p.append(set("b", "2"));
      const c1 = p.commit();
      p.append(set("c", "3"));
      const c2 = p.commit();
      const misconf = `MISCONF Errors writing to the AOF file: ${text}`;
      await assert.rejects(c1, (e: Error) => e.message === misconf);
      await assert.rejects(c2, (e: Error) => e.message === misconf);
      assert.equal(p.failed, true);
      assert.equal(p.stats().lastWriteOk, false);
      assert.equal(p.stats().lastError, text);
      assert.equal(fs.statSync(file).size, good, "no half record on disk");
      assert.equal(p.stats().fileSize, good);
      await assert.rejects(p.commit(), /MISCONF/, "still failing: retried and failed again");
      assert.equal(fs.statSync(file).size, good);
      io.space = null;
      await p.commit(); // retry succeeds
      assert.equal(p.failed, false);
      assert.equal(p.stats().lastWriteOk, true);
      assert.equal(p.stats().lastError, null);
      p.close();
      assert.deepEqual(reopen(file).records, [set("a", "1"), set("b", "2"), set("c", "3")]);
    });
  }

  test("a failed fdatasync fails the commit; the retry rewrites and syncs", async () => {
    const file = path.join(tempDir(), "data.aki");
    const io = new FaultyIo();
    const p = new FilePersistence(file, "always", io);
    openStore(p);
    io.failSync = true;
    p.append(set("a", "1"));
    await assert.rejects(p.commit(), /^Error: MISCONF Errors writing to the AOF file: Input\/output error$/);
    assert.equal(fs.statSync(file).size, HEADER_SIZE);
    io.failSync = false;
    await p.commit();
    assert.equal(p.failed, false);
    p.close();
    assert.deepEqual(reopen(file).records, [set("a", "1")]);
  });

  test("after a failure the 1 s timer retries on its own and clears the failure", async () => {
    const file = path.join(tempDir(), "data.aki");
    const io = new FaultyIo();
    const p = new FilePersistence(file, "everysec", io);
    openStore(p);
    io.space = 0;
    p.append(set("a", "1"));
    await assert.rejects(p.commit(), /MISCONF/);
    io.space = null;
    assert.equal(p.failed, true);
    await sleep(1300);
    assert.equal(p.failed, false);
    assert.equal(p.stats().records, 1);
    p.close();
    assert.deepEqual(reopen(file).records, [set("a", "1")]);
  });
});

describe("FilePersistence: group commit and fsync policies", () => {
  function storeWith(policy: FsyncPolicy): { p: FilePersistence; io: FaultyIo; file: string } {
    const file = path.join(tempDir(), "data.aki");
    const io = new FaultyIo();
    const p = new FilePersistence(file, policy, io);
    openStore(p);
    io.reset();
    return { p, io, file };
  }

  test("always: commits from many clients in one turn share one write and one fdatasync", async () => {
    const { p, io } = storeWith("always");
    const commits: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      p.append(set(`client${i}`, String(i)));
      commits.push(p.commit());
    }
    await Promise.all(commits);
    assert.equal(io.writes, 1);
    assert.equal(io.syncs, 1);
    assert.equal(p.stats().records, 20);
    p.close();
  });

  test("always: the data is written and synced before commit resolves", async () => {
    const { p, io, file } = storeWith("always");
    p.append(set("a", "1"));
    const c = p.commit();
    assert.equal(io.syncs, 0, "nothing happens synchronously in commit()");
    await c;
    assert.equal(io.syncs, 1);
    assert.equal(fs.statSync(file).size, HEADER_SIZE + recordSize(set("a", "1")));
    p.close();
  });

  test("no: commit writes without fdatasync; close syncs", async () => {
    const { p, io, file } = storeWith("no");
    p.append(set("a", "1"));
    await p.commit();
    assert.equal(io.writes, 1);
    assert.equal(io.syncs, 0);
    assert.equal(fs.statSync(file).size, HEADER_SIZE + recordSize(set("a", "1")));
    p.close();
    assert.equal(io.syncs, 1);
  });

  test("everysec: commit writes now; the timer fdatasyncs within about a second", async () => {
    const { p, io } = storeWith("everysec");
    p.append(set("a", "1"));
    await p.commit();
    assert.equal(io.writes, 1);
    assert.equal(io.syncs, 0);
    await sleep(1300);
    assert.equal(io.syncs, 1);
    await sleep(0);
    p.close();
    assert.equal(io.syncs, 1, "nothing dirty left to sync at close");
  });

  test("switching to always syncs what everysec left unsynced", async () => {
    const { p, io } = storeWith("everysec");
    p.append(set("a", "1"));
    await p.commit();
    assert.equal(io.syncs, 0);
    p.setPolicy("always");
    assert.equal(io.syncs, 1);
    p.close();
  });
});
