/**
 * The global order (src/node/geo/globalOrder.ts): round r is cluster 0's block r, then cluster 1's, …, on one state.
 * Expected values are written out by hand from that rule (the later writer of a key wins), not read back from the
 * code under test.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildGenesisBlock } from "../../../../src/chain/blocks.js";
import { encodeKvTx } from "../../../../src/chain/app/kvTx.js";
import { blockHash } from "../../../../src/consensus/blockHash.js";
import type { Block } from "../../../../src/domain/types.js";
import { merkleRoot } from "../../../../src/crypto/merkle.js";
import { GlobalOrder } from "../../../../src/node/geo/globalOrder.js";
import type { RoundRecord } from "../../../../src/node/geo/globalOrder.js";
import { utf8 } from "../../../../src/util/bytes.js";

const toUtf8 = (b: Uint8Array): string => new TextDecoder().decode(b);

let nonce = 0;
const put = (key: string, value: string): Uint8Array => {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setUint32(4, ++nonce);
  return encodeKvTx({ op: "put", nonce: n, key: utf8(key), value: utf8(value) });
};

function block(cluster: number, height: number, txs: Uint8Array[]): { block: Block; hash: Uint8Array } {
  const g = buildGenesisBlock({ timestampMs: cluster });
  const b: Block = { header: { ...g.header, height, view: height, timestampMs: 1_000 * cluster + height, txRoot: merkleRoot(txs) }, txs };
  return { block: b, hash: blockHash(b.header) };
}

function order(rounds: RoundRecord[], allocations: Uint8Array[] = []): GlobalOrder {
  const genesis = [0, 1].map((c) => block(c, 0, []).hash);
  return new GlobalOrder({ clusters: 2, modules: ["kv"], bucketBits: 4, chainId: utf8("geo-test") }, { genesis, allocations, onRound: (r) => rounds.push(r) });
}

const read = (o: GlobalOrder, key: string): string | undefined => {
  const v = o.query(utf8(key));
  return v === undefined ? undefined : toUtf8(v);
};

test("round r runs cluster 0's block r then cluster 1's; blocks may arrive in any order", () => {
  const rounds: RoundRecord[] = [];
  const o = order(rounds);
  assert.equal(o.completedRound, 0, "the genesis round ran at construction");
  const c0h1 = block(0, 1, [put("x", "0a")]);
  const c1h1 = block(1, 1, [put("x", "1a"), put("y", "1a")]);
  const c0h2 = block(0, 2, [put("y", "0b"), Uint8Array.of(0xee)]);
  const c1h2 = block(1, 2, []);
  assert.equal(o.offer(1, 1, c1h1.hash, c1h1.block), "new");
  assert.equal(o.offer(0, 2, c0h2.hash, c0h2.block), "new");
  assert.equal(o.run(), 0, "nothing runs before cluster 0's block 1");
  assert.deepEqual(o.next, { round: 1, cluster: 0 });
  assert.equal(o.offer(0, 1, c0h1.hash, c0h1.block), "new");
  assert.equal(o.run(), 1);
  // Round 1: cluster 1 wrote x after cluster 0.
  assert.equal(read(o, "x"), "1a");
  assert.equal(read(o, "y"), "0b", "cluster 0's block 2 ran too (round 2 waits for cluster 1 only)");
  assert.deepEqual(o.next, { round: 2, cluster: 1 });
  assert.equal(o.completedRound, 1);
  assert.equal(o.offer(1, 2, c1h2.hash, c1h2.block), "new");
  o.run();
  assert.equal(o.completedRound, 2);
  assert.deepEqual(
    rounds.map((r) => [r.round, r.blocks.map((b) => [b.cluster, b.height, b.txCount, b.failed])]),
    [
      [0, [[0, 0, 0, []], [1, 0, 0, []]]],
      [1, [[0, 1, 1, []], [1, 1, 2, []]]],
      [2, [[0, 2, 2, [1]], [1, 2, 0, []]]],
    ],
  );
  assert.equal(o.txs, 5);
});

test("round 0 executes the network's allocations once, before any cluster's block", () => {
  const rounds: RoundRecord[] = [];
  const o = order(rounds, [put("seed", "g"), put("x", "g")]);
  assert.equal(read(o, "seed"), "g");
  assert.deepEqual(rounds[0]!.blocks.map((b) => [b.cluster, b.txCount]), [[0, 2], [1, 0]]);
  const c0 = block(0, 1, [put("x", "c0")]);
  o.offer(0, 1, c0.hash, c0.block);
  o.run();
  assert.equal(read(o, "x"), "c0");
});

test("a block already held is known; a second, different block at one height of one cluster is a fork and throws", () => {
  const o = order([]);
  const a = block(1, 1, [put("k", "a")]);
  const b = block(1, 1, [put("k", "b")]);
  o.offer(1, 1, a.hash, a.block);
  assert.equal(o.offer(1, 1, a.hash, a.block), "known");
  assert.throws(() => o.offer(1, 1, b.hash, b.block), /two committed blocks at height 1/);
  const c0 = block(0, 1, []);
  o.offer(0, 1, c0.hash, c0.block);
  o.run();
  assert.equal(o.offer(1, 1, a.hash, a.block), "known", "after execution too");
  assert.throws(() => o.offer(1, 1, b.hash, b.block), /two committed blocks/);
  assert.ok(o.has(1, 1) && o.has(0, 1) && !o.has(0, 2));
  assert.equal(o.missingFrom(0), 2);
});

test("two orders fed the same blocks in different arrival orders end in the same records and state root", () => {
  const blocks = [
    [0, block(0, 1, [put("a", "1")])],
    [1, block(1, 1, [put("a", "2")])],
    [0, block(0, 2, [put("b", "3")])],
    [1, block(1, 2, [put("b", "4"), put("a", "5")])],
  ] as const;
  const ra: RoundRecord[] = [];
  const rb: RoundRecord[] = [];
  const a = order(ra);
  const b = order(rb);
  for (const [c, x] of blocks) a.offer(c, x.block.header.height, x.hash, x.block);
  for (const [c, x] of [...blocks].reverse()) b.offer(c, x.block.header.height, x.hash, x.block);
  a.run();
  b.run();
  assert.deepEqual(ra, rb);
  assert.equal(read(a, "a"), "5");
  assert.equal(read(a, "b"), "4");
});
