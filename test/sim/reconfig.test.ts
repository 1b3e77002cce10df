/**
 * Validator-set changes by epoch in the simulator (issue 16): the shipping shell with the validators module, spare
 * registry entries with instances of their own, and an operator changing the set every 20 views (src/sim/reconfig.ts).
 * The long sweep is `quire sim --validators 4 --scenario reconfig --seeds 2000 --views 60` (README figures).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBlsBackend } from "../../src/crypto/bls/backend.js";
import { bitmapSignerSets } from "../../src/consensus/adapters/bitmapSignerSets.js";
import { quorumSize } from "../../src/domain/quorum.js";
import { checkEpochs, RunRecorder } from "../../src/sim/checkers.js";
import { runSweep } from "../../src/sim/runner.js";
import { runSimulation } from "../../src/sim/simulation.js";
import { seededRng } from "../support/seed.js";

const bls = await loadBlsBackend("blst");

test("happy network: the spare joins, votes, and the set shrinks back; every replica switches at the same heights", () => {
  const r = runSimulation({ validators: 4, seed: 11, kinds: ["happy"], views: 70, reconfig: { bls, spares: 1, everyViews: 20 } });
  assert.deepEqual(r.violations, []);
  assert.ok(r.reconfig !== null && r.reconfig.maxEpoch >= 2, `reached epoch ${r.reconfig?.maxEpoch}`);
  const logs = [...r.recorder.epochs.values()];
  assert.equal(logs.length, 5, "every instance, the spare included, started epochs");
  // Epoch 1 added the spare (registry 4); epoch 2 removed one member, leaving four.
  const e1 = logs[0]!.find((e) => e.epoch === 1)!;
  const e2 = logs[0]!.find((e) => e.epoch === 2)!;
  assert.equal(e1.members, "0,1,2,3,4");
  assert.equal(e2.members.split(",").length, 4);
  assert.ok(e2.startHeight > e1.startHeight);
  for (const log of logs) assert.deepEqual(log.map((e) => e.members), logs[0]!.map((e) => e.members));

  // The spare, a member of epoch 1 at position 4, signed QCs of that epoch (the certificates replica 0 committed its
  // blocks with): it synced to the epoch's root and voted. Every such QC has a quorum of epoch 1's five members.
  const sets = bitmapSignerSets();
  let spareSigned = 0;
  for (const c of r.recorder.commits[0]!) {
    if (c.height < e1.startHeight || c.height >= e2.startHeight - 1) continue;
    const signers = sets.decode(c.qcSigners, 5);
    assert.ok(signers !== null && signers.length >= quorumSize(5), `height ${c.height}: ${signers?.length} signers of 5`);
    if (signers.includes(4)) spareSigned++;
  }
  assert.ok(spareSigned > 0, "the added validator signed some certificate of its epoch");
});

test("random faults (at most f per epoch): 16 seeds at n = 4, 4 at n = 7, zero safety violations", (t) => {
  const first = seededRng(t).u32();
  for (const [n, seeds] of [
    [4, 16],
    [7, 4],
  ] as const) {
    const s = runSweep({ validators: n, seeds, firstSeed: first, kinds: "random", views: 60, reconfig: { bls, spares: 1, everyViews: 20 } });
    // Every violation fails the test, but one: a liveness miss in a run with twins, the known leader-election
    // divergence (README *Notes*: reputation read from QC signer bitmaps that twins make differ; it stalls runs without
    // any set change too, 2 of 2,000 reconfig seeds at n = 7). Printed, not hidden.
    const known = (plan: string, kind: string): boolean => kind === "liveness" && plan.includes("twins");
    const unexplained = s.failures.flatMap((f) => f.violations.filter((v) => !known(f.plan, v.kind)).map((v) => `seed ${f.seed}: ${f.plan}\n  ${v.message}`));
    for (const f of s.failures) if (f.violations.every((v) => known(f.plan, v.kind))) t.diagnostic(`known twins liveness miss: n=${n} seed ${f.seed}`);
    assert.deepEqual(unexplained, [], `n=${n} from seed ${first}`);
    assert.ok(s.reconfig !== null && s.reconfig.switches > 0, `n=${n}: no epoch switch at all`);
  }
});

test("the epoch checker fails on replicas that disagree about an epoch, or go back", () => {
  const rec = new RunRecorder(3, false);
  for (const i of [0, 1, 2]) rec.epochStarted(i, 0, 1, [0, 1, 2, 3]);
  rec.epochStarted(0, 1, 12, [0, 1, 2, 3, 4]);
  rec.epochStarted(1, 1, 12, [0, 1, 2, 3, 4]);
  assert.deepEqual(checkEpochs(rec, [0, 1, 2]), []);
  // Replica 2 started epoch 1 one block later.
  rec.epochStarted(2, 1, 13, [0, 1, 2, 3, 4]);
  const v = checkEpochs(rec, [0, 1, 2]);
  assert.equal(v.length, 1);
  assert.match(v[0]!.message, /epoch 1: replica 0 started it at height 12 .* replica 2 at height 13/);
  // Members differ, and a replica goes back to an earlier epoch.
  const rec2 = new RunRecorder(2, false);
  rec2.epochStarted(0, 1, 12, [0, 1, 2, 3, 4]);
  rec2.epochStarted(1, 1, 12, [0, 1, 2, 4]);
  rec2.epochStarted(1, 0, 1, [0, 1, 2, 3]);
  const v2 = checkEpochs(rec2, [0, 1]).map((x) => x.message);
  assert.equal(v2.length, 2);
  assert.ok(v2.some((m) => /members \[0,1,2,3,4\].*\[0,1,2,4\]/.test(m)));
  assert.ok(v2.some((m) => /started epoch 0 after epoch 1/.test(m)));
});
