/**
 * A real validator process killed with SIGKILL under load (no clean stop, no chance to flush anything) restarts from
 * the same config and data dir at or above the height it had reported committed, serves the same blocks as the
 * others at every height it kept, catches up to the tip and commits new blocks with them; the load keeps running
 * throughout, every transaction a node that stayed up acknowledged is committed, and `quire audit` finds the four
 * nodes agreeing on every height.
 *
 * The test owns its network; `after` stops every process by pid even when it failed.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { toHex } from "../../src/util/bytes.js";
import { assertCommitted, startTxLoad } from "./support/load.js";
import { assertAudited, killNode, logs, startNetwork, startNode, stopAll, until, waitForHeight } from "./support/network.js";
import type { TestNetwork } from "./support/network.js";

const N = 4;
const VICTIM = 2;
let netw: TestNetwork | undefined;

after(async () => {
  await stopAll(netw);
});

test("a validator SIGKILLed under load restarts at or above its reported height, catches up on the same chain, and no acknowledged tx is lost", { timeout: 150_000 }, async (t) => {
  const nw = await startNetwork(N);
  netw = nw;
  t.diagnostic(`network in ${nw.dir}`);
  await waitForHeight(nw, 2, 30_000);
  let victimDown = false;
  const load = startTxLoad(nw, { targets: () => (victimDown ? [0, 1, 3] : [0, 1, 2, 3]) });
  let acksBeforeRestart = 0;
  try {
    // Load flows through the victim too before the kill, so it dies with a busy mempool and store.
    const start = (await nw.clients[VICTIM]!.status()).committedHeight;
    await waitForHeight(nw, start + 3, 30_000);

    const reported = (await nw.clients[VICTIM]!.status()).committedHeight;
    victimDown = true;
    await killNode(nw, VICTIM);

    // The other three keep committing (3 of 4 is a quorum), so the victim has something to catch up on.
    await waitForHeight(nw, reported + 3, 30_000, [0, 1, 3]);

    acksBeforeRestart = load.acks.length;
    const restarted = await startNode(nw, VICTIM);
    // (a) It resumes from its store at or above the height it reported before the kill, not from genesis.
    const resumed = Number(await until("the restarted node's consensus start", async () => /consensus started height=(\d+)/.exec(restarted.output)?.[1], 30_000, () => logs(nw)));
    assert.ok(resumed >= reported, `restarted at height ${resumed}, below the ${reported} it reported before the kill`);
    const first = await until("the restarted node's RPC", () => nw.clients[VICTIM]!.status(), 30_000, () => logs(nw));
    assert.ok(first.committedHeight >= reported, `reports height ${first.committedHeight} after the restart, below ${reported}`);

    // (b) Every block it kept is the one node 0 committed at that height.
    for (let h = 0; h <= resumed; h++) {
      const [mine, theirs] = await Promise.all([nw.clients[VICTIM]!.block(h), nw.clients[0]!.block(h)]);
      assert.ok(mine !== null, `the restarted node lacks block ${h}`);
      assert.ok(theirs !== null);
      assert.equal(toHex(mine.hash), toHex(theirs.hash), `height ${h}: the restarted node serves another block`);
    }

    // (c) It catches up with the others, then commits new blocks with them (load through it again).
    const others = await Promise.all([0, 1, 3].map((i) => nw.clients[i]!.status()));
    const target = Math.max(...others.map((s) => s.committedHeight));
    await waitForHeight(nw, target, 45_000, [VICTIM]);
    victimDown = false;
    await waitForHeight(nw, target + 3, 30_000);
    assert.equal(restarted.exited, false, logs(nw));
  } finally {
    await load.stop();
  }
  const { acks, errors } = await load.stop();
  assert.deepEqual(errors, [], "a live node refused the load");
  // Every tx acknowledged by a node that stayed up, or by the victim after its restart, commits. (What the victim
  // acknowledged before the kill lived only in its mempool and in gossip: counted, not promised.)
  const promised = acks.filter((a, k) => a.node !== VICTIM || k >= acksBeforeRestart).map((a) => a.id);
  await assertCommitted(nw, promised, 0, 60_000);
  t.diagnostic(`${promised.length} acknowledged txs committed (${acks.length - promised.length} acknowledged by the victim before its kill not checked)`);
  await assertAudited(nw);
});
