import { test } from "node:test";
import assert from "node:assert/strict";
import { attachQc, certifiedBranch, commitTo, getNode, insertBlock, treeWithRoot } from "../../../src/consensus/blockTree.js";
import { ConsensusError } from "../../../src/consensus/errors.js";
import type { BlockTree } from "../../../src/consensus/types.js";
import { bytesKey } from "../../../src/util/bytes.js";
import type { Block } from "../../../src/domain/types.js";
import { TestCommittee } from "../../support/consensus.js";

const c = new TestCommittee(4);

function add(tree: BlockTree, b: Block, certified = true): BlockTree {
  const r = c.ref(b);
  const t = insertBlock(tree, b, r.hash, bytesKey(r.hash), certified ? c.qc(b.header.view, r.hash) : null);
  return t;
}

//   genesis ─ a(1) ─ b(2) ─ d(4)
//                 └─ c(3) ─ e(5)
const g = c.genesis;
const a = c.block(c.ref(g), 1);
const b = c.block(c.ref(a), 2);
const cc = c.block(c.ref(a), 3);
const d = c.block(c.ref(b), 4);
const e = c.block(c.ref(cc), 5);
const key = (x: Block): string => bytesKey(c.ref(x).hash);

function fullTree(): BlockTree {
  let t = treeWithRoot(g, c.genesisHash, c.genesisQc);
  for (const x of [a, b, cc, d, e]) t = add(t, x);
  return t;
}

test("commit returns the path from the root's child in height order and prunes other branches", () => {
  const t = fullTree();
  const { tree, committed } = commitTo(t, key(b));
  assert.deepEqual(
    committed.map((x) => x.block.header.view),
    [1, 2],
  );
  assert.equal(tree.root.key, key(b));
  assert.deepEqual([...tree.nodes.keys()], [key(d)]); // c and e were on a conflicting branch
  // The input tree is untouched (immutability).
  assert.equal(t.nodes.size, 5);
  assert.equal(t.root.key, bytesKey(c.genesisHash));
});

test("committing the root or an unknown block commits nothing", () => {
  const t = fullTree();
  assert.equal(commitTo(t, bytesKey(c.genesisHash)).committed.length, 0);
  assert.equal(commitTo(t, "00".repeat(32)).committed.length, 0);
});

test("committing a block without its QC is an invariant violation", () => {
  let t = treeWithRoot(g, c.genesisHash, c.genesisQc);
  t = add(t, a, false);
  t = add(t, b);
  assert.throws(() => commitTo(t, key(b)), (err: unknown) => err instanceof ConsensusError && err.code === "INVARIANT");
  const fixed = attachQc(t, key(a), c.qc(1, c.ref(a).hash));
  assert.equal(commitTo(fixed, key(b)).committed.length, 2);
});

test("attachQc keeps the first QC; certifiedBranch lists certified blocks root-to-tip", () => {
  let t = treeWithRoot(g, c.genesisHash, c.genesisQc);
  t = add(t, a);
  t = add(t, b);
  t = add(t, d, false);
  const first = getNode(t, key(a))!.qc!;
  const again = attachQc(t, key(a), c.qc(1, c.ref(a).hash, [1, 2, 3]));
  assert.equal(getNode(again, key(a))!.qc, first);
  assert.deepEqual(
    certifiedBranch(t, key(d)).map((x) => x.block.header.view),
    [1, 2],
  );
});
