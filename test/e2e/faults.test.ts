/**
 * Whole-process faults on four real validators (issue 10, item 5), each test on its own network, each ending with
 * `quire audit` over every node:
 *  - the current leader (as `/v1/status` names it) is SIGKILLed again and again: the survivors leave its views by
 *    timeout certificates and keep committing with 3 of 4; restarted, it catches up;
 *  - two of four stop (one SIGKILL, one SIGTERM): nothing commits — a quorum needs three —, no node diverges; once
 *    both are back, commits resume and every transaction acknowledged meanwhile commits.
 *
 * The networks run a 500 ms base view timeout (the genesis default is 1 s) so the timeouts these faults cause cost
 * the suite less time; safety never depends on timing. `after` stops every process by pid even when a test failed.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { assertCommitted, startTxLoad } from "./support/load.js";
import { allBut, assertAudited, currentLeader, heightsOf, killNode, logs, startNetwork, startNode, stopAll, until, waitForHeight } from "./support/network.js";
import type { TestNetwork } from "./support/network.js";
import { scrape } from "../support/promText.js";

const N = 4;
const BASE_TIMEOUT_MS = 500;
const nets: TestNetwork[] = [];

after(async () => {
  for (const nw of nets) await stopAll(nw);
});

async function network(): Promise<TestNetwork> {
  const nw = await startNetwork(N, { baseTimeoutMs: BASE_TIMEOUT_MS });
  nets.push(nw);
  await waitForHeight(nw, 2, 30_000);
  return nw;
}

/** Timeouts node `i` received from validators so far (`quire_consensus_messages_received_total{kind="timeout"}`). */
async function timeoutsReceived(nw: TestNetwork, i: number): Promise<number> {
  return (await scrape(nw.clients[i]!)).count("quire_consensus_messages_received_total", { kind: "timeout" });
}

test("the current leader killed again and again: views advance by timeout certificates, 3 of 4 keep committing, all agree", { timeout: 120_000 }, async (t) => {
  const nw = await network();
  t.diagnostic(`network in ${nw.dir}`);
  const ROUNDS = 2;
  const killed: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const { view, leader } = await currentLeader(nw, allBut(nw));
    t.diagnostic(`round ${round}: ${JSON.stringify(await Promise.all(allBut(nw).map((i) => nw.clients[i]!.status().then((s) => [s.view, s.leader, s.committedHeight]))))}`);
    const survivors = allBut(nw, leader);
    const timeoutsBefore = await Promise.all(survivors.map((i) => timeoutsReceived(nw, i)));
    const height = Math.max(...(await heightsOf(nw, survivors)));
    await killNode(nw, leader);
    killed.push(leader);

    // A view the dead node had to lead (or whose votes it had to collect) ends without it: by timeouts of the
    // survivors, which make a TC (3 of 4 is a quorum). The kill may land just after its proposal left, so that view
    // can still complete; its next turn comes within a few views (it leaves the rotation only ~20 views later).
    await until(
      `the survivors ${survivors.join(",")} past view ${view}, each having received timeouts, and 3 blocks above ${height}`,
      async () => {
        const s = await Promise.all(survivors.map((i) => nw.clients[i]!.status()));
        if (!s.every((x) => x.view > view && x.committedHeight >= height + 3)) return undefined;
        const after = await Promise.all(survivors.map((i) => timeoutsReceived(nw, i)));
        return after.every((k, j) => k > timeoutsBefore[j]!) ? true : undefined;
      },
      40_000,
      () => logs(nw),
    );

    // Restarted, it catches up with the survivors before the next round kills whoever leads then.
    await startNode(nw, leader);
    const tip = Math.max(...(await heightsOf(nw, survivors)));
    await waitForHeight(nw, tip, 45_000, [leader]);
  }
  t.diagnostic(`leaders killed in turn: ${killed.join(", ")}`);
  const top = Math.max(...(await heightsOf(nw, allBut(nw))));
  await waitForHeight(nw, top + 1, 30_000);
  await assertAudited(nw);
});

test("two of four stopped: no commits and no divergence; restarted, commits resume and nothing acknowledged is lost", { timeout: 120_000 }, async (t) => {
  const nw = await network();
  t.diagnostic(`network in ${nw.dir}`);
  const load = startTxLoad(nw, { targets: () => [0, 1] });
  try {
    await waitForHeight(nw, (await heightsOf(nw, [0]))[0]! + 2, 30_000);
    await killNode(nw, 2);
    assert.equal(await nw.cluster.stopNode(3), 0, `node 3 did not stop cleanly\n${logs(nw)}`);

    // A commit already on its way when the quorum went may still land; after that, nothing: watch two quiet spans.
    const settled = await heightsOf(nw, [0, 1]);
    await new Promise((r) => setTimeout(r, 4 * BASE_TIMEOUT_MS));
    const stalled = await heightsOf(nw, [0, 1]);
    assert.ok(stalled[0]! <= settled[0]! + 2 && stalled[1]! <= settled[1]! + 2, `two nodes kept committing without a quorum: ${settled} → ${stalled}`);
    await new Promise((r) => setTimeout(r, 8 * BASE_TIMEOUT_MS));
    const still = await heightsOf(nw, [0, 1]);
    assert.deepEqual(still, stalled, "heights moved with only two of four validators up");
    const s = await Promise.all([0, 1].map((i) => nw.clients[i]!.status()));
    assert.ok(s.every((x) => x.mempoolSize > 0), `the load's txs should be waiting in the mempools: ${JSON.stringify(s)}`);

    await startNode(nw, 2);
    await startNode(nw, 3);
    await waitForHeight(nw, Math.max(...still) + 3, 60_000);
  } finally {
    await load.stop();
  }
  const { acks, errors } = await load.stop();
  assert.deepEqual(errors, [], "a live node refused the load");
  await assertCommitted(
    nw,
    acks.map((a) => a.id),
    2,
    60_000,
  );
  t.diagnostic(`${acks.length} acknowledged txs committed`);
  await assertAudited(nw);
});
