import { test } from "node:test";
import assert from "node:assert/strict";
import { bytesKey } from "../../../src/util/bytes.js";
import type { Effect, ExecutionCheck, ExecutionVerdict, ReplicaState } from "../../../src/consensus/types.js";
import type { Block } from "../../../src/domain/types.js";
import { ConsensusError } from "../../../src/consensus/errors.js";
import { Replica } from "../../../src/consensus/replica.js";
import { CHAIN_ID, InstantCluster, PACEMAKER, TestCommittee, effectsOf, sentMessages } from "../../support/consensus.js";

const c = new TestCommittee(4);

test("happy path: every replica commits the same chain, each block once, after a two-chain", () => {
  const cluster = new InstantCluster(c);
  cluster.run(2_000);
  const chains = cluster.commits;
  assert.ok(chains[0]!.length > 20, `committed ${chains[0]!.length}`);
  const shortest = Math.min(...chains.map((x) => x.length));
  for (const ch of chains) assert.deepEqual(ch.slice(0, shortest), chains[0]!.slice(0, shortest));
  for (const ch of chains) assert.equal(new Set(ch).size, ch.length);
  // Leaders rotate: view v is led by v mod 4, so commits come from every proposer.
  assert.ok(cluster.states.every((s) => s.view > 20));
});

test("init: view 1, timer armed; the leader of view 1 asks for a payload extending genesis", () => {
  const r1 = c.replica(1).init(0);
  assert.equal(r1.state.view, 1);
  assert.deepEqual(effectsOf(r1.effects, "setTimer"), [{ kind: "setTimer", view: 1, at: 100 }]);
  const [req] = effectsOf(r1.effects, "proposeRequest");
  assert.equal(req!.request.view, 1);
  assert.equal(bytesKey(req!.request.parentHash), bytesKey(c.genesisHash));
  assert.equal(effectsOf(c.replica(2).init(0).effects, "proposeRequest").length, 0);
});

test("vote: persisted before it is sent, sent to the next leader, never twice in a view", () => {
  const rep = c.replica(3);
  let s = rep.init(0).state;
  const b1 = c.block(c.ref(c.genesis), 1);
  const p = c.proposal(b1, c.genesisQc);
  const r = rep.step(s, { kind: "proposal", from: 1, proposal: c.verified(p) }, 5);
  s = r.state;
  const kinds = r.effects.map((e) => e.kind);
  const persistAt = kinds.indexOf("persist");
  const sendAt = kinds.indexOf("send");
  assert.ok(persistAt >= 0 && persistAt < sendAt, `effects ${kinds.join(",")}`);
  const [vote] = sentMessages(r.effects);
  assert.equal(vote!.to, 2); // leader of view 2
  assert.equal(vote!.message.kind, "vote");
  assert.equal(s.safety.lastVotedView, 1);
  // The same proposal again: no second vote.
  const again = rep.step(s, { kind: "proposal", from: 1, proposal: c.verified(p) }, 6);
  assert.equal(sentMessages(again.effects).length, 0);
  // A conflicting block in the same view (had validation let it through): no vote either.
  const other = c.proposal(c.block(c.ref(c.genesis), 1, "other"), c.genesisQc);
  assert.equal(sentMessages(rep.step(s, { kind: "proposal", from: 1, proposal: c.verified(other) }, 7).effects).length, 0);
});

test("no vote in a view after timing out in it; the timeout is re-broadcast unchanged on the next expiry", () => {
  const rep = c.replica(2);
  let s = rep.init(0).state;
  const t1 = rep.step(s, { kind: "timer", view: 1 }, 100);
  s = t1.state;
  const [bc] = effectsOf(t1.effects, "broadcast");
  assert.equal(bc!.message.kind, "timeout");
  assert.equal(s.safety.lastVotedView, 1);
  assert.ok(t1.effects.findIndex((e) => e.kind === "persist") < t1.effects.findIndex((e) => e.kind === "broadcast"));
  const p = c.proposal(c.block(c.ref(c.genesis), 1), c.genesisQc);
  assert.equal(sentMessages(rep.step(s, { kind: "proposal", from: 1, proposal: c.verified(p) }, 101).effects).length, 0);
  const t2 = rep.step(s, { kind: "timer", view: 1 }, s.viewDeadline);
  const [again] = effectsOf(t2.effects, "broadcast");
  assert.equal(again!.message.body, bc!.message.body); // the very same signed timeout
  assert.equal(effectsOf(t2.effects, "persist").length, 0);
  // A timer for another view, or one that fires early, does nothing.
  assert.equal(rep.step(s, { kind: "timer", view: 7 }, 10_000).effects.length, 0);
  assert.equal(rep.step(s, { kind: "timer", view: 1 }, 150).effects.length, 0);
});

test("2f+1 timeouts form a TC; the next leader proposes with the TC and its high QC", () => {
  const rep = c.replica(2); // leads view 2
  let s = rep.init(0).state;
  for (const v of [0, 1, 3]) s = rep.step(s, { kind: "timeout", from: v, timeout: c.timeout(v, 1, c.genesisQc) }, 10).state;
  // f+1 = 2 timeouts made it time out too, then the third completed the TC: it is in view 2, asks for a payload.
  assert.equal(s.view, 2);
  assert.equal(s.safety.lastTc?.view, 1);
  assert.equal(s.awaitingPayload, 2);
  const block = c.block(c.ref(c.genesis), 2, "", 2);
  const r = rep.step(s, { kind: "payload", view: 2, block }, 11);
  const [prop] = sentMessages(r.effects).filter((m) => m.message.kind === "proposal");
  assert.ok(prop !== undefined && prop.message.kind === "proposal");
  assert.equal(prop.message.body.tc?.view, 1);
  assert.equal(prop.message.body.qc.view, 0);
  // persist (lastProposedView) precedes the proposal broadcast
  const kinds = r.effects.map((e) => e.kind);
  assert.ok(kinds.indexOf("persist") < kinds.indexOf("broadcast"), kinds.join(","));
  assert.equal(r.state.safety.lastProposedView, 2);
  // A second payload for the same view is refused.
  assert.deepEqual(effectsOf(rep.step(r.state, { kind: "payload", view: 2, block }, 12).effects, "rejected")[0]?.code, "PAYLOAD_NOT_EXPECTED");
});

test("a TC carrying a QC this replica lacks: the high QC rises to it, its block is fetched, and the next leader proposes on it", () => {
  // Replica 3 leads view 3 but saw nothing of view 1: no block, no QC. A TC of view 2 whose signers reported the QC of
  // view 1 carries that QC; before TCs carried it, 3 would have entered view 3 unable to meet the TC's bar.
  const rep = c.replica(3);
  let s = rep.init(0).state;
  const b1 = c.block(c.ref(c.genesis), 1);
  const q1 = c.qc(1, c.ref(b1).hash);
  const tc = c.tc(2, [c.genesisQc, q1, c.genesisQc]);
  assert.equal(tc.highQc, q1);
  const r1 = rep.step(s, { kind: "tc", from: 1, tc }, 10);
  s = r1.state;
  assert.equal(s.view, 3);
  assert.equal(s.safety.highQc, q1);
  assert.equal(s.safety.lastTc, tc);
  // The QC's block is unknown: asked of the TC's sender, and nothing is proposed until it arrives.
  const [req] = sentMessages(r1.effects);
  assert.ok(req?.to === 1 && req.message.kind === "syncRequest" && req.message.body.fromHeight === 1 && req.message.body.toHeight === 1);
  assert.equal(effectsOf(r1.effects, "proposeRequest").length, 0);
  const id = req.message.kind === "syncRequest" ? req.message.body.requestId : -1;
  const r2 = rep.step(s, { kind: "syncResponse", from: 1, requestId: id, blocks: [{ block: b1, hash: c.ref(b1).hash, qc: q1 }] }, 20);
  const [ask] = effectsOf(r2.effects, "proposeRequest");
  assert.deepEqual(ask?.request, { view: 3, parentHash: c.ref(b1).hash, parentHeight: 1, parentView: 1, parentSigners: q1.signers });
  const r3 = rep.step(r2.state, { kind: "payload", view: 3, block: c.block(c.ref(b1), 3, "", 3) }, 21);
  const [prop] = sentMessages(r3.effects).filter((m) => m.message.kind === "proposal");
  assert.ok(prop?.message.kind === "proposal");
  assert.equal(prop.message.body.qc, q1);
  assert.equal(prop.message.body.tc, tc);
});

test("f+1 timeouts for a view ahead make a replica join that view's timeout", () => {
  const rep = c.replica(3);
  let s = rep.init(0).state;
  s = rep.step(s, { kind: "timeout", from: 0, timeout: c.timeout(0, 5, c.genesisQc) }, 1).state;
  assert.equal(s.view, 1);
  const r = rep.step(s, { kind: "timeout", from: 1, timeout: c.timeout(1, 5, c.genesisQc) }, 2);
  assert.equal(r.state.safety.lastTimeout?.view, 5);
  assert.equal(r.state.safety.lastVotedView, 5);
  assert.equal(effectsOf(r.effects, "broadcast")[0]?.message.kind, "timeout");
  // With its own timeout that makes 2f+1 = 3: the TC of view 5 forms and it moves on to view 6.
  assert.equal(r.state.safety.lastTc?.view, 5);
  assert.equal(r.state.view, 6);
});

test("a stale timeout is answered with the certificate that moved us on", () => {
  const cluster = new InstantCluster(c);
  cluster.run(200);
  const s = cluster.states[0]!;
  const r = cluster.replicas[0]!.step(s, { kind: "staleTimeout", from: 3, view: 2 }, 0);
  const [m] = sentMessages(r.effects);
  assert.equal(m!.to, 3);
  assert.equal(m!.message.kind, "qc");
  assert.ok(m!.message.kind === "qc" && m!.message.body.view >= 2);
  // Not for a view we are not past.
  assert.equal(cluster.replicas[0]!.step(s, { kind: "staleTimeout", from: 3, view: s.view }, 0).effects.length, 0);
});

test("two-chain rule: a QC on a child with a non-consecutive view commits nothing", () => {
  const rep = c.replica(0);
  let s = rep.init(0).state;
  const b1 = c.block(c.ref(c.genesis), 1);
  const q1 = c.qc(1, c.ref(b1).hash);
  s = rep.step(s, { kind: "proposal", from: 1, proposal: c.verified(c.proposal(b1, c.genesisQc)) }, 1).state;
  // Views 2 and 3 time out; block at view 4 extends b1 with a TC of view 3.
  const b4 = c.block(c.ref(b1), 4);
  const tc3 = c.tc(3, [q1]);
  const r4 = rep.step(s, { kind: "proposal", from: 0, proposal: c.verified(c.proposal(b4, q1, tc3)) }, 2);
  s = r4.state;
  assert.equal(effectsOf(r4.effects, "commit").length, 0);
  // QC for b4 (view 4) over b1 (view 1): not consecutive, no commit.
  const r = rep.step(s, { kind: "qc", from: 1, qc: c.qc(4, c.ref(b4).hash) }, 3);
  assert.equal(effectsOf(r.effects, "commit").length, 0);
  // A block at view 5 on b4, certified: b4 and b1 commit together, in order.
  const b5 = c.block(c.ref(b4), 5);
  s = rep.step(r.state, { kind: "proposal", from: 1, proposal: c.verified(c.proposal(b5, c.qc(4, c.ref(b4).hash))) }, 4).state;
  const done = rep.step(s, { kind: "qc", from: 1, qc: c.qc(5, c.ref(b5).hash) }, 5);
  const [commit] = effectsOf(done.effects, "commit");
  assert.deepEqual(
    commit!.blocks.map((x) => x.block.header.view),
    [1, 4],
  );
});

test("step is pure: it never mutates its input state and is deterministic", () => {
  const cluster = new InstantCluster(c);
  cluster.run(150);
  const rep = cluster.replicas[1]!;
  const s: ReplicaState = cluster.states[1]!;
  const snapshot = structuredClone(s);
  const inputs = [
    { kind: "timer" as const, view: s.view },
    { kind: "timeout" as const, from: 2, timeout: c.timeout(2, s.view, s.safety.highQc) },
    { kind: "qc" as const, from: 0, qc: s.safety.highQc },
  ];
  for (const input of inputs) {
    const a = rep.step(s, input, s.viewDeadline);
    const b = rep.step(s, input, s.viewDeadline);
    assert.deepEqual(a, b);
    assert.deepEqual(s, snapshot);
  }
});

test("restore: resumes in the persisted view and re-sends its last vote and timeout", () => {
  const rep = c.replica(3);
  let s = rep.init(0).state;
  const b1 = c.block(c.ref(c.genesis), 1);
  const voted = rep.step(s, { kind: "proposal", from: 1, proposal: c.verified(c.proposal(b1, c.genesisQc)) }, 1);
  s = voted.state;
  const timedOut = rep.step(s, { kind: "timer", view: 1 }, s.viewDeadline);
  const persisted = effectsOf(timedOut.effects, "persist")[0]!.safety;
  const saved = effectsOf(voted.effects, "saveBlock").map((e) => e.stored);
  const r = rep.restore(persisted, rep.root, saved, 1_000);
  assert.equal(r.state.view, 1);
  const sent = sentMessages(r.effects).map((m) => `${m.message.kind}->${m.to}`);
  assert.deepEqual(sent.sort(), ["timeout->-1", "vote->2"]);
  assert.equal(r.state.tree.nodes.size, 1); // b1 came back from the stored blocks
  // It cannot vote again in view 1.
  const again = rep.step(r.state, { kind: "proposal", from: 1, proposal: c.verified(c.proposal(c.block(c.ref(c.genesis), 1, "x"), c.genesisQc)) }, 1_001);
  assert.equal(sentMessages(again.effects).filter((m) => m.message.kind === "vote").length, 0);
});

test("restore keeps the last TC: a restarted replica still lifts a replica stuck in the view that TC ended", () => {
  const rep = c.replica(3);
  let s = rep.init(0).state;
  for (const v of [0, 1, 2]) s = rep.step(s, { kind: "timeout", from: v, timeout: c.timeout(v, 1, c.genesisQc) }, 10).state;
  assert.equal(s.view, 2);
  const r = rep.restore(s.safety, rep.root, [], 500);
  assert.equal(r.state.view, 2);
  const answer = rep.step(r.state, { kind: "staleTimeout", from: 1, view: 1 }, 501);
  const [m] = sentMessages(answer.effects);
  assert.equal(m?.message.kind, "tc");
  assert.ok(m?.message.kind === "tc" && m.message.body.view === 1);
});

test("optimistic collection: a bad vote is dropped and named, the next good vote completes the QC", async () => {
  const { SchemeCertificates } = await import("../../../src/consensus/scheme.js");
  const { bitmapSignerSets } = await import("../../../src/consensus/adapters/bitmapSignerSets.js");
  const aggregator = new SchemeCertificates({ chainId: CHAIN_ID, validatorCount: 4, optimisticVotes: true }, c.scheme, bitmapSignerSets());
  const rep = new Replica({ chainId: CHAIN_ID, self: 2, validatorCount: 4, genesis: c.genesis }, { signer: c.signer(2), aggregator });
  let s = rep.init(0).state;
  const b1 = c.block(c.ref(c.genesis), 1);
  const h1 = c.ref(b1).hash;
  s = rep.step(s, { kind: "proposal", from: 1, proposal: c.verified(c.proposal(b1, c.genesisQc)) }, 1).state; // own vote counted
  s = rep.step(s, { kind: "vote", from: 0, vote: c.vote(0, 1, h1) }, 2).state;
  const bad = rep.step(s, { kind: "vote", from: 1, vote: { ...c.vote(1, 1, h1), signature: new Uint8Array(192) } }, 3);
  assert.deepEqual(effectsOf(bad.effects, "rejected"), [{ kind: "rejected", from: 1, code: "INVALID_VOTE_SIGNATURE" }]);
  assert.equal(bad.state.view, 1);
  const done = rep.step(bad.state, { kind: "vote", from: 3, vote: c.vote(3, 1, h1) }, 4);
  assert.equal(done.state.view, 2);
  assert.equal(done.state.safety.highQc.view, 1);
});

test("missing ancestors: fetched from the sender, then from the next peer when the answer brought nothing", () => {
  const rep = c.replica(0);
  let s = rep.init(0).state;
  const b1 = c.block(c.ref(c.genesis), 1);
  const b2 = c.block(c.ref(b1), 2);
  const p2 = c.proposal(b2, c.qc(1, c.ref(b1).hash));
  const r1 = rep.step(s, { kind: "proposal", from: 2, proposal: c.verified(p2) }, 10);
  s = r1.state;
  const [req] = sentMessages(r1.effects);
  assert.equal(req?.to, 2);
  assert.ok(req?.message.kind === "syncRequest" && req.message.body.fromHeight === 1 && req.message.body.toHeight === 1);
  assert.equal(s.pendingProposals.length, 1);
  // Peer 2 answers with nothing; the next trigger within the retry interval sends nothing, after it asks peer 3.
  const id = req.message.kind === "syncRequest" ? req.message.body.requestId : -1;
  s = rep.step(s, { kind: "syncResponse", from: 2, requestId: id, blocks: [] }, 20).state;
  assert.equal(sentMessages(rep.step(s, { kind: "proposal", from: 2, proposal: c.verified(p2) }, 30).effects).length, 0);
  const r2 = rep.step(s, { kind: "proposal", from: 2, proposal: c.verified(p2) }, 10 + PACEMAKER.baseTimeoutMs);
  const [again] = sentMessages(r2.effects);
  assert.equal(again?.to, 3);
  // Peer 3 has b1: it is inserted with its QC, the buffered proposal follows, and b2 gets our vote (to the leader of 3).
  const id2 = again?.message.kind === "syncRequest" ? again.message.body.requestId : -1;
  const r3 = rep.step(r2.state, { kind: "syncResponse", from: 3, requestId: id2, blocks: [{ block: b1, hash: c.ref(b1).hash, qc: c.qc(1, c.ref(b1).hash) }] }, 200);
  assert.equal(r3.state.tree.nodes.size, 2);
  assert.equal(r3.state.pendingProposals.length, 0);
  const votes = sentMessages(r3.effects).filter((m) => m.message.kind === "vote");
  assert.equal(votes.length, 1);
  assert.equal(votes[0]!.to, 3);
  // A response nobody asked for is refused with a code.
  const stray = rep.step(r3.state, { kind: "syncResponse", from: 1, requestId: 99, blocks: [] }, 201);
  assert.deepEqual(effectsOf(stray.effects, "rejected"), [{ kind: "rejected", from: 1, code: "UNEXPECTED_SYNC_RESPONSE" }]);
});

test("configuration errors are typed", () => {
  const opts = { chainId: CHAIN_ID, validatorCount: 4, genesis: c.genesis };
  const modules = { signer: c.signer(0), aggregator: c.certs };
  assert.throws(() => new Replica({ ...opts, self: 4 }, modules), (e: unknown) => e instanceof ConsensusError && e.code === "BAD_CONFIG");
  assert.throws(() => new Replica({ ...opts, self: 1 }, modules), (e: unknown) => e instanceof ConsensusError && e.code === "BAD_CONFIG");
  assert.throws(() => c.replica(0, { validatorCount: 0 }), (e: unknown) => e instanceof ConsensusError && e.code === "BAD_CONFIG");
  const badGenesis = { ...c.genesis, header: { ...c.genesis.header, height: 1 } };
  assert.throws(() => c.replica(0, { genesis: badGenesis }), (e: unknown) => e instanceof ConsensusError && e.code === "BAD_CONFIG");
});

test("durable writes (saveBlock, persist) always precede the first vote, timeout or proposal of a step", () => {
  const cluster = new InstantCluster(c);
  const seen: Effect[][] = [];
  const orig = cluster.replicas.map((r) => r.step.bind(r));
  cluster.replicas.forEach((r, i) => {
    r.step = (st, input, now) => {
      const out = orig[i]!(st, input, now);
      seen.push([...out.effects]);
      return out;
    };
  });
  cluster.run(1_000);
  cluster.fireTimers();
  cluster.run(1_000);
  let checked = 0;
  for (const effects of seen) {
    const firstSafetySend = effects.findIndex((e) => (e.kind === "send" || e.kind === "broadcast") && ["vote", "timeout", "proposal"].includes(e.message.kind));
    if (firstSafetySend < 0) continue;
    checked++;
    effects.forEach((e, i) => {
      if (e.kind === "persist" || e.kind === "saveBlock") assert.ok(i < firstSafetySend, effects.map((x) => x.kind).join(","));
    });
  }
  assert.ok(checked > 100);
});

test("the execution check: a refused block is neither saved nor voted for and its sender is named; an unavailable one is not voted for; ancestors come from the tree", () => {
  const b1 = c.block(c.ref(c.genesis), 1);
  const b2 = c.block(c.ref(b1), 2);
  const b1Hash = c.ref(b1).hash;
  const run = (verdict: ExecutionVerdict) => {
    const seen: (Block | undefined)[] = [];
    const execution: ExecutionCheck = {
      check: (block, ancestor) => {
        seen.push(ancestor(block.header.parent));
        return block.header.view === 2 ? verdict : "ok";
      },
    };
    const rep = c.replica(0, {}, { execution });
    let s = rep.init(0).state;
    s = rep.step(s, { kind: "proposal", from: 1, proposal: c.verified(c.proposal(b1, c.genesisQc)) }, 5).state;
    const r = rep.step(s, { kind: "proposal", from: 2, proposal: c.verified(c.proposal(b2, c.qc(1, b1Hash))) }, 10);
    return { r, seen };
  };
  const ok = run("ok");
  assert.equal(effectsOf(ok.r.effects, "saveBlock").length, 1);
  assert.equal(sentMessages(ok.r.effects).filter((m) => m.message.kind === "vote").length, 1);
  // The parent of b2 is b1, known only to the core's tree (no store here): the lookup found it.
  assert.equal(ok.seen[1], b1);
  for (const [verdict, code] of [
    ["BAD_PARENT_STATE_ROOT", "BAD_PARENT_STATE_ROOT"],
    ["BAD_PARENT_RESULTS", "BAD_PARENT_RESULTS"],
    ["UNAVAILABLE", "EXECUTION_UNAVAILABLE"],
  ] as const) {
    const { r } = run(verdict);
    assert.deepEqual(effectsOf(r.effects, "rejected"), [{ kind: "rejected", from: 2, code }], verdict);
    assert.equal(effectsOf(r.effects, "saveBlock").length, 0, verdict);
    assert.equal(sentMessages(r.effects).filter((m) => m.message.kind === "vote").length, 0, verdict);
  }
});
