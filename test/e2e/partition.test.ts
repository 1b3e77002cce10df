/**
 * A real network partition (issue 10, item 5): four validators, each in its own Linux network namespace with its own
 * address, joined by a bridge (support/netns.ts). Node 3's link is cut at the bridge: the minority {3} stops
 * committing, the majority {0,1,2} goes on; once the link is back, node 3 catches up, all four commit together, and
 * `quire audit` finds them agreeing on every height.
 *
 * Needs root and `ip netns` (CI runs as root): without them the test fails saying so. `after` stops every node by pid,
 * then deletes every namespace, veth and bridge by name.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createNetns } from "./support/netns.js";
import type { Netns } from "./support/netns.js";
import { assertAudited, heightsOf, logs, startNetwork, stopAll, waitForHeight } from "./support/network.js";
import type { TestNetwork } from "./support/network.js";

const N = 4;
const MINORITY = 3;
const MAJORITY = [0, 1, 2];
let netw: TestNetwork | undefined;
let netns: Netns | undefined;

after(async () => {
  try {
    await stopAll(netw);
  } finally {
    netns?.destroy();
  }
});

test("a partition {0,1,2} | {3} in network namespaces: the minority stops, the majority commits, after healing all converge", { timeout: 120_000 }, async (t) => {
  const ns = createNetns(N);
  netns = ns;
  t.diagnostic(`namespaces qf${process.pid}-*, validators on ${ns.hosts.join(", ")}, RPC on ${ns.rpcHosts.join(", ")}`);
  const nw = await startNetwork(N, { hosts: ns.hosts, rpcHosts: ns.rpcHosts, launcher: ns.launcher, baseTimeoutMs: 500 });
  netw = nw;
  t.diagnostic(`network in ${nw.dir}`);
  await waitForHeight(nw, 3, 30_000);

  ns.cut(MINORITY);
  const [cutAt] = await heightsOf(nw, [MINORITY]);
  const majorityAt = Math.max(...(await heightsOf(nw, MAJORITY)));
  // The majority is a quorum: it commits on.
  await waitForHeight(nw, majorityAt + 4, 40_000, MAJORITY);
  // The minority is not: at most a commit already on its way when the link went down, then nothing.
  const [later] = await heightsOf(nw, [MINORITY]);
  assert.ok(later! <= cutAt! + 2, `the cut-off node committed on alone: ${cutAt} → ${later}`);
  await waitForHeight(nw, Math.max(...(await heightsOf(nw, MAJORITY))) + 1, 30_000, MAJORITY);
  const [stillAt] = await heightsOf(nw, [MINORITY]);
  assert.equal(stillAt, later, "the cut-off node committed while the majority moved on");
  t.diagnostic(`during the partition: node ${MINORITY} stayed at ${stillAt}, the majority went from ${majorityAt} to ${Math.max(...(await heightsOf(nw, MAJORITY)))}`);

  ns.heal(MINORITY);
  const tip = Math.max(...(await heightsOf(nw, MAJORITY)));
  await waitForHeight(nw, tip, 60_000, [MINORITY]);
  await waitForHeight(nw, tip + 3, 30_000);
  for (let i = 0; i < N; i++) assert.equal(nw.nodes[i]!.exited, false, `node ${i} exited\n${logs(nw)}`);
  await assertAudited(nw);
});
