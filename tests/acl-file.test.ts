/**
 * ACL files and startup users through real sockets and real processes: --aclfile loading
 * (requirepass then ignored), ACL SAVE (sorted ACL LIST lines, atomic, mode 0600) and ACL LOAD
 * round trips, every malformed-file case with Redis 7.2's exact error text (comments, duplicates,
 * unmatched parentheses, bad rules, bad usernames, NUL bytes, missing file) leaving the users
 * unchanged, CRLF files, a file without a default user, LOAD disconnecting clients of non-default
 * users (the caller after its reply), SAVE failing, startup refusing bad files / bad `user`
 * lines / aclfile together with `user` lines, and `user` lines from a config file.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, statSync, rmSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, RawClient, bulk, bulks, err, OK, type AkiServer } from "./harness.ts";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const WARN = "WARNING: ACL errors detected, no change to the previously active ACL rules was performed";

describe("ACL LOAD / ACL SAVE", () => {
  let dir: string;
  let file: string;
  let srv: AkiServer;
  let c: RawClient;
  const initial = [
    `user alice on #${sha("alicepw")} ~app:* resetchannels -@all +get +set`,
    "user admin on >adminpw ~* &* +@all",
    "user default on nopass ~* &* +@all",
  ].join("\n");

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "aki-acl-"));
    file = join(dir, "users.acl");
    writeFileSync(file, initial + "\n");
    srv = await startServer(["--aclfile", file, "--requirepass", "ignored-with-an-aclfile"]);
    c = await RawClient.connect(srv.port);
  });
  after(async () => {
    c.close();
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const list = () => c.call("ACL", "LIST");
  async function loadFails(text: string | Buffer, message: string): Promise<void> {
    const before = await list();
    writeFileSync(file, text);
    assert.equal(await c.call("ACL", "LOAD"), err("ERR " + message));
    assert.equal(await list(), before);
  }

  test("users come from the file; requirepass is ignored", async () => {
    assert.equal(await c.call("PING"), "+PONG\r\n");
    assert.equal(
      await list(),
      bulks(
        `user admin on sanitize-payload #${sha("adminpw")} ~* &* +@all`,
        `user alice on sanitize-payload #${sha("alicepw")} ~app:* resetchannels -@all +get +set`,
        "user default on nopass sanitize-payload ~* &* +@all",
      ),
    );
    const a = await RawClient.connect(srv.port);
    assert.equal(await a.call("AUTH", "alice", "alicepw"), OK);
    assert.equal(await a.call("GET", "app:1"), "$-1\r\n");
    a.close();
  });

  test("SAVE writes sorted ACL LIST lines atomically with mode 0600; LOAD reads them back", async () => {
    assert.equal(await c.call("ACL", "SETUSER", "bob", "on", ">bobpw", "(+set ~w*)", "%R~r*", "+get"), OK);
    assert.equal(await c.call("ACL", "SETUSER", "Carl", "off", "skip-sanitize-payload"), OK);
    assert.equal(await c.call("ACL", "SAVE"), OK);
    const text = readFileSync(file, "latin1");
    assert.equal(
      text,
      [
        "user Carl off skip-sanitize-payload resetchannels -@all",
        `user admin on sanitize-payload #${sha("adminpw")} ~* &* +@all`,
        `user alice on sanitize-payload #${sha("alicepw")} ~app:* resetchannels -@all +get +set`,
        `user bob on sanitize-payload #${sha("bobpw")} %R~r* resetchannels -@all +get (~w* resetchannels -@all +set)`,
        "user default on nopass sanitize-payload ~* &* +@all",
        "",
      ].join("\n"),
    );
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ["users.acl"]);
    const before = await list();
    assert.equal(await c.call("ACL", "LOAD"), OK);
    assert.equal(await list(), before);
    assert.equal(await c.call("ACL", "DRYRUN", "bob", "set", "w1", "v"), OK);
    assert.equal(await c.call("ACL", "DRYRUN", "bob", "set", "r1", "v"), bulk("User bob has no permissions to access the 'r1' key"));
  });

  test("LOAD replaces every user; clients of non-default users are disconnected, the caller after its reply", async () => {
    const a = await RawClient.connect(srv.port);
    assert.equal(await a.call("AUTH", "alice", "alicepw"), OK);
    const adm = await RawClient.connect(srv.port);
    assert.equal(await adm.call("AUTH", "admin", "adminpw"), OK);
    const d = await RawClient.connect(srv.port);
    writeFileSync(file, `user alice on >new ~* +@all\nuser admin on >adminpw ~* &* +@all\nuser default on nopass ~* &* +@all -flushall\n`);
    assert.equal(await adm.call("ACL", "LOAD"), OK);
    assert.equal(await adm.waitClosed(), true);
    assert.equal(await a.waitClosed(), true);
    assert.equal(await d.call("ACL", "WHOAMI"), bulk("default"));
    assert.equal(await d.call("FLUSHALL"), err("NOPERM User default has no permissions to run the 'flushall' command"));
    assert.equal(
      await list(),
      bulks(
        `user admin on sanitize-payload #${sha("adminpw")} ~* &* +@all`,
        `user alice on sanitize-payload #${sha("new")} ~* resetchannels +@all`,
        "user default on nopass sanitize-payload ~* &* +@all -flushall",
      ),
    );
    d.close();
    writeFileSync(file, initial + "\n");
    assert.equal(await c.call("ACL", "LOAD"), OK);
  });

  test("a file without a default user gets a fresh default; CRLF, blank lines and padding load", async () => {
    // "user  bob" (two spaces) has an empty username token followed by "bob": a syntax error, as in Redis.
    writeFileSync(file, `\r\n  user alice on >x ~a*  \r\n\t\r\nuser  bob off\r\n`);
    assert.equal(await c.call("ACL", "LOAD"), err(`ERR ${file}:4: Syntax error. ${WARN}`));
    writeFileSync(file, `\r\n  user alice on >x ~a*  \r\n\t\r\nuser bob off\r\n`);
    assert.equal(await c.call("ACL", "LOAD"), OK);
    assert.equal(
      await list(),
      bulks(
        `user alice on sanitize-payload #${sha("x")} ~a* resetchannels -@all`,
        "user bob off sanitize-payload resetchannels -@all",
        "user default on nopass sanitize-payload ~* &* +@all",
      ),
    );
    writeFileSync(file, initial + "\n");
    assert.equal(await c.call("ACL", "LOAD"), OK);
  });

  test("malformed files are refused with Redis's messages and change nothing", async () => {
    const f = file;
    await loadFails("user\n", `${f}:1 should start with user keyword followed by the username. ${WARN}`);
    await loadFails("USER a on\n", `${f}:1 should start with user keyword followed by the username. ${WARN}`);
    await loadFails(initial + "\nuser alice on nopass ~* -@all\n", `WARNING: Duplicate user 'alice' found on line 4. ${WARN}`);
    await loadFails(initial + "\nuser default on nopass ~* -@all\n", `WARNING: Duplicate user 'default' found on line 4. ${WARN}`);
    await loadFails("user a on (~x +get\n", `${f}:1: Unmatched parenthesis in selector definition.${WARN}`);
    await loadFails(
      "user a on +nosuch bogus +@nocat ~a\\ b bogus2\n",
      `${f}:1: Error in applying operation '+nosuch': Unknown command or category name in ACL. ${f}:1: Syntax error. ${f}:1: Error in applying operation '+@nocat': Unknown command or category name in ACL. ${WARN}`,
    );
    await loadFails("user a on #ABC\n", `${f}:1: The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters. ${WARN}`);
    await loadFails("user a on ~* ~x\n", `${f}:1: Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns. ${WARN}`);
    await loadFails("user a\tb on\n", `'${f}:1: username 'a\tb' contains invalid characters. ${WARN}`);
    await loadFails(Buffer.from("user a on\nuser b\0 on\n"), `${f}:2: NUL bytes are not allowed. ${WARN}`);
    await loadFails("# one\nuser ok on\nuser bad (x\n", `${f}:3: Unmatched parenthesis in selector definition.${WARN}`);
    await loadFails("not-a-user line\n", `${f}:1 should start with user keyword followed by the username. ${WARN}`);
    writeFileSync(file, "# a comment\n  # an indented comment\n" + initial + "\n# trailing comment\n");
    assert.equal(await c.call("ACL", "LOAD"), OK, "comment lines are accepted (a documented decision)");
    writeFileSync(file, initial + "\n");
    assert.equal(await c.call("ACL", "LOAD"), OK);
  });

  test("a missing file", async () => {
    const before = await list();
    renameSync(file, file + ".away");
    assert.equal(await c.call("ACL", "LOAD"), err(`ERR Error loading ACLs, opening file '${file}': No such file or directory`));
    assert.equal(await list(), before);
    renameSync(file + ".away", file);
  });

  test("SAVE failure leaves an error and no temp file", async () => {
    rmSync(dir, { recursive: true, force: true });
    assert.equal(await c.call("ACL", "SAVE"), err("ERR There was an error trying to save the ACLs. Please check the server logs for more information"));
    for (let i = 0; i < 40 && !/ACL SAVE: No such file or directory/.test(srv.output()); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(srv.output(), /Opening temp ACL file for ACL SAVE: No such file or directory/);
  });
});

describe("users at startup", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "aki-acl-start-"));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function fails(args: string[], pattern: RegExp): Promise<void> {
    const s = await startServer(args, { expectExit: true });
    assert.equal(await s.exited, 1);
    assert.match(s.output(), pattern);
  }

  test("a bad aclfile line refuses to start, naming the file and line", async () => {
    const f = join(dir, "bad.acl");
    writeFileSync(f, "user default on nopass ~* &* +@all\nuser alice on +nosuchcmd\n");
    await fails(["--aclfile", f], new RegExp(`Aborting Redis startup because of ACL errors: ${f.replace(/[.]/g, "\\.")}:2: Error in applying operation '\\+nosuchcmd': Unknown command or category name in ACL\\. WARNING`));
    await fails(["--aclfile", join(dir, "missing.acl")], /Error loading ACLs, opening file '.*missing\.acl': No such file or directory/);
  });

  test("aclfile and user directives together are refused", async () => {
    const f = join(dir, "ok.acl");
    writeFileSync(f, "user default on nopass ~* &* +@all\n");
    await fails(["--aclfile", f, "--user", "alice on"], /Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid/);
  });

  test("user directives on the command line and in a config file", async () => {
    await fails(["--user", "a on", "--user", "a off"], /Error in user declaration 'a': Duplicate user found\. A user can only be defined once in config files/);
    await fails(["--user", "a on bogus"], /Error in user declaration 'bogus': Syntax error/);
    await fails(["--user", "a on (~x"], /Unmatched parenthesis in acl selector starting at '\(~x'\./);
    await fails(["--user", "a on +nosuch"], /Error loading ACL rule '\+nosuch' for the user named 'a': Unknown command or category name in ACL/);
    const conf = join(dir, "aki.conf");
    writeFileSync(conf, "# users\nuser default on nopass ~* +@all\nuser alice on >pw ~k* +get \"(+set ~w*)\"\n");
    const s = await startServer([conf, "--requirepass", "rp"]);
    try {
      const c = await RawClient.connect(s.port);
      // The default user was reset and redefined: no password, no channels.
      assert.equal(await c.call("PING"), "+PONG\r\n");
      assert.equal(
        await c.call("ACL", "LIST"),
        bulks(`user alice on sanitize-payload #${sha("pw")} ~k* resetchannels -@all +get (~w* resetchannels -@all +set)`, "user default on nopass sanitize-payload ~* resetchannels +@all"),
      );
      assert.equal(await c.call("SUBSCRIBE", "ch"), err("NOPERM No permissions to access a channel"));
      assert.equal(await c.call("ACL", "LOAD"), err("ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."));
      c.close();
    } finally {
      await s.stop();
    }
    writeFileSync(conf, "port 0\n\nuser alice on\nuser bob on bogus\n");
    await fails([conf], new RegExp(`${conf.replace(/[.]/g, "\\.")}:4: Error in user declaration 'bogus': Syntax error`));
  });

  test("CONFIG REWRITE writes the users as user lines", async () => {
    const conf = join(dir, "rewrite.conf");
    writeFileSync(conf, "# config\nuser default on nopass ~* +@all -flushdb\n");
    const s = await startServer([conf]);
    try {
      const c = await RawClient.connect(s.port);
      assert.equal(await c.call("FLUSHDB"), err("NOPERM User default has no permissions to run the 'flushdb' command"));
      assert.equal(await c.call("ACL", "SETUSER", "bob", "on", ">b", "~*", "+@all"), OK);
      assert.equal(await c.call("CONFIG", "REWRITE"), OK);
      const text = readFileSync(conf, "latin1");
      assert.ok(text.startsWith("# config\n"), text);
      assert.ok(text.includes(`\nuser bob on sanitize-payload #${sha("b")} ~* resetchannels +@all\nuser default on nopass sanitize-payload ~* resetchannels +@all -flushdb\n`), text);
      assert.equal(text.match(/^user /gm)!.length, 2);
      c.close();
    } finally {
      await s.stop();
    }
    const s2 = await startServer([conf]);
    try {
      const c = await RawClient.connect(s2.port);
      assert.equal(await c.call("FLUSHDB"), err("NOPERM User default has no permissions to run the 'flushdb' command"));
      assert.equal(await c.call("AUTH", "bob", "b"), OK);
      c.close();
    } finally {
      await s2.stop();
    }
  });

  test("requirepass without users applies to the default user", async () => {
    const s = await startServer(["--requirepass", "pw", "--user", "bob on >b +@all ~*"]);
    try {
      const c = await RawClient.connect(s.port);
      assert.equal(await c.call("PING"), err("NOAUTH Authentication required."));
      assert.equal(await c.call("AUTH", "bob", "b"), OK);
      assert.equal(await c.call("ACL", "GETUSER", "default").then((r) => r.includes(bulk(sha("pw")))), true);
      c.close();
    } finally {
      await s.stop();
    }
  });
});
