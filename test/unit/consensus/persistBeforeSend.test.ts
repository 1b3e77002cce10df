/**
 * Persist before send, on the core's effect lists. For every path that sends a vote, a timeout or a proposal — a vote on
 * a proposal (also after fetching its ancestors), a timeout on the timer (also one joined on f+1 timeouts), a proposal
 * on a payload, and the re-send after `restore` — the effects are executed the way a shell executes them, by a `Disk`
 * written here (independent of the core's `finish`): each vote, timeout or proposal must be covered, at the moment it
 * leaves, by what is already on disk — the persisted last vote is that very vote (and its block was saved), the
 * persisted last timeout is that very timeout with lastVotedView raised to its view, lastProposedView covers a
 * proposal — and after the step the disk must hold the state the core goes on with (nothing left unpersisted). A
 * persist never moves the safety state back. Each test also names the indices: persist < send, saveBlock < vote.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { bytesKey } from "../../../src/util/bytes.js";
import type { Message, Proposal, Timeout, Vote } from "../../../src/domain/types.js";
import type { Effect, ReplicaState, SafetyState, StepResult, StoredBlock } from "../../../src/consensus/types.js";
import type { Replica } from "../../../src/consensus/replica.js";
import { InstantCluster, TestCommittee, effectsOf } from "../../support/consensus.js";

const c = new TestCommittee(4);

/** What a replica that never persisted restarts with (nothing on disk means this state). */
const FRESH: SafetyState = { lastVotedView: 0, highQc: c.genesisQc, lastProposedView: 0, lastVote: null, lastTimeout: null, lastTc: null };

/** A shell's disk: the last persisted safety state and the saved blocks, written in effect order. */
class Disk {
  safety: SafetyState;
  readonly blocks = new Set<string>();
  /** Sends checked so far, by message kind. */
  readonly checked = { vote: 0, timeout: 0, proposal: 0 };

  constructor(
    readonly self: number,
    persisted: SafetyState | null = null,
    stored: readonly StoredBlock[] = [],
  ) {
    this.safety = persisted ?? FRESH;
    for (const s of stored) this.blocks.add(bytesKey(s.hash));
  }

  /** Executes one step's effects in order; returns every breach of persist-before-send (empty when none). */
  execute(r: StepResult): string[] {
    const problems: string[] = [];
    for (const e of r.effects) {
      if (e.kind === "persist") problems.push(...regressions(this.safety, e.safety));
      if (e.kind === "persist") this.safety = e.safety;
      else if (e.kind === "saveBlock") this.blocks.add(bytesKey(e.stored.hash));
      else if (e.kind === "send" || e.kind === "broadcast") problems.push(...this.cover(e.message));
    }
    if (!isDeepStrictEqual(r.state.safety, this.safety)) problems.push("the step's safety state was not persisted");
    return problems;
  }

  private cover(m: Message): string[] {
    const s = this.safety;
    if (m.kind === "vote" && m.body.voter === this.self) {
      this.checked.vote++;
      const v = m.body;
      const out: string[] = [];
      if (!isDeepStrictEqual(s.lastVote, v) || s.lastVotedView < v.view) out.push(`vote of view ${v.view} sent before it was persisted as the last vote (disk: lastVote view ${s.lastVote?.view}, lastVotedView ${s.lastVotedView})`);
      if (!this.blocks.has(bytesKey(v.blockHash))) out.push(`vote of view ${v.view} sent before its block was saved`);
      return out;
    }
    if (m.kind === "timeout" && m.body.voter === this.self) {
      this.checked.timeout++;
      const t = m.body;
      if (!isDeepStrictEqual(s.lastTimeout, t) || s.lastVotedView < t.view) return [`timeout of view ${t.view} sent before it was persisted (disk: lastTimeout view ${s.lastTimeout?.view}, lastVotedView ${s.lastVotedView})`];
      return [];
    }
    if (m.kind === "proposal" && m.body.block.header.proposer === this.self) {
      this.checked.proposal++;
      const view = m.body.block.header.view;
      if (s.lastProposedView < view) return [`proposal of view ${view} sent before lastProposedView covered it (disk: ${s.lastProposedView})`];
    }
    return [];
  }
}

/** What a persist of `next` over `prev` would lose: the safety state only ever moves forward. */
function regressions(prev: SafetyState, next: SafetyState): string[] {
  const out: string[] = [];
  const views: [string, number, number][] = [
    ["lastVotedView", prev.lastVotedView, next.lastVotedView],
    ["lastProposedView", prev.lastProposedView, next.lastProposedView],
    ["highQc.view", prev.highQc.view, next.highQc.view],
    ["lastVote.view", prev.lastVote?.view ?? 0, next.lastVote?.view ?? 0],
    ["lastTimeout.view", prev.lastTimeout?.view ?? 0, next.lastTimeout?.view ?? 0],
    ["lastTc.view", prev.lastTc?.view ?? 0, next.lastTc?.view ?? 0],
  ];
  for (const [name, a, b] of views) if (b < a) out.push(`persist moved ${name} back from ${a} to ${b}`);
  return out;
}

/** Index of the first effect matching `pred` (-1 when none). */
const indexOf = (effects: readonly Effect[], pred: (e: Effect) => boolean): number => effects.findIndex(pred);
const isSend = (kind: Message["kind"]) => (e: Effect) => (e.kind === "send" || e.kind === "broadcast") && e.message.kind === kind;
const isPersist = (e: Effect): boolean => e.kind === "persist";
const isSave = (hash: Uint8Array) => (e: Effect) => e.kind === "saveBlock" && bytesKey(e.stored.hash) === bytesKey(hash);

/** The one persist of a step (a step writes its final safety state once). */
function persistOf(r: StepResult): SafetyState {
  const ps = effectsOf(r.effects, "persist");
  assert.equal(ps.length, 1, `persists: ${r.effects.map((e) => e.kind).join(",")}`);
  return ps[0]!.safety;
}

interface Signed {
  vote: Vote;
  timeout: Timeout;
  proposal: Proposal;
}

/** The body of the first `kind` message the step sends (fails when there is none). */
function sentBody<K extends keyof Signed>(r: StepResult, kind: K): Signed[K] {
  const e = r.effects.find(isSend(kind));
  assert.ok(e !== undefined && (e.kind === "send" || e.kind === "broadcast"), `no ${kind} in ${r.effects.map((x) => x.kind).join(",")}`);
  return e.message.body as Signed[K];
}

/** Steps `rep` and executes the effects on `disk`, failing on any breach. */
function step(rep: Replica, disk: Disk, s: ReplicaState, input: Parameters<Replica["step"]>[1], now: number): StepResult {
  const r = rep.step(s, input, now);
  assert.deepEqual(disk.execute(r), [], r.effects.map((e) => e.kind).join(","));
  return r;
}

const b1 = c.block(c.ref(c.genesis), 1);
const h1 = c.ref(b1).hash;
const q1 = c.qc(1, h1);
const b2 = c.block(c.ref(b1), 2);
const h2 = c.ref(b2).hash;
const q2 = c.qc(2, h2);

test("vote on a proposal: saveBlock, then persist (lastVote = that vote, lastVotedView = its view), then the vote", () => {
  const rep = c.replica(0);
  const disk = new Disk(0);
  let s = rep.init(0).state;
  let prev: Vote | null = null;
  // Two views in a row, so that a persist still holding the previous view's vote would show.
  for (const [block, qc, hash] of [[b1, c.genesisQc, h1], [b2, q1, h2]] as const) {
    const r = step(rep, disk, s, { kind: "proposal", from: block.header.view % 4, proposal: c.verified(c.proposal(block, qc)) }, block.header.view);
    const vote = sentBody(r, "vote");
    assert.equal(vote.view, block.header.view);
    const saved = indexOf(r.effects, isSave(hash));
    const persisted = indexOf(r.effects, isPersist);
    const sent = indexOf(r.effects, isSend("vote"));
    assert.ok(saved >= 0 && persisted > saved && sent > persisted, r.effects.map((e) => e.kind).join(","));
    const safety = persistOf(r);
    assert.deepEqual(safety.lastVote, vote);
    assert.notDeepEqual(safety.lastVote, prev);
    assert.equal(safety.lastVotedView, vote.view);
    prev = vote;
    s = r.state;
  }
  assert.equal(disk.checked.vote, 2);
});

test("vote after fetching the ancestors: the fetched and the buffered block are saved and the vote persisted before it leaves", () => {
  const rep = c.replica(0);
  const disk = new Disk(0);
  let s = rep.init(0).state;
  const r1 = step(rep, disk, s, { kind: "proposal", from: 2, proposal: c.verified(c.proposal(b2, q1)) }, 10);
  s = r1.state;
  assert.equal(s.pendingProposals.length, 1);
  const req = effectsOf(r1.effects, "send")[0]!.message;
  assert.ok(req.kind === "syncRequest");
  const r = step(rep, disk, s, { kind: "syncResponse", from: 2, requestId: req.body.requestId, blocks: [{ block: b1, hash: h1, qc: q1 }] }, 20);
  const vote = sentBody(r, "vote");
  assert.equal(vote.view, 2);
  const sent = indexOf(r.effects, isSend("vote"));
  assert.ok(indexOf(r.effects, isSave(h1)) < sent && indexOf(r.effects, isSave(h2)) >= 0 && indexOf(r.effects, isSave(h2)) < sent);
  assert.ok(indexOf(r.effects, isPersist) >= 0 && indexOf(r.effects, isPersist) < sent);
  assert.deepEqual(persistOf(r).lastVote, vote);
});

test("timeout on the timer: persist (lastTimeout = that timeout, lastVotedView raised to its view) before the broadcast", () => {
  const rep = c.replica(2);
  const disk = new Disk(2);
  let s = rep.init(0).state;
  let prev: Timeout | null = null;
  for (const view of [1, 2]) {
    assert.equal(s.view, view);
    const r = step(rep, disk, s, { kind: "timer", view }, s.viewDeadline);
    const t = sentBody(r, "timeout");
    assert.equal(t.view, view);
    const persisted = indexOf(r.effects, isPersist);
    assert.ok(persisted >= 0 && persisted < indexOf(r.effects, isSend("timeout")), r.effects.map((e) => e.kind).join(","));
    const safety = persistOf(r);
    assert.deepEqual(safety.lastTimeout, t);
    assert.notDeepEqual(safety.lastTimeout, prev);
    assert.ok(safety.lastVotedView >= view);
    prev = t;
    s = r.state;
    // The next expiry re-broadcasts the same timeout, with nothing new to persist (the disk still covers it).
    const again = step(rep, disk, s, { kind: "timer", view }, s.viewDeadline);
    assert.deepEqual(sentBody(again, "timeout"), t);
    assert.equal(effectsOf(again.effects, "persist").length, 0);
    s = again.state;
    // Two more timeouts form the TC of this view and move the replica on.
    for (const from of [0, 1]) s = step(rep, disk, s, { kind: "timeout", from, timeout: c.timeout(from, view, c.genesisQc) }, s.viewDeadline).state;
  }
  assert.equal(disk.checked.timeout, 4);
});

test("timeout joined on f+1 timeouts of a view ahead: persisted before the broadcast, in the same step that forms the TC", () => {
  const rep = c.replica(3);
  const disk = new Disk(3);
  let s = rep.init(0).state;
  s = step(rep, disk, s, { kind: "timeout", from: 0, timeout: c.timeout(0, 5, c.genesisQc) }, 1).state;
  const r = step(rep, disk, s, { kind: "timeout", from: 1, timeout: c.timeout(1, 5, c.genesisQc) }, 2);
  const t = sentBody(r, "timeout");
  assert.equal(t.view, 5);
  assert.ok(indexOf(r.effects, isPersist) >= 0 && indexOf(r.effects, isPersist) < indexOf(r.effects, isSend("timeout")));
  const safety = persistOf(r);
  assert.deepEqual(safety.lastTimeout, t);
  assert.equal(safety.lastVotedView, 5);
  assert.equal(safety.lastTc?.view, 5);
});

test("proposal on a payload: persist (lastProposedView) before the proposal; the block saved and the vote persisted before the leader's vote", () => {
  const rep = c.replica(1);
  const disk = new Disk(1);
  const init = rep.init(0);
  assert.deepEqual(disk.execute(init), []);
  const [req] = effectsOf(init.effects, "proposeRequest");
  assert.equal(req?.request.view, 1);
  const block = c.block(c.ref(c.genesis), 1, "", 1);
  const r = step(rep, disk, init.state, { kind: "payload", view: 1, block }, 1);
  const proposal = sentBody(r, "proposal");
  assert.deepEqual(proposal.block, block);
  const vote = sentBody(r, "vote"); // the leader votes for its own block, to the leader of view 2
  const persisted = indexOf(r.effects, isPersist);
  const saved = indexOf(r.effects, isSave(c.ref(block).hash));
  assert.ok(persisted >= 0 && persisted < indexOf(r.effects, isSend("proposal")), r.effects.map((e) => e.kind).join(","));
  assert.ok(saved >= 0 && saved < indexOf(r.effects, isSend("vote")) && persisted < indexOf(r.effects, isSend("vote")));
  const safety = persistOf(r);
  assert.ok(safety.lastProposedView >= 1);
  assert.deepEqual(safety.lastVote, vote);
  assert.equal(disk.checked.proposal, 1);
});

test("proposal after a TC: lastProposedView persisted before the proposal that carries the TC", () => {
  const rep = c.replica(2); // leads view 2
  const disk = new Disk(2);
  let s = rep.init(0).state;
  for (const from of [0, 1, 3]) s = step(rep, disk, s, { kind: "timeout", from, timeout: c.timeout(from, 1, c.genesisQc) }, 10).state;
  assert.equal(s.awaitingPayload, 2);
  const r = step(rep, disk, s, { kind: "payload", view: 2, block: c.block(c.ref(c.genesis), 2, "", 2) }, 11);
  const proposal = sentBody(r, "proposal");
  assert.equal(proposal.tc?.view, 1);
  assert.ok(indexOf(r.effects, isPersist) >= 0 && indexOf(r.effects, isPersist) < indexOf(r.effects, isSend("proposal")));
  assert.equal(persistOf(r).lastProposedView, 2);
});

test("restore: the re-sent vote and timeout are exactly the persisted ones, and nothing new needs persisting", () => {
  const rep = c.replica(3);
  const live = new Disk(3);
  let s = rep.init(0).state;
  s = step(rep, live, s, { kind: "proposal", from: 1, proposal: c.verified(c.proposal(b1, c.genesisQc)) }, 1).state;
  s = step(rep, live, s, { kind: "timer", view: 1 }, s.viewDeadline).state;
  const stored: StoredBlock[] = [{ block: b1, hash: h1, qc: null, parentQc: c.genesisQc }];
  // Restart from what the live disk holds.
  const disk = new Disk(3, live.safety, stored);
  const r = rep.restore(live.safety, rep.root, stored, 1_000);
  assert.deepEqual(disk.execute(r), []);
  assert.deepEqual(sentBody(r, "vote"), live.safety.lastVote);
  assert.deepEqual(sentBody(r, "timeout"), live.safety.lastTimeout);
  assert.equal(effectsOf(r.effects, "persist").length, 0);
  assert.deepEqual(disk.checked, { vote: 1, timeout: 1, proposal: 0 });
});

test("restore with a store ahead of the safety state: the raised high QC is persisted, keeping the last vote and timeout, before the timeout is re-sent", () => {
  // Replica 2 voted for b2 in view 2 (high QC q1), entered view 3 on the TC of view 2 and timed out there. A sync
  // answer then committed b2 (q2, with q3 on a child), and it crashed before the step's persist: the committed block's
  // QC is above the persisted high QC.
  const rep = c.replica(2);
  const persisted: SafetyState = {
    lastVotedView: 3,
    highQc: q1,
    lastProposedView: 2,
    lastVote: c.vote(2, 2, h2),
    lastTimeout: c.timeout(2, 3, q1),
    lastTc: c.tc(2, [q1]),
  };
  const disk = new Disk(2, persisted, []);
  const r = rep.restore(persisted, { block: b2, hash: h2, qc: q2 }, [], 5_000);
  assert.deepEqual(disk.execute(r), []);
  assert.equal(r.state.view, 3);
  const persistedAt = indexOf(r.effects, isPersist);
  assert.ok(persistedAt >= 0 && persistedAt < indexOf(r.effects, isSend("timeout")), r.effects.map((e) => e.kind).join(","));
  assert.deepEqual(persistOf(r), { ...persisted, highQc: q2 });
  assert.deepEqual(sentBody(r, "timeout"), persisted.lastTimeout);
  // The next expiry re-sends that timeout again (never a second one for view 3).
  const again = step(rep, disk, r.state, { kind: "timer", view: 3 }, r.state.viewDeadline);
  assert.deepEqual(sentBody(again, "timeout"), persisted.lastTimeout);
});

test("a whole run (happy path, then every timer fired): every vote, timeout and proposal is covered by the disk when it leaves", () => {
  const cluster = new InstantCluster(c);
  const disks = cluster.replicas.map((_, i) => new Disk(i));
  const problems: string[] = [];
  cluster.replicas.forEach((r, i) => {
    const orig = r.step.bind(r);
    r.step = (st, input, now) => {
      const out = orig(st, input, now);
      for (const p of disks[i]!.execute(out)) problems.push(`replica ${i} on ${input.kind}: ${p}`);
      return out;
    };
  });
  cluster.run(1_000);
  cluster.fireTimers();
  cluster.run(1_000);
  assert.deepEqual(problems.slice(0, 5), []);
  const total = { vote: 0, timeout: 0, proposal: 0 };
  for (const d of disks) for (const k of ["vote", "timeout", "proposal"] as const) total[k] += d.checked[k];
  assert.ok(total.vote > 100 && total.timeout >= 4 && total.proposal > 20, JSON.stringify(total));
});
