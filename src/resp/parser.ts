/**
 * Incremental RESP request parser: multibulk (`*N\r\n$L\r\n...`) and inline commands,
 * pipelined, split at any byte, binary-safe.
 *
 * Contract: `push(chunk)` appends bytes; `next()` returns the next complete command as an
 * argv of binary strings (one char per byte, latin1), `null` when more bytes are needed, or a
 * {@link ProtocolError} after which the connection must answer `-ERR <message>` and close.
 * A zero-length multibulk (`*0`, `*-1`) or an empty inline line yields no command.
 *
 * Limits, as Redis 7.2 (networking.c) applies them:
 * - no newline within 64 KB of an inline request: "Protocol error: too big inline request";
 *   of a multibulk count: "too big mbulk count string"; of a bulk count: "too big bulk count string";
 * - a multibulk count that is not an integer or exceeds INT_MAX (2147483647): "invalid multibulk length";
 * - a bulk count that is not an integer, negative, or over proto-max-bulk-len: "invalid bulk length";
 * - before authentication, more than 10 arguments: "unauthenticated multibulk length", a bulk
 *   over 16384 bytes: "unauthenticated bulk length";
 * - a byte other than '$' where a bulk count starts: "expected '$', got 'x'";
 * - inline quoting errors: "unbalanced quotes in request".
 * As Redis (which looks for line ends with strchr), a NUL byte before the CR of a `*`/`$` header
 * or the LF of an inline request hides that line end: the parser waits for more bytes, and the
 * 64 KB caps above close the connection, so such input never buffers without bound.
 * A declared length never allocates up front: bytes are kept as they arrive and joined once
 * complete, so memory follows what was really sent; {@link RequestParser.buffered} counts the
 * unparsed bytes plus those of the arguments already parsed for an incomplete command.
 */
import { Buffer } from "node:buffer";

export class ProtocolError {
  constructor(readonly message: string) {}
}

const INLINE_MAX = 64 * 1024;
/** A command of at most this many arguments gets its argv array at its final size at once. */
const ARGV_PRESIZE = 64;
const MBULK_MAX = 2147483647;
const EMPTY = Buffer.alloc(0);
const CR = 13;
const LF = 10;

/**
 * Parse a strictly formatted signed decimal as Redis's string2ll does (no '+', no spaces,
 * no leading zeros). Returns NaN when invalid.
 */
/** Is there a NUL byte in buf[start, end)? (Redis's strchr stops there: the line end is not seen.) */
function hasNul(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] === 0) return true;
  return false;
}

/** Where the line read by {@link quickLen} ends (just past its "\r\n"). */
let quickEnd = 0;

/**
 * The common header shape, read in one pass: after the type byte at p, canonical decimal
 * digits (at most 9, no sign, no leading zero) and a CR with one more byte after it. Returns
 * the value and sets quickEnd, or -1 when anything else is there (the general path, with its
 * exact error handling, then decides).
 */
function quickLen(buf: Buffer, p: number): number {
  const len = buf.length;
  let i = p + 1;
  if (i >= len) return -1;
  let c = buf[i];
  let n: number;
  if (c === 48) {
    n = 0;
    i++;
  } else if (c > 48 && c <= 57) {
    n = c - 48;
    i++;
    const stop = i + 8 < len ? i + 8 : len;
    while (i < stop && (c = buf[i]) >= 48 && c <= 57) {
      n = n * 10 + (c - 48);
      i++;
    }
  } else return -1;
  if (i + 1 >= len || buf[i] !== CR) return -1;
  quickEnd = i + 2;
  return n;
}

const fromCharCode = String.fromCharCode;
// deno-lint-ignore no-explicit-any
const hasLatin1Slice = typeof (Buffer.prototype as any).latin1Slice === "function";

/**
 * Arguments up to this many bytes are decoded in JS (see {@link latin1}). On V8 (Node, Deno)
 * that beats a call into the runtime's decoder for short strings; on JavaScriptCore (Bun)
 * string concatenation makes rope strings that every later Map lookup must flatten, so the
 * Bun transport sets 0 ({@link setShortDecode}).
 */
let shortDecode = 8;

/** Set how long an argument may be to be decoded in JS (0: always use the runtime's decoder). */
export function setShortDecode(n: number): void {
  shortDecode = n;
}

/**
 * Reuse strings for repeated 9-32 byte arguments ({@link cachedKey}). Off by default: on V8 a
 * cached string outlives the young generation and gets promoted, so distinct keys cost 60-80
 * ns more each; JavaScriptCore does not move strings, and there a new string costs more than
 * the lookup, so the Bun transport turns it on.
 */
let keyCache = false;

export function setKeyCache(on: boolean): void {
  keyCache = on;
}

/**
 * buf[start, end) as a binary string. Short arguments (command names, small keys and values)
 * are built in JS; longer ones use the decoder directly (latin1Slice, which
 * toString("latin1") ends up calling).
 */
function latin1(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n <= shortDecode) {
    if (n === 3) return fromCharCode(buf[start], buf[start + 1], buf[start + 2]);
    let s = "";
    for (let i = start; i < end; i++) s += fromCharCode(buf[i]);
    return s;
  }
  // deno-lint-ignore no-explicit-any
  return hasLatin1Slice ? (buf as any).latin1Slice(start, end) : buf.toString("latin1", start, end);
}

/**
 * Short arguments seen recently (command names up to 32 bytes, other arguments up to 8), a
 * direct-mapped cache by a hash of the bytes: a repeated one comes back as the same string.
 * A repeated command name is then neither decoded nor hashed again by the command lookup
 * (the runtime keeps a string's hash), and repeated small values (flags, counters, "1")
 * share one string instead of a copy per key. Bounded: 2048 strings of <= 32 bytes.
 */
const NAME_SLOTS = 2048;
const names: (string | undefined)[] = new Array(NAME_SLOTS).fill(undefined);

function cachedString(buf: Buffer, start: number, end: number, max: number): string {
  const n = end - start;
  if (n > max) return latin1(buf, start, end);
  let h = n;
  for (let i = start; i < end; i++) h = (Math.imul(h, 31) + buf[i]) | 0;
  const slot = (h ^ (h >>> 11)) & (NAME_SLOTS - 1);
  const cached = names[slot];
  if (cached !== undefined && cached.length === n) {
    let k = 0;
    while (k < n && cached.charCodeAt(k) === buf[start + k]) k++;
    if (k === n) return cached;
  }
  const s = latin1(buf, start, end);
  names[slot] = s;
  return s;
}

/**
 * Arguments of 9 to 32 bytes (typical keys) seen recently, in a second direct-mapped table
 * indexed by a sampled hash (length and the first, middle and last four bytes: constant cost
 * whatever the length). A repeated key (a counter, a session, a hot item) comes back as the
 * same string: no new string to allocate and free (on JavaScriptCore about as costly as the
 * rest of a GET), and the keyspace Map reuses the hash the runtime keeps on it. A miss costs
 * the byte loads and a look at a 16 KB table. Bounded: 4096 strings of <= 32 bytes. Used only when
 * {@link setKeyCache} turned it on.
 */
const KEY_SLOTS = 4096;
const keys: (string | undefined)[] = new Array(KEY_SLOTS).fill(undefined);
const keyHashes = new Int32Array(KEY_SLOTS);

/** Does the binary string s have the bytes at buf[start, start + s.length)? Compares from the end, where keys usually differ. */
function sameBytes(s: string, buf: Buffer, start: number): boolean {
  let k = s.length - 1;
  while (k >= 0 && s.charCodeAt(k) === buf[start + k]) k--;
  return k < 0;
}

/** The longest argv[1] the parser remembers (RequestParser.firstArg). */
const FIRST_ARG_MAX = 64;

function cachedKey(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n <= 8) return cachedString(buf, start, end, 8);
  if (n > 32 || !keyCache) return latin1(buf, start, end);
  const m = start + (n >> 1) - 2;
  const h =
    Math.imul(n, 0x9e3779b1) ^
    Math.imul(buf[start] | (buf[start + 1] << 8) | (buf[start + 2] << 16) | (buf[start + 3] << 24), 0x85ebca6b) ^
    Math.imul(buf[m] | (buf[m + 1] << 8) | (buf[m + 2] << 16) | (buf[m + 3] << 24), 0x27d4eb2f) ^
    Math.imul(buf[end - 4] | (buf[end - 3] << 8) | (buf[end - 2] << 16) | (buf[end - 1] << 24), 0xc2b2ae35);
  const slot = (h ^ (h >>> 15)) & (KEY_SLOTS - 1);
  if (keyHashes[slot] !== h) {
    // First sighting of this hash here: remember only the hash. A key seen once (most keys
    // of a large keyspace) never touches the strings, so a miss stays in cache-resident
    // memory; a key seen twice is kept.
    keyHashes[slot] = h;
    return latin1(buf, start, end);
  }
  const cached = keys[slot];
  if (cached !== undefined && cached.length === n && sameBytes(cached, buf, start)) return cached;
  const s = latin1(buf, start, end);
  keys[slot] = s;
  return s;
}

function parseLen(buf: Buffer, start: number, end: number): number {
  const len = end - start;
  if (len <= 0 || len > 20) return NaN;
  let i = start;
  let neg = false;
  if (buf[i] === 45 /* - */) {
    neg = true;
    i++;
    if (i === end) return NaN;
  }
  if (buf[i] === 48 /* 0 */) return len === 1 ? 0 : NaN;
  let n = 0;
  for (; i < end; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return neg ? -n : n;
}

export class RequestParser {
  /** Set by the session: limits apply to clients that have not authenticated. */
  unauthenticated = false;
  /** proto-max-bulk-len. */
  maxBulkLen = 512 * 1024 * 1024;

  private buf: Buffer = EMPTY;
  private pos = 0;
  // Multibulk state.
  private argc = 0; // remaining bulks in the current multibulk, 0 = between commands
  private argv: string[] = [];
  /** Arguments of argv filled so far (argv is made at its final length for small commands). */
  private argi = 0;
  private bulkLen = -1; // length of the bulk being read, -1 = reading its header
  // Large bulk accumulation (avoid O(n^2) concatenation and up-front allocation).
  private parts: Buffer[] = [];
  private partsLen = 0;
  /** Wire bytes of the arguments already parsed for the incomplete command (argv). */
  private argvBytes = 0;
  /** buf is the transport's memory, to be copied before we wait for more input. */
  private borrowed = false;

  /** argv[1] of the previous command (see firstArg). */
  private lastArg1 = "";

  /**
   * argv[1] (the key of most commands): when it has the bytes of the previous command's, the
   * same string again. A connection that repeats its key (a counter, a session, a pipeline on
   * one item) then allocates no string for it, the keyspace Map reuses the hash the runtime
   * keeps on the string, and the ACL check's memo compares one pointer. A different key costs
   * a length test or a compare that starts at the end, where keys usually differ.
   */
  private firstArg(buf: Buffer, start: number, end: number): string {
    const n = end - start;
    // Only short ones are kept: an idle connection must not hold on to a large argument.
    if (n > FIRST_ARG_MAX) return cachedKey(buf, start, end);
    const last = this.lastArg1;
    if (n === last.length && sameBytes(last, buf, start)) return last;
    const s = cachedKey(buf, start, end);
    this.lastArg1 = s;
    return s;
  }

  /** Bytes received but not yet consumed (for client-query-buffer-limit and CLIENT LIST qbuf). */
  get buffered(): number {
    return this.buf.length - this.pos + this.partsLen + this.argvBytes;
  }

  /**
   * Append received bytes. With `borrowed`, the caller will reuse `chunk`'s memory after
   * this call returns, so whatever the parser keeps past the next null from next() is copied.
   */
  push(chunk: Uint8Array, borrowed = false): void {
    const b = chunk instanceof Buffer ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.borrowed = borrowed;
    if (this.bulkLen > INLINE_MAX && this.argc > 0) {
      if (borrowed) {
        this.parts.push(Buffer.from(b));
        this.partsLen += b.length;
        if (this.partsLen >= this.bulkLen + 2) {
          this.buf = Buffer.concat(this.parts, this.partsLen);
          this.pos = 0;
          this.parts = [];
          this.partsLen = 0;
          this.borrowed = false;
        }
        return;
      }
      // Reading a large bulk: keep the chunk aside until the bulk is complete.
      if (this.pos < this.buf.length) {
        this.parts.push(this.buf.subarray(this.pos));
        this.partsLen += this.buf.length - this.pos;
      }
      this.buf = EMPTY;
      this.pos = 0;
      this.parts.push(b);
      this.partsLen += b.length;
      if (this.partsLen >= this.bulkLen + 2) {
        this.buf = Buffer.concat(this.parts, this.partsLen);
        this.parts = [];
        this.partsLen = 0;
      }
      return;
    }
    if (this.pos >= this.buf.length) {
      this.buf = b;
    } else {
      // Copy: the transport may reuse its read buffer.
      this.buf = Buffer.concat([this.buf.subarray(this.pos), b]);
    }
    this.pos = 0;
  }

  /** Drop everything buffered (used on RESET of a protocol-errored client, and on close). */
  clear(): void {
    this.buf = EMPTY;
    this.pos = 0;
    this.argc = 0;
    this.argv = [];
    this.argi = 0;
    this.bulkLen = -1;
    this.parts = [];
    this.partsLen = 0;
    this.argvBytes = 0;
  }

  next(): string[] | null | ProtocolError {
    for (;;) {
      if (this.partsLen > 0) return null;
      const buf = this.buf;
      if (this.argc === 0) {
        if (this.pos >= buf.length) return null;
        if (buf[this.pos] !== 42 /* * */) {
          const r = this.inline();
          if (r === undefined) continue; // empty line
          return r;
        }
        const q = quickLen(buf, this.pos);
        if (q >= 0) {
          if (q > 10 && this.unauthenticated) return new ProtocolError("Protocol error: unauthenticated multibulk length");
          this.pos = quickEnd;
          if (q === 0) continue;
          this.argc = q;
          this.argv = q <= ARGV_PRESIZE ? new Array(q) : [];
          this.argi = 0;
          this.bulkLen = -1;
        } else {
          const nl = buf.indexOf(CR, this.pos);
          if (nl < 0 || hasNul(buf, this.pos, nl)) {
            if (buf.length - this.pos > INLINE_MAX) return new ProtocolError("Protocol error: too big mbulk count string");
            this.compact();
            return null;
          }
          if (nl + 1 >= buf.length) {
            this.compact(); // need the '\n' too
            return null;
          }
          const n = parseLen(buf, this.pos + 1, nl);
          if (Number.isNaN(n) || n > MBULK_MAX) return new ProtocolError("Protocol error: invalid multibulk length");
          if (n > 10 && this.unauthenticated) return new ProtocolError("Protocol error: unauthenticated multibulk length");
          this.pos = nl + 2;
          if (n <= 0) continue;
          this.argc = n;
          this.argv = n <= ARGV_PRESIZE ? new Array(n) : [];
          this.argi = 0;
          this.bulkLen = -1;
        }
      }
      // Read bulks.
      while (this.argc > 0) {
        const q = this.bulkLen < 0 && buf[this.pos] === 36 /* $ */ ? quickLen(buf, this.pos) : -1;
        if (q >= 0 && q <= 16384) {
          this.pos = quickEnd;
          this.bulkLen = q;
        } else if (this.bulkLen < 0) {
          if (this.pos >= buf.length) {
            this.compact();
            return null;
          }
          const nl = buf.indexOf(CR, this.pos);
          if (nl < 0 || hasNul(buf, this.pos, nl)) {
            if (buf.length - this.pos > INLINE_MAX) return new ProtocolError("Protocol error: too big bulk count string");
            this.compact();
            return null;
          }
          if (nl + 1 >= buf.length) {
            this.compact();
            return null;
          }
          if (buf[this.pos] !== 36 /* $ */) {
            return new ProtocolError(`Protocol error: expected '$', got '${String.fromCharCode(buf[this.pos])}'`);
          }
          const n = parseLen(buf, this.pos + 1, nl);
          if (Number.isNaN(n) || n < 0 || n > this.maxBulkLen) return new ProtocolError("Protocol error: invalid bulk length");
          if (n > 16384 && this.unauthenticated) return new ProtocolError("Protocol error: unauthenticated bulk length");
          this.pos = nl + 2;
          this.bulkLen = n;
        }
        const need = this.bulkLen + 2;
        if (buf.length - this.pos < need) {
          if (this.bulkLen > INLINE_MAX) {
            // Switch to accumulation mode for this large bulk.
            if (this.pos < buf.length) {
              const tail = buf.subarray(this.pos);
              this.parts.push(this.borrowed ? Buffer.from(tail) : tail);
              this.partsLen = buf.length - this.pos;
            }
            this.borrowed = false;
            this.buf = EMPTY;
            this.pos = 0;
          } else {
            this.compact();
          }
          return null;
        }
        this.argv[this.argi] =
          this.argi === 0
            ? cachedString(buf, this.pos, this.pos + this.bulkLen, 32)
            : this.argi === 1
            ? this.firstArg(buf, this.pos, this.pos + this.bulkLen)
            : cachedKey(buf, this.pos, this.pos + this.bulkLen);
        this.argi++;
        this.argvBytes += need;
        this.pos += need;
        this.bulkLen = -1;
        this.argc--;
      }
      const argv = this.argv;
      this.argv = [];
      this.argi = 0;
      this.argvBytes = 0;
      if (this.pos >= buf.length) {
        this.buf = EMPTY;
        this.pos = 0;
      }
      return argv;
    }
  }

  /** Stop borrowing the transport's memory (call after the last next() of a read). */
  detach(): void {
    if (this.borrowed) this.compact();
  }

  /** Keep only the unconsumed tail so a long-lived buffer does not pin memory (or a borrowed one). */
  private compact(): void {
    if (this.pos >= this.buf.length) {
      this.buf = EMPTY;
      this.pos = 0;
      this.borrowed = false;
    } else if (this.borrowed) {
      this.buf = Buffer.from(this.buf.subarray(this.pos));
      this.pos = 0;
      this.borrowed = false;
    } else if (this.pos > 0 && this.pos > (this.buf.length >> 1)) {
      this.buf = Buffer.from(this.buf.subarray(this.pos));
      this.pos = 0;
    }
  }

  /** Parse one inline line. undefined = empty line consumed. */
  private inline(): string[] | null | ProtocolError | undefined {
    const buf = this.buf;
    const nl = buf.indexOf(LF, this.pos);
    if (nl < 0 || hasNul(buf, this.pos, nl)) {
      if (buf.length - this.pos > INLINE_MAX) return new ProtocolError("Protocol error: too big inline request");
      this.compact();
      return null;
    }
    let end = nl;
    if (end > this.pos && buf[end - 1] === CR) end--;
    const line = buf.toString("latin1", this.pos, end);
    this.pos = nl + 1;
    if (this.pos >= buf.length) {
      this.buf = EMPTY;
      this.pos = 0;
    }
    const args = splitArgs(line);
    if (args === null) return new ProtocolError("Protocol error: unbalanced quotes in request");
    if (args.length === 0) return undefined;
    return args;
  }
}

function isHex(c: string): boolean {
  return /^[0-9a-fA-F]$/.test(c);
}

/**
 * Split an inline request line into arguments the way redis-cli and Redis's inline parser do:
 * whitespace separates, "double quotes" understand \n \r \t \b \a \\ \" and \xHH escapes,
 * 'single quotes' understand only \'. A closing quote must be followed by a space or the end.
 * Returns null on unbalanced quotes.
 */
export function splitArgs(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  const isSpace = (c: string) => c === " " || c === "\n" || c === "\r" || c === "\t" || c === "\v" || c === "\f";
  for (;;) {
    while (i < n && isSpace(line[i])) i++;
    if (i >= n) return out;
    let cur = "";
    let inq = false; // double quotes
    let insq = false; // single quotes
    for (;;) {
      if (inq) {
        if (i >= n) return null;
        const c = line[i];
        if (c === "\\" && line[i + 1] === "x" && i + 3 < n + 0 && isHex(line[i + 2] ?? "") && isHex(line[i + 3] ?? "")) {
          cur += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
          i += 4;
          continue;
        }
        if (c === "\\" && i + 1 < n) {
          const e = line[i + 1];
          cur += e === "n" ? "\n" : e === "r" ? "\r" : e === "t" ? "\t" : e === "b" ? "\b" : e === "a" ? "\x07" : e;
          i += 2;
          continue;
        }
        if (c === '"') {
          if (i + 1 < n && !isSpace(line[i + 1])) return null;
          i++;
          break;
        }
        cur += c;
        i++;
      } else if (insq) {
        if (i >= n) return null;
        const c = line[i];
        if (c === "\\" && line[i + 1] === "'") {
          cur += "'";
          i += 2;
          continue;
        }
        if (c === "'") {
          if (i + 1 < n && !isSpace(line[i + 1])) return null;
          i++;
          break;
        }
        cur += c;
        i++;
      } else {
        if (i >= n) break;
        const c = line[i];
        if (isSpace(c)) break;
        if (c === '"') inq = true;
        else if (c === "'") insq = true;
        else cur += c;
        i++;
      }
    }
    out.push(cur);
  }
}
