/**
 * Stricter revocation, opt-in (`acl-revoke-sessions yes`): turning a user off or removing the
 * password a session authenticated with closes those sessions, as ACL DELUSER does (the
 * caller after its reply); sessions whose credential still works stay. Off (the default),
 * Redis's behaviour: existing sessions are kept. Each closing is an audit event.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { startServer, freePort, RawClient, OK, bulk, type AkiServer } from "./harness.ts";

const PONG = "+PONG\r\n";

describe("acl-revoke-sessions", () => {
  let srv: AkiServer;
  let adm: RawClient;
  let adminPort: number;

  async function session(user: string, pass: string): Promise<RawClient> {
    const s = await RawClient.connect(srv.port);
    assert.equal(await s.call("AUTH", user, pass), OK);
    return s;
  }
  async function revokeEvents(): Promise<{ user: string; reason: string }[]> {
    const res = await fetch(`http://127.0.0.1:${adminPort}/v1/audit?type=disconnect`, { headers: { Authorization: "Basic " + Buffer.from("root:root-pw").toString("base64") } });
    assert.equal(res.status, 200);
    return ((await res.json()) as { user: string; reason: string }[]).filter((e) => e.reason === "acl-revoke");
  }

  before(async () => {
    adminPort = await freePort();
    srv = await startServer(["--admin-port", String(adminPort)], { waitFor: "admin API listening on" });
    adm = await RawClient.connect(srv.port);
    assert.equal(await adm.call("ACL", "SETUSER", "root", "on", ">root-pw", "+@all", "~*", "&*"), OK);
    assert.equal(await adm.call("AUTH", "root", "root-pw"), OK);
  });
  after(async () => {
    adm.close();
    await srv.stop();
  });

  test("off by default: sessions survive, as in Redis", async () => {
    assert.equal(await adm.call("CONFIG", "GET", "acl-revoke-sessions"), "*2\r\n" + bulk("acl-revoke-sessions") + bulk("no"));
    assert.equal(await adm.call("ACL", "SETUSER", "alice", "on", ">pw1", "+@all", "~*"), OK);
    const s = await session("alice", "pw1");
    assert.equal(await adm.call("ACL", "SETUSER", "alice", "resetpass", "off"), OK);
    assert.equal(await s.call("PING"), PONG);
    assert.equal(await s.call("ACL", "WHOAMI"), bulk("alice"));
    s.close();
  });

  test("removing a password closes the sessions that used it, only those", async () => {
    assert.equal(await adm.call("CONFIG", "SET", "acl-revoke-sessions", "yes"), OK);
    assert.equal(await adm.call("ACL", "SETUSER", "alice", "reset", "on", ">pw1", ">pw2", "+@all", "~*"), OK);
    const s1 = await session("alice", "pw1");
    const s2 = await session("alice", "pw2");
    assert.equal(await adm.call("ACL", "SETUSER", "alice", "<pw1"), OK);
    assert.equal(await s1.waitClosed(), true);
    assert.equal(await s2.call("PING"), PONG);
    // Turning the user off closes the rest.
    assert.equal(await adm.call("ACL", "SETUSER", "alice", "off"), OK);
    assert.equal(await s2.waitClosed(), true);
    assert.equal(await adm.call("PING"), PONG);
    const ev = await revokeEvents();
    assert.deepEqual(ev.map((e) => e.user), ["alice", "alice"]);
  });

  test("nopass sessions close when the user stops being nopass; password sessions stay when it becomes nopass", async () => {
    assert.equal(await adm.call("ACL", "SETUSER", "bob", "on", "nopass", "+@all", "~*"), OK);
    const b = await session("bob", "anything");
    assert.equal(await adm.call("ACL", "SETUSER", "bob", ">bobpw"), OK);
    assert.equal(await b.waitClosed(), true);
    const b2 = await session("bob", "bobpw");
    assert.equal(await adm.call("ACL", "SETUSER", "bob", "nopass"), OK);
    assert.equal(await b2.call("PING"), PONG);
    // Other changes (commands, keys) never close sessions.
    assert.equal(await adm.call("ACL", "SETUSER", "bob", "-@all", "+ping"), OK);
    assert.equal(await b2.call("PING"), PONG);
    b2.close();
  });

  test("a user turning itself off gets its reply, then is closed", async () => {
    assert.equal(await adm.call("ACL", "SETUSER", "carol", "on", ">cpw", "+@all", "~*"), OK);
    const c = await session("carol", "cpw");
    assert.equal(await c.call("ACL", "SETUSER", "carol", "off"), OK);
    assert.equal(await c.waitClosed(), true);
  });

  test("requirepass: sessions of the default user without that password are closed", async () => {
    const d = await RawClient.connect(srv.port);
    assert.equal(await d.call("PING"), PONG);
    assert.equal(await adm.call("CONFIG", "SET", "requirepass", "new-default-pw"), OK);
    assert.equal(await d.waitClosed(), true);
    assert.equal(await adm.call("PING"), PONG);
    const d2 = await RawClient.connect(srv.port);
    assert.equal(await d2.call("AUTH", "new-default-pw"), OK);
    assert.equal(await adm.call("CONFIG", "SET", "requirepass", "other-pw"), OK);
    assert.equal(await d2.waitClosed(), true);
    assert.equal(await adm.call("CONFIG", "SET", "acl-revoke-sessions", "no", "requirepass", ""), OK);
  });
});
