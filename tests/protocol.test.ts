/**
 * RESP protocol handling through raw sockets: pipelining, splits at every byte, inline
 * commands, binary safety, and Redis 7.2's exact protocol errors (the connection closes after).
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { startServer, RawClient, resp, bulk, err, OK, type AkiServer } from "./harness.ts";

describe("RESP protocol", () => {
  let srv: AkiServer;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv.stop();
  });

  async function errorThenClose(bytes: string | Buffer, expected: string): Promise<void> {
    const c = await RawClient.connect(srv.port);
    c.write(bytes);
    assert.equal(await c.read(), expected);
    assert.equal(await c.waitClosed(), true, "server should close the connection");
    c.close();
  }

  test("multibulk, inline and pipelined commands", async () => {
    const c = await RawClient.connect(srv.port);
    c.write("PING\r\n" + "*1\r\n$4\r\nPING\r\n" + "ECHO hello\n" + "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
    assert.equal(await c.read(), "+PONG\r\n");
    assert.equal(await c.read(), "+PONG\r\n");
    assert.equal(await c.read(), bulk("hello"));
    assert.equal(await c.read(), bulk(""));
    c.close();
  });

  test("a request split at every byte gives the same replies", async () => {
    const c = await RawClient.connect(srv.port);
    const req = Buffer.concat([resp("SET", "split:k", "v\r\nx"), resp("GET", "split:k"), Buffer.from("PING\r\n")]);
    for (let i = 0; i < req.length; i++) {
      c.write(req.subarray(i, i + 1));
      await new Promise((r) => setTimeout(r, 1));
    }
    assert.equal(await c.read(), OK);
    assert.equal(await c.read(), bulk("v\r\nx"));
    assert.equal(await c.read(), "+PONG\r\n");
    c.close();
  });

  test("arguments are binary safe", async () => {
    const c = await RawClient.connect(srv.port);
    const all = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) all[i] = i;
    await c.call("SET", all, all);
    c.write(resp("GET", all));
    const r = await c.read();
    assert.equal(r, "$256\r\n" + all.toString("latin1") + "\r\n");
    c.close();
  });

  test("empty inline lines and zero-length multibulks are ignored", async () => {
    const c = await RawClient.connect(srv.port);
    c.write("\r\n\n*0\r\n*-1\r\nPING\r\n");
    assert.equal(await c.read(), "+PONG\r\n");
    c.close();
  });

  test("inline quoting", async () => {
    const c = await RawClient.connect(srv.port);
    c.write(`ECHO "a b\\x41\\n"\r\n`);
    assert.equal(await c.read(), bulk("a bA\n"));
    c.write(`ECHO 'it\\'s'\r\n`);
    assert.equal(await c.read(), bulk("it's"));
    c.close();
  });

  test("10,000 pipelined commands", async () => {
    const c = await RawClient.connect(srv.port);
    const parts: Buffer[] = [];
    for (let i = 0; i < 10000; i++) parts.push(resp("ECHO", String(i)));
    c.write(Buffer.concat(parts));
    for (let i = 0; i < 10000; i++) assert.equal(await c.read(), bulk(String(i)));
    c.close();
  });

  test("invalid multibulk length", async () => {
    await errorThenClose("*abc\r\n", err("ERR Protocol error: invalid multibulk length"));
    await errorThenClose("*2147483648000\r\n", err("ERR Protocol error: invalid multibulk length"));
  });

  test("expected '$'", async () => {
    await errorThenClose("*1\r\nx3\r\nfoo\r\n", err("ERR Protocol error: expected '$', got 'x'"));
  });

  test("invalid bulk length", async () => {
    await errorThenClose("*1\r\n$-5\r\n", err("ERR Protocol error: invalid bulk length"));
    await errorThenClose("*1\r\n$abc\r\n", err("ERR Protocol error: invalid bulk length"));
    await errorThenClose("*1\r\n$9999999999999\r\n", err("ERR Protocol error: invalid bulk length"));
  });

  test("too big mbulk / bulk count strings and inline requests", async () => {
    await errorThenClose("*" + "1".repeat(70000), err("ERR Protocol error: too big mbulk count string"));
    await errorThenClose("*1\r\n$" + "1".repeat(70000), err("ERR Protocol error: too big bulk count string"));
    await errorThenClose("PING " + "a".repeat(70000), err("ERR Protocol error: too big inline request"));
  });

  test("unbalanced quotes", async () => {
    await errorThenClose('ECHO "abc\r\n', err("ERR Protocol error: unbalanced quotes in request"));
  });

  test("an HTTP request on the RESP port closes the connection silently", async () => {
    const c = await RawClient.connect(srv.port);
    c.write("POST / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    assert.equal(await c.waitClosed(), true);
    assert.equal(c.pending(), "");
    const d = await RawClient.connect(srv.port);
    // Arriving in one read, the arity error for "GET / HTTP/1.1" is dropped with the connection,
    // as Redis drops the pending replies of a client it closes for "Host:".
    d.write("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    assert.equal(await d.waitClosed(), true);
    assert.equal(d.pending(), "");
  });

  test("a declared huge bulk does not allocate and the server keeps serving", async () => {
    const c = await RawClient.connect(srv.port);
    c.write("*2\r\n$4\r\nECHO\r\n$536870000\r\nabc");
    const other = await RawClient.connect(srv.port);
    assert.equal(await other.call("PING"), "+PONG\r\n");
    const info = await other.call("INFO", "memory");
    const used = Number(/used_memory_rss:(\d+)/.exec(info)?.[1]);
    assert.ok(used < 400 * 1024 * 1024, `rss ${used} should not include the declared 512 MB`);
    c.close();
    other.close();
  });

  test("unknown command and arity errors", async () => {
    const c = await RawClient.connect(srv.port);
    assert.equal(await c.call("FOO", "a", "b"), err("ERR unknown command 'FOO', with args beginning with: 'a' 'b' "));
    assert.equal(await c.call("FOO"), err("ERR unknown command 'FOO', with args beginning with: "));
    const long = "x".repeat(200);
    assert.equal(await c.call(long), err(`ERR unknown command '${"x".repeat(128)}', with args beginning with: `));
    assert.equal(await c.call("GET"), err("ERR wrong number of arguments for 'get' command"));
    assert.equal(await c.call("CONFIG", "GET"), err("ERR wrong number of arguments for 'config|get' command"));
    assert.equal(await c.call("CONFIG", "NOPE"), err("ERR unknown subcommand 'NOPE'. Try CONFIG HELP."));
    c.close();
  });
});
