/**
 * Proof-request and block-read floods (issue 11), on one network with large blocks (6,000 transactions of 256 bytes
 * submitted at once, blocks collected for 200 ms). Each attack runs from one process on ATTACKER_HOST, and the
 * network's commit rate must stay at least MIN_RATE_RATIO of its rate just before it.
 *
 * 1. Proofs: the attacker asks every node for inclusion proofs of the large blocks as fast as the answers come (16
 *    requests in flight per node); an honest proof request from 127.0.0.1 must still be answered and verify. On the old
 *    code (every proof re-read the block and rebuilt its whole Merkle tree) this failed: the commit rate fell to 0.5/s,
 *    14 % of 3.6/s (main 5dc6a78, 2026-12-03).
 * 2. Block reads: `GET /v1/blocks?from=1&to=<head>` ranges over those blocks, 4 connections x 4 pipelined, to node 0;
 *    an honest `/v1/status` must still be served. The node decodes every block of the range (~2 ms for a 4,096-tx
 *    one), so on the old code, where such a request cost what any request costs, 16 in flight brought the commit rate
 *    to 55 % of the rate before (2.0/s of 3.6/s; in an ad hoc run with the same attack 31 %, and an honest status took
 *    1.3 s); now block reads are charged by size (RpcLimits.txsPerToken): 93 %.
 */
import { after, before, test } from "node:test";
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
/** [height, txCount] of the blocks of BIG+ transactions, and the committed head after them. */
let big: (readonly [number, number])[] = [];
let head = 0;

before(async () => {
  net = await startNetwork(4, { tmpfs: true, block: { minIntervalMs: 200 } });
  const nw = net;
  await waitForHeight(nw, 2, 30_000);
  // Large blocks: every node gets a quarter of the transactions in one batch, all at once.
  const quarter = TXS / 4;
  await Promise.all(nw.clients.map((c, n) => c.submitTxs(Array.from({ length: quarter }, (_, i) => loadTx("flood", n * quarter + i, 256)))));
  await until("the transactions to commit", async () => ((await Promise.all(nw.clients.map((c) => c.status()))).every((s) => s.mempoolSize === 0) ? true : undefined), 60_000);
  head = (await nw.clients[0]!.status()).committedHeight;
  big = (await nw.clients[0]!.blocks(1, head)).filter((b) => b.txCount >= BIG).map((b) => [b.header.height, b.txCount] as const);
});

after(async () => {
  await stopAll(net);
});

/** Stops an attack process by pid and waits for it to exit. */
async function stop(p: NodeProcess | undefined): Promise<void> {
  if (p === undefined || p.exited) return;
  p.proc.kill("SIGTERM");
  await p.exit;
}

test("proof flood from one source: the commit rate holds and honest proofs are served", { timeout: 60_000 }, async () => {
  const nw = net!;
  assert.ok(big.length >= 1, `no block of ${BIG}+ transactions among heights 1..${head}`);
  const ports = nw.urls.map((u) => new URL(u).port).join(",");
  let attacker: NodeProcess | undefined;
  try {
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
  } finally {
    await stop(attacker);
  }
});

test("block-read flood from one source (ranges of large blocks): the commit rate holds, honest requests are served", { timeout: 60_000 }, async () => {
  const nw = net!;
  let attacker: NodeProcess | undefined;
  try {
    const rates = await assertRateHolds(nw, [0, 1, 2, 3], 5_000, async () => {
      attacker = spawnAttack("requestFlood", [new URL(nw.urls[0]!).port, "4", "4", `/v1/blocks?from=1&to=${head}`]);
      const a = attacker;
      await until("the flood to get answers", async () => ((attackReport<{ answered: number }>(a)?.answered ?? 0) > 0 ? true : undefined), 10_000, () => a.output);
    });
    const status = await fetch(`${nw.urls[0]}/v1/status`, { signal: AbortSignal.timeout(10_000) });
    await status.text();
    const a = attackReport<{ answered: number; answers: Record<string, number> }>(attacker!);
    console.log(`block-read flood: ranges 1..${head}; commit rate ${rates.baseline.toFixed(1)}/s before, ${rates.attacked.toFixed(1)}/s under attack (${(100 * rates.ratio).toFixed(0)} %); attacker ${JSON.stringify(a)}`);
    assert.equal(status.status, 200);
  } finally {
    await stop(attacker);
  }
});
