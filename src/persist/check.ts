/**
 * `aki check FILE [--fix]`: verify a data file without loading it, using exactly the rule
 * open() uses (see file.ts): reports where the valid data ends and how many records it holds.
 *
 * - clean file: ok, validLength === fileLength;
 * - torn tail: not ok; with fix the file is truncated to validLength (fsynced) and the result
 *   is ok. A file shorter than the header that is a prefix of it is a torn header
 *   (validLength 0; fix truncates it to an empty file, which opens as an empty store);
 *   an empty file is ok (an empty store);
 * - damage before the tail: not ok, and never "fixed" (the records after it would be lost);
 *   the message names the offset so an operator can decide to truncate there by hand;
 * - not an aki data file, unsupported version, missing/unreadable file, I/O error: not ok,
 *   message says why. Never throws.
 * fileLength is the length found before any fix; records counts the good records.
 */
import * as fs from "node:fs";
import { checkHeader, HEADER_SIZE, scanRecords } from "./format.ts";
import { describeIoError, readExactly } from "./io.ts";

export interface CheckResult {
  /** The file is a valid store when checkFile returns (after the fix, if one was applied). */
  ok: boolean;
  /** Offset just past the last good record (the header counts as good). */
  validLength: number;
  /** File length as found, before any fix. */
  fileLength: number;
  /** Good records (snapshot and journal). */
  records: number;
  /** One human-readable line naming the file and, when bad, the offset. */
  message: string;
}

export function checkFile(path: string, fix: boolean): CheckResult {
  let fd: number;
  try {
    fd = fs.openSync(path, fix ? "r+" : "r");
  } catch (e) {
    return { ok: false, validLength: 0, fileLength: 0, records: 0, message: `${path}: cannot open: ${describeIoError(e)}` };
  }
  let fileLength = 0;
  try {
    fileLength = fs.fstatSync(fd).size;
    const result = (ok: boolean, validLength: number, records: number, message: string): CheckResult => ({
      ok,
      validLength,
      fileLength,
      records,
      message: `${path}: ${message}`,
    });
    const verdict = checkHeader(readExactly(fd, 0, Math.min(fileLength, HEADER_SIZE)), fileLength);
    if (verdict === "partial") {
      if (fileLength === 0) return result(true, 0, 0, "empty file: an empty store (the header is written on first open)");
      if (!fix) {
        return result(
          false,
          0,
          0,
          `torn header (${fileLength} of ${HEADER_SIZE} bytes), valid up to offset 0; --fix truncates it to an empty store`,
        );
      }
      fs.ftruncateSync(fd, 0);
      fs.fdatasyncSync(fd);
      return result(true, 0, 0, `torn header (${fileLength} of ${HEADER_SIZE} bytes): truncated to 0 bytes (an empty store)`);
    }
    if (verdict !== "ok") return result(false, 0, 0, verdict);
    const scan = scanRecords(fd, fileLength, HEADER_SIZE, null);
    const { validLength, records } = scan;
    if (scan.state === "clean") return result(true, validLength, records, `OK: ${records} records, ${fileLength} bytes`);
    const cut = fileLength - validLength;
    if (scan.state === "torn") {
      if (!fix) {
        return result(
          false,
          validLength,
          records,
          `torn tail at offset ${validLength} (${scan.reason}): ${records} good records, valid up to offset ${validLength}, ${cut} bytes after it; --fix truncates them`,
        );
      }
      fs.ftruncateSync(fd, validLength);
      fs.fdatasyncSync(fd);
      return result(
        true,
        validLength,
        records,
        `torn tail at offset ${validLength} (${scan.reason}): truncated from ${fileLength} to ${validLength} bytes; ${records} good records`,
      );
    }
    return result(
      false,
      validLength,
      records,
      `damaged record at offset ${validLength} (${scan.reason}), followed by ${cut} bytes: ${records} good records, valid up to offset ${validLength}. Not fixed: truncating would drop everything after the damage${
        fix ? "" : " (--fix does not repair damage before the tail)"
      }`,
    );
  } catch (e) {
    return { ok: false, validLength: 0, fileLength, records: 0, message: `${path}: read error: ${describeIoError(e)}` };
  } finally {
    try {
      fs.closeSync(fd);
    } catch {
      // ignore
    }
  }
}
