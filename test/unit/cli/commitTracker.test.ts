import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { CommitTracker, findLost, markCommitted } from "../../../src/cli/commitTracker.js";
import type { TrackedLoad } from "../../../src/cli/commitTracker.js";
import { LoadTxs } from "../../../src/cli/loadgen.js";
import { GrowableBytes, TxIdIndex } from "../../../src/cli/txIdIndex.js";
import { toHex } from "../../../src/util/bytes.js";
import { startHarness } from "../../support/rpcHttp.js";

// The oracle for ids: node:crypto SHA-256 of the tx bytes, computed here (the node's id is SHA-256 of the tx).
const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash("sha256").update(b).digest());

/** A load of `n` txs, all sent; `acked` says which a node acknowledged. */
function trackedLoad(n: number, acked: (i: number) => boolean): { load: TrackedLoad; txs: Uint8Array[] } {
  const gen = new LoadTxs("check", 256);
  const txs = Array.from({ length: n }, (_, i) => gen.tx(i));
  const ids = new TxIdIndex(4);
  const ackedFlags = new GrowableBytes(4);
  txs.forEach((t, i) => {
    ids.add(sha256(t), i);
    if (acked(i)) ackedFlags.set(i, 1);
  });
  return { load: { ids, acked: ackedFlags, indexLimit: n, dueAt: () => 0, idOf: (i) => sha256(txs[i]!) }, txs };
}

test("the lost-tx check: an acknowledged tx missing from one node's blocks is reported lost on that node only", async () => {
  const a = await startHarness();
  const b = await startHarness();
  try {
    // Tx 7 was never acknowledged (its request failed): missing everywhere, it is not lost. A foreign tx is ignored.
    const { load, txs } = trackedLoad(10, (i) => i !== 7);
    const foreign = new LoadTxs("other", 256).tx(0);
    a.api.commit({ extra: txs.slice(0, 5) });
    a.api.commit({ extra: [foreign, ...txs.slice(5, 7), ...txs.slice(8)] });
    // The broken node: tx 4 (acknowledged) never made it into its chain.
    b.api.commit({ extra: txs.slice(0, 4) });
    b.api.commit({ extra: [...txs.slice(5, 7), ...txs.slice(8)] });
    const tracker = new CommitTracker({ urls: [a.base, b.base], startHeight: 0 }, load);
    const [na, nb] = await tracker.checkNodes(1_000);
    assert.deepEqual({ committed: na!.committed, lost: na!.lost, height: na!.height }, { committed: 9, lost: 0, height: 2 });
    assert.deepEqual({ committed: nb!.committed, lost: nb!.lost }, { committed: 8, lost: 1 });
    assert.deepEqual(nb!.lostSamples, [{ index: 4, id: toHex(sha256(txs[4]!)) }]);
  } finally {
    await a.server.stop();
    await b.server.stop();
  }
});

test("markCommitted and findLost over packed ids: a block's ids mark the run's txs once; unmarked acknowledged ones are lost", () => {
  const { load, txs } = trackedLoad(50, (i) => i % 3 !== 0);
  const marks = new GrowableBytes(4);
  const packed = new Uint8Array(32 * 40);
  for (let i = 0; i < 40; i++) packed.set(sha256(txs[i]!), 32 * i);
  assert.equal(markCommitted(packed, load.ids, marks), 40);
  assert.equal(markCommitted(packed, load.ids, marks), 0, "a repeated block marks nothing new");
  const expected = Array.from({ length: 10 }, (_, k) => 40 + k).filter((i) => i % 3 !== 0);
  assert.deepEqual(findLost(load.acked, marks, 50), expected);
});
