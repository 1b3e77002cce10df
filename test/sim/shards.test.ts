/**
 * Sharded runs (src/sim/shardSimulation.ts): shards of the shipping shell on one virtual clock, per-shard checkers,
 * the CPU-cost model bounding a shard's throughput, reproducibility, and the relay hook phase 2 builds on.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeKvTx, encodeKvTx } from "../../src/chain/app/kvTx.js";
import { CrossShardLoad } from "../../src/sim/crossShardLoad.js";
import { CALIBRATED_COSTS } from "../../src/sim/costModel.js";
import type { CostModel } from "../../src/sim/costModel.js";
import { runShardSimulation, shardChainId } from "../../src/sim/shardSimulation.js";
import type { ShardSimOptions, ShardSimResult } from "../../src/sim/shardSimulation.js";
import { toHex, utf8 } from "../../src/util/bytes.js";

function describe(r: ShardSimResult): string {
  return r.shards.map((s) => `shard ${s.shard}: height ${s.result.committedHeight}, ${s.windowTxs} txs in window, ${s.result.violations.length} violations`).join("; ") + ` ${r.violations.map((v) => v.message).join(" | ")}`;
}

test("two shards with crash-restart and loss inside each: both commit, every shard's safety, validity and liveness hold", () => {
  for (const seed of [3, 4]) {
    const r = runShardSimulation({ shards: 2, validators: 4, seed, kinds: ["crash-restart", "lossy"], views: 8, costs: CALIBRATED_COSTS, load: 200, warmupMs: 0, windowMs: 5_000 });
    assert.deepEqual(r.violations, [], describe(r));
    for (const s of r.shards) {
      assert.ok(s.result.committedHeight > 0, describe(r));
      assert.ok(s.windowTxs > 0, describe(r));
    }
    // Each shard is its own chain: its genesis commit is bound to its own chain id, so the two first blocks differ.
    const first = r.shards.map((s) => s.result.recorder.commits.find((log) => log.length > 0)![0]!.hash);
    assert.notEqual(first[0], first[1]);
  }
  assert.notEqual(toHex(shardChainId(0)), toHex(shardChainId(1)));
});

test("more than f Byzantine replicas in a shard: the violation is reported and tagged with its shard", () => {
  // Twins at f + 1 = 2 of 4 break safety on some seeds (as in test/sim/cli.test.ts); the first such seed within 20 must show it.
  let found: ShardSimResult | null = null;
  for (let seed = 1; seed <= 20 && found === null; seed++) {
    const r = runShardSimulation({ shards: 2, validators: 4, seed, kinds: ["twins"], byzantine: 2, views: 30 });
    if (r.violations.some((v) => v.kind === "safety")) found = r;
  }
  assert.ok(found !== null, "no safety violation in 20 seeds of 2 twins in 4");
  const v = found.violations.find((x) => x.kind === "safety")!;
  assert.match(v.message, /^shard [01]: height \d+: replica \d+ committed/);
});

function saturated(costs: CostModel, seed = 1): ShardSimResult {
  return runShardSimulation({ shards: 1, validators: 4, seed, kinds: ["happy"], views: 1, costs, load: "saturate", warmupMs: 500, windowMs: 1_000 });
}

test("the cost model bounds a shard's throughput: never above one CPU executing every tx, and doubling per-tx costs cuts it", () => {
  const base = saturated(CALIBRATED_COSTS);
  const doubled = saturated({ ...CALIBRATED_COSTS, txExecuteUs: 2 * CALIBRATED_COSTS.txExecuteUs, txCheckUs: 2 * CALIBRATED_COSTS.txCheckUs });
  const free = runShardSimulation({ shards: 1, validators: 4, seed: 1, kinds: ["happy"], views: 1, load: "saturate", warmupMs: 500, windowMs: 1_000 });
  assert.deepEqual([...base.violations, ...doubled.violations, ...free.violations], []);
  // Every replica executes every committed tx at least once on its one CPU: 10^6 / txExecuteUs tx/s at most.
  assert.ok(base.committedTxPerSec <= 1e6 / CALIBRATED_COSTS.txExecuteUs, `${base.committedTxPerSec}`);
  assert.ok(doubled.committedTxPerSec <= 1e6 / (2 * CALIBRATED_COSTS.txExecuteUs), `${doubled.committedTxPerSec}`);
  // Loose: doubling the per-tx costs takes at least a quarter off (CPU-bound, not latency-bound).
  assert.ok(doubled.committedTxPerSec < 0.75 * base.committedTxPerSec, `${doubled.committedTxPerSec} vs ${base.committedTxPerSec}`);
  // Without the model the same shard goes faster (bounded by block size and link delay only).
  assert.ok(free.committedTxPerSec > base.committedTxPerSec, `${free.committedTxPerSec} vs ${base.committedTxPerSec}`);
  assert.ok(base.utilisation! > 0.5 && base.utilisation! <= 1, `${base.utilisation}`);
});

test("a seeded sharded run is reproducible: the same commits at the same virtual times, the same CPU time", () => {
  const opts: ShardSimOptions = { shards: 2, validators: 4, seed: 11, kinds: ["lossy", "crash-restart"], views: 6, costs: CALIBRATED_COSTS, load: 300, warmupMs: 0, windowMs: 800 };
  const logs = (r: ShardSimResult): string => JSON.stringify(r.shards.map((s) => s.result.recorder.commits.map((log) => log.map((c) => `${c.height}:${c.hash}@${c.at}`))));
  const a = runShardSimulation(opts);
  const b = runShardSimulation(opts);
  assert.equal(logs(a), logs(b));
  assert.deepEqual(a.cpu, b.cpu);
  assert.equal(a.committedTxPerSec, b.committedTxPerSec);
  const c = runShardSimulation({ ...opts, seed: 12 });
  assert.notEqual(logs(a), logs(c));
});

test("the relay hook: a tx handed from shard 0's commit to shard 1 commits there, no earlier than the relay delay", () => {
  const DELAY = 150;
  const marker = encodeKvTx({ op: "put", nonce: new Uint8Array(8), key: utf8("xshard/marker"), value: utf8("from shard 0") });
  let relayedAt = -1;
  let landedAt = -1;
  const r = runShardSimulation({
    shards: 2,
    validators: 4,
    seed: 5,
    kinds: ["happy"],
    views: 20,
    costs: CALIBRATED_COSTS,
    load: 100,
    warmupMs: 0,
    windowMs: 1_500,
    hooks: {
      onCommitted: (sim, shard, instance, blocks) => {
        // Shard 0's first replica relays once, after its first block with a client tx.
        if (shard === 0 && instance === 0 && relayedAt < 0 && blocks.some((b) => b.block.txs.length > 0)) {
          relayedAt = sim.scheduler.now();
          assert.equal(sim.relay(1, [marker], DELAY), true);
          assert.equal(sim.relay(7, [marker], DELAY), false);
        }
        if (shard === 1 && landedAt < 0 && blocks.some((b) => b.block.txs.some((tx) => toHex(tx) === toHex(marker)))) landedAt = sim.scheduler.now();
      },
    },
  });
  assert.deepEqual(r.violations, [], describe(r));
  assert.ok(relayedAt >= 0 && landedAt >= 0, `relayed at ${relayedAt}, landed at ${landedAt}`);
  assert.ok(landedAt >= relayedAt + DELAY, `relayed at ${relayedAt}, landed at ${landedAt}`);
  assert.equal(r.relayed, 1);
});

test("the synthetic cross-shard mix: source legs committed on one shard arrive as destination legs on the other and commit there", () => {
  const cross = new CrossShardLoad({ fraction: 0.5, relayDelayMs: 20 }, 2, CALIBRATED_COSTS);
  const r = runShardSimulation({ shards: 2, validators: 4, seed: 2, kinds: ["happy"], views: 1, costs: CALIBRATED_COSTS, load: 400, warmupMs: 0, windowMs: 1_000, hooks: cross.hooks });
  assert.deepEqual(r.violations, [], describe(r));
  assert.ok(cross.destinationLegs > 0 && r.relayed > 0);
  // Every destination leg names its source shard (d/SRC/…) and lands on the other shard.
  for (const s of r.shards) {
    const log = s.result.recorder.commits[0]!;
    assert.ok(log.length > 0);
    const txs = s.result.replicas[0]!.chainStore!;
    let legs = 0;
    for (let h = 1; h <= log[log.length - 1]!.height; h++) {
      for (const tx of txs.committedAt(h)!.block.txs) {
        const d = decodeKvTx(tx);
        if (d.ok && d.tx.op === "put" && new TextDecoder().decode(d.tx.key).startsWith("d/")) {
          assert.equal(new TextDecoder().decode(d.tx.key).split("/")[1], String(1 - s.shard));
          legs++;
        }
      }
    }
    assert.ok(legs > 0, `shard ${s.shard} committed no destination leg`);
  }
});
