#!/usr/bin/env node
// Soak of the node dashboard (GET /, src/rpc/dashboard/): does the page hold steady memory over long live updates?
// Starts a real 4-validator network on 127.0.0.1 with a small load (5 KV puts every 100 ms, round robin), opens the
// page of node 0 in headless Chromium (scripts/ensure-chromium.sh installs it when missing), measures the first paint
// with live data (navigation start to the height element's first number, the page's `quire:first-height` mark) over
// `--paint-runs` fresh loads, and samples the page's JS
// heap after a forced GC (CDP HeapProfiler.collectGarbage, then Runtime.getHeapUsage) and its DOM counters
// (Memory.getDOMCounters) after a warm-up, once a minute, and at the end. Prints before/after; exits 1 if the page
// stopped updating. Everything it started is stopped on exit (also on Ctrl-C).
//
//   node scripts/build.mjs && nice node scripts/dashboard-soak.mjs --minutes 10 [--screenshot docs/dashboard.png]
//
// It uses the compiled e2e helpers (dist/test/e2e/support/), so build first.
import { parseArgs } from "node:util";
import { existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const support = join(root, "dist/test/e2e/support");
if (!existsSync(join(support, "browser.js"))) {
  process.stderr.write("dashboard-soak: dist/test/e2e/support/browser.js missing: run `node scripts/build.mjs` first\n");
  process.exit(2);
}
const { startNetwork, stopAll, waitForHeight, until } = await import(pathToFileURL(join(support, "network.js")).href);
const { startTxLoad } = await import(pathToFileURL(join(support, "load.js")).href);
const { openBrowser, heapAfterGc, firstHeightMs } = await import(pathToFileURL(join(support, "browser.js")).href);

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    warmup: { type: "string", default: "30" },
    "paint-runs": { type: "string", default: "5" },
    screenshot: { type: "string" },
  },
});
const minutes = Number(values.minutes);
const warmupSec = Number(values.warmup);
const paintRuns = Number(values["paint-runs"]);
if (!(minutes > 0) || !(warmupSec >= 0) || !Number.isInteger(paintRuns) || paintRuns < 1) {
  process.stderr.write("usage: dashboard-soak.mjs [--minutes M] [--warmup SECONDS] [--paint-runs N] [--screenshot FILE.png]\n");
  process.exit(2);
}

const log = (s) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
const kib = (b) => `${(b / 1024).toFixed(0)} KiB`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let net;
let load;
let b;
let stopping = false;
async function cleanup() {
  if (stopping) return;
  stopping = true;
  await b?.close().catch(() => {});
  await load?.stop().catch(() => {});
  await stopAll(net);
}
process.once("SIGINT", () => {
  log("interrupted: stopping");
  void cleanup().then(() => process.exit(130));
});

let code = 0;
try {
  // allSettled: whichever side started is kept for cleanup() even when the other failed.
  const [n, br] = await Promise.allSettled([startNetwork(4, { tmpfs: true }), openBrowser()]);
  if (n.status === "fulfilled") net = n.value;
  if (br.status === "fulfilled") b = br.value;
  if (n.status === "rejected") throw n.reason;
  if (br.status === "rejected") throw br.reason;
  await waitForHeight(net, 2, 30_000);
  load = startTxLoad(net, { targets: () => [0, 1, 2, 3], intervalMs: 100, batch: 5 });
  const page = b.page;
  const shown = async () => Number(((await page.textContent("#height")) ?? "").replace(/,/g, ""));
  // Each load is a fresh navigation (the page's own files revalidate with their ETag, as a browser reload would).
  const paints = [];
  for (let i = 0; i < Math.max(1, paintRuns); i++) {
    await page.goto(`${net.urls[0]}/`, { waitUntil: "load" });
    await until("a height on the page", async () => ((await shown()) > 0 ? true : undefined), 10_000);
    paints.push(await firstHeightMs(page));
  }
  const sorted = [...paints].sort((x, y) => x - y);
  log(`page ${net.urls[0]}/ : first live height ${paints.map((p) => p.toFixed(0)).join(", ")} ms after navigation start (median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms over ${paints.length} loads)`);
  log(`warm-up ${warmupSec} s`);
  await sleep(warmupSec * 1000);

  const sample = async () => {
    const heap = await heapAfterGc(b.cdp);
    const dom = await b.cdp.send("Memory.getDOMCounters");
    return { heap, nodes: dom.nodes, listeners: dom.jsEventListeners, height: await shown() };
  };
  const first = await sample();
  log(`start: heap ${kib(first.heap)} after GC, ${first.nodes} DOM nodes, ${first.listeners} listeners, height ${first.height}`);
  const samples = [first];
  for (let m = 1; m <= minutes; m++) {
    await sleep(60_000);
    const s = await sample();
    samples.push(s);
    log(`minute ${m}: heap ${kib(s.heap)}, ${s.nodes} DOM nodes, ${s.listeners} listeners, height ${s.height}, tx/s tile ${await page.textContent("#tps")}`);
  }
  const last = samples.at(-1);
  const heaps = samples.map((s) => s.heap);
  log(`RESULT over ${minutes} min (${last.height - first.height} blocks shown): heap ${kib(first.heap)} -> ${kib(last.heap)} (${last.heap >= first.heap ? "+" : ""}${kib(last.heap - first.heap)}; min ${kib(Math.min(...heaps))}, max ${kib(Math.max(...heaps))}); DOM nodes ${first.nodes} -> ${last.nodes}; listeners ${first.listeners} -> ${last.listeners}`);
  if (!(last.height > first.height)) {
    log("FAIL: the page's height did not increase");
    code = 1;
  }
  if (values.screenshot !== undefined) {
    await page.screenshot({ path: values.screenshot, fullPage: false });
    log(`screenshot: ${values.screenshot}`);
  }
  const bad = [...b.pageErrors, ...b.consoleErrors.filter((e) => /Content.Security.Policy/i.test(e))];
  if (bad.length > 0) {
    log(`FAIL: page errors: ${bad.slice(0, 5).join(" | ")}`);
    code = 1;
  }
} catch (e) {
  process.stderr.write(`dashboard-soak: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);
