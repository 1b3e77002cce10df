/**
 * A real headless browser for tests of the node's dashboard (`GET /`): Debian's chromium-headless-shell, installed by
 * scripts/ensure-chromium.sh when missing (apt-get; CI runs as root), driven with playwright-core over CDP. The
 * browser is a child process of this one: `close()` ends it, and callers call it from `finally`.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import type { Browser, CDPSession, Page } from "playwright-core";

const ENSURE = fileURLToPath(new URL("../../../../scripts/ensure-chromium.sh", import.meta.url));

/**
 * The path of a headless Chromium binary, installing Debian's package first if none is there. Asynchronous, so nodes
 * started alongside keep being polled while apt-get runs (a first install takes a minute or two).
 */
export async function ensureChromium(): Promise<string> {
  let out: { stdout: string; stderr: string };
  try {
    out = await promisify(execFile)("bash", [ENSURE], { encoding: "utf8", timeout: 600_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (e) {
    const err = e as { code?: unknown; stderr?: string };
    throw new Error(`scripts/ensure-chromium.sh failed (${String(err.code)}):\n${(err.stderr ?? "").slice(-2000)}`);
  }
  const path = out.stdout.trim().split("\n").at(-1) ?? "";
  if (path === "") throw new Error("scripts/ensure-chromium.sh printed no path");
  return path;
}

export interface DashboardBrowser {
  readonly browser: Browser;
  readonly page: Page;
  /** A DevTools session on the page (heap usage, forced GC). */
  readonly cdp: CDPSession;
  /** Uncaught exceptions of the page's scripts so far. */
  readonly pageErrors: string[];
  /** Console errors so far: CSP violations land here, and so do failed loads (a 404, a refused connection). */
  readonly consoleErrors: string[];
  close(): Promise<void>;
}

/** Launches the browser and opens one page (not yet navigated), 1280x900. */
export async function openBrowser(): Promise<DashboardBrowser> {
  const executablePath = await ensureChromium();
  // --no-sandbox only as root (CI), where Chromium's sandbox refuses to start; anyone else keeps the sandbox.
  const sandbox = process.getuid?.() === 0 ? ["--no-sandbox"] : [];
  const browser = await chromium.launch({ executablePath, args: [...sandbox, "--disable-gpu", "--enable-precise-memory-info"], timeout: 30_000 });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    const consoleErrors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    const cdp = await context.newCDPSession(page);
    return { browser, page, cdp, pageErrors, consoleErrors, close: () => browser.close() };
  } catch (e) {
    await browser.close();
    throw e;
  }
}

/** JS heap in use after a forced garbage collection, in bytes. */
export async function heapAfterGc(cdp: CDPSession): Promise<number> {
  await cdp.send("HeapProfiler.collectGarbage");
  const u = await cdp.send("Runtime.getHeapUsage");
  return u.usedSize;
}

/**
 * Milliseconds from navigation start to the page's first live height (the `quire:first-height` mark dashboard.js
 * sets), or null before it.
 */
export async function firstHeightMs(page: Page): Promise<number | null> {
  return page.evaluate(() => {
    const m = performance.getEntriesByName("quire:first-height", "mark")[0];
    return m === undefined ? null : m.startTime;
  });
}
