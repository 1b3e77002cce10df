/**
 * Proof-request flood (issue 11): large blocks first (6,000 transactions of 256 bytes submitted at once, blocks
 * collected for 200 ms), then one attack process on ATTACKER_HOST asks every node for inclusion proofs of those
 * blocks as fast as the answers come (16 requests in flight per node). The network's commit rate must stay at least
 * MIN_RATE_RATIO of its rate just before, and an honest proof request from 127.0.0.1 must still be answered and verify.
 *
 * On the old code (every proof re-read the block and rebuilt its whole Merkle tree, no request rate limit) this
 * failed (measured 2026-12-03 against main 5dc6a78; figures in the commit message).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { loadTx } from "../../src/cli/loadgen.js";
import { verifyInclusion } from "../../src/crypto/merkle.js";
import { startNetwork, stopAll, until, waitForHeight } from "../e2e/support/network.js";
import type { NodeProcess, TestNetwork } from "../e2e/support/network.js";
import { assertRateHolds, attackReport, spawnAttack } from "./support.js";

const TXS = 6_000;
const BIG = 1_000;
const CONCURRENCY = 16;
let net: TestNetwork | undefined;

after(async () => {
  await stopAll(net);
});

test("proof flood from one source: the commit rate holds and honest proofs are served", { timeout: 120_000 }, async () => {
  net = await startNetwork(4, { tmpfs: true, block: { minIntervalMs: 200 } });
  const nw = net;
  await waitForHeight(nw, 2, 30_000);
  // Large blocks: every node gets a quarter of the transactions in one batch, all at once.
  const quarter = TXS / 4;
  await Promise.all(nw.clients.map((c, n) => c.submitTxs(Array.from({ length: quarter }, (_, i) => loadTx("flood", n * quarter + i, 256)))));
  await until("the transactions to commit", async () => ((await Promise.all(nw.clients.map((c) => c.status()))).every((s) => s.mempoolSize === 0) ? true : undefined), 60_000);
  const head = (await nw.clients[0]!.status()).committedHeight;
  const big = (await nw.clients[0]!.blocks(1, head)).filter((b) => b.txCount >= BIG).map((b) => [b.header.height, b.txCount] as const);
  assert.ok(big.length >= 1, `no block of ${BIG}+ transactions among heights 1..${head}`);
  const ports = nw.urls.map((u) => new URL(u).port).join(",");
  let attacker: NodeProcess | undefined;
  const rates = await assertRateHolds(nw, [0, 1, 2, 3], 5_000, async () => {
    attacker = spawnAttack("proofFlood", [ports, big.map(([h, n]) => `${h}:${n}`).join(","), String(CONCURRENCY)]);
    const a = attacker;
    await until("the flood to get answers", async () => ((attackReport<{ sent: number }>(a)?.sent ?? 0) > 0 ? true : undefined), 10_000, () => a.output);
  });
  const [height, count] = big[0]!;
  const proof = await nw.clients[0]!.proof(height, count - 1);
  const blk = await nw.clients[0]!.block(height);
  const a = attackReport<{ sent: number; answers: Record<string, number> }>(attacker!);
  console.log(`proof flood: big blocks ${big.map(([h, n]) => `${h}:${n}`).join(" ")}; commit rate ${rates.baseline.toFixed(1)}/s before, ${rates.attacked.toFixed(1)}/s under attack (${(100 * rates.ratio).toFixed(0)} %); attacker ${JSON.stringify(a)}`);
  assert.ok(proof !== null && blk !== null);
  assert.ok(verifyInclusion(proof, blk.header.txRoot), "the honest proof verifies against the block's txRoot");
});
