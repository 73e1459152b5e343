/**
 * The command line: --version/--help, config files and flags (errors name file and line),
 * unix sockets with permissions, --transport node, clean shutdown on SIGTERM, and the
 * native executable from `bun build --compile`.
 */
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { mkdtempSync, writeFileSync, statSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { akiCommand, currentRuntime, startServer, RawClient, freePort, ROOT, OK, bulk } from "./harness.ts";

const tmp = mkdtempSync(join(tmpdir(), "aki-cli-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function aki(args: string[]): { status: number | null; out: string } {
  const [cmd, ...pre] = akiCommand();
  const r = spawnSync(cmd, [...pre, ...args], { encoding: "utf8", timeout: 60000, cwd: tmp });
  return { status: r.status, out: (r.stdout ?? "") + (r.stderr ?? "") };
}

describe("command line", () => {
  test("--version and --help", () => {
    const v = aki(["--version"]);
    assert.equal(v.status, 0);
    assert.match(v.out, /^aki \d+\.\d+\.\d+ \(redis 7\.2\.\d+ compatible\)/m);
    const h = aki(["--help"]);
    assert.equal(h.status, 0);
    assert.match(h.out, /aki server \[config-file\]/);
  });

  test("unknown flags and bad values are clear errors", () => {
    const a = aki(["server", "--no-such-flag", "1"]);
    assert.equal(a.status, 1);
    assert.match(a.out, /no-such-flag/);
    const b = aki(["server", "--maxclients", "lots"]);
    assert.equal(b.status, 1);
    assert.match(b.out, /--maxclients lots: argument couldn't be parsed into an integer/);
  });

  test("a config file sets directives; a bad line names file and line", async () => {
    const port = await freePort();
    const good = join(tmp, "good.conf");
    writeFileSync(good, `# comment\nport ${port}\nmaxclients 77\nsave ""\ndbfile :memory:\nappendonly yes\n`);
    const srv = await startServer([good], { noPort: true });
    const c = await RawClient.connect(port);
    assert.equal(await c.call("CONFIG", "GET", "maxclients"), `*2\r\n${bulk("maxclients")}${bulk("77")}`);
    assert.equal(await c.call("CONFIG", "SET", "maxclients", "88"), OK);
    assert.equal(await c.call("CONFIG", "REWRITE"), OK);
    c.close();
    await srv.stop();
    const bad = join(tmp, "bad.conf");
    writeFileSync(bad, "port 7777\nmaxclients nope\n");
    const r = aki(["server", bad]);
    assert.equal(r.status, 1);
    assert.match(r.out, /bad\.conf:2/);
    assert.match(r.out, /argument couldn't be parsed into an integer/);
    const r2 = aki(["server", join(tmp, "missing.conf")]);
    assert.equal(r2.status, 1);
    assert.match(r2.out, /missing\.conf/);
  });

  test("unix socket with permissions set before clients connect", async () => {
    const sock = join(tmp, "aki.sock");
    const srv = await startServer(["--unixsocket", sock, "--unixsocketperm", "700"], { waitFor: "listening on unix socket" });
    assert.equal(statSync(sock).mode & 0o777, 0o700);
    const c = await RawClient.connectUnix(sock);
    assert.equal(await c.call("PING"), "+PONG\r\n");
    assert.match(await c.call("CLIENT", "INFO"), /flags=U /);
    c.close();
    await srv.stop();
  });

  test("SIGTERM shuts down cleanly", async () => {
    const srv = await startServer();
    const c = await RawClient.connect(srv.port);
    assert.equal(await c.call("PING"), "+PONG\r\n");
    const code = await srv.stop("SIGTERM");
    // Deno's node:child_process reports the signal sent rather than the exit status (a Node
    // harness sees 0 for the same server), so there the log line is the evidence.
    if (!("Deno" in globalThis)) assert.equal(code, 0);
    assert.equal(await c.waitClosed(), true);
    assert.match(srv.output(), /Received SIGTERM, shutting down/);
    assert.match(srv.output(), /ready to exit/);
  });

  test("npx aki: the package bin runs the bundled server", { skip: currentRuntime() !== "node" }, () => {
    const r = spawnSync(process.execPath, [join(ROOT, "bin/aki.mjs"), "--version"], { encoding: "utf8" });
    assert.match(r.stdout, /^aki \d/);
  });

  test("--transport node works under every runtime", async () => {
    const srv = await startServer(["--transport", "node"]);
    assert.match(srv.output(), /node transport on /);
    const c = await RawClient.connect(srv.port);
    assert.equal(await c.call("ECHO", "via node:net"), bulk("via node:net"));
    c.close();
    await srv.stop();
  });

  test("the native executable from bun build --compile", { skip: currentRuntime() !== "bun" }, async () => {
    const out = join(tmp, "aki-native");
    const b = spawnSync(join(ROOT, "node_modules/.bin/bun"), ["build", join(ROOT, "src/main.ts"), "--compile", "--outfile", out], { encoding: "utf8", timeout: 120000 });
    assert.equal(b.status, 0, b.stderr);
    assert.ok(existsSync(out));
    const v = spawnSync(out, ["--version"], { encoding: "utf8", env: { PATH: "/usr/bin:/bin" } });
    assert.match(v.stdout, /^aki /);
    const port = await freePort();
    const { spawn } = await import("node:child_process");
    const child = spawn(out, ["server", "--port", String(port), "--dbfile", ":memory:"], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: "/usr/bin:/bin" } });
    await new Promise<void>((resolve, reject) => {
      let text = "";
      const t = setTimeout(() => reject(new Error(text)), 15000);
      child.stdout!.on("data", (d) => {
        text += d;
        if (text.includes("listening on")) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    const c = await RawClient.connect(port);
    assert.equal(await c.call("PING"), "+PONG\r\n");
    c.close();
    const bench = spawnSync("redis-benchmark", ["-p", String(port), "-q", "-n", "2000", "-P", "16", "-t", "ping,set,get,incr"], { encoding: "utf8", timeout: 60000 });
    assert.equal(bench.status, 0, bench.stderr);
    assert.match(bench.stdout, /INCR: [0-9.]+ requests per second/);
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  });
});
