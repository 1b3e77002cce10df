/**
 * The leader modes of issue 15 (consensus/leaderElection.ts `buildLeaderElection`): every mode is a function of the
 * view and committed history only — two replicas fed the same chain in different chunks, and one restarted from the
 * `historyBlocks` it asks for, name the same leaders — plus each mode's own rule against a hand-written oracle.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildLeaderElection, LEADER_MODES, REPUTABLE_SCORE, ScoreElection, STICKY_GRACE_VIEWS, StickyElection, WeightedElection } from "../../../src/consensus/leaderElection.js";
import type { LeaderElection } from "../../../src/consensus/leaderElection.js";
import type { CommittedBlock } from "../../../src/consensus/types.js";
import { SeededRng } from "../../../src/util/rng.js";

/** A committed block whose header records `signers` as the parent QC's (decoded by `decode`, the identity here). */
function block(height: number, view: number, proposer: number, signers: number[]): CommittedBlock {
  return {
    block: { header: { height, view, proposer, parentSigners: Uint8Array.from(signers) } } as unknown as CommittedBlock["block"],
    hash: new Uint8Array(32),
    qc: { view, blockHash: new Uint8Array(32), signers: new Uint8Array(0), aggregateSignature: new Uint8Array(96) },
  };
}
const decode = (bits: Uint8Array): number[] => Array.from(bits);

/**
 * 150 committed blocks over 7 validators with timeouts in between; validator 6 stops at height 40 (no vote, no
 * proposal), validator 2 signs only now and then.
 */
function history(): CommittedBlock[] {
  const rng = new SeededRng(7);
  const out: CommittedBlock[] = [];
  let view = 0;
  for (let h = 1; h <= 150; h++) {
    view += rng.chance(0.2) ? rng.range(2, 4) : 1;
    const live = h < 40 ? [0, 1, 2, 3, 4, 5, 6] : [0, 1, 2, 3, 4, 5];
    const signers = live.filter((v) => v !== 2 || rng.chance(0.3));
    out.push(block(h, view, live[rng.range(0, live.length - 1)]!, h === 1 ? [] : signers));
  }
  return out;
}

function leaders(e: LeaderElection, from: number, to: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v++) out.push(e.leader(v));
  return out;
}

test("every mode: two replicas fed the same history in different chunks, and a restarted one, name the same leaders", () => {
  const chain = history();
  const lastView = chain.at(-1)!.block.header.view;
  for (const leaderMode of LEADER_MODES) {
    const config = { leaderMode, leaderWeights: [5, 1, 1, 1, 1, 1, 2] };
    const a = buildLeaderElection(config, 7, decode);
    const b = buildLeaderElection(config, 7, decode);
    // A in one go at the end; B block by block with overlaps, asking for leaders as it goes (caches must not stick).
    const rng = new SeededRng(11);
    for (let i = 0; i < chain.length; ) {
      const to = Math.min(chain.length, i + rng.range(1, 9));
      b.observe?.(chain.slice(Math.max(0, i - 3), to));
      b.leader(chain[to - 1]!.block.header.view + 1);
      i = to;
    }
    a.observe?.(chain);
    assert.deepEqual(leaders(b, 1, lastView + 40), leaders(a, 1, lastView + 40), leaderMode);
    assert.deepEqual(b.scores?.(), a.scores?.(), `${leaderMode}: scores`);
    // A restart: the newest historyBlocks blocks (the whole chain when a mode asks for more), views after the head.
    const c = buildLeaderElection(config, 7, decode);
    c.observe?.(chain.slice(Math.max(0, chain.length - c.historyBlocks)));
    assert.deepEqual(leaders(c, lastView + 1, lastView + 40), leaders(a, lastView + 1, lastView + 40), `${leaderMode}: restarted`);
  }
});

test("reputation: the stopped validator leads no view once the window passed; validator 2 (rarely signing) still leads", () => {
  const chain = history();
  const e = buildLeaderElection({ leaderMode: "reputation" }, 7, decode);
  e.observe?.(chain);
  const stop = chain[39]!.block.header.view;
  const after = leaders(e, stop + 12 + 8 + 1, chain.at(-1)!.block.header.view + 8);
  assert.equal(after.filter((l) => l === 6).length, 0);
  assert.ok(after.filter((l) => l === 2).length > 0, "active with a low score still leads sometimes");
  assert.equal(e.scores?.()[6], 0, "its score sank");
});

test("reputation weights: 0 inactive, 1 for a failed leader or a score below REPUTABLE_SCORE, 1 + s² otherwise; no history: round robin", () => {
  const e = new ScoreElection(4, { windowBlocks: 4, lagViews: 2 }, decode);
  for (let v = 1; v < 12; v++) assert.equal(e.leader(v), v % 4);
  // Heights 1..6, views 1..6, signed by 0, 1, 2; 3 never signs or proposes.
  e.observe(Array.from({ length: 6 }, (_, i) => block(i + 1, i + 1, i % 3, i === 0 ? [] : [0, 1, 2])));
  assert.deepEqual(Array.from(e.weightsAt(8)), [10_001, 10_001, 10_001, 0]);
  // View 7 is skipped: its leader (decided by the block of view 5) fails, loses 20 and is flagged for the window.
  const failed = e.leader(7);
  assert.notEqual(failed, 3);
  e.observe([block(7, 8, (failed + 1) % 3, [0, 1, 2])]);
  const w = Array.from(e.weightsAt(10));
  assert.deepEqual(w, [0, 1, 2, 3].map((v) => (v === 3 ? 0 : v === failed ? 1 : 10_001)));
  assert.equal(e.scores()[failed], 80, "100 - 20 + 0.5 for its vote, rounded down");
  assert.ok(80 < REPUTABLE_SCORE);
  // Commits stop: once the anchor is windowBlocks views stale, round robin over everyone.
  assert.equal(e.leader(8 + 2 + 5), (8 + 2 + 5) % 4);
});

test("sticky: the anchor's proposer leads; after STICKY_GRACE_VIEWS views without a commit the lead rotates one a view", () => {
  const e = new StickyElection(4, 8);
  assert.equal(e.leader(5), 1, "no anchor: round robin");
  // Views 1..10 committed, proposed by 2 (views 1..6) then 3 (7..10).
  e.observe(Array.from({ length: 10 }, (_, i) => block(i + 1, i + 1, i < 6 ? 2 : 3, [])));
  assert.equal(STICKY_GRACE_VIEWS, 2);
  assert.deepEqual(leaders(e, 9, 23), [2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 0, 1, 2]);
});

test("weighted: no history, shares follow the weights, another set size counts equal weights", () => {
  const e = new WeightedElection(4, [3, 1, 1, 1]);
  const counts = [0, 0, 0, 0];
  for (let v = 1; v <= 60_000; v++) counts[e.leader(v)]!++;
  assert.ok(Math.abs(counts[0]! / 60_000 - 0.5) < 0.02, String(counts));
  for (const c of counts.slice(1)) assert.ok(Math.abs(c / 60_000 - 1 / 6) < 0.02, String(counts));
  assert.deepEqual(leaders(new WeightedElection(4, [3, 1, 1, 1]), 1, 50), leaders(e, 1, 50));
  const other = new WeightedElection(5, [3, 1, 1, 1]);
  const seen = new Set(leaders(other, 1, 200));
  assert.equal(seen.size, 5);
  assert.throws(() => new WeightedElection(2, [1, 0]), RangeError);
});

test("provable misbehaviour: a successful evidence tx costs its validator 60 points in the block after it (parentResults)", () => {
  // A stand-in for the evidence module's reading: a tx [0x41, v] proves v unless the results mark every tx failed.
  const misbehaviourOf = (txs: readonly Uint8Array[], results: Uint8Array): number[] => (results[0] === 0xff ? [] : txs.filter((t) => t[0] === 0x41).map((t) => t[1]!));
  const withBody = (b: CommittedBlock, txs: Uint8Array[], parentResults: Uint8Array): CommittedBlock => ({ ...b, block: { ...b.block, txs, header: { ...b.block.header, parentResults } } });
  const chain = (failed: boolean): CommittedBlock[] => [
    withBody(block(1, 1, 0, []), [], new Uint8Array(0)),
    withBody(block(2, 2, 1, [0, 1, 2, 3]), [Uint8Array.of(0x41, 3)], new Uint8Array(0)),
    withBody(block(3, 3, 2, [0, 1, 2, 3]), [], failed ? Uint8Array.of(0xff) : Uint8Array.of(0)),
  ];
  for (const leaderMode of ["reputation", "skip-inactive"] as const) {
    const e = buildLeaderElection({ leaderMode }, 4, decode, misbehaviourOf);
    const c = chain(false);
    e.observe?.(c.slice(0, 2));
    assert.equal(e.scores?.()[3], 100, `${leaderMode}: not before its results are certified`);
    e.observe?.(c.slice(2));
    assert.equal(e.scores?.()[3], 40, `${leaderMode}: 100 - 60 + 0.5 for its vote`);
    const f = buildLeaderElection({ leaderMode }, 4, decode, misbehaviourOf);
    f.observe?.(chain(true));
    assert.equal(f.scores?.()[3], 100, `${leaderMode}: a failed evidence tx proves nothing`);
  }
});
