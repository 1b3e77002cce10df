import { test } from "node:test";
import assert from "node:assert/strict";
import { Mempool, MempoolError } from "../../../src/chain/mempool.js";
import type { AddResult } from "../../../src/chain/mempool.js";
import { KvApplication } from "../../../src/chain/app/kvApp.js";
import { encodeKvTx } from "../../../src/chain/app/kvTx.js";
import { bytesKey } from "../../../src/util/bytes.js";
import { MAX_TX_BYTES } from "../../../src/domain/limits.js";
import { utf8 } from "../../../src/util/bytes.js";
import { seededRng } from "../../support/seed.js";
import { sha256 } from "./support/fixtures.js";

/** Distinct txs of `size` bytes tagged with a client and a sequence number. */
function tx(client: string, seq: number, size = 32): Uint8Array {
  const b = new Uint8Array(size);
  b.set(utf8(`${client}:${seq}:`).subarray(0, size));
  return b;
}
const tag = (b: Uint8Array): string => new TextDecoder().decode(b).split("\0")[0]!;

function expectKind(r: AddResult, kind: AddResult["kind"]): void {
  assert.equal(r.kind, kind, JSON.stringify(r));
}

test("mempool: accepts, dedups by SHA-256 id, and knows committed ids", () => {
  const committed = new Set<string>();
  const m = new Mempool({}, { isCommitted: (id) => committed.has(bytesKey(id)) });
  const a = tx("c", 1);
  const r = m.add(a, "c");
  assert.deepEqual(r, { kind: "accepted", id: sha256(a) });
  assert.deepEqual(m.add(a.slice(), "other client"), { kind: "duplicate", id: sha256(a), committed: false });
  assert.ok(m.has(sha256(a)));
  const b = tx("c", 2);
  committed.add(bytesKey(sha256(b)));
  assert.deepEqual(m.add(b, "c"), { kind: "duplicate", id: sha256(b), committed: true });
  assert.equal(m.size, 1);
  assert.equal(m.bytes, 32);
  assert.equal(m.metrics().rejected.duplicate, 2);
});

test("mempool: invalid txs are refused with the application's reason", () => {
  const app = new KvApplication({}, { committed: { get: () => undefined } });
  const m = new Mempool({ maxTxBytes: 1000 }, { check: (t) => app.check(t) });
  expectKind(m.add(encodeKvTx({ op: "put", nonce: new Uint8Array(8), key: utf8("k"), value: utf8("v") }), "c"), "accepted");
  const bad = m.add(Uint8Array.of(7, 1, 2), "c");
  assert.ok(bad.kind === "invalid" && bad.code === "BAD_VERSION" && bad.reason.length > 0);
  const empty = m.add(new Uint8Array(0), "c");
  assert.ok(empty.kind === "invalid" && empty.code === "EMPTY");
  const big = m.add(new Uint8Array(1001).fill(1), "c");
  assert.ok(big.kind === "invalid" && big.code === "TOO_LARGE");
  assert.deepEqual(m.metrics().invalidByCode, { BAD_VERSION: 1, EMPTY: 1, TOO_LARGE: 1 });
  assert.equal(m.metrics().rejected.invalid, 3);
  assert.equal(m.size, 1);
  assert.throws(() => new Mempool({ maxTxBytes: MAX_TX_BYTES + 1 }), MempoolError);
  assert.throws(() => new Mempool({ maxTxs: 0 }), MempoolError);
});

test("mempool: bounded by count and bytes, overall and per client; full never drops an accepted tx", () => {
  const m = new Mempool({ maxTxs: 10, maxBytes: 1000, maxTxsPerClient: 6, maxBytesPerClient: 500 });
  for (let i = 0; i < 6; i++) expectKind(m.add(tx("a", i), "a"), "accepted");
  const quota = m.add(tx("a", 6), "a");
  assert.ok(quota.kind === "full" && quota.scope === "client" && quota.retryAfterMs > 0);
  // Other clients still get in until the pool is full.
  for (let i = 0; i < 4; i++) expectKind(m.add(tx("b", i), "b"), "accepted");
  const full = m.add(tx("c", 0), "c");
  assert.ok(full.kind === "full" && full.scope === "pool");
  assert.equal(m.size, 10);
  // Every accepted tx is still there, in full.
  const all = m.reap(100, 1 << 20);
  assert.equal(all.length, 10);
  assert.deepEqual(new Set(all.map(tag)), new Set([...Array.from({ length: 6 }, (_, i) => `a:${i}:`), ...Array.from({ length: 4 }, (_, i) => `b:${i}:`)]));
  // Committing frees room.
  m.removeCommitted([sha256(tx("a", 0)), sha256(tx("b", 0))]);
  expectKind(m.add(tx("c", 0), "c"), "accepted");
  expectKind(m.add(tx("a", 6), "a"), "accepted");
  // Byte bounds: per client, then overall.
  const bytes = new Mempool({ maxTxs: 100, maxBytes: 1000, maxBytesPerClient: 600 });
  expectKind(bytes.add(tx("a", 0, 500), "a"), "accepted");
  const clientBytes = bytes.add(tx("a", 1, 200), "a");
  assert.ok(clientBytes.kind === "full" && clientBytes.scope === "client");
  expectKind(bytes.add(tx("b", 0, 450), "b"), "accepted");
  const poolBytes = bytes.add(tx("c", 0, 100), "c");
  assert.ok(poolBytes.kind === "full" && poolBytes.scope === "pool");
  expectKind(bytes.add(tx("c", 1, 50), "c"), "accepted");
  assert.equal(bytes.bytes, 1000);
  const mm = m.metrics();
  assert.equal(mm.rejected.fullClient, 1);
  assert.equal(mm.rejected.fullPool, 1);
});

test("mempool: reaping is round-robin between clients, in each client's arrival order, within both limits", () => {
  const m = new Mempool();
  for (let i = 0; i < 100; i++) m.add(tx("heavy", i), "heavy");
  for (let i = 0; i < 3; i++) m.add(tx("light", i), "light");
  m.add(tx("other", 0), "other");
  const first = m.reap(8, 1 << 20).map(tag);
  // One per client per round: the light clients are all in the first block despite the heavy client's 100 txs.
  assert.deepEqual(first, ["heavy:0:", "light:0:", "other:0:", "heavy:1:", "light:1:", "heavy:2:", "light:2:", "heavy:3:"]);
  // The next reap starts one client further.
  assert.deepEqual(m.reap(3, 1 << 20).map(tag), ["light:0:", "other:0:", "heavy:0:"]);
  // Byte limit: 32-byte txs, 100 bytes -> 3 txs.
  assert.equal(m.reap(100, 100).length, 3);
  // A tx that does not fit ends its client's turn (order kept) but not the others'.
  const sized = new Mempool();
  sized.add(tx("a", 0, 90), "a");
  sized.add(tx("a", 1, 10), "a");
  sized.add(tx("b", 0, 10), "b");
  sized.add(tx("b", 1, 10), "b");
  assert.deepEqual(sized.reap(10, 50).map(tag), ["b:0:", "b:1:"]);
  assert.deepEqual(new Mempool().reap(10, 100), []);
});

test("mempool: reap skips excluded ids (txs already in the uncommitted branch) without losing them", () => {
  const m = new Mempool();
  for (let i = 0; i < 5; i++) m.add(tx("a", i), "a");
  const exclude = new Set([1, 3].map((i) => bytesKey(sha256(tx("a", i)))));
  assert.deepEqual(m.reap(10, 1 << 20, exclude).map(tag), ["a:0:", "a:2:", "a:4:"]);
  assert.equal(m.reap(10, 1 << 20).length, 5);
});

test("mempool fairness: with random load, a light client's txs are all reaped within its fair share of blocks", (t) => {
  const rng = seededRng(t);
  const m = new Mempool({ maxTxs: 100_000 });
  const heavy = 5 + rng.int(5);
  for (let c = 0; c < heavy; c++) for (let i = 0; i < 500; i++) m.add(tx(`heavy${c}`, i), `heavy${c}`);
  const lightCount = 1 + rng.int(10);
  for (let i = 0; i < lightCount; i++) m.add(tx("light", i), "light");
  // Blocks of `perBlock` txs: one per client per round, so the light client gets >= floor(perBlock / clients) a block.
  const clients = heavy + 1;
  const perBlock = clients * (1 + rng.int(3));
  let blocks = 0;
  let lightLeft = lightCount;
  while (lightLeft > 0) {
    const got = m.reap(perBlock, 1 << 30);
    blocks++;
    const light = got.map(tag).filter((s) => s.startsWith("light:"));
    lightLeft -= light.length;
    m.removeCommitted(got.map((b) => sha256(b)));
  }
  assert.ok(blocks <= Math.ceil(lightCount / (perBlock / clients)), `light client waited ${blocks} blocks`);
});

test("mempool: removeCommitted frees room and bytes, ignores unknown ids, and metrics add up", () => {
  const m = new Mempool();
  const txs = Array.from({ length: 20 }, (_, i) => tx(i % 2 ? "a" : "b", i, 40));
  for (const t of txs) m.add(t, tag(t).split(":")[0]!);
  assert.equal(m.removeCommitted([...txs.slice(0, 15).map((b) => sha256(b)), sha256(utf8("unknown"))]), 15);
  assert.equal(m.size, 5);
  assert.equal(m.bytes, 200);
  assert.equal(m.metrics().clients, 2);
  m.removeCommitted(txs.slice(15).map((b) => sha256(b)));
  const mm = m.metrics();
  assert.deepEqual([mm.size, mm.bytes, mm.clients, mm.accepted, mm.committed], [0, 0, 0, 20, 20]);
  // A committed tx can come back only as a new submission (the node's isCommitted hook refuses it; here there is none).
  assert.equal(m.add(txs[0]!, "a").kind, "accepted");
});

test("mempool: gossip hands out each newly accepted client tx once, skips committed and peer txs", () => {
  const m = new Mempool();
  for (let i = 0; i < 5; i++) m.add(tx("a", i), "a");
  m.add(tx("peer", 0), "peer:1", { gossip: false });
  m.removeCommitted([sha256(tx("a", 1))]);
  assert.deepEqual(m.takeNewForGossip(2, 1 << 20).map(tag), ["a:0:", "a:2:"]);
  // Byte bound (at least one tx whatever its size).
  assert.deepEqual(m.takeNewForGossip(10, 10).map(tag), ["a:3:"]);
  assert.deepEqual(m.takeNewForGossip(10, 1 << 20).map(tag), ["a:4:"]);
  assert.deepEqual(m.takeNewForGossip(10, 1 << 20), []);
  // Long runs stay bounded (the queue compacts).
  for (let i = 0; i < 5000; i++) m.add(tx("b", i), "b");
  let n = 0;
  for (let got = m.takeNewForGossip(100, 1 << 20); got.length > 0; got = m.takeNewForGossip(100, 1 << 20)) n += got.length;
  assert.equal(n, 5000);
  assert.equal(m.gossipBacklog, 0);
});

test("mempool: retry-after follows the measured drain rate, clamped; the default without a clock", () => {
  let now = 0;
  const m = new Mempool({ maxTxs: 100, maxTxsPerClient: 100, minRetryAfterMs: 50, maxRetryAfterMs: 5000, defaultRetryAfterMs: 777 }, { now: () => now });
  for (let i = 0; i < 100; i++) m.add(tx("a", i), "a");
  const before = m.add(tx("a", 100), "a");
  assert.ok(before.kind === "full");
  assert.equal(before.retryAfterMs, 777);
  // 10 txs committed per 100 ms = 100 tx/s.
  m.removeCommitted([]);
  for (let k = 0; k < 3; k++) {
    now += 100;
    m.removeCommitted(Array.from({ length: 10 }, (_, i) => sha256(tx("a", k * 10 + i))));
  }
  assert.equal(m.metrics().drainPerSecond, 100);
  for (let i = 0; i < 30; i++) m.add(tx("b", i), "b");
  const r = m.add(tx("c", 0), "c");
  // One tx must leave: 1 / 100 tx/s = 10 ms, clamped up to 50.
  assert.ok(r.kind === "full" && r.scope === "pool");
  assert.equal(r.retryAfterMs, 50);
  const q = new Mempool({ maxTxs: 1000, maxTxsPerClient: 10 }, { now: () => now });
  for (let i = 0; i < 10; i++) q.add(tx("a", i), "a");
  const quota = q.add(tx("a", 10), "a");
  assert.ok(quota.kind === "full" && quota.scope === "client" && quota.retryAfterMs === 1000);
});
