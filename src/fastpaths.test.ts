/**
 * The hot-path shortcuts (issue "Performance") give the same answers as the general code:
 * - the request parser's one-pass header reading, short-argument decoding, string cache and reuse
 *   of the previous argv[1]:
 *   the same commands, errors and buffered counts whatever the chunking;
 * - the ACL key check's per-selector pattern index and literal / prefix tests: the same verdict
 *   as globMatch against every pattern;
 * - getKeys' shared results: equal to a fresh computation, and the same on every call;
 * - parseInt64's digit loop for short strings: the same results as string2ll's rules.
 * Pure unit checks, no server. Runs under `bun test`, `deno test` and `node --test`.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { ProtocolError, RequestParser, setKeyCache, setShortDecode } from "./resp/parser.ts";
import { Server } from "./server.ts";
import { checkUser } from "./acl/check.ts";
import { globMatch } from "./acl/glob.ts";
import { lookup } from "./dispatch.ts";
import { getKeys } from "./commands/keys.ts";
import { parseInt64 } from "./commands/util.ts";
import { ErrorReply, toJSON } from "./resp/reply.ts";
import type { Command } from "./commands/table.ts";

/** A small seeded PRNG (the same cases on every run). */
function prng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return Math.floor(((s >>> 8) / 16777216) * n);
  };
}

function parseAll(input: Buffer, cuts: number[], borrowed: boolean, unauth: boolean): string[] {
  const p = new RequestParser();
  p.unauthenticated = unauth;
  const out: string[] = [];
  let last = 0;
  for (const cut of [...cuts, input.length]) {
    const chunk = Buffer.from(input.subarray(last, cut));
    last = cut;
    p.push(chunk, borrowed);
    for (;;) {
      const r = p.next();
      if (r === null) {
        out.push(`null ${p.buffered}`);
        break;
      }
      if (r instanceof ProtocolError) {
        out.push(`error ${r.message}`);
        return out;
      }
      out.push(JSON.stringify(r));
    }
    if (borrowed) {
      p.detach();
      chunk.fill(0x55); // the transport reuses its buffer: nothing kept may point into it
    }
  }
  return out;
}

describe("hot-path shortcuts", () => {
  test("parser: any chunking gives what one chunk gives, for odd headers and short arguments", () => {
    const r = prng(1);
    const pick = <T>(a: T[]) => a[r(a.length)];
    // The key cache indexes by length and the first, middle and last four bytes: words that share them.
    const keyish = ["key:000000012345", "key:000000012346", "key:100000012345", "key:0000x0012345", "123456789", "123406789", "\xe9".repeat(32), "\xe9".repeat(31) + "\0"];
    const words = ["SET", "get", "xxx", "", "a", "\0", "\xe9", "12345678", "x".repeat(33), "x".repeat(40), ...keyish];
    const heads = ["0", "00", "01", "-1", "+1", "1", "3", "10", "11", "16384", "16385", "999999999", "1234567890", "abc", "1\0", ""];
    for (const [short, keyCache] of [[8, false], [0, true], [8, true], [0, false]] as const) {
      setShortDecode(short);
      setKeyCache(keyCache);
      for (let t = 0; t < 3000; t++) {
        let s = "";
        for (let k = 1 + r(6); k > 0; k--) {
          const kind = r(10);
          if (kind < 6) {
            const n = r(5);
            s += `*${n}\r\n`;
            for (let i = 0; i < n; i++) {
              const w = pick(words);
              s += `$${w.length}\r\n${w}\r\n`;
            }
          } else if (kind < 9) s += pick(["*", "$"]) + pick(heads) + pick(["\r\n", "\r", "\n", ""]);
          else s += pick(["PING\r\n", "set a b\n", "\r\n", "get 'x'\r\n"]);
        }
        const input = Buffer.from(s, "latin1");
        const whole = parseAll(input, [], false, t % 3 === 0);
        const cuts = [...new Set([r(input.length + 1), r(input.length + 1)])].sort((a, b) => a - b);
        const bytewise = Array.from({ length: input.length }, (_, i) => i);
        for (const c of [cuts, bytewise]) {
          const split = parseAll(input, c, t % 2 === 0, t % 3 === 0);
          // Same commands and errors in the same order (the null markers differ with chunking).
          assert.deepEqual(split.filter((x) => !x.startsWith("null")), whole.filter((x) => !x.startsWith("null")), JSON.stringify(s));
        }
      }
    }
    setShortDecode(8);
    setKeyCache(false);
  });

  test("parser: a repeated short argument decodes to the same text every time", () => {
    const p = new RequestParser();
    const cmd = (argv: string[]) => argv.map((a) => `$${a.length}\r\n${a}\r\n`).join("");
    for (const argv of [["SET", "k", "\xff\x00\x80"], ["set", "k", "v"], ["SeT", "k", "\xff\x00\x81"], ["SET", "k", "\xff\x00\x80"]]) {
      p.push(Buffer.from(`*${argv.length}\r\n${cmd(argv)}`, "latin1"));
      assert.deepEqual(p.next(), argv);
    }
  });

  test("parser: argv[1] like the previous command's but for one byte comes back exactly", () => {
    // The parser hands back the previous argv[1] when the bytes are the same: a key of the
    // same length differing in any one byte (first, last, high bit) must not be taken for it.
    const p = new RequestParser();
    const send = (argv: string[]) => {
      p.push(Buffer.from(`*${argv.length}\r\n` + argv.map((a) => `$${a.length}\r\n${a}\r\n`).join(""), "latin1"));
      return p.next() as string[];
    };
    for (const n of [1, 2, 8, 9, 16, 32, 33, 64, 65, 100]) {
      const base = Array.from({ length: n }, (_, i) => String.fromCharCode(0x61 + (i % 26))).join("");
      for (let at = 0; at < n; at++) {
        for (const ch of ["\xff", "\x00", "A"]) {
          const other = base.slice(0, at) + ch + base.slice(at + 1);
          assert.deepEqual(send(["GET", base]), ["GET", base]);
          assert.deepEqual(send(["GET", base]), ["GET", base]);
          assert.deepEqual(send(["SET", other, base]), ["SET", other, base]);
          assert.deepEqual(send(["GET", other]), ["GET", other]);
          assert.deepEqual(send(["PING"]), ["PING"]);
          assert.deepEqual(send(["GET", base.slice(0, n - 1)]), ["GET", base.slice(0, n - 1)]);
        }
      }
    }
    // A large argv[1] is not remembered: an idle connection would hold on to it.
    const big = "b".repeat(100_000);
    assert.deepEqual(send(["ECHO", big]), ["ECHO", big]);
    assert.deepEqual(send(["ECHO", big]), ["ECHO", big]);
    assert.ok((p as unknown as { lastArg1: string }).lastArg1.length <= 64);
  });

  test("parser: the key cache returns each 9-32 byte key exactly, neighbours that share its index included", () => {
    setKeyCache(true);
    try {
      const r = prng(3);
      const p = new RequestParser();
      const seen = new Map<string, number>();
      for (let t = 0; t < 20000; t++) {
        // Keys alike where the cache's index looks (length, first, middle and last four
        // bytes) and differing elsewhere: every one must still come back exactly.
        const n = 17 + r(16);
        const m = (n >> 1) - 2;
        const chars = Array.from({ length: n }, () => String.fromCharCode(pick4(r)));
        for (const [at, text] of [[0, "k:\xff\x00"], [m, "\x01mid"], [n - 4, "\x80:zz"]] as const) {
          for (let i = 0; i < 4; i++) chars[at + i] = text[i];
        }
        const key = chars.join("");
        p.push(Buffer.from(`*2\r\n$3\r\nGET\r\n$${key.length}\r\n${key}\r\n`, "latin1"));
        const argv = p.next() as string[];
        assert.equal(argv[1], key);
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
      assert.ok([...seen.values()].some((c) => c > 1), "some keys repeated");
    } finally {
      setKeyCache(false);
    }
    function pick4(r: (n: number) => number): number {
      return [0x61, 0x62, 0x00, 0xff][r(4)];
    }
  });

  test("ACL key check: the last allowed key is forgotten when the user's key patterns change", () => {
    const server = new Server({ logger: () => {} });
    const get = lookup(["GET", "k"]) as Command;
    const set = lookup(["SET", "k", "v"]) as Command;
    const setuser = (...rules: string[]) => assert.equal(toJSON(server.execute(server.internal, ["ACL", "SETUSER", "u", ...rules])), "OK");
    setuser("on", "nopass", "+@all", "~app:*");
    const u = server.acl.users.get("u")!;
    const verdict = (cmd: Command, argv: string[]) => checkUser(u, cmd, argv).code;
    assert.equal(verdict(get, ["GET", "app:1"]), 0);
    assert.equal(verdict(get, ["GET", "app:1"]), 0); // the repeated key
    setuser("resetkeys", "~other:*");
    assert.notEqual(verdict(get, ["GET", "app:1"]), 0);
    setuser("resetkeys", "%R~app:*");
    assert.equal(verdict(get, ["GET", "app:1"]), 0);
    assert.notEqual(verdict(set, ["SET", "app:1", "v"]), 0); // read-only: the read verdict does not carry over
    setuser("%W~app:1");
    assert.equal(verdict(set, ["SET", "app:1", "v"]), 0);
    setuser("reset", "on", "nopass", "+@all");
    assert.notEqual(verdict(get, ["GET", "app:1"]), 0);
  });

  test("ACL key check: the pattern index agrees with globMatch on every pattern", () => {
    const server = new Server({ logger: () => {} });
    const r = prng(2);
    const pick = <T>(a: T[]) => a[r(a.length)];
    const chars = ["a", "b", "k", ":", "*", "?", "[", "]", "\\", "^", "-", "x"];
    const word = (max: number, from: string[]) => Array.from({ length: r(max) }, () => pick(from)).join("");
    const get = lookup(["GET", "k"]) as Command;
    const set = lookup(["SET", "k", "v"]) as Command;
    for (let t = 0; t < 400; t++) {
      const patterns = Array.from({ length: 1 + r(5) }, () => [pick(["~", "%R~", "%W~", "%RW~"]), word(5, chars)] as const);
      const rules = ["on", "nopass", "+@all", ...patterns.map(([p, pat]) => p + pat)];
      const res = server.execute(server.internal, ["ACL", "SETUSER", "u", "reset", ...rules]);
      if (res instanceof ErrorReply) continue;
      const u = server.acl.users.get("u")!;
      for (let k = 0; k < 30; k++) {
        const key = word(6, ["a", "b", "k", ":", "x", "*", "?", "["]);
        for (const [cmd, argv, need] of [[get, ["GET", key], "R"], [set, ["SET", key, "v"], "W"]] as const) {
          // "~*" is allkeys (every key, the empty one too); any other pattern goes by globMatch.
          const all = patterns.some(([p, pat]) => p === "~" && pat === "*");
          const expect = all || patterns.some(([p, pat]) => (p === "~" || p.includes(need)) && globMatch(pat, key));
          assert.equal(checkUser(u, cmd, [...argv]).code === 0, expect, `${rules.join(" ")} / ${argv.join(" ")}`);
        }
      }
    }
  });

  test("getKeys: shared results equal a fresh computation and do not change", () => {
    const cases = [["GET", "a"], ["SET", "a", "b"], ["SET", "a", "b", "GET"], ["MSET", "a", "1", "b", "2"], ["MGET", "a", "b", "c"], ["LMOVE", "a", "b", "LEFT", "RIGHT"], ["DEL", "a", "b"]];
    for (const argv of cases) {
      const cmd = lookup(argv) as Command;
      const first = JSON.stringify(getKeys(cmd, argv));
      for (let i = 0; i < 3; i++) assert.equal(JSON.stringify(getKeys(cmd, argv)), first);
      assert.ok(getKeys(cmd, argv).every((k) => k.pos > 0 && k.pos < argv.length));
    }
  });

  test("parseInt64: the short-string digit loop follows string2ll's rules", () => {
    // string2ll: optional '-', no '+', no spaces, no leading zeros, no "-0".
    const rule = /^-?(0|[1-9][0-9]*)$/;
    const fixed: [string, number | null][] = [
      ["0", 0], ["-0", null], ["-", null], ["", null], ["00", null], ["01", null], ["-01", null], ["+1", null],
      [" 1", null], ["1 ", null], ["-1", -1], ["123456789012345", 123456789012345], ["-12345678901234", -12345678901234],
    ];
    for (const [s, want] of fixed) assert.equal(parseInt64(s), want, JSON.stringify(s));
    const rand = prng(7);
    const alpha = "0123456789-+ x";
    for (let t = 0; t < 20000; t++) {
      let s = "";
      const len = rand(16);
      for (let i = 0; i < len; i++) s += alpha[rand(10) < 8 ? rand(10) : rand(alpha.length)];
      const want = rule.test(s) && s !== "-0" ? Number(s) : null;
      assert.equal(parseInt64(s), want, JSON.stringify(s));
    }
  });
});
