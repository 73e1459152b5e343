/**
 * The ACL command: SETUSER GETUSER DELUSER LIST USERS WHOAMI CAT GENPASS DRYRUN LOG LOAD SAVE
 * HELP, with Redis 7.2's replies and errors. The engine (src/acl/) does the work; this module
 * parses arguments and shapes replies:
 * - GETUSER: a map (RESP3) / flat array (RESP2) of flags (a set), passwords, commands, keys,
 *   channels, selectors; an unknown user is null.
 * - LIST: "user <name> <rules>" lines sorted by name; USERS: names sorted.
 * - CAT: the 21 categories, or the commands (subcommands as "parent|sub") of one;
 *   "ERR Unknown category '<name>'".
 * - GENPASS [bits]: (bits+3)/4 lowercase hex characters from the CSPRNG, bits 1..4096.
 * - DRYRUN user command [args]: OK, or the verbose denial sentence as a bulk string; errors
 *   "ERR User '<u>' not found", "ERR Command '<c>' not found", then the arity error.
 * - LOG [count|RESET]: newest first, 10 entries by default.
 * - LOAD / SAVE need an aclfile (else Redis's "not configured to use an ACL file" error).
 * - A subcommand used with the wrong number of arguments answers
 *   "ERR unknown subcommand or wrong number of arguments for '<sub>'. Try ACL HELP.".
 */
import { randomBytes } from "node:crypto";
import { ErrorReply, MapReply, OK, SetReply, Simple, type Reply } from "../resp/reply.ts";
import { ALL_COMMANDS, CATEGORIES, COMMANDS, type Handler } from "./table.ts";
import type { Client } from "../client.ts";
import { E_NOT_INT, is, parseInt64 } from "./util.ts";
import { NO_ACLFILE } from "../acl/acl.ts";
import { describeChannels, describeCommands, describeKeys, userFlags } from "../acl/rules.ts";
import { ACL_OK, verboseDenialText } from "../acl/check.ts";
import type { Selector } from "../acl/user.ts";

function syntaxError(argv: string[]): ErrorReply {
  const sub = argv[1].length > 128 ? argv[1].slice(0, 128) : argv[1];
  return new ErrorReply(`ERR unknown subcommand or wrong number of arguments for '${sub}'. Try ${argv[0].toUpperCase()} HELP.`);
}

function selectorFields(s: Selector): Reply[] {
  return ["commands", describeCommands(s), "keys", describeKeys(s), "channels", describeChannels(s)];
}

const HELP = [
  "CAT [<category>]",
  "    List all commands that belong to <category>, or all command categories",
  "    when no category is specified.",
  "DELUSER <username> [<username> ...]",
  "    Delete a list of users.",
  "DRYRUN <username> <command> [<arg> ...]",
  "    Returns whether the user can execute the given command without executing the command.",
  "GETUSER <username>",
  "    Get the user's details.",
  "GENPASS [<bits>]",
  "    Generate a secure 256-bit user password. The optional `bits` argument can",
  "    be used to specify a different size.",
  "LIST",
  "    Show users details in config file format.",
  "LOAD",
  "    Reload users from the ACL file.",
  "LOG [<count> | RESET]",
  "    Show the ACL log entries.",
  "SAVE",
  "    Save the current config to the ACL file.",
  "SETUSER <username> <attribute> [<attribute> ...]",
  "    Create or modify a user with the specified attributes.",
  "USERS",
  "    List all the registered usernames.",
  "WHOAMI",
  "    Return the current connection username.",
];

function noAclFile(c: Client): boolean {
  return c.server.acl.aclFile().name === "";
}

export const handlers: Record<string, Handler> = {
  "acl|setuser"(c, argv) {
    return c.server.acl.setUser(c, argv[2], argv.slice(3)) ?? OK;
  },
  "acl|deluser"(c, argv) {
    return c.server.acl.deleteUsers(c, argv.slice(2));
  },
  "acl|getuser"(c, argv) {
    const u = c.server.acl.users.get(argv[2]);
    if (u === undefined) return null;
    return new MapReply([
      "flags", new SetReply(userFlags(u)),
      "passwords", [...u.passwords],
      ...selectorFields(u.root),
      "selectors", u.selectors.slice(1).map((s) => new MapReply(selectorFields(s))),
    ]);
  },
  "acl|list"(c) {
    return c.server.acl.listLines();
  },
  "acl|users"(c) {
    return c.server.acl.sortedUsers().map((u) => u.name);
  },
  "acl|whoami"(c) {
    return c.user.name;
  },
  "acl|load"(c) {
    if (noAclFile(c)) return new ErrorReply(NO_ACLFILE);
    const e = c.server.acl.loadFromFile(c);
    return e === null ? OK : new ErrorReply("ERR " + e);
  },
  "acl|save"(c) {
    if (noAclFile(c)) return new ErrorReply(NO_ACLFILE);
    return c.server.acl.saveToFile() ?? OK;
  },
  "acl|cat"(_c, argv) {
    if (argv.length === 2) return [...CATEGORIES];
    if (argv.length !== 3) return syntaxError(argv);
    const cat = argv[2].toLowerCase();
    if (!CATEGORIES.includes(cat)) {
      return new ErrorReply(`ERR Unknown category '${argv[2].length > 128 ? argv[2].slice(0, 128) : argv[2]}'`);
    }
    return ALL_COMMANDS.filter((cmd) => cmd.categories.has(cat)).map((cmd) => cmd.name);
  },
  "acl|genpass"(_c, argv) {
    if (argv.length > 3) return syntaxError(argv);
    let bits = 256;
    if (argv.length === 3) {
      const n = parseInt64(argv[2]);
      if (n === null) return E_NOT_INT;
      bits = typeof n === "bigint" ? (n > 0n ? 1e9 : -1) : n;
    }
    if (bits <= 0 || bits > 4096) {
      return new ErrorReply("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096");
    }
    const chars = Math.floor((bits + 3) / 4);
    return randomBytes(Math.ceil(chars / 2)).toString("hex").slice(0, chars);
  },
  "acl|log"(c, argv) {
    if (argv.length > 3) return syntaxError(argv);
    let count = 10;
    if (argv.length === 3) {
      if (is(argv[2], "reset")) {
        c.server.acl.log.reset();
        return OK;
      }
      const n = parseInt64(argv[2]);
      if (n === null) return E_NOT_INT;
      count = typeof n === "bigint" ? (n > 0n ? Number.MAX_SAFE_INTEGER : 0) : Math.max(0, n);
    }
    return c.server.acl.log.reply(count);
  },
  "acl|dryrun"(c, argv) {
    const acl = c.server.acl;
    const u = acl.users.get(argv[2]);
    if (u === undefined) return new ErrorReply(`ERR User '${argv[2]}' not found`);
    const args = argv.slice(3);
    const base = COMMANDS.get(args[0].toLowerCase());
    const cmd = base !== undefined && base.subcommands !== null && args.length >= 2 ? base.subcommands.get(args[1].toLowerCase()) : base;
    if (cmd === undefined) return new ErrorReply(`ERR Command '${args[0]}' not found`);
    if ((cmd.arity > 0 && cmd.arity !== args.length) || args.length < -cmd.arity) {
      return new ErrorReply(`ERR wrong number of arguments for '${cmd.name}' command`);
    }
    const r = acl.check(u, cmd, args);
    if (r.code === ACL_OK) return OK;
    return verboseDenialText(r.code, u, cmd, args[r.pos]);
  },
  "acl|help"(_c, argv) {
    return [
      new Simple(`${argv[0].toUpperCase()} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`),
      ...HELP.map((l) => new Simple(l)),
      new Simple("HELP"),
      new Simple("    Print this help."),
    ];
  },
};
