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
  assert.ok(bad.kind === "invalid" && bad.code === "UNKNOWN_MODULE" && bad.reason.length > 0);
  const badOp = m.add(Uint8Array.of(1, 9, 2), "c");
  assert.ok(badOp.kind === "invalid" && badOp.code === "BAD_OP" && badOp.reason.length > 0);
  const empty = m.add(new Uint8Array(0), "c");
  assert.ok(empty.kind === "invalid" && empty.code === "EMPTY");
  const big = m.add(new Uint8Array(1001).fill(1), "c");
  assert.ok(big.kind === "invalid" && big.code === "TOO_LARGE");
  assert.deepEqual(m.metrics().invalidByCode, { BAD_OP: 1, EMPTY: 1, TOO_LARGE: 1, UNKNOWN_MODULE: 1 });
  assert.equal(m.metrics().rejected.invalid, 4);
  assert.equal(m.size, 1);
  assert.throws(() => new Mempool({ maxTxBytes: MAX_TX_BYTES + 1 }), MempoolError);
  assert.throws(() => new Mempool({ maxTxs: 0 }), MempoolError);
});

test("mempool: bounded by count and bytes, overall and per client; full never drops an accepted tx", () => {
  // headroomAt 1: the hard bounds alone (the headroom rule has its own tests below).
  const m = new Mempool({ maxTxs: 10, maxBytes: 1000, maxTxsPerClient: 6, maxBytesPerClient: 500, headroomAt: 1 });
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
  const bytes = new Mempool({ maxTxs: 100, maxBytes: 1000, maxBytesPerClient: 600, headroomAt: 1 });
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
  assert.deepEqual(m.takeNewForGossip(2, 1 << 20).map((g) => [tag(g.tx), g.origin]), [["a:0:", "a"], ["a:2:", "a"]]);
  // Byte bound (at least one tx whatever its size).
  assert.deepEqual(m.takeNewForGossip(10, 10).map((g) => tag(g.tx)), ["a:3:"]);
  assert.deepEqual(m.takeNewForGossip(10, 1 << 20).map((g) => tag(g.tx)), ["a:4:"]);
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
  const m = new Mempool({ maxTxs: 100, maxTxsPerClient: 100, minRetryAfterMs: 50, maxRetryAfterMs: 5000, defaultRetryAfterMs: 777, headroomAt: 1 }, { now: () => now });
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

// Headroom (issue 11): once the pool is 75 % full a client holding >= smallClientTxs is refused while a light client
// still gets in. (Under the old rule — a per-client cap of half the pool, gossip counted per peer — the flooder's
// direct key and its three relaying peers could take 4 x 3,200 slots, the whole pool; the failing run on the old code
// is the adversarial test test/adversarial/mempoolStarvation.test.ts, this one needs the new options.)
test("mempool quotas: past the headroom line heavy clients are refused, light ones still admitted", () => {
  const m = new Mempool({ maxTxs: 100, maxBytes: 1 << 20 });
  assert.equal(m.smallClientTxs, 1);
  assert.equal(m.headroomAt, 0.75);
  const wide = new Mempool({ maxTxs: 6400, maxBytes: 1 << 30 });
  assert.equal(wide.smallClientTxs, 100);
  assert.equal(wide.maxTxsPerRelay, 1600);
  // A flooder submits directly and through three relays (as it does when it floods every node of a network).
  const keys: [string, string | undefined][] = [["66", undefined], ["66", "peer:1"], ["66", "peer:2"], ["66", "peer:3"]];
  let admitted = 0;
  for (let i = 0; i < 400; i++) {
    const [c, relay] = keys[i % 4]!;
    if (wide.add(tx(`f${i % 4}`, i), c, relay === undefined ? {} : { relay }).kind === "accepted") admitted++;
  }
  // 6400 * 0.75 = 4800 is far off: everything fits so far.
  assert.equal(admitted, 400);
  for (let i = 400; i < 8000; i++) {
    const [c, relay] = keys[i % 4]!;
    const r = wide.add(tx(`f${i % 4}`, i), c, relay === undefined ? {} : { relay });
    if (r.kind === "accepted") admitted++;
    else assert.ok(r.kind === "full" && r.scope === "client", JSON.stringify(r));
  }
  assert.equal(admitted, 4800, "the flooder stops at the headroom line");
  assert.ok(wide.metrics().rejected.fullHeadroom > 0);
  // Light clients (direct, and relayed from a light origin) still get in; each only up to smallClientTxs.
  for (let c = 0; c < 10; c++) for (let k = 0; k < 100; k++) expectKind(wide.add(tx(`light${c}`, k), `10.0.0.${c}`), "accepted");
  expectKind(wide.add(tx("light0", 100), "10.0.0.0"), "full");
  for (let k = 0; k < 100; k++) expectKind(wide.add(tx("relayed", k), "10.1.1.1", { relay: "peer:2" }), "accepted");
  // And the whole pool still bounds everything.
  for (let c = 10; c < 20; c++) for (let k = 0; k < 100; k++) wide.add(tx(`light${c}`, k), `10.0.0.${c}`);
  assert.equal(wide.size, 6400);
  expectKind(wide.add(tx("late", 0), "10.9.9.9"), "full");
});

// A Byzantine relayer that names a fresh origin per tx: each (relay, origin) key stays light, but the relay's total
// is capped (a quarter of the pool); the honest client whose id it claims keeps its own quota untouched.
test("mempool quotas: a relayer inventing origins is held by the per-relay cap; it cannot use up a real client's quota", () => {
  const m = new Mempool({ maxTxs: 400, maxBytes: 1 << 30 });
  let admitted = 0;
  for (let i = 0; i < 1000; i++) if (m.add(tx("liar", i), `fake${i}`, { relay: "peer:3" }).kind === "accepted") admitted++;
  assert.equal(admitted, 100);
  assert.equal(m.metrics().rejected.fullRelay, 900);
  // Claiming the honest client's id counts under (peer:3, 127.0.0.1), not under 127.0.0.1.
  const m2 = new Mempool({ maxTxs: 400, maxBytes: 1 << 30, maxTxsPerClient: 10 });
  for (let i = 0; i < 20; i++) m2.add(tx("liar", i), "127.0.0.1", { relay: "peer:3" });
  for (let i = 0; i < 10; i++) expectKind(m2.add(tx("honest", i), "127.0.0.1"), "accepted");
  // Committing frees the relay's share again.
  const m3 = new Mempool({ maxTxs: 8, maxBytes: 1 << 30, maxTxsPerRelay: 2 });
  expectKind(m3.add(tx("r", 0), "a", { relay: "peer:1" }), "accepted");
  expectKind(m3.add(tx("r", 1), "b", { relay: "peer:1" }), "accepted");
  expectKind(m3.add(tx("r", 2), "c", { relay: "peer:1" }), "full");
  expectKind(m3.add(tx("r", 2), "c", { relay: "peer:2" }), "accepted");
  m3.removeCommitted([sha256(tx("r", 0))]);
  expectKind(m3.add(tx("r", 3), "c", { relay: "peer:1" }), "accepted");
  assert.equal(m3.metrics().clients, 3);
});
