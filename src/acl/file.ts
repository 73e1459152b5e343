/**
 * ACL files: parsing (ACL LOAD, --aclfile at startup), writing (ACL SAVE) and the `user`
 * directives of the main configuration, with Redis 7.2's rules and messages.
 *
 * File format: one `user <name> <rules...>` per line; lines are trimmed of spaces, tabs, CR
 * and LF (so CRLF files load); blank lines are skipped; tokens are split on single spaces and
 * selectors spread over several tokens are merged back. Every problem is collected (all lines
 * are examined) and the load is all-or-nothing; the messages are Redis's:
 *   "<file>:<n> should start with user keyword followed by the username. "
 *   "'<file>:<n>: username '<name>' contains invalid characters. "   (sic, Redis's quote)
 *   "WARNING: Duplicate user '<name>' found on line <n>. "
 *   "<file>:<n>: Unmatched parenthesis in selector definition."
 *   "<file>:<n>: Error in applying operation '<op>': <reason>. "  (unknown command/category)
 *   "<file>:<n>: <reason>. "                                      (first other rule error)
 * followed by "WARNING: ACL errors detected, no change to the previously active ACL rules was
 * performed". Lines starting with '#' are not comments in Redis 7.2: they are errors.
 * aki's one addition: a line holding a NUL byte is refused ("<file>:<n>: NUL bytes are not
 * allowed. ") where Redis would silently truncate it.
 * A missing file: "Error loading ACLs, opening file '<file>': No such file or directory".
 *
 * Saving writes every user as its ACL LIST line, sorted by name, to "<file>.tmp-<pid>-<ms>"
 * (mode 0600) in the same directory, fsyncs it, renames it over the file and fsyncs the
 * directory; on failure the temp file is removed and the old file is untouched.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { Buffer } from "node:buffer";
import { dirname } from "node:path";
import { User, hasSpaces } from "./user.ts";
import { RULE_ERROR_TEXT, applyUserRule, describeUser, mergeSelectorArgs } from "./rules.ts";

export const LOAD_FAILED_SUFFIX = "WARNING: ACL errors detected, no change to the previously active ACL rules was performed";

const STRERROR: Record<string, string> = {
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  EISDIR: "Is a directory",
  ENOTDIR: "Not a directory",
  ELOOP: "Too many levels of symbolic links",
  EMFILE: "Too many open files",
  ENAMETOOLONG: "File name too long",
  EPERM: "Operation not permitted",
  EROFS: "Read-only file system",
  ENOSPC: "No space left on device",
  EIO: "Input/output error",
};

export function strerror(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code && STRERROR[code]) return STRERROR[code];
  return (e as Error).message ?? String(e);
}

/**
 * Parse ACL file text into a fresh user set. `name` is the file name used in messages.
 * Returns the users, or the full error text (ending with the WARNING sentence).
 */
export function parseAclText(text: string, name: string, allChannelsByDefault: boolean): { users: Map<string, User> } | { error: string } {
  const users = new Map<string, User>();
  let errors = "";
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const line = trim(lines[i], " \t\r\n");
    // Decided (README, Security): '#' comment lines are accepted, as aki's guide shows and
    // later Redis does; Redis 7.2 refuses them. ACL SAVE does not keep them.
    if (line === "" || line.startsWith("#")) continue;
    if (line.includes("\0")) {
      errors += `${name}:${n}: NUL bytes are not allowed. `;
      continue;
    }
    const argv = line.split(" ");
    if (argv[0] !== "user" || argv.length < 2) {
      errors += `${name}:${n} should start with user keyword followed by the username. `;
      continue;
    }
    const uname = argv[1];
    if (hasSpaces(uname)) {
      errors += `'${name}:${n}: username '${uname}' contains invalid characters. `;
      continue;
    }
    if (users.has(uname)) {
      errors += `WARNING: Duplicate user '${uname}' found on line ${n}. `;
      continue;
    }
    const u = new User(uname, allChannelsByDefault);
    users.set(uname, u);
    const merged = mergeSelectorArgs(argv.slice(2));
    if ("invalid" in merged) {
      errors += `${name}:${n}: Unmatched parenthesis in selector definition.`;
      continue;
    }
    let syntaxError = false;
    for (const raw of merged.args) {
      const op = trim(raw, "\t\r\n");
      const e = applyUserRule(u, op, allChannelsByDefault);
      if (e === null) continue;
      if (e === "ENOENT") errors += `${name}:${n}: Error in applying operation '${op}': ${RULE_ERROR_TEXT[e]}. `;
      else if (!syntaxError) {
        errors += `${name}:${n}: ${RULE_ERROR_TEXT[e]}. `;
        syntaxError = true;
      }
    }
    u.refresh();
  }
  if (errors !== "") return { error: errors + LOAD_FAILED_SUFFIX };
  return { users };
}

/** Read and parse an ACL file (`path` on disk, `name` as configured for messages). */
export function loadAclFile(path: string, name: string, allChannelsByDefault: boolean): { users: Map<string, User> } | { error: string } {
  let text: string;
  try {
    text = readFileSync(path, "latin1");
  } catch (e) {
    return { error: `Error loading ACLs, opening file '${name}': ${strerror(e)}` };
  }
  return parseAclText(text, name, allChannelsByDefault);
}

/** The ACL SAVE text: one ACL LIST line per user, sorted by name. */
export function aclFileText(users: Map<string, User>): string {
  const names = [...users.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let out = "";
  for (const n of names) out += `user ${n} ${describeUser(users.get(n)!)}\n`;
  return out;
}

/**
 * Write `text` atomically to `path`. Returns null, or a description of what failed (for the
 * server log), having removed the temp file.
 */
export function saveAclFile(path: string, text: string, pid: number): string | null {
  const tmp = `${path}.tmp-${pid}-${Date.now()}`;
  let fd = -1;
  let step = "Opening temp ACL file for ACL SAVE";
  try {
    fd = openSync(tmp, "w", 0o600);
    step = "Writing ACL file for ACL SAVE";
    const buf = Buffer.from(text, "latin1");
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    step = "Syncing ACL file for ACL SAVE";
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    step = "Renaming ACL file for ACL SAVE";
    renameSync(tmp, path);
    step = "Syncing ACL directory for ACL SAVE";
    syncDir(dirname(path));
    return null;
  } catch (e) {
    if (fd !== -1) {
      try {
        closeSync(fd);
      } catch { /* already failing */ }
    }
    try {
      unlinkSync(tmp);
    } catch { /* may not exist */ }
    return `${step}: ${strerror(e)}`;
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function trim(s: string, chars: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && chars.includes(s[a])) a++;
  while (b > a && chars.includes(s[b - 1])) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}
