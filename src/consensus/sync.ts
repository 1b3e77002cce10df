/**
 * Serving block requests (the answering side of `requestSync` in core.ts). A replica that lacks blocks — it missed
 * proposals, was partitioned, or restarted with an empty tree — asks a peer for heights [from, to]; the peer answers
 * with consecutive certified blocks: first from its committed chain (the shell's store), then from its certified
 * branch (uncommitted blocks on the way to its high QC). Every block travels with a QC certifying it, so the
 * requester verifies the response like any other certificate and re-derives commits with the two-chain rule.
 *
 * Pure: the committed chain is read through `CommittedChain`, which the shell implements over its store.
 */
import { bytesKey } from "../util/bytes.js";
import { MAX_MESSAGE_BYTES, MAX_SYNC_BLOCKS, MAX_SYNC_TXS } from "../domain/limits.js";
import type { CertifiedBlock, SyncRequest, SyncResponse } from "../domain/types.js";
import { certifiedBranch } from "./blockTree.js";
import type { CommittedBlock, ReplicaState } from "./types.js";

/** Read access to a replica's committed chain (its store). */
export interface CommittedChain {
  /** Height of the last committed block. */
  readonly height: number;
  /** The committed block at `height` with its QC, if stored. */
  at(height: number): CommittedBlock | undefined;
}

// Leave room for the envelope and per-block framing when filling a response up to the message limit.
const RESPONSE_BYTE_BUDGET = MAX_MESSAGE_BYTES / 2;
const BLOCK_OVERHEAD_BYTES = 512;

/** The bytes a sync response budgets for one certified block: its txs plus per-tx and per-block framing. */
export function syncBlockBytes(b: { readonly block: { readonly txs: readonly Uint8Array[] } }): number {
  let size = BLOCK_OVERHEAD_BYTES;
  for (const tx of b.block.txs) size += tx.length + 8;
  return size;
}

/**
 * The answer to `req`: consecutive certified blocks from `req.fromHeight`, as many as fit the limits (maybe none).
 * `state` null: from the committed chain only (a range of an ended epoch, whose blocks the core no longer holds).
 */
export function serveSyncRequest(state: ReplicaState | null, chain: CommittedChain, req: SyncRequest): SyncResponse {
  const blocks: CertifiedBlock[] = [];
  const to = Math.min(req.toHeight, req.fromHeight + MAX_SYNC_BLOCKS - 1);
  let txs = 0;
  let bytes = 0;
  const fits = (b: CommittedBlock): boolean => {
    const size = syncBlockBytes(b);
    if (txs + b.block.txs.length > MAX_SYNC_TXS || bytes + size > RESPONSE_BYTE_BUDGET) return false;
    txs += b.block.txs.length;
    bytes += size;
    return true;
  };
  let h = req.fromHeight;
  for (; h <= to && h <= chain.height; h++) {
    const b = chain.at(h);
    if (b === undefined || !fits(b)) return { requestId: req.requestId, blocks };
    blocks.push({ block: b.block, qc: b.qc });
  }
  if (h > to || state === null) return { requestId: req.requestId, blocks };
  // Past the committed chain: the certified uncommitted branch towards our high QC, which extends the root.
  for (const b of certifiedBranch(state.tree, bytesKey(state.safety.highQc.blockHash))) {
    if (b.block.header.height < h) continue;
    if (b.block.header.height > to || !fits(b)) break;
    blocks.push({ block: b.block, qc: b.qc });
  }
  return { requestId: req.requestId, blocks };
}
