/**
 * A real validator process killed with SIGKILL under load (no clean stop, no chance to flush anything) restarts from
 * the same config and data dir at or above the height it had reported committed, serves the same blocks as the
 * others at every height it kept, catches up and commits new blocks with them.
 *
 * The test owns its network; `after` stops every process by pid even when it failed.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { encodeKvTx } from "../../src/chain/app/kvTx.js";
import { toHex, utf8 } from "../../src/util/bytes.js";
import { logs, startNetwork, startNode, stopAll, until, waitForHeight } from "./support/network.js";
import type { TestNetwork } from "./support/network.js";

const N = 4;
const VICTIM = 2;
let netw: TestNetwork | undefined;

after(async () => {
  await stopAll(netw);
});

interface Load {
  /** Stops the loop (idempotent); resolves with what it saw once its last request settled. */
  stop(): Promise<{ accepted: number; errors: string[] }>;
}

/**
 * Submits a batch of five small KV puts every `intervalMs` to the nodes `targets()` returns, round robin, until
 * stopped: pacing, not synchronisation (the test waits on heights, never on this loop's timing).
 */
function startLoad(nw: TestNetwork, targets: () => readonly number[], intervalMs = 100): Load {
  let running = true;
  let accepted = 0;
  const errors: string[] = [];
  const loop = (async () => {
    for (let round = 0; running; round++) {
      const nodes = targets();
      const node = nodes[round % nodes.length]!;
      const txs = Array.from({ length: 5 }, (_, j) => {
        const nonce = new Uint8Array(8);
        new DataView(nonce.buffer).setUint32(4, round * 5 + j);
        return encodeKvTx({ op: "put", nonce, key: utf8(`crash/${round}/${j}`), value: utf8(`v${round}.${j}`) });
      });
      try {
        const r = await nw.clients[node]!.submitTxs(txs);
        accepted += r.results.filter((x) => x.status === "accepted").length;
      } catch (e) {
        // A request in flight to the victim when it was killed may fail; any other failure is the test's business.
        if (node !== VICTIM || targets().includes(VICTIM)) errors.push(`node ${node}: ${String(e)}`);
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { accepted, errors };
    },
  };
}

test("a validator SIGKILLed under load restarts at or above its reported height, on the same chain, and commits again", { timeout: 120_000 }, async () => {
  const nw = await startNetwork(N);
  netw = nw;
  await waitForHeight(nw, 2, 30_000);
  let victimDown = false;
  const load = startLoad(nw, () => (victimDown ? [0, 1, 3] : [0, 1, 2, 3]));
  try {
    // Load flows through the victim too before the kill, so it dies with a busy mempool and store.
    const start = (await nw.clients[VICTIM]!.status()).committedHeight;
    await waitForHeight(nw, start + 3, 30_000);

    const proc = nw.nodes[VICTIM]!;
    const reported = (await nw.clients[VICTIM]!.status()).committedHeight;
    victimDown = true;
    process.kill(proc.proc.pid!, "SIGKILL");
    await proc.exit;
    assert.equal(proc.proc.signalCode, "SIGKILL", `the node was not killed by SIGKILL (exit code ${proc.exitCode})\n${proc.output.slice(-2000)}`);
    assert.equal(proc.exitCode, null);
    nw.nodes[VICTIM] = null;

    // The other three keep committing (3 of 4 is a quorum), so the victim has something to catch up on.
    await waitForHeight(nw, reported + 3, 30_000, [0, 1, 3]);

    const restarted = startNode(nw, VICTIM);
    nw.nodes[VICTIM] = restarted;
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

    // (c) It catches up with the others, then commits new blocks with them (load through it again), on the same chain.
    const others = await Promise.all([0, 1, 3].map((i) => nw.clients[i]!.status()));
    const target = Math.max(...others.map((s) => s.committedHeight));
    await waitForHeight(nw, target, 45_000, [VICTIM]);
    victimDown = false;
    await waitForHeight(nw, target + 3, 30_000);
    for (const h of [resumed + 1, target, target + 3]) {
      const [mine, theirs] = await Promise.all([nw.clients[VICTIM]!.block(h), nw.clients[0]!.block(h)]);
      assert.ok(mine !== null && theirs !== null, `block ${h} missing`);
      assert.equal(toHex(mine.hash), toHex(theirs.hash), `height ${h}: the restarted node is on another chain`);
    }
    assert.equal(restarted.exited, false, logs(nw));
  } finally {
    await load.stop();
  }
  const { accepted, errors } = await load.stop();
  assert.ok(accepted > 0, "the load admitted nothing");
  assert.deepEqual(errors, [], "a live node refused the load");
});
