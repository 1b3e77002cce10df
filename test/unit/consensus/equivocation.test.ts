import { test } from "node:test";
import assert from "node:assert/strict";
import { EquivocationTracker, MAX_EVIDENCE } from "../../../src/consensus/validation/equivocation.js";
import { TestCommittee } from "../../support/consensus.js";

const c = new TestCommittee(4);
const h = (tag: number): Uint8Array => new Uint8Array(32).fill(tag);

test("the evidence log keeps the newest MAX_EVIDENCE entries and counts what it drops; per-validator counts keep the full tally", () => {
  const t = new EquivocationTracker(1_000_000);
  const total = MAX_EVIDENCE + 37;
  for (let view = 1; view <= total; view++) {
    const validator = view % 4;
    assert.equal(t.record("vote", validator, view, "a", c.vote(validator, view, h(1))), "new");
    assert.equal(t.record("vote", validator, view, "b", c.vote(validator, view, h(2))), "conflict");
  }
  const log = t.evidence();
  assert.equal(log.length, MAX_EVIDENCE);
  assert.equal(t.evidenceDropped(), total - MAX_EVIDENCE);
  // Oldest dropped first: the log is views 38 .. total in order.
  assert.deepEqual(log.map((e) => e.view), Array.from({ length: MAX_EVIDENCE }, (_, i) => total - MAX_EVIDENCE + 1 + i));
  let counted = 0;
  for (const n of t.counts().values()) counted += n;
  assert.equal(counted, total);
});

test("proposal evidence keeps both signed (view, hash, proposer, signature) tuples and the two headers, without transactions", () => {
  const t = new EquivocationTracker();
  const a = c.block(c.ref(c.genesis), 1, "a");
  const b = c.block(c.ref(c.genesis), 1, "b");
  const tracked = (blk: typeof a) => {
    const p = c.proposal(blk, c.genesisQc);
    return { header: blk.header, signed: { view: 1, blockHash: c.ref(blk).hash, proposer: 1, signature: p.signature } };
  };
  const ta = tracked(a);
  const tb = tracked(b);
  t.record("proposal", 1, 1, "ka", ta);
  assert.equal(t.record("proposal", 1, 1, "kb", tb), "conflict");
  const [ev] = t.evidence();
  assert.ok(ev !== undefined && ev.kind === "proposal");
  assert.deepEqual(ev.firstHeader, a.header);
  assert.deepEqual(ev.secondHeader, b.header);
  assert.deepEqual(ev.first, ta.signed);
  assert.deepEqual(ev.second, tb.signed);
  assert.equal(Object.hasOwn(ev, "txs"), false);
  assert.equal(t.evidenceDropped(), 0);
});
