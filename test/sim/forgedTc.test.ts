/**
 * The forged high-QC claim in a timeout certificate (issue 10 item 3), run end to end in the simulator.
 *
 * A "forged-tc" validator builds, from 2f honest timeouts of view v and one of its own claiming a QC of view v − 1
 * that no honest replica holds, a TC whose aggregate signature verifies, and broadcasts it first. Before protocol
 * version 2 a TC carried no QC and was accepted on its signature: replicas that got it before their own TC entered
 * v + 1 with a bar (qc.view >= v − 1) the next leader could not meet, so the view was lost, and the next, and so on.
 * Now a TC carries the QC of its largest claim and validation refuses one that does not (TC_HIGH_QC_MISMATCH).
 *
 * The old rule is the test-only `tcRule: "claimed"` (it skips exactly that check; SchemeCertificatesOptions). It stands
 * for the code before this change faithfully: the same forger ported onto that code (f39b381) gave, seed for seed
 * (1–6, both schedules below), the very runs this switch gave on the same base. The checker is the simulator's own liveness check (checkers.ts
 * `checkLiveness`: after GST, with at most f faulty, every live honest replica commits within the bound and keeps
 * committing).
 *
 * The network schedule is the adversary's, within the synchrony bound after GST: the forger's links take 1 ms, the
 * honest replicas' links 20–50 ms (δ = 50 ms), so its TC reaches the next leader before the last honest timeout does.
 * With every link drawing 1–50 ms instead, the old rule loses views only where the forger wins that race (measured
 * on seeds 1–6: 9–13 blocks by view 30 in 7.7–15.7 s of virtual time, against 12–15 in 6.8–8.9 s under the current
 * rule), too rarely for a 30 s liveness bound to notice — so this test gives the adversary the schedule it needs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Simulation } from "../../src/sim/simulation.js";
import type { SimResult } from "../../src/sim/simulation.js";

const SEEDS = [1, 2, 3];
const HONEST_LINK = { kind: "uniform", minMs: 20, maxMs: 50 } as const;
const FORGER_LINK = { kind: "fixed", ms: 1 } as const;

/** One Byzantine "forged-tc" validator among 4, under the adversary's schedule (see the module comment). */
function run(seed: number, tcRule: "carried" | "claimed"): SimResult {
  const sim = new Simulation({ validators: 4, seed, kinds: ["forged-tc"], byzantine: 1, views: 30, trace: true, tcRule, plan: (p) => ({ ...p, deltaMs: HONEST_LINK.maxMs }) });
  const forger = [...sim.plan.byzantine.keys()];
  assert.deepEqual([...sim.plan.byzantine.values()], ["forged-tc"]);
  const n = sim.plan.validatorOf.length;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) if (i !== j) sim.network.setLinkFaults(i, j, { delay: forger.includes(i) || forger.includes(j) ? FORGER_LINK : HONEST_LINK });
  }
  sim.run();
  return sim.result();
}

function forgeries(r: SimResult): number {
  return r.trace!.filter((e) => e.kind === "forged-tc").length;
}

test("old rule (a TC's claims taken on its signature): the forged claim stalls every view after GST and the liveness checker reports it", () => {
  for (const seed of SEEDS) {
    const r = run(seed, "claimed");
    assert.ok(forgeries(r) > 10, `seed ${seed}: ${forgeries(r)} forged TCs`);
    assert.equal(r.rejections["TC_HIGH_QC_MISMATCH"] ?? 0, 0, "the old rule accepts them");
    const liveness = r.violations.filter((v) => v.kind === "liveness");
    assert.ok(liveness.length > 0, `seed ${seed}: no liveness violation (height ${r.committedHeight})`);
    assert.deepEqual(r.violations.filter((v) => v.kind !== "liveness"), [], `seed ${seed}: safety holds all the same`);
    // Nothing after GST at all: each lost view's timeouts hand the forger the next forgery.
    const gst = r.plan.gstMs;
    for (const i of [0, 1, 2, 3].filter((i) => !r.plan.byzantine.has(i))) assert.ok(r.recorder.commits[i]!.every((c) => c.at <= gst), `seed ${seed}: replica ${i} committed after GST`);
  }
});

test("current rule (a TC carries the QC of its largest claim): the same attack is refused and the checker finds nothing", () => {
  for (const seed of SEEDS) {
    const r = run(seed, "carried");
    assert.ok(forgeries(r) > 0, `seed ${seed}: the forger never acted`);
    assert.ok((r.rejections["TC_HIGH_QC_MISMATCH"] ?? 0) > 0, `seed ${seed}: forged TCs not refused as TC_HIGH_QC_MISMATCH`);
    assert.deepEqual(r.violations, [], `seed ${seed}`);
    assert.ok(r.committedHeight >= 10, `seed ${seed}: height ${r.committedHeight} by view ${r.maxView}`);
  }
});
