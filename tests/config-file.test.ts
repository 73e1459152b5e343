/**
 * A redis.conf-style file as the Redis ACL guide (seed 003) writes one: bind with `*`, `::*`
 * and optional `-` addresses, protected mode, a unix socket with its permissions, requirepass,
 * acllog-max-len, the enable-* protections, and rename-command (renamed and disabled commands).
 * Also the command-line form `--bind 127.0.0.1 -10.99.99.99` that redis-server accepts.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, RawClient, bulk, err, OK, type AkiServer } from "./harness.ts";

const HASHED_CONFIG = "b840fc02d524045429941cc15f59e41cb7be6c52";
const hasIpv6Loopback = Object.values(networkInterfaces()).some((l) => l?.some((a) => a.address === "::1"));

describe("config file as the Redis ACL guide writes it", () => {
  let dir: string;
  let srv: AkiServer;
  let sock: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "aki-conf-"));
    sock = join(dir, "aki.sock");
    const conf = join(dir, "aki.conf");
    writeFileSync(
      conf,
      [
        "# seed 003's lines",
        "bind * -::*",
        "protected-mode yes",
        `unixsocket ${sock}`,
        "unixsocketperm 700",
        "requirepass s3cret",
        "acllog-max-len 128",
        "enable-protected-configs no",
        "enable-debug-command no",
        "enable-module-command no",
        "# Rename dangerous command",
        `rename-command CONFIG ${HASHED_CONFIG}`,
        "# Disable command completely",
        'rename-command FLUSHALL ""',
        "",
      ].join("\n"),
    );
    // The unix socket's line comes after the TCP ones: wait for it.
    srv = await startServer([conf], { waitFor: "listening on unix socket" });
  });
  after(async () => {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the unix socket has the configured permissions and needs the password", async () => {
    assert.equal(statSync(sock).mode & 0o777, 0o700);
    const u = await RawClient.connectUnix(sock);
    assert.equal(await u.call("PING"), err("NOAUTH Authentication required."));
    assert.equal(await u.call("AUTH", "s3cret"), OK);
    assert.equal(await u.call("PING"), "+PONG\r\n");
    u.close();
  });

  test("bind * -::* serves IPv4 (and IPv6 where the machine has it)", async (t) => {
    const c = await RawClient.connect(srv.port, "127.0.0.1");
    assert.equal(await c.call("AUTH", "s3cret"), OK);
    c.close();
    if (!hasIpv6Loopback) {
      t.skip("no ::1 on this machine");
      return;
    }
    const v6 = await RawClient.connect(srv.port, "::1");
    assert.equal(await v6.call("AUTH", "s3cret"), OK);
    v6.close();
  });

  test("rename-command: the old name is unknown, the new one works, \"\" disables", async () => {
    const c = await RawClient.connect(srv.port);
    assert.equal(await c.call("AUTH", "s3cret"), OK);
    assert.equal(await c.call("CONFIG", "GET", "acllog-max-len"), err("ERR unknown command 'CONFIG', with args beginning with: 'GET' 'acllog-max-len' "));
    assert.equal(await c.call(HASHED_CONFIG, "GET", "acllog-max-len"), "*2\r\n" + bulk("acllog-max-len") + bulk("128"));
    assert.equal(await c.call(HASHED_CONFIG.toUpperCase(), "GET", "protected-mode"), "*2\r\n" + bulk("protected-mode") + bulk("yes"));
    assert.equal(await c.call("FLUSHALL"), err("ERR unknown command 'FLUSHALL', with args beginning with: "));
    // ACL rules keep the original names, as in Redis.
    assert.equal(await c.call("ACL", "SETUSER", "ops", "on", ">opspw", "+config", "-flushall"), OK);
    const ops = await RawClient.connect(srv.port);
    assert.equal(await ops.call("AUTH", "ops", "opspw"), OK);
    assert.equal(await ops.call(HASHED_CONFIG, "GET", "port"), "*2\r\n" + bulk("port") + bulk(String(srv.port)));
    ops.close();
    assert.equal(await c.call("CONFIG", "GET", "enable-debug-command"), err("ERR unknown command 'CONFIG', with args beginning with: 'GET' 'enable-debug-command' "));
    assert.equal(await c.call(HASHED_CONFIG, "GET", "enable-debug-command"), "*2\r\n" + bulk("enable-debug-command") + bulk("no"));
    c.close();
  });
});

describe("rename-command errors and bind on the command line", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "aki-conf-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [line, message] of [
    ["rename-command NOSUCHCMD x", "No such command in rename-command"],
    ["rename-command GET set", "Target command name already exists"],
  ]) {
    test(`'${line}' stops startup: ${message}`, async () => {
      const conf = join(dir, "bad.conf");
      writeFileSync(conf, `port 0\n${line}\n`);
      const srv = await startServer([conf], { expectExit: true, noPort: true });
      await srv.exited; // (the exit code is 1; Deno's child_process may misreport it)
      assert.match(srv.output(), new RegExp(`bad\\.conf:2: >>> '${line}': ${message}`));
    });
  }

  test("--bind 127.0.0.1 -10.99.99.99: the optional address is skipped with a warning", async () => {
    const srv = await startServer(["--bind", "127.0.0.1", "-10.99.99.99"]);
    try {
      const c = await RawClient.connect(srv.port);
      assert.equal(await c.call("PING"), "+PONG\r\n");
      c.close();
      assert.match(srv.output(), /Could not create server TCP listening socket 10\.99\.99\.99:\d+/);
    } finally {
      await srv.stop();
    }
  });
});
