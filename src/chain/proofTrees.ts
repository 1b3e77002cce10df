/**
 * Merkle trees of recent committed blocks, for inclusion proofs (`GET /v1/blocks/:h/proof/:i`). Without it every
 * proof re-read the block from the store, decoded it and hashed its whole tree: a client asking for proofs of a
 * 1,000-tx block as fast as it could kept a core busy (issue 11: 64 such clients halved the network's commit rate).
 * With it, the first proof of a block builds its `MerkleTree` (every level kept) and later proofs of that block are
 * a map lookup plus log2(n) copies of 32 bytes; `quire bench chain --filter proof` has the figures.
 *
 * Policy: least recently used, bounded both by blocks and by bytes, whichever binds first. Committed blocks never
 * change, so an entry never goes stale; it only ages out. Defaults: 64 blocks and 32 MiB. Proofs are asked of recent
 * blocks (a client checks the tx it just saw commit), and 64 blocks is several seconds of a busy chain; a full block
 * (4,096 txs) costs 256 KiB, so 32 MiB bounds the worst case at 128 such trees, and the block bound binds first. A
 * tree larger than the byte bound on its own is built for the request and not kept.
 */
import { MerkleTree } from "../crypto/merkle.js";
import type { Hasher } from "../crypto/hasher.js";

export interface ProofTreeCacheOptions {
  /** Most trees kept. */
  readonly maxBlocks?: number;
  /** Most bytes of tree levels kept (MerkleTree.byteLength summed). */
  readonly maxBytes?: number;
  readonly hasher?: Hasher;
}

export const PROOF_TREE_CACHE_DEFAULTS = { maxBlocks: 64, maxBytes: 32 * 1024 * 1024 } as const;

/** A tree, and whether it came from the cache (false: it was built for this call). */
export interface CachedTree {
  readonly tree: MerkleTree;
  readonly cached: boolean;
}

/** LRU of committed blocks' Merkle trees, keyed by height. */
export class ProofTreeCache {
  private readonly maxBlocks: number;
  private readonly maxBytes: number;
  private readonly hasher: Hasher | undefined;
  // A Map iterates in insertion order: re-inserting on every hit keeps the least recently used first.
  private readonly trees = new Map<number, MerkleTree>();
  private bytes = 0;
  /** Lookups answered from the cache, and trees built. */
  readonly stats = { hits: 0, builds: 0, evictions: 0 };

  constructor(opts: ProofTreeCacheOptions = {}) {
    this.maxBlocks = opts.maxBlocks ?? PROOF_TREE_CACHE_DEFAULTS.maxBlocks;
    this.maxBytes = opts.maxBytes ?? PROOF_TREE_CACHE_DEFAULTS.maxBytes;
    this.hasher = opts.hasher;
  }

  /** Trees held, and their bytes. */
  get size(): number {
    return this.trees.size;
  }

  get byteLength(): number {
    return this.bytes;
  }

  /**
   * The tree of the committed block at `height`: from the cache, else built from `txs()` (the block's transactions,
   * or undefined when there is no committed block there: nothing is cached then) and kept.
   */
  tree(height: number, txs: () => readonly Uint8Array[] | undefined): CachedTree | undefined {
    const hit = this.trees.get(height);
    if (hit !== undefined) {
      this.trees.delete(height);
      this.trees.set(height, hit);
      this.stats.hits++;
      return { tree: hit, cached: true };
    }
    const leaves = txs();
    if (leaves === undefined) return undefined;
    const tree = MerkleTree.build(leaves, this.hasher);
    this.stats.builds++;
    const size = tree.byteLength;
    if (size <= this.maxBytes) {
      this.trees.set(height, tree);
      this.bytes += size;
      for (const [h, t] of this.trees) {
        if (this.trees.size <= this.maxBlocks && this.bytes <= this.maxBytes) break;
        this.trees.delete(h);
        this.bytes -= t.byteLength;
        this.stats.evictions++;
      }
    }
    return { tree, cached: false };
  }
}
