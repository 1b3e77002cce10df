import { test } from "node:test";
import assert from "node:assert/strict";
import { TestCommittee, sentMessages } from "../../support/consensus.js";
import type { Effect, ReplicaState } from "../../../src/consensus/types.js";
import { bytesKey } from "../../../src/util/bytes.js";
import type { Block } from "../../../src/domain/types.js";

const c = new TestCommittee(4);

/** Replica 0 holds B1 (view 1, no QC yet) and asks replica 3 for heights from 1 after B3 (QC for B2) arrives. */
function holdingUncertifiedB1() {
  const rep = c.replica(0);
  let s: ReplicaState = rep.init(0).state;
  const b1 = c.block(c.ref(c.genesis), 1);
  const b2 = c.block(c.ref(b1), 2);
  const b3 = c.block(c.ref(b2), 3);
  s = rep.step(s, { kind: "proposal", from: 1, proposal: c.verified(c.proposal(b1, c.genesisQc)) }, 5).state;
  const r = rep.step(s, { kind: "proposal", from: 3, proposal: c.verified(c.proposal(b3, c.qc(2, c.ref(b2).hash))) }, 10);
  const req = sentMessages(r.effects).find((m) => m.message.kind === "syncRequest");
  assert.ok(req !== undefined && req.message.kind === "syncRequest");
  assert.equal(req.message.body.fromHeight, 1);
  return { rep, s: r.state, peer: req.to, requestId: req.message.body.requestId, b1, b2, b3 };
}

const key = (b: Block): string => bytesKey(c.ref(b).hash);
const certified = (b: Block) => ({ block: b, hash: c.ref(b).hash, qc: c.qc(b.header.view, c.ref(b).hash) });
const rejections = (effects: readonly Effect[]) => effects.filter((e) => e.kind === "rejected").map((e) => (e.kind === "rejected" ? e.code : ""));
const commits = (effects: readonly Effect[]) => effects.filter((e) => e.kind === "commit");

/** Blocks at heights 1…n in views 1…n, each extending the previous (from genesis). */
function consecutiveChain(n: number): Block[] {
  const chain: Block[] = [];
  let parent = c.genesis;
  for (let v = 1; v <= n; v++) {
    const b = c.block(c.ref(parent), v);
    chain.push(b);
    parent = b;
  }
  return chain;
}

test("sync response that skips the requested height (leaving out an uncertified block we hold) is refused, not fatal", () => {
  const { rep, s, peer, requestId, b2 } = holdingUncertifiedB1();
  // Before the fix this threw INVARIANT "committing block … without its QC" (B2's QC committed B1 via the two-chain).
  const r = rep.step(s, { kind: "syncResponse", from: peer, requestId, blocks: [certified(b2)] }, 20);
  assert.deepEqual(rejections(r.effects), ["SYNC_WRONG_START"]);
  assert.equal(commits(r.effects).length, 0);
  assert.equal(r.state.tree.nodes.has(key(b2)), false);
});

test("the core never links a block under an uncertified parent (its own guard, behind validation's chain check)", () => {
  const { rep, s, peer, requestId, b1, b2 } = holdingUncertifiedB1();
  // Starts at the requested height, then B2 under our uncertified B1. Validation would refuse this list as
  // SYNC_NOT_CHAIN; the core must not depend on that to stay alive.
  const forged = c.block(c.ref(c.genesis), 1, "other");
  const r = rep.step(s, { kind: "syncResponse", from: peer, requestId, blocks: [certified(forged), certified(b2)] }, 20);
  assert.equal(commits(r.effects).length, 0);
  assert.equal(r.state.tree.nodes.has(key(b2)), false);
  assert.equal(r.state.tree.nodes.get(key(b1))?.qc, null);
});

test("an honest response starting at the requested height certifies B1, links B2 and commits B1 with its QC", () => {
  const { rep, s, peer, requestId, b1, b2, b3 } = holdingUncertifiedB1();
  const r = rep.step(s, { kind: "syncResponse", from: peer, requestId, blocks: [certified(b1), certified(b2)] }, 20);
  assert.deepEqual(rejections(r.effects), []);
  const committed = commits(r.effects).flatMap((e) => (e.kind === "commit" ? e.blocks.map((b) => b.block.header.height) : []));
  assert.deepEqual(committed, [1]);
  // The buffered B3 was linked too.
  assert.ok(r.state.tree.nodes.has(key(b3)));
});

test("certified blocks from catch-up commit as one effect, and blocks committed in the step are not also saved as pending", () => {
  const rep = c.replica(0);
  const s: ReplicaState = rep.init(0).state;
  // A chain of 10 blocks in consecutive views: the QC of block k commits block k - 1.
  const chain = consecutiveChain(10);
  const r = rep.step(s, { kind: "certifiedBlocks", from: 2, blocks: chain.map(certified) }, 20);
  assert.deepEqual(rejections(r.effects), []);
  const cs = commits(r.effects);
  assert.equal(cs.length, 1);
  assert.deepEqual(cs[0]!.kind === "commit" ? cs[0]!.blocks.map((b) => b.block.header.height) : [], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // Only block 10 (certified, not committed) is saved as an uncommitted block.
  const saved = r.effects.filter((e) => e.kind === "saveBlock").map((e) => (e.kind === "saveBlock" ? e.stored.block.header.height : -1));
  assert.deepEqual(saved, [10]);
  // No request of the core's own was needed, and the replica moved past the last QC's view.
  assert.equal(sentMessages(r.effects).filter((m) => m.message.kind === "syncRequest").length, 0);
  assert.equal(r.state.view, 11);
  assert.equal(r.state.tree.root.block.header.height, 9);
});

test("a sync response commits what it certifies as one effect (one store transaction), not one per block", () => {
  const rep = c.replica(0);
  let s: ReplicaState = rep.init(0).state;
  const chain = consecutiveChain(12);
  // A proposal far ahead (block 12 with the QC of block 11) makes the core ask its proposer for heights 1…11.
  const ahead = rep.step(s, { kind: "proposal", from: 0, proposal: c.verified(c.proposal(chain[11]!, c.qc(11, c.ref(chain[10]!).hash))) }, 5);
  const req = sentMessages(ahead.effects).find((m) => m.message.kind === "syncRequest");
  assert.ok(req !== undefined && req.message.kind === "syncRequest");
  assert.equal(req.message.body.fromHeight, 1);
  s = ahead.state;
  const r = rep.step(s, { kind: "syncResponse", from: req.to, requestId: req.message.body.requestId, blocks: chain.slice(0, 11).map(certified) }, 20);
  assert.deepEqual(rejections(r.effects), []);
  const cs = commits(r.effects);
  assert.equal(cs.length, 1);
  assert.deepEqual(cs[0]!.kind === "commit" ? cs[0]!.blocks.map((b) => b.block.header.height) : [], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const saved = r.effects.filter((e) => e.kind === "saveBlock").map((e) => (e.kind === "saveBlock" ? e.stored.block.header.height : -1));
  assert.ok(saved.every((h) => h > 10), `saved as uncommitted: ${saved.join(", ")}`);
  assert.equal(r.state.tree.root.block.header.height, 10);
});
