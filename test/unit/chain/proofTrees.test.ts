import { test } from "node:test";
import assert from "node:assert/strict";
import { ProofTreeCache } from "../../../src/chain/proofTrees.js";
import { MerkleTree, merkleProof } from "../../../src/crypto/merkle.js";
import { toHex } from "../../../src/util/bytes.js";

/** A block of `n` distinct one-byte-ish transactions, different per height. */
const block = (height: number, n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => Uint8Array.of(height, i & 0xff, i >> 8));

test("a repeated lookup is a hit: the block is read and hashed once; proofs equal merkleProof", () => {
  const cache = new ProofTreeCache();
  let reads = 0;
  const load = (h: number) => () => {
    reads++;
    return block(h, 1000);
  };
  const first = cache.tree(5, load(5))!;
  assert.equal(first.cached, false);
  for (let i = 0; i < 10; i++) {
    const again = cache.tree(5, load(5))!;
    assert.equal(again.cached, true);
    assert.equal(again.tree, first.tree);
  }
  assert.equal(reads, 1);
  assert.deepEqual(cache.stats, { hits: 10, builds: 1, evictions: 0 });
  const want = merkleProof(block(5, 1000), 999);
  const got = first.tree.proof(999);
  assert.deepEqual(got.proof.map(toHex), want.proof.map(toHex));
  assert.equal(toHex(got.root), toHex(want.root));
});

test("no block: undefined and nothing cached", () => {
  const cache = new ProofTreeCache();
  assert.equal(cache.tree(9, () => undefined), undefined);
  assert.equal(cache.size, 0);
});

test("bounded by blocks: the least recently used goes first", () => {
  const cache = new ProofTreeCache({ maxBlocks: 3 });
  for (const h of [1, 2, 3]) cache.tree(h, () => block(h, 10));
  cache.tree(1, () => assert.fail("1 is cached")); // 1 is now the most recent
  cache.tree(4, () => block(4, 10)); // evicts 2
  assert.equal(cache.size, 3);
  assert.equal(cache.tree(1, () => assert.fail("1 is still cached"))!.cached, true);
  assert.equal(cache.tree(2, () => block(2, 10))!.cached, false);
  assert.equal(cache.stats.evictions, 2); // 2 for 4, then 3 for 2
});

test("bounded by bytes: the sum of byteLength never passes maxBytes; a tree over it alone is served, not kept", () => {
  const per = MerkleTree.build(block(0, 100)).byteLength;
  const cache = new ProofTreeCache({ maxBlocks: 100, maxBytes: 3 * per + per / 2 });
  for (let h = 0; h < 10; h++) {
    cache.tree(h, () => block(h, 100));
    assert.ok(cache.byteLength <= 3 * per + per / 2);
  }
  assert.equal(cache.size, 3);
  const big = cache.tree(99, () => block(99, 1000))!;
  assert.equal(big.cached, false);
  assert.equal(big.tree.size, 1000);
  assert.equal(cache.size, 3);
  assert.equal(cache.tree(99, () => block(99, 1000))!.cached, false);
});
