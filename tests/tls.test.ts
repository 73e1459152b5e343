/**
 * Native TLS (issue 10), on the runtime under test: a throwaway CA, server and client
 * certificates made with openssl; RESP over TLS with redis-cli --tls, ioredis, node-redis and a
 * raw node:tls client (PING/SET/GET, AUTH as an ACL user), tls-auth-clients yes / optional / no
 * (refusal without a certificate or with an untrusted one), `tls-auth-clients-user CN` login,
 * plaintext on the TLS port refused cleanly, `--port 0` TLS only, tls-protocols, an encrypted
 * key with tls-key-file-pass, CONFIG GET/SET of the tls-* directives (certificate rotation and a
 * refused mismatched key), the admin API over HTTPS (`--admin-tls yes`), startup errors naming
 * the file and the problem, and (under Bun) the native executable from bun build --compile.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import tls from "node:tls";
import https from "node:https";
import { Buffer } from "node:buffer";
import Redis from "ioredis";
import { createClient } from "redis";
import { type AkiServer, BufferedSocket, bulk, currentRuntime, err, freePort, OK, replyLength, resp, ROOT, startServer } from "./harness.ts";

const dir = mkdtempSync(join(tmpdir(), "aki-tls-"));
const f = (name: string) => join(dir, name);

function openssl(args: string[], input?: string): void {
  const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8", input });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${r.stderr}`);
}

/** CA, server certificates (two, for rotation), client certificates, an untrusted CA and client. */
function makeCertificates(): void {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  writeFileSync(
    f("server.ext"),
    "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
  );
  writeFileSync(f("client.ext"), "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n");
  for (const ca of ["ca", "evil-ca"]) {
    openssl(["req", "-x509", ...ec, "-keyout", `${ca}.key`, "-out", `${ca}.crt`, "-days", "2", "-subj", `/CN=aki test ${ca}`]);
  }
  const issue = (name: string, cn: string, ca: string, ext: string) => {
    openssl(["req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`]);
    openssl([
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${ca}.crt`,
      "-CAkey",
      `${ca}.key`,
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      "2",
      "-extfile",
      ext,
    ]);
  };
  issue("server", "aki-server-one", "ca", "server.ext");
  issue("server2", "aki-server-two", "ca", "server.ext");
  issue("alice", "alice", "ca", "client.ext");
  issue("nobody", "nobody", "ca", "client.ext");
  issue("evil", "alice", "evil-ca", "client.ext");
  openssl(["pkey", "-in", "server.key", "-aes256", "-passout", "pass:s3cret", "-out", "server-enc.key"]);
  mkdirSync(f("cadir"));
  writeFileSync(f("cadir/root.pem"), readFileSync(f("ca.crt")));
  writeFileSync(f("not-a-cert.pem"), "hello\n");
}

const pem = (name: string) => readFileSync(f(name), "latin1");

/** One RESP connection over TLS; call() sends a command and returns the raw reply text. */
class TlsRaw extends BufferedSocket<tls.TLSSocket> {
  private constructor(sock: tls.TLSSocket) {
    super(sock);
  }
  static connect(port: number, opts: tls.ConnectionOptions = {}): Promise<TlsRaw> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host: "127.0.0.1", port, ca: pem("ca.crt"), ...opts }, () => resolve(new TlsRaw(s)));
      s.once("error", reject);
    });
  }
  async call(...argv: string[]): Promise<string> {
    this.sock.write(resp(...argv));
    return await this.take(
      (buf) => {
        const n = replyLength(buf);
        return n < 0 ? null : { value: buf.toString("latin1", 0, n), rest: buf.subarray(n) };
      },
      { ms: 5000, pollMs: 100, closedMsg: "connection closed", timeoutMsg: "no reply" },
    );
  }
}

/** Connect over TLS and try a PING: "+PONG\r\n", or "refused: <why>" when the server will not talk. */
async function tryPing(port: number, opts: tls.ConnectionOptions = {}): Promise<string> {
  let c: TlsRaw;
  try {
    c = await TlsRaw.connect(port, opts);
  } catch (e) {
    return `refused: ${(e as Error).message}`;
  }
  try {
    return await c.call("PING");
  } catch (e) {
    return `refused: ${(e as Error).message}`;
  } finally {
    c.close();
  }
}

function redisCli(port: number, extra: string[], ...cmd: string[]): { out: string; status: number | null } {
  const r = spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--tls", "--cacert", f("ca.crt"), ...extra, ...cmd], {
    encoding: "utf8",
    timeout: 10000,
  });
  return { out: (r.stdout + r.stderr).trim(), status: r.status };
}
const aliceCert = () => ["--cert", f("alice.crt"), "--key", f("alice.key")];

function httpsGet(url: string, ca?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
  });
}

/** Start aki expecting a startup failure; resolves with its exit code and output. */
async function startFails(args: string[]): Promise<{ code: number | null; out: string }> {
  const srv = await startServer(args, { expectExit: true, noPort: true });
  const code = await srv.exited;
  return { code, out: srv.output() };
}

describe("TLS", () => {
  before(() => makeCertificates());
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe("TLS with client certificates required (tls-auth-clients yes), TLS only", () => {
    let srv: AkiServer;
    let tlsPort: number;
    let adminPort: number;
    before(async () => {
      tlsPort = await freePort();
      adminPort = await freePort();
      srv = await startServer([
        "--port",
        "0",
        "--tls-port",
        String(tlsPort),
        "--tls-cert-file",
        f("server.crt"),
        "--tls-key-file",
        f("server.key"),
        "--tls-ca-cert-file",
        f("ca.crt"),
        "--tls-auth-clients-user",
        "CN",
        "--user",
        "alice on >alicepw ~* +@all",
        "--user",
        "carol on >carolpw ~carol:* +@all",
        "--admin-port",
        String(adminPort),
        "--admin-tls",
        "yes",
        "--loglevel",
        "verbose",
      ], { waitFor: "admin API listening" });
    });
    after(async () => {
      await srv.stop();
    });

    test("one TLS listener and nothing in plaintext (--port 0)", async () => {
      assert.match(srv.output(), new RegExp(`listening on 127\\.0\\.0\\.1:${tlsPort} with TLS`));
      assert.doesNotMatch(srv.output(), /listening on 127\.0\.0\.1:\d+ \(/);
      if (currentRuntime() === "deno") assert.match(srv.output(), /node:tls, because Deno\.listenTls cannot ask for client certificates/);
      if (currentRuntime() === "bun") assert.match(srv.output(), /; bun TLS\)/);
      if (currentRuntime() === "node") assert.match(srv.output(), /; node TLS\)/);
      assert.match(srv.output(), new RegExp(`admin API listening on https://127\\.0\\.0\\.1:${adminPort}`));
    });

    test("redis-cli --tls with a client certificate: PING, SET, GET", () => {
      assert.deepEqual(redisCli(tlsPort, aliceCert(), "PING"), { out: "PONG", status: 0 });
      assert.equal(redisCli(tlsPort, aliceCert(), "SET", "tls:k", "over tls").out, "OK");
      assert.equal(redisCli(tlsPort, aliceCert(), "GET", "tls:k").out, "over tls");
    });

    test("redis-cli --tls without a client certificate is refused", () => {
      const r = redisCli(tlsPort, [], "PING");
      assert.notEqual(r.out, "PONG");
      assert.match(r.out, /Error|closed|reset/i);
    });

    test("no certificate, or one from an untrusted CA: refused before any command", async () => {
      assert.match(await tryPing(tlsPort), /^refused/);
      assert.match(await tryPing(tlsPort, { cert: pem("evil.crt"), key: pem("evil.key") }), /^refused/);
      assert.equal(await tryPing(tlsPort, { cert: pem("alice.crt"), key: pem("alice.key") }), "+PONG\r\n");
      assert.match(srv.output(), /Error accepting a TLS client connection/);
    });

    test("plaintext sent to the TLS port is refused cleanly and the server carries on", async () => {
      const got = await new Promise<string>((resolve, reject) => {
        const s = net.connect({ host: "127.0.0.1", port: tlsPort }, () => s.write(resp("PING")));
        let data = "";
        s.on("data", (d) => (data += d.toString("latin1")));
        s.on("close", () => resolve(data));
        s.on("error", () => resolve(data));
        setTimeout(() => reject(new Error("the server kept a plaintext connection open")), 8000);
      });
      assert.ok(!got.includes("PONG"), JSON.stringify(got));
      assert.equal(await tryPing(tlsPort, { cert: pem("alice.crt"), key: pem("alice.key") }), "+PONG\r\n");
    });

    test("tls-auth-clients-user CN: the certificate's CN logs in as that ACL user", async () => {
      const a = await TlsRaw.connect(tlsPort, { cert: pem("alice.crt"), key: pem("alice.key") });
      assert.equal(await a.call("ACL", "WHOAMI"), bulk("alice"));
      a.close();
      // A CN that is no user: the default user.
      const n = await TlsRaw.connect(tlsPort, { cert: pem("nobody.crt"), key: pem("nobody.key") });
      assert.equal(await n.call("ACL", "WHOAMI"), bulk("default"));
      n.close();
      // Off: every client starts as the default user.
      const b = await TlsRaw.connect(tlsPort, { cert: pem("alice.crt"), key: pem("alice.key") });
      assert.equal(await b.call("CONFIG", "SET", "tls-auth-clients-user", "off"), OK);
      b.close();
      const c = await TlsRaw.connect(tlsPort, { cert: pem("alice.crt"), key: pem("alice.key") });
      assert.equal(await c.call("ACL", "WHOAMI"), bulk("default"));
      assert.equal(await c.call("CONFIG", "SET", "tls-auth-clients-user", "cn"), OK);
      assert.equal(await c.call("CONFIG", "GET", "tls-auth-clients-user"), "*2\r\n$21\r\ntls-auth-clients-user\r\n$2\r\nCN\r\n");
      assert.equal(
        await c.call("CONFIG", "SET", "tls-auth-clients-user", "uri"),
        err("ERR CONFIG SET failed (possibly related to argument 'tls-auth-clients-user') - argument(s) must be one of the following: off, CN"),
      );
      c.close();
    });

    test("AUTH as an ACL user over TLS", async () => {
      const c = await TlsRaw.connect(tlsPort, { cert: pem("nobody.crt"), key: pem("nobody.key") });
      assert.equal(await c.call("AUTH", "carol", "wrong"), err("WRONGPASS invalid username-password pair or user is disabled."));
      assert.equal(await c.call("AUTH", "carol", "carolpw"), OK);
      assert.equal(await c.call("ACL", "WHOAMI"), bulk("carol"));
      assert.equal(await c.call("SET", "carol:1", "x"), OK);
      assert.equal(await c.call("GET", "tls:k"), err("NOPERM No permissions to access a key"));
      c.close();
      const r = redisCli(tlsPort, [...aliceCert(), "--user", "carol", "--pass", "carolpw", "--no-auth-warning"], "GET", "carol:1");
      assert.equal(r.out, "x");
    });

    test("ioredis over TLS", async () => {
      const r = new Redis({
        host: "127.0.0.1",
        port: tlsPort,
        lazyConnect: true,
        enableReadyCheck: false,
        tls: { ca: pem("ca.crt"), cert: pem("alice.crt"), key: pem("alice.key") },
      });
      await r.connect();
      assert.equal(await r.ping(), "PONG");
      assert.equal(await r.set("io:k", "v1"), "OK");
      assert.equal(await r.get("io:k"), "v1");
      assert.equal(await r.call("ACL", "WHOAMI"), "alice");
      await r.quit();
      // Without a client certificate the connection never becomes usable.
      const bad = new Redis({
        host: "127.0.0.1",
        port: tlsPort,
        lazyConnect: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
        tls: { ca: pem("ca.crt") },
      });
      bad.on("error", () => {});
      await assert.rejects((async () => {
        await bad.connect();
        await bad.ping();
      })());
      bad.disconnect();
    });

    test("node-redis over TLS (RESP2 and RESP3)", async () => {
      for (const RESP of [2, 3] as const) {
        const c = createClient({
          RESP,
          username: "carol",
          password: "carolpw",
          socket: { host: "127.0.0.1", port: tlsPort, tls: true, ca: pem("ca.crt"), cert: pem("nobody.crt"), key: pem("nobody.key") },
        });
        await c.connect();
        assert.equal(await c.sendCommand(["ACL", "WHOAMI"]), "carol");
        await c.set("carol:nr", String(RESP));
        assert.equal(await c.get("carol:nr"), String(RESP));
        await c.quit();
      }
    });

    test("the admin API over HTTPS with the same certificate", async () => {
      const r = await httpsGet(`https://localhost:${adminPort}/v1/health`, pem("ca.crt"));
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).status, "ok");
      // Not trusted without the CA; no plaintext HTTP on that port.
      await assert.rejects(httpsGet(`https://localhost:${adminPort}/v1/health`));
      const plain = await new Promise<string>((resolve) => {
        const s = net.connect({ host: "127.0.0.1", port: adminPort }, () => s.write("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"));
        let d = "";
        s.on("data", (x) => (d += x.toString("latin1")));
        s.on("close", () => resolve(d));
        s.on("error", () => resolve(d));
        setTimeout(() => {
          s.destroy();
          resolve(d);
        }, 3000);
      });
      assert.ok(!plain.includes('"status":"ok"'), plain);
    });

    test("CONFIG GET shows the tls-* directives; tls-port is fixed", async () => {
      const c = await TlsRaw.connect(tlsPort, { cert: pem("alice.crt"), key: pem("alice.key") });
      assert.equal(await c.call("CONFIG", "GET", "tls-port"), `*2\r\n$8\r\ntls-port\r\n${bulk(String(tlsPort))}`);
      assert.equal(await c.call("CONFIG", "GET", "tls-auth-clients"), "*2\r\n$16\r\ntls-auth-clients\r\n$3\r\nyes\r\n");
      assert.equal(
        await c.call("CONFIG", "SET", "tls-port", "7000"),
        err("ERR CONFIG SET failed (possibly related to argument 'tls-port') - can't set immutable config"),
      );
      assert.equal(
        await c.call("CONFIG", "SET", "tls-protocols", "TLSv9"),
        err("ERR CONFIG SET failed (possibly related to argument 'tls-protocols') - Invalid tls-protocols specified"),
      );
      assert.equal(
        await c.call("CONFIG", "SET", "tls-auth-clients", "maybe"),
        err("ERR CONFIG SET failed (possibly related to argument 'tls-auth-clients') - argument(s) must be one of the following: no, yes, optional"),
      );
      c.close();
    });
  });

  describe("TLS next to plaintext, tls-auth-clients no, an encrypted key, CONFIG SET", () => {
    let srv: AkiServer;
    let port: number;
    let tlsPort: number;
    before(async () => {
      port = await freePort();
      tlsPort = await freePort();
      srv = await startServer([
        "--port",
        String(port),
        "--tls-port",
        String(tlsPort),
        "--tls-cert-file",
        f("server.crt"),
        "--tls-key-file",
        f("server-enc.key"),
        "--tls-key-file-pass",
        "s3cret",
        "--tls-auth-clients",
        "no",
      ], { waitFor: "with TLS" });
    });
    after(async () => {
      await srv.stop();
    });

    test("both ports serve the same data; no client certificate needed", async () => {
      if (currentRuntime() === "deno") assert.match(srv.output(), /; deno TLS\)/);
      const t = await TlsRaw.connect(tlsPort);
      assert.equal(await t.call("SET", "both", "yes"), OK);
      t.close();
      const plain = spawnSync("redis-cli", ["-p", String(port), "GET", "both"], { encoding: "utf8" });
      assert.equal(plain.stdout.trim(), "yes");
      assert.equal(redisCli(tlsPort, [], "GET", "both").out, "yes");
    });

    test("CONFIG SET tls-cert-file / tls-key-file rotates the certificate for new connections", async () => {
      const old = await TlsRaw.connect(tlsPort);
      assert.equal(old.sock.getPeerCertificate().subject.CN, "aki-server-one");
      const admin = await TlsRaw.connect(tlsPort);
      assert.equal(await admin.call("CONFIG", "SET", "tls-cert-file", f("server2.crt"), "tls-key-file", f("server2.key"), "tls-key-file-pass", ""), OK);
      let cn = "";
      for (let i = 0; i < 50 && cn !== "aki-server-two"; i++) {
        await new Promise((r) => setTimeout(r, 100));
        try {
          const n = await TlsRaw.connect(tlsPort);
          cn = n.sock.getPeerCertificate().subject.CN as string;
          assert.equal(await n.call("PING"), "+PONG\r\n");
          n.close();
        } catch { /* listener being swapped */ }
      }
      assert.equal(cn, "aki-server-two");
      // The connection made before the change still works.
      assert.equal(await old.call("GET", "both"), bulk("yes"));
      old.close();
      // A key that does not match the certificate: refused as a whole, nothing changes.
      assert.equal(
        await admin.call("CONFIG", "SET", "tls-key-file", f("alice.key")),
        err("ERR CONFIG SET failed (possibly related to argument 'tls-key-file') - Unable to update TLS configuration. Check server logs."),
      );
      assert.equal(await admin.call("CONFIG", "GET", "tls-key-file"), `*2\r\n$12\r\ntls-key-file\r\n${bulk(f("server2.key"))}`);
      assert.match(srv.output(), /tls-key-file '.*alice\.key' does not match the certificate in tls-cert-file/);
      admin.close();
      const n = await TlsRaw.connect(tlsPort);
      assert.equal(n.sock.getPeerCertificate().subject.CN, "aki-server-two");
      n.close();
    });

    test("CONFIG SET tls-auth-clients yes needs a CA; with one, certificates become required", async () => {
      const c = await TlsRaw.connect(tlsPort);
      assert.equal(
        await c.call("CONFIG", "SET", "tls-auth-clients", "yes"),
        err("ERR CONFIG SET failed (possibly related to argument 'tls-auth-clients') - Unable to update TLS configuration. Check server logs."),
      );
      assert.equal(await c.call("CONFIG", "SET", "tls-ca-cert-dir", f("cadir"), "tls-auth-clients", "yes"), OK);
      c.close();
      let r = "";
      for (let i = 0; i < 50 && !r.startsWith("refused"); i++) {
        await new Promise((res) => setTimeout(res, 100));
        r = await tryPing(tlsPort);
      }
      assert.match(r, /^refused/);
      assert.equal(await tryPing(tlsPort, { cert: pem("alice.crt"), key: pem("alice.key") }), "+PONG\r\n");
    });
  });

  describe("tls-auth-clients optional, tls-protocols", () => {
    let srv: AkiServer;
    let tlsPort: number;
    before(async () => {
      tlsPort = await freePort();
      srv = await startServer([
        "--port",
        "0",
        "--tls-port",
        String(tlsPort),
        "--tls-cert-file",
        f("server.crt"),
        "--tls-key-file",
        f("server.key"),
        "--tls-ca-cert-dir",
        f("cadir"),
        "--tls-auth-clients",
        "optional",
        "--tls-auth-clients-user",
        "CN",
        "--tls-protocols",
        "TLSv1.3",
        "--user",
        "alice on nopass ~* +@all",
      ], { waitFor: "with TLS" });
    });
    after(async () => {
      await srv.stop();
    });

    test("no certificate is fine, a valid one logs in by CN, an untrusted one is refused", async () => {
      const anon = await TlsRaw.connect(tlsPort);
      assert.equal(await anon.call("ACL", "WHOAMI"), bulk("default"));
      anon.close();
      const a = await TlsRaw.connect(tlsPort, { cert: pem("alice.crt"), key: pem("alice.key") });
      assert.equal(await a.call("ACL", "WHOAMI"), bulk("alice"));
      a.close();
      assert.match(await tryPing(tlsPort, { cert: pem("evil.crt"), key: pem("evil.key") }), /^refused/);
      assert.equal(redisCli(tlsPort, [], "PING").out, "PONG");
    });

    test("tls-protocols TLSv1.3: a TLS 1.2 client is refused", async () => {
      if (currentRuntime() !== "node") assert.match(srv.output(), /node:tls, because/);
      const ok = await TlsRaw.connect(tlsPort, { minVersion: "TLSv1.3" });
      assert.equal(ok.sock.getProtocol(), "TLSv1.3");
      ok.close();
      assert.match(await tryPing(tlsPort, { maxVersion: "TLSv1.2" }), /^refused/);
    });

    test("tls-ciphers and tls-prefer-server-ciphers pick the TLS 1.2 cipher (not applied under Deno, which says so)", async () => {
      const p = await freePort();
      const s = await startServer([
        "--port", "0", "--tls-port", String(p), "--tls-cert-file", f("server.crt"), "--tls-key-file", f("server.key"),
        "--tls-auth-clients", "no", "--tls-ciphers", "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256",
        "--tls-prefer-server-ciphers", "yes",
      ], { noPort: true, waitFor: "with TLS" });
      try {
        // The client prefers AES-128; the server's order wins.
        const c = await TlsRaw.connect(p, { maxVersion: "TLSv1.2", ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305" });
        assert.equal(await c.call("PING"), "+PONG\r\n");
        if (currentRuntime() === "deno") assert.match(s.output(), /not applied under Deno/);
        else assert.equal(c.sock.getCipher().name, "ECDHE-ECDSA-CHACHA20-POLY1305");
        c.close();
      } finally {
        await s.stop();
      }
    });
  });

  describe("TLS startup errors name the file and the problem", () => {
    const run = async (extra: string[]) => {
      const p = await freePort();
      return await startFails(["--port", "0", "--tls-port", String(p), ...extra]);
    };

    test("missing certificate file", async () => {
      const r = await run(["--tls-cert-file", f("nope.crt"), "--tls-key-file", f("server.key"), "--tls-auth-clients", "no"]);
      assert.equal(r.code, 1);
      assert.match(r.out, /aki: TLS: tls-cert-file '.*nope\.crt': cannot read it: no such file/);
    });

    test("no certificate configured", async () => {
      const r = await run(["--tls-key-file", f("server.key")]);
      assert.equal(r.code, 1);
      assert.match(r.out, /tls-cert-file is not set/);
    });

    test("a file that holds no certificate", async () => {
      const r = await run(["--tls-cert-file", f("not-a-cert.pem"), "--tls-key-file", f("server.key"), "--tls-auth-clients", "no"]);
      assert.match(r.out, /tls-cert-file '.*not-a-cert\.pem': no PEM certificate in it/);
    });

    test("a key that does not match the certificate", async () => {
      const r = await run(["--tls-cert-file", f("server.crt"), "--tls-key-file", f("alice.key"), "--tls-auth-clients", "no"]);
      assert.match(r.out, /tls-key-file '.*alice\.key' does not match the certificate in tls-cert-file '.*server\.crt'/);
    });

    test("an encrypted key without, or with a wrong, tls-key-file-pass", async () => {
      const a = await run(["--tls-cert-file", f("server.crt"), "--tls-key-file", f("server-enc.key"), "--tls-auth-clients", "no"]);
      assert.match(a.out, /tls-key-file '.*server-enc\.key': the key is encrypted and tls-key-file-pass is not set/);
      const b = await run([
        "--tls-cert-file",
        f("server.crt"),
        "--tls-key-file",
        f("server-enc.key"),
        "--tls-key-file-pass",
        "wrong",
        "--tls-auth-clients",
        "no",
      ]);
      assert.match(b.out, /tls-key-file '.*server-enc\.key': cannot decrypt the key with tls-key-file-pass/);
    });

    test("tls-auth-clients yes (the default) without a CA", async () => {
      const r = await run(["--tls-cert-file", f("server.crt"), "--tls-key-file", f("server.key")]);
      assert.match(r.out, /tls-auth-clients is yes but neither tls-ca-cert-file nor tls-ca-cert-dir is set/);
    });

    test("a CA file without certificates; bad tls-protocols and tls-ciphers", async () => {
      const a = await run(["--tls-cert-file", f("server.crt"), "--tls-key-file", f("server.key"), "--tls-ca-cert-file", f("not-a-cert.pem")]);
      assert.match(a.out, /tls-ca-cert-file '.*not-a-cert\.pem': no PEM certificate in it/);
      const b = await run(["--tls-protocols", "SSLv3"]);
      assert.match(b.out, /--tls-protocols SSLv3: Invalid tls-protocols specified/);
      const cipherArgs = ["--tls-cert-file", f("server.crt"), "--tls-key-file", f("server.key"), "--tls-auth-clients", "no", "--tls-ciphers", "NOT-A-CIPHER"];
      if (currentRuntime() === "deno") {
        // Deno's TLS (rustls) takes no cipher settings: it starts, and says so.
        const p = await freePort();
        const d = await startServer(["--port", "0", "--tls-port", String(p), ...cipherArgs], { noPort: true, waitFor: "with TLS" });
        assert.match(d.output(), /tls-ciphers, tls-ciphersuites and tls-prefer-server-ciphers are not applied under Deno/);
        await d.stop();
        return;
      }
      const c = await run(cipherArgs);
      assert.match(c.out, /tls-ciphers 'NOT-A-CIPHER': no cipher matches/);
    });
  });

  describe("the native executable serves TLS", { skip: currentRuntime() !== "bun" }, () => {
    test("bun build --compile, then TLS with client certificates", async () => {
      const out = join(dir, "aki-native");
      const b = spawnSync(join(ROOT, "node_modules/.bin/bun"), ["build", join(ROOT, "src/main.ts"), "--compile", "--outfile", out], {
        encoding: "utf8",
        timeout: 180000,
      });
      assert.equal(b.status, 0, b.stderr);
      assert.ok(existsSync(out));
      // Bun's own TLS, then (tls-protocols) the bundled node:tls adapter: both paths are in the binary.
      for (
        const [extra, how] of [[[], /; bun TLS\)/], [
          ["--tls-protocols", "TLSv1.3"],
          /; node:tls, because Bun\.listen has no TLS protocol version options/,
        ]] as const
      ) {
        const tlsPort = await freePort();
        const child = spawn(out, [
          "server",
          "--port",
          "0",
          "--tls-port",
          String(tlsPort),
          "--dbfile",
          ":memory:",
          "--tls-cert-file",
          f("server.crt"),
          "--tls-key-file",
          f("server.key"),
          "--tls-ca-cert-file",
          f("ca.crt"),
          ...extra,
        ], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: "/usr/bin:/bin" } });
        let text = "";
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(text)), 15000);
          const on = (d: Buffer) => {
            text += d;
            if (text.includes("listening on")) {
              clearTimeout(t);
              resolve();
            }
          };
          child.stdout!.on("data", on);
          child.stderr!.on("data", on);
        });
        try {
          assert.match(text, how);
          assert.equal(await tryPing(tlsPort, { cert: pem("alice.crt"), key: pem("alice.key") }), "+PONG\r\n");
          assert.match(await tryPing(tlsPort), /^refused/);
          assert.deepEqual(redisCli(tlsPort, aliceCert(), "SET", "native", "1"), { out: "OK", status: 0 });
        } finally {
          child.kill("SIGTERM");
        }
      }
    });
  });
});
