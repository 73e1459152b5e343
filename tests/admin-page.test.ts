/**
 * The admin page (GET /) in a real browser: Debian's chromium, started headless by the test with
 * a new empty profile and driven over CDP by playwright-core. Signs in with an ACL user, creates
 * a user through the edit form, checks it appears in the list (and over RESP), dry-runs a
 * command, sees the ACL LOG, and saves a screenshot to dist/artifacts/ (git-ignored).
 * Skips itself, saying why, only when /usr/bin/chromium is missing (CI installs it).
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, freePort, RawClient, currentRuntime, ROOT, OK, type AkiServer } from "./harness.ts";

const CHROMIUM = "/usr/bin/chromium";
const PASSWORD = "page-admin-pw";
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium)`;

/** Start chromium with the agreed flags and a fresh profile; resolves with its DevTools WebSocket URL. */
function startChromium(profile: string): Promise<{ proc: ChildProcess; ws: string }> {
  const args = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    `--user-data-dir=${profile}`,
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1280,900",
    "about:blank",
  ];
  // Its own process group, so the browser's helper processes (zygote, renderers) can be
  // stopped together: left behind, they hold the stderr pipe and keep the test runner alive.
  const proc = spawn(CHROMIUM, args, { stdio: ["ignore", "ignore", "pipe"], detached: true });
  return new Promise((resolve, reject) => {
    let err = "";
    const timer = setTimeout(() => reject(new Error(`chromium did not start in 30s:\n${err}`)), 30000);
    proc.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, ws: m[1] });
      }
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`chromium exited with ${code}:\n${err}`));
    });
  });
}

describe("admin page in headless Chromium", { skip }, () => {
  let srv: AkiServer;
  let base: string;
  let chrome: { proc: ChildProcess; ws: string } | null = null;
  let profile = "";
  // deno-lint-ignore no-explicit-any
  let browser: any = null;

  before(async () => {
    const adminPort = await freePort();
    srv = await startServer(["--admin-port", String(adminPort), "--requirepass", PASSWORD], { waitFor: "admin API listening on" });
    base = `http://127.0.0.1:${adminPort}`;
    profile = mkdtempSync(join(tmpdir(), "aki-chromium-"));
    chrome = await startChromium(profile);
    const { chromium } = await import("playwright-core");
    browser = await chromium.connectOverCDP(chrome.ws);
  });

  after(async () => {
    try {
      await browser?.close();
    } catch { /* already gone */ }
    if (chrome) {
      const pid = chrome.proc.pid!;
      const group = (sig: string) => {
        try {
          process.kill(-pid, sig);
        } catch { /* the group is gone */ }
      };
      const gone = chrome.proc.exitCode === null ? new Promise((r) => chrome!.proc.once("exit", r)) : Promise.resolve();
      group("SIGTERM");
      const t = setTimeout(() => group("SIGKILL"), 5000);
      await gone;
      clearTimeout(t);
      group("SIGKILL"); // helpers that outlived the browser process
      chrome.proc.stderr?.destroy();
    }
    await srv?.stop();
    // A helper process may still be flushing into the profile for a moment: retry, and never
    // fail the suite over a temporary directory.
    if (profile) {
      try {
        rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
      } catch { /* left in the temp dir */ }
    }
  });

  test("sign in, create a user, see it listed, dry-run, ACL LOG, screenshot", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (m: { type(): string; text(): string }) => {
      if (m.type() === "error") problems.push(m.text());
    });
    page.on("pageerror", (e: Error) => problems.push(String(e)));
    page.on("dialog", (d: { accept(): Promise<void> }) => d.accept());

    await page.goto(base + "/");
    assert.equal(await page.title(), "aki admin");

    // A wrong password is refused on the page.
    await page.fill("#login-user", "default");
    await page.fill("#login-pass", "wrong");
    await page.click("#login-btn");
    await page.waitForFunction(() => document.getElementById("login-msg")!.textContent !== "");
    assert.match(await page.textContent("#login-msg"), /Wrong username or password/);

    // Sign in.
    await page.fill("#login-pass", PASSWORD);
    await page.click("#login-btn");
    await page.waitForSelector('#users-body tr[data-user="default"]');
    assert.match(await page.textContent("#who"), /Signed in as default/);

    // Create a user through the edit form.
    await page.fill("#edit-name", "webuser");
    await page.fill("#edit-rules", 'on >web-pw ~web:* "+@read" +set');
    await page.click("#edit-save");
    await page.waitForSelector('#users-body tr[data-user="webuser"]');
    const rules = await page.textContent('#users-body tr[data-user="webuser"] td.rules');
    assert.match(rules, /^on sanitize-payload #[0-9a-f]{64} ~web:\* resetchannels -@all \+@read \+set$/);
    assert.match(await page.textContent("#edit-msg"), /Saved webuser/);

    // The user is real for RESP at once.
    const c = await RawClient.connect(srv.port);
    try {
      assert.equal(await c.call("AUTH", "webuser", "web-pw"), OK);
      assert.equal(await c.call("SET", "web:1", "x"), OK);
      assert.match(await c.call("DEL", "web:1"), /^-NOPERM/);
    } finally {
      c.close();
    }

    // Edit: the Edit button fills the form with "reset" + the current rules.
    await page.click('#users-body tr[data-user="webuser"] button:has-text("Edit")');
    assert.match(await page.inputValue("#edit-rules"), /^reset on sanitize-payload #[0-9a-f]{64} ~web:\*/);
    await page.fill("#edit-rules", (await page.inputValue("#edit-rules")) + " -set");
    await page.click("#edit-save");
    await page.waitForFunction(() =>
      /-set$/.test(document.querySelector('#users-body tr[data-user="webuser"] td.rules')?.textContent ?? ""));

    // A bad rule shows Redis's error.
    await page.fill("#edit-rules", "bogus");
    await page.click("#edit-save");
    await page.waitForFunction(() => /Syntax error/.test(document.getElementById("edit-msg")!.textContent ?? ""));

    // Dry run.
    await page.fill("#dry-user", "webuser");
    await page.fill("#dry-cmd", "SET web:1 x");
    await page.click("#dry-run");
    await page.waitForFunction(() => /Denied/.test(document.getElementById("dry-msg")!.textContent ?? ""));
    assert.equal(await page.textContent("#dry-msg"), "Denied: User webuser has no permissions to run the 'set' command");
    await page.fill("#dry-cmd", "GET web:1");
    await page.click("#dry-run");
    await page.waitForFunction(() => /Allowed/.test(document.getElementById("dry-msg")!.textContent ?? ""));

    // ACL LOG shows the denial from RESP and the failed sign-in.
    await page.click("#log-refresh");
    await page.waitForFunction(() => (document.getElementById("log-body")!.textContent ?? "").includes("webuser"));
    const log = await page.textContent("#log-body");
    assert.match(log, /command/);
    assert.match(log, /auth/);

    mkdirSync(join(ROOT, "dist/artifacts"), { recursive: true });
    const shot = join(ROOT, "dist/artifacts", `admin-page-${currentRuntime()}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(existsSync(shot));
    // The CSP let the page's own script and style run and nothing else was needed.
    assert.deepEqual(problems.filter((p) => !/status of 40[01]/.test(p)), []);
    await context.close();
  });
});
