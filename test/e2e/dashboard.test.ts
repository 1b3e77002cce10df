/**
 * The node's dashboard (`GET /`, src/rpc/dashboard/) in a real headless Chromium against four real validator
 * processes under a small load: the page shows a committed height that then increases (live frames from
 * /v1/stream), and its signer grid shows, for a height it lists, exactly the validators in that block's QC as the
 * node's `/v1/blocks/:h` reports them, decoded here from the `signers` bitmap with the crypto layer's codec (not
 * from the `signerIndices` the page reads). When node 0 is killed the page shows the stream as reconnecting, and once
 * the node is back it is live again and its height moves on. No script error and no CSP violation. A screenshot is left in a temp
 * folder (path in the test's diagnostics). Browser, load and nodes are stopped in `finally`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeBitmapIndices } from "../../src/crypto/bitmap/index.js";
import { fromHex } from "../../src/util/bytes.js";
import { openBrowser, firstHeightMs } from "./support/browser.js";
import type { DashboardBrowser } from "./support/browser.js";
import { startTxLoad } from "./support/load.js";
import type { TxLoad } from "./support/load.js";
import { killNode, logs, startNetwork, startNode, stopAll, until, waitForHeight } from "./support/network.js";
import type { TestNetwork } from "./support/network.js";

const N = 4;

interface GridRow {
  height: number;
  cells: number;
  on: number[];
}

/** The signer grid as the page shows it: each filled row's height, its cell count and its filled cells' validators. */
const READ_GRID = `Array.from(document.querySelectorAll("#signers-body tr[data-height]")).map((tr) => ({
  height: Number(tr.dataset.height),
  cells: tr.querySelectorAll("td").length,
  on: Array.from(tr.querySelectorAll("td.on")).map((td) => Number(td.dataset.validator)),
}))`;

function shownHeight(text: string | null): number | undefined {
  const n = Number((text ?? "").replace(/,/g, ""));
  return text !== null && /\d/.test(text) && Number.isSafeInteger(n) ? n : undefined;
}

test("dashboard: live height, QC signer grid matching /v1/blocks/:h, stream reconnect, no script or CSP error (real browser, 4 nodes)", async (t) => {
  let net: TestNetwork | undefined;
  let load: TxLoad | undefined;
  let b: DashboardBrowser | undefined;
  const t0 = Date.now();
  const stage = (what: string) => t.diagnostic(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
  try {
    // The browser is launched (and installed if missing) while the nodes start.
    // allSettled: when one side fails, the other is still kept and stopped in `finally` (no leaked nodes or browser).
    const [n, browser] = await Promise.allSettled([startNetwork(N, { tmpfs: true }), openBrowser()]);
    if (n.status === "fulfilled") net = n.value;
    if (browser.status === "fulfilled") b = browser.value;
    if (n.status === "rejected") throw n.reason;
    if (browser.status === "rejected") throw browser.reason;
    if (net === undefined || b === undefined) throw new Error("unreachable");
    await waitForHeight(net, 2, 30_000);
    stage("network at height 2, browser up");
    let nodeZeroDown = false;
    load = startTxLoad(net, { targets: () => (nodeZeroDown ? [1, 2, 3] : [0, 1, 2, 3]), intervalMs: 100, batch: 5 });
    const page = b.page;
    const base = net.urls[0]!;
    await page.goto(`${base}/`, { waitUntil: "load", timeout: 15_000 });

    const diag = () => `${[...(b?.pageErrors ?? []), ...(b?.consoleErrors ?? [])].join("\n")}\n${net === undefined ? "" : logs(net)}`;
    const first = await until("a height on the page", async () => shownHeight(await page.textContent("#height")), 10_000, diag);
    const later = await until("the page's height to increase", async () => {
      const h = shownHeight(await page.textContent("#height"));
      return h !== undefined && h > first ? h : undefined;
    }, 15_000, diag);
    assert.ok(later > first);
    stage("height increased on the page");
    const paintMs = await firstHeightMs(page);
    assert.ok(paintMs !== null && paintMs > 0, "the page marks its first live height");
    t.diagnostic(`first live height ${first} at ${paintMs.toFixed(0)} ms after navigation start; later ${later}`);

    // The grid: rows by height, newest first, N cells each; a row's filled cells are exactly its QC's signers.
    const grid = await until("five rows in the signer grid", async () => {
      const rows = (await page.evaluate(READ_GRID)) as GridRow[];
      return rows.length >= 5 ? rows : undefined;
    }, 10_000, diag);
    for (let i = 1; i < grid.length; i++) assert.ok(grid[i]!.height < grid[i - 1]!.height, "rows are in descending height order");
    for (const row of grid) assert.equal(row.cells, N, `row ${row.height} has one cell per validator`);
    for (const row of grid.slice(0, 3)) {
      const r = await fetch(`${base}/v1/blocks/${row.height}`);
      assert.equal(r.status, 200);
      const doc = (await r.json()) as { qc: { signers: string } | null };
      assert.ok(doc.qc !== null);
      const signers = Array.from(decodeBitmapIndices(fromHex(doc.qc.signers), { maxBits: N }));
      assert.ok(signers.length >= 3, "a quorum of 4 is at least 3 signers");
      assert.deepEqual(row.on, signers, `grid row ${row.height} shows the QC's signers`);
    }

    // Tiles fed by /v1/status, and health from /v1/health (polled every 5 s): "ok" on a healthy network.
    assert.equal(await page.textContent("#node"), "0");
    assert.match((await page.textContent("#peers")) ?? "", /^\d+$/);
    assert.match((await page.textContent("#mempool")) ?? "", /^[\d,]+$/);
    await until("node 0 healthy", async () => ((await fetch(`${base}/v1/health`)).status === 200 ? true : undefined), 15_000, diag);
    await until("the health tile to say ok", async () => ((await page.textContent("#health")) === "ok" ? true : undefined), 15_000, diag);
    await until("the stream to be live", async () => ((await page.getAttribute("#conn", "data-state")) === "live" ? true : undefined), 10_000, diag);

    stage("grid and tiles checked");
    // The stream lost and back: node 0 killed, the page says so and keeps retrying; restarted, it is live again and
    // its height moves on past what it showed before.
    const beforeKill = shownHeight(await page.textContent("#height"))!;
    nodeZeroDown = true;
    await killNode(net, 0);
    await until("the page to notice the lost stream", async () => ((await page.getAttribute("#conn", "data-state")) === "reconnecting" ? true : undefined), 10_000, diag);
    stage("page shows the stream lost");
    await startNode(net, 0);
    nodeZeroDown = false;
    stage("node 0 restarted");
    await until("the page to reconnect", async () => ((await page.getAttribute("#conn", "data-state")) === "live" ? true : undefined), 30_000, diag);
    await until("the height to move on after the reconnect", async () => {
      const h = shownHeight(await page.textContent("#height"));
      return h !== undefined && h > beforeKill ? h : undefined;
    }, 20_000, diag);

    stage("page live again, height moving");
    const dir = await mkdtemp(join(tmpdir(), "quire-dashboard-"));
    const shot = join(dir, "dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);

    // Failed loads (the 404 of an absent /v1/health, the refused reconnects) are console errors too; they are expected.
    assert.deepEqual(b.pageErrors, [], "no uncaught script error");
    assert.deepEqual(b.consoleErrors.filter((e) => /Content.Security.Policy/i.test(e)), [], "no Content-Security-Policy violation");
  } finally {
    await b?.close();
    await load?.stop();
    await stopAll(net);
  }
});
