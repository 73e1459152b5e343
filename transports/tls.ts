/**
 * Native TLS for RESP (tls-port) and the admin API (admin-tls), on every runtime.
 *
 * - {@link loadTls} reads the tls-* directives into a checked {@link TlsConfig}: the certificate
 *   and key files are read and parsed here, the key is decrypted with tls-key-file-pass, the
 *   key must match the certificate, the CA bundle comes from tls-ca-cert-file and/or every PEM
 *   file in tls-ca-cert-dir, and cipher lists must match something. Any problem throws one
 *   Error whose message names the directive, the file and the problem. Warnings (an expired
 *   certificate, settings a runtime's TLS cannot honour) are returned, not thrown.
 * - {@link tlsVerdict} is the rule every adapter applies after a handshake: with
 *   tls-auth-clients yes a verified client certificate is required; with optional one is
 *   asked for and, when sent, must verify; with no none is asked for. The verified
 *   certificate's CN is passed on (Peer.tls.peerCN) for `tls-auth-clients-user CN`.
 * - {@link TlsService} opens the TLS listeners with the runtime's own TLS, or with the node:tls
 *   adapter when the runtime's cannot honour the configuration (Transport.tlsUnsupported, e.g.
 *   client certificates under Deno), and re-opens them when CONFIG SET changes a tls-*
 *   directive: existing connections keep their session, new ones get the new settings. A
 *   CONFIG SET whose new settings do not load fails with Redis's "Unable to update TLS
 *   configuration. Check server logs." and the reason goes to the log.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { X509Certificate, createPrivateKey } from "node:crypto";
import nodeTls from "node:tls";
import { join } from "node:path";
import type { Config } from "../src/config.ts";
import type { Server } from "../src/server.ts";
import type { FetchHandler, HttpLimits, Listener, TlsConfig, TlsVersion, Transport } from "./types.ts";

const VERSIONS: TlsVersion[] = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

/** Directives whose change (CONFIG SET) rebuilds the TLS settings. */
export const TLS_DIRECTIVES = new Set([
  "tls-cert-file",
  "tls-key-file",
  "tls-key-file-pass",
  "tls-ca-cert-file",
  "tls-ca-cert-dir",
  "tls-auth-clients",
  "tls-protocols",
  "tls-ciphers",
  "tls-ciphersuites",
  "tls-prefer-server-ciphers",
]);

function fsProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "is a directory";
  if (code === "ENOTDIR") return "not a directory";
  return (e as Error).message;
}

function readText(directive: string, path: string): string {
  try {
    return readFileSync(path, "latin1");
  } catch (e) {
    throw new Error(`${directive} '${path}': cannot read it: ${fsProblem(e)}`);
  }
}

const CERT_BLOCK = /-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----[\s\S]*?-----END (?:X509 |TRUSTED )?CERTIFICATE-----/g;

/** Every PEM certificate in text, each checked to parse. */
function certificates(directive: string, path: string, text: string): string[] {
  const blocks = text.match(CERT_BLOCK) ?? [];
  if (blocks.length === 0) throw new Error(`${directive} '${path}': no PEM certificate in it`);
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch {
      throw new Error(`${directive} '${path}': not a valid certificate`);
    }
  }
  return blocks;
}

function checkCipherList(directive: string, list: string, tls13: boolean): void {
  if (list === "") return;
  const names = list.split(":").filter(Boolean);
  if (tls13 && names.some((n) => !n.startsWith("TLS_"))) {
    throw new Error(`${directive} '${list}': TLS 1.3 cipher suites are named TLS_* (e.g. TLS_AES_256_GCM_SHA384)`);
  }
  try {
    // node:tls and Bun check the names (OpenSSL / BoringSSL); Deno's node:tls accepts anything,
    // and Deno applies no cipher settings at all (a startup warning says so).
    nodeTls.createSecureContext({ ciphers: list });
  } catch {
    throw new Error(`${directive} '${list}': no cipher ${tls13 ? "suite " : ""}matches`);
  }
}

function defaultSuites(): string {
  const own = (nodeTls.DEFAULT_CIPHERS ?? "").split(":").filter((c) => c.startsWith("TLS_"));
  return (own.length ? own : ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256"]).join(":");
}

function defaultTls12Ciphers(): string {
  return (nodeTls.DEFAULT_CIPHERS ?? "").split(":").filter((c) => c !== "" && !c.startsWith("TLS_")).join(":");
}

/**
 * The `ciphers` option for node:tls and Bun: both lists in one string, each falling back to the
 * runtime's default when unset, so setting one never disables the other protocol's suites.
 */
export function nodeCipherString(tls: TlsConfig): string | undefined {
  if (tls.ciphers === "" && tls.ciphersuites === "") return undefined;
  const suites = tls.ciphersuites || defaultSuites();
  const list = tls.ciphers || defaultTls12Ciphers();
  return [suites, list].filter(Boolean).join(":");
}

/** tls-protocols: "TLSv1.2 TLSv1.3" (case-insensitive); "" = TLSv1.2 and TLSv1.3. */
export function protocolRange(raw: string): { min: TlsVersion; max: TlsVersion; set: boolean } {
  const words = raw.split(/\s+/).filter(Boolean);
  if (words.length === 0) return { min: "TLSv1.2", max: "TLSv1.3", set: false };
  const idx = words.map((w) => VERSIONS.findIndex((v) => v.toLowerCase() === w.toLowerCase()));
  if (idx.some((i) => i < 0)) throw new Error("Invalid tls-protocols specified");
  const min = VERSIONS[Math.min(...idx)];
  const max = VERSIONS[Math.max(...idx)];
  return { min, max, set: !(min === "TLSv1.2" && max === "TLSv1.3") };
}

/** Build the TLS settings from the directives. Throws Error(message naming directive, file, problem). */
export function loadTls(config: Config): { tls: TlsConfig; warnings: string[] } {
  const warnings: string[] = [];
  const certFile = config.str("tls-cert-file");
  const keyFile = config.str("tls-key-file");
  if (certFile === "") throw new Error("tls-cert-file is not set (TLS needs a certificate and its private key)");
  if (keyFile === "") throw new Error("tls-key-file is not set (TLS needs a certificate and its private key)");

  const certText = readText("tls-cert-file", certFile);
  const chain = certificates("tls-cert-file", certFile, certText);
  const leaf = new X509Certificate(chain[0]);
  const now = Date.now();
  if (Date.parse(leaf.validTo) < now) warnings.push(`tls-cert-file '${certFile}': the certificate expired on ${leaf.validTo}`);
  else if (Date.parse(leaf.validFrom) > now) warnings.push(`tls-cert-file '${certFile}': the certificate is not valid before ${leaf.validFrom}`);

  const keyText = readText("tls-key-file", keyFile);
  const keyBlock = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/.exec(keyText);
  if (!keyBlock) throw new Error(`tls-key-file '${keyFile}': no PEM private key in it`);
  const encrypted = keyBlock[1] === "ENCRYPTED " || /Proc-Type:\s*4,ENCRYPTED/.test(keyBlock[0]);
  const pass = config.str("tls-key-file-pass");
  if (encrypted && pass === "") throw new Error(`tls-key-file '${keyFile}': the key is encrypted and tls-key-file-pass is not set`);
  let keyObj;
  try {
    keyObj = createPrivateKey({ key: keyBlock[0], format: "pem", passphrase: encrypted ? pass : undefined });
  } catch {
    throw new Error(encrypted ? `tls-key-file '${keyFile}': cannot decrypt the key with tls-key-file-pass` : `tls-key-file '${keyFile}': not a valid private key`);
  }
  if (!leaf.checkPrivateKey(keyObj)) {
    throw new Error(`tls-key-file '${keyFile}' does not match the certificate in tls-cert-file '${certFile}'`);
  }
  const key = keyObj.export({ type: "pkcs8", format: "pem" }) as string;

  const ca: string[] = [];
  const caFile = config.str("tls-ca-cert-file");
  if (caFile !== "") ca.push(...certificates("tls-ca-cert-file", caFile, readText("tls-ca-cert-file", caFile)));
  const caDir = config.str("tls-ca-cert-dir");
  if (caDir !== "") {
    let names: string[];
    try {
      if (!statSync(caDir).isDirectory()) throw Object.assign(new Error(), { code: "ENOTDIR" });
      names = readdirSync(caDir).sort();
    } catch (e) {
      throw new Error(`tls-ca-cert-dir '${caDir}': cannot read it: ${fsProblem(e)}`);
    }
    const seen = new Set(ca);
    let found = 0;
    for (const n of names) {
      const p = join(caDir, n);
      let text: string;
      try {
        if (!statSync(p).isFile()) continue;
        text = readFileSync(p, "latin1");
      } catch {
        continue;
      }
      if (!/-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----/.test(text)) continue;
      for (const b of certificates("tls-ca-cert-dir", p, text)) {
        found++;
        if (!seen.has(b)) ca.push(b);
        seen.add(b);
      }
    }
    if (found === 0) throw new Error(`tls-ca-cert-dir '${caDir}': no PEM certificate in it`);
  }

  const authClients = config.str("tls-auth-clients") as TlsConfig["authClients"];
  if (authClients !== "no" && ca.length === 0) {
    throw new Error(`tls-auth-clients is ${authClients} but neither tls-ca-cert-file nor tls-ca-cert-dir is set: client certificates cannot be verified (set one, or tls-auth-clients no)`);
  }

  const range = protocolRange(config.str("tls-protocols"));
  const ciphers = config.str("tls-ciphers");
  const ciphersuites = config.str("tls-ciphersuites");
  checkCipherList("tls-ciphers", ciphers, false);
  checkCipherList("tls-ciphersuites", ciphersuites, true);

  return {
    tls: {
      cert: chain.join("\n") + "\n",
      key,
      ca: ca.length ? ca.join("\n") + "\n" : "",
      authClients,
      minVersion: range.min,
      maxVersion: range.max,
      protocolsSet: range.set,
      ciphers,
      ciphersuites,
      preferServerCiphers: config.bool("tls-prefer-server-ciphers"),
    },
    warnings,
  };
}

/** What the handshake produced, as each adapter reads it from its runtime. */
export interface HandshakeResult {
  /** The client sent a certificate. */
  certPresent: boolean;
  /** It verified against the CA bundle. */
  authorized: boolean;
  /** Its subject CN (first one), if any. */
  cn: string | null;
}

/** Apply tls-auth-clients: the peer's TLS info for the Peer, or why the connection is refused. */
export function tlsVerdict(tls: TlsConfig, h: HandshakeResult): { peerCN: string | null } | { refuse: string } {
  if (tls.authClients === "no") return { peerCN: null };
  if (!h.certPresent) {
    return tls.authClients === "yes" ? { refuse: "the client sent no certificate (tls-auth-clients yes)" } : { peerCN: null };
  }
  if (!h.authorized) return { refuse: "the client certificate did not verify against the configured CA" };
  return { peerCN: h.cn };
}

/** The first CN of a node:tls-style peer certificate subject. */
export function subjectCN(subject: unknown): string | null {
  if (!subject || typeof subject !== "object") return null;
  const cn = (subject as Record<string, unknown>).CN;
  if (typeof cn === "string") return cn;
  if (Array.isArray(cn) && typeof cn[0] === "string") return cn[0];
  return null;
}

interface Slot {
  current: Listener;
  open(): Promise<Listener>;
}

/**
 * The TLS listeners of one server: opens them with the right adapter and swaps them when the
 * TLS settings change (CONFIG SET). The listeners it returns stay valid across swaps.
 */
export class TlsService {
  tls: TlsConfig;
  private readonly slots: Slot[] = [];
  private swapping: Promise<void> = Promise.resolve();

  constructor(
    private readonly server: Server,
    private readonly transport: Transport,
    private readonly nodeTransport: () => Promise<Transport>,
  ) {
    const { tls, warnings } = loadTls(server.config);
    this.tls = tls;
    this.warn(warnings);
    server.config.appliers.push((names) => this.configChanged(names));
  }

  private warn(warnings: string[]): void {
    for (const w of warnings) this.server.log("warning", w);
    for (const w of runtimeLimits(this.server.runtime, this.tls)) this.server.log("warning", w);
  }

  /** Which adapter serves RESP over TLS with the current settings, and why (for the log line). */
  async adapter(): Promise<{ t: Transport; how: string }> {
    const why = this.transport.tlsUnsupported(this.tls);
    if (why === null) return { t: this.transport, how: `${this.transport.name} TLS` };
    return { t: await this.nodeTransport(), how: `node:tls, because ${why}` };
  }

  /** Open one RESP listener over TLS. Resolves with a listener that survives reconfiguration, and how it is served. */
  async listen(host: string, port: number): Promise<{ listener: Listener; how: string }> {
    const { how } = await this.adapter();
    const open = async () => {
      const { t } = await this.adapter();
      return await t.listenTls(this.server, host, port, this.tls);
    };
    return { listener: this.track(await open(), open), how };
  }

  /** Serve the admin app over HTTPS with the same certificate. */
  async serveHttp(fetch: FetchHandler, host: string, port: number, limits?: HttpLimits): Promise<Listener> {
    const open = () => this.transport.serveHttp(fetch, host, port, this.tls, limits);
    return this.track(await open(), open);
  }

  private track(first: Listener, open: () => Promise<Listener>): Listener {
    const slot: Slot = { current: first, open };
    this.slots.push(slot);
    return {
      address: first.address,
      port: first.port,
      close: async () => {
        const i = this.slots.indexOf(slot);
        if (i >= 0) this.slots.splice(i, 1);
        await this.swapping;
        await slot.current.close();
      },
    };
  }

  private configChanged(names: string[]): void {
    if (!names.some((n) => TLS_DIRECTIVES.has(n))) return;
    let loaded;
    try {
      loaded = loadTls(this.server.config);
    } catch (e) {
      this.server.log("warning", `Failed applying the new TLS configuration: ${(e as Error).message}`);
      throw new Error("Unable to update TLS configuration. Check server logs.");
    }
    this.tls = loaded.tls;
    this.warn(loaded.warnings);
    const slots = [...this.slots];
    this.swapping = this.swapping.then(async () => {
      for (const s of slots) await this.reopen(s);
    });
  }

  /** Stop accepting on the old listener and bind the same address again with the new settings. */
  private async reopen(slot: Slot): Promise<void> {
    const old = slot.current;
    void old.close().catch(() => {});
    let lastError: unknown = null;
    for (let attempt = 0; attempt < 40; attempt++) {
      try {
        slot.current = await slot.open();
        this.server.log("notice", `TLS configuration applied to ${slot.current.address}`);
        return;
      } catch (e) {
        lastError = e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    this.server.log("warning", `Could not reopen the TLS listener on ${old.address}: ${(lastError as Error)?.message}`);
  }
}

/** Settings a runtime's TLS (native or its node:tls) cannot apply: each becomes a startup warning. */
export function runtimeLimits(runtime: string, tls: TlsConfig): string[] {
  const out: string[] = [];
  if (runtime === "deno") {
    if (tls.ciphers || tls.ciphersuites || tls.preferServerCiphers) {
      out.push("tls-ciphers, tls-ciphersuites and tls-prefer-server-ciphers are not applied under Deno (its TLS, rustls, uses its own fixed cipher list)");
    }
  } else if (runtime === "bun") {
    if (tls.ciphersuites) out.push("tls-ciphersuites is not applied under Bun (BoringSSL's TLS 1.3 cipher suites are fixed)");
  }
  return out;
}
