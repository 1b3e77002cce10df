/**
 * A validator whose data directory is wiped (an empty one, as on a new machine) after the network committed
 * thousands of blocks syncs to the tip while the others keep committing, then commits with them; `quire audit`
 * finds all four agreeing on every height (issue 10, item 5).
 *
 * The network proposes as fast as it can (`block.minIntervalMs` and `block.emptyIntervalMs` 0: empty blocks back to
 * back), so thousands of blocks take seconds. `after` stops every process by pid even when the test failed.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { allBut, assertAudited, heightsOf, killNode, logs, startNetwork, startNode, stopAll, until, waitForHeight } from "./support/network.js";
import type { TestNetwork } from "./support/network.js";

const N = 4;
const VICTIM = 3;
/**
 * Blocks the network commits before the victim loses its data. Four validators on this 2-core machine commit about 30
 * empty blocks a second (BLS signing and verification of every view on every node), so the suite's short version
 * waits for 600; `QUIRE_E2E_HISTORY=3000 npm test -- e2e/catchup` runs the long one.
 */
const HISTORY = Number(process.env["QUIRE_E2E_HISTORY"] ?? 600);
let netw: TestNetwork | undefined;

after(async () => {
  await stopAll(netw);
});

test(`a validator restarted from an empty data directory after ${HISTORY} blocks syncs to the tip and commits with the others`, { timeout: 120_000 + HISTORY * 150 }, async (t) => {
  const nw = await startNetwork(N, { block: { minIntervalMs: 0, emptyIntervalMs: 0 }, tmpfs: true });
  netw = nw;
  t.diagnostic(`network in ${nw.dir}`);
  const t0 = performance.now();
  await waitForHeight(nw, HISTORY, HISTORY * 100);
  t.diagnostic(`${HISTORY} blocks committed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  await killNode(nw, VICTIM);
  const restarted = await startNode(nw, VICTIM, { wipeData: true });
  const resumed = Number(await until("the restarted node's consensus start", async () => /consensus started height=(\d+)/.exec(restarted.output)?.[1], 30_000, () => logs(nw)));
  assert.equal(resumed, 0, "the wiped node did not start from genesis");

  const tip = Math.max(...(await heightsOf(nw, allBut(nw, VICTIM))));
  const t1 = performance.now();
  await waitForHeight(nw, tip, 30_000 + tip * 20, [VICTIM]);
  t.diagnostic(`synced ${tip} blocks from an empty data directory in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  // Then it takes part: every node, the victim included, commits past the tip it synced to.
  const now = Math.max(...(await heightsOf(nw, allBut(nw))));
  await waitForHeight(nw, now + 3, 30_000);
  assert.equal(restarted.exited, false, logs(nw));
  await assertAudited(nw);
});
