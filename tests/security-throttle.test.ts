/**
 * Failed-AUTH throttling (src/security/throttle.ts), black-box over RESP from several loopback
 * source addresses (127.0.0.2, 127.0.0.3... bound with net.connect({localAddress})): a
 * brute-force client is slowed (delays double up to auth-max-delay) while another address and
 * another user are not; the held reply keeps the connection's reply order and never blocks
 * the event loop; the user counter throttles that user from every address; INFO counts
 * throttled attempts; after the window a correct password works again; CONFIG SET turns it
 * off (auth-max-failures 0) and exempts loopback (auth-throttle-loopback no).
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { startServer, RawClient, resp, err, OK, bulk, bulks, type AkiServer } from "./harness.ts";

const WRONGPASS = err("WRONGPASS invalid username-password pair or user is disabled.");
const PONG = "+PONG\r\n";

/** A RawClient whose socket is bound to a given local (source) address. */
function connectFrom(port: number, localAddress: string): Promise<RawClient> {
  const Ctor = RawClient as unknown as new (s: net.Socket) => RawClient;
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: "127.0.0.1", localAddress }, () => resolve(new Ctor(s)));
    s.once("error", reject);
  });
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, performance.now() - t0];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function infoField(raw: string, name: string): number {
  const m = new RegExp(`^${name}:(\\d+)`, "m").exec(raw);
  assert.ok(m, `INFO has ${name}`);
  return Number(m[1]);
}

describe("failed-AUTH throttling", () => {
  let srv: AkiServer;
  let adm: RawClient;

  before(async () => {
    srv = await startServer(["--auth-max-failures", "3", "--auth-failure-window", "2", "--auth-max-delay", "400"]);
    adm = await RawClient.connect(srv.port);
    assert.equal(await adm.call("ACL", "SETUSER", "alice", "on", ">alice-pw", "+@all", "~*"), OK);
    assert.equal(await adm.call("ACL", "SETUSER", "bob", "on", ">bob-pw", "+@all", "~*"), OK);
    assert.equal(await adm.call("ACL", "SETUSER", "carol", "on", ">carol-pw", "+@all", "~*"), OK);
  });
  after(async () => {
    adm.close();
    await srv.stop();
  });

  test("the directives, with CONFIG GET", async () => {
    assert.equal(
      await adm.call("CONFIG", "GET", "auth-*"),
      bulks("auth-timeout", "10", "auth-max-failures", "3", "auth-failure-window", "2", "auth-max-delay", "400", "auth-throttle-loopback", "yes"),
    );
    assert.equal(
      await adm.call("CONFIG", "SET", "auth-max-failures", "-1"),
      err("ERR CONFIG SET failed (possibly related to argument 'auth-max-failures') - argument must be between 0 and 2147483647 inclusive"),
    );
  });

  test("a brute-force address is slowed, doubling up to auth-max-delay; another address is not", async () => {
    const before = infoField(await adm.call("INFO", "stats"), "aki_auth_throttled_attempts");
    const bad = await connectFrom(srv.port, "127.0.0.2");
    const good = await connectFrom(srv.port, "127.0.0.3");
    // Under the limit: immediate answers.
    for (let i = 0; i < 3; i++) {
      const [r, ms] = await timed(() => bad.call("AUTH", "alice", "guess" + i));
      assert.equal(r, WRONGPASS);
      assert.ok(ms < 90, `attempt ${i} took ${ms}ms`);
    }
    // Past it: 100, 200, 400, 400 ms (capped).
    const delays: number[] = [];
    for (let i = 3; i < 7; i++) {
      const [r, ms] = await timed(() => bad.call("AUTH", "alice", "guess" + i));
      assert.equal(r, WRONGPASS);
      delays.push(ms);
    }
    assert.ok(delays[0] >= 90 && delays[0] < 300, `first delay ${delays[0]}`);
    assert.ok(delays[1] >= 190, `second delay ${delays[1]}`);
    assert.ok(delays[2] >= 390, `third delay ${delays[2]}`);
    assert.ok(delays[3] >= 390 && delays[3] < 1200, `capped delay ${delays[3]}`);
    // The right password from the throttled address is refused too (the attacker learns nothing).
    assert.equal(await bad.call("AUTH", "bob", "bob-pw"), WRONGPASS);
    // Another address, another user: immediate.
    const [r, ms] = await timed(() => good.call("AUTH", "bob", "bob-pw"));
    assert.equal(r, OK);
    assert.ok(ms < 90, `other address took ${ms}ms`);
    const after = infoField(await adm.call("INFO", "stats"), "aki_auth_throttled_attempts");
    assert.equal(after - before, 5);
    bad.close();
    good.close();
  });

  test("the delayed reply holds only its connection: order kept, the event loop free", async () => {
    await sleep(2100); // the window forgets the previous test
    const bad = await connectFrom(srv.port, "127.0.0.4");
    const other = await connectFrom(srv.port, "127.0.0.5");
    for (let i = 0; i < 5; i++) assert.equal(await bad.call("AUTH", "nobody-" + i, "x"), WRONGPASS);
    // Now the address is held 400 ms per attempt: pipeline AUTH + PING + ECHO in one write.
    const t0 = performance.now();
    bad.write(Buffer.concat([resp("AUTH", "nobody", "x"), resp("PING"), resp("ECHO", "after")]));
    await sleep(50);
    assert.equal(bad.pending(), "", "nothing before the delay");
    const [pong, ms] = await timed(() => other.call("PING"));
    assert.equal(pong, PONG);
    assert.ok(ms < 100, `another client waited ${ms}ms`);
    assert.equal(await bad.read(), WRONGPASS);
    assert.ok(performance.now() - t0 >= 380);
    assert.equal(await bad.read(), PONG);
    assert.equal(await bad.read(), bulk("after"));
    bad.close();
    other.close();
  });

  test("HELLO AUTH is throttled like AUTH; the user counter throttles the user from every address", async () => {
    await sleep(2100);
    const a = await connectFrom(srv.port, "127.0.0.6");
    for (let i = 0; i < 3; i++) assert.equal(await a.call("HELLO", "3", "AUTH", "carol", "bad" + i), WRONGPASS);
    // carol is now throttled from anywhere, with the right password too.
    const b = await connectFrom(srv.port, "127.0.0.7");
    const [r, ms] = await timed(() => b.call("HELLO", "3", "AUTH", "carol", "carol-pw"));
    assert.equal(r, WRONGPASS);
    assert.ok(ms >= 90, `throttled HELLO took ${ms}ms`);
    // Other users from that address are fine.
    assert.equal(await b.call("AUTH", "bob", "bob-pw"), OK);
    // After the window, carol's password works again.
    await sleep(2100);
    const [r2, ms2] = await timed(() => b.call("AUTH", "carol", "carol-pw"));
    assert.equal(r2, OK);
    assert.ok(ms2 < 90);
    assert.equal(await b.call("ACL", "WHOAMI"), bulk("carol"));
    a.close();
    b.close();
  });

  test("failures are ACL LOG entries and counted as Redis counts them", async () => {
    await sleep(2100);
    assert.equal(await adm.call("ACL", "LOG", "RESET"), OK);
    const auth0 = infoField(await adm.call("INFO", "stats"), "acl_access_denied_auth");
    const a = await connectFrom(srv.port, "127.0.0.8");
    for (let i = 0; i < 5; i++) assert.equal(await a.call("AUTH", "dave", "x"), WRONGPASS);
    assert.equal(infoField(await adm.call("INFO", "stats"), "acl_access_denied_auth") - auth0, 5);
    assert.match(await adm.call("ACL", "LOG", "1"), /count\r\n:5\r\n/);
    a.close();
  });

  test("auth-max-failures 0 turns it off; auth-throttle-loopback no exempts loopback", async () => {
    await sleep(2100);
    assert.equal(await adm.call("CONFIG", "SET", "auth-max-failures", "0"), OK);
    const a = await connectFrom(srv.port, "127.0.0.9");
    for (let i = 0; i < 8; i++) {
      const [r, ms] = await timed(() => a.call("AUTH", "alice", "nope"));
      assert.equal(r, WRONGPASS);
      assert.ok(ms < 90, `attempt ${i} took ${ms}ms with throttling off`);
    }
    assert.equal(await a.call("AUTH", "alice", "alice-pw"), OK);
    assert.equal(await adm.call("CONFIG", "SET", "auth-max-failures", "2", "auth-throttle-loopback", "no"), OK);
    const b = await connectFrom(srv.port, "127.0.0.10");
    for (let i = 0; i < 6; i++) {
      const [r, ms] = await timed(() => b.call("AUTH", "alice", "nope"));
      assert.equal(r, WRONGPASS);
      assert.ok(ms < 90, `loopback attempt ${i} took ${ms}ms while exempt`);
    }
    assert.equal(await b.call("AUTH", "alice", "alice-pw"), OK);
    assert.equal(await adm.call("CONFIG", "SET", "auth-throttle-loopback", "yes"), OK);
    for (let i = 0; i < 2; i++) assert.equal(await b.call("AUTH", "alice", "nope"), WRONGPASS);
    const [r, ms] = await timed(() => b.call("AUTH", "alice", "alice-pw"));
    assert.equal(r, WRONGPASS);
    assert.ok(ms >= 90);
    a.close();
    b.close();
  });

  test("inside MULTI/EXEC a throttled AUTH answers at once (EXEC never blocks)", async () => {
    await sleep(2100);
    const a = await connectFrom(srv.port, "127.0.0.11");
    for (let i = 0; i < 2; i++) assert.equal(await a.call("AUTH", "erin", "x"), WRONGPASS);
    assert.equal(await a.call("MULTI"), OK);
    assert.equal(await a.call("AUTH", "erin", "x"), "+QUEUED\r\n");
    assert.equal(await a.call("PING"), "+QUEUED\r\n");
    const [r, ms] = await timed(() => a.call("EXEC"));
    assert.equal(r, "*2\r\n" + WRONGPASS + PONG);
    assert.ok(ms < 90);
    a.close();
  });
});
