import { test } from "node:test";
import assert from "node:assert/strict";
import { runSimulation } from "../../src/sim/simulation.js";
import type { ScenarioPlan } from "../../src/sim/scenario.js";
import { PERFECT_LINK } from "../../src/net/faults.js";
import { runSweep } from "../../src/sim/runner.js";
import { Replica } from "../../src/consensus/replica.js";

test("a run replays exactly from its seed", () => {
  const a = runSimulation({ validators: 4, seed: 99, kinds: "random", views: 30, trace: true });
  const b = runSimulation({ validators: 4, seed: 99, kinds: "random", views: 30, trace: true });
  assert.deepEqual(a.trace, b.trace);
  assert.deepEqual(a.recorder.commits, b.recorder.commits);
  assert.equal(a.messages, b.messages);
  const c = runSimulation({ validators: 4, seed: 100, kinds: "random", views: 30, trace: true });
  assert.notDeepEqual(a.trace, c.trace);
});

test("happy path with a fixed 10 ms link delay: a block commits two rounds (4 delays) after it is proposed", () => {
  const r = runSimulation({ validators: 4, seed: 1, kinds: ["happy"], views: 60, happyDelayMs: 10 });
  assert.deepEqual(r.violations, []);
  const latencies = new Map<string, number[]>();
  for (const log of r.recorder.commits) for (const c of log) (latencies.get(c.hash) ?? latencies.set(c.hash, []).get(c.hash)!).push(c.at);
  let checked = 0;
  for (const log of r.recorder.commits[0]!) {
    const times = latencies.get(log.hash)!;
    if (times.length < 4) continue; // the run stopped before every replica learnt the last commits
    // Proposed at view start; its child's QC forms at the leader of view + 2 after proposal, vote, proposal, vote.
    const proposedAt = (log.view - 1) * 20; // one view = proposal + vote = 20 ms on this schedule
    assert.equal(Math.min(...times) - proposedAt, 40, `block of view ${log.view}`);
    assert.equal(Math.max(...times) - proposedAt, 50, `block of view ${log.view}`); // the others learn it one delay later
    checked++;
  }
  assert.ok(checked > 50);
});

/** Two twin pairs out of four validators (2 > f = 1) with each half of the network holding a quorum of keys. */
function splitBrain(p: ScenarioPlan): ScenarioPlan {
  return {
    ...p,
    kinds: ["twins"],
    validatorOf: [0, 1, 2, 3, 2, 3],
    byzantine: new Map([
      [2, "twin"],
      [3, "twin"],
    ]),
    crashes: [],
    partitions: [{ fromMs: 0, toMs: 5_000, groups: [[0, 2, 3], [1, 4, 5]] }],
    gstMs: 5_000,
    preGst: { ...PERFECT_LINK, delay: { kind: "fixed", ms: 5 } },
    postGst: { ...PERFECT_LINK, delay: { kind: "fixed", ms: 5 } },
  };
}

test("more than f Byzantine (two twin pairs, n = 4): the safety checker reports the conflicting commits", () => {
  const r = runSimulation({ validators: 4, seed: 1, kinds: ["twins"], views: 30, byzantine: 2, plan: splitBrain });
  const safety = r.violations.filter((v) => v.kind === "safety");
  assert.ok(safety.length > 0, "no safety violation reported");
  assert.deepEqual([...new Set(safety.flatMap((v) => v.instances))].sort(), [0, 1]);
  // The sweep reports it too, with the seed and a trace, and liveness is not demanded above f faults.
  const s = runSweep({ validators: 4, seeds: 10, firstSeed: 1, kinds: ["twins"], views: 30, byzantine: 2 });
  assert.ok(s.violations > 0 && s.failures.length > 0);
  assert.ok(s.failures[0]!.trace.length > 0);
  assert.ok(s.failures.every((f) => f.violations.every((v) => v.kind !== "liveness")));
});

test("one twin pair (= f) under the same split: safe", () => {
  const r = runSimulation({
    validators: 4,
    seed: 1,
    kinds: ["twins"],
    views: 30,
    byzantine: 1,
    plan: (p) => ({ ...splitBrain(p), validatorOf: [0, 1, 2, 3, 3], byzantine: new Map([[3, "twin"]]), partitions: [{ fromMs: 0, toMs: 5_000, groups: [[0, 2, 3], [1, 4]] }] }),
  });
  assert.deepEqual(r.violations, []);
  assert.ok(r.committedHeight > 10);
});

test("an equivocating leader and a double voter are caught as evidence and change nothing", () => {
  const s = runSimulation({ validators: 4, seed: 5, kinds: ["equivocation"], views: 40, byzantine: 1 });
  assert.deepEqual(s.violations, []);
  assert.ok(s.evidence > 0, "no evidence recorded");
  assert.ok((s.rejections["EQUIVOCATION"] ?? 0) > 0);
  const d = runSimulation({ validators: 4, seed: 5, kinds: ["double-vote"], views: 40, byzantine: 1 });
  assert.deepEqual(d.violations, []);
  assert.ok(d.evidence > 0);
});

test("corrupted vote signatures: refused by validation, or named by the collector's bisection in optimistic mode", () => {
  for (const optimisticVotes of [false, true]) {
    const r = runSimulation({ validators: 4, seed: 8, kinds: ["bad-signatures"], views: 40, byzantine: 1, plan: (p) => ({ ...p, optimisticVotes }) });
    assert.deepEqual(r.violations, []);
    const code = optimisticVotes ? "CORE_INVALID_VOTE_SIGNATURE" : "BAD_SIGNATURE";
    assert.ok((r.rejections[code] ?? 0) > 0, `${code}: ${JSON.stringify(r.rejections)}`);
  }
});

test("the persist-before-send check fails a replica that sends before persisting", () => {
  const original = Replica.prototype.step;
  Replica.prototype.step = function (state, input, now) {
    const r = original.call(this, state, input, now);
    return { state: r.state, effects: r.effects.filter((e) => e.kind !== "persist") };
  };
  try {
    const r = runSimulation({ validators: 4, seed: 1, kinds: ["happy"], views: 10 });
    assert.ok(r.violations.some((v) => v.kind === "safety" && v.message.includes("before persisting")));
  } finally {
    Replica.prototype.step = original;
  }
});

test("the liveness checker fails a run where replicas never commit after GST", () => {
  // Two crash-stopped validators out of four is more than f: the run cannot commit, but liveness is not demanded...
  const excused = runSimulation({
    validators: 4,
    seed: 3,
    kinds: ["crash-stop"],
    views: 10,
    plan: (p) => ({ ...p, crashes: [0, 1].map((instance) => ({ instance, atMs: 0, restartAtMs: null, cutAfterIo: 0 })), livenessBoundMs: 2_000 }),
  });
  assert.deepEqual(excused.violations, []);
  // ...while a partition that never heals, with the plan claiming synchrony, is reported.
  const stuck = runSimulation({
    validators: 4,
    seed: 3,
    kinds: ["partition"],
    views: 10,
    plan: (p) => ({ ...p, partitions: [{ fromMs: 1, toMs: 1e9, groups: [[0, 1], [2, 3]] }], gstMs: 0, livenessBoundMs: 2_000 }),
  });
  assert.ok(stuck.violations.some((v) => v.kind === "liveness"));
});

test("Byzantine leaders that withhold, justify with stale or inflated certificates or forge their parent's outcome, and a lying sync peer, are refused and change nothing", () => {
  const expect: Record<string, readonly string[]> = {
    "stale-justify": ["UNJUSTIFIED"],
    "inflated-justify": ["QC_BAD_AGGREGATE", "QC_VIEW_NOT_BELOW"],
    "lying-sync": ["BAD_TX_ROOT", "QC_BAD_AGGREGATE", "SYNC_NOT_CHAIN", "SYNC_QC_MISMATCH"],
    // The core's execution check: the only place a forged parent outcome can be caught.
    "bad-exec": ["CORE_BAD_PARENT_STATE_ROOT", "CORE_BAD_PARENT_RESULTS"],
  };
  for (const kind of ["withhold", "stale-justify", "inflated-justify", "lying-sync", "bad-exec"] as const) {
    const seen = new Map<string, number>();
    let lies = 0;
    let syncs = 0;
    for (const seed of [1, 2, 3]) {
      const r = runSimulation({ validators: 4, seed, kinds: [kind], views: 40, byzantine: 1, trace: true });
      assert.deepEqual(r.violations, [], `${kind} seed ${seed}`);
      assert.ok(r.committedHeight > 20, `${kind} seed ${seed}: height ${r.committedHeight}`);
      for (const [code, n] of Object.entries(r.rejections)) seen.set(code, (seen.get(code) ?? 0) + n);
      const byz = [...r.plan.byzantine.keys()];
      lies += r.trace!.filter((e) => byz.includes(e.instance) && ["withhold", "stale-qc", "inflated-qc", "lying-sync", "bad-exec"].includes(e.kind)).length;
      syncs += r.trace!.filter((e) => !byz.includes(e.instance) && e.kind === "syncRequest").length;
    }
    assert.ok(lies > 0, `${kind}: the behaviour never acted`);
    if (kind === "withhold") assert.ok(syncs > 0, "replicas left out of a proposal fetch it by sync");
    else assert.ok(expect[kind]!.some((code) => (seen.get(code) ?? 0) > 0), `${kind}: none of ${expect[kind]!.join(", ")} in ${JSON.stringify([...seen])}`);
  }
});
