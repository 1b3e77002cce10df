/**
 * Catch-up from several peers (node/catchUp.ts) against scripted peers on a manual clock: what it asks whom, in what
 * order it hands blocks to the core, and what it does with peers that withhold or do not answer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CATCH_UP_ID_BASE, CatchUp } from "../../../src/node/catchUp.js";
import type { CatchUpPolicy } from "../../../src/node/catchUp.js";
import type { VerifiedCertifiedBlock } from "../../../src/consensus/types.js";
import type { SyncRequest } from "../../../src/domain/types.js";
import { ManualScheduler } from "../../../src/util/clock.js";
import type { Scheduler } from "../../../src/util/clock.js";

const POLICY: CatchUpPolicy = { behindBlocks: 8, rangeBlocks: 10, maxInFlight: 4, perPeer: 2, requestTimeoutMs: 1_000, pauseMs: 5_000, statusIntervalMs: 1_000 };

/** Blocks only need a height here: the core (a fake) checks they arrive consecutively. */
function blocks(from: number, to: number): VerifiedCertifiedBlock[] {
  const out = [];
  for (let h = from; h <= to; h++) out.push({ block: { header: { height: h } } } as unknown as VerifiedCertifiedBlock);
  return out;
}

function rig(policy = POLICY, maxHeight?: () => number) {
  const scheduler = new ManualScheduler();
  // `hold(ms)`: the node's loop is busy for ms (a long commit): its clock moves on, its timers cannot fire meanwhile.
  let held = 0;
  const clock: Scheduler = { now: () => scheduler.now() + held, setTimeout: (fn, ms) => scheduler.setTimeout(fn, ms) };
  const sent: { peer: number; req: SyncRequest }[] = [];
  const penalties: { peer: number; code: string }[] = [];
  let committed = 0;
  const deliveries: { from: number; first: number; last: number }[] = [];
  const c = new CatchUp(policy, {
    scheduler: clock,
    committedHeight: () => committed,
    send: (peer, req) => {
      sent.push({ peer, req });
      return true;
    },
    deliver: (from, bs) => {
      const first = bs[0]!.block.header.height;
      // The fake core: consecutive from its head + 1 (or overlapping it), commits all but the last block.
      assert.ok(first <= committed + 2, `delivery from ${first} while committed ${committed}`);
      deliveries.push({ from, first, last: bs[bs.length - 1]!.block.header.height });
      committed = Math.max(committed, bs[bs.length - 1]!.block.header.height - 1);
    },
    withheld: (peer, code) => penalties.push({ peer, code }),
    count: () => {},
    ...(maxHeight !== undefined ? { maxHeight } : {}),
  });
  return { c, scheduler, sent, penalties, deliveries, committed: () => committed, hold: (ms: number) => (held += ms) };
}

/** Answers request `i` of `sent` fully. */
function answer(r: ReturnType<typeof rig>, i: number): void {
  const { peer, req } = r.sent[i]!;
  r.c.onResponse(peer, req.requestId, blocks(req.fromHeight, req.toHeight));
}

test("a node within behindBlocks of its peers does not catch up; beyond it, ranges go to several peers at once", () => {
  const r = rig();
  r.c.onPeerHeight(1, 8);
  assert.equal(r.sent.length, 0);
  r.c.onPeerHeight(1, 100);
  r.c.onPeerHeight(2, 100);
  r.c.onPeerHeight(3, 35);
  // maxInFlight 4, perPeer 2: four requests of at most 10 heights, contiguous from 1, each within what its peer announced.
  const announced = new Map([
    [1, 100],
    [2, 100],
    [3, 35],
  ]);
  assert.equal(r.sent.length, 4);
  let next = 1;
  for (const { peer, req } of r.sent) {
    assert.equal(req.fromHeight, next);
    assert.ok(req.toHeight - req.fromHeight < 10 && req.toHeight <= announced.get(peer)!, JSON.stringify({ peer, req }));
    next = req.toHeight + 1;
  }
  const perPeer = new Map<number, number>();
  for (const s of r.sent) perPeer.set(s.peer, (perPeer.get(s.peer) ?? 0) + 1);
  for (const [peer, k] of perPeer) assert.ok(k <= 2, `peer ${peer} got ${k} requests`);
  assert.ok(perPeer.size >= 2);
  for (const s of r.sent) assert.ok(s.req.requestId >= CATCH_UP_ID_BASE && CatchUp.owns(s.req.requestId));
});

test("answers arriving out of order reach the core in height order, and the catch-up runs to the peers' height", () => {
  const r = rig();
  r.c.onPeerHeight(1, 60);
  r.c.onPeerHeight(2, 60);
  // Answer in reverse order: nothing can be delivered until 1..10 is in.
  for (let i = 3; i >= 1; i--) answer(r, i);
  assert.equal(r.deliveries.length, 0);
  answer(r, 0);
  assert.deepEqual(
    r.deliveries.map((d) => [d.first, d.last]),
    [
      [1, 10],
      [11, 20],
      [21, 30],
      [31, 40],
    ],
  );
  // Keep answering whatever is asked until nothing is outstanding.
  for (let i = 4; i < r.sent.length; i++) answer(r, i);
  assert.equal(r.deliveries[r.deliveries.length - 1]!.last, 60);
  assert.equal(r.c.active, false);
  assert.equal(r.penalties.length, 0);
});

test("a peer that answers short of what it announced is penalised, paused, and the rest of its range goes to another", () => {
  const r = rig({ ...POLICY, maxInFlight: 1, perPeer: 1 });
  r.c.onPeerHeight(1, 50);
  r.c.onPeerHeight(2, 50);
  const first = r.sent[0]!;
  // An empty answer for heights the peer announced: withheld.
  r.c.onResponse(first.peer, first.req.requestId, []);
  assert.deepEqual(r.penalties, [{ peer: first.peer, code: "CATCH_UP_SHORT" }]);
  const second = r.sent[1]!;
  assert.notEqual(second.peer, first.peer);
  assert.equal(second.req.fromHeight, 1);
  // A partial answer (response size limits) is fine: the rest is asked for next, no penalty.
  r.c.onResponse(second.peer, second.req.requestId, blocks(1, 4));
  assert.equal(r.penalties.length, 1);
  assert.equal(r.sent[2]!.req.fromHeight, 5);
  assert.deepEqual(r.deliveries[0], { from: second.peer, first: 1, last: 4 });
});

test("an unanswered request times out: the peer is penalised and the range is asked of another peer", () => {
  const r = rig({ ...POLICY, maxInFlight: 1, perPeer: 1 });
  r.c.onPeerHeight(1, 50);
  r.c.onPeerHeight(2, 50);
  const first = r.sent[0]!;
  r.scheduler.advance(999);
  assert.equal(r.sent.length, 1);
  r.scheduler.advance(300);
  assert.deepEqual(r.penalties, [{ peer: first.peer, code: "CATCH_UP_TIMEOUT" }]);
  const again = r.sent[1]!;
  assert.notEqual(again.peer, first.peer);
  assert.equal(again.req.fromHeight, first.req.fromHeight);
  // The late answer from the first peer is not taken.
  r.c.onResponse(first.peer, first.req.requestId, blocks(1, 10));
  assert.equal(r.deliveries.length, 0);
});

test("time this node's own loop was held (a long commit) does not count against the peers it is waiting for", () => {
  const r = rig({ ...POLICY, maxInFlight: 1, perPeer: 1 });
  r.c.onPeerHeight(1, 50);
  r.c.onPeerHeight(2, 50);
  const first = r.sent[0]!;
  r.scheduler.advance(200);
  r.hold(5_000); // five request timeouts pass on the clock while no timer (and no answer) can run
  r.scheduler.advance(100); // the overdue check runs first, as Node runs due timers before reading sockets
  assert.deepEqual(r.penalties, []);
  assert.equal(r.sent.length, 1);
  r.c.onResponse(first.peer, first.req.requestId, blocks(1, 10));
  assert.deepEqual(r.deliveries, [{ from: first.peer, first: 1, last: 10 }]);
  // Time that passes with the loop free still counts: the next request, unanswered, times out as before.
  r.scheduler.advance(1_300);
  assert.deepEqual(r.penalties, [{ peer: r.sent[1]!.peer, code: "CATCH_UP_TIMEOUT" }]);
});

test("an answer validation refused (a lying peer) pauses that peer and re-asks the range elsewhere", () => {
  const r = rig({ ...POLICY, maxInFlight: 1, perPeer: 1 });
  r.c.onPeerHeight(1, 50);
  r.c.onPeerHeight(2, 50);
  const first = r.sent[0]!;
  r.c.onInvalid(first.peer, first.req.requestId);
  const again = r.sent[1]!;
  assert.notEqual(again.peer, first.peer);
  assert.equal(again.req.fromHeight, 1);
  // A link going down also hands that peer's ranges on.
  r.c.onPeerHeight(3, 50);
  r.c.onPeerDown(again.peer);
  const third = r.sent[2]!;
  assert.equal(third.peer, 3);
  assert.equal(third.req.fromHeight, 1);
});

test("epochs: nothing past the running epoch's end is asked for; an answer may run past its range (the end proof); a nudge starts it at any distance", () => {
  let end = Infinity;
  const r = rig(POLICY, () => end);
  end = 25; // the epoch ends at 25: peers at 100 are in the next one
  r.c.onPeerHeight(1, 100);
  r.c.onPeerHeight(2, 100);
  assert.ok(r.sent.length > 0);
  assert.ok(r.sent.every((s) => s.req.toHeight <= 25), `asked ${r.sent.map((s) => `${s.req.fromHeight}-${s.req.toHeight}`).join(" ")}`);
  // The range ending at 25 comes back with the two blocks that committed 25: kept, not a short or bad answer.
  for (let i = 0; i < r.sent.length; i++) {
    const { peer, req } = r.sent[i]!;
    r.c.onResponse(peer, req.requestId, blocks(req.fromHeight, req.toHeight === 25 ? 27 : req.toHeight));
  }
  assert.deepEqual(r.penalties, []);
  assert.equal(r.deliveries.at(-1)!.last, 27);

  // Within behindBlocks of a peer nothing starts, unless nudged (the peer has left our epoch).
  const q = rig();
  q.c.onPeerHeight(1, 3);
  assert.equal(q.sent.length, 0);
  q.c.nudge();
  assert.equal(q.sent.length, 1);
  assert.deepEqual([q.sent[0]!.req.fromHeight, q.sent[0]!.req.toHeight], [1, 3]);
});
