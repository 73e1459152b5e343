/**
 * Real clients against aki: ioredis, node-redis (RESP2 and RESP3), redis-cli and
 * redis-benchmark (Debian's redis-tools), each through a real socket.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import Redis from "ioredis";
import { createClient } from "redis";
import { startServer, type AkiServer } from "./harness.ts";

function tool(name: string, args: string[], input?: string): { status: number | null; out: string } {
  const r = spawnSync(name, args, { encoding: "utf8", input, timeout: 60000 });
  if (r.error) throw r.error;
  return { status: r.status, out: (r.stdout ?? "") + (r.stderr ?? "") };
}

describe("real clients", () => {
  let srv: AkiServer;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv.stop();
  });

  test("ioredis: commands and a 10,000-command pipeline", async () => {
    const r = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true });
    await r.connect();
    assert.equal(await r.ping(), "PONG");
    assert.equal(await r.set("io:k", "v"), "OK");
    assert.equal(await r.get("io:k"), "v");
    const p = r.pipeline();
    for (let i = 0; i < 10000; i++) p.set(`io:p:${i}`, String(i));
    for (let i = 0; i < 10000; i++) p.get(`io:p:${i}`);
    const res = await p.exec();
    assert.equal(res!.length, 20000);
    for (let i = 0; i < 10000; i++) assert.deepEqual(res![10000 + i], [null, String(i)]);
    assert.equal(await r.incr("io:n"), 1);
    assert.equal(await r.dbsize() >= 10002, true);
    await r.quit();
  });

  test("node-redis: RESP2 and RESP3 connections", async () => {
    const c2 = createClient({ socket: { port: srv.port, host: "127.0.0.1" } });
    await c2.connect();
    assert.equal(await c2.ping(), "PONG");
    await c2.set("nr:k", "hello");
    assert.equal(await c2.get("nr:k"), "hello");
    await c2.quit();
    const c3 = createClient({ socket: { port: srv.port, host: "127.0.0.1" }, RESP: 3 });
    await c3.connect();
    assert.equal(await c3.get("nr:k"), "hello");
    const hello = (await c3.sendCommand(["HELLO", "3"])) as unknown;
    const proto = hello instanceof Map ? hello.get("proto") : (hello as Record<string, unknown>).proto;
    assert.equal(proto, 3);
    const multi = await c3.multi().set("nr:a", "1").incr("nr:a").exec();
    assert.deepEqual(multi, ["OK", 2]);
    await c3.quit();
  });

  test("redis-cli: commands, errors, and --pipe", () => {
    const port = String(srv.port);
    assert.equal(tool("redis-cli", ["-p", port, "PING"]).out.trim(), "PONG");
    assert.equal(tool("redis-cli", ["-p", port, "SET", "cli:k", "v v"]).out.trim(), "OK");
    assert.equal(tool("redis-cli", ["-p", port, "GET", "cli:k"]).out.trim(), "v v");
    assert.match(tool("redis-cli", ["-p", port, "NOSUCH"]).out, /ERR unknown command 'NOSUCH'/);
    const lines: string[] = [];
    for (let i = 0; i < 1000; i++) lines.push(`SET cli:pipe:${i} ${i}`);
    const piped = tool("redis-cli", ["-p", port, "--pipe"], lines.join("\r\n") + "\r\n");
    assert.match(piped.out, /errors: 0, replies: 1000/);
    assert.equal(tool("redis-cli", ["-p", port, "GET", "cli:pipe:999"]).out.trim(), "999");
    assert.equal(tool("redis-cli", ["-p", port, "-3", "HSET", "cli:h", "f", "v"]).out.trim(), "1");
    assert.match(tool("redis-cli", ["-p", port, "-3", "HGETALL", "cli:h"]).out, /f\s+v/);
  });

  test("redis-benchmark runs clean", () => {
    const r = tool("redis-benchmark", ["-p", String(srv.port), "-q", "-n", "2000", "-c", "10", "-P", "16", "-t", "ping,set,get,incr"]);
    assert.equal(r.status, 0, r.out);
    for (const t of ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR"]) assert.match(r.out, new RegExp(`${t}: [0-9.]+ requests per second`));
    assert.doesNotMatch(r.out, /ERR|error/i);
  });
});
