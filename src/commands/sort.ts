/**
 * SORT and SORT_RO (Redis 7.2 semantics) over lists, sets and sorted sets.
 *
 * SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
 *      [STORE destination]          (SORT_RO: the same without STORE)
 * - Numeric sort by default (elements, or BY values, parsed as C doubles; ties compare the
 *   elements' bytes); ALPHA compares bytes. A BY pattern without '*' (e.g. "nosort") skips
 *   sorting: lists and sorted sets keep their order (reversed by DESC), sets are sorted
 *   ALPHA anyway when STOREd so the result is deterministic.
 * - Patterns: the first '*' is replaced by the element; "key->field" reads a hash field;
 *   "#" (GET only) is the element itself. Missing values are nil (or "" when STOREd).
 * - STORE writes a list (or deletes the destination when the result is empty) and replies
 *   its length; event "sortstore" (class 'l'), or "del" when the destination is removed.
 * Errors: "ERR syntax error", "ERR value is not an integer or out of range" (LIMIT), WRONGTYPE,
 * "ERR One or more scores can't be converted into double", and, for users whose key access
 * is restricted, "ERR BY option of SORT denied due to insufficient ACL permissions." /
 * "ERR GET option of SORT denied due to insufficient ACL permissions."
 * Journal: SORT ... STORE of a set is journaled as DEL dst + RPUSH dst items (chunked);
 * other STOREs are deterministic and journaled as sent.
 */
import { ErrorReply, type Reply } from "../resp/reply.ts";
import type { Handler } from "./table.ts";
import type { Client } from "../client.ts";
import { E_NOT_INT, E_SYNTAX, E_WRONGTYPE, is, parseInt64 } from "./util.ts";
import { ZSet } from "../store/zset.ts";
import { List } from "../store/list.ts";
import { cStrtod } from "./zsets.ts";

interface SortItem {
  obj: string;
  score: number;
  cmp: string | null;
}

function longArg(s: string): number | null {
  const n = parseInt64(s);
  if (n === null) return null;
  if (typeof n === "bigint") return n > 0n ? Number.MAX_SAFE_INTEGER : -Number.MAX_SAFE_INTEGER;
  return n;
}

/** Redis's ACLUserCheckCmdWithUnrestrictedKeyAccess (a missing engine method means full access). */
function fullKeyAccess(c: Client, argv: string[]): boolean {
  const acl = c.server.acl as unknown as { hasFullKeyAccess?: (user: unknown, cmd?: unknown, argv?: string[]) => boolean };
  return typeof acl.hasFullKeyAccess === "function" ? acl.hasFullKeyAccess(c.user, c.current ?? undefined, argv) : true;
}

/** Redis's lookupKeyByPattern: the string (or hash field) a pattern names for an element. */
function byPattern(c: Client, pattern: string, subst: string): string | null {
  if (pattern === "#") return subst;
  const star = pattern.indexOf("*");
  if (star < 0) return null;
  let keyEnd = pattern.length;
  let field: string | null = null;
  const arrow = pattern.indexOf("->", star + 1);
  if (arrow >= 0 && arrow + 2 < pattern.length) {
    field = pattern.slice(arrow + 2);
    keyEnd = arrow;
  }
  const key = pattern.slice(0, star) + subst + pattern.slice(star + 1, keyEnd);
  const v = c.db.get(key);
  if (v === undefined) {
    c.server.stats.keyspaceMisses++;
    return null;
  }
  c.server.stats.keyspaceHits++;
  if (field !== null) {
    if (!(v instanceof Map)) return null;
    return v.get(field) ?? null;
  }
  return typeof v === "string" ? v : null;
}

function cmpBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortGeneric(c: Client, argv: string[], readonly: boolean): Reply {
  let desc = false;
  let alpha = false;
  let limitStart = 0;
  let limitCount = -1;
  let store: string | null = null;
  let by: string | null = null;
  let dontsort = false;
  const gets: string[] = [];
  const full = fullKeyAccess(c, argv);
  for (let j = 2; j < argv.length; j++) {
    const left = argv.length - j - 1;
    const a = argv[j];
    if (is(a, "asc")) desc = false;
    else if (is(a, "desc")) desc = true;
    else if (is(a, "alpha")) alpha = true;
    else if (is(a, "limit") && left >= 2) {
      const s = longArg(argv[j + 1]);
      if (s === null) return E_NOT_INT;
      const n = longArg(argv[j + 2]);
      if (n === null) return E_NOT_INT;
      limitStart = s;
      limitCount = n;
      j += 2;
    } else if (!readonly && is(a, "store") && left >= 1) {
      store = argv[j + 1];
      j++;
    } else if (is(a, "by") && left >= 1) {
      by = argv[j + 1];
      if (by.indexOf("*") < 0) dontsort = true;
      else if (!full) return new ErrorReply("ERR BY option of SORT denied due to insufficient ACL permissions.");
      j++;
    } else if (is(a, "get") && left >= 1) {
      if (!full) return new ErrorReply("ERR GET option of SORT denied due to insufficient ACL permissions.");
      gets.push(argv[j + 1]);
      j++;
    } else return E_SYNTAX;
  }

  const key = argv[1];
  const v = c.db.get(key);
  if (v === undefined) c.server.stats.keyspaceMisses++;
  else c.server.stats.keyspaceHits++;
  let kind: "list" | "set" | "zset" = "list";
  if (v !== undefined) {
    if (v instanceof Set) kind = "set";
    else if (v instanceof ZSet) kind = "zset";
    else if (v instanceof List) kind = "list";
    else return E_WRONGTYPE;
  }
  if (dontsort && kind === "set" && store !== null) {
    dontsort = false;
    alpha = true;
    by = null;
  }
  const size = v === undefined ? 0 : kind === "list" ? (v as List).length : (v as Set<string> | ZSet).size;
  let vectorlen = size;
  let start = Math.min(Math.max(limitStart, 0), vectorlen);
  const count = Math.min(Math.max(limitCount, -1), vectorlen);
  let end = count < 0 ? vectorlen - 1 : start + count - 1;
  if (start >= vectorlen) {
    start = vectorlen - 1;
    end = vectorlen - 2;
  }
  if (end >= vectorlen) end = vectorlen - 1;
  if ((kind === "zset" || kind === "list") && dontsort && (start !== 0 || end !== vectorlen - 1)) {
    vectorlen = end - start + 1;
  }

  let objs: string[] = [];
  if (v === undefined) {
    objs = [];
  } else if (kind === "list" && dontsort) {
    if (end >= start) {
      const l = v as List;
      if (desc) {
        const hi = l.length - start - 1;
        const lo = Math.max(0, hi - vectorlen + 1);
        objs = l.range(lo, hi).reverse();
      } else objs = l.range(start, Math.min(l.length - 1, start + vectorlen - 1));
      end -= start;
      start = 0;
    }
  } else if (kind === "list") {
    objs = (v as List).toArray();
  } else if (kind === "set") {
    objs = [...(v as Set<string>)];
  } else if (dontsort) {
    const z = v as ZSet;
    if (vectorlen > 0) objs = z.range(start, start + vectorlen - 1, desc).map((e) => e[0]);
    end -= start;
    start = 0;
  } else {
    objs = [...(v as ZSet).members()];
  }

  const items: SortItem[] = objs.map((obj) => ({ obj, score: 0, cmp: null }));
  let convError = false;
  if (!dontsort) {
    for (const it of items) {
      let byval: string | null;
      if (by !== null) {
        byval = byPattern(c, by, it.obj);
        if (byval === null) continue;
      } else byval = it.obj;
      if (alpha) {
        if (by !== null) it.cmp = byval;
      } else {
        const r = byval.length === 0 ? { v: 0, overflow: false, under0: false, subnormal: false } : cStrtod(byval);
        if (r === null || r.overflow || r.under0 || r.subnormal || Number.isNaN(r.v)) convError = true;
        else it.score = r.v;
      }
    }
    const sign = desc ? -1 : 1;
    let cmp: (a: SortItem, b: SortItem) => number;
    if (!alpha) {
      cmp = (a, b) => sign * (a.score > b.score ? 1 : a.score < b.score ? -1 : cmpBytes(a.obj, b.obj));
    } else if (by !== null) {
      cmp = (a, b) => {
        let r: number;
        if (a.cmp === null || b.cmp === null) r = a.cmp === b.cmp ? 0 : a.cmp === null ? -1 : 1;
        else r = cmpBytes(a.cmp, b.cmp);
        return sign * r;
      };
    } else {
      cmp = (a, b) => sign * cmpBytes(a.obj, b.obj);
    }
    if (!convError) items.sort(cmp);
  }

  if (convError) return new ErrorReply("ERR One or more scores can't be converted into double");
  const n = end - start + 1;
  const outputlen = gets.length > 0 ? gets.length * n : n;
  if (store === null) {
    const out: Reply[] = [];
    for (let j = start; j <= end; j++) {
      const obj = items[j].obj;
      if (gets.length === 0) out.push(obj);
      for (const g of gets) out.push(byPattern(c, g, obj));
    }
    return out;
  }
  const result: string[] = [];
  for (let j = start; j <= end; j++) {
    const obj = items[j].obj;
    if (gets.length === 0) result.push(obj);
    else for (const g of gets) result.push(byPattern(c, g, obj) ?? "");
  }
  if (outputlen > 0) {
    c.db.set(store, List.from(result));
    c.server.notify("l", "sortstore", store, c.dbIndex);
    c.server.dirty += outputlen;
  } else if (c.db.delete(store)) {
    c.server.notify("g", "del", store, c.dbIndex);
    c.server.dirty++;
  }
  if (kind === "set") {
    const prop: string[][] = [["DEL", store]];
    for (let i = 0; i < result.length; i += 1024) prop.push(["RPUSH", store, ...result.slice(i, i + 1024)]);
    c.propagate = prop;
  }
  return outputlen;
}

export const handlers: Record<string, Handler> = {
  sort: (c, argv) => sortGeneric(c, argv, false),
  sort_ro: (c, argv) => sortGeneric(c, argv, true),
};
