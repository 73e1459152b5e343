/**
 * Attaches every command group's handlers to the table. One module per group; each exports
 * `handlers`, a record from full command name ("get", "config|get") to handler.
 */
import { attachHandlers } from "./table.ts";
import { handlers as connection } from "./connection.ts";
import { handlers as serverCmds } from "./server.ts";
import { handlers as introspection } from "./introspection.ts";
import { handlers as keyspace } from "./keyspace.ts";
import { handlers as strings } from "./strings.ts";
import { handlers as hashes } from "./hashes.ts";
import { handlers as lists } from "./lists.ts";
import { handlers as sets } from "./sets.ts";
import { handlers as zsets } from "./zsets.ts";
import { handlers as bitmaps } from "./bitmaps.ts";
import { handlers as sort } from "./sort.ts";
import { handlers as pubsub } from "./pubsub.ts";
import { handlers as transactions } from "./transactions.ts";
import { handlers as acl } from "./acl.ts";

for (const group of [connection, serverCmds, introspection, keyspace, strings, hashes, lists, sets, zsets, bitmaps, sort, pubsub, transactions, acl]) {
  attachHandlers(group);
}
