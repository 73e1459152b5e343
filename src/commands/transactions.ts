/**
 * Transactions: MULTI EXEC DISCARD WATCH UNWATCH (Redis 7.2 semantics).
 *
 * - MULTI starts queueing (dispatch queues every later command except EXEC / DISCARD / MULTI /
 *   WATCH / QUIT / RESET and flags queue-time rejections in `c.multiError`).
 *   Nested: "ERR MULTI calls can not be nested" (the transaction goes on).
 * - EXEC: "ERR EXEC without MULTI" outside a transaction. A queue-time error answers
 *   "EXECABORT Transaction discarded because of previous errors." (it wins over a WATCH
 *   failure); a touched WATCHed key answers the null array (*-1 / RESP3 _). Both end the
 *   transaction. Otherwise the keys are unwatched, then each queued command runs in order
 *   (after the ACL re-check, whose error takes the command's place) and the replies form
 *   one array; runtime errors are just elements. Blocking commands do not block inside
 *   EXEC (they answer their timeout reply). Writes are journaled as one group record.
 * - WATCH inside MULTI: "ERR WATCH inside MULTI is not allowed" (the transaction goes on).
 *   A WATCHed key counts as touched when any client (this one included) changes it, when it
 *   expires (lazily or actively, or simply reaches its time before EXEC), on FLUSHDB /
 *   FLUSHALL / SWAPDB of a db where it exists. A key already expired when WATCHed is
 *   logically absent: its deletion by expiry or a flush is no change, re-creating it is.
 * - UNWATCH forgets every WATCHed key (and a WATCH failure already seen).
 * - DISCARD: "ERR DISCARD without MULTI", else drops the queue and unwatches.
 */
import { ErrorReply, NULL_ARRAY, OK, type Reply } from "../resp/reply.ts";
import { BLOCKED, type Handler } from "./table.ts";
import type { Client } from "../client.ts";
import type { JournalEntry } from "../persist/types.ts";

const E_EXECABORT = new ErrorReply("EXECABORT Transaction discarded because of previous errors.");

/** Leave the transaction: drop the queue and its flags, unwatch everything. */
export function discardTransaction(c: Client): void {
  c.multi = null;
  c.multiError = false;
  c.server.unwatchAll(c);
}

/** Has a WATCHed key (not already expired when WATCHed) reached its expiry time? */
function watchedKeyExpired(c: Client): boolean {
  if (c.watched.size === 0) return false;
  const ks = c.server.keyspace;
  const now = ks.clock();
  for (const w of c.watched.values()) {
    if (w.expired) continue;
    const db = ks.dbs[w.db];
    const at = db.expires.get(w.key);
    if (at !== undefined && at <= now && db.data.has(w.key)) return true;
  }
  return false;
}

function exec(c: Client): Reply {
  const queue = c.multi;
  if (queue === null) return new ErrorReply("ERR EXEC without MULTI");
  if (watchedKeyExpired(c)) c.dirtyCas = true;
  if (c.multiError || c.dirtyCas) {
    const r = c.multiError ? E_EXECABORT : NULL_ARRAY;
    discardTransaction(c);
    return r;
  }
  const server = c.server;
  server.unwatchAll(c);
  const replies: Reply[] = [];
  const entries: JournalEntry[] = [];
  c.inExec = true;
  c.execJournal = entries;
  try {
    for (const q of queue) {
      const denied = server.acl.checkExec(c, q.cmd, q.argv);
      if (denied !== null) {
        server.countError(denied.message);
        replies.push(denied);
        continue;
      }
      const r = c.call(q.cmd, q.argv);
      // Commands never block inside EXEC (Client.block answers the timeout reply).
      replies.push(r === BLOCKED ? null : r);
    }
  } finally {
    c.inExec = false;
    c.execJournal = null;
    c.multi = null;
    c.multiError = false;
  }
  if (entries.length > 0) server.appendJournal(c, entries);
  return replies;
}

export const handlers: Record<string, Handler> = {
  multi(c) {
    if (c.multi !== null) return new ErrorReply("ERR MULTI calls can not be nested");
    c.multi = [];
    c.multiError = false;
    return OK;
  },
  exec,
  discard(c) {
    if (c.multi === null) return new ErrorReply("ERR DISCARD without MULTI");
    discardTransaction(c);
    return OK;
  },
  watch(c, argv) {
    if (c.multi !== null) return new ErrorReply("ERR WATCH inside MULTI is not allowed");
    // Already doomed: no point watching more.
    if (c.dirtyCas) return OK;
    for (let i = 1; i < argv.length; i++) c.server.watch(c, argv[i]);
    return OK;
  },
  unwatch(c) {
    c.server.unwatchAll(c);
    return OK;
  },
};
