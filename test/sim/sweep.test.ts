/**
 * Randomised seed sweeps across every scenario (issue 5 item 7): n = 4 and n = 7, at most f faulty, zero violations.
 * The base seed is random per run of the suite (printed; replay with QUIRE_SEED) so CI keeps exploring; the fixed
 * regression seeds below found real bugs once and run every time.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSweep } from "../../src/sim/runner.js";
import { SCENARIO_KINDS } from "../../src/sim/scenario.js";
import type { ScenarioKind } from "../../src/sim/scenario.js";
import { seededRng } from "../support/seed.js";

function assertClean(s: ReturnType<typeof runSweep>, label: string): void {
  const detail = s.failures.map((f) => `seed ${f.seed}: ${f.plan}\n  ${f.violations.map((v) => v.message).join("\n  ")}\n${f.trace.join("\n")}`).join("\n");
  assert.equal(s.violations, 0, `${label}\n${detail}`);
  assert.ok(s.commits > 0, `${label}: nothing committed`);
}

// Budget: since the simulator runs the shipping stack (execution, store, mempool, gossip) a run costs ≈ 0.3 s for
// n = 4 and ≈ 0.6 s for n = 7 on a quiet machine (30 views, random scenarios); the long sweeps are `quire sim`'s.
const RANDOM_RUNS = { 4: 40, 7: 12 } as const;
const PER_KIND_RUNS = { 4: 2, 7: 1 } as const;

for (const n of [4, 7] as const) {
  test(`n=${n}: ${RANDOM_RUNS[n]} random scenario mixes, at most f faulty`, (t) => {
    const first = seededRng(t).u32();
    assertClean(runSweep({ validators: n, seeds: RANDOM_RUNS[n], firstSeed: first, kinds: "random", views: 30 }), `random n=${n} from seed ${first}`);
  });

  test(`n=${n}: every scenario kind on its own`, (t) => {
    const first = seededRng(t).u32();
    for (const kind of SCENARIO_KINDS) {
      const s = runSweep({ validators: n, seeds: PER_KIND_RUNS[n], firstSeed: first, kinds: [kind], views: 30 });
      assertClean(s, `${kind} n=${n} from seed ${first}`);
    }
  });
}

test("fixed regression seeds", () => {
  // n = 4 random mixes that once failed: 16, 27, 39, 40 (a certified block lost by every replica that held it, before
  // blocks were stored), 201, 276 (a sync ping-pong with a peer lacking the block, before requests rotated peers).
  // They failed on the simulator's first (interim) network; their plans are unchanged, but the message delays drawn
  // by net's MemoryNetwork differ, so they are kept as hard mixes rather than exact reproductions.
  const cases: [number, readonly ScenarioKind[] | "random", number[]][] = [
    [4, "random", [16, 27, 39, 40, 201, 276, 390, 393, 427, 456, 457, 487]],
    // Three replicas restarted in three different views; the one ahead had lost the TC that moved it on (before the
    // last TC was persisted), so nobody could lift the others.
    [4, "random", [6186]],
    [7, "random", [742, 13, 641]],
    [4, ["crash-restart", "partition", "lossy"], [1, 2, 3, 4, 5]],
  ];
  for (const [n, kinds, seeds] of cases) {
    for (const seed of seeds) assertClean(runSweep({ validators: n, seeds: 1, firstSeed: seed, kinds, views: 30 }), `regression n=${n} seed ${seed}`);
  }
});
