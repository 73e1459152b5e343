/**
 * Glob matching: Redis's stringmatchlen semantics, and hostile patterns (CVE-2022-36021,
 * CVE-2024-31228 shapes) that must not hang KEYS, SCAN MATCH or PSUBSCRIBE.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { globMatch } from "../src/acl/glob.ts";
import { startServer, RawClient, OK, type AkiServer } from "./harness.ts";

describe("glob", () => {
  test("Redis semantics", () => {
    const yes: [string, string][] = [
      ["*", "abc"], ["a*", "abc"], ["*c", "abc"], ["a?c", "abc"], ["h[ae]llo", "hello"],
      ["h[^e]llo", "hallo"], ["h[a-b]llo", "hbllo"], ["h[b-a]llo", "hallo"], ["h\\*llo", "h*llo"],
      ["[\\]]", "]"], ["*a*b*c*", "xxaxxbxxcxx"], ["user:*:name", "user:42:name"],
    ];
    const no: [string, string][] = [
      ["a*", "bac"], ["a?c", "ac"], ["h[^e]llo", "hello"], ["h[a-b]llo", "hcllo"], ["h\\*llo", "hello"], ["abc", "abcd"], ["", "a"], ["a[", "a["],
      // stringmatchlen never matches an empty string against a non-empty pattern; KEYS, SCAN
      // and the ACL allkeys flag special-case a lone "*" before they get here.
      ["*", ""],
    ];
    for (const [p, s] of yes) assert.equal(globMatch(p, s), true, `${p} ~ ${s}`);
    for (const [p, s] of no) assert.equal(globMatch(p, s), false, `${p} !~ ${s}`);
    assert.equal(globMatch("HELLO*", "hello world", true), true);
    assert.equal(globMatch("HELLO*", "hello world"), false);
  });

  test("hostile patterns answer at once", () => {
    const str = "a".repeat(20000);
    const pat = "*a".repeat(2000) + "b";
    const t0 = Date.now();
    assert.equal(globMatch(pat, str), false);
    assert.equal(globMatch("[" + "a-".repeat(5000), "z"), false);
    assert.ok(Date.now() - t0 < 5000, "must not backtrack exponentially");
  });

  describe("through the server", () => {
    let srv: AkiServer;
    let c: RawClient;
    before(async () => {
      srv = await startServer();
      c = await RawClient.connect(srv.port);
    });
    after(async () => {
      c.close();
      await srv.stop();
    });
    test("KEYS, SCAN MATCH and PSUBSCRIBE with a hostile pattern keep the server responsive", async () => {
      assert.equal(await c.call("SET", "a".repeat(5000), "v"), OK);
      const pat = "*a".repeat(1000) + "b";
      assert.equal(await c.call("KEYS", pat), "*0\r\n");
      const scan = await c.call("SCAN", "0", "MATCH", pat, "COUNT", "100");
      assert.match(scan, /^\*2\r\n/);
      const sub = await RawClient.connect(srv.port);
      await sub.call("PSUBSCRIBE", pat);
      assert.equal(await c.call("PUBLISH", "a".repeat(5000), "m"), ":0\r\n");
      sub.close();
      assert.equal(await c.call("PING"), "+PONG\r\n");
    });
  });
});
