/**
 * CRC-32 (IEEE 802.3: reflected polynomial 0xEDB88320, initial value and final xor
 * 0xFFFFFFFF), as used by zlib, PNG and Ethernet. crc32("123456789") === 0xCBF43926.
 *
 * Table-driven, eight bytes per step ("slicing-by-8"): TABLE holds eight 256-entry tables;
 * table 0 is the classic byte table, table k advances a byte through k more zero bytes.
 * The table is an Int32Array and every intermediate value a signed 32-bit integer, so the
 * JITs keep the loop in integer arithmetic (a Uint32Array entry above 2^31 reads as a double,
 * which sent JavaScriptCore's optimized code back to its slow tiers again and again).
 * Never throws; out-of-range start/end are the caller's bug (bytes read as undefined -> 0).
 */

const POLY = 0xedb88320 | 0;

const TABLE: Int32Array = (() => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? POLY ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n];
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
})();

/**
 * CRC-32 of bytes[start, end). Pass a previous result as `crc` to continue a running checksum
 * over consecutive pieces. Returns an unsigned 32-bit integer.
 */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number {
  const t = TABLE;
  let c = ~crc | 0;
  let i = start | 0;
  const stop = end | 0;
  while (stop - i >= 8) {
    const a = (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)) ^ c;
    const b = bytes[i + 4] | (bytes[i + 5] << 8) | (bytes[i + 6] << 16) | (bytes[i + 7] << 24);
    c = t[1792 + (a & 0xff)] ^ t[1536 + ((a >>> 8) & 0xff)] ^ t[1280 + ((a >>> 16) & 0xff)] ^
      t[1024 + ((a >>> 24) & 0xff)] ^ t[768 + (b & 0xff)] ^ t[512 + ((b >>> 8) & 0xff)] ^
      t[256 + ((b >>> 16) & 0xff)] ^ t[(b >>> 24) & 0xff];
    i += 8;
  }
  while (i < stop) c = t[(c ^ bytes[i++]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
