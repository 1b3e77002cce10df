// TxJournal: acknowledged client txs are durable when their promise resolves, written in group commits, replayed into
// a fresh mempool after a "crash" (the memory store's data reopened), and dropped once committed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Mempool } from "../../../src/chain/mempool.js";
import { MemoryChainData, MemoryChainStore } from "../../../src/chain/store/memoryStore.js";
import type { ChainStore } from "../../../src/chain/store/interface.js";
import { MAX_GROUP_TXS, TxJournal } from "../../../src/node/txJournal.js";
import { utf8 } from "../../../src/util/bytes.js";
import { CHAIN_ID, nextBlock, sha256 } from "../chain/support/fixtures.js";

interface Rig {
  readonly store: ChainStore;
  readonly journal: TxJournal;
  /** Deferred flushes, run by `turn()` (the end of an event-loop turn). */
  readonly deferred: (() => void)[];
  turn(): void;
  readonly errors: unknown[];
}

function rig(data: MemoryChainData, store: ChainStore = MemoryChainStore.open({ chainId: CHAIN_ID }, data)): Rig {
  const deferred: (() => void)[] = [];
  const errors: unknown[] = [];
  let t = 1_000;
  const journal = new TxJournal({ store, defer: (fn) => deferred.push(fn), now: () => t++, onError: (e) => errors.push(e) });
  return { store, journal, deferred, errors, turn: () => deferred.splice(0).forEach((f) => f()) };
}

/** Whether `p` has settled, after letting the microtask queue run. */
async function settledYet(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
}

test("txJournal: submissions of one turn share one durable write; none resolves before it", async () => {
  const r = rig(new MemoryChainData());
  const txs = [utf8("a"), utf8("b"), utf8("c")];
  const done = txs.map((tx) => r.journal.record(sha256(tx), tx, "127.0.0.1"));
  assert.equal(r.store.pendingTxs().length, 0);
  assert.equal(await settledYet(done[0]!), false, "acknowledged before the write");
  r.turn();
  await Promise.all(done);
  assert.equal(r.journal.groups, 1);
  assert.deepEqual(r.store.pendingTxs().map((p) => p.tx), txs);
  // A duplicate waits for the group holding its first copy.
  const late = r.journal.record(sha256(utf8("d")), utf8("d"), "x");
  const dup = r.journal.settled();
  assert.equal(await settledYet(dup), false);
  r.turn();
  await late;
  await dup;
  assert.equal(r.journal.groups, 2);
});

test("txJournal: a group is written at once at MAX_GROUP_TXS", async () => {
  const r = rig(new MemoryChainData());
  for (let i = 0; i < MAX_GROUP_TXS; i++) void r.journal.record(sha256(utf8(`t${i}`)), utf8(`t${i}`), "c");
  assert.equal(r.journal.groups, 1);
  assert.equal(r.store.pendingTxs().length, MAX_GROUP_TXS);
  r.turn(); // the deferred flush of the written group is a no-op
  assert.equal(r.journal.groups, 1);
});

test("txJournal: replay after a crash puts every acknowledged tx back in submission order, from its origin; commits drop them", async () => {
  const data = new MemoryChainData();
  const first = rig(data);
  const genesis = nextBlock(null, []);
  first.store.commit([{ block: genesis.block, hash: genesis.hash, qc: genesis.qc, stateRoot: sha256(utf8("r")), results: new Uint8Array(1), txIndex: [], writes: [] }]);
  const txs = Array.from({ length: 10 }, (_, i) => utf8(`tx ${9 - i}`));
  const acks = txs.map((tx, i) => first.journal.record(sha256(tx), tx, i < 5 ? "alice" : "bob"));
  first.turn();
  await Promise.all(acks);
  // The crash: the store is never closed; a new one opens over the same data.
  data.inUse = false;
  const second = rig(data);
  const pool = new Mempool({ maxTxs: 100 });
  // One of them committed by a block the node applied before the crash was noticed... (here: a block at height 1).
  const b1 = nextBlock(genesis, [txs[3]!]);
  second.store.commit([{ block: b1.block, hash: b1.hash, qc: b1.qc, stateRoot: sha256(utf8("r1")), results: new Uint8Array(1), txIndex: [{ id: sha256(txs[3]!), index: 0, ok: true }], writes: [] }]);
  const sum = second.journal.replay(pool);
  assert.deepEqual(sum, { replayed: 9, dropped: 0, invalid: 0, full: 0 });
  assert.equal(pool.size, 9);
  assert.equal(pool.metrics().clients, 2);
  // Gossip order = submission order (the journal's seq), not id order.
  assert.deepEqual(pool.takeNewForGossip(100, 1 << 20).map((g) => g.tx), txs.filter((_, i) => i !== 3));
  // A record of a tx committed before its record was written (a group racing a block) is dropped at replay.
  const stale = utf8("committed elsewhere");
  const pool2 = new Mempool({ maxTxs: 100 }, { isCommitted: (id) => Buffer.from(id).equals(Buffer.from(sha256(stale))) });
  second.store.savePendingTxs([{ id: sha256(stale), seq: 1, origin: "c", tx: stale }]);
  assert.deepEqual(second.journal.replay(pool2), { replayed: 9, dropped: 1, invalid: 0, full: 0 });
  assert.equal(second.store.pendingTxs().length, 9);
});

test("txJournal: records a full mempool refused at replay are offered again after commits make room, and stay journaled until committed", async () => {
  const r = rig(new MemoryChainData());
  const txs = Array.from({ length: 4 }, (_, i) => utf8(`left ${i}`));
  const acks = txs.map((tx, i) => r.journal.record(sha256(tx), tx, `client ${i}`)); // one each: no quota applies
  r.turn();
  await Promise.all(acks);
  const pool = new Mempool({ maxTxs: 2 });
  assert.deepEqual(r.journal.replay(pool), { replayed: 2, dropped: 0, invalid: 0, full: 2 });
  // The two in the pool commit: they leave the pool and the commit deletes their records; the retry brings in the rest.
  pool.removeCommitted([sha256(txs[0]!), sha256(txs[1]!)]);
  r.store.removePendingTxs([sha256(txs[0]!), sha256(txs[1]!)]);
  assert.deepEqual(r.journal.retryLeftOut(pool), { replayed: 2, dropped: 0, invalid: 0, full: 0 });
  assert.equal(pool.size, 2);
  assert.equal(r.journal.retryLeftOut(pool), undefined, "nothing left out: no further passes");
  assert.deepEqual(r.journal.replay(pool), { replayed: 0, dropped: 0, invalid: 0, full: 0 });
  assert.equal(r.store.pendingTxs().length, 2, "a pending duplicate is not a committed one: its record stays");
});

test("txJournal: a failing write rejects every submitter of the group and reports the error", async () => {
  const data = new MemoryChainData();
  const store = MemoryChainStore.open({ chainId: CHAIN_ID }, data);
  const r = rig(data, store);
  const a = r.journal.record(sha256(utf8("a")), utf8("a"), "c");
  const b = r.journal.record(sha256(utf8("b")), utf8("b"), "c");
  await store.close();
  r.turn();
  await assert.rejects(a, /closed/);
  await assert.rejects(b, /closed/);
  assert.equal(r.errors.length, 1);
});
