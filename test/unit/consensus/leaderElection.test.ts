/**
 * Leaders from committed history (ReputationElection). The oracle is written out by hand: the views of the window that
 * hold no committed block exclude their round-robin owners (newest first, at most f, never one that proposed a
 * committed block of the window), and a view whose owner is excluded goes to the next validator in index order that is
 * not.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReputationElection, RoundRobinElection } from "../../../src/consensus/leaderElection.js";
import type { CommittedBlock } from "../../../src/consensus/types.js";

/**
 * A committed block of `view` at `height`, proposed by the view's round-robin owner among `n`, its QC signed by
 * `signers` (a fake QC: the election must not read it).
 */
function block(height: number, view: number, signers: number[] = [0, 1, 2, 3], n = 4): CommittedBlock {
  return {
    block: { header: { height, view, proposer: view % n } } as unknown as CommittedBlock["block"],
    hash: new Uint8Array(32),
    qc: { view, blockHash: new Uint8Array(32), signers: Uint8Array.from(signers), aggregateSignature: new Uint8Array(96) },
  };
}

/** Blocks at consecutive heights from 1, one per view listed. */
function chain(views: number[], signers?: number[], n = 4): CommittedBlock[] {
  return views.map((v, i) => block(i + 1, v, signers, n));
}

function election(window = 4, lag = 2, n = 4): ReputationElection {
  return new ReputationElection(n, { windowViews: window, lagViews: lag });
}

test("without history, and while no view of the window failed, it is round robin", () => {
  const e = election();
  const rr = new RoundRobinElection(4);
  for (let v = 1; v < 20; v++) assert.equal(e.leader(v), rr.leader(v));
  e.observe([block(0, 0), ...chain([1, 2, 3, 4, 5, 6, 7, 8])]);
  for (let v = 1; v < 40; v++) assert.equal(e.leader(v), v % 4);
});

test("the owner of a failed view of the window is skipped for the next validator; it is back once the window has moved on", () => {
  const e = election(4, 2);
  // Validator 2 is down from view 6: its views 6 and 10 commit nothing.
  e.observe([block(0, 0), ...chain([1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18])]);
  // v = 9: anchor view 7 (<= 9 - 2), window views 4..7: view 6 failed -> 2 excluded; 9 % 4 = 1 leads itself.
  assert.deepEqual(e.excludedAt(9), [2]);
  assert.equal(e.leader(9), 1);
  // v = 10: anchor view 8, window 5..8 -> 2 excluded, its view goes to 3.
  assert.deepEqual(e.excludedAt(10), [2]);
  assert.equal(e.leader(10), 3);
  assert.equal(e.leader(11), 3);
  assert.equal(e.leader(12), 0);
  // v = 13: anchor view 11, window 8..11: view 10 failed -> still 2.
  assert.equal(e.leader(14), 3);
  // v = 17: anchor view 15, window 12..15: nothing failed -> round robin, 2 gets its view back.
  assert.deepEqual(e.excludedAt(17), []);
  assert.equal(e.leader(18), 2);
  // v = 8: anchor view 5, window 2..5: nothing failed yet.
  assert.deepEqual(e.excludedAt(8), []);
});

test("a validator that proposed a committed block of the window is not excluded for a failed view", () => {
  const e = new ReputationElection(7, { windowViews: 12, lagViews: 1 });
  // Views 5, 7, 8 and 10 failed (owners 5, 0, 1, 3); 1, 3 and 5 proposed committed blocks of the window, 0 did not.
  e.observe([block(0, 0, undefined, 7), ...chain([1, 2, 3, 4, 6, 9, 11, 12], undefined, 7)]);
  assert.deepEqual(e.excludedAt(13), [0]);
  assert.equal(e.leader(13), 6);
  assert.equal(e.leader(14), 1); // 14 mod 7 = 0, excluded: the next one
  assert.equal(e.leader(15), 1);
});

test("at most f validators are excluded, the newest failures first; runs of excluded validators are skipped together", () => {
  const e = new ReputationElection(7, { windowViews: 12, lagViews: 1 });
  // Views 1..9 failed (owners 1..6, 0, 1, 2): the newest, 9 and 8, exclude 2 and 1; f = 2 stops there.
  e.observe([block(0, 0, undefined, 7), ...chain([10, 11, 12], undefined, 7)]);
  assert.deepEqual(e.excludedAt(15), [1, 2]);
  assert.equal(e.leader(15), 3);
  assert.equal(e.leader(16), 3);
  assert.equal(e.leader(17), 3);
  assert.equal(e.leader(18), 4);
  // n = 4 (f = 1): one excluded at most, and the next validator wraps around.
  const four = election(6, 1);
  four.observe([block(0, 0), ...chain([1, 4, 5])]); // views 2 and 3 failed: 3, the newest, is excluded
  assert.deepEqual(four.excludedAt(6), [3]);
  assert.equal(four.leader(7), 0);
  assert.equal(four.leader(6), 2);
});

test("QC signers do not matter: replicas holding different QCs for the same blocks agree on every leader", () => {
  // The sim seed n = 7, 1369808434: twins built two QCs for one block and replicas split between them.
  const a = new ReputationElection(7, { windowViews: 12, lagViews: 8 });
  const b = new ReputationElection(7, { windowViews: 12, lagViews: 8 });
  const views = [1, 3, 8, 9, 10];
  a.observe([block(0, 0), ...chain(views, [1, 2, 3, 5, 6])]);
  b.observe([block(0, 0), ...chain(views, [0, 1, 2, 3, 5])]);
  for (let v = 1; v < 60; v++) assert.equal(a.leader(v), b.leader(v), `view ${v}`);
});

test("blocks already observed (a restart reloading history) are ignored; a restart with historyBlocks blocks answers as before", () => {
  const full = election(3, 2);
  const views = [1, 2, 4, 5, 6, 9, 10, 11, 12, 14, 15, 16, 17, 18];
  const blocks = [block(0, 0), ...chain(views)];
  full.observe(blocks.slice(0, 5));
  full.observe(blocks.slice(3)); // overlapping: heights 3 and 4 seen twice
  const reference = election(3, 2);
  reference.observe(blocks);
  // A replica restarted at the head loads only the last historyBlocks blocks.
  const restarted = election(3, 2);
  restarted.observe(blocks.slice(-restarted.historyBlocks));
  for (let v = 19; v < 40; v++) {
    assert.equal(full.leader(v), reference.leader(v), `view ${v}`);
    assert.equal(restarted.leader(v), reference.leader(v), `view ${v}`);
  }
  // v = 12: anchor view 10, window 8..10: view 8 failed (owner 0). v = 17: anchor view 15, window 13..15: view 13 (1).
  assert.deepEqual(reference.excludedAt(12), [0]);
  assert.deepEqual(restarted.excludedAt(17), [1]);
  assert.deepEqual(reference.excludedAt(17), [1]);
});

test("when commits stop for windowViews views below the lag, the leader is round robin over everyone again", () => {
  const e = election(4, 2);
  // View 6 failed (2 out), then commits stop after view 8.
  e.observe([block(0, 0), ...chain([1, 2, 3, 4, 5, 7, 8])]);
  assert.deepEqual(e.excludedAt(10), [2]);
  // The anchor is view 8 for every v >= 10; it goes stale once v - 2 - 8 > 4, i.e. from v = 15.
  assert.deepEqual(e.excludedAt(14), [2]);
  assert.deepEqual(e.excludedAt(15), []);
  for (let v = 15; v < 30; v++) assert.equal(e.leader(v), v % 4);
});

test("with f = 0 (n < 4) nobody is excluded: round robin", () => {
  const e = new ReputationElection(3, { windowViews: 8, lagViews: 1 });
  e.observe([block(0, 0, undefined, 3), ...chain([5, 6], undefined, 3)]);
  assert.deepEqual(e.excludedAt(7), []);
  for (let v = 7; v < 12; v++) assert.equal(e.leader(v), v % 3);
});
