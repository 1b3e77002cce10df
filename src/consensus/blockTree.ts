/**
 * The block tree (fork database) of uncommitted blocks, rooted at the last committed block. Immutable: every update
 * returns a new tree that shares unchanged nodes with the old one. Sizes stay small in practice (blocks since the last
 * commit, plus forks), so copying the node map on update costs less than the bookkeeping a persistent map would need.
 */
import { bytesKey } from "../util/bytes.js";
import { toHex } from "../util/bytes.js";
import type { Block, Hash, QuorumCert } from "../domain/types.js";
import type { BlockTree, CommittedBlock, TreeNode } from "./types.js";
import { ConsensusError } from "./errors.js";

/** A tree holding only `root` (the last committed block, with the QC that certified it). */
export function treeWithRoot(block: Block, hash: Hash, qc: QuorumCert): BlockTree {
  return { root: { block, hash, key: bytesKey(hash), parentKey: bytesKey(block.header.parent), qc }, nodes: new Map() };
}

/** The node for `key` (a `bytesKey`), the root included. */
export function getNode(tree: BlockTree, key: string): TreeNode | undefined {
  return key === tree.root.key ? tree.root : tree.nodes.get(key);
}

/** Whether the block `key` is in the tree (root included). */
export function hasBlock(tree: BlockTree, key: string): boolean {
  return key === tree.root.key || tree.nodes.has(key);
}

/** Inserts a block whose parent is in the tree. The caller has checked height and view against the parent. */
export function insertBlock(tree: BlockTree, block: Block, hash: Hash, key: string, qc: QuorumCert | null): BlockTree {
  if (hasBlock(tree, key)) return qc === null ? tree : attachQc(tree, key, qc);
  const nodes = new Map(tree.nodes);
  nodes.set(key, { block, hash, key, parentKey: bytesKey(block.header.parent), qc });
  return { root: tree.root, nodes };
}

/** Records `qc` as the certificate of block `key` if it has none yet. Unknown blocks are ignored. */
export function attachQc(tree: BlockTree, key: string, qc: QuorumCert): BlockTree {
  const node = getNode(tree, key);
  if (node === undefined || node.qc !== null) return tree;
  const updated: TreeNode = { ...node, qc };
  if (node === tree.root) return { root: updated, nodes: tree.nodes };
  const nodes = new Map(tree.nodes);
  nodes.set(key, updated);
  return { root: tree.root, nodes };
}

/**
 * Commits the block `key` (and every uncommitted ancestor): returns the committed blocks in ascending height and
 * the tree re-rooted at `key`, keeping only its descendants. Every committed block must carry its QC: a block is
 * committed because a certified child (or descendant) extends it, and the callers keep "a block with a child in the
 * tree is certified" true by construction (a proposal's QC is attached to its parent before the proposal is linked;
 * sync responses and restore never link under an uncertified parent). So the throw below is a real invariant, not
 * reachable from peer input.
 */
export function commitTo(tree: BlockTree, key: string): { tree: BlockTree; committed: CommittedBlock[] } {
  const target = tree.nodes.get(key);
  if (target === undefined) return { tree, committed: [] }; // the root or an unknown block: nothing new
  const path: TreeNode[] = [];
  for (let n: TreeNode | undefined = target; n !== undefined && n !== tree.root; n = tree.nodes.get(n.parentKey)) path.push(n);
  const last = path[path.length - 1];
  if (last === undefined || last.parentKey !== tree.root.key) throw new ConsensusError("INVARIANT", `block ${toHex(target.hash)} does not descend from the committed root`);
  path.reverse();
  const committed: CommittedBlock[] = path.map((n) => {
    if (n.qc === null) throw new ConsensusError("INVARIANT", `committing block ${toHex(n.hash)} without its QC`);
    return { block: n.block, hash: n.hash, qc: n.qc };
  });
  // Keep the descendants of the new root: walk nodes in height order, keeping those whose parent is kept.
  const sorted = [...tree.nodes.values()].filter((n) => n.block.header.height > target.block.header.height).sort((a, b) => a.block.header.height - b.block.header.height);
  const kept = new Map<string, TreeNode>();
  for (const n of sorted) {
    if (n.parentKey === key || kept.has(n.parentKey)) kept.set(n.key, n);
  }
  return { tree: { root: target, nodes: kept }, committed };
}

/**
 * The certified blocks on the branch ending at `tipKey`, in ascending height from the root's child (what a syncing
 * peer needs). Blocks without a QC are left out; only the tip can lack one, since every child's proposal carries a QC
 * for its parent.
 */
export function certifiedBranch(tree: BlockTree, tipKey: string): CommittedBlock[] {
  const out: CommittedBlock[] = [];
  for (let n = tree.nodes.get(tipKey); n !== undefined; n = tree.nodes.get(n.parentKey)) {
    if (n.qc !== null) out.push({ block: n.block, hash: n.hash, qc: n.qc });
  }
  return out.reverse();
}
