import { test } from "node:test";
import assert from "node:assert/strict";
import { TestCommittee, effectsOf, sentMessages } from "../../support/consensus.js";
import type { ReplicaState } from "../../../src/consensus/types.js";
import { bytesEqual } from "../../../src/util/bytes.js";

const c = new TestCommittee(4);

/** Replica 2 (leader of view 2) enters view 2 through TC(1) with the genesis high QC and asks for a block on genesis. */
function leaderAwaitingOnGenesis() {
  const rep = c.replica(2);
  let s: ReplicaState = rep.init(0).state;
  for (const v of [0, 1, 3]) s = rep.step(s, { kind: "timeout", from: v, timeout: c.timeout(v, 1, c.genesisQc) }, 10).state;
  assert.equal(s.view, 2);
  assert.equal(s.awaitingPayload, 2);
  return { rep, s };
}

test("a payload built on a parent the high QC has since moved past is refused and the request re-issued for the new parent", () => {
  const start = leaderAwaitingOnGenesis();
  const rep = start.rep;
  let s = start.s;
  const b1 = c.block(c.ref(c.genesis), 1);
  s = rep.step(s, { kind: "proposal", from: 1, proposal: c.verified(c.proposal(b1, c.genesisQc)) }, 11).state;
  // The QC of view 1 arrives late: the high QC moves to B1 while the view stays 2.
  s = rep.step(s, { kind: "qc", from: 1, qc: c.qc(1, c.ref(b1).hash) }, 12).state;
  assert.equal(s.view, 2);
  assert.equal(s.safety.highQc.view, 1);
  // The shell answers the old request (parent genesis).
  const stale = rep.step(s, { kind: "payload", view: 2, block: c.block(c.ref(c.genesis), 2, "", 2) }, 13);
  assert.deepEqual(effectsOf(stale.effects, "rejected").map((e) => e.code), ["PAYLOAD_BAD_PARENT"]);
  const [req] = effectsOf(stale.effects, "proposeRequest");
  assert.ok(req !== undefined, "a fresh proposeRequest is emitted");
  assert.equal(req.request.view, 2);
  assert.ok(bytesEqual(req.request.parentHash, c.ref(b1).hash));
  assert.equal(req.request.parentHeight, 1);
  // The answer to the fresh request becomes the proposal, justified by the QC of view 1 alone.
  const r = rep.step(stale.state, { kind: "payload", view: 2, block: c.block(c.ref(b1), 2, "", 2) }, 14);
  const [prop] = sentMessages(r.effects).filter((m) => m.message.kind === "proposal");
  assert.ok(prop !== undefined && prop.message.kind === "proposal");
  assert.equal(prop.message.body.qc.view, 1);
  assert.equal(prop.message.body.tc, null);
});

test("a stale payload whose new parent is unknown fetches it, then re-requests the payload once it arrives", () => {
  const start = leaderAwaitingOnGenesis();
  const rep = start.rep;
  let s = start.s;
  const b1 = c.block(c.ref(c.genesis), 1);
  const qc1 = c.qc(1, c.ref(b1).hash);
  const q = rep.step(s, { kind: "qc", from: 1, qc: qc1 }, 12);
  s = q.state;
  const sync = sentMessages(q.effects).find((m) => m.message.kind === "syncRequest");
  assert.ok(sync !== undefined && sync.message.kind === "syncRequest");
  const stale = rep.step(s, { kind: "payload", view: 2, block: c.block(c.ref(c.genesis), 2, "", 2) }, 13);
  assert.deepEqual(effectsOf(stale.effects, "rejected").map((e) => e.code), ["PAYLOAD_BAD_PARENT"]);
  assert.equal(effectsOf(stale.effects, "proposeRequest").length, 0);
  const r = rep.step(stale.state, { kind: "syncResponse", from: sync.to, requestId: sync.message.body.requestId, blocks: [{ block: b1, hash: c.ref(b1).hash, qc: qc1 }] }, 14);
  const [req] = effectsOf(r.effects, "proposeRequest");
  assert.ok(req !== undefined);
  assert.ok(bytesEqual(req.request.parentHash, c.ref(b1).hash));
});

test("a payload on the right parent at the wrong height is refused without a new request (no request loop on a shell bug)", () => {
  const { rep, s } = leaderAwaitingOnGenesis();
  const bad = c.block({ hash: c.ref(c.genesis).hash, height: 5 }, 2, "", 2);
  const r = rep.step(s, { kind: "payload", view: 2, block: bad }, 13);
  assert.deepEqual(effectsOf(r.effects, "rejected").map((e) => e.code), ["PAYLOAD_BAD_PARENT"]);
  assert.equal(effectsOf(r.effects, "proposeRequest").length, 0);
});
