/**
 * EpochShell's routing and switch (src/node/epochShell.ts), around stand-in instances: which messages reach the
 * running epoch's shell and under which id, which are held for the next epoch (bounded), which are stale, who is
 * refused as not in the epoch, and what the switch writes and replays. The whole path with real shells runs in the
 * simulator (test/sim/reconfig.test.ts) and with real processes (test/e2e/reconfig.test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Epoch, RegistryEntry } from "../../../src/chain/app/validators/module.js";
import { decodeSafetyRecord, encodeSafetyRecord } from "../../../src/chain/store/records.js";
import { epochDomain } from "../../../src/consensus/signing.js";
import type { Block, Message } from "../../../src/domain/types.js";
import { EpochShell, MAX_HELD_PER_PEER, mayScheduleEpoch } from "../../../src/node/epochShell.js";
import type { EpochPorts, EpochSet } from "../../../src/node/epochShell.js";
import { SILENT } from "../../../src/node/logger.js";
import { utf8 } from "../../../src/util/bytes.js";
import { encodeMessage } from "../../../src/wire/codec.js";

const CHAIN = utf8("epoch-test");
const key = (i: number): Uint8Array => new Uint8Array(48).fill(i + 1);
const vote = (view: number, voter: number): Message => ({ kind: "vote", body: { view, blockHash: new Uint8Array(32).fill(view), voter, signature: new Uint8Array(192) } });
const hello: Message = { kind: "hello", body: { chainId: CHAIN, committedHeight: 3, committedHash: new Uint8Array(32) } };

function block(height: number, view: number): Block {
  return { header: { parent: new Uint8Array(32), view, height, proposer: 0, timestampMs: 0, txRoot: new Uint8Array(32), parentStateRoot: new Uint8Array(32), parentResults: new Uint8Array(0), parentSigners: new Uint8Array(0) }, txs: [] };
}

interface Built {
  readonly set: EpochSet;
  readonly ports: EpochPorts;
  readonly got: { from: number; kind: string; view?: number }[];
  nudges: number;
  started: boolean;
}

function harness(selfReg: number) {
  const epochs: Epoch[] = [{ epoch: 0, startHeight: 1, members: [0, 1, 2, 3] }];
  const registry: RegistryEntry[] = [0, 1, 2, 3, 4].map((i) => ({ index: i, publicKey: key(i), address: null }));
  let head = 5;
  const penalties: [number, number][] = [];
  const sent: [number, Uint8Array][] = [];
  const begun: { epoch: number; safety: Uint8Array; endedBy: unknown }[] = [];
  const built: Built[] = [];
  const shell = new EpochShell(
    { chainId: CHAIN, validatorCount: 4, self: selfReg, selfKey: key(selfReg) },
    {
      store: {
        head: () => ({ height: head, hash: new Uint8Array(32).fill(head) }),
        committedAt: (h) => ({ height: h, hash: new Uint8Array(32).fill(h), block: block(h, 2 * h), qc: { view: 2 * h, blockHash: new Uint8Array(32).fill(h), signers: new Uint8Array(1), aggregateSignature: new Uint8Array(96) }, results: new Uint8Array(0), stateRoot: new Uint8Array(32) }),
        beginEpoch: (u) => void begun.push({ epoch: u.epoch, safety: u.safety, endedBy: u.endedBy }),
        epochEndProof: () => undefined,
        loadSafetyState: () => undefined,
        pendingBlocks: () => [],
      },
      transport: { peers: [0, 1, 2, 3, 4].filter((r) => r !== selfReg), send: (to, _p, bytes) => (sent.push([to, bytes]), 0) },
      penalties: { add: (peer, points) => void penalties.push([peer, points]), muted: () => false },
      reader: { epochs: () => epochs, registry: () => registry },
      logger: SILENT,
      build: (set, ports) => {
        const b: Built = { set, ports, got: [], nudges: 0, started: false };
        built.push(b);
        const inner = {
          start: () => void (b.started = true),
          stop: () => {},
          onDecoded: (from: number, msg: Message) => void b.got.push({ from, kind: msg.kind, view: (msg.body as { view?: number }).view }),
          onMessage: () => {},
          nudgeCatchUp: () => void b.nudges++,
          peerHeights: new Map(),
        };
        return { shell: inner as never, leaders: { leader: (v: number) => v % set.members.length, historyBlocks: 0 } as never, validator: { evidence: () => [], evidenceDropped: () => 0 } as never };
      },
    },
  );
  return { shell, epochs, built, penalties, sent, begun, setHead: (h: number) => (head = h) };
}

test("epoch 0: members' messages reach the instance by position; a non-member's hello is passed on under its own id, its vote is refused", () => {
  const h = harness(0);
  h.shell.start();
  const b = h.built[0]!;
  assert.equal(b.set.epoch, 0);
  assert.deepEqual(b.set.members, [0, 1, 2, 3]);
  assert.equal(b.set.self, 0);
  assert.deepEqual(b.set.domain, CHAIN);
  h.shell.onMessage(2, encodeMessage(vote(7, 2)));
  // Registry 4 is no member of epoch 0: id n + 1 + 4 = 9 for what belongs to no epoch; its vote is refused.
  h.shell.onMessage(4, encodeMessage(hello, 0));
  h.shell.onMessage(4, encodeMessage(vote(7, 3)));
  // A certificate from a non-member is verified like anyone's (an observer forwards them): passed on, no penalty.
  const qc: Message = { kind: "qc", body: { view: 6, blockHash: new Uint8Array(32), signers: new Uint8Array(1), aggregateSignature: new Uint8Array(96) } };
  h.shell.onMessage(4, encodeMessage(qc));
  assert.deepEqual(b.got, [
    { from: 2, kind: "vote", view: 7 },
    { from: 9, kind: "hello", view: undefined },
    { from: 9, kind: "qc", view: 6 },
  ]);
  assert.equal(h.shell.counters.get("NOT_IN_EPOCH"), 1);
  assert.equal(h.penalties.length, 1);
  assert.equal(h.penalties[0]![0], 4);
  // The instance's transport speaks ids: 9 is registry 4, a member's position is its registry index here.
  b.ports.transport.send(9, 0, new Uint8Array([1]));
  b.ports.transport.send(2, 0, new Uint8Array([2]));
  assert.deepEqual(h.sent.map(([to]) => to), [4, 2]);
  assert.deepEqual([...b.ports.transport.peers], [1, 2, 3, 9]);
});

test("next-epoch messages are held (bounded per peer, oldest dropped) and nudge catch-up; older and farther epochs are dropped", () => {
  const h = harness(0);
  h.shell.start();
  const b = h.built[0]!;
  for (let v = 1; v <= MAX_HELD_PER_PEER + 1; v++) h.shell.onMessage(1, encodeMessage(vote(v, 1), 1));
  h.shell.onMessage(2, encodeMessage(vote(3, 2), 2));
  assert.deepEqual(b.got, []);
  assert.equal(h.shell.counters.get("EPOCH_HELD"), MAX_HELD_PER_PEER + 1);
  assert.equal(h.shell.counters.get("EPOCH_HOLD_DROPPED"), 1);
  assert.equal(h.shell.counters.get("EPOCH_AHEAD"), 1);
  assert.equal(b.nudges, 2, "once per peer and epoch: peer 1 (held) and peer 2 (two epochs ahead)");
  assert.equal(h.penalties.length, 0, "no penalty for what cannot be verified yet");
});

test("the switch: beginEpoch with a fresh safety state of the new epoch, the new set by registry, held messages replayed by position", () => {
  const h = harness(4); // the spare: an observer of epoch 0
  h.shell.start();
  const b0 = h.built[0]!;
  assert.equal(b0.set.self, 4, "not a member: observer position n");
  // Epoch 1 (members 0..4) is held for while the spare is still in epoch 0; a stale epoch-0 message comes after.
  h.shell.onMessage(3, encodeMessage(vote(12, 3), 1));
  // The change committed: epoch 1 from height 10, so 9 is the last block of epoch 0.
  h.epochs.push({ epoch: 1, startHeight: 10, members: [0, 1, 2, 3, 4] });
  h.setHead(9);
  assert.equal(b0.ports.epochs!.lastHeight(), 9);
  b0.ports.epochs!.ended(null);
  assert.equal(h.begun.length, 1);
  assert.equal(h.begun[0]!.epoch, 1);
  const safety = decodeSafetyRecord(h.begun[0]!.safety);
  assert.equal(safety.epoch, 1);
  assert.equal(safety.lastVotedView, 0);
  assert.equal(safety.highQc.view, 18, "the root QC at the root block's view");
  assert.equal(safety.highQc.signers.length, 0);
  const b1 = h.built[1]!;
  assert.equal(b1.set.epoch, 1);
  assert.equal(b1.set.self, 4, "the spare is member 4 now");
  assert.equal(b1.set.root?.header.height, 9);
  assert.deepEqual(b1.set.domain, epochDomain(CHAIN, 1));
  assert.ok(b1.started);
  assert.deepEqual(b1.got, [{ from: 3, kind: "vote", view: 12 }]);
  h.shell.onMessage(3, encodeMessage(vote(5, 3), 0));
  assert.equal(h.shell.counters.get("EPOCH_STALE"), 1);
  assert.equal(h.shell.epochSwitches, 1);
});

test("epochDomain: epoch 0 is the chain id; later epochs are length-prefixed so no (chain id, epoch) pair spells another", () => {
  assert.deepEqual(epochDomain(CHAIN, 0), CHAIN);
  const d1 = epochDomain(utf8("x"), 1);
  assert.deepEqual([...d1], [1, 0x78, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.notDeepEqual(epochDomain(utf8("x"), 2), d1);
  // Every later epoch's domain holds a 0x00 byte, which genesis refuses in a chain id: no chain's epoch 0 can sign
  // under another chain's later epoch (test/unit/node/shardGenesis.test.ts has the refusal).
  for (const e of [1, 2, 255, 2 ** 40]) assert.ok(epochDomain(CHAIN, e).includes(0));
});

test("a restart in epoch 1 over epoch 0's safety state (a crash before beginEpoch) writes the switch first, with the end proof it holds", () => {
  const h = harness(0);
  h.epochs.push({ epoch: 1, startHeight: 10, members: [0, 1, 2, 3, 4] });
  h.setHead(9);
  const rootHash = new Uint8Array(32).fill(9);
  const child = { block: { ...block(10, 19), header: { ...block(10, 19).header, parent: rootHash } }, hash: new Uint8Array(32).fill(77), qc: { view: 19, blockHash: new Uint8Array(32).fill(77), signers: new Uint8Array(1), aggregateSignature: new Uint8Array(96) }, parentQc: null };
  const store = (h.shell as unknown as { m: { store: Record<string, unknown> } }).m.store;
  store["loadSafetyState"] = () => encodeSafetyRecord({ epoch: 0, lastVotedView: 25, highQc: child.qc, lastProposedView: 0, lastVote: null, lastTimeout: null, lastTc: null });
  store["pendingBlocks"] = () => [child];
  h.shell.start();
  assert.equal(h.begun.length, 1);
  assert.equal(h.begun[0]!.epoch, 1);
  assert.equal(decodeSafetyRecord(h.begun[0]!.safety).epoch, 1);
  assert.equal(decodeSafetyRecord(h.begun[0]!.safety).lastVotedView, 0);
  assert.deepEqual(h.begun[0]!.endedBy, [{ block: child.block, qc: child.qc }]);
  assert.equal(h.built[0]!.set.epoch, 1);
  assert.equal(h.shell.counters.get("EPOCH_SETTLED"), 1);
});

test("a chain without the validators module refuses envelopes of another epoch (penalised)", () => {
  const penalties: number[] = [];
  const got: string[] = [];
  const shell = new EpochShell(
    { chainId: CHAIN, validatorCount: 4, self: 0 },
    {
      store: { head: () => ({ height: 1, hash: new Uint8Array(32) }), committedAt: () => undefined, beginEpoch: () => {}, epochEndProof: () => undefined, loadSafetyState: () => undefined, pendingBlocks: () => [] },
      transport: { peers: [1, 2, 3], send: () => 0 },
      penalties: { add: (p) => void penalties.push(p), muted: () => false },
      reader: null,
      logger: SILENT,
      build: () => ({ shell: { start: () => {}, onDecoded: (_f: number, m: Message) => void got.push(m.kind) } as never, leaders: {} as never, validator: {} as never }),
    },
  );
  shell.start();
  shell.onMessage(1, encodeMessage(vote(3, 1), 0));
  shell.onMessage(1, encodeMessage(vote(4, 1), 1));
  assert.deepEqual(got, ["vote"]);
  assert.deepEqual(penalties, [1]);
  assert.equal(shell.counters.get("EPOCH_UNEXPECTED"), 1);
});

test("commits are cut after change blocks and, with a committee, after every rotation height (h ≡ E − 2 mod E)", () => {
  const block = (height: number, txs: Uint8Array[] = []): Block => ({ header: { parent: new Uint8Array(32), view: height, height, proposer: 0, timestampMs: 0, txRoot: new Uint8Array(32), parentStateRoot: new Uint8Array(32), parentResults: new Uint8Array(0), parentSigners: new Uint8Array(0) }, txs });
  const committee = { size: 3, everyHeights: 10 };
  const cuts = (c: typeof committee | null) => Array.from({ length: 30 }, (_, i) => i + 1).filter((h) => mayScheduleEpoch(block(h, h === 5 ? [Uint8Array.of(0x40, 1)] : [Uint8Array.of(0x01)]), c));
  assert.deepEqual(cuts(null), [5]);
  assert.deepEqual(cuts(committee), [5, 8, 18, 28]);
});
