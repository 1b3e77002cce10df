// RFC 6962 / RFC 9162 Merkle trees: the block `txRoot` and transaction inclusion proofs (DESIGN.md §4).
//
//   leaf hash  = SHA-256(0x00 ‖ data)         node hash = SHA-256(0x01 ‖ left ‖ right)
//   MTH({})    = SHA-256("")                  MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of 2 < n
//
// Every function takes an optional Hasher (default: the WASM core). A TreeHasher (the WASM core) computes the
// whole tree in one call; any other backend runs the TypeScript implementation below, level by level (hash
// adjacent pairs, promote an odd last node), which gives the same root as the recursive definition.
import { QuireError } from "../util/errors.js";
import {
  DIGEST_LENGTH,
  TREE_VERIFY_INDEX_OUT_OF_RANGE,
  TREE_VERIFY_OK,
  TREE_VERIFY_PROOF_TOO_LONG,
  TREE_VERIFY_PROOF_TOO_SHORT,
  TREE_VERIFY_ROOT_MISMATCH,
  isTreeHasher,
} from "./hasher.js";
import type { Hasher } from "./hasher.js";
import { defaultHasher } from "./hash/backends.js";

export type MerkleErrorCode =
  /** A leaf hash, root or proof node that is not 32 bytes (or not bytes at all). */
  | "DIGEST_LENGTH"
  /** A leaf that is not a Uint8Array. */
  | "BAD_LEAF"
  /** A leaf index or tree size that is not a non-negative safe integer. */
  | "BAD_INDEX"
  /** leafIndex >= treeSize (every index is out of range in the empty tree). */
  | "INDEX_OUT_OF_RANGE"
  /** A proof with more or fewer nodes than the (leafIndex, treeSize) pair requires. */
  | "PROOF_LENGTH"
  /** A well-formed proof that does not lead to the expected root. */
  | "ROOT_MISMATCH";

/** Bad input to the Merkle API, or the reason a proof was rejected. */
export class MerkleError extends QuireError<MerkleErrorCode> {}

/** An inclusion proof: the audit path of `leafHash` at `leafIndex` in a tree of `treeSize` leaves, leaf level first. */
export interface InclusionProof {
  leafIndex: number;
  treeSize: number;
  leafHash: Uint8Array;
  proof: readonly Uint8Array[];
}

/** An inclusion proof together with the root it was generated against (what `merkleProof` returns). */
export interface RootedInclusionProof extends InclusionProof {
  root: Uint8Array;
  proof: Uint8Array[];
}

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

/** SHA-256(0x00 ‖ data): the RFC 6962 hash of one leaf. */
export function leafHash(data: Uint8Array, hasher: Hasher = defaultHasher()): Uint8Array {
  checkLeaf(data, 0);
  return hasher.digest(data, LEAF_PREFIX);
}

/** SHA-256(0x01 ‖ left ‖ right): the RFC 6962 hash of an interior node. */
export function nodeHash(left: Uint8Array, right: Uint8Array, hasher: Hasher = defaultHasher()): Uint8Array {
  checkDigest(left, "left child");
  checkDigest(right, "right child");
  const pair = new Uint8Array(2 * DIGEST_LENGTH);
  pair.set(left, 0);
  pair.set(right, DIGEST_LENGTH);
  return hasher.digest(pair, NODE_PREFIX);
}

/** The RFC 6962 Merkle tree hash of `leaves` (the empty list hashes to SHA-256 of nothing). */
export function merkleRoot(leaves: readonly Uint8Array[], hasher: Hasher = defaultHasher()): Uint8Array {
  checkLeaves(leaves);
  if (isTreeHasher(hasher)) return hasher.treeRoot(leaves);
  if (leaves.length === 0) return hasher.digest(new Uint8Array(0));
  const level = hasher.digestMany(leaves, LEAF_PREFIX);
  let count = leaves.length;
  while (count > 1) count = reduceLevel(level, count, level, hasher);
  return level.slice(0, DIGEST_LENGTH);
}

/** The inclusion proof of leaf `leafIndex`, with the root and leaf hash it proves. */
export function merkleProof(leaves: readonly Uint8Array[], leafIndex: number, hasher: Hasher = defaultHasher()): RootedInclusionProof {
  checkLeaves(leaves);
  const treeSize = leaves.length;
  checkIndex(leafIndex, treeSize);
  if (isTreeHasher(hasher)) return { leafIndex, treeSize, ...hasher.treeProof(leaves, leafIndex) };
  return MerkleTree.build(leaves, hasher).proof(leafIndex);
}

/**
 * Every level of one RFC 6962 tree, kept so that any leaf's inclusion proof is read in O(log n) without hashing:
 * what the node caches for recent blocks (src/chain/proofTrees.ts), so repeated `GET /v1/blocks/:h/proof/:i` cost a
 * lookup instead of a tree. Memory: about 2n digests (64 bytes per leaf; a 4,096-tx block's tree is 256 KiB).
 * Built level by level over any Hasher (leaf hashes with `digestMany`, each level with one `digestLevel` call, an
 * odd last node promoted), the same reduction `merkleRoot` runs in place, so both give the RFC 6962 root.
 */
export class MerkleTree {
  private constructor(
    /** Number of leaves. */
    readonly size: number,
    /** levels[0]: the leaf hashes, packed (digest i at [32i, 32i + 32)); each next level half as long; last: the root. */
    private readonly levels: readonly Uint8Array[],
    readonly root: Uint8Array,
  ) {}

  /** Hashes `leaves` into a tree (throws MerkleError BAD_LEAF for a leaf that is not bytes). */
  static build(leaves: readonly Uint8Array[], hasher: Hasher = defaultHasher()): MerkleTree {
    checkLeaves(leaves);
    if (leaves.length === 0) return new MerkleTree(0, [], hasher.digest(new Uint8Array(0)));
    const levels: Uint8Array[] = [hasher.digestMany(leaves, LEAF_PREFIX)];
    let level = levels[0]!;
    let count = leaves.length;
    while (count > 1) {
      const next = new Uint8Array(Math.ceil(count / 2) * DIGEST_LENGTH);
      count = reduceLevel(level, count, next, hasher);
      levels.push(next);
      level = next;
    }
    return new MerkleTree(leaves.length, levels, level.slice(0, DIGEST_LENGTH));
  }

  /** Bytes held by the levels (what a cache charges for this tree). */
  get byteLength(): number {
    let n = DIGEST_LENGTH;
    for (const l of this.levels) n += l.byteLength;
    return n;
  }

  /** The inclusion proof of leaf `leafIndex` (throws MerkleError BAD_INDEX / INDEX_OUT_OF_RANGE); fresh arrays. */
  proof(leafIndex: number): RootedInclusionProof {
    checkIndex(leafIndex, this.size);
    const first = this.levels[0]!;
    const proof: Uint8Array[] = [];
    let i = leafIndex;
    let count = this.size;
    for (let l = 0; count > 1; l++) {
      // The sibling exists unless i is the odd last node, which the next level receives unchanged.
      const sibling = i ^ 1;
      if (sibling < count) proof.push(this.levels[l]!.slice(sibling * DIGEST_LENGTH, (sibling + 1) * DIGEST_LENGTH));
      count = Math.ceil(count / 2);
      i >>>= 1;
    }
    const leaf = first.slice(leafIndex * DIGEST_LENGTH, (leafIndex + 1) * DIGEST_LENGTH);
    return { leafIndex, treeSize: this.size, root: this.root.slice(), leafHash: leaf, proof };
  }
}

/**
 * Checks an inclusion proof against a trusted `root`. Returns null when the proof is valid, otherwise the
 * MerkleError saying why (INDEX_OUT_OF_RANGE, PROOF_LENGTH, DIGEST_LENGTH, BAD_INDEX, ROOT_MISMATCH). Never throws
 * for bad values: a rejected proof is an answer, not an exception.
 */
export function checkInclusion(p: InclusionProof, root: Uint8Array, hasher: Hasher = defaultHasher()): MerkleError | null {
  const { leafIndex, treeSize, leafHash: leaf, proof } = p;
  if (!isIndex(leafIndex) || !isIndex(treeSize)) {
    return new MerkleError("BAD_INDEX", `leafIndex and treeSize must be non-negative safe integers, got ${String(leafIndex)} and ${String(treeSize)}`);
  }
  if (leafIndex >= treeSize) {
    return new MerkleError("INDEX_OUT_OF_RANGE", `leaf index ${leafIndex} is not in a tree of ${treeSize} leaves`, { leafIndex, treeSize });
  }
  const bad = digestError(leaf, "leaf hash") ?? digestError(root, "root");
  if (bad !== null) return bad;
  if (!Array.isArray(proof)) return new MerkleError("PROOF_LENGTH", "proof must be an array of 32-byte hashes");
  const want = inclusionProofLength(leafIndex, treeSize);
  if (proof.length !== want) {
    return new MerkleError("PROOF_LENGTH", `proof has ${proof.length} nodes, leaf ${leafIndex} of ${treeSize} needs ${want}`, { got: proof.length, want });
  }
  for (let i = 0; i < proof.length; i++) {
    const e = digestError(proof[i], `proof[${i}]`);
    if (e !== null) return e;
  }
  const code = isTreeHasher(hasher) ? hasher.treeVerify(leaf, leafIndex, treeSize, proof, root) : verifyTs(leaf, leafIndex, treeSize, proof, root, hasher);
  switch (code) {
    case TREE_VERIFY_OK:
      return null;
    // Unreachable after the checks above; kept so a disagreement between the checks and the core is never "valid".
    case TREE_VERIFY_INDEX_OUT_OF_RANGE:
      return new MerkleError("INDEX_OUT_OF_RANGE", `leaf index ${leafIndex} is not in a tree of ${treeSize} leaves`);
    case TREE_VERIFY_PROOF_TOO_LONG:
    case TREE_VERIFY_PROOF_TOO_SHORT:
      return new MerkleError("PROOF_LENGTH", `proof length ${proof.length} does not match leaf ${leafIndex} of ${treeSize}`);
    default:
      return new MerkleError("ROOT_MISMATCH", "the proof does not lead to the expected root");
  }
}

/** True when the proof is valid for `root` (see checkInclusion for the reason when it is not). */
export function verifyInclusion(p: InclusionProof, root: Uint8Array, hasher: Hasher = defaultHasher()): boolean {
  return checkInclusion(p, root, hasher) === null;
}

/**
 * Number of nodes in the audit path of leaf `leafIndex` in a tree of `treeSize` leaves: one per level where the
 * node on the path has a sibling. Throws MerkleError for a bad or out-of-range index.
 */
export function inclusionProofLength(leafIndex: number, treeSize: number): number {
  checkIndex(leafIndex, treeSize);
  let n = 0;
  let i = leafIndex;
  // Plain arithmetic instead of bit operators: sizes may exceed 2^32.
  for (let count = treeSize; count > 1; count = Math.ceil(count / 2)) {
    const sibling = i % 2 === 0 ? i + 1 : i - 1;
    if (sibling < count) n++;
    i = Math.floor(i / 2);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * Hashes one level of `count` nodes of `level` into `out` (which may be `level` itself: in place); an odd last node
 * is promoted unchanged. Returns the size of the next level.
 */
function reduceLevel(level: Uint8Array, count: number, out: Uint8Array, hasher: Hasher): number {
  const pairs = count >>> 1;
  hasher.digestLevel(level.subarray(0, pairs * 2 * DIGEST_LENGTH), out, NODE_PREFIX);
  if (count & 1) out.set(level.subarray((count - 1) * DIGEST_LENGTH, count * DIGEST_LENGTH), pairs * DIGEST_LENGTH);
  return pairs + (count & 1);
}

/** RFC 9162 §2.1.3.2 over any Hasher; arguments already validated. Returns a TREE_VERIFY_* code. */
function verifyTs(leaf: Uint8Array, leafIndex: number, treeSize: number, proof: readonly Uint8Array[], root: Uint8Array, hasher: Hasher): number {
  if (leafIndex >= treeSize) return TREE_VERIFY_INDEX_OUT_OF_RANGE;
  // Numbers up to 2^53: halve with Math.floor rather than >>>, which would truncate to 32 bits.
  let fn = leafIndex;
  let sn = treeSize - 1;
  const pair = new Uint8Array(2 * DIGEST_LENGTH);
  const r = leaf.slice();
  for (const p of proof) {
    if (sn === 0) return TREE_VERIFY_PROOF_TOO_LONG;
    if (fn % 2 === 1 || fn === sn) {
      pair.set(p, 0);
      pair.set(r, DIGEST_LENGTH);
      hasher.digestInto(pair, r, 0, NODE_PREFIX);
      // Skip the levels where this node is promoted without a sibling.
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      pair.set(r, 0);
      pair.set(p, DIGEST_LENGTH);
      hasher.digestInto(pair, r, 0, NODE_PREFIX);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return TREE_VERIFY_PROOF_TOO_SHORT;
  let diff = 0;
  for (let i = 0; i < DIGEST_LENGTH; i++) diff |= r[i]! ^ root[i]!;
  return diff === 0 ? TREE_VERIFY_OK : TREE_VERIFY_ROOT_MISMATCH;
}

function isIndex(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

function checkIndex(leafIndex: number, treeSize: number): void {
  if (!isIndex(leafIndex) || !isIndex(treeSize)) {
    throw new MerkleError("BAD_INDEX", `leafIndex and treeSize must be non-negative safe integers, got ${String(leafIndex)} and ${String(treeSize)}`);
  }
  if (leafIndex >= treeSize) throw new MerkleError("INDEX_OUT_OF_RANGE", `leaf index ${leafIndex} is not in a tree of ${treeSize} leaves`, { leafIndex, treeSize });
}

function digestError(d: unknown, what: string): MerkleError | null {
  if (!(d instanceof Uint8Array)) return new MerkleError("DIGEST_LENGTH", `${what} must be a 32-byte Uint8Array`);
  if (d.length !== DIGEST_LENGTH) return new MerkleError("DIGEST_LENGTH", `${what} must be ${DIGEST_LENGTH} bytes, got ${d.length}`, { length: d.length });
  return null;
}

function checkDigest(d: Uint8Array, what: string): void {
  const e = digestError(d, what);
  if (e !== null) throw e;
}

function checkLeaf(leaf: unknown, i: number): void {
  if (!(leaf instanceof Uint8Array)) throw new MerkleError("BAD_LEAF", `leaf ${i} is not a Uint8Array`);
}

function checkLeaves(leaves: readonly Uint8Array[]): void {
  if (!Array.isArray(leaves)) throw new MerkleError("BAD_LEAF", "leaves must be an array of Uint8Array");
  for (let i = 0; i < leaves.length; i++) checkLeaf(leaves[i], i);
}
