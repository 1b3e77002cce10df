/**
 * Transaction receipts (issue 14): what a party that knows only a chain's genesis needs to check that a transaction
 * was committed at (height h, index i) and whether it failed — the LD and CL messages of cross-shard transfers.
 *
 * A receipt is the tx bytes, its RFC 6962 audit path in header h's `txRoot`, the result bit, and the commit proof of
 * h (consensus/commitProof.ts). The proof's headers run h..k+1 with k ≥ h, so header h+1 is always there, and its
 * `parentResults` is block h's result bitmap (bit i set = tx i failed), certified by the QCs with everything else.
 *
 * Why the tree size is bound although an RFC 6962 path alone does not fix it (the path of leaf 0 of 3 leaves also
 * verifies as leaf 0 of 4): the result bitmap is decoded with exactly `treeSize` bits, and the executor writes one
 * bit per tx of the block, so a size other than the block's tx count is refused (BAD_INCLUSION).
 */
import type { Hasher } from "../crypto/hasher.js";
import { checkInclusion, leafHash } from "../crypto/merkle.js";
import type { InclusionProof } from "../crypto/merkle.js";
import { BitmapError, decodeBitmap } from "../crypto/bitmap/index.js";
import { defaultHasher } from "../crypto/hash/backends.js";
import { bytesEqual } from "../util/bytes.js";
import { commitProofOf, verifyCommitProof } from "../consensus/commitProof.js";
import type { CommitProof, CommitProofCode, CommitProofContext } from "../consensus/commitProof.js";
import type { BlockHeader, QuorumCert } from "../domain/types.js";

export interface Receipt {
  /** The id the receipt claims (SHA-256 of the tx), when it carries one. */
  readonly id?: Uint8Array;
  readonly tx: Uint8Array;
  /** The tx's position in block h (the Merkle leaf index). */
  readonly index: number;
  /** The claimed result: true when the tx failed on execution. */
  readonly failed: boolean;
  /** The tx's audit path in header h's txRoot (`leafHash` must be the RFC 6962 leaf hash of `tx`). */
  readonly inclusion: InclusionProof;
  /** The commit proof of block h (its first header is block h). */
  readonly commit: CommitProof;
}

export type ReceiptCode =
  | CommitProofCode
  /** `id` is not the SHA-256 of `tx`. */
  | "ID_MISMATCH"
  /** The audit path does not lead from the tx at `index` to header h's txRoot, or its tree size is not the block's tx count. */
  | "BAD_INCLUSION"
  /** Header h+1's `parentResults` is not a decodable result bitmap. */
  | "BAD_RESULTS"
  /** The claimed result differs from the tx's bit in the certified result bitmap. */
  | "RESULT_MISMATCH";

export type ReceiptResult =
  | { readonly ok: true; readonly height: number; readonly index: number; readonly failed: boolean; readonly id: Uint8Array }
  | { readonly ok: false; readonly code: ReceiptCode; readonly reason: string };

export interface ReceiptContext extends CommitProofContext {
  /** SHA-256 for the tx id and the Merkle path (default: the WASM core). */
  readonly hasher?: Hasher;
}

/** Checks a receipt from the genesis alone; on success, where the tx is and whether it failed. */
export function verifyReceipt(r: Receipt, ctx: ReceiptContext): ReceiptResult {
  const hasher = ctx.hasher ?? defaultHasher();
  // The cheap checks first: the commit proof's two pairings cost ~1 ms.
  const id = hasher.digest(r.tx);
  if (r.id !== undefined && !bytesEqual(r.id, id)) return bad("ID_MISMATCH", "the receipt's id is not the SHA-256 of its tx");
  const header = r.commit.headers[0];
  const next = r.commit.headers[1];
  if (header === undefined || next === undefined) return bad("BAD_LENGTH", `a receipt's commit proof has at least 2 headers, not ${r.commit.headers.length}`);
  const p = r.inclusion;
  if (p.leafIndex !== r.index) return bad("BAD_INCLUSION", `the audit path is for leaf ${p.leafIndex}, the receipt claims index ${r.index}`);
  if (!bytesEqual(p.leafHash, leafHash(r.tx, hasher))) return bad("BAD_INCLUSION", "the audit path's leaf hash is not the tx's");
  const e = checkInclusion(p, header.txRoot, hasher);
  if (e !== null) return bad("BAD_INCLUSION", `tx ${r.index} is not in block ${header.height}'s txRoot (${e.code}: ${e.message})`);
  let failed: boolean;
  try {
    failed = decodeBitmap(next.parentResults, { length: p.treeSize }).get(r.index);
  } catch (err) {
    if (!(err instanceof BitmapError)) throw err;
    if (err.code === "LENGTH_MISMATCH") return bad("BAD_INCLUSION", `the audit path's tree size ${p.treeSize} is not block ${header.height}'s tx count (${err.message})`);
    return bad("BAD_RESULTS", `header ${next.height}'s parentResults is not a result bitmap (${err.code}: ${err.message})`);
  }
  if (failed !== r.failed) return bad("RESULT_MISMATCH", `the receipt says tx ${r.index} ${r.failed ? "failed" : "succeeded"}; header ${next.height}'s parentResults says it ${failed ? "failed" : "succeeded"}`);
  const c = verifyCommitProof(r.commit, ctx);
  if (!c.ok) return c;
  return { ok: true, height: c.height, index: r.index, failed, id };
}

/**
 * A receipt from a served document (`GET /v1/tx/:id/receipt`: the blocks h..k+1 each with its QC), or null when the
 * last two blocks carry no QC (nothing to prove the commit with).
 */
export function receiptOf(doc: {
  readonly id: Uint8Array;
  readonly tx: Uint8Array;
  readonly index: number;
  readonly failed: boolean;
  readonly inclusion: InclusionProof;
  readonly blocks: readonly { readonly header: BlockHeader; readonly qc: QuorumCert | null }[];
}): Receipt | null {
  const commit = commitProofOf(doc.blocks);
  return commit === null ? null : { id: doc.id, tx: doc.tx, index: doc.index, failed: doc.failed, inclusion: doc.inclusion, commit };
}

function bad(code: ReceiptCode, reason: string): ReceiptResult {
  return { ok: false, code, reason };
}
