/**
 * The global order (src/node/geo/globalOrder.ts): round r is cluster 0's block r, then cluster 1's, …, on one state.
 * Expected values are written out by hand from that rule (the later writer of a key wins), not read back from the
 * code under test.
 */
import { beforeEach, test } from "node:test";
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

/** The first block built at each (cluster, height) in this test: what the next height's block extends. */
const built = new Map<string, Uint8Array>();
beforeEach(() => built.clear());

/** Cluster `cluster`'s block at `height`, extending the first one built at height − 1 (the genesis for 1). */
function block(cluster: number, height: number, txs: Uint8Array[]): { block: Block; hash: Uint8Array } {
  const g = buildGenesisBlock({ timestampMs: cluster });
  if (height === 0) return { block: g, hash: blockHash(g.header) };
  const parent = height === 1 ? blockHash(g.header) : built.get(`${cluster}:${height - 1}`)!;
  const b: Block = { header: { ...g.header, parent, height, view: height, timestampMs: 1_000 * cluster + height, txRoot: merkleRoot(txs) }, txs };
  const hash = blockHash(b.header);
  if (!built.has(`${cluster}:${height}`)) built.set(`${cluster}:${height}`, hash);
  return { block: b, hash };
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

test("a block already held is known; a second, different block at that height is a conflict, refused, never a throw", () => {
  const o = order([]);
  const a = block(1, 1, [put("k", "a")]);
  const b = block(1, 1, [put("k", "b")]);
  o.offer(1, 1, a.hash, a.block);
  assert.equal(o.offer(1, 1, a.hash, a.block), "known");
  assert.equal(o.offer(1, 1, b.hash, b.block), "conflict");
  const c0 = block(0, 1, []);
  o.offer(0, 1, c0.hash, c0.block);
  o.run();
  assert.equal(read(o, "k"), "a", "the first held block ran");
  assert.equal(o.offer(1, 1, a.hash, a.block), "known", "after execution too");
  assert.equal(o.offer(1, 1, b.hash, b.block), "conflict");
  assert.ok(o.has(1, 1) && o.has(0, 1) && !o.has(0, 2));
  assert.equal(o.missingFrom(0), 2);
});

test("a certified block that does not extend its cluster's previous block is dropped, not executed; the right one runs after", () => {
  const refused: string[] = [];
  const genesis = [0, 1].map((c) => block(c, 0, []).hash);
  const o = new GlobalOrder({ clusters: 2, modules: ["kv"], bucketBits: 4, chainId: utf8("geo-test") }, { genesis, onRefused: (c, h) => refused.push(`${c}@${h}`) });
  const c0 = block(0, 1, [put("p", "0")]);
  const right = block(1, 1, [put("p", "right")]);
  // Another network's block 1 of cluster 1 (same chain id and keys, another genesis): it extends another parent.
  const foreign: Block = { header: { ...right.block.header, parent: new Uint8Array(32).fill(7) }, txs: [put("p", "foreign")] };
  const fh = blockHash(foreign.header);
  o.offer(0, 1, c0.hash, c0.block);
  o.offer(1, 1, fh, { ...foreign, header: { ...foreign.header, txRoot: merkleRoot(foreign.txs) } });
  o.run();
  assert.deepEqual(refused, ["1@1"]);
  assert.equal(o.completedRound, 0);
  assert.equal(read(o, "p"), "0");
  assert.equal(o.offer(1, 1, right.hash, right.block), "new", "the dropped block no longer holds the height");
  o.run();
  assert.equal(o.completedRound, 1);
  assert.equal(read(o, "p"), "right");
});

test("run(maxBlocks) executes at most that many blocks per call", () => {
  const o = order([]);
  for (let h = 1; h <= 3; h++) for (const c of [0, 1]) {
    const b = block(c, h, []);
    o.offer(c, h, b.hash, b.block);
  }
  o.run(3);
  assert.deepEqual(o.next, { round: 2, cluster: 1 });
  assert.ok(o.ready);
  o.run();
  assert.equal(o.completedRound, 3);
  assert.ok(!o.ready);
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
