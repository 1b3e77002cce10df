import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeCommitTx } from "../../../../src/chain/app/paracross/format.js";
import { SILENT } from "../../../../src/node/logger.js";
import { MAX_TX_BYTES } from "../../../../src/domain/limits.js";
import { MAIN_PIPELINE_BLOCKS, ParaSender } from "../../../../src/node/para/sender.js";
import type { ParaSenderOptions } from "../../../../src/node/para/sender.js";
import { fakeCommit, FakeMain, TITLE } from "./harness.js";

const SEED: ParaSenderOptions = { title: TITLE, nodeIndex: 2, notificationQueue: 100, maxCommitsPerTx: 20, resendAfterBlocks: 2, stallAfterBlocks: 100 };

function setup(opts: Partial<ParaSenderOptions> = {}, head = 0, packedTxs = 0) {
  const main = new FakeMain();
  const chain = { head };
  let n = 0;
  const counters = { resends: 0, sent: 0 };
  const sender = new ParaSender(
    { ...SEED, ...opts },
    {
      main,
      commit: (h) => (h >= 1 && h <= chain.head ? fakeCommit(h, packedTxs) : undefined),
      paraHead: () => chain.head,
      logger: SILENT,
      nonce: () => {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setUint32(4, ++n);
        return b;
      },
      metrics: { resends: { inc: (k = 1) => void (counters.resends += k) }, commitsSent: { inc: (k = 1) => void (counters.sent += k) } },
    },
  );
  return { main, chain, sender, counters };
}

/** The para heights and nonce of a submitted commit tx. */
function sent(tx: Uint8Array): { heights: number[]; nonce: string; signer: number } {
  const d = decodeCommitTx(tx);
  assert.ok(d.ok);
  return { heights: d.value.commits.map((c) => c.decoded.height), nonce: Buffer.from(d.value.nonce).toString("hex"), signer: d.value.signer };
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test("sends at most 20 commits per tx, waits, resends after 2 main blocks (past the 2 already in the pipeline) with a new nonce, stops once carried and done", async () => {
  const { main, chain, sender, counters } = setup({}, 25);
  await sender.start(0);
  assert.equal(main.submitted.length, 1);
  const first = sent(main.submitted[0]!);
  assert.deepEqual(first.heights, range(1, 20));
  assert.equal(first.signer, 2);
  // One tx in flight: a new para block does not send another.
  chain.head = 26;
  await sender.onParaBlock(26);
  assert.equal(main.submitted.length, 1);
  // The 2 blocks already proposed when it was sent cannot carry it; then 2 more may.
  for (let i = 0; i < MAIN_PIPELINE_BLOCKS + 1; i++) {
    await sender.onMainBlock(main.add());
    assert.equal(main.submitted.length, 1);
  }
  await sender.onMainBlock(main.add()); // 2 main blocks that could have carried it, without it: resend
  assert.equal(main.submitted.length, 2);
  const second = sent(main.submitted[1]!);
  assert.deepEqual(second.heights, range(1, 20));
  assert.notEqual(second.nonce, first.nonce);
  assert.equal(counters.resends, 1);
  // Carried with its result bit clear: finished; the next run (21..26) goes out.
  await sender.onMainBlock(main.add([main.submitted[1]!]));
  assert.equal(main.submitted.length, 3);
  assert.deepEqual(sent(main.submitted[2]!).heights, range(21, 26));
  // The done height covers it (carried in a block this node did not see): finished, nothing more to send.
  main.done = 26;
  await sender.onMainBlock(main.add());
  for (let i = 0; i < 4; i++) await sender.onMainBlock(main.add());
  assert.equal(main.submitted.length, 3);
  assert.equal(sender.inFlight, null);
  assert.equal(counters.resends, 1);
  assert.equal(counters.sent, 46); // 20 + 20 (the resend) + 6
});

test("a failed commit tx is resent without the commits the done height covers", async () => {
  const { main, sender, counters } = setup({ maxCommitsPerTx: 5 }, 8);
  await sender.start(0);
  assert.deepEqual(sent(main.submitted[0]!).heights, range(1, 5));
  main.done = 2;
  await sender.onMainBlock(main.add([main.submitted[0]!], [0]));
  assert.equal(counters.resends, 1);
  // One commit at a time after a failure (the result bit does not say which commit was refused).
  assert.deepEqual(sent(main.submitted[1]!).heights, [3]);
  await sender.onMainBlock(main.add([main.submitted[1]!]));
  assert.deepEqual(sent(main.submitted[2]!).heights, range(4, 8));
});

test("restart: every stored commit above the done height is queued again, no hole and no duplicate", async () => {
  // The previous run made 30 para blocks; the main chain says 12 are done.
  const { main, sender } = setup({}, 30);
  main.done = 12;
  await sender.start(40);
  const seen: number[] = [];
  for (let i = 0; i < 5 && sender.inFlight !== null; i++) {
    const tx = main.submitted[main.submitted.length - 1]!;
    seen.push(...sent(tx).heights);
    await sender.onMainBlock(main.add([tx]));
  }
  assert.deepEqual(seen, range(13, 30));
  assert.equal(sender.inFlight, null);
});

test("stalls when the para head is 100 blocks above the done height, and resumes when it catches up", async () => {
  const { main, chain, sender } = setup({}, 99);
  await sender.start(0);
  assert.equal(sender.stalled, null);
  assert.equal(sender.canBuild, true);
  chain.head = 100;
  await sender.onParaBlock(100);
  assert.match(sender.stalled ?? "", /100 blocks above the main chain's done height 0/);
  assert.equal(sender.canBuild, false);
  await sender.onMainBlock(main.add());
  assert.notEqual(sender.stalled, null);
  main.done = 1;
  await sender.onMainBlock(main.add());
  assert.equal(sender.stalled, null);
  assert.equal(sender.canBuild, true);
});

test("a full notification queue stops building until the main chain carries the commits", async () => {
  const { main, chain, sender } = setup({ notificationQueue: 3, maxCommitsPerTx: 2 }, 1);
  await sender.start(0);
  assert.deepEqual(sent(main.submitted[0]!).heights, [1]);
  for (const h of [2, 3]) {
    chain.head = h;
    await sender.onParaBlock(h);
    assert.equal(sender.canBuild, true);
  }
  chain.head = 4;
  await sender.onParaBlock(4);
  assert.equal(sender.notified, 3);
  assert.equal(sender.canBuild, false);
  await sender.onMainBlock(main.add([main.submitted[0]!]));
  assert.deepEqual(sent(main.submitted[1]!).heights, [2, 3]);
  assert.equal(sender.canBuild, true);
});

test("a copy of the in-flight tx (same signer and nonce, a broken signature) carried and failed is not taken for this node's", async () => {
  const { main, sender, counters } = setup({ maxCommitsPerTx: 5 }, 5);
  await sender.start(0);
  const mine = main.submitted[0]!;
  const copy = mine.slice();
  copy[copy.length - 1]! ^= 1;
  await sender.onMainBlock(main.add([copy], [0]));
  // Still waiting for its own tx: nothing resent, nothing passed over.
  assert.equal(main.submitted.length, 1);
  assert.equal(counters.resends, 0);
  assert.deepEqual(sender.inFlight === null ? null : [sender.inFlight.from, sender.inFlight.to], [1, 5]);
  await sender.onMainBlock(main.add([mine]));
  assert.equal(sender.inFlight, null);
});

test("commit txs are cut by bytes too: big para blocks' commits go out in txs under MAX_TX_BYTES", async () => {
  // 65,536 packed txs per block: ~8 KiB of dense results bitmap per commit.
  const { main, sender } = setup({}, 20, 65_536);
  await sender.start(0);
  const first = main.submitted[0]!;
  assert.ok(first.length <= MAX_TX_BYTES, `${first.length} bytes`);
  const n = sent(first).heights.length;
  assert.ok(n >= 1 && n < 20, `${n} commits in the first tx`);
  assert.deepEqual(sent(first).heights, range(1, n));
});
