/**
 * The byte layout of the aki data file (see file.ts for the full description and the
 * torn-tail rule): header, record encoding, payload decoding, and the record scanner that
 * open() and checkFile() share.
 */
import { Buffer } from "node:buffer";
import { crc32 } from "./crc32.ts";
import { readInto } from "./io.ts";
import type { JournalRecord } from "./types.ts";

/** "AKI1": the first four bytes of every data file. */
export const MAGIC = Buffer.from("AKI1", "latin1");
/** The format version this build writes and reads (u32 LE at offset 4). */
export const FORMAT_VERSION = 1;
/** Bytes before the first record. */
export const HEADER_SIZE = 8;
/** Bytes before each record's payload: u32 LE length, u32 LE crc32. */
export const RECORD_HEADER_SIZE = 8;
/** The smallest payload that can parse: kind, entry count, db, argc (one byte each). */
export const MIN_PAYLOAD = 4;
/** Largest payload length the u32 length field can carry. */
export const MAX_PAYLOAD = 0xffffffff;

/** Record kinds (payload byte 0). */
export const KIND_JOURNAL = 1;
export const KIND_SNAPSHOT = 2;
export type RecordKind = typeof KIND_JOURNAL | typeof KIND_SNAPSHOT;

/** A fresh copy of the 8 header bytes. */
export function headerBytes(): Buffer {
  const b = Buffer.alloc(HEADER_SIZE);
  MAGIC.copy(b, 0);
  b.writeUInt32LE(FORMAT_VERSION, 4);
  return b;
}

/**
 * Judge the first min(8, fileLength) bytes of a file: "ok" (a full, current header),
 * "partial" (fewer than 8 bytes that are a prefix of the header, including none, or a file of
 * at most 8 bytes that are all zero: a store that was never initialised or whose creation was
 * interrupted), or an error message naming the
 * offset ("not an aki data file (bad magic at offset 0)", "unsupported format version 7 at
 * offset 4 ...").
 */
export function checkHeader(head: Uint8Array, fileLength = head.length): "ok" | "partial" | string {
  const header = headerBytes();
  // Zero bytes up to the header's size: its space was allocated but never written (a crash
  // while the store was being created), just like a shorter prefix.
  if (fileLength <= HEADER_SIZE && head.every((b) => b === 0)) return "partial";
  const n = Math.min(head.length, HEADER_SIZE);
  for (let i = 0; i < n && i < MAGIC.length; i++) {
    if (head[i] !== header[i]) return "not an aki data file (bad magic at offset 0)";
  }
  if (head.length < HEADER_SIZE) {
    for (let i = MAGIC.length; i < n; i++) {
      if (head[i] !== header[i]) return `unsupported format version at offset ${MAGIC.length}`;
    }
    return "partial";
  }
  const version = Buffer.from(head.buffer, head.byteOffset, HEADER_SIZE).readUInt32LE(4);
  if (version !== FORMAT_VERSION) {
    return `unsupported format version ${version} at offset ${MAGIC.length} (this build reads version ${FORMAT_VERSION})`;
  }
  return "ok";
}

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function putVarint(buf: Buffer, o: number, v: number): number {
  while (v >= 0x80) {
    buf[o++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[o++] = v;
  return o;
}

function checkDb(db: number): void {
  if ((db >>> 0) !== db) throw new TypeError(`journal entry db must be an integer in 0..2^32-1, got ${db}`);
}

/**
 * Payload bytes of a record (kind byte included). Throws a TypeError for a db that is not a
 * u32, a RangeError when the payload would exceed 2^32-1 bytes.
 */
export function payloadSize(rec: JournalRecord): number {
  let size = 1 + varintSize(rec.length);
  for (const e of rec) {
    checkDb(e.db);
    const argv = e.argv;
    size += varintSize(e.db) + varintSize(argv.length);
    for (let i = 0; i < argv.length; i++) {
      const len = argv[i].length;
      size += varintSize(len) + len;
    }
  }
  if (size > MAX_PAYLOAD) throw new RangeError(`journal record too large (${size} bytes)`);
  return size;
}

/** Bytes a record occupies in the file (record header + payload); errors as {@link payloadSize}. */
export function recordSize(rec: JournalRecord): number {
  return RECORD_HEADER_SIZE + payloadSize(rec);
}

/**
 * Encode one record, header and checksum included, ready to append. Strings are binary
 * (latin1): each char's low byte is stored. Errors as {@link payloadSize}.
 */
export function encodeRecord(kind: RecordKind, rec: JournalRecord): Buffer {
  const size = payloadSize(rec);
  const buf = Buffer.allocUnsafe(RECORD_HEADER_SIZE + size);
  writeRecord(kind, rec, size, buf, 0);
  return buf;
}

/**
 * Encode one record at buf[at, at + RECORD_HEADER_SIZE + size), where `size` is
 * payloadSize(rec) and buf has room for it (the journal's shared buffer: no allocation per
 * record). Returns the offset just past the record.
 */
export function writeRecord(kind: RecordKind, rec: JournalRecord, size: number, buf: Buffer, at: number): number {
  buf.writeUInt32LE(size, at);
  let o = at + RECORD_HEADER_SIZE;
  buf[o++] = kind;
  o = putVarint(buf, o, rec.length);
  for (const e of rec) {
    const argv = e.argv;
    o = putVarint(buf, o, e.db);
    o = putVarint(buf, o, argv.length);
    for (let i = 0; i < argv.length; i++) {
      const s = argv[i];
      const len = s.length;
      o = putVarint(buf, o, len);
      if (len < 48) {
        for (let k = 0; k < len; k++) buf[o + k] = s.charCodeAt(k);
      } else {
        buf.write(s, o, len, "latin1");
      }
      o += len;
    }
  }
  buf.writeUInt32LE(crc32(buf, at + RECORD_HEADER_SIZE, o), at + 4);
  return o;
}

/** Offset just past the varint read by readVarint (module state keeps the hot loop allocation-free). */
let cursor = 0;

/** Read a u32 LEB128 varint at `o` (at most 5 bytes); -1 when it runs past `end` or overflows. */
function readVarint(buf: Uint8Array, o: number, end: number): number {
  let v = 0;
  let scale = 1;
  for (let i = 0; i < 5; i++) {
    if (o >= end) return -1;
    const b = buf[o++];
    if (i === 4 && b > 0x0f) return -1;
    v += (b & 0x7f) * scale;
    if (b < 0x80) {
      cursor = o;
      return v;
    }
    scale *= 128;
  }
  return -1;
}

/** A decoded payload, or why it does not parse. */
export type Decoded = { kind: RecordKind; rec: JournalRecord } | { error: string };

/**
 * Decode payload bytes buf[start, end). With build false only validates (rec is empty).
 * Errors (returned, never thrown): unknown kind, no entries, a count or length running past
 * the payload, an over-long varint, trailing bytes.
 */
export function decodePayload(buf: Buffer, start: number, end: number, build: boolean): Decoded {
  if (end - start < MIN_PAYLOAD) return { error: `payload too short (${end - start} bytes)` };
  const kind = buf[start];
  if (kind !== KIND_JOURNAL && kind !== KIND_SNAPSHOT) {
    return { error: `unknown record kind ${kind}` };
  }
  const count = readVarint(buf, start + 1, end);
  if (count < 1) return { error: count === 0 ? "record has no entries" : "bad entry count" };
  let o = cursor;
  const rec: JournalRecord = [];
  for (let n = 0; n < count; n++) {
    const db = readVarint(buf, o, end);
    if (db < 0) return { error: `bad db in entry ${n}` };
    const argc = readVarint(buf, cursor, end);
    // Each argument takes at least one byte, so a larger argc cannot fit (and must not allocate).
    if (argc < 0 || argc > end - cursor) return { error: `bad argument count in entry ${n}` };
    o = cursor;
    const argv: string[] = build ? new Array(argc) : [];
    for (let i = 0; i < argc; i++) {
      const len = readVarint(buf, o, end);
      if (len < 0 || len > end - cursor) return { error: `bad length of argument ${i} in entry ${n}` };
      o = cursor;
      if (build) argv[i] = buf.toString("latin1", o, o + len);
      o += len;
    }
    if (build) rec.push({ db, argv });
  }
  if (o !== end) return { error: `${end - o} trailing bytes after the last entry` };
  return { kind: kind as RecordKind, rec };
}

/** How a scan ended. */
export interface ScanResult {
  /** "clean": ends on a record boundary; "torn": torn tail at validLength; "damaged": see file.ts. */
  state: "clean" | "torn" | "damaged";
  /** Offset just past the last good record (where a torn or damaged record starts). */
  validLength: number;
  fileLength: number;
  /** Good records read. */
  records: number;
  /** Why the record at validLength is bad ("" when clean). */
  reason: string;
}

/** Read window size: records are read through a buffer of this many bytes (or one record). */
const WINDOW_BYTES = 1 << 20;

/** A sliding read buffer over [0, fileLength) of fd. */
class Window {
  buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private len = 0;
  private readonly fd: number;
  private readonly fileLength: number;
  constructor(fd: number, fileLength: number) {
    this.fd = fd;
    this.fileLength = fileLength;
  }

  /** Make file bytes [pos, pos+n) available (caller ensures pos+n <= fileLength); returns their index in buf. */
  load(pos: number, n: number): number {
    if (pos >= this.start && pos + n <= this.start + this.len) return pos - this.start;
    const want = Math.max(n, Math.min(WINDOW_BYTES, this.fileLength - pos));
    if (this.buf.length < want || this.buf.length > 4 * Math.max(want, WINDOW_BYTES)) {
      this.buf = Buffer.allocUnsafe(Math.max(want, Math.min(WINDOW_BYTES, this.fileLength)));
    }
    this.len = 0;
    readInto(this.fd, this.buf, 0, want, pos);
    this.start = pos;
    this.len = want;
    return 0;
  }
}

/**
 * Read records from `start` to `fileLength`, calling onRecord for each good one (null: only
 * validate). Stops at the first bad record and classifies it by the rule in file.ts.
 * Never throws for file contents; throws the read error (or an "EOF"-coded Error when the
 * file shrinks underneath) for I/O failures, and whatever onRecord throws.
 */
export function scanRecords(
  fd: number,
  fileLength: number,
  start: number,
  onRecord: ((rec: JournalRecord, kind: RecordKind) => void) | null,
): ScanResult {
  const w = new Window(fd, fileLength);
  let pos = start;
  let records = 0;
  const result = (state: ScanResult["state"], reason: string): ScanResult => ({
    state,
    validLength: pos,
    fileLength,
    records,
    reason,
  });
  /** A bad record lying wholly inside the file: torn only if it is the last thing in it. */
  const bad = (recordEnd: number, reason: string): ScanResult => {
    if (allZero(w, pos, fileLength)) return result("torn", "only zero bytes from here to the end of the file");
    return result(recordEnd === fileLength ? "torn" : "damaged", reason);
  };
  while (pos < fileLength) {
    const remaining = fileLength - pos;
    if (remaining < RECORD_HEADER_SIZE) {
      return result("torn", `incomplete record header (${remaining} of ${RECORD_HEADER_SIZE} bytes)`);
    }
    let o = w.load(pos, RECORD_HEADER_SIZE);
    const len = w.buf.readUInt32LE(o);
    const sum = w.buf.readUInt32LE(o + 4);
    if (len > remaining - RECORD_HEADER_SIZE) {
      if (allZero(w, pos, fileLength)) return result("torn", "only zero bytes from here to the end of the file");
      // An append cut short has nothing after it; a complete record further on means this
      // length field itself is damaged (a torn tail would silently drop the records after it).
      const next = findRecordAfter(fd, pos + 1, fileLength);
      if (next >= 0) {
        return result("damaged", `declared length ${len} reaches past the end of the file, but a complete record starts at offset ${next}`);
      }
      return result("torn", `record of ${len} bytes cut short (${remaining - RECORD_HEADER_SIZE} bytes present)`);
    }
    const recordEnd = pos + RECORD_HEADER_SIZE + len;
    if (len < MIN_PAYLOAD) return bad(recordEnd, `invalid record length ${len}`);
    o = w.load(pos, RECORD_HEADER_SIZE + len);
    const from = o + RECORD_HEADER_SIZE;
    if (crc32(w.buf, from, from + len) !== sum) return bad(recordEnd, "checksum mismatch");
    const d = decodePayload(w.buf, from, from + len, onRecord !== null);
    // A matching checksum means these bytes were written whole: never a torn write.
    if ("error" in d) return result("damaged", `${d.error} (checksum matches)`);
    if (onRecord) onRecord(d.rec, d.kind);
    records++;
    pos = recordEnd;
  }
  return result("clean", "");
}

/** How far past a suspicious length field findRecordAfter looks for a complete record. */
const RESYNC_BYTES = 64 << 20;

/**
 * Offset of the first complete record (its payload parses and its checksum matches) starting
 * in [from, fileLength), looking at most RESYNC_BYTES ahead; -1 when there is none. Only runs
 * on the failure path (a length reaching past the end of the file).
 */
function findRecordAfter(fd: number, from: number, fileLength: number): number {
  const end = Math.min(fileLength, from + RESYNC_BYTES);
  if (end - from < RECORD_HEADER_SIZE + MIN_PAYLOAD) return -1;
  const buf = Buffer.allocUnsafe(end - from);
  readInto(fd, buf, 0, buf.length, from);
  for (let q = 0; q + RECORD_HEADER_SIZE + MIN_PAYLOAD <= buf.length; q++) {
    const len = buf.readUInt32LE(q);
    const p = q + RECORD_HEADER_SIZE;
    if (len < MIN_PAYLOAD || p + len > buf.length) continue;
    if (buf[p] !== KIND_JOURNAL && buf[p] !== KIND_SNAPSHOT) continue;
    if ("error" in decodePayload(buf, p, p + len, false)) continue;
    if (crc32(buf, p, p + len) === buf.readUInt32LE(q + 4)) return from + q;
  }
  return -1;
}

/** True when every byte of [from, to) is zero. */
function allZero(w: Window, from: number, to: number): boolean {
  for (let pos = from; pos < to;) {
    const n = Math.min(WINDOW_BYTES, to - pos);
    const o = w.load(pos, n);
    for (let i = o; i < o + n; i++) if (w.buf[i] !== 0) return false;
    pos += n;
  }
  return true;
}
