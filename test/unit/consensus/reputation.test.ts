/**
 * ReputationTracker against scores computed by hand from the rules in src/consensus/reputation.ts (defaults: a miss
 * costs 1 point × the run of misses up to 10; a skipped view costs its leader 20 × its run of failures up to 50; a vote
 * and a committed proposal win back 0.5 each; misbehaviour costs 60; scores stay in 0..100). Every expected number
 * below is written out, not computed by the tracker.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReputationTracker } from "../../../src/consensus/reputation.js";
import type { ScoredBlock } from "../../../src/consensus/reputation.js";

const b = (height: number, view: number, proposer: number, signers: number[] | null): ScoredBlock => ({ height, view, proposer, signers });
/** Round robin over 4: the leader the skipped views are charged to. */
const rr4 = (v: number): number => v % 4;

/** The hand-worked history: every step's scores in the comments (validators 0, 1, 2, 3). */
const HISTORY: readonly ScoredBlock[] = [
  b(0, 0, 0, null), // genesis: only sets the view skipped views count from
  b(1, 1, 1, null), // no parent signers: no votes; proposer 1 +0.5, capped         100 100 100 100
  b(2, 2, 2, [0, 1, 2]), // 3 misses (run 1): -1                                     100 100 100 99
  b(3, 3, 3, [0, 1, 2]), // 3 misses (run 2): -2; proposes: +0.5                     100 100 100 97.5
  b(4, 5, 1, [0, 1, 3]), // view 4 skipped: leader 0 (failure run 1) -20; 0 votes +0.5;
  //                        2 misses (run 1) -1; 3 votes +0.5; 1 proposes             80.5 100 99 98
  b(5, 9, 1, [1, 2, 3]), // views 6, 7, 8 skipped: leaders 2 (-20), 3 (-20), 0 (run 2: -40);
  //                        0 misses -1; 1, 2, 3 vote +0.5                            39.5 100 79.5 78.5
];

test("hand-computed scores: escalating misses, skipped-view leaders (escalating), recovery, caps", () => {
  const t = new ReputationTracker(4, undefined, rr4);
  const charged = t.observe(HISTORY);
  assert.deepEqual(charged, [0, 2, 3, 0], "one entry per skipped view: 4, 6, 7, 8");
  assert.deepEqual([t.milli(0), t.milli(1), t.milli(2), t.milli(3)], [39_500, 100_000, 79_500, 78_500]);
  t.misbehaved(3); // 78.5 - 60 = 18.5
  assert.equal(t.milli(3), 18_500);
  // Height 6, view 10, proposed by 0 (its failure run ends), signed by 0, 1, 2: 3 misses (run 1) -1 → 17.5;
  // 0: +0.5 vote +0.5 proposal → 40.5; 1: 100; 2: 80.
  t.observe([b(6, 10, 0, [0, 1, 2])]);
  assert.deepEqual([t.milli(0), t.milli(1), t.milli(2), t.milli(3)], [40_500, 100_000, 80_000, 17_500]);
  // Height 7, view 12: view 11 skipped, leader 3 (failure run 2: -40 → 0, capped); 3 misses again (run 2) → still 0;
  // 0: 41; 1: 100; 2: +0.5 vote +0.5 proposal → 81.
  t.observe([b(7, 12, 2, [0, 1, 2])]);
  assert.deepEqual([t.milli(0), t.milli(1), t.milli(2), t.milli(3)], [41_000, 100_000, 81_000, 0]);
  assert.deepEqual(t.scores(), [41, 100, 81, 0]);
  assert.deepEqual(t.top(2), [1, 2]);
  assert.deepEqual(t.top(9), [1, 2, 0, 3]);
});

test("a validator that stopped voting: 1, 2, … 10, 10, … points a block — 5 left after 14 misses, 0 after 15", () => {
  const t = new ReputationTracker(4);
  const blocks = Array.from({ length: 15 }, (_, i) => b(i + 1, i + 1, 0, [0, 1, 2]));
  t.observe(blocks.slice(0, 14));
  assert.equal(t.milli(3), 5_000); // 100 - (1 + 2 + … + 10) - 4 × 10
  t.observe(blocks.slice(14));
  assert.equal(t.milli(3), 0);
  // One vote resets the run: the next miss costs 1 again, after +0.5.
  t.observe([b(16, 16, 0, [0, 1, 2, 3]), b(17, 17, 0, [0, 1, 2])]);
  assert.equal(t.milli(3), 0); // 0 + 0.5 - 1, capped at 0
  t.observe([b(18, 18, 0, [0, 1, 2, 3]), b(19, 19, 0, [0, 1, 2, 3]), b(20, 20, 0, [0, 1, 2, 3])]);
  assert.equal(t.milli(3), 1_500);
});

test("heights already seen are ignored; a snapshot restored elsewhere continues exactly; ties in top go to the lower index", () => {
  const a = new ReputationTracker(4, undefined, rr4);
  a.observe(HISTORY.slice(0, 4));
  const snap = JSON.parse(JSON.stringify(a.snapshot())) as ReturnType<ReputationTracker["snapshot"]>;
  a.observe(HISTORY); // heights 0..3 again: ignored
  const c = new ReputationTracker(4, undefined, rr4);
  c.restore(snap);
  c.observe(HISTORY.slice(4));
  assert.deepEqual(c.snapshot(), a.snapshot());
  assert.deepEqual(a.scores(), [39, 100, 79, 78]);
  assert.deepEqual(new ReputationTracker(5).top(3), [0, 1, 2]);
  assert.throws(() => c.restore({ ...snap, milli: [1, 2, 3] }), RangeError);
  assert.throws(() => c.restore({ ...snap, milli: [0, 0, 0, 100_001] }), RangeError);
});
