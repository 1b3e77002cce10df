/**
 * The simulator's checkers must be able to fail: each test feeds a `RunRecorder` a hand-built run that breaks one
 * rule (one branch of one checker) and expects exactly that report, next to the correct run it was derived from,
 * which must pass. Blocks are real (hashed by the consensus block hasher), so the records are what a run produces.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { toHex } from "../../../src/util/bytes.js";
import type { CommittedBlock, SafetyState } from "../../../src/consensus/types.js";
import type { Message } from "../../../src/domain/types.js";
import { checkLiveness, checkSafety, checkValidity, RunRecorder, uncoveredSend } from "../../../src/sim/checkers.js";
import type { CommitRecord, Violation } from "../../../src/sim/checkers.js";
import { TestCommittee } from "../../support/consensus.js";

const c = new TestCommittee(4);
const GENESIS = toHex(c.genesisHash);

/** `length` blocks extending `from` (genesis by default), one per view from `view`, tagged so branches differ. */
function chain(tag: string, length: number, from: CommittedBlock | null = null, view = 1): CommittedBlock[] {
  const out: CommittedBlock[] = [];
  let parent = from === null ? { hash: c.genesisHash, height: 0 } : { hash: from.hash, height: from.block.header.height };
  for (let k = 0; k < length; k++) {
    const block = c.block(parent, view + k, tag);
    const ref = c.ref(block);
    out.push({ block, hash: ref.hash, qc: c.qc(view + k, ref.hash) });
    parent = ref;
  }
  return out;
}

/** A recorder for `instances` in which every block of `blocks` was proposed. */
function recorder(instances: number, blocks: readonly CommittedBlock[]): RunRecorder {
  const rec = new RunRecorder(instances, false);
  for (const b of blocks) rec.proposed(b.hash);
  return rec;
}

const kinds = (vs: readonly Violation[]): string[] => vs.map((v) => v.kind);

// ---------------------------------------------------------------------------------------------------------------
// Safety

test("safety: replicas whose committed chains are prefixes of one another pass", () => {
  const main = chain("main", 5);
  const rec = recorder(4, main);
  rec.committed(0, main, 10);
  rec.committed(1, main.slice(0, 3), 10);
  rec.committed(2, main.slice(0, 1), 10);
  assert.deepEqual(checkSafety(rec, [0, 1, 2, 3]), []);
});

test("safety: two honest replicas committing different blocks at one height are reported, with both and the height", () => {
  const main = chain("main", 3);
  const fork = chain("fork", 2, main[0]!, 2); // same heights 2 and 3, other blocks
  const rec = recorder(4, [...main, ...fork]);
  rec.committed(0, main, 10);
  rec.committed(2, [main[0]!, ...fork], 11);
  const v = checkSafety(rec, [0, 1, 2, 3]);
  // Height 2 and height 3 conflict: one report each.
  assert.deepEqual(kinds(v), ["safety", "safety"]);
  assert.deepEqual(v.map((x) => x.height), [2, 3]);
  assert.deepEqual(v[0]!.instances, [0, 2]);
  assert.match(v[0]!.message, new RegExp(`height 2: replica 0 committed ${toHex(main[1]!.hash).slice(0, 16)} but replica 2 committed ${toHex(fork[0]!.hash).slice(0, 16)}`));
});

test("safety: a replica that commits a second block at a height it already committed is reported", () => {
  const main = chain("main", 3);
  const rewrite = chain("rewrite", 1, main[0]!, 5); // another height-2 block
  const rec = recorder(4, [...main, ...rewrite]);
  rec.committed(1, main, 10);
  rec.committed(1, rewrite, 20);
  const v = checkSafety(rec, [1]);
  assert.deepEqual(kinds(v), ["safety"]);
  assert.equal(v[0]!.height, 2);
  assert.deepEqual(v[0]!.instances, [1, 1]);
});

test("safety: a conflicting height is reported once however many replicas disagree; Byzantine logs are not judged", () => {
  const main = chain("main", 1);
  const forks = ["a", "b", "c"].map((t) => chain(t, 1));
  const rec = recorder(4, [...main, ...forks.flat()]);
  rec.committed(0, main, 1);
  forks.forEach((f, k) => rec.committed(k + 1, f, 1));
  assert.equal(checkSafety(rec, [0, 1, 2, 3]).length, 1);
  // With 1, 2 and 3 Byzantine, only replica 0's commits count: nothing conflicts.
  assert.deepEqual(checkSafety(rec, [0]), []);
});

// ---------------------------------------------------------------------------------------------------------------
// Validity

test("validity: proposed blocks committed once each, in parent order from genesis, pass", () => {
  const main = chain("main", 4);
  const rec = recorder(2, main);
  rec.committed(0, main.slice(0, 2), 1);
  rec.committed(0, main.slice(2), 2);
  rec.committed(1, main, 3);
  assert.deepEqual(checkValidity(rec, [0, 1], GENESIS), []);
});

test("validity: a committed block that nobody proposed is reported", () => {
  const main = chain("main", 3);
  const rec = recorder(2, [main[0]!, main[2]!]); // main[1] never proposed
  rec.committed(1, main, 1);
  const v = checkValidity(rec, [0, 1], GENESIS);
  assert.deepEqual(kinds(v), ["validity"]);
  assert.deepEqual(v[0]!.instances, [1]);
  assert.equal(v[0]!.height, 2);
  assert.match(v[0]!.message, /replica 1: committed block [0-9a-f]{16} at height 2 that nobody proposed/);
});

test("validity: a block committed twice is reported as such, even when its record links on (inconsistent log)", () => {
  const main = chain("main", 2);
  const rec = recorder(1, main);
  rec.committed(0, main, 1);
  // The first block again, as if at height 3 on top of height 2: every link check passes, only the repetition is wrong.
  const again: CommitRecord = { height: 3, view: 3, hash: toHex(main[0]!.hash), parent: toHex(main[1]!.hash), at: 2, proposedAt: 1, qcSigners: new Uint8Array(0) };
  rec.commits[0]!.push(again);
  const v = checkValidity(rec, [0], GENESIS);
  assert.deepEqual(kinds(v), ["validity"]);
  assert.match(v[0]!.message, /replica 0: committed block [0-9a-f]{16} twice/);
});

test("validity: a block that does not extend the replica's previous commit is reported (wrong parent, same height + 1)", () => {
  const main = chain("main", 2);
  const other = chain("other", 2); // other[1] is at height 2 but extends other[0], not main[0]
  const rec = recorder(1, [...main, ...other]);
  rec.committed(0, [main[0]!, other[1]!], 1);
  const v = checkValidity(rec, [0], GENESIS);
  assert.deepEqual(kinds(v), ["validity"]);
  assert.equal(v[0]!.height, 2);
  assert.match(v[0]!.message, /replica 0: committed height 2 \(parent [0-9a-f]{16}\) after height 1/);
});

test("validity: a skipped height is reported even when the parent link is right", () => {
  const main = chain("main", 3);
  const rec = recorder(1, main);
  rec.committed(0, [main[0]!], 1);
  // Height 3's record with its parent rewritten to height 1: only the height breaks the chain.
  rec.commits[0]!.push({ height: 3, view: 3, hash: toHex(main[2]!.hash), parent: toHex(main[0]!.hash), at: 2, proposedAt: 1, qcSigners: new Uint8Array(0) });
  const v = checkValidity(rec, [0], GENESIS);
  assert.deepEqual(kinds(v), ["validity"]);
  assert.equal(v[0]!.height, 3);
});

test("validity: a first commit that does not extend genesis (or is not at height 1) is reported", () => {
  const main = chain("main", 2);
  const rec = recorder(2, main);
  rec.committed(0, main.slice(0, 1), 1);
  rec.committed(1, main.slice(1), 1); // starts at height 2
  // Replica 0 is fine against the real genesis; against another genesis its first block is an orphan.
  assert.deepEqual(checkValidity(rec, [0], GENESIS), []);
  const wrongGenesis = checkValidity(rec, [0], toHex(main[1]!.hash));
  assert.deepEqual(kinds(wrongGenesis), ["validity"]);
  assert.equal(wrongGenesis[0]!.height, 1);
  const late = checkValidity(rec, [1], GENESIS);
  assert.deepEqual(kinds(late), ["validity"]);
  assert.match(late[0]!.message, /after height 0/);
});

test("validity: one report per replica, and only honest replicas are judged", () => {
  const main = chain("main", 3);
  const rec = recorder(2, []); // nothing proposed: every commit is invalid
  rec.committed(0, main, 1);
  rec.committed(1, main, 1);
  assert.deepEqual(checkValidity(rec, [0, 1], GENESIS).map((v) => v.instances), [[0], [1]]);
  assert.deepEqual(checkValidity(rec, [], GENESIS), []);
});

// ---------------------------------------------------------------------------------------------------------------
// Liveness

/** Commits one block of a fresh chain per time in `times` for `instance`. */
function commitAt(rec: RunRecorder, instance: number, times: readonly number[]): void {
  const blocks = chain(`i${instance}`, times.length);
  times.forEach((t, k) => rec.committed(instance, [blocks[k]!], t));
}

const GST = 1_000;
const BOUND = 500;

test("liveness: commits within the bound after GST, up to the end of the run, pass (boundaries inclusive)", () => {
  const rec = new RunRecorder(2, false);
  commitAt(rec, 0, [200, 1_500, 2_000, 2_500]); // first at exactly GST + bound, then exactly bound apart
  commitAt(rec, 1, [1_100, 1_600, 2_100, 2_500]);
  const r = checkLiveness(rec, [0, 1], GST, BOUND, 3_000);
  assert.deepEqual(r.violations, []);
  assert.equal(r.maxFirstCommitAfterGstMs, 500);
});

test("liveness: a first commit after GST later than the bound is reported", () => {
  const rec = new RunRecorder(1, false);
  commitAt(rec, 0, [1_501, 1_600]);
  const r = checkLiveness(rec, [0], GST, BOUND, 1_700);
  assert.deepEqual(kinds(r.violations), ["liveness"]);
  assert.match(r.violations[0]!.message, /replica 0: no commit for 501 ms after 1000 ms/);
  assert.equal(r.maxFirstCommitAfterGstMs, 501);
});

test("liveness: a gap longer than the bound between commits after GST is reported", () => {
  const rec = new RunRecorder(1, false);
  commitAt(rec, 0, [1_100, 1_200, 1_701, 1_800]);
  const r = checkLiveness(rec, [0], GST, BOUND, 1_900);
  assert.deepEqual(kinds(r.violations), ["liveness"]);
  assert.match(r.violations[0]!.message, /no commit for 501 ms after 1200 ms/);
});

test("liveness: a live replica that never commits after GST is reported, commits before GST do not count", () => {
  const rec = new RunRecorder(3, false);
  commitAt(rec, 0, [100, 999, 1_000]); // at GST itself is not after it
  commitAt(rec, 2, [1_100]);
  const r = checkLiveness(rec, [0, 1, 2], GST, BOUND, 1_400);
  assert.deepEqual(r.violations.map((v) => v.instances), [[0], [1]]);
  assert.deepEqual(kinds(r.violations), ["liveness", "liveness"]);
  assert.match(r.violations[0]!.message, /replica 0: no commit after GST \(1000 ms\) until the run ended at 1400 ms/);
  // Replicas not in `live` (crashed, Byzantine) are excused.
  assert.deepEqual(checkLiveness(rec, [2], GST, BOUND, 1_400).violations, []);
});

test("liveness: a replica that stops committing before the run ends is reported", () => {
  const rec = new RunRecorder(1, false);
  commitAt(rec, 0, [1_100, 1_200]);
  assert.deepEqual(checkLiveness(rec, [0], GST, BOUND, 1_700).violations, []);
  const r = checkLiveness(rec, [0], GST, BOUND, 1_701);
  assert.deepEqual(kinds(r.violations), ["liveness"]);
  assert.match(r.violations[0]!.message, /replica 0: last commit at 1200 ms, run ended at 1701 ms/);
});

// ---------------------------------------------------------------------------------------------------------------
// Persistence (persist before send)

const SELF = 2;
const blocks = chain("p", 3);
const hashOf = (view: number): Uint8Array => blocks[view - 1]!.hash;

/** A safety state as the core would persist it; `patch` breaks it. */
function safety(patch: Partial<SafetyState> = {}): SafetyState {
  return { lastVotedView: 0, highQc: c.genesisQc, lastProposedView: 0, lastVote: null, lastTimeout: null, lastTc: null, ...patch };
}
const voteMsg = (view: number, voter = SELF, hash = hashOf(view)): Message => ({ kind: "vote", body: c.vote(voter, view, hash) });
const timeoutMsg = (view: number, voter = SELF): Message => ({ kind: "timeout", body: c.timeout(voter, view, c.genesisQc) });
const proposalMsg = (view: number, proposer = SELF): Message => ({
  kind: "proposal",
  body: c.proposal(c.block({ hash: c.genesisHash, height: 0 }, view, "prop", proposer), c.genesisQc),
});

/** What the recorder reports for `message` sent by SELF (instance 5, to tell instance and validator apart) over `disk`. */
function check(disk: SafetyState | null, message: Message): Violation[] {
  const rec = new RunRecorder(6, false);
  rec.sent(5, SELF, disk, message, 12.5);
  return rec.unpersistedSends;
}

test("persistence: a vote is covered only by the persisted last vote itself, with lastVotedView raised to it", () => {
  const covered = safety({ lastVotedView: 2, lastVote: c.vote(SELF, 2, hashOf(2)) });
  assert.deepEqual(check(covered, voteMsg(2)), []);
  // A later timeout in the same view keeps it covered (lastVote stays, lastVotedView stays at 2).
  assert.deepEqual(check({ ...covered, lastTimeout: c.timeout(SELF, 2, c.genesisQc) }, voteMsg(2)), []);
  const broken: [string, SafetyState | null][] = [
    ["nothing persisted", null],
    ["lastVote of the previous view", safety({ lastVotedView: 2, lastVote: c.vote(SELF, 1, hashOf(1)) })],
    ["lastVotedView not raised", safety({ lastVotedView: 1, lastVote: c.vote(SELF, 2, hashOf(2)) })],
    ["another block in the same view", safety({ lastVotedView: 2, lastVote: c.vote(SELF, 2, hashOf(3)) })],
    // Only a faulty core signs one block hash under two views; the check must still tie the vote to its view.
    ["the same block under an earlier view", safety({ lastVotedView: 2, lastVote: c.vote(SELF, 1, hashOf(2)) })],
    ["only lastVotedView (a timeout in the view)", safety({ lastVotedView: 2, lastTimeout: c.timeout(SELF, 2, c.genesisQc) })],
  ];
  for (const [why, disk] of broken) {
    const v = check(disk, voteMsg(2));
    assert.deepEqual(kinds(v), ["safety"], why);
    assert.deepEqual(v[0]!.instances, [5], why);
    assert.equal(v[0]!.message, "replica 5 sent a vote for view 2 at 12.5 ms before persisting the safety state that covers it", why);
  }
});

test("persistence: a timeout is covered only by the persisted last timeout of its view, with lastVotedView raised to it", () => {
  const covered = safety({ lastVotedView: 3, lastTimeout: c.timeout(SELF, 3, c.genesisQc) });
  assert.deepEqual(check(covered, timeoutMsg(3)), []);
  // A vote in the view before the timeout is fine: lastVote may name that view.
  assert.deepEqual(check({ ...covered, lastVote: c.vote(SELF, 3, hashOf(3)) }, timeoutMsg(3)), []);
  const broken: [string, SafetyState | null][] = [
    ["nothing persisted", null],
    ["lastTimeout of the previous view", safety({ lastVotedView: 3, lastTimeout: c.timeout(SELF, 2, c.genesisQc) })],
    ["no timeout, only a vote in the view", safety({ lastVotedView: 3, lastVote: c.vote(SELF, 3, hashOf(3)) })],
    ["lastVotedView not raised", safety({ lastVotedView: 2, lastTimeout: c.timeout(SELF, 3, c.genesisQc) })],
  ];
  for (const [why, disk] of broken) {
    const v = check(disk, timeoutMsg(3));
    assert.deepEqual(kinds(v), ["safety"], why);
    assert.equal(v[0]!.message, "replica 5 sent a timeout for view 3 at 12.5 ms before persisting the safety state that covers it", why);
  }
});

test("persistence: a proposal is covered by lastProposedView", () => {
  assert.deepEqual(check(safety({ lastProposedView: 3 }), proposalMsg(3)), []);
  for (const disk of [null, safety({ lastProposedView: 2, lastVotedView: 3 })]) {
    const v = check(disk, proposalMsg(3));
    assert.deepEqual(kinds(v), ["safety"]);
    assert.match(v[0]!.message, /^replica 5 sent a proposal for view 3 /);
  }
  assert.deepEqual(uncoveredSend(null, proposalMsg(3), SELF), { kind: "proposal", view: 3 });
});

test("persistence: other validators' messages (forwarded) and messages that sign nothing are never flagged", () => {
  const none = null;
  assert.deepEqual(check(none, voteMsg(2, 1)), []);
  assert.deepEqual(check(none, timeoutMsg(3, 0)), []);
  assert.deepEqual(check(none, proposalMsg(3, 1)), []);
  assert.deepEqual(check(none, { kind: "qc", body: c.qc(1, hashOf(1)) }), []);
  assert.deepEqual(check(none, { kind: "syncRequest", body: { requestId: 1, fromHeight: 1, toHeight: 2 } }), []);
});
