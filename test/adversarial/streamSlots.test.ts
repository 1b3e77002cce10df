/**
 * Stream-slot exhaustion (issue 11): one attack process on ATTACKER_HOST opens 300 idle `/v1/stream` subscriptions to
 * node 0 and holds them (retrying refused ones). An honest subscriber from 127.0.0.1 must still connect and receive
 * committed blocks, and the commit rate must hold.
 *
 * On the old code (256 subscribers in all, nothing per source) this failed: the attacker held all 256 slots and the
 * honest upgrade was 503 TOO_MANY_SUBSCRIBERS (measured 2026-12-03 against main 5dc6a78; see the commit message).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { subscribeBlocks } from "../../src/rpc/streamClient.js";
import { startNetwork, stopAll, until, waitForHeight } from "../e2e/support/network.js";
import type { NodeProcess, TestNetwork } from "../e2e/support/network.js";
import { assertRateHolds, attackReport, spawnAttack } from "./support.js";

const SUBSCRIBERS = 300;
const BLOCKS = 3;
let net: TestNetwork | undefined;

after(async () => {
  await stopAll(net);
});

/** Subscribes from 127.0.0.1 and resolves with the heights of the first `n` blocks; rejects on refusal or close. */
function honestBlocks(url: string, n: number, timeoutMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const heights: number[] = [];
    const timer = setTimeout(() => {
      sub.close();
      reject(new Error(`honest subscriber got ${heights.length} of ${n} blocks in ${timeoutMs} ms`));
    }, timeoutMs);
    const sub = subscribeBlocks(url, {
      onBlock: (b) => {
        if (heights.length === n) return; // frames still in flight while the close goes out
        heights.push(b.header.height);
        if (heights.length === n) {
          clearTimeout(timer);
          sub.close();
          resolve([...heights]);
        }
      },
      onError: (e) => {
        clearTimeout(timer);
        reject(new Error(`honest subscriber refused: ${e.message}`));
      },
      onClose: (code) => {
        clearTimeout(timer);
        if (heights.length < n) reject(new Error(`honest subscriber closed with ${code} after ${heights.length} blocks`));
      },
    });
  });
}

test("stream-slot exhaustion from one source: an honest subscriber connects and receives blocks", { timeout: 90_000 }, async () => {
  net = await startNetwork(4, { tmpfs: true });
  const nw = net;
  await waitForHeight(nw, 3, 30_000);
  const port = new URL(nw.urls[0]!).port;
  let attacker: NodeProcess | undefined;
  let honest: Promise<number[]> | undefined;
  const rates = await assertRateHolds(nw, [0, 1, 2, 3], 5_000, async () => {
    attacker = spawnAttack("streamSlots", [port, String(SUBSCRIBERS)]);
    const a = attacker;
    await until("every attacking subscription to be answered", async () => ((attackReport<{ answered: number }>(a)?.answered ?? 0) >= SUBSCRIBERS ? true : undefined), 20_000, () => a.output);
    honest = honestBlocks(nw.urls[0]!, BLOCKS, 15_000);
    honest.catch(() => {}); // awaited below; the rate window must not see an unhandled rejection meanwhile
  });
  const a = attackReport<{ open: number; refused: number }>(attacker!);
  const heights = await honest!;
  console.log(`stream slots: commit rate ${rates.baseline.toFixed(1)}/s before, ${rates.attacked.toFixed(1)}/s under attack (${(100 * rates.ratio).toFixed(0)} %); attacker ${JSON.stringify(a)}; honest heights ${heights.join(",")}`);
  assert.equal(heights.length, BLOCKS);
  for (let i = 1; i < heights.length; i++) assert.equal(heights[i], heights[i - 1]! + 1, "consecutive heights");
});
