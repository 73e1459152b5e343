/**
 * ACL rule language and rendering through real sockets: every SETUSER token and error, ACL LIST
 * and GETUSER byte for byte (RESP2 and RESP3), the commands-part compaction of Redis 7.2,
 * selectors, key read/write permissions, channels, first-args, DRYRUN, CAT, GENPASS, HELP,
 * USERS, WHOAMI, DELUSER. Expected strings follow Redis 7.2 (checked against the reference
 * redis-server where 7.0 and 7.2 agree; 7.2 adds "sanitize-payload" and keeps rule order).
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startServer, RawClient, bulk, bulks, arr, int, err, OK, NIL, type AkiServer } from "./harness.ts";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const modErr = (op: string, why: string) => err(`ERR Error in ACL SETUSER modifier '${op}': ${why}`);
const UNKNOWN = "Unknown command or category name in ACL";
const SYNTAX = "Syntax error";

describe("ACL rules and rendering", () => {
  let srv: AkiServer;
  let c: RawClient;
  let c3: RawClient;
  before(async () => {
    srv = await startServer();
    c = await RawClient.connect(srv.port);
    c3 = await RawClient.connect(srv.port);
    await c3.call("HELLO", "3");
  });
  after(async () => {
    c.close();
    c3.close();
    await srv.stop();
  });

  /** The ACL LIST line of one user. */
  async function line(name: string): Promise<string> {
    const all = await c.call("ACL", "LIST");
    const m = all.split("\r\n").find((l) => l.startsWith(`user ${name} `));
    assert.ok(m, `no ACL LIST line for ${name} in ${JSON.stringify(all)}`);
    return m!;
  }
  async function commands(name: string): Promise<string> {
    const r = await c3.call("ACL", "GETUSER", name);
    const m = /\$8\r\ncommands\r\n\$\d+\r\n([^\r]*)\r\n/.exec(r);
    assert.ok(m, r);
    return m![1];
  }

  test("the default user and a new user", async () => {
    assert.equal(await c.call("ACL", "LIST"), bulks("user default on nopass sanitize-payload ~* &* +@all"));
    assert.equal(await c.call("ACL", "SETUSER", "newbie"), OK);
    assert.equal(await line("newbie"), "user newbie off sanitize-payload resetchannels -@all");
    // SETUSER without rules on an existing user changes nothing.
    assert.equal(await c.call("ACL", "SETUSER", "newbie"), OK);
    assert.equal(await line("newbie"), "user newbie off sanitize-payload resetchannels -@all");
    assert.equal(await c.call("ACL", "USERS"), bulks("default", "newbie"));
    assert.equal(await c.call("ACL", "WHOAMI"), bulk("default"));
    assert.equal(await c.call("ACL", "DELUSER", "newbie", "nosuch"), int(1));
  });

  test("flags, passwords and hashes", async () => {
    const h = sha("p1");
    assert.equal(await c.call("ACL", "SETUSER", "f1", "ON", ">p1", ">p1", "#" + sha("p2"), "skip-sanitize-payload"), OK);
    assert.equal(await line("f1"), `user f1 on skip-sanitize-payload #${h} #${sha("p2")} resetchannels -@all`);
    assert.equal(await c.call("ACL", "SETUSER", "f1", "<p1", "sanitize-payload", "off"), OK);
    assert.equal(await line("f1"), `user f1 off sanitize-payload #${sha("p2")} resetchannels -@all`);
    assert.equal(await c.call("ACL", "SETUSER", "f1", "!" + sha("p2")), OK);
    assert.equal(await line("f1"), "user f1 off sanitize-payload resetchannels -@all");
    assert.equal(await c.call("ACL", "SETUSER", "f1", ">x", "nopass"), OK);
    assert.equal(await line("f1"), "user f1 off nopass sanitize-payload resetchannels -@all");
    assert.equal(await c.call("ACL", "SETUSER", "f1", ">y"), OK);
    assert.equal(await line("f1"), `user f1 off sanitize-payload #${sha("y")} resetchannels -@all`);
    assert.equal(await c.call("ACL", "SETUSER", "f1", "nopass", "resetpass"), OK);
    assert.equal(await line("f1"), "user f1 off sanitize-payload resetchannels -@all");
    // Binary passwords hash their bytes.
    assert.equal(await c.call("ACL", "SETUSER", "f1", Buffer.from([0x3e, 0x00, 0xff, 0x20])), OK);
    assert.equal(await line("f1"), `user f1 off sanitize-payload #${createHash("sha256").update(Buffer.from([0x00, 0xff, 0x20])).digest("hex")} resetchannels -@all`);
  });

  test("password errors", async () => {
    const hashErr = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters";
    assert.equal(await c.call("ACL", "SETUSER", "f2", "#" + sha("a").toUpperCase()), modErr("#" + sha("a").toUpperCase(), hashErr));
    assert.equal(await c.call("ACL", "SETUSER", "f2", "#abc"), modErr("#abc", hashErr));
    assert.equal(await c.call("ACL", "SETUSER", "f2", "!abc"), modErr("!abc", hashErr));
    const gone = "The password you are trying to remove from the user does not exist";
    assert.equal(await c.call("ACL", "SETUSER", "f2", "<nope"), modErr("<nope", gone));
    assert.equal(await c.call("ACL", "SETUSER", "f2", "!" + sha("zz")), modErr("!" + sha("zz"), gone));
    // Errors are atomic: the user was never created.
    assert.equal(await c.call("ACL", "GETUSER", "f2"), NIL);
    assert.equal(await c3.call("ACL", "GETUSER", "f2"), "_\r\n");
  });

  test("usernames", async () => {
    for (const bad of ["a b", "a\tb", "a\nb", "a\0b", "a\rb"]) {
      assert.equal(await c.call("ACL", "SETUSER", bad), err("ERR Usernames can't contain spaces or null characters"));
    }
  });

  test("key patterns", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "k1", "~a", "%R~b", "%W~c", "%RW~d", "%R~a", "%wr~e", "%R~f", "%W~f", "~"), OK);
    assert.equal(await line("k1"), "user k1 off sanitize-payload ~a %R~b %W~c ~d ~e ~f ~ resetchannels -@all");
    assert.equal(await c.call("ACL", "SETUSER", "k1", "%R~*"), OK);
    assert.match(await line("k1"), / ~ %R~\* resetchannels/);
    assert.equal(await c.call("ACL", "SETUSER", "k1", "allkeys"), OK);
    assert.equal(await line("k1"), "user k1 off sanitize-payload ~* resetchannels -@all");
    const after = "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
    assert.equal(await c.call("ACL", "SETUSER", "k1", "~x"), modErr("~x", after));
    assert.equal(await c.call("ACL", "SETUSER", "k1", "%R~x"), modErr("%R~x", after));
    assert.equal(await c.call("ACL", "SETUSER", "k1", "resetkeys", "~x", "~*"), OK);
    assert.equal(await line("k1"), "user k1 off sanitize-payload ~* resetchannels -@all");
    assert.equal(await c.call("ACL", "SETUSER", "k1", "resetkeys"), OK);
    assert.equal(await line("k1"), "user k1 off sanitize-payload resetchannels -@all");
    for (const bad of ["%", "%X~a", "%RR~a", "%~a", "~a b"]) assert.equal(await c.call("ACL", "SETUSER", "k1", bad), modErr(bad, SYNTAX));
    // "%R" (no ~) adds the empty pattern with read permission, as Redis does.
    assert.equal(await c.call("ACL", "SETUSER", "k1", "%R"), OK);
    assert.equal(await line("k1"), "user k1 off sanitize-payload %R~ resetchannels -@all");
  });

  test("channel patterns and acl-pubsub-default", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "ch1", "&a", "&b*", "&a", "&"), OK);
    assert.equal(await line("ch1"), "user ch1 off sanitize-payload resetchannels &a &b* & -@all");
    assert.equal(await c.call("ACL", "SETUSER", "ch1", "allchannels"), OK);
    assert.equal(await line("ch1"), "user ch1 off sanitize-payload &* -@all");
    const after = "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels";
    assert.equal(await c.call("ACL", "SETUSER", "ch1", "&x"), modErr("&x", after));
    assert.equal(await c.call("ACL", "SETUSER", "ch1", "&a b"), modErr("&a b", after));
    assert.equal(await c.call("ACL", "SETUSER", "ch1", "resetchannels", "&a b"), modErr("&a b", SYNTAX));
    assert.equal(await c.call("ACL", "SETUSER", "ch1", "resetchannels"), OK);
    assert.equal(await line("ch1"), "user ch1 off sanitize-payload resetchannels -@all");
    assert.equal(await c.call("ACL", "SETUSER", "ch1", "&*"), OK);
    assert.equal(await line("ch1"), "user ch1 off sanitize-payload &* -@all");
    // acl-pubsub-default: new users (and `reset`) start with &*; existing users are unaffected.
    assert.equal(await c.call("CONFIG", "SET", "acl-pubsub-default", "allchannels"), OK);
    assert.equal(await c.call("ACL", "SETUSER", "ch2"), OK);
    assert.equal(await line("ch2"), "user ch2 off sanitize-payload &* -@all");
    assert.equal(await c.call("ACL", "SETUSER", "ch2", "&x"), modErr("&x", after));
    assert.equal(await c.call("ACL", "SETUSER", "ch1", "reset"), OK);
    assert.equal(await line("ch1"), "user ch1 off sanitize-payload &* -@all");
    assert.equal(await c.call("CONFIG", "SET", "acl-pubsub-default", "resetchannels"), OK);
    assert.equal(await line("ch2"), "user ch2 off sanitize-payload &* -@all");
    assert.equal(await c.call("ACL", "SETUSER", "ch1", "reset"), OK);
    assert.equal(await line("ch1"), "user ch1 off sanitize-payload resetchannels -@all");
  });

  test("command rules: names, categories, errors", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "c1", "+GET", "+set", "-@ALL"), OK);
    assert.equal(await commands("c1"), "-@all");
    assert.equal(await c.call("ACL", "SETUSER", "c1", "+GET", "+Set", "+@String", "-incr"), OK);
    assert.equal(await commands("c1"), "-@all +get +set +@string -incr");
    assert.equal(await c.call("ACL", "SETUSER", "c1", "allcommands"), OK);
    assert.equal(await commands("c1"), "+@all");
    assert.equal(await c.call("ACL", "SETUSER", "c1", "-@dangerous", "-flushall"), OK);
    assert.equal(await commands("c1"), "+@all -@dangerous -flushall");
    assert.equal(await c.call("ACL", "SETUSER", "c1", "nocommands"), OK);
    assert.equal(await commands("c1"), "-@all");
    for (const bad of ["+nosuch", "-nosuch", "+@nosuch", "-@nosuch", "+", "-", "+@", "+|x", "+get|a|b", "-get|a|b", "+config|nosuch", "-config|nosuch", "-select|0"]) {
      assert.equal(await c.call("ACL", "SETUSER", "c1", bad), modErr(bad, UNKNOWN), bad);
    }
    for (const bad of ["+get|", "+config|", "bogus", "(", "on off"]) {
      const r = await c.call("ACL", "SETUSER", "c1", bad);
      if (bad === "(") assert.equal(r, err("ERR Unmatched parenthesis in acl selector starting at '('."));
      else assert.equal(r, modErr(bad, SYNTAX), bad);
    }
    assert.equal(await c.call("ACL", "SETUSER", "c1", "+config|get|x"), modErr("+config|get|x", "Allowing first-arg of a subcommand is not supported"));
  });

  test("command rules compaction (Redis 7.2's regression cases)", async () => {
    const cases: [string[], string][] = [
      [["+@all", "-@hash", "-@slow", "+hget"], "+@all -@hash -@slow +hget"],
      [["-@hash"], "+@all -@slow +hget -@hash"],
      [["+@hash"], "+@all -@slow +hget +@hash"],
      [["-@all"], "-@all"],
      [["-@string", "-@slow", "+@all"], "+@all"],
      [["-@all", "+@HASH", "+@hash", "+@HaSh"], "-@all +@hash"],
      [["-@all", "+HGET", "+hget", "+hGeT"], "-@all +hget"],
      [["-@all", "+@hash", "+@slow", "+@set", "+@set", "+@slow", "+@hash"], "-@all +@set +@slow +@hash"],
      [["-@all", "+hget", "-hset", "+hset", "-hget"], "-@all +hset -hget"],
      [["-@all", "+client|list", "+client|list", "+config|get", "+config", "+acl|list", "-acl"], "-@all +client|list +config -acl"],
      [["-@all", "+select|0", "+select|0", "+debug|segfault", "+debug"], "-@all +select|0 +debug"],
      [["-@all", "-@dangerous"], "-@all -@dangerous"],
      [["-@all", "+config", "+config|get", "-config|set", "+config"], "-@all +config"],
      [["-@all", "+memory|doctor"], "-@all +memory|doctor"],
      [["+memory"], "-@all +memory"],
      [["+@all", "+client|id"], "+@all +client|id"],
      [["+@all", "-memory|doctor"], "+@all -memory|doctor"],
      [["+@all", "-client", "+client|id", "+client|setname"], "+@all -client +client|id +client|setname"],
      [["-@all", "+acl", "+select|0", "+select|1", "+SELECT|1"], "-@all +acl +select|0 +select|1"],
      [["reset", "+@all", "~*", "-@string", "+incr", "-debug", "+debug|digest"], "+@all -@string +incr -debug +debug|digest"],
    ];
    for (const [rules, want] of cases) {
      assert.equal(await c.call("ACL", "SETUSER", "adv", ...rules), OK, rules.join(" "));
      assert.equal(await commands("adv"), want, rules.join(" "));
    }
    // Every category alone renders as itself on either base.
    const cats = (await c.call("ACL", "CAT")).split("\r\n").filter((l, i) => i % 2 === 0 && i > 0).filter(Boolean);
    assert.equal(cats.length, 21);
    for (const cat of cats) {
      await c.call("ACL", "SETUSER", "adv", "reset", "+@all", `-@${cat}`);
      assert.equal(await commands("adv"), `+@all -@${cat}`);
      await c.call("ACL", "SETUSER", "adv", "reset", "-@all", `+@${cat}`);
      assert.equal(await commands("adv"), `-@all +@${cat}`);
    }
  });

  test("selectors: rendering, multi-argument form, errors, clearselectors", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "s1", "on", "nopass", "(+get ~r*)", "(+set", "~w*", "&c)", "%R~foo2"), OK);
    assert.equal(await line("s1"), "user s1 on nopass sanitize-payload %R~foo2 resetchannels -@all (~r* resetchannels -@all +get) (~w* resetchannels &c -@all +set)");
    assert.equal(await c.call("ACL", "SETUSER", "s1", "(%R~foo2 %W~bar2 ~baz2 resetchannels &channel2 -@all +set)"), OK);
    assert.match(await line("s1"), / \(%R~foo2 %W~bar2 ~baz2 resetchannels &channel2 -@all \+set\)$/);
    assert.equal(await c.call("ACL", "SETUSER", "s1", "(+get", "~a"), err("ERR Unmatched parenthesis in acl selector starting at '(+get'."));
    assert.equal(await c.call("ACL", "SETUSER", "s1", "(+nosuch", "~a)"), modErr("(+nosuch ~a)", UNKNOWN));
    assert.equal(await c.call("ACL", "SETUSER", "s1", "(+get foo)"), modErr("(+get foo)", SYNTAX));
    assert.equal(await c.call("ACL", "SETUSER", "s1", "(on)"), modErr("(on)", SYNTAX));
    assert.equal(await c.call("ACL", "SETUSER", "s1", "(+SET (+SET ~key2)", "~key3)"), modErr("(+SET (+SET ~key2)", SYNTAX));
    assert.equal(await c.call("ACL", "SETUSER", "s1", "()"), OK);
    assert.match(await line("s1"), / \(resetchannels -@all\)$/);
    assert.equal(await c.call("ACL", "SETUSER", "s1", "clearselectors"), OK);
    assert.equal(await line("s1"), "user s1 on nopass sanitize-payload %R~foo2 resetchannels -@all");
    assert.equal(await c.call("ACL", "SETUSER", "s1", "(~x)", "reset"), OK);
    assert.equal(await line("s1"), "user s1 off sanitize-payload resetchannels -@all");
  });

  test("SETUSER is all or nothing", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "atom", "on", ">old", "+get", "~a"), OK);
    const before = await line("atom");
    assert.equal(await c.call("ACL", "SETUSER", "atom", ">new", "resetkeys", "~b", "(+set)", "+nosuch"), modErr("+nosuch", UNKNOWN));
    assert.equal(await line("atom"), before);
    assert.equal(await c.call("AUTH", "atom", "new"), err("WRONGPASS invalid username-password pair or user is disabled."));
  });

  test("GETUSER in RESP2 and RESP3", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "g1", "on", ">pw", "%R~r*", "~k", "&ch", "-@all", "+get", "(+set ~w* &*)"), OK);
    const h = sha("pw");
    assert.equal(
      await c.call("ACL", "GETUSER", "g1"),
      arr(
        bulk("flags"), bulks("on", "sanitize-payload"),
        bulk("passwords"), bulks(h),
        bulk("commands"), bulk("-@all +get"),
        bulk("keys"), bulk("%R~r* ~k"),
        bulk("channels"), bulk("&ch"),
        bulk("selectors"), arr(arr(bulk("commands"), bulk("-@all +set"), bulk("keys"), bulk("~w*"), bulk("channels"), bulk("&*"))),
      ),
    );
    assert.equal(
      await c3.call("ACL", "GETUSER", "g1"),
      "%6\r\n" + bulk("flags") + "~2\r\n" + bulk("on") + bulk("sanitize-payload") +
        bulk("passwords") + arr(bulk(h)) +
        bulk("commands") + bulk("-@all +get") + bulk("keys") + bulk("%R~r* ~k") + bulk("channels") + bulk("&ch") +
        bulk("selectors") + "*1\r\n%3\r\n" + bulk("commands") + bulk("-@all +set") + bulk("keys") + bulk("~w*") + bulk("channels") + bulk("&*"),
    );
    assert.equal(
      await c.call("ACL", "GETUSER", "default"),
      arr(
        bulk("flags"), bulks("on", "nopass", "sanitize-payload"),
        bulk("passwords"), "*0\r\n",
        bulk("commands"), bulk("+@all"),
        bulk("keys"), bulk("~*"),
        bulk("channels"), bulk("&*"),
        bulk("selectors"), "*0\r\n",
      ),
    );
    assert.equal(await c.call("ACL", "SETUSER", "g2"), OK);
    assert.equal(
      await c.call("ACL", "GETUSER", "g2"),
      arr(bulk("flags"), bulks("off", "sanitize-payload"), bulk("passwords"), "*0\r\n", bulk("commands"), bulk("-@all"), bulk("keys"), bulk(""), bulk("channels"), bulk(""), bulk("selectors"), "*0\r\n"),
    );
    assert.equal(await c.call("ACL", "GETUSER", "g1", "x"), err("ERR wrong number of arguments for 'acl|getuser' command"));
  });

  test("DRYRUN: commands, subcommands, first-args, errors", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "d1", "on", "nopass", "allkeys", "-@all", "+get", "+config|get", "+select|0", "+client"), OK);
    assert.equal(await c.call("ACL", "DRYRUN", "d1", "GET", "k"), OK);
    assert.equal(await c.call("ACL", "DRYRUN", "d1", "set", "k", "v"), bulk("User d1 has no permissions to run the 'set' command"));
    assert.equal(await c.call("ACL", "DRYRUN", "d1", "config", "get", "x"), OK);
    assert.equal(await c.call("ACL", "DRYRUN", "d1", "CONFIG", "SET", "x", "y"), bulk("User d1 has no permissions to run the 'config|set' command"));
    assert.equal(await c.call("ACL", "DRYRUN", "d1", "client", "kill", "id", "1"), OK);
    assert.equal(await c.call("ACL", "DRYRUN", "d1", "select", "0"), OK);
    assert.equal(await c.call("ACL", "DRYRUN", "d1", "select", "1"), bulk("User d1 has no permissions to run the 'select' command"));
    assert.equal(await c.call("ACL", "DRYRUN", "d1", "auth", "x"), OK, "no-auth commands always pass");
    assert.equal(await c.call("ACL", "DRYRUN", "nosuch", "get", "k"), err("ERR User 'nosuch' not found"));
    assert.equal(await c.call("ACL", "DRYRUN", "d1", "nosuch", "k"), err("ERR Command 'nosuch' not found"));
    assert.equal(await c.call("ACL", "DRYRUN", "d1", "config", "nosuch"), err("ERR Command 'config' not found"));
    assert.equal(await c.call("ACL", "DRYRUN", "d1", "get"), err("ERR wrong number of arguments for 'get' command"));
    assert.equal(await c.call("ACL", "DRYRUN", "d1", "config"), err("ERR wrong number of arguments for 'config' command"));
    assert.equal(await c.call("ACL", "DRYRUN", "d1", "config", "get"), err("ERR wrong number of arguments for 'config|get' command"));
    assert.equal(await c.call("ACL", "DRYRUN", "d1"), err("ERR wrong number of arguments for 'acl|dryrun' command"));
  });

  test("key permissions: read, write, both, neither", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "rw", "on", "nopass", "+@all", "%R~r*", "%W~w*", "~rw*"), OK);
    const cases: [string[], string | null][] = [
      [["get", "r1"], null],
      [["get", "w1"], "w1"],
      [["set", "w1", "v"], null],
      [["set", "r1", "v"], "r1"],
      [["copy", "r1", "w1"], null],
      [["copy", "w1", "r1"], "w1"],
      [["lmove", "r1", "w1", "left", "right"], "r1"],
      [["lmove", "rw1", "w1", "left", "right"], null],
      [["incr", "r1"], "r1"],
      [["incr", "rw1"], null],
      [["set", "r1", "v", "get"], "r1"],
      [["set", "w1", "v", "get"], "w1"],
      [["set", "rw1", "v", "GET"], null],
      [["exists", "w1"], null],
      [["exists", "r1", "zz"], "zz"],
      [["rename", "rw1", "w2"], null],
      [["sort", "r1"], null],
      [["sort", "r1", "store", "w1"], null],
      [["sort", "r1", "store", "r2"], "r2"],
      [["getdel", "rw1"], null],
      [["bitfield", "r1", "get", "u8", "0"], null],
      [["bitfield", "r1", "set", "u8", "0", "1"], "r1"],
      [["mget", "r1", "rw2", "w3"], "w3"],
      [["del", "w1", "rw1"], null],
      [["del", "r1"], "r1"],
    ];
    for (const [cmd, denied] of cases) {
      const want = denied === null ? OK : bulk(`User rw has no permissions to access the '${denied}' key`);
      assert.equal(await c.call("ACL", "DRYRUN", "rw", ...cmd), want, cmd.join(" "));
    }
  });

  test("selectors: one selector must allow the command and all its keys", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "sel", "on", "nopass", "+get", "+mget", "~a*", "(+set ~b*)", "(+mget ~b)"), OK);
    const key = (k: string) => bulk(`User sel has no permissions to access the '${k}' key`);
    assert.equal(await c.call("ACL", "DRYRUN", "sel", "set", "a1", "v"), key("a1"));
    assert.equal(await c.call("ACL", "DRYRUN", "sel", "get", "b1"), key("b1"));
    assert.equal(await c.call("ACL", "DRYRUN", "sel", "set", "b1", "v"), OK);
    assert.equal(await c.call("ACL", "DRYRUN", "sel", "get", "a1"), OK);
    // No selector covers both keys; the denial names the key with the highest position.
    assert.equal(await c.call("ACL", "DRYRUN", "sel", "mget", "a", "b"), key("b"));
    assert.equal(await c.call("ACL", "DRYRUN", "sel", "mget", "b", "a"), key("a"));
    assert.equal(await c.call("ACL", "DRYRUN", "sel", "mget", "b", "b"), OK);
    assert.equal(await c.call("ACL", "DRYRUN", "sel", "del", "a1"), bulk("User sel has no permissions to run the 'del' command"));
    // A channel denial outranks a command denial.
    assert.equal(await c.call("ACL", "SETUSER", "sel", "(+publish &x)"), OK);
    assert.equal(await c.call("ACL", "DRYRUN", "sel", "publish", "y", "m"), bulk("User sel has no permissions to access the 'y' channel"));
    assert.equal(await c.call("ACL", "DRYRUN", "sel", "publish", "x", "m"), OK);
  });

  test("channel permissions: glob for channels, literal for PSUBSCRIBE patterns", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "ch", "on", "nopass", "+@all", "resetchannels", "&news.*", "&lit"), OK);
    const ch = (x: string) => bulk(`User ch has no permissions to access the '${x}' channel`);
    const cases: [string[], string | null][] = [
      [["publish", "news.1", "x"], null],
      [["publish", "other", "x"], "other"],
      [["subscribe", "news.1", "lit"], null],
      [["subscribe", "news.1", "bad"], "bad"],
      [["psubscribe", "news.*"], null],
      [["psubscribe", "news.1"], "news.1"],
      [["psubscribe", "lit", "news.*"], null],
      [["unsubscribe", "bad"], null],
      [["punsubscribe", "bad*"], null],
      [["spublish", "news.1", "x"], null],
      [["ssubscribe", "bad"], "bad"],
      [["sunsubscribe", "bad"], null],
    ];
    for (const [cmd, denied] of cases) assert.equal(await c.call("ACL", "DRYRUN", "ch", ...cmd), denied === null ? OK : ch(denied), cmd.join(" "));
  });

  test("CAT", async () => {
    assert.equal(
      await c.call("ACL", "CAT"),
      bulks("keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction", "scripting"),
    );
    const geo = (await c.call("ACL", "CAT", "GEO")).split("\r\n").filter((_, i) => i % 2 === 0 && i > 0).filter(Boolean).sort();
    assert.deepEqual(geo, ["geoadd", "geodist", "geohash", "geopos", "georadius", "georadius_ro", "georadiusbymember", "georadiusbymember_ro", "geosearch", "geosearchstore"]);
    const tx = await c.call("ACL", "CAT", "transaction");
    for (const n of ["multi", "exec", "discard", "watch", "unwatch"]) assert.ok(tx.includes(bulk(n)), n);
    const slow = await c.call("ACL", "CAT", "slow");
    assert.ok(slow.includes(bulk("config|set")) && slow.includes(bulk("acl|setuser")));
    assert.ok(!(await c.call("ACL", "CAT", "keyspace")).includes(bulk("set")));
    assert.equal(await c.call("ACL", "CAT", "nosuch"), err("ERR Unknown category 'nosuch'"));
    assert.equal(await c.call("ACL", "CAT", "a", "b"), err("ERR unknown subcommand or wrong number of arguments for 'CAT'. Try ACL HELP."));
  });

  test("GENPASS", async () => {
    assert.match(await c.call("ACL", "GENPASS"), /^\$64\r\n[0-9a-f]{64}\r\n$/);
    assert.match(await c.call("ACL", "GENPASS", "1"), /^\$1\r\n[0-9a-f]\r\n$/);
    assert.match(await c.call("ACL", "GENPASS", "5"), /^\$2\r\n[0-9a-f]{2}\r\n$/);
    assert.match(await c.call("ACL", "GENPASS", "4096"), /^\$1024\r\n[0-9a-f]{1024}\r\n$/);
    assert.notEqual(await c.call("ACL", "GENPASS"), await c.call("ACL", "GENPASS"));
    const bits = err("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096");
    assert.equal(await c.call("ACL", "GENPASS", "0"), bits);
    assert.equal(await c.call("ACL", "GENPASS", "-236"), bits);
    assert.equal(await c.call("ACL", "GENPASS", "5000"), bits);
    assert.equal(await c.call("ACL", "GENPASS", "x"), err("ERR value is not an integer or out of range"));
    assert.equal(await c.call("ACL", "GENPASS", "1", "2"), err("ERR unknown subcommand or wrong number of arguments for 'GENPASS'. Try ACL HELP."));
  });

  test("HELP, unknown subcommands, DELUSER default, LOAD/SAVE without aclfile", async () => {
    const help = await c.call("ACL", "HELP");
    assert.ok(help.startsWith("*29\r\n+ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+CAT [<category>]\r\n"));
    assert.ok(help.endsWith("+WHOAMI\r\n+    Return the current connection username.\r\n+HELP\r\n+    Print this help.\r\n"));
    assert.equal(await c.call("ACL", "HELP", "x"), err("ERR wrong number of arguments for 'acl|help' command"));
    assert.equal(await c.call("ACL", "NOPE"), err("ERR unknown subcommand 'NOPE'. Try ACL HELP."));
    assert.equal(await c.call("ACL"), err("ERR wrong number of arguments for 'acl' command"));
    assert.equal(await c.call("ACL", "DELUSER", "x", "default"), err("ERR The 'default' user cannot be removed"));
    assert.equal(await c.call("ACL", "LOG", "1", "2"), err("ERR unknown subcommand or wrong number of arguments for 'LOG'. Try ACL HELP."));
    const noFile =
      "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";
    assert.equal(await c.call("ACL", "LOAD"), err(noFile));
    assert.equal(await c.call("ACL", "SAVE"), err(noFile));
  });

  test("ACL LIST is sorted by name (bytes)", async () => {
    for (const n of ["Zed", "zed", "a", "_x"]) await c.call("ACL", "SETUSER", n);
    const names = (await c.call("ACL", "USERS")).split("\r\n").filter((_, i) => i % 2 === 0 && i > 0).filter(Boolean);
    assert.deepEqual(names, [...names].sort());
    assert.ok(names.indexOf("Zed") < names.indexOf("_x") && names.indexOf("_x") < names.indexOf("a"));
    const lines = (await c.call("ACL", "LIST")).split("\r\n").filter((l) => l.startsWith("user "));
    assert.deepEqual(lines.map((l) => l.split(" ")[1]), names);
  });
});
