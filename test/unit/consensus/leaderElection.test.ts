/**
 * Leaders from committed history (ReputationElection). The oracle is written out by hand: which validators proposed or
 * signed in the window decides the rotation, `active[v mod |active|]`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReputationElection, RoundRobinElection } from "../../../src/consensus/leaderElection.js";
import type { CommittedBlock } from "../../../src/consensus/types.js";

/** A committed block of `view` at `height`, proposed by `proposer`, its header recording `signers` for the QC it
 *  extends (the election reads them only through the decoder passed in, here the identity over a plain list). */
function block(height: number, view: number, proposer: number, signers: number[]): CommittedBlock {
  return {
    block: { header: { height, view, proposer, parentSigners: Uint8Array.from(signers) } } as unknown as CommittedBlock["block"],
    hash: new Uint8Array(32),
    qc: { view, blockHash: new Uint8Array(32), signers: Uint8Array.from(signers), aggregateSignature: new Uint8Array(96) },
  };
}

const decode = (bits: Uint8Array): number[] => Array.from(bits);

function election(window = 4, lag = 2, n = 4): ReputationElection {
  return new ReputationElection(n, { windowBlocks: window, lagViews: lag }, decode);
}

test("without history, and while everyone is active, it is round robin", () => {
  const e = election();
  const rr = new RoundRobinElection(4);
  for (let v = 1; v < 20; v++) assert.equal(e.leader(v), rr.leader(v));
  // Heights 1..8, views 1..8, every block signed by all four.
  e.observe(Array.from({ length: 8 }, (_, i) => block(i + 1, i + 1, (i + 1) % 4, [0, 1, 2, 3])));
  for (let v = 1; v < 40; v++) assert.equal(e.leader(v), v % 4);
});

test("a validator absent from the window's proposers and signers is skipped; it is back once it signs again", () => {
  const e = election(4, 2);
  // Views 1..6 all signed by everyone; from view 7 validator 2 is gone (signers 0, 1, 3; it proposes nothing).
  const blocks: CommittedBlock[] = [];
  for (let v = 1; v <= 6; v++) blocks.push(block(v, v, v % 4, [0, 1, 2, 3]));
  let h = 7;
  for (let v = 7; v <= 16; v++) if (v % 4 !== 2) blocks.push(block(h++, v, v % 4, [0, 1, 3]));
  e.observe(blocks);
  // Leader of view v uses the last 4 blocks of view <= v - 2.
  // Committed views: 1..6, 7, 8, 9, 11, 12, 13, 15, 16 (2's views 10 and 14 have no block).
  // v = 12: the last 4 blocks of view <= 10 are views 9, 8, 7, 6; view 6 was signed by all -> round robin.
  assert.deepEqual(e.activeAt(12), []);
  assert.equal(e.leader(12), 0);
  // v = 13: views 11, 9, 8, 7 -> active [0, 1, 3], leader [0, 1, 3][13 % 3] = 1; then 14 -> 3, 15 -> 0.
  assert.deepEqual(e.activeAt(13), [0, 1, 3]);
  assert.equal(e.leader(13), 1);
  assert.equal(e.leader(14), 3);
  assert.equal(e.leader(15), 0);
  // v = 9: blocks of view <= 7: views 7, 5, 4, 3 -> 2 signed views 3..5 -> everyone -> round robin.
  assert.deepEqual(e.activeAt(9), []);
  assert.equal(e.leader(9), 1);
  // Validator 2 comes back: it signs the QC of the block of view 17.
  e.observe([block(h++, 17, 1, [1, 2, 3])]);
  assert.deepEqual(e.activeAt(19), []);
  assert.equal(e.leader(22), 2);
});

test("blocks already observed (a restart reloading history) are ignored; the answer depends on committed history only", () => {
  const a = election(3, 1);
  const b = election(3, 1);
  const blocks = [block(1, 1, 1, [0, 1, 3]), block(2, 2, 3, [0, 1, 3]), block(3, 4, 0, [0, 1, 3]), block(4, 5, 1, [0, 1, 3])];
  a.observe(blocks.slice(0, 2));
  a.observe(blocks.slice(1)); // overlapping: height 2 seen twice
  b.observe(blocks);
  for (let v = 1; v < 30; v++) assert.equal(a.leader(v), b.leader(v), `view ${v}`);
  assert.deepEqual(a.activeAt(6), [0, 1, 3]);
});

test("the genesis block counts for nobody, and signers that cannot be read count the proposer only", () => {
  const e = new ReputationElection(4, { windowBlocks: 2, lagViews: 1 }, (bits) => (bits[0] === 0xff ? null : Array.from(bits)));
  e.observe([block(0, 0, 0, [0, 1, 2, 3]), block(1, 1, 1, [0xff]), block(2, 2, 2, [])]);
  assert.deepEqual(e.activeAt(3), [1, 2]);
  assert.equal(e.leader(3), 2);
  assert.equal(e.leader(4), 1);
});

test("when commits stop for windowBlocks views below the lag, the leader is round robin over everyone again", () => {
  const e = election(4, 2);
  // Views 1..8 committed, signed by 0, 1, 3 only (2 outside the window): active [0, 1, 3].
  e.observe(Array.from({ length: 8 }, (_, i) => block(i + 1, i + 1, [0, 1, 3][i % 3]!, [0, 1, 3])));
  assert.deepEqual(e.activeAt(10), [0, 1, 3]);
  // Views 9.. commit nothing (say 3 died too: with active [0, 1, 3] every three consecutive views hold it).
  // The anchor is view 8 for every v >= 10; it goes stale once v - 2 - 8 > 4, i.e. from v = 15.
  assert.deepEqual(e.activeAt(14), [0, 1, 3]);
  assert.deepEqual(e.activeAt(15), []);
  for (let v = 15; v < 30; v++) assert.equal(e.leader(v), v % 4);
});
